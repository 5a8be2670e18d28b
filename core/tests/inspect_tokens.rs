//! The inspector on grants and Firebase PNV tokens: each refusal is the
//! verdict of the verification itself, at the check that names it, with the
//! checks before it passed and those after it not reached.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Value, json};
use simbind_core::codec::b64;
use simbind_core::crypto::SecretKey;
use simbind_core::grant::{GrantClaims, GrantSigner, Jwk, Jwks};

const NOW: u64 = 1_800_000_100;

fn inspect(input: Value) -> Value {
    serde_json::from_str(&simbind_core::inspect::inspect(&input.to_string())).unwrap()
}

/// The verdict's code, and the index of the one failed check (all before it
/// passed, all after it not reached).
fn failed_at(report: &Value) -> (Option<String>, Option<usize>) {
    let checks = report["checks"].as_array().unwrap();
    let at = checks.iter().position(|c| c["result"] == "failed");
    for (i, c) in checks.iter().enumerate() {
        let want = match at {
            Some(f) if i == f => "failed",
            Some(f) if i > f => "not reached",
            _ => "passed",
        };
        assert_eq!(c["result"], want, "{report}");
    }
    if let Some(f) = at {
        assert_eq!(checks[f]["code"], report["code"]);
        assert_eq!(checks[f]["detail"], report["detail"]);
    }
    (report["code"].as_str().map(str::to_owned), at)
}

fn signer(byte: u8) -> GrantSigner {
    GrantSigner {
        kid: "g1".into(),
        key: SecretKey::from_bytes(&[byte; 32]).unwrap(),
        retiring: Vec::new(),
    }
}

fn grant(txn: Option<&[u8]>) -> String {
    signer(11)
        .sign(&GrantClaims {
            iss: "https://simbind.example".into(),
            aud: "bank".into(),
            sub: "bnd_x".into(),
            iat: NOW,
            exp: NOW + 120,
            jti: "j1".into(),
            ctr: 4,
            txn: txn.map(b64),
            number_proof: None,
            nbf: None,
        })
        .unwrap()
}

fn grant_input(token: &str, at: u64) -> Value {
    json!({
        "format": "grant", "token": token, "jwks": signer(11).jwks(),
        "issuer": "https://simbind.example", "audience": "bank", "at": at,
    })
}

#[test]
fn a_grant_is_judged_check_by_check_as_a_backend_judges_it() {
    let token = grant(None);
    let ok = inspect(grant_input(&token, NOW + 1));
    assert_eq!(
        (ok["verdict"].as_str(), failed_at(&ok)),
        (Some("accepted"), (None, None))
    );
    assert_eq!(ok["attested"]["sub"], "bnd_x");
    assert_eq!(ok["decoded"]["header"]["kid"], "g1");
    assert_eq!(ok["decoded"]["claims"]["aud"], "bank");
    let at = |input: Value| failed_at(&inspect(input));
    let code = |c: &str, i: usize| (Some(c.to_owned()), Some(i));
    assert_eq!(at(grant_input("a.b", NOW)), code("grant_malformed", 0));
    let mut other = grant_input(&token, NOW);
    other["jwks"] = json!(signer(12).jwks());
    // The same kid under another key: the signature is what fails.
    assert_eq!(at(other.clone()), code("grant_signature_invalid", 2));
    other["jwks"] = json!(Jwks {
        keys: vec![Jwk {
            kid: "g2".into(),
            ..signer(11).jwks().keys[0].clone()
        }]
    });
    assert_eq!(at(other), code("grant_key_unknown", 1));
    let mut wrong = grant_input(&token, NOW);
    wrong["audience"] = json!("another-bank");
    assert_eq!(at(wrong), code("grant_wrong_audience", 4));
    assert_eq!(at(grant_input(&token, NOW + 120)), code("grant_expired", 6));
    assert_eq!(
        at(grant_input(&token, NOW - 61)),
        code("grant_not_yet_valid", 6)
    );
    let mut paid = grant_input(&grant(Some(b"pay 42")), NOW);
    assert_eq!(
        at(paid.clone()),
        code("grant_wrong_transaction", 7),
        "a payment's grant opens nothing else"
    );
    paid["transactionHex"] = json!("706179203432");
    assert_eq!(at(paid), (None, None));
    let decoded = inspect(grant_input("%%.%%.%%", NOW));
    assert_eq!(
        decoded["decoded"],
        json!({ "header": null, "claims": null })
    );
    for bad in [
        json!({"format": "grant", "at": 1}),
        json!({"format": "grant", "at": 1, "token": "x", "jwks": "{"}),
    ] {
        assert!(inspect(bad)["error"].is_string());
    }
}

