//! Ceremonies of a binding's holder: challenge, real-time verification
//! (→ grant) and unbind, all signed by the bound chip.

use simbind_core::api::{
    ChallengeRequest, ChallengeResponse, EvidenceRequest, GrantResponse, UnbindResponse,
};
use simbind_core::binding::{BindingRecord, BindingStatus};
use simbind_core::challenge::{self, unverified_nonce};
use simbind_core::codec::b64;
use simbind_core::decision::{Decision, apply, decide_holder};
use simbind_core::grant::GrantClaims;
use simbind_core::identifiers::{BINDING_PREFIX, OpaqueId};
use simbind_core::transcript::Ceremony;
use simbind_core::{Denial, ValidationError, contact};
use worker::{Request, Response};

use crate::App;
use crate::http::{json, read_json};
use crate::problem::ApiError;
use crate::sms::{self, SmsKind};

async fn load(app: &App, id: &str) -> Result<BindingRecord, ApiError> {
    let id = OpaqueId::parse(id, BINDING_PREFIX)?;
    app.store
        .binding(id.as_str())
        .await?
        .ok_or(ApiError::NotFound("binding"))
}

/// `POST /v1/bindings/{id}/challenge` with `{"ceremony": "verify" | "unbind"}`.
pub async fn challenge(app: &App, req: &mut Request, id: &str) -> Result<Response, ApiError> {
    let body: ChallengeRequest = read_json(req).await?;
    let ceremony = match Ceremony::from_label(&body.ceremony) {
        Some(c @ (Ceremony::Verify | Ceremony::Unbind)) => c,
        _ => return Err(ValidationError::OutOfRange("ceremony").into()),
    };
    let binding = load(app, id).await?;
    match binding.status {
        BindingStatus::Active => {}
        BindingStatus::Suspended => return Err(Denial::BindingSuspended.into()),
        BindingStatus::Revoked => return Err(Denial::BindingRevoked.into()),
    }
    let bytes = challenge::issue(
        &app.cfg.keys,
        ceremony,
        &binding.binding_id,
        app.now,
        app.cfg.challenge_ttl,
        app.random()?,
    );
    let response = ChallengeResponse {
        challenge: b64(&bytes),
        ceremony: ceremony.label().into(),
        audience: app.cfg.audience.clone(),
        expires_at: app.now + app.cfg.challenge_ttl,
    };
    json(&response, 200)
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
    if decision.challenge_accepted {
        app.store.use_nonce(&nonce, app.cfg.challenge_ttl).await?;
    }
    let effects = apply(&binding, &decision, &app.cfg.policy, app.now);
    let record = match &effects.record {
        Some(changed) => {
            app.store.put_binding(changed).await?;
            changed.clone()
        }
        None => binding.clone(),
    };
    let id = binding.binding_id.as_str();
    let label = Some(ceremony.label());
    match decision.result {
        Ok(()) if ceremony == Ceremony::Unbind => {
            app.store.unindex_binding(&record).await?;
            app.audit(id, "unbound", label, None).await?;
        }
        Ok(()) => app.audit(id, "verified", label, None).await?,
        Err(denial) => {
            app.audit(id, "denied", label, Some(denial.code())).await?;
            if effects.suspended {
                app.audit(id, "suspended", label, Some(denial.code()))
                    .await?;
            }
            if effects.alert {
                alert(app, &record, denial, effects.suspended).await?;
            }
        }
    }
    Ok((record, decision))
}

/// Texts the bound number about an authentic failure. A delivery failure is
/// audited, not returned: the denial is what the caller must see.
async fn alert(
    app: &App,
    binding: &BindingRecord,
    denial: Denial,
    suspended: bool,
) -> Result<(), ApiError> {
    let Some(number) = binding
        .contact
        .as_deref()
        .and_then(|sealed| contact::open(&app.cfg.pepper, &binding.binding_id, sealed))
    else {
        return app
            .audit(
                &binding.binding_id,
                "alert_failed",
                None,
                Some("no_contact"),
            )
            .await;
    };
    let reason = match denial {
        Denial::SimChanged => "a different SIM card was used with your registered phone",
        Denial::NumberChanged => "your SIM now reports a different phone number",
        Denial::CounterReplayed => "a copy of your phone's secure key may be in use",
        _ => "a secure-channel check from your phone failed",
    };
    let tail = if suspended {
        " Your binding is now suspended; re-register with a code sent to this number to restore it."
    } else {
        ""
    };
    let text =
        format!("SimBind alert: {reason}.{tail} If this was not you, contact your provider now.");
    let (event, code) = match sms::send(app, &number, SmsKind::Alert, &text).await {
        Ok(()) => ("alert_sent", denial.code()),
        Err(_) => ("alert_failed", "sms_delivery_failed"),
    };
    app.audit(&binding.binding_id, event, None, Some(code))
        .await
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
