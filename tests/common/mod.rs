//! Shared fixtures for the Rust integration tests: a fresh emulator per
//! test, its control API over plain HTTP, and process environment set up
//! once so the AWS SDK never looks past loopback.
#![allow(dead_code)]

use kafka_iam_oauth::Provider;
use kafka_iam_oauth_emulator::{Emulator, EmulatorOptions, RunningEmulator};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Once;
use std::time::Duration;

pub const USER_KEY: &str = "AKIAEMULATORUSER0001";
pub const USER_SECRET: &str = "emulator-secret-my-iam-user";
pub const USER_ARN: &str = "arn:aws:iam::123456789012:user/my-iam-user";

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

/// One HTTP/1.1 request to the emulator's control API; returns the JSON body.
pub fn control(emu: &RunningEmulator, method: &str, path: &str, body: Option<Value>) -> Value {
    let url = emu.url();
    let hostport = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(hostport).expect("connect to emulator");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read control response");
    let (head, payload) = response.split_once("\r\n\r\n").expect("HTTP response");
    assert!(head.starts_with("HTTP/1.1 2"), "{method} {path}: {head}");
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(payload)
    } else {
        payload.to_string()
    };
    serde_json::from_str(&payload).unwrap_or(Value::Null)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// GetWebIdentityToken requests the emulator has received (all outcomes).
pub fn sts_calls(emu: &RunningEmulator) -> u64 {
    control(emu, "GET", "/_emulator/stats", None)["requests"]["GetWebIdentityToken"]
        .as_u64()
        .unwrap_or(0)
}

pub fn fault(emu: &RunningEmulator, spec: Value) {
    control(emu, "POST", "/_emulator/faults", Some(spec));
}

pub fn policy(emu: &RunningEmulator, spec: Value) {
    control(emu, "POST", "/_emulator/policy", Some(spec));
}
