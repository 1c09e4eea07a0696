//! Every HTTP answer the library reads is bounded in size (issue 20): an
//! endpoint answering 256 MiB (the emulator's `oversized` switches,
//! streamed from a static buffer) is refused after at most 64 KiB
//! (`MAX_ANSWER_BYTES` in `src/sts/capped.rs`), with an error naming the
//! endpoint and the size, one request per failure, and the next good
//! answer is used.
//!
//! Each scenario runs in a child process of this test binary (its own
//! environment and emulator), so that its peak RSS (`VmHWM`) is its own.
//! The bound: the peak grows by less than [`PEAK_GROWTH_BOUND`] while the
//! answer is refused. Read whole, 256 MiB would raise it by at least that
//! (about 570 MiB measured before the cap).

mod common;

use kafka_iam_oauth::{ErrorKind, Provider};
use kafka_iam_oauth_emulator::{
    Emulator, EmulatorOptions, Fault, FaultMode, Source, SourceFault, ECS_TASK_ROLE,
    OVERSIZED_BYTES,
};
use std::time::{Duration, Instant};

/// Set in a child process: the scenario it runs.
const CHILD: &str = "KIO_BOUNDED_ANSWERS_CHILD";

/// Peak RSS growth allowed while a 256 MiB answer is refused: the cap
/// (64 KiB) plus hyper's read buffers and the SDK's error path are far
/// below it; reading the answer whole is 16 times over it.
const PEAK_GROWTH_BOUND: u64 = 16 * 1024 * 1024;

#[test]
fn child() {
    let Ok(scenario) = std::env::var(CHILD) else {
        return;
    };
    match scenario.as_str() {
        "sts_declared" => sts_oversized(FaultMode::Oversized),
        "sts_chunked" => sts_oversized(FaultMode::OversizedChunked),
        "container" => container_oversized(),
        "imds" => imds_oversized(),
        other => panic!("unknown scenario {other}"),
    }
    println!("scenario {scenario} passed");
}

#[test]
fn an_oversized_sts_answer_with_content_length_is_refused_unread() {
    common::run_in_child(CHILD, "sts_declared", &[]);
}

#[test]
fn an_oversized_chunked_sts_answer_is_refused_at_the_cap() {
    common::run_in_child(CHILD, "sts_chunked", &[]);
}

#[test]
fn an_oversized_container_credentials_answer_is_refused_at_the_cap() {
    common::run_in_child(CHILD, "container", &[]);
}

#[test]
fn an_oversized_imds_answer_is_refused_at_the_cap() {
    common::run_in_child(CHILD, "imds", &[]);
}

/// The process's peak resident set (`VmHWM`), bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    kb * 1024
}

/// The environment every scenario starts from: no AWS files, no IMDS.
fn base_env(dir: &std::path::Path) {
    std::fs::write(dir.join("empty"), "").unwrap();
    std::env::set_var("AWS_CONFIG_FILE", dir.join("empty"));
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", dir.join("empty"));
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    std::env::set_var("AWS_REGION", "eu-west-1");
}

fn provider(url: &str, audience: &str) -> Provider {
    Provider::new(
        &format!("region=eu-west-1,audience={audience},sts_endpoint={url}"),
        "",
    )
    .expect("valid config")
}

/// Waits out the entry's negative cache (`next_attempt_in`).
/// `p.token()` refused while the process's peak RSS grows by less than
/// [`PEAK_GROWTH_BOUND`]; prints the time and growth under `label`.
fn refused_within_bound(label: &str, p: &Provider) -> kafka_iam_oauth::Error {
    let before = peak_rss();
    let started = Instant::now();
    let e = p.token().expect_err("a 256 MiB answer is refused");
    let took = started.elapsed();
    let growth = peak_rss().saturating_sub(before);
    println!(
        "{label}: {OVERSIZED_BYTES}-byte answer refused in {} ms, peak RSS growth {} KiB: {e}",
        took.as_millis(),
        growth / 1024
    );
    assert!(
        growth < PEAK_GROWTH_BOUND,
        "peak RSS grew by {growth} bytes (bound {PEAK_GROWTH_BOUND})"
    );
    e
}

fn wait_for_next_attempt(p: &Provider) {
    if let Some(wait) = p.stats().next_attempt_in {
        std::thread::sleep(wait + Duration::from_millis(50));
    }
}

