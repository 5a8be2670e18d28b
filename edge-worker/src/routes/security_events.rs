//! Security events for the relying party: the SSF transmitter
//! configuration, the event key set, and the operator's view and control of
//! each stream (status, counters, the verification event).

use serde::Deserialize;
use serde_json::{Value, json};
use simbind_core::crypto::secret_eq;
use simbind_core::security_event::delivery::{
    DeliveryMethod, Next, PollRequest, StreamState, StreamStatus, poll_answer,
};
use simbind_core::security_event::set::SubjectFormat;
use simbind_core::security_event::{event_types, verification};
use worker::Response;

use super::admin::{admit, guard};
use super::meta::{cached, public_origin};
use crate::App;
use crate::http::{Incoming, json, read_json};
use crate::objects::{
    self, Answer, Outcome, PollOp, Polled, STREAMS, StatusOp, stream_call, stream_queue,
    stream_report,
};
use crate::problem::{ApiError, Missing};
use crate::security_events::{EventsConfig, Stream, push, sign};

fn events(app: &App) -> Result<&EventsConfig, ApiError> {
    app.cfg
        .events
        .as_ref()
        .ok_or(ApiError::NotFound(Missing::Route))
}

/// `GET /.well-known/ssf-configuration`: the transmitter's metadata (SSF
/// 1.0 §7.1). Streams are configured by the operator, so no management
/// endpoints are listed; a poll stream's endpoint is `/ssf/poll/{stream id}`.
pub fn configuration(app: &App, req: &Incoming) -> Result<Response, ApiError> {
    events(app)?;
    cached(&json!({
        "spec_version": "1_0",
        "issuer": app.cfg.issuer,
        "jwks_uri": format!("{}/ssf/jwks.json", public_origin(app, req)),
        "delivery_methods_supported": [DeliveryMethod::Push.urn(), DeliveryMethod::Poll.urn()],
        "default_subjects": "ALL",
    }))
}

/// `GET /ssf/jwks.json`: the keys SETs are signed with, and nothing else.
pub fn jwks(app: &App) -> Result<Response, ApiError> {
    cached(&events(app)?.jwks())
}

fn describe(stream: &Stream, state: &StreamState) -> Value {
    let r = &stream.receiver;
    json!({
        "stream_id": r.id,
        "delivery": {
            "method": r.delivery.urn(),
            "endpoint_url": match r.delivery {
                DeliveryMethod::Push => r.endpoint.clone(),
                DeliveryMethod::Poll => format!("/ssf/poll/{}", r.id),
            },
        },
        "aud": r.audience,
        "events_delivered": r.events,
        "subject_format": match r.subject {
            SubjectFormat::Opaque => "opaque",
            SubjectFormat::PhoneNumber => "phone_number",
        },
        "alg": r.alg.label(),
        "authorization_header_set": stream.authorization.is_some(),
        "status": state.status,
        "reason": state.reason,
        "delivered": state.delivered,
        "rejected": state.rejected,
        "dropped": state.dropped,
        "failures_in_a_row": state.failures_in_a_row,
        "last_error": state.last_error,
    })
}

/// Runs `then` for an admitted operator; a wrong token is 401, a sender
/// that used up its failures 429.
async fn as_operator(app: &App, req: &Incoming) -> Result<Option<Response>, ApiError> {
    match admit(app, req).await? {
        Err(locked) => Ok(Some(locked)),
        Ok(false) => Err(ApiError::AdminUnauthorized),
        Ok(true) => Ok(None),
    }
}

fn stream<'a>(events: &'a EventsConfig, id: &str) -> Result<&'a Stream, ApiError> {
    events.stream(id).ok_or(ApiError::NotFound(Missing::Stream))
}

