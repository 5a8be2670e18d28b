//! One-time codes: 6 digits from CSPRNG bytes, stored only as a keyed hash,
//! compared in constant time, with bounded attempts and an expiry.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::codec::registration_mac;
use crate::{Denial, ValidationError};

/// Lifetime of a code, in seconds.
pub const OTP_TTL_SECS: u64 = 300;
/// Wrong codes allowed per registration before it is locked.
pub const MAX_ATTEMPTS: u32 = 5;
/// Domain label of the stored code hash.
pub const DOMAIN: &[u8] = b"SIMBIND-OTP";

/// Makes a 6-digit code from 8 random bytes (the modulo bias, below 2^-44,
/// is negligible).
pub fn code_from_random(random: [u8; 8]) -> String {
    format!("{:06}", u64::from_be_bytes(random) % 1_000_000)
}

/// Checks that a submitted code has the right shape.
pub fn parse_code(code: &str) -> Result<&str, ValidationError> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code)
    } else {
        Err(ValidationError::InvalidOtpFormat)
    }
}

/// Keyed hash of a code, tied to its registration.
pub fn hash_code(secret: &[u8], registration_id: &str, code: &str) -> String {
    registration_mac(secret, DOMAIN, registration_id, code)
}

/// The OTP state kept with a registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtpState {
    /// The code's keyed hash ([`hash_code`]): base64url HMAC-SHA256, under the
    /// pepper, over the registration id and the code.
    pub code_hash: String,
    /// When the code expires, in Unix seconds ([`OTP_TTL_SECS`] after issue).
    pub expires_at: u64,
    /// Wrong codes submitted so far; at [`MAX_ATTEMPTS`] every code is refused.
    pub attempts: u32,
}

impl OtpState {
    /// Checks a submitted code. On a wrong code the caller must store the
    /// incremented `attempts` before answering.
    pub fn check(
        &mut self,
        secret: &[u8],
        registration_id: &str,
        code: &str,
        now: u64,
    ) -> Result<(), Denial> {
        if self.attempts >= MAX_ATTEMPTS {
            return Err(Denial::OtpAttemptsExhausted);
        }
        if now >= self.expires_at {
            return Err(Denial::OtpExpired);
        }
        let submitted = hash_code(secret, registration_id, code);
        if bool::from(submitted.as_bytes().ct_eq(self.code_hash.as_bytes())) {
            Ok(())
        } else {
            self.attempts += 1;
            if self.attempts >= MAX_ATTEMPTS {
                Err(Denial::OtpAttemptsExhausted)
            } else {
                Err(Denial::OtpInvalid)
            }
        }
    }
}
