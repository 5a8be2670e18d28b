//! Native cost of the protocol steps on the verification hot path:
//! `cargo bench -p simbind-core --bench protocol`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use simbind_core::api::{ChipInfo, EvidenceRequest, SimInfo};
use simbind_core::binding::BindingRecord;
use simbind_core::challenge::{self, ChallengeKeyring};
use simbind_core::codec::b64;
use simbind_core::crypto::SecretKey;
use simbind_core::decision::{Context, Policy, decide_holder};
use simbind_core::grant::{GrantClaims, GrantSigner};
use simbind_core::id_hash::IdHasher;
use simbind_core::transcript::Ceremony;

const NOW: u64 = 1_800_000_000;
const BINDING: &str = "bnd_AQEBAQEBAQEBAQEBAQEBAQ";

fn request(chip: &SecretKey, challenge: &[u8], counter: u64) -> EvidenceRequest {
    let mut req = EvidenceRequest {
        challenge: b64(challenge),
        chip: ChipInfo {
            format: "simbind-p256".into(),
            serial: Some("CHIP-0001".into()),
            public_key: Some(b64(&chip.public_key().to_compressed())),
            ..ChipInfo::default()
        },
        sim: SimInfo {
            msisdn: Some("+447700900123".into()),
            iccid: Some("8944100000000000018".into()),
            imsi: Some("234150000000001".into()),
            subscription_id: Some(1),
            slot_index: Some(0),
            card_id: Some(0),
            port_index: Some(0),
            embedded: Some(false),
            mcc: Some("234".into()),
            mnc: Some("15".into()),
            ..SimInfo::default()
        },
        counter,
        chip_signature: b64(&[1; 64]),
        sim_signature: None,
    };
    let claims = req.validate().expect("valid").claims;
    let transcript = claims.transcript(Ceremony::Verify, "aud", BINDING, &[]);
    req.chip_signature = b64(&chip.sign(&transcript).to_bytes());
    req
}

fn benches(c: &mut Criterion) {
    let chip = SecretKey::from_bytes(&[7; 32]).expect("scalar");
    let keys = ChallengeKeyring::single("c1", b"bench challenge key");
    let hasher = IdHasher::new(b"bench pepper");
    let policy = Policy::default();
    let ctx = Context {
        keys: &keys,
        hasher: &hasher,
        audience: "aud",
        policy: &policy,
        now: NOW,
        checked: None,
        carrier: None,
    };
    let ch = challenge::issue(&keys, Ceremony::Verify, BINDING, &[], NOW, 120, [3; 16]);
    let req = request(&chip, &ch, 2);
    let evidence = req.validate().expect("valid");
    let binding = BindingRecord::new(
        BINDING,
        &hasher.hash(simbind_core::id_hash::IdKind::PhoneNumber, "+447700900123"),
        &request(&chip, &ch, 1).validate().expect("valid").claims,
        &chip.public_key(),
        &hasher,
        NOW,
    );

    c.bench_function("validate request (parse keys, ids, signature)", |b| {
        b.iter(|| black_box(&req).validate())
    });
    c.bench_function("encode transcript", |b| {
        b.iter(|| black_box(&evidence.claims).transcript(Ceremony::Verify, "aud", BINDING, &[]))
    });
    c.bench_function("p256 verify", |b| {
        let t = evidence
            .claims
            .transcript(Ceremony::Verify, "aud", BINDING, &[]);
        b.iter(|| chip.public_key().verify(black_box(&t), &chip.sign(&t)))
    });
    c.bench_function("challenge issue", |b| {
        b.iter(|| {
            challenge::issue(
                &keys,
                Ceremony::Verify,
                BINDING,
                &[],
                NOW,
                120,
                black_box([3; 16]),
            )
        })
    });
    c.bench_function("challenge verify", |b| {
        b.iter(|| challenge::verify(&keys, black_box(&ch), Ceremony::Verify, BINDING, NOW))
    });
    c.bench_function("decide verify (whole decision)", |b| {
        b.iter(|| {
            decide_holder(
                &ctx,
                black_box(&binding),
                Ceremony::Verify,
                &evidence,
                false,
            )
        })
    });
    let signer = GrantSigner {
        kid: "g1".into(),
        key: SecretKey::from_bytes(&[9; 32]).expect("scalar"),
        retiring: Vec::new(),
    };
    let claims = GrantClaims {
        iss: "i".into(),
        aud: "a".into(),
        sub: BINDING.into(),
        iat: NOW,
        exp: NOW + 120,
        jti: "j".into(),
        ctr: 2,
        txn: None,
        number_proof: None,
        nbf: None,
    };
    c.bench_function("grant sign (ES256)", |b| {
        b.iter(|| signer.sign(black_box(&claims)))
    });
}

criterion_group!(protocol, benches);
criterion_main!(protocol);
