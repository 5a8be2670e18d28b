//! Transcript encoding: exact layout, round trip, and injectivity (two
//! different inputs never encode to the same bytes), by property tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use simbind_core::api::SimInfo;
use simbind_core::crypto::SecretKey;
use simbind_core::identifiers::*;
use simbind_core::sim::{SimField, SimIdentity};
use simbind_core::transcript::{Ceremony, DecodedTranscript, Transcript, decode};

#[derive(Clone, Debug)]
struct Input {
    ceremony: Ceremony,
    challenge: Vec<u8>,
    audience: String,
    subject: String,
    transaction: Vec<u8>,
    serial: String,
    chip_seed: u8,
    sim: SimInfo,
    sim_seed: Option<u8>,
    counter: u64,
}

fn luhn_complete(body: &str) -> String {
    (0..10u8)
        .map(|d| format!("{body}{d}"))
        .find(|s| luhn_valid(s))
        .unwrap()
}

/// Appends the two mod-97 check digits of an EID.
fn eid_complete(body: &str) -> String {
    let r = body
        .bytes()
        .fold(0u32, |r, b| (r * 10 + u32::from(b - b'0')) % 97);
    format!("{body}{:02}", 98 - (r * 100) % 97)
}

/// Any SIM the bridge may report: each field present or not.
fn sim() -> impl Strategy<Value = SimInfo> {
    use proptest::option::of;
    (
        // Mobile numbers of several lengths: GB 10, DE 10–11, FI 6–10, HK 8.
        of("\\+(447[0-9]{9}|491[0-9]{9,10}|3584[0-9]{5,9}|852[5-9][0-9]{7})"),
        of("89[0-9]{16,17}"),
        of("[2-7][0-9]{5,14}"),
        of("89[0-9]{28}"),
        of(0u64..=i32::MAX as u64),
        of(0u64..=15),
        of(0u64..=i32::MAX as u64),
        of(0u64..=15),
        of(any::<bool>()),
        of(("[2-7][0-9]{2}", "[0-9]{2,3}")),
    )
        .prop_map(
            |(
                msisdn,
                iccid,
                imsi,
                eid,
                subscription_id,
                slot_index,
                card_id,
                port_index,
                embedded,
                network,
            )| {
                SimInfo {
                    msisdn,
                    iccid: iccid.map(|i| luhn_complete(&i)),
                    imsi,
                    eid: eid.map(|e| eid_complete(&e)),
                    subscription_id,
                    slot_index,
                    card_id,
                    port_index,
                    embedded,
                    mcc: network.as_ref().map(|(mcc, _)| mcc.clone()),
                    mnc: network.map(|(_, mnc)| mnc),
                    public_key: None,
                }
            },
        )
}

fn input() -> impl Strategy<Value = Input> {
    (
        prop_oneof![
            Just(Ceremony::Bind),
            Just(Ceremony::Verify),
            Just(Ceremony::Unbind)
        ],
        proptest::collection::vec(any::<u8>(), 0..80),
        ".{0,12}",
        ".{0,12}",
        proptest::collection::vec(any::<u8>(), 0..=64),
        "[A-Za-z0-9:._-]{4,16}",
        1u8..=30,
        sim(),
        proptest::option::of(31u8..=60),
        any::<u64>(),
    )
        .prop_map(
            |(
                ceremony,
                challenge,
                audience,
                subject,
                transaction,
                serial,
                chip_seed,
                sim,
                sim_seed,
                counter,
            )| Input {
                ceremony,
                challenge,
                audience,
                subject,
                transaction,
                serial,
                chip_seed,
                sim,
                sim_seed,
                counter,
            },
        )
}

fn encode(i: &Input) -> Vec<u8> {
    let chip_key = SecretKey::from_bytes(&[i.chip_seed; 32])
        .unwrap()
        .public_key();
    let sim_key = i
        .sim_seed
        .map(|s| SecretKey::from_bytes(&[s; 32]).unwrap().public_key());
    let sim = SimIdentity::parse(&i.sim).unwrap();
    Transcript {
        ceremony: i.ceremony,
        challenge: &i.challenge,
        audience: &i.audience,
        subject: &i.subject,
        transaction: &i.transaction,
        chip_serial: &ChipSerial::parse(&i.serial).unwrap(),
        chip_public_key: Some(&chip_key),
        sim: &sim,
        sim_public_key: sim_key.as_ref(),
        counter: i.counter,
    }
    .encode()
}

