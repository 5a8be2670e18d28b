//! A binding's security-event outbox and its one scheduler. An event is
//! written by [`enqueue`] in the same synchronous step as the change it
//! reports, one row per receiver that asked for its type; the object's
//! alarm delivers the rows oldest first per receiver ([`deliver`]), at
//! least once, and retries on core's schedule. The same alarm serves the
//! object's other timed task (the carrier subscription, [`plan`]): the
//! alarm is always set to the earliest due task ([`arm`]).
//!
//! Bounds: at most `cap` rows per receiver (the oldest dropped past it),
//! none older than the time to live; every drop is counted on the stream.

use simbind_core::binding::BindingRecord;
use simbind_core::codec::{b64, json_text};
use simbind_core::security_event::delivery::{DeliveryMethod, Next, StreamStatus};
use simbind_core::security_event::set::{SubjectFormat, subject};
use simbind_core::security_event::{Change, SecurityEvent};
use worker::State;

use super::sql::{Db, int, text};
use super::stream::{self, Outcome};
use crate::App;
use crate::problem::ApiError;
use crate::security_events::{EventsConfig, Stream, push, sign};

// Its tables (`schedule`, `event_out`, `event_dropped`) are in the binding
// object's schema.

/// SETs a poll stream keeps until its receiver acknowledges them; past it
/// the oldest go (counted as dropped).
pub const POLL_QUEUE_CAP: u64 = 10_000;
/// Pushes per receiver per alarm run; the rest wait for the next run.
const PUSHES_PER_RUN: usize = 16;

/// Writes the event `change` yields for every receiver that asked for its
/// type; whether it wrote any (then [`arm`] is due). Synchronous: call it
/// in the step that stores the change.
/// `contact` is the binding's sealed number as it was before the change
/// (a revoke clears it): kept, still sealed, for receivers that name the
/// subject by number.
pub fn enqueue(
    db: &Db,
    app: &App,
    change: Change,
    contact: Option<&str>,
) -> Result<bool, ApiError> {
    let Some(events) = &app.cfg.events else {
        return Ok(false);
    };
    let event = change.event(&app.cfg.issuer, app.now);
    let wanted: Vec<&Stream> = events
        .streams
        .iter()
        .filter(|s| s.receiver.events.contains(&event.event_type))
        .collect();
    if wanted.is_empty() {
        return Ok(false);
    }
    db.create_schema()?;
    let jti = b64(&app.random::<16>()?);
    let payload = json_text(&event.payload);
    for stream in wanted {
        let id = stream.receiver.id.as_str();
        let sealed = match stream.receiver.subject {
            SubjectFormat::PhoneNumber => contact,
            SubjectFormat::Opaque => None,
        };
        db.run(
            "INSERT INTO event_out (receiver, jti, at, type, payload, attempts, next_at, contact) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
            vec![text(id), text(&jti), int(app.now_ms), text(&event.event_type), text(&payload), int(app.now_ms), sealed.into()],
        )?;
        // Past the cap, the oldest rows go (counted).
        let kept = db
            .number(
                "SELECT COUNT(*) AS n FROM event_out WHERE receiver = ?",
                vec![text(id)],
            )?
            .unwrap_or(0);
        if kept > events.schedule.cap {
            let over = kept - events.schedule.cap;
            db.run(
                "DELETE FROM event_out WHERE seq IN (SELECT seq FROM event_out WHERE receiver = ? ORDER BY seq LIMIT ?)",
                vec![text(id), int(over)],
            )?;
            count_dropped(db, id, over)?;
        }
    }
    Ok(true)
}

fn count_dropped(db: &Db, receiver: &str, n: u64) -> Result<(), ApiError> {
    db.run(
        "INSERT INTO event_dropped (receiver, count) VALUES (?, ?) ON CONFLICT (receiver) DO UPDATE SET count = count + excluded.count",
        vec![text(receiver), int(n)],
    )
}

/// Plans the timed task `task` at `due_ms` (replacing an earlier plan);
/// [`arm`] then sets the alarm.
pub fn plan(db: &Db, task: &str, due_ms: u64) -> Result<(), ApiError> {
    db.create_schema()?;
    db.run(
        "INSERT INTO schedule (task, due_at) VALUES (?, ?) ON CONFLICT (task) DO UPDATE SET due_at = excluded.due_at",
        vec![text(task), int(due_ms)],
    )
}

