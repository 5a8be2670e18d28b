//! CAMARA SIM Swap Subscriptions v0.3: the subscription each binding keeps at
//! the carrier, so a swap is pushed the moment it happens; the sink
//! credential the carrier's notifications must carry; and what a
//! notification does to a binding (docs/PROTOCOL.md §11). No I/O: the
//! worker creates, renews and deletes; this module builds and decides.

use serde::{Deserialize, Serialize};

use crate::binding::{BindingRecord, BindingStatus};
use crate::carrier::{format_date_time, parse_date_time};
use crate::codec::{b64, hex, unb64};
use crate::error::SinkRefusal;
use crate::identifiers::{BINDING_PREFIX, OpaqueId};
use crate::seal;

/// The one event type a subscription asks for.
pub const SWAPPED: &str = "org.camaraproject.sim-swap-subscriptions.v0.swapped";
/// Sent without asking when a subscription ends.
pub const ENDED: &str = "org.camaraproject.sim-swap-subscriptions.v0.subscription-ended";
/// Longest subscription id kept (CAMARA sets none; ids are short).
pub const MAX_ID_LEN: usize = 256;

/// What a binding keeps of its subscription at the carrier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    /// The carrier's subscription id.
    pub id: String,
    /// SHA-256 of the sink credential's secret, hex: the notifications'
    /// bearer token is checked against it.
    pub credential: String,
    /// When it was created, Unix seconds.
    pub created_at: u64,
    /// When it (and its sink credential) expires, Unix seconds.
    pub expires_at: u64,
}

impl Subscription {
    /// When to replace it: once three quarters of its life have passed.
    pub fn renew_at(&self) -> u64 {
        let life = self.expires_at.saturating_sub(self.created_at);
        self.expires_at - life / 4
    }
}

/// What a sink credential starts with: a handle, not the binding id.
pub const HANDLE_PREFIX: &str = "snk_";
/// Domain label of the handle's sealing key.
pub const HANDLE_DOMAIN: &[u8] = b"SIMBIND-SINK-HANDLE";
/// Longest handle read (base64url characters after the prefix).
const MAX_HANDLE_LEN: usize = 128;

/// A new sink credential for `binding_id`: the bearer token the carrier is
/// given, `snk_{b64u(sealed binding id)}.{b64u(secret)}`, and the hash the
/// binding keeps. The binding id (every grant's `sub`) is sealed under the
/// pepper with a fresh `nonce`, so the carrier cannot link grants it sees
/// elsewhere to the number it was given, nor two subscriptions of one binding.
pub fn sink_credential(
    pepper: &[u8],
    binding_id: &str,
    nonce: [u8; 12],
    secret: [u8; 32],
) -> (String, String) {
    let handle = seal::seal(
        pepper,
        HANDLE_DOMAIN,
        HANDLE_PREFIX.as_bytes(),
        binding_id.as_bytes(),
        nonce,
    );
    (
        format!("{HANDLE_PREFIX}{}.{}", b64(&handle), b64(&secret)),
        credential_hash(&secret),
    )
}

fn credential_hash(secret: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(secret))
}

