//! Every branch of the bind, verify and unbind decisions, and what applying
//! them changes. Each refusal test would pass a request through if its check
//! were removed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use simbind_core::Denial;
use simbind_core::api::ChipCertificate;
use simbind_core::attestation::AttestationFacts;
use simbind_core::attestation::vendor::{Certified, VendorRoots, certify};
use simbind_core::binding::BindingStatus;
use simbind_core::codec::b64;
use simbind_core::decision::{BindPlan, Decision, apply, decide_binding, decide_holder};
use simbind_core::transcript::Ceremony;

fn bind(world: &World, chip: &Chip, sim: &Sim) -> Result<BindPlan, Denial> {
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let req = request(chip, sim, &ch, Ceremony::Bind, REG_ID);
    decide_binding(
        &world.ctx(),
        &world.registration(NUMBER),
        None,
        None,
        &evidence(&req),
        false,
        BINDING_ID,
        &AttestationFacts::default(),
    )
}

fn verify(
    world: &World,
    binding: &simbind_core::binding::BindingRecord,
    chip: &Chip,
    sim: &Sim,
) -> Decision {
    let ch = world.challenge(Ceremony::Verify, &binding.binding_id);
    let req = request(chip, sim, &ch, Ceremony::Verify, &binding.binding_id);
    decide_holder(
        &world.ctx(),
        binding,
        Ceremony::Verify,
        &evidence(&req),
        false,
    )
}

fn next(chip: &Chip) -> Chip {
    Chip {
        counter: chip.counter + 1,
        ..chip.clone()
    }
}

// ---------- binding ----------

#[test]
fn bind_creates_an_active_binding_without_identifiers_in_clear() {
    let world = World::new();
    let Ok(BindPlan::Create(record)) = bind(&world, &chip(), &sim_a()) else {
        panic!("bind refused")
    };
    assert_eq!(record.status, BindingStatus::Active);
    assert_eq!(record.binding_id, BINDING_ID);
    let stored = serde_json::to_string(&record).unwrap();
    for clear in [
        "8944100000000000018",
        "234150000000001",
        "447700900123",
        "CHIP-0001",
    ] {
        assert!(!stored.contains(clear), "{clear} stored in clear");
    }
}

#[test]
fn bind_refuses_a_sim_carrying_another_number() {
    let world = World::new();
    let sim = Sim {
        msisdn: OTHER_NUMBER,
        ..sim_a()
    };
    assert_eq!(bind(&world, &chip(), &sim), Err(Denial::NumberMismatch));
}

#[test]
fn bind_refuses_a_signature_by_another_key() {
    let world = World::new();
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let mut req = request(&chip(), &sim_a(), &ch, Ceremony::Bind, REG_ID);
    let thief = Chip {
        key: key(8),
        ..chip()
    };
    let signed_by_thief = request(&thief, &sim_a(), &ch, Ceremony::Bind, REG_ID);
    req.chip_signature = signed_by_thief.chip_signature;
    let got = decide_binding(
        &world.ctx(),
        &world.registration(NUMBER),
        None,
        None,
        &evidence(&req),
        false,
        BINDING_ID,
        &AttestationFacts::default(),
    );
    assert_eq!(got, Err(Denial::BadSignature));
}

#[test]
fn bind_refuses_a_tampered_field_after_signing() {
    let world = World::new();
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let mut req = request(&chip(), &sim_a(), &ch, Ceremony::Bind, REG_ID);
    req.counter += 1;
    let got = decide_binding(
        &world.ctx(),
        &world.registration(NUMBER),
        None,
        None,
        &evidence(&req),
        false,
        BINDING_ID,
        &AttestationFacts::default(),
    );
    assert_eq!(got, Err(Denial::BadSignature));
}

#[test]
fn bind_refuses_used_foreign_or_verify_challenges() {
    let world = World::new();
    let reg = world.registration(NUMBER);
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let req = request(&chip(), &sim_a(), &ch, Ceremony::Bind, REG_ID);
    let ev = evidence(&req);
    assert_eq!(
        decide_binding(
            &world.ctx(),
            &reg,
            None,
            None,
            &ev,
            true,
            BINDING_ID,
            &AttestationFacts::default()
        ),
        Err(Denial::ChallengeReused)
    );
    let foreign = world.challenge(Ceremony::Bind, "reg_BBBBBBBBBBBBBBBBBBBBBB");
    let req = request(&chip(), &sim_a(), &foreign, Ceremony::Bind, REG_ID);
    assert_eq!(
        decide_binding(
            &world.ctx(),
            &reg,
            None,
            None,
            &evidence(&req),
            false,
            BINDING_ID,
            &AttestationFacts::default()
        ),
        Err(Denial::ChallengeWrongSubject)
    );
    let verify_ch = world.challenge(Ceremony::Verify, REG_ID);
    let req = request(&chip(), &sim_a(), &verify_ch, Ceremony::Bind, REG_ID);
    assert_eq!(
        decide_binding(
            &world.ctx(),
            &reg,
            None,
            None,
            &evidence(&req),
            false,
            BINDING_ID,
            &AttestationFacts::default()
        ),
        Err(Denial::ChallengeWrongCeremony)
    );
    let mut late = World::new();
    late.now += 121;
    assert_eq!(
        decide_binding(
            &late.ctx(),
            &reg,
            None,
            None,
            &ev,
            false,
            BINDING_ID,
            &AttestationFacts::default()
        ),
        Err(Denial::ChallengeExpired)
    );
}

