//! The runtime's WebCrypto for the two P-256 operations every verification
//! makes (checking the chip's signature, signing the grant) and for the
//! signatures of attestation chains at bind (RSA, P-256, P-384). Workers run
//! them natively, several times faster than the same primitives in wasm
//! (bench/RESULTS.md), and the worker then ships no RSA or P-384 code.
//! Only the primitive moves: what is signed and what a result decides stay
//! in core. Any WebCrypto failure answers `None`: the caller falls back to
//! core's own P-256, and core refuses a chain signature left unanswered.

use std::cell::RefCell;

use js_sys::{Array, Object, Reflect, Uint8Array};
use simbind_core::attestation::signatures::{Algorithm, SignatureCheck};
use simbind_core::codec::b64;
use simbind_core::crypto::SecretKey;
use simbind_core::decision::SignatureInput;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

fn subtle() -> Option<SubtleCrypto> {
    let crypto: web_sys::Crypto = Reflect::get(&js_sys::global(), &"crypto".into())
        .ok()?
        .dyn_into()
        .ok()?;
    Some(crypto.subtle())
}

fn object(pairs: &[(&str, &str)]) -> Option<Object> {
    let out = Object::new();
    for (k, v) in pairs {
        Reflect::set(&out, &(*k).into(), &(*v).into()).ok()?;
    }
    Some(out)
}

/// The key algorithm of every key here: ECDSA on P-256.
fn p256_key() -> Option<Object> {
    object(&[("name", "ECDSA"), ("namedCurve", "P-256")])
}

/// The signature algorithm: ECDSA with SHA-256 (ES256).
fn es256() -> Option<Object> {
    object(&[("name", "ECDSA"), ("hash", "SHA-256")])
}

fn usages(usage: &str) -> JsValue {
    Array::of1(&usage.into()).into()
}

async fn resolve(promise: Result<js_sys::Promise, JsValue>) -> Option<JsValue> {
    JsFuture::from(promise.ok()?).await.ok()
}

/// Imports `data` (in `format`: `raw`, `spki`, `pkcs8` or `jwk`) as a
/// non-extractable key for `usage` only; `None` when WebCrypto refuses it.
async fn import(format: &str, data: &Object, algorithm: &Object, usage: &str) -> Option<CryptoKey> {
    resolve(subtle()?.import_key_with_object(format, data, algorithm, false, &usages(usage)))
        .await?
        .dyn_into()
        .ok()
}

/// Verifies a P-256 signature (`r || s`, SHA-256) with WebCrypto; `None`
/// when WebCrypto could not answer.
pub async fn verify(input: &SignatureInput) -> Option<bool> {
    let subtle = subtle()?;
    let key = match kept_key(&VERIFYING_KEYS, &input.public_key) {
        Some(key) => key,
        None => {
            let raw = Uint8Array::from(input.public_key.as_slice());
            let imported = import("raw", &raw, &p256_key()?, "verify").await?;
            keep_key(
                &VERIFYING_KEYS,
                VERIFYING_KEYS_KEPT,
                input.public_key.clone(),
                imported.clone(),
            );
            imported
        }
    };
    let params = es256()?;
    resolve(subtle.verify_with_object_and_u8_array_and_u8_array(
        &params,
        &key,
        &input.signature,
        &input.message,
    ))
    .await?
    .as_bool()
}

/// At most this many signing keys stay imported per isolate: the grant key,
/// the carrier's client-assertion key, the two event keys, and room for a
/// rotation.
const SIGNING_KEYS_KEPT: usize = 6;

/// At most this many chips' public keys stay imported per isolate, for the
/// verifications of the bindings it serves most recently.
const VERIFYING_KEYS_KEPT: usize = 64;

/// Imported keys, each found only by the exact bytes it was imported from.
type KeptKeys = std::thread::LocalKey<RefCell<Vec<(Vec<u8>, CryptoKey)>>>;

thread_local! {
    /// Signing keys imported into WebCrypto, each under its own public key
    /// (SEC1 bytes): a key is only ever found by the key it was imported
    /// from, so the grant key and the carrier's key never stand in for each
    /// other, whichever signs first in an isolate.
    static SIGNING_KEYS: RefCell<Vec<(Vec<u8>, CryptoKey)>> = const { RefCell::new(Vec::new()) };
    /// Chips' public keys imported for verification, under their
    /// uncompressed SEC1 bytes: a verification imports its key once per
    /// isolate instead of on every request.
    static VERIFYING_KEYS: RefCell<Vec<(Vec<u8>, CryptoKey)>> = const { RefCell::new(Vec::new()) };
}

/// The key kept under exactly `name`, if any.
fn kept_key(kept: &'static KeptKeys, name: &[u8]) -> Option<CryptoKey> {
    kept.with(|keys| {
        keys.borrow()
            .iter()
            .find(|(kept, _)| kept.as_slice() == name)
            .map(|(_, key)| key.clone())
    })
}

/// Keeps `imported` under `name`, dropping the oldest past `most`.
fn keep_key(kept: &'static KeptKeys, most: usize, name: Vec<u8>, imported: CryptoKey) {
    kept.with(|keys| {
        let mut keys = keys.borrow_mut();
        if !keys.iter().any(|(kept, _)| *kept == name) {
            if keys.len() >= most {
                keys.remove(0);
            }
            keys.push((name, imported));
        }
    });
}

