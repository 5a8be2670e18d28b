//! Bind, verify and unbind with the real chip formats, on attestations a
//! test-only issuer makes in the real formats under a root only these tests
//! trust: what each ceremony binds the attestation to, and what it refuses.

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
use simbind_core::Denial;
use simbind_core::api::{ChipInfo, EvidenceRequest};
use simbind_core::attestation::android_key::AllowedApp;
use simbind_core::attestation::apple_appattest::Environment;
use simbind_core::attestation::{
    AttestationFacts, AttestationRefusal as R, ChipFormat, bind_challenge, key_id,
};
use simbind_core::binding::BindingRecord;
use simbind_core::codec::b64;
use simbind_core::crypto::{PublicKey, SecretKey};
use simbind_core::decision::{BindPlan, bind_can_succeed, decide_binding, decide_holder};
use simbind_core::transcript::Ceremony;

/// A world that accepts the real formats under the test root.
fn world() -> World {
    let mut world = World::new();
    let policy = &mut world.policy.attestation;
    policy.formats = vec![ChipFormat::AndroidKey, ChipFormat::AppleAppAttest];
    policy.android_roots = vec![issuer::test_root_spki()];
    policy.android.allowed_apps = Some(vec![AllowedApp {
        package: issuer::TEST_PACKAGE.into(),
        signing_cert_sha256: issuer::TEST_SIGNING_DIGEST,
    }]);
    policy.apple_roots = vec![issuer::test_root_spki()];
    policy.apple.app_ids = vec![TEST_APP_ID.into()];
    policy.apple.environment = Environment::Development;
    world
}

fn chip_key(seed: u8) -> SigningKey {
    SigningKey::from_slice(&[seed; 32]).unwrap()
}

fn core_key(key: &SigningKey) -> SecretKey {
    SecretKey::from_bytes(&key.to_bytes()).unwrap()
}

fn public(key: &SigningKey) -> PublicKey {
    core_key(key).public_key()
}

enum Material {
    Android(Vec<Vec<u8>>),
    Apple(Vec<u8>),
    None,
}

/// A request from a real-format chip; `counter` is the App Attest
/// assertion counter or the Android request counter.
fn request(
    format: ChipFormat,
    key: &SigningKey,
    material: Material,
    challenge: &str,
    ceremony: Ceremony,
    subject: &str,
    counter: u64,
) -> EvidenceRequest {
    let sim = sim_a();
    let mut chip = ChipInfo {
        format: format.label().into(),
        key_id: Some(key_id(&public(key))),
        ..ChipInfo::default()
    };
    match material {
        Material::Android(chain) => {
            chip.certificate_chain = Some(chain.iter().map(|c| b64(c)).collect())
        }
        Material::Apple(object) => chip.attestation = Some(b64(&object)),
        Material::None => {}
    }
    let apple = format == ChipFormat::AppleAppAttest;
    let mut req = EvidenceRequest {
        challenge: challenge.into(),
        chip,
        sim: sim.wire(),
        counter: if apple { 0 } else { counter },
        chip_signature: b64(&[1; 64]),
        sim_signature: None,
    };
    let claims = req.validate().unwrap().claims;
    let transcript = claims.transcript(ceremony, AUDIENCE, subject, &[]);
    req.chip_signature = if apple {
        let hash = Sha256::digest(&transcript);
        b64(&issuer::apple_assertion(
            key,
            TEST_APP_ID,
            &hash,
            counter as u32,
        ))
    } else {
        b64(&core_key(key).sign(&transcript).to_bytes())
    };
    req
}

fn bind_with(
    world: &World,
    req: &EvidenceRequest,
    existing: Option<&BindingRecord>,
    status: &AttestationFacts,
) -> Result<BindPlan, Denial> {
    decide_binding(
        &world.ctx(),
        &world.registration(NUMBER),
        existing,
        existing,
        &evidence(req),
        false,
        BINDING_ID,
        status,
    )
}

fn attest_challenge(challenge: &str) -> [u8; 32] {
    let raw = simbind_core::codec::unb64(challenge, "challenge").unwrap();
    bind_challenge(&raw, AUDIENCE, REG_ID)
}

