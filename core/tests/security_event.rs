//! Security events: which change yields which CAEP/RISC event, the SET
//! around it, the event keys, and what a receiver's answer decides.
//! Key files in tests/keys were made with Node's `generateKeyPairSync`;
//! the expected `kid`s are Node's RFC 7638 thumbprints of the same keys.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use simbind_core::Denial;
use simbind_core::binding::ProofMethod;
use simbind_core::crypto::SecretKey;
use simbind_core::security_event::delivery::{
    DeliveryMethod, Next, POLL_ACK_MAX, POLL_MAX, PollRequest, ReceiverError, Reply, Schedule,
    StreamState, StreamStatus, next, parse_receivers, poll_answer, retry_after_ms,
};
use simbind_core::security_event::key::{KeyError, RsaEventKey, ec_jwk, ec_kid};
use simbind_core::security_event::set::{Envelope, SetAlg, SubjectFormat, signing_input, subject};
use simbind_core::security_event::{
    CREDENTIAL_CHANGE, Change, RISK_LEVEL_CHANGE, VERIFICATION, event_types, verification,
};

const ISS: &str = "https://simbind.example";
const AT: u64 = 1_790_000_000;

fn payload(change: Change) -> (String, Value) {
    let e = change.event(ISS, AT);
    (e.event_type, e.payload)
}

#[test]
fn each_change_maps_to_its_event_exactly() {
    let (kind, bound) = payload(Change::Bound(Some(ProofMethod::FirebasePnv)));
    assert_eq!(kind, CREDENTIAL_CHANGE);
    assert_eq!(
        bound,
        json!({
            "credential_type": "app",
            "change_type": "create",
            "friendly_name": "SimBind device and SIM binding",
            "initiating_entity": "user",
            "reason_admin": { "en": "bound, number proven by firebase_pnv" },
            "event_timestamp": AT,
            "simbind_change": "bound",
        })
    );
    let (kind, suspended) = payload(Change::Suspended(Denial::CarrierSimSwapped));
    assert_eq!(kind, RISK_LEVEL_CHANGE);
    assert_eq!(
        suspended,
        json!({
            "principal": "DEVICE",
            "current_level": "HIGH",
            "previous_level": "LOW",
            "risk_reason": "carrier_sim_swapped",
            "initiating_entity": "policy",
            "event_timestamp": AT,
            "simbind_change": "suspended",
        })
    );
    let (kind, takeover) = payload(Change::TakeoverRefused(Denial::ChipAlreadyBound));
    assert_eq!(kind, format!("{ISS}/secevent/takeover-refused"));
    assert_eq!(
        takeover,
        json!({ "reason": "chip_already_bound", "initiating_entity": "user", "event_timestamp": AT, "simbind_change": "takeover_refused" })
    );
    let (kind, ended) = payload(Change::CarrierSubscriptionEnded);
    assert_eq!(kind, format!("{ISS}/secevent/carrier-subscription-ended"));
    assert_eq!(
        ended,
        json!({ "initiating_entity": "system", "event_timestamp": AT, "simbind_change": "carrier_subscription_ended" })
    );
}

#[test]
fn credential_changes_name_type_change_and_who() {
    let cases = [
        (Change::Bound(None), "app", "create", "user", "bound"),
        (
            Change::Rebound(Some(ProofMethod::Otp)),
            "phone-sms",
            "update",
            "user",
            "re-bound to a new SIM, number proven by otp",
        ),
        (
            Change::Unbound,
            "app",
            "delete",
            "user",
            "unbound by the bound chip",
        ),
        (
            Change::Revoked,
            "app",
            "revoke",
            "admin",
            "revoked by an operator",
        ),
    ];
    for (change, credential, kind, by, why) in cases {
        let (t, p) = payload(change);
        assert_eq!(t, CREDENTIAL_CHANGE, "{change:?}");
        assert_eq!(p["credential_type"], credential, "{change:?}");
        assert_eq!(p["change_type"], kind, "{change:?}");
        assert_eq!(p["initiating_entity"], by, "{change:?}");
        assert_eq!(p["reason_admin"]["en"], why, "{change:?}");
        assert_eq!(p["simbind_change"], change.label());
    }
    let (t, lifted) = payload(Change::Reinstated);
    assert_eq!(t, RISK_LEVEL_CHANGE);
    assert_eq!(
        (
            lifted["current_level"].as_str(),
            lifted["previous_level"].as_str(),
            lifted["risk_reason"].as_str(),
            lifted["initiating_entity"].as_str()
        ),
        (Some("LOW"), Some("HIGH"), Some("reinstated"), Some("admin"))
    );
    let (_, sim) = payload(Change::Suspended(Denial::SimChanged));
    assert_eq!(sim["risk_reason"], "sim_changed");
}

