//! The carrier's SIM-swap signals: the client assertion, RFC 3339 dates as
//! CAMARA sends them, and the bind and verify decisions on the answers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use simbind_core::Denial;
use simbind_core::binding::BindingStatus;
use simbind_core::carrier::*;
use simbind_core::codec::unb64;
use simbind_core::decision::{apply, decide_holder};
use simbind_core::transcript::Ceremony;

const HOUR: u64 = 3600;

#[test]
fn rfc3339_dates_read_as_unix_seconds() {
    for (text, want) in [
        ("1970-01-01T00:00:00Z", 0),
        ("2026-12-01T17:28:35Z", 1_796_146_115),
        ("2026-12-01T17:28:35.999Z", 1_796_146_115),
        ("2026-12-01t17:28:35z", 1_796_146_115),
        ("2026-12-01T18:28:35+01:00", 1_796_146_115),
        ("2026-12-01T12:58:35-04:30", 1_796_146_115),
        ("2024-02-29T00:00:00Z", 1_709_164_800),
        ("2000-03-01T00:00:00Z", 951_868_800),
        // Each bound at its edge: the latest hour, minute and (leap) second,
        // the widest offsets, a leap day of a year divisible by 400.
        ("2026-12-01T23:59:59Z", 1_796_169_599),
        ("2026-12-31T23:59:60Z", 1_798_761_600),
        ("2026-12-01T23:59:59+23:59", 1_796_083_259),
        ("2026-12-01T00:00:00-00:59", 1_796_086_740),
        ("2000-02-29T00:00:00Z", 951_782_400),
    ] {
        assert_eq!(parse_date_time(text), Some(want), "{text}");
    }
    for bad in [
        "",
        "2026-12-01",
        "2026-12-01 17:28:35Z",
        "2026-12-01T17:28:35",
        "2026-12-01T17:28:35.Z",
        "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z",
        "2026-12-32T00:00:00Z",
        "2026-12-00T00:00:00Z",
        "2026-12-01T24:00:00Z",
        "2026-12-01T23:60:00Z",
        "2026-12-01T23:59:61Z",
        "2026-12-01T23:59:59+24:00",
        "2026-12-01T23:59:59+00:60",
        "2026-12-01T00:00:00+0/:00",
        "2026-12-01T00:00:00+00:0/",
        "2026-12-01T23:59:59+01",
        "1969-12-31T23:59:59Z",
        "2026-12-01T00:00:00+01:00x",
        "+026-12-01T00:00:00Z",
        "2026-1a-01T00:00:00Z",
    ] {
        assert_eq!(parse_date_time(bad), None, "{bad:?}");
    }
}

#[test]
fn the_client_assertion_names_the_client_the_token_endpoint_and_lives_120_seconds() {
    let input = assertion_signing_input(
        "client-7",
        "https://auth.example/token",
        Some("k1"),
        NOW,
        [9; 16],
    );
    let (header, claims) = input.split_once('.').unwrap();
    let header: serde_json::Value = serde_json::from_slice(&unb64(header, "h").unwrap()).unwrap();
    assert_eq!(
        header,
        serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": "k1"})
    );
    let claims: AssertionClaims = serde_json::from_slice(&unb64(claims, "c").unwrap()).unwrap();
    assert_eq!(claims.iss, "client-7");
    assert_eq!(claims.sub, "client-7");
    assert_eq!(claims.aud, "https://auth.example/token");
    assert_eq!((claims.iat, claims.exp), (NOW, NOW + 120));
    assert!(claims.exp - claims.iat <= 300, "CAMARA's ceiling");
    assert_eq!(unb64(&claims.jti, "j").unwrap(), vec![9; 16]);
    let without_kid = assertion_signing_input("c", "https://a/t", None, NOW, [1; 16]);
    let header = without_kid.split_once('.').unwrap().0;
    assert!(
        !String::from_utf8(unb64(header, "h").unwrap())
            .unwrap()
            .contains("kid")
    );
    assert_ne!(
        assertion_signing_input("c", "https://a/t", None, NOW, [1; 16]),
        assertion_signing_input("c", "https://a/t", None, NOW, [2; 16]),
        "a fresh jti each time"
    );
}

fn policy() -> CarrierPolicy {
    CarrierPolicy {
        verify_every_secs: Some(HOUR),
        ..CarrierPolicy::default()
    }
}

fn facts(sim: Option<u64>, device: Option<u64>) -> CarrierFacts {
    CarrierFacts {
        sim_changed_at: sim,
        swapped_within_max_age: false,
        device_changed_at: device,
    }
}

