//! One security-event stream's exact state, in the object named by the
//! receiver's stream id: enabled, paused or disabled, and its counters
//! (delivered, rejected, dropped, permanent failures in a row). Every
//! binding's outbox reads it before a push and records each push here, so a
//! 410 or the last of too many permanent failures disables the stream for
//! every binding at once (core's `StreamState::record` decides). A poll
//! stream (RFC 8936) also keeps its queue here: bindings' alarms append
//! signed SETs in their order, the receiver's poll takes the oldest and
//! acknowledges what it got (a SET stays until acknowledged).

use serde::{Deserialize, Serialize};
use simbind_core::security_event::delivery::{Next, Schedule, StreamState, StreamStatus};
use worker::{DurableObject, Env, Request, Response, State, durable_object};

use super::sql::{Db, int, text};
use super::{answer, parse, read_op, respond};
use crate::problem::{ApiError, Missing};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS stream (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS poll_queue (seq INTEGER PRIMARY KEY AUTOINCREMENT, jti TEXT NOT NULL UNIQUE, token TEXT NOT NULL)";

/// `enqueue`: a signed SET for a poll stream, and the queue's bound.
#[derive(Serialize, Deserialize)]
pub struct EnqueueOp {
    pub jti: String,
    pub token: String,
    pub cap: u64,
}

/// `poll`: what the receiver acknowledged or refused, and how many to take.
#[derive(Serialize, Deserialize)]
pub struct PollOp {
    pub ack: Vec<String>,
    pub refused: Vec<String>,
    pub max: u32,
}

/// A poll's answer: the oldest SETs (jti, token) and whether more wait.
#[derive(Serialize, Deserialize)]
pub struct Polled {
    pub sets: Vec<(String, String)>,
    pub more: bool,
}

/// What one push (or a binding's outbox) reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Delivered,
    Rejected,
    Retry,
    RetryPermanent,
    Gone,
}

impl Outcome {
    /// The outcome of a push, as core decided it.
    pub fn of(next: Next) -> Self {
        match next {
            Next::Delivered => Self::Delivered,
            Next::Rejected => Self::Rejected,
            Next::Retry {
                permanent: false, ..
            } => Self::Retry,
            Next::Retry {
                permanent: true, ..
            } => Self::RetryPermanent,
            Next::Gone => Self::Gone,
        }
    }

    fn next(self) -> Next {
        let retry = |permanent| Next::Retry {
            at_ms: 0,
            permanent,
        };
        match self {
            Self::Delivered => Next::Delivered,
            Self::Rejected => Next::Rejected,
            Self::Retry => retry(false),
            Self::RetryPermanent => retry(true),
            Self::Gone => Next::Gone,
        }
    }
}

/// `record`: a push's outcome, and events a binding dropped undelivered.
#[derive(Serialize, Deserialize)]
pub struct RecordOp {
    pub outcome: Option<Outcome>,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub dropped: u64,
    pub disable_after: u32,
    /// How long permanent failures must last before they disable (ms).
    pub span_ms: u64,
}

/// `set_status`: an operator enables, pauses or disables the stream.
#[derive(Serialize, Deserialize)]
pub struct StatusOp {
    pub status: StreamStatus,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The Durable Object class of security-event streams.
#[durable_object(fetch)]
pub struct StreamObject {
    db: Db,
    #[cfg_attr(not(feature = "dev"), allow(dead_code))]
    env: Env,
}

impl DurableObject for StreamObject {
    fn new(state: State, env: Env) -> Self {
        Self {
            db: Db::open(&state, SCHEMA),
            env,
        }
    }

    // One synchronous SQL step per request: the counters are exact.
    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        answer(self.serve(&mut req).await).await
    }
}

impl StreamObject {
    async fn serve(&self, req: &mut Request) -> Result<Response, ApiError> {
        let (op, body) = read_op(req).await?;
        let db = &self.db;
        match op.as_str() {
            "status" => respond(load(db)),
            "record" => {
                let op: RecordOp = parse(&body)?;
                let mut state = load(db)?;
                if let Some(outcome) = op.outcome {
                    let schedule = Schedule {
                        disable_after: op.disable_after,
                        max_ms: op.span_ms,
                        ..Schedule::DEFAULT
                    };
                    let now = worker::Date::now().as_millis();
                    state.record(outcome.next(), &op.label, &schedule, now);
                }
                state.dropped = state.dropped.saturating_add(op.dropped);
                settle(db, &mut state)?;
                respond(Ok(state))
            }
            "set_status" => {
                let op: StatusOp = parse(&body)?;
                let mut state = load(db)?;
                state.status = op.status;
                state.reason = op.reason;
                if op.status == StreamStatus::Enabled {
                    state.failures_in_a_row = 0;
                    state.failing_since = None;
                }
                settle(db, &mut state)?;
                respond(Ok(state))
            }
            "enqueue" => respond(enqueue(db, parse(&body)?)),
            "poll" => respond(poll(db, parse(&body)?)),
            #[cfg(feature = "dev")]
            "dump" => respond(super::sql::dump(db, &self.env)),
            _ => Err(ApiError::NotFound(Missing::Route)),
        }
    }
}

