//! Chain signatures answered by the host (the worker's WebCrypto): a
//! recorder lists every signature a verification can ask about, the
//! decision counts a host's answer only for exactly the check it names, and
//! the encodings handed to the host are the ones WebCrypto takes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::attestation::{flipped, pem_chain};
use simbind_core::attestation::AttestationRefusal as R;
use simbind_core::attestation::android_key::{self, AndroidPolicy, GOOGLE_ROOTS};
use simbind_core::attestation::signatures::{
    Algorithm, CheckedSignature, Prechecked, Recorder, SignatureCheck, Software, Verifier,
};

const TEGU: (&str, &[u8], u64) = (
    "android/tegu_sdk36_TEE_EC_2026_ROOT.pem",
    b"6417f92c-daef-4cc1-8828-5bb39338ffd5",
    1771894563,
);
const SONY: (&str, &str, u64) = (
    "android/sony-xperia10-iii_sdk33_TEE_EC.pem",
    "3eafe4d5dd0090de5a42b432b42481af5ce29963656b2584c59a492de16d00c9",
    1780585145,
);

fn policy() -> AndroidPolicy {
    AndroidPolicy {
        allowed_apps: None,
        ..AndroidPolicy::default()
    }
}

fn verify(chain: &[Vec<u8>], challenge: &[u8], at: u64, v: &dyn Verifier) -> Result<(), R> {
    android_key::verify_with(
        chain,
        challenge,
        &GOOGLE_ROOTS,
        &|_| false,
        &policy(),
        at,
        v,
    )
    .map(drop)
}

fn recorded(chain: &[Vec<u8>], challenge: &[u8], at: u64) -> Vec<SignatureCheck> {
    let recorder = Recorder::default();
    let _ = verify(chain, challenge, at, &recorder);
    recorder.checks.into_inner()
}

/// Every recorded check answered by Rust, as a host would answer it.
fn answered(checks: &[SignatureCheck]) -> Vec<CheckedSignature> {
    checks
        .iter()
        .map(|c| CheckedSignature {
            digest: c.digest(),
            valid: Software.verifies(c),
        })
        .collect()
}

#[test]
fn the_recorder_lists_every_link_and_every_pinned_root() {
    let (file, challenge, at) = TEGU;
    let chain = pem_chain(file);
    let checks = recorded(&chain, challenge, at);
    // The root certificate is in this chain: one check per link.
    assert_eq!(checks.len(), chain.len() - 1);
    assert!(checks.iter().all(|c| Software.verifies(c)));
    // Without the root certificate, the top is asked of every pinned root
    // whose key type can have made its signature (an RSA key never made an
    // ECDSA signature: refused without asking anyone).
    let without_root = &chain[..chain.len() - 1];
    let checks = recorded(without_root, challenge, at);
    assert_eq!(checks.len(), without_root.len());
    assert!(checks.iter().all(|c| Software.verifies(c)));
    let top = checks.last().unwrap();
    assert!(matches!(
        top.algorithm,
        Algorithm::P384Sha256 | Algorithm::P384Sha384
    ));
    assert_eq!(top.spki, GOOGLE_ROOTS[1]);
}

#[test]
fn the_hosts_answers_decide_for_exactly_their_checks() {
    for (file, challenge, at) in [
        (TEGU.0, TEGU.1.to_vec(), TEGU.2),
        (SONY.0, hex::decode(SONY.1).unwrap(), SONY.2),
    ] {
        let chain = pem_chain(file);
        let checks = recorded(&chain, &challenge, at);
        let answers = answered(&checks);
        assert_eq!(
            verify(&chain, &challenge, at, &Prechecked { checked: &answers }),
            Ok(()),
            "{file}"
        );
        // A host that says a link is bad is believed, though Rust would accept.
        let mut lying = answers.clone();
        lying[0].valid = false;
        assert_eq!(
            verify(&chain, &challenge, at, &Prechecked { checked: &lying }),
            Err(R::SignatureInvalid),
            "{file}"
        );
        // An answer names one check: a "valid" for another message does not
        // make a forged certificate pass (Rust answers it, and refuses).
        let forged: Vec<Vec<u8>> = {
            let mut c = chain.clone();
            let at_sig = c[0].len() - 3;
            c[0] = flipped(&c[0], at_sig);
            c
        };
        let all_valid: Vec<CheckedSignature> = answers
            .iter()
            .map(|a| CheckedSignature {
                valid: true,
                ..a.clone()
            })
            .collect();
        assert_eq!(
            verify(
                &forged,
                &challenge,
                at,
                &Prechecked {
                    checked: &all_valid
                }
            ),
            Err(R::SignatureInvalid),
            "{file}"
        );
    }
}

