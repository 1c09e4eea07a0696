//! Every credential source a Kafka client on AWS runs with, through the
//! real AWS SDK chain (`aws-config`) against the emulator's loopback
//! endpoints: EKS IRSA, EKS Pod Identity, ECS task roles, EC2 IMDSv2, IAM
//! Identity Center (SSO) and credential_process. Each scenario runs in a
//! child process of this test binary whose environment holds nothing but
//! what that runtime would set (the SDK reads the process environment),
//! with its own in-process emulator. Also: which source wins when two are
//! present, and a source failing mid-life (the valid token keeps being
//! served, the error names the source, minting resumes).
//!
//! The principal at the real broker (IRSA, IMDS) and rotation are in
//! `tests/broker_sources.rs`.

use kafka_iam_oauth::Provider;
use kafka_iam_oauth_emulator::{
    Emulator, EmulatorOptions, RunningEmulator, Source, SourceFault, ECS_TASK_ROLE, INSTANCE_ROLE,
    IRSA_ROLE, POD_IDENTITY_ROLE, SSO_ROLE, USER,
};
mod common;

use common::http;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in a child process: the scenario it runs.
const CHILD: &str = "KIO_CREDENTIAL_SOURCE_CHILD";

/// What a child printed.
struct ChildRun {
    stderr: String,
}

fn run_child(scenario: &str) -> ChildRun {
    let (_, stderr) = common::run_in_child(CHILD, scenario, &[]);
    ChildRun { stderr }
}

/// The child's entry: runs the scenario named by [`CHILD`]; a no-op in
/// the normal test run.
#[test]
fn child() {
    let Ok(scenario) = std::env::var(CHILD) else {
        return;
    };
    match scenario.as_str() {
        "irsa" => irsa(),
        "pod_identity" => pod_identity(),
        "ecs" => ecs(),
        "imds" => imds(),
        "sso" => sso(),
        "sso_fork" => sso_fork(),
        "credential_process" => credential_process(),
        "env_keys_and_imds" => env_keys_and_imds(),
        "profile_and_irsa" => profile_and_irsa(),
        "imds_down_mid_life" => imds_down_mid_life(),
        "irsa_token_expired_mid_life" => irsa_token_expired_mid_life(),
        "container_500_mid_life" => container_500_mid_life(),
        other => panic!("unknown scenario {other}"),
    }
    println!("scenario {scenario} passed");
}

// ---- the parent's tests: one per scenario ---------------------------------

#[test]
fn eks_irsa_web_identity_token_file() {
    run_child("irsa");
}

#[test]
fn eks_pod_identity_container_endpoint_with_authorization() {
    run_child("pod_identity");
}

#[test]
fn ecs_task_role_container_endpoint() {
    run_child("ecs");
}

#[test]
fn ec2_instance_metadata_v2_and_v1_refused() {
    run_child("imds");
}

#[test]
fn iam_identity_center_sso_session_with_cached_token() {
    run_child("sso");
}

#[test]
fn fork_while_an_sso_mint_is_in_flight_the_child_mints() {
    run_child("sso_fork");
}

#[test]
fn credential_process_with_expiring_credentials() {
    run_child("credential_process");
}

#[test]
fn environment_keys_win_over_imds_and_debug_says_so() {
    let run = run_child("env_keys_and_imds");
    assert!(
        run.stderr
            .contains("credentials from environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) [EnvironmentVariable]"),
        "aws_debug=console must name the source used"
    );
    assert!(!run.stderr.contains("[IMDSv2]"));
}

#[test]
fn profile_wins_over_irsa_and_debug_says_so() {
    let run = run_child("profile_and_irsa");
    assert!(
        run.stderr
            .contains("credentials from keys in the shared config/credentials files [ProfileFile]"),
        "aws_debug=console must name the source used"
    );
    assert!(!run.stderr.contains("[WebIdentityToken]"));
}