/// A first android-key bind request for the challenge `ch`, its key
/// attested for this bind (as `spec` edits the attestation), counter 1.
fn android_bind_request(
    key: &SigningKey,
    ch: &str,
    spec: impl FnOnce(&mut AndroidSpec),
) -> EvidenceRequest {
    let mut s = AndroidSpec::new(&attest_challenge(ch));
    spec(&mut s);
    let chain = issuer::android_chain(key, &s);
    request(
        ChipFormat::AndroidKey,
        key,
        Material::Android(chain),
        ch,
        Ceremony::Bind,
        REG_ID,
        1,
    )
}

fn android_bind(
    world: &World,
    key: &SigningKey,
    spec: impl FnOnce(&mut AndroidSpec),
) -> Result<BindPlan, Denial> {
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let req = android_bind_request(key, &ch, spec);
    bind_with(world, &req, None, &AttestationFacts::default())
}

fn apple_bind(
    world: &World,
    key: &SigningKey,
    spec: impl FnOnce(&mut AppleSpec),
) -> Result<BindPlan, Denial> {
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let mut s = AppleSpec::new(attest_challenge(&ch));
    spec(&mut s);
    let object = issuer::apple_attestation(key, &s);
    let req = request(
        ChipFormat::AppleAppAttest,
        key,
        Material::Apple(object),
        &ch,
        Ceremony::Bind,
        REG_ID,
        1,
    );
    bind_with(world, &req, None, &AttestationFacts::default())
}

fn created(plan: Result<BindPlan, Denial>) -> BindingRecord {
    match plan {
        Ok(BindPlan::Create(record)) => record,
        other => panic!("expected a new binding, got {other:?}"),
    }
}

#[test]
fn an_android_key_binds_with_its_attested_key_and_key_id() {
    let world = world();
    let key = chip_key(0x31);
    let record = created(android_bind(&world, &key, |_| {}));
    assert_eq!(record.chip_format, "android-key");
    assert_eq!(record.chip_public_key, b64(&public(&key).to_compressed()));
    let serial = world.hasher.hash(
        simbind_core::id_hash::IdKind::ChipSerial,
        &key_id(&public(&key)),
    );
    assert_eq!(record.chip_serial, serial);
    assert_eq!(
        record.chip_index(&world.hasher, false),
        serial,
        "a key id is attested: indexed alone"
    );
    assert_eq!(record.counter, 1);
    assert_eq!(record.attestation_receipt, None);
}

#[test]
fn an_app_attest_key_binds_and_keeps_its_receipt_and_its_assertion_counter() {
    let world = world();
    let key = chip_key(0x32);
    let record = created(apple_bind(&world, &key, |_| {}));
    assert_eq!(record.chip_format, "apple-appattest");
    assert_eq!(
        record.attestation_receipt.as_deref(),
        Some(b64(b"test receipt").as_str())
    );
    assert_eq!(record.counter, 1, "the assertion's counter");
}

#[test]
fn app_attest_tolerates_extra_data_after_the_credential() {
    let world = world();
    let extension = vec![0xa1, 0x63, b'f', b'o', b'o', 0x01]; // {"foo": 1}
    created(apple_bind(&world, &chip_key(0x33), |s| {
        s.trailing = extension
    }));
}

#[test]
fn the_attestation_must_be_made_for_this_bind() {
    let world = world();
    let key = chip_key(0x34);
    // Made for another registration's challenge, or for another audience.
    let other =
        |s: &mut AndroidSpec| s.challenge = bind_challenge(b"other", AUDIENCE, REG_ID).to_vec();
    assert_eq!(
        android_bind(&world, &key, other),
        Err(R::ChallengeMismatch.into())
    );
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let raw = simbind_core::codec::unb64(&ch, "c").unwrap();
    let wrong_audience = bind_challenge(&raw, "another-audience", REG_ID);
    let chain = issuer::android_chain(&key, &AndroidSpec::new(&wrong_audience));
    let req = request(
        ChipFormat::AndroidKey,
        &key,
        Material::Android(chain),
        &ch,
        Ceremony::Bind,
        REG_ID,
        1,
    );
    assert_eq!(
        bind_with(&world, &req, None, &AttestationFacts::default()),
        Err(R::ChallengeMismatch.into())
    );
    let apple_other = |s: &mut AppleSpec| s.client_data_hash = [7; 32];
    assert_eq!(
        apple_bind(&world, &chip_key(0x35), apple_other),
        Err(R::ChallengeMismatch.into())
    );
}

