//! Dev-only routes: the SMS outbox, the audit trail without a token, and
//! stand-ins for the phone network (a sent SMS) and the carrier (a SIM swap).
//! Compiled only into dev builds (cargo feature `dev`), and even there they
//! answer 404 unless `SIMBIND_ENV = "dev"` (which serves localhost only).

use serde_json::json;
use simbind_core::ValidationError;
use simbind_core::id_hash::IdKind;
use simbind_core::identifiers::{BINDING_PREFIX, OpaqueId, PhoneNumber};
use worker::Response;

use crate::App;
use crate::http::{Incoming, json};
use crate::objects::{self, BINDINGS};
use crate::outbox;
use crate::problem::{ApiError, Missing};

/// Header on every dev-route answer; its absence from a build's wasm is how a
/// test proves the production bundle has no dev route.
pub const DEV_BUILD_MARKER: &str = "x-simbind-dev-build";

fn marked(mut response: Response) -> Result<Response, ApiError> {
    response.headers_mut().set(DEV_BUILD_MARKER, "1")?;
    Ok(response)
}

fn dev_only(app: &App) -> Result<(), ApiError> {
    if app.cfg.dev_mode {
        Ok(())
    } else {
        Err(ApiError::NotFound(Missing::Route))
    }
}

/// `GET /dev/outbox?phone_number=+...`: SMS sent to a number.
pub async fn outbox(app: &App, req: &Incoming) -> Result<Response, ApiError> {
    dev_only(app)?;
    // Exactly one `phone_number` (none, or two, is `missing_field`).
    let url = crate::http::RequestUrl::of(req);
    let mut given = url
        .query_pairs()
        .filter(|(key, _)| key == "phone_number")
        .map(|(_, value)| value.into_owned());
    let phone_number = match (given.next(), given.next()) {
        (Some(one), None) => one,
        _ => return Err(ApiError::MissingField),
    };
    let number = PhoneNumber::parse(&phone_number)?;
    let kv = app.env.kv(outbox::KV_BINDING)?;
    let to = app.cfg.hasher.hash(IdKind::PhoneNumber, number.as_str());
    let messages = outbox::list(&kv, &to).await?;
    marked(json(&json!({ "messages": messages }), 200)?)
}

/// `GET /dev/ssf/events`: the security events the dev receiver (the demo's
/// "bank's backend") took, oldest first, each as pushed.
pub async fn ssf_events(app: &App) -> Result<Response, ApiError> {
    dev_only(app)?;
    let kv = app.env.kv(outbox::KV_BINDING)?;
    let events = crate::dev_receiver::list(&kv).await?;
    marked(json(&json!({ "events": events }), 200)?)
}

/// `GET /dev/bindings/{id}/audit`: the audit trail, for the demo page.
pub async fn audit(app: &App, req: &Incoming, id: &str) -> Result<Response, ApiError> {
    dev_only(app)?;
    let id = OpaqueId::parse(id, BINDING_PREFIX)?;
    let op = super::admin::trail_op(req)?;
    marked(objects::call(&app.env, BINDINGS, id.as_str(), "audit", &op).await?)
}

/// `POST /dev/sms/send` `{from, to, text}`: stands in for the phone network
/// and the SMS provider. The SMS "sent" from `from` is signed with the
/// inbound secret exactly as a provider would, and goes through the inbound
/// webhook's own checks; the answer says what the webhook made of it
/// (`recorded`, `repeated`, `voided`, `expired`, `unknown`), and the SMS is kept
/// in the outbox of `from` as `sent`, for the demo page.
pub async fn send_sms(app: &App, req: &mut Incoming) -> Result<Response, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sent {
        from: String,
        to: String,
        text: String,
    }
    dev_only(app)?;
    let inbound = super::inbound::configured(app)?;
    let sent: Sent = crate::http::read_json(req).await?;
    let from = PhoneNumber::parse(&sent.from)?;
    let sms = simbind_core::device_sms::InboundSms {
        from: sent.from,
        to: sent.to,
        text: sent.text,
        received_at: app.now,
    };
    let body = serde_json::to_vec(&sms).map_err(|e| ApiError::Platform(e.to_string()))?;
    let signature = simbind_core::device_sms::sign_webhook(&inbound.secret, app.now, &body);
    let seen = super::inbound::receive(app, inbound, Some(&signature), &body).await?;
    let kv = app.env.kv(outbox::KV_BINDING)?;
    let sender = app.cfg.hasher.hash(IdKind::PhoneNumber, from.as_str());
    // KV list metadata holds 1 KiB: a long SMS is kept by its first 300 characters.
    let mut text: String = sms.text.chars().take(300).collect();
    if text.len() < sms.text.len() {
        text.push('…');
    }
    let message = outbox::OutboxMessage {
        at: app.now_ms,
        kind: "sent".into(),
        text,
    };
    let suffix = simbind_core::codec::b64(&app.random::<6>()?);
    outbox::put(&kv, &sender, &message, &suffix).await?;
    marked(json(&json!({ "seen": seen }), 200)?)
}

