//! Registration and binding: number → one-time code by SMS → chip-signed
//! bind with that code. The number's object holds the registration and
//! commits the binding; this route validates, routes and texts the code.

use simbind_core::ValidationError;
use simbind_core::api::{
    BindRequest, DeviceSmsRequest, RegistrationResponse, StartRegistrationRequest,
};
use simbind_core::binding::{NumberProof, RegistrationRecord};
use simbind_core::budget::Limit;
use simbind_core::device_sms::{self, DeviceSmsState, ProofMethod};
use simbind_core::id_hash::IdKind;
use simbind_core::identifiers::PhoneNumber;
use simbind_core::otp::{self, OtpState};
use simbind_core::registration_id::{self, NumberKey};
use simbind_core::transcript::Ceremony;
use simbind_core::{contact, sender};
use worker::{Request, Response};

use crate::App;
use crate::http::{json, read_json};
use crate::objects::{self, Answer, LIMITS, NUMBERS, TOKENS, TokenRoute};
use crate::objects::{RegistrationOp, StartOp, Take};
use crate::problem::{ApiError, Missing};
use crate::sms::{self, SmsKind};

const HOUR: u64 = 3600;

/// The client's sender bucket (IPv4 address or IPv6 /64). Outside dev mode
/// a request without `cf-connecting-ip` (which Cloudflare always sets) is
/// refused rather than let past the per-sender limit.
pub fn sender(app: &App, req: &Request) -> Result<Option<String>, ApiError> {
    match req.headers().get("cf-connecting-ip")? {
        Some(address) => Ok(Some(sender::bucket(&address)?)),
        None if app.cfg.dev_mode => Ok(None),
        None => Err(ValidationError::InvalidSenderAddress.into()),
    }
}

/// Takes a token from the limit named `name`; `Some(429 response)` if none was left.
pub async fn take(app: &App, name: &str, capacity: u32) -> Result<Option<Response>, ApiError> {
    let take = Take {
        limit: Limit {
            capacity,
            period_secs: HOUR,
        },
        failed: false,
    };
    match objects::ask::<_, serde_json::Value>(&app.env, LIMITS, name, "take", &take).await? {
        Answer::Ok(_) => Ok(None),
        Answer::Refused(r) => Ok(Some(r)),
    }
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
/// texted to it (`otp`) or a token the phone texts from it (`device_sms`).
///
/// Limits, cheapest first, each a token bucket in its own object: the
/// destination country allow-list, the sender (address or /64), for `otp`
/// the global and the country's SMS budget, then the number's own limit (in
/// the number's object, where the registration is stored).
pub async fn start(app: &App, req: &mut Request) -> Result<Response, ApiError> {
    let body: StartRegistrationRequest = read_json(req).await?;
    let number = PhoneNumber::parse(&body.phone_number)?;
    let method = match body.proof.as_deref() {
        None => app.cfg.number_proof.first().copied(),
        Some(label) => ProofMethod::parse(label).filter(|m| app.cfg.number_proof.contains(m)),
    }
    .ok_or(ValidationError::ProofNotAllowed)?;
    let country = number.country_code();
    if let Some(allowed) = &app.cfg.sms_countries
        && !allowed.iter().any(|c| c == country)
    {
        return Err(ValidationError::CountryNotAllowed.into());
    }
    let number_hash = app.cfg.hasher.hash(IdKind::PhoneNumber, number.as_str());
    if let Some(bucket) = sender(app, req)? {
        let hash = app.cfg.hasher.hash(IdKind::ClientAddress, &bucket);
        let name = format!("registration-sender:{}", hash.as_str());
        if let Some(refused) = take(app, &name, app.cfg.registrations_per_ip_per_hour).await? {
            return Ok(refused);
        }
    }
    // A device-sent SMS costs the deployment nothing to send: only codes
    // draw on the SMS budgets.
    if method == ProofMethod::Otp {
        if let Some(refused) = take(app, "sms-budget:global", app.cfg.sms_per_hour).await? {
            return Ok(refused);
        }
        let country_budget = format!("sms-budget:country:{country}");
        if let Some(refused) = take(app, &country_budget, app.cfg.sms_per_country_per_hour).await? {
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
        ProofMethod::Otp => None,
    };
    let key = NumberKey::of(&number_hash);
    let id = registration_id::new(&app.cfg.pepper, &key, app.random()?);
    let (proof, secret) = match method {
        ProofMethod::Otp => {
            let code = otp::code_from_random(app.random()?);
            let state = OtpState {
                code_hash: otp::hash_code(&app.cfg.pepper, &id, &code),
                expires_at: app.now + otp::OTP_TTL_SECS,
                attempts: 0,
            };
            (NumberProof::Otp(state), code)
        }
        ProofMethod::DeviceSms => {
            let token = device_sms::token_from_random(app.random()?);
            let state = DeviceSmsState::new(&app.cfg.pepper, &id, &token, app.now);
            (NumberProof::DeviceSms(state), token)
        }
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
        limit: Limit {
            capacity: app.cfg.registrations_per_hour,
            period_secs: HOUR,
        },
    };
    let stored =
        objects::ask::<_, serde_json::Value>(&app.env, NUMBERS, &key.to_hex(), "start", &start)
            .await?;
    if let Answer::Refused(r) = stored {
        return Ok(r);
    }
    let mut response = RegistrationResponse {
        registration_id: id.clone(),
        proof: method.label().into(),
        otp_expires_at: None,
        device_sms: None,
        challenge: app.challenge(Ceremony::Bind, &id, &[])?,
    };
    match inbound {
        None => {
            sms::send(app, &number, SmsKind::Otp, &code_text(app, &secret)).await?;
            response.otp_expires_at = Some(expires_at);
        }
        Some(inbound) => {
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
            });
        }
    }
    json(&response, 201)
}

/// The number object a registration id names.
fn number_of(app: &App, id: &str) -> Result<String, ApiError> {
    registration_id::open(&app.cfg.pepper, id)?
        .map(|key| key.to_hex())
        .ok_or(ApiError::NotFound(Missing::Registration))
}

/// `POST /v1/registrations/{id}/challenge`: a fresh bind challenge.
pub async fn challenge(app: &App, id: &str) -> Result<Response, ApiError> {
    let number = number_of(app, id)?;
    let op = RegistrationOp {
        registration_id: id.into(),
        request: None,
        status: Default::default(),
    };
    objects::call(&app.env, NUMBERS, &number, "challenge", &op).await
}

/// `POST /v1/registrations/{id}/binding`: code + chip-signed evidence.
pub async fn bind(app: &App, req: &mut Request, id: &str) -> Result<Response, ApiError> {
    let body: BindRequest = read_json(req).await?;
    // Refuse bad input here, before any object is touched.
    if let Some(code) = &body.otp {
        otp::parse_code(code)?;
    }
    let evidence = body.evidence.validate()?;
    let number = number_of(app, id)?;
    let status = crate::attestation::facts(app, &evidence.claims.chip).await?;
    let op = RegistrationOp {
        registration_id: id.into(),
        request: Some(body),
        status,
    };
    objects::call(&app.env, NUMBERS, &number, "bind", &op).await
}