#[test]
fn imds_down_mid_life_is_named_and_recovered_from() {
    run_child("imds_down_mid_life");
}

#[test]
fn irsa_token_file_replaced_by_an_expired_one_mid_life() {
    run_child("irsa_token_expired_mid_life");
}

#[test]
fn container_endpoint_answering_500_mid_life() {
    run_child("container_500_mid_life");
}

// ---- in the child: set-up -------------------------------------------------

/// The child's emulator and its scratch directory, with the environment
/// every runtime has: a region, empty AWS config files, IMDS off (the IMDS
/// scenarios turn it on), and the STS endpoint override the SDK's own STS
/// calls (AssumeRoleWithWebIdentity) use.
struct Child {
    emu: RunningEmulator,
    dir: PathBuf,
}

fn start() -> Child {
    let emu = Emulator::start(EmulatorOptions::default()).expect("start emulator");
    let dir = std::env::temp_dir().join(format!("kio-sources-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config"), "").unwrap();
    std::fs::write(dir.join("credentials"), "").unwrap();
    set("AWS_CONFIG_FILE", &dir.join("config"));
    set("AWS_SHARED_CREDENTIALS_FILE", &dir.join("credentials"));
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    std::env::set_var("AWS_REGION", "eu-west-1");
    std::env::set_var("AWS_ENDPOINT_URL_STS", emu.url());
    Child { emu, dir }
}

fn set(name: &str, path: &Path) {
    std::env::set_var(name, path);
}

impl Child {
    fn provider(&self, audience: &str, extra: &str) -> Provider {
        let mut config = format!(
            "region=eu-west-1,audience={audience},sts_endpoint={}",
            self.emu.url()
        );
        if !extra.is_empty() {
            config.push(',');
            config.push_str(extra);
        }
        Provider::new(&config, "").expect("valid config")
    }

    /// IRSA as EKS sets it up: the projected token file, the role, the
    /// session name.
    fn irsa_env(&self, valid_for_seconds: i64) -> PathBuf {
        let file = self.dir.join("eks.amazonaws.com-serviceaccount-token");
        std::fs::write(
            &file,
            self.emu
                .web_identity_token("system:serviceaccount:kafka:producer", valid_for_seconds),
        )
        .unwrap();
        set("AWS_WEB_IDENTITY_TOKEN_FILE", &file);
        std::env::set_var("AWS_ROLE_ARN", IRSA_ROLE.arn);
        std::env::set_var("AWS_ROLE_SESSION_NAME", "kafka-producer-pod");
        file
    }

    /// IMDS reachable on loopback (as on an instance, IMDS is on).
    fn imds_env(&self) {
        std::env::remove_var("AWS_EC2_METADATA_DISABLED");
        std::env::set_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", self.emu.url());
    }

    /// EKS Pod Identity: the agent's URI and the projected token file.
    fn pod_identity_env(&self) {
        let file = self.dir.join("eks-pod-identity-token");
        std::fs::write(&file, self.emu.container_authorization_token()).unwrap();
        std::env::set_var(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!(
                "{}/_emulator/pod-identity/{}",
                self.emu.url(),
                POD_IDENTITY_ROLE.name
            ),
        );
        set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &file);
    }

    fn requests(&self, endpoint: &str) -> u64 {
        self.emu
            .source_stats()
            .requests
            .get(endpoint)
            .copied()
            .unwrap_or(0)
    }
}

/// The `sub` claim of a token (the broker's principal by default).
fn sub(t: &kafka_iam_oauth::Token) -> String {
    t.claims()["sub"].as_str().unwrap().to_string()
}

// ---- in the child: each source alone ---------------------------------------

