//! Security events leaving the worker: the configuration (`SSF_*`), the
//! event keys, signing a SET for one receiver, and one push (RFC 8935) with
//! its deadline. What an answer means is core's
//! (`simbind_core::security_event::delivery`); which change yields which
//! event, too. The outbox and its scheduler live in the binding's object.

use std::time::Duration;

use serde_json::{Value, json};
use simbind_core::codec::{b64, unb64};
use simbind_core::crypto::SecretKey;
use simbind_core::security_event::delivery::{Next, Receiver, Reply, Schedule, parse_receivers};
use simbind_core::security_event::key::{RsaEventKey, ec_jwk, ec_kid};
use simbind_core::security_event::set::{self, Envelope, SetAlg};
use simbind_core::security_event::{SecurityEvent, event_types};
use worker::{Env, Headers, Method};

use crate::App;
use crate::config::DEV_SECRET_PREFIX;
use crate::http::{Boxed, boxed};
use crate::problem::ApiError;

/// A receiver and the `Authorization` header value it expects.
pub struct Stream {
    pub receiver: Receiver,
    /// From the secret the receiver names; never shown back.
    pub authorization: Option<String>,
}

/// Security events, when the deployment names receivers (`SSF_RECEIVERS`).
pub struct EventsConfig {
    pub streams: Vec<Stream>,
    pub schedule: Schedule,
    /// Each push's deadline (`SSF_TIMEOUT_MS`).
    pub timeout: Duration,
    /// The RS256 key (`SSF_SIGNING_KEY`, base64url PKCS#8) and its public half.
    rsa_pkcs8: Vec<u8>,
    pub rsa: RsaEventKey,
    /// The ES256 key (`SSF_EC_SIGNING_KEY`), for receivers that ask for ES256.
    pub ec: Option<SecretKey>,
}

fn bad(what: &str) -> ApiError {
    ApiError::Misconfigured(format!("security events: {what}"))
}

impl EventsConfig {
    /// Reads the `SSF_*` configuration; `None` when no receiver is named.
    pub fn from_env(
        env: &Env,
        dev_mode: bool,
        issuer: &str,
        secret: &dyn Fn(&str) -> Result<String, ApiError>,
    ) -> Result<Option<Self>, ApiError> {
        let var = |name: &str| {
            env.var(name)
                .ok()
                .map(|v| v.to_string())
                .filter(|v| !v.is_empty())
        };
        let Some(json) = var("SSF_RECEIVERS") else {
            return Ok(None);
        };
        let receivers = parse_receivers(&json, &event_types(issuer), dev_mode)
            .map_err(|e| bad(&e.to_string()))?;
        let mut streams = Vec::with_capacity(receivers.len());
        for receiver in receivers {
            let authorization = match &receiver.authorization_secret {
                Some(name) => Some(secret(name)?),
                None => None,
            };
            streams.push(Stream {
                receiver,
                authorization,
            });
        }
        // A dev value is `dev-only-` and the key: the prefix is not base64url.
        let key_text = secret("SSF_SIGNING_KEY")?;
        let key_text = key_text
            .strip_prefix(DEV_SECRET_PREFIX)
            .unwrap_or(&key_text);
        let rsa_pkcs8 = unb64(key_text, "SSF_SIGNING_KEY")
            .map_err(|_| bad("SSF_SIGNING_KEY must be a base64url PKCS#8 RSA key"))?;
        let rsa = RsaEventKey::from_pkcs8(&rsa_pkcs8).map_err(|e| bad(&e.to_string()))?;
        let wants_ec = streams.iter().any(|s| s.receiver.alg == SetAlg::Es256);
        let ec = match wants_ec {
            false => None,
            true => Some(
                unb64(&secret("SSF_EC_SIGNING_KEY")?, "SSF_EC_SIGNING_KEY")
                    .ok()
                    .and_then(|b| SecretKey::from_bytes(&b).ok())
                    .ok_or_else(|| bad("SSF_EC_SIGNING_KEY must be a base64url P-256 scalar"))?,
            ),
        };
        let number = |name: &str, default: u64| -> Result<u64, ApiError> {
            match var(name) {
                None => Ok(default),
                Some(v) => v
                    .parse()
                    .map_err(|_| bad(&format!("{name} is not a number"))),
            }
        };
        let d = Schedule::DEFAULT;
        // Tests shorten the schedule to milliseconds; a deployment waits a
        // second at least.
        let floor = if dev_mode { 1 } else { 1000 };
        let base_ms = number("SSF_RETRY_BASE_MS", d.base_ms)?.max(floor);
        let schedule = Schedule {
            base_ms,
            max_ms: number("SSF_RETRY_MAX_MS", d.max_ms)?.max(base_ms),
            ttl_secs: number("SSF_EVENT_TTL_SECS", d.ttl_secs)?.max(1),
            cap: number("SSF_OUTBOX_CAP", d.cap)?.clamp(1, 10_000),
            disable_after: u32::try_from(number("SSF_DISABLE_AFTER", u64::from(d.disable_after))?)
                .unwrap_or(u32::MAX)
                .max(1),
        };
        Ok(Some(Self {
            streams,
            schedule,
            timeout: Duration::from_millis(number("SSF_TIMEOUT_MS", 5000)?.clamp(100, 30_000)),
            rsa_pkcs8,
            rsa,
            ec,
        }))
    }

    /// The key set at the SSF configuration's `jwks_uri`: event keys only.
    pub fn jwks(&self) -> Value {
        let mut keys = vec![self.rsa.jwk()];
        if let Some(ec) = &self.ec {
            keys.push(ec_jwk(&ec.public_key()));
        }
        json!({ "keys": keys })
    }

