//! The carrier's SIM-swap signals over CAMARA: SIM Swap v2 (`retrieve-date`,
//! `check`) and Device Swap v1 (`retrieve-date`), with 2-legged client
//! credentials and a `private_key_jwt` client assertion (the CAMARA security
//! profile). The access token is cached in the isolate until shortly before
//! it expires. What the answers mean is decided in core (`carrier`).

use std::cell::RefCell;
use std::time::Duration;

use serde::Deserialize;
use simbind_core::carrier::{self, CarrierFacts, CarrierFailure};
use simbind_core::crypto::SecretKey;
use simbind_core::identifiers::PhoneNumber;
use simbind_core::subscription;
use worker::{Delay, Headers, Method, Response};

use crate::App;

/// Where the carrier is and who SimBind is to it.
#[derive(Clone, Debug)]
pub struct CarrierConfig {
    /// The operator's API root, e.g. `https://api.operator.example/camara`.
    pub api_root: String,
    /// The token endpoint (also the client assertion's audience).
    pub token_url: String,
    /// SimBind's client id at the operator.
    pub client_id: String,
    /// The key the client assertion is signed with (the operator holds its public half).
    pub key: SecretKey,
    /// The key's id, sent as the assertion's `kid`.
    pub key_id: Option<String>,
    /// The scopes asked for, with the purpose the operator agreed.
    pub scope: String,
    /// How long one carrier request may take.
    pub timeout: Duration,
    /// SIM-swap subscriptions, when the deployment keeps them.
    pub subscriptions: Option<SubscriptionSettings>,
}

/// How the worker keeps SIM-swap subscriptions (`CARRIER_SUBSCRIBE`).
#[derive(Clone, Debug)]
pub struct SubscriptionSettings {
    /// How long each subscription is asked for; it is replaced once three
    /// quarters of that have passed.
    pub lifetime_secs: u64,
    /// Where the carrier delivers notifications (`{PUBLIC_URL}/v1/webhooks/carrier`).
    pub sink: String,
}

/// Seconds before its expiry that a cached token is no longer used.
const TOKEN_MARGIN_SECS: u64 = 30;

struct CachedToken {
    client: String,
    token: String,
    expires_at: u64,
}

