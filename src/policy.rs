//! The refresh policy: when to refresh a token, how long to wait between
//! failed attempts, and whether a token is still worth handing out.
//!
//! Times are points on the local monotonic clock ([`Instant`]): a token's
//! lifetime is measured from its own `exp - iat` (see [`token_lifetime`]),
//! never by comparing STS's clock with ours, so a skewed clock in either
//! direction neither rejects good tokens nor delays refreshes.
//!
//! Everything here is a pure function: the current time and any randomness
//! come in as arguments, so each rule is unit-tested in microseconds without
//! a clock, a sleep or the network. The async code in `cache.rs` and
//! `sts.rs` only calls these functions and sleeps for what they return.

use std::time::{Duration, Instant};

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

/// The negative cache after a failed mint that retrying may fix
/// (throttling, 5xx, timeouts: the mint already retried [`MINT_ATTEMPTS`]
/// times): callers get the remembered error at once until this backoff's
/// delay has passed.
pub const FAILURE_BACKOFF: Backoff = Backoff {
    first: Duration::from_secs(1),
    max: Duration::from_secs(30),
};
/// The negative cache after a failure retrying cannot fix (AccessDenied,
/// federation disabled, refused credentials): slower, because only a
/// change on the AWS side (or in the configuration) helps, and a fleet
/// hammering STS meanwhile gets the whole account throttled.
pub const PERMANENT_FAILURE_BACKOFF: Backoff = Backoff {
    first: Duration::from_secs(2),
    max: Duration::from_secs(300),
};

/// How long a cache entry remembers a failed mint before it lets the next
/// caller try STS again: `in_a_row` is the number of failures before this
/// one since the last success (0 for the first), `retryable` whether the
/// error may go away by itself ([`FAILURE_BACKOFF`]) or not
/// ([`PERMANENT_FAILURE_BACKOFF`]); `random` in `[0, 1)`.
pub fn failure_backoff(in_a_row: u32, retryable: bool, random: f64) -> Duration {
    let schedule = if retryable {
        FAILURE_BACKOFF
    } else {
        PERMANENT_FAILURE_BACKOFF
    };
    retry_delay(in_a_row, schedule, random)
}

/// The most attempts `schedule` allows within `window` from the first one,
/// whatever the jitter: the first attempt plus every retry whose earliest
/// possible time (the sum of the shortest delays before it, half of each
/// ceiling) is inside the window. This is the bound the storm test checks
/// and the reason the negative cache protects STS.
pub fn max_attempts_within(window: Duration, schedule: Backoff) -> u32 {
    let mut attempts = 1;
    let mut earliest = Duration::ZERO;
    loop {
        earliest = earliest.saturating_add(retry_delay(attempts - 1, schedule, 0.0));
        if earliest > window || attempts == u32::MAX {
            return attempts;
        }
        attempts += 1;
    }
}

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
    expires_at: Instant,
    now: Instant,
    random: f64,
) -> Duration {
    retry_delay(attempt, REFRESH_BACKOFF, random)
        .min(remaining(expires_at, now) / 2)
        .max(MIN_REFRESH_RETRY)
}

/// When a token minted at `minted_at` and expiring at `expires_at` is
/// refreshed in the background: [`REFRESH_FRACTION`] of its lifetime plus
/// `jitter` (in `[0, 1)`, drawn once per token) times [`REFRESH_JITTER`].
pub fn refresh_at(minted_at: Instant, expires_at: Instant, jitter: f64) -> Instant {
    let lifetime = expires_at.saturating_duration_since(minted_at);
    minted_at + lifetime.mul_f64(REFRESH_FRACTION + jitter.clamp(0.0, 1.0) * REFRESH_JITTER)
}

/// After STS throttled this process, the next tokens refresh anywhere
/// from [`REFRESH_FRACTION`] to this much further into their lifetime
/// (instead of [`REFRESH_JITTER`]): a throttled fleet got its tokens at
/// exactly STS's limit, and a narrow jitter brings the whole herd back at
/// that rate, at the limit again, every lifetime. Wider, the refresh wave
/// thins out below the limit (measured in docs/fleet.md). Below 0.8 of the
/// lifetime, so the new token is there before librdkafka asks at 80 %.
pub const THROTTLED_REFRESH_JITTER: f64 = 0.25;
/// A throttle is remembered this long for [`spread_after_throttling`].
pub const THROTTLE_MEMORY: Duration = Duration::from_secs(120);

