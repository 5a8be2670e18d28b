//! The carrier's SIM-swap signals over CAMARA: SIM Swap v2 (`retrieve-date`,
//! `check`) and Device Swap v1 (`retrieve-date`), with 2-legged client
//! credentials and a `private_key_jwt` client assertion (the CAMARA security
//! profile). The access token is cached in the isolate until shortly before
//! it expires. What the answers mean is decided in core (`carrier`).

use std::cell::RefCell;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use simbind_core::carrier::{self, CarrierFacts, CarrierFailure};
use simbind_core::crypto::SecretKey;
use simbind_core::identifiers::PhoneNumber;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, Response};

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
/// changed within `maxAge`, and (by policy) the latest device change. A
/// refused token is asked for again once.
pub async fn facts(
    app: &App,
    config: &CarrierConfig,
    policy: &carrier::CarrierPolicy,
    number: &PhoneNumber,
) -> Result<CarrierFacts, CarrierFailure> {
    let mut answer = ask_all(app, config, policy, number).await;
    if answer == Err(CarrierFailure::Unauthorized) {
        TOKEN.with(|t| t.borrow_mut().take());
        answer = ask_all(app, config, policy, number).await;
    }
    answer
}

async fn ask_all(
    app: &App,
    config: &CarrierConfig,
    policy: &carrier::CarrierPolicy,
    number: &PhoneNumber,
) -> Result<CarrierFacts, CarrierFailure> {
    let token = token(app, config).await?;
    let phone = number.as_str();
    let sim: SimDate = call(
        app,
        config,
        &token,
        "sim-swap/v2/retrieve-date",
        json!({ "phoneNumber": phone }),
    )
    .await?;
    let check: Check = call(
        app,
        config,
        &token,
        "sim-swap/v2/check",
        json!({ "phoneNumber": phone, "maxAge": policy.max_age_hours }),
    )
    .await?;
    let device = if policy.device_swap {
        let answer: DeviceDate = call(
            app,
            config,
            &token,
            "device-swap/v1/retrieve-date",
            json!({ "phoneNumber": phone }),
        )
        .await?;
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
    let jti = app
        .random::<16>()
        .map_err(|_| CarrierFailure::Unavailable)?;
    let input = carrier::assertion_signing_input(
        &config.client_id,
        &config.token_url,
        config.key_id.as_deref(),
        app.now,
        jti,
    );
    let signature = match crate::webcrypto::sign(&config.key, input.as_bytes()).await {
        Some(signature) => signature,
        None => config.key.sign(input.as_bytes()).to_bytes().to_vec(),
    };
    let assertion = simbind_core::grant::signed(&input, &signature);
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_assertion_type", carrier::CLIENT_ASSERTION_TYPE)
        .append_pair("client_assertion", &assertion)
        .append_pair("scope", &config.scope)
        .finish();
    let headers = Headers::new();
    set(
        &headers,
        "content-type",
        "application/x-www-form-urlencoded",
    )?;
    set(&headers, "accept", "application/json")?;
    let mut response = send(&config.token_url, headers, form, config.timeout).await?;
    let answer: TokenAnswer = match response.status_code() {
        200 => read(&mut response).await?,
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

async fn call<T: serde::de::DeserializeOwned>(
    app: &App,
    config: &CarrierConfig,
    token: &str,
    path: &str,
    body: serde_json::Value,
) -> Result<T, CarrierFailure> {
    let headers = Headers::new();
    set(&headers, "content-type", "application/json")?;
    set(&headers, "accept", "application/json")?;
    set(&headers, "authorization", &format!("Bearer {token}"))?;
    // CAMARA's x-correlator: traces the call at the operator, names no one.
    let correlator = simbind_core::codec::b64(
        &app.random::<12>()
            .map_err(|_| CarrierFailure::Unavailable)?,
    );
    set(&headers, "x-correlator", &correlator)?;
    let url = format!("{}/{path}", config.api_root.trim_end_matches('/'));
    let mut response = send(&url, headers, body.to_string(), config.timeout).await?;
    match response.status_code() {
        200 => read(&mut response).await,
        status => Err(failure(status)),
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

fn set(headers: &Headers, name: &str, value: &str) -> Result<(), CarrierFailure> {
    headers
        .set(name, value)
        .map_err(|_| CarrierFailure::Unavailable)
}

async fn read<T: serde::de::DeserializeOwned>(
    response: &mut Response,
) -> Result<T, CarrierFailure> {
    let bytes = response
        .bytes()
        .await
        .map_err(|_| CarrierFailure::Unavailable)?;
    serde_json::from_slice(&bytes).map_err(|_| CarrierFailure::Unavailable)
}

/// POSTs `body`, aborted after `timeout`.
async fn send(
    url: &str,
    headers: Headers,
    body: String,
    timeout: Duration,
) -> Result<Response, CarrierFailure> {
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    let request = Request::new_with_init(url, &init).map_err(|_| CarrierFailure::Unavailable)?;
    let controller = AbortController::default();
    let signal = controller.signal();
    wasm_bindgen_futures::spawn_local(async move {
        Delay::from(timeout).await;
        controller.abort();
    });
    Fetch::Request(request)
        .send_with_signal(&signal)
        .await
        .map_err(|_| {
            if signal.aborted() {
                CarrierFailure::Timeout
            } else {
                CarrierFailure::Unavailable
            }
        })
}