fn cached_signing_key(public: &[u8]) -> Option<CryptoKey> {
    kept_key(&SIGNING_KEYS, public)
}

async fn signing_key(key: &SecretKey) -> Option<CryptoKey> {
    let public = key.public_key();
    let sec1 = public.to_uncompressed();
    if let Some(cached) = cached_signing_key(&sec1) {
        return Some(cached);
    }
    let (x, y) = public.coordinates();
    let jwk = object(&[
        ("kty", "EC"),
        ("crv", "P-256"),
        ("x", &b64(&x)),
        ("y", &b64(&y)),
        ("d", &b64(&key.to_bytes())),
    ])?;
    let imported = import("jwk", &jwk, &p256_key()?, "sign").await?;
    keep_signing_key(sec1, imported.clone());
    Some(imported)
}

/// Keeps an imported signing key under `name` (SEC1 bytes, or `rsa:{kid}`).
fn keep_signing_key(name: Vec<u8>, imported: CryptoKey) {
    keep_key(&SIGNING_KEYS, SIGNING_KEYS_KEPT, name, imported);
}

/// Signs `message` with `key` (ES256: `r || s`), imported once per isolate
/// and kept under its own public key; `None` when WebCrypto could not answer.
pub async fn sign(key: &SecretKey, message: &[u8]) -> Option<Vec<u8>> {
    let imported = signing_key(key).await?;
    let params = es256()?;
    let signature =
        resolve(subtle()?.sign_with_object_and_u8_array(&params, &imported, message)).await?;
    let bytes = Uint8Array::new(&signature).to_vec();
    (bytes.len() == 64).then_some(bytes)
}

/// Signs `message` with RS256 (RSASSA-PKCS1-v1_5, SHA-256) by the PKCS#8
/// key `pkcs8`, imported once per isolate and kept under `kid` (the
/// security events' key; no RSA code ships in the worker); `None` when
/// WebCrypto could not answer.
pub async fn sign_rs256(pkcs8: &[u8], kid: &str, message: &[u8]) -> Option<Vec<u8>> {
    let name = format!("rsa:{kid}").into_bytes();
    let imported = match cached_signing_key(&name) {
        Some(key) => key,
        None => {
            let algorithm = object(&[("name", "RSASSA-PKCS1-v1_5"), ("hash", "SHA-256")])?;
            let imported = import("pkcs8", &Uint8Array::from(pkcs8), &algorithm, "sign").await?;
            keep_signing_key(name, imported.clone());
            imported
        }
    };
    let params = object(&[("name", "RSASSA-PKCS1-v1_5")])?;
    let signature =
        resolve(subtle()?.sign_with_object_and_u8_array(&params, &imported, message)).await?;
    Some(Uint8Array::new(&signature).to_vec())
}

/// A compact JWS over `signing_input` (`b64u(header) "." b64u(claims)`):
/// ES256 by `key` on the runtime's WebCrypto, by core when it cannot answer.
/// Boxed: one copy serves the grant, the client assertions and the request
/// objects.
pub fn signed_jws<'a>(
    key: &'a SecretKey,
    signing_input: &'a str,
) -> crate::http::Boxed<'a, String> {
    crate::http::boxed(async move {
        let signature = match sign(key, signing_input.as_bytes()).await {
            Some(signature) => signature,
            None => key.sign(signing_input.as_bytes()).to_bytes().to_vec(),
        };
        simbind_core::grant::signed(signing_input, &signature)
    })
}

/// WebCrypto's import and verify parameters for a chain signature.
fn chain_algorithm(algorithm: Algorithm) -> Option<(Object, Object)> {
    let ecdsa = |curve: &str, hash: &str| {
        Some((
            object(&[("name", "ECDSA"), ("namedCurve", curve)])?,
            object(&[("name", "ECDSA"), ("hash", hash)])?,
        ))
    };
    match algorithm {
        Algorithm::RsaPkcs1Sha256 => Some((
            object(&[("name", "RSASSA-PKCS1-v1_5"), ("hash", "SHA-256")])?,
            object(&[("name", "RSASSA-PKCS1-v1_5")])?,
        )),
        Algorithm::P256Sha256 => ecdsa("P-256", "SHA-256"),
        Algorithm::P256Sha384 => ecdsa("P-256", "SHA-384"),
        Algorithm::P384Sha256 => ecdsa("P-384", "SHA-256"),
        Algorithm::P384Sha384 => ecdsa("P-384", "SHA-384"),
    }
}

/// Verifies one attestation chain signature (core made the check: key,
/// algorithm, signed bytes, and the signature in WebCrypto's form); `None`
/// when WebCrypto could not answer (a key it cannot import included).
pub async fn verify_chain_signature(check: &SignatureCheck) -> Option<bool> {
    let subtle = subtle()?;
    let (key_algorithm, params) = chain_algorithm(check.algorithm)?;
    let spki = Uint8Array::from(check.spki.as_slice());
    let key = import("spki", &spki, &key_algorithm, "verify").await?;
    resolve(subtle.verify_with_object_and_u8_array_and_u8_array(
        &params,
        &key,
        &check.signature,
        &check.message,
    ))
    .await?
    .as_bool()
}
