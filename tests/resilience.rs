//! The cache keeps serving through a misbehaving STS (issue 13): stats,
//! panics inside a mint, absurd expiries, the negative cache, clock skew and
//! eviction. Every bound is named and derived in its test.

mod common;
#[path = "fleet/bounded.rs"]
mod fleet;
#[path = "fleet/sim.rs"]
mod sim;

use common::*;
use kafka_iam_oauth::{policy, ErrorKind};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[test]
fn stats_report_mints_failures_and_schedule() {
    setup_env(true);
    let emu = emulator();
    let p = provider(&emu, "stats", "duration_seconds=600");
    let before = p.stats();
    assert_eq!(before.mints, 0);
    assert_eq!(before.failures, 0);
    assert_eq!(before.last_error_kind, None);
    assert_eq!(before.expires_in, None);
    assert_eq!(before.refresh_in, None);
    assert_eq!(before.next_attempt_in, None);

    p.token().expect("token");
    let s = p.stats();
    assert_eq!(s.mints, 1);
    assert_eq!(s.failures, 0);
    let expires_in = s.expires_in.expect("a cached token");
    let refresh_in = s.refresh_in.expect("a refresh scheduled");
    assert!(expires_in <= Duration::from_secs(600) && expires_in > Duration::from_secs(590));
    // policy::refresh_at: between 50% and 60% of the lifetime.
    assert!(refresh_in <= Duration::from_secs(360) && refresh_in >= Duration::from_secs(290));
    assert_eq!(s.next_attempt_in, None);
}

#[test]
fn a_panic_inside_a_mint_ends_that_mint_only() {
    setup_env(true);
    let emu = emulator();
    let p = provider(&emu, "panic", "");
    kafka_iam_oauth::testing::panic_in_next_mint("kafka-panic");
    let e = p.token().expect_err("the mint panicked");
    assert_eq!(e.kind(), kafka_iam_oauth::ErrorKind::Internal);
    assert!(
        !e.message().contains("panic-secret-text") && !e.message().contains("panicked"),
        "the panic's text reached the user: {e}"
    );
    assert_eq!(sts_calls(&emu), 0, "the hook panics before STS is called");
    // The flight was cleared: the next call mints again, at once.
    let t = p.token().expect("the next call mints");
    assert_eq!(t.principal(), USER_ARN);
    assert_eq!(sts_calls(&emu), 1);
    assert_eq!(p.stats().mints, 1);
    assert_eq!(p.stats().failures, 1);
}

#[test]
fn an_absurd_exp_from_sts_is_refused_and_the_next_answer_used() {
    setup_env(true);
    let emu = emulator();
    emu.set_fault(Fault::new(FaultMode::AbsurdExp).times(1));
    let p = provider(&emu, "absurd-exp", "duration_seconds=300");
    // The absurd answer is a malformed (retryable) one: the same mint asks
    // again and gets a normal token.
    let t = p.token().expect("a good token");
    let exp = t.claims()["exp"].as_f64().unwrap();
    assert!(exp < 1e12, "the absurd token was cached: exp {exp}");
    assert!(t.remaining() <= Duration::from_secs(300));
    assert_eq!(sts_calls(&emu), 2, "one absurd answer, one good one");
    // And the next call is served from the cache.
    assert_eq!(p.token().unwrap().value(), t.value());
    assert_eq!(sts_calls(&emu), 2);
}

