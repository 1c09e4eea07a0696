//! The `kafka-iam-oauth` binary against an in-process emulator (no broker):
//! whoami / token for a user, an assumed role and a `role_arn`
//! configuration; doctor naming the failing STS step; serve under
//! SIGTERM, a read-only directory, a second serve, and STS down past a
//! refresh. Every child process gets its own environment (loopback only).

use kafka_iam_oauth_emulator::{
    Emulator, EmulatorOptions, Fault, FaultMode, Policy, RunningEmulator, NO_ACL_USER, USER,
};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
mod common;

use common::{assert_failed_at, cli, finish, last_step, step_names, text, Creds};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

/// Longest any one command may take here (it mints at most a few tokens
/// from a local emulator).
const COMMAND_BOUND: Duration = Duration::from_secs(30);
const ROLE: &str = "arn:aws:iam::123456789012:role/cli-test-role";

fn emulator() -> RunningEmulator {
    Emulator::start(EmulatorOptions::default()).expect("start emulator")
}

fn config(emu: &RunningEmulator, extra: &str) -> String {
    let mut c = format!(
        "region=eu-west-1,audience=cli.example.com,sts_endpoint={}",
        emu.url()
    );
    if !extra.is_empty() {
        c.push(',');
        c.push_str(extra);
    }
    c
}

fn user() -> Creds {
    Creds::keys(USER.access_key_id, USER.secret_access_key)
}

/// Runs to completion within [`COMMAND_BOUND`].
fn run_cli(c: std::process::Command) -> Output {
    common::run(c, COMMAND_BOUND)
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(o)))
}

/// Nothing secret in `out`: no secret key, no session token, no JWT
/// signature.
fn assert_no_secrets(out: &str, creds: &Creds, jwt: &str) {
    if let Creds::Keys(_, secret, session) = creds {
        assert!(
            !out.contains(secret.as_str()),
            "secret key in output: {out}"
        );
        if let Some(s) = session {
            assert!(!out.contains(s.as_str()), "session token in output");
        }
    }
    let signature = jwt.rsplit('.').next().unwrap();
    assert!(signature.len() > 20);
    assert!(!out.contains(signature), "JWT signature in output: {out}");
    assert!(!out.contains(jwt), "JWT in output");
}

fn raw_token(creds: &Creds, config: &str) -> String {
    let o = run_cli(cli(creds, &["--config", config, "token", "--raw"]));
    assert!(o.status.success(), "{}", text(&o));
    let jwt = String::from_utf8(o.stdout).unwrap().trim().to_string();
    assert_eq!(jwt.split('.').count(), 3, "{jwt}");
    jwt
}

/// whoami and token (human and --json) for one identity: the documented
/// fields, the expected principal, and no secret anywhere.
fn whoami_and_token(creds: &Creds, config: &str, principal: &str, provider: &str) -> Value {
    let jwt = raw_token(creds, config);
    let who = run_cli(cli(creds, &["--config", config, "--json", "whoami"]));
    assert!(who.status.success(), "{}", text(&who));
    let w = json(&who);
    for field in [
        "caller_arn",
        "account",
        "user_id",
        "region",
        "sts_endpoint",
        "principal",
        "kafka_principal",
        "sub",
        "principal_id",
        "warning",
        "credentials",
    ] {
        assert!(w.get(field).is_some(), "whoami --json lacks {field}: {w}");
    }
    assert_eq!(w["principal"], principal, "{w}");
    assert_eq!(w["kafka_principal"], format!("User:{principal}"));
    // The SDK provider's name, however the core words the source around it.
    assert!(
        w["credentials"]["provider"]
            .as_str()
            .unwrap()
            .contains(provider),
        "{w}"
    );
    assert_no_secrets(&text(&who), creds, &jwt);
    let human = run_cli(cli(creds, &["--config", config, "whoami"]));
    assert!(human.status.success());
    assert!(text(&human).contains(&format!("User:{principal}")));
    assert_no_secrets(&text(&human), creds, &jwt);

    let tok = run_cli(cli(creds, &["--config", config, "--json", "token"]));
    assert!(tok.status.success(), "{}", text(&tok));
    let t = json(&tok);
    for field in [
        "principal",
        "kafka_principal",
        "expires_at",
        "expires_in_seconds",
        "refresh_at",
        "sub",
        "principal_id",
        "header",
        "claims",
    ] {
        assert!(t.get(field).is_some(), "token --json lacks {field}: {t}");
    }
    assert_eq!(t["principal"], principal);
    assert_eq!(t["claims"]["sub"], principal);
    assert!(t["header"]["kid"].is_string(), "{t}");
    assert!(t["expires_in_seconds"].as_u64().unwrap() > 60);
    assert_no_secrets(&text(&tok), creds, &jwt);
    let human = run_cli(cli(creds, &["--config", config, "token"]));
    assert!(human.status.success());
    assert_no_secrets(&text(&human), creds, &jwt);
    w
}

