//! Apple App Attest on real attestations and assertions from real iPhones
//! (see tests/fixtures/attestation/PROVENANCE.md), and mutations of them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::attestation::{flipped, text, unb64};
use serde_json::Value;
use sha2::{Digest, Sha256};
use simbind_core::attestation::AttestationRefusal as R;
use simbind_core::attestation::android_key::GOOGLE_ROOTS;
use simbind_core::attestation::apple_appattest::{
    self, APPLE_ROOT, AppleAttestation, ApplePolicy, Environment,
};

struct Sample {
    name: String,
    attestation: Vec<u8>,
    client_data_hash: Vec<u8>,
    key_id: Vec<u8>,
    app_id: String,
    at: u64,
    assertions: Vec<(Vec<u8>, Vec<u8>, u32)>,
}

fn samples() -> Vec<Sample> {
    let v: Value = serde_json::from_str(&text("apple/devicecheck-appattest.json")).unwrap();
    let mut out: Vec<Sample> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Sample {
            name: s["source"].as_str().unwrap().into(),
            attestation: unb64(s["attestation"].as_str().unwrap()),
            client_data_hash: unb64(s["clientDataHash"].as_str().unwrap()),
            key_id: unb64(s["keyId"].as_str().unwrap()),
            app_id: s["appId"].as_str().unwrap().into(),
            at: s["at"].as_u64().unwrap(),
            assertions: s["assertions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    (
                        unb64(a["assertion"].as_str().unwrap()),
                        unb64(a["clientDataHash"].as_str().unwrap()),
                        u32::try_from(a["counter"].as_u64().unwrap()).unwrap(),
                    )
                })
                .collect(),
        })
        .collect();
    let node: Value =
        serde_json::from_str(&text("apple/node-app-attest_attestation-development.json")).unwrap();
    // Its challenge is base64 of the ASCII text whose SHA-256 is the hash.
    let client_data = unb64(node["challenge"].as_str().unwrap());
    out.push(Sample {
        name: "node-app-attest".into(),
        attestation: unb64(node["attestation"].as_str().unwrap()),
        client_data_hash: Sha256::digest(&client_data).to_vec(),
        key_id: unb64(node["keyId"].as_str().unwrap()),
        app_id: "V8H6LQ9448.io.uebelacker.AppAttestExample".into(),
        at: 1707000000, // 2024-02-03 22:40 UTC, just after it was issued
        assertions: vec![],
    });
    out
}

fn policy(s: &Sample) -> ApplePolicy {
    ApplePolicy {
        app_ids: vec!["ABCDE12345.com.example.other".into(), s.app_id.clone()],
        environment: Environment::Development,
    }
}

fn check(
    s: &Sample,
    attestation: &[u8],
    policy: &ApplePolicy,
    at: u64,
) -> Result<AppleAttestation, R> {
    apple_appattest::verify_attestation(
        attestation,
        &s.client_data_hash,
        Some(&s.key_id),
        &[APPLE_ROOT],
        policy,
        at,
    )
}

#[test]
fn every_real_attestation_verifies_at_its_instant() {
    let all = samples();
    assert_eq!(all.len(), 4);
    for s in &all {
        let got = check(s, &s.attestation, &policy(s), s.at)
            .unwrap_or_else(|e| panic!("{}: {e:?}", s.name));
        assert_eq!(got.key_id.as_slice(), s.key_id.as_slice(), "{}", s.name);
        assert_eq!(got.app_id, s.app_id);
        assert_eq!(got.environment, Environment::Development);
        assert_eq!(got.public_key.len(), 65);
        assert!(!got.receipt.is_empty(), "{}: the receipt is kept", s.name);
    }
}

