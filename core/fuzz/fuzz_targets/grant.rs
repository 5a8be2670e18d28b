//! Grant tokens and JWKS documents as a relying party's backend reads them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simbind_core::crypto::SecretKey;
use simbind_core::grant::{Jwk, Jwks, verify_grant};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(jwks) = serde_json::from_str::<Jwks>(text) {
        for key in &jwks.keys {
            let _ = key.public_key();
        }
    }
    let Ok(signer_key) = SecretKey::from_bytes(&[7u8; 32]) else {
        return;
    };
    let jwks = Jwks {
        keys: vec![Jwk::from_public_key("g1", &signer_key.public_key())],
    };
    for transaction in [None, Some(&b"txn"[..])] {
        // No token we did not sign may verify.
        assert!(verify_grant(text, &jwks, "iss", "aud", transaction, 1_800_000_000).is_err());
    }
});