#[test]
fn bind_with_vendor_roots_requires_a_valid_certificate() {
    let mut world = World::new();
    let root = key(40);
    world.policy.vendor_roots = VendorRoots(vec![("acme".into(), root.public_key())]);
    assert_eq!(
        bind(&world, &chip(), &sim_a()),
        Err(Denial::ChipCertificateRequired)
    );

    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let c = chip();
    // A certificate signed for (format, not_after) and sent claiming `sent_not_after`.
    let bind_with = |signer: &simbind_core::crypto::SecretKey,
                     vendor: &str,
                     format: &str,
                     not_after: u64,
                     sent_not_after: u64| {
        let mut req = request(&c, &sim_a(), &ch, Ceremony::Bind, REG_ID);
        let claims = evidence(&req).claims;
        let certified = Certified {
            format,
            serial: &claims.chip.serial,
            public_key: claims.chip.public_key.as_ref().unwrap(),
        };
        let cert = certify(certified, vendor, signer, not_after);
        req.chip.certificate = Some(ChipCertificate {
            vendor: cert.vendor,
            not_after: sent_not_after,
            signature: b64(&cert.signature.to_bytes()),
        });
        sign(&mut req, &c, &sim_a(), Ceremony::Bind, REG_ID);
        decide_binding(
            &world.ctx(),
            &world.registration(NUMBER),
            None,
            None,
            &evidence(&req),
            false,
            BINDING_ID,
            &AttestationFacts::default(),
        )
    };
    let with_cert =
        |signer: &simbind_core::crypto::SecretKey, vendor: &str, format: &str, not_after: u64| {
            bind_with(signer, vendor, format, not_after, not_after)
        };
    let year = world.now + 365 * 86_400;
    assert!(matches!(
        with_cert(&root, "acme", "simbind-p256", year),
        Ok(BindPlan::Create(_))
    ));
    assert_eq!(
        with_cert(&key(41), "acme", "simbind-p256", year),
        Err(Denial::ChipCertificateInvalid)
    );
    assert_eq!(
        with_cert(&root, "other-vendor", "simbind-p256", year),
        Err(Denial::ChipCertificateInvalid)
    );
    assert_eq!(
        with_cert(&root, "acme", "android-key", year),
        Err(Denial::ChipCertificateInvalid),
        "a certificate for another format"
    );
    assert_eq!(
        with_cert(&root, "acme", "simbind-p256", world.now),
        Err(Denial::ChipCertificateExpired)
    );
    assert!(matches!(
        with_cert(&root, "acme", "simbind-p256", world.now + 1),
        Ok(BindPlan::Create(_))
    ));
    assert_eq!(
        bind_with(&root, "acme", "simbind-p256", world.now, year),
        Err(Denial::ChipCertificateInvalid),
        "tampering with the date breaks the signature rather than extending it"
    );
}

#[test]
fn a_revoked_chip_cannot_bind_or_verify_by_serial_or_by_key() {
    use simbind_core::attestation::vendor::RevokedChips;
    use simbind_core::id_hash::IdKind;
    let mut world = World::new();
    let binding = bound(&world, &chip(), &sim_a());
    assert_eq!(
        verify(&world, &binding, &next(&chip()), &sim_a()).result,
        Ok(())
    );
    world.policy.revoked = RevokedChips {
        serials: vec![world.hasher.hash(IdKind::ChipSerial, chip().serial)],
        keys: vec![],
    };
    assert_eq!(bind(&world, &chip(), &sim_a()), Err(Denial::ChipRevoked));
    let d = verify(&world, &binding, &next(&chip()), &sim_a());
    assert_eq!(
        (d.result, d.authentic, d.signed),
        (Err(Denial::ChipRevoked), false, true)
    );
    let forged = Chip {
        key: key(79),
        ..next(&chip())
    };
    assert_eq!(
        verify(&world, &binding, &forged, &sim_a()).result,
        Err(Denial::ChipMismatch),
        "the deny-list is told only to the chip itself"
    );
    world.policy.revoked = RevokedChips {
        serials: vec![],
        keys: vec![RevokedChips::key_form(&chip().key.public_key())],
    };
    assert_eq!(bind(&world, &chip(), &sim_a()), Err(Denial::ChipRevoked));
    assert_eq!(
        verify(&world, &binding, &next(&chip()), &sim_a()).result,
        Err(Denial::ChipRevoked)
    );
    world.policy.revoked = RevokedChips {
        serials: vec![world.hasher.hash(IdKind::ChipSerial, "CHIP-9999")],
        keys: vec![RevokedChips::key_form(&key(99).public_key())],
    };
    assert_eq!(
        verify(&world, &binding, &next(&chip()), &sim_a()).result,
        Ok(()),
        "other chips only"
    );
}

