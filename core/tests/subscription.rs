//! CAMARA SIM-swap subscriptions: the dates they carry, the sink credential,
//! the creation body and answer, CloudEvents as the sink reads them, and
//! what a notification does to a binding.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use simbind_core::binding::{BindingRecord, BindingStatus};
use simbind_core::carrier::{CarrierBaseline, format_date_time, parse_date_time};
use simbind_core::error::SinkRefusal;
use simbind_core::subscription::*;

const SECRET: [u8; 32] = [7; 32];
const NOW: u64 = 1_796_146_115;

#[test]
fn unix_seconds_written_as_rfc3339_and_read_back() {
    for (secs, text) in [
        (0, "1970-01-01T00:00:00Z"),
        (951_782_400, "2000-02-29T00:00:00Z"),
        (951_868_800, "2000-03-01T00:00:00Z"),
        (1_709_164_800, "2024-02-29T00:00:00Z"),
        (1_796_146_115, "2026-12-01T17:28:35Z"),
        (1_798_761_599, "2026-12-31T23:59:59Z"),
        (4_107_542_400, "2100-03-01T00:00:00Z"),
        (253_402_300_799, "9999-12-31T23:59:59Z"),
    ] {
        assert_eq!(format_date_time(secs), text);
        assert_eq!(parse_date_time(text), Some(secs), "{text}");
    }
    // Every day for eight years, leap days and century rules included.
    for day in (0..3000u64).map(|d| 946_684_800 + d * 86_400 + 3_723) {
        assert_eq!(parse_date_time(&format_date_time(day)), Some(day));
    }
}

const PEPPER: &[u8] = b"pepper for sink handles";

fn credential(secret: [u8; 32]) -> (String, String) {
    sink_credential(PEPPER, BINDING_ID, [3; 12], secret)
}

#[test]
fn sink_credential_seals_its_binding_and_keeps_only_a_hash() {
    let (token, hash) = credential(SECRET);
    assert!(token.starts_with(HANDLE_PREFIX));
    assert!(
        !token.contains(BINDING_ID),
        "the carrier never sees the binding id"
    );
    assert!(!token.contains(&BINDING_ID[4..]));
    assert_eq!(hash.len(), 64);
    assert!(!hash.contains(token.split('.').nth(1).unwrap()));
    let (id, secret) = read_bearer(PEPPER, Some(&format!("Bearer {token}"))).unwrap();
    assert_eq!(id.as_str(), BINDING_ID);
    assert_eq!(secret, SECRET);
    // Two credentials of one binding share nothing.
    let (again, _) = sink_credential(PEPPER, BINDING_ID, [4; 12], SECRET);
    assert_ne!(again.split('.').next(), token.split('.').next());
    let handle = token.split('.').next().unwrap();
    let secret_part = token.split('.').nth(1).unwrap();
    let short = simbind_core::codec::b64(&[7; 31]);
    let mut flipped = handle.as_bytes().to_vec();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    for header in [
        None,
        Some(token.clone()),
        Some(format!("Basic {token}")),
        Some(format!("bearer {token}")),
        Some(format!("Bearer {handle}")),
        Some(format!("Bearer {BINDING_ID}.{secret_part}")),
        Some(format!("Bearer {flipped}.{secret_part}")),
        Some(format!("Bearer snk_{}.{secret_part}", "A".repeat(200))),
        Some(format!("Bearer {handle}.{short}")),
        Some(format!("Bearer {handle}.!!")),
    ] {
        assert_eq!(
            read_bearer(PEPPER, header.as_deref()).err(),
            Some(SinkRefusal::Unauthorized),
            "{header:?}"
        );
    }
    assert_eq!(
        read_bearer(b"another pepper", Some(&format!("Bearer {token}"))).err(),
        Some(SinkRefusal::Unauthorized),
        "sealed under this deployment's pepper"
    );
    // A handle sealing something that is not a binding id opens to nothing.
    let (odd, _) = sink_credential(PEPPER, "reg_AAAAAAAAAAAAAAAAAAAAAA", [3; 12], SECRET);
    assert!(read_bearer(PEPPER, Some(&format!("Bearer {odd}"))).is_err());
}

