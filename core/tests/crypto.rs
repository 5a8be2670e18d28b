//! P-256 wrapper: key parsing refusals, signature encoding, and the full
//! Wycheproof ECDSA P-256/SHA-256 (P1363 encoding) suite.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use simbind_core::ValidationError as E;
use simbind_core::crypto::{PublicKey, SecretKey, Signature};
use wycheproof::TestResult;
use wycheproof::ecdsa::{TestName, TestSet};

fn generator_compressed() -> Vec<u8> {
    hex::decode("036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296").unwrap()
}

#[test]
fn parses_compressed_and_uncompressed_forms_of_one_key() {
    let key = SecretKey::from_bytes(&[7; 32]).unwrap().public_key();
    let again = PublicKey::from_sec1(&key.to_uncompressed()).unwrap();
    assert_eq!(PublicKey::from_sec1(&key.to_compressed()).unwrap(), again);
    assert_eq!(key.to_compressed().len(), 33);
    assert!(PublicKey::from_sec1(&generator_compressed()).is_ok());
}

/// `n` distinct public keys (secret scalars 1…n repeated over 32 bytes).
fn distinct_keys(n: u8) -> Vec<PublicKey> {
    (1..=n)
        .map(|i| SecretKey::from_bytes(&[i; 32]).unwrap().public_key())
        .collect()
}

/// Compressed keys are remembered once parsed (a square root each): every
/// parse still gives the key of exactly those bytes, past the memo's size
/// too, and a refused point is refused every time.
#[test]
fn a_remembered_compressed_key_is_the_key_of_those_bytes() {
    let keys = distinct_keys(150);
    for _ in 0..2 {
        for key in &keys {
            let parsed = PublicKey::from_sec1(&key.to_compressed()).unwrap();
            assert_eq!(parsed.to_uncompressed(), key.to_uncompressed());
        }
    }
    // Interleaved: the one just kept never answers for another.
    for pair in keys.windows(2) {
        for key in pair {
            let parsed = PublicKey::from_sec1(&key.to_compressed()).unwrap();
            assert_eq!(parsed.to_uncompressed(), key.to_uncompressed());
        }
    }
    let mut not_a_point = vec![2u8];
    not_a_point.extend([0xff; 32]);
    for _ in 0..2 {
        assert_eq!(PublicKey::from_sec1(&not_a_point), Err(E::InvalidPublicKey));
    }
}

/// The memo keeps the 64 keys parsed last and answers for them: a second
/// parse of a recent key is a lookup, of an older one a real parse.
#[test]
fn the_key_memo_keeps_the_last_64_keys() {
    use simbind_core::crypto::{KeyMemoStats, forget_parsed_keys, key_memo_stats};
    let keys: Vec<Vec<u8>> = distinct_keys(150)
        .iter()
        .map(PublicKey::to_compressed)
        .collect();
    forget_parsed_keys();
    for key in &keys {
        PublicKey::from_sec1(key).unwrap();
    }
    assert_eq!(
        key_memo_stats(),
        KeyMemoStats { kept: 64, hits: 0 },
        "64 kept, none parsed twice"
    );
    PublicKey::from_sec1(&keys[149]).unwrap();
    PublicKey::from_sec1(&keys[86]).unwrap();
    assert_eq!(
        key_memo_stats(),
        KeyMemoStats { kept: 64, hits: 2 },
        "the newest and the oldest kept"
    );
    PublicKey::from_sec1(&keys[85]).unwrap();
    assert_eq!(
        key_memo_stats(),
        KeyMemoStats { kept: 64, hits: 2 },
        "older than the last 64: parsed"
    );
    // An uncompressed key costs no square root: never kept.
    forget_parsed_keys();
    let full = SecretKey::from_bytes(&[3; 32]).unwrap().public_key();
    PublicKey::from_sec1(&full.to_uncompressed()).unwrap();
    assert_eq!(key_memo_stats(), KeyMemoStats { kept: 0, hits: 0 });
}

