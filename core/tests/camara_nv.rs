//! CAMARA Number Verification: the values tied to one bind, the request
//! object, the operator's answers, and the registration's state machine.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Value, json};
use simbind_core::Denial;
use simbind_core::camara_nv::*;
use simbind_core::codec::b64;
use simbind_core::identifiers::PhoneNumber;

const REG: &str = "reg_bm5ubm5ubm5ubm5uAu_hMc5a5WL8kzaV6FufGZ3n0lj_cLum4RfZgpusvvU";
const NOW: u64 = 1_800_000_000;

fn claims_of(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&simbind_core::codec::unb64(part, "x").unwrap()).unwrap()
}

#[test]
fn bind_values_differ_by_challenge_audience_registration_and_purpose() {
    let state = state_for(&[1; 40], "aud", REG);
    let nonce = nonce_for(&[1; 40], "aud", REG);
    assert!(state.starts_with(&format!("{REG}.")));
    assert_eq!(registration_of_state(&state), Some(REG));
    let digest = state.rsplit('.').next().unwrap();
    assert_ne!(digest, nonce, "state and nonce have their own domains");
    for other in [
        state_for(&[2; 40], "aud", REG),
        state_for(&[1; 40], "other", REG),
        state_for(&[1; 40], "aud", "reg_other"),
    ] {
        assert_ne!(other, state);
    }
    assert_ne!(nonce_for(&[2; 40], "aud", REG), nonce);
    for bad in [
        "",
        "reg_x",
        "bnd_x.AAAA",
        &format!("{REG}.short"),
        &format!("x{state}"),
    ] {
        assert_eq!(registration_of_state(bad), None, "{bad}");
    }
    let long = format!("reg_{}.{}", "a".repeat(80), "b".repeat(43));
    assert_eq!(registration_of_state(&long), None);
}