/// Runs `op` on the stream `id`'s object; its state after. The one way
/// the outbox and the routes reach a stream.
pub async fn call<T: Serialize>(
    env: &worker::Env,
    id: &str,
    op: &str,
    body: &T,
) -> Result<StreamState, ApiError> {
    match super::ask::<_, StreamState>(env, super::STREAMS, id, op, body).await? {
        super::Answer::Ok(state) => Ok(state),
        super::Answer::Refused(_) => Err(ApiError::Platform("stream object refused".into())),
    }
}

/// Records a push's outcome (and drops counted since the last report) on
/// the stream, under `schedule`'s rule for disabling it.
pub async fn report(
    env: &worker::Env,
    schedule: &Schedule,
    id: &str,
    outcome: Option<Outcome>,
    label: &str,
    dropped: u64,
) -> Result<StreamState, ApiError> {
    let op = RecordOp {
        outcome,
        label: label.to_owned(),
        dropped,
        disable_after: schedule.disable_after,
        span_ms: schedule.max_ms,
    };
    call(env, id, "record", &op).await
}

/// Appends a signed SET to a poll stream's queue (at most
/// [`POLL_QUEUE_CAP`](super::event_outbox::POLL_QUEUE_CAP)).
pub async fn queue(
    env: &worker::Env,
    id: &str,
    jti: String,
    token: String,
) -> Result<StreamState, ApiError> {
    let op = EnqueueOp {
        jti,
        token,
        cap: super::event_outbox::POLL_QUEUE_CAP,
    };
    call(env, id, "enqueue", &op).await
}

/// Stores the state; a disabled stream keeps nothing, so its poll queue
/// is emptied (each SET counted as dropped).
fn settle(db: &Db, state: &mut StreamState) -> Result<(), ApiError> {
    if state.status == StreamStatus::Disabled && db.has_schema()? {
        db.create_schema()?;
        let gone = db.rows("DELETE FROM poll_queue RETURNING seq", vec![])?;
        state.dropped = state.dropped.saturating_add(gone.len() as u64);
    }
    store(db, state)
}

/// The stream's state; a stream never written is enabled with no counts.
fn load(db: &Db) -> Result<StreamState, ApiError> {
    if !db.has_schema()? {
        return Ok(StreamState::default());
    }
    match db.first("SELECT json FROM stream WHERE id = 1", vec![])? {
        None => Ok(StreamState::default()),
        Some(row) => serde_json::from_slice(row.text(0)?.as_bytes())
            .map_err(|e| ApiError::Platform(format!("corrupt stream state: {e}"))),
    }
}

fn store(db: &Db, state: &StreamState) -> Result<(), ApiError> {
    db.create_schema()?;
    let json = serde_json::to_string(state).map_err(|e| ApiError::Platform(e.to_string()))?;
    db.run(
        "INSERT INTO stream (id, json) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET json = excluded.json",
        vec![text(&json)],
    )
}

/// Appends a SET to the poll queue (a `jti` already queued is kept once);
/// past `cap` the oldest go, counted as dropped.
fn enqueue(db: &Db, op: EnqueueOp) -> Result<StreamState, ApiError> {
    let mut state = load(db)?;
    if state.status == StreamStatus::Disabled {
        state.dropped = state.dropped.saturating_add(1);
        store(db, &state)?;
        return Ok(state);
    }
    db.create_schema()?;
    db.run(
        "INSERT INTO poll_queue (jti, token) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING",
        vec![text(&op.jti), text(&op.token)],
    )?;
    let over = db.rows(
        "DELETE FROM poll_queue WHERE seq IN (SELECT seq FROM poll_queue ORDER BY seq DESC LIMIT -1 OFFSET ?) RETURNING seq",
        vec![int(op.cap)],
    )?;
    if !over.is_empty() {
        state.dropped = state.dropped.saturating_add(over.len() as u64);
        store(db, &state)?;
    }
    Ok(state)
}

/// Takes the receiver's acknowledgements (delivered) and refusals
/// (rejected) off the queue, then answers the oldest `max` SETs.
fn poll(db: &Db, op: PollOp) -> Result<Polled, ApiError> {
    if !db.has_schema()? {
        return Ok(Polled {
            sets: Vec::new(),
            more: false,
        });
    }
    db.create_schema()?;
    let mut state = load(db)?;
    if state.status == StreamStatus::Disabled {
        return Ok(Polled {
            sets: Vec::new(),
            more: false,
        });
    }
    let mut changed = false;
    for (jtis, delivered) in [(&op.ack, true), (&op.refused, false)] {
        for jti in jtis {
            let gone = db.rows(
                "DELETE FROM poll_queue WHERE jti = ? RETURNING seq",
                vec![text(jti)],
            )?;
            if !gone.is_empty() {
                changed = true;
                if delivered {
                    state.delivered += 1;
                    state.failures_in_a_row = 0;
                } else {
                    state.rejected += 1;
                }
            }
        }
    }
    if changed {
        store(db, &state)?;
    }
    let mut rows = db.rows(
        "SELECT jti, token FROM poll_queue ORDER BY seq LIMIT ?",
        vec![int(u64::from(op.max) + 1)],
    )?;
    let more = rows.len() > op.max as usize;
    rows.truncate(op.max as usize);
    Ok(Polled {
        sets: rows
            .iter()
            .map(|row| Ok((row.text(0)?, row.text(1)?)))
            .collect::<Result<_, ApiError>>()?,
        more,
    })
}
