//! SIM identity v2 in the decisions: which fields a SIM level requires at
//! bind, and how a presented SIM is compared with the bound one at verify.
//! Each refusal here would pass if its check were removed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use simbind_core::Denial;
use simbind_core::api::SimInfo;
use simbind_core::attestation::{AttestationFacts, ChipFormat};
use simbind_core::binding::BindingRecord;
use simbind_core::decision::{BindPlan, decide_binding, decide_holder};
use simbind_core::sim::{SimField, SimLevel, SimPolicy};
use simbind_core::transcript::Ceremony;

/// What an ordinary Android app reads: no ICCID, IMSI, EID or number.
fn ordinary() -> SimInfo {
    SimInfo {
        subscription_id: Some(3),
        slot_index: Some(0),
        card_id: Some(1),
        port_index: Some(0),
        embedded: Some(false),
        mcc: Some("234".into()),
        mnc: Some("15".into()),
        ..SimInfo::default()
    }
}

/// Everything a privileged app on an eSIM phone reads.
fn everything() -> SimInfo {
    SimInfo {
        msisdn: Some(NUMBER.into()),
        iccid: Some("8944100000000000018".into()),
        imsi: Some("234150000000001".into()),
        eid: Some("89049032001234567890123456789057".into()),
        embedded: Some(true),
        ..ordinary()
    }
}

fn world(level: &str) -> World {
    let mut world = World::new();
    world.policy.sim = SimPolicy::parse(level).expect("valid level");
    world
}

fn signed(
    chip: &Chip,
    info: &SimInfo,
    ceremony: Ceremony,
    subject: &str,
    world: &World,
) -> simbind_core::api::Evidence {
    let ch = world.challenge(ceremony, subject);
    let mut req = request(chip, &sim_a(), &ch, ceremony, subject);
    req.sim = info.clone();
    sign(&mut req, chip, &sim_a(), ceremony, subject);
    evidence(&req)
}

fn bind(world: &World, info: &SimInfo) -> Result<BindingRecord, Denial> {
    let evidence = signed(&chip(), info, Ceremony::Bind, REG_ID, world);
    match decide_binding(
        &world.ctx(),
        &world.registration(NUMBER),
        None,
        None,
        &evidence,
        false,
        BINDING_ID,
        &AttestationFacts::default(),
    )? {
        BindPlan::Create(record) => Ok(record),
        BindPlan::Rebind(_) => panic!("nothing was bound"),
    }
}

fn verify(world: &World, binding: &BindingRecord, info: &SimInfo) -> Result<(), Denial> {
    let chip = Chip {
        counter: 1,
        ..chip()
    };
    let evidence = signed(&chip, info, Ceremony::Verify, BINDING_ID, world);
    let d = decide_holder(&world.ctx(), binding, Ceremony::Verify, &evidence, false);
    assert!(
        d.authentic,
        "every SIM refusal comes after the chip signature"
    );
    d.result
}

/// `info` without `field`.
fn without(info: &SimInfo, field: SimField) -> SimInfo {
    let mut s = info.clone();
    match field {
        SimField::Msisdn => s.msisdn = None,
        SimField::Iccid => s.iccid = None,
        SimField::Imsi => s.imsi = None,
        SimField::Eid => s.eid = None,
        SimField::SubscriptionId => s.subscription_id = None,
        SimField::SlotIndex => s.slot_index = None,
        SimField::CardId => s.card_id = None,
        SimField::PortIndex => s.port_index = None,
        SimField::Embedded => s.embedded = None,
        SimField::Mcc | SimField::Mnc => {
            s.mcc = None;
            s.mnc = None;
        }
    }
    s
}

