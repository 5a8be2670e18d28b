//! The dev carrier: a stand-in CAMARA operator inside the dev worker, so
//! `wrangler dev` (and the demo) run the carrier checks with no operator.
//! The worker's carrier client talks to it through the very requests it
//! sends a real operator (token, SIM Swap, Device Swap, subscriptions);
//! only the transport is in-process. State lives in this isolate (lost on
//! restart): the numbers swapped and the subscriptions made. Every number
//! is known, with a SIM activated long ago, until `/dev/carrier/swap`.
//! Like an operator, it verifies every client assertion (ES256 under the
//! key registered for the client, `DEV_CARRIER_CLIENT_KEY`; `iss`, `sub`,
//! `aud`, `exp`) before it issues a token, and answers API calls only with
//! a token it issued.
//! Dev builds only; [`serves`] matches only the dev API root below.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;
use simbind_core::carrier::{CLIENT_ASSERTION_TYPE, format_date_time};
use simbind_core::codec::unb64;
use simbind_core::crypto::{PublicKey, Signature};

/// The dev carrier's API root (`CARRIER_API_ROOT`); its token endpoint is
/// `{ROOT}/oauth/token`.
pub const ROOT: &str = "https://carrier.dev.invalid/camara";
/// When every SIM the dev carrier knows was activated: 2025-01-01.
const ACTIVATED: u64 = 1_735_689_600;
/// The one client registered with the dev carrier (its key is
/// `DEV_CARRIER_CLIENT_KEY`).
const CLIENT_ID: &str = "simbind-dev";
/// How long a token the dev carrier issues lives.
const TOKEN_SECS: u64 = 3600;

struct Sub {
    phone: String,
    token: String,
}

#[derive(Default)]
struct State {
    swapped: BTreeMap<String, u64>,
    subscriptions: BTreeMap<String, Sub>,
    made: u64,
    /// Access tokens issued, with their expiry.
    tokens: BTreeMap<String, u64>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Whether `url` is the dev carrier's.
pub fn serves(url: &str) -> bool {
    url.starts_with(ROOT)
}

#[derive(Deserialize)]
struct Query {
    #[serde(rename = "phoneNumber")]
    phone: Option<String>,
    #[serde(rename = "maxAge", default)]
    max_age: Option<u64>,
    #[serde(default)]
    config: Option<serde_json::Value>,
    #[serde(rename = "sinkCredential", default)]
    credential: Option<serde_json::Value>,
}

/// The registered client's public key, from `DEV_CARRIER_CLIENT_KEY`
/// (base64url SEC1); the dev operator knows the same client.
pub fn registered_key(env: &worker::Env) -> Option<PublicKey> {
    let text = env.var("DEV_CARRIER_CLIENT_KEY").ok()?.to_string();
    PublicKey::from_sec1(&unb64(&text, "DEV_CARRIER_CLIENT_KEY").ok()?).ok()
}

/// The claims of a compact JWS whose header says ES256 and whose
/// signature verifies under `key`; `None` for anything else.
pub fn signed_by(jwt: &str, key: &PublicKey) -> Option<serde_json::Value> {
    let parts = simbind_core::jws::split(jwt)?;
    let header: serde_json::Value = serde_json::from_slice(&parts.header).ok()?;
    if header.get("alg")?.as_str()? != "ES256" {
        return None;
    }
    let signature = Signature::from_bytes(&parts.signature).ok()?;
    key.verify(parts.signing_input, &signature)
        .then(|| serde_json::from_slice(&parts.payload).ok())
        .flatten()
}

/// Checks a token request as an operator does (RFC 7523 `private_key_jwt`):
/// the client assertion's ES256 signature under the registered key, `iss`
/// = `sub` = the registered client, `aud` = the token endpoint, not
/// expired. The assertion's `jti` when all holds.
fn assertion(form: &str, registered: &PublicKey, now: u64) -> Option<String> {
    let fields: BTreeMap<String, String> = form_urlencoded::parse(form.as_bytes())
        .into_owned()
        .collect();
    let field = |name: &str| fields.get(name).map(String::as_str);
    if field("grant_type") != Some("client_credentials")
        || field("client_assertion_type") != Some(CLIENT_ASSERTION_TYPE)
    {
        return None;
    }
    let claims = signed_by(field("client_assertion")?, registered)?;
    let text = |name: &str| claims.get(name).and_then(|v| v.as_str());
    let audience = format!("{ROOT}/oauth/token");
    let fresh = claims.get("exp")?.as_u64()? > now;
    (text("iss") == Some(CLIENT_ID)
        && text("sub") == Some(CLIENT_ID)
        && text("aud") == Some(audience.as_str())
        && fresh)
        .then(|| text("jti").map(str::to_owned))
        .flatten()
}

/// A token request: a fresh access token for a valid assertion, 401
/// otherwise (RFC 6749 `invalid_client`).
fn token(body: Option<&str>, registered: Option<&PublicKey>, now: u64) -> (u16, String) {
    let jti = registered.and_then(|key| assertion(body?, key, now));
    let Some(jti) = jti else {
        return (401, json!({ "error": "invalid_client" }).to_string());
    };
    let token = format!("dev-carrier-{jti}");
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.tokens.retain(|_, expires| *expires > now);
        s.tokens.insert(token.clone(), now + TOKEN_SECS);
    });
    let answer = json!({ "access_token": token, "token_type": "Bearer", "expires_in": TOKEN_SECS });
    (200, answer.to_string())
}

