//! One binding's exact state: its record (counter, failures, status), the
//! challenge nonces it has accepted, and its audit trail, in one object named
//! by the binding id. Every holder ceremony is one serialized step here.

use std::cell::Cell;

use serde::{Deserialize, Serialize};
use serde_json::json;
use simbind_core::api::{ChallengeRequest, ChallengeResponse, EvidenceRequest};
use simbind_core::binding::{BindingRecord, BindingStatus};
use simbind_core::budget::{Bucket, Limit};
use simbind_core::challenge::{self, unverified_nonce};
use simbind_core::codec::b64;
use simbind_core::decision::{
    CheckedSignature, Context, Decision, Effects, apply, challenge_consumed, decide_holder,
    holder_signature_input,
};
use simbind_core::registration_id::NumberKey;
use simbind_core::security_event::Change;
use simbind_core::subscription::{self, Event, Outcome};
use simbind_core::transcript::Ceremony;
use simbind_core::{Denial, carrier};
use worker::{DurableObject, Env, Request, Response, State, durable_object};

use super::event_outbox;
use super::sql::{Db, int, text};
use super::{CHIPS, NUMBERS, answer, call, parse, read_op, respond};
use crate::App;
use crate::alert::{self, Alert};
use crate::config::Config;
use crate::problem::{ApiError, Missing};

/// How long audit events are kept, in milliseconds.
const AUDIT_RETENTION_MS: u64 = 90 * 24 * 3600 * 1000;
/// Expired nonces and events past retention are swept at most this often per
/// object instance (every reader checks expiry itself).
const SWEEP_EVERY_MS: u64 = 60 * 1000;
/// How many audit events a listing page returns.
pub const AUDIT_PAGE: u64 = 200;
/// How many tallies (newest hours first) a listing returns.
pub const TALLY_PAGE: u64 = 100;
/// The scheduler's name for the SIM-swap subscription's task.
const SUBSCRIPTION_TASK: &str = "subscription";
/// Takeover alerts to one binding: at most one text per this many ms.
const TAKEOVER_ALERT_EVERY_MS: u64 = 3600 * 1000;

/// `record` is written by [`put`] only, which keeps the instance's decoded
/// copy ([`Db::remember`]) equal to it.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS record (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS used_nonce (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, event TEXT NOT NULL, ceremony TEXT, code TEXT, proof TEXT);
ALTER TABLE audit ADD COLUMN proof TEXT;
CREATE TABLE IF NOT EXISTS tally (event TEXT NOT NULL, code TEXT NOT NULL, hour INTEGER NOT NULL, count INTEGER NOT NULL, first_at INTEGER NOT NULL, last_at INTEGER NOT NULL, PRIMARY KEY (event, code, hour));
CREATE TABLE IF NOT EXISTS throttle (kind TEXT PRIMARY KEY, sent_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE INDEX IF NOT EXISTS used_nonce_expiry ON used_nonce (expires_at);
CREATE TABLE IF NOT EXISTS schedule (task TEXT PRIMARY KEY, due_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS event_out (seq INTEGER PRIMARY KEY AUTOINCREMENT, receiver TEXT NOT NULL, jti TEXT NOT NULL, at INTEGER NOT NULL, type TEXT NOT NULL, payload TEXT NOT NULL, attempts INTEGER NOT NULL, next_at INTEGER NOT NULL, contact TEXT);
CREATE INDEX IF NOT EXISTS event_out_receiver ON event_out (receiver, seq);
CREATE TABLE IF NOT EXISTS event_dropped (receiver TEXT PRIMARY KEY, count INTEGER NOT NULL)";

/// One entry of a binding's audit trail. Holds no subscriber identifier.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the trail: the listing's cursor (`before`).
    pub seq: u64,
    pub at: u64,
    pub event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceremony: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `bound` and `rebound`: how the number was proven.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
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
    /// The transaction the chip signed (base64url), for the grant's `txn`.
    pub transaction: Option<String>,
    /// How the number was proven at the last bind, for the grant.
    #[serde(default)]
    pub number_proof: Option<String>,
}

/// Events nobody authenticated (or repeats the service keeps quiet about),
/// counted per event, code and hour instead of listed one by one, so they
/// can never push real events out of the trail.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tally {
    pub event: String,
    pub code: String,
    /// Start of the hour, Unix seconds.
    pub hour: u64,
    pub count: u64,
    pub first_at: u64,
    pub last_at: u64,
}