#[test]
fn whoami_and_token_for_a_user() {
    let emu = emulator();
    let w = whoami_and_token(&user(), &config(&emu, ""), USER.arn, "EnvironmentVariable");
    assert_eq!(w["caller_arn"], USER.arn);
    assert_eq!(w["warning"], Value::Null);
}

#[test]
fn whoami_and_token_for_an_assumed_role_session() {
    let emu = emulator();
    let s = emu.session_credentials(ROLE, Duration::from_secs(3600));
    let creds = Creds::Keys(
        s.access_key_id.clone(),
        s.secret_access_key.clone(),
        Some(s.session_token.clone()),
    );
    let w = whoami_and_token(&creds, &config(&emu, ""), ROLE, "EnvironmentVariable");
    assert!(w["caller_arn"].as_str().unwrap().len() > 10, "{w}");
}

#[test]
fn whoami_and_token_for_a_role_arn_config() {
    let emu = emulator();
    let cfg = config(&emu, &format!("role_arn={ROLE}"));
    let w = whoami_and_token(&user(), &cfg, ROLE, "AssumeRoleProvider");
    assert_eq!(w["credentials"]["role_arn"], ROLE);
    // The caller is the role's session, the broker sees the role: said.
    assert!(
        w["caller_arn"].as_str().unwrap().contains("assumed-role"),
        "{w}"
    );
    assert!(
        w["warning"]
            .as_str()
            .unwrap()
            .contains(&format!("User:{ROLE}")),
        "{w}"
    );
}

#[test]
fn config_from_env_and_properties_file_and_usage_errors() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let props = dir.path().join("client.properties");
    std::fs::write(
        &props,
        format!(
            "bootstrap.servers=127.0.0.1:1\nsasl.oauthbearer.config={}\n",
            config(&emu, "")
        ),
    )
    .unwrap();
    let o = run_cli(cli(
        &user(),
        &["--properties", props.to_str().unwrap(), "--json", "token"],
    ));
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(json(&o)["principal"], USER.arn);
    let mut c = cli(&user(), &["--json", "token"]);
    c.env("KAFKA_IAM_OAUTH_CONFIG", config(&emu, ""));
    assert!(run_cli(c).status.success());
    // No configuration, a bad key, a bad flag: exit 2 with the reason.
    let o = run_cli(cli(&user(), &["token"]));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("KAFKA_IAM_OAUTH_CONFIG"));
    let o = run_cli(cli(
        &user(),
        &[
            "--config",
            "region=eu-west-1,audience=a,colour=blue",
            "--json",
            "token",
        ],
    ));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        json(&o)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{}",
        text(&o)
    );
    assert_eq!(
        run_cli(cli(&user(), &["token", "--no-such-flag"]))
            .status
            .code(),
        Some(2)
    );
}

/// doctor --json: the failed step's name and the exit status.
fn doctor(creds: &Creds, config: &str) -> (Option<i32>, Value) {
    let o = run_cli(cli(creds, &["--config", config, "--json", "doctor"]));
    let v = json(&o);
    (o.status.code(), v)
}

