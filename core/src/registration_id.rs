//! Registration ids that name their number's storage, without revealing it.
//!
//! Everything about one number (its registrations, one-time-code attempts,
//! rate limit and binding index) is kept in one place named by a
//! [`NumberKey`], the first 16 bytes of the number's keyed hash. A
//! registration id carries that key sealed ([`crate::seal`]), so the service
//! finds the number's state from the id alone, while the id reveals nothing
//! of the number and two registrations of one number look unrelated.
//!
//! Wire form: `reg_` + b64u(nonce (12) || sealed key (16) || tag (16)),
//! 59 characters.

use crate::ValidationError;
use crate::codec::{b64, unb64};
use crate::id_hash::IdHash;
use crate::identifiers::REGISTRATION_PREFIX;
use crate::seal;

/// Domain label of the derived sealing key.
pub const KEY_DOMAIN: &[u8] = b"SIMBIND-REGISTRATION-KEY";
/// Length of a registration id's base64url body.
pub const BODY_LEN: usize = 59;
const SEALED_LEN: usize = 16 + seal::OVERHEAD;

/// The name of a number's storage: the first 16 bytes of its keyed hash, as
/// 32 lowercase hex characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberKey([u8; 16]);

impl NumberKey {
    /// The key of the number whose keyed hash is `hash`.
    pub fn of(hash: &IdHash) -> Self {
        let mut key = [0u8; 16];
        for (i, byte) in key.iter_mut().enumerate() {
            let hex = hash.as_str().get(2 * i..2 * i + 2).unwrap_or("00");
            *byte = u8::from_str_radix(hex, 16).unwrap_or(0);
        }
        Self(key)
    }

    /// Hex text, used as the storage name.
    pub fn to_hex(&self) -> String {
        crate::codec::hex(&self.0)
    }
}

/// A new registration id for the number `key`; `nonce` must be fresh random
/// bytes (it also makes each id unique).
pub fn new(pepper: &[u8], key: &NumberKey, nonce: [u8; 12]) -> String {
    let sealed = seal::seal(
        pepper,
        KEY_DOMAIN,
        REGISTRATION_PREFIX.as_bytes(),
        &key.0,
        nonce,
    );
    format!("{REGISTRATION_PREFIX}{}", b64(&sealed))
}

/// Opens a registration id received from a client.
///
/// A malformed id is [`ValidationError::InvalidId`]; a well-formed id this
/// service did not issue is `Ok(None)` (it names no registration).
pub fn open(pepper: &[u8], id: &str) -> Result<Option<NumberKey>, ValidationError> {
    let invalid = ValidationError::InvalidId(REGISTRATION_PREFIX);
    let body = id
        .strip_prefix(REGISTRATION_PREFIX)
        .ok_or(invalid.clone())?;
    if body.len() != BODY_LEN {
        return Err(invalid);
    }
    let sealed = unb64(body, "id").map_err(|_| invalid.clone())?;
    if sealed.len() != SEALED_LEN {
        return Err(invalid);
    }
    let plain = seal::open(pepper, KEY_DOMAIN, REGISTRATION_PREFIX.as_bytes(), &sealed);
    Ok(plain
        .and_then(|p| <[u8; 16]>::try_from(p.as_slice()).ok())
        .map(NumberKey))
}
