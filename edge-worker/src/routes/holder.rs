//! Ceremonies of a binding's holder: challenge, real-time verification
//! (→ grant) and unbind, all signed by the bound chip. Each is one round
//! trip to the binding's object, which decides and applies its effects.

use simbind_core::api::{ChallengeRequest, EvidenceRequest, GrantResponse};
use simbind_core::codec::b64;
use simbind_core::grant::GrantClaims;
use simbind_core::identifiers::{BINDING_PREFIX, OpaqueId};
use simbind_core::transcript::Ceremony;
use worker::Response;

use super::request_limit;
use crate::App;
use crate::http::{Incoming, json, read_json, read_json_bytes};
use crate::objects::{self, Answer, BINDINGS, HolderAnswer};
use crate::problem::ApiError;

/// `POST /v1/bindings/{id}/challenge` with `{"ceremony": "verify" | "unbind",
/// "transaction"?: b64u(1..64 bytes)}`.
pub async fn challenge(app: &App, req: &mut Incoming, id: &str) -> Result<Response, ApiError> {
    let body: ChallengeRequest = read_json(req).await?;
    // Refuse a bad ceremony or transaction here, before any object is touched.
    body.validate()?;
    let id = OpaqueId::parse(id, BINDING_PREFIX)?;
    request_limit::check(app, req, id.as_str()).await?;
    objects::call(&app.env, BINDINGS, id.as_str(), "challenge", &body).await
}

/// Validates signed evidence here (bad input never reaches an object), then
/// has the binding's object decide.
async fn decide(
    app: &App,
    req: &mut Incoming,
    id: &str,
    ceremony: Ceremony,
) -> Result<Answer<HolderAnswer>, ApiError> {
    let (body, bytes): (EvidenceRequest, _) = read_json_bytes(req).await?;
    body.validate()?;
    let id = OpaqueId::parse(id, BINDING_PREFIX)?;
    request_limit::check(app, req, id.as_str()).await?;
    objects::ask_raw(&app.env, BINDINGS, id.as_str(), ceremony.label(), &bytes).await
}

/// `POST /v1/bindings/{id}/verify`: real-time check → ES256 grant.
pub async fn verify(app: &App, req: &mut Incoming, id: &str) -> Result<Response, ApiError> {
    let passed = match decide(app, req, id, Ceremony::Verify).await?.or_refusal() {
        Ok(passed) => passed,
        Err(refusal) => return Ok(refusal),
    };
    let claims = GrantClaims {
        iss: app.cfg.issuer.clone(),
        aud: app.cfg.grant_audience.clone(),
        sub: passed.binding_id,
        iat: app.now,
        exp: app.now + app.cfg.grant_ttl,
        jti: b64(&app.random::<16>()?),
        ctr: passed.counter,
        txn: passed.transaction,
        number_proof: passed.number_proof,
        nbf: None,
    };
    // Signed by the runtime's WebCrypto (core's signer if it cannot answer);
    // what is signed comes from core either way.
    let signer = &app.cfg.grant_signer;
    let misconfigured = |e: simbind_core::grant::GrantError| ApiError::Misconfigured(e.to_string());
    let input = signer.signing_input(&claims).map_err(misconfigured)?;
    let grant = crate::webcrypto::signed_jws(&signer.key, &input).await;
    let response = GrantResponse {
        grant,
        token_type: "SimBind-Grant".into(),
        expires_at: claims.exp,
    };
    json(&response, 200)
}

/// `POST /v1/bindings/{id}/unbind`: the bound chip ends its binding.
pub async fn unbind(app: &App, req: &mut Incoming, id: &str) -> Result<Response, ApiError> {
    match decide(app, req, id, Ceremony::Unbind).await?.or_refusal() {
        Ok(done) => json(
            &simbind_core::api::UnbindResponse {
                binding_id: done.binding_id,
                status: done.status,
            },
            200,
        ),
        Err(refusal) => Ok(refusal),
    }
}