#[test]
fn doctor_names_the_failing_sts_step() {
    let emu = emulator();
    let cfg = config(&emu, "");
    let (code, v) = doctor(&user(), &cfg);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["failed_step"], Value::Null);
    let names = step_names(&v);
    assert_eq!(
        names,
        [
            "config",
            "credentials",
            "sts_endpoint",
            "federation",
            "permission",
            "token",
            "claims"
        ]
    );

    assert_failed_at(doctor(&Creds::None, &cfg), 1, "credentials");

    assert_failed_at(doctor(&user(), "region=eu-west-1"), 2, "config");

    emu.set_policy(Policy {
        federation_enabled: false,
        ..Policy::default()
    });
    let v = assert_failed_at(doctor(&user(), &cfg), 1, "federation");
    let failed = last_step(&v).clone();
    assert!(failed["error"]["aws_code"]
        .as_str()
        .unwrap()
        .contains("OutboundWebIdentityFederationDisabled"));

    emu.set_policy(Policy {
        allowed_audiences: Some(vec!["another.example.com".into()]),
        ..Policy::default()
    });
    let v = assert_failed_at(doctor(&user(), &cfg), 1, "permission");
    let failed = last_step(&v).clone();
    assert_eq!(failed["error"]["aws_code"], "AccessDenied");
    assert!(failed["message"]
        .as_str()
        .unwrap()
        .contains("sts:GetWebIdentityToken"));

    // The claims check against what a broker expects.
    emu.set_policy(Policy::default());
    let o = run_cli(cli(
        &user(),
        &[
            "--config",
            &cfg,
            "--json",
            "doctor",
            "--audience",
            "broker.example.com",
        ],
    ));
    assert_eq!(json(&o)["failed_step"], "claims", "{}", text(&o));
    let o = run_cli(cli(
        &user(),
        &[
            "--config",
            &cfg,
            "--json",
            "doctor",
            "--issuer",
            emu.issuer(),
            "--audience",
            "cli.example.com",
        ],
    ));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

// ---- serve ------------------------------------------------------------------