#[test]
fn creation_body_is_camaras_http_subscription_with_an_access_token() {
    let body = request_body(
        "https://simbind.example/v1/webhooks/carrier",
        "+447700900123",
        "bnd_x.y",
        1_798_761_599,
    );
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "protocol": "HTTP",
            "sink": "https://simbind.example/v1/webhooks/carrier",
            "sinkCredential": {
                "credentialType": "ACCESSTOKEN",
                "accessToken": "bnd_x.y",
                "accessTokenExpiresUtc": "2026-12-31T23:59:59Z",
                "accessTokenType": "bearer",
            },
            "types": [SWAPPED],
            "config": {
                "subscriptionDetail": { "phoneNumber": "+447700900123" },
                "subscriptionExpireTime": "2026-12-31T23:59:59Z",
            },
        })
    );
}

fn created(id: &str, expires_at: Option<&str>) -> Created {
    Created {
        id: id.into(),
        expires_at: expires_at.map(Into::into),
    }
}

#[test]
fn the_carriers_answer_is_kept_with_the_sooner_expiry() {
    let until = NOW + 1000;
    let kept = accept(&created("sub-1", None), "h".into(), NOW, until).unwrap();
    assert_eq!(
        kept,
        Subscription {
            id: "sub-1".into(),
            credential: "h".into(),
            created_at: NOW,
            expires_at: until
        }
    );
    let sooner = format_date_time(NOW + 600);
    assert_eq!(
        accept(&created("s", Some(&sooner)), "h".into(), NOW, until)
            .unwrap()
            .expires_at,
        NOW + 600
    );
    let later = format_date_time(NOW + 4000);
    assert_eq!(
        accept(&created("s", Some(&later)), "h".into(), NOW, until)
            .unwrap()
            .expires_at,
        until
    );
    assert!(accept(&created("s", Some("soon")), "h".into(), NOW, until).is_none());
    assert!(accept(&created("", None), "h".into(), NOW, until).is_none());
    assert!(accept(&created("a b", None), "h".into(), NOW, until).is_none());
    for dots in [".", "..", "..."] {
        assert!(
            accept(&created(dots, None), "h".into(), NOW, until).is_none(),
            "{dots}"
        );
    }
    assert!(accept(&created("a..b", None), "h".into(), NOW, until).is_some());
    assert!(
        accept(
            &created(&"x".repeat(MAX_ID_LEN + 1), None),
            "h".into(),
            NOW,
            until
        )
        .is_none()
    );
    assert!(
        accept(
            &created(&"x".repeat(MAX_ID_LEN), None),
            "h".into(),
            NOW,
            until
        )
        .is_some()
    );
}

#[test]
fn a_lifetime_under_an_hour_or_half_the_asked_one_is_refused() {
    let month = NOW + 30 * 86_400;
    let at = |secs: u64| format_date_time(NOW + secs);
    let kept = |secs: u64, until: u64| {
        accept(&created("s", Some(&at(secs))), "h".into(), NOW, until).is_some()
    };
    assert!(
        !kept(60, month),
        "a minute: every binding would re-subscribe each minute"
    );
    assert!(!kept(3599, month));
    assert!(kept(3600, month));
    // A short life asked for (dev): half of it.
    assert!(kept(500, NOW + 1000));
    assert!(!kept(499, NOW + 1000));
    assert_eq!(min_lifetime(30 * 86_400), 3600);
    assert_eq!(min_lifetime(16), 8);
}

#[test]
fn renewal_falls_when_three_quarters_of_the_life_have_passed() {
    let sub = Subscription {
        id: "s".into(),
        credential: "h".into(),
        created_at: 100,
        expires_at: 500,
    };
    assert_eq!(sub.renew_at(), 400);
}

fn event(kind: &str, data: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": "1", "source": "https://carrier.example", "specversion": "1.0",
        "type": kind, "time": "2026-12-01T17:28:35Z", "data": data,
    }))
    .unwrap()
}

#[test]
fn the_sink_reads_cloudevents_and_nothing_else() {
    let swapped = read_event(&event(
        SWAPPED,
        serde_json::json!({"subscriptionId": "s", "phoneNumber": "+447700900123"}),
    ))
    .unwrap();
    assert_eq!(
        swapped,
        Event {
            kind: EventKind::Swapped,
            subscription_id: Some("s".into()),
            time: NOW
        }
    );
    let ended = read_event(&event(
        ENDED,
        serde_json::json!({"subscriptionId": "s", "terminationReason": "SUBSCRIPTION_EXPIRED"}),
    ))
    .unwrap();
    assert_eq!(ended.kind, EventKind::Ended);
    let other = read_event(&event(
        "org.camaraproject.api-name.v0.subscription-started",
        serde_json::json!({}),
    ))
    .unwrap();
    assert_eq!(
        (other.kind, other.subscription_id),
        (EventKind::Other, None)
    );
    let good: serde_json::Value =
        serde_json::from_slice(&event(SWAPPED, serde_json::json!({"subscriptionId": "s"})))
            .unwrap();
    let with = |key: &str, value: serde_json::Value| {
        let mut e = good.clone();
        e[key] = value;
        serde_json::to_vec(&e).unwrap()
    };
    for (bad, why) in [
        (b"{".to_vec(), "not JSON"),
        (with("specversion", "0.3".into()), "another version"),
        (with("id", "".into()), "empty id"),
        (with("source", "".into()), "empty source"),
        (with("time", "yesterday".into()), "no RFC 3339 time"),
        (
            with("data", serde_json::json!({})),
            "a swap naming no subscription",
        ),
        (
            event(ENDED, serde_json::json!({})),
            "an end naming no subscription",
        ),
    ] {
        assert_eq!(read_event(&bad), Err(SinkRefusal::EventInvalid), "{why}");
    }
}

