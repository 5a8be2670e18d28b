//! The bound number, sealed for alert delivery.
//!
//! Alerts go to the bound number, so the service must be able to recover it;
//! it is stored only encrypted (ChaCha20-Poly1305, key derived from the
//! pepper, binding id as associated data so a sealed number cannot be moved
//! to another binding). Lookups never use it: they use keyed hashes.

use chacha20poly1305::aead::Aead;
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{KeyInit, Mac};

use crate::codec::{b64, keyed_mac, unb64};
use crate::identifiers::PhoneNumber;

/// Domain label of the derived sealing key.
pub const KEY_DOMAIN: &[u8] = b"SIMBIND-CONTACT-KEY";

fn cipher(pepper: &[u8]) -> ChaCha20Poly1305 {
    let key: [u8; 32] = keyed_mac(pepper, KEY_DOMAIN).finalize().into_bytes().into();
    ChaCha20Poly1305::new(&Key::from(key))
}

/// Seals `number` for `binding_id`; `nonce` must be fresh random bytes.
pub fn seal(pepper: &[u8], binding_id: &str, number: &PhoneNumber, nonce: [u8; 12]) -> String {
    let payload = chacha20poly1305::aead::Payload {
        msg: number.as_str().as_bytes(),
        aad: binding_id.as_bytes(),
    };
    // Encryption fails only for messages over 256 GiB.
    let sealed = cipher(pepper)
        .encrypt(&Nonce::from(nonce), payload)
        .unwrap_or_default();
    let mut out = nonce.to_vec();
    out.extend(sealed);
    b64(&out)
}

/// Opens a sealed number; `None` if it was tampered with or moved.
pub fn open(pepper: &[u8], binding_id: &str, sealed: &str) -> Option<PhoneNumber> {
    let bytes = unb64(sealed, "contact").ok()?;
    if bytes.len() < 12 {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    let payload = chacha20poly1305::aead::Payload {
        msg: ciphertext,
        aad: binding_id.as_bytes(),
    };
    let plain = cipher(pepper).decrypt(&Nonce::from(nonce), payload).ok()?;
    PhoneNumber::parse(core::str::from_utf8(&plain).ok()?).ok()
}
