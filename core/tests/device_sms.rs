//! The device-sent SMS number proof: token format, the inbound webhook's
//! signature, and the rules a registration's proof state follows (one
//! sender, single use, expiry, voiding, lockout).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use simbind_core::binding::ProofMethod;
use simbind_core::device_sms::*;
use simbind_core::error::WebhookRefusal;
use simbind_core::id_hash::{IdHasher, IdKind};
use simbind_core::{Denial, ValidationError};

const NOW: u64 = 1_800_000_000;
const SECRET: &[u8] = b"webhook secret for tests";
const REG: &str = "reg_test";

fn number(n: &str) -> simbind_core::id_hash::IdHash {
    IdHasher::new(b"pepper").hash(IdKind::PhoneNumber, n)
}

#[test]
fn tokens_are_sb_and_ten_crockford_characters_from_fifty_random_bits() {
    assert_eq!(token_from_random([0; 8]), "SB-0000000000");
    assert_eq!(token_from_random([0xff; 8]), "SB-ZZZZZZZZZZ");
    let t = token_from_random([1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(t.len(), 13);
    assert!(
        t[3..]
            .bytes()
            .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b))
    );
    assert_ne!(t, token_from_random([1, 2, 3, 4, 5, 6, 7, 9]));
    // The top 14 bits of the 64 are dropped: 50 bits make the token.
    assert_eq!(
        token_from_random([0, 0, 0, 0, 0, 0, 0, 1]),
        token_from_random([0xff, 0xfc, 0, 0, 0, 0, 0, 1])
    );
}

#[test]
fn the_token_is_found_in_the_text_as_a_word_of_its_own() {
    let text = sms_text("Bank", "SB-7K2M9QX4TZ");
    assert_eq!(
        text,
        "SB-7K2M9QX4TZ links this number to your phone in Bank."
    );
    assert_eq!(find_token(&text), Some("SB-7K2M9QX4TZ"));
    assert_eq!(find_token("code: SB-7K2M9QX4TZ."), Some("SB-7K2M9QX4TZ"));
    for none in [
        "",
        "SB-7K2M9QX4T",    // 9 characters
        "SB-7K2M9QX4TZZ",  // 11
        "XSB-7K2M9QX4TZ",  // inside a word
        "SB-7K2M9QX4TZ-1", // continues
        "sb-7k2m9qx4tz",   // lower case
        "SB-7K2M9QX4TI",   // I is not in the alphabet
        "SB 7K2M9QX4TZ",
        "é SB-7K2M9QX4TÜ",
    ] {
        assert_eq!(find_token(none), None, "{none:?}");
    }
    assert_eq!(
        find_token("é SB-7K2M9QX4TZ"),
        Some("SB-7K2M9QX4TZ"),
        "multi-byte text before it"
    );
}

#[test]
fn number_proof_lists_parse() {
    assert_eq!(ProofMethod::parse_list("otp"), Some(vec![ProofMethod::Otp]));
    assert_eq!(
        ProofMethod::parse_list("device_sms, otp"),
        Some(vec![ProofMethod::DeviceSms, ProofMethod::Otp])
    );
    for bad in ["", "sms", "otp,otp", "otp,", "OTP"] {
        assert_eq!(ProofMethod::parse_list(bad), None, "{bad:?}");
    }
}

#[test]
fn a_webhook_signature_is_checked_over_the_raw_body_and_the_timestamp() {
    let body = br#"{"from":"+447700900123","to":"+447700900999","text":"SB-7K2M9QX4TZ","received_at":1800000000}"#;
    let header = sign_webhook(SECRET, NOW, body);
    assert!(header.starts_with("t=1800000000,v1="));
    assert_eq!(header.len(), "t=1800000000,v1=".len() + 64);
    assert_eq!(verify_webhook(SECRET, Some(&header), body, NOW), Ok(()));
    assert_eq!(
        verify_webhook(SECRET, Some(&header), body, NOW + 300),
        Ok(())
    );
    assert_eq!(
        verify_webhook(SECRET, Some(&header), body, NOW - 300),
        Ok(())
    );
    assert_eq!(
        verify_webhook(SECRET, Some(&header), body, NOW + 301),
        Err(WebhookRefusal::Stale)
    );
    assert_eq!(
        verify_webhook(SECRET, Some(&header), body, NOW - 301),
        Err(WebhookRefusal::Stale)
    );
    let mut other = body.to_vec();
    other[10] ^= 1;
    let invalid = Err(WebhookRefusal::SignatureInvalid);
    assert_eq!(verify_webhook(SECRET, Some(&header), &other, NOW), invalid);
    assert_eq!(
        verify_webhook(b"another secret", Some(&header), body, NOW),
        invalid
    );
    // The timestamp is signed: moving it breaks the MAC.
    let moved = header.replace("t=1800000000", "t=1800000100");
    assert_eq!(verify_webhook(SECRET, Some(&moved), body, NOW), invalid);
    for bad in [
        "",
        "v1=00",
        &header.replace("t=", "x="),
        &format!("{header},v1=00"),
        // A part given twice is refused, even when the last copy would verify.
        &format!("v1=00,{header}"),
        &format!("t=5,{header}"),
        &format!("t=,{}", &header[13..]),
        &header.replace("t=1800000000", "t=+1800000000"),
        &header[..header.len() - 1],
        &header.to_uppercase(),
    ] {
        assert_eq!(
            verify_webhook(SECRET, Some(bad), body, NOW),
            invalid,
            "{bad:?}"
        );
    }
    assert_eq!(verify_webhook(SECRET, None, body, NOW), invalid);
    assert_eq!(
        WebhookRefusal::SignatureInvalid.code(),
        "webhook_signature_invalid"
    );
    assert_eq!(WebhookRefusal::Stale.code(), "webhook_stale");
}

