//! The binary (ready line, ready file, signals, HTTP shutdown) and the
//! control API / discovery documents over plain HTTP.

mod common;

use common::*;
use kafka_iam_oauth_emulator::{Emulator, EmulatorOptions};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kafka-iam-oauth-emulator");

/// Starts the binary and returns it with the URL from its ready line.
fn spawn(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn emulator binary");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .strip_prefix("kafka-iam-oauth-emulator ready url=")
        .unwrap_or_else(|| panic!("unexpected ready line {line:?}"))
        .trim_end_matches('\n')
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (child, url)
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "emulator did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[test]
fn binary_prints_the_ready_line_writes_the_ready_file_and_stops_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("kio-emulator-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ready = dir.join("url");
    let (mut child, url) = spawn(&["--port", "0", "--ready-file", ready.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&ready).unwrap(), format!("{url}\n"));
    let discovery = http(&url, "GET", "/.well-known/openid-configuration", None).json();
    assert_eq!(discovery["issuer"], url.as_str());
    signal(&child, "-TERM");
    assert!(wait_exit(&mut child).success());
    // Nothing else was printed on stdout.
    let mut rest = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut rest).unwrap();
    assert_eq!(rest, "");
}

#[test]
fn binary_options_and_shutdown_over_http_and_sigint() {
    let (mut child, url) = spawn(&[
        "--bind",
        "127.0.0.1",
        "--issuer=https://issuer.example/sts",
        "--allowed-audience",
        "kafka-a",
        "--allowed-audience",
        "kafka-b",
        "--max-duration-seconds",
        "900",
        "--federation-disabled",
        "--quiet",
    ]);
    let policy = http(&url, "POST", "/_emulator/policy", Some("{}")).json();
    assert_eq!(
        policy,
        json!({
            "federation_enabled": false,
            "allowed_audiences": ["kafka-a", "kafka-b"],
            "max_duration_seconds": 900,
            "allowed_algorithms": ["ES384", "RS256"],
        })
    );
    let discovery = http(&url, "GET", "/.well-known/openid-configuration", None).json();
    assert_eq!(discovery["issuer"], "https://issuer.example/sts");
    assert_eq!(
        discovery["jwks_uri"],
        format!("{url}/.well-known/jwks.json")
    );
    assert_eq!(
        http(&url, "POST", "/_emulator/shutdown", None).json(),
        json!({"shutdown": true})
    );
    assert!(wait_exit(&mut child).success());

    let (mut child, _) = spawn(&[]);
    signal(&child, "-INT");
    assert!(wait_exit(&mut child).success());
}

