//! Number proof by a device-sent SMS (docs/PROTOCOL.md §9): the service
//! hands the phone a short token, the phone texts it from the SIM that
//! carries the number to the deployment's virtual number, and the SMS
//! provider's inbound webhook reports the sender the network stamped. The
//! bind it proves must come from a registration whose number is that sender.

use hmac::Mac;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::codec::{hex, hmac_sha256, registration_mac};
use crate::error::WebhookRefusal;
use crate::id_hash::IdHash;
use crate::identifiers::PhoneNumber;
use crate::{Denial, ValidationError};

/// Lifetime of a token, in seconds.
pub const TOKEN_TTL_SECS: u64 = 600;
/// What every token starts with, so a provider's text can be searched for it.
pub const TOKEN_PREFIX: &str = "SB-";
/// Characters after the prefix: 10 of Crockford's base32, 50 random bits.
pub const TOKEN_CHARS: usize = 10;
/// Crockford's base32 alphabet (no I, L, O, U).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Domain label of the stored token hash.
pub const DOMAIN: &[u8] = b"SIMBIND-SMS-TOKEN";
/// Domain label of the stored bind-secret hash.
pub const BIND_SECRET_DOMAIN: &[u8] = b"SIMBIND-BIND-SECRET";
/// How far a webhook's timestamp may be from the service's clock, in seconds.
pub const WEBHOOK_TOLERANCE_SECS: u64 = 300;
/// The longest SMS text accepted (ten concatenated parts).
pub const MAX_TEXT_LEN: usize = 1600;
/// Failed binds per registration before it is locked.
pub const MAX_ATTEMPTS: u32 = 5;
/// The webhook's signature header.
pub const SIGNATURE_HEADER: &str = "x-simbind-signature";

/// A token from 8 random bytes: `SB-` and 10 base32 characters (50 bits).
pub fn token_from_random(random: [u8; 8]) -> String {
    let bits = u64::from_be_bytes(random);
    let mut token = String::with_capacity(TOKEN_PREFIX.len() + TOKEN_CHARS);
    token.push_str(TOKEN_PREFIX);
    for i in (0..TOKEN_CHARS).rev() {
        let index = usize::try_from((bits >> (5 * i)) & 31).unwrap_or_default();
        token.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'0')));
    }
    token
}

/// The first token in an SMS text: `SB-` and exactly 10 base32 characters,
/// not inside a longer word. Case is as sent: tokens are upper case.
pub fn find_token(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let len = TOKEN_PREFIX.len() + TOKEN_CHARS;
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
    (0..bytes.len()).find_map(|start| {
        let candidate = bytes.get(start..start + len)?;
        let (prefix, body) = candidate.split_at(TOKEN_PREFIX.len());
        let before_ok = start == 0 || bytes.get(start - 1).is_none_or(|b| !word(*b));
        let after_ok = bytes.get(start + len).is_none_or(|b| !word(*b));
        (prefix == TOKEN_PREFIX.as_bytes()
            && body.iter().all(|b| ALPHABET.contains(b))
            && before_ok
            && after_ok)
            .then(|| text.get(start..start + len))
            .flatten()
    })
}

/// What the text says after the token, before the service's name.
const TEXT_MIDDLE: &str = " links this number to your phone in ";

/// The text the phone sends: the token and what it is for.
pub fn sms_text(service_name: &str, token: &str) -> String {
    format!("{token}{TEXT_MIDDLE}{service_name}.")
}

/// The token of a text made by [`sms_text`], and nothing else: the token
/// first, then exactly the template's words, a service name of 1 to 64
/// printable characters, and a full stop. The client refuses to have any
/// other text sent.
pub fn token_of_text(text: &str) -> Option<&str> {
    let len = TOKEN_PREFIX.len() + TOKEN_CHARS;
    let token = text.get(..len)?;
    let name = text
        .get(len..)?
        .strip_prefix(TEXT_MIDDLE)?
        .strip_suffix('.')?;
    let printable = |c: char| !c.is_control();
    (find_token(token) == Some(token)
        && (1..=64).contains(&name.chars().count())
        && name.chars().all(printable))
    .then_some(token)
}

/// Keyed hash of a bind secret, tied to its registration.
pub fn hash_bind_secret(secret: &[u8], registration_id: &str, bind_secret: &str) -> String {
    registration_mac(secret, BIND_SECRET_DOMAIN, registration_id, bind_secret)
}

/// Keyed hash of a token, tied to its registration.
pub fn hash_token(secret: &[u8], registration_id: &str, token: &str) -> String {
    registration_mac(secret, DOMAIN, registration_id, token)
}

/// The SMS provider's inbound webhook body.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundSms {
    /// The sender, as the network stamped it (E.164).
    pub from: String,
    /// The number it was sent to: the deployment's virtual number (E.164).
    pub to: String,
    /// The message text, at most [`MAX_TEXT_LEN`] characters.
    pub text: String,
    /// When the provider received it, in Unix seconds.
    pub received_at: u64,
}

/// An inbound SMS, validated.
#[derive(Clone, Debug)]
pub struct CheckedSms {
    /// The network-stamped sender.
    pub from: PhoneNumber,
    /// The receiving number.
    pub to: PhoneNumber,
    /// The token the text carries, if any.
    pub token: Option<String>,
    /// When the provider received it.
    pub received_at: u64,
}

impl InboundSms {
    /// Validates the numbers and the text's length, and finds the token.
    pub fn validate(&self) -> Result<CheckedSms, ValidationError> {
        if self.text.chars().count() > MAX_TEXT_LEN {
            return Err(ValidationError::OutOfRange("text"));
        }
        Ok(CheckedSms {
            from: PhoneNumber::parse_e164(&self.from)?,
            to: PhoneNumber::parse_e164(&self.to)?,
            token: find_token(&self.text).map(str::to_owned),
            received_at: self.received_at,
        })
    }
}