/// A notification's `Authorization` header read as a sink credential: the
/// binding its handle opens to and the secret it carries.
pub fn read_bearer(
    pepper: &[u8],
    header: Option<&str>,
) -> Result<(OpaqueId, Vec<u8>), SinkRefusal> {
    let token = header
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or(SinkRefusal::Unauthorized)?;
    let (handle, secret) = token.split_once('.').ok_or(SinkRefusal::Unauthorized)?;
    let handle = handle
        .strip_prefix(HANDLE_PREFIX)
        .filter(|h| h.len() <= MAX_HANDLE_LEN)
        .ok_or(SinkRefusal::Unauthorized)?;
    let sealed = unb64(handle, "credential").map_err(|_| SinkRefusal::Unauthorized)?;
    let id = seal::open(pepper, HANDLE_DOMAIN, HANDLE_PREFIX.as_bytes(), &sealed)
        .and_then(|plain| String::from_utf8(plain).ok())
        .ok_or(SinkRefusal::Unauthorized)?;
    let id = OpaqueId::parse(&id, BINDING_PREFIX).map_err(|_| SinkRefusal::Unauthorized)?;
    let secret = unb64(secret, "credential").map_err(|_| SinkRefusal::Unauthorized)?;
    if secret.len() != 32 {
        return Err(SinkRefusal::Unauthorized);
    }
    Ok((id, secret))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    protocol: &'a str,
    sink: &'a str,
    sink_credential: Credential<'a>,
    types: [&'a str; 1],
    config: Config<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Credential<'a> {
    credential_type: &'a str,
    access_token: &'a str,
    access_token_expires_utc: String,
    access_token_type: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Config<'a> {
    subscription_detail: Detail<'a>,
    subscription_expire_time: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Detail<'a> {
    phone_number: &'a str,
}

/// The body of `POST /subscriptions` (2-legged, so the number is in it):
/// HTTP delivery of `swapped` events to `sink`, with `token` as the bearer
/// credential, both ending at `expires_at`.
pub fn request_body(sink: &str, phone_number: &str, token: &str, expires_at: u64) -> String {
    let request = Request {
        protocol: "HTTP",
        sink,
        sink_credential: Credential {
            credential_type: "ACCESSTOKEN",
            access_token: token,
            access_token_expires_utc: format_date_time(expires_at),
            access_token_type: "bearer",
        },
        types: [SWAPPED],
        config: Config {
            subscription_detail: Detail { phone_number },
            subscription_expire_time: format_date_time(expires_at),
        },
    };
    // Strings and integers only: serializing cannot fail.
    serde_json::to_string(&request).unwrap_or_default()
}

/// The carrier's answer to a creation (`201 Subscription`, or `202` with
/// only the id).
#[derive(Debug, Deserialize)]
pub struct Created {
    /// The subscription id.
    pub id: String,
    /// When the carrier will end it, if it says.
    #[serde(default, rename = "expiresAt")]
    pub expires_at: Option<String>,
}

/// The shortest life a subscription is kept with: an hour, or half the life
/// asked for when that is shorter. A carrier granting less would have every
/// binding re-subscribe every few minutes.
pub fn min_lifetime(asked: u64) -> u64 {
    (asked / 2).min(3600)
}

/// The subscription a binding keeps from the carrier's answer: the
/// carrier's expiry when it is sooner than the one asked for. `None`: an id
/// that is empty, too long, not printable ASCII or only dots (`.` and `..`
/// would be path segments in the URL that deletes it), an unreadable date,
/// or a life shorter than [`min_lifetime`].
pub fn accept(
    created: &Created,
    credential: String,
    now: u64,
    asked_until: u64,
) -> Option<Subscription> {
    let id_ok = !created.id.is_empty()
        && created.id.len() <= MAX_ID_LEN
        && created.id.bytes().all(|b| b.is_ascii_graphic())
        && !created.id.bytes().all(|b| b == b'.');
    if !id_ok {
        return None;
    }
    let expires_at = match &created.expires_at {
        Some(text) => parse_date_time(text)?.min(asked_until),
        None => asked_until,
    };
    let floor = min_lifetime(asked_until.saturating_sub(now));
    if expires_at < now.saturating_add(floor) {
        return None;
    }
    Some(Subscription {
        id: created.id.clone(),
        credential,
        created_at: now,
        expires_at,
    })
}

#[derive(Deserialize)]
struct RawEvent {
    id: String,
    source: String,
    specversion: String,
    #[serde(rename = "type")]
    kind: String,
    time: String,
    #[serde(default)]
    data: Option<RawData>,
}

#[derive(Deserialize)]
struct RawData {
    #[serde(default, rename = "subscriptionId")]
    subscription_id: Option<String>,
}

/// What a notification is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The number's SIM was swapped.
    Swapped,
    /// The subscription ended (expired, deleted, stopped by the carrier).
    Ended,
    /// Anything else the carrier may send (started, updated): taken, no effect.
    Other,
}

/// A notification, read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// What it is about.
    pub kind: EventKind,
    /// The subscription it belongs to (`data.subscriptionId`).
    pub subscription_id: Option<String>,
    /// When it happened, Unix seconds.
    pub time: u64,
}

