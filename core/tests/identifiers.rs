//! Every validator: what it accepts and each way it refuses.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use simbind_core::ValidationError as E;
use simbind_core::api::SimInfo;
use simbind_core::identifiers::*;
use simbind_core::sim::{SimField, SimIdentity};

/// A valid EID (GSMA SGP.29): 89, 28 digits, two mod-97 check digits.
const EID: &str = "89049032001234567890123456789057";

#[test]
fn eid_needs_32_digits_from_89_and_its_mod_97_check_digits() {
    assert_eq!(Eid::parse(EID).unwrap().as_str(), EID);
    // Every single-digit change of a check digit is caught.
    for d in 0..10u8 {
        let changed = format!("{}{}", &EID[..31], d);
        if changed != EID {
            assert_eq!(Eid::parse(&changed), Err(E::EidChecksum), "{changed}");
        }
    }
    // So is swapping two adjacent digits of the body (mod 97 catches it).
    let mut swapped = EID.as_bytes().to_vec();
    swapped.swap(10, 11);
    assert_eq!(
        Eid::parse(core::str::from_utf8(&swapped).unwrap()),
        Err(E::EidChecksum)
    );
    for bad in [
        &EID[..31],                         // 31 digits
        &format!("{EID}0"),                 // 33 digits
        "99049032001234567890123456789057", // not 89
        "8904903200123456789012345678905a", // not a digit
        "",
    ] {
        assert_eq!(Eid::parse(bad), Err(E::InvalidEid), "{bad}");
    }
}

#[test]
fn operator_codes_are_a_3_digit_mcc_and_a_2_or_3_digit_mnc() {
    for (mcc, mnc) in [("234", "15"), ("310", "410"), ("001", "01"), ("208", "001")] {
        let code = NetworkCode::parse(mcc, mnc).unwrap();
        assert_eq!((code.mcc(), code.mnc()), (mcc, mnc));
    }
    for (mcc, mnc) in [
        ("23", "15"),
        ("2345", "15"),
        ("134", "15"),
        ("834", "15"),
        ("000", "01"),
        ("234", "1"),
        ("234", "1234"),
        ("234", "1a"),
        ("2a4", "15"),
    ] {
        assert_eq!(
            NetworkCode::parse(mcc, mnc),
            Err(E::InvalidNetworkCode),
            "{mcc} {mnc}"
        );
    }
}

#[test]
fn a_sim_block_refuses_each_invalid_field_by_its_own_code() {
    let with = |f: fn(&mut SimInfo)| {
        let mut info = SimInfo::default();
        f(&mut info);
        SimIdentity::parse(&info).map(|_| ())
    };
    assert_eq!(with(|_| {}), Ok(()), "an empty SIM block (iOS) is valid");
    assert_eq!(
        with(|s| s.iccid = Some("8944100000000000019".into())),
        Err(E::IccidChecksum)
    );
    assert_eq!(
        with(|s| s.imsi = Some("134150000000001".into())),
        Err(E::InvalidImsi)
    );
    assert_eq!(
        with(|s| s.msisdn = Some("447700900123".into())),
        Err(E::InvalidPhoneNumber)
    );
    assert_eq!(with(|s| s.eid = Some("89".into())), Err(E::InvalidEid));
    assert_eq!(
        with(|s| s.mcc = Some("234".into())),
        Err(E::InvalidNetworkCode)
    );
    assert_eq!(
        with(|s| s.mnc = Some("15".into())),
        Err(E::InvalidNetworkCode)
    );
    assert_eq!(
        with(|s| s.subscription_id = Some(1 << 31)),
        Err(E::OutOfRange("sim.subscription_id"))
    );
    assert_eq!(with(|s| s.subscription_id = Some((1 << 31) - 1)), Ok(()));
    assert_eq!(
        with(|s| s.card_id = Some(1 << 31)),
        Err(E::OutOfRange("sim.card_id"))
    );
    assert_eq!(with(|s| s.card_id = Some((1 << 31) - 1)), Ok(()));
    assert_eq!(
        with(|s| s.slot_index = Some(16)),
        Err(E::OutOfRange("sim.slot_index"))
    );
    assert_eq!(with(|s| s.slot_index = Some(15)), Ok(()));
    assert_eq!(
        with(|s| s.port_index = Some(16)),
        Err(E::OutOfRange("sim.port_index"))
    );
    assert_eq!(with(|s| s.port_index = Some(15)), Ok(()));
}

