//! The evidence for one ceremony, built step by step as the JS shell brings
//! the bridge's replies: every check, the transcript and the request body
//! are here (and in core), the shell only awaits the bridge and the network.

use simbind_core::api::{
    BindRequest, ChallengeResponse, ChipInfo, Claims, EvidenceRequest, SimInfo,
};
use simbind_core::attestation::{self, ChipFormat};
use simbind_core::codec::{b64, unb64};
use simbind_core::transcript::Ceremony;
use wasm_bindgen::prelude::*;

use crate::error::ClientError;
use crate::replies;
use crate::wire;

/// One ceremony's evidence in the making (used by the package's own
/// `SimBindClient`; apps do not call it).
#[wasm_bindgen(skip_typescript)]
pub struct Evidence {
    ceremony: Ceremony,
    challenge: ChallengeResponse,
    subject: String,
    transaction: Vec<u8>,
    chip: Option<(ChipInfo, ChipFormat)>,
    sim: Option<SimInfo>,
    counter: u64,
    transcript: Option<Vec<u8>>,
    chip_signature: Option<String>,
    sim_signature: Option<String>,
}

/// A step taken out of order: a defect of the shell, not of the phone.
fn out_of_order() -> JsValue {
    ClientError::client("invalid_argument", "evidence steps out of order").into()
}

#[wasm_bindgen]
impl Evidence {
    /// Starts from the worker's challenge answer (`status`, body `text`).
    /// Refuses a challenge for another audience than `audience`, or bound to
    /// another transaction than `transaction` (none: empty), before anything
    /// is read from the phone or signed.
    #[wasm_bindgen(constructor)]
    pub fn new(
        ceremony: &str,
        status: u16,
        text: &str,
        audience: &str,
        subject: String,
        transaction: Option<Vec<u8>>,
    ) -> Result<Evidence, JsValue> {
        let ceremony = Ceremony::from_label(ceremony).ok_or_else(|| {
            ClientError::client(
                "invalid_ceremony",
                "ceremony must be bind, verify or unbind",
            )
        })?;
        let challenge = wire::read_challenge(status, text)?;
        let transaction = transaction.unwrap_or_default();
        // Sign only the transaction that was asked for, never another one a
        // server or relay substituted.
        let requested = wire::challenge_request(ceremony.label(), &transaction).transaction;
        if challenge.transaction != requested {
            return Err(ClientError::client(
                "transaction_mismatch",
                "the challenge is bound to another transaction than the one requested",
            )
            .into());
        }
        if challenge.audience != audience {
            return Err(ClientError::client(
                "audience_mismatch",
                "the challenge is for another deployment than this client's audience",
            )
            .into());
        }
        Ok(Evidence {
            ceremony,
            challenge,
            subject,
            transaction,
            chip: None,
            sim: None,
            counter: 0,
            transcript: None,
            chip_signature: None,
            sim_signature: None,
        })
    }

    /// When the challenge expires, Unix seconds (as a JS number): the client
    /// re-sends a bind's evidence only until then.
    #[wasm_bindgen(js_name = expiresAt)]
    pub fn expires_at(&self) -> f64 {
        self.challenge.expires_at as f64
    }

    /// `chipInfo()` (or `chipAttest()`)'s reply.
    #[wasm_bindgen(js_name = setChip)]
    pub fn set_chip(&mut self, reply: JsValue) -> Result<(), JsValue> {
        let chip = replies::chip_from_js(reply)?;
        let format = ChipFormat::parse(&chip.format)
            .map_err(|e| ClientError::from_validation(e, "bridge"))?;
        self.chip = Some((chip, format));
        Ok(())
    }

    /// The challenge to attest the chip key with (`chipAttest`): for a bind
    /// with a real-format chip, derived from the server's challenge, the
    /// audience and the registration (docs/PROTOCOL.md §2); otherwise none.
    #[wasm_bindgen(js_name = attestChallenge)]
    pub fn attest_challenge(&self) -> Result<Option<Vec<u8>>, JsValue> {
        let (_, format) = self.chip.as_ref().ok_or_else(out_of_order)?;
        if self.ceremony != Ceremony::Bind || !format.key_is_identity() {
            return Ok(None);
        }
        let raw = unb64(&self.challenge.challenge, "challenge")
            .map_err(|e| ClientError::from_validation(e, "server"))?;
        Ok(Some(
            attestation::bind_challenge(&raw, &self.challenge.audience, &self.subject).to_vec(),
        ))
    }

    /// The nonce a Firebase PNV token for this bind must carry
    /// (docs/PROTOCOL.md §12): derived from the server's challenge, the
    /// audience and the registration; none for other ceremonies.
    #[wasm_bindgen(js_name = firebasePnvNonce)]
    pub fn firebase_pnv_nonce(&self) -> Result<Option<String>, JsValue> {
        if self.ceremony != Ceremony::Bind {
            return Ok(None);
        }
        let raw = unb64(&self.challenge.challenge, "challenge")
            .map_err(|e| ClientError::from_validation(e, "server"))?;
        Ok(Some(simbind_core::firebase_pnv::nonce_for(
            &raw,
            &self.challenge.audience,
            &self.subject,
        )))
    }

    /// The body asking the operator's authorization for this bind
    /// (`camara_nv`): its challenge; none for other ceremonies.
    #[wasm_bindgen(js_name = carrierAuthorizationBody)]
    pub fn carrier_authorization_body(&self) -> Result<String, JsValue> {
        if self.ceremony != Ceremony::Bind {
            return Err(out_of_order());
        }
        Ok(wire::encode(
            &simbind_core::api::CarrierAuthorizationRequest {
                challenge: self.challenge.challenge.clone(),
            },
        )?)
    }

