//! Firebase PNV tokens: each claim rule refuses what it exists to refuse,
//! and a token proves a number for its own bind only.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Value, json};
use simbind_core::Denial;
use simbind_core::codec::b64;
use simbind_core::crypto::SecretKey;
use simbind_core::firebase_pnv::*;
use simbind_core::grant::{Jwk, Jwks};
use simbind_core::id_hash::{IdHasher, IdKind};

const NOW: u64 = 1_800_000_100;
const NUMBER: &str = "+447700900123";

fn project() -> PnvProject {
    PnvProject {
        number: "123456789012".into(),
        id: "simbind-bank".into(),
        nonce_optional: false,
    }
}

fn key(byte: u8) -> SecretKey {
    SecretKey::from_bytes(&[byte; 32]).expect("scalar")
}

fn keys() -> PnvKeys {
    let jwks = Jwks {
        keys: vec![Jwk::from_public_key("k1", &key(7).public_key())],
    };
    PnvKeys::parse(serde_json::to_string(&jwks).unwrap().as_bytes()).expect("keys")
}

fn claims() -> Value {
    json!({
        "iss": "https://fpnv.googleapis.com/projects/123456789012",
        "aud": [
            "https://fpnv.googleapis.com/projects/123456789012",
            "https://fpnv.googleapis.com/projects/simbind-bank",
        ],
        "sub": NUMBER,
        "iat": NOW - 10,
        "exp": NOW + 3590,
        "jti": "jti-1",
        "nonce": "the-nonce",
    })
}

fn header() -> Value {
    json!({ "alg": "ES256", "typ": "JWT", "kid": "k1" })
}

fn mint(header: &Value, claims: &Value, signer: &SecretKey) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    format!("{input}.{}", b64(&signer.sign(input.as_bytes()).to_bytes()))
}

fn with(name: &str, value: Value) -> Value {
    let mut c = claims();
    c[name] = value;
    c
}

fn check(claims: &Value) -> Result<VerifiedToken, PnvRefusal> {
    verify(&mint(&header(), claims, &key(7)), &keys(), &project(), NOW)
}

#[test]
fn a_good_token_verifies() {
    let token = check(&claims()).expect("verifies");
    assert_eq!(token.number, NUMBER);
    assert_eq!(token.jti, "jti-1");
    assert_eq!(token.nonce.as_deref(), Some("the-nonce"));
    assert_eq!(token.exp, NOW + 3590);
    // Claims Firebase may add are tolerated; the audience may list more.
    let mut extra = claims();
    extra["aud"]
        .as_array_mut()
        .unwrap()
        .push(json!("https://other"));
    extra["phone_number_verified"] = json!(true);
    assert!(check(&extra).is_ok());
}

#[test]
fn the_header_must_be_es256_jwt_with_a_kid() {
    for bad in [
        json!({ "alg": "HS256", "typ": "JWT", "kid": "k1" }),
        json!({ "alg": "none", "typ": "JWT", "kid": "k1" }),
        json!({ "alg": "ES256", "typ": "at+jwt", "kid": "k1" }),
        json!({ "alg": "ES256", "kid": "k1" }),
        json!({ "alg": "ES256", "typ": "JWT", "kid": "" }),
        json!({ "alg": "ES256", "typ": "JWT" }),
    ] {
        let token = mint(&bad, &claims(), &key(7));
        assert_eq!(
            verify(&token, &keys(), &project(), NOW),
            Err(PnvRefusal::Malformed),
            "{bad}"
        );
    }
    let token = mint(&header(), &claims(), &key(7));
    assert_eq!(key_id(&token), Ok("k1".into()));
    let long = format!("{token}{}", "A".repeat(MAX_TOKEN_LEN));
    assert_eq!(key_id(&long), Err(PnvRefusal::Malformed));
    assert_eq!(
        verify(&long, &keys(), &project(), NOW),
        Err(PnvRefusal::Malformed)
    );
    assert_eq!(
        verify("a.b", &keys(), &project(), NOW),
        Err(PnvRefusal::Malformed)
    );
}

#[test]
fn a_token_of_exactly_the_largest_length_is_read() {
    // Pad a claim until the token is exactly MAX_TOKEN_LEN bytes (a base64url
    // length that is 1 mod 4 cannot occur: vary the header too).
    let shape = |pad: usize, extra: usize| {
        let mut h = header();
        h["x"] = json!("h".repeat(extra));
        (h, with("pad", json!("p".repeat(pad))))
    };
    // A signature is always 86 characters: find the sizes without signing.
    let exact = (2000..3200)
        .flat_map(|pad| (0..3).map(move |extra| (pad, extra)))
        .find_map(|(pad, extra)| {
            let (h, c) = shape(pad, extra);
            let len =
                b64(h.to_string().as_bytes()).len() + b64(c.to_string().as_bytes()).len() + 88;
            (len == MAX_TOKEN_LEN).then(|| mint(&h, &c, &key(7)))
        })
        .expect("a token of exactly the largest length");
    assert_eq!(exact.len(), MAX_TOKEN_LEN);
    assert!(verify(&exact, &keys(), &project(), NOW).is_ok());
    assert_eq!(key_id(&exact), Ok("k1".into()));
}

