//! Minting, caching and refreshing against the emulator, through the real
//! AWS SDK (SigV4-signed STS Query requests to `sts_endpoint`).

mod common;

use common::*;
use kafka_iam_oauth::{policy, ErrorKind, Provider};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

#[test]
fn cold_mint_returns_a_token_for_the_iam_principal() {
    setup_env(true);
    let emu = emulator();
    let p = provider(
        &emu,
        "cold",
        "duration_seconds=900,signing_algorithm=RS256,tag_team=platform",
    );
    let t = p.token().expect("token");
    assert_eq!(t.principal(), USER_ARN);
    assert_eq!(t.claims()["aud"], "kafka-cold");
    assert_eq!(t.claims()["sub"], USER_ARN);
    let left = t.remaining().as_secs();
    assert!((850..=900).contains(&left), "lifetime {left}");
    // Local time (now + what is left); the emulator shares our clock here.
    let exp_ms = t.claims()["exp"].as_i64().unwrap() * 1000;
    assert!(
        (t.lifetime_ms() - exp_ms).abs() <= 2_000,
        "{} vs {exp_ms}",
        t.lifetime_ms()
    );
    assert_eq!(t.value().split('.').count(), 3);
    let last = emu
        .stats()
        .last_request
        .expect("a GetWebIdentityToken request");
    assert_eq!(last.signing_algorithm.as_deref(), Some("RS256"), "{last:?}");
    assert_eq!(sts_calls(&emu), 1);
}

#[test]
fn cache_hits_make_no_sts_call() {
    setup_env(true);
    let emu = emulator();
    let p = provider(&emu, "hits", "");
    let first = p.token().unwrap();
    // Another provider with the same effective config shares the entry.
    let same = Provider::new(&config(&emu, "hits", " duration_seconds=300 "), "").unwrap();
    for _ in 0..1000 {
        let t = same.token().unwrap();
        assert_eq!(t.value(), first.value());
    }
    assert_eq!(sts_calls(&emu), 1);
    assert_eq!(p.mint_count(), 1);
}

#[test]
fn many_threads_at_cold_start_make_one_sts_call() {
    setup_env(true);
    let emu = emulator();
    emu.set_fault(Fault::latency(Duration::from_millis(300)));
    let cfg = config(&emu, "stampede", "");
    let barrier = Arc::new(Barrier::new(64));
    let handles: Vec<_> = (0..64)
        .map(|_| {
            let (cfg, barrier) = (cfg.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                let p = Provider::new(&cfg, "").unwrap();
                barrier.wait();
                p.token().unwrap().principal().to_string()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), USER_ARN);
    }
    assert_eq!(sts_calls(&emu), 1);
}

#[test]
fn refresh_ahead_replaces_the_token_before_callers_need_it() {
    setup_env(true);
    let emu = emulator();
    let p = provider(&emu, "refresh", "duration_seconds=60");
    let first = p.token().unwrap();
    // The refresh takes 1.5 s, so the callers below meet it in flight.
    emu.set_fault(Fault::latency(Duration::from_millis(1500)));
    let started = Instant::now();
    let mut waited_for_refresh = 0;
    // Callers keep asking (as librdkafka does). The cached token is handed
    // out at once until its refresh is due; after that, with under 60 s
    // left (policy::hand_out_at_once), not until the refresh in flight
    // lands: token() then waits for it at most policy::MAX_STALE_WAIT and
    // serves the old one if it is slower.
    let new = loop {
        assert!(
            started.elapsed() < Duration::from_secs(50),
            "no refresh within 50 s"
        );
        let t = match p.cached_token() {
            Some(t) => t,
            None => {
                assert!(
                    SystemTime::now() >= first.refresh_at(),
                    "no cached token before the refresh was due"
                );
                let asked = Instant::now();
                let t = p.token().unwrap();
                let waited = asked.elapsed();
                waited_for_refresh += 1;
                assert!(
                    waited <= policy::MAX_STALE_WAIT + Duration::from_secs(1),
                    "token() waited {waited:?} for the refresh"
                );
                t
            }
        };
        if t.value() != first.value() {
            break t;
        }
        thread::sleep(Duration::from_millis(250));
    };
    let old_left = first.remaining();
    assert!(
        old_left > Duration::from_secs(15),
        "refreshed too late: old had {old_left:?} left"
    );
    assert!(new.expires_at() > first.expires_at());
    assert!(
        waited_for_refresh > 0,
        "no caller met the 1.5 s refresh in flight"
    );
    assert_eq!(sts_calls(&emu), 2);
}

