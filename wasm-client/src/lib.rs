//! SimBind client for browsers and WebViews, built with wasm-bindgen.
//!
//! The wasm holds everything that is checked or encoded: it reads the
//! bridge's replies, validates them and builds the canonical transcript with
//! `simbind-core` (the same code the edge worker verifies with), encodes the
//! requests and reads the answers. The package's JavaScript shell
//! (`wasm-client/js/`) calls the bridge and the network in between.

#![warn(missing_docs)]

mod error;
mod evidence;
mod fields;
mod replies;
#[cfg(feature = "testing")]
mod software;
mod wire;

pub use evidence::{Evidence, encode_base64url};
pub use replies::read_cellular_reply;
#[cfg(feature = "testing")]
pub use software::SoftwareBridge;
pub use wire::{challenge_body, read_answer, read_transaction, registration_body};

use simbind_core::api::{ChipInfo, Claims, SimInfo};
use simbind_core::transcript::Ceremony;
use wasm_bindgen::prelude::*;

use crate::error::ClientError;

/// Builds the exact transcript bytes a chip signs (docs/PROTOCOL.md §3).
/// `chip` and `sim` take the bridge's shapes (`chipInfo()`, `simInfo()`);
/// `transaction` is the challenge response's transaction, decoded (omit it
/// for none).
#[wasm_bindgen(js_name = buildTranscript)]
#[allow(clippy::too_many_arguments)]
pub fn build_transcript(
    ceremony: &str,
    challenge: &str,
    audience: &str,
    subject: &str,
    chip: JsValue,
    sim: JsValue,
    counter: f64,
    transaction: Option<Vec<u8>>,
) -> Result<Vec<u8>, JsValue> {
    let ceremony = Ceremony::from_label(ceremony).ok_or_else(|| {
        ClientError::client(
            "invalid_ceremony",
            "ceremony must be bind, verify or unbind",
        )
    })?;
    let chip: ChipInfo = replies::chip_from_js(chip).map_err(JsValue::from)?;
    let sim: SimInfo = replies::sim_from_js(sim).map_err(JsValue::from)?;
    let counter = replies::counter_from_f64(counter).map_err(JsValue::from)?;
    let claims = Claims::validate(challenge, &chip, &sim, counter)
        .map_err(|e| ClientError::from_validation(e, "client"))?;
    let transaction = transaction.unwrap_or_default();
    if transaction.len() > simbind_core::challenge::MAX_TRANSACTION_LEN {
        return Err(ClientError::client(
            "invalid_transaction",
            "a transaction is at most 64 bytes",
        )
        .into());
    }
    Ok(claims.transcript(ceremony, audience, subject, &transaction))
}

/// The challenge a real-format chip's attestation carries at bind (Android
/// `attestationChallenge`, App Attest `clientDataHash`; docs/PROTOCOL.md §2):
/// 32 bytes derived from the bind challenge (base64url, as the server sent
/// it), the audience and the registration id.
#[wasm_bindgen(js_name = bindAttestationChallenge)]
pub fn bind_attestation_challenge(
    challenge: &str,
    audience: &str,
    #[wasm_bindgen(js_name = registrationId)] registration_id: &str,
) -> Result<Vec<u8>, JsValue> {
    let raw = simbind_core::codec::unb64(challenge, "challenge")
        .map_err(|e| ClientError::from_validation(e, "client"))?;
    Ok(simbind_core::attestation::bind_challenge(&raw, audience, registration_id).to_vec())
}

/// The nonce a Firebase PNV token for a bind must carry (docs/PROTOCOL.md
/// §12): base64url, derived from the bind challenge (base64url, as the
/// server sent it), the audience and the registration id.
#[wasm_bindgen(js_name = firebasePnvNonce)]
pub fn firebase_pnv_nonce(
    challenge: &str,
    audience: &str,
    #[wasm_bindgen(js_name = registrationId)] registration_id: &str,
) -> Result<String, JsValue> {
    let raw = simbind_core::codec::unb64(challenge, "challenge")
        .map_err(|e| ClientError::from_validation(e, "client"))?;
    Ok(simbind_core::firebase_pnv::nonce_for(
        &raw,
        audience,
        registration_id,
    ))
}

/// TLSF rather than Rust's default dlmalloc: a few KB less for every app to
/// download, constant-time operations, and free blocks merged.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: rlsf::GlobalTlsf = rlsf::GlobalTlsf::new();
