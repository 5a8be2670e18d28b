//! Push delivery (RFC 8935) decided: what a receiver's answer means for the
//! SET (delivered, rejected, tried again when) and for its stream (a 410 or
//! too many permanent failures in a row disable it), the retry schedule,
//! `Retry-After`, and the receivers an operator configured.

use serde::{Deserialize, Serialize};

use super::set::{SetAlg, SubjectFormat};

/// The retry schedule and the outbox's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// The first retry's delay (ms); each next one doubles it.
    pub base_ms: u64,
    /// The longest delay between two attempts (ms), `Retry-After` included.
    pub max_ms: u64,
    /// An event not delivered within this many seconds of its change is
    /// dropped (and counted).
    pub ttl_secs: u64,
    /// Events kept per binding and receiver; past it the oldest is dropped
    /// (and counted).
    pub cap: u64,
    /// Permanent failures in a row (across the stream) that disable it.
    pub disable_after: u32,
}

impl Schedule {
    /// The default: 10 s doubling to 1 h, kept 3 days, 64 per binding,
    /// disabled after 20 permanent failures in a row.
    pub const DEFAULT: Schedule = Schedule {
        base_ms: 10_000,
        max_ms: 3_600_000,
        ttl_secs: 3 * 24 * 3600,
        cap: 64,
        disable_after: 20,
    };

    /// The delay before attempt `attempts + 1`, after `attempts` failed.
    pub fn backoff_ms(&self, attempts: u32) -> u64 {
        let factor = 1u64
            .checked_shl(attempts.saturating_sub(1))
            .unwrap_or(u64::MAX);
        self.base_ms.saturating_mul(factor).min(self.max_ms)
    }

    /// Whether an event stored at `at_ms` is past its time to live.
    pub fn expired(&self, at_ms: u64, now_ms: u64) -> bool {
        now_ms.saturating_sub(at_ms) > self.ttl_secs.saturating_mul(1000)
    }
}

/// What came back from one POST of a SET.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply<'a> {
    /// An HTTP answer: status, `Retry-After`, and RFC 8935's `err` code.
    Status {
        /// The HTTP status.
        code: u16,
        /// The `Retry-After` header, as sent.
        retry_after: Option<&'a str>,
        /// The error body's `err`, on a 400.
        err: Option<&'a str>,
    },
    /// No answer within the attempt's deadline.
    TimedOut,
    /// No connection, or an answer that could not be read.
    Unreachable,
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Accepted (2xx): drop it from the outbox.
    Delivered,
    /// The receiver refused this SET itself (400 `invalid_request`): sending
    /// it again cannot help; dropped and counted.
    Rejected,
    /// Try again at `at_ms`; `permanent` counts toward disabling the stream
    /// (the receiver refused the stream, not this SET: kept).
    Retry {
        /// When to try again (ms).
        at_ms: u64,
        /// A failure that repeats until someone changes a configuration.
        permanent: bool,
    },
    /// 410 Gone: the receiver ended the stream; disable it.
    Gone,
}

/// The 400 `err` codes (RFC 8935 §2.3) that refuse the stream rather than
/// one SET: the same SET, and every other, fails until configuration changes.
const STREAM_ERRORS: [&str; 5] = [
    "invalid_key",
    "invalid_issuer",
    "invalid_audience",
    "authentication_failed",
    "access_denied",
];

/// Decides an attempt's outcome; `attempts` counts this one.
pub fn next(schedule: &Schedule, reply: Reply<'_>, attempts: u32, now_ms: u64) -> Next {
    let later = |permanent| Next::Retry {
        at_ms: now_ms.saturating_add(schedule.backoff_ms(attempts)),
        permanent,
    };
    match reply {
        Reply::Status { code, .. } if (200..300).contains(&code) => Next::Delivered,
        Reply::Status { code: 410, .. } => Next::Gone,
        Reply::Status {
            code: 429,
            retry_after,
            ..
        } => match retry_after.and_then(|v| retry_after_ms(v, now_ms)) {
            Some(wait) => Next::Retry {
                at_ms: now_ms.saturating_add(wait.clamp(schedule.base_ms, schedule.max_ms)),
                permanent: false,
            },
            None => later(false),
        },
        Reply::Status { code: 400, err, .. } => match err {
            Some(err) if STREAM_ERRORS.contains(&err) => later(true),
            _ => Next::Rejected,
        },
        Reply::Status { code: 408, .. } => later(false),
        Reply::Status { code, .. } if (300..500).contains(&code) => later(true),
        Reply::Status { .. } | Reply::TimedOut | Reply::Unreachable => later(false),
    }
}

