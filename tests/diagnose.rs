//! `kafka_iam_oauth::diagnose` (the chain behind `kafka-iam-oauth doctor`
//! and Python's `check()`) against an in-process emulator: the steps in
//! order on a good set-up, the failing step and the core error for
//! federation off and AccessDenied, a claims mismatch, each run its own
//! STS calls (never the token cache), and bounded in time.

mod common;

use common::{config, emulator, setup_env, Fault, Policy, USER_ARN};
use kafka_iam_oauth::diagnose::{self, Check, Options, Verdict};
use kafka_iam_oauth::{ErrorKind, Provider};
use std::time::{Duration, Instant};

/// One run against a local emulator takes milliseconds; this bounds it
/// generously for a loaded machine.
const RUN_BOUND: Duration = Duration::from_secs(10);

#[test]
fn a_good_set_up_passes_every_step_in_order() {
    setup_env(true);
    let emu = emulator();
    let cfg = config(&emu, "diagnose-good", "");
    let mut seen = Vec::new();
    let started = Instant::now();
    let report = diagnose::run(&cfg, "", &Options::default(), |s| seen.push(s.check));
    assert!(started.elapsed() < RUN_BOUND);
    assert!(report.passed(), "{:?}", report.failure());
    assert_eq!(seen, Check::ALL);
    assert_eq!(report.steps.last().unwrap().verdict, Verdict::Skip);
    let id = report.identity.as_ref().unwrap();
    assert_eq!(id.caller_arn.as_deref(), Some(USER_ARN));
    assert!(id.provider.contains("EnvironmentVariable"), "{id:?}");
    assert_eq!(report.token.as_ref().unwrap().principal(), USER_ARN);
    assert_eq!(emu.stats().requests["GetCallerIdentity"], 1);

    // Every run asks STS again; the token cache is neither used nor filled.
    let provider = Provider::new(&cfg, "").unwrap();
    assert!(provider.cached_token().is_none());
    diagnose::check(&cfg, "", &Options::default()).unwrap();
    assert_eq!(emu.stats().requests["GetWebIdentityToken"], 2);
    assert!(provider.cached_token().is_none());

    // The claims against what the broker expects.
    let options = Options {
        expected_issuer: Some(emu.issuer().to_string()),
        expected_audience: Some("kafka-diagnose-good".into()),
    };
    assert!(diagnose::check(&cfg, "", &options).is_ok());
    let options = Options {
        expected_audience: Some("broker.example.com".into()),
        ..Options::default()
    };
    let report = diagnose::run(&cfg, "", &options, |_| {});
    let failed = report.failure().unwrap();
    assert_eq!(failed.check, Check::Claims);
    assert!(failed.error.is_none());
    assert!(
        failed.message.contains("broker.example.com"),
        "{}",
        failed.message
    );
}

#[test]
fn sts_refusals_fail_their_own_step_with_the_core_error() {
    setup_env(true);
    let emu = emulator();
    let cfg = config(&emu, "diagnose-refused", "");

    emu.set_policy(Policy {
        federation_enabled: false,
        ..Policy::default()
    });
    let report = diagnose::run(&cfg, "", &Options::default(), |_| {});
    let failed = report.failure().unwrap();
    assert_eq!(failed.check, Check::Federation);
    assert_eq!(report.steps.last().unwrap().check, Check::Federation);
    let e = failed.error.as_ref().unwrap();
    assert_eq!(e.kind(), ErrorKind::Sts);
    assert!(e
        .aws_code()
        .unwrap()
        .contains("OutboundWebIdentityFederationDisabled"));

    emu.set_policy(Policy {
        allowed_audiences: Some(vec!["another.example.com".into()]),
        ..Policy::default()
    });
    let started = Instant::now();
    let e = diagnose::check(&cfg, "", &Options::default()).unwrap_err();
    assert!(started.elapsed() < RUN_BOUND);
    assert_eq!(e.aws_code(), Some("AccessDenied"));
    assert!(e.message().contains("sts:GetWebIdentityToken"), "{e}");
    let report = diagnose::run(&cfg, "", &Options::default(), |_| {});
    let steps: Vec<(Check, Verdict)> = report.steps.iter().map(|s| (s.check, s.verdict)).collect();
    assert_eq!(
        steps,
        [
            (Check::Config, Verdict::Pass),
            (Check::Credentials, Verdict::Pass),
            (Check::StsEndpoint, Verdict::Pass),
            (Check::Federation, Verdict::Pass),
            (Check::Permission, Verdict::Fail),
        ]
    );

    // A bad configuration fails the first step, with no STS call.
    let before = emu.stats().requests.values().sum::<u64>();
    let e = diagnose::check("region=eu-west-1", "", &Options::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert_eq!(emu.stats().requests.values().sum::<u64>(), before);
}

#[test]
fn run_within_names_the_check_still_running_at_its_deadline() {
    setup_env(true);
    let emu = emulator();
    let cfg = config(&emu, "diagnose-deadline", "");
    let report = diagnose::run_within(&cfg, "", &Options::default(), RUN_BOUND).unwrap();
    assert!(report.passed(), "{:?}", report.failure());
    // GetWebIdentityToken answers after 3 s: the federation check (the
    // first that calls it) is still running at a 500 ms deadline.
    emu.set_fault(Fault::latency(Duration::from_secs(3)));
    let started = Instant::now();
    let e = diagnose::run_within(&cfg, "", &Options::default(), Duration::from_millis(500))
        .unwrap_err();
    emu.set_fault(Fault::default());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(
        e.message().contains(Check::Federation.title()),
        "{}",
        e.message()
    );
}