fn sts_oversized(mode: FaultMode) {
    let dir = tempfile::tempdir().unwrap();
    base_env(dir.path());
    std::env::set_var("AWS_ACCESS_KEY_ID", common::USER_KEY);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", common::USER_SECRET);
    let emu = Emulator::start(EmulatorOptions::default()).unwrap();
    let url = emu.url().trim_end_matches('/').to_string();
    // Warm: the SDK, TLS provider and runtime are loaded before measuring.
    provider(&url, "warm").token().expect("a good answer first");

    let p = provider(&url, "big");
    emu.set_fault(Fault::new(mode));
    let calls = common::sts_calls(&emu);
    let e = refused_within_bound(&format!("{mode:?}"), &p);
    assert_eq!(e.kind(), ErrorKind::Sts, "{e}");
    let text = e.to_string();
    assert!(
        text.contains(&format!("{url}/")),
        "the endpoint is named: {text}"
    );
    assert!(
        text.contains("65536-byte limit"),
        "the cap is named: {text}"
    );
    match mode {
        FaultMode::Oversized => assert!(
            text.contains(&format!("{OVERSIZED_BYTES} bytes (Content-Length)"))
                && text.contains("without reading it"),
            "{text}"
        ),
        _ => assert!(text.contains("no Content-Length"), "{text}"),
    }
    assert_eq!(
        common::sts_calls(&emu) - calls,
        1,
        "one STS call per failure: neither the SDK nor the mint retries an oversized answer"
    );

    // The next good answer is used.
    emu.clear_fault();
    wait_for_next_attempt(&p);
    let t = p.token().expect("the next good answer");
    assert_eq!(t.principal(), common::USER_ARN);
    assert_eq!(common::sts_calls(&emu) - calls, 2);
}

fn container_oversized() {
    let dir = tempfile::tempdir().unwrap();
    base_env(dir.path());
    let emu = Emulator::start(EmulatorOptions::default()).unwrap();
    let url = emu.url().trim_end_matches('/').to_string();
    let endpoint = format!("{url}/_emulator/ecs/{}", ECS_TASK_ROLE.name);
    std::env::set_var("AWS_CONTAINER_CREDENTIALS_FULL_URI", &endpoint);
    let requests = || {
        emu.source_stats()
            .requests
            .get("ContainerCredentials")
            .copied()
            .unwrap_or(0)
    };
    provider(&url, "warm").token().expect("a good answer first");

    emu.set_source_fault(Source::Container, SourceFault::Oversized);
    // Another shared part (the deadline), so another credential
    // chain: the warm entry's cached credentials are not reused.
    let p2 = Provider::new(
        &format!("region=eu-west-1,audience=big,sts_endpoint={url},mint_timeout_seconds=9"),
        "",
    )
    .expect("valid config");
    let before_requests = requests();
    let e = refused_within_bound("container", &p2);
    assert_eq!(e.kind(), ErrorKind::Credentials, "{e}");
    let text = e.to_string();
    assert!(text.contains(&endpoint), "the endpoint is named: {text}");
    assert!(text.contains("65536-byte limit"), "{text}");
    assert_eq!(
        requests() - before_requests,
        1,
        "one request per failure: the SDK's container client does not retry it"
    );

    emu.set_source_fault(Source::Container, SourceFault::None);
    wait_for_next_attempt(&p2);
    let t = p2.token().expect("the next good answer");
    assert_eq!(t.principal(), ECS_TASK_ROLE.arn);
}

fn imds_oversized() {
    let dir = tempfile::tempdir().unwrap();
    base_env(dir.path());
    let emu = Emulator::start(EmulatorOptions::default()).unwrap();
    let url = emu.url().trim_end_matches('/').to_string();
    std::env::remove_var("AWS_EC2_METADATA_DISABLED");
    std::env::set_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url);
    let requests = || {
        emu.source_stats()
            .requests
            .get("IMDS")
            .copied()
            .unwrap_or(0)
    };
    // Not warmed first: the bound holds with the chain's first load in it.
    emu.set_source_fault(Source::Imds, SourceFault::Oversized);
    let p = provider(&url, "imds");
    let e = refused_within_bound("imds", &p);
    println!("imds: {} requests", requests());
    // aws-config's IMDS provider reports any IMDS failure as "no
    // credentials" to its chain: the refusal's wording does not reach the
    // error (the container provider's does, above).
    assert_eq!(e.kind(), ErrorKind::Credentials, "{e}");
    assert_eq!(
        requests(),
        1,
        "one request: the token PUT's answer is refused, neither retried nor followed"
    );

    emu.set_source_fault(Source::Imds, SourceFault::None);
    wait_for_next_attempt(&p);
    p.token().expect("the next good answer");
}