#[test]
fn the_key_id_must_be_the_attested_keys() {
    let world = world();
    let key = chip_key(0x36);
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let mut req = android_bind_request(&key, &ch, |_| {});
    req.chip.key_id = Some(key_id(&public(&chip_key(0x37))));
    assert_eq!(
        bind_with(&world, &req, None, &AttestationFacts::default()),
        Err(R::KeyMismatch.into())
    );
}

#[test]
fn proof_of_possession_over_the_bind_transcript_is_still_required() {
    let world = world();
    let key = chip_key(0x38);
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let chain = issuer::android_chain(&key, &AndroidSpec::new(&attest_challenge(&ch)));
    // Signed for another subject: the attestation is right, the signature is not.
    let req = request(
        ChipFormat::AndroidKey,
        &key,
        Material::Android(chain),
        &ch,
        Ceremony::Bind,
        "reg_other",
        1,
    );
    assert_eq!(
        bind_with(&world, &req, None, &AttestationFacts::default()),
        Err(Denial::BadSignature)
    );
    let object = issuer::apple_attestation(&chip_key(0x39), &AppleSpec::new(attest_challenge(&ch)));
    let req = request(
        ChipFormat::AppleAppAttest,
        &chip_key(0x39),
        Material::Apple(object),
        &ch,
        Ceremony::Verify,
        REG_ID,
        1,
    );
    assert_eq!(
        bind_with(&world, &req, None, &AttestationFacts::default()),
        Err(Denial::BadSignature)
    );
}

#[test]
fn policy_refusals_at_bind() {
    let world = world();
    let key = chip_key(0x3a);
    assert_eq!(
        android_bind(&world, &key, |s| s.level = 0),
        Err(R::SecurityLevel.into())
    );
    assert_eq!(
        android_bind(&world, &key, |s| s.origin = 2),
        Err(R::SecurityLevel.into()),
        "an imported key was not born in the chip"
    );
    assert_eq!(
        android_bind(&world, &key, |s| s.key_level = Some(2)),
        Err(R::SecurityLevel.into()),
        "attestation and key levels must agree"
    );
    assert!(
        android_bind(&world, &key, |s| s.level = 2).is_ok(),
        "StrongBox passes a TEE floor"
    );
    assert_eq!(
        android_bind(&world, &key, |s| s.locked = false),
        Err(R::DeviceNotLocked.into())
    );
    assert_eq!(
        android_bind(&world, &key, |s| s.boot_state = 2),
        Err(R::BootNotVerified.into())
    );
    assert_eq!(
        android_bind(&world, &key, |s| s.package = "com.evil".into()),
        Err(R::AppNotAllowed.into())
    );
    assert_eq!(
        android_bind(&world, &key, |s| s.critical = true),
        Err(R::Malformed.into()),
        "a critical KeyDescription is not Keystore's"
    );
    assert_eq!(
        android_bind(&world, &key, |s| s.on_intermediate = true),
        Err(R::Malformed.into()),
        "only the leaf may carry a KeyDescription"
    );
    assert_eq!(
        android_bind(&world, &key, |s| s.intermediate_dates = (NOW + 1, NOW + 2)),
        Err(R::Expired.into())
    );
    let apple = chip_key(0x3b);
    assert_eq!(
        apple_bind(&world, &apple, |s| s.app_id = "ZZZZZ99999.com.evil".into()),
        Err(R::AppNotAllowed.into())
    );
    assert_eq!(
        apple_bind(&world, &apple, |s| s.aaguid = *b"appattest\0\0\0\0\0\0\0"),
        Err(R::Environment.into())
    );
    assert_eq!(
        apple_bind(&world, &apple, |s| s.counter = 1),
        Err(R::CounterNotZero.into())
    );
}

#[test]
fn the_production_roots_do_not_trust_the_test_root() {
    let mut world = world();
    world.policy.attestation.android_roots =
        simbind_core::attestation::AttestationPolicy::default().android_roots;
    world.policy.attestation.apple_roots =
        simbind_core::attestation::AttestationPolicy::default().apple_roots;
    assert_eq!(
        android_bind(&world, &chip_key(0x3c), |_| {}),
        Err(R::UntrustedRoot.into())
    );
    assert_eq!(
        apple_bind(&world, &chip_key(0x3c), |_| {}),
        Err(R::UntrustedRoot.into())
    );
}

