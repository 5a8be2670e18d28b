//! Webhooks from outside. `POST /v1/webhooks/sms`: the SMS provider's
//! inbound webhook, for the device-sent number proof. It is authenticated
//! by an HMAC over the raw body with a timestamp (core
//! `device_sms::verify_webhook`); the token in the text leads to the
//! registration, whose object records the sender the network stamped.
//! `POST /v1/webhooks/carrier`: the CAMARA SIM-swap subscription sink,
//! authenticated by the bearer credential the worker registered with each
//! subscription; it names the binding, whose object decides.

use serde::Deserialize;
use simbind_core::device_sms::{self, InboundSms, Seen};
use simbind_core::id_hash::IdKind;
use simbind_core::identifiers::OpaqueId;
use simbind_core::subscription::{self, Event};
use worker::Response;

use crate::App;
use crate::config::DeviceSmsConfig;
use crate::http::Incoming;
use crate::objects::{
    self, Answer, BINDINGS, CarrierEventOp, NUMBERS, SmsSeenOp, TOKENS, TokenRoute,
};
use crate::problem::{ApiError, Missing};

#[derive(Deserialize)]
struct Routed {
    route: Option<TokenRoute>,
}

#[derive(Deserialize)]
struct SeenAnswer {
    seen: Seen,
}

/// The device-SMS settings, or 404 where the deployment does not offer it.
pub fn configured(app: &App) -> Result<&DeviceSmsConfig, ApiError> {
    app.cfg
        .device_sms
        .as_ref()
        .ok_or(ApiError::NotFound(Missing::Route))
}

/// `POST /v1/webhooks/sms`: 204 once the SMS is authenticated and read,
/// whatever it proves (the provider only needs to know it was taken).
pub async fn sms(app: &App, req: &mut Incoming) -> Result<Response, ApiError> {
    let inbound = configured(app)?;
    let header = req.headers().get(device_sms::SIGNATURE_HEADER)?;
    let body = crate::http::read_body(req, "application/json").await?;
    let seen = receive(app, inbound, header.as_deref(), &body).await?;
    let ignored = match seen {
        Seen::Recorded => None,
        Seen::Repeated => Some("repeated"),
        Seen::Voided => Some("voided"),
        Seen::Expired => Some("expired"),
        Seen::Unknown => Some("unknown"),
    };
    if let Some(what) = ignored {
        worker::console_log!("inbound SMS: {what}");
    }
    Ok(Response::empty()?.with_status(204))
}

/// The webhook's work on a raw body and its signature header (the dev
/// stand-in for the provider comes through here too).
pub async fn receive(
    app: &App,
    inbound: &DeviceSmsConfig,
    header: Option<&str>,
    body: &[u8],
) -> Result<Seen, ApiError> {
    device_sms::verify_webhook(&inbound.secret, header, body, app.now)?;
    let sms: InboundSms = crate::http::parse_object(body)?;
    let sms = sms.validate()?;
    let (true, Some(token)) = (sms.to == inbound.number, sms.token) else {
        return Ok(Seen::Unknown);
    };
    let name = app.cfg.hasher.hash(IdKind::SmsToken, &token);
    let routed: Answer<Routed> = objects::ask(
        &app.env,
        TOKENS,
        name.as_str(),
        "route",
        &serde_json::json!({ "now": app.now }),
    )
    .await?;
    let Answer::Ok(Routed { route: Some(route) }) = routed else {
        return Ok(Seen::Unknown);
    };
    let op = SmsSeenOp {
        registration_id: route.registration_id,
        token,
        sender: app.cfg.hasher.hash(IdKind::PhoneNumber, sms.from.as_str()),
    };
    match objects::ask::<_, SeenAnswer>(&app.env, NUMBERS, &route.number, "sms_seen", &op).await? {
        Answer::Ok(answer) => Ok(answer.seen),
        Answer::Refused(_) => Err(ApiError::Platform("number object refused an SMS".into())),
    }
}

/// `POST /v1/webhooks/carrier`: a CloudEvents notification from the
/// carrier's SIM-swap subscriptions. 204 once its binding has taken it;
/// 401 without a live subscription's credential, 400 for what is not a
/// notification, 410 for a binding that has ended. 404 where the deployment
/// keeps no subscriptions.
pub async fn carrier(app: &App, req: &mut Incoming) -> Result<Response, ApiError> {
    if app.cfg.subscriptions().is_none() {
        return Err(ApiError::NotFound(Missing::Route));
    }
    let header = req.headers().get("authorization")?;
    let (binding, secret) = subscription::read_bearer(&app.cfg.pepper, header.as_deref())?;
    let body =
        crate::http::read_body_of(req, &["application/cloudevents+json", "application/json"])
            .await?;
    let event = subscription::read_event(&body)?;
    match deliver(app, &binding, &secret, &event).await? {
        None => Ok(Response::empty()?.with_status(204)),
        Some(refusal) => Ok(refusal),
    }
}

/// Hands a notification to its binding's object (the dev carrier delivers
/// through here too): `None` once taken, or the object's refusal.
pub async fn deliver(
    app: &App,
    binding: &OpaqueId,
    secret: &[u8],
    event: &Event,
) -> Result<Option<Response>, ApiError> {
    let op = CarrierEventOp {
        secret: simbind_core::codec::b64(secret),
        event: event.clone(),
    };
    let answer: Answer<serde_json::Value> =
        objects::ask(&app.env, BINDINGS, binding.as_str(), "carrier_event", &op).await?;
    Ok(answer.or_refusal().err())
}
