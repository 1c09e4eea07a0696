//! `make fleet-sim` (issue 21): 10,000 pods started within 60 s against a
//! rate-limited STS, in simulated time, with the library's real refresh
//! policy (`tests/fleet/sim.rs`) and the two baselines. Prints a table and
//! writes calls and throttles per second to `build/bench/fleet-sim.csv`.
//!
//! FLEET_SIM_PODS (10000), FLEET_SIM_LIFETIME (300 s, the default
//! `duration_seconds`), FLEET_SIM_RPS / FLEET_SIM_BURST (100 / 100),
//! FLEET_SIM_HORIZON (1200 s), FLEET_SIM_SEED override the sizes.

#[path = "../tests/fleet/sim.rs"]
mod sim;

use sim::{Limit, Model, Params};
use std::fmt::Write as _;
use std::time::Duration;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let pods: u32 = env("FLEET_SIM_PODS", 10_000);
    let lifetime = Duration::from_secs(env("FLEET_SIM_LIFETIME", 300));
    let horizon = Duration::from_secs(env("FLEET_SIM_HORIZON", 1200));
    let limit = Limit {
        rps: env("FLEET_SIM_RPS", 100.0),
        burst: env("FLEET_SIM_BURST", 100),
    };
    let seed: u64 = env("FLEET_SIM_SEED", 21);
    let start_within = Duration::from_secs(60);
    println!(
        "fleet-sim: {pods} processes started within {} s, tokens of {} s, {} s simulated, STS limit {}/s burst {} (or none), seed {seed}",
        start_within.as_secs(),
        lifetime.as_secs(),
        horizon.as_secs(),
        limit.rps,
        limit.burst
    );
    println!(
        "{:<46} {:>7} {:>8} {:>9} {:>7} {:>7} {:>7} {:>8} {:>8} {:>8} {:>7} {:>9}",
        "model",
        "limit",
        "calls",
        "throttled",
        "peak0",
        "peak1+",
        "steady",
        "first50",
        "first99",
        "firstmax",
        "failed",
        "thr.until"
    );
    let mut columns = Vec::new();
    for (model, throttle_rules) in [
        (Model::Library, true),
        (Model::Library, false),
        (Model::Librdkafka80, true),
        (Model::PerConnection { connections: 3 }, true),
    ] {
        for limited in [false, true] {
            if !throttle_rules && !limited {
                continue; // the rules only differ once STS throttles
            }
            let p = Params {
                model,
                throttle_rules,
                processes: pods,
                start_within,
                lifetime,
                horizon,
                limit: limited.then_some(limit),
                seed,
            };
            let steady = sim::steady_rate(&p);
            let o = sim::run(p);
            // Start-up: until every process could have had its first
            // token; after: from the first refresh wave on.
            let startup_end = (start_within.as_secs() + 30) as usize;
            let secs = |d: Duration| format!("{:.1}", d.as_secs_f64());
            println!(
                "{:<46} {:>7} {:>8} {:>9} {:>7} {:>7} {:>7.1} {:>8} {:>8} {:>8} {:>7} {:>9}",
                if throttle_rules {
                    model.name()
                } else {
                    format!("{} (before issue 21)", model.name())
                },
                if limited {
                    format!("{}/s", limit.rps)
                } else {
                    "none".into()
                },
                o.calls,
                o.throttled,
                o.peak(0, startup_end),
                o.peak(startup_end, usize::MAX),
                steady,
                secs(o.first_token_quantile(0.5)),
                secs(o.first_token_quantile(0.99)),
                o.max_first_token().map_or("never".into(), secs),
                o.failed_waits,
                o.throttled_until().map_or("-".into(), |s| format!("{s} s")),
            );
            let name = format!(
                "{} {}",
                match model {
                    Model::Library if throttle_rules => "library",
                    Model::Library => "library_before",
                    Model::Librdkafka80 => "librdkafka80",
                    Model::PerConnection { .. } => "per_connection",
                },
                if limited { "limited" } else { "unlimited" }
            );
            columns.push((name, o.per_second));
        }
    }
    let mut csv = String::from("second");
    for (name, _) in &columns {
        let n = name.replace(' ', "_");
        write!(csv, ",{n}_calls,{n}_throttled").unwrap();
    }
    csv.push('\n');
    for s in 0..=horizon.as_secs() as usize {
        write!(csv, "{s}").unwrap();
        for (_, per) in &columns {
            write!(csv, ",{},{}", per[s].0, per[s].1).unwrap();
        }
        csv.push('\n');
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("build/bench");
    std::fs::create_dir_all(&dir).expect("build/bench");
    let path = dir.join("fleet-sim.csv");
    std::fs::write(&path, csv).expect("write the CSV");
    println!("peak0: most calls in one second of the first {} s; peak1+: after that; steady: calls/s once spread (tokens / refresh period); first*: s from a process's start to its first token; failed: errors handed to a waiting client; thr.until: last second with a throttle", start_within.as_secs() + 30);
    println!("wrote {}", path.display());
}