#[test]
fn formats_not_accepted_are_refused_before_anything_else() {
    let mut world = world();
    world.policy.attestation.formats = vec![ChipFormat::AppleAppAttest];
    assert_eq!(
        android_bind(&world, &chip_key(0x3d), |_| {}),
        Err(R::FormatNotAllowed.into())
    );
    world.policy.attestation.formats = vec![ChipFormat::AndroidKey];
    assert_eq!(
        apple_bind(&world, &chip_key(0x3d), |_| {}),
        Err(R::FormatNotAllowed.into())
    );
    // And the raw format too, once a deployment leaves it out.
    let chip = common::chip();
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let req = common::request(&chip, &sim_a(), &ch, Ceremony::Bind, REG_ID);
    assert_eq!(
        bind_with(&world, &req, None, &AttestationFacts::default()),
        Err(R::FormatNotAllowed.into())
    );
}

#[test]
fn the_status_list_revokes_and_a_stale_list_fails_closed() {
    let world = world();
    let key = chip_key(0x3e);
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let req = android_bind_request(&key, &ch, |_| {});
    let revoked = AttestationFacts {
        refused_serials: vec!["7e57".into()],
        stale: false,
        ..AttestationFacts::default()
    };
    assert_eq!(
        bind_with(&world, &req, None, &revoked),
        Err(R::Revoked.into())
    );
    let stale = AttestationFacts {
        refused_serials: vec![],
        stale: true,
        ..AttestationFacts::default()
    };
    assert_eq!(
        bind_with(&world, &req, None, &stale),
        Err(R::StatusUnavailable.into())
    );
    assert!(bind_with(&world, &req, None, &AttestationFacts::default()).is_ok());
    let unrelated = AttestationFacts {
        refused_serials: vec!["abcdef".into()],
        stale: false,
        ..AttestationFacts::default()
    };
    assert!(
        bind_with(&world, &req, None, &unrelated).is_ok(),
        "only listed serials refuse"
    );
}

#[test]
fn a_first_bind_needs_the_attestation_and_a_rebind_can_use_the_bound_key() {
    let world = world();
    let key = chip_key(0x3f);
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let bare = request(
        ChipFormat::AndroidKey,
        &key,
        Material::None,
        &ch,
        Ceremony::Bind,
        REG_ID,
        1,
    );
    assert_eq!(
        bind_with(&world, &bare, None, &AttestationFacts::default()),
        Err(R::Required.into())
    );
    // Known before the registration is used up: a bare key id with no
    // binding for the number cannot succeed; with one it may (a rebind).
    let bare_claims = bare.validate().unwrap().claims;
    assert_eq!(
        bind_can_succeed(&bare_claims, false),
        Err(R::Required.into())
    );
    assert_eq!(bind_can_succeed(&bare_claims, true), Ok(()));
    let attested = android_bind_request(&key, &ch, |_| {});
    let attested = attested.validate().unwrap().claims;
    assert_eq!(bind_can_succeed(&attested, false), Ok(()), "an attestation");
    let mut presented = bare_claims.clone();
    presented.chip.public_key = Some(public(&key));
    assert_eq!(bind_can_succeed(&presented, false), Ok(()), "a key");
    let record = created(android_bind(&world, &key, |_| {}));
    // The same key re-proves the number with a higher counter: a rebind.
    let again = request(
        ChipFormat::AndroidKey,
        &key,
        Material::None,
        &ch,
        Ceremony::Bind,
        REG_ID,
        2,
    );
    match bind_with(&world, &again, Some(&record), &AttestationFacts::default()) {
        Ok(BindPlan::Rebind(r)) => assert_eq!(r.counter, 2),
        other => panic!("{other:?}"),
    }
    // Another unattested key cannot ride on the binding.
    let other = request(
        ChipFormat::AndroidKey,
        &chip_key(0x40),
        Material::None,
        &ch,
        Ceremony::Bind,
        REG_ID,
        2,
    );
    assert_eq!(
        bind_with(&world, &other, Some(&record), &AttestationFacts::default()),
        Err(R::Required.into())
    );
}