/// `info` with another valid value of `field`.
fn changed(info: &SimInfo, field: SimField) -> SimInfo {
    let mut s = info.clone();
    match field {
        SimField::Msisdn => s.msisdn = Some(OTHER_NUMBER.into()),
        SimField::Iccid => s.iccid = Some("8944100000000000026".into()),
        SimField::Imsi => s.imsi = Some("234150000000002".into()),
        SimField::Eid => s.eid = Some("89049032001234567890123456789154".into()),
        SimField::SubscriptionId => s.subscription_id = Some(4),
        SimField::SlotIndex => s.slot_index = Some(1),
        SimField::CardId => s.card_id = Some(2),
        SimField::PortIndex => s.port_index = Some(1),
        SimField::Embedded => s.embedded = s.embedded.map(|e| !e),
        SimField::Mcc => s.mcc = Some("235".into()),
        SimField::Mnc => s.mnc = Some("150".into()),
    }
    s
}

#[test]
fn levels_parse_with_per_format_overrides_and_refuse_anything_else() {
    let policy = SimPolicy::parse("device, apple-appattest = none").unwrap();
    assert_eq!(policy.level_for(ChipFormat::AndroidKey), SimLevel::Device);
    assert_eq!(policy.level_for(ChipFormat::SimbindP256), SimLevel::Device);
    assert_eq!(policy.level_for(ChipFormat::AppleAppAttest), SimLevel::None);
    assert_eq!(
        SimPolicy::parse("privileged").unwrap().level,
        SimLevel::Privileged
    );
    assert_eq!(SimPolicy::default().level, SimLevel::Device);
    for bad in [
        "",
        "strict",
        "Device",
        "device,android-key",
        "device,android-key=high",
        "device,tpm=none",
        "device,android-key=none,android-key=device",
    ] {
        assert_eq!(SimPolicy::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn an_ordinary_app_binds_at_device_level_and_is_refused_at_privileged() {
    assert!(bind(&world("device"), &ordinary()).is_ok());
    assert_eq!(
        bind(&world("privileged"), &ordinary()).err(),
        Some(Denial::SimEvidenceRequired)
    );
    assert!(bind(&world("privileged"), &everything()).is_ok());
}

#[test]
fn every_field_a_level_requires_is_required_at_bind() {
    for level in SimLevel::ALL {
        let world = world(level.label());
        assert!(bind(&world, &everything()).is_ok(), "{level:?}");
        for field in SimField::ALL {
            let got = bind(&world, &without(&everything(), field)).err();
            let required = level.required().contains(&field)
                || (matches!(field, SimField::Mcc | SimField::Mnc)
                    && level.required().contains(&SimField::Mcc));
            let expected = required.then_some(Denial::SimEvidenceRequired);
            assert_eq!(got, expected, "{level:?} without {field:?}");
        }
    }
}

#[test]
fn an_ios_app_reports_nothing_and_binds_only_where_its_format_is_held_to_none() {
    let empty = SimInfo::default();
    assert_eq!(
        bind(&world("device"), &empty).err(),
        Some(Denial::SimEvidenceRequired)
    );
    // The fixtures' chip is simbind-p256: an override for another format
    // does not apply to it, one for its own does.
    assert_eq!(
        bind(&world("device,apple-appattest=none"), &empty).err(),
        Some(Denial::SimEvidenceRequired)
    );
    let world = world("device,simbind-p256=none");
    let binding = bind(&world, &empty).unwrap();
    assert_eq!(verify(&world, &binding, &empty), Ok(()));
    // What a none-level binding does not hold, it cannot compare.
    assert_eq!(verify(&world, &binding, &ordinary()), Ok(()));
}

#[test]
fn every_bound_field_that_changes_or_goes_missing_is_sim_changed() {
    for level in ["none", "device", "privileged"] {
        let world = world(level);
        let binding = bind(&world, &everything()).unwrap();
        assert_eq!(verify(&world, &binding, &everything()), Ok(()), "{level}");
        for field in SimField::ALL.into_iter().filter(|f| *f != SimField::Msisdn) {
            assert_eq!(
                verify(&world, &binding, &changed(&everything(), field)),
                Err(Denial::SimChanged),
                "{level}: {field:?} changed"
            );
            assert_eq!(
                verify(&world, &binding, &without(&everything(), field)),
                Err(Denial::SimChanged),
                "{level}: {field:?} missing"
            );
        }
    }
}

#[test]
fn a_field_absent_at_bind_is_not_compared_unless_the_level_requires_it() {
    let world = world("device");
    let binding = bind(&world, &ordinary()).unwrap();
    let more = SimInfo {
        iccid: Some("8944100000000000018".into()),
        eid: Some("89049032001234567890123456789057".into()),
        msisdn: Some(OTHER_NUMBER.into()),
        ..ordinary()
    };
    assert_eq!(verify(&world, &binding, &more), Ok(()));
    // Raising the level after the bind: the binding lacks what is now
    // required, so it no longer proves the SIM until the chip re-binds.
    let raised = self::world("privileged");
    let privileged = SimInfo {
        iccid: Some("8944100000000000018".into()),
        imsi: Some("234150000000001".into()),
        ..ordinary()
    };
    assert_eq!(verify(&world, &binding, &privileged), Ok(()));
    assert_eq!(
        verify(&raised, &binding, &privileged),
        Err(Denial::SimChanged)
    );
}

#[test]
fn the_subscriptions_a_phone_can_move_to_are_each_sim_changed() {
    let world = world("device");
    let binding = bind(&world, &ordinary()).unwrap();
    let new_physical_sim = SimInfo {
        subscription_id: Some(9),
        ..ordinary()
    };
    let new_esim_profile = SimInfo {
        subscription_id: Some(10),
        card_id: Some(2),
        embedded: Some(true),
        ..ordinary()
    };
    let other_slot = SimInfo {
        slot_index: Some(1),
        ..ordinary()
    };
    let other_operator = SimInfo {
        mnc: Some("30".into()),
        ..ordinary()
    };
    for moved in [
        new_physical_sim,
        new_esim_profile,
        other_slot,
        other_operator,
    ] {
        assert_eq!(verify(&world, &binding, &moved), Err(Denial::SimChanged));
    }
}

#[test]
fn the_sims_own_number_is_checked_at_bind_and_at_verify_only_when_reported() {
    let world = world("device");
    let with_number = |n: &str| SimInfo {
        msisdn: Some(n.into()),
        ..ordinary()
    };
    assert_eq!(
        bind(&world, &with_number(OTHER_NUMBER)).err(),
        Some(Denial::NumberMismatch)
    );
    let binding = bind(&world, &with_number(NUMBER)).unwrap();
    assert_eq!(verify(&world, &binding, &with_number(NUMBER)), Ok(()));
    assert_eq!(
        verify(&world, &binding, &with_number(OTHER_NUMBER)),
        Err(Denial::NumberChanged)
    );
    assert_eq!(
        verify(&world, &binding, &ordinary()),
        Err(Denial::NumberChanged),
        "a bound number the phone stops reporting"
    );
    // A SIM change is told before a number change.
    let both = SimInfo {
        subscription_id: Some(8),
        ..with_number(OTHER_NUMBER)
    };
    assert_eq!(verify(&world, &binding, &both), Err(Denial::SimChanged));
}

#[test]
fn the_binding_keeps_keyed_hashes_of_what_was_presented_and_its_number() {
    let world = world("device");
    let binding = bind(&world, &everything()).unwrap();
    let stored = serde_json::to_string(&binding).unwrap();
    for clear in [
        "8944100000000000018",
        "234150000000001",
        "89049032001234567890123456789057",
        "447700900123",
    ] {
        assert!(!stored.contains(clear), "{clear} in {stored}");
    }
    let hasher = &world.hasher;
    assert_eq!(
        binding.number,
        hasher.hash(simbind_core::id_hash::IdKind::PhoneNumber, NUMBER)
    );
    for field in SimField::ALL {
        assert!(binding.sim.get(field).is_some(), "{field:?}");
    }
    let sparse = bind(&world, &ordinary()).unwrap();
    assert!(sparse.sim.get(SimField::Iccid).is_none());
    assert!(sparse.sim.get(SimField::Msisdn).is_none());
    assert_eq!(
        sparse.number, binding.number,
        "the number comes from the registration"
    );
    let back: BindingRecord = serde_json::from_str(&stored).unwrap();
    assert_eq!(back, binding);
}
