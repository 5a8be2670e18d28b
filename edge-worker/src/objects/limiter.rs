//! Hourly counters that must be exact, one object per subject (a sender
//! address's keyed hash): the Workers Rate Limiting binding counts only 10 s
//! and 60 s windows, too short for hourly budgets.

use serde::{Deserialize, Serialize};
use serde_json::json;
use worker::{DurableObject, Env, Request, Response, State, durable_object};

use super::sql::{Db, int};
use super::{answer, parse, read_op, respond};
use crate::problem::{ApiError, Missing};

const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS hits (slot INTEGER PRIMARY KEY, count INTEGER NOT NULL)";

/// `hit`: count one event in the current window of `window` seconds;
/// refused (429) once the count passes `limit`.
#[derive(Serialize, Deserialize)]
pub struct Hit {
    pub window: u64,
    pub limit: u32,
}

#[derive(Deserialize)]
struct Count {
    count: u32,
}

/// The Durable Object class of counters.
#[durable_object]
pub struct LimiterObject {
    db: Db,
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
        match op.as_str() {
            "hit" => {}
            "dump" => return respond(super::sql::dump(db, &self.env)),
            _ => return Err(ApiError::NotFound(Missing::Route)),
        }
        let hit: Hit = parse(&body)?;
        let now = worker::Date::now().as_millis() / 1000;
        let window = hit.window.max(1);
        let current = now / window;
        db.run("DELETE FROM hits WHERE slot < ?", vec![int(current)])?;
        db.run(
            "INSERT INTO hits (slot, count) VALUES (?, 1) ON CONFLICT (slot) DO UPDATE SET count = count + 1",
            vec![int(current)],
        )?;
        let count = db
            .first::<Count>("SELECT count FROM hits WHERE slot = ?", vec![int(current)])?
            .map_or(0, |c| c.count);
        if count > hit.limit {
            return Err(ApiError::RateLimited {
                retry_after: window - now % window,
            });
        }
        respond(Ok(json!({ "count": count })))
    }
}
