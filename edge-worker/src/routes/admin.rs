//! Operator routes behind the admin bearer token, answered by the binding's
//! object. Failed authentications are counted per sender (a token bucket in
//! a limiter object): once a sender used up its budget, every admin request
//! from it is refused with 429 until the bucket refills, whatever token it
//! carries. Each failure is also tallied on the binding it named.

use serde_json::json;
use simbind_core::budget::Limit;
use simbind_core::crypto::secret_eq;
use simbind_core::id_hash::IdKind;
use simbind_core::identifiers::{BINDING_PREFIX, OpaqueId};
use worker::Response;

use super::registration::sender;
use crate::App;
use crate::http::Incoming;
use crate::objects::{self, Answer, BINDINGS, LIMITS, Take, TrailOp};
use crate::problem::{ApiError, Missing};

fn token_ok(app: &App, req: &Incoming) -> Result<bool, ApiError> {
    let header = req.headers().get("authorization")?.unwrap_or_default();
    let token = header.strip_prefix("Bearer ").unwrap_or("");
    Ok(secret_eq(token.as_bytes(), app.cfg.admin_token.as_bytes()))
}

/// Runs the per-sender lockout guard: `Err` carries the 429 answer for a
/// sender that used up its failures; `Ok` says whether the token was right.
pub(super) async fn admit(app: &App, req: &Incoming) -> Result<Result<bool, Response>, ApiError> {
    let authorized = token_ok(app, req)?;
    guard(app, req, "admin-failures", authorized).await
}

/// The per-sender lockout for failed authentications of `scope` (a token
/// bucket of `ADMIN_FAILURES_PER_HOUR`): `Err` carries the 429 answer once
/// the sender used it up, whatever it presents; `Ok` passes `authorized` on.
pub(super) async fn guard(
    app: &App,
    req: &Incoming,
    scope: &str,
    authorized: bool,
) -> Result<Result<bool, Response>, ApiError> {
    let bucket = sender(app, req)?.unwrap_or_else(|| "unknown".into());
    let name = format!(
        "{scope}:{}",
        app.cfg.hasher.hash(IdKind::ClientAddress, &bucket).as_str()
    );
    let guard = Take {
        limit: Limit {
            capacity: app.cfg.admin_failures_per_hour,
            period_secs: 3600,
        },
        failed: !authorized,
    };
    let guarded = objects::ask::<_, serde_json::Value>(&app.env, LIMITS, &name, "guard", &guard);
    Ok(match guarded.await? {
        Answer::Refused(locked) => Err(locked),
        Answer::Ok(_) => Ok(authorized),
    })
}

/// `GET /v1/admin/attestation-status`: when the attestation status list was
/// last refreshed, how many serials it lists, whether binds treat it as
/// stale, and the last refresh error.
pub async fn attestation_status(app: &App, req: &Incoming) -> Result<Response, ApiError> {
    match admit(app, req).await? {
        Err(locked) => Ok(locked),
        Ok(false) => Err(ApiError::AdminUnauthorized),
        Ok(true) => {
            let meta = crate::attestation::meta(&app.env).await?;
            let status = &app.cfg.attestation_status;
            let stale = status.stale(&meta, app.now);
            let body = json!({
                "refreshed_at": meta.refreshed_at,
                "entries": meta.entries,
                "pending": meta.pending,
                "stale": stale,
                "fail_closed": status.fail_closed,
                "last_error": meta.last_error,
            });
            Response::from_json(&body).map_err(ApiError::from)
        }
    }
}

/// Sends an operator's `op` to the binding's object.
pub async fn forward(app: &App, req: &Incoming, id: &str, op: &str) -> Result<Response, ApiError> {
    let authorized = match admit(app, req).await? {
        Err(locked) => return Ok(locked),
        Ok(authorized) => authorized,
    };
    let id = OpaqueId::parse(id, BINDING_PREFIX)?;
    if !authorized {
        let empty = json!({});
        let tallied = objects::call(&app.env, BINDINGS, id.as_str(), "admin_denied", &empty);
        if let Err(e) = tallied.await {
            worker::console_error!("admin failure tally: {e}");
        }
        return Err(ApiError::AdminUnauthorized);
    }
    let body = if op == "audit" {
        serde_json::to_value(trail_op(req)?).map_err(|e| ApiError::Platform(e.to_string()))?
    } else {
        json!({})
    };
    objects::call(&app.env, BINDINGS, id.as_str(), op, &body).await
}

/// The audit listing's cursor, `?before={seq}`.
pub fn trail_op(req: &Incoming) -> Result<TrailOp, ApiError> {
    let url = crate::http::RequestUrl::of(req);
    let mut op = TrailOp::default();
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "before" => op.before = Some(value.parse().map_err(|_| ApiError::InvalidField)?),
            _ => return Err(ApiError::NotFound(Missing::Route)),
        }
    }
    Ok(op)
}