fn holder(
    world: &World,
    record: &BindingRecord,
    format: ChipFormat,
    key: &SigningKey,
    counter: u64,
) -> simbind_core::decision::Decision {
    let ch = world.challenge(Ceremony::Verify, BINDING_ID);
    let req = request(
        format,
        key,
        Material::None,
        &ch,
        Ceremony::Verify,
        BINDING_ID,
        counter,
    );
    decide_holder(
        &world.ctx(),
        record,
        Ceremony::Verify,
        &evidence(&req),
        false,
    )
}

#[test]
fn an_android_key_verifies_by_signing_the_transcript() {
    let world = world();
    let key = chip_key(0x41);
    let record = created(android_bind(&world, &key, |_| {}));
    let ok = holder(&world, &record, ChipFormat::AndroidKey, &key, 2);
    assert_eq!((ok.result, ok.counter), (Ok(()), 2));
    let other = holder(&world, &record, ChipFormat::AndroidKey, &chip_key(0x42), 2);
    assert_eq!(other.result, Err(Denial::ChipMismatch));
    let replay = holder(&world, &record, ChipFormat::AndroidKey, &key, 1);
    assert_eq!(replay.result, Err(Denial::CounterReplayed));
}

#[test]
fn an_app_attest_key_verifies_with_assertions_whose_counter_must_rise() {
    let world = world();
    let key = chip_key(0x43);
    let record = created(apple_bind(&world, &key, |_| {}));
    let ok = holder(&world, &record, ChipFormat::AppleAppAttest, &key, 2);
    assert_eq!((ok.result, ok.counter, ok.authentic), (Ok(()), 2, true));
    for stale in [1, 0] {
        let replay = holder(&world, &record, ChipFormat::AppleAppAttest, &key, stale);
        assert_eq!(
            replay.result,
            Err(Denial::CounterReplayed),
            "counter {stale}"
        );
        assert!(
            replay.authentic,
            "the bound key signed it: it counts towards suspension"
        );
    }
    // An assertion over another transcript (here: another subject) fails.
    let ch = world.challenge(Ceremony::Verify, BINDING_ID);
    let mut req = request(
        ChipFormat::AppleAppAttest,
        &key,
        Material::None,
        &ch,
        Ceremony::Verify,
        BINDING_ID,
        3,
    );
    let claims = req.validate().unwrap().claims;
    let wrong = claims.transcript(Ceremony::Verify, AUDIENCE, OTHER_BINDING_ID, &[]);
    req.chip_signature = b64(&issuer::apple_assertion(
        &key,
        TEST_APP_ID,
        &Sha256::digest(&wrong),
        3,
    ));
    let d = decide_holder(
        &world.ctx(),
        &record,
        Ceremony::Verify,
        &evidence(&req),
        false,
    );
    assert_eq!((d.result, d.authentic), (Err(Denial::BadSignature), false));
    // An assertion for an app no longer allowed.
    let mut narrowed = world;
    narrowed.policy.attestation.apple.app_ids = vec!["ZZZZZ99999.other".into()];
    let d = holder(&narrowed, &record, ChipFormat::AppleAppAttest, &key, 4);
    assert_eq!(d.result, Err(R::AppNotAllowed.into()));
}

