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
//! Each class is declared `#[durable_object(fetch)]`, or `(alarm)` where it
//! has an alarm: the bare attribute also exports the WebSocket handlers no
//! object has (6 KB of the worker's gzip).
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
use wasm_bindgen::JsCast;
use worker::{Env, Request, Response};

use crate::problem::ApiError;

/// Namespace bindings, as named in wrangler.toml.
pub const BINDINGS: &str = "BINDINGS";
pub const NUMBERS: &str = "NUMBERS";
pub const CHIPS: &str = "CHIPS";
pub const LIMITS: &str = "LIMITS";
pub const TOKENS: &str = "SMS_TOKENS";
pub const STREAMS: &str = "STREAMS";

/// Sends `op` with `body` to the object `name` of namespace `ns`; its
/// answer as a response the worker can pass on ([`passed_on`]).
pub async fn call<T: Serialize>(
    env: &Env,
    ns: &str,
    name: &str,
    op: &str,
    body: &T,
) -> Result<Response, ApiError> {
    passed_on(send(env, ns, name, op, &to_json(body)?).await?)
}

/// An operation's body as JSON.
fn to_json<T: Serialize>(body: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(body).map_err(|e| ApiError::Platform(e.to_string()))
}

/// The headers of an object's answer that reach the client.
const PASSED_HEADERS: [&str; 3] = ["content-type", "cache-control", "retry-after"];

/// An object's answer as a response this worker can add headers to: its
/// status, body and [`PASSED_HEADERS`] in a new response (a fetched
/// response's own headers are immutable: setting one throws, and a thrown
/// error costs the runtime far more than this copy).
fn passed_on(raw: web_sys::Response) -> Result<Response, ApiError> {
    let from = raw.headers();
    let headers = worker::Headers::new();
    for name in PASSED_HEADERS {
        if let Some(value) = from.get(name).map_err(worker::Error::from)? {
            headers.set(name, &value)?;
        }
    }
    let builder = Response::builder()
        .with_status(raw.status())
        .with_headers(headers);
    Ok(match raw.body() {
        Some(body) => builder.stream(body),
        None => builder.empty(),
    })
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// An object's stub, as the runtime's `fetch(url, init)` takes it.
    type RawStub;
    #[wasm_bindgen(method, catch, js_name = fetch)]
    fn fetch_with(
        this: &RawStub,
        url: &str,
        init: &web_sys::RequestInit,
    ) -> Result<js_sys::Promise, wasm_bindgen::JsValue>;
}

/// `POST https://object/{op}` with `body` to the object `name` of `ns`,
/// straight through the runtime's stub: no request or response wrapper.
async fn send(
    env: &Env,
    ns: &str,
    name: &str,
    op: &str,
    body: &[u8],
) -> Result<web_sys::Response, ApiError> {
    let stub: RawStub = env.durable_object(ns)?.get_by_name(name)?.into_rpc();
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&js_sys::Uint8Array::from(body));
    let promise = stub
        .fetch_with(&format!("https://object/{op}"), &init)
        .map_err(worker::Error::from)?;
    let answer = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(worker::Error::from)?;
    Ok(answer.unchecked_into())
}

/// An object's answer: its JSON on success, or the refusal it answered
/// (already a problem+json response).
pub enum Answer<T> {
    Ok(T),
    Refused(Response),
}

impl<T: DeserializeOwned> Answer<T> {
    /// A success's body parsed as `T`; a refusal kept as it is. The only
    /// part of a call that depends on `T`: the rest is one copy for all.
    fn parse(answer: Result<Vec<u8>, Response>) -> Result<Self, ApiError> {
        match answer {
            Err(refusal) => Ok(Answer::Refused(refusal)),
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Answer::Ok)
                .map_err(|e| ApiError::Platform(format!("object answer: {e}"))),
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

/// Sends `op` with a JSON `body` and reads the answer as the runtime gave
/// it: a success's body in one `arrayBuffer()`, a refusal passed on as it is.
async fn exchange(
    env: &Env,
    ns: &str,
    name: &str,
    op: &str,
    body: &[u8],
) -> Result<Result<Vec<u8>, Response>, ApiError> {
    let raw = send(env, ns, name, op, body).await?;
    if !(200..300).contains(&raw.status()) {
        return passed_on(raw).map(Err);
    }
    crate::http::body_bytes(raw.array_buffer()).await.map(Ok)
}

/// Sends `op` with a body that is already JSON and reads the answer.
pub async fn ask_raw<R: DeserializeOwned>(
    env: &Env,
    ns: &str,
    name: &str,
    op: &str,
    body: &[u8],
) -> Result<Answer<R>, ApiError> {
    Answer::parse(exchange(env, ns, name, op, body).await?)
}

/// Calls an object and reads its JSON answer.
pub async fn ask<T: Serialize, R: DeserializeOwned>(
    env: &Env,
    ns: &str,
    name: &str,
    op: &str,
    body: &T,
) -> Result<Answer<R>, ApiError> {
    let body = to_json(body)?;
    Answer::parse(exchange(env, ns, name, op, &body).await?)
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
