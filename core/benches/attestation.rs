//! Native cost of verifying real attestations (the bind's extra work for
//! the real chip formats): `cargo bench -p simbind-core --bench attestation`.
//! The wasm cost in V8 (the Workers engine) is measured by `make bench`
//! through `wasm-client/tests/cost.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, criterion_group, criterion_main};
use simbind_core::attestation::android_key::{self, AndroidPolicy, GOOGLE_ROOTS};
use simbind_core::attestation::apple_appattest::{self, APPLE_ROOT, ApplePolicy, Environment};
use simbind_core::attestation::x509;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/attestation");

fn pem_chain(name: &str) -> Vec<Vec<u8>> {
    let pem = std::fs::read_to_string(format!("{FIXTURES}/android/{name}")).unwrap();
    x509::pem_chain(&pem).unwrap()
}

fn benches(c: &mut Criterion) {
    let policy = AndroidPolicy {
        allowed_apps: None,
        ..AndroidPolicy::default()
    };
    let none = |_: &str| false;
    for (label, file, challenge, at) in [
        (
            "android-key chain, P-384 root (Pixel 9a, 5 certs)",
            "tegu_sdk36_TEE_EC_2026_ROOT.pem",
            &b"6417f92c-daef-4cc1-8828-5bb39338ffd5"[..],
            1771894563,
        ),
        (
            "android-key chain, RSA-4096 root (Pixel 9 Pro, 5 certs)",
            "caiman_sdk36_TEE_EC_RKP.pem",
            &b"d688d763-6118-4ca6-94b2-e6cd9ed7e4e4"[..],
            1758900680,
        ),
    ] {
        let chain = pem_chain(file);
        assert!(android_key::verify(&chain, challenge, &GOOGLE_ROOTS, &none, &policy, at).is_ok());
        c.bench_function(label, |b| {
            b.iter(|| {
                android_key::verify(
                    black_box(&chain),
                    challenge,
                    &GOOGLE_ROOTS,
                    &none,
                    &policy,
                    at,
                )
            })
        });
    }
    let samples: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}/apple/devicecheck-appattest.json")).unwrap(),
    )
    .unwrap();
    let s = &samples[0];
    let object = STANDARD.decode(s["attestation"].as_str().unwrap()).unwrap();
    let hash = STANDARD
        .decode(s["clientDataHash"].as_str().unwrap())
        .unwrap();
    let apple = ApplePolicy {
        app_ids: vec![s["appId"].as_str().unwrap().into()],
        environment: Environment::Development,
    };
    let at = s["at"].as_u64().unwrap();
    let attested =
        apple_appattest::verify_attestation(&object, &hash, None, &[APPLE_ROOT], &apple, at)
            .unwrap();
    c.bench_function("apple-appattest attestation (P-384 root)", |b| {
        b.iter(|| {
            apple_appattest::verify_attestation(
                black_box(&object),
                &hash,
                None,
                &[APPLE_ROOT],
                &apple,
                at,
            )
        })
    });
    let a = &s["assertions"][0];
    let assertion = STANDARD.decode(a["assertion"].as_str().unwrap()).unwrap();
    let ahash = STANDARD
        .decode(a["clientDataHash"].as_str().unwrap())
        .unwrap();
    c.bench_function("apple-appattest assertion", |b| {
        b.iter(|| {
            apple_appattest::verify_assertion(
                black_box(&assertion),
                &ahash,
                &attested.public_key,
                &apple.app_ids,
            )
        })
    });
}

criterion_group!(attestation, benches);
criterion_main!(attestation);
