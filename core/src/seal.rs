//! Values the service seals for itself: ChaCha20-Poly1305 under a key derived
//! from the pepper and a domain label, so each use has its own key.
//! Sealed form: `nonce (12 bytes) || ciphertext || tag (16 bytes)`.

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{KeyInit, Mac};

use crate::codec::keyed_mac;

/// Bytes a sealed value adds to its plaintext (nonce and tag).
pub const OVERHEAD: usize = 12 + 16;

fn cipher(pepper: &[u8], domain: &[u8]) -> ChaCha20Poly1305 {
    let key: [u8; 32] = keyed_mac(pepper, domain).finalize().into_bytes().into();
    ChaCha20Poly1305::new(&Key::from(key))
}

/// Seals `msg` bound to `aad`; `nonce` must be fresh random bytes.
pub fn seal(pepper: &[u8], domain: &[u8], aad: &[u8], msg: &[u8], nonce: [u8; 12]) -> Vec<u8> {
    // Encryption fails only for messages over 256 GiB.
    let sealed = cipher(pepper, domain)
        .encrypt(&Nonce::from(nonce), Payload { msg, aad })
        .unwrap_or_default();
    let mut out = Vec::with_capacity(OVERHEAD + msg.len());
    out.extend_from_slice(&nonce);
    out.extend(sealed);
    out
}

/// Opens a sealed value; `None` if it was tampered with, moved to another
/// `aad` or sealed under another key.
pub fn open(pepper: &[u8], domain: &[u8], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < OVERHEAD {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    cipher(pepper, domain)
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
}
