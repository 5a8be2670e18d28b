//! Firebase PNV tokens at bind: Google's key set fetched and kept in this
//! isolate for as long as its `Cache-Control` says (bounded by core), and
//! fetched again for an unknown `kid` at most once per 5 minutes, so a
//! flood of made-up key ids makes no flood of fetches. Every check of the
//! token is core's (`simbind_core::firebase_pnv`).

use std::cell::RefCell;
use std::time::Duration;

use simbind_core::Denial;
use simbind_core::firebase_pnv::{self, PnvKeys, PnvProject, PnvRefusal, VerifiedToken};

use crate::App;

/// How a deployment takes Firebase PNV tokens.
#[derive(Clone, Debug)]
pub struct PnvConfig {
    /// The Firebase project its tokens name, and the nonce rule.
    pub project: PnvProject,
    /// Where Firebase publishes its keys (`FIREBASE_PNV_JWKS_URL`).
    pub jwks_url: String,
}

/// How long a key-set fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// A failed fetch is not tried again sooner, in seconds.
const RETRY_AFTER_FAILURE_SECS: u64 = 10;

#[derive(Default)]
struct Cache {
    keys: Option<PnvKeys>,
    /// Until when `keys` are fresh, in Unix seconds.
    fresh_until: u64,
    /// When the key set was last fetched (or a fetch was last tried).
    last_fetch: Option<u64>,
    last_failed: bool,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

/// The token's verified claims, or the refusal; the number's object then
/// checks its nonce, number and single use.
pub async fn verify(app: &App, config: &PnvConfig, token: &str) -> Result<VerifiedToken, Denial> {
    let kid = firebase_pnv::key_id(token)?;
    let keys = keys_for(app, config, &kid).await?;
    Ok(firebase_pnv::verify(
        token,
        &keys,
        &config.project,
        app.now,
    )?)
}

/// The key set to check a token signed by `kid` with: the cached one while
/// fresh and holding `kid`; otherwise fetched again when allowed.
async fn keys_for(app: &App, config: &PnvConfig, kid: &str) -> Result<PnvKeys, PnvRefusal> {
    #[cfg(feature = "dev")]
    if config.jwks_url == crate::dev_pnv::JWKS_URL {
        return Ok(crate::dev_pnv::keys());
    }
    let now = app.now;
    let (cached, fresh, may_fetch) = CACHE.with(|c| {
        let c = c.borrow();
        let fresh = c.keys.is_some() && now < c.fresh_until;
        let has_kid = c.keys.as_ref().is_some_and(|k| k.get(kid).is_some());
        let may_fetch = if c.last_failed {
            c.last_fetch
                .is_none_or(|at| now >= at.saturating_add(RETRY_AFTER_FAILURE_SECS))
        } else if fresh {
            // Fresh keys without the kid: at most one fetch per 5 minutes.
            !has_kid && firebase_pnv::may_refresh(c.last_fetch, now)
        } else {
            true
        };
        (c.keys.clone(), fresh && has_kid, may_fetch)
    });
    if fresh || !may_fetch {
        return cached.ok_or(PnvRefusal::KeysUnavailable);
    }
    CACHE.with(|c| c.borrow_mut().last_fetch = Some(now));
    match fetch(app, &config.jwks_url).await {
        Some((keys, max_age)) => {
            CACHE.with(|c| {
                let mut c = c.borrow_mut();
                c.keys = Some(keys.clone());
                c.fresh_until = now.saturating_add(max_age);
                c.last_failed = false;
            });
            Ok(keys)
        }
        None => {
            CACHE.with(|c| c.borrow_mut().last_failed = true);
            worker::console_log!("firebase pnv: key set fetch failed");
            // Keys past their freshness still check tokens they signed.
            cached.ok_or(PnvRefusal::KeysUnavailable)
        }
    }
}

/// GETs the key set (through the operators' outbound request: deadline,
/// 64 KiB cap): its keys and how long to keep them.
async fn fetch(app: &App, url: &str) -> Option<(PnvKeys, u64)> {
    let headers = crate::carrier::headers(None, None).ok()?;
    let sent = crate::carrier::send(app, url, worker::Method::Get, headers, None, FETCH_TIMEOUT)
        .await
        .ok()?;
    if sent.response.status_code() != 200 {
        return None;
    }
    let cache_control = sent.response.headers().get("cache-control").ok().flatten();
    let keys = PnvKeys::parse(&sent.body().await.ok()?)?;
    Some((keys, firebase_pnv::keys_max_age(cache_control.as_deref())))
}
