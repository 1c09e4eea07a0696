//! The fleet simulation at small scale (issue 21): 1,000 processes started
//! within 60 s against an STS limited below their start-up rate, in
//! simulated time, on the library's real refresh policy
//! (`tests/fleet/sim.rs`; `make fleet-sim` runs 10,000). A module of
//! `tests/resilience.rs` (one test binary fewer to link in `make test`).

use super::sim::{self, Limit, Model, Params};
use std::time::Duration;

/// 1,000 processes within 60 s want ~17 calls/s; STS allows 10/s. Tokens
/// of 300 s (the default `duration_seconds`), four lifetimes simulated.
fn params(model: Model, limit: Option<Limit>) -> Params {
    Params {
        model,
        processes: 1_000,
        start_within: Duration::from_secs(60),
        lifetime: Duration::from_secs(300),
        horizon: Duration::from_secs(1_200),
        limit,
        seed: 7,
        throttle_rules: true,
    }
}

const LIMIT: Limit = Limit {
    rps: 10.0,
    burst: 10,
};

/// Start-up is over once every process could have its first token:
/// 1,000 tokens at 10/s take 100 s.
const AFTER_START: usize = 120;
/// After start-up, the refresh waves never ask STS for more than this
/// multiple of the fleet's steady-state rate (averaged over 10 s).
const PEAK_OVER_STEADY: f64 = 2.0;
/// No process waits longer than this for its first token: what the limit
/// requires for the last of 1,000 (100 s) plus librdkafka's 10 s retry.
const FIRST_TOKEN_BOUND: Duration = Duration::from_secs(120);

fn report(name: &str, p: &Params, o: &sim::Outcome) {
    let (calls, throttled) = o.after(AFTER_START);
    eprintln!(
        "{name}: {} calls ({calls} after start-up), {} throttled ({throttled} after), \
         peak after start-up {:.1}/s (10 s average) vs steady {:.1}/s, first token p50 {:?} max {:?}, \
         failed waits {}",
        o.calls,
        o.throttled,
        o.peak_avg(AFTER_START, usize::MAX, 10),
        sim::steady_rate(p),
        o.first_token_quantile(0.5),
        o.max_first_token(),
        o.failed_waits
    );
}

#[test]
fn a_thousand_processes_against_a_rate_limited_sts() {
    let p = params(Model::Library, Some(LIMIT));
    let o = sim::run(p.clone());
    report("library, limited", &p, &o);
    let steady = sim::steady_rate(&p);
    let peak = o.peak_avg(AFTER_START, usize::MAX, 10);
    assert!(
        peak <= PEAK_OVER_STEADY * steady,
        "peak {peak:.1}/s after start-up > {PEAK_OVER_STEADY} x steady {steady:.1}/s"
    );
    let max = o.max_first_token().expect("every process got a token");
    assert!(max <= FIRST_TOKEN_BOUND, "last first token after {max:?}");
    // Once started, the refresh waves stay under the limit: at most 1 %
    // of the calls throttled (a second with a few more than the burst).
    let (calls, throttled) = o.after(AFTER_START);
    assert!(throttled * 100 <= calls, "{throttled} of {calls} throttled");
}

#[test]
fn the_rules_after_a_throttle_cut_the_calls_and_the_refresh_peak() {
    let before_p = Params {
        throttle_rules: false,
        ..params(Model::Library, Some(LIMIT))
    };
    let after_p = params(Model::Library, Some(LIMIT));
    let (before, after) = (sim::run(before_p.clone()), sim::run(after_p.clone()));
    report("before issue 21", &before_p, &before);
    report("after", &after_p, &after);
    assert!(after.calls < before.calls);
    assert!(
        after.peak_avg(AFTER_START, usize::MAX, 10) < before.peak_avg(AFTER_START, usize::MAX, 10)
    );
    assert!(after.after(AFTER_START).1 < before.after(AFTER_START).1);
}

#[test]
fn without_a_limit_each_process_calls_sts_once_per_refresh() {
    let p = params(Model::Library, None);
    let o = sim::run(p.clone());
    assert_eq!((o.throttled, o.failed_waits), (0, 0));
    assert!(o.max_first_token().unwrap() < Duration::from_millis(1));
    // 1,200 s of tokens refreshed at 50-60 % of 300 s: the first mint and
    // 6 to 8 refreshes each.
    let per_process = o.calls as f64 / f64::from(p.processes);
    assert!((7.0..=9.0).contains(&per_process), "{per_process}");
}

#[test]
fn the_baselines_under_the_same_limit() {
    let rdk_p = params(Model::Librdkafka80, Some(LIMIT));
    let per_conn_p = params(Model::PerConnection { connections: 3 }, Some(LIMIT));
    let lib = sim::run(params(Model::Library, Some(LIMIT)));
    let (rdk, per_conn) = (sim::run(rdk_p.clone()), sim::run(per_conn_p.clone()));
    report("librdkafka 80 %", &rdk_p, &rdk);
    report("per connection", &per_conn_p, &per_conn);
    // Every process gets a token on librdkafka's schedule too; a token per
    // connection needs 3 times the calls and never settles under the limit.
    assert!(rdk.max_first_token().is_some());
    assert!(per_conn.calls > 3 * lib.calls);
    assert!(per_conn.after(AFTER_START).1 > lib.after(AFTER_START).1);
}
