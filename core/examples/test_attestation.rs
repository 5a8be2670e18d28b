//! Test-only attestations for the end-to-end suites: Android Key Attestation
//! chains and App Attest objects in the real formats, under a root only a
//! test configuration trusts (`ATTESTATION_TEST_ROOT`). Never a production
//! tool: the root's private key is a constant.
//!
//! ```text
//! test_attestation root
//! test_attestation android KEY_HEX CHALLENGE_HEX [unlocked]
//! test_attestation apple KEY_HEX CLIENT_DATA_HASH_HEX
//! ```
//! Each prints one JSON object: `{"spki"}`, or `{"keyId", "certificateChain"}`
//! / `{"keyId", "attestation"}` (base64url throughout).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../tests/common/issuer.rs"]
mod issuer;

use p256::ecdsa::SigningKey;
use serde_json::json;
use simbind_core::codec::b64;

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["root"] => json!({"spki": b64(&issuer::test_root_spki())}),
        ["android", key, challenge, rest @ ..] => {
            let key = SigningKey::from_slice(&hex(key)).expect("P-256 scalar");
            let mut spec = issuer::AndroidSpec::new(&hex(challenge));
            if rest.contains(&"unlocked") {
                spec.locked = false;
            }
            let chain = issuer::android_chain(&key, &spec);
            json!({
                "keyId": b64(&issuer::key_id(&key)),
                "certificateChain": chain.iter().map(|c| b64(c)).collect::<Vec<_>>(),
            })
        }
        ["apple", key, hash] => {
            let key = SigningKey::from_slice(&hex(key)).expect("P-256 scalar");
            let hash: [u8; 32] = hex(hash).try_into().expect("32-byte hash");
            let object = issuer::apple_attestation(&key, &issuer::AppleSpec::new(hash));
            json!({"keyId": b64(&issuer::key_id(&key)), "attestation": b64(&object)})
        }
        _ => {
            eprintln!(
                "usage: test_attestation root | android KEY CHALLENGE [unlocked] | apple KEY HASH"
            );
            std::process::exit(2);
        }
    };
    println!("{out}");
}