#[test]
fn every_real_assertion_verifies_with_the_attested_key_and_gives_its_counter() {
    let mut seen = 0;
    for s in samples() {
        let attested = check(&s, &s.attestation, &policy(&s), s.at).unwrap();
        for (assertion, hash, counter) in &s.assertions {
            let got = apple_appattest::verify_assertion(
                assertion,
                hash,
                &attested.public_key,
                std::slice::from_ref(&s.app_id),
            );
            assert_eq!(got, Ok(*counter), "{}", s.name);
            seen += 1;
        }
    }
    assert_eq!(seen, 3);
}

#[test]
fn an_assertion_is_refused_for_other_data_another_key_another_app_or_a_flipped_byte() {
    let all = samples();
    let s = &all[0];
    let attested = check(s, &s.attestation, &policy(s), s.at).unwrap();
    let (assertion, hash, _) = &s.assertions[0];
    let key = &attested.public_key;
    let verify = |a: &[u8], h: &[u8], k: &[u8], app: &str| {
        apple_appattest::verify_assertion(a, h, k, &[app.to_string()])
    };
    assert_eq!(
        verify(assertion, &flipped(hash, 0), key, &s.app_id),
        Err(R::SignatureInvalid)
    );
    let other = check(&all[1], &all[1].attestation, &policy(&all[1]), all[1].at).unwrap();
    assert_eq!(
        verify(assertion, hash, &other.public_key, &s.app_id),
        Err(R::SignatureInvalid)
    );
    assert_eq!(
        verify(assertion, hash, key, "ABCDE12345.com.example.other"),
        Err(R::AppNotAllowed)
    );
    // Every byte of the authenticator data is signed: the counter too.
    let auth_at = assertion.len() - 37;
    for at in [auth_at + 35, auth_at + 36, auth_at + 32] {
        let got = verify(&flipped(assertion, at), hash, key, &s.app_id);
        assert_eq!(got, Err(R::SignatureInvalid), "byte {at}");
    }
    assert_eq!(
        verify(&assertion[..assertion.len() - 1], hash, key, &s.app_id),
        Err(R::Malformed)
    );
    assert_eq!(verify(b"\xa0", hash, key, &s.app_id), Err(R::Malformed));
}

#[test]
fn the_environment_and_the_app_id_must_be_allowed() {
    for s in samples() {
        let production = ApplePolicy {
            environment: Environment::Production,
            ..policy(&s)
        };
        assert_eq!(
            check(&s, &s.attestation, &production, s.at),
            Err(R::Environment),
            "{}",
            s.name
        );
        let others = ApplePolicy {
            app_ids: vec!["ABCDE12345.com.example.other".into()],
            ..policy(&s)
        };
        assert_eq!(
            check(&s, &s.attestation, &others, s.at),
            Err(R::AppNotAllowed)
        );
        // The strict default lists no app and wants production.
        assert!(check(&s, &s.attestation, &ApplePolicy::default(), s.at).is_err());
    }
}

#[test]
fn the_attestation_is_bound_to_its_client_data_and_its_key_id() {
    let all = samples();
    let s = &all[0];
    let wrong_hash = apple_appattest::verify_attestation(
        &s.attestation,
        &flipped(&s.client_data_hash, 31),
        Some(&s.key_id),
        &[APPLE_ROOT],
        &policy(s),
        s.at,
    );
    assert_eq!(wrong_hash, Err(R::ChallengeMismatch));
    let other_key = apple_appattest::verify_attestation(
        &s.attestation,
        &s.client_data_hash,
        Some(&all[1].key_id),
        &[APPLE_ROOT],
        &policy(s),
        s.at,
    );
    assert_eq!(other_key, Err(R::KeyMismatch));
    let unclaimed = apple_appattest::verify_attestation(
        &s.attestation,
        &s.client_data_hash,
        None,
        &[APPLE_ROOT],
        &policy(s),
        s.at,
    );
    assert_eq!(unclaimed.unwrap().key_id.as_slice(), s.key_id.as_slice());
}

