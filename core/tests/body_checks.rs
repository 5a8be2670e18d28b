//! The checks a whole body can be put through with no state or secret (what
//! the evidence inspector shows for a bind, verify or unbind body): each
//! refusal is the decision's own, at the check that names it, with every
//! check before it passed; and bodies the decisions accept pass them all.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::issuer::{self, AndroidSpec, AppleSpec, TEST_APP_ID};
use common::*;
use p256::ecdsa::SigningKey;
use sha2::{Digest, Sha256};
use simbind_core::api::{BindRequest, ChipInfo, EvidenceRequest};
use simbind_core::attestation::android_key::AllowedApp;
use simbind_core::attestation::apple_appattest::Environment;
use simbind_core::attestation::{
    AttestationFacts, AttestationPolicy, ChipFormat, bind_challenge, key_id,
};
use simbind_core::body_checks::{
    self, BindExpected, BodyRefusal, HolderExpected, bind_checks, holder_checks,
};
use simbind_core::codec::b64;
use simbind_core::crypto::{PublicKey, SecretKey};
use simbind_core::decision::{decide_binding, decide_holder};
use simbind_core::transcript::Ceremony;

type Trace = Vec<(&'static str, Option<&'static str>)>;

fn policy() -> AttestationPolicy {
    let mut policy = AttestationPolicy {
        formats: ChipFormat::ALL.to_vec(),
        android_roots: vec![issuer::test_root_spki()],
        apple_roots: vec![issuer::test_root_spki()],
        ..AttestationPolicy::default()
    };
    policy.android.allowed_apps = Some(vec![AllowedApp {
        package: issuer::TEST_PACKAGE.into(),
        signing_cert_sha256: issuer::TEST_SIGNING_DIGEST,
    }]);
    policy.apple.app_ids = vec![TEST_APP_ID.into()];
    policy.apple.environment = Environment::Development;
    policy
}

fn world() -> World {
    let mut world = World::new();
    world.policy.attestation = policy();
    world
}

fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_slice(&[seed; 32]).unwrap()
}

fn public(key: &SigningKey) -> PublicKey {
    SecretKey::from_bytes(&key.to_bytes()).unwrap().public_key()
}

/// A real-format bind body for `ch`: the chip attested for this bind, its
/// key signing (or asserting over) the transcript.
fn real_bind(format: ChipFormat, key: &SigningKey, ch: &str) -> EvidenceRequest {
    let raw = simbind_core::codec::unb64(ch, "challenge").unwrap();
    let derived = bind_challenge(&raw, AUDIENCE, REG_ID);
    let mut chip = ChipInfo {
        format: format.label().into(),
        key_id: Some(key_id(&public(key))),
        ..ChipInfo::default()
    };
    let apple = format == ChipFormat::AppleAppAttest;
    if apple {
        let object = issuer::apple_attestation(key, &AppleSpec::new(derived));
        chip.attestation = Some(b64(&object));
    } else {
        let chain = issuer::android_chain(key, &AndroidSpec::new(&derived));
        chip.certificate_chain = Some(chain.iter().map(|c| b64(c)).collect());
    }
    let mut req = EvidenceRequest {
        challenge: ch.into(),
        chip,
        sim: sim_a().wire(),
        counter: if apple { 0 } else { 1 },
        chip_signature: b64(&[1; 64]),
        sim_signature: None,
    };
    let transcript =
        req.validate()
            .unwrap()
            .claims
            .transcript(Ceremony::Bind, AUDIENCE, REG_ID, &[]);
    req.chip_signature = if apple {
        let hash = Sha256::digest(&transcript);
        b64(&issuer::apple_assertion(key, TEST_APP_ID, &hash, 1))
    } else {
        b64(&SecretKey::from_bytes(&key.to_bytes())
            .unwrap()
            .sign(&transcript)
            .to_bytes())
    };
    req
}

fn body(evidence: EvidenceRequest) -> BindRequest {
    BindRequest {
        otp: Some("123456".into()),
        bind_secret: None,
        firebase_pnv_token: None,
        evidence,
    }
}

fn check_bind(
    req: &EvidenceRequest,
    registration_id: &str,
    now: u64,
) -> (Result<PublicKey, BodyRefusal>, Trace) {
    let policy = policy();
    let facts = AttestationFacts::default();
    let expected = BindExpected {
        audience: AUDIENCE,
        registration_id,
        attestation: &policy,
        facts: &facts,
        require_sim_signature: false,
        bound_key: None,
        now,
    };
    let mut trace = Trace::new();
    let verdict = body_checks::check_bind(&body(req.clone()), &expected, &mut trace);
    (verdict, trace)
}

