//! `make bench`: warm-cache token retrieval (Rust API and C ABI, 1 and 2
//! threads), cold mint against the emulator through the real SDK, and a
//! 64-thread cold start. Figures are meant to be compared side by side
//! within one run on one machine, not as absolute promises.

use kafka_iam_oauth::Provider;
use kafka_iam_oauth_capi::*;
use kafka_iam_oauth_emulator::{Emulator, EmulatorOptions};
use std::ffi::CString;
use std::hint::black_box;
use std::ptr;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

const WARM_CALLS: u64 = 2_000_000;

fn main() {
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    std::env::set_var(
        "AWS_ACCESS_KEY_ID",
        kafka_iam_oauth_emulator::USER.access_key_id,
    );
    std::env::set_var(
        "AWS_SECRET_ACCESS_KEY",
        kafka_iam_oauth_emulator::USER.secret_access_key,
    );
    std::env::set_var("AWS_CONFIG_FILE", "/dev/null");
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    let emu = Emulator::start(EmulatorOptions::default()).expect("emulator");
    let endpoint = emu.url().trim_end_matches('/').to_string();
    let cfg = |aud: &str| {
        format!("region=eu-west-1,audience={aud},duration_seconds=3600,sts_endpoint={endpoint}")
    };

    println!(
        "kafka-iam-oauth benchmarks ({} CPUs); reproduce with: make bench",
        thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    // Cold mint: a new configuration each time, so every call goes to STS.
    let mut cold = Vec::new();
    for i in 0..20 {
        let p = Provider::new(&cfg(&format!("bench-cold-{i}")), "").unwrap();
        let t0 = Instant::now();
        black_box(p.token().unwrap());
        cold.push(t0.elapsed());
    }
    cold.sort();
    println!(
        "cold mint via the AWS SDK against the local emulator: median {:?}, max {:?} (20 mints)",
        cold[10], cold[19]
    );

    // 64 threads at cold start: exactly one STS call.
    let p = Provider::new(&cfg("bench-stampede"), "").unwrap();
    let barrier = Arc::new(Barrier::new(64));
    let t0 = Instant::now();
    let hs: Vec<_> = (0..64)
        .map(|_| {
            let (p, b) = (p.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                b.wait();
                black_box(p.token().unwrap());
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    println!(
        "64 threads at cold start: all served in {:?}, STS mints: {}",
        t0.elapsed(),
        p.mint_count()
    );

    // Warm cache.
    let warm = Provider::new(&cfg("bench-warm"), "").unwrap();
    warm.token().unwrap();
    let rust = |threads: u64| {
        run(threads, |_| {
            let w = warm.clone();
            move || {
                black_box(w.token().unwrap());
            }
        })
    };
    let c_cfg = CString::new(cfg("bench-warm")).unwrap();
    let mut handle = ptr::null_mut();
    let st = unsafe {
        kafka_iam_oauth_provider_new(c_cfg.as_ptr(), ptr::null(), &mut handle, ptr::null_mut())
    };
    assert_eq!(st, kafka_iam_oauth_status::KAFKA_IAM_OAUTH_OK);
    let handle_addr = handle as usize;
    let c = |threads: u64| {
        run(threads, |_| {
            move || unsafe {
                let mut tok = ptr::null();
                let p = handle_addr as *const kafka_iam_oauth_provider;
                kafka_iam_oauth_provider_token(p, 0, &mut tok, ptr::null_mut());
                black_box(kafka_iam_oauth_token_value(tok));
                kafka_iam_oauth_token_free(tok);
            }
        })
    };
    let (r1, r2, c1, c2) = (rust(1), rust(2), c(1), c(2));
    println!("warm-cache token, Rust API (Provider::token):          1 thread {:>6.1} ns/call; 2 threads {:>6.1} ns/call each, throughput x{:.2}", r1.0, r2.0, r2.1 / r1.1);
    println!("warm-cache token, C ABI (provider_token + token_free): 1 thread {:>6.1} ns/call; 2 threads {:>6.1} ns/call each, throughput x{:.2}", c1.0, c2.0, c2.1 / c1.1);
    println!(
        "C ABI / Rust API per-call ratio (1 thread): {:.2}",
        c1.0 / r1.0
    );
    unsafe { kafka_iam_oauth_provider_free(handle) };
}

/// Runs `WARM_CALLS` calls on each of `threads` threads; returns
/// (ns per call per thread, total calls per second).
fn run<F, G>(threads: u64, make: G) -> (f64, f64)
where
    G: Fn(u64) -> F,
    F: FnMut() + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(threads as usize));
    let hs: Vec<_> = (0..threads)
        .map(|i| {
            let mut f = make(i);
            let b = Arc::clone(&barrier);
            thread::spawn(move || {
                b.wait();
                let t0 = Instant::now();
                for _ in 0..WARM_CALLS {
                    f();
                }
                t0.elapsed()
            })
        })
        .collect();
    let times: Vec<Duration> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    let slowest = times.iter().max().unwrap().as_secs_f64();
    let per_call =
        times.iter().map(|t| t.as_secs_f64()).sum::<f64>() / threads as f64 / WARM_CALLS as f64
            * 1e9;
    (per_call, (threads * WARM_CALLS) as f64 / slowest)
}