#[test]
fn only_apples_root_is_trusted_and_only_inside_the_validity() {
    for s in samples() {
        let google = apple_appattest::verify_attestation(
            &s.attestation,
            &s.client_data_hash,
            Some(&s.key_id),
            &[GOOGLE_ROOTS[1]],
            &policy(&s),
            s.at,
        );
        assert_eq!(google, Err(R::UntrustedRoot), "{}", s.name);
        assert_eq!(
            check(&s, &s.attestation, &policy(&s), 1_900_000_000),
            Err(R::Expired)
        );
        assert_eq!(
            check(&s, &s.attestation, &policy(&s), 1_500_000_000),
            Err(R::Expired)
        );
    }
}

/// Offsets of the two certificates and the authenticator data inside the
/// CBOR attestation object (found by their DER and byte-string headers).
fn locate(attestation: &[u8]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut i = 0;
    while i + 4 < attestation.len() {
        // A CBOR byte string of 2-byte length (0x59 len) holding DER (0x30 0x82).
        if attestation[i] == 0x59 && attestation[i + 3] == 0x30 && attestation[i + 4] == 0x82 {
            let len = usize::from(u16::from_be_bytes([attestation[i + 1], attestation[i + 2]]));
            found.push((i + 3, len));
            i += 3 + len;
        } else {
            i += 1;
        }
    }
    found
}

#[test]
fn a_flipped_byte_in_either_certificate_or_in_the_authenticator_data_is_refused() {
    let all = samples();
    let s = &all[0];
    let certs = locate(&s.attestation);
    assert_eq!(certs.len(), 2, "leaf and intermediate");
    for (start, len) in certs {
        for at in [start + len - 1, start + len / 2] {
            let got = check(s, &flipped(&s.attestation, at), &policy(s), s.at);
            assert!(
                matches!(
                    got,
                    Err(R::SignatureInvalid | R::Malformed | R::UntrustedRoot)
                ),
                "byte {at}: {got:?}"
            );
        }
    }
    // The authenticator data is the object's last byte string: any change
    // breaks the nonce the leaf certifies.
    let end = s.attestation.len();
    for at in [end - 1, end - 100, end - 150] {
        let got = check(s, &flipped(&s.attestation, at), &policy(s), s.at);
        assert!(got.is_err(), "byte {at}");
    }
}

/// The attestation object re-encoded with its `x5c` holding only the
/// certificates at `keep` (in that order); every other field is copied
/// byte for byte.
fn with_x5c(attestation: &[u8], keep: &[usize]) -> Vec<u8> {
    use minicbor::{Decoder, Encoder};
    let mut d = Decoder::new(attestation);
    let mut e = Encoder::new(Vec::new());
    let fields = d.map().unwrap().unwrap();
    e.map(fields).unwrap();
    for _ in 0..fields {
        let name = d.str().unwrap();
        e.str(name).unwrap();
        if name != "attStmt" {
            let start = d.position();
            d.skip().unwrap();
            e.writer_mut()
                .extend_from_slice(&attestation[start..d.position()]);
            continue;
        }
        let statement = d.map().unwrap().unwrap();
        e.map(statement).unwrap();
        for _ in 0..statement {
            let name = d.str().unwrap();
            e.str(name).unwrap();
            if name == "x5c" {
                let n = d.array().unwrap().unwrap();
                let certs: Vec<&[u8]> = (0..n).map(|_| d.bytes().unwrap()).collect();
                e.array(keep.len() as u64).unwrap();
                for &i in keep {
                    e.bytes(certs[i]).unwrap();
                }
            } else {
                let start = d.position();
                d.skip().unwrap();
                e.writer_mut()
                    .extend_from_slice(&attestation[start..d.position()]);
            }
        }
    }
    assert_eq!(d.position(), attestation.len(), "one CBOR item");
    e.into_writer()
}

