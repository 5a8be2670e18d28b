//! Apple App Attest: attestation objects (CBOR, certificates, authenticator
//! data) and assertions.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simbind_core::attestation::apple_appattest::{self, APPLE_ROOT, ApplePolicy, Environment};

fuzz_target!(|data: &[u8]| {
    let policy = ApplePolicy {
        app_ids: vec!["0352187391.com.apple.example_app_attest".to_owned()],
        environment: Environment::Development,
    };
    let _ = apple_appattest::verify_attestation(
        data,
        &[0u8; 32],
        None,
        &[APPLE_ROOT],
        &policy,
        1_780_000_000,
    );
    let key = [4u8; 65];
    let _ = apple_appattest::verify_assertion(data, &[0u8; 32], &key, &policy.app_ids);
});
