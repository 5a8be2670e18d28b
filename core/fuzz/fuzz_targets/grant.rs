//! Grant tokens and JWKS documents as a relying party's backend reads them,
//! Firebase PNV tokens and key sets as the worker reads them at bind, and
//! the CAMARA Number Verification operator's answers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simbind_core::crypto::SecretKey;
use simbind_core::camara_nv;
use simbind_core::firebase_pnv::{self, PnvKeys, PnvProject};
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
    // Firebase PNV: no token Firebase's key did not sign verifies; key sets,
    // Cache-Control values and key ids are read without panicking.
    let keys = PnvKeys::parse(serde_json::to_string(&jwks).unwrap_or_default().as_bytes());
    if let Some(keys) = keys {
        let project = PnvProject { number: "1".into(), id: "p".into(), nonce_optional: true };
        assert!(firebase_pnv::verify(text, &keys, &project, 1_800_000_000).is_err());
    }
    let _ = PnvKeys::parse(data);
    let _ = firebase_pnv::key_id(text);
    // CAMARA Number Verification: what the operator and the callback send.
    let _ = camara_nv::Discovery::parse(data, false);
    if let Some(id) = camara_nv::registration_of_state(text) {
        assert!(text.starts_with(id) && id.starts_with("reg_"));
    }
    let _ = camara_nv::check_id_token(text, "iss", "client", "nonce", 1_800_000_000);
    for status in [200, 403, 404, 500] {
        let _ = camara_nv::read_verify(status, data);
    }
    let age = firebase_pnv::keys_max_age(Some(text));
    assert!((firebase_pnv::MIN_KEYS_AGE_SECS..=firebase_pnv::MAX_KEYS_AGE_SECS).contains(&age));
});
