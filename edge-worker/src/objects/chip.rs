//! The chip → binding index, one object per chip serial (named by its keyed
//! hash), so two numbers cannot bind one chip at the same moment. Only a
//! number's object claims an entry; an ended binding releases it.

use serde::{Deserialize, Serialize};
use serde_json::json;
use simbind_core::id_hash::IdHash;
use worker::{DurableObject, Env, Request, Response, State, durable_object};

use super::sql::{Db, text};
use super::{answer, parse, read_op, respond};
use crate::problem::{ApiError, Missing};

const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS holder (serial TEXT PRIMARY KEY, binding_id TEXT NOT NULL)";

/// `claim`: point the serial at `binding_id` if it still points at `expected`.
#[derive(Clone, Serialize, Deserialize)]
pub struct Claim {
    pub serial: IdHash,
    pub expected: Option<String>,
    pub binding_id: String,
}

/// The binding a serial points at.
#[derive(Serialize, Deserialize)]
pub struct Claimed {
    pub binding_id: Option<String>,
}

#[derive(Deserialize)]
struct SerialOp {
    serial: IdHash,
    #[serde(default)]
    binding_id: Option<String>,
}

/// The Durable Object class of the chip index.
#[durable_object(fetch)]
pub struct ChipObject {
    db: Db,
    /// Read only by the dev build's dump operation.
    #[cfg_attr(not(feature = "dev"), allow(dead_code))]
    env: Env,
}

impl DurableObject for ChipObject {
    fn new(state: State, env: Env) -> Self {
        Self {
            db: Db::open(&state, SCHEMA),
            env,
        }
    }

    // Every operation is one synchronous SQL step (no await after reading
    // the request), so claims on one serial are exact.
    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        answer(self.serve(&mut req).await).await
    }
}

impl ChipObject {
    async fn serve(&self, req: &mut Request) -> Result<Response, ApiError> {
        let (op, body) = read_op(req).await?;
        let db = &self.db;
        db.create_schema()?;
        match op.as_str() {
            "get" => {
                let op: SerialOp = parse(&body)?;
                respond(holder(db, &op.serial).map(|binding_id| Claimed { binding_id }))
            }
            "claim" => respond(claim(db, parse(&body)?)),
            #[cfg(feature = "dev")]
            "dump" => respond(super::sql::dump(db, &self.env)),
            "release" => {
                let op: SerialOp = parse(&body)?;
                db.run(
                    "DELETE FROM holder WHERE serial = ? AND binding_id = ?",
                    vec![text(op.serial.as_str()), op.binding_id.as_deref().into()],
                )?;
                respond(Ok(json!({})))
            }
            _ => Err(ApiError::NotFound(Missing::Route)),
        }
    }
}

fn holder(db: &Db, serial: &IdHash) -> Result<Option<String>, ApiError> {
    db.first(
        "SELECT binding_id FROM holder WHERE serial = ?",
        vec![text(serial.as_str())],
    )?
    .map(|row| row.text(0))
    .transpose()
}

fn claim(db: &Db, claim: Claim) -> Result<serde_json::Value, ApiError> {
    let current = holder(db, &claim.serial)?;
    if current != claim.expected && current.as_deref() != Some(claim.binding_id.as_str()) {
        return Err(ApiError::Denied(simbind_core::Denial::ChipAlreadyBound));
    }
    db.run(
        "INSERT INTO holder (serial, binding_id) VALUES (?, ?) ON CONFLICT (serial) DO UPDATE SET binding_id = excluded.binding_id",
        vec![text(claim.serial.as_str()), text(&claim.binding_id)],
    )?;
    Ok(json!({}))
}
