//! One security-event stream's exact state, in the object named by the
//! receiver's stream id: enabled, paused or disabled, and its counters
//! (delivered, rejected, dropped, permanent failures in a row). Every
//! binding's outbox reads it before a push and records each push here, so a
//! 410 or the last of too many permanent failures disables the stream for
//! every binding at once (core's `StreamState::record` decides).

use serde::{Deserialize, Serialize};
use simbind_core::security_event::delivery::{Next, StreamState, StreamStatus};
use worker::{DurableObject, Env, Request, Response, State, durable_object};

use super::sql::{Db, text};
use super::{answer, parse, read_op, respond};
use crate::problem::{ApiError, Missing};

const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS stream (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL)";

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
}

/// `set_status`: an operator enables, pauses or disables the stream.
#[derive(Serialize, Deserialize)]
pub struct StatusOp {
    pub status: StreamStatus,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The Durable Object class of security-event streams.
#[durable_object]
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
                    state.record(outcome.next(), &op.label, op.disable_after);
                }
                state.dropped = state.dropped.saturating_add(op.dropped);
                store(db, &state)?;
                respond(Ok(state))
            }
            "set_status" => {
                let op: StatusOp = parse(&body)?;
                let mut state = load(db)?;
                state.status = op.status;
                state.reason = op.reason;
                if op.status == StreamStatus::Enabled {
                    state.failures_in_a_row = 0;
                }
                store(db, &state)?;
                respond(Ok(state))
            }
            #[cfg(feature = "dev")]
            "dump" => respond(super::sql::dump(db, &self.env)),
            _ => Err(ApiError::NotFound(Missing::Route)),
        }
    }
}

/// The stream's state; a stream never written is enabled with no counts.
fn load(db: &Db) -> Result<StreamState, ApiError> {
    if !db.has_schema()? {
        return Ok(StreamState::default());
    }
    #[derive(Deserialize)]
    struct Row {
        json: String,
    }
    match db.first::<Row>("SELECT json FROM stream WHERE id = 1", vec![])? {
        None => Ok(StreamState::default()),
        Some(row) => serde_json::from_str(&row.json)
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