#[test]
fn refuses_invalid_points_identity_and_lengths() {
    let mut off_curve = SecretKey::from_bytes(&[7; 32])
        .unwrap()
        .public_key()
        .to_uncompressed();
    off_curve[64] ^= 1; // y no longer matches x
    let x_too_big = {
        let mut k = vec![2u8];
        k.extend([0xff; 32]); // x >= p
        k
    };
    let cases: Vec<Vec<u8>> = vec![
        off_curve,
        x_too_big,
        vec![0],                                    // identity
        vec![4; 65],                                // garbage
        generator_compressed()[..32].to_vec(),      // truncated
        [generator_compressed(), vec![0]].concat(), // too long
        vec![],
    ];
    for bytes in cases {
        assert_eq!(
            PublicKey::from_sec1(&bytes),
            Err(E::InvalidPublicKey),
            "{}",
            hex::encode(&bytes)
        );
    }
}

#[test]
fn signatures_must_be_64_bytes_with_scalars_in_range() {
    let n =
        hex::decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551").unwrap();
    for bytes in [
        vec![1u8; 63],
        vec![1u8; 65],
        vec![],
        [vec![0; 32], vec![1; 32]].concat(), // r = 0
        [vec![1; 32], vec![0; 32]].concat(), // s = 0
        [n.clone(), vec![1; 32]].concat(),   // r = n
        [vec![1; 32], n.clone()].concat(),   // s = n
    ] {
        assert_eq!(
            Signature::from_bytes(&bytes),
            Err(E::InvalidSignatureEncoding),
            "{}",
            bytes.len()
        );
    }
}

#[test]
fn sign_verify_round_trip_and_tamper() {
    let key = SecretKey::from_bytes(&[3; 32]).unwrap();
    let sig = key.sign(b"message");
    let public = key.public_key();
    assert!(public.verify(b"message", &sig));
    assert!(!public.verify(b"messagf", &sig));
    let other = SecretKey::from_bytes(&[4; 32]).unwrap().public_key();
    assert!(!other.verify(b"message", &sig));
    assert_eq!(Signature::from_bytes(&sig.to_bytes()).unwrap(), sig);
}

#[test]
fn refuses_zero_and_out_of_range_private_keys() {
    assert!(SecretKey::from_bytes(&[0; 32]).is_err());
    assert!(SecretKey::from_bytes(&[0xff; 32]).is_err());
    assert!(SecretKey::from_bytes(&[1; 31]).is_err());
}

/// Runs every Wycheproof vector through the project's own wrapper: parse the
/// key, parse the signature, verify. Valid vectors must pass; invalid ones
/// must be refused at some step. No deviation is needed.
#[test]
fn wycheproof_ecdsa_p256_sha256_p1363() {
    let set = TestSet::load(TestName::EcdsaSecp256r1Sha256P1363).unwrap();
    let (mut run, mut accepted, mut refused) = (0, 0, 0);
    for group in &set.test_groups {
        let key = PublicKey::from_sec1(&group.key.key);
        for test in &group.tests {
            run += 1;
            let ok = key.as_ref().is_ok_and(|k| {
                Signature::from_bytes(&test.sig).is_ok_and(|s| k.verify(&test.msg, &s))
            });
            match test.result {
                TestResult::Valid => {
                    assert!(ok, "valid vector {} refused: {}", test.tc_id, test.comment)
                }
                TestResult::Invalid => assert!(
                    !ok,
                    "invalid vector {} accepted: {}",
                    test.tc_id, test.comment
                ),
                TestResult::Acceptable => {}
            }
            if ok { accepted += 1 } else { refused += 1 }
        }
    }
    println!("wycheproof p1363: run={run} accepted={accepted} refused={refused}");
    assert_eq!(run, set.number_of_tests);
    // The figures docs/SECURITY.md states: every valid vector accepted, every invalid refused.
    assert_eq!((run, accepted, refused), (262, 173, 89));
}

#[test]
fn a_secret_key_never_prints_itself() {
    let key = SecretKey::from_bytes(&[0x42; 32]).unwrap();
    let shown = format!("{key:?}");
    assert_eq!(shown, "SecretKey(<redacted>)");
    assert!(!shown.contains("42"));
}
