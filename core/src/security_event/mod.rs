//! Security events for the relying party (OpenID Shared Signals Framework
//! 1.0): which stored change of a binding yields which CAEP or RISC event,
//! its subject and its reason ([`Change::event`]); the Security Event Token
//! around it ([`set`]); the keys that sign it ([`key`]); and what a push
//! delivery's answer decides ([`delivery`]). Pure: the worker stores the
//! event in the same step as the change and delivers it later.

pub mod delivery;
pub mod key;
pub mod set;

use serde_json::{Value, json};

use crate::Denial;
use crate::binding::ProofMethod;

/// CAEP's `credential-change`: a binding made, moved to a new SIM, ended.
pub const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
/// CAEP's `risk-level-change`: a binding suspended, or its suspension lifted.
pub const RISK_LEVEL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/risk-level-change";
/// SSF's `verification`: sent on request, to prove the stream works.
pub const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";
/// SimBind's own type (under the issuer): someone proved the number, or
/// presented the chip, and tried to bind it elsewhere; refused.
pub const TAKEOVER_REFUSED: &str = "/secevent/takeover-refused";
/// SimBind's own type (under the issuer): the carrier ended the binding's
/// SIM-swap subscription (a new one is made at once).
pub const CARRIER_SUBSCRIPTION_ENDED: &str = "/secevent/carrier-subscription-ended";

/// A change to a binding, stored, that the relying party hears about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// A new binding: chip, SIM and number, proven by this method.
    Bound(Option<ProofMethod>),
    /// The bound chip moved the binding to a new SIM, the number re-proven.
    Rebound(Option<ProofMethod>),
    /// Suspended: every grant refused until re-bound or reinstated; the
    /// cause is the refusal that suspended it.
    Suspended(Denial),
    /// An operator lifted a suspension.
    Reinstated,
    /// The bound chip ended the binding.
    Unbound,
    /// An operator revoked the binding.
    Revoked,
    /// A bind of this binding's number (or chip) elsewhere, refused.
    TakeoverRefused(Denial),
    /// The carrier ended the binding's SIM-swap subscription.
    CarrierSubscriptionEnded,
}

/// One event of a Security Event Token: its type URI and its payload.
#[derive(Clone, Debug, PartialEq)]
pub struct SecurityEvent {
    /// The event type (a key of the SET's `events`).
    pub event_type: String,
    /// The event's members.
    pub payload: Value,
}

impl Change {
    /// The change's stable label (the payload's `simbind_change`).
    pub fn label(self) -> &'static str {
        match self {
            Change::Bound(_) => "bound",
            Change::Rebound(_) => "rebound",
            Change::Suspended(_) => "suspended",
            Change::Reinstated => "reinstated",
            Change::Unbound => "unbound",
            Change::Revoked => "revoked",
            Change::TakeoverRefused(_) => "takeover_refused",
            Change::CarrierSubscriptionEnded => "carrier_subscription_ended",
        }
    }

    /// The event this change yields, as of `at` (Unix seconds), for the
    /// deployment `issuer` (SimBind's own types live under it).
    pub fn event(self, issuer: &str, at: u64) -> SecurityEvent {
        let credential = |credential_type: &str, change_type: &str, by: &str, why: String| {
            json!({
                "credential_type": credential_type,
                "change_type": change_type,
                "friendly_name": "SimBind device and SIM binding",
                "initiating_entity": by,
                "reason_admin": { "en": why },
            })
        };
        let proven = |proof: Option<ProofMethod>| match proof {
            Some(p) => format!(", number proven by {}", p.label()),
            None => String::new(),
        };
        let (event_type, mut payload) = match self {
            Change::Bound(proof) => (
                CREDENTIAL_CHANGE.to_owned(),
                credential("app", "create", "user", format!("bound{}", proven(proof))),
            ),
            Change::Rebound(proof) => (
                CREDENTIAL_CHANGE.to_owned(),
                credential(
                    "phone-sms",
                    "update",
                    "user",
                    format!("re-bound to a new SIM{}", proven(proof)),
                ),
            ),
            Change::Unbound => (
                CREDENTIAL_CHANGE.to_owned(),
                credential("app", "delete", "user", "unbound by the bound chip".into()),
            ),
            Change::Revoked => (
                CREDENTIAL_CHANGE.to_owned(),
                credential("app", "revoke", "admin", "revoked by an operator".into()),
            ),
            Change::Suspended(cause) => (
                RISK_LEVEL_CHANGE.to_owned(),
                json!({
                    "principal": "DEVICE",
                    "current_level": "HIGH",
                    "previous_level": "LOW",
                    "risk_reason": cause.code(),
                    "initiating_entity": "policy",
                }),
            ),
            Change::Reinstated => (
                RISK_LEVEL_CHANGE.to_owned(),
                json!({
                    "principal": "DEVICE",
                    "current_level": "LOW",
                    "previous_level": "HIGH",
                    "risk_reason": "reinstated",
                    "initiating_entity": "admin",
                }),
            ),
            Change::TakeoverRefused(cause) => (
                format!("{issuer}{TAKEOVER_REFUSED}"),
                json!({ "reason": cause.code(), "initiating_entity": "user" }),
            ),
            Change::CarrierSubscriptionEnded => (
                format!("{issuer}{CARRIER_SUBSCRIPTION_ENDED}"),
                json!({ "initiating_entity": "system" }),
            ),
        };
        if let Some(members) = payload.as_object_mut() {
            members.insert("event_timestamp".into(), at.into());
            members.insert("simbind_change".into(), self.label().into());
        }
        SecurityEvent {
            event_type,
            payload,
        }
    }
}

/// Every event type a deployment sends (its SSF `events_supported`).
pub fn event_types(issuer: &str) -> Vec<String> {
    vec![
        CREDENTIAL_CHANGE.to_owned(),
        RISK_LEVEL_CHANGE.to_owned(),
        format!("{issuer}{TAKEOVER_REFUSED}"),
        format!("{issuer}{CARRIER_SUBSCRIPTION_ENDED}"),
        VERIFICATION.to_owned(),
    ]
}

/// The verification event a receiver asked for, echoing its `state`.
pub fn verification(state: Option<&str>) -> SecurityEvent {
    let payload = match state {
        Some(state) => json!({ "state": state }),
        None => json!({}),
    };
    SecurityEvent {
        event_type: VERIFICATION.to_owned(),
        payload,
    }
}
