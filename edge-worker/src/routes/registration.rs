//! Registration and binding: number → one-time code by SMS → chip-signed
//! bind with that code. The number's object holds the registration and
//! commits the binding; this route validates, routes and texts the code.

use simbind_core::ValidationError;
use simbind_core::api::{
    BindRequest, DeviceSmsRequest, RegistrationResponse, StartRegistrationRequest,
};
use simbind_core::binding::{NumberProof, ProofMethod, RegistrationRecord};
use simbind_core::budget::Limit;
use simbind_core::camara_nv::NvState;
use simbind_core::codec::b64;
use simbind_core::device_sms::{self, DeviceSmsState};
use simbind_core::firebase_pnv::PnvState;
use simbind_core::id_hash::IdKind;
use simbind_core::identifiers::PhoneNumber;
use simbind_core::otp::{self, OtpState};
use simbind_core::registration_id::{self, NumberKey};
use simbind_core::transcript::Ceremony;
use simbind_core::{contact, sender};
use worker::Response;

use super::request_limit;
use crate::App;
use crate::http::{Incoming, json, read_bind_json, read_json};
use crate::objects::{self, Answer, LIMITS, NUMBERS, TOKENS, TokenRoute};
use crate::objects::{CancelOp, RegistrationOp, StartOp, Take};
use crate::problem::{ApiError, Missing};
use crate::sms::{self, SmsKind};

const HOUR: u64 = 3600;

/// The client's address (`cf-connecting-ip`). Outside dev mode a request
/// without it (Cloudflare always sets it) is refused rather than let past
/// the per-sender limits.
pub fn client_address(app: &App, req: &Incoming) -> Result<Option<String>, ApiError> {
    match req.headers().get("cf-connecting-ip")? {
        Some(address) => Ok(Some(address)),
        None if app.cfg.dev_mode => Ok(None),
        None => Err(ValidationError::InvalidSenderAddress.into()),
    }
}

/// The client's finest sender bucket (IPv4 address or IPv6 /56).
pub fn sender(app: &App, req: &Incoming) -> Result<Option<String>, ApiError> {
    Ok(match client_address(app, req)? {
        Some(address) => Some(sender::bucket(&address)?),
        None => None,
    })
}

fn hour(capacity: u32) -> Limit {
    Limit {
        capacity,
        period_secs: HOUR,
    }
}

/// Asks the hourly limit named `name` (of `capacity` tokens) to `op`.
async fn limit_op(
    app: &App,
    op: &str,
    name: &str,
    capacity: u32,
) -> Result<Answer<serde_json::Value>, ApiError> {
    let take = Take {
        limit: hour(capacity),
        failed: false,
    };
    objects::ask(&app.env, LIMITS, name, op, &take).await
}

/// Takes a token from the limit named `name`; `Some(429 response)` if none was left.
pub async fn take(app: &App, name: &str, capacity: u32) -> Result<Option<Response>, ApiError> {
    match limit_op(app, "take", name, capacity).await? {
        Answer::Ok(_) => Ok(None),
        Answer::Refused(r) => Ok(Some(r)),
    }
}

/// Gives back a token taken from `name` for an SMS that was not sent.
async fn refund(app: &App, name: &str, capacity: u32) -> Result<(), ApiError> {
    limit_op(app, "refund", name, capacity)
        .await?
        .or_refusal()
        .map(drop)
        .map_err(|_| ApiError::Platform("refund refused".into()))
}

/// The one-time code's SMS budgets, global then the destination country's:
/// a token from each, or the first refusal (a token already taken from the
/// global budget given back).
async fn take_sms_budget(app: &App, country: &str) -> Result<Option<Response>, ApiError> {
    let global = ("sms-budget:global".to_owned(), app.cfg.sms_per_hour);
    let country = (
        format!("sms-budget:country:{country}"),
        app.cfg.sms_per_country_per_hour,
    );
    if let Some(refused) = take(app, &global.0, global.1).await? {
        return Ok(Some(refused));
    }
    if let Some(refused) = take(app, &country.0, country.1).await? {
        refund(app, &global.0, global.1).await?;
        return Ok(Some(refused));
    }
    Ok(None)
}

/// The code's SMS: what it is for, who sends it, and a WebOTP line.
fn code_text(app: &App, code: &str) -> String {
    let service = &app.cfg.service_name;
    let mut text = format!(
        "{code} is your {service} code to link this number to a new phone. It expires in 5 minutes. Never share it."
    );
    if let Some(domain) = &app.cfg.webotp_domain {
        text.push_str(&format!("\n\n@{domain} #{code}"));
    }
    text
}

