//! Registration and binding: number → one-time code by SMS → chip-signed
//! bind with that code. The number's object holds the registration and
//! commits the binding; this route validates, routes and texts the code.

use simbind_core::api::{BindRequest, RegistrationResponse, StartRegistrationRequest};
use simbind_core::binding::RegistrationRecord;
use simbind_core::id_hash::IdKind;
use simbind_core::identifiers::PhoneNumber;
use simbind_core::otp::{self, OtpState};
use simbind_core::registration_id::{self, NumberKey};
use simbind_core::transcript::Ceremony;
use worker::{Request, Response};

use crate::App;
use crate::http::{json, read_json};
use crate::objects::{self, Answer, LIMITS, NUMBERS};
use crate::objects::{Hit, RegistrationOp, StartOp};
use crate::problem::{ApiError, Missing};
use crate::sms::{self, SmsKind};

const HOUR: u64 = 3600;

/// `POST /v1/registrations`: sends a one-time code to the number.
pub async fn start(app: &App, req: &mut Request) -> Result<Response, ApiError> {
    let body: StartRegistrationRequest = read_json(req).await?;
    let number = PhoneNumber::parse(&body.phone_number)?;
    let number_hash = app.cfg.hasher.hash(IdKind::PhoneNumber, number.as_str());
    // Per sender address (SMS pumping across many numbers), then per number.
    if let Some(ip) = req.headers().get("cf-connecting-ip")? {
        let ip_hash = app.cfg.hasher.hash(IdKind::ClientAddress, &ip);
        let hit = Hit {
            window: HOUR,
            limit: app.cfg.registrations_per_ip_per_hour,
        };
        let name = format!("registration-ip:{}", ip_hash.as_str());
        if let Answer::Refused(r) =
            objects::ask::<_, serde_json::Value>(&app.env, LIMITS, &name, "hit", &hit).await?
        {
            return Ok(r);
        }
    }
    let key = NumberKey::of(&number_hash);
    let id = registration_id::new(&app.cfg.pepper, &key, app.random()?);
    let code = otp::code_from_random(app.random()?);
    let record = RegistrationRecord {
        registration_id: id.clone(),
        msisdn: number_hash,
        otp: OtpState {
            code_hash: otp::hash_code(&app.cfg.pepper, &id, &code),
            expires_at: app.now + otp::OTP_TTL_SECS,
            attempts: 0,
        },
        created_at: app.now,
    };
    let start = StartOp {
        record,
        limit: app.cfg.registrations_per_hour,
    };
    let stored =
        objects::ask::<_, serde_json::Value>(&app.env, NUMBERS, &key.to_hex(), "start", &start)
            .await?;
    if let Answer::Refused(r) = stored {
        return Ok(r);
    }
    let text = format!("{code} is your SimBind code. It expires in 5 minutes. Never share it.");
    sms::send(app, &number, SmsKind::Otp, &text).await?;
    let response = RegistrationResponse {
        registration_id: id.clone(),
        otp_expires_at: start.record.otp.expires_at,
        challenge: app.challenge(Ceremony::Bind, &id)?,
    };
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
    };
    objects::call(&app.env, NUMBERS, &number, "challenge", &op).await
}

/// `POST /v1/registrations/{id}/binding`: code + chip-signed evidence.
pub async fn bind(app: &App, req: &mut Request, id: &str) -> Result<Response, ApiError> {
    let body: BindRequest = read_json(req).await?;
    // Refuse bad input here, before any object is touched.
    otp::parse_code(&body.otp)?;
    body.evidence.validate()?;
    let number = number_of(app, id)?;
    let op = RegistrationOp {
        registration_id: id.into(),
        request: Some(body),
    };
    objects::call(&app.env, NUMBERS, &number, "bind", &op).await
}
