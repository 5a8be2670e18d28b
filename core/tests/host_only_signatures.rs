//! A build without the `x509-software` primitives (the worker's): chain
//! signatures are decided by the host's answers alone, and a check the host
//! did not answer is refused, never assumed.
//! `cargo test -p simbind-core --no-default-features --test host_only_signatures`

#![cfg(not(feature = "x509-software"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::attestation::pem_chain;
use simbind_core::attestation::AttestationRefusal as R;
use simbind_core::attestation::android_key::{self, AndroidPolicy, GOOGLE_ROOTS};
use simbind_core::attestation::signatures::{CheckedSignature, Prechecked, Recorder, Verifier};

const FILE: &str = "android/tegu_sdk36_TEE_EC_2026_ROOT.pem";
const CHALLENGE: &[u8] = b"6417f92c-daef-4cc1-8828-5bb39338ffd5";
const AT: u64 = 1771894563;

fn verify(v: &dyn Verifier) -> Result<(), R> {
    let policy = AndroidPolicy {
        allowed_apps: None,
        ..AndroidPolicy::default()
    };
    android_key::verify_with(
        &pem_chain(FILE),
        CHALLENGE,
        &GOOGLE_ROOTS,
        &|_| false,
        &policy,
        AT,
        v,
    )
    .map(drop)
}

#[test]
fn unanswered_checks_are_refused_and_answered_ones_decide() {
    assert_eq!(
        verify(&Prechecked { checked: &[] }),
        Err(R::SignatureInvalid)
    );
    let recorder = Recorder::default();
    let _ = verify(&recorder);
    let answers: Vec<CheckedSignature> = recorder
        .checks
        .borrow()
        .iter()
        .map(|c| CheckedSignature {
            digest: c.digest(),
            valid: true,
        })
        .collect();
    assert!(!answers.is_empty());
    assert_eq!(verify(&Prechecked { checked: &answers }), Ok(()));
    for missing in 0..answers.len() {
        let mut partial = answers.clone();
        partial.remove(missing);
        assert!(
            verify(&Prechecked { checked: &partial }).is_err(),
            "answer {missing} missing"
        );
    }
}
