//! The route table.

mod admin;
#[cfg(feature = "dev")]
mod dev;
mod holder;
mod inbound;
mod meta;
mod number_verification;
mod registration;
mod request_limit;
mod security_events;

use worker::{Method, Response};

use crate::App;
use crate::http::Incoming;
use crate::problem::{ApiError, Missing};

/// Routes a request by method and path segments.
pub async fn dispatch(
    app: &App,
    req: &mut Incoming,
    method: &Method,
    segments: &[&str],
) -> Result<Response, ApiError> {
    use Method::{Get, Post};
    match (method, segments) {
        (Get, ["v1", "health"]) => meta::health(app),
        (Get, [".well-known", "jwks.json"]) => meta::jwks(app),
        (Get, [".well-known", "simbind"]) => meta::discovery(app, req),
        (Get, [".well-known", "ssf-configuration"]) => security_events::configuration(app, req),
        (Get, ["ssf", "jwks.json"]) => security_events::jwks(app),
        (Post, ["ssf", "poll", id]) => {
            crate::http::boxed(security_events::poll(app, req, id)).await
        }
        (Post, ["v1", "registrations"]) => registration::start(app, req).await,
        (Post, ["v1", "registrations", id, "challenge"]) => {
            registration::challenge(app, req, id).await
        }
        (Post, ["v1", "registrations", id, "binding"]) => registration::bind(app, req, id).await,
        (Post, ["v1", "registrations", id, "carrier-authorization"]) => {
            number_verification::authorize(app, req, id).await
        }
        (Get, ["v1", "carrier", "number-verification", "callback"]) => {
            number_verification::callback(app, req).await
        }
        (Post, ["v1", "bindings", id, "challenge"]) => holder::challenge(app, req, id).await,
        (Post, ["v1", "bindings", id, "verify"]) => holder::verify(app, req, id).await,
        (Post, ["v1", "bindings", id, "unbind"]) => holder::unbind(app, req, id).await,
        (Post, ["v1", "webhooks", "sms"]) => inbound::sms(app, req).await,
        (Post, ["v1", "webhooks", "carrier"]) => inbound::carrier(app, req).await,
        (Get, ["v1", "admin", "attestation-status"]) => admin::attestation_status(app, req).await,
        (Get, ["v1", "admin", "bindings", id]) => admin::forward(app, req, id, "show").await,
        (Get, ["v1", "admin", "bindings", id, "audit"]) => {
            admin::forward(app, req, id, "audit").await
        }
        (Post, ["v1", "admin", "bindings", id, "revoke"]) => {
            admin::forward(app, req, id, "revoke").await
        }
        (Post, ["v1", "admin", "bindings", id, "reinstate"]) => {
            admin::forward(app, req, id, "reinstate").await
        }
        (Get, ["v1", "admin", "ssf", "streams"]) => {
            crate::http::boxed(security_events::list(app, req)).await
        }
        (Post, ["v1", "admin", "ssf", "streams", id, "status"]) => {
            crate::http::boxed(security_events::set_status(app, req, id)).await
        }
        (Post, ["v1", "admin", "ssf", "streams", id, "verify"]) => {
            crate::http::boxed(security_events::verify(app, req, id)).await
        }
        #[cfg(feature = "dev")]
        (Get, ["dev", "outbox"]) => dev::outbox(app, req).await,
        #[cfg(feature = "dev")]
        (Get, ["dev", "ssf", "events"]) => dev::ssf_events(app).await,
        #[cfg(feature = "dev")]
        (Get, ["dev", "bindings", id, "audit"]) => dev::audit(app, req, id).await,
        #[cfg(feature = "dev")]
        (Post, ["dev", "sms", "send"]) => dev::send_sms(app, req).await,
        #[cfg(feature = "dev")]
        (Post, ["dev", "carrier", "swap"]) => dev::carrier_swap(app, req).await,
        #[cfg(feature = "dev")]
        (Post, ["dev", "firebase-pnv", "token"]) => dev::firebase_pnv_token(app, req).await,
        #[cfg(feature = "dev")]
        (Get, ["dev", "operator", "authorize"]) => dev::operator_authorize(app, req),
        (_, path) => match allowed(path) {
            Some(allow) => Err(ApiError::MethodNotAllowed(allow)),
            None => Err(ApiError::NotFound(Missing::Route)),
        },
    }
}

/// The method a known path answers (its 405's `Allow`), or `None` for a
/// path no route serves.
pub fn allowed(path: &[&str]) -> Option<&'static str> {
    let get = matches!(
        path,
        ["v1", "health"]
            | [".well-known", "jwks.json" | "simbind" | "ssf-configuration"]
            | ["ssf", "jwks.json"]
            | ["v1", "admin", "ssf", "streams"]
            | ["v1", "admin", "attestation-status"]
            | ["v1", "admin", "bindings", _]
            | ["v1", "admin", "bindings", _, "audit"]
            | ["v1", "carrier", "number-verification", "callback"]
    ) || (cfg!(feature = "dev")
        && matches!(
            path,
            ["dev", "outbox"]
                | ["dev", "ssf", "events"]
                | ["dev", "bindings", _, "audit"]
                | ["dev", "operator", "authorize"]
        ));
    let post = matches!(
        path,
        ["v1", "registrations"]
            | [
                "v1",
                "registrations",
                _,
                "challenge" | "binding" | "carrier-authorization"
            ]
            | ["v1", "bindings", _, "challenge" | "verify" | "unbind"]
            | ["v1", "admin", "bindings", _, "revoke"]
            | ["v1", "admin", "bindings", _, "reinstate"]
            | ["v1", "admin", "ssf", "streams", _, "status" | "verify"]
            | ["ssf", "poll", _]
            | ["v1", "webhooks", "sms" | "carrier"]
    ) || (cfg!(feature = "dev")
        && matches!(
            path,
            ["dev", "sms", "send"] | ["dev", "carrier", "swap"] | ["dev", "firebase-pnv", "token"]
        ));
    match (get, post) {
        (true, _) => Some("GET"),
        (_, true) => Some("POST"),
        _ => None,
    }
}
