//! Operator routes behind the admin bearer token.

use serde_json::json;
use simbind_core::binding::{BindingRecord, BindingStatus};
use simbind_core::crypto::secret_eq;
use simbind_core::identifiers::{BINDING_PREFIX, OpaqueId};
use worker::{Request, Response};

use crate::App;
use crate::http::json;
use crate::problem::{ApiError, Missing};

fn authorize(app: &App, req: &Request) -> Result<(), ApiError> {
    let header = req.headers().get("authorization")?.unwrap_or_default();
    let token = header.strip_prefix("Bearer ").unwrap_or("");
    if secret_eq(token.as_bytes(), app.cfg.admin_token.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::AdminUnauthorized)
    }
}

async fn load(app: &App, req: &Request, id: &str) -> Result<BindingRecord, ApiError> {
    authorize(app, req)?;
    let id = OpaqueId::parse(id, BINDING_PREFIX)?;
    app.store
        .binding(id.as_str())
        .await?
        .ok_or(ApiError::NotFound(Missing::Binding))
}

fn summary(b: &BindingRecord) -> serde_json::Value {
    json!({
        "binding_id": b.binding_id,
        "status": b.status.label(),
        "chip_format": b.chip_format,
        "counter": b.counter,
        "consecutive_failures": b.consecutive_failures,
        "sim_has_key": b.sim_public_key.is_some(),
        "created_at": b.created_at,
        "updated_at": b.updated_at,
    })
}

/// `GET /v1/admin/bindings/{id}`: state of a binding (no identifiers).
pub async fn show(app: &App, req: &Request, id: &str) -> Result<Response, ApiError> {
    let binding = load(app, req, id).await?;
    json(&summary(&binding), 200)
}

/// `GET /v1/admin/bindings/{id}/audit`: the binding's audit trail.
pub async fn audit(app: &App, req: &Request, id: &str) -> Result<Response, ApiError> {
    let binding = load(app, req, id).await?;
    let (events, more) = app.store.audit_trail(&binding.binding_id).await?;
    json(
        &json!({ "binding_id": binding.binding_id, "events": events, "more": more }),
        200,
    )
}

/// `POST /v1/admin/bindings/{id}/revoke`: ends a binding; the number may
/// then bind another chip.
pub async fn revoke(app: &App, req: &Request, id: &str) -> Result<Response, ApiError> {
    let mut binding = load(app, req, id).await?;
    if binding.status != BindingStatus::Revoked {
        binding.revoke();
        binding.updated_at = app.now;
        app.store.put_binding(&binding).await?;
        app.store.unindex_binding(&binding).await?;
        app.audit(&binding.binding_id, "revoked", None, Some("operator"))
            .await?;
    }
    json(&summary(&binding), 200)
}
