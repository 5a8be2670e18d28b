//! JSON over the global `fetch` (browsers, WebViews and Node 18+), with
//! problem+json mapped to [`ClientError`].

use js_sys::{Function, JSON, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::error::ClientError;
use crate::fields::Fields;

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

/// POSTs `json` to `url`; a 2xx answer comes back parsed (its fields are
/// read by the caller), anything else as the problem's [`ClientError`].
pub async fn post(url: &str, json: &str) -> Result<(u16, JsValue), ClientError> {
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
    .and_then(|()| set(&init, "body", &JsValue::from_str(json)))
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
    let status = get(&response, "status")?
        .as_f64()
        .filter(|s| (0.0..1000.0).contains(s))
        .unwrap_or(0.0) as u16;
    let text = call_text(&response).await?;
    let parsed = JSON::parse(&text).ok();
    if (200..300).contains(&status) {
        return parsed
            .map(|v| (status, v))
            .ok_or_else(|| unexpected(status));
    }
    let problem = parsed
        .and_then(|v| Fields::object(v, None).ok())
        .and_then(|p| {
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

/// A 2xx answer that is not the documented shape.
pub fn unexpected(status: u16) -> ClientError {
    ClientError {
        code: "unexpected_response".into(),
        status,
        source: "server",
        detail: "the answer is not the documented shape".into(),
    }
}