#[test]
fn sim_values_are_canonical_text() {
    let sim = SimIdentity::parse(&SimInfo {
        subscription_id: Some(7),
        slot_index: Some(1),
        card_id: Some(0),
        port_index: Some(2),
        embedded: Some(true),
        mcc: Some("001".into()),
        mnc: Some("01".into()),
        ..SimInfo::default()
    })
    .unwrap();
    let values: Vec<Option<String>> = SimField::ALL.into_iter().map(|f| sim.value(f)).collect();
    let expected = [
        None,
        None,
        None,
        None,
        Some("7"),
        Some("1"),
        Some("0"),
        Some("2"),
        Some("1"),
        Some("001"),
        Some("01"),
    ];
    assert_eq!(values, expected.map(|v| v.map(String::from)));
    let labels: Vec<&str> = SimField::ALL.into_iter().map(SimField::label).collect();
    assert_eq!(
        labels,
        [
            "msisdn",
            "iccid",
            "imsi",
            "eid",
            "subscription_id",
            "slot_index",
            "card_id",
            "port_index",
            "embedded",
            "mcc",
            "mnc"
        ]
    );
}

#[test]
fn e164_accepts_mobile_numbers_of_their_country_s_lengths() {
    for ok in [
        "+447700900123",  // GB: 10 national digits
        "+14155550100",   // NANP: 10
        "+4915112345678", // DE: 11
        "+491511234567",  // DE: 10 as well
        "+31612345678",   // NL: 9
        "+85212345678",   // HK: 8
        "+358401234",     // FI: 6, the shortest it allows
        "+3584012345678", // FI: 10, its longest
        "+8613812345678", // CN: 11
    ] {
        assert!(PhoneNumber::parse(ok).is_ok(), "{ok}");
    }
}

#[test]
fn e164_refuses_malformed_numbers() {
    for bad in [
        "447700900123",      // no plus
        "+0447700900123",    // leading zero: no such calling code
        "+123456",           // too short
        "+1234567890123456", // too long for E.164 (16 digits)
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
fn e164_refuses_lengths_no_mobile_number_has_under_its_code() {
    for bad in [
        "+4477009001",     // GB: 8 national digits (the demo's finding)
        "+44770090012",    // GB: 9
        "+4477009001234",  // GB: 11
        "+1415555010",     // NANP: 9
        "+141555501000",   // NANP: 11
        "+3161234567",     // NL: 8
        "+3584012",        // FI: 5, one short of its shortest
        "+35840123456789", // FI: 11, one past its longest
        "+80012345678",    // 800: international freephone, no mobiles
        "+2591234567",     // 259: not an assigned calling code
        "+999123456789",   // 999: reserved
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
    let sim = SimIdentity::parse(&SimInfo {
        msisdn: Some("+447700900123".into()),
        iccid: Some("8944100000000000018".into()),
        imsi: Some("234150000000001".into()),
        eid: Some(EID.into()),
        subscription_id: Some(987_654),
        card_id: Some(123_456),
        ..SimInfo::default()
    })
    .unwrap();
    let text = format!("{sim:?} {:?}", ChipSerial::parse("CHIP-0001").unwrap());
    assert!(text.contains("iccid") && text.contains("eid"), "{text}");
    for secret in [
        "8944100000000000018",
        "234150000000001",
        "447700900123",
        "9032001234567890",
        "987654",
        "123456",
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
            "number": "dd", "sim": { "iccid": "bb", "imsi": "cc", "msisdn": "dd" },
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

#[test]
fn the_e164_form_alone_is_for_numbers_no_user_typed() {
    // A virtual inbound number, freephone, an unassigned code: the form is enough.
    for (ok, code) in [
        ("+4477009001", "44"),
        ("+80012345678", "800"),
        ("+2591234567", "259"),
        ("+14155550100", "1"),
        ("+1234567", "1"),
    ] {
        let n = PhoneNumber::parse_e164(ok).unwrap();
        assert_eq!((n.as_str(), n.country_code()), (ok, code));
    }
    for bad in [
        "+123456",
        "+0447700900123",
        "+1234567890123456",
        "447700900123",
        "+44 7700900123",
        "+",
    ] {
        assert_eq!(
            PhoneNumber::parse_e164(bad),
            Err(E::InvalidPhoneNumber),
            "{bad:?}"
        );
    }
    // A number sealed before lengths were checked still opens.
    let old = PhoneNumber::parse_e164("+4477009001").unwrap();
    let sealed = simbind_core::contact::seal(b"pepper", "bnd_x", &old, [7; 12]);
    assert_eq!(
        simbind_core::contact::open(b"pepper", "bnd_x", &sealed),
        Some(old)
    );
}
