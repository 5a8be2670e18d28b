//! Registration and binding: number → one-time code by SMS → chip-signed
//! bind with that code.

use simbind_core::api::{
    BindRequest, BindResponse, RegistrationResponse, StartRegistrationRequest,
};
use simbind_core::binding::RegistrationRecord;
use simbind_core::challenge::unverified_nonce;
use simbind_core::decision::{BindPlan, challenge_consumed, decide_binding};
use simbind_core::id_hash::{IdHash, IdKind};
use simbind_core::identifiers::{BINDING_PREFIX, OpaqueId, PhoneNumber, REGISTRATION_PREFIX};
use simbind_core::otp::{self, OtpState};
use simbind_core::transcript::Ceremony;
use simbind_core::{Denial, contact};
use worker::{Request, Response};

use crate::App;
use crate::alert::{self, Alert};
use crate::http::{json, read_json};
use crate::problem::{ApiError, Missing};
use crate::sms::{self, SmsKind};

const HOUR: u64 = 3600;

/// Counts one registration against `limit` per hour for `subject`.
async fn rate_limit(app: &App, scope: &str, subject: &IdHash, limit: u32) -> Result<(), ApiError> {
    if app.store.count(scope, subject, HOUR, app.now).await? > limit {
        return Err(ApiError::RateLimited {
            retry_after: HOUR - app.now % HOUR,
        });
    }
    Ok(())
}

/// `POST /v1/registrations`: sends a one-time code to the number.
pub async fn start(app: &App, req: &mut Request) -> Result<Response, ApiError> {
    let body: StartRegistrationRequest = read_json(req).await?;
    let number = PhoneNumber::parse(&body.phone_number)?;
    let number_hash = app.cfg.hasher.hash(IdKind::PhoneNumber, number.as_str());
    // Per sender address (SMS pumping across many numbers), then per number.
    if let Some(ip) = req.headers().get("cf-connecting-ip")? {
        let ip_hash = app.cfg.hasher.hash(IdKind::ClientAddress, &ip);
        let limit = app.cfg.registrations_per_ip_per_hour;
        rate_limit(app, "registration-ip", &ip_hash, limit).await?;
    }
    rate_limit(
        app,
        "registration",
        &number_hash,
        app.cfg.registrations_per_hour,
    )
    .await?;
    let id = OpaqueId::new(REGISTRATION_PREFIX, app.random()?);
    let code = otp::code_from_random(app.random()?);
    let record = RegistrationRecord {
        registration_id: id.as_str().into(),
        msisdn: number_hash,
        otp: OtpState {
            code_hash: otp::hash_code(&app.cfg.pepper, id.as_str(), &code),
            expires_at: app.now + otp::OTP_TTL_SECS,
            attempts: 0,
        },
        created_at: app.now,
    };
    app.store.put_registration(&record, app.now).await?;
    let text = format!("{code} is your SimBind code. It expires in 5 minutes. Never share it.");
    sms::send(app, &number, SmsKind::Otp, &text).await?;
    let response = RegistrationResponse {
        registration_id: id.as_str().into(),
        otp_expires_at: record.otp.expires_at,
        challenge: app.challenge(Ceremony::Bind, id.as_str())?,
    };
    json(&response, 201)
}

async fn load(app: &App, id: &str) -> Result<RegistrationRecord, ApiError> {
    let id = OpaqueId::parse(id, REGISTRATION_PREFIX)?;
    app.store
        .registration(id.as_str())
        .await?
        .ok_or(ApiError::NotFound(Missing::Registration))
}

/// `POST /v1/registrations/{id}/challenge`: a fresh bind challenge.
pub async fn challenge(app: &App, id: &str) -> Result<Response, ApiError> {
    let registration = load(app, id).await?;
    json(
        &app.challenge(Ceremony::Bind, &registration.registration_id)?,
        200,
    )
}

/// `POST /v1/registrations/{id}/binding`: code + chip-signed evidence.
pub async fn bind(app: &App, req: &mut Request, id: &str) -> Result<Response, ApiError> {
    let body: BindRequest = read_json(req).await?;
    let code = otp::parse_code(&body.otp)?;
    let evidence = body.evidence.validate()?;
    let mut registration = load(app, id).await?;
    let before = registration.otp.attempts;
    let checked = registration.otp.check(
        &app.cfg.pepper,
        &registration.registration_id,
        code,
        app.now,
    );
    if registration.otp.attempts != before {
        app.store.put_registration(&registration, app.now).await?;
    }
    checked?;

    let claims = &evidence.claims;
    let nonce = unverified_nonce(&claims.challenge).ok_or(Denial::ChallengeInvalid)?;
    let used = app.store.nonce_used(&nonce).await?;
    let sim_number = app
        .cfg
        .hasher
        .hash(IdKind::PhoneNumber, claims.sim.msisdn.as_str());
    let chip_serial = app
        .cfg
        .hasher
        .hash(IdKind::ChipSerial, claims.chip.serial.as_str());
    let existing = app.store.binding_of_number(&sim_number).await?;
    let chip_holder = app.store.binding_of_chip(&chip_serial).await?;
    let new_id = OpaqueId::new(BINDING_PREFIX, app.random()?);
    let plan = decide_binding(
        &app.ctx(),
        &registration,
        existing.as_ref(),
        chip_holder.as_ref(),
        &evidence,
        used,
        new_id.as_str(),
    );
    if challenge_consumed(&plan) {
        app.store.use_nonce(&nonce).await?;
    }
    let (mut record, rebound) = match plan {
        Ok(BindPlan::Create(record)) => (record, false),
        Ok(BindPlan::Rebind(record)) => (record, true),
        Err(denial @ (Denial::BindingExists | Denial::ChipAlreadyBound)) => {
            // The number was proven with a code (or the chip claimed) for
            // another phone: tell the owner of the live binding.
            let owner = if denial == Denial::BindingExists {
                &existing
            } else {
                &chip_holder
            };
            if let Some(owner) = owner {
                app.audit(
                    &owner.binding_id,
                    "denied",
                    Some("bind"),
                    Some(denial.code()),
                )
                .await?;
                alert::send(app, owner, Alert::TakeoverAttempt(denial)).await?;
            }
            return Err(denial.into());
        }
        Err(denial) => return Err(denial.into()),
    };
    record.contact = Some(contact::seal(
        &app.cfg.pepper,
        &record.binding_id,
        &claims.sim.msisdn,
        app.random()?,
    ));
    app.store.put_binding(&record).await?;
    app.store.index_binding(&record).await?;
    app.store
        .delete_registration(&registration.registration_id)
        .await?;
    if let Some(old) = existing
        .as_ref()
        .filter(|old| old.binding_id != record.binding_id)
    {
        app.audit(&old.binding_id, "replaced", Some("bind"), None)
            .await?;
    }
    let event = if rebound { "rebound" } else { "bound" };
    app.audit(&record.binding_id, event, Some("bind"), None)
        .await?;
    if rebound {
        alert::send(app, &record, Alert::Rebound).await?;
    }
    let response = BindResponse {
        binding_id: record.binding_id.clone(),
        status: record.status.label().into(),
        rebound,
    };
    json(&response, 201)
}
