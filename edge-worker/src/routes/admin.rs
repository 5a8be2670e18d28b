//! Operator routes behind the admin bearer token, answered by the binding's
//! object.

use simbind_core::crypto::secret_eq;
use simbind_core::identifiers::{BINDING_PREFIX, OpaqueId};
use worker::{Request, Response};

use crate::App;
use crate::objects::{self, BINDINGS};
use crate::problem::ApiError;

fn authorize(app: &App, req: &Request) -> Result<(), ApiError> {
    let header = req.headers().get("authorization")?.unwrap_or_default();
    let token = header.strip_prefix("Bearer ").unwrap_or("");
    if secret_eq(token.as_bytes(), app.cfg.admin_token.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::AdminUnauthorized)
    }
}

/// Sends an operator's `op` to the binding's object.
pub async fn forward(app: &App, req: &Request, id: &str, op: &str) -> Result<Response, ApiError> {
    authorize(app, req)?;
    let id = OpaqueId::parse(id, BINDING_PREFIX)?;
    objects::call(&app.env, BINDINGS, id.as_str(), op, &serde_json::json!({})).await
}
