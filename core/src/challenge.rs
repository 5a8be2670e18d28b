//! Stateless authenticated challenges.
//!
//! A challenge carries everything needed to check it, authenticated by
//! HMAC-SHA256 under a server key named by a key id (for rotation):
//!
//! ```text
//! body = u8(2) || u8(ceremony code) || u64be(issued_at) || u64be(expires_at)
//!        || nonce[16] || field(kid) || field(subject) || field(transaction)
//! mac  = HMAC-SHA256(key[kid], field("SIMBIND-CHALLENGE") || body)
//! challenge = body || mac
//! ```
//!
//! `transaction` is the relying party's value the ceremony is bound to
//! (empty for none, at most [`MAX_TRANSACTION_LEN`] bytes): the signed
//! transcript and the grant carry the same bytes.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Denial;
use crate::codec::{Reader, keyed_mac, put_field};
use crate::transcript::Ceremony;

/// Domain label of the challenge MAC.
pub const DOMAIN: &[u8] = b"SIMBIND-CHALLENGE";
/// The longest lifetime a challenge may have, in seconds.
pub const MAX_TTL_SECS: u64 = 120;
/// Tolerated clock skew for `issued_at` in the future, in seconds.
pub const CLOCK_SKEW_SECS: u64 = 5;
/// The longest transaction value a challenge carries, in bytes.
pub const MAX_TRANSACTION_LEN: usize = 64;
const FORMAT: u8 = 2;
const MAC_LEN: usize = 32;

/// One HMAC key with its id.
#[derive(Clone)]
pub struct ChallengeKey {
    /// The key id written into each challenge it MACs (the deployment's
    /// `CHALLENGE_KEY_ID`, `c1` by default).
    pub kid: String,
    /// The HMAC-SHA256 key: a server secret.
    pub secret: Vec<u8>,
}

/// The current key (used to issue) and older keys still accepted.
#[derive(Clone)]
pub struct ChallengeKeyring {
    /// The key new challenges are issued (and MACed) under.
    pub current: ChallengeKey,
    /// Retired keys whose challenges still verify during a rotation.
    pub previous: Vec<ChallengeKey>,
}

impl ChallengeKeyring {
    /// A keyring with one key.
    pub fn single(kid: &str, secret: &[u8]) -> Self {
        Self {
            current: ChallengeKey {
                kid: kid.to_owned(),
                secret: secret.to_vec(),
            },
            previous: Vec::new(),
        }
    }

    fn find(&self, kid: &[u8]) -> Option<&ChallengeKey> {
        core::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.kid.as_bytes() == kid)
    }
}

/// What a verified challenge says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeClaims {
    /// The ceremony the challenge was issued for.
    pub ceremony: Ceremony,
    /// When it was issued, in Unix seconds.
    pub issued_at: u64,
    /// When it expires, in Unix seconds: at most [`MAX_TTL_SECS`] after
    /// `issued_at`.
    pub expires_at: u64,
    /// 16 CSPRNG bytes that mark the challenge single-use (bytes 18..34).
    pub nonce: [u8; 16],
    /// The registration id (bind) or binding id it was issued for.
    pub subject: String,
    /// The relying party's transaction value (empty for none).
    pub transaction: Vec<u8>,
}

fn mac(secret: &[u8], body: &[u8]) -> Hmac<Sha256> {
    let mut mac = keyed_mac(secret, DOMAIN);
    mac.update(body);
    mac
}

/// Issues a challenge for `ceremony`, `subject` and `transaction` (empty
/// for none; callers validate its length), valid `ttl` seconds (clamped to
/// [`MAX_TTL_SECS`]); `nonce` must come from a CSPRNG.
pub fn issue(
    keys: &ChallengeKeyring,
    ceremony: Ceremony,
    subject: &str,
    transaction: &[u8],
    now: u64,
    ttl: u64,
    nonce: [u8; 16],
) -> Vec<u8> {
    let ttl = ttl.min(MAX_TTL_SECS);
    let mut body = Vec::with_capacity(96);
    body.push(FORMAT);
    body.push(ceremony.code());
    body.extend_from_slice(&now.to_be_bytes());
    body.extend_from_slice(&now.saturating_add(ttl).to_be_bytes());
    body.extend_from_slice(&nonce);
    put_field(&mut body, keys.current.kid.as_bytes());
    put_field(&mut body, subject.as_bytes());
    put_field(&mut body, transaction);
    let tag = mac(&keys.current.secret, &body).finalize().into_bytes();
    body.extend_from_slice(&tag);
    body
}