    /// The stream `id`, if configured.
    pub fn stream(&self, id: &str) -> Option<&Stream> {
        self.streams.iter().find(|s| s.receiver.id == id)
    }
}

/// `event` as a SET for `stream`, signed by the key its receiver asked for.
/// Boxed: one copy serves the outbox and the verification route.
pub fn sign<'a>(
    app: &'a App,
    events: &'a EventsConfig,
    stream: &'a Stream,
    jti: &'a str,
    iat: u64,
    sub_id: Value,
    event: &'a SecurityEvent,
) -> Boxed<'a, Result<String, ApiError>> {
    boxed(sign_now(app, events, stream, jti, iat, sub_id, event))
}

async fn sign_now(
    app: &App,
    events: &EventsConfig,
    stream: &Stream,
    jti: &str,
    iat: u64,
    sub_id: Value,
    event: &SecurityEvent,
) -> Result<String, ApiError> {
    let alg = stream.receiver.alg;
    let envelope = Envelope {
        iss: &app.cfg.issuer,
        jti,
        iat,
        aud: &stream.receiver.audience,
        sub_id,
    };
    match (alg, &events.ec) {
        (SetAlg::Es256, Some(key)) => {
            let input = set::signing_input(alg, &ec_kid(&key.public_key()), envelope, event);
            Ok(crate::webcrypto::signed_jws(key, &input).await)
        }
        (SetAlg::Es256, None) => Err(bad("no SSF_EC_SIGNING_KEY")),
        (SetAlg::Rs256, _) => {
            let kid = events.rsa.kid();
            let input = set::signing_input(alg, &kid, envelope, event);
            let signature = crate::webcrypto::sign_rs256(&events.rsa_pkcs8, &kid, input.as_bytes())
                .await
                .ok_or_else(|| ApiError::Platform("RS256 signing failed".into()))?;
            Ok(format!("{input}.{}", b64(&signature)))
        }
    }
}

/// Largest receiver answer read: RFC 8935's error body is a few dozen bytes.
const MAX_ANSWER_BYTES: usize = 4096;

/// POSTs `token` to the stream's endpoint (no redirects followed: the
/// `Authorization` header goes to the configured endpoint only) and decides
/// what its answer means; also a label for the stream's `last_error`.
/// Boxed, like [`sign`].
pub fn push<'a>(
    app: &'a App,
    events: &'a EventsConfig,
    stream: &'a Stream,
    token: &'a str,
    attempts: u32,
    now_ms: u64,
) -> Boxed<'a, (Next, String)> {
    boxed(push_now(app, events, stream, token, attempts, now_ms))
}

async fn push_now(
    app: &App,
    events: &EventsConfig,
    stream: &Stream,
    token: &str,
    attempts: u32,
    now_ms: u64,
) -> (Next, String) {
    let reply = post(app, events, stream, token).await;
    let label = match &reply {
        Ok((code, _, _)) => format!("http_{code}"),
        Err(Reply::TimedOut) => "timeout".to_owned(),
        Err(_) => "unreachable".to_owned(),
    };
    let next = match &reply {
        Ok((code, retry_after, err)) => simbind_core::security_event::delivery::next(
            &events.schedule,
            Reply::Status {
                code: *code,
                retry_after: retry_after.as_deref(),
                err: err.as_deref(),
            },
            attempts,
            now_ms,
        ),
        Err(failure) => simbind_core::security_event::delivery::next(
            &events.schedule,
            *failure,
            attempts,
            now_ms,
        ),
    };
    let label = match &reply {
        Ok((_, _, Some(err))) => format!("{label} {err}"),
        _ => label,
    };
    (next, label)
}

type Answered = (u16, Option<String>, Option<String>);

async fn post(
    #[cfg_attr(not(feature = "dev"), allow(unused_variables))] app: &App,
    events: &EventsConfig,
    stream: &Stream,
    token: &str,
) -> Result<Answered, Reply<'static>> {
    #[cfg(feature = "dev")]
    if app.cfg.dev_mode && crate::dev_receiver::serves(&stream.receiver.endpoint) {
        let suffix = b64(&app.random::<6>().map_err(|_| Reply::Unreachable)?);
        return Ok((
            crate::dev_receiver::accept(&app.env, token, &suffix).await,
            None,
            None,
        ));
    }
    let headers = Headers::new();
    let set = |name: &str, value: &str| headers.set(name, value).map_err(|_| Reply::Unreachable);
    set("content-type", "application/secevent+jwt")?;
    set("accept", "application/json")?;
    if let Some(authorization) = &stream.authorization {
        set("authorization", authorization)?;
    }
    let request = crate::http::outbound(
        &stream.receiver.endpoint,
        &Method::Post,
        &headers,
        Some(token),
        true,
    )
    .map_err(|_| Reply::Unreachable)?;
    let (answer, signal) = crate::http::fetch_within(request, events.timeout).await;
    let response = answer.map_err(|_| match signal.aborted() {
        true => Reply::TimedOut,
        false => Reply::Unreachable,
    })?;
    let code = response.status_code();
    let retry_after = response.headers().get("retry-after").ok().flatten();
    let err = if code == 400 {
        crate::http::read_capped(response, Some(&signal), MAX_ANSWER_BYTES)
            .await
            .ok()
            .and_then(|body| serde_json::from_slice::<Value>(&body).ok())
            .and_then(|v| v.get("err").and_then(Value::as_str).map(str::to_owned))
            .filter(|e| e.len() <= 64 && e.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
    } else {
        None
    };
    Ok((code, retry_after, err))
}