#[test]
fn binary_rejects_bad_arguments() {
    for args in [
        &["--nope"][..],
        &["--port"],
        &["--port", "x"],
        &["--max-duration-seconds", "10"],
        &["--rate-limit-rps", "0"],
        &["--rate-limit-rps", "NaN"],
        &["--rate-limit-rps", "5", "--rate-limit-burst", "0"],
        &["--rate-limit-burst", "5"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
    }
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--ready-file"));
}

#[test]
fn print_identities_gives_every_built_in_user_as_variables_and_exits() {
    let out = Command::new(BIN)
        .arg("--print-identities")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout, kafka_iam_oauth_emulator::identity_variables());
    for user in kafka_iam_oauth_emulator::USERS {
        let name = user.env_name;
        for line in [
            format!("KIO_{name}_ACCESS_KEY_ID={}", user.access_key_id),
            format!("KIO_{name}_SECRET_ACCESS_KEY={}", user.secret_access_key),
            format!("KIO_{name}_ARN={}", user.arn),
        ] {
            assert!(stdout.lines().any(|l| l == line), "{line} missing");
        }
    }
    // Only on its own: it never starts serving.
    let out = Command::new(BIN)
        .args(["--print-identities", "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn control_api_and_well_known_documents() {
    let emu = Emulator::start(EmulatorOptions::default()).unwrap();
    let url = emu.url();

    let stats = http(url, "GET", "/_emulator/stats", None);
    assert!(stats
        .head
        .to_ascii_lowercase()
        .contains("content-type: application/json"));
    assert_eq!(
        stats.json(),
        json!({
            "requests": {"GetWebIdentityToken": 0, "GetCallerIdentity": 0, "AssumeRole": 0},
            "tokens_issued": 0,
            "last_request": null,
            "rate_limit": null,
            "throttled": 0,
            "per_second": [],
        })
    );

    let jwks = http(url, "GET", "/.well-known/jwks.json", None).json();
    let keys = jwks["keys"].as_array().unwrap();
    let rsa = keys.iter().find(|k| k["kid"] == "RSA_0").unwrap();
    assert_eq!(
        (&rsa["kty"], &rsa["alg"], &rsa["use"], &rsa["e"]),
        (
            &json!("RSA"),
            &json!("RS256"),
            &json!("sig"),
            &json!("AQAB")
        )
    );
    let ec = keys.iter().find(|k| k["kid"] == "EC384_0").unwrap();
    assert_eq!(
        (&ec["kty"], &ec["crv"], &ec["alg"], &ec["use"]),
        (
            &json!("EC"),
            &json!("P-384"),
            &json!("ES384"),
            &json!("sig")
        )
    );
    for key in keys {
        assert!(
            key.get("d").is_none() && key.get("p").is_none(),
            "no private parts"
        );
    }

    let discovery = http(url, "GET", "/.well-known/openid-configuration", None).json();
    assert_eq!(discovery["issuer"], url);
    assert_eq!(
        discovery["jwks_uri"],
        format!("{url}/.well-known/jwks.json")
    );
    for field in [
        "id_token_signing_alg_values_supported",
        "response_types_supported",
        "subject_types_supported",
    ] {
        assert!(discovery[field].is_array(), "{field}");
    }

    let session = http(
        url,
        "GET",
        "/_emulator/session?principal=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&seconds=60",
        None,
    )
    .json();
    assert_eq!(session["Version"], 1);
    assert!(session["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert_eq!(session["SecretAccessKey"].as_str().unwrap().len(), 40);
    assert!(session["SessionToken"].as_str().unwrap().len() > 100);
    assert!(session["Expiration"].as_str().unwrap().ends_with('Z'));
    for bad in [
        "/_emulator/session?seconds=5",
        "/_emulator/session?principal=x&seconds=0",
    ] {
        assert_eq!(http(url, "GET", bad, None).status, 400, "{bad}");
    }

    assert_eq!(
        http(
            url,
            "POST",
            "/_emulator/faults",
            Some(r#"{"mode": "drop", "count": 3}"#)
        )
        .json(),
        json!({"fault": {"mode": "drop", "count": 3}})
    );
    assert_eq!(
        http(
            url,
            "POST",
            "/_emulator/policy",
            Some(r#"{"allowed_audiences": ["x"], "max_duration_seconds": 600}"#)
        )
        .json()["allowed_audiences"],
        json!(["x"])
    );
    assert_eq!(
        http(url, "POST", "/_emulator/policy", Some(r#"{"bogus": 1}"#)).status,
        400
    );
    assert_eq!(
        http(
            url,
            "POST",
            "/_emulator/faults",
            Some(r#"{"mode": "explode"}"#)
        )
        .status,
        400
    );
    assert_eq!(
        http(url, "POST", "/_emulator/policy", Some("not json")).status,
        400
    );
    assert_eq!(
        http(url, "POST", "/_emulator/reset", None).json(),
        json!({"reset": true})
    );
    assert_eq!(emu.policy(), Default::default());
    assert_eq!(http(url, "GET", "/nope", None).status, 404);

    // An unsigned STS request is refused in the STS error shape and counted.
    let r = http(
        url,
        "GET",
        "/?Action=GetCallerIdentity&Version=2011-06-15",
        None,
    );
    assert_eq!(r.status, 403);
    assert!(
        r.body.contains("<Code>MissingAuthenticationToken</Code>"),
        "{}",
        r.body
    );
    assert!(r
        .body
        .starts_with("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"));
    let r = http(
        url,
        "GET",
        "/?Action=GetCallerIdentity&Version=2010-01-01",
        None,
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("<Code>InvalidAction</Code>"));
    let r = http(url, "POST", "/", None);
    assert!(r.body.contains("<Code>MissingAction</Code>"));
    assert_eq!(emu.stats().requests["GetCallerIdentity"], 2);
}

#[test]
fn isolated_twin_shares_keys_and_issuer_but_not_faults_or_policy() {
    let dir = std::env::temp_dir().join(format!("kio-emulator-twin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let twin_file = dir.join("twin.url");
    let mut child = Command::new(BIN)
        .args([
            "--quiet",
            "--isolated-ready-file",
            twin_file.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn emulator binary");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.next().unwrap().unwrap();
    let url = url
        .strip_prefix("kafka-iam-oauth-emulator ready url=")
        .unwrap()
        .to_string();
    let twin = lines.next().unwrap().unwrap();
    let twin = twin
        .strip_prefix("kafka-iam-oauth-emulator isolated url=")
        .unwrap()
        .to_string();
    assert_ne!(url, twin);
    assert_eq!(
        std::fs::read_to_string(&twin_file).unwrap(),
        format!("{twin}\n")
    );

    // Same keys and issuer: a broker trusting the first accepts the twin's tokens.
    let jwks = |base: &str| http(base, "GET", "/.well-known/jwks.json", None).json();
    assert_eq!(jwks(&url), jwks(&twin));
    let issuer = |base: &str| {
        http(base, "GET", "/.well-known/openid-configuration", None).json()["issuer"].clone()
    };
    assert_eq!(issuer(&url), url.as_str());
    assert_eq!(issuer(&twin), url.as_str());

    // Own state: a policy and a fault set on the first leave the twin alone.
    http(
        &url,
        "POST",
        "/_emulator/policy",
        Some(r#"{"federation_enabled": false}"#),
    );
    http(
        &url,
        "POST",
        "/_emulator/faults",
        Some(r#"{"mode": "throttle", "count": 5}"#),
    );
    let policy = |base: &str| {
        http(base, "POST", "/_emulator/policy", Some("{}")).json()["federation_enabled"].clone()
    };
    assert_eq!(policy(&url), false);
    assert_eq!(policy(&twin), true);

    // Stopping the process stops both.
    signal(&child, "-TERM");
    assert!(wait_exit(&mut child).success());
    assert!(std::net::TcpStream::connect(twin.trim_start_matches("http://")).is_err());
}

#[test]
fn binary_starts_with_a_rate_limit() {
    let (mut child, url) = spawn(&["--rate-limit-rps", "0.5", "--rate-limit-burst", "3"]);
    let limit = http(&url, "GET", "/_emulator/rate-limit", None).json();
    assert_eq!(limit, json!({"rps": 0.5, "burst": 3}));
    // Without --rate-limit-burst the bucket holds one second's worth.
    let (mut other, other_url) = spawn(&["--rate-limit-rps", "2.5"]);
    let limit = http(&other_url, "GET", "/_emulator/rate-limit", None).json();
    assert_eq!(limit, json!({"rps": 2.5, "burst": 3}));
    for c in [&mut child, &mut other] {
        signal(c, "-TERM");
        assert!(wait_exit(c).success());
    }
}
