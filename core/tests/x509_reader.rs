//! The certificate reader (attestation/x509.rs) against x509-cert, a general
//! RFC 5280 decoder: on every real certificate in the fixtures both read the
//! same serial, dates, algorithm, signature, extensions and names; and each
//! structural rule the reader enforces refuses a real certificate rebuilt to
//! break it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::attestation::{pem_chain, text, unb64};
use der::Decode;
use der::asn1::ObjectIdentifier;
use simbind_core::attestation::AttestationRefusal as R;
use simbind_core::attestation::x509::Cert;
use x509_cert::Certificate;

/// Every certificate of the fixtures: the Android chains, Apple's root and
/// the two certificates of each App Attest object.
fn real_certificates() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for file in [
        "android/caiman_sdk36_TEE_EC_RKP.pem",
        "android/marlin_sdk29_TEE_EC_NONE.pem",
        "android/sony-xperia10-iii_sdk33_TEE_EC.pem",
        "android/tegu_sdk36_SB_EC_2026_ROOT.pem",
        "android/tegu_sdk36_TEE_EC_2026_ROOT.pem",
        "android/tegu_sdk37_TEE_TRUSTED_CONF.pem",
        "android/invalid_malformed_rot_device_locked.pem",
        "android/invalid_tags_not_in_ascending_order.pem",
        "apple/Apple_App_Attestation_Root_CA.pem",
    ] {
        for (i, der) in pem_chain(file).into_iter().enumerate() {
            out.push((format!("{file}#{i}"), der));
        }
    }
    let apple: serde_json::Value =
        serde_json::from_str(&text("apple/devicecheck-appattest.json")).unwrap();
    let node: serde_json::Value =
        serde_json::from_str(&text("apple/node-app-attest_attestation-development.json")).unwrap();
    let objects = apple
        .as_array()
        .unwrap()
        .iter()
        .chain([&node])
        .map(|s| unb64(s["attestation"].as_str().unwrap()));
    for (n, object) in objects.enumerate() {
        let certs = der_in_cbor(&object);
        assert_eq!(
            certs.len(),
            2,
            "App Attest object {n}: leaf and intermediate"
        );
        for (i, der) in certs.into_iter().enumerate() {
            out.push((format!("app-attest-{n}#{i}"), der));
        }
    }
    out
}

/// The DER certificates inside a CBOR attestation object (byte strings of
/// two-byte length holding a DER SEQUENCE).
fn der_in_cbor(object: &[u8]) -> Vec<Vec<u8>> {
    let mut found = Vec::new();
    let mut i = 0;
    while i + 4 < object.len() {
        if object[i] == 0x59 && object[i + 3] == 0x30 && object[i + 4] == 0x82 {
            let len = usize::from(u16::from_be_bytes([object[i + 1], object[i + 2]]));
            found.push(object[i + 3..i + 3 + len].to_vec());
            i += 3 + len;
        } else {
            i += 1;
        }
    }
    found
}

const SERIAL_NUMBER_ATTRIBUTE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");

#[test]
fn the_reader_and_x509_cert_read_every_real_certificate_alike() {
    let certs = real_certificates();
    assert!(certs.len() >= 30, "{} certificates", certs.len());
    for (name, der) in &certs {
        let general = Certificate::from_der(der).unwrap_or_else(|e| panic!("{name}: {e}"));
        let lean = Cert::parse(der).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let tbs = general.tbs_certificate();

        let serial = tbs.serial_number().as_bytes();
        let hex: String = serial.iter().map(|b| format!("{b:02x}")).collect();
        let hex = hex.trim_start_matches('0');
        assert_eq!(
            lean.serial_hex(),
            if hex.is_empty() { "0" } else { hex },
            "{name}"
        );

        let validity = tbs.validity();
        assert_eq!(
            lean.validity(),
            (
                validity.not_before.to_unix_duration().as_secs(),
                validity.not_after.to_unix_duration().as_secs()
            ),
            "{name}"
        );

        use der::Encode;
        assert_eq!(lean.subject(), tbs.subject().to_der().unwrap(), "{name}");
        assert_eq!(lean.issuer(), tbs.issuer().to_der().unwrap(), "{name}");
        assert_eq!(
            lean.spki(),
            tbs.subject_public_key_info().to_der().unwrap(),
            "{name}"
        );
        let names_serial = tbs
            .subject()
            .iter()
            .any(|attribute| attribute.oid == SERIAL_NUMBER_ATTRIBUTE);
        assert_eq!(
            lean.subject_names(&SERIAL_NUMBER_ATTRIBUTE),
            names_serial,
            "{name}"
        );

        let extensions = tbs.extensions().map(|e| e.to_vec()).unwrap_or_default();
        for e in &extensions {
            assert_eq!(
                lean.extension(&e.extn_id),
                Some((e.extn_value.as_bytes(), e.critical)),
                "{name}: {}",
                e.extn_id
            );
        }
        // And nothing the general decoder does not see.
        assert_eq!(lean.extension(&SERIAL_NUMBER_ATTRIBUTE), None, "{name}");
    }
}