/// Retries inside one mint after STS answered `Throttling`: slower than
/// [`MINT_BACKOFF`] (the account is over its rate; four calls within
/// 0.7 s only add to the herd), but within the mint's default deadline
/// (6 s: at most 0.5 + 1 + 2 s of waiting).
pub const THROTTLED_MINT_BACKOFF: Backoff = Backoff {
    first: Duration::from_millis(500),
    max: Duration::from_secs(2),
};

/// The schedule of the next retry inside one mint: [`THROTTLED_MINT_BACKOFF`]
/// if the last answer was throttling, else [`MINT_BACKOFF`].
pub fn mint_backoff(throttled: bool) -> Backoff {
    if throttled {
        THROTTLED_MINT_BACKOFF
    } else {
        MINT_BACKOFF
    }
}

/// Whether a token minted at `now` gets the wider refresh spread
/// ([`refresh_at_after_throttling`]): STS throttled this process (its
/// last throttling answer at `throttled_at`) within [`THROTTLE_MEMORY`].
pub fn spread_after_throttling(throttled_at: Option<Instant>, now: Instant) -> bool {
    throttled_at.is_some_and(|t| now.saturating_duration_since(t) <= THROTTLE_MEMORY)
}

/// [`refresh_at`] for a token minted while STS was throttling
/// ([`spread_after_throttling`]): [`REFRESH_FRACTION`] plus `jitter` times
/// [`THROTTLED_REFRESH_JITTER`] of its lifetime.
pub fn refresh_at_after_throttling(
    minted_at: Instant,
    expires_at: Instant,
    jitter: f64,
) -> Instant {
    let lifetime = expires_at.saturating_duration_since(minted_at);
    let fraction = REFRESH_FRACTION + jitter.clamp(0.0, 1.0) * THROTTLED_REFRESH_JITTER;
    minted_at + lifetime.mul_f64(fraction)
}

/// Time left until `t` (zero if past).
pub fn remaining(t: Instant, now: Instant) -> Duration {
    t.saturating_duration_since(now)
}

/// A cache entry no caller has used for this long, and that nothing holds
/// (no provider, no mint, no refresh loop), is evicted.
pub const IDLE_EVICTION: Duration = Duration::from_secs(10 * 60);
/// The registry looks for idle entries at most this often (when an entry
/// is looked up).
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Whether a cache entry last seen in use at `last_seen` is evicted at
/// `now`: idle for [`IDLE_EVICTION`] and not `held_elsewhere` (a provider,
/// a mint in flight or a running refresh loop still holds it).
pub fn evictable(last_seen: Instant, now: Instant, held_elsewhere: bool) -> bool {
    !held_elsewhere && now.saturating_duration_since(last_seen) >= IDLE_EVICTION
}

/// How far STS's `Expiration` and the JWT's `exp` may disagree, and how much
/// longer than asked a token may claim to live, before the answer counts as
/// malformed.
pub const EXPIRY_TOLERANCE: Duration = Duration::from_secs(60);

/// A token's lifetime from what STS sent, all in STS's own clock so that
/// the local clock's skew cancels out: `exp - iat` of the JWT,
/// cross-checked with `Expiration - iat` of the response (the shorter
/// wins; more than [`EXPIRY_TOLERANCE`] apart is an error), never more than
/// `requested` (STS never grants more than asked). Without `iat` nothing
/// relates STS's clock to ours, and the lifetime is `requested`. Values
/// are the raw numbers from the network (Unix seconds): NaN, infinities and
/// absurd magnitudes are errors, never panics. The error is the reason, for
/// a message.
pub fn token_lifetime(
    iat: Option<f64>,
    exp: Option<f64>,
    expiration: Option<f64>,
    requested: Duration,
) -> Result<Duration, &'static str> {
    if exp.is_none() && expiration.is_none() {
        return Err("it has neither an Expiration nor an exp claim");
    }
    if [iat, exp, expiration]
        .iter()
        .flatten()
        .any(|v| !v.is_finite())
    {
        return Err("its iat, exp or Expiration is not a number");
    }
    let tolerance = EXPIRY_TOLERANCE.as_secs_f64();
    if let (Some(a), Some(b)) = (exp, expiration) {
        if (a - b).abs() > tolerance {
            return Err("its exp claim and STS's Expiration disagree");
        }
    }
    let Some(iat) = iat else {
        return Ok(requested);
    };
    let lifetime = [exp, expiration]
        .iter()
        .flatten()
        .map(|e| e - iat)
        .fold(f64::INFINITY, f64::min);
    if lifetime <= 0.0 {
        return Err("it expires before it was issued");
    }
    if lifetime > requested.as_secs_f64() + tolerance {
        return Err("it claims to live longer than was asked for");
    }
    Duration::try_from_secs_f64(lifetime)
        .map(|d| d.min(requested))
        .map_err(|_| "its lifetime is not a duration")
}