fn subscribed(world: &World) -> BindingRecord {
    let mut record = bound(world, &chip(), &sim_a());
    let (_, credential) = credential(SECRET);
    record.subscription = Some(Subscription {
        id: "sub-1".into(),
        credential,
        created_at: NOW,
        expires_at: NOW + 1000,
    });
    record
}

fn swap_at(time: u64) -> Event {
    Event {
        kind: EventKind::Swapped,
        subscription_id: Some("sub-1".into()),
        time,
    }
}

#[test]
fn a_notification_counts_only_with_the_live_credential_for_its_own_subscription() {
    let world = World::new();
    let record = subscribed(&world);
    assert_eq!(
        decide(Some(&record), &SECRET, &swap_at(NOW), NOW),
        Ok(Outcome::Suspend)
    );
    assert_eq!(
        decide(None, &SECRET, &swap_at(NOW), NOW),
        Err(SinkRefusal::Unauthorized)
    );
    assert_eq!(
        decide(Some(&record), &[8; 32], &swap_at(NOW), NOW),
        Err(SinkRefusal::Unauthorized)
    );
    let other = Event {
        subscription_id: Some("sub-2".into()),
        ..swap_at(NOW)
    };
    assert_eq!(
        decide(Some(&record), &SECRET, &other, NOW),
        Err(SinkRefusal::Unauthorized)
    );
    let mut unsubscribed = record.clone();
    unsubscribed.subscription = None;
    assert_eq!(
        decide(Some(&unsubscribed), &SECRET, &swap_at(NOW), NOW),
        Err(SinkRefusal::Unauthorized)
    );
    let mut ended = record.clone();
    ended.revoke();
    assert_eq!(
        decide(Some(&ended), &SECRET, &swap_at(NOW), NOW),
        Err(SinkRefusal::Gone)
    );
    assert_eq!(
        decide(Some(&ended), &[8; 32], &swap_at(NOW), NOW),
        Err(SinkRefusal::Unauthorized),
        "gone only to the credential's holder"
    );
}

#[test]
fn what_each_notification_does() {
    let world = World::new();
    let record = subscribed(&world);
    let end = Event {
        kind: EventKind::Ended,
        ..swap_at(NOW)
    };
    assert_eq!(
        decide(Some(&record), &SECRET, &end, NOW),
        Ok(Outcome::Resubscribe)
    );
    let started = Event {
        kind: EventKind::Other,
        subscription_id: None,
        time: NOW,
    };
    assert_eq!(
        decide(Some(&record), &SECRET, &started, NOW),
        Ok(Outcome::Nothing)
    );
    let mut suspended = record.clone();
    suspended.status = BindingStatus::Suspended;
    assert_eq!(
        decide(Some(&suspended), &SECRET, &swap_at(NOW), NOW),
        Ok(Outcome::Nothing)
    );
    // A swap the bind already saw (no later than the baseline) changes nothing.
    let mut known = record.clone();
    known.carrier = Some(CarrierBaseline {
        sim_changed_at: Some(NOW),
        device_changed_at: None,
        known: true,
        checked_at: NOW,
    });
    assert_eq!(
        decide(Some(&known), &SECRET, &swap_at(NOW), NOW),
        Ok(Outcome::Nothing)
    );
    assert_eq!(
        decide(Some(&known), &SECRET, &swap_at(NOW + 1), NOW),
        Ok(Outcome::Suspend)
    );
    let mut unknown = known.clone();
    unknown.carrier.as_mut().unwrap().known = false;
    assert_eq!(
        decide(Some(&unknown), &SECRET, &swap_at(NOW), NOW),
        Ok(Outcome::Suspend),
        "dates not known: every swap counts"
    );
}