fn irsa() {
    let c = start();
    c.irsa_env(3600);
    let t = c.provider("kafka-irsa", "").token().expect("IRSA mints");
    // An assumed-role session's tokens name the role ARN.
    assert_eq!(t.principal(), IRSA_ROLE.arn);
    assert_eq!(sub(&t), IRSA_ROLE.arn);
    assert_eq!(c.requests("AssumeRoleWithWebIdentity"), 1);
    // STS's record of the token: signed by the role session, within its expiry.
    let issued = c.emu.source_stats().issued;
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert_eq!(issued[0].principal, IRSA_ROLE.arn);
    assert!(issued[0].exp <= issued[0].credentials_expire, "{issued:?}");
}

fn pod_identity() {
    let c = start();
    c.pod_identity_env();
    let t = c
        .provider("kafka-pod", "")
        .token()
        .expect("Pod Identity mints");
    assert_eq!(t.principal(), POD_IDENTITY_ROLE.arn);
    assert_eq!(c.requests("ContainerCredentials"), 1);
    // Without the Authorization value the agent refuses.
    let (status, _) = http(
        "GET",
        &format!(
            "{}/_emulator/pod-identity/{}",
            c.emu.url(),
            POD_IDENTITY_ROLE.name
        ),
        &[],
        "",
    );
    assert_eq!(status, 401);
}

fn ecs() {
    let c = start();
    std::env::set_var(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("{}/_emulator/ecs/{}", c.emu.url(), ECS_TASK_ROLE.name),
    );
    let t = c.provider("kafka-ecs", "").token().expect("ECS mints");
    assert_eq!(t.principal(), ECS_TASK_ROLE.arn);
    assert_eq!(c.requests("ContainerCredentials"), 1);
}

fn imds() {
    let c = start();
    c.imds_env();
    let t = c.provider("kafka-ec2", "").token().expect("IMDS mints");
    assert_eq!(t.principal(), INSTANCE_ROLE.arn);
    assert!(c.requests("IMDS") >= 3, "token PUT, role name, credentials");
    // IMDSv1 (no session token) is refused, as on a hardened instance.
    let (status, _) = http(
        "GET",
        &format!("{}/latest/meta-data/iam/security-credentials/", c.emu.url()),
        &[],
        "",
    );
    assert_eq!(status, 401);
}

fn sso() {
    let c = start();
    sso_env(&c);
    let t = c.provider("kafka-sso", "").token().expect("SSO mints");
    assert_eq!(t.principal(), SSO_ROLE.arn);
    assert_eq!(c.requests("GetRoleCredentials"), 1);
}

/// Fork while an SSO profile's mint is in flight (issue 20): the child
/// builds its own chain (a new SSO client: aws-config gives it the SDK's
/// default retry partition, see docs/rust.md) and mints.
fn sso_fork() {
    let c = start();
    sso_env(&c);
    c.emu.set_fault(kafka_iam_oauth_emulator::Fault::latency(
        Duration::from_millis(1500),
    ));
    let p = c.provider("kafka-sso-fork-parent", "");
    let waiter = {
        let p = p.clone();
        std::thread::spawn(move || p.token_timeout(Duration::from_secs(10)).map(|_| ()))
    };
    let started = Instant::now();
    while c.emu.stats().requests["GetWebIdentityToken"] == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no mint started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Another deadline: another shared part, so the child loads the SSO
    // profile and builds its own SDK clients.
    let child = c.provider("kafka-sso-fork-child", "mint_timeout_seconds=9");
    // SAFETY: the child only uses this library and then _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = match child.token_timeout(Duration::from_secs(10)) {
            Ok(t) if t.principal() == SSO_ROLE.arn => 0,
            Ok(_) => 2,
            Err(_) => 1,
        };
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    let started = Instant::now();
    while unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } != pid {
        if started.elapsed() > Duration::from_secs(30) {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the child hung after fork");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child could not mint with the SSO profile: status {status}"
    );
    waiter.join().unwrap().expect("the parent's mint completes");
    assert_eq!(
        c.requests("GetRoleCredentials"),
        2,
        "the parent's and the child's"
    );
}