#[test]
fn bind_checks_sim_signature_when_the_sim_has_a_key() {
    let world = World::new();
    let sim = Sim {
        key: Some(key(50)),
        ..sim_a()
    };
    assert!(
        matches!(bind(&world, &chip(), &sim), Ok(BindPlan::Create(r)) if r.sim_public_key.is_some())
    );
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let mut req = request(&chip(), &sim, &ch, Ceremony::Bind, REG_ID);
    req.sim_signature = req
        .sim_signature
        .map(|_| b64(&key(51).sign(b"other").to_bytes()));
    let got = decide_binding(
        &world.ctx(),
        &world.registration(NUMBER),
        None,
        None,
        &evidence(&req),
        false,
        BINDING_ID,
        &AttestationFacts::default(),
    );
    assert_eq!(got, Err(Denial::BadSimSignature));
    req.sim_signature = None;
    let got = decide_binding(
        &world.ctx(),
        &world.registration(NUMBER),
        None,
        None,
        &evidence(&req),
        false,
        BINDING_ID,
        &AttestationFacts::default(),
    );
    assert_eq!(got, Err(Denial::BadSimSignature));
}

#[test]
fn a_sim_signature_without_a_sim_key_is_bad_sim_signature() {
    let world = World::new();
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let mut req = request(&chip(), &sim_a(), &ch, Ceremony::Bind, REG_ID);
    assert!(req.sim.public_key.is_none());
    req.sim_signature = Some(b64(&key(51).sign(b"anything").to_bytes()));
    let got = decide_binding(
        &world.ctx(),
        &world.registration(NUMBER),
        None,
        None,
        &evidence(&req),
        false,
        BINDING_ID,
        &AttestationFacts::default(),
    );
    assert_eq!(got, Err(Denial::BadSimSignature));
}

#[test]
fn bind_policy_can_require_a_sim_key() {
    let mut world = World::new();
    world.policy.require_sim_signature = true;
    assert_eq!(
        bind(&world, &chip(), &sim_a()),
        Err(Denial::SimSignatureRequired)
    );
}

#[test]
fn rebind_on_the_same_chip_moves_to_the_new_sim() {
    let mut world = World::new();
    let mut existing = bound(&world, &chip(), &sim_a());
    world.now += 600; // the re-bind happens later: the binding keeps its birth date
    existing.status = BindingStatus::Suspended;
    existing.consecutive_failures = 3;
    let c = next(&chip());
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let req = request(&c, &sim_b(), &ch, Ceremony::Bind, REG_ID);
    let plan = decide_binding(
        &world.ctx(),
        &world.registration(NUMBER),
        Some(&existing),
        Some(&existing),
        &evidence(&req),
        false,
        OTHER_BINDING_ID,
        &AttestationFacts::default(),
    );
    let Ok(BindPlan::Rebind(record)) = plan else {
        panic!("{plan:?}")
    };
    assert_eq!(record.binding_id, BINDING_ID, "binding id is kept");
    assert_eq!(record.status, BindingStatus::Active);
    assert_eq!(record.consecutive_failures, 0);
    assert_ne!(record.sim, existing.sim);
    assert_eq!(record.counter, 1);
    assert_eq!(record.created_at, existing.created_at);
    assert_eq!(record.updated_at, world.now);
}

#[test]
fn rebind_with_an_old_counter_is_refused() {
    let world = World::new();
    let mut existing = bound(&world, &chip(), &sim_a());
    existing.counter = 5;
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let req = request(
        &Chip {
            counter: 5,
            ..chip()
        },
        &sim_b(),
        &ch,
        Ceremony::Bind,
        REG_ID,
    );
    let got = decide_binding(
        &world.ctx(),
        &world.registration(NUMBER),
        Some(&existing),
        None,
        &evidence(&req),
        false,
        OTHER_BINDING_ID,
        &AttestationFacts::default(),
    );
    assert_eq!(got, Err(Denial::CounterReplayed));
}

