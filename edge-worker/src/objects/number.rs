//! Everything about one number, serialized in one object named by its
//! [`NumberKey`]: its registrations (one-time-code attempts), its
//! registration limit (a token bucket), and the number → binding index.
//! This object alone commits a binding of its number.

use serde::{Deserialize, Serialize};
use serde_json::json;
use simbind_core::api::{BindRequest, BindResponse, ChallengeResponse};
use simbind_core::attestation::AttestationFacts;
use simbind_core::binding::{BindingRecord, NumberProof, RegistrationRecord};
use simbind_core::budget::{Bucket, Limit};
use simbind_core::camara_nv::{NvRefusal, NvState};
use simbind_core::carrier::{self, CarrierBaseline};
use simbind_core::decision::{BindPlan, bind_can_succeed, claimed_chip_index, decide_binding};
use simbind_core::device_sms::Seen;
use simbind_core::firebase_pnv::{
    CLOCK_SKEW_SECS, PnvRefusal, VerifiedToken, check_bind, jti_key, nonce_for,
};
use simbind_core::id_hash::IdHash;
use simbind_core::identifiers::{BINDING_PREFIX, OpaqueId, PhoneNumber};
use simbind_core::transcript::Ceremony;
use simbind_core::{Denial, ValidationError, contact, otp};
use worker::{DurableObject, Env, Request, Response, State, durable_object};

use super::binding::{Notice, RebindRequest, Versioned};
use super::chip::{Claim, Claimed};
use super::lock::Lock;
use super::sql::{Db, int, text};
use super::{Answer, BINDINGS, CHIPS, answer, ask, parse, read_op, respond};
use crate::App;
use crate::config::Config;
use crate::problem::{ApiError, Missing};

