//! One binding's exact state: its record (counter, failures, status), the
//! challenge nonces it has accepted, and its audit trail, in one object named
//! by the binding id. Every holder ceremony is one serialized step here.

use std::cell::OnceCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use simbind_core::Denial;
use simbind_core::api::{ChallengeResponse, EvidenceRequest};
use simbind_core::binding::{BindingRecord, BindingStatus};
use simbind_core::challenge::{self, unverified_nonce};
use simbind_core::codec::b64;
use simbind_core::decision::{Decision, Effects, apply, challenge_consumed, decide_holder};
use simbind_core::registration_id::NumberKey;
use simbind_core::transcript::Ceremony;
use worker::{DurableObject, Env, Request, Response, State, durable_object};

use super::sql::{Db, int, text};
use super::{CHIPS, NUMBERS, answer, cached_config, call, parse, read_op, respond};
use crate::App;
use crate::alert::{self, Alert};
use crate::config::Config;
use crate::problem::{ApiError, Missing};

/// How long audit events are kept, in milliseconds.
const AUDIT_RETENTION_MS: u64 = 90 * 24 * 3600 * 1000;
/// How many audit events a listing returns.
pub const AUDIT_PAGE: u64 = 200;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS record (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS used_nonce (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, event TEXT NOT NULL, ceremony TEXT, code TEXT, once TEXT UNIQUE);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at)";

/// One entry of a binding's audit trail. Holds no subscriber identifier.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: u64,
    pub event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceremony: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// A binding record with its version (bumped by every write).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Versioned {
    pub record: BindingRecord,
    pub version: u64,
}

/// `rebind`: the number's object moves the binding to a new SIM, if the
/// record is still the one it decided on.
#[derive(Serialize, Deserialize)]
pub struct RebindRequest {
    pub record: BindingRecord,
    pub version: u64,
}

/// `notify`: an event about this binding decided elsewhere.
#[derive(Serialize, Deserialize)]
pub struct Notice {
    pub event: String,
    pub code: Option<String>,
    /// A takeover attempt (code of its denial): audit it and alert the owner.
    pub takeover: bool,
}

/// What a holder ceremony answers the worker.
#[derive(Serialize, Deserialize)]
pub struct HolderAnswer {
    pub binding_id: String,
    pub status: String,
    pub counter: u64,
}

#[derive(Deserialize)]
struct ChallengeOp {
    ceremony: String,
}

#[derive(Deserialize)]
struct Row {
    version: u64,
    json: String,
}

/// The Durable Object class of bindings.
#[durable_object]
pub struct BindingObject {
    db: Db,
    env: Env,
    cfg: OnceCell<Rc<Config>>,
}

impl DurableObject for BindingObject {
    fn new(state: State, env: Env) -> Self {
        Self {
            db: Db::open(&state, SCHEMA),
            env,
            cfg: OnceCell::new(),
        }
    }

    // THE GATE RULE. This object holds other requests back only while its
    // own storage work runs; any other await (an SMS send, a call to another
    // object, a timer) lets the next request in. So each operation reads,
    // decides and writes with synchronous SQL and no await in between, and
    // only then awaits what follows (alert SMS, index release). An SMS
    // failure is audited afterwards; it never undoes or skips a state change.
    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        answer(self.serve(&mut req).await).await
    }
}

impl BindingObject {
    async fn serve(&self, req: &mut Request) -> Result<Response, ApiError> {
        let (op, body) = read_op(req).await?;
        let app = App::new(cached_config(&self.cfg, &self.env)?, self.env.clone());
        let db = &self.db;
        match op.as_str() {
            "get" => respond(load(db)),
            "create" => respond(create(db, &app, parse(&body)?)),
            "rebind" => respond(rebind(db, &app, parse(&body)?).await),
            "notify" => respond(notify(db, &app, parse(&body)?).await),
            "challenge" => respond(challenge_for(db, &app, parse(&body)?)),
            "verify" => respond(holder(db, &app, Ceremony::Verify, parse(&body)?).await),
            "unbind" => respond(holder(db, &app, Ceremony::Unbind, parse(&body)?).await),
            "show" => respond(existing(db).map(|b| summary(&b.record))),
            "audit" => respond(trail(db)),
            "revoke" => respond(revoke(db, &app).await),
            "dump" => respond(super::sql::dump(db, &self.env)),
            _ => Err(ApiError::NotFound(Missing::Route)),
        }
    }
}