#[test]
fn wire_shapes_are_checked_per_format() {
    let key = chip_key(0x44);
    let base = request(
        ChipFormat::AndroidKey,
        &key,
        Material::None,
        "AAAA",
        Ceremony::Verify,
        BINDING_ID,
        1,
    );
    let refused = |f: &dyn Fn(&mut EvidenceRequest)| {
        let mut r = base.clone();
        f(&mut r);
        r.validate().map(|_| ()).map_err(|e| e.code())
    };
    assert_eq!(refused(&|_| {}), Ok(()));
    assert_eq!(
        refused(&|r| r.chip.serial = Some("CHIP-1".into())),
        Err("invalid_chip_shape")
    );
    assert_eq!(
        refused(&|r| r.chip.key_id = None),
        Err("invalid_chip_shape")
    );
    assert_eq!(
        refused(&|r| r.chip.key_id = Some(b64(&[1; 31]))),
        Err("out_of_range")
    );
    assert_eq!(
        refused(&|r| r.chip.attestation = Some(b64(b"x"))),
        Err("invalid_chip_shape")
    );
    assert_eq!(
        refused(&|r| r.chip.certificate_chain = Some(vec![])),
        Err("out_of_range")
    );
    assert_eq!(
        refused(&|r| r.chip.certificate_chain = Some(vec![b64(b"c"); 7])),
        Err("out_of_range")
    );
    assert_eq!(
        refused(&|r| r.chip.format = "tpm".into()),
        Err("unsupported_attestation_format")
    );
    let mut apple = base.clone();
    apple.chip.format = "apple-appattest".into();
    apple.chip_signature = b64(b"assertion bytes");
    apple.counter = 0;
    assert!(apple.validate().is_ok());
    apple.counter = 5;
    assert_eq!(
        apple.validate().map(|_| ()).map_err(|e| e.code()),
        Err("out_of_range"),
        "App Attest counts in its assertion"
    );
    apple.counter = 0;
    apple.chip.certificate_chain = Some(vec![b64(b"c")]);
    assert_eq!(
        apple.validate().map(|_| ()).map_err(|e| e.code()),
        Err("invalid_chip_shape")
    );
    let mut raw = common::request(
        &common::chip(),
        &sim_a(),
        "AAAA",
        Ceremony::Verify,
        BINDING_ID,
    );
    let code = |r: &EvidenceRequest| r.validate().map(|_| ()).map_err(|e| e.code());
    for stray in [
        |r: &mut EvidenceRequest| r.chip.key_id = Some(b64(&[1; 32])),
        |r: &mut EvidenceRequest| r.chip.certificate_chain = Some(vec![b64(b"c")]),
        |r: &mut EvidenceRequest| r.chip.attestation = Some(b64(b"a")),
    ] {
        let mut r = raw.clone();
        stray(&mut r);
        assert_eq!(code(&r), Err("invalid_chip_shape"));
    }
    raw.chip.key_id = Some(b64(&[1; 32]));
    assert_eq!(code(&raw), Err("invalid_chip_shape"));
    // A real-format chip carries none of simbind-p256's fields.
    let certificate = simbind_core::api::ChipCertificate {
        vendor: "acme".into(),
        not_after: 1,
        signature: b64(&[1; 64]),
    };
    let mut r = base.clone();
    r.chip.certificate = Some(certificate);
    assert_eq!(code(&r), Err("invalid_chip_shape"));
    let mut r = base.clone();
    r.chip.public_key = Some(b64(&public(&key).to_compressed()));
    assert_eq!(code(&r), Err("invalid_chip_shape"));
}

