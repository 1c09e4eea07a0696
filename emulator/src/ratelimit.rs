//! The account-wide STS request rate limit (a token bucket, as STS limits
//! requests per account and region) and the per-second histogram of STS
//! calls and throttles that fleet benchmarks read.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

/// A token bucket: `rps` requests per second on average, `burst` at once
/// after a quiet spell. Every STS action counts (as at AWS, where the
/// quota is the account's, not one API's).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Refill rate: requests per second (> 0).
    pub rps: f64,
    /// Bucket size: requests allowed at once (>= 1).
    pub burst: u32,
}

impl RateLimit {
    /// Checks the values (the CLI and the control API both go through this).
    pub fn validated(self) -> Result<Self, String> {
        if !(self.rps.is_finite() && self.rps > 0.0) {
            return Err("rps must be a positive number".into());
        }
        if self.burst == 0 {
            return Err("burst must be at least 1".into());
        }
        Ok(self)
    }
}

/// One second of the histogram in `GET /_emulator/stats` (`per_second`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondCount {
    /// Unix second (the host's clock).
    pub second: i64,
    /// STS requests that arrived in it (every action, throttled ones too).
    pub calls: u64,
    /// Of those, the ones refused by the rate limit.
    pub throttled: u64,
}

/// The histogram keeps this many seconds (an hour): bounded memory for an
/// emulator left running.
const HISTORY_SECONDS: usize = 3600;

#[derive(Debug)]
struct Inner {
    limit: Option<RateLimit>,
    tokens: f64,
    refilled_at: Instant,
    seconds: BTreeMap<i64, (u64, u64)>,
    throttled: u64,
}

/// The limiter and histogram of one emulator.
#[derive(Debug)]
pub(crate) struct Limiter {
    initial: Option<RateLimit>,
    inner: Mutex<Inner>,
}

impl Limiter {
    pub fn new(limit: Option<RateLimit>) -> Self {
        Limiter {
            initial: limit,
            inner: Mutex::new(Inner {
                limit,
                tokens: limit.map_or(0.0, |l| f64::from(l.burst)),
                refilled_at: Instant::now(),
                seconds: BTreeMap::new(),
                throttled: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one STS request at `unix_second`; false if the limit refuses it.
    pub fn admit(&self, unix_second: i64) -> bool {
        let mut inner = self.lock();
        let now = Instant::now();
        let admitted = match inner.limit {
            None => true,
            Some(l) => {
                let elapsed = now.saturating_duration_since(inner.refilled_at);
                inner.tokens =
                    (inner.tokens + elapsed.as_secs_f64() * l.rps).min(f64::from(l.burst));
                inner.refilled_at = now;
                if inner.tokens >= 1.0 {
                    inner.tokens -= 1.0;
                    true
                } else {
                    false
                }
            }
        };
        let slot = inner.seconds.entry(unix_second).or_insert((0, 0));
        slot.0 += 1;
        if !admitted {
            slot.1 += 1;
            inner.throttled += 1;
        }
        while inner.seconds.len() > HISTORY_SECONDS {
            inner.seconds.pop_first();
        }
        admitted
    }

    /// Replaces the limit (`None`: unlimited); the bucket starts full.
    pub fn set(&self, limit: Option<RateLimit>) {
        let mut inner = self.lock();
        inner.limit = limit;
        inner.tokens = limit.map_or(0.0, |l| f64::from(l.burst));
        inner.refilled_at = Instant::now();
    }

    pub fn limit(&self) -> Option<RateLimit> {
        self.lock().limit
    }

    /// The histogram (oldest first) and the throttles in total.
    pub fn histogram(&self) -> (Vec<SecondCount>, u64) {
        let inner = self.lock();
        let seconds = inner
            .seconds
            .iter()
            .map(|(&second, &(calls, throttled))| SecondCount {
                second,
                calls,
                throttled,
            })
            .collect();
        (seconds, inner.throttled)
    }

    /// Back to the start-up limit, histogram emptied.
    pub fn reset(&self) {
        self.set(self.initial);
        let mut inner = self.lock();
        inner.seconds.clear();
        inner.throttled = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_the_burst_then_the_rate() {
        let l = Limiter::new(Some(RateLimit { rps: 5.0, burst: 3 }));
        let admitted = (0..10).filter(|_| l.admit(100)).count();
        assert_eq!(admitted, 3, "the burst, then refused");
        std::thread::sleep(std::time::Duration::from_millis(450));
        // 0.45 s at 5/s refills 2 (never more than the burst).
        assert_eq!((0..10).filter(|_| l.admit(101)).count(), 2);
        let (h, throttled) = l.histogram();
        assert_eq!(throttled, 15);
        assert_eq!(
            h,
            [
                SecondCount {
                    second: 100,
                    calls: 10,
                    throttled: 7
                },
                SecondCount {
                    second: 101,
                    calls: 10,
                    throttled: 8
                },
            ]
        );
        l.set(None);
        assert!((0..100).all(|_| l.admit(102)));
        l.reset();
        assert_eq!(l.histogram(), (vec![], 0));
        assert_eq!(l.limit(), Some(RateLimit { rps: 5.0, burst: 3 }));
    }

    #[test]
    fn bad_limits_are_refused() {
        for (rps, burst) in [
            (0.0, 1),
            (-1.0, 1),
            (f64::NAN, 1),
            (f64::INFINITY, 1),
            (1.0, 0),
        ] {
            assert!(
                RateLimit { rps, burst }.validated().is_err(),
                "{rps} {burst}"
            );
        }
        assert!(RateLimit { rps: 0.5, burst: 1 }.validated().is_ok());
    }

    #[test]
    fn history_is_bounded() {
        let l = Limiter::new(None);
        for s in 0..(HISTORY_SECONDS as i64 + 10) {
            l.admit(s);
        }
        let (h, _) = l.histogram();
        assert_eq!(h.len(), HISTORY_SECONDS);
        assert_eq!(h[0].second, 10);
    }
}