/// Verify or unbind: decision and effects in one synchronous step, then
/// the alert and (after an unbind) the index release.
async fn holder(
    db: &Db,
    app: &App,
    ceremony: Ceremony,
    body: EvidenceRequest,
) -> Result<HolderAnswer, ApiError> {
    let evidence = body.validate()?;
    let nonce = unverified_nonce(&evidence.claims.challenge).ok_or(Denial::ChallengeInvalid)?;
    // --- one synchronous step: read, decide, write ---
    let current = existing(db)?;
    let key = b64(&nonce);
    db.run(
        "DELETE FROM used_nonce WHERE expires_at <= ?",
        vec![int(app.now)],
    )?;
    let used = db
        .first::<serde_json::Value>(
            "SELECT 1 AS used FROM used_nonce WHERE nonce = ?",
            vec![text(&key)],
        )?
        .is_some();
    let decision = decide_holder(&app.ctx(), &current.record, ceremony, &evidence, used);
    if challenge_consumed(&decision.result) {
        let until = app.now + challenge::MAX_TTL_SECS + 60;
        db.run(
            "INSERT INTO used_nonce (nonce, expires_at) VALUES (?, ?)",
            vec![text(&key), int(until)],
        )?;
    }
    let effects = apply(&current.record, &decision, &app.cfg.policy, app.now);
    let record = match &effects.record {
        Some(changed) => {
            put(db, changed, current.version + 1)?;
            changed.clone()
        }
        None => current.record,
    };
    record_outcome(db, app, &decision, &effects)?;
    // --- state written: awaits from here on let other requests in ---
    if let (Err(denial), true) = (decision.result, effects.alert) {
        let why = Alert::Refused {
            denial,
            suspended: effects.suspended,
        };
        alert_then_audit(db, app, &record, why).await?;
    }
    if decision.result.is_ok() && ceremony == Ceremony::Unbind {
        release_indexes(app, &record).await;
    }
    decision.result?;
    Ok(HolderAnswer {
        binding_id: record.binding_id.clone(),
        status: record.status.label().into(),
        counter: decision.counter,
    })
}

async fn rebind(db: &Db, app: &App, op: RebindRequest) -> Result<serde_json::Value, ApiError> {
    let current = existing(db)?;
    if current.version != op.version || current.record.binding_id != op.record.binding_id {
        return Ok(json!({ "rebound": false }));
    }
    put(db, &op.record, current.version + 1)?;
    audit(db, app, "rebound", Some("bind"), None)?;
    alert_then_audit(db, app, &op.record, Alert::Rebound).await?;
    Ok(json!({ "rebound": true }))
}

async fn notify(db: &Db, app: &App, notice: Notice) -> Result<serde_json::Value, ApiError> {
    let current = existing(db)?;
    audit(db, app, &notice.event, Some("bind"), notice.code.as_deref())?;
    let denial = notice
        .code
        .as_deref()
        .and_then(|c| Denial::ALL.into_iter().find(|d| d.code() == c));
    if let (true, Some(denial)) = (notice.takeover, denial) {
        alert_then_audit(db, app, &current.record, Alert::TakeoverAttempt(denial)).await?;
    }
    Ok(json!({}))
}

async fn revoke(db: &Db, app: &App) -> Result<serde_json::Value, ApiError> {
    let mut current = existing(db)?;
    if current.record.status != BindingStatus::Revoked {
        current.record.revoke();
        current.record.updated_at = app.now;
        put(db, &current.record, current.version + 1)?;
        audit(db, app, "revoked", None, Some("operator"))?;
        release_indexes(app, &current.record).await;
    }
    Ok(summary(&current.record))
}

/// Texts `alert` to the binding's number (its state is already written),
/// then audits whether it went out.
async fn alert_then_audit(
    db: &Db,
    app: &App,
    record: &BindingRecord,
    alert: Alert,
) -> Result<(), ApiError> {
    let (event, code) = alert::send(app, record, alert).await;
    audit(db, app, event, None, Some(code))
}

/// Audit events for a holder decision, written in the same step as it.
fn record_outcome(
    db: &Db,
    app: &App,
    decision: &Decision,
    effects: &Effects,
) -> Result<(), ApiError> {
    let label = Some(decision.ceremony.label());
    match decision.result {
        Ok(()) if decision.ceremony == Ceremony::Unbind => audit(db, app, "unbound", label, None),
        Ok(()) => audit(db, app, "verified", label, None),
        // Anyone can send these: kept at most once a minute per reason.
        Err(denial) if !decision.authentic => {
            let minute = app.now_ms - app.now_ms % 60_000;
            let once = format!("unverified:{}:{minute}", denial.code());
            db.run(
                "INSERT OR IGNORE INTO audit (at, event, ceremony, code, once) VALUES (?, 'denied_unverified', ?, ?, ?)",
                vec![int(app.now_ms), label.into(), text(denial.code()), text(&once)],
            )
        }
        Err(denial) => {
            audit(db, app, "denied", label, Some(denial.code()))?;
            if effects.suspended {
                audit(db, app, "suspended", label, Some(denial.code()))?;
            }
            Ok(())
        }
    }
}

