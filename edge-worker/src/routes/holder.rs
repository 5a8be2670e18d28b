//! Ceremonies of a binding's holder: challenge, real-time verification
//! (→ grant) and unbind, all signed by the bound chip.

use simbind_core::api::{ChallengeRequest, EvidenceRequest, GrantResponse, UnbindResponse};
use simbind_core::binding::BindingRecord;
use simbind_core::challenge::unverified_nonce;
use simbind_core::codec::b64;
use simbind_core::decision::{Decision, apply, challenge_consumed, decide_holder};
use simbind_core::grant::GrantClaims;
use simbind_core::identifiers::{BINDING_PREFIX, OpaqueId};
use simbind_core::transcript::Ceremony;
use simbind_core::{Denial, ValidationError};
use worker::{Request, Response};

use crate::App;
use crate::alert::{self, Alert};
use crate::http::{json, read_json};
use crate::problem::{ApiError, Missing};

async fn load(app: &App, id: &str) -> Result<BindingRecord, ApiError> {
    let id = OpaqueId::parse(id, BINDING_PREFIX)?;
    app.store
        .binding(id.as_str())
        .await?
        .ok_or(ApiError::NotFound(Missing::Binding))
}

/// `POST /v1/bindings/{id}/challenge` with `{"ceremony": "verify" | "unbind"}`.
pub async fn challenge(app: &App, req: &mut Request, id: &str) -> Result<Response, ApiError> {
    let body: ChallengeRequest = read_json(req).await?;
    let ceremony = match Ceremony::from_label(&body.ceremony) {
        Some(c @ (Ceremony::Verify | Ceremony::Unbind)) => c,
        _ => return Err(ValidationError::OutOfRange("ceremony").into()),
    };
    let binding = load(app, id).await?;
    binding.ensure_active()?;
    json(&app.challenge(ceremony, &binding.binding_id)?, 200)
}

/// Runs the decision for `ceremony` and applies its effects: counter, audit,
/// alert SMS, suspension.
async fn decide(
    app: &App,
    req: &mut Request,
    id: &str,
    ceremony: Ceremony,
) -> Result<(BindingRecord, Decision), ApiError> {
    let body: EvidenceRequest = read_json(req).await?;
    let evidence = body.validate()?;
    let binding = load(app, id).await?;
    let nonce = unverified_nonce(&evidence.claims.challenge).ok_or(Denial::ChallengeInvalid)?;
    let used = app.store.nonce_used(&nonce).await?;
    let decision = decide_holder(&app.ctx(), &binding, ceremony, &evidence, used);
    if challenge_consumed(&decision.result) {
        app.store.use_nonce(&nonce).await?;
    }
    let effects = apply(&binding, &decision, &app.cfg.policy, app.now);
    let record = match effects.record {
        Some(changed) => {
            app.store.put_binding(&changed).await?;
            changed
        }
        None => binding,
    };
    let id = record.binding_id.as_str();
    let label = Some(ceremony.label());
    match decision.result {
        Ok(()) if ceremony == Ceremony::Unbind => {
            app.store.unindex_binding(&record).await?;
            app.audit(id, "unbound", label, None).await?;
        }
        Ok(()) => app.audit(id, "verified", label, None).await?,
        // Anyone can send these: audited at most once a minute per reason.
        Err(denial) if !decision.authentic => {
            app.audit_unverified(id, label, denial.code()).await?;
        }
        Err(denial) => {
            app.audit(id, "denied", label, Some(denial.code())).await?;
            if effects.suspended {
                app.audit(id, "suspended", label, Some(denial.code()))
                    .await?;
            }
            if effects.alert {
                let why = Alert::Refused {
                    denial,
                    suspended: effects.suspended,
                };
                alert::send(app, &record, why).await?;
            }
        }
    }
    Ok((record, decision))
}

/// `POST /v1/bindings/{id}/verify`: real-time check → ES256 grant.
pub async fn verify(app: &App, req: &mut Request, id: &str) -> Result<Response, ApiError> {
    let (record, decision) = decide(app, req, id, Ceremony::Verify).await?;
    decision.result?;
    let claims = GrantClaims {
        iss: app.cfg.issuer.clone(),
        aud: app.cfg.grant_audience.clone(),
        sub: record.binding_id.clone(),
        iat: app.now,
        exp: app.now + app.cfg.grant_ttl,
        jti: b64(&app.random::<16>()?),
        ctr: decision.counter,
    };
    let grant = app
        .cfg
        .grant_signer
        .sign(&claims)
        .map_err(|e| ApiError::Misconfigured(e.to_string()))?;
    let response = GrantResponse {
        grant,
        token_type: "SimBind-Grant".into(),
        expires_at: claims.exp,
    };
    json(&response, 200)
}

/// `POST /v1/bindings/{id}/unbind`: the bound chip ends its binding.
pub async fn unbind(app: &App, req: &mut Request, id: &str) -> Result<Response, ApiError> {
    let (record, decision) = decide(app, req, id, Ceremony::Unbind).await?;
    decision.result?;
    let response = UnbindResponse {
        binding_id: record.binding_id.clone(),
        status: record.status.label().into(),
    };
    json(&response, 200)
}