/// The bytes a chain check hands its verifier are the general decoder's
/// `tbsCertificate` (that the signatures in them verify, the chain tests show).
#[test]
fn the_signed_bytes_are_the_general_decoders() {
    use simbind_core::attestation::signatures::{SignatureCheck, Verifier};
    /// Records what the reader would have checked.
    struct Seen(std::cell::RefCell<Vec<Vec<u8>>>);
    impl Verifier for Seen {
        fn verifies(&self, check: &SignatureCheck) -> bool {
            self.0.borrow_mut().push(check.message.clone());
            true
        }
    }
    let mut compared = 0;
    for (name, der) in real_certificates() {
        let general = Certificate::from_der(&der).unwrap();
        let lean = Cert::parse(&der).unwrap();
        let seen = Seen(Default::default());
        // Its own key stands in for the issuer's: only the bytes matter here
        // (a key of another type than the algorithm is refused before the
        // verifier, so not every certificate reaches it).
        let _ = lean.signed_by(lean.spki(), &seen);
        compared += seen.0.borrow().len();
        use der::Encode;
        let tbs = general.tbs_certificate().to_der().unwrap();
        for message in seen.0.borrow().iter() {
            assert_eq!(message, &tbs, "{name}");
        }
    }
    assert!(compared >= 20, "{compared} compared");
}

// --- Rebuilding real certificates to break one rule at a time ---

/// A DER TLV with `tag` around `content`.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![tag];
    match len {
        0..=0x7f => out.push(len as u8),
        0x80..=0xff => out.extend([0x81, len as u8]),
        _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
    }
    out.extend_from_slice(content);
    out
}

/// The TLVs inside the constructed TLV `outer`.
fn children(outer: &[u8]) -> Vec<Vec<u8>> {
    let (start, len) = header(outer);
    let mut rest = &outer[start..start + len];
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (h, l) = header(rest);
        out.push(rest[..h + l].to_vec());
        rest = &rest[h + l..];
    }
    out
}

/// `(header length, content length)` of the TLV at the start of `tlv`.
fn header(tlv: &[u8]) -> (usize, usize) {
    match tlv[1] {
        n @ 0..=0x7f => (2, usize::from(n)),
        0x81 => (3, usize::from(tlv[2])),
        0x82 => (4, usize::from(u16::from_be_bytes([tlv[2], tlv[3]]))),
        n => panic!("length form {n:#x}"),
    }
}

/// A certificate as its TBS fields, algorithm and signature TLVs.
struct Parts {
    fields: Vec<Vec<u8>>,
    algorithm: Vec<u8>,
    signature: Vec<u8>,
}

fn split(der: &[u8]) -> Parts {
    let outer = children(der);
    Parts {
        fields: children(&outer[0]),
        algorithm: outer[1].clone(),
        signature: outer[2].clone(),
    }
}

fn join(parts: &Parts) -> Vec<u8> {
    let tbs = tlv(0x30, &parts.fields.concat());
    tlv(
        0x30,
        &[tbs, parts.algorithm.clone(), parts.signature.clone()].concat(),
    )
}

/// A real v3 leaf with extensions (the Pixel's, from the RKP chain).
fn leaf() -> Vec<u8> {
    pem_chain("android/caiman_sdk36_TEE_EC_RKP.pem").remove(0)
}

/// `der` rebuilt with `change` applied to its parts.
fn rebuilt(change: impl FnOnce(&mut Parts)) -> Vec<u8> {
    let mut parts = split(&leaf());
    change(&mut parts);
    join(&parts)
}

/// Index of the `[3]` extensions field.
fn extensions_at(parts: &Parts) -> usize {
    parts.fields.iter().position(|f| f[0] == 0xa3).unwrap()
}

#[test]
fn a_certificate_rebuilt_unchanged_reads_as_the_original() {
    let original = leaf();
    assert_eq!(rebuilt(|_| ()), original);
    assert!(Cert::parse(&original).is_ok());
}