/// `Retry-After` (RFC 9110 §10.2.3) as a delay in ms: delta-seconds, or an
/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) counted from `now_ms`.
pub fn retry_after_ms(value: &str, now_ms: u64) -> Option<u64> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(|s| s.saturating_mul(1000));
    }
    let at = imf_fixdate(value)?;
    Some(at.saturating_mul(1000).saturating_sub(now_ms))
}

/// An IMF-fixdate as Unix seconds: read as the RFC 3339 instant it names,
/// by the carrier dates' own parser.
fn imf_fixdate(value: &str) -> Option<u64> {
    let mut words = value.split(' ');
    let (Some(_day), Some(d), Some(mon), Some(y), Some(hms), Some("GMT"), None) = (
        words.next(),
        words.next(),
        words.next(),
        words.next(),
        words.next(),
        words.next(),
        words.next(),
    ) else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == mon)? + 1;
    crate::carrier::parse_date_time(&format!("{y}-{month:02}-{d}T{hms}Z"))
}

/// A stream's status, as SSF names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamStatus {
    /// Events are delivered.
    Enabled,
    /// Events are kept (within the outbox's bounds) and delivered once enabled.
    Paused,
    /// Events are neither delivered nor kept.
    Disabled,
}

impl StreamStatus {
    /// `enabled`, `paused` or `disabled`; anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "enabled" => Some(Self::Enabled),
            "paused" => Some(Self::Paused),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// A stream's state and counters, kept by the stream's own object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamState {
    /// Enabled, paused or disabled.
    pub status: StreamStatus,
    /// Why it has that status (operator's words or the failure that disabled it).
    #[serde(default)]
    pub reason: Option<String>,
    /// SETs the receiver accepted.
    #[serde(default)]
    pub delivered: u64,
    /// SETs the receiver refused (400 `invalid_request`), dropped.
    #[serde(default)]
    pub rejected: u64,
    /// SETs dropped undelivered: outbox full, past their time to live, or
    /// the stream disabled.
    #[serde(default)]
    pub dropped: u64,
    /// Permanent failures since the last delivery.
    #[serde(default)]
    pub failures_in_a_row: u32,
    /// When the first of them happened (Unix ms).
    #[serde(default)]
    pub failing_since: Option<u64>,
    /// The last failure's label.
    #[serde(default)]
    pub last_error: Option<String>,
}

impl Default for StreamState {
    fn default() -> Self {
        Self {
            status: StreamStatus::Enabled,
            reason: None,
            delivered: 0,
            rejected: 0,
            dropped: 0,
            failures_in_a_row: 0,
            failing_since: None,
            last_error: None,
        }
    }
}

impl StreamState {
    /// Counts an attempt's outcome at `now_ms` (`label` names a failure).
    /// A 410 disables the stream at once; permanent failures do only once
    /// there were `schedule.disable_after` in a row **and** they have gone
    /// on for the longest retry interval: a burst of bindings retrying
    /// through a short outage (a token rotated, a receiver redeployed)
    /// cannot throw every binding's events away.
    pub fn record(&mut self, next: Next, label: &str, schedule: &Schedule, now_ms: u64) {
        let permanent = match next {
            Next::Delivered => {
                self.delivered += 1;
                self.failures_in_a_row = 0;
                self.failing_since = None;
                return;
            }
            Next::Rejected => {
                self.rejected += 1;
                true
            }
            Next::Retry { permanent, .. } => permanent,
            Next::Gone => {
                self.disable("the receiver answered 410 Gone");
                false
            }
        };
        if permanent {
            self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
            self.failing_since.get_or_insert(now_ms);
        }
        self.last_error = Some(label.to_owned());
        let lasting = self
            .failing_since
            .is_some_and(|since| now_ms.saturating_sub(since) >= schedule.max_ms);
        if self.status == StreamStatus::Enabled
            && self.failures_in_a_row >= schedule.disable_after
            && lasting
        {
            self.disable("permanent failures for longer than the longest retry interval");
        }
    }

