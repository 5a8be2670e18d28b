//! Dev-only routes: the SMS outbox and the audit trail without a token.
//! Compiled only into dev builds (cargo feature `dev`), and even there they
//! answer 404 unless `SIMBIND_ENV = "dev"` (which serves localhost only).

use serde_json::json;
use simbind_core::id_hash::IdKind;
use simbind_core::identifiers::{BINDING_PREFIX, OpaqueId, PhoneNumber};
use worker::{Request, Response};

use crate::App;
use crate::http::json;
use crate::objects::{self, BINDINGS};
use crate::outbox;
use crate::problem::{ApiError, Missing};

/// Header on every dev-route answer; its absence from a build's wasm is how a
/// test proves the production bundle has no dev route.
pub const DEV_BUILD_MARKER: &str = "x-simbind-dev-build";

fn marked(mut response: Response) -> Result<Response, ApiError> {
    response.headers_mut().set(DEV_BUILD_MARKER, "1")?;
    Ok(response)
}

fn dev_only(app: &App) -> Result<(), ApiError> {
    if app.cfg.dev_mode {
        Ok(())
    } else {
        Err(ApiError::NotFound(Missing::Route))
    }
}

/// `GET /dev/outbox?phone_number=+...`: SMS sent to a number.
pub async fn outbox(app: &App, req: &Request) -> Result<Response, ApiError> {
    dev_only(app)?;
    let phone_number = crate::http::RequestUrl::of(req)
        .query_pairs()
        .find(|(key, _)| key == "phone_number")
        .map(|(_, value)| value.into_owned())
        .ok_or(ApiError::MissingField)?;
    let number = PhoneNumber::parse(&phone_number)?;
    let kv = app.env.kv(outbox::KV_BINDING)?;
    let to = app.cfg.hasher.hash(IdKind::PhoneNumber, number.as_str());
    let messages = outbox::list(&kv, &to).await?;
    marked(json(&json!({ "messages": messages }), 200)?)
}

/// `GET /dev/bindings/{id}/audit`: the audit trail, for the demo page.
pub async fn audit(app: &App, req: &Request, id: &str) -> Result<Response, ApiError> {
    dev_only(app)?;
    let id = OpaqueId::parse(id, BINDING_PREFIX)?;
    let op = super::admin::trail_op(req)?;
    marked(
        crate::http::mutable(objects::call(&app.env, BINDINGS, id.as_str(), "audit", &op).await?)
            .await?,
    )
}
