//! SMS delivery: the dev outbox (KV) or a JSON webhook with a bearer secret.
//! Called only after the state a message reports has been written.

use serde::Serialize;
use simbind_core::identifiers::PhoneNumber;
use worker::{Headers, Method};

use crate::App;
use crate::config::SmsConfig;
#[cfg(feature = "dev")]
use crate::outbox::{self, OutboxMessage};
use crate::problem::ApiError;

/// How long the SMS webhook may take to answer: a code or an alert is
/// refused (`sms_delivery_failed`) rather than left waiting.
const WEBHOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Why a message is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmsKind {
    /// A one-time code.
    Otp,
    /// A security alert to the bound number.
    Alert,
}

impl SmsKind {
    fn label(self) -> &'static str {
        match self {
            Self::Otp => "otp",
            Self::Alert => "alert",
        }
    }
}

/// Body POSTed to the webhook provider.
#[derive(Serialize)]
struct WebhookMessage<'a> {
    to: &'a str,
    kind: &'a str,
    text: &'a str,
}

/// Sends `text` to `to` through the configured provider.
pub async fn send(app: &App, to: &PhoneNumber, kind: SmsKind, text: &str) -> Result<(), ApiError> {
    match &app.cfg.sms {
        #[cfg(not(feature = "dev"))]
        SmsConfig::Outbox => Err(ApiError::Misconfigured(
            "the outbox needs a dev build".into(),
        )),
        #[cfg(feature = "dev")]
        SmsConfig::Outbox => {
            let to_hash = app
                .cfg
                .hasher
                .hash(simbind_core::id_hash::IdKind::PhoneNumber, to.as_str());
            let message = OutboxMessage {
                at: app.now_ms,
                kind: kind.label().into(),
                text: text.into(),
            };
            let kv = app.env.kv(outbox::KV_BINDING)?;
            let suffix = simbind_core::codec::b64(&app.random::<6>()?);
            outbox::put(&kv, &to_hash, &message, &suffix).await
        }
        SmsConfig::Webhook { url, token } => {
            let body = serde_json::to_string(&WebhookMessage {
                to: to.as_str(),
                kind: kind.label(),
                text,
            })
            .map_err(|e| ApiError::Platform(e.to_string()))?;
            let headers = Headers::new();
            headers.set("content-type", "application/json")?;
            headers.set("authorization", &format!("Bearer {token}"))?;
            let request = crate::http::outbound(url, &Method::Post, &headers, Some(&body), false)?;
            let (answer, _) = crate::http::fetch_within(request, WEBHOOK_TIMEOUT).await;
            let response = answer.map_err(|e| {
                worker::console_error!("sms webhook unreachable or too slow: {e}");
                ApiError::SmsFailed
            })?;
            if (200..300).contains(&response.status_code()) {
                Ok(())
            } else {
                worker::console_error!("sms webhook answered {}", response.status_code());
                Err(ApiError::SmsFailed)
            }
        }
    }
}
