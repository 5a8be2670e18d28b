//! Limits that must be exact, one object per subject (a sender address
//! bucket, the global or one country's SMS budget, a sender's failed admin
//! logins): token buckets ([`simbind_core::budget`]), refilled continuously.
//! The Workers Rate Limiting binding counts only 10 s and 60 s windows, too
//! short for hourly budgets.

use serde::{Deserialize, Serialize};
use serde_json::json;
use simbind_core::budget::Limit;
use worker::{DurableObject, Env, Request, Response, State, durable_object};

use super::sql::{Db, int};
use super::{answer, parse, read_op, respond};
use crate::problem::{ApiError, Missing};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS bucket (id INTEGER PRIMARY KEY CHECK (id = 1), level INTEGER NOT NULL, at_ms INTEGER NOT NULL)";

/// `take`: one token, or 429 with `Retry-After`.
/// `refund`: one token back, for an event that did not happen after all.
/// `guard`: 429 while the bucket is empty; takes a token only if `failed`
/// (a lockout that failures fill and time drains).
#[derive(Serialize, Deserialize)]
pub struct Take {
    pub limit: Limit,
    #[serde(default)]
    pub failed: bool,
}

/// The Durable Object class of limits.
#[durable_object(fetch)]
pub struct LimiterObject {
    db: Db,
    /// Read only by the dev build's dump operation.
    #[cfg_attr(not(feature = "dev"), allow(dead_code))]
    env: Env,
}

impl DurableObject for LimiterObject {
    fn new(state: State, env: Env) -> Self {
        Self {
            db: Db::open(&state, SCHEMA),
            env,
        }
    }

    // One synchronous SQL step per request: counts are exact.
    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        answer(self.serve(&mut req).await).await
    }
}

impl LimiterObject {
    async fn serve(&self, req: &mut Request) -> Result<Response, ApiError> {
        let (op, body) = read_op(req).await?;
        let db = &self.db;
        let (guard, refund) = match op.as_str() {
            "take" => (false, false),
            "guard" => (true, false),
            "refund" => (false, true),
            #[cfg(feature = "dev")]
            "dump" => return respond(super::sql::dump(db, &self.env)),
            _ => return Err(ApiError::NotFound(Missing::Route)),
        };
        let take: Take = parse(&body)?;
        let now_ms = worker::Date::now().as_millis();
        let stored = if db.has_schema()? {
            db.bucket("SELECT level, at_ms FROM bucket WHERE id = 1", vec![])?
        } else {
            None
        };
        // A refund of a bucket never taken from changes nothing: it is full.
        if refund && stored.is_none() {
            return respond(Ok(json!({})));
        }
        let (after, result) = if refund {
            (take.limit.refund(stored, now_ms), Ok(()))
        } else {
            take.limit.take(stored, now_ms)
        };
        let store = !guard || (take.failed && result.is_ok());
        if store {
            db.create_schema()?;
            db.run(
                "INSERT INTO bucket (id, level, at_ms) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET level = excluded.level, at_ms = excluded.at_ms",
                vec![int(after.level), int(after.at_ms)],
            )?;
        }
        match result {
            Ok(()) => respond(Ok(json!({}))),
            Err(retry_after) => Err(ApiError::RateLimited { retry_after }),
        }
    }
}