    /// `simInfo()`'s reply.
    #[wasm_bindgen(js_name = setSim)]
    pub fn set_sim(&mut self, reply: JsValue) -> Result<(), JsValue> {
        self.sim = Some(replies::sim_from_js(reply)?);
        Ok(())
    }

    /// Whether the chip counts through `nextCounter()`: App Attest counts in
    /// its assertions, and its transcript carries 0.
    #[wasm_bindgen(js_name = needsCounter)]
    pub fn needs_counter(&self) -> Result<bool, JsValue> {
        let (_, format) = self.chip.as_ref().ok_or_else(out_of_order)?;
        Ok(*format != ChipFormat::AppleAppAttest)
    }

    /// `nextCounter()`'s reply.
    #[wasm_bindgen(js_name = setCounter)]
    pub fn set_counter(&mut self, reply: JsValue) -> Result<(), JsValue> {
        self.counter = replies::counter_from_js(&reply)?;
        Ok(())
    }

    /// Validates what the phone reported (core's checks, as the worker makes
    /// them) and returns the transcript the chip signs.
    pub fn transcript(&mut self) -> Result<Vec<u8>, JsValue> {
        let (Some((chip, _)), Some(sim)) = (&self.chip, &self.sim) else {
            return Err(out_of_order());
        };
        let claims = Claims::validate(&self.challenge.challenge, chip, sim, self.counter)
            .map_err(|e| ClientError::from_validation(e, "bridge"))?;
        let transcript = claims.transcript(
            self.ceremony,
            &self.challenge.audience,
            &self.subject,
            &self.transaction,
        );
        self.transcript = Some(transcript.clone());
        Ok(transcript)
    }

    /// `chipSign()`'s reply: 64 bytes `r || s`, or App Attest's assertion.
    #[wasm_bindgen(js_name = setChipSignature)]
    pub fn set_chip_signature(&mut self, reply: JsValue) -> Result<(), JsValue> {
        let (_, format) = self.chip.as_ref().ok_or_else(out_of_order)?;
        let bytes = match format {
            ChipFormat::AppleAppAttest => replies::assertion_from_js(&reply)?,
            _ => replies::signature_from_js("chipSign", &reply)?,
        };
        self.chip_signature = Some(b64(&bytes));
        Ok(())
    }

    /// Whether the SIM has a key of its own, so `simSign()` must answer too.
    #[wasm_bindgen(js_name = wantsSimSignature)]
    pub fn wants_sim_signature(&self) -> Result<bool, JsValue> {
        let sim = self.sim.as_ref().ok_or_else(out_of_order)?;
        Ok(sim.public_key.is_some())
    }

    /// `simSign()`'s reply; `undefined` when the bridge has no `simSign`.
    #[wasm_bindgen(js_name = setSimSignature)]
    pub fn set_sim_signature(&mut self, reply: JsValue) -> Result<(), JsValue> {
        if reply.is_undefined() {
            return Err(ClientError::bridge(
                "bridge_method_missing",
                "the SIM has a key but the bridge has no simSign()",
            )
            .into());
        }
        self.sim_signature = Some(b64(&replies::signature_from_js("simSign", &reply)?));
        Ok(())
    }

    /// The request body: the evidence for verify and unbind; for bind the
    /// evidence and the code, or, where a device-sent SMS proves the number,
    /// the registration's bind secret, or the Firebase PNV token.
    pub fn body(
        &self,
        otp: Option<String>,
        bind_secret: Option<String>,
        firebase_pnv_token: Option<String>,
    ) -> Result<String, JsValue> {
        let (Some((chip, _)), Some(sim), Some(_), Some(chip_signature)) = (
            &self.chip,
            &self.sim,
            &self.transcript,
            &self.chip_signature,
        ) else {
            return Err(out_of_order());
        };
        if self.sim_signature.is_none() && sim.public_key.is_some() {
            return Err(out_of_order());
        }
        // What the bridge's `firebasePnvToken` returned: a compact JWS of at
        // most 4 KiB (the worker checks the rest).
        if firebase_pnv_token.as_deref().is_some_and(|t| {
            t.len() > simbind_core::firebase_pnv::MAX_TOKEN_LEN
                || simbind_core::jws::split(t).is_none()
        }) {
            return Err(ClientError::bridge(
                "bridge_malformed_reply",
                "firebasePnvToken did not return a token",
            )
            .into());
        }
        let evidence = EvidenceRequest {
            challenge: self.challenge.challenge.clone(),
            chip: chip.clone(),
            sim: sim.clone(),
            counter: self.counter,
            chip_signature: chip_signature.clone(),
            sim_signature: self.sim_signature.clone(),
        };
        Ok(match (self.ceremony, otp, bind_secret) {
            (Ceremony::Bind, otp, bind_secret) => wire::encode(&BindRequest {
                otp,
                bind_secret,
                firebase_pnv_token,
                evidence,
            })?,
            (_, None, None) if firebase_pnv_token.is_none() => wire::encode(&evidence)?,
            _ => return Err(out_of_order()),
        })
    }
}

/// Bytes as the Android and iOS hosts take them: base64url text.
#[wasm_bindgen(js_name = encodeBase64url, skip_typescript)]
pub fn encode_base64url(bytes: &[u8]) -> String {
    b64(bytes)
}