/// Clears the number and chip indexes that point at an ended binding. Best
/// effort: an index left pointing at a revoked binding is treated as free.
async fn release_indexes(app: &App, record: &BindingRecord) {
    let body = json!({ "binding_id": record.binding_id, "serial": record.chip_serial });
    let number = NumberKey::of(&record.sim.msisdn).to_hex();
    for (ns, name) in [
        (NUMBERS, number.as_str()),
        (CHIPS, record.chip_serial.as_str()),
    ] {
        if let Err(e) = call(&app.env, ns, name, "release", &body).await {
            worker::console_error!("index release failed: {e}");
        }
    }
}

fn load(db: &Db) -> Result<Option<Versioned>, ApiError> {
    let Some(row) = db.first::<Row>("SELECT version, json FROM record WHERE id = 1", vec![])?
    else {
        return Ok(None);
    };
    let record = serde_json::from_str(&row.json)
        .map_err(|e| ApiError::Platform(format!("corrupt binding record: {e}")))?;
    Ok(Some(Versioned {
        record,
        version: row.version,
    }))
}

fn existing(db: &Db) -> Result<Versioned, ApiError> {
    load(db)?.ok_or(ApiError::NotFound(Missing::Binding))
}

fn put(db: &Db, record: &BindingRecord, version: u64) -> Result<(), ApiError> {
    let json = serde_json::to_string(record).map_err(|e| ApiError::Platform(e.to_string()))?;
    db.run(
        "INSERT INTO record (id, version, json) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version, json = excluded.json",
        vec![int(version), text(&json)],
    )
}

fn create(db: &Db, app: &App, record: BindingRecord) -> Result<serde_json::Value, ApiError> {
    if load(db)?.is_some() {
        return Err(ApiError::Platform("binding id already in use".into()));
    }
    put(db, &record, 1)?;
    let event = "bound";
    audit(db, app, event, Some("bind"), None)?;
    Ok(json!({}))
}

fn challenge_for(db: &Db, app: &App, op: ChallengeOp) -> Result<ChallengeResponse, ApiError> {
    let ceremony = match Ceremony::from_label(&op.ceremony) {
        Some(c @ (Ceremony::Verify | Ceremony::Unbind)) => c,
        _ => return Err(simbind_core::ValidationError::OutOfRange("ceremony").into()),
    };
    let binding = existing(db)?;
    binding.record.ensure_active()?;
    app.challenge(ceremony, &binding.record.binding_id)
}

/// Appends an event to the trail (and drops events past retention).
fn audit(
    db: &Db,
    app: &App,
    event: &str,
    ceremony: Option<&str>,
    code: Option<&str>,
) -> Result<(), ApiError> {
    db.run(
        "DELETE FROM audit WHERE at < ?",
        vec![int(app.now_ms.saturating_sub(AUDIT_RETENTION_MS))],
    )?;
    db.run(
        "INSERT INTO audit (at, event, ceremony, code) VALUES (?, ?, ?, ?)",
        vec![int(app.now_ms), text(event), ceremony.into(), code.into()],
    )
}

/// The newest events (at most [`AUDIT_PAGE`]), oldest first, and whether
/// older ones exist.
fn trail(db: &Db) -> Result<serde_json::Value, ApiError> {
    let binding = existing(db)?;
    let mut events: Vec<AuditEvent> = db.rows(
        "SELECT at, event, ceremony, code FROM audit ORDER BY seq DESC LIMIT ?",
        vec![int(AUDIT_PAGE + 1)],
    )?;
    let more = events.len() as u64 > AUDIT_PAGE;
    events.truncate(AUDIT_PAGE as usize);
    events.reverse();
    Ok(json!({ "binding_id": binding.record.binding_id, "events": events, "more": more }))
}

fn summary(b: &BindingRecord) -> serde_json::Value {
    json!({
        "binding_id": b.binding_id,
        "status": b.status.label(),
        "chip_format": b.chip_format,
        "counter": b.counter,
        "consecutive_failures": b.consecutive_failures,
        "sim_has_key": b.sim_public_key.is_some(),
        "created_at": b.created_at,
        "updated_at": b.updated_at,
    })
}
