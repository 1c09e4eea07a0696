//! The cache keeps serving through a misbehaving STS (issue 13): stats,
//! panics inside a mint, absurd expiries, the negative cache, clock skew and
//! eviction. Every bound is named and derived in its test.

mod common;

use common::*;
use std::time::Duration;

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