/// Where STS's time at issue came from ([`life_left_by_sts_clock`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StsTime {
    /// The answer's HTTP `Date` header: STS's clock when it answered.
    Date,
    /// The token's `iat` (the answer had no usable `Date`).
    Iat,
}

/// A token with no useful life left by STS's own clock
/// ([`life_left_by_sts_clock`]): both times, Unix seconds, for the message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpiredAtSts {
    /// The token's expiry (the earlier of `exp` and `Expiration`).
    pub exp: f64,
    /// STS's time at issue.
    pub sts_time: f64,
    /// Where `sts_time` came from.
    pub source: StsTime,
}

/// What is left of a token's life when its answer arrived, by STS's clock:
/// its expiry (the earlier of the JWT's `exp` and the response's
/// `Expiration`) minus STS's time at issue, which is the answer's `Date`
/// header or, without one, the token's `iat` (both whole seconds, as
/// `exp`: a Date in the token's second leaves exactly `exp - iat`).
/// The local wall clock plays no part: a wrong local clock changes
/// nothing. The caller counts the result on the local monotonic clock
/// from the answer's arrival, and keeps the earlier of that and today's
/// `exp - iat` from the request ([`token_lifetime`]): STS's clock can only
/// shorten a token's life, never lengthen it.
///
/// `Ok(None)`: nothing to measure against (no `Date`, no `iat`, or no
/// expiry). `Err`: [`MIN_USEFUL`] or less left by STS's clock: the broker
/// would refuse the token at once, or soon; the mint refuses it as a
/// retryable STS error. Non-finite inputs count as absent
/// ([`token_lifetime`] refuses them first).
pub fn life_left_by_sts_clock(
    iat: Option<f64>,
    exp: Option<f64>,
    expiration: Option<f64>,
    date: Option<f64>,
) -> Result<Option<Duration>, ExpiredAtSts> {
    let finite = |v: Option<f64>| v.filter(|v| v.is_finite());
    let Some(expires) = [finite(exp), finite(expiration)]
        .into_iter()
        .flatten()
        .reduce(f64::min)
    else {
        return Ok(None);
    };
    let (sts_time, source) = match (finite(date), finite(iat)) {
        (Some(d), _) => (d, StsTime::Date),
        (None, Some(i)) => (i, StsTime::Iat),
        (None, None) => return Ok(None),
    };
    let left = expires - sts_time;
    if left <= MIN_USEFUL.as_secs_f64() {
        return Err(ExpiredAtSts {
            exp: expires,
            sts_time,
            source,
        });
    }
    Ok(Duration::try_from_secs_f64(left).ok())
}

/// Whether a cached token expiring at `expires_at` is worth handing out
/// without trying for a new one ([`MIN_USEFUL`]).
#[inline]
pub fn worth_handing_out(expires_at: Instant, now: Instant) -> bool {
    remaining(expires_at, now) > MIN_USEFUL
}

/// A token handed out has at least this long left whenever STS can give
/// one. KafkaJS re-authenticates once the time since its last
/// authentication plus `reauthenticationThreshold` (10 s by default) reaches
/// the session lifetime the broker granted, which is at most the token's
/// remaining life: a token with 10 s or less left makes it re-authenticate
/// at once and again, and the broker refuses the second attempt
/// (ILLEGAL_SASL_STATE). The refresh ahead of expiry keeps tokens far from
/// this in steady state; this bound makes it hold while STS is in trouble.
pub const PREFERRED_REMAINING: Duration = Duration::from_secs(60);
/// The longest a caller waits for a fresh mint when a still valid token
/// could be served instead ([`stale_wait`]).
pub const MAX_STALE_WAIT: Duration = Duration::from_secs(5);

