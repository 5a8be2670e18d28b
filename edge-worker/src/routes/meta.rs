//! Health and the grant-verification keys.

use serde_json::json;
use worker::Response;

use crate::App;
use crate::http::json;
use crate::problem::ApiError;

/// `GET /v1/health`: configuration loaded, service up.
pub fn health(app: &App) -> Result<Response, ApiError> {
    json(
        &json!({ "status": "ok", "dev_mode": app.cfg.dev_mode, "audience": app.cfg.audience }),
        200,
    )
}

/// `GET /.well-known/jwks.json`: the public key grants are signed with.
pub fn jwks(app: &App) -> Result<Response, ApiError> {
    let mut response = json(&app.cfg.grant_signer.jwks(), 200)?;
    response
        .headers_mut()
        .set("cache-control", "public, max-age=300")?;
    Ok(response)
}
