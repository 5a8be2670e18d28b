//! Stateless challenges, one-time codes, identifier hashes and grants.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use simbind_core::Denial;
use simbind_core::challenge::{self, ChallengeKey, ChallengeKeyring, MAX_TTL_SECS};
use simbind_core::codec::b64;
use simbind_core::crypto::SecretKey;
use simbind_core::grant::{
    GrantClaims, GrantError, GrantSigner, Jwks, RetiringKeyError, retiring_keys, verify_grant,
};
use simbind_core::id_hash::{IdHasher, IdKind};
use simbind_core::otp::{self, OtpState};
use simbind_core::transcript::Ceremony;

const NOW: u64 = 1_800_000_000;

fn keys() -> ChallengeKeyring {
    ChallengeKeyring::single("k1", b"secret one")
}

#[test]
fn challenge_verifies_for_its_ceremony_and_subject_until_expiry() {
    let c = challenge::issue(&keys(), Ceremony::Verify, "bnd_x", &[], NOW, 120, [5; 16]);
    let claims = challenge::verify(&keys(), &c, Ceremony::Verify, "bnd_x", NOW + 119).unwrap();
    assert_eq!(
        (claims.issued_at, claims.expires_at, claims.nonce),
        (NOW, NOW + 120, [5; 16])
    );
    assert_eq!(
        challenge::verify(&keys(), &c, Ceremony::Verify, "bnd_x", NOW + 120),
        Err(Denial::ChallengeExpired)
    );
}

#[test]
fn challenge_lifetime_is_capped_at_two_minutes() {
    let c = challenge::issue(&keys(), Ceremony::Verify, "s", &[], NOW, 3600, [0; 16]);
    let claims = challenge::verify(&keys(), &c, Ceremony::Verify, "s", NOW).unwrap();
    assert_eq!(claims.expires_at - claims.issued_at, MAX_TTL_SECS);
}

#[test]
fn challenge_is_tied_to_ceremony_and_subject() {
    let c = challenge::issue(&keys(), Ceremony::Bind, "reg_a", &[], NOW, 120, [5; 16]);
    assert_eq!(
        challenge::verify(&keys(), &c, Ceremony::Verify, "reg_a", NOW),
        Err(Denial::ChallengeWrongCeremony)
    );
    assert_eq!(
        challenge::verify(&keys(), &c, Ceremony::Bind, "reg_b", NOW),
        Err(Denial::ChallengeWrongSubject)
    );
}

#[test]
fn challenge_refuses_any_flipped_bit_and_other_keys() {
    let c = challenge::issue(&keys(), Ceremony::Verify, "s", &[], NOW, 120, [5; 16]);
    for i in 0..c.len() {
        let mut bad = c.clone();
        bad[i] ^= 0x01;
        assert!(
            challenge::verify(&keys(), &bad, Ceremony::Verify, "s", NOW).is_err(),
            "byte {i}"
        );
    }
    let other = ChallengeKeyring::single("k1", b"secret two");
    assert_eq!(
        challenge::verify(&other, &c, Ceremony::Verify, "s", NOW),
        Err(Denial::ChallengeInvalid)
    );
    assert_eq!(
        challenge::verify(&keys(), &c[..10], Ceremony::Verify, "s", NOW),
        Err(Denial::ChallengeInvalid)
    );
    assert_eq!(
        challenge::verify(&keys(), &[], Ceremony::Verify, "s", NOW),
        Err(Denial::ChallengeInvalid)
    );
}

#[test]
fn an_authentic_challenge_with_a_lifetime_over_two_minutes_is_refused() {
    // Built by hand with the real key: issue() itself clamps the lifetime.
    use hmac::Mac;
    use simbind_core::codec::{keyed_mac, put_field};
    let mut body = vec![1u8, Ceremony::Verify.code()];
    body.extend_from_slice(&NOW.to_be_bytes());
    body.extend_from_slice(&(NOW + 121).to_be_bytes());
    body.extend_from_slice(&[5; 16]);
    put_field(&mut body, b"k1");
    put_field(&mut body, b"s");
    let mut mac = keyed_mac(b"secret one", challenge::DOMAIN);
    mac.update(&body);
    body.extend_from_slice(&mac.finalize().into_bytes());
    assert_eq!(
        challenge::verify(&keys(), &body, Ceremony::Verify, "s", NOW),
        Err(Denial::ChallengeInvalid)
    );
}

