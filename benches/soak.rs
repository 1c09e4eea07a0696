//! `make soak` (issue 13, "Thread churn"): memory and hot-path latency stay
//! flat under (a) 100 000 short-lived threads each taking a token from one
//! provider and (b) 10 000 distinct configurations (audiences) each minting
//! once against the in-process emulator, then idling past eviction (the
//! idle time shortened by a test hook, so the run does not wait 10
//! minutes). Prints RSS (`/proc/self/statm`) and the median / p99 of
//! `Provider::cached_token` over 1M calls at the start, after each phase
//! and after eviction, and their ratios to the start; `entries` is the
//! registry's size, `alive` the entries still allocated. Then more rounds
//! of phase (b) and eviction (RSS must level off: the freed memory is
//! reused, nothing leaked) and `malloc_trim(0)` (how much of RSS glibc
//! kept as free memory).
//!
//! Environment: `SOAK_THREADS` (100000), `SOAK_CONFIGS` (10000),
//! `SOAK_CALLS` (1000000), `SOAK_IDLE_MS` (2000), `SOAK_ROUNDS` (3: rounds
//! of phase (b) and eviction), `SOAK_TRIM_EACH` (0; 1: `malloc_trim(0)`
//! after each later round's eviction, so its RSS is what stays allocated).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/soak_phases/mod.rs"]
mod soak_phases;

use common::*;
use kafka_iam_oauth::testing;
use soak_phases::*;
use std::time::{Duration, Instant};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Point {
    name: String,
    rss: u64,
    entries: usize,
    alive: u64,
    latency: Latency,
    took: Duration,
}

fn main() {
    // `cargo bench` passes --bench; nothing to parse.
    let threads = env_or("SOAK_THREADS", 100_000);
    let configs = env_or("SOAK_CONFIGS", 10_000);
    let calls = env_or("SOAK_CALLS", 1_000_000);
    let idle = Duration::from_millis(env_or("SOAK_IDLE_MS", 2_000) as u64);
    let rounds = env_or("SOAK_ROUNDS", 3);
    let trim_each = env_or("SOAK_TRIM_EACH", 0) != 0;

    setup_env(true);
    let emu = emulator();
    let p = provider(&emu, "soak-bench-hot", "");
    p.token().expect("first token");
    // Warm the hot path (this thread's replica, the caches).
    hot_path_latency(&p, 10_000);

    let mut points = Vec::new();
    let mut point = |name: String, took: Duration| {
        let latency = hot_path_latency(&p, calls);
        points.push(Point {
            name,
            rss: rss_bytes(),
            entries: testing::entry_count(),
            alive: testing::entries_alive(),
            latency,
            took,
        });
    };
    point("start".into(), Duration::ZERO);

    let t = Instant::now();
    thread_churn(&p, threads, 16);
    point(format!("(a) after {threads} threads"), t.elapsed());

    let t = Instant::now();
    many_configs(&emu, "bench", configs, 8);
    point(format!("(b) after {configs} configurations"), t.elapsed());

    let t = Instant::now();
    let evicted = evict(idle);
    point(
        format!(
            "after eviction ({evicted} evicted, idle {} ms)",
            idle.as_millis()
        ),
        t.elapsed(),
    );

    // What the allocator keeps for reuse versus what is still allocated:
    // later rounds reuse the first's freed memory (RSS does not keep
    // growing), and malloc_trim hands the free part back to the system.
    for round in 2..=rounds {
        let t = Instant::now();
        many_configs(&emu, &format!("bench-{round}"), configs, 8);
        point(
            format!("(b) round {round}: {configs} new configurations"),
            t.elapsed(),
        );
        let t = Instant::now();
        let evicted = evict(idle);
        if trim_each {
            malloc_trim();
        }
        point(
            format!("after eviction, round {round} ({evicted} evicted)"),
            t.elapsed(),
        );
    }
    let t = Instant::now();
    malloc_trim();
    point("after malloc_trim(0)".into(), t.elapsed());

    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!(
        "soak: {threads} threads, {configs} configurations, {calls} cached_token calls per point; \
         timer overhead {:.0} ns per sample; {} GetWebIdentityToken, {} credential chain(s) built",
        timer_overhead_ns(),
        sts_calls(&emu),
        testing::credential_chains_built()
    );
    println!(
        "{:<48} {:>9} {:>8} {:>8} {:>10} {:>8} {:>8} {:>7} {:>7} {:>7}",
        "point",
        "rss_MiB",
        "entries",
        "alive",
        "median_ns",
        "p99_ns",
        "took_s",
        "rss_x",
        "med_x",
        "p99_x"
    );
    let start = &points[0];
    for pt in &points {
        println!(
            "{:<48} {:>9.1} {:>8} {:>8} {:>10.0} {:>8.0} {:>8.1} {:>7.2} {:>7.2} {:>7.2}",
            pt.name,
            mib(pt.rss),
            pt.entries,
            pt.alive,
            pt.latency.median_ns,
            pt.latency.p99_ns,
            pt.took.as_secs_f64(),
            pt.rss as f64 / start.rss as f64,
            pt.latency.median_ns / start.latency.median_ns,
            pt.latency.p99_ns / start.latency.p99_ns,
        );
    }
    assert!(p.cached_token().is_some());
}