fn spawn_serve(creds: &Creds, config: &str, file: &Path) -> Child {
    cli(
        creds,
        &[
            "--config",
            config,
            "serve",
            "--token-file",
            file.to_str().unwrap(),
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

/// Waits up to `bound` for `cond`.
fn wait_for(bound: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let started = Instant::now();
    while !cond() {
        assert!(started.elapsed() < bound, "{what} not within {bound:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: signals our own child.
    assert_eq!(unsafe { libc_kill(child.id() as i32, sig) }, 0);
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}
const SIGTERM: i32 = 15;
const SIGINT: i32 = 2;

#[test]
fn serve_writes_0600_atomically_refuses_a_second_and_exits_0_on_signals() {
    let emu = emulator();
    let cfg = config(&emu, "");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token.jwt");
    let first = spawn_serve(&user(), &cfg, &file);
    wait_for(COMMAND_BOUND, "the token file", || file.exists());
    let jwt = std::fs::read_to_string(&file).unwrap();
    assert_eq!(jwt.split('.').count(), 3);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A second serve on the same file refuses, exit 2.
    let o = run_cli(cli(
        &user(),
        &[
            "--config",
            &cfg,
            "serve",
            "--token-file",
            file.to_str().unwrap(),
        ],
    ));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("another kafka-iam-oauth serve"),
        "{}",
        text(&o)
    );

    signal(&first, SIGTERM);
    let o = finish(first, Duration::from_secs(10));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let log = text(&o);
    assert!(
        log.contains("wrote a token for User:") && log.contains("SIGTERM"),
        "{log}"
    );
    assert_no_secrets(&log, &user(), &jwt);
    // No temporary file left behind; the token stays.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    assert!(file.exists());

    // Once the first is gone the lock is free again; SIGINT also exits 0.
    let again = spawn_serve(&user(), &cfg, &file);
    wait_for(COMMAND_BOUND, "a fresh token", || {
        std::fs::read_to_string(&file).unwrap() != jwt
    });
    signal(&again, SIGINT);
    assert_eq!(
        finish(again, Duration::from_secs(10)).status.code(),
        Some(0)
    );

    // --once: one token and exit 0.
    let o = run_cli(cli(
        &user(),
        &[
            "--config",
            &cfg,
            "serve",
            "--once",
            "--token-file",
            file.to_str().unwrap(),
        ],
    ));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn serve_into_a_read_only_directory_fails_clearly() {
    if unsafe { geteuid() } == 0 {
        // root writes anywhere; a read-only bind is what refuses root, so
        // use a path under /proc, which nobody can create files in.
        let o = run_cli(cli(
            &user(),
            &[
                "--config",
                "region=eu-west-1,audience=a",
                "serve",
                "--token-file",
                "/proc/kio-cli-token.jwt",
            ],
        ));
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            text(&o).contains("directory must be writable"),
            "{}",
            text(&o)
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o500)).unwrap();
    let file = dir.path().join("token.jwt");
    let o = run_cli(cli(
        &user(),
        &[
            "--config",
            "region=eu-west-1,audience=a",
            "serve",
            "--token-file",
            file.to_str().unwrap(),
        ],
    ));
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("directory must be writable"),
        "{}",
        text(&o)
    );
}

extern "C" {
    fn geteuid() -> u32;
}

/// Token lifetime for the outage test: STS's minimum.
const SHORT_TOKEN_SECONDS: u64 = 60;

// About 60 s (one token lifetime): run by `make test-cli` (feature
// broker-tests), not by every `cargo test`.
#[test]
#[cfg_attr(not(feature = "broker-tests"), ignore = "60 s; make test-cli runs it")]
fn serve_keeps_the_last_token_through_an_sts_outage_then_reports_its_expiry() {
    let emu = emulator();
    let cfg = config(&emu, &format!("duration_seconds={SHORT_TOKEN_SECONDS}"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token.jwt");
    let mut child = spawn_serve(&user(), &cfg, &file);
    wait_for(COMMAND_BOUND, "the token file", || file.exists());
    let jwt = std::fs::read_to_string(&file).unwrap();
    // STS down from now on: every refresh fails.
    emu.set_fault(Fault::new(FaultMode::Unavailable));
    // Past the token's expiry (plus slack for the refresh schedule).
    let bound = Duration::from_secs(SHORT_TOKEN_SECONDS + 30);
    let stderr = child.stderr.take().unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let log = log.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                log.lock().unwrap().push_str(&(line + "\n"));
            }
        })
    };
    wait_for(bound, "the expiry report", || {
        log.lock().unwrap().contains("EXPIRED")
    });
    // The file still holds the last valid token (never emptied or replaced).
    assert_eq!(std::fs::read_to_string(&file).unwrap(), jwt);
    // The failed background refreshes are logged while the token is still
    // valid; the expiry report names STS's error.
    assert!(
        log.lock().unwrap().contains("a background refresh failed"),
        "{}",
        log.lock().unwrap()
    );
    assert!(
        log.lock().unwrap().contains("ServiceUnavailable"),
        "{}",
        log.lock().unwrap()
    );
    signal(&child, SIGTERM);
    let status = finish(child, Duration::from_secs(10)).status;
    reader.join().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_no_secrets(&log.lock().unwrap(), &user(), &jwt);
    assert!(
        emu.stats()
            .requests
            .get("GetWebIdentityToken")
            .copied()
            .unwrap_or(0)
            >= 2
    );
}

#[test]
fn no_acl_identity_whoami() {
    let emu = emulator();
    let creds = Creds::Keys(
        NO_ACL_USER.access_key_id.into(),
        NO_ACL_USER.secret_access_key.into(),
        None,
    );
    let w = whoami_and_token(
        &creds,
        &config(&emu, ""),
        NO_ACL_USER.arn,
        "EnvironmentVariable",
    );
    assert_eq!(w["caller_arn"], NO_ACL_USER.arn);
}

#[test]
fn whoami_and_token_show_principal_id_when_it_differs_from_sub() {
    let emu = emulator();
    let subject = "alice@example.com";
    let s = emu.session_credentials_with_origin(ROLE, Some(subject), Duration::from_secs(3600));
    let creds = Creds::Keys(
        s.access_key_id.clone(),
        s.secret_access_key.clone(),
        Some(s.session_token.clone()),
    );
    let cfg = config(&emu, "subject_mode=origin_identity");
    let w = whoami_and_token(&creds, &cfg, subject, "EnvironmentVariable");
    assert_eq!(w["sub"], subject, "{w}");
    assert_eq!(w["principal_id"], ROLE, "{w}");
    let o = run_cli(cli(&creds, &["--config", &cfg, "token"]));
    assert!(
        text(&o).contains(&format!("principal_id: {ROLE} (differs from sub)")),
        "{}",
        text(&o)
    );
}

#[test]
fn verify_finds_the_keys_through_oidc_discovery() {
    let emu = emulator();
    let cfg = config(&emu, "");
    // No token: verify mints one; no --jwks: the issuer's discovery document.
    let o = run_cli(cli(
        &user(),
        &[
            "--config",
            &cfg,
            "--json",
            "verify",
            "--issuer",
            emu.issuer(),
        ],
    ));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = json(&o);
    assert_eq!(v["first_failure"], Value::Null);
    let kid = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "kid")
        .unwrap();
    assert!(
        kid["message"]
            .as_str()
            .unwrap()
            .contains("/.well-known/jwks.json"),
        "{v}"
    );
    // A token from stdin, checked against another issuer: exit 1 at iss.
    let jwt = raw_token(&user(), &cfg);
    let mut c = cli(
        &user(),
        &[
            "--json",
            "verify",
            "-",
            "--issuer",
            "https://other.example.com",
            "--audience",
            "cli.example.com",
            "--jwks",
            &emu.jwks_url(),
        ],
    );
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(jwt.as_bytes())
            .unwrap();
    }
    let o = finish(child, COMMAND_BOUND);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(json(&o)["first_failure"]["check"], "iss");
    assert_no_secrets(&String::from_utf8_lossy(&o.stdout), &user(), &jwt);
}