    fn disable(&mut self, why: &str) {
        self.status = StreamStatus::Disabled;
        self.reason = Some(why.to_owned());
    }
}

/// How a stream's SETs reach the receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryMethod {
    /// RFC 8935: SimBind POSTs each SET to the receiver's endpoint.
    Push,
    /// RFC 8936: the receiver polls `POST /ssf/poll/{stream id}` and
    /// acknowledges what it took.
    Poll,
}

impl DeliveryMethod {
    /// The method's URN in SSF metadata.
    pub fn urn(self) -> &'static str {
        match self {
            Self::Push => "urn:ietf:rfc:8935",
            Self::Poll => "urn:ietf:rfc:8936",
        }
    }
}

/// A receiver the operator configured (`SSF_RECEIVERS`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receiver {
    /// The stream id (letters, digits, `-`, `_`; at most 64).
    pub id: String,
    /// Push or poll.
    pub delivery: DeliveryMethod,
    /// Where SETs are POSTed (push; empty for poll).
    pub endpoint: String,
    /// The SETs' `aud`.
    pub audience: String,
    /// Event types delivered (every supported type when not configured).
    pub events: Vec<String>,
    /// How the subject is named.
    pub subject: SubjectFormat,
    /// How SETs are signed.
    pub alg: SetAlg,
    /// The secret holding the `Authorization` header value: sent with each
    /// push, or expected on each poll (required for poll).
    pub authorization_secret: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReceiver {
    id: String,
    delivery: Option<String>,
    endpoint: Option<String>,
    audience: Option<String>,
    events: Option<Vec<String>>,
    subject: Option<String>,
    alg: Option<String>,
    authorization_secret: Option<String>,
}

/// Why `SSF_RECEIVERS` was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReceiverError {
    /// Not a JSON array of receivers with the documented members.
    #[error("SSF_RECEIVERS must be a JSON array of receivers")]
    Malformed,
    /// An id used twice or not `[A-Za-z0-9_-]{1,64}`.
    #[error("a receiver id is invalid or used twice")]
    BadId,
    /// An endpoint that is not `https://` (outside dev mode).
    #[error("a receiver endpoint must be an https:// URL")]
    NotHttps,
    /// An event type the deployment does not send.
    #[error("a receiver asks for an event type that is not sent")]
    UnknownEvent,
    /// `subject` other than `opaque` or `phone_number`, `alg` other than
    /// `RS256` or `ES256`, `delivery` other than `push` or `poll`.
    #[error("a receiver's subject, alg or delivery is not supported")]
    Unsupported,
    /// A poll stream without `authorization_secret` (the receiver's token),
    /// or with an `endpoint`.
    #[error("a poll receiver needs authorization_secret and no endpoint")]
    PollShape,
}

