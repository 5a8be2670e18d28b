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
fn ipv6_senders_count_per_64_and_mapped_ipv4_as_ipv4() {
    let a = sender::bucket("2001:db8:1:2:aaaa::1").unwrap();
    let b = sender::bucket("2001:db8:1:2:ffff:ffff:ffff:ffff").unwrap();
    let c = sender::bucket("2001:db8:1:3::1").unwrap();
    assert_eq!(a, b, "one /64");
    assert_ne!(a, c, "another /64");
    assert_eq!(a, "v6:2001:db8:1:2::/64");
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
    }
}

#[test]
fn country_codes_follow_the_e164_zones() {
    let cc = |n: &str| PhoneNumber::parse(n).unwrap().country_code().to_owned();
    assert_eq!(cc("+14155550100"), "1");
    assert_eq!(cc("+74951234567"), "7");
    assert_eq!(cc("+447700900123"), "44");
    assert_eq!(cc("+201001234567"), "20");
    assert_eq!(cc("+33612345678"), "33");
    assert_eq!(cc("+3531234567"), "353");
    assert_eq!(cc("+358401234567"), "358");
    assert_eq!(cc("+4212345678"), "421");
    assert_eq!(cc("+8613812345678"), "86");
    assert_eq!(cc("+85212345678"), "852");
    assert_eq!(cc("+9715012345678"), "971");
    assert_eq!(cc("+98912345678"), "98");
}
