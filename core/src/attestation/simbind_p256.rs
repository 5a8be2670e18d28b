//! Format `simbind-p256`: the chip's P-256 key signs the canonical transcript
//! with ECDSA/SHA-256; the signature is 64 bytes `r || s`. An `android-key`
//! chip signs the same way, with its attested key.

use crate::crypto::{PublicKey, Signature};

/// Verifies a `simbind-p256` chip signature.
pub fn verify(key: &PublicKey, transcript: &[u8], signature: &Signature) -> bool {
    key.verify(transcript, signature)
}