#[test]
fn attestation_sizes_are_bounded_at_exactly_their_limits() {
    use simbind_core::api::{MAX_ATTESTATION_LEN, MAX_BIND_BODY, MAX_CHAIN_BYTES};
    use simbind_core::attestation::x509::{MAX_CERT_LEN, MAX_CHAIN_LEN};
    let key = chip_key(0x49);
    let base = request(
        ChipFormat::AndroidKey,
        &key,
        Material::None,
        "AAAA",
        Ceremony::Bind,
        REG_ID,
        1,
    );
    let code = |r: &EvidenceRequest| r.validate().map(|_| ()).map_err(|e| e.code());
    let with_chain = |certs: Vec<Vec<u8>>| {
        let mut r = base.clone();
        r.chip.certificate_chain = Some(certs.iter().map(|c| b64(c)).collect());
        r
    };
    assert_eq!(
        code(&with_chain(vec![vec![0x30]; MAX_CHAIN_LEN])),
        Ok(()),
        "parsing is core's, at bind"
    );
    assert_eq!(
        code(&with_chain(vec![vec![0x30]; MAX_CHAIN_LEN + 1])),
        Err("out_of_range")
    );
    assert_eq!(code(&with_chain(vec![vec![0; MAX_CERT_LEN]])), Ok(()));
    assert_eq!(
        code(&with_chain(vec![vec![0; MAX_CERT_LEN + 1]])),
        Err("out_of_range")
    );
    let mut apple = request(
        ChipFormat::AppleAppAttest,
        &key,
        Material::None,
        "AAAA",
        Ceremony::Bind,
        REG_ID,
        1,
    );
    // The chain's total: 16 KiB of DER, however it is split.
    let half = vec![0; MAX_CHAIN_BYTES / 2];
    assert_eq!(code(&with_chain(vec![half.clone(), half.clone()])), Ok(()));
    let mut over = half.clone();
    over.push(0);
    assert_eq!(
        code(&with_chain(vec![half.clone(), over])),
        Err("out_of_range")
    );
    apple.chip.attestation = Some(b64(&vec![0; MAX_ATTESTATION_LEN]));
    assert_eq!(code(&apple), Ok(()));
    // The bind body can carry the largest attestation, with every other
    // field at its limit (a Firebase PNV token of 4 KiB included), and still
    // has 8 KiB to spare.
    apple.chip_signature = b64(&vec![0; simbind_core::api::MAX_ASSERTION_LEN]);
    let body = simbind_core::api::BindRequest {
        otp: None,
        bind_secret: Some("s".repeat(64)),
        firebase_pnv_token: Some("t".repeat(simbind_core::firebase_pnv::MAX_TOKEN_LEN)),
        evidence: apple.clone(),
    };
    let len = serde_json::to_vec(&body).unwrap().len();
    assert!(
        len + 8 * 1024 <= MAX_BIND_BODY,
        "{len} bytes leave less than 8 KiB of {MAX_BIND_BODY}"
    );
    apple.chip.attestation = Some(b64(&vec![0; MAX_ATTESTATION_LEN + 1]));
    assert_eq!(code(&apple), Err("out_of_range"));
    assert_eq!(MAX_ATTESTATION_LEN, 16_384);
    // An assertion: 1 to 1 KiB.
    use simbind_core::api::MAX_ASSERTION_LEN;
    let mut asserted = request(
        ChipFormat::AppleAppAttest,
        &key,
        Material::None,
        "AAAA",
        Ceremony::Verify,
        BINDING_ID,
        1,
    );
    for (len, expected) in [
        (0, Err("out_of_range")),
        (1, Ok(())),
        (MAX_ASSERTION_LEN, Ok(())),
        (MAX_ASSERTION_LEN + 1, Err("out_of_range")),
    ] {
        asserted.chip_signature = b64(&vec![7; len]);
        assert_eq!(code(&asserted), expected, "{len} bytes");
    }
}

#[test]
fn every_boot_state_and_level_reads_as_keystore_wrote_it() {
    use simbind_core::attestation::android_key::{self, AndroidPolicy};
    use simbind_core::attestation::key_description::{BootState, SecurityLevel};
    let root = issuer::test_root_spki();
    let lenient = AndroidPolicy {
        require_locked: false,
        require_verified_boot: false,
        allowed_apps: None,
        ..AndroidPolicy::default()
    };
    let key = chip_key(0x45);
    let check = |spec: &AndroidSpec| {
        let chain = issuer::android_chain(&key, spec);
        android_key::verify(
            &chain,
            &spec.challenge,
            &[root.as_slice()],
            &|_| false,
            &lenient,
            NOW,
        )
    };
    for (code, state) in [
        (0, BootState::Verified),
        (1, BootState::SelfSigned),
        (2, BootState::Unverified),
        (3, BootState::Failed),
    ] {
        let mut spec = AndroidSpec::new(b"c");
        spec.boot_state = code;
        assert_eq!(check(&spec).unwrap().boot_state, state);
    }
    let mut spec = AndroidSpec::new(b"c");
    spec.boot_state = 4;
    assert_eq!(check(&spec), Err(R::Malformed), "an unknown boot state");
    for (code, level) in [
        (1, SecurityLevel::TrustedEnvironment),
        (2, SecurityLevel::StrongBox),
    ] {
        let mut spec = AndroidSpec::new(b"c");
        spec.level = code;
        assert_eq!(check(&spec).unwrap().level, level);
    }
    let mut spec = AndroidSpec::new(b"c");
    spec.level = 3;
    assert_eq!(check(&spec), Err(R::Malformed), "an unknown security level");
    let mut spec = AndroidSpec::new(b"c");
    spec.locked = false;
    assert!(!check(&spec).unwrap().device_locked);
}

