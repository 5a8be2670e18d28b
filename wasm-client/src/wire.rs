//! The worker's side of the wire: request bodies encoded by core's own wire
//! types, and answers read back (a problem document becomes the error the app
//! sees). The JS shell only moves the text.

use js_sys::JSON;
use serde::Serialize;
use simbind_core::api::{ChallengeRequest, ChallengeResponse, StartRegistrationRequest};
use simbind_core::codec::{b64, unb64};
use simbind_core::device_sms::token_of_text;
use simbind_core::identifiers::PhoneNumber;
use simbind_core::transcript::Ceremony;
use wasm_bindgen::prelude::*;

use crate::error::ClientError;
use crate::fields::{Fields, Made, Shape};

/// The body of a POST that carries no fields.
#[derive(Serialize)]
struct NoBody {}

/// A request body as JSON text.
pub fn encode(body: &impl Serialize) -> Result<String, ClientError> {
    serde_json::to_string(body)
        .map_err(|_| ClientError::client("encode_failed", "the request could not be encoded"))
}

/// `POST /v1/registrations`: the number to register, and how to prove it
/// (`otp`, `device_sms`, or none: the deployment's default).
#[wasm_bindgen(js_name = registrationBody, skip_typescript)]
pub fn registration_body(
    phone_number: String,
    proof: Option<String>,
    #[wasm_bindgen(js_name = fallbackFrom)] fallback_from: Option<String>,
) -> Result<String, JsValue> {
    Ok(encode(&StartRegistrationRequest {
        phone_number,
        proof,
        fallback_from,
    })?)
}

/// The body asking a challenge for `ceremony`: empty for `bind`; for
/// `verify` and `unbind` the ceremony and the transaction (1 to 64 bytes,
/// or none), checked as the worker checks them.
#[wasm_bindgen(js_name = challengeBody, skip_typescript)]
pub fn challenge_body(ceremony: &str, transaction: Option<Vec<u8>>) -> Result<String, JsValue> {
    if ceremony == Ceremony::Bind.label() {
        return Ok(encode(&NoBody {})?);
    }
    let request = challenge_request(ceremony, transaction.as_deref().unwrap_or_default());
    request
        .validate()
        .map_err(|e| ClientError::from_validation(e, "client"))?;
    Ok(encode(&request)?)
}

/// The transaction an app passes to `verify`, as bytes: a `Uint8Array` or
/// an `ArrayBuffer` (what `crypto.subtle.digest` returns) of 1 to 64 bytes,
/// or nothing (`undefined`, `null`). Anything else (a string, a number, an
/// array, an empty or oversized buffer) is refused with
/// `invalid_transaction` before anything is sent or signed: the chip would
/// otherwise sign bytes that are not what the user approved.
#[wasm_bindgen(js_name = readTransaction, skip_typescript)]
pub fn read_transaction(value: JsValue) -> Result<Option<Vec<u8>>, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    let invalid = || {
        ClientError::client(
            "invalid_transaction",
            "transaction must be a Uint8Array or an ArrayBuffer of 1 to 64 bytes",
        )
    };
    let bytes = if let Some(array) = value.dyn_ref::<js_sys::Uint8Array>() {
        array.to_vec()
    } else if let Some(buffer) = value.dyn_ref::<js_sys::ArrayBuffer>() {
        js_sys::Uint8Array::new(buffer).to_vec()
    } else {
        return Err(invalid().into());
    };
    // The worker's own rule on a transaction's length.
    simbind_core::api::parse_transaction(&b64(&bytes)).map_err(|_| invalid())?;
    Ok(Some(bytes))
}

/// The challenge request for a holder ceremony (an empty transaction is none).
pub fn challenge_request(ceremony: &str, transaction: &[u8]) -> ChallengeRequest {
    ChallengeRequest {
        ceremony: ceremony.into(),
        transaction: (!transaction.is_empty()).then(|| b64(transaction)),
    }
}

/// A 2xx answer that is not the documented shape.
fn unexpected(status: u16) -> ClientError {
    ClientError {
        code: "unexpected_response".into(),
        status,
        source: "server",
        detail: "the answer is not the documented shape".into(),
    }
}

/// The answer's fields when `status` is 2xx; otherwise the problem it
/// carries (`code`, `detail`), or `http_error` when it carries none.
fn answer(status: u16, text: &str) -> Result<Fields, ClientError> {
    let parsed = JSON::parse(text).ok();
    let fields = parsed.and_then(|v| Fields::object(v, None).ok());
    if (200..300).contains(&status) {
        return fields.ok_or_else(|| unexpected(status));
    }
    let problem = fields.and_then(|p| {
        let code = p.string("code").ok()?;
        let detail = match p.opt_string("detail").ok()? {
            Some(detail) => detail,
            None => p.string("title").ok()?,
        };
        Some((code, detail))
    });
    Err(match problem {
        Some((code, detail)) => ClientError {
            code,
            status,
            source: "server",
            detail,
        },
        None => ClientError {
            code: "http_error".into(),
            status,
            source: "server",
            detail: format!("HTTP {status}"),
        },
    })
}

