//! The dev receiver (dev builds only): stands in for the bank's backend in
//! `make dev`, so the demo can show security events as they arrive. A push
//! to `https://bank.dev.invalid/…` is answered here, in-process, with 202
//! and kept in Workers KV (`ssf:{ms}:{rand}`, a day) for
//! `GET /dev/ssf/events`; the token is the value, since a SET is larger
//! than KV's 1 KiB of list metadata. It checks nothing: the tests' receiver
//! (tests/lib/ssf-receiver.mjs) is the one that checks every SET.

use serde::{Deserialize, Serialize};
use worker::kv::KvStore;

use crate::outbox::KV_BINDING;
use crate::problem::ApiError;

/// The dev receiver's origin.
pub const ORIGIN: &str = "https://bank.dev.invalid/";
const TTL: u64 = 24 * 3600;
/// How many of the newest SETs the listing returns.
pub const SHOWN: usize = 100;

/// A SET the dev receiver took.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Received {
    /// When it arrived (Unix ms).
    pub at: u64,
    /// The SET as pushed.
    pub token: String,
}

/// Whether `url` is the dev receiver's.
pub fn serves(url: &str) -> bool {
    url.starts_with(ORIGIN)
}

/// Keeps a pushed SET; the push's HTTP status.
pub async fn accept(env: &worker::Env, token: &str, suffix: &str) -> u16 {
    let Ok(kv) = env.kv(KV_BINDING) else {
        return 503;
    };
    let at = worker::Date::now().as_millis();
    let key = format!("ssf:{at:016}:{suffix}");
    let put = async { kv.put(&key, token)?.expiration_ttl(TTL).execute().await };
    match put.await {
        Ok(()) => 202,
        Err(_) => 503,
    }
}

/// The newest SETs taken (at most [`SHOWN`]), oldest first.
pub async fn list(kv: &KvStore) -> Result<Vec<Received>, ApiError> {
    let listed = kv
        .list()
        .prefix("ssf:".to_owned())
        .limit(1000)
        .execute()
        .await?;
    let skip = listed.keys.len().saturating_sub(SHOWN);
    let mut out = Vec::new();
    for key in listed.keys.into_iter().skip(skip) {
        let at = key
            .name
            .split(':')
            .nth(1)
            .and_then(|ms| ms.parse().ok())
            .unwrap_or(0);
        if let Some(token) = kv.get(&key.name).text().await? {
            out.push(Received { at, token });
        }
    }
    Ok(out)
}