#[test]
fn a_bind_is_refused_when_the_carrier_checks_a_swap_within_max_age_and_keeps_the_dates() {
    let p = policy();
    assert_eq!(p.max_age_hours, 240);
    // A recent date alone is no swap: retrieve-date also answers a first activation.
    assert!(at_bind(&p, Ok(facts(Some(NOW - 60), None)), NOW).is_ok());
    let old = NOW - 400 * HOUR;
    let base = at_bind(&p, Ok(facts(Some(old), Some(old - 5))), NOW).unwrap();
    assert_eq!(
        base,
        CarrierBaseline {
            sim_changed_at: Some(old),
            device_changed_at: Some(old - 5),
            known: true,
            checked_at: NOW
        }
    );
    assert!(at_bind(&p, Ok(facts(None, None)), NOW).unwrap().known);
    // The carrier's own `check` within maxAge refuses too.
    let checked = CarrierFacts {
        swapped_within_max_age: true,
        ..facts(None, None)
    };
    assert_eq!(
        at_bind(&p, Ok(checked), NOW),
        Err(Denial::CarrierSimSwapped)
    );
    // A device change alone does not refuse a bind: a new phone is what binds.
    assert!(at_bind(&p, Ok(facts(None, Some(NOW - 10))), NOW).is_ok());
}

#[test]
fn no_answer_at_bind_is_closed_by_default_and_open_when_configured() {
    for failure in [
        CarrierFailure::Timeout,
        CarrierFailure::NotFound,
        CarrierFailure::NotApplicable,
        CarrierFailure::RateLimited,
        CarrierFailure::Unavailable,
        CarrierFailure::Unauthorized,
    ] {
        assert_eq!(
            at_bind(&policy(), Err(failure), NOW),
            Err(Denial::CarrierUnavailable),
            "{failure:?}"
        );
        let open = CarrierPolicy {
            bind_on_failure: OnFailure::Open,
            ..policy()
        };
        let base = at_bind(&open, Err(failure), NOW).unwrap();
        assert!(!base.known);
        assert_eq!(base.checked_at, NOW);
        assert!(failure.label().starts_with("carrier_"));
    }
}

