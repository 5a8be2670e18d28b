//! Every failure the API can answer with, as an RFC 9457 problem document
//! with a stable `code`.

use simbind_core::api::Problem;
use simbind_core::error::{SinkRefusal, WebhookRefusal};
use simbind_core::{Denial, ValidationError};
use thiserror::Error;
use worker::{Headers, Response};

/// What a 404 did not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Route,
    Registration,
    Binding,
    /// A security-event stream id no receiver has.
    Stream,
}

impl Missing {
    /// The name a 404's detail gives (not `Debug`: the worker's build prints
    /// no derived `Debug`).
    fn name(self) -> &'static str {
        match self {
            Self::Route => "Route",
            Self::Registration => "Registration",
            Self::Binding => "Binding",
            Self::Stream => "Stream",
        }
    }
}

/// An API failure. Bad input is always a 4xx; 5xx is only for the platform.
/// Details never repeat input values (they could be subscriber identifiers).
#[derive(Debug, Error)]
pub enum ApiError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Denied(#[from] Denial),
    #[error(transparent)]
    Webhook(#[from] WebhookRefusal),
    #[error(transparent)]
    Sink(#[from] SinkRefusal),
    #[error("request body is not valid JSON")]
    MalformedJson,
    #[error("request body has a field of the wrong type or value")]
    InvalidField,
    #[error("request body has a field this API does not know")]
    UnknownField,
    #[error("the request lacks a required field")]
    MissingField,
    #[error("request body is over the limit (8 KiB; 40 KiB for a bind)")]
    BodyTooLarge,
    #[error("request body must be application/json")]
    UnsupportedMediaType,
    #[error("{} not found", .0.name())]
    NotFound(Missing),
    #[error("method not allowed on this route")]
    /// 405, with the `Allow` value of the path.
    MethodNotAllowed(&'static str),
    #[error("too many requests; retry later")]
    RateLimited { retry_after: u64 },
    #[error("a valid admin bearer token is required")]
    AdminUnauthorized,
    #[error("the poll stream's authorization is required")]
    PollUnauthorized,
    #[error("the service is not configured: {0}")]
    Misconfigured(String),
    #[error("SMS delivery failed")]
    SmsFailed,
    #[error("storage or platform failure")]
    Platform(String),
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        Self::Platform(e.to_string())
    }
}

impl From<worker::kv::KvError> for ApiError {
    fn from(e: worker::kv::KvError) -> Self {
        Self::Platform(e.to_string())
    }
}

impl ApiError {
    /// Classifies a JSON decoding error. serde's message can quote the
    /// offending value, so only its category is kept.
    pub fn from_json(e: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let text = e.to_string();
        match e.classify() {
            Category::Data if text.starts_with("unknown field") => Self::UnknownField,
            Category::Data if text.starts_with("missing field") => Self::MissingField,
            Category::Data => Self::InvalidField,
            _ => Self::MalformedJson,
        }
    }

    /// HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            // A policy (the deployment requires a carrier proof), not bad input.
            Self::Invalid(ValidationError::CarrierProofRequired) => 403,
            Self::Invalid(_)
            | Self::MalformedJson
            | Self::InvalidField
            | Self::UnknownField
            | Self::MissingField => 400,
            Self::Denied(d) => d.http_status(),
            Self::Webhook(_) => 401,
            Self::Sink(s) => s.status(),
            Self::BodyTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed(_) => 405,
            Self::RateLimited { .. } => 429,
            Self::AdminUnauthorized | Self::PollUnauthorized => 401,
            Self::Misconfigured(_) => 503,
            Self::SmsFailed => 502,
            Self::Platform(_) => 500,
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(e) => e.code(),
            Self::Denied(d) => d.code(),
            Self::Webhook(w) => w.code(),
            Self::Sink(s) => s.code(),
            Self::MalformedJson => "malformed_json",
            Self::InvalidField => "invalid_field",
            Self::UnknownField => "unknown_field",
            Self::MissingField => "missing_field",
            Self::BodyTooLarge => "body_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::NotFound(Missing::Registration) => "registration_not_found",
            Self::NotFound(Missing::Binding) => "binding_not_found",
            Self::NotFound(Missing::Stream) => "stream_not_found",
            Self::NotFound(Missing::Route) => "not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::RateLimited { .. } => "rate_limited",
            Self::AdminUnauthorized => "admin_unauthorized",
            Self::PollUnauthorized => "poll_unauthorized",
            Self::Misconfigured(_) => "misconfigured",
            Self::SmsFailed => "sms_delivery_failed",
            Self::Platform(_) => "internal",
        }
    }

    /// The problem+json response.
    pub fn into_response(self) -> worker::Result<Response> {
        let detail = match &self {
            // Platform details stay in the logs.
            Self::Platform(msg) => {
                worker::console_error!("platform error: {msg}");
                None
            }
            // Which setting is wrong is for the operator's logs, not callers.
            Self::Misconfigured(msg) => {
                worker::console_error!("misconfigured: {msg}");
                Some("the service is not configured correctly".to_owned())
            }
            other => Some(other.to_string()),
        };
        let problem = Problem {
            type_: format!("https://simbind.dev/problems/{}", self.code()),
            title: title(self.status()).to_owned(),
            status: self.status(),
            code: self.code().to_owned(),
            detail,
        };
        let headers = Headers::new();
        headers.set("content-type", "application/problem+json")?;
        match self {
            Self::MethodNotAllowed(allow) => headers.set("allow", allow)?,
            Self::RateLimited { retry_after } => {
                headers.set("retry-after", &retry_after.to_string())?
            }
            // A locked registration ends with its TTL; a new one may then start.
            Self::Denied(d) if d.http_status() == 429 => {
                headers.set("retry-after", &crate::objects::REGISTRATION_TTL.to_string())?
            }
            _ => {}
        }
        let body =
            serde_json::to_vec(&problem).map_err(|e| worker::Error::RustError(e.to_string()))?;
        Ok(Response::from_bytes(body)?
            .with_status(problem.status)
            .with_headers(headers))
    }
}

fn title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}
