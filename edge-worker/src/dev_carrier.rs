//! The dev carrier: a stand-in CAMARA operator inside the dev worker, so
//! `wrangler dev` (and the demo) run the carrier checks with no operator.
//! The worker's carrier client talks to it through the very requests it
//! sends a real operator (token, SIM Swap, Device Swap, subscriptions);
//! only the transport is in-process. State lives in this isolate (lost on
//! restart): the numbers swapped and the subscriptions made. Every number
//! is known, with a SIM activated long ago, until `/dev/carrier/swap`.
//! Dev builds only; [`serves`] matches only the dev API root below.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;
use simbind_core::carrier::format_date_time;

/// The dev carrier's API root (`CARRIER_API_ROOT`); its token endpoint is
/// `{ROOT}/oauth/token`.
pub const ROOT: &str = "https://carrier.dev.invalid/camara";
/// When every SIM the dev carrier knows was activated: 2025-01-01.
const ACTIVATED: u64 = 1_735_689_600;

struct Sub {
    phone: String,
    token: String,
}

#[derive(Default)]
struct State {
    swapped: BTreeMap<String, u64>,
    subscriptions: BTreeMap<String, Sub>,
    made: u64,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Whether `url` is the dev carrier's.
pub fn serves(url: &str) -> bool {
    url.starts_with(ROOT)
}

#[derive(Deserialize)]
struct Ask {
    #[serde(rename = "phoneNumber")]
    phone: Option<String>,
    #[serde(rename = "maxAge", default)]
    max_age: Option<u64>,
    #[serde(default)]
    config: Option<serde_json::Value>,
    #[serde(rename = "sinkCredential", default)]
    credential: Option<serde_json::Value>,
}

/// The dev carrier's answer (status, JSON body) to a request.
pub fn answer(delete: bool, url: &str, body: Option<&str>, now: u64) -> (u16, String) {
    let path = url.strip_prefix(ROOT).unwrap_or_default();
    if let Some(id) = path.strip_prefix("/sim-swap-subscriptions/v0.3/subscriptions/") {
        let gone = STATE
            .with(|s| s.borrow_mut().subscriptions.remove(id))
            .is_none();
        return (if gone { 404 } else { 204 }, String::new());
    }
    if delete {
        return (404, String::new());
    }
    if path == "/oauth/token" {
        let token =
            json!({ "access_token": "dev-carrier", "token_type": "Bearer", "expires_in": 3600 });
        return (200, token.to_string());
    }
    let Some(ask) = body.and_then(|b| serde_json::from_str::<Ask>(b).ok()) else {
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
