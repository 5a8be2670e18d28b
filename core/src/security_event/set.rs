//! The Security Event Token (RFC 8417) as SSF 1.0 profiles it: header
//! `typ: secevent+jwt` with the signing key's `kid`; claims `iss`, `jti`,
//! `iat`, `aud`, `sub_id` (RFC 9493) and one event in `events`; no `sub`.

use serde_json::{Value, json};

use super::SecurityEvent;
use crate::codec::b64;

/// The SET's JOSE `typ`.
pub const TYP: &str = "secevent+jwt";

/// How a receiver names the binding an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubjectFormat {
    /// `opaque`: the binding id (the grant's `sub`). The default.
    Opaque,
    /// `phone_number`: the bound number in clear; only where the operator
    /// opted in for that receiver.
    PhoneNumber,
}

impl SubjectFormat {
    /// `opaque` or `phone_number`; anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "opaque" => Some(Self::Opaque),
            "phone_number" => Some(Self::PhoneNumber),
            _ => None,
        }
    }
}

/// The algorithm a receiver's SETs are signed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetAlg {
    /// RS256, the CAEP interoperability profile's (key of 2048 bits or more).
    Rs256,
    /// ES256 on P-256, for a receiver that asks for it.
    Es256,
}

impl SetAlg {
    /// `RS256` or `ES256`; anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }

    /// The JOSE `alg`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }
}

/// The `sub_id` of an event about `binding_id`: the number when the
/// receiver asked for it and the binding still has it, else the id.
pub fn subject(format: SubjectFormat, binding_id: &str, number: Option<&str>) -> Value {
    match (format, number) {
        (SubjectFormat::PhoneNumber, Some(number)) => {
            json!({ "format": "phone_number", "phone_number": number })
        }
        _ => json!({ "format": "opaque", "id": binding_id }),
    }
}

/// Everything a SET says besides its event.
pub struct Envelope<'a> {
    /// The deployment's issuer.
    pub iss: &'a str,
    /// Unique per event; a receiver dedupes by it.
    pub jti: &'a str,
    /// When the change was stored, Unix seconds.
    pub iat: u64,
    /// The receiver's audience.
    pub aud: &'a str,
    /// The subject ([`subject`]).
    pub sub_id: Value,
}

/// The SET's signing input (`b64u(header) "." b64u(claims)`), to be signed
/// with the key `kid` by `alg`.
pub fn signing_input(
    alg: SetAlg,
    kid: &str,
    envelope: Envelope<'_>,
    event: &SecurityEvent,
) -> String {
    let header = json!({ "alg": alg.label(), "typ": TYP, "kid": kid });
    let claims = json!({
        "iss": envelope.iss,
        "jti": envelope.jti,
        "iat": envelope.iat,
        "aud": envelope.aud,
        "sub_id": envelope.sub_id,
        "events": { event.event_type.as_str(): event.payload },
    });
    format!(
        "{}.{}",
        b64(crate::codec::json_text(&header).as_bytes()),
        b64(crate::codec::json_text(&claims).as_bytes())
    )
}