#[test]
fn an_x5c_without_the_intermediate_is_malformed() {
    for s in samples() {
        // The re-encoding itself changes nothing that is checked.
        let both = with_x5c(&s.attestation, &[0, 1]);
        assert!(
            check(&s, &both, &policy(&s), s.at).is_ok(),
            "{}: re-encoded with leaf and intermediate",
            s.name
        );
        // App Attest chains are exactly leaf + intermediate (the root is
        // pinned, never sent): one certificate is the wrong shape, refused
        // before any signature, date or policy is looked at.
        let leaf_only = with_x5c(&s.attestation, &[0]);
        assert!(leaf_only.len() < s.attestation.len() - 500);
        assert_eq!(
            check(&s, &leaf_only, &policy(&s), s.at),
            Err(R::Malformed),
            "{}: leaf only",
            s.name
        );
        assert_eq!(
            check(&s, &with_x5c(&s.attestation, &[]), &policy(&s), s.at),
            Err(R::Malformed),
            "{}: no certificate",
            s.name
        );
    }
}

#[test]
fn authenticator_data_without_attested_credential_data_is_malformed() {
    // authData is the object's last byte string: 37 fixed bytes, aaguid,
    // credential id length and id, COSE key (164 bytes for these samples).
    for s in samples() {
        let flags = s.attestation.len() - 164 + 32;
        let got = check(&s, &flipped(&s.attestation, flags), &policy(&s), s.at);
        let cleared = s.attestation[flags] & !0x40;
        let mut no_credential = s.attestation.clone();
        no_credential[flags] = cleared;
        assert_eq!(
            check(&s, &no_credential, &policy(&s), s.at),
            Err(R::Malformed),
            "{}",
            s.name
        );
        assert!(got.is_err());
        // A credential id longer than what follows it.
        let mut long_id = s.attestation.clone();
        let len_at = flags + 1 + 4 + 16;
        long_id[len_at] = 0xff;
        assert_eq!(
            check(&s, &long_id, &policy(&s), s.at),
            Err(R::Malformed),
            "{}",
            s.name
        );
    }
}

#[test]
fn environment_labels_are_the_configuration_words() {
    assert_eq!(Environment::Production.label(), "production");
    assert_eq!(Environment::Development.label(), "development");
    for e in [Environment::Production, Environment::Development] {
        assert_eq!(Environment::from_label(e.label()), Some(e));
    }
    assert_eq!(Environment::from_label("sandbox"), None);
    assert_eq!(
        &Environment::Production.aaguid(),
        b"appattest\0\0\0\0\0\0\0"
    );
    assert_eq!(&Environment::Development.aaguid(), b"appattestdevelop");
}

#[test]
fn the_leaf_is_valid_from_its_first_to_its_last_second() {
    use simbind_core::attestation::x509::Cert;
    for s in samples() {
        let (start, len) = locate(&s.attestation)[0];
        let leaf = Cert::parse(&s.attestation[start..start + len]).unwrap();
        let (not_before, not_after) = leaf.validity();
        assert!(not_before <= s.at && s.at <= not_after, "{}", s.name);
        for at in [not_before, not_after] {
            assert!(
                check(&s, &s.attestation, &policy(&s), at).is_ok(),
                "{}: at {at}",
                s.name
            );
        }
        for at in [not_before - 1, not_after + 1] {
            assert_eq!(
                check(&s, &s.attestation, &policy(&s), at),
                Err(R::Expired),
                "{}",
                s.name
            );
        }
    }
}

#[test]
fn bytes_after_the_cbor_item_are_malformed_in_attestations_and_assertions() {
    for s in samples() {
        let mut longer = s.attestation.clone();
        longer.extend_from_slice(&[0, 0, 0]);
        assert_eq!(
            check(&s, &longer, &policy(&s), s.at).map(|_| ()),
            Err(R::Malformed),
            "{}",
            s.name
        );
        let attested = check(&s, &s.attestation, &policy(&s), s.at).unwrap();
        for (assertion, hash, _) in &s.assertions {
            let mut longer = assertion.clone();
            longer.push(0);
            assert_eq!(
                apple_appattest::verify_assertion(
                    &longer,
                    hash,
                    &attested.public_key,
                    std::slice::from_ref(&s.app_id),
                ),
                Err(R::Malformed)
            );
        }
    }
}