/// Reads `SSF_RECEIVERS`; `supported` is every event type sent, and
/// `dev_mode` allows `http://` endpoints.
pub fn parse_receivers(
    json: &str,
    supported: &[String],
    dev_mode: bool,
) -> Result<Vec<Receiver>, ReceiverError> {
    let raw: Vec<RawReceiver> =
        serde_json::from_slice(json.as_bytes()).map_err(|_| ReceiverError::Malformed)?;
    let mut out: Vec<Receiver> = Vec::with_capacity(raw.len());
    for r in raw {
        let id_ok = (1..=64).contains(&r.id.len())
            && r.id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !id_ok || out.iter().any(|o| o.id == r.id) {
            return Err(ReceiverError::BadId);
        }
        let delivery = match r.delivery.as_deref() {
            None | Some("push") => DeliveryMethod::Push,
            Some("poll") => DeliveryMethod::Poll,
            Some(_) => return Err(ReceiverError::Unsupported),
        };
        let endpoint = match (delivery, r.endpoint) {
            (DeliveryMethod::Push, Some(url))
                if url.starts_with("https://") || dev_mode && url.starts_with("http://") =>
            {
                url
            }
            (DeliveryMethod::Push, _) => return Err(ReceiverError::NotHttps),
            (DeliveryMethod::Poll, None) if r.authorization_secret.is_some() => String::new(),
            (DeliveryMethod::Poll, _) => return Err(ReceiverError::PollShape),
        };
        let events = match r.events {
            None => supported.to_vec(),
            Some(events) if events.iter().all(|e| supported.contains(e)) => events,
            Some(_) => return Err(ReceiverError::UnknownEvent),
        };
        let subject = match r.subject.as_deref() {
            None => Some(SubjectFormat::Opaque),
            Some(s) => SubjectFormat::parse(s),
        };
        let alg = match r.alg.as_deref() {
            None => Some(SetAlg::Rs256),
            Some(a) => SetAlg::parse(a),
        };
        let (Some(subject), Some(alg)) = (subject, alg) else {
            return Err(ReceiverError::Unsupported);
        };
        let audience = match (r.audience, delivery) {
            (Some(audience), _) => audience,
            (None, DeliveryMethod::Push) => endpoint.clone(),
            (None, DeliveryMethod::Poll) => r.id.clone(),
        };
        out.push(Receiver {
            audience,
            id: r.id,
            delivery,
            endpoint,
            events,
            subject,
            alg,
            authorization_secret: r.authorization_secret,
        });
    }
    Ok(out)
}

/// A poll (RFC 8936 §2.4): SETs to acknowledge or report, and how many new
/// ones to return.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PollRequest {
    /// At most this many SETs back (0: acknowledge only); unset: [`POLL_MAX`].
    #[serde(default)]
    pub max_events: Option<u32>,
    /// Answered at once either way: SimBind does not hold polls open.
    #[serde(default)]
    pub return_immediately: Option<bool>,
    /// The `jti`s the receiver took.
    #[serde(default)]
    pub ack: Vec<String>,
    /// SETs the receiver refused, by `jti` (counted as rejected, dropped).
    #[serde(default)]
    pub set_errs: std::collections::BTreeMap<String, serde::de::IgnoredAny>,
}

/// The most SETs one poll answer carries.
pub const POLL_MAX: u32 = 100;
/// The most `jti`s one poll may acknowledge or report (a poll body stays
/// within the API's 8 KiB).
pub const POLL_ACK_MAX: usize = 200;

impl PollRequest {
    /// Reads a poll body; `None` for anything RFC 8936 does not define, or
    /// more than [`POLL_ACK_MAX`] acknowledgements, or a `jti` over 64 bytes.
    pub fn parse(body: &[u8]) -> Option<Self> {
        serde_json::from_slice::<Self>(body).ok()?.checked()
    }

    /// The poll, if its lists are within bounds.
    pub fn checked(self) -> Option<Self> {
        let listed = self.ack.len() + self.set_errs.len();
        let fits = |jti: &String| !jti.is_empty() && jti.len() <= 64;
        (listed <= POLL_ACK_MAX && self.ack.iter().all(fits) && self.set_errs.keys().all(fits))
            .then_some(self)
    }

    /// How many SETs to return.
    pub fn max(&self) -> u32 {
        self.max_events.map_or(POLL_MAX, |m| m.min(POLL_MAX))
    }
}

/// A poll answer, `{"sets": {jti: SET, …}, "moreAvailable": bool}`, with
/// the SETs in the order they were stored (JSON objects keep the order
/// they are written in; a receiver may also order by `iat`).
pub fn poll_answer(sets: &[(String, String)], more: bool) -> String {
    let mut out = String::from("{\"sets\":{");
    for (i, (jti, token)) in sets.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&crate::codec::json_text(&serde_json::Value::from(
            jti.as_str(),
        )));
        out.push(':');
        out.push_str(&crate::codec::json_text(&serde_json::Value::from(
            token.as_str(),
        )));
    }
    out.push_str("},\"moreAvailable\":");
    out.push_str(if more { "true" } else { "false" });
    out.push('}');
    out
}
