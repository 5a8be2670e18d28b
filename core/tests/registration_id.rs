//! Registration ids: they name their number's storage, sealed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use simbind_core::ValidationError;
use simbind_core::id_hash::{IdHasher, IdKind};
use simbind_core::registration_id::{self, BODY_LEN, NumberKey};

const PEPPER: &[u8] = b"test-pepper-0123456789abcdef0123";

fn key(number: &str) -> NumberKey {
    NumberKey::of(&IdHasher::new(PEPPER).hash(IdKind::PhoneNumber, number))
}

#[test]
fn an_id_opens_to_its_number_key_and_reveals_nothing() {
    let k = key("+447700900123");
    let id = registration_id::new(PEPPER, &k, [7; 12]);
    assert!(id.starts_with("reg_"));
    assert_eq!(id.len(), 4 + BODY_LEN);
    assert_eq!(registration_id::open(PEPPER, &id), Ok(Some(k.clone())));
    assert!(
        !id.contains(&k.to_hex()[..8]),
        "the key is not in the id in clear"
    );
    // Two registrations of one number look unrelated.
    let other = registration_id::new(PEPPER, &k, [8; 12]);
    assert_ne!(id[4..], other[4..]);
    assert_eq!(registration_id::open(PEPPER, &other), Ok(Some(k)));
}

#[test]
fn number_keys_are_the_hash_prefix_and_differ_per_number() {
    let hash = IdHasher::new(PEPPER).hash(IdKind::PhoneNumber, "+447700900123");
    let k = NumberKey::of(&hash);
    assert_eq!(k.to_hex(), hash.as_str()[..32]);
    assert_ne!(k, key("+447700900124"));
}

#[test]
fn a_tampered_or_foreign_id_names_no_registration() {
    let id = registration_id::new(PEPPER, &key("+447700900123"), [7; 12]);
    let mut bytes = id.clone().into_bytes();
    let last = bytes.len() - 5;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    assert_eq!(registration_id::open(PEPPER, &tampered), Ok(None));
    assert_eq!(
        registration_id::open(b"another-pepper-0123456789abcdef", &id),
        Ok(None)
    );
}

#[test]
fn malformed_ids_are_invalid() {
    let id = registration_id::new(PEPPER, &key("+447700900123"), [7; 12]);
    let invalid = Err(ValidationError::InvalidId("reg_"));
    assert_eq!(
        registration_id::open(PEPPER, &id.replacen("reg_", "bnd_", 1)),
        invalid
    );
    assert_eq!(registration_id::open(PEPPER, &id[..id.len() - 1]), invalid);
    assert_eq!(registration_id::open(PEPPER, &format!("{id}A")), invalid);
    assert_eq!(
        registration_id::open(PEPPER, "reg_AAAAAAAAAAAAAAAAAAAAAA"),
        invalid
    );
    let not_b64 = format!("reg_{}", "*".repeat(BODY_LEN));
    assert_eq!(registration_id::open(PEPPER, &not_b64), invalid);
}
