//! The device-SMS token → registration route, one object per token (named
//! by the token's keyed hash). The inbound webhook knows only the SMS text,
//! so the token must lead it to the registration's number object, where the
//! sender is recorded. The object deletes itself when the token expires.

use serde::{Deserialize, Serialize};
use serde_json::json;
use worker::{DurableObject, Env, Request, Response, State, durable_object};

use super::sql::{Db, int, text};
use super::{answer, parse, read_op, respond};
use crate::problem::{ApiError, Missing};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS route (id INTEGER PRIMARY KEY CHECK (id = 1), registration_id TEXT NOT NULL, number TEXT NOT NULL, expires_at INTEGER NOT NULL)";

/// Where a token leads: its registration and that registration's number
/// object (the number key's hex).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenRoute {
    pub registration_id: String,
    pub number: String,
    pub expires_at: u64,
}

#[derive(Deserialize)]
struct RouteOp {
    now: u64,
}

/// The Durable Object class of device-SMS token routes.
#[durable_object(alarm)]
pub struct TokenObject {
    db: Db,
    state: State,
    /// Read only by the dev build's dump operation.
    #[cfg_attr(not(feature = "dev"), allow(dead_code))]
    env: Env,
}

impl DurableObject for TokenObject {
    fn new(state: State, env: Env) -> Self {
        Self {
            db: Db::open(&state, SCHEMA),
            state,
            env,
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        answer(self.serve(&mut req).await).await
    }

    /// The token expired: nothing of it is kept.
    async fn alarm(&self) -> worker::Result<Response> {
        self.state.storage().delete_all().await?;
        Response::ok("")
    }
}

impl TokenObject {
    async fn serve(&self, req: &mut Request) -> Result<Response, ApiError> {
        let (op, body) = read_op(req).await?;
        let db = &self.db;
        db.create_schema()?;
        match op.as_str() {
            "issue" => {
                let route: TokenRoute = parse(&body)?;
                // A token is 50 random bits: a second issue of the same one is
                // refused rather than taken over.
                if db
                    .first("SELECT registration_id FROM route", vec![])?
                    .is_some()
                {
                    return Err(ApiError::Platform("token already issued".into()));
                }
                db.run(
                    "INSERT INTO route (id, registration_id, number, expires_at) VALUES (1, ?, ?, ?)",
                    vec![
                        text(&route.registration_id),
                        text(&route.number),
                        int(route.expires_at),
                    ],
                )?;
                // A minute after the token expires (route answers by `now` meanwhile).
                let lifetime = simbind_core::device_sms::TOKEN_TTL_SECS + 60;
                self.state
                    .storage()
                    .set_alarm(std::time::Duration::from_secs(lifetime))
                    .await?;
                respond(Ok(json!({})))
            }
            "route" => {
                let op: RouteOp = parse(&body)?;
                let route = match db.first(
                    "SELECT registration_id, number, expires_at FROM route",
                    vec![],
                )? {
                    Some(row) => Some(TokenRoute {
                        registration_id: row.text(0)?,
                        number: row.text(1)?,
                        expires_at: row.int(2)?,
                    }),
                    None => None,
                }
                .filter(|r| op.now < r.expires_at);
                respond(Ok(json!({ "route": route })))
            }
            #[cfg(feature = "dev")]
            "dump" => respond(super::sql::dump(db, &self.env)),
            _ => Err(ApiError::NotFound(Missing::Route)),
        }
    }
}