thread_local! {
    static TOKEN: RefCell<Option<CachedToken>> = const { RefCell::new(None) };
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct SimDate {
    #[serde(rename = "latestSimChange")]
    latest: Option<String>,
}

#[derive(Deserialize)]
struct DeviceDate {
    #[serde(rename = "latestDeviceChange")]
    latest: Option<String>,
}

#[derive(Deserialize)]
struct Check {
    swapped: bool,
}

/// What the carrier says of `number`: the latest SIM change, whether it
/// changed within `maxAge`, and (by policy) the latest device change.
pub async fn facts(
    app: &App,
    config: &CarrierConfig,
    policy: &carrier::CarrierPolicy,
    number: &PhoneNumber,
) -> Result<CarrierFacts, CarrierFailure> {
    let phone = number.as_str();
    let ask = format!(r#"{{"phoneNumber":"{phone}"}}"#);
    let sim: SimDate = post(app, config, "sim-swap/v2/retrieve-date", &ask).await?;
    let check = format!(
        r#"{{"phoneNumber":"{phone}","maxAge":{}}}"#,
        policy.max_age_hours
    );
    let check: Check = post(app, config, "sim-swap/v2/check", &check).await?;
    let device = if policy.device_swap {
        let answer: DeviceDate = post(app, config, "device-swap/v1/retrieve-date", &ask).await?;
        date(answer.latest)?
    } else {
        None
    };
    Ok(CarrierFacts {
        sim_changed_at: date(sim.latest)?,
        swapped_within_max_age: check.swapped,
        device_changed_at: device,
    })
}

/// [`facts`] within a bound on the whole chain of calls (a token, up to
/// three API calls, a token refresh): three times the per-call timeout.
/// A bind holds its number's lock across this, so no chain can hold it longer.
pub async fn facts_within(
    app: &App,
    config: &CarrierConfig,
    policy: &carrier::CarrierPolicy,
    number: &PhoneNumber,
) -> Result<CarrierFacts, CarrierFailure> {
    use futures_util::future::{Either, select};
    let asked = Box::pin(facts(app, config, policy, number));
    let deadline = Box::pin(Delay::from(config.timeout * 3));
    match select(asked, deadline).await {
        Either::Left((answer, _)) => answer,
        Either::Right(((), _)) => Err(CarrierFailure::Timeout),
    }
}

/// Where SIM-swap subscriptions live under the API root.
const SUBSCRIPTIONS: &str = "sim-swap-subscriptions/v0.3/subscriptions";

/// Creates a SIM-swap subscription (`body` from core's
/// `subscription::request_body`): `201` or `202`, with its id.
pub async fn subscribe(
    app: &App,
    config: &CarrierConfig,
    body: String,
) -> Result<subscription::Created, CarrierFailure> {
    match exchange(app, config, Method::Post, SUBSCRIPTIONS, Some(body)).await? {
        (201 | 202, bytes) => {
            serde_json::from_slice(&bytes).map_err(|_| CarrierFailure::Unavailable)
        }
        (status, _) => Err(failure(status)),
    }
}

/// Deletes a subscription; one the carrier no longer knows (404) is gone too.
pub async fn unsubscribe(
    app: &App,
    config: &CarrierConfig,
    id: &str,
) -> Result<(), CarrierFailure> {
    let path = format!("{SUBSCRIPTIONS}/{}", urlencoding(id));
    match exchange(app, config, Method::Delete, &path, None).await? {
        (202 | 204 | 404, _) => Ok(()),
        (status, _) => Err(failure(status)),
    }
}

/// A subscription id as one path segment.
fn urlencoding(id: &str) -> String {
    form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn date(text: Option<String>) -> Result<Option<u64>, CarrierFailure> {
    text.map(|t| carrier::parse_date_time(&t).ok_or(CarrierFailure::Unavailable))
        .transpose()
}

/// A cached access token, or a new one for a fresh client assertion.
async fn token(app: &App, config: &CarrierConfig) -> Result<String, CarrierFailure> {
    let client = format!("{} {}", config.token_url, config.client_id);
    let cached = TOKEN.with(|t| {
        t.borrow()
            .as_ref()
            .filter(|c| c.client == client && app.now + TOKEN_MARGIN_SECS < c.expires_at)
            .map(|c| c.token.clone())
    });
    if let Some(token) = cached {
        return Ok(token);
    }
    let assertion = client_assertion(
        app,
        &config.key,
        config.key_id.as_deref(),
        &config.client_id,
        &config.token_url,
    )
    .await?;
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_assertion_type", carrier::CLIENT_ASSERTION_TYPE)
        .append_pair("client_assertion", &assertion)
        .append_pair("scope", &config.scope)
        .finish();
    let headers = headers(Some(FORM), None)?;
    let response = send(
        app,
        &config.token_url,
        Method::Post,
        headers,
        Some(form),
        config.timeout,
    )
    .await?;
    let answer: TokenAnswer = match response.response.status_code() {
        200 => {
            let bytes = response.body().await?;
            serde_json::from_slice(&bytes).map_err(|_| CarrierFailure::Unavailable)?
        }
        400 | 401 | 403 => return Err(CarrierFailure::Unauthorized),
        status => return Err(failure(status)),
    };
    // No expiry given: an hour, the common default; the margin applies either way.
    let expires_at = app.now + answer.expires_in.unwrap_or(3600);
    TOKEN.with(|t| {
        *t.borrow_mut() = Some(CachedToken {
            client,
            token: answer.access_token.clone(),
            expires_at,
        })
    });
    Ok(answer.access_token)
}

/// A `private_key_jwt` client assertion for `token_url` (core's claims:
/// `iss` = `sub` = `client_id`, 120 s, a fresh `jti`), signed with `key`.
pub(crate) async fn client_assertion(
    app: &App,
    key: &SecretKey,
    key_id: Option<&str>,
    client_id: &str,
    token_url: &str,
) -> Result<String, CarrierFailure> {
    let jti = app
        .random::<16>()
        .map_err(|_| CarrierFailure::Unavailable)?;
    let input = carrier::assertion_signing_input(client_id, token_url, key_id, app.now, jti);
    Ok(crate::webcrypto::signed_jws(key, &input).await)
}

/// POSTs a JSON `body` to `path` and reads a `200` answer.
async fn post<T: serde::de::DeserializeOwned>(
    app: &App,
    config: &CarrierConfig,
    path: &str,
    body: &str,
) -> Result<T, CarrierFailure> {
    match exchange(app, config, Method::Post, path, Some(body.to_owned())).await? {
        (200, bytes) => serde_json::from_slice(&bytes).map_err(|_| CarrierFailure::Unavailable),
        (status, _) => Err(failure(status)),
    }
}

/// One authenticated request to `path` under the API root: its status and,
/// for a success, its body. A token the carrier refuses (401) is dropped
/// and a new one asked for, once.
async fn exchange(
    app: &App,
    config: &CarrierConfig,
    method: Method,
    path: &str,
    body: Option<String>,
) -> Result<(u16, Vec<u8>), CarrierFailure> {
    let url = format!("{}/{path}", config.api_root.trim_end_matches('/'));
    let mut retried = false;
    loop {
        let token = token(app, config).await?;
        let json = body.is_some().then_some("application/json");
        let headers = headers(json, Some(&token))?;
        // CAMARA's x-correlator: traces the call at the operator, names no one.
        let correlator = simbind_core::codec::b64(
            &app.random::<12>()
                .map_err(|_| CarrierFailure::Unavailable)?,
        );
        set(&headers, "x-correlator", &correlator)?;
        let response = send(
            app,
            &url,
            method.clone(),
            headers,
            body.clone(),
            config.timeout,
        )
        .await?;
        let status = response.response.status_code();
        if status == 401 && !retried {
            retried = true;
            TOKEN.with(|t| t.borrow_mut().take());
            continue;
        }
        let bytes = if (200..300).contains(&status) {
            response.body().await?
        } else {
            Vec::new()
        };
        return Ok((status, bytes));
    }
}

/// The outcome a carrier status stands for (CAMARA's error table; anything
/// the specification does not list counts as unavailable).
fn failure(status: u16) -> CarrierFailure {
    match status {
        401 | 403 => CarrierFailure::Unauthorized,
        404 => CarrierFailure::NotFound,
        422 => CarrierFailure::NotApplicable,
        429 => CarrierFailure::RateLimited,
        _ => CarrierFailure::Unavailable,
    }
}

/// Headers of a request to an operator: `accept` JSON, and `content_type`
/// and a bearer `token` where given.
pub(crate) fn headers(
    content_type: Option<&str>,
    token: Option<&str>,
) -> Result<Headers, CarrierFailure> {
    let headers = Headers::new();
    set(&headers, "accept", "application/json")?;
    if let Some(content_type) = content_type {
        set(&headers, "content-type", content_type)?;
    }
    if let Some(token) = token {
        set(&headers, "authorization", &format!("Bearer {token}"))?;
    }
    Ok(headers)
}

pub(crate) fn set(headers: &Headers, name: &str, value: &str) -> Result<(), CarrierFailure> {
    headers
        .set(name, value)
        .map_err(|_| CarrierFailure::Unavailable)
}

/// The token endpoints' request media type.
pub(crate) const FORM: &str = "application/x-www-form-urlencoded";

/// Largest carrier answer read, in bytes: its JSON answers are a few hundred.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// An answer whose headers arrived; its body is read under the same deadline.
pub(crate) struct Sent {
    pub(crate) response: Response,
    /// Aborted once the request's `timeout` has passed, headers or not.
    signal: Option<worker::AbortSignal>,
}

impl Sent {
    /// The body, at most [`MAX_ANSWER_BYTES`] (a larger declared or sent
    /// body is refused without reading the rest), before the deadline.
    pub(crate) async fn body(self) -> Result<Vec<u8>, CarrierFailure> {
        crate::http::boxed(crate::http::read_capped(
            self.response,
            self.signal.as_ref(),
            MAX_ANSWER_BYTES,
        ))
        .await
        .map_err(|cut| match cut {
            crate::http::Cut::TimedOut => CarrierFailure::Timeout,
            crate::http::Cut::TooLarge | crate::http::Cut::Failed => CarrierFailure::Unavailable,
        })
    }
}

/// Dev builds: the answer of the in-process stand-in that serves `url` (the
/// dev carrier, or the dev operator), which verify their client's
/// assertions under `DEV_CARRIER_CLIENT_KEY`; `None` for any other URL.
#[cfg(feature = "dev")]
fn dev_answer(
    app: &App,
    url: &str,
    method: &Method,
    headers: &Headers,
    body: Option<&str>,
) -> Option<Result<Sent, CarrierFailure>> {
    let now = worker::Date::now().as_millis() / 1000;
    let registered = crate::dev_carrier::registered_key(&app.env);
    let authorization = headers.get("authorization").ok().flatten();
    let (status, json) = if crate::dev_carrier::serves(url) {
        let ask = crate::dev_carrier::Ask {
            delete: *method == Method::Delete,
            url,
            authorization: authorization.as_deref(),
            body,
        };
        crate::dev_carrier::answer(ask, registered.as_ref(), now)
    } else if crate::dev_operator::serves(url) {
        let endpoint = format!("{}/authorize", crate::dev_operator::ROOT);
        let auth = authorization.as_deref();
        crate::dev_operator::answer(url, auth, body, registered.as_ref(), &endpoint, now)
    } else {
        return None;
    };
    Some(
        Response::from_bytes(json.into_bytes())
            .map(|r| Sent {
                response: r.with_status(status),
                signal: None,
            })
            .map_err(|_| CarrierFailure::Unavailable),
    )
}

/// Sends a request, aborted (headers and body) after `timeout`. Boxed: one
/// copy of its state machine serves every caller (SIM Swap, subscriptions,
/// Number Verification) instead of one inlined into each.
pub(crate) fn send<'a>(
    app: &'a App,
    url: &'a str,
    method: Method,
    headers: Headers,
    body: Option<String>,
    timeout: Duration,
) -> crate::http::Boxed<'a, Result<Sent, CarrierFailure>> {
    crate::http::boxed(send_now(app, url, method, headers, body, timeout))
}

async fn send_now(
    #[cfg_attr(not(feature = "dev"), allow(unused_variables))] app: &App,
    url: &str,
    method: Method,
    headers: Headers,
    body: Option<String>,
    timeout: Duration,
) -> Result<Sent, CarrierFailure> {
    #[cfg(feature = "dev")]
    if let Some(sent) = dev_answer(app, url, &method, &headers, body.as_deref()) {
        return sent;
    }
    let request = crate::http::outbound(url, &method, &headers, body.as_deref(), false)
        .map_err(|_| CarrierFailure::Unavailable)?;
    let (answer, signal) = crate::http::fetch_within(request, timeout).await;
    let response = answer.map_err(|_| {
        if signal.aborted() {
            CarrierFailure::Timeout
        } else {
            CarrierFailure::Unavailable
        }
    })?;
    Ok(Sent {
        response,
        signal: Some(signal),
    })
}