#[test]
fn the_key_and_signature_must_be_firebases() {
    let other_kid = json!({ "alg": "ES256", "typ": "JWT", "kid": "k9" });
    let token = mint(&other_kid, &claims(), &key(7));
    assert_eq!(
        verify(&token, &keys(), &project(), NOW),
        Err(PnvRefusal::UnknownKey)
    );
    let forged = mint(&header(), &claims(), &key(8));
    assert_eq!(
        verify(&forged, &keys(), &project(), NOW),
        Err(PnvRefusal::SignatureInvalid)
    );
    // A signature that is not 64-byte r || s.
    let good = mint(&header(), &claims(), &key(7));
    let truncated = &good[..good.len() - 4];
    assert_eq!(
        verify(truncated, &keys(), &project(), NOW),
        Err(PnvRefusal::Malformed)
    );
    // The payload swapped under a valid signature.
    let parts: Vec<&str> = good.split('.').collect();
    let swapped = format!(
        "{}.{}.{}",
        parts[0],
        b64(with("sub", json!("+447700900999")).to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(
        verify(&swapped, &keys(), &project(), NOW),
        Err(PnvRefusal::SignatureInvalid)
    );
}

#[test]
fn issuer_and_both_audiences_name_the_project() {
    let other = "https://fpnv.googleapis.com/projects/999";
    assert_eq!(
        check(&with("iss", json!(other))),
        Err(PnvRefusal::WrongProject)
    );
    let only_number = json!(["https://fpnv.googleapis.com/projects/123456789012"]);
    assert_eq!(
        check(&with("aud", only_number)),
        Err(PnvRefusal::WrongProject)
    );
    let only_id = json!(["https://fpnv.googleapis.com/projects/simbind-bank"]);
    assert_eq!(check(&with("aud", only_id)), Err(PnvRefusal::WrongProject));
    // A single string is not the documented list.
    let string = json!("https://fpnv.googleapis.com/projects/123456789012");
    assert_eq!(check(&with("aud", string)), Err(PnvRefusal::Malformed));
}

#[test]
fn claims_have_their_shapes() {
    for (name, value) in [
        ("sub", json!("447700900123")),
        ("sub", json!(12)),
        ("jti", json!("")),
        ("jti", json!("j".repeat(257))),
        ("exp", json!(NOW - 10)),
        ("iat", json!("soon")),
    ] {
        assert_eq!(
            check(&with(name, value.clone())),
            Err(PnvRefusal::Malformed),
            "{name} = {value}"
        );
    }
    let mut no_jti = claims();
    no_jti.as_object_mut().unwrap().remove("jti");
    assert_eq!(check(&no_jti), Err(PnvRefusal::Malformed));
    assert!(check(&with("jti", json!("j".repeat(256)))).is_ok());
}

#[test]
fn dates_are_checked_with_bounded_skew() {
    // Expired: exp passed by the skew.
    let mut c = with("exp", json!(NOW - CLOCK_SKEW_SECS));
    c["iat"] = json!(NOW - 500);
    assert_eq!(check(&c), Err(PnvRefusal::Expired));
    c["exp"] = json!(NOW - CLOCK_SKEW_SECS + 1);
    assert!(check(&c).is_ok());
    // Too old for a bind, however long it lives.
    let old = with("iat", json!(NOW - MAX_TOKEN_AGE_SECS - 1));
    assert_eq!(check(&old), Err(PnvRefusal::Expired));
    assert!(check(&with("iat", json!(NOW - MAX_TOKEN_AGE_SECS))).is_ok());
    // From the future.
    let ahead = with("iat", json!(NOW + CLOCK_SKEW_SECS + 1));
    assert_eq!(check(&ahead), Err(PnvRefusal::NotYetValid));
    assert!(check(&with("iat", json!(NOW + CLOCK_SKEW_SECS))).is_ok());
}

#[test]
fn a_token_proves_its_own_bind_and_number_only() {
    let hasher = IdHasher::new(b"pepper");
    let ours = hasher.hash(IdKind::PhoneNumber, NUMBER);
    let theirs = hasher.hash(IdKind::PhoneNumber, "+447700900124");
    let nonce = nonce_for(&[1; 40], "aud", "reg_a");
    let token = check(&with("nonce", json!(nonce))).unwrap();
    assert_eq!(
        check_bind(&token, &project(), &nonce, &ours, &hasher),
        Ok(())
    );
    // Another challenge, registration or audience makes another nonce.
    for other in [
        nonce_for(&[2; 40], "aud", "reg_a"),
        nonce_for(&[1; 40], "aud", "reg_b"),
        nonce_for(&[1; 40], "other", "reg_a"),
    ] {
        assert_ne!(other, nonce);
        assert_eq!(
            check_bind(&token, &project(), &other, &ours, &hasher),
            Err(PnvRefusal::NonceMismatch)
        );
    }
    assert_eq!(
        check_bind(&token, &project(), &nonce, &theirs, &hasher),
        Err(PnvRefusal::NumberMismatch)
    );
    // Firebase's default flow carries no nonce: refused unless allowed.
    let mut bare = claims();
    bare.as_object_mut().unwrap().remove("nonce");
    let bare = check(&bare).unwrap();
    assert_eq!(
        check_bind(&bare, &project(), &nonce, &ours, &hasher),
        Err(PnvRefusal::NonceMismatch)
    );
    let lenient = PnvProject {
        nonce_optional: true,
        ..project()
    };
    assert_eq!(check_bind(&bare, &lenient, &nonce, &ours, &hasher), Ok(()));
    // Optional never means any: a wrong nonce still refuses.
    let wrong = nonce_for(&[2; 40], "aud", "reg_a");
    assert_eq!(
        check_bind(&token, &lenient, &wrong, &ours, &hasher),
        Err(PnvRefusal::NonceMismatch)
    );
}

#[test]
fn used_token_ids_are_keyed() {
    let a = jti_key(b"pepper", "jti-1");
    assert_eq!(a, jti_key(b"pepper", "jti-1"));
    assert_ne!(a, jti_key(b"pepper", "jti-2"));
    assert_ne!(a, jti_key(b"other", "jti-1"));
    assert!(!a.contains("jti"));
}

#[test]
fn key_sets_keep_only_es256_signing_keys() {
    let k = key(7).public_key();
    let jwk = serde_json::to_value(Jwk::from_public_key("k1", &k)).unwrap();
    let mut no_alg_use = jwk.clone();
    no_alg_use.as_object_mut().unwrap().remove("alg");
    no_alg_use.as_object_mut().unwrap().remove("use");
    no_alg_use["kid"] = json!("k2");
    let mut rsa = jwk.clone();
    rsa["kid"] = json!("k3");
    rsa["alg"] = json!("RS256");
    let mut enc = jwk.clone();
    enc["kid"] = json!("k4");
    enc["use"] = json!("enc");
    let mut off_curve = jwk.clone();
    off_curve["kid"] = json!("k5");
    off_curve["y"] = off_curve["x"].clone();
    let doc = json!({ "keys": [jwk, no_alg_use, rsa, enc, off_curve] });
    let keys = PnvKeys::parse(doc.to_string().as_bytes()).expect("keys");
    assert!(keys.get("k1").is_some());
    assert!(keys.get("k2").is_some());
    for skipped in ["k3", "k4", "k5", "k6"] {
        assert!(keys.get(skipped).is_none(), "{skipped}");
    }
    assert_eq!(PnvKeys::parse(br#"{"keys": []}"#), None);
    assert_eq!(PnvKeys::parse(b"[]"), None);
    let many: Vec<Value> = (0..40)
        .map(|i| {
            let mut k = serde_json::to_value(Jwk::from_public_key("x", &k)).unwrap();
            k["kid"] = json!(format!("m{i}"));
            k
        })
        .collect();
    let keys = PnvKeys::parse(json!({ "keys": many }).to_string().as_bytes()).unwrap();
    assert!(keys.get(&format!("m{}", MAX_KEYS - 1)).is_some());
    assert!(keys.get(&format!("m{MAX_KEYS}")).is_none());
}

#[test]
fn refusals_have_stable_codes_and_statuses() {
    let codes: Vec<_> = PnvRefusal::ALL.iter().map(PnvRefusal::code).collect();
    assert_eq!(
        codes,
        [
            "pnv_token_malformed",
            "pnv_key_unknown",
            "pnv_signature_invalid",
            "pnv_wrong_project",
            "pnv_token_expired",
            "pnv_token_not_yet_valid",
            "pnv_nonce_mismatch",
            "pnv_number_mismatch",
            "pnv_token_replayed",
            "pnv_keys_unavailable",
        ]
    );
    let status = |r: PnvRefusal| Denial::from(r).http_status();
    assert_eq!(status(PnvRefusal::Malformed), 400);
    assert_eq!(status(PnvRefusal::Expired), 410);
    assert_eq!(status(PnvRefusal::NumberMismatch), 403);
    assert_eq!(status(PnvRefusal::KeysUnavailable), 503);
    for r in [
        PnvRefusal::UnknownKey,
        PnvRefusal::SignatureInvalid,
        PnvRefusal::WrongProject,
        PnvRefusal::NotYetValid,
        PnvRefusal::NonceMismatch,
        PnvRefusal::Replayed,
    ] {
        assert_eq!(status(r), 401, "{r:?}");
    }
    assert_eq!(
        Denial::from(PnvRefusal::Replayed).code(),
        "pnv_token_replayed"
    );
}
