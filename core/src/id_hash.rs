//! Keyed hashes of subscriber identifiers, the only form in which phone
//! numbers, SIM fields and chip serials are stored:
//! `HMAC-SHA256(pepper, field("SIMBIND-ID") || field(kind) || field(value))`.

use hmac::Mac;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::codec::{hex, keyed_mac, put_field};
use crate::sim::SimField;

/// Domain label of identifier hashes.
pub const DOMAIN: &[u8] = b"SIMBIND-ID";

/// What kind of identifier is hashed; part of the hash input, so equal
/// strings of different kinds never collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    /// An E.164 phone number (label `msisdn`).
    PhoneNumber,
    /// A field of the SIM block (label: the field's wire name, `iccid`,
    /// `subscription_id`, …; the SIM's own number is labelled `msisdn` like
    /// [`IdKind::PhoneNumber`], so the two compare).
    Sim(SimField),
    /// A chip serial, or a real-format chip's key id (label `chip-serial`).
    ChipSerial,
    /// A chip serial together with the key that claims it (the chip index
    /// of chips whose serial nothing attests).
    ChipKey,
    /// A device-SMS token (label `sms-token`): the name of its route object.
    SmsToken,
    /// A client's IP address (rate limiting only).
    ClientAddress,
}

impl IdKind {
    /// Label written into the hash input.
    pub fn label(self) -> &'static str {
        match self {
            Self::PhoneNumber => "msisdn",
            Self::Sim(field) => field.label(),
            Self::ChipSerial => "chip-serial",
            Self::ChipKey => "chip-key",
            Self::SmsToken => "sms-token",
            Self::ClientAddress => "client-ip",
        }
    }
}

/// A keyed identifier hash, serialized as 64 lowercase hex characters.
/// Equality is constant-time, so `==` is as safe as [`IdHash::ct_eq`].
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdHash(String);

impl PartialEq for IdHash {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other)
    }
}

impl Eq for IdHash {}

impl core::fmt::Debug for IdHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "IdHash({})", &self.0)
    }
}

impl IdHash {
    /// Constant-time comparison.
    pub fn ct_eq(&self, other: &IdHash) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }

    /// The hex text (safe to use as a storage key).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Hashes identifiers under the deployment's pepper.
#[derive(Clone)]
pub struct IdHasher {
    pepper: Vec<u8>,
}

impl IdHasher {
    /// A hasher keyed with `pepper` (a server secret).
    pub fn new(pepper: &[u8]) -> Self {
        Self {
            pepper: pepper.to_vec(),
        }
    }

    /// The keyed hash of `value` as an identifier of `kind`.
    pub fn hash(&self, kind: IdKind, value: &str) -> IdHash {
        let mut input = Vec::with_capacity(64);
        put_field(&mut input, kind.label().as_bytes());
        put_field(&mut input, value.as_bytes());
        let mut mac = keyed_mac(&self.pepper, DOMAIN);
        mac.update(&input);
        let digest = mac.finalize().into_bytes();
        IdHash(hex(&digest))
    }
}