/// Reads a CloudEvents 1.0 notification (`application/cloudevents+json`).
/// `swapped` and `subscription-ended` must name their subscription.
pub fn read_event(body: &[u8]) -> Result<Event, SinkRefusal> {
    let raw: RawEvent = serde_json::from_slice(body).map_err(|_| SinkRefusal::EventInvalid)?;
    if raw.specversion != "1.0" || raw.id.is_empty() || raw.source.is_empty() {
        return Err(SinkRefusal::EventInvalid);
    }
    let time = parse_date_time(&raw.time).ok_or(SinkRefusal::EventInvalid)?;
    let kind = match raw.kind.as_str() {
        SWAPPED => EventKind::Swapped,
        ENDED => EventKind::Ended,
        _ => EventKind::Other,
    };
    let subscription_id = raw.data.and_then(|d| d.subscription_id);
    if kind != EventKind::Other && subscription_id.is_none() {
        return Err(SinkRefusal::EventInvalid);
    }
    Ok(Event {
        kind,
        subscription_id,
        time,
    })
}

/// What a notification does to its binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Suspend the binding now (`carrier_sim_swapped`).
    Suspend,
    /// The subscription is gone: forget it and subscribe again.
    Resubscribe,
    /// Nothing to do: already suspended, a swap the binding already knew,
    /// or an event with no effect.
    Nothing,
}

/// Decides a notification for `binding` (`None`: no such binding) carrying
/// the credential `secret`, received at `now`. The credential must be the
/// binding's current one, naming its subscription and not past its expiry,
/// or the one of a subscription being created (whose id the binding does
/// not know yet); an ended binding answers `sink_gone`, so the carrier
/// stops. A swap no later than the carrier's baseline is one the bind
/// already saw. An end carrying only the pending credential is not the live
/// subscription's: it changes nothing.
pub fn decide(
    binding: Option<&BindingRecord>,
    secret: &[u8],
    event: &Event,
    now: u64,
) -> Result<Outcome, SinkRefusal> {
    let binding = binding.ok_or(SinkRefusal::Unauthorized)?;
    let presented = credential_hash(secret);
    let matches = |hash: &String| crate::crypto::secret_eq(presented.as_bytes(), hash.as_bytes());
    let current = binding
        .subscription
        .as_ref()
        .filter(|s| matches(&s.credential) && now < s.expires_at);
    let pending = binding.subscription_pending.as_ref().is_some_and(matches);
    match current {
        Some(sub)
            if event
                .subscription_id
                .as_ref()
                .is_some_and(|id| *id != sub.id) =>
        {
            return Err(SinkRefusal::Unauthorized);
        }
        None if !pending => return Err(SinkRefusal::Unauthorized),
        _ => {}
    }
    if binding.status == BindingStatus::Revoked {
        return Err(SinkRefusal::Gone);
    }
    Ok(match event.kind {
        EventKind::Swapped => {
            let known = binding
                .carrier
                .as_ref()
                .filter(|c| c.known)
                .and_then(|c| c.sim_changed_at)
                .is_some_and(|at| event.time <= at);
            if binding.status == BindingStatus::Active && !known {
                Outcome::Suspend
            } else {
                Outcome::Nothing
            }
        }
        EventKind::Ended if current.is_some() => Outcome::Resubscribe,
        EventKind::Ended | EventKind::Other => Outcome::Nothing,
    })
}

/// Suspends `binding` for a swap the carrier reported at `swapped_at`; the
/// swap becomes the baseline's latest SIM change (a repeat of the same
/// notification then changes nothing).
pub fn suspend(binding: &mut BindingRecord, swapped_at: u64, now: u64) {
    binding.status = BindingStatus::Suspended;
    binding.updated_at = now;
    if let Some(baseline) = binding.carrier.as_mut().filter(|c| c.known) {
        baseline.sim_changed_at = Some(
            baseline
                .sim_changed_at
                .map_or(swapped_at, |at| at.max(swapped_at)),
        );
    }
}