#[test]
fn labels_are_distinct_and_every_type_is_supported() {
    let all = [
        Change::Bound(None),
        Change::Rebound(None),
        Change::Suspended(Denial::SimChanged),
        Change::Reinstated,
        Change::Unbound,
        Change::Revoked,
        Change::TakeoverRefused(Denial::SimChanged),
        Change::CarrierSubscriptionEnded,
    ];
    let labels: std::collections::BTreeSet<_> = all.iter().map(|c| c.label()).collect();
    assert_eq!(labels.len(), all.len());
    let supported = event_types(ISS);
    for change in all {
        assert!(
            supported.contains(&change.event(ISS, AT).event_type),
            "{change:?}"
        );
    }
    assert!(supported.contains(&VERIFICATION.to_owned()));
    assert_eq!(supported.len(), 5);
    assert_eq!(verification(Some("s1")).payload, json!({ "state": "s1" }));
    assert_eq!(verification(None).payload, json!({}));
    assert_eq!(verification(None).event_type, VERIFICATION);
}

fn part(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[test]
fn the_set_carries_sub_id_and_never_sub() {
    let event = Change::Unbound.event(ISS, AT);
    let envelope = Envelope {
        iss: ISS,
        jti: "j1",
        iat: AT,
        aud: "https://bank.example/ssf",
        sub_id: subject(SubjectFormat::Opaque, "bnd_x", Some("+447700900123")),
    };
    let input = signing_input(SetAlg::Rs256, "k1", envelope, &event);
    assert_eq!(input.split('.').count(), 2);
    assert_eq!(
        part(&input, 0),
        json!({ "alg": "RS256", "typ": "secevent+jwt", "kid": "k1" })
    );
    let claims = part(&input, 1);
    assert_eq!(
        claims,
        json!({
            "iss": ISS, "jti": "j1", "iat": AT, "aud": "https://bank.example/ssf",
            "sub_id": { "format": "opaque", "id": "bnd_x" },
            "events": { CREDENTIAL_CHANGE: event.payload },
        })
    );
    assert!(claims.get("sub").is_none());
    let es = signing_input(
        SetAlg::Es256,
        "k2",
        Envelope {
            iss: ISS,
            jti: "j",
            iat: 1,
            aud: "a",
            sub_id: json!({}),
        },
        &event,
    );
    assert_eq!(part(&es, 0)["alg"], "ES256");
}

#[test]
fn the_number_is_the_subject_only_where_opted_in_and_known() {
    assert_eq!(
        subject(SubjectFormat::PhoneNumber, "bnd_x", Some("+447700900123")),
        json!({ "format": "phone_number", "phone_number": "+447700900123" })
    );
    assert_eq!(
        subject(SubjectFormat::PhoneNumber, "bnd_x", None),
        json!({ "format": "opaque", "id": "bnd_x" })
    );
    assert_eq!(SubjectFormat::parse("opaque"), Some(SubjectFormat::Opaque));
    assert_eq!(
        SubjectFormat::parse("phone_number"),
        Some(SubjectFormat::PhoneNumber)
    );
    assert_eq!(SubjectFormat::parse("email"), None);
    assert_eq!(SetAlg::parse("RS256"), Some(SetAlg::Rs256));
    assert_eq!(SetAlg::parse("ES256"), Some(SetAlg::Es256));
    assert_eq!(SetAlg::parse("HS256"), None);
    assert_eq!(SetAlg::Es256.label(), "ES256");
}

#[test]
fn the_rsa_event_key_is_read_and_thumbprinted() {
    let key = RsaEventKey::from_pkcs8(include_bytes!("keys/event-rsa-2048.pk8")).unwrap();
    assert_eq!(key.bits(), 2048);
    assert_eq!(key.kid(), "JNFulswfoE9rgycppQQJvvb3jx5UYslzcNFer74KhA0");
    let jwk = key.jwk();
    assert_eq!(
        (
            jwk["kty"].as_str(),
            jwk["alg"].as_str(),
            jwk["use"].as_str(),
            jwk["e"].as_str()
        ),
        (Some("RSA"), Some("RS256"), Some("sig"), Some("AQAB"))
    );
    assert_eq!(jwk["kid"], key.kid());
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(jwk["n"].as_str().unwrap())
            .unwrap()
            .len(),
        256
    );
    assert!(jwk.get("d").is_none(), "no private member");
}