#[test]
fn throttling_and_5xx_during_refresh_keep_serving_the_valid_token() {
    setup_env(true);
    let emu = emulator();
    let p = provider(&emu, "faults", "duration_seconds=60");
    let first = p.token().unwrap();
    // From now on every STS call fails for 45 s: throttling, then 5xx.
    emu.set_fault(Fault::new(FaultMode::Throttle).for_duration(Duration::from_secs(20)));
    let started = Instant::now();
    let mut switched_to_5xx = false;
    while started.elapsed() < Duration::from_secs(40) {
        if !switched_to_5xx && started.elapsed() > Duration::from_secs(19) {
            emu.set_fault(Fault::new(FaultMode::ServerError).for_duration(Duration::from_secs(25)));
            switched_to_5xx = true;
        }
        let t = p.token().expect("a valid token must keep being served");
        assert_eq!(t.value(), first.value());
        assert!(t.expires_at() > SystemTime::now());
        thread::sleep(Duration::from_millis(500));
    }
    assert!(sts_calls(&emu) > 2, "refresh must have been retried");
    // Faults end; the retrying refresh lands a new token before the old expires.
    emu.clear_fault();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let t = p.token().expect("token");
        if t.value() != first.value() {
            assert!(first.remaining() > Duration::ZERO || t.remaining() > Duration::from_secs(30));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no new token after the faults ended"
        );
        thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn transient_throttling_on_first_mint_is_retried() {
    setup_env(true);
    let emu = emulator();
    emu.set_fault(Fault::new(FaultMode::Throttle).times(2));
    let p = provider(&emu, "retry", "");
    assert_eq!(p.token().unwrap().principal(), USER_ARN);
    assert_eq!(sts_calls(&emu), 3);
}

#[test]
fn malformed_and_dropped_responses_are_retried() {
    setup_env(true);
    let emu = emulator();
    emu.set_fault(Fault::new(FaultMode::Malformed).times(1));
    let p = provider(&emu, "malformed", "");
    if let Err(e) = p.token() {
        panic!("{e:?}");
    }
    let emu2 = emulator();
    emu2.set_fault(Fault::new(FaultMode::Drop).times(1));
    let p2 = provider(&emu2, "dropped", "");
    assert!(p2.token().is_ok());
    assert_eq!(sts_calls(&emu2), 2);
}

#[test]
fn persistent_5xx_fails_with_a_retryable_sts_error() {
    setup_env(true);
    let emu = emulator();
    emu.set_fault(Fault::new(FaultMode::ServerError).times(100));
    let p = provider(&emu, "fivexx", "");
    let e = p.token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Sts, "{e}");
    assert!(e.is_retryable());
    assert!(e.message().contains("server error"), "{e}");
    assert!(sts_calls(&emu) >= 4);
}

#[test]
fn federation_disabled_says_what_the_admin_must_run() {
    setup_env(true);
    let emu = emulator();
    emu.set_policy(Policy {
        federation_enabled: false,
        ..emu.policy()
    });
    let e = provider(&emu, "nofed", "").token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Sts);
    assert!(e
        .aws_code()
        .unwrap()
        .starts_with("OutboundWebIdentityFederationDisabled"));
    assert!(
        e.message()
            .contains("aws iam enable-outbound-web-identity-federation"),
        "{e}"
    );
    assert_eq!(sts_calls(&emu), 1, "not retried");
}

