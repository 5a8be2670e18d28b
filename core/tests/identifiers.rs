//! Every validator: what it accepts and each way it refuses.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use simbind_core::ValidationError as E;
use simbind_core::identifiers::*;

#[test]
fn e164_accepts_plus_and_7_to_15_digits() {
    for ok in ["+447700900123", "+1234567", "+123456789012345"] {
        assert!(PhoneNumber::parse(ok).is_ok(), "{ok}");
    }
}

#[test]
fn e164_refuses_malformed_numbers() {
    for bad in [
        "447700900123",      // no plus
        "+0447700900123",    // leading zero
        "+123456",           // too short
        "+1234567890123456", // too long
        "+44 7700 900123",   // spaces
        "+44-7700900123",    // dash
        "+",
        "",
        "+４４7700900123", // non-ASCII digits
    ] {
        assert_eq!(
            PhoneNumber::parse(bad),
            Err(E::InvalidPhoneNumber),
            "{bad:?}"
        );
    }
}

#[test]
fn luhn_matches_known_values() {
    assert!(luhn_valid("79927398713"));
    assert!(!luhn_valid("79927398710"));
    assert!(!luhn_valid(""));
    assert!(!luhn_valid("7992739871a"));
}

#[test]
fn iccid_accepts_valid_check_digit() {
    for ok in [
        "8944100000000000018",
        "8910042348144559361",
        "89441000000000000034",
    ] {
        assert!(Iccid::parse(ok).is_ok(), "{ok}");
    }
}

#[test]
fn iccid_refuses_bad_check_digit_with_its_own_code() {
    let err = Iccid::parse("8944100000000000019").unwrap_err();
    assert_eq!(err, E::IccidChecksum);
    assert_eq!(err.code(), "invalid_iccid_checksum");
}

#[test]
fn iccid_refuses_wrong_shape() {
    for bad in [
        "1944100000000000018",      // not 89
        "89441000000000",           // too short
        "894410000000000000000018", // too long
        "89441000000000000A8",      // letter
        "",
    ] {
        assert_eq!(Iccid::parse(bad), Err(E::InvalidIccid), "{bad:?}");
    }
}

#[test]
fn imsi_accepts_assigned_mcc_and_test_network() {
    let imsi = Imsi::parse("234150000000001").unwrap();
    assert_eq!(imsi.mcc(), "234");
    assert!(Imsi::parse("001010123456789").is_ok());
    assert!(Imsi::parse("310260").is_ok());
}

#[test]
fn imsi_refuses_bad_mcc_length_and_digits() {
    for bad in [
        "834150000000001",  // MCC 8xx unassigned
        "134150000000001",  // MCC 1xx unassigned
        "012345678901234",  // 0xx other than 001
        "2341500000000011", // 16 digits
        "23415",            // too short
        "23415000000000x",
        "",
    ] {
        assert_eq!(Imsi::parse(bad), Err(E::InvalidImsi), "{bad:?}");
    }
}

#[test]
fn chip_serial_alphabet_and_length() {
    assert!(ChipSerial::parse("CHIP-0001").is_ok());
    assert!(ChipSerial::parse("ab:cd.ef_01").is_ok());
    for bad in ["abc", &"x".repeat(65), "CHIP 0001", "CHIP/1", "ÇHIP1"] {
        assert_eq!(ChipSerial::parse(bad), Err(E::InvalidChipSerial), "{bad:?}");
    }
}

#[test]
fn opaque_ids_need_prefix_and_22_base64url_chars() {
    let id = OpaqueId::new(BINDING_PREFIX, [1; 16]);
    assert_eq!(OpaqueId::parse(id.as_str(), BINDING_PREFIX), Ok(id.clone()));
    assert!(OpaqueId::parse(id.as_str(), REGISTRATION_PREFIX).is_err());
    for bad in [
        "bnd_",
        "bnd_AQEBAQEBAQEBAQEBAQEBA",
        "bnd_AQEBAQEBAQEBAQEBAQEBAQ=",
        "bnd_AQEBAQEBAQEBAQEBAQEB+Q",
    ] {
        assert!(OpaqueId::parse(bad, BINDING_PREFIX).is_err(), "{bad:?}");
    }
}

#[test]
fn debug_output_never_shows_identifiers() {
    let sim = SimIdentity {
        iccid: Iccid::parse("8944100000000000018").unwrap(),
        imsi: Imsi::parse("234150000000001").unwrap(),
        msisdn: PhoneNumber::parse("+447700900123").unwrap(),
    };
    let text = format!("{sim:?} {:?}", ChipSerial::parse("CHIP-0001").unwrap());
    for secret in [
        "8944100000000000018",
        "234150000000001",
        "447700900123",
        "CHIP-0001",
    ] {
        assert!(!text.contains(secret), "{text}");
    }
}

#[test]
fn an_unattested_chip_is_indexed_with_its_key_an_attested_one_by_serial_alone() {
    use simbind_core::binding::BindingRecord;
    use simbind_core::id_hash::IdHasher;
    let hasher = IdHasher::new(b"pepper");
    let record = |key: &str| {
        let mut r: BindingRecord = serde_json::from_value(serde_json::json!({
            "binding_id": "bnd_a", "status": "active", "chip_format": "simbind-p256",
            "chip_serial": "aa", "chip_public_key": key,
            "sim": { "iccid": "bb", "imsi": "cc", "msisdn": "dd" },
            "sim_public_key": null, "counter": 1, "consecutive_failures": 0,
            "created_at": 0, "updated_at": 0
        }))
        .unwrap();
        r.chip_serial = hasher.hash(simbind_core::id_hash::IdKind::ChipSerial, "SERIAL-1");
        r
    };
    let (mine, theirs) = (record("KEY-A"), record("KEY-B"));
    assert_eq!(mine.chip_index(&hasher, true), mine.chip_serial);
    assert_eq!(
        mine.chip_index(&hasher, true),
        theirs.chip_index(&hasher, true)
    );
    assert_ne!(
        mine.chip_index(&hasher, false),
        theirs.chip_index(&hasher, false)
    );
    assert_ne!(mine.chip_index(&hasher, false), mine.chip_serial);
    assert_eq!(
        mine.chip_index(&hasher, false),
        record("KEY-A").chip_index(&hasher, false)
    );
}

#[test]
fn binding_statuses_have_their_wire_labels() {
    use simbind_core::binding::BindingStatus;
    assert_eq!(BindingStatus::Active.label(), "active");
    assert_eq!(BindingStatus::Suspended.label(), "suspended");
    assert_eq!(BindingStatus::Revoked.label(), "revoked");
}

#[test]
fn identifier_hashes_print_as_their_hash_and_numbers_redacted() {
    use simbind_core::id_hash::{IdHasher, IdKind};
    let h = IdHasher::new(b"pepper").hash(IdKind::PhoneNumber, "+447700900123");
    assert_eq!(format!("{h:?}"), format!("IdHash({})", h.as_str()));
    let n = simbind_core::identifiers::PhoneNumber::parse("+447700900123").unwrap();
    assert!(!format!("{n:?}").contains("447700900123"));
}