#[test]
fn failure_modes_are_open_or_closed() {
    assert_eq!(OnFailure::parse("open"), Some(OnFailure::Open));
    assert_eq!(OnFailure::parse("closed"), Some(OnFailure::Closed));
    for bad in ["", "Open", "fail-open", "true"] {
        assert_eq!(OnFailure::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn verify_asks_at_most_once_per_interval() {
    let p = policy();
    let base = at_bind(&p, Ok(facts(None, None)), NOW).unwrap();
    assert!(!verify_due(&p, Some(&base), NOW + HOUR - 1));
    assert!(verify_due(&p, Some(&base), NOW + HOUR));
    assert!(
        verify_due(&p, None, NOW),
        "a binding made before the carrier was configured"
    );
    let never = CarrierPolicy {
        verify_every_secs: None,
        ..p
    };
    assert!(!verify_due(&never, Some(&base), NOW + 100 * HOUR));
    assert!(!verify_due(&never, None, NOW));
}

#[test]
fn a_change_after_the_baseline_is_a_swap_and_the_same_dates_are_not() {
    let p = policy();
    let old = NOW - 400 * HOUR;
    let base = at_bind(&p, Ok(facts(Some(old), Some(old))), NOW).unwrap();
    let later = NOW + 2 * HOUR;
    let (same, kept) = at_verify(&p, Some(&base), Ok(facts(Some(old), Some(old))), later);
    assert_eq!(same, Ok(()));
    assert_eq!(kept.map(|k| k.checked_at), Some(later));
    assert_eq!(
        at_verify(&p, Some(&base), Ok(facts(Some(old + 1), Some(old))), later).0,
        Err(Denial::CarrierSimSwapped)
    );
    assert_eq!(
        at_verify(&p, Some(&base), Ok(facts(Some(old), Some(NOW + 1))), later).0,
        Err(Denial::CarrierDeviceSwapped)
    );
    let no_device = CarrierPolicy {
        device_swap: false,
        ..p
    };
    assert_eq!(
        at_verify(
            &no_device,
            Some(&base),
            Ok(facts(Some(old), Some(NOW + 1))),
            later
        )
        .0,
        Ok(())
    );
    // Nothing in the monitored period at bind: any change reported later is a swap.
    let clean = at_bind(&p, Ok(facts(None, None)), NOW).unwrap();
    assert_eq!(
        at_verify(&p, Some(&clean), Ok(facts(Some(NOW + 60), None)), later).0,
        Err(Denial::CarrierSimSwapped)
    );
    assert_eq!(
        at_verify(&p, Some(&clean), Ok(facts(None, None)), later).0,
        Ok(())
    );
    // A swap keeps the stored baseline untouched (it stays a swap until a
    // re-bind or a reinstatement), the device's too.
    let (swapped, kept) = at_verify(&p, Some(&clean), Ok(facts(Some(NOW + 60), None)), later);
    assert_eq!((swapped, kept), (Err(Denial::CarrierSimSwapped), None));
    let (swapped, kept) = at_verify(&p, Some(&base), Ok(facts(Some(old), Some(NOW + 1))), later);
    assert_eq!((swapped, kept), (Err(Denial::CarrierDeviceSwapped), None));
}

#[test]
fn no_answer_at_verify_is_open_by_default_and_an_unknown_baseline_takes_the_first_answer() {
    let p = policy();
    let base = at_bind(&p, Ok(facts(None, None)), NOW).unwrap();
    let (open, kept) = at_verify(&p, Some(&base), Err(CarrierFailure::Timeout), NOW + HOUR);
    assert_eq!(open, Ok(()));
    assert_eq!(
        kept,
        Some(CarrierBaseline {
            checked_at: NOW + HOUR,
            ..base
        })
    );
    let closed = CarrierPolicy {
        verify_on_failure: OnFailure::Closed,
        ..p
    };
    // Closed: refused, and the baseline is left as it was, so the check is
    // still due and the next verification asks (and is refused) again.
    let later = NOW + 2 * HOUR;
    let (refused, kept) = at_verify(
        &closed,
        Some(&base),
        Err(CarrierFailure::Unavailable),
        later,
    );
    assert_eq!((refused, kept), (Err(Denial::CarrierUnavailable), None));
    assert!(verify_due(&closed, Some(&base), later));
    assert_eq!(
        at_verify(&closed, None, Err(CarrierFailure::Timeout), later),
        (Err(Denial::CarrierUnavailable), None)
    );
    let unknown = at_bind(
        &CarrierPolicy {
            bind_on_failure: OnFailure::Open,
            ..p
        },
        Err(CarrierFailure::Timeout),
        NOW,
    )
    .unwrap();
    let (first, kept) = at_verify(
        &p,
        Some(&unknown),
        Ok(facts(Some(NOW - 5), None)),
        NOW + HOUR,
    );
    assert_eq!(first, Ok(()), "nothing to compare with yet");
    let kept = kept.unwrap();
    assert_eq!((kept.known, kept.sim_changed_at), (true, Some(NOW - 5)));
    let (none, kept) = at_verify(&p, None, Ok(facts(Some(NOW - 5), None)), NOW);
    assert_eq!((none, kept.map(|k| k.known)), (Ok(()), Some(true)));
    let (none, kept) = at_verify(&p, None, Err(CarrierFailure::NotFound), NOW);
    assert_eq!(
        (none, kept.map(|k| (k.known, k.checked_at))),
        (Ok(()), Some((false, NOW)))
    );
}

#[test]
fn a_carrier_swap_is_an_authentic_refusal_that_counts_and_no_answer_does_not() {
    let mut world = World::new();
    world.policy.carrier = Some(policy());
    let binding = bound(&world, &chip(), &sim_a());
    let next = Chip {
        counter: 1,
        ..chip()
    };
    let ch = world.challenge(Ceremony::Verify, &binding.binding_id);
    let req = request(&next, &sim_a(), &ch, Ceremony::Verify, &binding.binding_id);
    let evidence = evidence(&req);
    for (carrier, counted) in [
        (Err(Denial::CarrierSimSwapped), true),
        (Err(Denial::CarrierDeviceSwapped), true),
        (Err(Denial::CarrierUnavailable), false),
    ] {
        let swapped = carrier != Err(Denial::CarrierUnavailable);
        let ctx = simbind_core::decision::Context {
            carrier: Some(carrier),
            ..world.ctx()
        };
        let d = decide_holder(&ctx, &binding, Ceremony::Verify, &evidence, false);
        assert_eq!((d.result, d.authentic), (carrier, true));
        let effects = apply(&binding, &d, &world.policy, NOW);
        let record = effects.record.unwrap();
        assert_eq!(record.counter, 1, "the counter moves either way");
        assert_eq!(
            record.consecutive_failures,
            u32::from(counted),
            "{carrier:?}"
        );
        assert_eq!(effects.alert, counted);
        // A swap suspends at once (the first refusal, under a policy of
        // three); no answer suspends nothing.
        assert_eq!(effects.suspended, swapped, "{carrier:?}");
        let status = if swapped {
            BindingStatus::Suspended
        } else {
            BindingStatus::Active
        };
        assert_eq!(record.status, status, "{carrier:?}");
    }
    let ctx = simbind_core::decision::Context {
        carrier: Some(Ok(())),
        ..world.ctx()
    };
    assert_eq!(
        decide_holder(&ctx, &binding, Ceremony::Verify, &evidence, false).result,
        Ok(())
    );
    // A refusal found earlier wins: the carrier is told last.
    let other = request(&next, &sim_b(), &ch, Ceremony::Verify, &binding.binding_id);
    let ctx = simbind_core::decision::Context {
        carrier: Some(Err(Denial::CarrierSimSwapped)),
        ..world.ctx()
    };
    assert_eq!(
        decide_holder(
            &ctx,
            &binding,
            Ceremony::Verify,
            &common::evidence(&other),
            false
        )
        .result,
        Err(Denial::SimChanged)
    );
}

#[test]
fn an_operator_reinstates_a_suspended_binding_accepting_what_the_carrier_reported_until_then() {
    let world = World::new();
    let p = policy();
    let mut binding = bound(&world, &chip(), &sim_a());
    let old = NOW - 400 * HOUR;
    binding.carrier = Some(at_bind(&p, Ok(facts(Some(old), None)), NOW).unwrap());
    binding.status = BindingStatus::Suspended;
    binding.consecutive_failures = 2;
    let later = NOW + 5 * HOUR;
    assert_eq!(
        simbind_core::binding::reinstate(&mut binding, later),
        Ok(true)
    );
    assert_eq!(binding.status, BindingStatus::Active);
    assert_eq!(binding.consecutive_failures, 0);
    assert_eq!(binding.updated_at, later);
    let base = binding.carrier.unwrap();
    assert_eq!(
        (
            base.sim_changed_at,
            base.device_changed_at,
            base.known,
            base.checked_at
        ),
        (Some(later), Some(later), true, later)
    );
    // The swap that suspended it (before the reinstatement) passes; a later one refuses.
    let swap_seen = NOW + HOUR;
    let check = later + 2 * HOUR;
    let device_later = Some(later + 1);
    assert_eq!(
        at_verify(&p, Some(&base), Ok(facts(Some(swap_seen), None)), check).0,
        Ok(())
    );
    assert_eq!(
        at_verify(&p, Some(&base), Ok(facts(Some(later + 1), None)), check).0,
        Err(Denial::CarrierSimSwapped)
    );
    assert_eq!(
        at_verify(&p, Some(&base), Ok(facts(None, device_later)), check).0,
        Err(Denial::CarrierDeviceSwapped)
    );
    // A baseline newer than the reinstatement stays as it is.
    let mut ahead = bound(&world, &chip(), &sim_a());
    ahead.status = BindingStatus::Suspended;
    ahead.carrier = Some(CarrierBaseline {
        sim_changed_at: Some(check),
        device_changed_at: Some(check),
        known: true,
        checked_at: NOW,
    });
    assert_eq!(
        simbind_core::binding::reinstate(&mut ahead, later),
        Ok(true)
    );
    let kept = ahead.carrier.unwrap();
    assert_eq!(
        (kept.sim_changed_at, kept.device_changed_at),
        (Some(check), Some(check))
    );
    // Active: nothing to do, nothing changes; revoked stays revoked.
    let active = bound(&world, &chip(), &sim_a());
    let mut same = active.clone();
    assert_eq!(
        simbind_core::binding::reinstate(&mut same, later),
        Ok(false)
    );
    assert_eq!(same, active);
    let mut revoked = active.clone();
    revoked.revoke();
    let before = revoked.clone();
    assert_eq!(
        simbind_core::binding::reinstate(&mut revoked, later),
        Err(Denial::BindingRevoked)
    );
    assert_eq!(revoked, before);
    // Without a carrier, no baseline is made up.
    let mut plain = bound(&world, &chip(), &sim_a());
    plain.status = BindingStatus::Suspended;
    assert_eq!(
        simbind_core::binding::reinstate(&mut plain, later),
        Ok(true)
    );
    assert_eq!(plain.carrier, None);
}