/// Reads an answer with `read`; a misshapen 2xx is `unexpected_response`.
fn read<T>(
    status: u16,
    text: &str,
    read: fn(&Fields) -> Result<T, Shape>,
) -> Result<T, ClientError> {
    read(&answer(status, text)?).map_err(|_| unexpected(status))
}

/// A challenge answer as core's wire type.
pub fn read_challenge(status: u16, text: &str) -> Result<ChallengeResponse, ClientError> {
    read(status, text, |f| {
        Ok(ChallengeResponse {
            challenge: f.string("challenge")?,
            ceremony: f.string("ceremony")?,
            audience: f.string("audience")?,
            expires_at: f.integer("expires_at")?,
            transaction: f.opt_string("transaction")?,
        })
    })
}

/// A registration's `device_sms`, refused unless `to` is an E.164 number,
/// `text` is exactly the token template (so the bridge is never asked to
/// send anything else) and `bind_secret` is 16 bytes: the app sees `to`,
/// `text` and `expiresAt`; the shell keeps `token` and `bindSecret` to itself.
fn device_sms(sms: &Fields) -> Result<JsValue, Shape> {
    let to = sms.string("to")?;
    PhoneNumber::parse_e164(&to).map_err(|_| Shape("device_sms.to"))?;
    let text = sms.string("text")?;
    let token = token_of_text(&text)
        .ok_or(Shape("device_sms.text"))?
        .to_owned();
    let bind_secret = sms.string("bind_secret")?;
    if unb64(&bind_secret, "bind_secret").map(|b| b.len()) != Ok(16) {
        return Err(Shape("device_sms.bind_secret"));
    }
    Ok(Made::default()
        .with("to", to)
        .with("text", text)
        .with("expiresAt", sms.integer("expires_at")? as f64)
        .with("token", token)
        .with("bindSecret", bind_secret)
        .done())
}

/// What the app gets for an answer (`kind`: `registration`, `binding`,
/// `grant` or `unbound`; the shapes are in the package's types), or the
/// server's problem as a `SimBindError`.
#[wasm_bindgen(js_name = readAnswer, skip_typescript)]
pub fn read_answer(kind: &str, status: u16, text: &str) -> Result<JsValue, JsValue> {
    let reader: fn(&Fields) -> Result<JsValue, Shape> = match kind {
        "registration" => |f| {
            let only = ["to", "text", "expires_at", "bind_secret"];
            let device_sms = match f.opt_object("device_sms", &only)? {
                None => None,
                Some(sms) => Some(device_sms(&sms)?),
            };
            let proof = f.string("proof")?;
            let expected = match proof.as_str() {
                "device_sms" => device_sms.is_some(),
                "otp" | "firebase_pnv" | "camara_nv" => device_sms.is_none(),
                _ => false,
            };
            if !expected {
                return Err(Shape("proof"));
            }
            Ok(Made::default()
                .with("registrationId", f.string("registration_id")?)
                .with("proof", proof)
                .with_some(
                    "otpExpiresAt",
                    f.opt_integer("otp_expires_at")?.map(|n| n as f64),
                )
                .with_some("deviceSms", device_sms)
                .done())
        },
        "binding" => |f| {
            Ok(Made::default()
                .with("bindingId", f.string("binding_id")?)
                .with("status", f.string("status")?)
                .with("rebound", f.boolean("rebound")?)
                .done())
        },
        "grant" => |f| {
            Ok(Made::default()
                .with("grant", f.string("grant")?)
                .with("tokenType", f.string("token_type")?)
                .with("expiresAt", f.integer("expires_at")? as f64)
                .done())
        },
        "authorization" => |f| {
            Ok(Made::default()
                .with("authorizationUrl", f.string("authorization_url")?)
                .done())
        },
        "carrier" => |f| {
            Ok(Made::default()
                .with("numberVerified", f.boolean("number_verified")?)
                .done())
        },
        "unbound" => |f| {
            Ok(Made::default()
                .with("bindingId", f.string("binding_id")?)
                .with("status", f.string("status")?)
                .done())
        },
        _ => return Err(ClientError::client("invalid_argument", "unknown answer kind").into()),
    };
    Ok(read(status, text, reader)?)
}
