//! SimBind edge worker: HTTP API over Workers KV. Protocol logic (validation,
//! transcripts, challenges, decisions, grants) comes from `simbind-core`;
//! this crate is routing, storage, configuration and SMS delivery.

mod alert;
mod config;
mod http;
mod problem;
mod routes;
mod sms;
mod store;

use std::cell::Cell;

use config::Config;
use problem::ApiError;
use simbind_core::api::ChallengeResponse;
use simbind_core::challenge;
use simbind_core::codec::b64;
use simbind_core::transcript::Ceremony;
use store::{AuditEvent, Store};
use worker::{Context, Env, Method, Request, Response, event};

/// One request's view of the service.
pub struct App {
    pub cfg: Config,
    pub store: Store,
    /// Unix seconds.
    pub now: u64,
    pub now_ms: u64,
    /// Orders the audit events one request writes within its millisecond.
    audit_seq: Cell<u16>,
}

impl App {
    /// The inputs every core decision takes.
    pub fn ctx(&self) -> simbind_core::decision::Context<'_> {
        simbind_core::decision::Context {
            keys: &self.cfg.keys,
            hasher: &self.cfg.hasher,
            audience: &self.cfg.audience,
            policy: &self.cfg.policy,
            now: self.now,
        }
    }

    /// A fresh challenge for `ceremony` and `subject`, as the API returns it.
    pub fn challenge(
        &self,
        ceremony: Ceremony,
        subject: &str,
    ) -> Result<ChallengeResponse, ApiError> {
        let ttl = self.cfg.challenge_ttl;
        let bytes = challenge::issue(
            &self.cfg.keys,
            ceremony,
            subject,
            self.now,
            ttl,
            self.random()?,
        );
        Ok(ChallengeResponse {
            challenge: b64(&bytes),
            ceremony: ceremony.label().into(),
            audience: self.cfg.audience.clone(),
            expires_at: self.now + ttl,
        })
    }

    /// `N` bytes from the platform CSPRNG.
    pub fn random<const N: usize>(&self) -> Result<[u8; N], ApiError> {
        let mut buf = [0u8; N];
        getrandom::fill(&mut buf).map_err(|e| ApiError::Platform(format!("getrandom: {e}")))?;
        Ok(buf)
    }

    /// A short random suffix that keeps same-millisecond keys apart.
    pub fn random_suffix(&self) -> Result<String, ApiError> {
        Ok(b64(&self.random::<6>()?))
    }

    /// Appends an event to a binding's audit trail.
    pub async fn audit(
        &self,
        binding_id: &str,
        event: &str,
        ceremony: Option<&str>,
        code: Option<&str>,
    ) -> Result<(), ApiError> {
        let entry = AuditEvent {
            at: self.now_ms,
            event: event.into(),
            ceremony: ceremony.map(Into::into),
            code: code.map(Into::into),
        };
        let seq = self.audit_seq.get();
        self.audit_seq.set(seq.saturating_add(1));
        self.store
            .audit(binding_id, &entry, seq, &self.random_suffix()?)
            .await
    }

    /// Records a refusal nobody authenticated (anyone may send one): one
    /// event per reason and minute, so such requests cannot flood the trail.
    pub async fn audit_unverified(
        &self,
        binding_id: &str,
        ceremony: Option<&str>,
        code: &str,
    ) -> Result<(), ApiError> {
        let entry = AuditEvent {
            at: self.now_ms,
            event: "denied_unverified".into(),
            ceremony: ceremony.map(Into::into),
            code: Some(code.into()),
        };
        self.store
            .audit_once_per_minute(binding_id, &entry, code)
            .await
    }
}

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let origin = req.headers().get("origin")?;
    let (result, cors_origins) = match Config::from_env(&env) {
        Err(e) => (Err(e), Vec::new()),
        Ok(cfg) => {
            let origins = cfg.cors_origins.clone();
            (serve(&mut req, &env, cfg).await, origins)
        }
    };
    let mut response = match result {
        Ok(response) => response,
        Err(error) => error.into_response()?,
    };
    http::cors(&mut response, origin.as_deref(), &cors_origins)?;
    Ok(response)
}

async fn serve(req: &mut Request, env: &Env, cfg: Config) -> Result<Response, ApiError> {
    let now_ms = worker::Date::now().as_millis();
    let app = App {
        store: Store::new(env.kv("SIMBIND_KV")?),
        cfg,
        now: now_ms / 1000,
        now_ms,
        audit_seq: Cell::new(0),
    };
    let path = req.path();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method();
    if method == Method::Options {
        return http::preflight();
    }
    routes::dispatch(&app, req, &method, &segments).await
}