/// `POST /v1/registrations`: starts proving a number, by a one-time code
/// texted to it (`otp`), a token the phone texts from it (`device_sms`), or
/// a Firebase PNV token the phone obtains at bind (`firebase_pnv`).
///
/// Limits, each a token bucket in its own object, so that only a text that
/// is sent spends the SMS budget: the destination country allow-list; the
/// sender (IPv4 address, or IPv6 /56 and /48); for `device_sms` a global
/// bound on starts; the number's own limit, charged only for an `otp` text
/// (in the number's object, with the registration); for `otp` last the
/// global and the country's SMS budget, whose refusal gives the number its
/// token back and drops the registration.
pub async fn start(app: &App, req: &mut Incoming) -> Result<Response, ApiError> {
    let body: StartRegistrationRequest = read_json(req).await?;
    let number = PhoneNumber::parse(&body.phone_number)?;
    let method = match body.proof.as_deref() {
        None => app.cfg.number_proof.first().copied(),
        Some(label) => ProofMethod::parse(label).filter(|m| app.cfg.number_proof.contains(m)),
    }
    .ok_or(ValidationError::ProofNotAllowed)?;
    // Where the carrier must prove numbers, an SMS proof only as the
    // fallback of a `camara_nv` registration of this number that the
    // operator itself could not serve (its object checks and uses it up).
    let fallback_from = match &body.fallback_from {
        Some(from) if !method.by_carrier() => {
            let from_key = registration_id::open(&app.cfg.pepper, from)?
                .ok_or(ValidationError::CarrierProofRequired)?;
            Some((from.clone(), from_key))
        }
        Some(_) => return Err(ValidationError::InvalidFallback.into()),
        None if app.cfg.require_carrier_proof && !method.by_carrier() => {
            return Err(ValidationError::CarrierProofRequired.into());
        }
        None => None,
    };
    let country = number.country_code();
    if let Some(allowed) = &app.cfg.sms_countries
        && !allowed.iter().any(|c| c == country)
    {
        return Err(ValidationError::CountryNotAllowed.into());
    }
    let number_hash = app.cfg.hasher.hash(IdKind::PhoneNumber, number.as_str());
    if let Some(address) = client_address(app, req)? {
        for bucket in sender::buckets(&address)? {
            let hash = app.cfg.hasher.hash(IdKind::ClientAddress, &bucket.name);
            let name = format!("registration-sender:{}", hash.as_str());
            let capacity = app
                .cfg
                .registrations_per_ip_per_hour
                .saturating_mul(bucket.share);
            if let Some(refused) = take(app, &name, capacity).await? {
                return Ok(refused);
            }
        }
    }
    // A device-sent SMS or a Firebase token costs the deployment no text,
    // but each start creates objects: a global bound for each.
    let starts = match method {
        ProofMethod::DeviceSms => Some("device-sms-starts:global"),
        ProofMethod::FirebasePnv => Some("firebase-pnv-starts:global"),
        ProofMethod::CamaraNv => Some("camara-nv-starts:global"),
        ProofMethod::Otp => None,
    };
    if let Some(name) = starts {
        let bound = app.cfg.device_sms_starts_per_hour;
        if let Some(refused) = take(app, name, bound).await? {
            return Ok(refused);
        }
    }
    // The device-SMS settings (`None`: a one-time code), before anything is stored.
    let inbound = match method {
        ProofMethod::DeviceSms => Some(
            app.cfg
                .device_sms
                .as_ref()
                .ok_or(ValidationError::ProofNotAllowed)?,
        ),
        ProofMethod::FirebasePnv => {
            app.cfg
                .firebase_pnv
                .as_ref()
                .ok_or(ValidationError::ProofNotAllowed)?;
            None
        }
        ProofMethod::CamaraNv => {
            app.cfg
                .camara_nv
                .as_ref()
                .ok_or(ValidationError::ProofNotAllowed)?;
            None
        }
        ProofMethod::Otp => None,
    };
    let key = NumberKey::of(&number_hash);
    if fallback_from
        .as_ref()
        .is_some_and(|(_, from_key)| from_key.to_hex() != key.to_hex())
    {
        return Err(ValidationError::CarrierProofRequired.into());
    }
    let id = registration_id::new(&app.cfg.pepper, &key, app.random()?);
    // `bind_secret` (device SMS only): returned in this answer's body only,
    // and required by the bind.
    let (proof, secret, bind_secret) = match method {
        ProofMethod::Otp => {
            let code = otp::code_from_random(app.random()?);
            let state = OtpState {
                code_hash: otp::hash_code(&app.cfg.pepper, &id, &code),
                expires_at: app.now + otp::OTP_TTL_SECS,
                attempts: 0,
            };
            (NumberProof::Otp(state), code, None)
        }
        ProofMethod::DeviceSms => {
            let token = device_sms::token_from_random(app.random()?);
            let bind_secret = b64(&app.random::<16>()?);
            let state = DeviceSmsState::new(&app.cfg.pepper, &id, &token, &bind_secret, app.now);
            (NumberProof::DeviceSms(state), token, Some(bind_secret))
        }
        ProofMethod::FirebasePnv => (
            NumberProof::FirebasePnv(PnvState::new(app.now)),
            String::new(),
            None,
        ),
        ProofMethod::CamaraNv => (
            NumberProof::CamaraNv(NvState::new(app.now)),
            String::new(),
            None,
        ),
    };
    let record = RegistrationRecord {
        registration_id: id.clone(),
        msisdn: number_hash,
        contact: contact::seal(&app.cfg.pepper, &id, &number, app.random()?),
        proof,
        created_at: app.now,
    };
    let expires_at = record.proof.expires_at();
    let start = StartOp {
        record,
        fallback_from: fallback_from.map(|(from, _)| from),
    };
    let number_object = key.to_hex();
    let stored =
        objects::ask::<_, serde_json::Value>(&app.env, NUMBERS, &number_object, "start", &start)
            .await?;
    if let Answer::Refused(r) = stored {
        return Ok(r);
    }
    // Only a code that will be texted spends SMS budget; when none is left,
    // the number gets its token back and the registration is dropped.
    if method == ProofMethod::Otp
        && let Some(refused) = take_sms_budget(app, country).await?
    {
        let cancel = CancelOp {
            registration_id: id.clone(),
        };
        objects::ask::<_, serde_json::Value>(&app.env, NUMBERS, &number_object, "cancel", &cancel)
            .await?
            .or_refusal()
            .map_err(|_| ApiError::Platform("cancel refused".into()))?;
        return Ok(refused);
    }
    let mut response = RegistrationResponse {
        registration_id: id.clone(),
        proof: method.label().into(),
        otp_expires_at: None,
        device_sms: None,
        challenge: app.challenge(Ceremony::Bind, &id, &[])?,
    };
    match (method, inbound.zip(bind_secret)) {
        // The carrier proves it at bind: nothing is sent.
        (ProofMethod::FirebasePnv | ProofMethod::CamaraNv, _) => {}
        (_, None) => {
            sms::send(app, &number, SmsKind::Otp, &code_text(app, &secret)).await?;
            response.otp_expires_at = Some(expires_at);
        }
        (_, Some((inbound, bind_secret))) => {
            let route = TokenRoute {
                registration_id: id.clone(),
                number: key.to_hex(),
                expires_at,
            };
            let name = app.cfg.hasher.hash(IdKind::SmsToken, &secret);
            objects::ask::<_, serde_json::Value>(&app.env, TOKENS, name.as_str(), "issue", &route)
                .await?
                .or_refusal()
                .map_err(|_| ApiError::Platform("token route refused".into()))?;
            response.device_sms = Some(DeviceSmsRequest {
                to: inbound.number.as_str().into(),
                text: device_sms::sms_text(&app.cfg.service_name, &secret),
                expires_at,
                bind_secret,
            });
        }
    }
    json(&response, 201)
}