#[test]
fn a_swap_suspends_and_becomes_the_baseline() {
    let world = World::new();
    let mut record = subscribed(&world);
    record.carrier = Some(CarrierBaseline {
        sim_changed_at: Some(NOW - 100),
        device_changed_at: None,
        known: true,
        checked_at: NOW,
    });
    suspend(&mut record, NOW + 5, NOW + 9);
    assert_eq!(record.status, BindingStatus::Suspended);
    assert_eq!(record.updated_at, NOW + 9);
    assert_eq!(record.carrier.unwrap().sim_changed_at, Some(NOW + 5));
    assert_eq!(
        decide(Some(&record), &SECRET, &swap_at(NOW + 5), NOW),
        Ok(Outcome::Nothing)
    );
    // An older swap does not move the baseline back.
    let mut later = record.clone();
    suspend(&mut later, NOW - 500, NOW + 10);
    assert_eq!(later.carrier.unwrap().sim_changed_at, Some(NOW + 5));
    // No dates before: the swap is the first.
    let mut first = subscribed(&world);
    first.carrier = Some(CarrierBaseline {
        sim_changed_at: None,
        device_changed_at: None,
        known: true,
        checked_at: NOW,
    });
    suspend(&mut first, NOW, NOW);
    assert_eq!(first.carrier.unwrap().sim_changed_at, Some(NOW));
    let mut unknown = subscribed(&world);
    unknown.carrier = Some(CarrierBaseline {
        sim_changed_at: None,
        device_changed_at: None,
        known: false,
        checked_at: NOW,
    });
    suspend(&mut unknown, NOW, NOW);
    assert_eq!(
        unknown.carrier.unwrap().sim_changed_at,
        None,
        "an unknown baseline stays unknown"
    );
}

#[test]
fn a_subscription_being_created_takes_notifications_with_its_credential() {
    let world = World::new();
    let mut record = bound(&world, &chip(), &sim_a());
    let (_, pending) = credential(SECRET);
    record.subscription_pending = Some(pending);
    // The carrier has not answered yet: its id is not known, any counts.
    let any = Event {
        subscription_id: Some("not-known-yet".into()),
        ..swap_at(NOW)
    };
    assert_eq!(
        decide(Some(&record), &SECRET, &any, NOW),
        Ok(Outcome::Suspend)
    );
    assert_eq!(
        decide(Some(&record), &[8; 32], &any, NOW),
        Err(SinkRefusal::Unauthorized)
    );
    // With a live subscription too, each credential keeps its own rules.
    let (_, live) = credential([9; 32]);
    record.subscription = Some(Subscription {
        id: "sub-1".into(),
        credential: live,
        created_at: NOW,
        expires_at: NOW + 1000,
    });
    assert_eq!(
        decide(Some(&record), &SECRET, &any, NOW),
        Ok(Outcome::Suspend),
        "the pending one"
    );
    assert_eq!(
        decide(Some(&record), &[9; 32], &any, NOW),
        Err(SinkRefusal::Unauthorized),
        "the live one names its own id"
    );
    assert_eq!(
        decide(Some(&record), &[9; 32], &swap_at(NOW), NOW),
        Ok(Outcome::Suspend)
    );
    // An end with the pending credential is not the live subscription's end
    // (F9 of the 2026-12 review): the live one is kept; with the live
    // credential it is ended.
    let end = Event {
        kind: EventKind::Ended,
        ..any.clone()
    };
    assert_eq!(
        decide(Some(&record), &SECRET, &end, NOW),
        Ok(Outcome::Nothing)
    );
    let live_end = Event {
        kind: EventKind::Ended,
        ..swap_at(NOW)
    };
    assert_eq!(
        decide(Some(&record), &[9; 32], &live_end, NOW),
        Ok(Outcome::Resubscribe)
    );
    record.subscription_pending = None;
    assert_eq!(
        decide(Some(&record), &SECRET, &any, NOW),
        Err(SinkRefusal::Unauthorized)
    );
}

#[test]
fn a_sink_credential_is_refused_from_its_expiry_on() {
    let world = World::new();
    let record = subscribed(&world);
    let until = record.subscription.as_ref().unwrap().expires_at;
    assert_eq!(
        decide(Some(&record), &SECRET, &swap_at(until - 1), until - 1),
        Ok(Outcome::Suspend)
    );
    for at in [until, until + 86_400] {
        assert_eq!(
            decide(Some(&record), &SECRET, &swap_at(NOW), at),
            Err(SinkRefusal::Unauthorized),
            "expired {} s ago",
            at - until
        );
    }
}