#[test]
fn another_chip_cannot_take_over_a_live_binding() {
    let world = World::new();
    let existing = bound(&world, &chip(), &sim_a());
    let thief = Chip {
        serial: "CHIP-9999",
        key: key(9),
        counter: 10,
    };
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let req = request(&thief, &sim_a(), &ch, Ceremony::Bind, REG_ID);
    let got = decide_binding(
        &world.ctx(),
        &world.registration(NUMBER),
        Some(&existing),
        None,
        &evidence(&req),
        false,
        OTHER_BINDING_ID,
        &AttestationFacts::default(),
    );
    assert_eq!(got, Err(Denial::BindingExists));
    // Same serial, cloned into another key: still not the bound chip.
    let clone = Chip {
        key: key(9),
        ..next(&chip())
    };
    let req = request(&clone, &sim_a(), &ch, Ceremony::Bind, REG_ID);
    let got = decide_binding(
        &world.ctx(),
        &world.registration(NUMBER),
        Some(&existing),
        Some(&existing),
        &evidence(&req),
        false,
        OTHER_BINDING_ID,
        &AttestationFacts::default(),
    );
    assert_eq!(got, Err(Denial::BindingExists));
}

#[test]
fn after_unbind_or_revoke_a_new_chip_may_bind() {
    let world = World::new();
    let mut existing = bound(&world, &chip(), &sim_a());
    existing.status = BindingStatus::Revoked;
    let newcomer = Chip {
        serial: "CHIP-0002",
        key: key(9),
        counter: 0,
    };
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let req = request(&newcomer, &sim_a(), &ch, Ceremony::Bind, REG_ID);
    let got = decide_binding(
        &world.ctx(),
        &world.registration(NUMBER),
        Some(&existing),
        None,
        &evidence(&req),
        false,
        OTHER_BINDING_ID,
        &AttestationFacts::default(),
    );
    assert!(matches!(got, Ok(BindPlan::Create(r)) if r.binding_id == OTHER_BINDING_ID));
}

#[test]
fn a_chip_bound_to_another_number_is_refused() {
    let world = World::new();
    let mut other = bound(&world, &chip(), &sim_a());
    other.binding_id = OTHER_BINDING_ID.into();
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let sim = Sim {
        msisdn: OTHER_NUMBER,
        ..sim_b()
    };
    let req = request(&chip(), &sim, &ch, Ceremony::Bind, REG_ID);
    let got = decide_binding(
        &world.ctx(),
        &world.registration(OTHER_NUMBER),
        None,
        Some(&other),
        &evidence(&req),
        false,
        BINDING_ID,
        &AttestationFacts::default(),
    );
    assert_eq!(got, Err(Denial::ChipAlreadyBound));
}

// ---------- verification ----------

#[test]
fn verify_allows_the_bound_chip_and_sim_with_a_higher_counter() {
    let world = World::new();
    let binding = bound(&world, &chip(), &sim_a());
    let d = verify(&world, &binding, &next(&chip()), &sim_a());
    assert_eq!(
        (d.result, d.authentic, d.signed, d.counter),
        (Ok(()), true, true, 1)
    );
}

#[test]
fn verify_refuses_another_sim_as_sim_changed_after_authenticating() {
    let world = World::new();
    let binding = bound(&world, &chip(), &sim_a());
    let d = verify(&world, &binding, &next(&chip()), &sim_b());
    assert_eq!((d.result, d.authentic), (Err(Denial::SimChanged), true));
    let imsi_only = Sim {
        imsi: "234150000000009",
        ..sim_a()
    };
    assert_eq!(
        verify(&world, &binding, &next(&chip()), &imsi_only).result,
        Err(Denial::SimChanged)
    );
}

#[test]
fn verify_refuses_the_bound_sim_with_another_number() {
    let world = World::new();
    let binding = bound(&world, &chip(), &sim_a());
    let moved = Sim {
        msisdn: OTHER_NUMBER,
        ..sim_a()
    };
    assert_eq!(
        verify(&world, &binding, &next(&chip()), &moved).result,
        Err(Denial::NumberChanged)
    );
}

#[test]
fn verify_refuses_another_chip_or_a_cloned_serial() {
    let world = World::new();
    let binding = bound(&world, &chip(), &sim_a());
    let other = Chip {
        serial: "CHIP-0002",
        ..next(&chip())
    };
    let d = verify(&world, &binding, &other, &sim_a());
    assert_eq!(
        (d.result, d.authentic, d.signed),
        (Err(Denial::ChipMismatch), false, false)
    );
    let cloned = Chip {
        key: key(8),
        ..next(&chip())
    };
    assert_eq!(
        verify(&world, &binding, &cloned, &sim_a()).result,
        Err(Denial::ChipMismatch)
    );
}