#[test]
fn an_extension_given_twice_is_malformed() {
    let twice = rebuilt(|p| {
        let at = extensions_at(p);
        let list = children(&p.fields[at])[0].clone();
        let mut items = children(&list);
        items.push(items[0].clone());
        p.fields[at] = tlv(0xa3, &tlv(0x30, &items.concat()));
    });
    assert_eq!(Cert::parse(&twice).err(), Some(R::Malformed));
    // The same extension list with the copy left out still reads.
    let once = rebuilt(|p| {
        let at = extensions_at(p);
        let list = children(&p.fields[at])[0].clone();
        p.fields[at] = tlv(0xa3, &tlv(0x30, &children(&list).concat()));
    });
    assert!(Cert::parse(&once).is_ok());
}

#[test]
fn an_empty_extension_list_is_malformed() {
    let empty = rebuilt(|p| {
        let at = extensions_at(p);
        p.fields[at] = tlv(0xa3, &tlv(0x30, &[]));
    });
    assert_eq!(Cert::parse(&empty).err(), Some(R::Malformed));
}

#[test]
fn extensions_need_version_three_and_a_version_above_three_is_malformed() {
    for version in [0u8, 1] {
        let older = rebuilt(|p| p.fields[0] = tlv(0xa0, &tlv(0x02, &[version])));
        assert_eq!(Cert::parse(&older).err(), Some(R::Malformed), "v{version}");
    }
    let newer = rebuilt(|p| p.fields[0] = tlv(0xa0, &tlv(0x02, &[3])));
    assert_eq!(Cert::parse(&newer).err(), Some(R::Malformed));
    // Version 1 by omission, without extensions, reads.
    let plain = rebuilt(|p| {
        let at = extensions_at(p);
        p.fields.remove(at);
        p.fields.remove(0);
    });
    let cert = Cert::parse(&plain).unwrap();
    assert_eq!(
        cert.extension(&ObjectIdentifier::new_unwrap("2.5.29.15")),
        None
    );
}

#[test]
fn the_outer_algorithm_must_be_the_signed_one() {
    // ecdsa-with-SHA384 outside, the leaf's ecdsa-with-SHA256 inside.
    let other = tlv(
        0x30,
        &tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03]),
    );
    assert_ne!(split(&leaf()).algorithm, other);
    let swapped = rebuilt(|p| p.algorithm = other.clone());
    assert_eq!(Cert::parse(&swapped).err(), Some(R::Malformed));
    let both = rebuilt(|p| {
        p.algorithm = other.clone();
        p.fields[2] = other.clone();
    });
    assert!(Cert::parse(&both).is_ok());
}

#[test]
fn a_signature_with_unused_bits_is_malformed() {
    let odd = rebuilt(|p| {
        let (h, _) = header(&p.signature);
        let mut content = p.signature[h..].to_vec();
        content[0] = 1;
        p.signature = tlv(0x03, &content);
    });
    assert_eq!(Cert::parse(&odd).err(), Some(R::Malformed));
}

#[test]
fn bytes_after_the_certificate_or_inside_it_are_malformed() {
    let mut trailing = leaf();
    trailing.push(0);
    assert_eq!(Cert::parse(&trailing).err(), Some(R::Malformed));
    let extra_outer = {
        let p = split(&leaf());
        let tbs = tlv(0x30, &p.fields.concat());
        tlv(
            0x30,
            &[tbs, p.algorithm, p.signature, tlv(0x05, &[])].concat(),
        )
    };
    assert_eq!(Cert::parse(&extra_outer).err(), Some(R::Malformed));
    let extra_field = rebuilt(|p| p.fields.push(tlv(0x05, &[])));
    assert_eq!(Cert::parse(&extra_field).err(), Some(R::Malformed));
}

#[test]
fn unique_ids_read_only_in_order_and_before_the_extensions() {
    let id = |n: u8| tlv(0x80 | n, &[0, 0xaa]);
    let with = |ids: Vec<Vec<u8>>| {
        rebuilt(|p| {
            let at = extensions_at(p);
            for (k, field) in ids.into_iter().enumerate() {
                p.fields.insert(at + k, field);
            }
        })
    };
    assert!(Cert::parse(&with(vec![id(1), id(2)])).is_ok());
    assert!(Cert::parse(&with(vec![id(2)])).is_ok());
    assert_eq!(
        Cert::parse(&with(vec![id(2), id(1)])).err(),
        Some(R::Malformed)
    );
    assert_eq!(
        Cert::parse(&with(vec![id(1), id(1)])).err(),
        Some(R::Malformed)
    );
    // A unique id is a BIT STRING: its first byte counts unused bits (0-7).
    assert_eq!(
        Cert::parse(&with(vec![tlv(0x81, &[9, 0xaa])])).err(),
        Some(R::Malformed)
    );
    let after = rebuilt(|p| p.fields.push(id(1)));
    assert_eq!(Cert::parse(&after).err(), Some(R::Malformed));
}

