//! Byte-level helpers shared by every canonical encoding: length-prefixed
//! fields (u32 big-endian length, then the bytes) and unpadded base64url.

use base64ct::{Base64UrlUnpadded, Encoding};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::ValidationError;

/// Appends `bytes` as a length-prefixed field: `u32be(len) || bytes`.
pub fn put_field(out: &mut Vec<u8>, bytes: &[u8]) {
    // Fields are bounded far below 4 GiB by input validation; saturate rather than wrap.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// A value tied to one bind (docs/PROTOCOL.md §2): `SHA-256(field(domain) ||
/// field(challenge) || field(audience) || field(registration id))`, for the
/// attestation challenge, the Firebase PNV nonce and the CAMARA Number
/// Verification `state` and `nonce`, each under its own domain.
pub fn bind_digest(
    domain: &[u8],
    challenge: &[u8],
    audience: &str,
    registration_id: &str,
) -> [u8; 32] {
    let mut message = Vec::with_capacity(128);
    put_field(&mut message, domain);
    put_field(&mut message, challenge);
    put_field(&mut message, audience.as_bytes());
    put_field(&mut message, registration_id.as_bytes());
    Sha256::digest(&message).into()
}

/// Reads length-prefixed and fixed-width fields back, refusing truncation.
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts reading `bytes` from the beginning.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Takes exactly `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    /// Takes one length-prefixed field.
    pub fn field(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_be_bytes(self.take(4)?.try_into().ok()?);
        self.take(usize::try_from(len).ok()?)
    }

    /// Takes a big-endian u64.
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }

    /// True once every byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

/// Lowercase hex, two characters a byte.
pub fn hex(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}

/// Encodes bytes as unpadded base64url.
pub fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// `value` as compact JSON text, by serde_json's writer (what `to_string`
/// on a `Value` gives, without its `Display` path: a second serializer in
/// the worker's upload). Writing a `Value` cannot fail; an empty string
/// would stand in if it did.
pub fn json_text(value: &serde_json::Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Decodes canonical unpadded base64url; `field` names the input in the error.
pub fn unb64(text: &str, field: &'static str) -> Result<Vec<u8>, ValidationError> {
    Base64UrlUnpadded::decode_vec(text).map_err(|_| ValidationError::InvalidBase64(field))
}

/// A secret tied to its registration, as stored:
/// `b64u(HMAC-SHA256(key, field(domain) || field(registration id) || field(value)))`
/// (one-time codes, device-SMS tokens, the Number Verification PKCE verifier).
pub fn registration_mac(
    key: &[u8],
    domain: &[u8],
    registration_id: &str,
    value: impl AsRef<[u8]>,
) -> String {
    let mut input = Vec::new();
    put_field(&mut input, registration_id.as_bytes());
    put_field(&mut input, value.as_ref());
    keyed_b64(key, domain, &input)
}

/// `b64u(HMAC-SHA256(key, field(domain) || data))`: the stored form of a
/// value that storage must not hold as it is (a used token id, a redeemed code).
pub fn keyed_b64(key: &[u8], domain: &[u8], data: &[u8]) -> String {
    let mut mac = keyed_mac(key, domain);
    mac.update(data);
    b64(&mac.finalize().into_bytes())
}

/// Plain HMAC-SHA256 under `key`, for layouts others define (a webhook's
/// signature); the protocol's own keyed values use [`keyed_mac`].
pub fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length: this constructor cannot fail.
    <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

/// HMAC-SHA256 under `key`, already fed `field(domain)`: every keyed value in
/// the protocol starts with its own domain label.
pub fn keyed_mac(key: &[u8], domain: &[u8]) -> Hmac<Sha256> {
    let mut mac = hmac_sha256(key);
    let mut label = Vec::with_capacity(domain.len() + 4);
    put_field(&mut label, domain);
    mac.update(&label);
    mac
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(super::hex(&[]), "");
    }
}