#[test]
fn keystore_integers_are_read_whole_and_refused_when_they_do_not_fit() {
    use simbind_core::attestation::android_key::{self, AndroidPolicy};
    let root = issuer::test_root_spki();
    let policy = AndroidPolicy {
        allowed_apps: None,
        ..AndroidPolicy::default()
    };
    let key = chip_key(0x46);
    let check = |content: Option<Vec<u8>>, origin: u64| {
        let mut spec = AndroidSpec::new(b"c");
        spec.origin = origin;
        spec.origin_content = content;
        let chain = issuer::android_chain(&key, &spec);
        android_key::verify(&chain, b"c", &[root.as_slice()], &|_| false, &policy, NOW).map(|_| ())
    };
    assert_eq!(check(None, 0), Ok(()), "origin 0: generated");
    // Multi-byte values are read in full: none of these is 0 (generated).
    for origin in [256, 0x0100_0000_0000_0000, 1 << 63] {
        assert_eq!(
            check(None, origin),
            Err(R::SecurityLevel),
            "origin {origin:#x}"
        );
    }
    for (content, why) in [
        (vec![], "empty"),
        (vec![0x80], "negative"),
        (vec![0x01, 0, 0, 0, 0, 0, 0, 0, 0], "wider than 64 bits"),
    ] {
        assert_eq!(check(Some(content), 0), Err(R::Malformed), "{why}");
    }
}

#[test]
fn a_certificate_of_the_largest_size_parses_and_one_byte_more_does_not() {
    use simbind_core::attestation::x509::{self, MAX_CERT_LEN};
    let leaf = |seed: u8, padding: usize| {
        let mut spec = AndroidSpec::new(b"c");
        spec.leaf_padding = padding;
        issuer::android_chain(&chip_key(seed), &spec).remove(0)
    };
    // Signatures vary by a byte or two: find a key and a padding that land
    // on the limit exactly.
    let start = MAX_CERT_LEN - leaf(0x47, 1).len() + 8;
    let exact = (0x47..0x67)
        .flat_map(|seed| (start - 30..start).map(move |p| (seed, p)))
        .map(|(seed, p)| leaf(seed, p))
        .find(|c| c.len() == MAX_CERT_LEN)
        .expect("a certificate of exactly the limit");
    assert!(x509::Cert::parse(&exact).is_ok());
    let over = leaf(0x47, start);
    assert!(over.len() > MAX_CERT_LEN && over.len() < MAX_CERT_LEN + 16);
    assert_eq!(x509::Cert::parse(&over).err(), Some(R::Malformed));
}

#[test]
fn the_app_attest_nonce_must_sit_in_its_documented_structure() {
    let world = world();
    assert_eq!(
        apple_bind(&world, &chip_key(0x48), |s| s.nonce_outer_tag = 0x31),
        Err(R::Malformed.into()),
        "a SET where a SEQUENCE belongs"
    );
}

#[test]
fn the_chip_index_a_bind_claims_is_the_one_its_record_releases() {
    use simbind_core::attestation::vendor::VendorRoots;
    use simbind_core::decision::claimed_chip_index;
    use simbind_core::id_hash::IdKind;
    let check = |world: &World, req: &EvidenceRequest, record: &BindingRecord, alone: bool| {
        let claims = evidence(req).claims;
        let claimed = claimed_chip_index(&world.ctx(), &claims);
        assert_eq!(
            claimed,
            record.chip_index(&world.hasher, world.policy.serials_attested())
        );
        let serial = world
            .hasher
            .hash(IdKind::ChipSerial, claims.chip.serial.as_str());
        assert_eq!(claimed == serial, alone);
    };
    // A real-format key id is attested by the key: indexed alone.
    let world = world();
    let key = chip_key(0x4a);
    let record = created(android_bind(&world, &key, |_| {}));
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let req = request(
        ChipFormat::AndroidKey,
        &key,
        Material::None,
        &ch,
        Ceremony::Bind,
        REG_ID,
        1,
    );
    check(&world, &req, &record, true);
    // An unattested serial is indexed with its key; with vendor roots, alone.
    let mut raw = World::new();
    let chip = common::chip();
    let ch = raw.challenge(Ceremony::Bind, REG_ID);
    let req = common::request(&chip, &sim_a(), &ch, Ceremony::Bind, REG_ID);
    let record = common::bound(&raw, &chip, &sim_a());
    check(&raw, &req, &record, false);
    raw.policy.vendor_roots = VendorRoots(vec![("acme".into(), common::key(0x33).public_key())]);
    check(&raw, &req, &record, true);
}
