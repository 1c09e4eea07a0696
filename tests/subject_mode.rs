//! Issue 10: `subject_mode`, namespaced principal claims and more audiences,
//! against the in-process emulator speaking STS with SigV4.
//!
//! `SubjectMode` is not modelled by aws-sdk-sts 1.124: the core adds it to
//! the form through the SDK's request hook before signing. These tests see
//! it arrive in the signed request (the emulator checks the signature over
//! the whole form, so a field added after signing would be refused).

mod common;

use common::*;
use kafka_iam_oauth::{ErrorKind, Provider};
use kafka_iam_oauth_emulator::{RunningEmulator, ACCOUNT_ID};
use serde_json::json;
use std::sync::OnceLock;
use std::time::Duration;

/// The role many workloads share; each session acts for its own workload.
fn shared_role() -> String {
    format!("arn:aws:iam::{ACCOUNT_ID}:role/shared-workloads")
}
const WORKLOAD: &str = "workload-7";
const NAMESPACED_PRINCIPAL: &str = "https://sts.amazonaws.com/principal_id";

struct Fixture {
    emu: RunningEmulator,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        setup_env(false);
        let emu = emulator();
        let dir = std::env::temp_dir().join(format!("kio-subject-tests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let hour = Duration::from_secs(3600);
        // A session of the shared role acting for WORKLOAD (origin identity
        // context), and one of the same role without it.
        let workload =
            emu.session_credentials_with_origin(&shared_role(), Some(WORKLOAD), hour);
        let plain = emu.session_credentials(&shared_role(), hour);
        let profile = |name: &str, c: &kafka_iam_oauth_emulator::SessionCredentials| {
            format!(
                "[{name}]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n\n",
                c.access_key_id, c.secret_access_key, c.session_token
            )
        };
        let credentials = format!(
            "[default]\naws_access_key_id = {USER_KEY}\naws_secret_access_key = {USER_SECRET}\n\n{}{}",
            profile("workload", &workload),
            profile("no-origin", &plain)
        );
        std::fs::write(dir.join("config"), "[default]\nregion = eu-west-1\n").unwrap();
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

/// The form fields of the emulator's last `GetWebIdentityToken` request.
fn last_form() -> std::collections::BTreeMap<String, String> {
    fixture()
        .emu
        .stats()
        .last_request
        .expect("a GetWebIdentityToken request")
        .form
}

// The emulator is shared by this file's tests, which run in parallel: the
// "last request" checks and the mint run under one lock.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn origin_identity_reaches_sts_signed_and_becomes_sub() {
    let _serial = serial();
    let t = p("origin", "profile=workload,subject_mode=origin_identity")
        .token()
        .expect("mint with SubjectMode=OriginIdentity");
    let form = last_form();
    assert_eq!(
        form.get("SubjectMode").map(String::as_str),
        Some("OriginIdentity")
    );
    assert_eq!(t.principal(), WORKLOAD, "sub is the origin subject");
    assert_eq!(t.claims()["sub"], json!(WORKLOAD));
    assert_eq!(
        t.claims()["https://sts.amazonaws.com/"]["principal_id"],
        json!(shared_role()),
        "the caller's ARN moves to principal_id"
    );
}

#[test]
fn caller_mode_sends_no_subject_mode_and_sub_is_the_role() {
    let _serial = serial();
    let t = p("caller", "profile=workload").token().unwrap();
    assert!(
        !last_form().contains_key("SubjectMode"),
        "{:?}",
        last_form()
    );
    assert_eq!(t.principal(), shared_role());
}

#[test]
fn principal_claim_reads_the_namespaced_principal_id() {
    let _serial = serial();
    let t = p(
        "namespaced",
        &format!(
            "profile=workload,subject_mode=origin_identity,principal_claim={NAMESPACED_PRINCIPAL}"
        ),
    )
    .token()
    .unwrap();
    assert_eq!(t.principal(), shared_role());
    assert_eq!(t.claims()["sub"], json!(WORKLOAD));
}

#[test]
fn role_chaining_keeps_the_origin_identity() {
    let _serial = serial();
    let role = format!("arn:aws:iam::{ACCOUNT_ID}:role/kafka-writer");
    let t = p(
        "chained",
        &format!("profile=workload,role_arn={role},subject_mode=origin_identity"),
    )
    .token()
    .unwrap();
    assert_eq!(t.principal(), WORKLOAD);
    assert_eq!(
        t.claims()["https://sts.amazonaws.com/"]["principal_id"],
        json!(role)
    );
}

#[test]
fn a_session_without_origin_context_gets_advice() {
    let _serial = serial();
    let before = sts_calls(&fixture().emu);
    let e = p(
        "no-origin",
        "profile=no-origin,subject_mode=origin_identity",
    )
    .token()
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Sts);
    assert!(!e.is_retryable(), "{e}");
    for words in [
        "subject_mode=origin_identity",
        "origin identity context",
        "remove subject_mode",
    ] {
        assert!(e.message().contains(words), "{words:?} missing: {e}");
    }
    // Not retried: one call.
    assert_eq!(sts_calls(&fixture().emu) - before, 1);
    // The same session mints in the default mode.
    let t = p("no-origin-caller", "profile=no-origin").token().unwrap();
    assert_eq!(t.principal(), shared_role());
}

#[test]
fn two_audiences_are_sent_as_members_and_become_an_aud_list() {
    let _serial = serial();
    let t = p(
        "two-aud",
        "audience_2=rest\\,proxy.example.com,audience_3=registry",
    )
    .token()
    .unwrap();
    let form = last_form();
    assert_eq!(form["Audience.member.1"], "kafka-two-aud");
    assert_eq!(form["Audience.member.2"], "rest,proxy.example.com");
    assert_eq!(form["Audience.member.3"], "registry");
    assert!(!form.contains_key("Audience.member.4"));
    assert_eq!(
        t.claims()["aud"],
        json!(["kafka-two-aud", "rest,proxy.example.com", "registry"])
    );
    // One audience stays a string claim, as before.
    let one = p("one-aud", "").token().unwrap();
    assert_eq!(one.claims()["aud"], json!("kafka-one-aud"));
}

/// The emulator enforces STS's limits with STS's error code, whatever the
/// client: the SDK called directly (our config refuses these up front).
#[test]
fn emulator_enforces_the_audience_limits_with_validation_errors() {
    // Its requests would replace the others' "last request".
    let _serial = serial();
    let emu = &fixture().emu;
    let url = emu.url().trim_end_matches('/').to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let code = |audiences: Vec<String>| {
        let url = url.clone();
        rt.block_on(async move {
            let conf = aws_sdk_sts::Config::builder()
                .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
                .region(aws_sdk_sts::config::Region::new("eu-west-1"))
                .endpoint_url(url)
                .credentials_provider(aws_sdk_sts::config::Credentials::new(
                    USER_KEY,
                    USER_SECRET,
                    None,
                    None,
                    "test",
                ))
                .build();
            let mut req = aws_sdk_sts::Client::from_conf(conf)
                .get_web_identity_token()
                .signing_algorithm("ES384");
            for a in audiences {
                req = req.audience(a);
            }
            match req.send().await {
                Ok(_) => "ok".to_string(),
                Err(e) => aws_sdk_sts::error::ProvideErrorMetadata::code(&e)
                    .unwrap_or("none")
                    .to_string(),
            }
        })
    };
    let n = |count: usize| (1..=count).map(|i| format!("aud-{i}")).collect::<Vec<_>>();
    assert_eq!(code(n(10)), "ok");
    assert_eq!(code(n(11)), "ValidationError");
    assert_eq!(code(vec![]), "ValidationError");
    assert_eq!(code(vec!["a".repeat(1000)]), "ok");
    assert_eq!(code(vec!["a".repeat(1001)]), "ValidationError");
}