/// How long a registration waits for its code.
pub const REGISTRATION_TTL: u64 = 600;
/// Times a bind re-decides when another object changed under it.
const BIND_ROUNDS: usize = 3;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS registration (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bucket (msisdn TEXT PRIMARY KEY, level INTEGER NOT NULL, at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS bound (msisdn TEXT PRIMARY KEY, binding_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS released (msisdn TEXT PRIMARY KEY, binding_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS used_pnv (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS used_nv_code (code TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS registration_expiry ON registration (expires_at)";

/// `start`: store a registration; one that texts a code to the number takes
/// a token from the number's registration limit. `fallback_from`: where a
/// carrier proof is required, the `camara_nv` registration of this number
/// whose operator said it cannot help (used once).
#[derive(Serialize, Deserialize)]
pub struct StartOp {
    pub record: RegistrationRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_from: Option<String>,
}

/// `nv_ask`: a `camara_nv` registration asks the operator for `challenge`.
#[derive(Serialize, Deserialize)]
pub struct NvAskOp {
    pub registration_id: String,
    /// The bind challenge, base64url.
    pub challenge: String,
}

/// `nv_answer`: the operator's callback for a registration (`state`), with
/// the code's keyed hash; answers the asked challenge and the number.
#[derive(Serialize, Deserialize)]
pub struct NvAnswerOp {
    pub registration_id: String,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_key: Option<String>,
}

/// What `nv_answer` gives the callback to settle with the operator.
#[derive(Serialize, Deserialize)]
pub struct NvAnswered {
    /// The asked bind challenge, base64url.
    pub challenge: String,
    /// The registration's number, E.164.
    pub number: String,
}

/// `nv_record`: what the operator answered (`None`: verified).
#[derive(Serialize, Deserialize)]
pub struct NvRecordOp {
    pub registration_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<NvRefusal>,
}

/// `cancel`: a registration whose code was never texted (no SMS budget was
/// left) is dropped, and the number gets its token back.
#[derive(Serialize, Deserialize)]
pub struct CancelOp {
    pub registration_id: String,
}

/// `challenge` and `bind` name the registration.
#[derive(Serialize, Deserialize)]
pub struct RegistrationOp {
    pub registration_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<BindRequest>,
    /// What the attestation status list says about the presented chain.
    #[serde(default)]
    pub status: AttestationFacts,
    /// The bind's Firebase PNV token, its signature, project and dates
    /// already checked by the route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firebase_pnv: Option<VerifiedToken>,
}

/// `release`: an ended binding gives up the index.
#[derive(Serialize, Deserialize)]
pub struct ReleaseOp {
    pub binding_id: String,
}

/// The Durable Object class of numbers.
#[durable_object(fetch)]
pub struct NumberObject {
    db: Db,
    env: Env,
    /// Held by a bind across its reads of other objects.
    bind_lock: Lock,
}

impl DurableObject for NumberObject {
    fn new(state: State, env: Env) -> Self {
        Self {
            db: Db::open(&state, SCHEMA),
            env,
            bind_lock: Lock::default(),
        }
    }

    // THE GATE RULE (see BindingObject::fetch): storage work is synchronous
    // SQL; an await on another object or an SMS lets other requests in. A
    // bind must read the binding and chip objects before it decides, so it
    // holds `bind_lock` across those awaits: binds of one number run one at
    // a time, and the code, the index and the nonce it checks cannot change
    // under it. Every other operation is one synchronous step.
    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        answer(self.serve(&mut req).await).await
    }
}

impl NumberObject {
    async fn serve(&self, req: &mut Request) -> Result<Response, ApiError> {
        let (op, body) = read_op(req).await?;
        let app = App::new(Config::for_isolate(&self.env)?, self.env.clone());
        let db = &self.db;
        db.create_schema()?;
        purge(db, app.now)?;
        match op.as_str() {
            "start" => respond(start(db, &app, parse(&body)?)),
            "cancel" => respond(cancel(db, &app, parse(&body)?)),
            "challenge" => respond(challenge_for(db, &app, parse(&body)?)),
            "nv_ask" => respond(nv_ask(db, &app, parse(&body)?)),
            "nv_answer" => respond(nv_answer(db, &app, parse(&body)?)),
            "nv_record" => respond(nv_record(db, parse(&body)?)),
            "bind" => {
                let guard = self.bind_lock.acquire().await;
                // The clock as of when this bind got its turn.
                let app = App::new(app.cfg.clone(), self.env.clone());
                let mut notices = Vec::new();
                let bound = bind(db, &app, parse(&body)?, &mut notices).await;
                // The other bindings are told (and their owners texted) once
                // the lock is free: the next bind of this number does not
                // wait for an SMS provider.
                drop(guard);
                for (binding_id, notice) in notices {
                    notify(&app, &binding_id, notice).await;
                }
                // A binding is created: 201.
                bound.and_then(|v| crate::http::json(&v, 201))
            }
            "release" => respond(release(db, parse(&body)?)),
            "sms_seen" => respond(sms_seen(db, &app, parse(&body)?)),
            #[cfg(feature = "dev")]
            "dump" => respond(super::sql::dump(db, &self.env)),
            _ => Err(ApiError::NotFound(Missing::Route)),
        }
    }
}

fn purge(db: &Db, now: u64) -> Result<(), ApiError> {
    db.run(
        "DELETE FROM registration WHERE expires_at <= ?",
        vec![int(now)],
    )?;
    // A token past its expiry (and the skew) is refused by its dates; a
    // code outlives no registration.
    db.run("DELETE FROM used_pnv WHERE expires_at <= ?", vec![int(now)])?;
    db.run(
        "DELETE FROM used_nv_code WHERE expires_at <= ?",
        vec![int(now)],
    )
}

/// Whether a Firebase PNV token id was already used for a bind here.
fn pnv_used(db: &Db, jti_key: &str) -> Result<bool, ApiError> {
    Ok(db
        .first(
            "SELECT 1 AS one FROM used_pnv WHERE jti = ?",
            vec![text(jti_key)],
        )?
        .is_some())
}

/// The number's registration limit: what reaches it (a code) or what it
/// sent (a device-sent SMS) is charged to it, nothing a stranger merely
/// starts, so nobody can lock a stranger's number out without texting it.
fn number_limit(app: &App) -> Limit {
    Limit {
        capacity: app.cfg.registrations_per_hour,
        period_secs: 3600,
    }
}

fn bucket_of(db: &Db, msisdn: &str) -> Result<Option<Bucket>, ApiError> {
    db.bucket(
        "SELECT level, at_ms FROM bucket WHERE msisdn = ?",
        vec![text(msisdn)],
    )
}

fn put_bucket(db: &Db, msisdn: &str, bucket: Bucket) -> Result<(), ApiError> {
    db.run(
        "INSERT INTO bucket (msisdn, level, at_ms) VALUES (?, ?, ?) ON CONFLICT (msisdn) DO UPDATE SET level = excluded.level, at_ms = excluded.at_ms",
        vec![text(msisdn), int(bucket.level), int(bucket.at_ms)],
    )
}

/// Takes a token from the number's limit: `Err` (429) when none is left.
fn charge(db: &Db, app: &App, msisdn: &str) -> Result<(), ApiError> {
    let (after, taken) = number_limit(app).take(bucket_of(db, msisdn)?, app.now_ms);
    put_bucket(db, msisdn, after)?;
    taken.map_err(|retry_after| ApiError::RateLimited { retry_after })
}

fn start(db: &Db, app: &App, op: StartOp) -> Result<serde_json::Value, ApiError> {
    if let Some(from) = &op.fallback_from {
        // One fallback per refusal the operator itself gave, for this number.
        let mut earlier = registration(db, from)
            .map_err(|_| ApiError::from(ValidationError::CarrierProofRequired))?;
        let allowed = match &mut earlier.proof {
            NumberProof::CamaraNv(state) => {
                earlier.msisdn == op.record.msisdn && state.take_fallback()
            }
            _ => false,
        };
        if !allowed {
            return Err(ValidationError::CarrierProofRequired.into());
        }
        put_registration(db, &earlier)?;
    }
    if matches!(op.record.proof, NumberProof::Otp(_)) {
        charge(db, app, op.record.msisdn.as_str())?;
    }
    put_registration(db, &op.record)?;
    Ok(json!({}))
}

fn cancel(db: &Db, app: &App, op: CancelOp) -> Result<serde_json::Value, ApiError> {
    let Ok(registration) = registration(db, &op.registration_id) else {
        return Ok(json!({}));
    };
    db.run(
        "DELETE FROM registration WHERE id = ?",
        vec![text(&op.registration_id)],
    )?;
    if matches!(registration.proof, NumberProof::Otp(_)) {
        let msisdn = registration.msisdn.as_str();
        let back = number_limit(app).refund(bucket_of(db, msisdn)?, app.now_ms);
        put_bucket(db, msisdn, back)?;
    }
    Ok(json!({}))
}

fn put_registration(db: &Db, r: &RegistrationRecord) -> Result<(), ApiError> {
    let json = serde_json::to_string(r).map_err(|e| ApiError::Platform(e.to_string()))?;
    db.run(
        "INSERT INTO registration (id, expires_at, json) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET json = excluded.json",
        vec![text(&r.registration_id), int(r.created_at + REGISTRATION_TTL), text(&json)],
    )
}

fn registration(db: &Db, id: &str) -> Result<RegistrationRecord, ApiError> {
    let row = db
        .first("SELECT json FROM registration WHERE id = ?", vec![text(id)])?
        .ok_or(ApiError::NotFound(Missing::Registration))?;
    serde_json::from_slice(row.text(0)?.as_bytes())
        .map_err(|e| ApiError::Platform(format!("corrupt registration: {e}")))
}

/// A `camara_nv` registration's state; another proof is `not_nv`.
fn nv_of(
    registration: &mut RegistrationRecord,
    not_nv: impl Into<ApiError>,
) -> Result<&mut NvState, ApiError> {
    match &mut registration.proof {
        NumberProof::CamaraNv(state) => Ok(state),
        _ => Err(not_nv.into()),
    }
}

fn nv_ask(db: &Db, app: &App, op: NvAskOp) -> Result<serde_json::Value, ApiError> {
    let mut found = registration(db, &op.registration_id)?;
    nv_of(&mut found, ValidationError::ProofNotAllowed)?.ask(&op.challenge, app.now)?;
    put_registration(db, &found)?;
    Ok(json!({}))
}

fn nv_answer(db: &Db, app: &App, op: NvAnswerOp) -> Result<NvAnswered, ApiError> {
    // A state naming no waiting `camara_nv` registration is simply not ours.
    let invalid = || Denial::from(NvRefusal::StateInvalid);
    let mut found = registration(db, &op.registration_id).map_err(|_| invalid())?;
    let state = nv_of(&mut found, invalid())?;
    let answered = state.answer(&op.state, &app.cfg.audience, &op.registration_id, app.now);
    if answered.is_ok() {
        put_registration(db, &found)?;
    }
    let challenge = answered?;
    // A code is redeemed once, whichever authorization it comes back with.
    if let Some(key) = &op.code_key {
        let used = db
            .first(
                "SELECT 1 AS one FROM used_nv_code WHERE code = ?",
                vec![text(key)],
            )?
            .is_some();
        if used {
            return Err(Denial::from(NvRefusal::StateUsed).into());
        }
        db.run(
            "INSERT INTO used_nv_code (code, expires_at) VALUES (?, ?)",
            vec![text(key), int(app.now + REGISTRATION_TTL)],
        )?;
    }
    let number = contact::open(&app.cfg.pepper, &found.registration_id, &found.contact)
        .ok_or_else(|| ApiError::Platform("registration contact does not open".into()))?;
    Ok(NvAnswered {
        challenge: simbind_core::codec::b64(&challenge),
        number: number.as_str().to_owned(),
    })
}

fn nv_record(db: &Db, op: NvRecordOp) -> Result<serde_json::Value, ApiError> {
    let mut found = registration(db, &op.registration_id)?;
    nv_of(&mut found, ValidationError::ProofNotAllowed)?.record(op.refusal);
    put_registration(db, &found)?;
    Ok(json!({}))
}

fn challenge_for(db: &Db, app: &App, op: RegistrationOp) -> Result<ChallengeResponse, ApiError> {
    let registration = registration(db, &op.registration_id)?;
    app.challenge(Ceremony::Bind, &registration.registration_id, &[])
}

/// `sms_seen`: the inbound webhook saw `token` sent from `sender`.
#[derive(Serialize, Deserialize)]
pub struct SmsSeenOp {
    pub registration_id: String,
    pub token: String,
    pub sender: IdHash,
}

fn sms_seen(db: &Db, app: &App, op: SmsSeenOp) -> Result<serde_json::Value, ApiError> {
    let Ok(mut registration) = registration(db, &op.registration_id) else {
        return Ok(json!({ "seen": Seen::Unknown }));
    };
    let NumberProof::DeviceSms(state) = &mut registration.proof else {
        return Ok(json!({ "seen": Seen::Unknown }));
    };
    let seen = state.seen(
        &app.cfg.pepper,
        &op.registration_id,
        &op.token,
        op.sender,
        app.now,
    );
    if matches!(seen, Seen::Recorded | Seen::Voided) {
        put_registration(db, &registration)?;
    }
    // The number sent an SMS: that is charged to it (without refusing: the
    // text has been sent), as a code texted to it would be.
    if seen == Seen::Recorded {
        let msisdn = registration.msisdn.as_str();
        let (after, _) = number_limit(app).take(bucket_of(db, msisdn)?, app.now_ms);
        put_bucket(db, msisdn, after)?;
    }
    Ok(json!({ "seen": seen }))
}

/// The number is free again: its ended binding moves to `released`, so the
/// next binding of the number can tell it that it was `replaced`.
fn release(db: &Db, op: ReleaseOp) -> Result<serde_json::Value, ApiError> {
    db.create_schema()?;
    db.run(
        "INSERT INTO released (msisdn, binding_id) SELECT msisdn, binding_id FROM bound WHERE binding_id = ? ON CONFLICT (msisdn) DO UPDATE SET binding_id = excluded.binding_id",
        vec![text(&op.binding_id)],
    )?;
    db.run(
        "DELETE FROM bound WHERE binding_id = ?",
        vec![text(&op.binding_id)],
    )?;
    Ok(json!({}))
}

fn bound_to(db: &Db, msisdn: &IdHash) -> Result<Option<String>, ApiError> {
    db.first(
        "SELECT binding_id FROM bound WHERE msisdn = ?",
        vec![text(msisdn.as_str())],
    )?
    .map(|row| row.text(0))
    .transpose()
}

/// A binding's record and version, if that binding exists.
async fn binding_of(app: &App, id: &str) -> Result<Option<Versioned>, ApiError> {
    match ask(&app.env, BINDINGS, id, "get", &json!({})).await? {
        Answer::Ok(v) => Ok(v),
        Answer::Refused(_) => Err(ApiError::Platform("binding object refused a read".into())),
    }
}

/// `bind`, holding the bind lock: the code, then the decision over the
/// number's binding and the chip's holder, then the commit.
async fn bind(
    db: &Db,
    app: &App,
    op: RegistrationOp,
    notices: &mut Vec<(String, Notice)>,
) -> Result<BindResponse, ApiError> {
    let request = op.request.ok_or(ApiError::MissingField)?;
    // A code proves an `otp` registration, a bind secret a `device_sms` one: never both.
    if request.otp.is_some() && request.bind_secret.is_some() {
        return Err(ApiError::InvalidField);
    }
    let evidence = request.evidence.validate()?;
    let mut registration = registration(db, &op.registration_id)?;
    let before = registration.proof.clone();
    // The stored id of a PNV token that proves this bind: used once the
    // registration is.
    let mut pnv_jti = None;
    let checked = match (&mut registration.proof, request.otp.as_deref()) {
        (_, Some(_)) if op.firebase_pnv.is_some() => return Err(ApiError::InvalidField),
        (NumberProof::Otp(state), Some(code)) => state.check(
            &app.cfg.pepper,
            &op.registration_id,
            otp::parse_code(code)?,
            app.now,
        ),
        (NumberProof::Otp(_), None) => return Err(ApiError::MissingField),
        (NumberProof::DeviceSms(_), _) if op.firebase_pnv.is_some() => {
            return Err(ApiError::InvalidField);
        }
        // The bind secret first: without it (only the start answer's body
        // held it), nothing is said about the SMS and nothing is counted.
        (NumberProof::DeviceSms(state), None) => state
            .check_bind_secret(
                &app.cfg.pepper,
                &op.registration_id,
                request.bind_secret.as_deref(),
            )
            .and_then(|()| state.check(&registration.msisdn, app.now)),
        (NumberProof::DeviceSms(_), Some(_)) => return Err(ApiError::InvalidField),
        (NumberProof::FirebasePnv(_), _) if request.bind_secret.is_some() => {
            return Err(ApiError::InvalidField);
        }
        // The service asked the operator itself: the bind carries nothing more.
        (NumberProof::CamaraNv(_), Some(_)) => return Err(ApiError::InvalidField),
        (NumberProof::CamaraNv(_), None)
            if request.bind_secret.is_some() || op.firebase_pnv.is_some() =>
        {
            return Err(ApiError::InvalidField);
        }
        (NumberProof::CamaraNv(state), None) => state.check(&evidence.claims.challenge, app.now),
        (NumberProof::FirebasePnv(state), _) => {
            let token = op.firebase_pnv.as_ref().ok_or(ApiError::MissingField)?;
            let project = &app
                .cfg
                .firebase_pnv
                .as_ref()
                .ok_or(ValidationError::ProofNotAllowed)?
                .project;
            let key = jti_key(&app.cfg.pepper, &token.jti);
            let nonce = nonce_for(
                &evidence.claims.challenge,
                &app.cfg.audience,
                &op.registration_id,
            );
            let used = pnv_used(db, &key)?;
            let result = state.open(app.now).and_then(|()| {
                if used {
                    return Err(PnvRefusal::Replayed.into());
                }
                check_bind(
                    token,
                    project,
                    &nonce,
                    &registration.msisdn,
                    &app.cfg.hasher,
                )
                .map_err(Denial::from)
            });
            if matches!(result, Err(Denial::FirebasePnv(_))) {
                state.attempts += 1;
            }
            pnv_jti = Some((key, token.exp + CLOCK_SKEW_SECS));
            result
        }
    };
    if registration.proof != before {
        put_registration(db, &registration)?;
    }
    checked?;
    // A real-format chip that shows only its key id can only re-prove a
    // number its key is bound to: with no binding for the number, it cannot
    // succeed, so it is refused before the registration is used up (the
    // number is proven: telling the prover that it has no binding is safe).
    let number_bound = bound_to(db, &registration.msisdn)?.is_some();
    bind_can_succeed(&evidence.claims, number_bound)?;
    // The number is proven: this attempt uses up the registration, whatever
    // it decides. One code (or token) buys one bind attempt, and at most one
    // takeover text.
    db.run(
        "DELETE FROM registration WHERE id = ?",
        vec![text(&registration.registration_id)],
    )?;
    // A PNV token proves one bind: its id is kept until it expires.
    if let Some((key, expires_at)) = pnv_jti {
        db.run(
            "INSERT INTO used_pnv (jti, expires_at) VALUES (?, ?)",
            vec![text(&key), int(expires_at)],
        )?;
    }
    let claims = &evidence.claims;
    // No used-nonce store for bind challenges: a challenge is MACed to its
    // registration, and the registration is gone after this attempt.
    let used = false;
    let new_id = OpaqueId::new(BINDING_PREFIX, app.random()?);
    // The chip index entry this bind claims (see BindingRecord::chip_index).
    let serial = claimed_chip_index(&app.ctx(), claims);
    // The number in clear: for the carrier, and sealed again for the binding.
    let number = contact::open(
        &app.cfg.pepper,
        &registration.registration_id,
        &registration.contact,
    )
    .ok_or_else(|| ApiError::Platform("registration contact does not open".into()))?;
    // The carrier is asked once, by the first round whose decision binds.
    let mut carrier = None;
    for _ in 0..BIND_ROUNDS {
        let bound_id = bound_to(db, &registration.msisdn)?;
        let existing = match &bound_id {
            Some(id) => binding_of(app, id).await?,
            None => None,
        };
        let holder_id = chip_holder(app, &serial).await?;
        let holder = match &holder_id {
            Some(h) if Some(h) == bound_id.as_ref() => existing.as_ref().map(|v| v.record.clone()),
            Some(h) => binding_of(app, h).await?.map(|v| v.record),
            None => None,
        };
        let plan = decide_binding(
            &app.ctx(),
            &registration,
            existing.as_ref().map(|v| &v.record),
            holder.as_ref(),
            &evidence,
            used,
            new_id.as_str(),
            &op.status,
        );
        match plan {
            Ok(BindPlan::Create(mut record)) => {
                record.carrier = carrier_baseline(app, &number, &mut carrier).await?;
                seal_contact(app, &mut record, &number)?;
                let claim = Claim {
                    serial: serial.clone(),
                    expected: holder_id.clone(),
                    binding_id: record.binding_id.clone(),
                };
                if !claim_chip(app, &claim).await? {
                    continue; // another number took the chip meanwhile: decide again
                }
                let created: Answer<serde_json::Value> =
                    ask(&app.env, BINDINGS, &record.binding_id, "create", &record).await?;
                created
                    .or_refusal()
                    .map_err(|_| ApiError::Platform("binding create refused".into()))?;
                // --- commit: one synchronous step ---
                db.run(
                    "INSERT INTO bound (msisdn, binding_id) VALUES (?, ?) ON CONFLICT (msisdn) DO UPDATE SET binding_id = excluded.binding_id",
                    vec![text(registration.msisdn.as_str()), text(&record.binding_id)],
                )?;
                // The number's previous binding, ended (still indexed, or
                // released by its unbind or revoke), learns it was replaced.
                let released = db
                    .first(
                        "DELETE FROM released WHERE msisdn = ? RETURNING binding_id",
                        vec![text(registration.msisdn.as_str())],
                    )?
                    .map(|row| row.text(0))
                    .transpose()?;
                let old = existing.map(|old| old.record.binding_id).or(released);
                if let Some(old) = old.filter(|old| *old != record.binding_id) {
                    notices.push((old, notice("replaced", None, false)));
                }
                return Ok(answer_for(&record, false));
            }
            Ok(BindPlan::Rebind(mut record)) => {
                record.carrier = carrier_baseline(app, &number, &mut carrier).await?;
                seal_contact(app, &mut record, &number)?;
                let version = existing.as_ref().map_or(0, |v| v.version);
                let rebind = RebindRequest {
                    record: record.clone(),
                    version,
                };
                let answer: Answer<serde_json::Value> =
                    ask(&app.env, BINDINGS, &record.binding_id, "rebind", &rebind).await?;
                let rebound = answer
                    .or_refusal()
                    .map_err(|_| ApiError::Platform("rebind refused".into()))?
                    .get("rebound")
                    .and_then(serde_json::Value::as_bool)
                    == Some(true);
                if !rebound {
                    continue; // the binding changed since it was read: decide again
                }
                if holder_id.as_deref() != Some(record.binding_id.as_str()) {
                    // Repair a chip index that lost its entry.
                    let claim = Claim {
                        serial: serial.clone(),
                        expected: holder_id.clone(),
                        binding_id: record.binding_id.clone(),
                    };
                    claim_chip(app, &claim).await?;
                }
                return Ok(answer_for(&record, true));
            }
            Err(denial @ (Denial::BindingExists | Denial::ChipAlreadyBound)) => {
                // The number was proven with a code (or the chip claimed) for
                // another phone: tell the owner of the live binding.
                let owner = if denial == Denial::BindingExists {
                    existing.map(|v| v.record)
                } else {
                    holder
                };
                if let Some(owner) = owner {
                    notices.push((
                        owner.binding_id,
                        notice("denied", Some(denial.code()), true),
                    ));
                }
                return Err(denial.into());
            }
            Err(denial) => return Err(denial.into()),
        }
    }
    Err(ApiError::Platform("bind did not settle".into()))
}

/// The carrier's view at bind, when the deployment has a carrier: refused
/// (`carrier_sim_swapped`) when the SIM changed within `maxAge`, else the
/// baseline the binding keeps. `asked` keeps the answer across bind rounds.
async fn carrier_baseline(
    app: &App,
    number: &PhoneNumber,
    asked: &mut Option<Result<CarrierBaseline, Denial>>,
) -> Result<Option<CarrierBaseline>, ApiError> {
    let (Some(config), Some(policy)) = (&app.cfg.carrier, &app.cfg.policy.carrier) else {
        return Ok(None);
    };
    if asked.is_none() {
        let answer = crate::carrier::facts_within(app, config, policy, number).await;
        if let Err(failure) = answer {
            // A refused first bind has no trail to hold it: the log does.
            worker::console_log!("carrier at bind: {}", failure.label());
        }
        *asked = Some(carrier::at_bind(policy, answer, app.now));
    }
    match asked {
        Some(Ok(baseline)) => Ok(Some(*baseline)),
        Some(Err(denial)) => Err((*denial).into()),
        None => Ok(None),
    }
}

/// Seals the registration's number for the binding, for alerts.
fn seal_contact(
    app: &App,
    record: &mut BindingRecord,
    number: &PhoneNumber,
) -> Result<(), ApiError> {
    record.contact = Some(contact::seal(
        &app.cfg.pepper,
        &record.binding_id,
        number,
        app.random()?,
    ));
    Ok(())
}

fn answer_for(record: &BindingRecord, rebound: bool) -> BindResponse {
    BindResponse {
        binding_id: record.binding_id.clone(),
        status: record.status.label().into(),
        rebound,
    }
}

async fn chip_holder(app: &App, serial: &IdHash) -> Result<Option<String>, ApiError> {
    match ask(
        &app.env,
        CHIPS,
        serial.as_str(),
        "get",
        &json!({ "serial": serial }),
    )
    .await?
    {
        Answer::Ok(Claimed { binding_id }) => Ok(binding_id),
        Answer::Refused(_) => Err(ApiError::Platform("chip index refused a read".into())),
    }
}

/// Points the chip index at `claim.binding_id` if it still points where it
/// did when the bind decided; false if another binding took it meanwhile.
async fn claim_chip(app: &App, claim: &Claim) -> Result<bool, ApiError> {
    match ask::<_, serde_json::Value>(&app.env, CHIPS, claim.serial.as_str(), "claim", claim)
        .await?
    {
        Answer::Ok(_) => Ok(true),
        Answer::Refused(_) => Ok(false),
    }
}

/// What a bind tells another binding: an audit event, and for a takeover
/// attempt an alert.
fn notice(event: &str, code: Option<&str>, takeover: bool) -> Notice {
    Notice {
        event: event.into(),
        code: code.map(Into::into),
        takeover,
    }
}

/// Tells another binding what this bind did to it. Best effort: the bind's
/// own answer stands.
async fn notify(app: &App, binding_id: &str, notice: Notice) {
    if let Err(e) = super::call(&app.env, BINDINGS, binding_id, "notify", &notice).await {
        worker::console_error!("notify failed: {e}");
    }
}
