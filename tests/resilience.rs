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