#[test]
fn a_denial_storm_is_answered_from_the_negative_cache() {
    setup_env(true);
    let emu = emulator();
    emu.set_policy(Policy {
        allowed_audiences: Some(vec!["some-other-audience".into()]),
        ..Policy::default()
    });
    let p = provider(&emu, "storm", "");
    const THREADS: usize = 64;
    const STORM: Duration = Duration::from_secs(5);
    let started = Instant::now();
    let (calls, with_next_attempt) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    let (mut calls, mut noted) = (0u64, 0u64);
                    while started.elapsed() < STORM {
                        let e = p.token().expect_err("STS denies every mint");
                        assert_eq!(e.aws_code(), Some("AccessDenied"), "{e}");
                        calls += 1;
                        noted += u64::from(e.message().contains("next attempt is in"));
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    (calls, noted)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    let window = started.elapsed();
    // AccessDenied is not retryable: each mint is one STS call, and after
    // each failure no mint starts before PERMANENT_FAILURE_BACKOFF's delay
    // (at least half its doubling ceiling: 1 s, 2 s, 4 s, ...). So within
    // the window STS sees at most 1 + floor(log2(2 * window / first + 1))
    // calls: 3 for 5 s, whatever the number of threads.
    let bound = policy::max_attempts_within(window, policy::PERMANENT_FAILURE_BACKOFF);
    let log_bound = 1
        + ((2.0 * window.as_secs_f64() / policy::PERMANENT_FAILURE_BACKOFF.first.as_secs_f64()
            + 1.0)
            .log2()
            .floor() as u64);
    assert!(u64::from(bound) <= log_bound, "{bound} > {log_bound}");
    let sts = sts_calls(&emu);
    assert!(
        (1..=u64::from(bound)).contains(&sts),
        "{calls} calls from {THREADS} threads in {window:?} made {sts} STS calls (bound {bound})"
    );
    // Nearly every caller was answered from the negative cache, told when
    // the next attempt is.
    assert!(
        with_next_attempt >= calls - sts,
        "{with_next_attempt} of {calls}"
    );
    let stats = p.stats();
    assert_eq!(stats.failures, sts);
    assert_eq!(stats.mints, 0);
    assert_eq!(stats.last_error_kind, Some(ErrorKind::Sts));
    eprintln!("storm: {calls} calls from {THREADS} threads in {window:?}: {sts} STS calls (bound {bound})");
}

#[test]
fn a_remembered_failure_does_not_hide_a_valid_token() {
    setup_env(true);
    let emu = emulator();
    let p = provider(&emu, "negative-valid", "duration_seconds=600");
    let t = p.token().unwrap();
    emu.set_fault(Fault::new(FaultMode::ServerError));
    // Still served from the cache while STS fails.
    assert_eq!(p.token().unwrap().value(), t.value());
    assert_eq!(p.stats().next_attempt_in, None);
}

#[test]
fn after_the_backoff_the_next_caller_tries_again() {
    setup_env(true);
    let emu = emulator();
    emu.set_policy(Policy {
        federation_enabled: false,
        ..Policy::default()
    });
    let p = provider(&emu, "negative-recovers", "");
    let first = p.token().expect_err("federation disabled");
    assert!(first.message().contains("next attempt is in"), "{first}");
    let wait = p.stats().next_attempt_in.expect("a remembered failure");
    assert!(wait <= policy::PERMANENT_FAILURE_BACKOFF.first);
    emu.set_policy(Policy::default());
    let second = p.token().expect_err("remembered, not asked again");
    assert!(second.message().contains("next attempt is in"), "{second}");
    assert_eq!(sts_calls(&emu), 1);
    std::thread::sleep(wait + Duration::from_millis(50));
    p.token()
        .expect("the next attempt goes to STS and succeeds");
    assert_eq!(sts_calls(&emu), 2);
    assert_eq!(p.stats().next_attempt_in, None);
}

/// Tokens from an STS whose clock is `skew` seconds off ours are served,
/// cached, and refreshed once per lifetime, on our clock.
fn skewed_sts_tokens_are_served_and_cached(name: &str, skew: i64) {
    setup_env(true);
    let emu = emulator();
    emu.set_clock_offset(skew);
    const LIFETIME: Duration = Duration::from_secs(60);
    let p = provider(&emu, name, "duration_seconds=60");
    let t = p.token().expect("a token despite the skew");
    let (iat, exp) = (
        t.claims()["iat"].as_i64().unwrap(),
        t.claims()["exp"].as_i64().unwrap(),
    );
    let local_now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (iat - local_now - skew).abs() <= 5,
        "the emulator's clock is {skew} s off"
    );
    assert_eq!(exp - iat, 60);
    // The lifetime is the token's own, measured on our clock...
    let left = t.remaining();
    assert!(
        left <= LIFETIME && left > LIFETIME - Duration::from_secs(10),
        "{left:?}"
    );
    // ...and librdkafka gets local time: now + what is left, not STS's exp.
    let lifetime_ms = t.lifetime_ms();
    let expected_ms = (local_now + 60) * 1000;
    assert!(
        (lifetime_ms - expected_ms).abs() <= 5_000,
        "{lifetime_ms} vs {expected_ms}"
    );
    // Cached: no second STS call.
    for _ in 0..100 {
        assert_eq!(p.token().unwrap().value(), t.value());
    }
    assert_eq!(sts_calls(&emu), 1);
    // One refresh per lifetime: the background refresh is due at
    // policy::refresh_at, 50% to 60% of the token's 60 s on our clock
    // (neither at once, as a clock ahead of STS would make it, nor after
    // the real expiry, as a clock behind would).
    let s = p.stats();
    let refresh_in = s.refresh_in.expect("a refresh scheduled");
    let lo = LIFETIME.mul_f64(policy::REFRESH_FRACTION) - Duration::from_secs(10);
    let hi = LIFETIME.mul_f64(policy::REFRESH_FRACTION + policy::REFRESH_JITTER);
    assert!(
        refresh_in > lo && refresh_in <= hi,
        "refresh in {refresh_in:?}, expected in ({lo:?}, {hi:?}]"
    );
    assert!(s.expires_in.unwrap() > refresh_in);
    assert_eq!(s.mints, 1);
    assert_eq!(s.failures, 0);
}