/// The checks a bind body's chip gets, in order.
fn names_for(req: &EvidenceRequest) -> Vec<&'static str> {
    bind_checks(Some(&req.validate().unwrap().claims.chip))
}

/// The decision's code for the same bind body (no stored records).
fn decided_bind(world: &World, req: &EvidenceRequest) -> Option<&'static str> {
    let evidence = match req.validate() {
        Ok(evidence) => evidence,
        Err(e) => return Some(e.code()),
    };
    let registration = world.registration(NUMBER);
    let facts = AttestationFacts::default();
    decide_binding(
        &world.ctx(),
        &registration,
        None,
        None,
        &evidence,
        false,
        BINDING_ID,
        &facts,
    )
    .err()
    .map(|d| d.code())
}

/// Every check ran and passed, in the order the format lists them.
fn all_passed(trace: &Trace, names: &[&str]) {
    let ran: Vec<&str> = trace.iter().map(|(name, _)| *name).collect();
    assert_eq!(ran, names);
    assert!(
        trace.iter().all(|(_, failed)| failed.is_none()),
        "{trace:?}"
    );
}

/// The last check failed with `code`; every one before it passed.
fn failed_at(trace: &Trace, names: &[&str], check_index: usize, code: &str) {
    assert_eq!(trace.len(), check_index + 1, "{trace:?}");
    for (i, (name, failed)) in trace.iter().enumerate() {
        assert_eq!(*name, names[i]);
        let expected = (i == check_index).then_some(code);
        assert_eq!(*failed, expected, "check {i} {name}");
    }
}

fn index_of(names: &[&str], fragment: &str) -> usize {
    names
        .iter()
        .position(|n| n.contains(fragment))
        .unwrap_or_else(|| panic!("no check names {fragment:?}: {names:?}"))
}

#[test]
fn bodies_the_decision_accepts_pass_every_check_in_order() {
    let world = world();
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let simple = request(&chip(), &sim_a(), &ch, Ceremony::Bind, REG_ID);
    let android = real_bind(ChipFormat::AndroidKey, &signing_key(0x41), &ch);
    let apple = real_bind(ChipFormat::AppleAppAttest, &signing_key(0x42), &ch);
    for (req, format) in [
        (&simple, ChipFormat::SimbindP256),
        (&android, ChipFormat::AndroidKey),
        (&apple, ChipFormat::AppleAppAttest),
    ] {
        assert_eq!(decided_bind(&world, req), None, "{format:?}");
        let (verdict, trace) = check_bind(req, REG_ID, NOW);
        assert!(verdict.is_ok(), "{format:?}: {verdict:?}");
        all_passed(&trace, &names_for(req));
    }
    // The real formats' attestation checks run inside: more than for a key.
    assert_eq!(names_for(&simple).len(), 5);
    assert_eq!(names_for(&android).len(), 2 + 14 + 1 + 1 + 1);
    assert_eq!(names_for(&apple).len(), 2 + 13 + 1 + 5 + 1);
    // Each check named once: a report finds a check's outcome by its name.
    for req in [&simple, &android, &apple] {
        let names = names_for(req);
        let distinct: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(distinct.len(), names.len(), "{names:?}");
    }
}

#[test]
fn each_bind_refusal_is_the_decisions_own_at_the_check_that_names_it() {
    let world = world();
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let good = request(&chip(), &sim_a(), &ch, Ceremony::Bind, REG_ID);
    let names = names_for(&good);

    // A field the worker refuses before anything: the first check.
    let mut bad_field = good.clone();
    bad_field.sim.iccid = Some("89441".into());
    let (verdict, trace) = check_bind(&bad_field, REG_ID, NOW);
    let code = verdict.unwrap_err().code();
    assert_eq!(Some(code), decided_bind(&world, &bad_field));
    failed_at(&trace, &names, 0, code);

    // Another registration's challenge; the same one when it has expired.
    let (verdict, trace) = check_bind(&good, "reg_BBBBBBBBBBBBBBBBBBBBBB", NOW);
    assert_eq!(verdict.unwrap_err().code(), "challenge_wrong_subject");
    failed_at(&trace, &names, 1, "challenge_wrong_subject");
    let (verdict, trace) = check_bind(&good, REG_ID, NOW + 120);
    assert_eq!(verdict.unwrap_err().code(), "challenge_expired");
    failed_at(&trace, &names, 1, "challenge_expired");

    // Signed by another key than the one presented; the SIM's signature
    // over other bytes.
    let mut other_signer = good.clone();
    other_signer.chip_signature = b64(&key(9).sign(b"something else").to_bytes());
    let (verdict, trace) = check_bind(&other_signer, REG_ID, NOW);
    assert_eq!(
        Some(verdict.unwrap_err().code()),
        decided_bind(&world, &other_signer)
    );
    failed_at(
        &trace,
        &names,
        index_of(&names, "chip signed"),
        "bad_signature",
    );

    let mut keyed_sim = sim_a();
    keyed_sim.key = Some(key(11));
    let mut bad_sim = request(&chip(), &keyed_sim, &ch, Ceremony::Bind, REG_ID);
    bad_sim.sim_signature = Some(b64(&key(11).sign(b"other bytes").to_bytes()));
    let (verdict, trace) = check_bind(&bad_sim, REG_ID, NOW);
    assert_eq!(verdict.unwrap_err().code(), "bad_sim_signature");
    assert_eq!(decided_bind(&world, &bad_sim), Some("bad_sim_signature"));
    failed_at(&trace, &names, names.len() - 1, "bad_sim_signature");
}

