//! SimBind edge worker: the HTTP API, with every piece of state a decision
//! reads and then writes kept in a Durable Object ([`objects`]). Protocol
//! logic (validation, transcripts, challenges, decisions, grants) comes from
//! `simbind-core`; this crate is routing, storage, configuration and SMS.

mod alert;
mod attestation;
mod carrier;
mod config;
#[cfg(feature = "dev")]
mod dev_carrier;
#[cfg(feature = "dev")]
mod dev_operator;
#[cfg(feature = "dev")]
mod dev_pnv;
#[cfg(feature = "dev")]
mod dev_receiver;
mod firebase_pnv;
mod http;
mod kv;
mod number_verification;
mod objects;
#[cfg(feature = "dev")]
mod outbox;
mod problem;
mod routes;
mod security_events;
mod sms;
mod webcrypto;

use std::rc::Rc;

use config::Config;
use http::Incoming;
use problem::ApiError;
use simbind_core::api::ChallengeResponse;
use simbind_core::challenge;
use simbind_core::codec::b64;
use simbind_core::transcript::Ceremony;
use worker::{
    Context, Env, Method, Response, ScheduleContext, ScheduledEvent, console_error, event,
};

pub use objects::{
    BindingObject, ChipObject, LimiterObject, NumberObject, StreamObject, TokenObject,
};

/// One request's view of the service, in the worker or in an object.
pub struct App {
    pub cfg: Rc<Config>,
    pub env: Env,
    /// Unix seconds.
    pub now: u64,
    pub now_ms: u64,
}

impl App {
    /// The service as of now.
    pub fn new(cfg: Rc<Config>, env: Env) -> Self {
        let now_ms = worker::Date::now().as_millis();
        Self {
            cfg,
            env,
            now: now_ms / 1000,
            now_ms,
        }
    }

    /// The inputs every core decision takes.
    pub fn ctx(&self) -> simbind_core::decision::Context<'_> {
        simbind_core::decision::Context {
            keys: &self.cfg.keys,
            hasher: &self.cfg.hasher,
            audience: &self.cfg.audience,
            policy: &self.cfg.policy,
            now: self.now,
            checked: None,
            carrier: None,
        }
    }

    /// A fresh challenge for `ceremony`, `subject` and `transaction` (empty
    /// for none), as the API returns it.
    pub fn challenge(
        &self,
        ceremony: Ceremony,
        subject: &str,
        transaction: &[u8],
    ) -> Result<ChallengeResponse, ApiError> {
        let ttl = self.cfg.challenge_ttl;
        let bytes = challenge::issue(
            &self.cfg.keys,
            ceremony,
            subject,
            transaction,
            self.now,
            ttl,
            self.random()?,
        );
        Ok(ChallengeResponse {
            challenge: b64(&bytes),
            ceremony: ceremony.label().into(),
            audience: self.cfg.audience.clone(),
            expires_at: self.now + ttl,
            transaction: (!transaction.is_empty()).then(|| b64(transaction)),
        })
    }

    /// `N` bytes from the platform CSPRNG.
    pub fn random<const N: usize>(&self) -> Result<[u8; N], ApiError> {
        let mut buf = [0u8; N];
        getrandom::fill(&mut buf).map_err(|e| ApiError::Platform(format!("getrandom: {e}")))?;
        Ok(buf)
    }
}

/// The binding `name` (a KV namespace, a rate limiter) as the runtime gives
/// it, or `None` where the deployment does not bind it.
fn binding(env: &Env, name: &str) -> Option<wasm_bindgen::JsValue> {
    js_sys::Reflect::get(env, &wasm_bindgen::JsValue::from_str(name))
        .ok()
        .filter(wasm_bindgen::JsValue::is_object)
}

/// Whether the request was addressed to this machine.
fn local(req: &Incoming) -> bool {
    matches!(
        http::RequestUrl::of(req).host(),
        "localhost" | "127.0.0.1" | "[::1]"
    )
}

#[event(fetch)]
async fn fetch(raw: web_sys::Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let mut req = Incoming::new(raw);
    let origin = req.headers().get("origin")?;
    let (result, cors_origins) = match Config::for_isolate(&env) {
        Err(e) => (Err(e), Vec::new()),
        Ok(cfg) => {
            let origins = cfg.cors_origins.clone();
            let app = App::new(cfg, env);
            (serve(&mut req, &app).await, origins)
        }
    };
    // Every answer is the worker's own or an object's passed on as a new
    // response (objects::call): its headers can be set here.
    let mut response = match result {
        Ok(response) => response,
        Err(error) => error.into_response()?,
    };
    http::cors(&mut response, origin.as_deref(), &cors_origins)?;
    http::hygiene(&mut response)?;
    Ok(response)
}

/// The Cron Trigger: refreshes the attestation status list when Android
/// Key Attestation is accepted.
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let cfg = match Config::from_env(&env) {
        Ok(cfg) => cfg,
        Err(e) => {
            console_error!("scheduled: {e}");
            return;
        }
    };
    let formats = &cfg.policy.attestation.formats;
    if !formats.contains(&simbind_core::attestation::ChipFormat::AndroidKey) {
        return;
    }
    let now = worker::Date::now().as_millis() / 1000;
    if let Err(e) = attestation::refresh(&env, &cfg.attestation_status, now).await {
        console_error!("attestation status refresh: {e}");
    }
}

async fn serve(req: &mut Incoming, app: &App) -> Result<Response, ApiError> {
    if app.cfg.dev_mode && !local(req) {
        // Dev mode opens the outbox and token-less routes: never for a real host.
        return Err(ApiError::Misconfigured(
            "dev mode serves localhost only".into(),
        ));
    }
    let path = req.path();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    // The worker crate reads a method it does not know (QUERY, PROPFIND, …)
    // as GET: only these three are served, anything else is 405.
    let method = match req.method().as_str() {
        "OPTIONS" => return http::preflight(),
        "GET" => Method::Get,
        "POST" => Method::Post,
        _ => {
            return Err(match routes::allowed(&segments) {
                Some(allow) => ApiError::MethodNotAllowed(allow),
                None => ApiError::NotFound(problem::Missing::Route),
            });
        }
    };
    routes::dispatch(app, req, &method, &segments).await
}

/// TLSF rather than Rust's default dlmalloc: smaller, constant-time
/// operations, free blocks merged (wasm-client uses the same).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: rlsf::GlobalTlsf = rlsf::GlobalTlsf::new();
