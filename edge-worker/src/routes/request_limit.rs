//! Per-sender limits at the edge on the routes a stranger can aim at one
//! binding or registration (holder and bind ceremonies): the Workers Rate
//! Limiting binding `REQUEST_LIMIT`, counted in the data centre with no
//! Durable Object round trip. A key is one sender (IPv4 address or IPv6
//! /56, hashed) and one subject (binding or registration id), so the many
//! users behind one carrier-grade NAT address do not share a limit.

use simbind_core::id_hash::IdKind;
use worker::Request;

use super::registration::sender;
use crate::App;
use crate::problem::ApiError;

/// The binding's name in wrangler.toml (`[[ratelimits]]`).
pub const BINDING: &str = "REQUEST_LIMIT";
/// The binding's period, in seconds: what a refusal asks to wait.
const PERIOD_SECS: u64 = 60;

/// Counts one request by this sender for `subject`; `RateLimited` past the
/// binding's limit. Dev requests without a client address are not counted;
/// outside dev mode a deployment without the binding is misconfigured.
pub async fn check(app: &App, req: &Request, subject: &str) -> Result<(), ApiError> {
    let Some(bucket) = sender(app, req)? else {
        return Ok(());
    };
    let limiter = match app.env.rate_limiter(BINDING) {
        Ok(limiter) => limiter,
        Err(_) if app.cfg.dev_mode => return Ok(()),
        Err(_) => {
            return Err(ApiError::Misconfigured(format!(
                "the {BINDING} rate limiting binding is missing"
            )));
        }
    };
    let sender = app.cfg.hasher.hash(IdKind::ClientAddress, &bucket);
    let key = format!("{}:{subject}", sender.as_str());
    let outcome = limiter
        .limit(key)
        .await
        .map_err(|e| ApiError::Platform(format!("rate limiter: {e}")))?;
    if outcome.success {
        Ok(())
    } else {
        Err(ApiError::RateLimited {
            retry_after: PERIOD_SECS,
        })
    }
}