#[test]
fn verify_refuses_a_bad_signature_as_unauthenticated() {
    let world = World::new();
    let binding = bound(&world, &chip(), &sim_a());
    let ch = world.challenge(Ceremony::Verify, BINDING_ID);
    let mut req = request(&next(&chip()), &sim_b(), &ch, Ceremony::Verify, BINDING_ID);
    req.chip_signature = b64(&key(8).sign(b"x").to_bytes());
    let d = decide_holder(
        &world.ctx(),
        &binding,
        Ceremony::Verify,
        &evidence(&req),
        false,
    );
    assert_eq!(
        (d.result, d.authentic, d.signed),
        (Err(Denial::BadSignature), false, false)
    );
}

#[test]
fn verify_refuses_a_counter_that_does_not_increase() {
    let world = World::new();
    let mut binding = bound(&world, &chip(), &sim_a());
    binding.counter = 7;
    for counter in [0, 6, 7] {
        let d = verify(&world, &binding, &Chip { counter, ..chip() }, &sim_a());
        assert_eq!(
            (d.result, d.authentic),
            (Err(Denial::CounterReplayed), true),
            "counter {counter}"
        );
    }
    assert_eq!(
        verify(
            &world,
            &binding,
            &Chip {
                counter: 8,
                ..chip()
            },
            &sim_a()
        )
        .result,
        Ok(())
    );
}

#[test]
fn verify_refuses_a_bind_signature_and_other_bindings_challenges() {
    let world = World::new();
    let binding = bound(&world, &chip(), &sim_a());
    // A signature made for the bind ceremony, presented for verification.
    let ch = world.challenge(Ceremony::Verify, BINDING_ID);
    let bind_signed = request(&next(&chip()), &sim_a(), &ch, Ceremony::Bind, BINDING_ID);
    let d = decide_holder(
        &world.ctx(),
        &binding,
        Ceremony::Verify,
        &evidence(&bind_signed),
        false,
    );
    assert_eq!(d.result, Err(Denial::BadSignature));
    // A bind challenge presented for verification.
    let bind_ch = world.challenge(Ceremony::Bind, BINDING_ID);
    let req = request(
        &next(&chip()),
        &sim_a(),
        &bind_ch,
        Ceremony::Verify,
        BINDING_ID,
    );
    let d = decide_holder(
        &world.ctx(),
        &binding,
        Ceremony::Verify,
        &evidence(&req),
        false,
    );
    assert_eq!(d.result, Err(Denial::ChallengeWrongCeremony));
    // Another binding's challenge.
    let foreign = world.challenge(Ceremony::Verify, OTHER_BINDING_ID);
    let req = request(
        &next(&chip()),
        &sim_a(),
        &foreign,
        Ceremony::Verify,
        BINDING_ID,
    );
    let d = decide_holder(
        &world.ctx(),
        &binding,
        Ceremony::Verify,
        &evidence(&req),
        false,
    );
    assert_eq!(d.result, Err(Denial::ChallengeWrongSubject));
}

#[test]
fn verify_refuses_a_used_or_expired_challenge() {
    let mut world = World::new();
    let binding = bound(&world, &chip(), &sim_a());
    let ch = world.challenge(Ceremony::Verify, BINDING_ID);
    let req = request(&next(&chip()), &sim_a(), &ch, Ceremony::Verify, BINDING_ID);
    let d = decide_holder(
        &world.ctx(),
        &binding,
        Ceremony::Verify,
        &evidence(&req),
        true,
    );
    assert_eq!(d.result, Err(Denial::ChallengeReused));
    world.now += 120;
    let d = decide_holder(
        &world.ctx(),
        &binding,
        Ceremony::Verify,
        &evidence(&req),
        false,
    );
    assert_eq!(d.result, Err(Denial::ChallengeExpired));
}

#[test]
fn verify_refuses_suspended_and_revoked_bindings() {
    let world = World::new();
    let mut binding = bound(&world, &chip(), &sim_a());
    for (status, denial) in [
        (BindingStatus::Suspended, Denial::BindingSuspended),
        (BindingStatus::Revoked, Denial::BindingRevoked),
    ] {
        binding.status = status;
        let d = verify(&world, &binding, &next(&chip()), &sim_a());
        assert_eq!(
            (d.result, d.authentic, d.signed),
            (Err(denial), false, true),
            "changes nothing, but the bound chip signed it"
        );
        let effects = apply(&binding, &d, &world.policy, world.now);
        assert_eq!(effects.record, None);
        assert!(!effects.alert);
        // Only the bound chip learns the state: another key's signature,
        // or another chip, is refused as it would be on a live binding.
        let impostor = Chip {
            key: key(77),
            ..next(&chip())
        };
        assert_eq!(
            verify(&world, &binding, &impostor, &sim_a()).result,
            Err(Denial::ChipMismatch)
        );
        let mut forged = request(
            &next(&chip()),
            &sim_a(),
            &world.challenge(Ceremony::Verify, BINDING_ID),
            Ceremony::Verify,
            BINDING_ID,
        );
        forged.chip_signature = b64(&key(78).sign(b"not the transcript").to_bytes());
        let d = decide_holder(
            &world.ctx(),
            &binding,
            Ceremony::Verify,
            &evidence(&forged),
            false,
        );
        assert_eq!(d.result, Err(Denial::BadSignature));
    }
}