#[test]
fn an_inbound_sms_needs_e164_numbers_and_a_bounded_text() {
    let sms = |from: &str, text: String| InboundSms {
        from: from.into(),
        to: "+447700900999".into(),
        text,
        received_at: NOW,
    };
    let ok = sms("+447700900123", "SB-7K2M9QX4TZ".into())
        .validate()
        .unwrap();
    assert_eq!(ok.token.as_deref(), Some("SB-7K2M9QX4TZ"));
    assert_eq!(ok.from.as_str(), "+447700900123");
    assert!(
        sms("+447700900123", "hello".into())
            .validate()
            .unwrap()
            .token
            .is_none()
    );
    assert!(matches!(
        sms("07700900123", String::new()).validate(),
        Err(ValidationError::InvalidPhoneNumber)
    ));
    assert!(
        sms("+447700900123", "é".repeat(MAX_TEXT_LEN))
            .validate()
            .is_ok()
    );
    assert!(matches!(
        sms("+447700900123", "x".repeat(MAX_TEXT_LEN + 1)).validate(),
        Err(ValidationError::OutOfRange("text"))
    ));
}

fn state() -> (DeviceSmsState, &'static str) {
    let token = "SB-7K2M9QX4TZ";
    (
        DeviceSmsState::new(SECRET, REG, token, BIND_SECRET, NOW),
        token,
    )
}

const BIND_SECRET: &str = "q3Xv0b1YpM2sT9wL8kE4hA";

#[test]
fn a_bind_needs_the_bind_secret_and_a_wrong_one_counts_nothing() {
    let (s, _) = state();
    assert_eq!(s.check_bind_secret(SECRET, REG, Some(BIND_SECRET)), Ok(()));
    for wrong in [None, Some(""), Some("q3Xv0b1YpM2sT9wL8kE4hB")] {
        assert_eq!(
            s.check_bind_secret(SECRET, REG, wrong),
            Err(Denial::BindSecretInvalid)
        );
    }
    // Tied to its registration and the deployment's secret.
    assert_eq!(
        s.check_bind_secret(SECRET, "reg_other", Some(BIND_SECRET)),
        Err(Denial::BindSecretInvalid)
    );
    let other = DeviceSmsState::new(b"other pepper", REG, "SB-7K2M9QX4TZ", BIND_SECRET, NOW);
    assert_eq!(
        other.check_bind_secret(SECRET, REG, Some(BIND_SECRET)),
        Err(Denial::BindSecretInvalid)
    );
    assert_eq!(s.attempts, 0);
    // A state stored without one (before bind secrets) proves nothing.
    let mut old = s.clone();
    old.bind_secret_hash = String::new();
    assert_eq!(
        old.check_bind_secret(SECRET, REG, Some(BIND_SECRET)),
        Err(Denial::BindSecretInvalid)
    );
    let stored = serde_json::to_string(&s).unwrap();
    assert!(!stored.contains(BIND_SECRET));
    assert_eq!(
        Denial::BindSecretInvalid.http_status(),
        401,
        "like a wrong code"
    );
}

#[test]
fn only_a_token_text_of_the_template_yields_its_token() {
    let text = sms_text("SimBind demo", "SB-7K2M9QX4TZ");
    assert_eq!(token_of_text(&text), Some("SB-7K2M9QX4TZ"));
    assert_eq!(
        text,
        "SB-7K2M9QX4TZ links this number to your phone in SimBind demo."
    );
    for bad in [
        "Reply YES to win",
        "SB-7K2M9QX4TZ",
        "SB-7K2M9QX4TZ links this number to your phone in .",
        "SB-7K2M9QX4TZ links this number to your phone in SimBind demo",
        "SB-7K2M9QX4TI links this number to your phone in SimBind demo.",
        "xSB-7K2M9QX4TZ links this number to your phone in SimBind demo.",
        "SB-7K2M9QX4TZ links this number to your phone in SimBind\ndemo.",
        "SB-7K2M9QX4TZZ links this number to your phone in SimBind demo.",
        "SB-7K2M9QX4TZ sends money to your phone in SimBind demo.",
    ] {
        assert_eq!(token_of_text(bad), None, "{bad}");
    }
    let long = sms_text(&"n".repeat(65), "SB-7K2M9QX4TZ");
    assert_eq!(token_of_text(&long), None);
    let max = sms_text(&"é".repeat(64), "SB-7K2M9QX4TZ");
    assert_eq!(token_of_text(&max), Some("SB-7K2M9QX4TZ"));
}