fn webhook_mac(secret: &[u8], timestamp: u64, body: &[u8]) -> [u8; 32] {
    let mut mac = hmac_sha256(secret);
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// The signature header for `body` sent at `timestamp`:
/// `t=<Unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." || body)>`.
pub fn sign_webhook(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex(&webhook_mac(secret, timestamp, body))
    )
}

/// Checks a webhook's signature header over the raw body: well formed,
/// the MAC equal in constant time, the timestamp within
/// [`WEBHOOK_TOLERANCE_SECS`] of `now`.
pub fn verify_webhook(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now: u64,
) -> Result<(), WebhookRefusal> {
    let header = header.ok_or(WebhookRefusal::SignatureInvalid)?;
    let (mut timestamp, mut signature) = (None, None);
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) if timestamp.is_none() => timestamp = Some(t),
            Some(("v1", v)) if signature.is_none() => signature = Some(v),
            _ => return Err(WebhookRefusal::SignatureInvalid),
        }
    }
    let timestamp: u64 = timestamp
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse().ok())
        .ok_or(WebhookRefusal::SignatureInvalid)?;
    let signature = signature.ok_or(WebhookRefusal::SignatureInvalid)?;
    let expected = hex(&webhook_mac(secret, timestamp, body));
    if !bool::from(signature.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(WebhookRefusal::SignatureInvalid);
    }
    if timestamp.abs_diff(now) > WEBHOOK_TOLERANCE_SECS {
        return Err(WebhookRefusal::Stale);
    }
    Ok(())
}

/// A device-SMS registration's proof state, kept with the registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSmsState {
    /// The token's keyed hash ([`hash_token`]).
    pub token_hash: String,
    /// When the token expires, in Unix seconds.
    pub expires_at: u64,
    /// Keyed hashes (kind `msisdn`) of the distinct senders seen, at most two:
    /// a second one voids the token.
    pub senders: Vec<IdHash>,
    /// Failed binds so far; at [`MAX_ATTEMPTS`] the registration is locked.
    pub attempts: u32,
    /// The bind secret's keyed hash ([`hash_bind_secret`]): a bind must carry
    /// the secret, which only the start answer's body held.
    #[serde(default)]
    pub bind_secret_hash: String,
}

/// What the webhook's SMS did to a registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Seen {
    /// The first sender for the token.
    Recorded,
    /// The same sender again: nothing changes.
    Repeated,
    /// Another sender: the token is void.
    Voided,
    /// The token had expired: ignored.
    Expired,
    /// The text's token is not this registration's: ignored.
    Unknown,
}

impl DeviceSmsState {
    /// A new state for `token` and `bind_secret`, issued to
    /// `registration_id` at `now`.
    pub fn new(
        secret: &[u8],
        registration_id: &str,
        token: &str,
        bind_secret: &str,
        now: u64,
    ) -> Self {
        Self {
            token_hash: hash_token(secret, registration_id, token),
            expires_at: now + TOKEN_TTL_SECS,
            senders: Vec::new(),
            attempts: 0,
            bind_secret_hash: hash_bind_secret(secret, registration_id, bind_secret),
        }
    }

    /// Whether `presented` is the registration's bind secret (compared in
    /// constant time). A wrong one is not counted: it says nothing about
    /// the number, and counting it would let whoever saw the registration
    /// id lock the real phone out.
    pub fn check_bind_secret(
        &self,
        secret: &[u8],
        registration_id: &str,
        presented: Option<&str>,
    ) -> Result<(), Denial> {
        let presented = presented.ok_or(Denial::BindSecretInvalid)?;
        let hash = hash_bind_secret(secret, registration_id, presented);
        if self.bind_secret_hash.is_empty()
            || !bool::from(hash.as_bytes().ct_eq(self.bind_secret_hash.as_bytes()))
        {
            return Err(Denial::BindSecretInvalid);
        }
        Ok(())
    }

    /// Records that an SMS carrying `token` came from `sender` (received at
    /// `received_at`, by the provider's clock).
    pub fn seen(
        &mut self,
        secret: &[u8],
        registration_id: &str,
        token: &str,
        sender: IdHash,
        received_at: u64,
    ) -> Seen {
        let hash = hash_token(secret, registration_id, token);
        if !bool::from(hash.as_bytes().ct_eq(self.token_hash.as_bytes())) {
            return Seen::Unknown;
        }
        if received_at >= self.expires_at {
            return Seen::Expired;
        }
        if self.senders.iter().any(|s| s.ct_eq(&sender)) {
            return Seen::Repeated;
        }
        if self.senders.len() < 2 {
            self.senders.push(sender);
        }
        if self.senders.len() > 1 {
            Seen::Voided
        } else {
            Seen::Recorded
        }
    }

    /// Whether the number `number` (the registration's) is proven at `now`.
    /// A refusal that counts increments `attempts`; the caller stores it.
    pub fn check(&mut self, number: &IdHash, now: u64) -> Result<(), Denial> {
        if self.attempts >= MAX_ATTEMPTS {
            return Err(Denial::NumberProofLocked);
        }
        if now >= self.expires_at {
            return Err(Denial::SmsTokenExpired);
        }
        let refusal = match self.senders.as_slice() {
            [] => return Err(Denial::SmsNotReceived),
            [sender] if sender.ct_eq(number) => return Ok(()),
            [_] => Denial::SmsSenderMismatch,
            _ => Denial::SmsTokenVoided,
        };
        self.attempts += 1;
        if self.attempts >= MAX_ATTEMPTS {
            Err(Denial::NumberProofLocked)
        } else {
            Err(refusal)
        }
    }
}
