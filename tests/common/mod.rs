//! Shared fixtures for the Rust integration tests: a fresh in-process
//! emulator per test (driven through its Rust API: `set_fault`,
//! `set_policy`, `stats`, ...), its built-in identities, and process
//! environment set up once so the AWS SDK never looks past loopback.
#![allow(dead_code)]

use kafka_iam_oauth::Provider;
use kafka_iam_oauth_emulator::{Emulator, EmulatorOptions, RunningEmulator, USER};
#[allow(unused_imports)] // not every test file uses every one
pub use kafka_iam_oauth_emulator::{Fault, FaultMode, Policy};
use std::sync::Once;

// my-iam-user, the emulator's built-in identity the tests sign as.
pub const USER_KEY: &str = USER.access_key_id;
pub const USER_SECRET: &str = USER.secret_access_key;
pub const USER_ARN: &str = USER.arn;

/// Sets the process environment once, before any test touches the SDK:
/// static test credentials, no IMDS, no real AWS config files.
/// `credentials = false` leaves the environment without any credentials.
pub fn setup_env(credentials: bool) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let dir = std::env::temp_dir().join(format!("kio-rust-tests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty");
        std::fs::write(&empty, "").unwrap();
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var("AWS_CONFIG_FILE", &empty);
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", &empty);
        for v in [
            "AWS_PROFILE",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_STS",
            "AWS_SESSION_TOKEN",
        ] {
            std::env::remove_var(v);
        }
        if credentials {
            std::env::set_var("AWS_ACCESS_KEY_ID", USER_KEY);
            std::env::set_var("AWS_SECRET_ACCESS_KEY", USER_SECRET);
        } else {
            std::env::remove_var("AWS_ACCESS_KEY_ID");
            std::env::remove_var("AWS_SECRET_ACCESS_KEY");
        }
    });
}

/// A fresh emulator for one test (faults and counters are per instance).
pub fn emulator() -> RunningEmulator {
    Emulator::start(EmulatorOptions::default()).expect("start emulator")
}

/// A config string for `emu` with a unique audience, so each test gets its
/// own process-wide cache entry.
pub fn config(emu: &RunningEmulator, test: &str, extra: &str) -> String {
    let mut s = format!(
        "region=eu-west-1,audience=kafka-{test},sts_endpoint={}",
        emu.url().trim_end_matches('/')
    );
    if !extra.is_empty() {
        s.push(',');
        s.push_str(extra);
    }
    s
}

pub fn provider(emu: &RunningEmulator, test: &str, extra: &str) -> Provider {
    Provider::new(&config(emu, test, extra), "").expect("valid config")
}

/// GetWebIdentityToken requests the emulator has received (all outcomes).
pub fn sts_calls(emu: &RunningEmulator) -> u64 {
    emu.stats().requests["GetWebIdentityToken"]
}

/// One HTTP/1.1 request on loopback (the emulator's control API and
/// source endpoints over the wire, as another process would call them):
/// status and body.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut s = std::net::TcpStream::connect(host).expect("connect");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("send");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("receive");
    let status = resp
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("an HTTP status line");
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Runs this test binary's test `child` in a child process whose
/// environment holds only `PATH`, a fresh `HOME`, `TMPDIR`, `marker` =
/// `scenario` and `env` (the SDK reads the process environment, so each
/// credential source gets exactly what its runtime would set). Asserts
/// that the child printed `scenario <scenario> passed` and exited 0;
/// returns its stdout and stderr.
pub fn run_in_child(marker: &str, scenario: &str, env: &[(String, String)]) -> (String, String) {
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("TMPDIR", std::env::temp_dir())
        .env(marker, scenario)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    println!("--- {scenario} stdout:\n{stdout}");
    println!("--- {scenario} stderr:\n{stderr}");
    assert!(
        out.status.success() && stdout.contains(&format!("scenario {scenario} passed")),
        "scenario {scenario} failed ({:?})",
        out.status
    );
    (stdout, stderr)
}