#[test]
fn secrets_compare_in_constant_time_including_length() {
    use simbind_core::crypto::secret_eq;
    assert!(secret_eq(b"admin-token", b"admin-token"));
    assert!(!secret_eq(b"admin-token", b"admin-tokeN"));
    assert!(!secret_eq(b"admin", b"admin-token"));
    assert!(!secret_eq(b"", b"admin-token"));
}

#[test]
fn challenge_from_the_future_is_refused() {
    let c = challenge::issue(&keys(), Ceremony::Verify, "s", &[], NOW + 60, 120, [5; 16]);
    assert_eq!(
        challenge::verify(&keys(), &c, Ceremony::Verify, "s", NOW),
        Err(Denial::ChallengeInvalid)
    );
}

#[test]
fn rotated_keys_still_verify_old_challenges_by_kid() {
    let old = challenge::issue(&keys(), Ceremony::Verify, "s", &[], NOW, 120, [5; 16]);
    let rotated = ChallengeKeyring {
        current: ChallengeKey {
            kid: "k2".into(),
            secret: b"secret two".to_vec(),
        },
        previous: vec![ChallengeKey {
            kid: "k1".into(),
            secret: b"secret one".to_vec(),
        }],
    };
    assert!(challenge::verify(&rotated, &old, Ceremony::Verify, "s", NOW).is_ok());
    let new = challenge::issue(&rotated, Ceremony::Verify, "s", &[], NOW, 120, [5; 16]);
    assert!(challenge::verify(&keys(), &new, Ceremony::Verify, "s", NOW).is_err());
}

fn otp_state(code: &str) -> OtpState {
    OtpState {
        code_hash: otp::hash_code(b"otp key", "reg_1", code),
        expires_at: NOW + otp::OTP_TTL_SECS,
        attempts: 0,
    }
}