/// `GET /v1/admin/ssf/streams`: every stream, its status and counters.
pub async fn list(app: &App, req: &Incoming) -> Result<Response, ApiError> {
    if let Some(locked) = as_operator(app, req).await? {
        return Ok(locked);
    }
    let events = events(app)?;
    let mut out = Vec::with_capacity(events.streams.len());
    for stream in &events.streams {
        let state = stream_call(&app.env, &stream.receiver.id, "status", &()).await?;
        out.push(describe(stream, &state));
    }
    json(
        &json!({ "streams": out, "events_supported": event_types(&app.cfg.issuer) }),
        200,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: String,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /v1/admin/ssf/streams/{id}/status`: enable, pause or disable a
/// stream (`reason` at most 200 characters).
pub async fn set_status(app: &App, req: &mut Incoming, id: &str) -> Result<Response, ApiError> {
    if let Some(locked) = as_operator(app, req).await? {
        return Ok(locked);
    }
    let stream = stream(events(app)?, id)?;
    let body: StatusBody = read_json(req).await?;
    let status = StreamStatus::parse(&body.status).ok_or(ApiError::InvalidField)?;
    if body
        .reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > 200)
    {
        return Err(ApiError::InvalidField);
    }
    let op = StatusOp {
        status,
        reason: body.reason,
    };
    let state = stream_call(&app.env, id, "set_status", &op).await?;
    // The reason is the operator's own words: kept and listed, not echoed.
    json(
        &json!({ "stream_id": stream.receiver.id, "status": state.status }),
        200,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyBody {
    #[serde(default)]
    state: Option<String>,
}

/// `POST /v1/admin/ssf/streams/{id}/verify`: sends the SSF verification
/// event now (`state`, at most 100 characters, echoed to the receiver) and
/// answers what the receiver said (a poll stream: queued for its next
/// poll). An enabled stream only.
pub async fn verify(app: &App, req: &mut Incoming, id: &str) -> Result<Response, ApiError> {
    if let Some(locked) = as_operator(app, req).await? {
        return Ok(locked);
    }
    let events = events(app)?;
    let stream = stream(events, id)?;
    let body: VerifyBody = read_json(req).await?;
    if body.state.as_ref().is_some_and(|s| s.chars().count() > 100) {
        return Err(ApiError::InvalidField);
    }
    let current = stream_call(&app.env, id, "status", &()).await?;
    if current.status != StreamStatus::Enabled {
        return json(
            &json!({ "delivered": false, "stream": describe(stream, &current) }),
            409,
        );
    }
    let jti = simbind_core::codec::b64(&app.random::<16>()?);
    let sub_id = json!({ "format": "opaque", "id": id });
    let event = verification(body.state.as_deref());
    let token = sign(app, events, stream, &jti, app.now, sub_id, &event).await?;
    if stream.receiver.delivery == DeliveryMethod::Poll {
        // Into the poll queue: the receiver takes it with its next poll.
        let state = stream_queue(&app.env, id, jti, token).await?;
        return json(
            &json!({ "delivered": true, "answer": "queued", "stream": describe(stream, &state) }),
            200,
        );
    }
    let (next, label) = push(app, events, stream, &token, 1, app.now_ms).await;
    let outcome = Some(Outcome::of(next));
    let state = stream_report(&app.env, &events.schedule, id, outcome, &label, 0).await?;
    json(
        &json!({
            "delivered": next == Next::Delivered,
            "answer": label,
            "stream": describe(stream, &state),
        }),
        200,
    )
}

/// `POST /ssf/poll/{id}`: RFC 8936 poll by a poll stream's receiver, with
/// the `Authorization` value the operator configured for it (constant-time;
/// failures locked out per sender like the admin token's). Takes `ack` and
/// `setErrs` off the queue, then answers the oldest SETs at once
/// (`returnImmediately` or not).
pub async fn poll(app: &App, req: &mut Incoming, id: &str) -> Result<Response, ApiError> {
    let events = events(app)?;
    let presented = req.headers().get("authorization")?.unwrap_or_default();
    let authorized = events.stream(id).is_some_and(|s| {
        s.receiver.delivery == DeliveryMethod::Poll
            && s.authorization
                .as_deref()
                .is_some_and(|a| secret_eq(presented.as_bytes(), a.as_bytes()))
    });
    match guard(app, req, "ssf-poll-failures", authorized).await? {
        Err(locked) => return Ok(locked),
        Ok(false) => return Err(ApiError::PollUnauthorized),
        Ok(true) => {}
    }
    let asked = read_json::<PollRequest>(req)
        .await?
        .checked()
        .ok_or(ApiError::InvalidField)?;
    let op = PollOp {
        max: asked.max(),
        refused: asked.set_errs.into_keys().collect(),
        ack: asked.ack,
    };
    let polled = match objects::ask::<_, Polled>(&app.env, STREAMS, id, "poll", &op).await? {
        Answer::Ok(polled) => polled,
        Answer::Refused(_) => return Err(ApiError::Platform("stream object refused".into())),
    };
    let mut response = Response::ok(poll_answer(&polled.sets, polled.more))?;
    response
        .headers_mut()
        .set("content-type", "application/json")?;
    Ok(response)
}