#[test]
fn the_pkce_verifier_is_keyed_and_its_challenge_is_s256() {
    let v = pkce_verifier(b"pepper", REG, &[1; 40]);
    assert_eq!(v.len(), 43, "43 characters: RFC 7636's shortest");
    assert_eq!(v, pkce_verifier(b"pepper", REG, &[1; 40]));
    assert_ne!(v, pkce_verifier(b"other", REG, &[1; 40]));
    assert_ne!(v, pkce_verifier(b"pepper", "reg_b", &[1; 40]));
    assert_ne!(v, pkce_verifier(b"pepper", REG, &[2; 40]));
    // RFC 7636 appendix B.
    assert_eq!(
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

#[test]
fn redeemed_codes_are_stored_keyed() {
    let a = code_key(b"pepper", "code-1");
    assert_eq!(a, code_key(b"pepper", "code-1"));
    assert_ne!(a, code_key(b"pepper", "code-2"));
    assert_ne!(a, code_key(b"other", "code-1"));
    assert!(!a.contains("code"));
}

#[test]
fn the_hashed_number_is_sha256_hex_of_e164() {
    let number = PhoneNumber::parse("+447700900123").unwrap();
    // SHA-256 of the ASCII string "+447700900123", computed independently.
    assert_eq!(
        hashed_phone_number(&number),
        "a8acc3a90a7b4e4dc65e93db9240ed26523050ef754d63b75b5161de76781436"
    );
    let body: Value = serde_json::from_str(&verify_body(&number)).unwrap();
    assert_eq!(
        body,
        json!({ "hashedPhoneNumber": hashed_phone_number(&number) })
    );
}

fn request() -> AuthorizationRequest<'static> {
    AuthorizationRequest {
        client_id: "bank-simbind",
        redirect_uri: "https://simbind.example/v1/carrier/number-verification/callback",
        scope: DEFAULT_SCOPE,
        state: "reg_x.state",
        nonce: "the-nonce",
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        authorization_endpoint: "https://op.example/authorize",
        now: NOW,
        jti: "jti-1",
    }
}

#[test]
fn the_request_object_carries_every_parameter_for_300_seconds() {
    let input = request().signing_input(Some("k1"));
    let header: Value = serde_json::from_slice(
        &simbind_core::codec::unb64(input.split('.').next().unwrap(), "h").unwrap(),
    )
    .unwrap();
    assert_eq!(
        header,
        json!({ "alg": "ES256", "typ": "oauth-authz-req+jwt", "kid": "k1" })
    );
    let claims = claims_of(&format!("{input}.sig"));
    assert_eq!(
        claims,
        json!({
            "iss": "bank-simbind", "aud": "https://op.example/authorize",
            "iat": NOW, "exp": NOW + 300, "jti": "jti-1",
            "response_type": "code", "client_id": "bank-simbind",
            "redirect_uri": "https://simbind.example/v1/carrier/number-verification/callback",
            "scope": DEFAULT_SCOPE, "state": "reg_x.state", "nonce": "the-nonce",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256", "prompt": "none",
        })
    );
    let no_kid = request().signing_input(None);
    assert!(!no_kid.split('.').next().unwrap().is_empty());
    assert_ne!(no_kid, input);
}

#[test]
fn the_url_repeats_the_mandatory_parameters_encoded() {
    let url = request().url("a.b.c");
    assert_eq!(
        url,
        "https://op.example/authorize?response_type=code&client_id=bank-simbind\
         &redirect_uri=https%3A%2F%2Fsimbind.example%2Fv1%2Fcarrier%2Fnumber-verification%2Fcallback\
         &scope=openid%20number-verification%3Averify%20dpv%3AFraudPreventionAndDetection&request=a.b.c"
    );
    let with_query = AuthorizationRequest {
        authorization_endpoint: "https://op.example/authorize?tenant=1",
        ..request()
    };
    assert!(
        with_query
            .url("r")
            .starts_with("https://op.example/authorize?tenant=1&response_type=code")
    );
    assert_eq!(percent_encode("a-b_c.d~e f/+"), "a-b_c.d~e%20f%2F%2B");
}

#[test]
fn discovery_needs_three_https_urls() {
    let doc = json!({
        "issuer": "https://op.example", "authorization_endpoint": "https://op.example/authorize",
        "token_endpoint": "https://op.example/token", "jwks_uri": "https://op.example/jwks",
    });
    let found = Discovery::parse(doc.to_string().as_bytes(), false).unwrap();
    assert_eq!(found.token_endpoint, "https://op.example/token");
    let mut http = doc.clone();
    http["token_endpoint"] = json!("http://op.example/token");
    assert_eq!(Discovery::parse(http.to_string().as_bytes(), false), None);
    assert!(
        Discovery::parse(http.to_string().as_bytes(), true).is_some(),
        "dev: plain http"
    );
    let mut missing = doc.clone();
    missing
        .as_object_mut()
        .unwrap()
        .remove("authorization_endpoint");
    assert_eq!(Discovery::parse(missing.to_string().as_bytes(), true), None);
    let mut huge = doc;
    huge["issuer"] = json!(format!("https://{}", "a".repeat(2048)));
    assert_eq!(Discovery::parse(huge.to_string().as_bytes(), false), None);
}

fn id_token(claims: &Value) -> String {
    format!(
        "eyJhbGciOiJFUzI1NiJ9.{}.sig",
        b64(claims.to_string().as_bytes())
    )
}

#[test]
fn the_id_token_is_for_this_client_issuer_and_nonce() {
    let good = json!({ "iss": "https://op.example", "aud": "bank-simbind", "exp": NOW + 300, "nonce": "n1", "sub": "ppid" });
    let check = |c: &Value| {
        check_id_token(
            &id_token(c),
            "https://op.example",
            "bank-simbind",
            "n1",
            NOW,
        )
    };
    assert_eq!(check(&good), Ok(()));
    let mut listed = good.clone();
    listed["aud"] = json!(["other", "bank-simbind"]);
    assert_eq!(check(&listed), Ok(()));
    for (name, value) in [
        ("iss", json!("https://evil.example")),
        ("aud", json!("other")),
        ("aud", json!(["other"])),
        ("exp", json!(NOW - CLOCK_SKEW_SECS)),
        ("nonce", json!("n2")),
        ("nonce", Value::Null),
    ] {
        let mut bad = good.clone();
        bad[name] = value.clone();
        assert_eq!(
            check(&bad),
            Err(NvRefusal::IdTokenInvalid),
            "{name} = {value}"
        );
    }
    let mut fresh = good.clone();
    fresh["exp"] = json!(NOW - CLOCK_SKEW_SECS + 1);
    assert_eq!(check(&fresh), Ok(()));
    assert_eq!(
        check_id_token("not-a-jwt", "https://op.example", "bank-simbind", "n1", NOW),
        Err(NvRefusal::IdTokenInvalid)
    );
}

#[test]
fn operator_answers_and_what_may_fall_back() {
    let not_network = json!({ "status": 403, "code": NOT_BY_MOBILE_NETWORK, "message": "m" });
    let denied = json!({ "status": 403, "code": "PERMISSION_DENIED", "message": "m" });
    let table: [(u16, Vec<u8>, Option<NvRefusal>); 10] = [
        (200, br#"{"devicePhoneNumberVerified":true}"#.to_vec(), None),
        (
            200,
            br#"{"devicePhoneNumberVerified":false}"#.to_vec(),
            Some(NvRefusal::NotVerified),
        ),
        (200, b"{}".to_vec(), Some(NvRefusal::Unavailable)),
        (
            403,
            not_network.to_string().into_bytes(),
            Some(NvRefusal::NotMobileNetwork),
        ),
        (
            403,
            denied.to_string().into_bytes(),
            Some(NvRefusal::Unavailable),
        ),
        (404, vec![], Some(NvRefusal::NotSupported)),
        (422, vec![], Some(NvRefusal::NotSupported)),
        (401, vec![], Some(NvRefusal::Unavailable)),
        (429, vec![], Some(NvRefusal::Unavailable)),
        (503, vec![], Some(NvRefusal::Unavailable)),
    ];
    for (status, body, want) in table {
        assert_eq!(read_verify(status, &body), want, "{status}");
    }
    let fallback: Vec<_> = NvRefusal::ALL
        .into_iter()
        .filter(NvRefusal::allows_fallback)
        .collect();
    assert_eq!(
        fallback,
        [NvRefusal::NotMobileNetwork, NvRefusal::NotSupported]
    );
}

#[test]
fn a_registration_answers_once_for_the_challenge_it_asked() {
    let mut state = NvState::new(NOW);
    let challenge = [7u8; 40];
    // No authorization asked: nothing to answer.
    let early = state_for(&challenge, "aud", REG);
    assert_eq!(
        state.answer(&early, "aud", REG, NOW),
        Err(NvRefusal::StateInvalid.into())
    );
    state.ask(&b64(&challenge), NOW).unwrap();
    let forged = state_for(&[8u8; 40], "aud", REG);
    assert_eq!(
        state.answer(&forged, "aud", REG, NOW),
        Err(NvRefusal::StateInvalid.into())
    );
    assert_eq!(
        state.answer(&early, "aud", REG, NOW),
        Ok(challenge.to_vec())
    );
    assert_eq!(
        state.answer(&early, "aud", REG, NOW),
        Err(NvRefusal::StateUsed.into())
    );
    // Not proven until the operator's answer is recorded, and then for that challenge only.
    assert_eq!(
        state.check(&challenge, NOW),
        Err(NvRefusal::NotProven.into())
    );
    state.record(None);
    assert_eq!(state.check(&challenge, NOW), Ok(()));
    assert_eq!(
        state.check(&[8u8; 40], NOW),
        Err(NvRefusal::NotProven.into())
    );
    assert_eq!(
        state.check(&challenge, NOW + PROOF_TTL_SECS),
        Err(NvRefusal::Expired.into())
    );
    assert_eq!(
        state.ask("x", NOW + PROOF_TTL_SECS),
        Err(NvRefusal::Expired.into())
    );
    assert!(
        !state.take_fallback(),
        "a verified number needs no fallback"
    );
}

#[test]
fn refusals_count_lock_and_allow_one_fallback_only_when_the_operator_said_so() {
    let mut state = NvState::new(NOW);
    state.ask("AQ", NOW).unwrap();
    state.record(Some(NvRefusal::NotVerified));
    assert_eq!(state.check(&[1], NOW), Err(NvRefusal::NotVerified.into()));
    assert!(
        !state.take_fallback(),
        "another number is no reason to fall back"
    );
    state.record(Some(NvRefusal::NotMobileNetwork));
    assert_eq!(state.attempts, 2);
    assert!(state.take_fallback());
    assert!(!state.take_fallback(), "once");
    for _ in 2..MAX_ATTEMPTS {
        state.record(Some(NvRefusal::Unavailable));
    }
    assert_eq!(state.ask("AQ", NOW), Err(Denial::NumberProofLocked));
    let mut other = NvState::new(NOW);
    other.record(Some(NvRefusal::NotSupported));
    assert!(other.take_fallback());
    let mut outage = NvState::new(NOW);
    outage.record(Some(NvRefusal::Unavailable));
    assert!(
        !outage.take_fallback(),
        "an outage is not the operator saying it cannot help"
    );
}

#[test]
fn the_token_answer_needs_an_access_token_and_an_id_token() {
    let good =
        br#"{"access_token":"at","token_type":"Bearer","expires_in":300,"id_token":"a.b.c"}"#;
    assert_eq!(
        TokenAnswer::parse(good),
        Some(TokenAnswer {
            access_token: "at".into(),
            id_token: "a.b.c".into(),
        })
    );
    for bad in [
        &br#"{"access_token":"at","token_type":"Bearer"}"#[..],
        br#"{"id_token":"a.b.c"}"#,
        br#"{"access_token":1,"id_token":"a.b.c"}"#,
        b"not json",
    ] {
        assert_eq!(TokenAnswer::parse(bad), None);
    }
}
