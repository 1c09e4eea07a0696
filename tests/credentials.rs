//! Credential sources and the duration cap: named profiles, credential_process
//! with expiring session keys, static session keys, role_arn, bad secrets.
//! One emulator for this file; the AWS config files are written for it.

mod common;

use common::*;
use kafka_iam_oauth::{ErrorKind, Provider};
use kafka_iam_oauth_emulator::{RunningEmulator, ACCOUNT_ID};
use std::sync::OnceLock;
use std::time::Duration;

struct Fixture {
    emu: RunningEmulator,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        setup_env(false);
        let emu = emulator();
        let url = emu.url().trim_end_matches('/').to_string();
        let dir = std::env::temp_dir().join(format!("kio-cred-tests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // credential_process helper: session keys from the emulator, valid N s.
        let script = dir.join("session.py");
        std::fs::write(
            &script,
            "import sys, urllib.request\n\
             url, principal, seconds = sys.argv[1:4]\n\
             print(urllib.request.urlopen(f'{url}/_emulator/session?principal={principal}&seconds={seconds}').read().decode())\n",
        )
        .unwrap();
        let static_session = emu.session_credentials(USER_ARN, Duration::from_secs(150));
        let process = |secs: u32| format!("python3 {} {url} {USER_ARN} {secs}", script.display());
        let config = format!(
            "[default]\nregion = eu-west-1\n\n\
             [profile capped]\ncredential_process = {}\n\n\
             [profile short]\ncredential_process = {}\n",
            process(200),
            process(40)
        );
        let credentials = format!(
            "[default]\naws_access_key_id = {USER_KEY}\naws_secret_access_key = {USER_SECRET}\n\n\
             [static-session]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n\n\
             [bad-secret]\naws_access_key_id = {USER_KEY}\naws_secret_access_key = not-the-secret\n",
            static_session.access_key_id,
            static_session.secret_access_key,
            static_session.session_token,
        );
        std::fs::write(dir.join("config"), config).unwrap();
        std::fs::write(dir.join("credentials"), credentials).unwrap();
        // Set before any SDK use in this process (all tests go through here).
        std::env::set_var("AWS_CONFIG_FILE", dir.join("config"));
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials"));
        Fixture { emu }
    })
}

fn p(test: &str, extra: &str) -> Provider {
    provider(&fixture().emu, test, extra)
}

#[test]
fn default_profile_from_the_shared_credentials_file() {
    let t = p("default-profile", "").token().unwrap();
    assert_eq!(t.principal(), USER_ARN);
}

#[test]
fn duration_is_capped_to_the_credentials_lifetime() {
    let t = p("capped", "profile=capped,duration_seconds=3600")
        .token()
        .unwrap();
    let left = t.remaining().as_secs();
    assert!(
        left <= 200 && left >= 120,
        "token must not outlive its 200 s credentials: {left} s"
    );
}

#[test]
fn credentials_too_short_for_sixty_seconds_are_refused_clearly() {
    let e = p("short", "profile=short").token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Credentials, "{e}");
    assert!(e.message().contains("too soon"), "{e}");
}

#[test]
fn duration_escalation_is_retried_once_with_a_shorter_duration() {
    // Static session keys carry no expiry, so the first ask (3600 s) is
    // refused by STS with SessionDurationEscalationException.
    let t = p("escalation", "profile=static-session,duration_seconds=3600")
        .token()
        .unwrap();
    let left = t.remaining().as_secs();
    assert!(left <= 60, "{left}");
    assert_eq!(t.principal(), USER_ARN);
}

#[test]
fn role_arn_is_assumed_first_with_a_stable_session_name() {
    let role = &format!("arn:aws:iam::{ACCOUNT_ID}:role/kafka-producer");
    let t = p(
        "role",
        &format!("role_arn={role},role_session_name=orders-service"),
    )
    .token()
    .unwrap();
    assert_eq!(t.principal(), role);
    let stats = fixture().emu.stats();
    assert!(stats.requests["AssumeRole"] >= 1, "{stats:?}");
}

#[test]
fn a_wrong_secret_is_reported_as_refused_credentials() {
    let e = p("bad-secret", "profile=bad-secret").token().unwrap_err();
    assert_eq!(e.aws_code(), Some("SignatureDoesNotMatch"), "{e}");
    assert!(e.message().contains("refused by STS"), "{e}");
    assert!(!e.message().contains("not-the-secret"));
}

#[test]
fn principal_claim_selects_another_claim() {
    let e = p("claim", "principal_claim=email")
        .token_timeout(Duration::from_secs(8))
        .unwrap_err();
    assert!(e.message().contains("\"email\""), "{e}");
}