/// Whether `task` is due (`None`: not planned); a due task is taken off
/// the plan (it plans its next run itself).
pub fn take_due(db: &Db, task: &str, now_ms: u64) -> Result<Option<bool>, ApiError> {
    if !db.has_schema()? {
        return Ok(None);
    }
    db.create_schema()?;
    let Some(due_at) = db.number(
        "SELECT due_at AS n FROM schedule WHERE task = ?",
        vec![text(task)],
    )?
    else {
        return Ok(None);
    };
    let due = due_at <= now_ms;
    if due {
        db.run("DELETE FROM schedule WHERE task = ?", vec![text(task)])?;
    }
    Ok(Some(due))
}

/// Sets the object's alarm to its earliest due task, or the earliest head
/// of a receiver's rows (a row behind a waiting head waits with it), if any.
/// Boxed: one copy serves every operation that stores a change.
pub fn arm<'a>(state: &'a State, db: &'a Db) -> crate::http::Boxed<'a, Result<(), ApiError>> {
    crate::http::boxed(arm_now(state, db))
}

async fn arm_now(state: &State, db: &Db) -> Result<(), ApiError> {
    if !db.has_schema()? {
        return Ok(());
    }
    db.create_schema()?;
    let at = db.number(
        "SELECT MIN(t) AS n FROM (SELECT due_at AS t FROM schedule UNION ALL SELECT next_at AS t FROM event_out WHERE seq IN (SELECT MIN(seq) FROM event_out GROUP BY receiver))",
        vec![],
    )?;
    if let Some(at) = at {
        let now = worker::Date::now().as_millis();
        // At least 1 ms ahead: an alarm set for "now" from inside alarm()
        // is dropped when the handler returns (workerd issue 6866).
        let offset = i64::try_from(at.saturating_sub(now).max(1)).unwrap_or(i64::MAX);
        state.storage().set_alarm(offset).await?;
    }
    Ok(())
}

/// The head row of a receiver's queue.
struct Pending {
    seq: u64,
    contact: Option<String>,
    jti: String,
    event_type: String,
    payload: String,
    attempts: u32,
    next_at: u64,
}

fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}

/// The alarm's delivery: for each receiver, its rows oldest first, until
/// one is not yet due or fails (a later event never overtakes an earlier
/// one). Expired rows and a disabled stream's rows are dropped and counted.
pub async fn deliver(db: &Db, app: &App, record: Option<&BindingRecord>) -> Result<(), ApiError> {
    if !db.has_schema()? {
        return Ok(());
    }
    db.create_schema()?;
    // Rows for a receiver no longer configured (or none at all) have no
    // one to go to: they go, so they never hold the alarm.
    let configured: Vec<&str> = app
        .cfg
        .events
        .iter()
        .flat_map(|e| e.streams.iter().map(|s| s.receiver.id.as_str()))
        .collect();
    for row in db.rows("SELECT DISTINCT receiver FROM event_out", vec![])? {
        let old = row.text(0)?;
        if !configured.contains(&old.as_str()) {
            db.run("DELETE FROM event_out WHERE receiver = ?", vec![text(&old)])?;
        }
    }
    let Some(events) = &app.cfg.events else {
        return Ok(());
    };
    let ttl_ms = events.schedule.ttl_secs.saturating_mul(1000);
    let counted = take_dropped(db)?;
    for stream in &events.streams {
        let id = stream.receiver.id.as_str();
        let expired = db.rows(
            "DELETE FROM event_out WHERE receiver = ? AND at < ? RETURNING seq",
            vec![text(id), int(now_ms().saturating_sub(ttl_ms))],
        )?;
        let dropped = expired.len() as u64
            + counted
                .iter()
                .filter(|(r, _)| r == id)
                .map(|(_, n)| n)
                .sum::<u64>();
        if let Err(e) = deliver_stream(db, app, events, stream, record, dropped).await {
            worker::console_error!("security events to {id}: {e}");
            // Whatever failed (the stream's object, signing), the head
            // waits one base interval rather than holding the alarm.
            let at = now_ms().saturating_add(events.schedule.base_ms);
            db.run(
                "UPDATE event_out SET next_at = MAX(next_at, ?) WHERE seq = (SELECT MIN(seq) FROM event_out WHERE receiver = ?)",
                vec![int(at), text(id)],
            )?;
        }
    }
    Ok(())
}