fn pnv_key() -> SecretKey {
    SecretKey::from_bytes(&[7; 32]).unwrap()
}

fn pnv_token(claims: &Value) -> String {
    let header = json!({ "alg": "ES256", "typ": "JWT", "kid": "k1" });
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    format!(
        "{input}.{}",
        b64(&pnv_key().sign(input.as_bytes()).to_bytes())
    )
}

fn pnv_claims() -> Value {
    json!({
        "iss": "https://fpnv.googleapis.com/projects/123456789012",
        "aud": ["https://fpnv.googleapis.com/projects/123456789012", "https://fpnv.googleapis.com/projects/simbind-bank"],
        "sub": "+447700900123", "iat": NOW - 10, "exp": NOW + 3590, "jti": "jti-1", "nonce": "n",
    })
}

fn pnv_input(token: &str) -> Value {
    json!({
        "format": "firebase-pnv", "token": token, "at": NOW,
        "jwks": { "keys": [Jwk::from_public_key("k1", &pnv_key().public_key())] },
        "projectNumber": "123456789012", "projectId": "simbind-bank",
    })
}

#[test]
fn a_firebase_pnv_token_is_judged_check_by_check() {
    let ok = inspect(pnv_input(&pnv_token(&pnv_claims())));
    assert_eq!(failed_at(&ok), (None, None), "{ok}");
    assert_eq!(ok["attested"]["number"], "+447700900123");
    assert_eq!(ok["decoded"]["claims"]["jti"], "jti-1");
    let with = |name: &str, value: Value| {
        let mut c = pnv_claims();
        c[name] = value;
        failed_at(&inspect(pnv_input(&pnv_token(&c))))
    };
    let code = |c: &str, i: usize| (Some(c.to_owned()), Some(i));
    assert_eq!(
        failed_at(&inspect(pnv_input("x"))),
        code("pnv_token_malformed", 0)
    );
    let mut unknown = pnv_input(&pnv_token(&pnv_claims()));
    unknown["jwks"]["keys"][0]["kid"] = json!("k2");
    assert_eq!(failed_at(&inspect(unknown)), code("pnv_key_unknown", 1));
    assert_eq!(with("aud", json!("one")), code("pnv_token_malformed", 3));
    assert_eq!(
        with("iss", json!("https://evil.example")),
        code("pnv_wrong_project", 4)
    );
    assert_eq!(
        with("sub", json!("+4477009001")),
        code("pnv_token_malformed", 5),
        "a UK number too short"
    );
    assert_eq!(
        with("iat", json!(NOW + 600)),
        code("pnv_token_not_yet_valid", 6)
    );
    let mut stale = pnv_claims();
    stale["iat"] = json!(NOW - 200);
    stale["exp"] = json!(NOW - 100);
    assert_eq!(
        failed_at(&inspect(pnv_input(&pnv_token(&stale)))),
        code("pnv_token_expired", 6)
    );
    let mut other_key = pnv_input(&pnv_token(&pnv_claims()));
    other_key["jwks"] = json!({ "keys": [Jwk::from_public_key("k1", &SecretKey::from_bytes(&[8; 32]).unwrap().public_key())] });
    assert_eq!(
        failed_at(&inspect(other_key)),
        code("pnv_signature_invalid", 2)
    );
}