#[test]
fn a_real_chips_attestation_is_checked_for_the_challenge_derived_from_this_bind() {
    let world = world();
    let key = signing_key(0x43);
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let names = names_for(&real_bind(ChipFormat::AndroidKey, &key, &ch));

    // Attested for another bind's challenge.
    let other = world.challenge(Ceremony::Bind, "reg_BBBBBBBBBBBBBBBBBBBBBB");
    let mut stale = real_bind(ChipFormat::AndroidKey, &key, &ch);
    stale.chip.certificate_chain = real_bind(ChipFormat::AndroidKey, &key, &other)
        .chip
        .certificate_chain;
    let (verdict, trace) = check_bind(&stale, REG_ID, NOW);
    let code = verdict.unwrap_err().code();
    assert_eq!(code, "attestation_challenge_mismatch");
    assert_eq!(decided_bind(&world, &stale), Some(code));
    let (_, failed) = trace.last().unwrap();
    assert_eq!(*failed, Some(code));
    assert!(trace[..trace.len() - 1].iter().all(|(_, f)| f.is_none()));

    // The body names another chip's key id than the key attested.
    let mut renamed = real_bind(ChipFormat::AndroidKey, &key, &ch);
    renamed.chip.key_id = Some(key_id(&public(&signing_key(0x44))));
    let (verdict, trace) = check_bind(&renamed, REG_ID, NOW);
    let code = verdict.unwrap_err().code();
    assert_eq!(code, "attestation_key_mismatch");
    assert_eq!(decided_bind(&world, &renamed), Some(code));
    failed_at(&trace, &names, index_of(&names, "chip's key id"), code);

    // An App Attest assertion by another key: the assertion's own check.
    let apple_names = names_for(&real_bind(ChipFormat::AppleAppAttest, &key, &ch));
    let mut forged = real_bind(ChipFormat::AppleAppAttest, &key, &ch);
    forged.chip_signature =
        real_bind(ChipFormat::AppleAppAttest, &signing_key(0x45), &ch).chip_signature;
    let (verdict, trace) = check_bind(&forged, REG_ID, NOW);
    assert_eq!(verdict.unwrap_err().code(), "bad_signature");
    assert_eq!(decided_bind(&world, &forged), Some("bad_signature"));
    let signed = index_of(&apple_names, "signed SHA-256(authenticatorData");
    failed_at(
        &trace,
        &apple_names,
        signed,
        "attestation_signature_invalid",
    );
}

#[test]
fn a_rebind_by_key_id_alone_is_answered_by_the_bound_key_given() {
    // The body of a chip already bound to the number: no attestation, only
    // its key id; the decision takes the key from the binding.
    let world = world();
    let key = signing_key(0x47);
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let mut req = real_bind(ChipFormat::AndroidKey, &key, &ch);
    req.chip.certificate_chain = None;
    let names = names_for(&req);
    assert_eq!(names.len(), 5);
    let policy = policy();
    let facts = AttestationFacts::default();
    let run = |bound: Option<&PublicKey>| {
        let expected = BindExpected {
            audience: AUDIENCE,
            registration_id: REG_ID,
            attestation: &policy,
            facts: &facts,
            require_sim_signature: false,
            bound_key: bound,
            now: NOW,
        };
        let mut trace = Trace::new();
        let verdict = body_checks::check_bind(&body(req.clone()), &expected, &mut trace);
        (verdict.map_err(|e| e.code()), trace)
    };
    let (verdict, trace) = run(Some(&public(&key)));
    assert!(verdict.is_ok(), "{verdict:?}");
    all_passed(&trace, &names);
    for bound in [None, Some(&public(&signing_key(0x48)))] {
        let (verdict, trace) = run(bound);
        assert_eq!(verdict.unwrap_err(), "attestation_required");
        failed_at(&trace, &names, 2, "attestation_required");
    }
}