#[test]
fn names_must_be_sequences_of_non_empty_sets_of_pairs() {
    let subject_at = 5; // version, serial, signature, issuer, validity, subject
    let original = split(&leaf());
    assert_eq!(original.fields[subject_at][0], 0x30);
    let cases: [(&str, Vec<u8>); 4] = [
        ("an empty set", tlv(0x30, &tlv(0x31, &[]))),
        (
            "a sequence for a set",
            tlv(0x30, &tlv(0x30, &tlv(0x30, &[]))),
        ),
        (
            "a pair without a value",
            tlv(
                0x30,
                &tlv(0x31, &tlv(0x30, &tlv(0x06, &[0x55, 0x04, 0x05]))),
            ),
        ),
        ("a set for the name", tlv(0x31, &[])),
    ];
    for (what, name) in cases {
        let bad = rebuilt(|p| p.fields[subject_at] = name.clone());
        assert_eq!(Cert::parse(&bad).err(), Some(R::Malformed), "{what}");
        let bad = rebuilt(|p| p.fields[3] = name.clone());
        assert_eq!(
            Cert::parse(&bad).err(),
            Some(R::Malformed),
            "issuer: {what}"
        );
    }
    // An empty name (no RDN) is a name.
    let empty = rebuilt(|p| p.fields[subject_at] = tlv(0x30, &[]));
    let cert = Cert::parse(&empty).unwrap();
    assert!(!cert.subject_names(&SERIAL_NUMBER_ATTRIBUTE));
    // A serialNumber attribute is found where it is.
    let serial = tlv(
        0x30,
        &tlv(
            0x31,
            &tlv(
                0x30,
                &[tlv(0x06, &[0x55, 0x04, 0x05]), tlv(0x13, b"f00d")].concat(),
            ),
        ),
    );
    let named = rebuilt(|p| p.fields[subject_at] = serial.clone());
    assert!(
        Cert::parse(&named)
            .unwrap()
            .subject_names(&SERIAL_NUMBER_ATTRIBUTE)
    );
}

#[test]
fn validity_holds_two_times_and_the_serial_at_most_21_bytes() {
    let validity_at = 4;
    let time = tlv(0x17, b"250101000000Z");
    let general = tlv(0x18, b"20500101000000Z");
    let ok =
        rebuilt(|p| p.fields[validity_at] = tlv(0x30, &[time.clone(), general.clone()].concat()));
    assert_eq!(
        Cert::parse(&ok).unwrap().validity(),
        (1_735_689_600, 2_524_608_000)
    );
    for (what, validity) in [
        ("one time", tlv(0x30, &time)),
        (
            "three times",
            tlv(0x30, &[time.clone(), time.clone(), time.clone()].concat()),
        ),
        (
            "an integer",
            tlv(0x30, &[time.clone(), tlv(0x02, &[1])].concat()),
        ),
        (
            "a bad date",
            tlv(0x30, &[time.clone(), tlv(0x17, b"251301000000Z")].concat()),
        ),
    ] {
        let bad = rebuilt(|p| p.fields[validity_at] = validity.clone());
        assert_eq!(Cert::parse(&bad).err(), Some(R::Malformed), "{what}");
    }
    let serial = |len: usize| rebuilt(|p| p.fields[1] = tlv(0x02, &vec![0x11; len]));
    assert_eq!(
        Cert::parse(&serial(21)).unwrap().serial_hex(),
        "11".repeat(21)
    );
    assert_eq!(Cert::parse(&serial(22)).err(), Some(R::Malformed));
}

#[test]
fn a_key_that_is_not_a_subject_public_key_info_is_malformed() {
    let bad = rebuilt(|p| p.fields[6] = tlv(0x30, &tlv(0x05, &[])));
    assert_eq!(Cert::parse(&bad).err(), Some(R::Malformed));
}

#[test]
fn every_truncation_of_a_real_certificate_is_malformed() {
    let der = leaf();
    for len in 0..der.len() {
        assert_eq!(Cert::parse(&der[..len]).err(), Some(R::Malformed), "{len}");
    }
}
