//! Token buckets: the shape of every abuse limit (registrations per number
//! and per sender, SMS budgets, admin failures). A bucket holds up to
//! `capacity` tokens and refills continuously at `capacity` per `period`, so
//! there is no window boundary at which two bursts fit back to back.
//! Levels are kept in thousandths of a token; all arithmetic is integer.

use serde::{Deserialize, Serialize};

/// One token, in the bucket's units.
const TOKEN: u64 = 1000;

/// A bucket's stored state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// Thousandths of a token available at `at_ms`.
    pub level: u64,
    /// When `level` was computed, in Unix milliseconds.
    pub at_ms: u64,
}

/// A limit: `capacity` events per `period_secs`, refilled continuously.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    /// The most tokens the bucket holds, and how many it refills per period.
    pub capacity: u32,
    /// Seconds to refill `capacity` tokens (0 counts as 1).
    pub period_secs: u64,
}

impl Limit {
    /// A full bucket, as of `now_ms`.
    pub fn full(&self, now_ms: u64) -> Bucket {
        Bucket {
            level: u64::from(self.capacity) * TOKEN,
            at_ms: now_ms,
        }
    }

    /// Gives back one token taken from `bucket` for an event that did not
    /// happen after all (never above the capacity).
    pub fn refund(&self, bucket: Option<Bucket>, now_ms: u64) -> Bucket {
        let (refilled, cap) = self.level(bucket, now_ms);
        Bucket {
            level: refilled.saturating_add(TOKEN).min(cap),
            at_ms: now_ms,
        }
    }

    /// The level of `bucket` refilled up to `now_ms`, and the capacity.
    fn level(&self, bucket: Option<Bucket>, now_ms: u64) -> (u64, u64) {
        let cap = u64::from(self.capacity) * TOKEN;
        let period_ms = self.period_secs.max(1) * 1000;
        let b = bucket.unwrap_or_else(|| self.full(now_ms));
        let elapsed = now_ms.saturating_sub(b.at_ms);
        // Refill: capacity tokens per period, i.e. cap/period_ms per ms.
        let refill = u64::try_from(u128::from(elapsed) * u128::from(cap) / u128::from(period_ms))
            .unwrap_or(u64::MAX);
        (b.level.saturating_add(refill).min(cap), cap)
    }

    /// Takes one token from `bucket` (`None`: a bucket never used, so full).
    /// Returns the bucket to store, and `Err(retry_after_secs)` when no
    /// token was left; a refused take stores the refilled level only.
    pub fn take(&self, bucket: Option<Bucket>, now_ms: u64) -> (Bucket, Result<(), u64>) {
        let period_ms = self.period_secs.max(1) * 1000;
        let (level, cap) = self.level(bucket, now_ms);
        let now = Bucket {
            level,
            at_ms: now_ms,
        };
        if level >= TOKEN {
            let taken = Bucket {
                level: level - TOKEN,
                at_ms: now_ms,
            };
            return (taken, Ok(()));
        }
        if cap == 0 {
            return (now, Err(self.period_secs.max(1)));
        }
        // Time until the level reaches one token, rounded up to a second.
        let missing = u128::from(TOKEN - level);
        let wait_ms = (missing * u128::from(period_ms)).div_ceil(u128::from(cap));
        let wait = u64::try_from(wait_ms.div_ceil(1000))
            .unwrap_or(u64::MAX)
            .max(1);
        (now, Err(wait))
    }
}