#[test]
fn access_denied_names_the_permission_and_audience() {
    setup_env(true);
    let emu = emulator();
    emu.set_policy(Policy {
        allowed_audiences: Some(vec!["only-this-one".into()]),
        ..emu.policy()
    });
    let e = provider(&emu, "denied", "").token().unwrap_err();
    assert_eq!(e.aws_code(), Some("AccessDenied"));
    assert!(e.message().contains("sts:GetWebIdentityToken"), "{e}");
    assert!(e.message().contains("sts:IdentityTokenAudience"), "{e}");
    assert!(e.message().contains("kafka-denied"), "{e}");
}

#[test]
fn timeout_is_reported_when_sts_is_too_slow() {
    setup_env(true);
    let emu = emulator();
    emu.set_fault(Fault::latency(Duration::from_secs(3)));
    let p = provider(&emu, "slow", "");
    let e = p.token_timeout(Duration::from_millis(300)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    // The mint goes on in the background; the next caller gets its result.
    assert!(p.token_timeout(Duration::from_secs(10)).is_ok());
    assert_eq!(sts_calls(&emu), 1);
}

#[test]
fn tokens_and_secrets_never_appear_in_debug_or_errors() {
    setup_env(true);
    let emu = emulator();
    let p = provider(&emu, "secrets", "");
    let t = p.token().unwrap();
    let dbg = format!("{t:?} {p:?}");
    assert!(!dbg.contains(t.value()));
    assert!(
        !dbg.contains(t.value().split('.').nth(2).unwrap()),
        "signature leaked"
    );
    assert!(dbg.contains(USER_ARN), "claims are shown");
    assert!(!dbg.contains(USER_SECRET));
}

#[test]
fn works_from_inside_a_tokio_runtime_and_async() {
    setup_env(true);
    let emu = emulator();
    let p = provider(&emu, "tokio", "");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (blocking, asynchronous) = rt.block_on(async {
        // A blocking call from a runtime thread (rust-rdkafka's situation).
        let b = p.token().unwrap();
        let a = p.token_async().await.unwrap();
        (b, a)
    });
    assert_eq!(blocking.value(), asynchronous.value());
}

#[test]
fn the_account_rate_limit_is_throttling_retried_with_backoff() {
    use kafka_iam_oauth::policy::{retry_delay, MINT_ATTEMPTS, MINT_BACKOFF};
    use kafka_iam_oauth_emulator::RateLimit;
    setup_env(true);
    let emu = emulator();
    // Burst 1 at 4/s: the first mint takes the bucket's only request; a
    // second entry minting right after is refused until 250 ms have
    // passed, which the mint's backoff (50-100, 100-200, 200-400 ms)
    // always reaches within MINT_ATTEMPTS calls.
    emu.set_rate_limit(Some(RateLimit { rps: 4.0, burst: 1 }));
    provider(&emu, "rate-a", "").token().unwrap();
    let started = Instant::now();
    let t = provider(&emu, "rate-b", "")
        .token()
        .expect("retried past the limit");
    let waited = started.elapsed();
    assert_eq!(t.principal(), USER_ARN);
    let stats = emu.stats();
    let calls_b = sts_calls(&emu) - 1;
    assert!(stats.throttled >= 1, "{stats:?}");
    assert_eq!(calls_b, 1 + stats.throttled, "each refusal retried once");
    assert!(calls_b <= u64::from(MINT_ATTEMPTS));
    assert!(
        waited >= retry_delay(0, MINT_BACKOFF, 0.0),
        "retried after a backoff, not at once: {waited:?}"
    );

    // A limit no backoff inside one mint outlasts: exactly MINT_ATTEMPTS
    // calls, then a retryable error that says STS is throttling.
    emu.reset();
    emu.set_rate_limit(Some(RateLimit {
        rps: 0.01,
        burst: 1,
    }));
    provider(&emu, "rate-c", "").token().unwrap();
    let e = provider(&emu, "rate-d", "").token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Sts, "{e}");
    assert!(e.is_retryable());
    assert_eq!(e.aws_code(), Some("Throttling"), "{e}");
    assert!(e.message().contains("throttling"), "{e}");
    assert_eq!(sts_calls(&emu), 1 + u64::from(MINT_ATTEMPTS));
    assert_eq!(emu.stats().throttled, u64::from(MINT_ATTEMPTS));
}
