//! `make bench` only (ignored by `make test`): what verifying real
//! attestations costs in wasm under V8, the engine Workers run, in the same
//! run as two references: one P-256 transcript verification in wasm (what
//! every bind already does) and WebCrypto's native verification of the same
//! kinds of signature (the alternative the worker could call instead).
//! `wasm-pack test --node --release --test cost -- --include-ignored`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use der::asn1::ObjectIdentifier;
use simbind_core::attestation::android_key::{self, AndroidPolicy, GOOGLE_ROOTS};
use simbind_core::attestation::apple_appattest::{self, APPLE_ROOT, ApplePolicy, Environment};
use simbind_core::attestation::signatures::{
    self, CheckedSignature, Prechecked, Recorder, Software, Verifier,
};
use simbind_core::attestation::x509;
use simbind_core::crypto::SecretKey;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

#[wasm_bindgen(inline_js = r#"
export function now() { return performance.now(); }
export function log(line) { process.stdout.write(line + "\n"); }
// Makes a key and a signature with WebCrypto, then times `rounds` native
// verifications; returns [spki, signature, message, ms per verification].
export async function webcrypto(kind, rounds) {
  const alg = kind === "p256"
    ? { gen: { name: "ECDSA", namedCurve: "P-256" }, sig: { name: "ECDSA", hash: "SHA-256" } }
    : kind === "p384"
    ? { gen: { name: "ECDSA", namedCurve: "P-384" }, sig: { name: "ECDSA", hash: "SHA-384" } }
    : { gen: { name: "RSASSA-PKCS1-v1_5", modulusLength: 4096, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, sig: { name: "RSASSA-PKCS1-v1_5" } };
  const keys = await crypto.subtle.generateKey(alg.gen, true, ["sign", "verify"]);
  const message = new TextEncoder().encode("a to-be-signed certificate body, about this long ".repeat(20));
  const signature = new Uint8Array(await crypto.subtle.sign(alg.sig, keys.privateKey, message));
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const t = performance.now();
  for (let i = 0; i < rounds; i++) await crypto.subtle.verify(alg.sig, keys.publicKey, signature, message);
  return [spki, signature, message, (performance.now() - t) / rounds];
}
// One chain signature as the worker checks it (edge-worker/src/webcrypto.rs).
const CHAIN = {
  "rsa-pkcs1-sha256": [{ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, { name: "RSASSA-PKCS1-v1_5" }],
  "p256-sha256": [{ name: "ECDSA", namedCurve: "P-256" }, { name: "ECDSA", hash: "SHA-256" }],
  "p256-sha384": [{ name: "ECDSA", namedCurve: "P-256" }, { name: "ECDSA", hash: "SHA-384" }],
  "p384-sha256": [{ name: "ECDSA", namedCurve: "P-384" }, { name: "ECDSA", hash: "SHA-256" }],
  "p384-sha384": [{ name: "ECDSA", namedCurve: "P-384" }, { name: "ECDSA", hash: "SHA-384" }],
};
export async function chainCheck(algorithm, spki, signature, message) {
  const [imported, params] = CHAIN[algorithm];
  const key = await crypto.subtle.importKey("spki", spki, imported, false, ["verify"]);
  return crypto.subtle.verify(params, key, signature, message);
}
"#)]
extern "C" {
    fn now() -> f64;
    #[wasm_bindgen(catch)]
    async fn webcrypto(kind: &str, rounds: u32) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = chainCheck, catch)]
    async fn chain_check(
        algorithm: &str,
        spki: &[u8],
        signature: &[u8],
        message: &[u8],
    ) -> Result<JsValue, JsValue>;
    fn log(s: &str);
}

fn time(rounds: u32, mut f: impl FnMut()) -> f64 {
    f(); // warm up
    let t = now();
    for _ in 0..rounds {
        f();
    }
    (now() - t) / f64::from(rounds)
}

