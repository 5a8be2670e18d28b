//! JSON over the global `fetch` (browsers, WebViews and Node 18+), with
//! problem+json mapped to [`ClientError`].

use js_sys::{Function, Object, Promise, Reflect};
use serde::{Serialize, de::DeserializeOwned};
use simbind_core::api::Problem;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::error::ClientError;

fn network(detail: impl Into<String>) -> ClientError {
    ClientError {
        code: "network_error".into(),
        status: 0,
        source: "client",
        detail: detail.into(),
    }
}

fn get(target: &JsValue, key: &str) -> Result<JsValue, ClientError> {
    Reflect::get(target, &JsValue::from_str(key)).map_err(|_| network(format!("no {key}")))
}

async fn call_text(response: &JsValue) -> Result<String, ClientError> {
    let text: Function = get(response, "text")?
        .dyn_into()
        .map_err(|_| network("response has no text()"))?;
    let promise: Promise = text
        .call0(response)
        .map_err(|_| network("text() failed"))?
        .dyn_into()
        .map_err(|_| network("text() is not a promise"))?;
    JsFuture::from(promise)
        .await
        .map_err(|_| network("reading the response failed"))?
        .as_string()
        .ok_or_else(|| network("response body is not text"))
}

/// POSTs `body` as JSON to `url` and decodes the answer as `T`.
pub async fn post<B: Serialize, T: DeserializeOwned>(
    url: &str,
    body: &B,
) -> Result<(u16, T), ClientError> {
    let json = serde_json::to_string(body)
        .map_err(|e| ClientError::client("encode_failed", e.to_string()))?;
    let headers = Object::new();
    let init = Object::new();
    let set =
        |o: &Object, k: &str, v: &JsValue| Reflect::set(o, &JsValue::from_str(k), v).map(|_| ());
    set(
        &headers,
        "content-type",
        &JsValue::from_str("application/json"),
    )
    .and_then(|()| set(&init, "method", &JsValue::from_str("POST")))
    .and_then(|()| set(&init, "headers", &headers))
    .and_then(|()| set(&init, "body", &JsValue::from_str(&json)))
    .map_err(|_| network("cannot build the request"))?;
    let fetch: Function = get(&js_sys::global(), "fetch")?
        .dyn_into()
        .map_err(|_| network("fetch is not available"))?;
    let promise: Promise = fetch
        .call2(&JsValue::NULL, &JsValue::from_str(url), &init)
        .map_err(|_| network("fetch threw"))?
        .dyn_into()
        .map_err(|_| network("fetch did not return a promise"))?;
    let response = JsFuture::from(promise)
        .await
        .map_err(|e| network(e.as_string().unwrap_or_else(|| "request failed".into())))?;
    let status = get(&response, "status")?.as_f64().unwrap_or(0.0) as u16;
    let text = call_text(&response).await?;
    if (200..300).contains(&status) {
        return serde_json::from_str(&text)
            .map(|v| (status, v))
            .map_err(|e| ClientError {
                code: "unexpected_response".into(),
                status,
                source: "server",
                detail: e.to_string(),
            });
    }
    let problem: Option<Problem> = serde_json::from_str(&text).ok();
    Err(match problem {
        Some(p) => ClientError {
            code: p.code,
            status,
            source: "server",
            detail: p.detail.unwrap_or(p.title),
        },
        None => ClientError {
            code: "http_error".into(),
            status,
            source: "server",
            detail: format!("HTTP {status}"),
        },
    })
}
