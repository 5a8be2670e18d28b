//! The pure parts of abuse limits: token buckets, sender buckets, country
//! codes and the chip index.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use simbind_core::budget::{Bucket, Limit};
use simbind_core::identifiers::PhoneNumber;
use simbind_core::sender;

const HOUR: Limit = Limit {
    capacity: 3,
    period_secs: 3600,
};
const T0: u64 = 1_800_000_000_000;

#[test]
fn a_bucket_allows_its_capacity_then_refuses_with_the_wait_for_one_token() {
    let mut b = None;
    for _ in 0..3 {
        let (after, r) = HOUR.take(b, T0);
        assert_eq!(r, Ok(()));
        b = Some(after);
    }
    let (after, r) = HOUR.take(b, T0);
    assert_eq!(r, Err(1200), "one token refills in 3600 / 3 s");
    assert_eq!(after.level, 0);
    let (_, r) = HOUR.take(Some(after), T0 + 600_000);
    assert_eq!(r, Err(600), "half a token after 600 s: 600 s to wait");
}

#[test]
fn a_bucket_refills_continuously_so_window_edges_give_no_double_burst() {
    let (mut b, _) = HOUR.take(None, T0);
    for _ in 0..2 {
        b = HOUR.take(Some(b), T0).0;
    }
    // A fixed hourly window would reset at the next hour: here, 20 minutes
    // later exactly one token is back, and no more.
    let later = T0 + 1_200_000;
    let (b, r) = HOUR.take(Some(b), later);
    assert_eq!(r, Ok(()));
    assert_eq!(HOUR.take(Some(b), later).1, Err(1200));
}

#[test]
fn a_bucket_never_holds_more_than_its_capacity() {
    let old = Bucket { level: 0, at_ms: 0 };
    let (after, r) = HOUR.take(Some(old), T0);
    assert_eq!(r, Ok(()));
    assert_eq!(
        after,
        Bucket {
            level: 2000,
            at_ms: T0
        }
    );
    assert_eq!(
        HOUR.full(T0),
        Bucket {
            level: 3000,
            at_ms: T0
        }
    );
}

#[test]
fn a_bucket_refused_keeps_its_refill_and_a_zero_capacity_refuses_everything() {
    let empty = Bucket {
        level: 400,
        at_ms: T0,
    };
    let (after, r) = HOUR.take(Some(empty), T0 + 360_000);
    assert_eq!(after.level, 700, "0.4 + 0.3 tokens");
    assert_eq!(after.at_ms, T0 + 360_000);
    assert_eq!(r, Err(360));
    let closed = Limit {
        capacity: 0,
        period_secs: 60,
    };
    assert_eq!(closed.take(None, T0).1, Err(60));
}

#[test]
fn ipv6_senders_count_per_56_and_per_48_and_mapped_ipv4_as_ipv4() {
    let names = |a: &str| -> Vec<(String, u32)> {
        sender::buckets(a)
            .unwrap()
            .into_iter()
            .map(|b| (b.name, b.share))
            .collect()
    };
    // Every /64 of one /56 (one home line) is one sender.
    let a = names("2001:db8:1:2:aaaa::1");
    assert_eq!(
        a,
        vec![
            ("v6:2001:db8:1::/56".to_owned(), 1),
            ("v6:2001:db8:1::/48".to_owned(), sender::SITE_SHARE),
        ]
    );
    assert_eq!(names("2001:db8:1:ff:ffff:ffff:ffff:ffff"), a, "same /56");
    // Another /56 of the same /48: its own line, the same site.
    let c = names("2001:db8:1:100::1");
    assert_eq!(c[0].0, "v6:2001:db8:1:100::/56");
    assert_eq!(c[1], a[1]);
    assert_ne!(names("2001:db8:2::1")[1], a[1], "another /48");
    assert_eq!(sender::bucket("2001:db8:1:2::1").unwrap(), a[0].0);
    assert_eq!(sender::SITE_SHARE, 4);
    assert_eq!(
        names("198.51.100.7"),
        vec![("v4:198.51.100.7".to_owned(), 1)]
    );
    assert_eq!(sender::bucket("198.51.100.7").unwrap(), "v4:198.51.100.7");
    assert_eq!(
        sender::bucket("::ffff:198.51.100.7").unwrap(),
        "v4:198.51.100.7"
    );
    assert_ne!(sender::bucket("198.51.100.8").unwrap(), "v4:198.51.100.7");
    for bad in [
        "",
        "localhost",
        "198.51.100",
        "2001:db8::1::2",
        "1.2.3.4; drop",
    ] {
        assert!(sender::bucket(bad).is_err(), "{bad}");
        assert!(sender::buckets(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_refund_gives_back_one_token_and_never_more_than_the_capacity() {
    let (b, _) = HOUR.take(None, T0);
    let (b, _) = HOUR.take(Some(b), T0);
    assert_eq!(b.level, 1000);
    let back = HOUR.refund(Some(b), T0);
    assert_eq!(
        back,
        Bucket {
            level: 2000,
            at_ms: T0
        }
    );
    // Refilled first (20 min is one token), then the refund; capped.
    let later = HOUR.refund(Some(back), T0 + 1_200_000);
    assert_eq!(
        later,
        Bucket {
            level: 3000,
            at_ms: T0 + 1_200_000
        }
    );
    assert_eq!(HOUR.refund(None, T0), HOUR.full(T0));
    assert_eq!(HOUR.refund(Some(later), T0 + 1_200_000).level, 3000);
}

#[test]
fn country_codes_follow_the_e164_zones() {
    let cc = |n: &str| PhoneNumber::parse(n).unwrap().country_code().to_owned();
    assert_eq!(cc("+14155550100"), "1");
    assert_eq!(cc("+74951234567"), "7");
    assert_eq!(cc("+447700900123"), "44");
    assert_eq!(cc("+201001234567"), "20");
    assert_eq!(cc("+33612345678"), "33");
    assert_eq!(cc("+353851234567"), "353");
    assert_eq!(cc("+358401234567"), "358");
    assert_eq!(cc("+421912345678"), "421");
    assert_eq!(cc("+8613812345678"), "86");
    assert_eq!(cc("+85212345678"), "852");
    assert_eq!(cc("+971501234567"), "971");
    assert_eq!(cc("+989121234567"), "98");
}