#[test]
fn sts_clock_ten_minutes_ahead() {
    skewed_sts_tokens_are_served_and_cached("skew-ahead", 600);
}

#[test]
fn sts_clock_ten_minutes_behind() {
    skewed_sts_tokens_are_served_and_cached("skew-behind", -600);
}

#[test]
fn idle_entries_are_evicted_and_their_replicas_never_confused() {
    setup_env(true);
    let emu = emulator();
    let cfg = config(&emu, "evict", "");
    let p = kafka_iam_oauth::Provider::new(&cfg, "").unwrap();
    let old = p.token().unwrap();
    assert!(p.cached_token().is_some(), "this thread holds a replica");
    drop(p);
    // The first sweep sees the entry was used since the last one; the
    // second, IDLE_EVICTION later with no use and no provider, evicts it
    // (its refresh loop holds only a weak reference).
    let idle = policy::IDLE_EVICTION;
    kafka_iam_oauth::testing::sweep_as_if_after(idle + idle / 10);
    kafka_iam_oauth::testing::sweep_as_if_after(idle * 3);
    // A provider for the same configuration gets a new, empty entry: the
    // thread's replica of the evicted one (whose memory may be reused) is
    // never handed out for it.
    let p = kafka_iam_oauth::Provider::new(&cfg, "").unwrap();
    assert_eq!(p.stats().mints, 0, "the idle entry was evicted");
    assert!(p.cached_token().is_none());
    let new = p.token().unwrap();
    assert_ne!(new.value(), old.value());
    assert_eq!(sts_calls(&emu), 2);
}

#[test]
fn an_entry_a_provider_holds_is_never_evicted() {
    setup_env(true);
    let emu = emulator();
    let p = provider(&emu, "evict-held", "");
    let t = p.token().unwrap();
    kafka_iam_oauth::testing::sweep_as_if_after(policy::IDLE_EVICTION * 2);
    kafka_iam_oauth::testing::sweep_as_if_after(policy::IDLE_EVICTION * 4);
    let again = provider(&emu, "evict-held", "");
    assert_eq!(again.token().unwrap().value(), t.value());
    assert_eq!(sts_calls(&emu), 1);
}

#[test]
fn per_thread_replicas_are_bounded() {
    setup_env(true);
    let emu = emulator();
    let providers: Vec<_> = (0..3 * kafka_iam_oauth::testing::MAX_REPLICAS_PER_THREAD)
        .map(|i| provider(&emu, &format!("replicas-{i}"), ""))
        .collect();
    std::thread::spawn(move || {
        for _ in 0..2 {
            for p in &providers {
                p.token().unwrap();
                assert!(
                    kafka_iam_oauth::testing::replicas_on_this_thread()
                        <= kafka_iam_oauth::testing::MAX_REPLICAS_PER_THREAD
                );
            }
        }
        assert_eq!(
            kafka_iam_oauth::testing::replicas_on_this_thread(),
            kafka_iam_oauth::testing::MAX_REPLICAS_PER_THREAD
        );
    })
    .join()
    .unwrap();
}
