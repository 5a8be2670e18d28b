//! The carrier's own view of the SIM (CAMARA SIM Swap v2, Device Swap v1):
//! the client assertion the worker authenticates with (`private_key_jwt`),
//! the dates the carrier reports, and what SimBind decides from them at bind
//! and at verify (docs/PROTOCOL.md §5, SECURITY.md). No I/O: the worker
//! fetches, this module decides.

use serde::{Deserialize, Serialize};

use crate::Denial;
use crate::codec::b64;

/// `client_assertion_type` of a JWT client assertion (RFC 7523).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Lifetime of a client assertion, in seconds (CAMARA: at most 300).
pub const ASSERTION_TTL_SECS: u64 = 120;
/// Largest `maxAge` CAMARA SIM Swap accepts, in hours.
pub const MAX_AGE_HOURS_LIMIT: u32 = 2400;

#[derive(Serialize)]
struct AssertionHeader<'a> {
    alg: &'a str,
    typ: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

/// The claims of a client assertion: the client is both issuer and subject,
/// the audience is the token endpoint, and it lives [`ASSERTION_TTL_SECS`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssertionClaims {
    /// The client id.
    pub iss: String,
    /// The client id.
    pub sub: String,
    /// The token endpoint URL.
    pub aud: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// A unique id: b64u of 16 random bytes.
    pub jti: String,
}

/// The bytes an ES256 client assertion's signature covers,
/// `b64u(header) "." b64u(claims)`; [`crate::grant::signed`] makes the token.
pub fn assertion_signing_input(
    client_id: &str,
    token_endpoint: &str,
    kid: Option<&str>,
    now: u64,
    jti: [u8; 16],
) -> String {
    let header = AssertionHeader {
        alg: "ES256",
        typ: "JWT",
        kid,
    };
    let claims = AssertionClaims {
        iss: client_id.to_owned(),
        sub: client_id.to_owned(),
        aud: token_endpoint.to_owned(),
        iat: now,
        exp: now + ASSERTION_TTL_SECS,
        jti: b64(&jti),
    };
    // Plain structs of strings and integers: serializing cannot fail.
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let claims = serde_json::to_vec(&claims).unwrap_or_default();
    format!("{}.{}", b64(&header), b64(&claims))
}

/// Reads an RFC 3339 `date-time` (`2026-11-30T10:00:00Z`,
/// `2026-11-30T10:00:00.25+01:00`) as Unix seconds, fractions dropped.
/// Dates before 1970 and anything malformed are `None`.
pub fn parse_date_time(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    let num = |range: core::ops::Range<usize>| -> Option<u64> {
        let part = b.get(range)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        core::str::from_utf8(part).ok()?.parse().ok()
    };
    let sep = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(sep(4, b'-')
        && sep(7, b'-')
        && matches!(b.get(10), Some(b'T' | b't'))
        && sep(13, b':')
        && sep(16, b':'))
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = 19;
    if sep(rest, b'.') {
        let digits = b
            .get(rest + 1..)?
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        rest += 1 + digits;
    }
    let offset: i64 = match b.get(rest..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let field = |x: &u8, y: &u8| -> Option<i64> {
                (x.is_ascii_digit() && y.is_ascii_digit())
                    .then(|| i64::from((x - b'0') * 10 + (y - b'0')))
            };
            let (h, m) = (field(h1, h2)?, field(m1, m2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = h * 60 + m;
            if *sign == b'+' {
                minutes * 60
            } else {
                -minutes * 60
            }
        }
        _ => return None,
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let days_in_month = *month_days.get(usize::try_from(month).ok()?.checked_sub(1)?)?;
    if year < 1970 || day == 0 || day > days_in_month || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = i64::try_from(era * 146_097 + doe).ok()? - 719_468;
    let seconds = days * 86_400 + i64::try_from(hour * 3600 + minute * 60 + second).ok()? - offset;
    u64::try_from(seconds).ok()
}

/// Writes Unix seconds as an RFC 3339 `date-time` in UTC
/// (`2026-11-30T10:00:00Z`), as CAMARA subscriptions take their expiry.
pub fn format_date_time(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days from 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    let (hour, minute, second) = (rem / 3600, rem % 3600 / 60, rem % 60);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

/// What the carrier says about a number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarrierFacts {
    /// The latest SIM change (`latestSimChange`), Unix seconds; `None`: none
    /// in the carrier's monitored period.
    pub sim_changed_at: Option<u64>,
    /// Whether the carrier's `check` says the SIM changed within `maxAge`.
    pub swapped_within_max_age: bool,
    /// The latest device change (`latestDeviceChange`), when asked.
    pub device_changed_at: Option<u64>,
}

/// Why the carrier gave no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CarrierFailure {
    /// No answer within the configured timeout.
    Timeout,
    /// `404 IDENTIFIER_NOT_FOUND`: the carrier does not know the number.
    NotFound,
    /// `422` (`SERVICE_NOT_APPLICABLE` and the identifier codes): the service
    /// does not apply to the number.
    NotApplicable,
    /// `429`: the carrier's quota or rate limit.
    RateLimited,
    /// `5xx`, an answer that is not the specification's, or a network error.
    Unavailable,
    /// `401`/`403`, or the token endpoint refusing: SimBind's credentials.
    Unauthorized,
}

impl CarrierFailure {
    /// The label in audit events and logs.
    pub fn label(self) -> &'static str {
        match self {
            Self::Timeout => "carrier_timeout",
            Self::NotFound => "carrier_not_found",
            Self::NotApplicable => "carrier_not_applicable",
            Self::RateLimited => "carrier_rate_limited",
            Self::Unavailable => "carrier_unavailable",
            Self::Unauthorized => "carrier_unauthorized",
        }
    }
}