/// What one verification's request costs core in wasm before any storage:
/// the JSON body read, validated (its chip key parsed before, as a binding's
/// keys are: a lookup) and the SIM identity hashed as the binding compares
/// it; beside it, what a key's first decompression costs (a square root).
#[wasm_bindgen_test]
#[ignore]
fn verification_request_cost_in_wasm() {
    use simbind_core::api::EvidenceRequest;
    use simbind_core::codec::b64;
    use simbind_core::id_hash::{IdHasher, IdKind};
    let chip = SecretKey::from_bytes(&[7; 32]).unwrap();
    let body = serde_json::json!({
        "challenge": b64(&[5; 90]),
        "chip": { "format": "simbind-p256", "serial": "CHIP-0001", "public_key": b64(&chip.public_key().to_compressed()) },
        "sim": { "iccid": "8944100000000000018", "imsi": "234150000000001", "msisdn": "+447700900123" },
        "counter": 7,
        "chip_signature": b64(&[1; 64]),
    })
    .to_string();
    let parse = time(500, || {
        let request: EvidenceRequest = serde_json::from_str(&body).unwrap();
        assert_eq!(request.counter, 7);
    });
    let request: EvidenceRequest = serde_json::from_str(&body).unwrap();
    let validate = time(500, || assert!(request.validate().is_ok()));
    // Keys never parsed before: each one decompressed for real.
    let fresh: Vec<Vec<u8>> = (1..=101u8)
        .map(|i| {
            SecretKey::from_bytes(&[i; 32])
                .unwrap()
                .public_key()
                .to_compressed()
        })
        .collect();
    let mut next = fresh.iter();
    simbind_core::crypto::forget_parsed_keys();
    let decompress = time(100, || {
        let key = next.next().unwrap();
        assert!(simbind_core::crypto::PublicKey::from_sec1(key).is_ok())
    });
    let hasher = IdHasher::new(&[9; 32]);
    let hash = time(500, || {
        for (kind, value) in [
            (
                IdKind::Sim(simbind_core::sim::SimField::Iccid),
                "8944100000000000018",
            ),
            (
                IdKind::Sim(simbind_core::sim::SimField::Imsi),
                "234150000000001",
            ),
            (IdKind::PhoneNumber, "+447700900123"),
        ] {
            assert!(!hasher.hash(kind, value).as_str().is_empty());
        }
    });
    log(&format!(
        "verification request in wasm: JSON {parse:.3} ms, validation {validate:.3} ms (a key's first decompression {decompress:.3} ms), SIM hashes {hash:.3} ms"
    ));
}

