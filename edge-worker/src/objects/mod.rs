//! Durable Objects: the state a decision reads and then writes, each piece in
//! the one object that serializes it (docs/API.md § Storage).
//!
//! | class | named by | holds |
//! |---|---|---|
//! | [`BindingObject`] | binding id | the binding record, its used challenge nonces, its audit trail, its security-event outbox |
//! | [`NumberObject`] | [`NumberKey`] of the number's keyed hash | registrations (one-time-code attempts), used bind nonces, the hourly registration count, the number → binding index |
//! | [`ChipObject`] | the chip serial's keyed hash | the chip → binding index |
//! | [`LimiterObject`] | scope and a keyed hash (a sender address) | hourly counters |
//! | [`TokenObject`] | a device-SMS token's keyed hash | the token → registration route, until it expires |
//! | [`StreamObject`] | a security-event receiver's stream id | the stream's status and delivery counters |
//!
//! The worker and the objects talk in small JSON requests (`POST
//! https://object/{op}`); an object answers JSON on success and the API's
//! problem+json on refusal, which the worker passes through unchanged.
//!
//! [`NumberKey`]: simbind_core::registration_id::NumberKey

mod binding;
mod chip;
mod event_outbox;
mod limiter;
mod lock;
mod number;
mod sql;
mod stream;
mod token;

pub use binding::{BindingObject, CarrierEventOp, HolderAnswer, TrailOp};
pub use chip::ChipObject;
pub use limiter::{LimiterObject, Take};
pub use number::{
    CancelOp, NumberObject, NvAnswerOp, NvAnswered, NvAskOp, NvRecordOp, REGISTRATION_TTL,
    RegistrationOp, SmsSeenOp, StartOp,
};
pub use stream::{
    Outcome, PollOp, Polled, StatusOp, StreamObject, call as stream_call, queue as stream_queue,
    report as stream_report,
};
pub use token::{TokenObject, TokenRoute};

use serde::{Serialize, de::DeserializeOwned};
use worker::{Env, Headers, Method, Request, RequestInit, Response};

use crate::problem::ApiError;

/// Namespace bindings, as named in wrangler.toml.
pub const BINDINGS: &str = "BINDINGS";
pub const NUMBERS: &str = "NUMBERS";
pub const CHIPS: &str = "CHIPS";
pub const LIMITS: &str = "LIMITS";
pub const TOKENS: &str = "SMS_TOKENS";
pub const STREAMS: &str = "STREAMS";

/// Sends `op` with `body` to the object `name` of namespace `ns`.
pub async fn call<T: Serialize>(
    env: &Env,
    ns: &str,
    name: &str,
    op: &str,
    body: &T,
) -> Result<Response, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(|e| ApiError::Platform(e.to_string()))?;
    call_raw(env, ns, name, op, bytes).await
}

/// [`call`] with a body that is already JSON.
pub async fn call_raw(
    env: &Env,
    ns: &str,
    name: &str,
    op: &str,
    body: Vec<u8>,
) -> Result<Response, ApiError> {
    let stub = env.durable_object(ns)?.get_by_name(name)?;
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(
            worker::js_sys::Uint8Array::from(body.as_slice()).into(),
        ));
    let request = Request::new_with_init(&format!("https://object/{op}"), &init)?;
    Ok(stub.fetch_with_request(request).await?)
}

/// An object's answer: its JSON on success, or the refusal it answered
/// (already a problem+json response).
pub enum Answer<T> {
    Ok(T),
    Refused(Response),
}

impl<T: DeserializeOwned> Answer<T> {
    /// Reads an object's response.
    pub async fn read(mut response: Response) -> Result<Self, ApiError> {
        if (200..300).contains(&response.status_code()) {
            let bytes = response.bytes().await?;
            serde_json::from_slice(&bytes)
                .map(Answer::Ok)
                .map_err(|e| ApiError::Platform(format!("object answer: {e}")))
        } else {
            Ok(Answer::Refused(response))
        }
    }

    /// The value, or the refusal as the response to send.
    pub fn or_refusal(self) -> Result<T, Response> {
        match self {
            Answer::Ok(v) => Ok(v),
            Answer::Refused(r) => Err(r),
        }
    }
}

/// Calls an object and reads its JSON answer.
pub async fn ask<T: Serialize, R: DeserializeOwned>(
    env: &Env,
    ns: &str,
    name: &str,
    op: &str,
    body: &T,
) -> Result<Answer<R>, ApiError> {
    Answer::read(call(env, ns, name, op, body).await?).await
}

/// Reads an internal request: its op (the path) and its body, parsed once
/// by the op into its own type ([`parse`]).
async fn read_op(req: &mut Request) -> Result<(String, Vec<u8>), ApiError> {
    let op = req.path().trim_start_matches('/').to_owned();
    Ok((op, req.bytes().await?))
}

/// An object's answer to `result`: JSON (a refusal becomes problem+json
/// in the object's `fetch`).
fn respond<T: Serialize>(result: Result<T, ApiError>) -> Result<Response, ApiError> {
    result.and_then(|v| crate::http::json(&v, 200))
}

/// Parses an operation's body.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::from_json(&e))
}

/// The `fetch` of every object: `serve`'s answer, or its refusal as problem+json.
async fn answer(result: Result<Response, ApiError>) -> worker::Result<Response> {
    match result {
        Ok(response) => Ok(response),
        Err(error) => error.into_response(),
    }
}
