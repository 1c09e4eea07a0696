//! The refresh policy: when to refresh a token, how long to wait between
//! failed attempts, and whether a token is still worth handing out.
//!
//! Everything here is a pure function: the current time and any randomness
//! come in as arguments, so each rule is unit-tested in microseconds without
//! a clock, a sleep or the network. The async code in `cache.rs` and
//! `sts.rs` only calls these functions and sleeps for what they return.

use std::time::{Duration, SystemTime};

/// The background refresh starts at this fraction of a token's lifetime...
pub const REFRESH_FRACTION: f64 = 0.5;
/// ...plus up to this further fraction, different for each token, so that
/// many processes started together do not all call STS together.
pub const REFRESH_JITTER: f64 = 0.1;

/// A token with this little left is not handed out while a new one can be
/// had: the client would have to come straight back for another.
pub const MIN_USEFUL: Duration = Duration::from_secs(5);
/// When minting fails, a token with more than this left is still served
/// (and retrying goes on); below it the token counts as expired.
pub const MIN_VALID: Duration = Duration::from_secs(1);

/// An exponential backoff schedule: the ceiling starts at `first`, doubles
/// with each attempt up to `max`; the delay is drawn from the upper half
/// below the ceiling ("equal jitter": spread out, never near zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Ceiling of the first retry's delay.
    pub first: Duration,
    /// Largest ceiling.
    pub max: Duration,
}

/// Retries inside one mint (throttling, 5xx, timeouts): quick, because a
/// caller may be waiting for its first token.
pub const MINT_BACKOFF: Backoff = Backoff {
    first: Duration::from_millis(100),
    max: Duration::from_secs(2),
};
/// How many times one mint calls STS at most (the first call included).
pub const MINT_ATTEMPTS: u32 = 4;

/// Retries of a failed background refresh while the old token is still
/// served: slower, because nobody is waiting and STS may be struggling.
pub const REFRESH_BACKOFF: Backoff = Backoff {
    first: Duration::from_millis(500),
    max: Duration::from_secs(30),
};
/// Background retries never follow each other closer than this.
pub const MIN_REFRESH_RETRY: Duration = Duration::from_millis(50);

/// The delay before retry number `attempt` (0 = the first retry) on
/// `schedule`. `random` is a number in `[0, 1)` (values outside are
/// clamped); the same inputs always give the same delay.
///
/// Bindings that retry on their own (the Go pusher, a C program) can use
/// this with [`REFRESH_BACKOFF`] to back off the way the library does.
pub fn retry_delay(attempt: u32, schedule: Backoff, random: f64) -> Duration {
    let ceiling = schedule
        .first
        .saturating_mul(1u32 << attempt.min(16))
        .min(schedule.max);
    ceiling.mul_f64(0.5 + 0.5 * random.clamp(0.0, 1.0))
}

/// The delay before the next background retry of a failed refresh, while
/// the old token (valid until `expires_at`) is still being served: the
/// [`REFRESH_BACKOFF`] delay, but at most half the time the old token has
/// left, so that a few tries still fit before it expires.
pub fn refresh_retry_delay(
    attempt: u32,
    expires_at: SystemTime,
    now: SystemTime,
    random: f64,
) -> Duration {
    retry_delay(attempt, REFRESH_BACKOFF, random)
        .min(remaining(expires_at, now) / 2)
        .max(MIN_REFRESH_RETRY)
}

/// When a token minted at `minted_at` and expiring at `expires_at` is
/// refreshed in the background: [`REFRESH_FRACTION`] of its lifetime plus
/// `jitter` (in `[0, 1)`, drawn once per token) times [`REFRESH_JITTER`].
pub fn refresh_at(minted_at: SystemTime, expires_at: SystemTime, jitter: f64) -> SystemTime {
    let lifetime = expires_at
        .duration_since(minted_at)
        .unwrap_or(Duration::ZERO);
    minted_at + lifetime.mul_f64(REFRESH_FRACTION + jitter.clamp(0.0, 1.0) * REFRESH_JITTER)
}