#[test]
fn the_registrations_own_number_proves_it_once_seen() {
    let (mut s, token) = state();
    assert_eq!(s.expires_at, NOW + TOKEN_TTL_SECS);
    let me = number("+447700900123");
    assert_eq!(s.check(&me, NOW), Err(Denial::SmsNotReceived));
    assert_eq!(s.check(&me, NOW), Err(Denial::SmsNotReceived));
    assert_eq!(s.attempts, 0, "waiting is not a failure");
    assert_eq!(
        s.seen(SECRET, REG, token, me.clone(), NOW + 5),
        Seen::Recorded
    );
    assert_eq!(
        s.seen(SECRET, REG, token, me.clone(), NOW + 6),
        Seen::Repeated
    );
    assert_eq!(s.senders.len(), 1);
    assert_eq!(s.check(&me, NOW + 10), Ok(()));
}

#[test]
fn another_token_or_registration_changes_nothing() {
    let (mut s, token) = state();
    let me = number("+447700900123");
    assert_eq!(
        s.seen(SECRET, REG, "SB-7K2M9QX4TY", me.clone(), NOW),
        Seen::Unknown
    );
    assert_eq!(
        s.seen(SECRET, "reg_other", token, me.clone(), NOW),
        Seen::Unknown
    );
    assert_eq!(s.seen(b"other pepper", REG, token, me, NOW), Seen::Unknown);
    assert!(s.senders.is_empty());
}

#[test]
fn a_wrong_sender_is_refused_and_counted() {
    let (mut s, token) = state();
    let me = number("+447700900123");
    assert_eq!(
        s.seen(SECRET, REG, token, number("+447700900456"), NOW),
        Seen::Recorded
    );
    assert_eq!(s.check(&me, NOW), Err(Denial::SmsSenderMismatch));
    assert_eq!(s.attempts, 1);
}

#[test]
fn a_second_sender_voids_the_token_for_both() {
    let (mut s, token) = state();
    let me = number("+447700900123");
    let other = number("+447700900456");
    assert_eq!(s.seen(SECRET, REG, token, me.clone(), NOW), Seen::Recorded);
    assert_eq!(s.seen(SECRET, REG, token, other.clone(), NOW), Seen::Voided);
    assert_eq!(s.check(&me, NOW), Err(Denial::SmsTokenVoided));
    assert_eq!(s.check(&other, NOW), Err(Denial::SmsTokenVoided));
    // A third sender is not kept: two already void it.
    assert_eq!(
        s.seen(SECRET, REG, token, number("+447700900789"), NOW),
        Seen::Voided
    );
    assert_eq!(s.senders.len(), 2);
    assert_eq!(s.seen(SECRET, REG, token, me.clone(), NOW), Seen::Repeated);
    assert_eq!(s.check(&me, NOW), Err(Denial::SmsTokenVoided));
}

#[test]
fn an_expired_token_neither_records_nor_proves() {
    let (mut s, token) = state();
    let me = number("+447700900123");
    let end = NOW + TOKEN_TTL_SECS;
    assert_eq!(s.seen(SECRET, REG, token, me.clone(), end), Seen::Expired);
    assert!(s.senders.is_empty());
    assert_eq!(
        s.seen(SECRET, REG, token, me.clone(), end - 1),
        Seen::Recorded
    );
    assert_eq!(s.check(&me, end - 1), Ok(()));
    assert_eq!(s.check(&me, end), Err(Denial::SmsTokenExpired));
}

#[test]
fn five_failed_binds_lock_the_registration() {
    let (mut s, token) = state();
    let me = number("+447700900123");
    s.seen(SECRET, REG, token, number("+447700900456"), NOW);
    for _ in 0..MAX_ATTEMPTS - 1 {
        assert_eq!(s.check(&me, NOW), Err(Denial::SmsSenderMismatch));
    }
    assert_eq!(s.check(&me, NOW), Err(Denial::NumberProofLocked));
    assert_eq!(s.attempts, MAX_ATTEMPTS);
    // Locked before anything else: even the right sender now.
    s.senders = vec![me.clone()];
    assert_eq!(s.check(&me, NOW), Err(Denial::NumberProofLocked));
    assert_eq!(
        s.attempts, MAX_ATTEMPTS,
        "a locked check counts nothing more"
    );
}

#[test]
fn the_stored_state_holds_the_token_only_as_a_keyed_hash() {
    let (s, token) = state();
    let stored = serde_json::to_string(&s).unwrap();
    assert!(!stored.contains(&token[3..]));
    assert_eq!(s.token_hash, hash_token(SECRET, REG, token));
    assert_ne!(s.token_hash, hash_token(SECRET, "reg_other", token));
    assert_eq!(serde_json::from_str::<DeviceSmsState>(&stored).unwrap(), s);
}