fn check_holder(
    req: &EvidenceRequest,
    ceremony: Ceremony,
    bound_key: &PublicKey,
    stored_counter: Option<u64>,
) -> (Result<u64, BodyRefusal>, Trace) {
    let app_ids = [TEST_APP_ID.to_owned()];
    let expected = HolderExpected {
        audience: AUDIENCE,
        binding_id: BINDING_ID,
        ceremony,
        bound_key,
        bound_sim_key: None,
        stored_counter,
        app_ids: &app_ids,
        require_sim_signature: false,
        now: NOW,
    };
    let mut trace = Trace::new();
    let verdict = body_checks::check_holder(req, &expected, &mut trace);
    (verdict, trace)
}

#[test]
fn a_verify_body_is_checked_against_the_bound_key_and_counter_as_the_decision_does() {
    let world = world();
    let mut signer = chip();
    signer.counter = 5;
    let ch = world.challenge(Ceremony::Verify, BINDING_ID);
    let req = request(&signer, &sim_a(), &ch, Ceremony::Verify, BINDING_ID);
    let binding = bound(&world, &chip(), &sim_a());
    let decided = |req: &EvidenceRequest, ceremony| {
        decide_holder(&world.ctx(), &binding, ceremony, &evidence(req), false)
            .result
            .err()
            .map(|d| d.code())
    };
    let names = holder_checks(Some(ChipFormat::SimbindP256), true);
    let bound_key = chip().key.public_key();

    assert_eq!(decided(&req, Ceremony::Verify), None);
    let (verdict, trace) = check_holder(&req, Ceremony::Verify, &bound_key, Some(0));
    assert_eq!(verdict.unwrap(), 5);
    all_passed(&trace, &names);

    // The stored counter already at 5: a replay.
    let (verdict, trace) = check_holder(&req, Ceremony::Verify, &bound_key, Some(5));
    assert_eq!(verdict.unwrap_err().code(), "counter_replayed");
    failed_at(
        &trace,
        &names,
        index_of(&names, "stored with the binding"),
        "counter_replayed",
    );

    // Another bound key; a verify body sent as an unbind.
    let (verdict, trace) = check_holder(&req, Ceremony::Verify, &key(3).public_key(), None);
    assert_eq!(verdict.unwrap_err().code(), "bad_signature");
    let names = holder_checks(Some(ChipFormat::SimbindP256), false);
    failed_at(&trace, &names, 2, "bad_signature");
    let (verdict, trace) = check_holder(&req, Ceremony::Unbind, &bound_key, None);
    let code = verdict.unwrap_err().code();
    assert_eq!(code, "challenge_wrong_ceremony");
    assert_eq!(decided(&req, Ceremony::Unbind), Some(code));
    failed_at(&trace, &names, 1, code);
}

#[test]
fn an_app_attest_verify_body_runs_the_assertion_checks_and_proves_its_counter() {
    let world = world();
    let key = signing_key(0x46);
    let ch = world.challenge(Ceremony::Verify, BINDING_ID);
    let mut req = real_bind(ChipFormat::AppleAppAttest, &key, &ch);
    req.chip.attestation = None;
    let transcript =
        req.validate()
            .unwrap()
            .claims
            .transcript(Ceremony::Verify, AUDIENCE, BINDING_ID, &[]);
    let hash = Sha256::digest(&transcript);
    req.chip_signature = b64(&issuer::apple_assertion(&key, TEST_APP_ID, &hash, 9));
    let names = holder_checks(Some(ChipFormat::AppleAppAttest), true);
    assert_eq!(names.len(), 2 + 5 + 1 + 1);
    let (verdict, trace) = check_holder(&req, Ceremony::Verify, &public(&key), Some(8));
    assert_eq!(
        verdict.unwrap(),
        9,
        "the assertion's counter, not the body's 0"
    );
    all_passed(&trace, &names);
    let (verdict, trace) = check_holder(&req, Ceremony::Verify, &public(&key), Some(9));
    assert_eq!(verdict.unwrap_err().code(), "counter_replayed");
    failed_at(&trace, &names, names.len() - 2, "counter_replayed");
}

#[test]
fn only_the_inspectors_checks_read_a_challenge_without_its_mac() {
    fn scan(dir: &std::path::Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                scan(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs")
                && std::fs::read_to_string(&path)
                    .unwrap()
                    .contains("read_unverified(")
            {
                found.push(path.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    scan(&root.join("src"), &mut found);
    scan(&root.join("../edge-worker/src"), &mut found);
    scan(&root.join("../wasm-client/src"), &mut found);
    found.sort();
    assert_eq!(found, ["body_checks.rs", "challenge.rs"]);
}