/// `object` (one CBOR map) with `key` → `value` (CBOR bytes) added after
/// its entries.
fn with_entry(object: &[u8], key: &str, value: &[u8]) -> Vec<u8> {
    let mut d = minicbor::Decoder::new(object);
    let fields = d.map().unwrap().unwrap();
    let mut e = minicbor::Encoder::new(Vec::new());
    e.map(fields + 1).unwrap();
    e.writer_mut().extend_from_slice(&object[d.position()..]);
    e.str(key).unwrap();
    e.writer_mut().extend_from_slice(value);
    e.into_writer()
}

/// The attestation object with `key` → `value` put first in its `attStmt`
/// map (two entries in every sample: `x5c` and `receipt`).
fn with_statement_entry(attestation: &[u8], key: &str, value: &[u8]) -> Vec<u8> {
    let name = b"\x67attStmt";
    let at = attestation
        .windows(name.len())
        .position(|w| w == name)
        .unwrap()
        + name.len();
    assert_eq!(attestation[at], 0xa2, "attStmt is a map of two");
    let mut entry = minicbor::Encoder::new(vec![0xa3]);
    entry.str(key).unwrap();
    entry.writer_mut().extend_from_slice(value);
    let mut out = attestation[..at].to_vec();
    out.extend_from_slice(&entry.into_writer());
    out.extend_from_slice(&attestation[at + 1..]);
    out
}

#[test]
fn a_field_given_twice_or_unknown_is_malformed_in_attestations_and_assertions() {
    // CBOR values: an empty byte string, the format's name, an empty map, an
    // empty array, the integer 0.
    let (no_bytes, fmt, no_map, no_array, zero) = (
        &[0x40][..],
        &b"\x6fapple-appattest"[..],
        &[0xa0][..],
        &[0x80][..],
        &[0x00][..],
    );
    for s in samples() {
        let objects = [
            ("fmt twice", with_entry(&s.attestation, "fmt", fmt)),
            (
                "authData twice",
                with_entry(&s.attestation, "authData", no_bytes),
            ),
            (
                "attStmt twice",
                with_entry(&s.attestation, "attStmt", no_map),
            ),
            (
                "an unknown field",
                with_entry(&s.attestation, "extra", zero),
            ),
            (
                "x5c twice",
                with_statement_entry(&s.attestation, "x5c", no_array),
            ),
            (
                "receipt twice",
                with_statement_entry(&s.attestation, "receipt", no_bytes),
            ),
            (
                "an unknown statement field",
                with_statement_entry(&s.attestation, "sig", no_bytes),
            ),
        ];
        for (what, object) in objects {
            // Well-formed CBOR, one item: refused for the field, not the bytes.
            well_formed(&object);
            assert_eq!(
                check(&s, &object, &policy(&s), s.at).map(|_| ()),
                Err(R::Malformed),
                "{}: {what}",
                s.name
            );
        }
        let attested = check(&s, &s.attestation, &policy(&s), s.at).unwrap();
        for (assertion, hash, _) in &s.assertions {
            for (what, changed) in [
                (
                    "signature twice",
                    with_entry(assertion, "signature", no_bytes),
                ),
                (
                    "authenticatorData twice",
                    with_entry(assertion, "authenticatorData", no_bytes),
                ),
                ("an unknown field", with_entry(assertion, "extra", zero)),
            ] {
                well_formed(&changed);
                assert_eq!(
                    apple_appattest::verify_assertion(
                        &changed,
                        hash,
                        &attested.public_key,
                        std::slice::from_ref(&s.app_id),
                    ),
                    Err(R::Malformed),
                    "{}: {what}",
                    s.name
                );
            }
        }
    }
}

/// Panics unless `bytes` is exactly one well-formed CBOR item.
fn well_formed(bytes: &[u8]) {
    let mut d = minicbor::Decoder::new(bytes);
    d.skip().unwrap();
    assert_eq!(d.position(), bytes.len());
}