#[test]
fn short_rsa_keys_and_other_keys_are_refused() {
    let short = include_bytes!("keys/event-rsa-1024.pk8");
    assert_eq!(RsaEventKey::from_pkcs8(short), Err(KeyError::TooShort));
    let ec = include_bytes!("keys/event-p256.pk8");
    assert_eq!(RsaEventKey::from_pkcs8(ec), Err(KeyError::NotRsaPkcs8));
    let good = include_bytes!("keys/event-rsa-2048.pk8");
    let mut trailing = good.to_vec();
    trailing.push(0);
    assert_eq!(
        RsaEventKey::from_pkcs8(&trailing),
        Err(KeyError::NotRsaPkcs8)
    );
    assert_eq!(
        RsaEventKey::from_pkcs8(&good[..good.len() - 1]),
        Err(KeyError::NotRsaPkcs8)
    );
    assert_eq!(RsaEventKey::from_pkcs8(b""), Err(KeyError::NotRsaPkcs8));
}

#[test]
fn the_ec_event_key_is_thumbprinted() {
    let d = URL_SAFE_NO_PAD
        .decode("mx--2r9otab47dG_A9fAAQIX6OhQszRDrSVkCDye_rE")
        .unwrap();
    let public = SecretKey::from_bytes(&d).unwrap().public_key();
    assert_eq!(
        ec_kid(&public),
        "ITR3f8lPIPVCdo9njf76ViXwjqKkc8ho7PMq4vK4LkU"
    );
    let jwk = ec_jwk(&public);
    assert_eq!(jwk["x"], "nAjJ0V-JUZmanFiSE6IH_vNqbmY-vPK16J3M5TcKz6I");
    assert_eq!(jwk["y"], "l3kan226Fbl6_iYM9WRWCHg2YpD558qectVpBHXX4g4");
    assert_eq!(
        (
            jwk["alg"].as_str(),
            jwk["crv"].as_str(),
            jwk["kid"].as_str()
        ),
        (
            Some("ES256"),
            Some("P-256"),
            Some("ITR3f8lPIPVCdo9njf76ViXwjqKkc8ho7PMq4vK4LkU")
        )
    );
}

const S: Schedule = Schedule {
    base_ms: 1000,
    max_ms: 60_000,
    ttl_secs: 3600,
    cap: 4,
    disable_after: 3,
};
const NOW: u64 = 1_790_000_000_000;

fn status(code: u16) -> Reply<'static> {
    Reply::Status {
        code,
        retry_after: None,
        err: None,
    }
}

fn retry(at: u64, permanent: bool) -> Next {
    Next::Retry {
        at_ms: NOW + at,
        permanent,
    }
}

#[test]
fn backoff_doubles_up_to_the_ceiling() {
    assert_eq!(
        [0, 1, 2, 3, 6, 7, 40, 200].map(|a| S.backoff_ms(a)),
        [1000, 1000, 2000, 4000, 32_000, 60_000, 60_000, 60_000]
    );
    assert!(!S.expired(NOW - 3_600_000, NOW));
    assert!(S.expired(NOW - 3_600_001, NOW));
    assert!(!S.expired(NOW + 5, NOW));
    assert_eq!(
        Schedule::DEFAULT,
        Schedule {
            base_ms: 10_000,
            max_ms: 3_600_000,
            ttl_secs: 259_200,
            cap: 64,
            disable_after: 20,
        }
    );
}