#[wasm_bindgen_test]
#[ignore]
async fn attestation_cost_in_wasm() {
    let chip = SecretKey::from_bytes(&[7; 32]).unwrap();
    let transcript = vec![0x42u8; 320];
    let signature = chip.sign(&transcript);
    let p256 = time(200, || {
        assert!(chip.public_key().verify(&transcript, &signature))
    });
    log(&format!(
        "reference: P-256 transcript verify in wasm: {p256:.3} ms"
    ));
    // The same primitive both ways on one key and message: core in wasm and
    // the runtime's WebCrypto (what `make bench` reports as the ratio).
    let made = js_sys::Array::from(&webcrypto("p256", 200).await.unwrap());
    let bytes = |i: u32| js_sys::Uint8Array::new(&made.get(i)).to_vec();
    let (spki, raw, message) = (bytes(0), bytes(1), bytes(2));
    let native = made.get(3).as_f64().unwrap();
    let key =
        simbind_core::crypto::PublicKey::from_sec1(&x509::p256_point(&spki).unwrap()).unwrap();
    let signature = simbind_core::crypto::Signature::from_bytes(&raw).unwrap();
    let wasm = time(200, || assert!(key.verify(&message, &signature)));
    log(&format!(
        "P-256 verify: {wasm:.3} ms in wasm, {native:.3} ms WebCrypto (wasm/WebCrypto {:.1}x)",
        wasm / native
    ));
    let policy = AndroidPolicy {
        allowed_apps: None,
        ..AndroidPolicy::default()
    };
    let none = |_: &str| false;
    for (label, pem, challenge, at) in [
        (
            "android-key chain, P-384 root",
            include_str!(
                "../../core/tests/fixtures/attestation/android/tegu_sdk36_TEE_EC_2026_ROOT.pem"
            ),
            &b"6417f92c-daef-4cc1-8828-5bb39338ffd5"[..],
            1_771_894_563,
        ),
        (
            "android-key chain, RSA-4096 root",
            include_str!(
                "../../core/tests/fixtures/attestation/android/caiman_sdk36_TEE_EC_RKP.pem"
            ),
            &b"d688d763-6118-4ca6-94b2-e6cd9ed7e4e4"[..],
            1_758_900_680,
        ),
    ] {
        let chain = x509::pem_chain(pem).unwrap();
        let ms = time(20, || {
            assert!(
                android_key::verify(&chain, challenge, &GOOGLE_ROOTS, &none, &policy, at).is_ok()
            );
        });
        log(&format!(
            "{label}: {ms:.2} ms in wasm = {:.1}x the P-256 reference",
            ms / p256
        ));
        // The worker's way: core lists the checks and decides; WebCrypto
        // answers each signature.
        let verify = |v: &dyn Verifier| {
            android_key::verify_with(&chain, challenge, &GOOGLE_ROOTS, &none, &policy, at, v)
        };
        let rounds = 20;
        let t = now();
        for _ in 0..rounds {
            let recorder = Recorder::default();
            let _ = verify(&recorder);
            let mut checked = Vec::new();
            for check in recorder.checks.into_inner() {
                let valid = chain_check(
                    check.algorithm.label(),
                    &check.spki,
                    &check.signature,
                    &check.message,
                )
                .await
                .unwrap()
                .as_bool()
                .unwrap();
                checked.push(CheckedSignature {
                    digest: check.digest(),
                    valid,
                });
            }
            assert!(verify(&Prechecked { checked: &checked }).is_ok());
        }
        let ms = (now() - t) / f64::from(rounds);
        log(&format!(
            "{label}, signatures by WebCrypto (the worker): {ms:.2} ms with WebCrypto = {:.1}x the P-256 reference",
            ms / p256
        ));
    }
    let samples: serde_json::Value = serde_json::from_str(include_str!(
        "../../core/tests/fixtures/attestation/apple/devicecheck-appattest.json"
    ))
    .unwrap();
    let sample = &samples[0];
    let b64 = |k: &str| STANDARD.decode(sample[k].as_str().unwrap()).unwrap();
    let (object, hash) = (b64("attestation"), b64("clientDataHash"));
    let apple = ApplePolicy {
        app_ids: vec![sample["appId"].as_str().unwrap().into()],
        environment: Environment::Development,
    };
    let at = sample["at"].as_u64().unwrap();
    let ms = time(20, || {
        let roots = [APPLE_ROOT];
        assert!(
            apple_appattest::verify_attestation(&object, &hash, None, &roots, &apple, at).is_ok()
        );
    });
    log(&format!(
        "apple-appattest attestation: {ms:.2} ms in wasm = {:.1}x the P-256 reference",
        ms / p256
    ));
    for (kind, oid) in [
        ("p384", "1.2.840.10045.4.3.3"),
        ("rsa4096", "1.2.840.113549.1.1.11"),
    ] {
        let made = js_sys::Array::from(&webcrypto(kind, 50).await.unwrap());
        let bytes = |i: u32| js_sys::Uint8Array::new(&made.get(i)).to_vec();
        let (spki, raw, message) = (bytes(0), bytes(1), bytes(2));
        let native = made.get(3).as_f64().unwrap();
        let signature = if kind == "p384" {
            p384::ecdsa::Signature::from_slice(&raw)
                .unwrap()
                .to_der()
                .as_bytes()
                .to_vec()
        } else {
            raw
        };
        let oid = ObjectIdentifier::new_unwrap(oid);
        let wasm = time(20, || {
            assert!(signatures::check(&spki, oid, &message, &signature, &Software).is_ok())
        });
        log(&format!(
            "one {kind} signature: {wasm:.3} ms in wasm, {native:.3} ms WebCrypto (wasm/WebCrypto {:.1}x)",
            wasm / native
        ));
    }
}