async fn deliver_stream(
    db: &Db,
    app: &App,
    events: &EventsConfig,
    stream: &Stream,
    record: Option<&BindingRecord>,
    dropped: u64,
) -> Result<(), ApiError> {
    let id = stream.receiver.id.as_str();
    // The stream's state is asked only when there is something to report
    // or to send: most alarms (a subscription renewal) have neither.
    let mut known = match dropped {
        0 => None,
        n => Some(stream::report(&app.env, &events.schedule, id, None, "", n).await?),
    };
    for _ in 0..PUSHES_PER_RUN {
        let head = match db.first(
            "SELECT seq, jti, type, payload, attempts, next_at, contact FROM event_out WHERE receiver = ? ORDER BY seq LIMIT 1",
            vec![text(id)],
        )? {
            Some(row) => Some(Pending {
                seq: row.int(0)?,
                jti: row.text(1)?,
                event_type: row.text(2)?,
                payload: row.text(3)?,
                attempts: row.small(4)?,
                next_at: row.int(5)?,
                contact: row.opt_text(6)?,
            }),
            None => None,
        };
        let Some(head) = head.filter(|h| h.next_at <= now_ms()) else {
            return Ok(());
        };
        let state = match known.take() {
            Some(state) => state,
            None => stream::call(&app.env, id, "status", &()).await?,
        };
        match state.status {
            StreamStatus::Disabled => {
                let gone = db.rows(
                    "DELETE FROM event_out WHERE receiver = ? RETURNING seq",
                    vec![text(id)],
                )?;
                stream::report(&app.env, &events.schedule, id, None, "", gone.len() as u64).await?;
                return Ok(());
            }
            StreamStatus::Paused => {
                // Held; looked at again after the longest retry interval.
                let at = now_ms().saturating_add(events.schedule.max_ms);
                db.run(
                    "UPDATE event_out SET next_at = MAX(next_at, ?) WHERE receiver = ?",
                    vec![int(at), text(id)],
                )?;
                return Ok(());
            }
            StreamStatus::Enabled => {}
        }
        let number = match (stream.receiver.subject, record) {
            (SubjectFormat::PhoneNumber, Some(record)) => head
                .contact
                .as_deref()
                .and_then(|c| simbind_core::contact::open(&app.cfg.pepper, &record.binding_id, c)),
            _ => None,
        };
        let binding_id = record.map_or("", |r| r.binding_id.as_str());
        let sub_id = subject(
            stream.receiver.subject,
            binding_id,
            number.as_ref().map(|n| n.as_str()),
        );
        let event = SecurityEvent {
            event_type: head.event_type.clone(),
            payload: serde_json::from_slice(head.payload.as_bytes())
                .map_err(|e| ApiError::Platform(format!("corrupt event: {e}")))?,
        };
        let token = sign(
            app,
            events,
            stream,
            &head.jti,
            // Signed now (a receiver checks `iat` is recent); when the
            // change happened is the event's `event_timestamp`.
            now_ms() / 1000,
            sub_id,
            &event,
        )
        .await?;
        if stream.receiver.delivery == DeliveryMethod::Poll {
            // Into the stream's poll queue, in this binding's order (a
            // failure waits one interval, as any other: `deliver`).
            let queued = stream::queue(&app.env, id, head.jti.clone(), token).await?;
            db.run("DELETE FROM event_out WHERE seq = ?", vec![int(head.seq)])?;
            known = Some(queued);
            continue;
        }
        let attempts = head.attempts.saturating_add(1);
        let (next, label) = push(app, events, stream, &token, attempts, now_ms()).await;
        // --- one synchronous step: the row's fate ---
        match next {
            Next::Delivered | Next::Rejected => {
                db.run("DELETE FROM event_out WHERE seq = ?", vec![int(head.seq)])?
            }
            Next::Retry { at_ms, .. } => db.run(
                "UPDATE event_out SET attempts = ?, next_at = ? WHERE seq = ?",
                vec![int(u64::from(attempts)), int(at_ms), int(head.seq)],
            )?,
            Next::Gone => {}
        }
        let state = stream::report(
            &app.env,
            &events.schedule,
            id,
            Some(Outcome::of(next)),
            &label,
            0,
        )
        .await?;
        let disabled = state.status == StreamStatus::Disabled;
        known = Some(state);
        if !matches!(next, Next::Delivered | Next::Rejected) && !disabled {
            return Ok(());
        }
    }
    Ok(())
}

/// Reads (and clears) the drops counted in this object, to report them.
fn take_dropped(db: &Db) -> Result<Vec<(String, u64)>, ApiError> {
    db.rows(
        "DELETE FROM event_dropped RETURNING receiver, count",
        vec![],
    )?
    .iter()
    .map(|row| Ok((row.text(0)?, row.int(1)?)))
    .collect()
}
