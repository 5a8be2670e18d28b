//! Per-sender limits at the edge on the routes a stranger can aim at one
//! binding or registration (holder and bind ceremonies): the Workers Rate
//! Limiting binding `REQUEST_LIMIT`, counted in the data centre with no
//! Durable Object round trip. A key is one sender (IPv4 address or IPv6
//! /56, hashed) and one subject (binding or registration id), so the many
//! users behind one carrier-grade NAT address do not share a limit.

use js_sys::{Object, Promise, Reflect};
use simbind_core::id_hash::IdKind;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use super::registration::sender;
use crate::App;
use crate::http::Incoming;
use crate::problem::ApiError;

/// The binding's name in wrangler.toml (`[[ratelimits]]`).
pub const BINDING: &str = "REQUEST_LIMIT";
/// The binding's period, in seconds: what a refusal asks to wait.
const PERIOD_SECS: u64 = 60;

#[wasm_bindgen]
extern "C" {
    /// The Rate Limiting binding as the runtime gives it: `limit({key})`
    /// answers `{success}` (the worker crate's wrapper carries both through
    /// serde_wasm_bindgen).
    type RawLimiter;
    #[wasm_bindgen(method, catch)]
    fn limit(this: &RawLimiter, options: &Object) -> Result<Promise, JsValue>;
}

/// Whether the limiter lets one more request with `key` through.
async fn allows(limiter: &RawLimiter, key: &str) -> Result<bool, ApiError> {
    let failed = |_| ApiError::Platform("rate limiter: the call failed".into());
    let options = Object::new();
    Reflect::set(&options, &JsValue::from_str("key"), &JsValue::from_str(key)).map_err(failed)?;
    let outcome = wasm_bindgen_futures::JsFuture::from(limiter.limit(&options).map_err(failed)?)
        .await
        .map_err(failed)?;
    let success = Reflect::get(&outcome, &JsValue::from_str("success")).map_err(failed)?;
    Ok(success.as_bool() == Some(true))
}

/// Counts one request by this sender for `subject`; `RateLimited` past the
/// binding's limit. Dev requests without a client address are not counted;
/// outside dev mode a deployment without the binding is misconfigured.
pub async fn check(app: &App, req: &Incoming, subject: &str) -> Result<(), ApiError> {
    let Some(bucket) = sender(app, req)? else {
        return Ok(());
    };
    let limiter: RawLimiter = match crate::binding(&app.env, BINDING) {
        Some(binding) => binding.unchecked_into(),
        None if app.cfg.dev_mode => return Ok(()),
        None => {
            return Err(ApiError::Misconfigured(format!(
                "the {BINDING} rate limiting binding is missing"
            )));
        }
    };
    let sender = app.cfg.hasher.hash(IdKind::ClientAddress, &bucket);
    let key = format!("{}:{subject}", sender.as_str());
    if allows(&limiter, &key).await? {
        Ok(())
    } else {
        Err(ApiError::RateLimited {
            retry_after: PERIOD_SECS,
        })
    }
}