/// The number object a registration id names.
pub fn number_of(app: &App, id: &str) -> Result<String, ApiError> {
    registration_id::open(&app.cfg.pepper, id)?
        .map(|key| key.to_hex())
        .ok_or(ApiError::NotFound(Missing::Registration))
}

/// `POST /v1/registrations/{id}/challenge`: a fresh bind challenge.
pub async fn challenge(app: &App, req: &Incoming, id: &str) -> Result<Response, ApiError> {
    let number = number_of(app, id)?;
    request_limit::check(app, req, id).await?;
    let op = RegistrationOp {
        registration_id: id.into(),
        request: None,
        status: Default::default(),
        firebase_pnv: None,
    };
    objects::call(&app.env, NUMBERS, &number, "challenge", &op).await
}

/// `POST /v1/registrations/{id}/binding`: code + chip-signed evidence.
pub async fn bind(app: &App, req: &mut Incoming, id: &str) -> Result<Response, ApiError> {
    let body: BindRequest = read_bind_json(req).await?;
    // Refuse bad input here, before any object is touched.
    if let Some(code) = &body.otp {
        otp::parse_code(code)?;
    }
    if body.bind_secret.as_ref().is_some_and(|s| s.len() > 64) {
        return Err(ValidationError::OutOfRange("bind_secret").into());
    }
    if body
        .firebase_pnv_token
        .as_ref()
        .is_some_and(|t| t.len() > simbind_core::firebase_pnv::MAX_TOKEN_LEN)
    {
        return Err(ValidationError::OutOfRange("firebase_pnv_token").into());
    }
    let evidence = body.evidence.validate()?;
    let number = number_of(app, id)?;
    // Before the attestation's KV reads, the key set and signature checks.
    request_limit::check(app, req, id).await?;
    // The token's signature, project and dates; its nonce, number and
    // single use are the number's object's to check.
    let firebase_pnv = match (&body.firebase_pnv_token, &app.cfg.firebase_pnv) {
        (None, _) => None,
        (Some(_), None) => return Err(ValidationError::ProofNotAllowed.into()),
        (Some(token), Some(config)) => Some(crate::firebase_pnv::verify(app, config, token).await?),
    };
    let status = crate::attestation::facts(app, &evidence.claims.chip).await?;
    let op = RegistrationOp {
        registration_id: id.into(),
        request: Some(body),
        status,
        firebase_pnv,
    };
    objects::call(&app.env, NUMBERS, &number, "bind", &op).await
}