#[test]
fn verify_requires_the_bound_sim_key_to_sign_again() {
    let world = World::new();
    let sim = Sim {
        key: Some(key(50)),
        ..sim_a()
    };
    let binding = bound(&world, &chip(), &sim);
    assert_eq!(
        verify(&world, &binding, &next(&chip()), &sim).result,
        Ok(())
    );
    let keyless = Sim {
        key: None,
        ..sim_a()
    };
    assert_eq!(
        verify(&world, &binding, &next(&chip()), &keyless).result,
        Err(Denial::SimSignatureRequired)
    );
    let rekeyed = Sim {
        key: Some(key(51)),
        ..sim_a()
    };
    assert_eq!(
        verify(&world, &binding, &next(&chip()), &rekeyed).result,
        Err(Denial::SimSignatureRequired)
    );
    let ch = world.challenge(Ceremony::Verify, BINDING_ID);
    let mut req = request(&next(&chip()), &sim, &ch, Ceremony::Verify, BINDING_ID);
    req.sim_signature = Some(b64(&key(50).sign(b"other").to_bytes()));
    let d = decide_holder(
        &world.ctx(),
        &binding,
        Ceremony::Verify,
        &evidence(&req),
        false,
    );
    assert_eq!(d.result, Err(Denial::BadSimSignature));
}

#[test]
fn unbind_signature_is_not_a_verify_signature() {
    let world = World::new();
    let binding = bound(&world, &chip(), &sim_a());
    let ch = world.challenge(Ceremony::Unbind, BINDING_ID);
    let req = request(&next(&chip()), &sim_a(), &ch, Ceremony::Unbind, BINDING_ID);
    let d = decide_holder(
        &world.ctx(),
        &binding,
        Ceremony::Unbind,
        &evidence(&req),
        false,
    );
    assert_eq!(d.result, Ok(()));
    let d = decide_holder(
        &world.ctx(),
        &binding,
        Ceremony::Verify,
        &evidence(&req),
        false,
    );
    assert_eq!(d.result, Err(Denial::ChallengeWrongCeremony));
}

// ---------- effects ----------

#[test]
fn allowed_verify_advances_counter_and_clears_failures() {
    let world = World::new();
    let mut binding = bound(&world, &chip(), &sim_a());
    binding.consecutive_failures = 2;
    let d = verify(
        &world,
        &binding,
        &Chip {
            counter: 4,
            ..chip()
        },
        &sim_a(),
    );
    let e = apply(&binding, &d, &world.policy, NOW + 1);
    let r = e.record.unwrap();
    assert_eq!(
        (r.counter, r.consecutive_failures, r.status, e.alert),
        (4, 0, BindingStatus::Active, false)
    );
}

#[test]
fn allowed_unbind_revokes() {
    let world = World::new();
    let binding = bound(&world, &chip(), &sim_a());
    let ch = world.challenge(Ceremony::Unbind, BINDING_ID);
    let req = request(&next(&chip()), &sim_a(), &ch, Ceremony::Unbind, BINDING_ID);
    let d = decide_holder(
        &world.ctx(),
        &binding,
        Ceremony::Unbind,
        &evidence(&req),
        false,
    );
    assert_eq!(
        apply(&binding, &d, &world.policy, NOW)
            .record
            .unwrap()
            .status,
        BindingStatus::Revoked
    );
}

#[test]
fn authentic_failures_alert_and_suspend_after_the_limit() {
    let world = World::new();
    let mut binding = bound(&world, &chip(), &sim_a());
    for n in 1..=world.policy.max_consecutive_failures {
        let d = verify(
            &world,
            &binding,
            &Chip {
                counter: u64::from(n),
                ..chip()
            },
            &sim_b(),
        );
        let e = apply(&binding, &d, &world.policy, NOW);
        assert!(e.alert);
        binding = e.record.unwrap();
        assert_eq!(
            binding.counter,
            u64::from(n),
            "counter advances so the denial cannot be replayed"
        );
        assert_eq!(e.suspended, n == world.policy.max_consecutive_failures);
    }
    assert_eq!(binding.status, BindingStatus::Suspended);
}

