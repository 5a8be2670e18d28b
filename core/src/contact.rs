//! The bound number, sealed for alert delivery.
//!
//! Alerts go to the bound number, so the service must be able to recover it;
//! it is stored only encrypted ([`crate::seal`], the binding id, or while
//! the number is being proven the registration id, as associated data so a
//! sealed number cannot be moved to another record). Lookups never
//! use it: they use keyed hashes.

use crate::codec::{b64, unb64};
use crate::identifiers::PhoneNumber;
use crate::seal;

/// Domain label of the derived sealing key.
pub const KEY_DOMAIN: &[u8] = b"SIMBIND-CONTACT-KEY";

/// Seals `number` for `binding_id` (or a registration id); `nonce` must be fresh random bytes.
pub fn seal(pepper: &[u8], binding_id: &str, number: &PhoneNumber, nonce: [u8; 12]) -> String {
    b64(&seal::seal(
        pepper,
        KEY_DOMAIN,
        binding_id.as_bytes(),
        number.as_str().as_bytes(),
        nonce,
    ))
}

/// Opens a sealed number; `None` if it was tampered with or moved.
pub fn open(pepper: &[u8], binding_id: &str, sealed: &str) -> Option<PhoneNumber> {
    let bytes = unb64(sealed, "contact").ok()?;
    let plain = seal::open(pepper, KEY_DOMAIN, binding_id.as_bytes(), &bytes)?;
    // Sealed numbers may predate the length table: the form is enough here.
    PhoneNumber::parse_e164(core::str::from_utf8(&plain).ok()?).ok()
}