/// What to do when the carrier gives no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFailure {
    /// Go ahead without the carrier's view.
    Open,
    /// Refuse (`carrier_unavailable`).
    Closed,
}

impl OnFailure {
    /// Reads `open` or `closed`.
    pub fn parse(label: &str) -> Option<Self> {
        match label {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

/// The deployment's carrier policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CarrierPolicy {
    /// A SIM change this recent refuses a bind (`maxAge`, 1 to 2400 hours).
    pub max_age_hours: u32,
    /// How often a verification asks the carrier again, per binding; `None`:
    /// never (only at bind).
    pub verify_every_secs: Option<u64>,
    /// Whether device changes count too (Device Swap).
    pub device_swap: bool,
    /// At bind, when the carrier gives no answer (default closed).
    pub bind_on_failure: OnFailure,
    /// At verify, when the carrier gives no answer (default open).
    pub verify_on_failure: OnFailure,
}

impl Default for CarrierPolicy {
    fn default() -> Self {
        Self {
            max_age_hours: 240,
            verify_every_secs: None,
            device_swap: true,
            bind_on_failure: OnFailure::Closed,
            verify_on_failure: OnFailure::Open,
        }
    }
}

/// What a binding keeps of the carrier's view: the change dates seen at
/// bind (later ones are swaps) and when the carrier was last asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarrierBaseline {
    /// The latest SIM change the carrier reported at bind.
    pub sim_changed_at: Option<u64>,
    /// The latest device change the carrier reported at bind.
    pub device_changed_at: Option<u64>,
    /// False when the bind went ahead without an answer (fail-open): the
    /// dates are then unknown, and the first answer becomes the baseline.
    pub known: bool,
    /// When the carrier was last asked (answered or not), Unix seconds.
    pub checked_at: u64,
}

/// The bind's decision on the carrier's answer: refused when the carrier's
/// `check` says the SIM was swapped within `maxAge`; otherwise the dates
/// `retrieve-date` gave are the baseline the binding keeps.
pub fn at_bind(
    policy: &CarrierPolicy,
    answer: Result<CarrierFacts, CarrierFailure>,
    now: u64,
) -> Result<CarrierBaseline, Denial> {
    match answer {
        Ok(facts) => {
            // The carrier's `check` decides: `retrieve-date` also answers a
            // first activation, which is not a swap.
            if facts.swapped_within_max_age {
                return Err(Denial::CarrierSimSwapped);
            }
            Ok(CarrierBaseline {
                sim_changed_at: facts.sim_changed_at,
                device_changed_at: facts.device_changed_at,
                known: true,
                checked_at: now,
            })
        }
        Err(_) if policy.bind_on_failure == OnFailure::Closed => Err(Denial::CarrierUnavailable),
        Err(_) => Ok(CarrierBaseline {
            sim_changed_at: None,
            device_changed_at: None,
            known: false,
            checked_at: now,
        }),
    }
}

/// Whether a verification at `now` asks the carrier (at most once per
/// `verify_every_secs` per binding).
pub fn verify_due(policy: &CarrierPolicy, baseline: Option<&CarrierBaseline>, now: u64) -> bool {
    policy
        .verify_every_secs
        .is_some_and(|every| baseline.is_none_or(|b| now >= b.checked_at.saturating_add(every)))
}

/// A verification's decision on the carrier's answer, and the baseline to
/// keep (`None`: keep the stored one as it is): a SIM (or, by policy,
/// device) change later than the baseline's is `carrier_sim_swapped`
/// (`carrier_device_swapped`), which suspends the binding at once; no answer
/// refuses (`carrier_unavailable`) only when verify fails closed, and then
/// leaves the baseline untouched so the next verification asks again. A
/// binding without a known baseline takes the first answer as its baseline.
pub fn at_verify(
    policy: &CarrierPolicy,
    baseline: Option<&CarrierBaseline>,
    answer: Result<CarrierFacts, CarrierFailure>,
    now: u64,
) -> (Result<(), Denial>, Option<CarrierBaseline>) {
    let Ok(facts) = answer else {
        return match policy.verify_on_failure {
            // Still due: the next verification asks again, and is refused
            // again while the carrier stays silent.
            OnFailure::Closed => (Err(Denial::CarrierUnavailable), None),
            // Open: asked again after the interval, not on every request.
            OnFailure::Open => {
                let kept = baseline.map_or(
                    CarrierBaseline {
                        sim_changed_at: None,
                        device_changed_at: None,
                        known: false,
                        checked_at: now,
                    },
                    |b| CarrierBaseline {
                        checked_at: now,
                        ..*b
                    },
                );
                (Ok(()), Some(kept))
            }
        };
    };
    let fresh = CarrierBaseline {
        sim_changed_at: facts.sim_changed_at,
        device_changed_at: facts.device_changed_at,
        known: true,
        checked_at: now,
    };
    let Some(base) = baseline.filter(|b| b.known) else {
        return (Ok(()), Some(fresh));
    };
    let newer =
        |seen: Option<u64>, known: Option<u64>| seen.is_some_and(|at| known.is_none_or(|k| at > k));
    if newer(facts.sim_changed_at, base.sim_changed_at) {
        // The old baseline stays: the swap stays a swap until the owner
        // re-binds (a new baseline) or an operator reinstates the binding.
        return (Err(Denial::CarrierSimSwapped), None);
    }
    if policy.device_swap && newer(facts.device_changed_at, base.device_changed_at) {
        return (Err(Denial::CarrierDeviceSwapped), None);
    }
    (Ok(()), Some(fresh))
}