#[test]
fn unauthenticated_failures_change_nothing() {
    let world = World::new();
    let binding = bound(&world, &chip(), &sim_a());
    let d = verify(
        &world,
        &binding,
        &Chip {
            serial: "CHIP-0002",
            ..next(&chip())
        },
        &sim_b(),
    );
    let e = apply(&binding, &d, &world.policy, NOW);
    assert_eq!((e.record, e.alert, e.suspended), (None, false, false));
}

#[test]
fn denial_codes_are_unique_and_snake_case() {
    let mut codes: Vec<&str> = Denial::ALL.iter().map(|d| d.code()).collect();
    assert!(
        codes
            .iter()
            .all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
    );
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), Denial::ALL.len());
    assert!(
        Denial::ALL
            .iter()
            .all(|d| matches!(d.http_status(), 400 | 401 | 403 | 409 | 410 | 429 | 503))
    );
}

#[test]
fn only_accepted_challenges_are_consumed() {
    use simbind_core::decision::challenge_consumed;
    assert!(challenge_consumed(&Ok::<(), Denial>(())));
    for d in [
        Denial::SimChanged,
        Denial::CounterReplayed,
        Denial::BadSignature,
        Denial::ChipMismatch,
        Denial::NumberMismatch,
    ] {
        assert!(challenge_consumed(&Err::<(), _>(d)), "{d:?}");
    }
    for d in [
        Denial::ChallengeInvalid,
        Denial::ChallengeExpired,
        Denial::ChallengeWrongCeremony,
        Denial::ChallengeWrongSubject,
        Denial::ChallengeReused,
        Denial::BindingSuspended,
        Denial::BindingRevoked,
    ] {
        assert!(!challenge_consumed(&Err::<(), _>(d)), "{d:?}");
    }
}

// ---------- transaction binding ----------

/// A verify request over a challenge issued for `issued_for`, signed as if
/// the transaction were `signed`.
fn verify_bound(
    world: &World,
    binding: &simbind_core::binding::BindingRecord,
    issued_for: &[u8],
    signed: &[u8],
) -> Decision {
    let ch = b64(&simbind_core::challenge::issue(
        &world.keys,
        Ceremony::Verify,
        &binding.binding_id,
        issued_for,
        world.now,
        120,
        [4; 16],
    ));
    let c = next(&chip());
    let mut req = request(&c, &sim_a(), &ch, Ceremony::Verify, &binding.binding_id);
    let claims = evidence(&req).claims;
    let transcript = claims.transcript(Ceremony::Verify, AUDIENCE, &binding.binding_id, signed);
    req.chip_signature = b64(&c.key.sign(&transcript).to_bytes());
    decide_holder(
        &world.ctx(),
        binding,
        Ceremony::Verify,
        &evidence(&req),
        false,
    )
}

#[test]
fn verify_signed_over_its_challenges_transaction_passes_and_reports_it() {
    let world = World::new();
    let binding = bound(&world, &chip(), &sim_a());
    let d = verify_bound(
        &world,
        &binding,
        b"pay 42 EUR to ACME",
        b"pay 42 EUR to ACME",
    );
    assert_eq!(d.result, Ok(()));
    assert_eq!(d.transaction, b"pay 42 EUR to ACME");
    let plain = verify(&world, &binding, &next(&chip()), &sim_a());
    assert_eq!((plain.result, plain.transaction), (Ok(()), vec![]));
}

#[test]
fn verify_signed_over_another_transaction_or_none_is_a_bad_signature() {
    let world = World::new();
    let binding = bound(&world, &chip(), &sim_a());
    for (issued, signed) in [
        (&b"pay 42 EUR to ACME"[..], &b"pay 4200 EUR to EVIL"[..]),
        (b"pay 42 EUR to ACME", b""),
        (b"", b"pay 42 EUR to ACME"),
    ] {
        let d = verify_bound(&world, &binding, issued, signed);
        assert_eq!((d.result, d.authentic), (Err(Denial::BadSignature), false));
    }
}

#[test]
fn serials_count_as_attested_only_when_vendor_roots_are_configured() {
    let mut world = World::new();
    assert!(!world.policy.serials_attested());
    world.policy.vendor_roots = VendorRoots(vec![("acme".into(), key(9).public_key())]);
    assert!(world.policy.serials_attested());
}