/// Time left until `t` (zero if past).
pub fn remaining(t: SystemTime, now: SystemTime) -> Duration {
    t.duration_since(now).unwrap_or(Duration::ZERO)
}

/// Whether a cached token expiring at `expires_at` is worth handing out
/// without trying for a new one ([`MIN_USEFUL`]).
#[inline]
pub fn worth_handing_out(expires_at: SystemTime, now: SystemTime) -> bool {
    remaining(expires_at, now) > MIN_USEFUL
}

/// Whether a token expiring at `expires_at` may still be served after a
/// refresh failed (and the refresh retried) ([`MIN_VALID`]).
#[inline]
pub fn still_valid(expires_at: SystemTime, now: SystemTime) -> bool {
    remaining(expires_at, now) > MIN_VALID
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;
    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + S(1_700_000_000)
    }

    #[test]
    fn refresh_is_due_at_half_the_lifetime_plus_jitter() {
        let (minted, expires) = (t0(), t0() + S(300));
        assert_eq!(refresh_at(minted, expires, 0.0), t0() + S(150));
        assert_eq!(refresh_at(minted, expires, 0.5), t0() + S(165));
        // Never past 60% of the lifetime, whatever the jitter.
        assert!(refresh_at(minted, expires, 1.0) <= t0() + S(180));
        assert!(refresh_at(minted, expires, 7.0) <= t0() + S(180));
        // A token that expired before it was minted: refresh at once.
        assert_eq!(refresh_at(minted, t0() - S(1), 0.5), t0());
    }

    #[test]
    fn backoff_doubles_up_to_its_ceiling_with_equal_jitter() {
        let low: Vec<_> = (0..6).map(|a| retry_delay(a, MINT_BACKOFF, 0.0)).collect();
        let high: Vec<_> = (0..6)
            .map(|a| retry_delay(a, MINT_BACKOFF, 0.999_999))
            .collect();
        assert_eq!(low, [MS(50), MS(100), MS(200), MS(400), MS(800), MS(1000)]);
        for (a, h) in high.iter().enumerate() {
            assert!(*h <= MINT_BACKOFF.max && *h > low[a], "{a}: {h:?}");
        }
        assert_eq!(retry_delay(3, REFRESH_BACKOFF, 1.0), S(4));
        assert_eq!(
            retry_delay(1000, REFRESH_BACKOFF, 1.0),
            S(30),
            "no overflow"
        );
        assert_eq!(retry_delay(0, REFRESH_BACKOFF, -3.0), MS(250), "clamped");
    }

    #[test]
    fn refresh_retries_leave_room_before_the_old_token_expires() {
        let now = t0();
        // Plenty left: the plain backoff.
        assert_eq!(refresh_retry_delay(6, now + S(600), now, 1.0), S(30));
        // 10 s left: at most 5 s.
        assert_eq!(refresh_retry_delay(6, now + S(10), now, 1.0), S(5));
        // Nearly expired: still a short pause, never a busy loop.
        assert_eq!(refresh_retry_delay(0, now, now, 0.0), MIN_REFRESH_RETRY);
    }

    #[test]
    fn a_token_about_to_expire_is_not_handed_out() {
        let now = t0();
        assert!(worth_handing_out(now + S(6), now));
        assert!(!worth_handing_out(now + S(5), now));
        assert!(!worth_handing_out(now - S(5), now));
    }

    #[test]
    fn refresh_failure_keeps_serving_valid_token() {
        let now = t0();
        // Too old to hand out from the cache, still served when STS fails.
        assert!(!worth_handing_out(now + S(3), now) && still_valid(now + S(3), now));
        assert!(!still_valid(now + S(1), now));
        assert!(!still_valid(now - S(60), now));
    }
}