// About 35 s (a refresh of a 60 s token at 50-60 % of its lifetime): run
// by `make test-cli`, beside the outage test.
#[test]
#[cfg_attr(not(feature = "broker-tests"), ignore = "35 s; make test-cli runs it")]
fn serve_replaces_the_file_when_the_library_refreshes() {
    let emu = emulator();
    let cfg = config(&emu, &format!("duration_seconds={SHORT_TOKEN_SECONDS}"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token.jwt");
    let child = spawn_serve(&user(), &cfg, &file);
    wait_for(COMMAND_BOUND, "the token file", || file.exists());
    let first = std::fs::read_to_string(&file).unwrap();
    // The refresh is due at 60 % of the lifetime at the latest; a poll
    // (1 s) later the file has the new token.
    let bound = Duration::from_secs(SHORT_TOKEN_SECONDS * 6 / 10 + 10);
    wait_for(bound, "the refreshed token in the file", || {
        std::fs::read_to_string(&file).is_ok_and(|t| t != first)
    });
    let second = std::fs::read_to_string(&file).unwrap();
    assert_eq!(second.split('.').count(), 3);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    signal(&child, SIGTERM);
    let o = finish(child, Duration::from_secs(10));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let log = text(&o);
    assert_eq!(log.matches("wrote a token for User:").count(), 2, "{log}");
    assert_no_secrets(&log, &user(), &first);
    assert_no_secrets(&log, &user(), &second);
    assert_eq!(emu.stats().tokens_issued, 2);
}