#[test]
fn each_answer_decides_the_next_step() {
    for ok in [200, 202, 204, 299] {
        assert_eq!(next(&S, status(ok), 1, NOW), Next::Delivered, "{ok}");
    }
    assert_eq!(next(&S, status(410), 1, NOW), Next::Gone);
    for permanent in [300, 301, 401, 403, 404, 413, 499] {
        assert_eq!(
            next(&S, status(permanent), 2, NOW),
            retry(2000, true),
            "{permanent}"
        );
    }
    for transient in [408, 500, 502, 503, 599] {
        assert_eq!(
            next(&S, status(transient), 3, NOW),
            retry(4000, false),
            "{transient}"
        );
    }
    assert_eq!(next(&S, Reply::TimedOut, 1, NOW), retry(1000, false));
    assert_eq!(next(&S, Reply::Unreachable, 2, NOW), retry(2000, false));
    let bad = |err| Reply::Status {
        code: 400,
        retry_after: None,
        err,
    };
    assert_eq!(
        next(&S, bad(Some("invalid_request")), 1, NOW),
        Next::Rejected
    );
    assert_eq!(next(&S, bad(None), 1, NOW), Next::Rejected);
    for stream in [
        "invalid_key",
        "invalid_issuer",
        "invalid_audience",
        "authentication_failed",
        "access_denied",
    ] {
        assert_eq!(
            next(&S, bad(Some(stream)), 1, NOW),
            retry(1000, true),
            "{stream}"
        );
    }
}

#[test]
fn too_many_requests_waits_as_told_within_bounds() {
    let told = |v| Reply::Status {
        code: 429,
        retry_after: Some(v),
        err: None,
    };
    assert_eq!(next(&S, told("5"), 1, NOW), retry(5000, false));
    assert_eq!(
        next(&S, told("0"), 1, NOW),
        retry(1000, false),
        "at least the base"
    );
    assert_eq!(
        next(&S, told("86400"), 1, NOW),
        retry(60_000, false),
        "at most the ceiling"
    );
    assert_eq!(
        next(&S, told("soon"), 3, NOW),
        retry(4000, false),
        "unreadable: backoff"
    );
    let plain = Reply::Status {
        code: 429,
        retry_after: None,
        err: None,
    };
    assert_eq!(next(&S, plain, 2, NOW), retry(2000, false));
}

#[test]
fn retry_after_reads_seconds_and_http_dates() {
    assert_eq!(retry_after_ms("120", NOW), Some(120_000));
    assert_eq!(retry_after_ms(" 7 ", NOW), Some(7000));
    // 784111777 = Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example).
    let then = 784_111_777_000;
    assert_eq!(
        retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", then - 3000),
        Some(3000)
    );
    assert_eq!(
        retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", then + 1),
        Some(0),
        "past: now"
    );
    assert_eq!(
        retry_after_ms("Thu, 29 Feb 2024 23:59:60 GMT", 0),
        Some(1_709_251_200_000)
    );
    assert_eq!(
        retry_after_ms("Sat, 01 Jan 2000 00:00:00 GMT", 0),
        Some(946_684_800_000)
    );
    assert_eq!(
        retry_after_ms("Mon, 01 Mar 2100 12:30:05 GMT", 0),
        Some(4_107_587_405_000)
    );
    for bad in [
        "",
        "-1",
        "1.5",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1969 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:49:37 GMT",
        "Sun, 06 Nov 1994 08:60:37 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 06 Nov 1994 08:49 GMT",
        "Sun, 06 Nov 1994 08:49:37:1 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT x",
        "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Nov 1994 8:49:37Z GMT",
    ] {
        assert_eq!(retry_after_ms(bad, 0), None, "{bad}");
    }
}