/// IAM Identity Center as `aws sso login` leaves it: the profile
/// `developer` with an `sso_session`, its cached token, the portal on the
/// emulator.
fn sso_env(c: &Child) {
    let home = PathBuf::from(std::env::var_os("HOME").unwrap());
    // The SDK finds `aws sso login`'s token by the SHA-1 of the session name.
    let cache = home.join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).unwrap();
    let sha1 = Command::new("sha1sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut p| {
            p.stdin.take().unwrap().write_all(b"corp")?;
            p.wait_with_output()
        })
        .expect("sha1sum");
    let sha1 = String::from_utf8(sha1.stdout).unwrap();
    let sha1 = sha1.split_whitespace().next().unwrap();
    let expires = time_iso8601(3600);
    std::fs::write(
        cache.join(format!("{sha1}.json")),
        serde_json::json!({
            "accessToken": c.emu.sso_access_token(Duration::from_secs(3600)),
            "expiresAt": expires,
            "region": "eu-west-1",
            "startUrl": "https://corp.awsapps.com/start",
        })
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        c.dir.join("config"),
        "[profile developer]\nsso_session = corp\nsso_account_id = 123456789012\n\
         sso_role_name = KafkaProducer\nregion = eu-west-1\n\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n\
         sso_registration_scopes = sso:account:access\n",
    )
    .unwrap();
    // The portal is reached through the SDK's endpoint override.
    std::env::set_var("AWS_ENDPOINT_URL_SSO", c.emu.url());
    std::env::set_var("AWS_PROFILE", "developer");
}

/// `now + seconds` as `2026-01-01T00:00:00Z`.
fn time_iso8601(seconds: i64) -> String {
    let out = Command::new("date")
        .args([
            "-u",
            "-d",
            &format!("@{}", unix_now() + seconds),
            "+%Y-%m-%dT%H:%M:%SZ",
        ])
        .output()
        .expect("date");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn credential_process() {
    let c = start();
    let role = format!(
        "arn:aws:iam::{}:role/kafka-vault",
        kafka_iam_oauth_emulator::ACCOUNT_ID
    );
    let creds = c.emu.session_credentials(&role, Duration::from_secs(600));
    let script = c.dir.join("vault-credentials.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s' '{}'\n",
            serde_json::json!({
                "Version": 1,
                "AccessKeyId": creds.access_key_id,
                "SecretAccessKey": creds.secret_access_key,
                "SessionToken": creds.session_token,
                "Expiration": time_iso8601(600),
            })
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        c.dir.join("config"),
        format!("[default]\ncredential_process = {}\n", script.display()),
    )
    .unwrap();
    let t = c
        .provider("kafka-process", "duration_seconds=3600")
        .token()
        .expect("credential_process mints");
    assert_eq!(t.principal(), role);
    // Capped to the 600 s credentials (less the 15 s margin).
    assert!(
        t.remaining() <= Duration::from_secs(600),
        "{:?}",
        t.remaining()
    );
}

// ---- in the child: two sources, the chain's order --------------------------

fn env_keys_and_imds() {
    let c = start();
    c.imds_env();
    std::env::set_var("AWS_ACCESS_KEY_ID", USER.access_key_id);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", USER.secret_access_key);
    let t = c
        .provider("kafka-env-imds", "aws_debug=console")
        .token()
        .unwrap();
    // The SDK documents environment variables first, IMDS last.
    assert_eq!(t.principal(), USER.arn);
    assert_eq!(c.requests("IMDS"), 0);
}

fn profile_and_irsa() {
    let c = start();
    c.irsa_env(3600);
    std::fs::write(
        c.dir.join("credentials"),
        format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            USER.access_key_id, USER.secret_access_key
        ),
    )
    .unwrap();
    let t = c
        .provider("kafka-profile-irsa", "aws_debug=console")
        .token()
        .unwrap();
    // The shared files come before web identity in the SDK's chain.
    assert_eq!(t.principal(), USER.arn);
    assert_eq!(c.requests("AssumeRoleWithWebIdentity"), 0);
}