/// `audit`: a page of the trail, newest events before `before` (a `seq`).
#[derive(Default, Serialize, Deserialize)]
pub struct TrailOp {
    #[serde(default)]
    pub before: Option<u64>,
}

/// What unauthenticated holder requests (anyone who knows the binding id can
/// send them) may write: a token bucket of this many per minute, kept in
/// memory. Past it such a request is refused (429) and writes nothing; a
/// request the bound chip signed is never held to it.
pub const UNVERIFIED_WRITES: Limit = Limit {
    capacity: 30,
    period_secs: 60,
};

/// The Durable Object class of bindings.
#[durable_object(alarm)]
pub struct BindingObject {
    db: Db,
    state: State,
    env: Env,
    /// The bucket of [`UNVERIFIED_WRITES`] (reset when the object is evicted).
    unverified: Cell<Option<Bucket>>,
}

impl DurableObject for BindingObject {
    fn new(state: State, env: Env) -> Self {
        Self {
            db: Db::open(&state, SCHEMA),
            state,
            env,
            unverified: Cell::new(None),
        }
    }

    /// The object's one scheduler: the SIM-swap subscription when its task
    /// is due (created after bind, replaced before it expires, deleted once
    /// the binding has ended), then the security-event outbox; the alarm is
    /// then set to whatever is due next.
    async fn alarm(&self) -> worker::Result<Response> {
        let app = match Config::for_isolate(&self.env) {
            Ok(cfg) => App::new(cfg, self.env.clone()),
            Err(e) => {
                worker::console_error!("binding alarm: {e}");
                return Response::ok("");
            }
        };
        if let Err(e) = self.run_due(&app).await {
            worker::console_error!("binding alarm: {e}");
        }
        if let Err(e) = event_outbox::arm(&self.state, &self.db).await {
            worker::console_error!("binding alarm: {e}");
        }
        Response::ok("")
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
    /// The alarm's tasks: the security events, then the subscription task
    /// (also run when none is planned, for an alarm set before tasks were
    /// planned; it plans its next).
    async fn run_due(&self, app: &App) -> Result<(), ApiError> {
        let db = &self.db;
        // Events first: a slow or failing carrier never holds them back.
        let record = load(db)?.map(|v| v.record);
        if let Err(e) = event_outbox::deliver(db, app, record.as_ref()).await {
            worker::console_error!("binding alarm: security events: {e}");
        }
        let planned = event_outbox::take_due(db, SUBSCRIPTION_TASK, app.now_ms)?;
        if planned.unwrap_or(true) {
            keep_subscription(db, app).await?;
        }
        Ok(())
    }

    async fn serve(&self, req: &mut Request) -> Result<Response, ApiError> {
        let (op, body) = read_op(req).await?;
        let app = App::new(Config::for_isolate(&self.env)?, self.env.clone());
        let db = &self.db;
        match op.as_str() {
            "get" => respond(load(db)),
            "create" => {
                let created = create(db, &app, parse(&body)?);
                if created.is_ok() {
                    plan_subscription(db, &app, 0)?;
                    event_outbox::arm(&self.state, db).await?;
                }
                respond(created)
            }
            "rebind" => respond(rebind(db, &self.state, &app, parse(&body)?).await),
            "carrier_event" => respond(carrier_event(db, &self.state, &app, parse(&body)?).await),
            "notify" => respond(notify(db, &self.state, &app, parse(&body)?).await),
            "challenge" => respond(challenge_for(db, &app, parse(&body)?)),
            "verify" => respond(
                holder(
                    db,
                    &self.state,
                    &app,
                    &self.unverified,
                    Ceremony::Verify,
                    parse(&body)?,
                )
                .await,
            ),
            "unbind" => respond(
                holder(
                    db,
                    &self.state,
                    &app,
                    &self.unverified,
                    Ceremony::Unbind,
                    parse(&body)?,
                )
                .await,
            ),
            "show" => respond(existing(db).map(|b| summary(&b.record))),
            "audit" => respond(trail(db, parse(&body)?)),
            "admin_denied" => respond(
                existing(db)
                    .and_then(|_| count(db, &app, "admin_unauthorized", "admin_unauthorized")),
            ),
            "revoke" => respond(revoke(db, &self.state, &app).await),
            "reinstate" => respond(reinstate(db, &self.state, &app).await),
            #[cfg(feature = "dev")]
            "dump" => respond(super::sql::dump(db, &self.env)),
            _ => Err(ApiError::NotFound(Missing::Route)),
        }
    }
}

/// Verify or unbind: decision and effects in one synchronous step, then
/// the alert and (after an unbind) the index release.
async fn holder(
    db: &Db,
    state: &State,
    app: &App,
    unverified: &Cell<Option<Bucket>>,
    ceremony: Ceremony,
    body: EvidenceRequest,
) -> Result<HolderAnswer, ApiError> {
    let evidence = body.validate()?;
    let nonce = unverified_nonce(&evidence.claims.challenge).ok_or(Denial::ChallengeInvalid)?;
    // Before the step: the chip signature checked by WebCrypto. Its await
    // lets other requests in, so the step below reads the state afresh; the
    // result counts only for the very key, transcript and signature checked.
    let stored = load(db)?;
    let checked = match &stored {
        Some(stored) => {
            match holder_signature_input(&app.ctx(), &stored.record, ceremony, &evidence) {
                Some(input) => crate::webcrypto::verify(&input)
                    .await
                    .map(|valid| CheckedSignature { input, valid }),
                None => None,
            }
        }
        None => None,
    };
    // Also before the step, the carrier's answer when a verification is due
    // to ask it. The request is decided once as it stands (pure, the
    // signature already checked): only a verification that would pass, from
    // the bound chip, costs a carrier call.
    let carrier_answer = match &stored {
        Some(stored) if ceremony == Ceremony::Verify && app.cfg.carrier.is_some() => {
            let dry = Context {
                checked: checked.as_ref(),
                ..app.ctx()
            };
            let would = decide_holder(&dry, &stored.record, ceremony, &evidence, false);
            if would.authentic && would.result.is_ok() {
                carrier_answer(app, &stored.record).await
            } else {
                None
            }
        }
        _ => None,
    };
    // --- one synchronous step: read, decide, write ---
    let current = existing(db)?;
    // The answer counts only if the check is still due now (a request that
    // ran meanwhile may have asked already).
    let carrier = match (&app.cfg.policy.carrier, carrier_answer) {
        (Some(policy), Some(answer))
            if carrier::verify_due(policy, current.record.carrier.as_ref(), app.now) =>
        {
            if let Err(failure) = answer {
                audit(
                    db,
                    app,
                    "carrier_unanswered",
                    Some("verify"),
                    Some(failure.label()),
                )?;
            }
            Some(carrier::at_verify(
                policy,
                current.record.carrier.as_ref(),
                answer,
                app.now,
            ))
        }
        _ => None,
    };
    let ctx = Context {
        checked: checked.as_ref(),
        carrier: carrier.map(|(result, _)| result),
        ..app.ctx()
    };
    let key = b64(&nonce);
    if db.sweep_due("used_nonce", app.now_ms, SWEEP_EVERY_MS) {
        db.run(
            "DELETE FROM used_nonce WHERE expires_at <= ?",
            vec![int(app.now)],
        )?;
    }
    let used = db
        .first(
            "SELECT 1 AS used FROM used_nonce WHERE nonce = ?",
            vec![text(&key)],
        )?
        .is_some();
    let decision = decide_holder(&ctx, &current.record, ceremony, &evidence, used);
    if !decision.signed {
        // Anyone can send this: within the cap it is counted (and its
        // challenge marked used), past it refused with nothing written.
        // A request the bound chip signed is never held here.
        let (bucket, admitted) = UNVERIFIED_WRITES.take(unverified.get(), app.now_ms);
        unverified.set(Some(bucket));
        admitted.map_err(|retry_after| ApiError::RateLimited { retry_after })?;
    }
    if challenge_consumed(&decision.result) {
        let until = app.now + challenge::MAX_TTL_SECS + 60;
        db.run(
            "INSERT INTO used_nonce (nonce, expires_at) VALUES (?, ?)",
            vec![text(&key), int(until)],
        )?;
    }
    let mut effects = apply(&current.record, &decision, &app.cfg.policy, app.now);
    // Audit and events in the same step, with the number as it was before
    // the decision (an unbind clears it).
    let contact = current.record.contact.as_deref();
    let reported = record_outcome(db, app, &decision, &effects, contact)?;
    // An unbind ends the binding: its subscription is due for deletion.
    let unbound = decision.result.is_ok() && ceremony == Ceremony::Unbind;
    if unbound {
        plan_subscription(db, app, 0)?;
    }
    // A swap or a fail-closed silence keeps the stored baseline (None): the
    // swap stays one, and the silent carrier is asked again next time.
    if let (Some(changed), Some((_, Some(baseline)))) = (&mut effects.record, carrier) {
        changed.carrier = Some(baseline);
    }
    let record = match &effects.record {
        Some(changed) => {
            put(db, changed, current.version + 1)?;
            changed.clone()
        }
        None => current.record,
    };
    // --- state written: awaits from here on let other requests in ---
    if reported || unbound {
        event_outbox::arm(state, db).await?;
    }
    if let (Err(denial), true) = (decision.result, effects.alert) {
        let why = Alert::Refused {
            denial,
            suspended: effects.suspended,
        };
        alert_then_audit(db, app, &record, why).await?;
    }
    if unbound {
        release_indexes(app, &record).await;
    }
    decision.result?;
    Ok(HolderAnswer {
        binding_id: record.binding_id.clone(),
        status: record.status.label().into(),
        counter: decision.counter,
        transaction: (!decision.transaction.is_empty()).then(|| b64(&decision.transaction)),
        number_proof: record.number_proof.map(|p| p.label().to_owned()),
    })
}

/// The carrier's answer for the bound number, when the deployment has a
/// carrier and a verification is due to ask it (at most once per interval).
async fn carrier_answer(
    app: &App,
    record: &BindingRecord,
) -> Option<Result<carrier::CarrierFacts, carrier::CarrierFailure>> {
    let (Some(config), Some(policy)) = (&app.cfg.carrier, &app.cfg.policy.carrier) else {
        return None;
    };
    if record.status != BindingStatus::Active
        || !carrier::verify_due(policy, record.carrier.as_ref(), app.now)
    {
        return None;
    }
    let number = record.contact_number(&app.cfg.pepper)?;
    Some(crate::carrier::facts(app, config, policy, &number).await)
}

async fn rebind(
    db: &Db,
    state: &State,
    app: &App,
    mut op: RebindRequest,
) -> Result<serde_json::Value, ApiError> {
    let current = existing(db)?;
    if current.version != op.version || current.record.binding_id != op.record.binding_id {
        return Ok(json!({ "rebound": false }));
    }
    // The subscription is the object's, not the bind's: it stays.
    op.record.subscription = current.record.subscription;
    op.record.subscription_pending = current.record.subscription_pending;
    put(db, &op.record, current.version + 1)?;
    audit_bind(db, app, "rebound", &op.record)?;
    let contact = op.record.contact.as_deref();
    event_outbox::enqueue(db, app, Change::Rebound(op.record.number_proof), contact)?;
    if op.record.subscription.is_none() {
        plan_subscription(db, app, 0)?;
    }
    // --- state written ---
    event_outbox::arm(state, db).await?;
    alert_then_audit(db, app, &op.record, Alert::Rebound).await?;
    Ok(json!({ "rebound": true }))
}

async fn notify(
    db: &Db,
    state: &State,
    app: &App,
    notice: Notice,
) -> Result<serde_json::Value, ApiError> {
    let current = existing(db)?;
    let denial = notice
        .code
        .as_deref()
        .and_then(|c| Denial::ALL.into_iter().find(|d| d.code() == c));
    let Some(denial) = denial.filter(|_| notice.takeover) else {
        audit(db, app, &notice.event, Some("bind"), notice.code.as_deref())?;
        return Ok(json!({}));
    };
    // Takeover attempts: one audited event and one text per hour; the rest
    // are counted. Decided and written in one step, texted after.
    let last = match db.first(
        "SELECT sent_at FROM throttle WHERE kind = 'takeover'",
        vec![],
    )? {
        Some(row) => Some(row.int(0)?),
        None => None,
    };
    if last.is_some_and(|sent_at| app.now_ms < sent_at + TAKEOVER_ALERT_EVERY_MS) {
        count(db, app, "takeover_suppressed", denial.code())?;
        return Ok(json!({}));
    }
    db.run(
        "INSERT INTO throttle (kind, sent_at) VALUES ('takeover', ?) ON CONFLICT (kind) DO UPDATE SET sent_at = excluded.sent_at",
        vec![int(app.now_ms)],
    )?;
    audit(db, app, &notice.event, Some("bind"), Some(denial.code()))?;
    let contact = current.record.contact.as_deref();
    event_outbox::enqueue(db, app, Change::TakeoverRefused(denial), contact)?;
    // --- state written ---
    event_outbox::arm(state, db).await?;
    alert_then_audit(db, app, &current.record, Alert::TakeoverAttempt(denial)).await?;
    Ok(json!({}))
}

/// An operator revokes the binding; revoked or not before, its
/// subscription is due for deletion.
async fn revoke(db: &Db, state: &State, app: &App) -> Result<serde_json::Value, ApiError> {
    let mut current = existing(db)?;
    let changed = current.record.status != BindingStatus::Revoked;
    if changed {
        let contact = current.record.contact.clone();
        current.record.revoke();
        current.record.updated_at = app.now;
        put(db, &current.record, current.version + 1)?;
        audit(db, app, "revoked", None, Some("operator"))?;
        event_outbox::enqueue(db, app, Change::Revoked, contact.as_deref())?;
    }
    plan_subscription(db, app, 0)?;
    // --- state written ---
    event_outbox::arm(state, db).await?;
    if changed {
        release_indexes(app, &current.record).await;
    }
    Ok(summary(&current.record))
}

/// An operator lifts a suspension after checking with the owner out of
/// band: audited; the carrier's reports up to now are accepted.
async fn reinstate(db: &Db, state: &State, app: &App) -> Result<serde_json::Value, ApiError> {
    let mut current = existing(db)?;
    if simbind_core::binding::reinstate(&mut current.record, app.now)? {
        put(db, &current.record, current.version + 1)?;
        audit(db, app, "reinstated", None, Some("operator"))?;
        let contact = current.record.contact.as_deref();
        event_outbox::enqueue(db, app, Change::Reinstated, contact)?;
        // --- state written ---
        event_outbox::arm(state, db).await?;
    }
    Ok(summary(&current.record))
}

/// `carrier_event`: a notification at the subscription sink, with the
/// secret of the credential it carried (base64url).
#[derive(Serialize, Deserialize)]
pub struct CarrierEventOp {
    pub secret: String,
    pub event: Event,
}

/// A carrier notification, decided and applied in one synchronous step: a
/// swap suspends the binding at once (then the owner is texted); an ended
/// subscription is forgotten and a new one made.
async fn carrier_event(
    db: &Db,
    state: &State,
    app: &App,
    op: CarrierEventOp,
) -> Result<serde_json::Value, ApiError> {
    let secret = simbind_core::codec::unb64(&op.secret, "secret")
        .map_err(|_| simbind_core::error::SinkRefusal::Unauthorized)?;
    let current = load(db)?;
    let outcome = subscription::decide(
        current.as_ref().map(|c| &c.record),
        &secret,
        &op.event,
        app.now,
    )?;
    let Some(current) = current else {
        return Ok(json!({}));
    };
    let mut record = current.record;
    match outcome {
        Outcome::Nothing => {}
        Outcome::Suspend => {
            subscription::suspend(&mut record, op.event.time, app.now);
            put(db, &record, current.version + 1)?;
            let code = Some(Denial::CarrierSimSwapped.code());
            audit(db, app, "suspended", None, code)?;
            let swapped = Change::Suspended(Denial::CarrierSimSwapped);
            event_outbox::enqueue(db, app, swapped, record.contact.as_deref())?;
            // --- state written ---
            event_outbox::arm(state, db).await?;
            let why = Alert::Refused {
                denial: Denial::CarrierSimSwapped,
                suspended: true,
            };
            alert_then_audit(db, app, &record, why).await?;
        }
        Outcome::Resubscribe => {
            record.subscription = None;
            record.subscription_pending = None;
            put(db, &record, current.version + 1)?;
            audit(db, app, "carrier_subscription_ended", None, None)?;
            let ended = Change::CarrierSubscriptionEnded;
            event_outbox::enqueue(db, app, ended, record.contact.as_deref())?;
            plan_subscription(db, app, 0)?;
            // --- state written ---
            event_outbox::arm(state, db).await?;
        }
    }
    Ok(json!({}))
}

/// Plans the subscription task `after_secs` from now, when the deployment
/// keeps SIM-swap subscriptions; the caller then arms the alarm once (the
/// alarm handler arms at its end).
fn plan_subscription(db: &Db, app: &App, after_secs: u64) -> Result<(), ApiError> {
    if app.cfg.subscriptions().is_some() {
        let due = app.now_ms.saturating_add(after_secs.saturating_mul(1000));
        event_outbox::plan(db, SUBSCRIPTION_TASK, due)?;
    }
    Ok(())
}

/// The alarm's work: a binding that has ended deletes its subscription; a
/// live one without a subscription, or whose subscription is due for
/// renewal, creates one (the old one is deleted once the new one is kept).
/// A carrier that fails is audited and asked again later.
async fn keep_subscription(db: &Db, app: &App) -> Result<(), ApiError> {
    let Some((config, settings)) = app.cfg.subscriptions() else {
        return Ok(());
    };
    let Some(current) = load(db)? else {
        return Ok(());
    };
    let retry = (settings.lifetime_secs / 8).clamp(1, 600);
    let record = current.record;
    if record.status == BindingStatus::Revoked {
        let Some(old) = record.subscription else {
            return Ok(());
        };
        match crate::carrier::unsubscribe(app, config, &old.id).await {
            Ok(()) => {
                let mut fresh = existing(db)?;
                if fresh.record.subscription.as_ref() == Some(&old) {
                    fresh.record.subscription = None;
                    put(db, &fresh.record, fresh.version + 1)?;
                }
                audit(db, app, "carrier_unsubscribed", None, None)
            }
            Err(failure) => retry_later(db, app, failure, retry),
        }?;
        return Ok(());
    }
    if let Some(sub) = record
        .subscription
        .as_ref()
        .filter(|s| app.now < s.renew_at())
    {
        return plan_subscription(db, app, sub.renew_at() - app.now);
    }
    let Some(number) = record.contact_number(&app.cfg.pepper) else {
        return Ok(()); // no number to subscribe for
    };
    let (token, credential) = subscription::sink_credential(
        &app.cfg.pepper,
        &record.binding_id,
        app.random()?,
        app.random()?,
    );
    // Kept before asking: the carrier may notify before it answers.
    let mut fresh = existing(db)?;
    fresh.record.subscription_pending = Some(credential.clone());
    put(db, &fresh.record, fresh.version + 1)?;
    let until = app.now + settings.lifetime_secs;
    let body = subscription::request_body(&settings.sink, number.as_str(), &token, until);
    let created = crate::carrier::subscribe(app, config, body)
        .await
        .and_then(|c| {
            subscription::accept(&c, credential.clone(), app.now, until)
                .ok_or(carrier::CarrierFailure::Unavailable)
        });
    let new = match created {
        Ok(new) => new,
        Err(failure) => return retry_later(db, app, failure, retry),
    };
    // --- one synchronous step: keep the new subscription ---
    let mut fresh = existing(db)?;
    if fresh.record.subscription_pending.as_ref() == Some(&credential) {
        fresh.record.subscription_pending = None;
    }
    let old = fresh.record.subscription.replace(new.clone());
    put(db, &fresh.record, fresh.version + 1)?;
    audit(db, app, "carrier_subscribed", None, None)?;
    let next = if fresh.record.status == BindingStatus::Revoked {
        0 // ended meanwhile: the next alarm deletes what was just made
    } else {
        new.renew_at().saturating_sub(app.now).max(retry.min(60))
    };
    plan_subscription(db, app, next)?;
    if let Some(old) = old
        && let Err(failure) = crate::carrier::unsubscribe(app, config, &old.id).await
    {
        audit(
            db,
            app,
            "carrier_subscription_failed",
            None,
            Some(failure.label()),
        )?;
    }
    Ok(())
}

/// A subscription call the carrier failed: audited, and the task planned
/// again in `retry` seconds.
fn retry_later(
    db: &Db,
    app: &App,
    failure: carrier::CarrierFailure,
    retry: u64,
) -> Result<(), ApiError> {
    let label = Some(failure.label());
    audit(db, app, "carrier_subscription_failed", None, label)?;
    plan_subscription(db, app, retry)
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

/// Audit events for a holder decision, and the security event of a change,
/// written in the same step as it; whether a security event was written.
fn record_outcome(
    db: &Db,
    app: &App,
    decision: &Decision,
    effects: &Effects,
    contact: Option<&str>,
) -> Result<bool, ApiError> {
    let label = Some(decision.ceremony.label());
    match decision.result {
        Ok(()) if decision.ceremony == Ceremony::Unbind => {
            audit(db, app, "unbound", label, None)?;
            event_outbox::enqueue(db, app, Change::Unbound, contact)
        }
        Ok(()) => audit(db, app, "verified", label, None).map(|()| false),
        // Anyone can send these: counted, never listed one by one.
        Err(denial) if !decision.authentic => {
            count(db, app, "denied_unverified", denial.code()).map(|()| false)
        }
        Err(denial) => {
            audit(db, app, "denied", label, Some(denial.code()))?;
            if !effects.suspended {
                return Ok(false);
            }
            audit(db, app, "suspended", label, Some(denial.code()))?;
            event_outbox::enqueue(db, app, Change::Suspended(denial), contact)
        }
    }
}

/// Clears the number and chip indexes that point at an ended binding. Best
/// effort: an index left pointing at a revoked binding is treated as free.
async fn release_indexes(app: &App, record: &BindingRecord) {
    let chip = record.chip_index(&app.cfg.hasher, app.cfg.policy.serials_attested());
    let body = json!({ "binding_id": record.binding_id, "serial": chip });
    let number = NumberKey::of(&record.number).to_hex();
    for (ns, name) in [(NUMBERS, number.as_str()), (CHIPS, chip.as_str())] {
        if let Err(e) = call(&app.env, ns, name, "release", &body).await {
            worker::console_error!("index release failed: {e}");
        }
    }
}

/// The stored record: the instance's decoded copy once it has one (every
/// write goes through [`put`]), else read and decoded.
fn load(db: &Db) -> Result<Option<Versioned>, ApiError> {
    if let Some(known) = db.remembered::<Versioned>() {
        return Ok(Some(known));
    }
    if !db.has_schema()? {
        return Ok(None);
    }
    let Some(row) = db.first("SELECT version, json FROM record WHERE id = 1", vec![])? else {
        return Ok(None);
    };
    let record = serde_json::from_slice(row.text(1)?.as_bytes())
        .map_err(|e| ApiError::Platform(format!("corrupt binding record: {e}")))?;
    let known = Versioned {
        record,
        version: row.int(0)?,
    };
    db.remember(known.clone());
    Ok(Some(known))
}

fn existing(db: &Db) -> Result<Versioned, ApiError> {
    load(db)?.ok_or(ApiError::NotFound(Missing::Binding))
}

fn put(db: &Db, record: &BindingRecord, version: u64) -> Result<(), ApiError> {
    let json = serde_json::to_string(record).map_err(|e| ApiError::Platform(e.to_string()))?;
    db.run(
        "INSERT INTO record (id, version, json) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version, json = excluded.json",
        vec![int(version), text(&json)],
    )?;
    db.remember(Versioned {
        record: record.clone(),
        version,
    });
    Ok(())
}

fn create(db: &Db, app: &App, record: BindingRecord) -> Result<serde_json::Value, ApiError> {
    db.create_schema()?;
    if load(db)?.is_some() {
        return Err(ApiError::Platform("binding id already in use".into()));
    }
    put(db, &record, 1)?;
    audit_bind(db, app, "bound", &record)?;
    let bound = Change::Bound(record.number_proof);
    event_outbox::enqueue(db, app, bound, record.contact.as_deref())?;
    Ok(json!({}))
}

fn challenge_for(db: &Db, app: &App, op: ChallengeRequest) -> Result<ChallengeResponse, ApiError> {
    let (ceremony, transaction) = op.validate()?;
    // Any stored binding gets a challenge, whatever its state: the state is
    // told only to its chip, once it has signed (core's decide_holder).
    let binding = existing(db)?;
    app.challenge(ceremony, &binding.record.binding_id, &transaction)
}

/// Appends an event to the trail.
fn audit(
    db: &Db,
    app: &App,
    event: &str,
    ceremony: Option<&str>,
    code: Option<&str>,
) -> Result<(), ApiError> {
    append(db, app, event, ceremony, code, None)
}

/// Appends an event (and drops events past retention).
fn append(
    db: &Db,
    app: &App,
    event: &str,
    ceremony: Option<&str>,
    code: Option<&str>,
    proof: Option<&str>,
) -> Result<(), ApiError> {
    if db.sweep_due("audit", app.now_ms, SWEEP_EVERY_MS) {
        db.run(
            "DELETE FROM audit WHERE at < ?",
            vec![int(app.now_ms.saturating_sub(AUDIT_RETENTION_MS))],
        )?;
    }
    db.run(
        "INSERT INTO audit (at, event, ceremony, code, proof) VALUES (?, ?, ?, ?, ?)",
        vec![
            int(app.now_ms),
            text(event),
            ceremony.into(),
            code.into(),
            proof.into(),
        ],
    )
}

/// A bind's event (`bound`, `rebound`), naming how the number was proven.
fn audit_bind(db: &Db, app: &App, event: &str, record: &BindingRecord) -> Result<(), ApiError> {
    let proof = record.number_proof.map(|p| p.label());
    append(db, app, event, Some("bind"), None, proof)
}

/// Counts one `event` with `code` in the current hour's tally.
fn count(db: &Db, app: &App, event: &str, code: &str) -> Result<(), ApiError> {
    let hour = app.now - app.now % 3600;
    if db.sweep_due("tally", app.now_ms, SWEEP_EVERY_MS) {
        db.run(
            "DELETE FROM tally WHERE last_at < ?",
            vec![int(app.now_ms.saturating_sub(AUDIT_RETENTION_MS))],
        )?;
    }
    db.run(
        "INSERT INTO tally (event, code, hour, count, first_at, last_at) VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (event, code, hour) DO UPDATE SET count = count + 1, last_at = excluded.last_at",
        vec![text(event), text(code), int(hour), int(app.now_ms), int(app.now_ms)],
    )
}

/// A page of the trail: the newest events (at most [`AUDIT_PAGE`]) before
/// the cursor, oldest first; `next` is the cursor of the page before it
/// (`null` at the start of the trail). Tallies (newest hours first, at most
/// [`TALLY_PAGE`]) come with every page.
fn trail(db: &Db, op: TrailOp) -> Result<serde_json::Value, ApiError> {
    let binding = existing(db)?;
    let before = op.before.unwrap_or(simbind_core::api::MAX_COUNTER);
    let mut events = db
        .rows(
            "SELECT seq, at, event, ceremony, code, proof FROM audit WHERE seq < ? ORDER BY seq DESC LIMIT ?",
            vec![int(before), int(AUDIT_PAGE + 1)],
        )?
        .iter()
        .map(|row| {
            Ok(AuditEvent {
                seq: row.int(0)?,
                at: row.int(1)?,
                event: row.text(2)?,
                ceremony: row.opt_text(3)?,
                code: row.opt_text(4)?,
                proof: row.opt_text(5)?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let more = events.len() as u64 > AUDIT_PAGE;
    events.truncate(AUDIT_PAGE as usize);
    events.reverse();
    let next = if more {
        events.first().map(|e| e.seq)
    } else {
        None
    };
    let tallies = db
        .rows(
            "SELECT event, code, hour, count, first_at, last_at FROM tally ORDER BY hour DESC, event, code LIMIT ?",
            vec![int(TALLY_PAGE)],
        )?
        .iter()
        .map(|row| {
            Ok(Tally {
                event: row.text(0)?,
                code: row.text(1)?,
                hour: row.int(2)?,
                count: row.int(3)?,
                first_at: row.int(4)?,
                last_at: row.int(5)?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(json!({
        "binding_id": binding.record.binding_id,
        "events": events,
        "more": more,
        "next": next,
        "tallies": tallies,
    }))
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