#[test]
fn otp_codes_are_six_digits() {
    assert_eq!(otp::code_from_random([0; 8]), "000000");
    assert_eq!(otp::code_from_random([0xff; 8]).len(), 6);
    assert!(otp::parse_code("123456").is_ok());
    for bad in ["12345", "1234567", "12345a", "", "１２３４５６"] {
        assert!(otp::parse_code(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn otp_accepts_the_right_code_only_for_its_registration() {
    let mut s = otp_state("424242");
    assert_eq!(s.check(b"otp key", "reg_1", "424242", NOW), Ok(()));
    assert_eq!(
        s.check(b"otp key", "reg_2", "424242", NOW),
        Err(Denial::OtpInvalid)
    );
}

#[test]
fn otp_expires() {
    let mut s = otp_state("424242");
    assert_eq!(
        s.check(b"otp key", "reg_1", "424242", NOW + otp::OTP_TTL_SECS),
        Err(Denial::OtpExpired)
    );
}

#[test]
fn otp_locks_after_five_wrong_codes_even_for_the_right_one() {
    let mut s = otp_state("424242");
    for i in 1..otp::MAX_ATTEMPTS {
        assert_eq!(
            s.check(b"otp key", "reg_1", "000000", NOW),
            Err(Denial::OtpInvalid),
            "attempt {i}"
        );
    }
    assert_eq!(
        s.check(b"otp key", "reg_1", "000000", NOW),
        Err(Denial::OtpAttemptsExhausted)
    );
    assert_eq!(s.attempts, otp::MAX_ATTEMPTS);
    assert_eq!(
        s.check(b"otp key", "reg_1", "424242", NOW),
        Err(Denial::OtpAttemptsExhausted)
    );
}

#[test]
fn identifier_hashes_depend_on_pepper_kind_and_value() {
    let h = IdHasher::new(b"pepper");
    let a = h.hash(
        IdKind::Sim(simbind_core::sim::SimField::Iccid),
        "8944100000000000018",
    );
    assert_eq!(
        a,
        h.hash(
            IdKind::Sim(simbind_core::sim::SimField::Iccid),
            "8944100000000000018"
        )
    );
    assert_eq!(a.as_str().len(), 64);
    assert!(!a.as_str().contains("8944100000000000018"));
    assert_ne!(
        a,
        h.hash(
            IdKind::Sim(simbind_core::sim::SimField::Imsi),
            "8944100000000000018"
        )
    );
    assert_ne!(
        a,
        h.hash(
            IdKind::Sim(simbind_core::sim::SimField::Iccid),
            "8944100000000000026"
        )
    );
    assert_ne!(
        a,
        IdHasher::new(b"pepper2").hash(
            IdKind::Sim(simbind_core::sim::SimField::Iccid),
            "8944100000000000018"
        )
    );
    assert!(a.ct_eq(&a.clone()));
}

fn signer() -> GrantSigner {
    GrantSigner {
        kid: "g1".into(),
        key: SecretKey::from_bytes(&[11; 32]).unwrap(),
        retiring: Vec::new(),
    }
}

fn claims(ttl: u64) -> GrantClaims {
    GrantClaims {
        iss: "simbind".into(),
        aud: "app".into(),
        sub: "bnd_x".into(),
        iat: NOW,
        exp: NOW + ttl,
        jti: "j1".into(),
        ctr: 4,
        txn: None,
        number_proof: None,
        nbf: None,
    }
}

#[test]
fn grant_round_trips_through_jwks() {
    let token = signer().sign(&claims(300)).unwrap();
    let jwks: Jwks =
        serde_json::from_str(&serde_json::to_string(&signer().jwks()).unwrap()).unwrap();
    assert_eq!(
        verify_grant(&token, &jwks, "simbind", "app", None, NOW + 299),
        Ok(claims(300))
    );
    let header = token.split('.').next().unwrap();
    assert_eq!(
        header,
        "eyJhbGciOiJFUzI1NiIsImtpZCI6ImcxIiwidHlwIjoiSldUIn0"
    );
}

#[test]
fn grant_lifetime_is_bounded() {
    assert_eq!(signer().sign(&claims(301)), Err(GrantError::Lifetime));
    assert_eq!(signer().sign(&claims(0)), Err(GrantError::Lifetime));
}

#[test]
fn grant_refusals() {
    let jwks = signer().jwks();
    let token = signer().sign(&claims(60)).unwrap();
    assert_eq!(
        verify_grant(&token, &jwks, "simbind", "app", None, NOW + 60),
        Err(GrantError::Expired)
    );
    assert_eq!(
        verify_grant(&token, &jwks, "simbind", "other", None, NOW),
        Err(GrantError::WrongAudience)
    );
    assert_eq!(
        verify_grant(&token, &jwks, "evil", "app", None, NOW),
        Err(GrantError::WrongAudience)
    );
    let other = GrantSigner {
        kid: "g1".into(),
        key: SecretKey::from_bytes(&[12; 32]).unwrap(),
        retiring: Vec::new(),
    };
    assert_eq!(
        verify_grant(&token, &other.jwks(), "simbind", "app", None, NOW),
        Err(GrantError::BadSignature)
    );
    let unknown = GrantSigner {
        kid: "g2".into(),
        ..signer()
    };
    assert_eq!(
        verify_grant(&token, &unknown.jwks(), "simbind", "app", None, NOW),
        Err(GrantError::UnknownKey)
    );
    // Payload swapped for another one: signature no longer covers it.
    let forged_payload = signer()
        .sign(&GrantClaims {
            sub: "bnd_y".into(),
            ..claims(60)
        })
        .unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let other_parts: Vec<&str> = forged_payload.split('.').collect();
    let spliced = format!("{}.{}.{}", parts[0], other_parts[1], parts[2]);
    assert_eq!(
        verify_grant(&spliced, &jwks, "simbind", "app", None, NOW),
        Err(GrantError::BadSignature)
    );
    for bad in ["", "a.b", "a.b.c.d", "!!.!!.!!"] {
        assert_eq!(
            verify_grant(bad, &jwks, "simbind", "app", None, NOW),
            Err(GrantError::Malformed),
            "{bad:?}"
        );
    }
}

#[test]
fn sealed_contact_opens_only_for_its_binding_and_pepper() {
    use simbind_core::contact::{open, seal};
    use simbind_core::identifiers::PhoneNumber;
    let number = PhoneNumber::parse("+447700900123").unwrap();
    let sealed = seal(b"pepper", "bnd_a", &number, [3; 12]);
    assert!(!sealed.contains("447700900123"));
    assert_eq!(open(b"pepper", "bnd_a", &sealed), Some(number));
    assert_eq!(open(b"pepper", "bnd_b", &sealed), None);
    assert_eq!(open(b"pepper2", "bnd_a", &sealed), None);
    assert_eq!(open(b"pepper", "bnd_a", "AAAA"), None);
    assert_eq!(open(b"pepper", "bnd_a", "!!"), None);
}

#[test]
fn sealed_values_open_at_every_length_and_refuse_truncation() {
    use simbind_core::seal::{OVERHEAD, open, seal};
    for msg in [&b""[..], b"x", b"a longer message"] {
        let sealed = seal(b"pepper", b"DOMAIN", b"aad", msg, [9; 12]);
        assert_eq!(sealed.len(), OVERHEAD + msg.len());
        assert_eq!(
            open(b"pepper", b"DOMAIN", b"aad", &sealed).as_deref(),
            Some(msg)
        );
        assert_eq!(
            open(b"pepper", b"OTHER", b"aad", &sealed),
            None,
            "another domain's key"
        );
        assert_eq!(
            open(b"pepper", b"DOMAIN", b"aad", &sealed[..sealed.len() - 1]),
            None
        );
    }
    assert_eq!(open(b"pepper", b"DOMAIN", b"aad", &[0; OVERHEAD - 1]), None);
}

#[test]
fn a_challenge_carries_its_transaction_and_a_changed_one_fails_the_mac() {
    let txn = [0x5a; 32];
    let c = challenge::issue(&keys(), Ceremony::Verify, "bnd_x", &txn, NOW, 120, [5; 16]);
    let claims = challenge::verify(&keys(), &c, Ceremony::Verify, "bnd_x", NOW).unwrap();
    assert_eq!(claims.transaction, txn);
    let mut changed = c.clone();
    let at = c.len() - 32 - 1; // last transaction byte, before the MAC
    changed[at] ^= 1;
    assert_eq!(
        challenge::verify(&keys(), &changed, Ceremony::Verify, "bnd_x", NOW),
        Err(Denial::ChallengeInvalid)
    );
    let plain = challenge::issue(&keys(), Ceremony::Verify, "bnd_x", &[], NOW, 120, [5; 16]);
    assert!(
        challenge::verify(&keys(), &plain, Ceremony::Verify, "bnd_x", NOW)
            .unwrap()
            .transaction
            .is_empty()
    );
}

#[test]
fn a_challenge_with_an_oversized_transaction_is_invalid_even_if_authentic() {
    let long = [1u8; 65];
    let c = challenge::issue(&keys(), Ceremony::Verify, "s", &long, NOW, 120, [5; 16]);
    assert_eq!(
        challenge::verify(&keys(), &c, Ceremony::Verify, "s", NOW),
        Err(Denial::ChallengeInvalid)
    );
    let max = challenge::issue(
        &keys(),
        Ceremony::Verify,
        "s",
        &long[..64],
        NOW,
        120,
        [5; 16],
    );
    assert!(challenge::verify(&keys(), &max, Ceremony::Verify, "s", NOW).is_ok());
}

#[test]
fn transaction_values_are_1_to_64_canonical_base64url_bytes() {
    use simbind_core::ValidationError;
    use simbind_core::api::{ChallengeRequest, parse_transaction};
    assert_eq!(parse_transaction("AQID"), Ok(vec![1, 2, 3]));
    assert_eq!(parse_transaction(&b64(&[7; 64])).map(|v| v.len()), Ok(64));
    assert_eq!(
        parse_transaction(&b64(&[7; 65])),
        Err(ValidationError::OutOfRange("transaction"))
    );
    assert_eq!(
        parse_transaction(""),
        Err(ValidationError::OutOfRange("transaction"))
    );
    assert_eq!(
        parse_transaction("AQID="),
        Err(ValidationError::InvalidBase64("transaction"))
    );
    let req = |c: &str, t: Option<&str>| ChallengeRequest {
        ceremony: c.into(),
        transaction: t.map(Into::into),
    };
    assert_eq!(
        req("verify", Some("AQID")).validate(),
        Ok((Ceremony::Verify, vec![1, 2, 3]))
    );
    assert_eq!(
        req("unbind", None).validate(),
        Ok((Ceremony::Unbind, vec![]))
    );
    assert_eq!(
        req("bind", None).validate(),
        Err(ValidationError::OutOfRange("ceremony"))
    );
}

#[test]
fn verify_grant_refuses_a_grant_for_another_transaction_or_for_none() {
    let s = signer();
    let jwks = s.jwks();
    let paid = GrantClaims {
        txn: Some(b64(b"pay 42")),
        number_proof: None,
        ..claims(120)
    };
    let token = s.sign(&paid).unwrap();
    assert_eq!(
        verify_grant(&token, &jwks, "simbind", "app", Some(b"pay 42"), NOW),
        Ok(paid)
    );
    for other in [Some(&b"pay 4200"[..]), None] {
        assert_eq!(
            verify_grant(&token, &jwks, "simbind", "app", other, NOW),
            Err(GrantError::WrongTransaction)
        );
    }
    let plain = s.sign(&claims(120)).unwrap();
    assert_eq!(
        verify_grant(&plain, &jwks, "simbind", "app", Some(b"pay 42"), NOW),
        Err(GrantError::WrongTransaction),
        "an 'app opened' grant never authorises a payment"
    );
}

#[test]
fn a_challenge_from_up_to_5_s_ahead_is_accepted_and_short_lifetimes_too() {
    let ahead = challenge::issue(&keys(), Ceremony::Verify, "s", &[], NOW + 5, 60, [5; 16]);
    assert!(challenge::verify(&keys(), &ahead, Ceremony::Verify, "s", NOW).is_ok());
    let further = challenge::issue(&keys(), Ceremony::Verify, "s", &[], NOW + 6, 60, [5; 16]);
    assert_eq!(
        challenge::verify(&keys(), &further, Ceremony::Verify, "s", NOW),
        Err(Denial::ChallengeInvalid)
    );
    let short = challenge::issue(&keys(), Ceremony::Verify, "s", &[], NOW, 10, [5; 16]);
    assert!(challenge::verify(&keys(), &short, Ceremony::Verify, "s", NOW + 9).is_ok());
}

#[test]
fn verify_grant_refuses_another_algorithm_or_type_and_jwks_of_another_curve() {
    use simbind_core::grant::Jwk;
    let s = signer();
    let jwks = s.jwks();
    let token = s.sign(&claims(120)).unwrap();
    let rest = token.split_once('.').unwrap().1;
    for header in [
        r#"{"alg":"ES256","kid":"g1","typ":"JOSE"}"#,
        r#"{"alg":"HS256","kid":"g1","typ":"JWT"}"#,
    ] {
        let forged = format!("{}.{rest}", b64(header.as_bytes()));
        assert_eq!(
            verify_grant(&forged, &jwks, "simbind", "app", None, NOW),
            Err(GrantError::Malformed),
            "{header}"
        );
    }
    let good: Jwk = jwks.keys[0].clone();
    assert!(good.public_key().is_some());
    assert!(
        Jwk {
            crv: "P-384".into(),
            ..good.clone()
        }
        .public_key()
        .is_none()
    );
    assert!(
        Jwk {
            kty: "OKP".into(),
            ..good
        }
        .public_key()
        .is_none()
    );
}

#[test]
fn verify_grant_checks_lifetime_iat_nbf_and_the_keys_alg_and_use() {
    use simbind_core::grant::{GRANT_CLOCK_SKEW_SECS, Jwk};
    let s = signer();
    let jwks = s.jwks();
    let check = |c: &GrantClaims, now: u64| {
        let token = s.sign(c).unwrap();
        verify_grant(&token, &jwks, "simbind", "app", None, now)
    };
    // Issued in the future (beyond the skew), or not valid before a later time.
    let ahead = GrantClaims {
        iat: NOW + GRANT_CLOCK_SKEW_SECS + 1,
        exp: NOW + 200,
        ..claims(120)
    };
    assert_eq!(check(&ahead, NOW), Err(GrantError::NotYetValid));
    let within = GrantClaims {
        iat: NOW + GRANT_CLOCK_SKEW_SECS,
        exp: NOW + 200,
        ..claims(120)
    };
    assert!(check(&within, NOW).is_ok());
    let later = GrantClaims {
        nbf: Some(NOW + GRANT_CLOCK_SKEW_SECS + 1),
        ..claims(120)
    };
    assert_eq!(check(&later, NOW), Err(GrantError::NotYetValid));
    assert!(check(&later, NOW + GRANT_CLOCK_SKEW_SECS + 1).is_ok());
    // A lifetime over 300 s is refused even when signed by the right key.
    let long = GrantClaims {
        exp: NOW + 301,
        ..claims(120)
    };
    let mut header_payload = s.sign(&claims(120)).unwrap();
    header_payload.truncate(header_payload.rfind('.').unwrap());
    let payload = b64(&serde_json::to_vec(&long).unwrap());
    let head = header_payload.split('.').next().unwrap();
    let input = format!("{head}.{payload}");
    let sig = SecretKey::from_bytes(&[11; 32])
        .unwrap()
        .sign(input.as_bytes());
    let forged_long = format!("{input}.{}", b64(&sig.to_bytes()));
    assert_eq!(
        verify_grant(&forged_long, &jwks, "simbind", "app", None, NOW),
        Err(GrantError::Lifetime)
    );
    // A key published for another algorithm or use is not a grant key.
    let token = s.sign(&claims(120)).unwrap();
    for bad in [
        Jwk {
            alg: "ES384".into(),
            ..jwks.keys[0].clone()
        },
        Jwk {
            use_: "enc".into(),
            ..jwks.keys[0].clone()
        },
    ] {
        let other = Jwks { keys: vec![bad] };
        assert_eq!(
            verify_grant(&token, &other, "simbind", "app", None, NOW),
            Err(GrantError::UnknownKey)
        );
    }
}

#[test]
fn a_grant_signed_by_a_retiring_key_verifies_until_the_key_is_removed() {
    let old = signer();
    let token = old.sign(&claims(120)).unwrap();
    let published = serde_json::to_string(&old.jwks()).unwrap();
    let new = GrantSigner {
        kid: "g2".into(),
        key: SecretKey::from_bytes(&[13; 32]).unwrap(),
        retiring: retiring_keys(&published, "g2").unwrap(),
    };
    let jwks = new.jwks();
    assert_eq!(
        jwks.keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
        ["g2", "g1"],
        "the signing key first, then the retiring one"
    );
    assert!(verify_grant(&token, &jwks, "simbind", "app", None, NOW).is_ok());
    let fresh = new.sign(&claims(120)).unwrap();
    let header = simbind_core::codec::unb64(fresh.split('.').next().unwrap(), "h").unwrap();
    assert!(
        String::from_utf8(header).unwrap().contains(r#""kid":"g2""#),
        "new grants use the newest key"
    );
    assert!(verify_grant(&fresh, &jwks, "simbind", "app", None, NOW).is_ok());
    let retired = GrantSigner {
        retiring: Vec::new(),
        ..new
    };
    assert_eq!(
        verify_grant(&token, &retired.jwks(), "simbind", "app", None, NOW),
        Err(GrantError::UnknownKey)
    );
    assert!(verify_grant(&fresh, &retired.jwks(), "simbind", "app", None, NOW).is_ok());
}

#[test]
fn retiring_keys_must_be_distinct_es256_signing_keys() {
    let good = serde_json::to_value(signer().jwks()).unwrap();
    let with = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut doc = good.clone();
        edit(&mut doc);
        retiring_keys(&doc.to_string(), "g9")
    };
    assert_eq!(with(&|_| {}).unwrap().len(), 1);
    assert_eq!(
        retiring_keys("not json", "g9"),
        Err(RetiringKeyError::Malformed)
    );
    assert_eq!(
        retiring_keys(r#"{"keys":[]}"#, "g9"),
        Err(RetiringKeyError::Malformed)
    );
    let three = |d: &mut serde_json::Value| {
        let k = d["keys"][0].clone();
        for kid in ["a", "b"] {
            let mut k = k.clone();
            k["kid"] = kid.into();
            d["keys"].as_array_mut().unwrap().push(k);
        }
    };
    assert_eq!(
        with(&three),
        Err(RetiringKeyError::Malformed),
        "at most two retire at once"
    );
    let two = |d: &mut serde_json::Value| {
        let mut k = d["keys"][0].clone();
        k["kid"] = "g0".into();
        d["keys"].as_array_mut().unwrap().push(k);
    };
    assert_eq!(with(&two).unwrap().len(), 2);
    for (field, value) in [
        ("alg", "RS256"),
        ("use", "enc"),
        ("kty", "RSA"),
        ("crv", "P-384"),
    ] {
        assert_eq!(
            with(&|d| d["keys"][0][field] = value.into()),
            Err(RetiringKeyError::NotEs256),
            "{field}"
        );
    }
    assert_eq!(
        with(&|d| d["keys"][0]["x"] = b64(&[0u8; 32]).into()),
        Err(RetiringKeyError::NotEs256),
        "a point off the curve"
    );
    assert_eq!(
        retiring_keys(&good.to_string(), "g1"),
        Err(RetiringKeyError::DuplicateKid)
    );
    assert_eq!(
        with(&|d| d["keys"][0]["kid"] = "".into()),
        Err(RetiringKeyError::DuplicateKid)
    );
    let twice = |d: &mut serde_json::Value| {
        let k = d["keys"][0].clone();
        d["keys"].as_array_mut().unwrap().push(k);
    };
    assert_eq!(with(&twice), Err(RetiringKeyError::DuplicateKid));
}