#[test]
fn counters_stop_at_2_pow_53_minus_1() {
    use simbind_core::ValidationError;
    use simbind_core::api::MAX_COUNTER;
    assert_eq!(MAX_COUNTER, 9_007_199_254_740_991);
    let world = World::new();
    let ch = world.challenge(Ceremony::Verify, BINDING_ID);
    let mut req = request(&chip(), &sim_a(), &ch, Ceremony::Verify, BINDING_ID);
    req.counter = MAX_COUNTER;
    assert!(req.validate().is_ok());
    req.counter = MAX_COUNTER + 1;
    assert_eq!(
        req.validate().err(),
        Some(ValidationError::OutOfRange("counter"))
    );
}

#[test]
fn a_signature_checked_elsewhere_decides_only_for_exactly_its_input() {
    use simbind_core::decision::{CheckedSignature, holder_signature_input};
    let world = World::new();
    let binding = bound(&world, &chip(), &sim_a());
    let ch = world.challenge(Ceremony::Verify, BINDING_ID);
    let req = request(&next(&chip()), &sim_a(), &ch, Ceremony::Verify, BINDING_ID);
    let ev = evidence(&req);
    let input = holder_signature_input(&world.ctx(), &binding, Ceremony::Verify, &ev)
        .expect("an ECDSA chip's request has a signature input");
    // It is exactly what the bound key signed.
    let bound_key = simbind_core::crypto::PublicKey::from_sec1(&input.public_key).unwrap();
    let sig = simbind_core::crypto::Signature::from_bytes(&input.signature).unwrap();
    assert!(bound_key.verify(&input.message, &sig));
    let decide = |checked: &CheckedSignature, ev: &simbind_core::api::Evidence| {
        let ctx = simbind_core::decision::Context {
            checked: Some(checked),
            ..world.ctx()
        };
        decide_holder(&ctx, &binding, Ceremony::Verify, ev, false).result
    };
    // The caller's answer is the one used for its input...
    let refused = CheckedSignature {
        input: input.clone(),
        valid: false,
    };
    assert_eq!(decide(&refused, &ev), Err(Denial::BadSignature));
    let accepted = CheckedSignature {
        input: input.clone(),
        valid: true,
    };
    assert_eq!(decide(&accepted, &ev), Ok(()));
    // ...and for no other: a forged request is checked by core itself.
    let mut forged = req.clone();
    forged.chip_signature = b64(&key(80).sign(b"something else").to_bytes());
    assert_eq!(
        decide(&accepted, &evidence(&forged)),
        Err(Denial::BadSignature)
    );
    for other in [
        SignatureInputEdit::Message,
        SignatureInputEdit::Key,
        SignatureInputEdit::Signature,
    ] {
        let mut changed = input.clone();
        match other {
            SignatureInputEdit::Message => changed.message.push(0),
            SignatureInputEdit::Key => changed.public_key = key(81).public_key().to_uncompressed(),
            SignatureInputEdit::Signature => changed.signature[63] ^= 1,
        }
        let unrelated = CheckedSignature {
            input: changed,
            valid: false,
        };
        assert_eq!(
            decide(&unrelated, &ev),
            Ok(()),
            "{other:?}: not this input, core checks"
        );
    }
    // No input where no ECDSA signature will be checked.
    let other_ch = world.challenge(Ceremony::Verify, "bnd_other");
    let wrong_subject = request(
        &next(&chip()),
        &sim_a(),
        &other_ch,
        Ceremony::Verify,
        BINDING_ID,
    );
    assert_eq!(
        holder_signature_input(
            &world.ctx(),
            &binding,
            Ceremony::Verify,
            &evidence(&wrong_subject)
        ),
        None
    );
}

#[derive(Debug, Clone, Copy)]
enum SignatureInputEdit {
    Message,
    Key,
    Signature,
}

const PEPPER_FOR_TESTS: &[u8] = b"pepper for tests";

#[test]
fn a_binding_opens_only_its_own_sealed_number() {
    let world = World::new();
    let mut record = bound(&world, &chip(), &sim_a());
    assert_eq!(
        record.contact_number(PEPPER_FOR_TESTS),
        None,
        "no number kept"
    );
    let number = simbind_core::identifiers::PhoneNumber::parse(sim_a().msisdn).unwrap();
    record.contact = Some(simbind_core::contact::seal(
        PEPPER_FOR_TESTS,
        BINDING_ID,
        &number,
        [3; 12],
    ));
    assert_eq!(
        record.contact_number(PEPPER_FOR_TESTS),
        Some(number.clone())
    );
    assert_eq!(record.contact_number(b"another pepper"), None);
    record.contact = Some(simbind_core::contact::seal(
        PEPPER_FOR_TESTS,
        OTHER_BINDING_ID,
        &number,
        [3; 12],
    ));
    assert_eq!(
        record.contact_number(PEPPER_FOR_TESTS),
        None,
        "a seal moved from another binding"
    );
}
