//! The phases of the soak (issue 13, "Thread churn"), shared by the bounded
//! test (`tests/soak.rs`, in `make test`) and the benchmark
//! (`benches/soak.rs`, `make soak`): thread churn on one provider, many
//! distinct configurations minting once each, then eviction; and the two
//! figures that must stay flat, RSS and hot-path latency.
#![allow(dead_code)]

use kafka_iam_oauth::{testing, Provider};
use kafka_iam_oauth_emulator::RunningEmulator;
use std::time::{Duration, Instant};

/// Resident set size of this process (`/proc/self/statm`, second field).
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .expect("statm resident field");
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * u64::try_from(page).unwrap_or(4096)
}

/// A token from `p`: the cached one, else a mint.
fn take(p: &Provider) {
    if p.cached_token().is_none() {
        p.token().expect("token");
    }
}

/// Phase (a): `threads` short-lived threads, `concurrent` at a time, each
/// taking one token from `p` (and so making, then freeing, a per-thread
/// replica).
pub fn thread_churn(p: &Provider, threads: usize, concurrent: usize) {
    let mut left = threads;
    while left > 0 {
        let wave = left.min(concurrent);
        std::thread::scope(|s| {
            for _ in 0..wave {
                s.spawn(|| take(p));
            }
        });
        left -= wave;
    }
}

/// Phase (b): `configs` distinct configurations (audiences
/// `soak-<tag>-<i>` against `emu`), each minting once, spread over
/// `workers` threads; every provider is dropped afterwards, so the entries
/// are left to eviction.
pub fn many_configs(emu: &RunningEmulator, tag: &str, configs: usize, workers: usize) {
    std::thread::scope(|s| {
        for w in 0..workers {
            s.spawn(move || {
                for i in (w..configs).step_by(workers) {
                    let cfg = crate::common::config(emu, &format!("soak-{tag}-{i}"), "");
                    let p = Provider::new(&cfg, "").expect("valid config");
                    p.token().expect("token");
                }
            });
        }
    });
}

/// Waits out the idle time (`idle`, set through the test hook) and sweeps:
/// the first sweep notes the last use, the second, `idle` later, evicts.
/// Returns how many entries went. The idle time is back to the default
/// afterwards.
pub fn evict(idle: Duration) -> usize {
    testing::set_idle_eviction(idle);
    let mut evicted = testing::sweep_now();
    std::thread::sleep(idle + idle / 5);
    evicted += testing::sweep_now();
    testing::set_idle_eviction(Duration::ZERO);
    evicted
}

/// Median and 99th percentile of one `Provider::cached_token` call.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub median_ns: f64,
    pub p99_ns: f64,
}

/// Times `calls` calls of `p.cached_token()` one by one on this thread
/// (each sample includes one `Instant::now()`, see [`timer_overhead_ns`]).
pub fn hot_path_latency(p: &Provider, calls: usize) -> Latency {
    let mut samples: Vec<u32> = Vec::with_capacity(calls);
    for _ in 0..calls {
        let start = Instant::now();
        let t = p.cached_token();
        let took = start.elapsed();
        assert!(t.is_some(), "a cached token");
        drop(t);
        samples.push(u32::try_from(took.as_nanos()).unwrap_or(u32::MAX));
    }
    samples.sort_unstable();
    let at = |q: f64| f64::from(samples[((samples.len() - 1) as f64 * q) as usize]);
    Latency {
        median_ns: at(0.5),
        p99_ns: at(0.99),
    }
}

/// Median cost of the timing itself (two back-to-back `Instant::now()`).
pub fn timer_overhead_ns() -> f64 {
    let mut samples: Vec<u32> = (0..100_000)
        .map(|_| {
            let start = Instant::now();
            u32::try_from(start.elapsed().as_nanos()).unwrap_or(u32::MAX)
        })
        .collect();
    samples.sort_unstable();
    f64::from(samples[samples.len() / 2])
}

/// Asks glibc to give the free memory of its arenas back to the system
/// (`malloc_trim(0)`), so RSS shows what is still allocated rather than
/// what the allocator keeps for reuse. Elsewhere a no-op.
pub fn malloc_trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