/// `POST /dev/carrier/swap` `{phone_number}`: the dev carrier swaps the
/// number's SIM now. From then on its SIM Swap answers say so, and each
/// subscription it holds for the number is notified with the credential the
/// worker registered, through the sink's own checks (`POST
/// /v1/webhooks/carrier`). 404 unless the dev carrier is the configured one.
pub async fn carrier_swap(app: &App, req: &mut Incoming) -> Result<Response, ApiError> {
    use simbind_core::subscription;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Swap {
        phone_number: String,
    }
    dev_only(app)?;
    let dev_carrier = app
        .cfg
        .carrier
        .as_ref()
        .is_some_and(|c| crate::dev_carrier::serves(&c.api_root));
    if !dev_carrier {
        return Err(ApiError::NotFound(Missing::Route));
    }
    let swap: Swap = crate::http::read_json(req).await?;
    let number = PhoneNumber::parse(&swap.phone_number)?;
    let mut notified = 0u32;
    for (id, token) in crate::dev_carrier::swap(number.as_str(), app.now) {
        let event = subscription::Event {
            kind: subscription::EventKind::Swapped,
            subscription_id: Some(id),
            time: app.now,
        };
        let Ok((binding, secret)) =
            subscription::read_bearer(&app.cfg.pepper, Some(&format!("Bearer {token}")))
        else {
            continue;
        };
        if super::inbound::deliver(app, &binding, &secret, &event)
            .await?
            .is_none()
        {
            notified += 1;
        }
    }
    marked(json(&json!({ "notified": notified }), 200)?)
}

/// `POST /dev/firebase-pnv/token` `{phone_number, nonce?}`: the token
/// Firebase PNV would hand the app after verifying `phone_number` with the
/// carrier, from the dev issuer (`edge-worker/src/dev_pnv.rs`); without a
/// `nonce`, the default flow's token. 404 unless the dev issuer's key set is
/// the configured one.
pub async fn firebase_pnv_token(app: &App, req: &mut Incoming) -> Result<Response, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Ask {
        phone_number: String,
        #[serde(default)]
        nonce: Option<String>,
    }
    dev_only(app)?;
    let config = app
        .cfg
        .firebase_pnv
        .as_ref()
        .filter(|c| c.jwks_url == crate::dev_pnv::JWKS_URL)
        .ok_or(ApiError::NotFound(Missing::Route))?;
    let ask: Ask = crate::http::read_json(req).await?;
    let number = PhoneNumber::parse(&ask.phone_number)?;
    if ask
        .nonce
        .as_ref()
        .is_some_and(|n| n.is_empty() || n.len() > 128)
    {
        return Err(ValidationError::OutOfRange("nonce").into());
    }
    let jti = simbind_core::codec::b64(&app.random::<16>()?);
    let token = crate::dev_pnv::token(
        &config.project,
        number.as_str(),
        ask.nonce.as_deref(),
        &jti,
        app.now,
    )
    .ok_or_else(|| ApiError::Platform("dev issuer key".into()))?;
    marked(json(&json!({ "token": token }), 200)?)
}

/// `GET /dev/operator/authorize?…`: the dev operator's authorization
/// endpoint (`edge-worker/src/dev_operator.rs`), which the phone opens over
/// "mobile data": the `x-network-msisdn` header plays the network's view of
/// its data session (none: Wi-Fi). A `302` to the worker's callback with a
/// code and the `state` (or an error), as an operator answers; `400` for a
/// request it must not redirect. 404 unless the dev operator is configured.
pub fn operator_authorize(app: &App, req: &Incoming) -> Result<Response, ApiError> {
    dev_only(app)?;
    let config = app
        .cfg
        .camara_nv
        .as_ref()
        .filter(|c| crate::dev_operator::serves(&c.openid_url))
        .ok_or(ApiError::NotFound(Missing::Route))?;
    let url = crate::http::RequestUrl::of(req);
    let registered_redirect = config.redirect_uri(url.origin());
    let query: std::collections::BTreeMap<String, String> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let endpoint = format!("{}{}", url.origin(), crate::dev_operator::AUTHORIZE_PATH);
    let msisdn = req.headers().get("x-network-msisdn")?;
    let registered = crate::dev_carrier::registered_key(&app.env);
    let location = crate::dev_operator::authorize(
        &query,
        &registered_redirect,
        &endpoint,
        msisdn.as_deref(),
        registered.as_ref(),
        app.random()?,
        app.now,
    );
    match location {
        Some(location) => {
            let mut response = Response::empty()?.with_status(302);
            response.headers_mut().set("location", &location)?;
            marked(response)
        }
        None => marked(json(&json!({ "error": "invalid_request" }), 400)?),
    }
}