/// The nonce of a challenge, read *without* checking it: only to look up
/// whether it was used. Decisions still call [`verify`].
pub fn unverified_nonce(challenge: &[u8]) -> Option<[u8; 16]> {
    challenge.get(18..34)?.try_into().ok()
}

/// Checks a challenge: MAC (constant time), ceremony, subject, then time.
pub fn verify(
    keys: &ChallengeKeyring,
    challenge: &[u8],
    ceremony: Ceremony,
    subject: &str,
    now: u64,
) -> Result<ChallengeClaims, Denial> {
    let read = read(challenge).ok_or(Denial::ChallengeInvalid)?;
    let key = keys.find(read.kid).ok_or(Denial::ChallengeInvalid)?;
    mac(&key.secret, read.body)
        .verify_slice(read.tag)
        .map_err(|_| Denial::ChallengeInvalid)?;
    // Authentic from here on: the fields were written by this service.
    read.claims(ceremony, subject, now)
}

/// What a challenge says, read *without* checking its MAC, then held to
/// `ceremony`, `subject` and `now` as [`verify`] holds it: for the evidence
/// inspector, which has no deployment secret. A decision never calls this.
pub fn read_unverified(
    challenge: &[u8],
    ceremony: Ceremony,
    subject: &str,
    now: u64,
) -> Result<ChallengeClaims, Denial> {
    read(challenge)
        .ok_or(Denial::ChallengeInvalid)?
        .claims(ceremony, subject, now)
}

/// A challenge's fields as written, before its MAC is checked.
struct Read<'a> {
    code: u8,
    issued_at: u64,
    expires_at: u64,
    nonce: [u8; 16],
    kid: &'a [u8],
    subject: &'a [u8],
    transaction: &'a [u8],
    body: &'a [u8],
    tag: &'a [u8],
}

fn read(challenge: &[u8]) -> Option<Read<'_>> {
    let body_len = challenge.len().checked_sub(MAC_LEN)?;
    let (body, tag) = challenge.split_at(body_len);
    let mut r = Reader::new(body);
    let format = *r.take(1)?.first()?;
    let code = *r.take(1)?.first()?;
    let issued_at = r.u64()?;
    let expires_at = r.u64()?;
    let nonce: [u8; 16] = r.take(16)?.try_into().ok()?;
    let kid = r.field()?;
    let subject = r.field()?;
    let transaction = r.field()?;
    (format == FORMAT && r.is_empty() && transaction.len() <= MAX_TRANSACTION_LEN).then_some(Read {
        code,
        issued_at,
        expires_at,
        nonce,
        kid,
        subject,
        transaction,
        body,
        tag,
    })
}

impl Read<'_> {
    /// The claims, held to the ceremony, subject and instant expected.
    fn claims(
        &self,
        ceremony: Ceremony,
        subject: &str,
        now: u64,
    ) -> Result<ChallengeClaims, Denial> {
        let got_ceremony = Ceremony::from_code(self.code).ok_or(Denial::ChallengeInvalid)?;
        if got_ceremony != ceremony {
            return Err(Denial::ChallengeWrongCeremony);
        }
        if self.subject != subject.as_bytes() {
            return Err(Denial::ChallengeWrongSubject);
        }
        if self.issued_at > now.saturating_add(CLOCK_SKEW_SECS)
            || self.expires_at.saturating_sub(self.issued_at) > MAX_TTL_SECS
        {
            return Err(Denial::ChallengeInvalid);
        }
        if now >= self.expires_at {
            return Err(Denial::ChallengeExpired);
        }
        Ok(ChallengeClaims {
            ceremony: got_ceremony,
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            nonce: self.nonce,
            subject: subject.to_owned(),
            transaction: self.transaction.to_vec(),
        })
    }
}