// ---- in the child: a source failing mid-life -------------------------------

/// Credentials live this long, so the library's cached credentials (kept
/// while they outlive a 60 s token by 15 s) are stale before the first
/// token's refresh (at 50-60 % of its 60 s): the refresh asks the source.
const SHORT_CREDENTIALS: Duration = Duration::from_secs(80);

/// Token lifetime in these scenarios (STS's minimum).
const TOKEN_SECONDS: &str = "duration_seconds=60";

/// The mid-life scenario: `a` holds a token; `break_source` breaks the
/// source; the refresh fails while the token is still served; a second
/// entry sharing the credentials (`b`) gets an error naming the source and
/// `expect_in_error`; `fix_source`; the refresh succeeds.
fn mid_life(
    c: &Child,
    break_source: impl FnOnce(),
    fix_source: impl FnOnce(),
    expect_in_error: &[&str],
) {
    c.emu.set_source_credential_lifetime(SHORT_CREDENTIALS);
    let a = c.provider("kafka-mid-life-a", TOKEN_SECONDS);
    let first = a.token().expect("the source works at first");
    break_source();
    // Bound: the refresh is due within 60 % of 60 s; 45 s leaves room.
    let deadline = Instant::now() + Duration::from_secs(45);
    while a.stats().failures == 0 {
        assert!(
            Instant::now() < deadline,
            "no failed refresh: {:?}",
            a.stats()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The valid token is still served.
    let still = a
        .token()
        .expect("the cached token is served while it lives");
    assert_eq!(
        still.value(),
        first.value(),
        "the same token, not a new one"
    );
    assert!(a.stats().expires_in.unwrap() > Duration::ZERO);
    // A mint now fails naming the source and what to check.
    let e = c
        .provider("kafka-mid-life-b", TOKEN_SECONDS)
        .token()
        .expect_err("the source is broken");
    println!("error while the source is broken: {e}");
    for needle in expect_in_error {
        assert!(e.message().contains(needle), "{needle:?} not in: {e}");
    }
    let mints = a.stats().mints;
    fix_source();
    // Bound: the refresh retries at most every half of the time the old
    // token has left, so it succeeds before the old one expires (60 s).
    let deadline = Instant::now() + Duration::from_secs(60);
    while a.stats().mints == mints {
        assert!(
            Instant::now() < deadline,
            "minting did not resume: {:?}",
            a.stats()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let next = a.token().unwrap();
    assert_ne!(next.value(), first.value());
}

fn imds_down_mid_life() {
    let c = start();
    c.imds_env();
    mid_life(
        &c,
        || c.emu.set_source_fault(Source::Imds, SourceFault::Down),
        || c.emu.set_source_fault(Source::Imds, SourceFault::None),
        &["[IMDSv2]", "instance metadata service answers at"],
    );
}

fn irsa_token_expired_mid_life() {
    let c = start();
    let file = c.irsa_env(3600);
    let expired = c
        .emu
        .web_identity_token("system:serviceaccount:kafka:producer", -60);
    let fresh = c
        .emu
        .web_identity_token("system:serviceaccount:kafka:producer", 3600);
    mid_life(
        &c,
        || std::fs::write(&file, &expired).unwrap(),
        || std::fs::write(&file, &fresh).unwrap(),
        &[
            "[WebIdentityToken]",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "ExpiredToken",
        ],
    );
}

fn container_500_mid_life() {
    let c = start();
    c.pod_identity_env();
    mid_life(
        &c,
        || {
            c.emu
                .set_source_fault(Source::Container, SourceFault::ServerError)
        },
        || c.emu.set_source_fault(Source::Container, SourceFault::None),
        &[
            "EKS Pod Identity",
            "[EcsContainer]",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        ],
    );
}