/// Whether a cached token (expiring at `expires_at`, due for its refresh
/// at `refresh_at`) is handed out at once, without first trying for a
/// fresh one: it must be [`worth_handing_out`], and either have
/// [`PREFERRED_REMAINING`] left or not be due for refresh yet (a lifetime
/// too short to keep 60 s after its refresh point is served until then).
/// Otherwise the caller joins the refresh in flight (or starts a mint) for
/// at most [`stale_wait`], and gets the old token if that fails or is slow
/// while it is [`still_valid`].
#[inline]
pub fn hand_out_at_once(expires_at: Instant, refresh_at: Instant, now: Instant) -> bool {
    worth_handing_out(expires_at, now)
        && (remaining(expires_at, now) >= PREFERRED_REMAINING || now < refresh_at)
}

/// How long a caller waits for a fresh mint when the cached token
/// (expiring at `expires_at`) is not handed out at once but is still
/// valid: a quarter of its remaining life, at most [`MAX_STALE_WAIT`], so
/// that the old token is still worth using if the mint is slow.
pub fn stale_wait(expires_at: Instant, now: Instant) -> Duration {
    (remaining(expires_at, now) / 4).min(MAX_STALE_WAIT)
}

/// Whether a token expiring at `expires_at` may still be served after a
/// refresh failed (and the refresh retried) ([`MIN_VALID`]).
#[inline]
pub fn still_valid(expires_at: Instant, now: Instant) -> bool {
    remaining(expires_at, now) > MIN_VALID
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;
    const MS: fn(u64) -> Duration = Duration::from_millis;

    /// A fixed point on the monotonic clock, far enough from its origin
    /// that the tests can go back in time from it.
    fn t0() -> Instant {
        use std::sync::OnceLock;
        static T0: OnceLock<Instant> = OnceLock::new();
        *T0.get_or_init(|| Instant::now() + S(86_400))
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
    fn after_throttling_the_refresh_spreads_wider_but_before_librdkafka_asks() {
        let (minted, expires) = (t0(), t0() + S(300));
        assert_eq!(
            refresh_at_after_throttling(minted, expires, 0.0),
            t0() + S(150)
        );
        assert_eq!(
            refresh_at_after_throttling(minted, expires, 1.0),
            t0() + S(225)
        );
        assert_eq!(
            refresh_at_after_throttling(minted, expires, 9.0),
            t0() + S(225)
        );
        // Three times the usual window, ending before 80 % of the lifetime.
        let usual = refresh_at(minted, expires, 1.0) - refresh_at(minted, expires, 0.0);
        let wide = refresh_at_after_throttling(minted, expires, 1.0)
            - refresh_at_after_throttling(minted, expires, 0.0);
        assert!(wide >= usual * 2, "{wide:?} vs {usual:?}");
        assert!(REFRESH_FRACTION + THROTTLED_REFRESH_JITTER < 0.8);
        // Remembered for THROTTLE_MEMORY, then the usual spread again.
        let now = t0();
        assert!(!spread_after_throttling(None, now));
        assert!(spread_after_throttling(Some(now - THROTTLE_MEMORY), now));
        assert!(!spread_after_throttling(
            Some(now - THROTTLE_MEMORY - MS(1)),
            now
        ));
    }

    #[test]
    fn throttled_retries_back_off_slower_within_the_mint_deadline() {
        assert_eq!(mint_backoff(false), MINT_BACKOFF);
        assert_eq!(mint_backoff(true), THROTTLED_MINT_BACKOFF);
        let longest: Duration = (0..MINT_ATTEMPTS - 1)
            .map(|a| retry_delay(a, THROTTLED_MINT_BACKOFF, 1.0))
            .sum();
        let shortest: Duration = (0..MINT_ATTEMPTS - 1)
            .map(|a| retry_delay(a, THROTTLED_MINT_BACKOFF, 0.0))
            .sum();
        // The default mint deadline is 6 s (config key mint_timeout_seconds).
        assert!(longest <= S(4), "{longest:?}");
        let quick: Duration = (0..MINT_ATTEMPTS - 1)
            .map(|a| retry_delay(a, MINT_BACKOFF, 1.0))
            .sum();
        assert!(shortest > quick, "{shortest:?} vs {quick:?}");
    }

    #[test]
    fn lifetime_comes_from_exp_minus_iat_whatever_the_clock_says() {
        let asked = S(900);
        // STS's clock 10 minutes ahead of ours, or behind, or right: the
        // lifetime is the same, because only STS's own numbers are compared.
        for sts_now in [1_700_000_000.0, 1_700_000_600.0, 1_699_999_400.0] {
            let l = token_lifetime(
                Some(sts_now),
                Some(sts_now + 900.0),
                Some(sts_now + 900.0),
                asked,
            );
            assert_eq!(l, Ok(S(900)));
        }
        // The shorter of exp and Expiration wins.
        assert_eq!(
            token_lifetime(Some(0.0), Some(300.0), Some(290.0), asked),
            Ok(S(290))
        );
        assert_eq!(
            token_lifetime(Some(0.0), Some(300.0), None, asked),
            Ok(S(300))
        );
        assert_eq!(
            token_lifetime(Some(0.0), None, Some(300.0), asked),
            Ok(S(300))
        );
        // Never longer than asked; without iat, what was asked.
        assert_eq!(
            token_lifetime(Some(0.0), Some(930.0), None, asked),
            Ok(S(900))
        );
        assert_eq!(token_lifetime(None, Some(1e9), None, asked), Ok(S(900)));
    }

    #[test]
    fn absurd_expiries_are_errors_never_panics() {
        let asked = S(300);
        let now = 1_700_000_000.0;
        for bad in [
            1e300,
            u64::MAX as f64,
            f64::MAX,
            f64::INFINITY,
            f64::NAN,
            -1e300,
            0.0,
            now - 1.0,
        ] {
            assert!(
                token_lifetime(Some(now), Some(bad), Some(now + 300.0), asked).is_err(),
                "{bad}"
            );
            assert!(
                token_lifetime(Some(now), Some(bad), None, asked).is_err(),
                "{bad}"
            );
            if bad != now - 1.0 {
                assert!(
                    token_lifetime(Some(bad), Some(now + 300.0), None, asked).is_err(),
                    "{bad}"
                );
            }
        }
        assert!(token_lifetime(Some(now), None, None, asked).is_err());
        assert!(token_lifetime(Some(now), Some(now + 300.0), Some(now + 500.0), asked).is_err());
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
    fn failures_retrying_cannot_fix_are_remembered_longer() {
        for n in 0..10 {
            for r in [0.0, 0.5, 0.999] {
                assert!(failure_backoff(n, false, r) >= failure_backoff(n, true, r));
            }
        }
        assert_eq!(failure_backoff(0, true, 0.0), MS(500));
        assert_eq!(failure_backoff(0, false, 0.0), S(1));
        assert_eq!(failure_backoff(0, false, 1.0), S(2));
        assert_eq!(failure_backoff(40, false, 1.0), S(300), "capped");
        assert_eq!(failure_backoff(40, true, 1.0), S(30), "capped");
    }

    #[test]
    fn attempts_within_a_window_are_bounded_by_the_schedule() {
        let b = PERMANENT_FAILURE_BACKOFF;
        // Shortest delays 1, 2, 4, 8 s: retries no earlier than 1, 3, 7, 15 s.
        assert_eq!(max_attempts_within(Duration::ZERO, b), 1);
        assert_eq!(max_attempts_within(MS(999), b), 1);
        assert_eq!(max_attempts_within(S(1), b), 2);
        assert_eq!(max_attempts_within(S(5), b), 3);
        assert_eq!(max_attempts_within(S(7), b), 4);
        assert_eq!(max_attempts_within(S(14), b), 4);
        // Before the cap: at most 1 + log2(2 * window / first + 1) attempts.
        for secs in [1u64, 5, 60, 250] {
            let n = max_attempts_within(S(secs), b);
            let log = ((2 * secs) as f64 / b.first.as_secs_f64() + 1.0).log2();
            assert!(f64::from(n) <= 1.0 + log, "{secs}: {n}");
        }
        // After the cap, the retries come every max/2 at the soonest.
        let hour = max_attempts_within(S(3600), b);
        assert!(hour <= 1 + 8 + 3600 / 150, "{hour}");
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
    fn idle_entries_nobody_holds_are_evicted() {
        let now = t0();
        assert!(evictable(now - IDLE_EVICTION, now, false));
        assert!(
            !evictable(now - IDLE_EVICTION, now, true),
            "a provider holds it"
        );
        assert!(
            !evictable(now - IDLE_EVICTION + S(1), now, false),
            "used recently"
        );
        assert!(
            !evictable(now + S(5), now, false),
            "seen in the future: not idle"
        );
    }

    #[test]
    fn a_token_about_to_expire_is_not_handed_out() {
        let now = t0();
        assert!(worth_handing_out(now + S(6), now));
        assert!(!worth_handing_out(now + S(5), now));
        assert!(!worth_handing_out(now - S(5), now));
    }

    #[test]
    fn a_token_past_its_refresh_with_under_a_minute_left_waits_for_a_fresh_one() {
        let now = t0();
        // Default 300 s lifetime, refresh due at 150..180 s: long before
        // 60 s are left, so this only happens while refreshes fail.
        assert!(hand_out_at_once(now + S(61), now - S(1), now));
        assert!(hand_out_at_once(now + S(60), now - S(1), now));
        assert!(!hand_out_at_once(now + S(59), now - S(1), now));
        assert!(!hand_out_at_once(now + S(11), now, now), "refresh due now");
        // A 60 s token is served until its refresh point (24..30 s left)...
        assert!(hand_out_at_once(now + S(25), now + S(1), now));
        // ...and never once it is about to expire, refresh due or not.
        assert!(!hand_out_at_once(now + S(5), now + S(100), now));
    }

    #[test]
    fn a_caller_waits_for_a_fresh_token_only_while_the_old_one_stays_useful() {
        let now = t0();
        assert_eq!(stale_wait(now + S(59), now), MAX_STALE_WAIT);
        assert_eq!(stale_wait(now + S(8), now), S(2));
        assert_eq!(stale_wait(now - S(1), now), Duration::ZERO);
    }

    #[test]
    fn refresh_failure_keeps_serving_valid_token() {
        let now = t0();
        // Too old to hand out from the cache, still served when STS fails.
        assert!(!worth_handing_out(now + S(3), now) && still_valid(now + S(3), now));
        assert!(!still_valid(now + S(1), now));
        assert!(!still_valid(now - S(60), now));
    }

    #[test]
    fn life_left_is_measured_against_sts_date_or_iat() {
        let iat = 1_800_000_000.0;
        let exp = Some(iat + 900.0);
        // STS's Date agrees with the token (a wrong local clock looks like
        // this): the whole life.
        assert_eq!(
            life_left_by_sts_clock(Some(iat), exp, None, Some(iat)),
            Ok(Some(S(900)))
        );
        // No Date: iat is STS's time at issue.
        assert_eq!(
            life_left_by_sts_clock(Some(iat), exp, None, None),
            Ok(Some(S(900)))
        );
        // The earlier of exp and Expiration counts.
        assert_eq!(
            life_left_by_sts_clock(Some(iat), exp, Some(iat + 600.0), None),
            Ok(Some(S(600)))
        );
        // STS's Date says the token is old: less left.
        assert_eq!(
            life_left_by_sts_clock(Some(iat), exp, None, Some(iat + 600.0)),
            Ok(Some(S(300)))
        );
        // A Date behind the token: more left than its lifetime (the caller
        // keeps the shorter exp - iat).
        assert_eq!(
            life_left_by_sts_clock(Some(iat), exp, None, Some(iat - 600.0)),
            Ok(Some(S(1500)))
        );
        // Nothing to measure against.
        assert_eq!(life_left_by_sts_clock(None, exp, None, None), Ok(None));
        assert_eq!(
            life_left_by_sts_clock(Some(iat), None, None, Some(iat)),
            Ok(None)
        );
        assert_eq!(
            life_left_by_sts_clock(Some(f64::NAN), exp, None, Some(f64::INFINITY)),
            Ok(None)
        );
    }

    #[test]
    fn a_token_expired_by_sts_clock_is_refused_naming_both_times() {
        let iat = 1_800_000_000.0;
        let exp = Some(iat + 900.0);
        assert_eq!(
            life_left_by_sts_clock(Some(iat), exp, None, Some(iat + 86_400.0)),
            Err(ExpiredAtSts {
                exp: iat + 900.0,
                sts_time: iat + 86_400.0,
                source: StsTime::Date
            })
        );
        // MIN_USEFUL (5 s) or less left is no useful life.
        assert!(life_left_by_sts_clock(Some(iat), exp, None, Some(iat + 895.0)).is_err());
        assert_eq!(
            life_left_by_sts_clock(Some(iat), exp, None, Some(iat + 894.0)),
            Ok(Some(S(6)))
        );
        // Without a Date, iat: a token issued already expired.
        assert_eq!(
            life_left_by_sts_clock(Some(iat + 1000.0), exp, None, None)
                .unwrap_err()
                .source,
            StsTime::Iat
        );
    }
}