/// Whether `authorization` carries a live token this carrier issued.
fn authorized(authorization: Option<&str>, now: u64) -> bool {
    let Some(token) = authorization.and_then(|a| a.strip_prefix("Bearer ")) else {
        return false;
    };
    STATE.with(|s| s.borrow().tokens.get(token).is_some_and(|e| *e > now))
}

/// One request to the dev carrier, as the client sends it.
pub struct Ask<'a> {
    pub delete: bool,
    pub url: &'a str,
    pub authorization: Option<&'a str>,
    pub body: Option<&'a str>,
}

/// The dev carrier's answer (status, JSON body) to a request; `registered`
/// is the client key it knows.
pub fn answer(ask: Ask<'_>, registered: Option<&PublicKey>, now: u64) -> (u16, String) {
    let Ask {
        delete,
        url,
        authorization,
        body,
    } = ask;
    let path = url.strip_prefix(ROOT).unwrap_or_default();
    if path == "/oauth/token" && !delete {
        return token(body, registered, now);
    }
    if !authorized(authorization, now) {
        return (401, String::new());
    }
    if let Some(id) = path.strip_prefix("/sim-swap-subscriptions/v0.3/subscriptions/") {
        let gone = STATE
            .with(|s| s.borrow_mut().subscriptions.remove(id))
            .is_none();
        return (if gone { 404 } else { 204 }, String::new());
    }
    if delete {
        return (404, String::new());
    }
    let Some(ask) = body.and_then(|b| serde_json::from_str::<Query>(b).ok()) else {
        return (400, String::new());
    };
    let phone = ask.phone.clone().or_else(|| {
        let detail = ask.config.as_ref()?.get("subscriptionDetail")?;
        detail.get("phoneNumber")?.as_str().map(str::to_owned)
    });
    let Some(phone) = phone else {
        return (422, String::new());
    };
    let changed = STATE.with(|s| s.borrow().swapped.get(&phone).copied());
    let latest = format_date_time(changed.unwrap_or(ACTIVATED));
    let answer = match path {
        "/sim-swap/v2/retrieve-date" => json!({ "latestSimChange": latest }),
        "/sim-swap/v2/check" => {
            let window = ask.max_age.unwrap_or(240) * 3600;
            json!({ "swapped": changed.is_some_and(|at| now.saturating_sub(at) <= window) })
        }
        "/device-swap/v1/retrieve-date" => json!({ "latestDeviceChange": null }),
        "/sim-swap-subscriptions/v0.3/subscriptions" => {
            let token = ask
                .credential
                .as_ref()
                .and_then(|c| c.get("accessToken")?.as_str().map(str::to_owned))
                .unwrap_or_default();
            let id = STATE.with(|s| {
                let mut s = s.borrow_mut();
                s.made += 1;
                let id = format!("dev-sub-{}", s.made);
                s.subscriptions.insert(id.clone(), Sub { phone, token });
                id
            });
            return (201, json!({ "id": id, "status": "ACTIVE" }).to_string());
        }
        _ => return (404, String::new()),
    };
    (200, answer.to_string())
}

/// The number's SIM is swapped now: `retrieve-date` and `check` say so from
/// here on. Answers each live subscription of the number with the bearer
/// credential its notification carries, and its id.
pub fn swap(phone: &str, now: u64) -> Vec<(String, String)> {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.swapped.insert(phone.to_owned(), now);
        s.subscriptions
            .iter()
            .filter(|(_, sub)| sub.phone == phone)
            .map(|(id, sub)| (id.clone(), sub.token.clone()))
            .collect()
    })
}
