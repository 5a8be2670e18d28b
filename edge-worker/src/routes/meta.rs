//! Health, the discovery document and the grant-verification keys.

use serde_json::json;
use worker::Response;

use crate::App;
use crate::http::{Incoming, json};
use crate::problem::ApiError;

/// `GET /v1/health`: configuration loaded, service up. It says nothing
/// about how the service is configured.
pub fn health(app: &App) -> Result<Response, ApiError> {
    json(
        &json!({ "status": "ok", "audience": app.cfg.audience }),
        200,
    )
}

/// How long clients may cache the JWKS and the discovery document: short
/// enough that a key rotation is seen in time.
pub const PUBLIC_MAX_AGE: &str = "public, max-age=300";

/// The deployment's own origin for URLs in publicly cached documents: the
/// configured `PUBLIC_URL`, so an answer never depends on what a request
/// put in its Host header (dev without it: the request's origin).
pub fn public_origin(app: &App, req: &Incoming) -> String {
    match &app.cfg.public_url {
        Some(url) => url.clone(),
        None => crate::http::RequestUrl::of(req).origin().to_owned(),
    }
}

/// `body` as JSON that clients may cache for [`PUBLIC_MAX_AGE`].
pub fn cached<T: serde::Serialize>(body: &T) -> Result<Response, ApiError> {
    let mut response = json(body, 200)?;
    response
        .headers_mut()
        .set("cache-control", PUBLIC_MAX_AGE)?;
    Ok(response)
}

/// `GET /.well-known/simbind`: what a backend needs to check grants and a
/// client needs to sign, without reading the deployment's configuration.
pub fn discovery(app: &App, req: &Incoming) -> Result<Response, ApiError> {
    let origin = public_origin(app, req);
    let formats: Vec<&str> = app
        .cfg
        .policy
        .attestation
        .formats
        .iter()
        .map(|f| f.label())
        .collect();
    let body = json!({
        "issuer": app.cfg.issuer,
        "grant_audience": app.cfg.grant_audience,
        "audience": app.cfg.audience,
        "jwks_uri": format!("{origin}/.well-known/jwks.json"),
        "protocol_versions": [simbind_core::transcript::VERSION],
        "chip_formats": formats,
        "grant_algorithms": ["ES256"],
    });
    cached(&body)
}

/// `GET /.well-known/jwks.json`: the public key grants are signed with.
pub fn jwks(app: &App) -> Result<Response, ApiError> {
    cached(&app.cfg.grant_signer.jwks())
}