#[test]
fn ecdsa_signatures_go_to_the_host_as_fixed_width_r_and_s() {
    let (file, challenge, at) = TEGU;
    for check in recorded(&pem_chain(file), challenge, at) {
        let width = match check.algorithm {
            Algorithm::P256Sha256 | Algorithm::P256Sha384 => 32,
            Algorithm::P384Sha256 | Algorithm::P384Sha384 => 48,
            Algorithm::RsaPkcs1Sha256 => continue,
        };
        assert_eq!(check.signature.len(), 2 * width);
        assert_ne!(check.signature, vec![0; 2 * width]);
    }
    let (file, challenge, at) = SONY;
    let rsa: Vec<SignatureCheck> = recorded(&pem_chain(file), &hex::decode(challenge).unwrap(), at)
        .into_iter()
        .filter(|c| c.algorithm == Algorithm::RsaPkcs1Sha256)
        .collect();
    assert!(
        !rsa.is_empty(),
        "the factory chain is signed by the RSA root"
    );
    assert!(rsa.iter().all(|c| c.signature.len() == 512));
}

#[test]
fn digests_bind_key_algorithm_message_and_signature() {
    let (file, challenge, at) = TEGU;
    let check = recorded(&pem_chain(file), challenge, at).remove(0);
    let base = check.digest();
    assert_eq!(base.len(), 43);
    let mut other = check.clone();
    other.message.push(0);
    assert_ne!(other.digest(), base);
    let mut other = check.clone();
    other.signature[0] ^= 1;
    assert_ne!(other.digest(), base);
    let mut other = check.clone();
    other.spki[40] ^= 1;
    assert_ne!(other.digest(), base);
    let mut other = check.clone();
    other.algorithm = if check.algorithm == Algorithm::P256Sha256 {
        Algorithm::P256Sha384
    } else {
        Algorithm::P256Sha256
    };
    assert_ne!(other.digest(), base);
}

#[test]
fn ec_keys_must_be_uncompressed_points_before_any_verifier_is_asked() {
    use simbind_core::attestation::signatures::check;
    let ecdsa_sha256 = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
    let p256 = |point: &[u8]| {
        let head = if point.len() == 65 {
            "3059301306072a8648ce3d020106082a8648ce3d030107034200"
        } else {
            "3039301306072a8648ce3d020106082a8648ce3d030107032200"
        };
        [hex::decode(head).unwrap(), point.to_vec()].concat()
    };
    let point = simbind_core::crypto::SecretKey::from_bytes(&[7; 32])
        .unwrap()
        .public_key()
        .to_uncompressed();
    let signature = hex::decode("3006020101020101").unwrap();
    let recorder = Recorder::default();
    assert_eq!(
        check(&p256(&point), ecdsa_sha256, b"m", &signature, &recorder),
        Ok(())
    );
    let compressed = simbind_core::crypto::PublicKey::from_sec1(&point)
        .unwrap()
        .to_compressed();
    let mut wrong_prefix = point.clone();
    wrong_prefix[0] = 5;
    for spki in [p256(&compressed), p256(&wrong_prefix)] {
        assert_eq!(
            check(&spki, ecdsa_sha256, b"m", &signature, &recorder),
            Err(R::Malformed)
        );
    }
    assert_eq!(
        recorder.checks.borrow().len(),
        1,
        "only the well-formed key was asked"
    );
    // Short scalars are left-padded to the curve's width for WebCrypto.
    let mut expected = vec![0u8; 64];
    expected[31] = 1;
    expected[63] = 1;
    assert_eq!(recorder.checks.borrow()[0].signature, expected);
    // A scalar wider than the curve's is no signature: refused, not asked.
    for wide in [
        [
            hex::decode("3026022101").unwrap(),
            vec![1; 32],
            hex::decode("020101").unwrap(),
        ]
        .concat(),
        [hex::decode("3026020101022101").unwrap(), vec![1; 32]].concat(),
    ] {
        assert_eq!(
            check(&p256(&point), ecdsa_sha256, b"m", &wide, &recorder),
            Err(R::SignatureInvalid)
        );
    }
    assert_eq!(recorder.checks.borrow().len(), 1);
}

#[test]
fn a_binds_checks_are_the_chain_signatures_of_its_evidence() {
    use simbind_core::api::ChipInfo;
    use simbind_core::attestation::{AttestationPolicy, bind_signature_checks};
    use simbind_core::codec::b64;
    let (file, _, at) = TEGU;
    let chain = pem_chain(file);
    let chip = ChipInfo {
        format: "android-key".into(),
        serial: None,
        public_key: None,
        certificate: None,
        key_id: Some(b64(&[1; 32])),
        certificate_chain: Some(chain.iter().map(|c| b64(c)).collect()),
        attestation: None,
    }
    .validate()
    .unwrap();
    let policy = AttestationPolicy::default();
    let checks = bind_signature_checks(&chip, chip.evidence.as_ref().unwrap(), &policy, at);
    assert_eq!(
        checks,
        recorded(&chain, TEGU.1, at),
        "the same checks android_key asks"
    );
    assert_eq!(checks.len(), chain.len() - 1);
    // Answered, they decide a bind's attestation like Rust's own check.
    let answers = answered(&checks);
    assert!(answers.iter().all(|a| a.valid));
}