#[test]
fn a_stream_counts_outcomes_and_disables_itself_only_when_failures_last() {
    let mut s = StreamState::default();
    assert_eq!(s.status, StreamStatus::Enabled);
    s.record(retry(1, true), "http_401", &S, NOW);
    s.record(retry(1, false), "timeout", &S, NOW + 1);
    s.record(Next::Rejected, "invalid_request", &S, NOW + 2);
    assert_eq!(
        (s.failures_in_a_row, s.rejected, s.status),
        (2, 1, StreamStatus::Enabled)
    );
    assert_eq!(
        (s.last_error.as_deref(), s.failing_since),
        (Some("invalid_request"), Some(NOW))
    );
    s.record(Next::Delivered, "", &S, NOW + 3);
    assert_eq!(
        (s.failures_in_a_row, s.delivered, s.failing_since),
        (0, 1, None)
    );
    assert_eq!(
        s.last_error.as_deref(),
        Some("invalid_request"),
        "kept for the operator"
    );
    // A burst: many failures within the longest interval does not disable.
    for i in 0..10 {
        s.record(retry(1, true), "http_403", &S, NOW + 10 + i);
    }
    assert_eq!((s.status, s.failures_in_a_row), (StreamStatus::Enabled, 10));
    // Still failing once the longest interval has passed: disabled.
    s.record(retry(1, true), "http_403", &S, NOW + 10 + S.max_ms - 1);
    assert_eq!(
        s.status,
        StreamStatus::Enabled,
        "not yet the longest interval"
    );
    s.record(retry(1, true), "http_403", &S, NOW + 10 + S.max_ms);
    assert_eq!(s.status, StreamStatus::Disabled);
    assert_eq!(
        s.reason.as_deref(),
        Some("permanent failures for longer than the longest retry interval")
    );
    // Lasting, but fewer than disable_after in a row: enabled.
    let mut few = StreamState::default();
    few.record(retry(1, true), "http_401", &S, NOW);
    few.record(retry(1, true), "http_401", &S, NOW + S.max_ms * 5);
    assert_eq!(few.status, StreamStatus::Enabled);
    few.record(retry(1, true), "http_401", &S, NOW + S.max_ms * 6);
    assert_eq!(
        few.status,
        StreamStatus::Disabled,
        "the third, with disable_after 3"
    );
    let mut gone = StreamState::default();
    gone.record(Next::Gone, "http_410", &S, NOW);
    assert_eq!(
        (gone.status, gone.reason.as_deref(), gone.failures_in_a_row),
        (
            StreamStatus::Disabled,
            Some("the receiver answered 410 Gone"),
            0
        )
    );
    let mut paused = StreamState {
        status: StreamStatus::Paused,
        ..StreamState::default()
    };
    for i in 0..5 {
        paused.record(retry(1, true), "http_401", &S, NOW + i * S.max_ms);
    }
    assert_eq!(
        paused.status,
        StreamStatus::Paused,
        "an operator's pause stays"
    );
    assert_eq!(StreamStatus::parse("paused"), Some(StreamStatus::Paused));
    assert_eq!(StreamStatus::parse("enabled"), Some(StreamStatus::Enabled));
    assert_eq!(
        StreamStatus::parse("disabled"),
        Some(StreamStatus::Disabled)
    );
    assert_eq!(StreamStatus::parse("off"), None);
}