fn expected(i: &Input) -> DecodedTranscript {
    DecodedTranscript {
        version: 2,
        ceremony: i.ceremony.label().into(),
        challenge: i.challenge.clone(),
        audience: i.audience.clone(),
        subject: i.subject.clone(),
        transaction: i.transaction.clone(),
        chip_serial: i.serial.clone(),
        chip_public_key: SecretKey::from_bytes(&[i.chip_seed; 32])
            .unwrap()
            .public_key()
            .to_compressed(),
        sim: {
            let sim = SimIdentity::parse(&i.sim).unwrap();
            SimField::ALL
                .into_iter()
                .map(|f| sim.value(f).unwrap_or_default())
                .collect()
        },
        sim_public_key: i
            .sim_seed
            .map(|s| {
                SecretKey::from_bytes(&[s; 32])
                    .unwrap()
                    .public_key()
                    .to_compressed()
            })
            .unwrap_or_default(),
        counter: i.counter,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decodes_back_to_its_inputs(i in input()) {
        prop_assert_eq!(decode(&encode(&i)), Some(expected(&i)));
    }

    #[test]
    fn different_inputs_never_share_bytes(a in input(), b in input()) {
        if expected(&a) != expected(&b) {
            prop_assert_ne!(encode(&a), encode(&b));
        }
    }

    #[test]
    fn truncated_or_extended_bytes_do_not_decode(i in input(), cut in 1usize..40, extra in any::<u8>()) {
        let bytes = encode(&i);
        let cut = cut.min(bytes.len());
        prop_assert_eq!(decode(&bytes[..bytes.len() - cut]), None);
        let mut longer = bytes.clone();
        longer.push(extra);
        prop_assert_eq!(decode(&longer), None);
    }
}

fn privileged_sim() -> SimInfo {
    SimInfo {
        msisdn: Some("+447700900123".into()),
        iccid: Some("8944100000000000018".into()),
        imsi: Some("234150000000001".into()),
        subscription_id: Some(1),
        slot_index: Some(0),
        embedded: Some(false),
        mcc: Some("234".into()),
        mnc: Some("15".into()),
        ..SimInfo::default()
    }
}

#[test]
fn an_absent_field_and_its_neighbours_never_share_bytes() {
    // Each absent field is an empty field in its own place: a value cannot
    // slide into the slot of an absent neighbour.
    let base = Input {
        ceremony: Ceremony::Verify,
        challenge: vec![1],
        audience: "a".into(),
        subject: "b".into(),
        transaction: vec![],
        serial: "CHIP-0001".into(),
        chip_seed: 7,
        sim: SimInfo {
            slot_index: Some(1),
            ..SimInfo::default()
        },
        sim_seed: None,
        counter: 1,
    };
    let port = Input {
        sim: SimInfo {
            port_index: Some(1),
            ..SimInfo::default()
        },
        ..base.clone()
    };
    let card = Input {
        sim: SimInfo {
            card_id: Some(1),
            ..SimInfo::default()
        },
        ..base.clone()
    };
    assert_ne!(encode(&base), encode(&port));
    assert_ne!(encode(&base), encode(&card));
    assert_ne!(encode(&port), encode(&card));
    let block = decode(&encode(&port)).unwrap().sim;
    assert_eq!(block.len(), SimField::ALL.len());
    assert_eq!(block[7], "1", "port index is the 8th field");
    assert!(
        block
            .iter()
            .enumerate()
            .all(|(n, v)| n == 7 || v.is_empty())
    );
}

#[test]
fn the_esim_flag_is_one_or_zero_and_absent_is_neither() {
    let flag = |embedded| {
        SimIdentity::parse(&SimInfo {
            embedded,
            ..SimInfo::default()
        })
        .unwrap()
        .value(SimField::Embedded)
    };
    assert_eq!(flag(Some(true)).as_deref(), Some("1"));
    assert_eq!(flag(Some(false)).as_deref(), Some("0"));
    assert_eq!(flag(None), None);
}

#[test]
fn moving_bytes_between_adjacent_fields_changes_the_encoding() {
    // The classic ambiguity of plain concatenation: ("ab","c") vs ("a","bc").
    let base = Input {
        ceremony: Ceremony::Verify,
        challenge: vec![1, 2, 3],
        audience: "ab".into(),
        subject: "c".into(),
        transaction: vec![],
        serial: "CHIP-0001".into(),
        chip_seed: 7,
        sim: privileged_sim(),
        sim_seed: None,
        counter: 1,
    };
    let shifted = Input {
        audience: "a".into(),
        subject: "bc".into(),
        ..base.clone()
    };
    assert_ne!(encode(&base), encode(&shifted));
    // The same between the subject and the transaction that follows it.
    let into_txn = Input {
        subject: String::new(),
        transaction: b"c".to_vec(),
        ..base.clone()
    };
    assert_ne!(encode(&base), encode(&into_txn));
}

#[test]
fn the_transaction_is_signed_bytes() {
    let mut i = Input {
        ceremony: Ceremony::Verify,
        challenge: vec![1, 2, 3],
        audience: "simbind".into(),
        subject: "bnd_x".into(),
        transaction: vec![0xaa; 32],
        serial: "CHIP-0001".into(),
        chip_seed: 7,
        sim: privileged_sim(),
        sim_seed: None,
        counter: 1,
    };
    let paid = encode(&i);
    assert_eq!(decode(&paid).unwrap().transaction, vec![0xaa; 32]);
    i.transaction[0] ^= 1;
    assert_ne!(paid, encode(&i), "another transaction, other bytes");
}

#[test]
fn ceremonies_change_the_bytes() {
    let mut i = Input {
        ceremony: Ceremony::Bind,
        challenge: vec![],
        audience: String::new(),
        subject: String::new(),
        transaction: vec![],
        serial: "CHIP-0001".into(),
        chip_seed: 7,
        sim: privileged_sim(),
        sim_seed: None,
        counter: 0,
    };
    let bind = encode(&i);
    i.ceremony = Ceremony::Verify;
    assert_ne!(bind, encode(&i));
    assert!(bind.starts_with(b"\0\0\0\x12SIMBIND-TRANSCRIPT\0\x02\0\0\0\x04bind"));
}

#[test]
fn ceremony_labels_and_codes_round_trip() {
    for c in [Ceremony::Bind, Ceremony::Verify, Ceremony::Unbind] {
        assert_eq!(Ceremony::from_label(c.label()), Some(c));
        assert_eq!(Ceremony::from_code(c.code()), Some(c));
    }
    assert_eq!(Ceremony::from_code(0), None);
    assert_eq!(Ceremony::from_label("Bind"), None);
}
