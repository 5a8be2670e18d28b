//! Real attestation samples (core/tests/fixtures/attestation, see its
//! PROVENANCE.md) and small mutations of them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/attestation");

/// Reads a fixture file as text.
pub fn text(path: &str) -> String {
    std::fs::read_to_string(format!("{DIR}/{path}")).expect("fixture exists")
}

/// The DER certificates of a PEM chain, in file order (leaf first).
pub fn pem_chain(path: &str) -> Vec<Vec<u8>> {
    simbind_core::attestation::x509::pem_chain(&text(path)).expect("a PEM chain")
}

/// Standard base64, as the fixtures write it.
pub fn unb64(text: &str) -> Vec<u8> {
    STANDARD.decode(text).expect("fixture base64")
}

/// `bytes` with the byte at `at` inverted.
pub fn flipped(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at] ^= 0xff;
    out
}