#[test]
fn receivers_are_read_with_safe_defaults() {
    let supported = event_types(ISS);
    let rs = parse_receivers(
        r#"[{"id":"bank","endpoint":"https://bank.example/ssf"},
            {"id":"fraud_2","endpoint":"https://fraud.example/e","audience":"fraud","events":["https://schemas.openid.net/secevent/caep/event-type/risk-level-change"],"subject":"phone_number","alg":"ES256","authorization_secret":"SSF_AUTH_FRAUD"}]"#,
        &supported,
        false,
    )
    .unwrap();
    assert_eq!(rs[0].audience, "https://bank.example/ssf");
    assert_eq!(rs[0].events, supported);
    assert_eq!(
        (
            rs[0].subject,
            rs[0].alg,
            rs[0].authorization_secret.as_deref()
        ),
        (SubjectFormat::Opaque, SetAlg::Rs256, None)
    );
    assert_eq!(rs[1].audience, "fraud");
    assert_eq!(rs[1].events, vec![RISK_LEVEL_CHANGE.to_owned()]);
    assert_eq!(
        (rs[1].subject, rs[1].alg),
        (SubjectFormat::PhoneNumber, SetAlg::Es256)
    );
    assert_eq!(
        rs[1].authorization_secret.as_deref(),
        Some("SSF_AUTH_FRAUD")
    );
    let one = |r: &str| parse_receivers(&format!("[{r}]"), &supported, false).map(|_| ());
    assert_eq!(
        one(r#"{"id":"a","endpoint":"http://bank.example/ssf"}"#),
        Err(ReceiverError::NotHttps)
    );
    assert_eq!(
        one(r#"{"id":"a","endpoint":"ftp://bank.example/ssf"}"#),
        Err(ReceiverError::NotHttps)
    );
    assert!(
        parse_receivers(
            r#"[{"id":"a","endpoint":"http://127.0.0.1:9/ssf"}]"#,
            &supported,
            true
        )
        .is_ok()
    );
    assert_eq!(
        one(r#"{"id":"a b","endpoint":"https://x"}"#),
        Err(ReceiverError::BadId)
    );
    assert_eq!(
        one(r#"{"id":"","endpoint":"https://x"}"#),
        Err(ReceiverError::BadId)
    );
    assert_eq!(
        one(&format!(
            r#"{{"id":"{}","endpoint":"https://x"}}"#,
            "a".repeat(65)
        )),
        Err(ReceiverError::BadId)
    );
    assert!(
        one(&format!(
            r#"{{"id":"{}","endpoint":"https://x"}}"#,
            "a".repeat(64)
        ))
        .is_ok()
    );
    assert_eq!(
        parse_receivers(
            r#"[{"id":"a","endpoint":"https://x"},{"id":"a","endpoint":"https://y"}]"#,
            &supported,
            false
        ),
        Err(ReceiverError::BadId)
    );
    assert_eq!(
        one(r#"{"id":"a","endpoint":"https://x","events":["urn:other"]}"#),
        Err(ReceiverError::UnknownEvent)
    );
    assert_eq!(
        one(r#"{"id":"a","endpoint":"https://x","subject":"email"}"#),
        Err(ReceiverError::Unsupported)
    );
    assert_eq!(
        one(r#"{"id":"a","endpoint":"https://x","alg":"HS256"}"#),
        Err(ReceiverError::Unsupported)
    );
    assert_eq!(
        one(r#"{"id":"a","endpoint":"https://x","secret":"s"}"#),
        Err(ReceiverError::Malformed)
    );
    assert_eq!(
        parse_receivers("{}", &supported, false),
        Err(ReceiverError::Malformed)
    );
}

#[test]
fn poll_receivers_need_a_token_and_no_endpoint() {
    let supported = event_types(ISS);
    let rs = parse_receivers(
        r#"[{"id":"siem","delivery":"poll","authorization_secret":"SSF_AUTH_SIEM"},
            {"id":"bank","delivery":"push","endpoint":"https://bank.example/e"}]"#,
        &supported,
        false,
    )
    .unwrap();
    assert_eq!(
        (
            rs[0].delivery,
            rs[0].endpoint.as_str(),
            rs[0].audience.as_str()
        ),
        (DeliveryMethod::Poll, "", "siem")
    );
    assert_eq!(rs[1].delivery, DeliveryMethod::Push);
    assert_eq!(DeliveryMethod::Poll.urn(), "urn:ietf:rfc:8936");
    assert_eq!(DeliveryMethod::Push.urn(), "urn:ietf:rfc:8935");
    let one = |r: &str| parse_receivers(&format!("[{r}]"), &supported, false).map(|_| ());
    assert_eq!(
        one(r#"{"id":"a","delivery":"poll"}"#),
        Err(ReceiverError::PollShape)
    );
    assert_eq!(
        one(r#"{"id":"a","delivery":"poll","authorization_secret":"S","endpoint":"https://x"}"#),
        Err(ReceiverError::PollShape)
    );
    assert_eq!(
        one(r#"{"id":"a","delivery":"carrier-pigeon","endpoint":"https://x"}"#),
        Err(ReceiverError::Unsupported)
    );
    assert_eq!(
        one(r#"{"id":"a"}"#),
        Err(ReceiverError::NotHttps),
        "push needs an endpoint"
    );
}

#[test]
fn polls_are_read_strictly_and_answered_in_order() {
    let poll = PollRequest::parse(br#"{"maxEvents":5,"returnImmediately":true,"ack":["j1","j2"],"setErrs":{"j3":{"err":"invalid_request"}}}"#).unwrap();
    assert_eq!((poll.max(), poll.ack.len(), poll.set_errs.len()), (5, 2, 1));
    assert_eq!(PollRequest::parse(b"{}").unwrap().max(), POLL_MAX);
    assert_eq!(
        PollRequest::parse(br#"{"maxEvents":100000}"#)
            .unwrap()
            .max(),
        POLL_MAX
    );
    assert_eq!(PollRequest::parse(br#"{"maxEvents":0}"#).unwrap().max(), 0);
    assert!(PollRequest::parse(br#"{"other":1}"#).is_none());
    assert!(PollRequest::parse(br#"{"ack":[""]}"#).is_none());
    assert!(
        PollRequest::parse(format!(r#"{{"ack":["{}"]}}"#, "a".repeat(65)).as_bytes()).is_none()
    );
    assert!(
        PollRequest::parse(format!(r#"{{"ack":["{}"]}}"#, "a".repeat(64)).as_bytes()).is_some()
    );
    assert!(
        PollRequest::parse(format!(r#"{{"setErrs":{{"{}":{{}}}}}}"#, "a".repeat(65)).as_bytes())
            .is_none()
    );
    let many: Vec<String> = (0..=POLL_ACK_MAX).map(|i| format!("\"j{i}\"")).collect();
    assert!(PollRequest::parse(format!(r#"{{"ack":[{}]}}"#, many.join(",")).as_bytes()).is_none());
    let fewer = &many[..POLL_ACK_MAX];
    assert!(PollRequest::parse(format!(r#"{{"ack":[{}]}}"#, fewer.join(",")).as_bytes()).is_some());
    let answer = poll_answer(
        &[("zz".into(), "a.b.c".into()), ("aa".into(), "d.e.f".into())],
        true,
    );
    assert_eq!(
        answer,
        r#"{"sets":{"zz":"a.b.c","aa":"d.e.f"},"moreAvailable":true}"#
    );
    assert_eq!(
        poll_answer(&[], false),
        r#"{"sets":{},"moreAvailable":false}"#
    );
    let parsed: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(parsed["sets"]["aa"], "d.e.f");
}

/// DER: a tag and its body, with a short or long length.
fn der(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match body.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n < 0x100 => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(body);
    out
}

/// An INTEGER of the unsigned big-endian `v`.
fn int(v: &[u8]) -> Vec<u8> {
    let mut body = v.to_vec();
    if body.first().is_none_or(|b| *b >= 0x80) {
        body.insert(0, 0);
    }
    der(0x02, &body)
}

/// A PKCS#8 RSA key with modulus `n` and exponent `e` (the private parts
/// are dummies: only the public half is read), `inner` appended inside the
/// private-key octets.
fn pkcs8(n: &[u8], e: &[u8], inner: &[u8]) -> Vec<u8> {
    let rsa: Vec<u8> = [
        int(&[0]),
        int(n),
        int(e),
        int(&[3]),
        int(&[5]),
        int(&[7]),
        int(&[1]),
        int(&[1]),
        int(&[1]),
    ]
    .concat();
    let mut octets = der(0x30, &rsa);
    octets.extend_from_slice(inner);
    let alg = der(
        0x30,
        &[
            der(
                0x06,
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
            ),
            vec![0x05, 0x00],
        ]
        .concat(),
    );
    der(0x30, &[int(&[0]), alg, der(0x04, &octets)].concat())
}

#[test]
fn the_modulus_is_measured_in_bits_and_the_key_read_exactly() {
    let mut n = vec![0xff; 256];
    n[0] = 0x7f; // 2047 bits
    assert_eq!(
        RsaEventKey::from_pkcs8(&pkcs8(&n, &[1, 0, 1], &[])),
        Err(KeyError::TooShort)
    );
    n[0] = 0x80; // 2048 bits
    assert_eq!(
        RsaEventKey::from_pkcs8(&pkcs8(&n, &[1, 0, 1], &[])).map(|k| k.bits()),
        Ok(2048)
    );
    let mut wide = vec![0xff; 257];
    wide[0] = 0x01; // 2049 bits
    assert_eq!(
        RsaEventKey::from_pkcs8(&pkcs8(&wide, &[3], &[])).map(|k| k.bits()),
        Ok(2049)
    );
    assert_eq!(
        RsaEventKey::from_pkcs8(&pkcs8(&n, &[0], &[])),
        Err(KeyError::NotRsaPkcs8),
        "exponent 0"
    );
    assert_eq!(
        RsaEventKey::from_pkcs8(&pkcs8(&n, &[1, 0, 1], &[0x05, 0x00])),
        Err(KeyError::NotRsaPkcs8),
        "bytes after the key"
    );
}
