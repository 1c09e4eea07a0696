//! The emulator through the real AWS SDK for Rust (aws-sdk-sts): SigV4,
//! the Query protocol, response and error shapes, policy, faults.

mod common;

use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_sdk_sts::operation::RequestId;
use aws_sdk_sts::types::Tag;
use aws_sdk_sts::Client;
use common::*;
use kafka_iam_oauth_emulator::{
    Emulator, EmulatorOptions, Fault, FaultMode, Policy, RunningEmulator,
};
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime};

fn emulator() -> RunningEmulator {
    setup_env();
    Emulator::start(EmulatorOptions::default()).expect("start emulator")
}

fn config(
    emu: &RunningEmulator,
    key: &str,
    secret: &str,
    token: Option<String>,
) -> aws_sdk_sts::config::Builder {
    aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url(emu.url())
        .credentials_provider(Credentials::new(key, secret, token, None, "test"))
        // Every attempt counts in these tests.
        .retry_config(aws_sdk_sts::config::retry::RetryConfig::disabled())
}

fn client(emu: &RunningEmulator) -> Client {
    Client::from_conf(config(emu, USER_KEY, USER_SECRET, None).build())
}

fn client_with(emu: &RunningEmulator, key: &str, secret: &str, token: Option<String>) -> Client {
    Client::from_conf(config(emu, key, secret, token).build())
}

/// Mints a token and returns (jwt, expiration) or the AWS error code and message.
async fn mint(
    c: &Client,
    audience: &str,
    duration: i32,
    alg: &str,
) -> Result<(String, SystemTime), (String, String)> {
    c.get_web_identity_token()
        .audience(audience)
        .duration_seconds(duration)
        .signing_algorithm(alg)
        .send()
        .await
        .map(|out| {
            let exp = SystemTime::try_from(*out.expiration().unwrap()).unwrap();
            (out.web_identity_token().unwrap().to_string(), exp)
        })
        .map_err(|e| {
            (
                e.code().unwrap_or("<no code>").to_string(),
                e.message().unwrap_or("").to_string(),
            )
        })
}

fn code(r: Result<(String, SystemTime), (String, String)>) -> String {
    r.expect_err("expected an STS error").0
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn tokens_have_sts_claims_and_verify_against_the_served_jwks() {
    let emu = emulator();
    let c = client(&emu);
    let jwks = http(emu.url(), "GET", "/.well-known/jwks.json", None).json();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    for (alg, kid) in [("ES384", "EC384_0"), ("RS256", "RSA_0")] {
        let before = unix_now();
        let out = c
            .get_web_identity_token()
            .audience("kafka-test")
            .duration_seconds(900)
            .signing_algorithm(alg)
            .tags(
                Tag::builder()
                    .key("team")
                    .value("platform")
                    .build()
                    .unwrap(),
            )
            .tags(Tag::builder().key("env").value("").build().unwrap())
            .send()
            .await
            .expect("GetWebIdentityToken");
        let jwt = out.web_identity_token().unwrap();
        verify_jwt(jwt, &jwks);
        let (header, claims) = decode_jwt(jwt);
        assert_eq!(header["alg"], alg);
        assert_eq!(header["kid"], kid);
        assert_eq!(header["typ"], "JWT");
        assert_eq!(claims["iss"], emu.url());
        assert_eq!(claims["sub"], USER_ARN);
        assert_eq!(claims["aud"], "kafka-test");
        let (iat, exp) = (
            claims["iat"].as_i64().unwrap(),
            claims["exp"].as_i64().unwrap(),
        );
        assert!(iat >= before && iat <= unix_now());
        assert_eq!(exp - iat, 900);
        assert_eq!(claims["jti"].as_str().unwrap().len(), 36);
        let aws = &claims["https://sts.amazonaws.com/"];
        assert_eq!(aws["aws_account"], "123456789012");
        assert_eq!(aws["source_region"], "eu-west-1");
        assert_eq!(aws["principal_id"], USER_ARN);
        assert_eq!(aws["request_tags"]["team"], "platform");
        assert_eq!(aws["request_tags"]["env"], "");
        let expiration = SystemTime::try_from(*out.expiration().unwrap()).unwrap();
        assert_eq!(
            expiration
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64,
            exp
        );
        assert_eq!(out.request_id().map(str::len), Some(36), "x-amzn-requestid");
    }
    let stats = emu.stats();
    assert_eq!(stats.requests["GetWebIdentityToken"], 2);
    assert_eq!(stats.tokens_issued, 2);
    let last = stats.last_request.unwrap();
    assert_eq!(last.audience.as_deref(), Some("kafka-test"));
    assert_eq!(last.duration_seconds, Some(900));
    assert_eq!(last.form["DurationSeconds"], "900");
    assert_eq!(last.form["Audience.member.1"], "kafka-test");
    assert_eq!(last.signing_algorithm.as_deref(), Some("RS256"));
    assert_eq!(last.tags["team"], "platform");
    assert_eq!(last.region.as_deref(), Some("eu-west-1"));
    // The control API's JSON shape (GET /_emulator/stats serves this).
    let json = serde_json::to_value(emu.stats()).unwrap()["last_request"].clone();
    assert_eq!(json["audience"], "kafka-test");
    assert_eq!(json["duration_seconds"], 900);
    assert_eq!(json["signing_algorithm"], "RS256");
    assert_eq!(json["tags"]["team"], "platform");
    assert_eq!(json["access_key_id"], USER_KEY);
    assert_eq!(json["SigningAlgorithm"], "RS256");
    assert_eq!(json["Tags.member.1.Key"], "team");
    assert!(!json.to_string().contains(USER_SECRET));
}

#[tokio::test]
async fn defaults_and_several_audiences() {
    let emu = emulator();
    let out = client(&emu)
        .get_web_identity_token()
        .audience("a")
        .audience("b")
        .signing_algorithm("ES384")
        .send()
        .await
        .unwrap();
    let (_, claims) = decode_jwt(out.web_identity_token().unwrap());
    assert_eq!(claims["aud"], serde_json::json!(["a", "b"]));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300,
        "STS's default duration"
    );
    assert!(claims["https://sts.amazonaws.com/"]
        .get("request_tags")
        .is_none());
}

#[tokio::test]
async fn get_caller_identity_for_both_users() {
    let emu = emulator();
    for (key, secret, arn) in [
        (USER_KEY, USER_SECRET, USER_ARN),
        (NO_ACL_KEY, NO_ACL_SECRET, NO_ACL_ARN),
    ] {
        let out = client_with(&emu, key, secret, None)
            .get_caller_identity()
            .send()
            .await
            .unwrap();
        assert_eq!(out.arn(), Some(arn));
        assert_eq!(out.account(), Some("123456789012"));
        assert!(out.user_id().unwrap().starts_with("AIDA"));
    }
    assert_eq!(emu.stats().requests["GetCallerIdentity"], 2);
}

#[tokio::test]
async fn assume_role_issues_session_credentials_for_the_role() {
    let emu = emulator();
    let role = "arn:aws:iam::123456789012:role/kafka-producer";
    let out = client(&emu)
        .assume_role()
        .role_arn(role)
        .role_session_name("orders-service")
        .external_id("ext-123")
        .duration_seconds(1800)
        .send()
        .await
        .expect("AssumeRole");
    let creds = out.credentials().unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"));
    let left = SystemTime::try_from(*creds.expiration())
        .unwrap()
        .duration_since(SystemTime::now())
        .unwrap()
        .as_secs();
    assert!((1790..=1800).contains(&left), "{left}");
    let user = out.assumed_role_user().unwrap();
    assert_eq!(
        user.arn(),
        "arn:aws:sts::123456789012:assumed-role/kafka-producer/orders-service"
    );
    assert!(user.assumed_role_id().starts_with("AROA"));
    assert!(user.assumed_role_id().ends_with(":orders-service"));

    let session = client_with(
        &emu,
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_string()),
    );
    let me = session.get_caller_identity().send().await.unwrap();
    assert_eq!(me.arn(), Some(user.arn()));
    let (jwt, _) = mint(&session, "kafka", 600, "RS256").await.unwrap();
    let (_, claims) = decode_jwt(&jwt);
    assert_eq!(claims["sub"], role);
    assert_eq!(claims["https://sts.amazonaws.com/"]["principal_id"], role);

    // Without its session token the key is unknown to STS.
    let no_token = client_with(&emu, creds.access_key_id(), creds.secret_access_key(), None);
    assert_eq!(
        code(mint(&no_token, "kafka", 600, "RS256").await),
        "InvalidClientTokenId"
    );
    // Role chaining is limited to one hour.
    let e = session
        .assume_role()
        .role_arn(role)
        .role_session_name("again")
        .duration_seconds(7200)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationError"));
    assert_eq!(emu.stats().requests["AssumeRole"], 2);
}

#[tokio::test]
async fn assume_role_validation() {
    let emu = emulator();
    let c = client(&emu);
    let call = |arn: &str, name: &str, secs: i32| {
        c.assume_role()
            .role_arn(arn)
            .role_session_name(name)
            .duration_seconds(secs)
            .send()
    };
    let role = "arn:aws:iam::123456789012:role/r";
    let codes = [
        call(role, "s", 3600)
            .await
            .unwrap_err()
            .code()
            .map(String::from),
        call(role, "bad name!", 3600)
            .await
            .unwrap_err()
            .code()
            .map(String::from),
        call(role, "ok", 899)
            .await
            .unwrap_err()
            .code()
            .map(String::from),
        call(role, "ok", 43201)
            .await
            .unwrap_err()
            .code()
            .map(String::from),
        call("not-an-arn-but-long-enough", "ok", 3600)
            .await
            .unwrap_err()
            .code()
            .map(String::from),
        call("arn:aws:iam::999999999999:role/other", "ok", 3600)
            .await
            .unwrap_err()
            .code()
            .map(String::from),
    ];
    let codes: Vec<&str> = codes.iter().map(|c| c.as_deref().unwrap()).collect();
    assert_eq!(
        codes,
        [
            "ValidationError",
            "ValidationError",
            "ValidationError",
            "ValidationError",
            "ValidationError",
            "AccessDenied"
        ]
    );
    assert!(call(role, "ok", 43200).await.is_ok());
}

#[tokio::test]
async fn signature_and_key_errors() {
    let emu = emulator();
    let bad_secret = client_with(&emu, USER_KEY, "not-the-secret", None);
    let e = mint(&bad_secret, "kafka", 300, "ES384").await.unwrap_err();
    assert_eq!(e.0, "SignatureDoesNotMatch");
    assert!(!e.1.contains("not-the-secret"));
    let unknown = client_with(&emu, "AKIAUNKNOWNKEY000000", "whatever", None);
    assert_eq!(
        code(mint(&unknown, "kafka", 300, "ES384").await),
        "InvalidClientTokenId"
    );
    let e = unknown.get_caller_identity().send().await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidClientTokenId"));
    assert_eq!(
        e.raw_response().unwrap().status().as_u16(),
        403,
        "InvalidClientTokenId is HTTP 403"
    );
    // Failed requests are counted too.
    assert_eq!(emu.stats().requests["GetWebIdentityToken"], 2);
    assert_eq!(emu.stats().tokens_issued, 0);
}

#[tokio::test]
async fn a_clock_off_by_more_than_fifteen_minutes_is_refused() {
    let emu = emulator();
    for offset in [-1200i64, 1200] {
        let then = if offset < 0 {
            SystemTime::now() - Duration::from_secs(offset.unsigned_abs())
        } else {
            SystemTime::now() + Duration::from_secs(offset as u64)
        };
        let c = Client::from_conf(
            config(&emu, USER_KEY, USER_SECRET, None)
                .time_source(aws_smithy_async::time::StaticTimeSource::new(then))
                .build(),
        );
        let e = mint(&c, "kafka", 300, "ES384").await.unwrap_err();
        assert_eq!(e.0, "SignatureDoesNotMatch");
        assert!(e.1.starts_with("Signature"), "{}", e.1);
    }
    // Ten minutes off is fine.
    let c = Client::from_conf(
        config(&emu, USER_KEY, USER_SECRET, None)
            .time_source(aws_smithy_async::time::StaticTimeSource::new(
                SystemTime::now() - Duration::from_secs(600),
            ))
            .build(),
    );
    assert!(mint(&c, "kafka", 300, "ES384").await.is_ok());
}

#[tokio::test]
async fn expired_session_credentials_are_refused_with_expired_token() {
    let emu = emulator();
    let creds = emu.session_credentials(USER_ARN, Duration::from_secs(1));
    let c = client_with(
        &emu,
        &creds.access_key_id,
        &creds.secret_access_key,
        Some(creds.session_token.clone()),
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let e = c.get_caller_identity().send().await.unwrap_err();
    assert_eq!(e.code(), Some("ExpiredToken"));
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 400);
}

#[tokio::test]
async fn tokens_may_not_outlive_the_signing_session() {
    let emu = emulator();
    let session = emu.session_credentials(USER_ARN, Duration::from_secs(200));
    let c = client_with(
        &emu,
        &session.access_key_id,
        &session.secret_access_key,
        Some(session.session_token.clone()),
    );
    let e = mint(&c, "kafka", 300, "ES384").await.unwrap_err();
    assert_eq!(e.0, "SessionDurationEscalationException", "{}", e.1);
    let (jwt, _) = mint(&c, "kafka", 150, "ES384").await.unwrap();
    assert_eq!(decode_jwt(&jwt).1["sub"], USER_ARN);
}

#[tokio::test]
async fn policy_violations() {
    let emu = emulator();
    let c = client(&emu);
    // Duration range and algorithms.
    assert_eq!(
        code(mint(&c, "kafka", 59, "ES384").await),
        "ValidationError"
    );
    assert_eq!(
        code(mint(&c, "kafka", 3601, "ES384").await),
        "ValidationError"
    );
    assert_eq!(
        code(mint(&c, "kafka", 300, "HS256").await),
        "ValidationError"
    );
    // Missing audience.
    let e = c
        .get_web_identity_token()
        .signing_algorithm("ES384")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationError"));
    // Tags: at most 50, keys 1..=128, values up to 256.
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
    let too_many: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
    let long_key = "k".repeat(129);
    let long_value = "v".repeat(257);
    for tags in [
        too_many,
        vec![tag(&long_key, "v")],
        vec![tag("k", &long_value)],
    ] {
        let e = c
            .get_web_identity_token()
            .audience("kafka")
            .signing_algorithm("ES384")
            .set_tags(Some(tags))
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("ValidationError"));
    }
    let fifty: Vec<Tag> = (0..50)
        .map(|i| tag(&format!("k{i}"), &"v".repeat(256)))
        .collect();
    assert!(c
        .get_web_identity_token()
        .audience("kafka")
        .signing_algorithm("ES384")
        .set_tags(Some(fifty))
        .send()
        .await
        .is_ok());

    // Policy set through the library API.
    emu.set_policy(Policy {
        allowed_audiences: Some(vec!["only-this-one".into()]),
        max_duration_seconds: 900,
        allowed_algorithms: vec!["RS256".into()],
        ..Policy::default()
    });
    let e = mint(&c, "kafka", 300, "RS256").await.unwrap_err();
    assert_eq!(e.0, "AccessDenied");
    assert_eq!(
        e.1,
        format!(
            "User: {USER_ARN} is not authorized to perform: sts:GetWebIdentityToken on \
             resource: * because no identity-based policy allows the sts:GetWebIdentityToken action"
        )
    );
    assert!(mint(&c, "only-this-one", 900, "RS256").await.is_ok());
    assert_eq!(
        code(mint(&c, "only-this-one", 901, "RS256").await),
        "ValidationError"
    );
    assert_eq!(
        code(mint(&c, "only-this-one", 300, "ES384").await),
        "ValidationError"
    );

    // The federation switch.
    emu.set_policy(Policy {
        federation_enabled: false,
        ..emu.policy()
    });
    let e = c
        .get_web_identity_token()
        .audience("only-this-one")
        .signing_algorithm("RS256")
        .send()
        .await
        .unwrap_err();
    assert!(e
        .as_service_error()
        .unwrap()
        .is_outbound_web_identity_federation_disabled_exception());
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 403);

    // reset restores the start-up policy.
    emu.reset();
    assert_eq!(emu.policy(), Policy::default());
    assert!(mint(&c, "kafka", 3600, "ES384").await.is_ok());
    assert_eq!(emu.stats().requests["GetWebIdentityToken"], 1);
}

#[tokio::test]
async fn start_up_policy_from_options() {
    setup_env();
    let emu = Emulator::start(EmulatorOptions {
        issuer: Some("https://issuer.example".into()),
        policy: Policy {
            federation_enabled: false,
            ..Policy::default()
        },
        ..EmulatorOptions::default()
    })
    .unwrap();
    let c = client(&emu);
    assert_eq!(
        code(mint(&c, "kafka", 300, "ES384").await),
        "OutboundWebIdentityFederationDisabledException"
    );
    emu.set_policy(Policy::default());
    let (jwt, _) = mint(&c, "kafka", 300, "ES384").await.unwrap();
    assert_eq!(decode_jwt(&jwt).1["iss"], "https://issuer.example");
    emu.reset();
    assert!(
        !emu.policy().federation_enabled,
        "reset goes back to the start-up policy"
    );
}

async fn status_of_failure(c: &Client) -> (String, Option<u16>) {
    let e = c
        .get_web_identity_token()
        .audience("kafka")
        .signing_algorithm("ES384")
        .send()
        .await
        .unwrap_err();
    (
        e.code().unwrap_or("<none>").to_string(),
        e.raw_response().map(|r| r.status().as_u16()),
    )
}

#[tokio::test]
async fn fault_modes() {
    let emu = emulator();
    let c = client(&emu);
    for (mode, want_code, want_status) in [
        (FaultMode::Throttle, "Throttling", 400),
        (FaultMode::ServerError, "InternalFailure", 500),
        (FaultMode::Unavailable, "ServiceUnavailable", 503),
    ] {
        emu.set_fault(Fault::new(mode).times(1));
        assert_eq!(
            status_of_failure(&c).await,
            (want_code.to_string(), Some(want_status))
        );
        assert!(
            mint(&c, "kafka", 300, "ES384").await.is_ok(),
            "count 1 is used up"
        );
    }
    emu.set_fault(Fault::new(FaultMode::Throttle).times(1));
    let e = mint(&c, "kafka", 300, "ES384").await.unwrap_err();
    assert_eq!(e.1, "Rate exceeded");

    // drop: no response at all.
    emu.set_fault(Fault::new(FaultMode::Drop).times(1));
    let e = c
        .get_web_identity_token()
        .audience("kafka")
        .signing_algorithm("ES384")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(e, aws_sdk_sts::error::SdkError::DispatchFailure(_)),
        "{e:?}"
    );
    // malformed: 200 that does not parse.
    emu.set_fault(Fault::new(FaultMode::Malformed).times(1));
    let e = c
        .get_web_identity_token()
        .audience("kafka")
        .signing_algorithm("ES384")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        e.raw_response().map(|r| r.status().as_u16()),
        Some(200),
        "{e:?}"
    );
    assert!(mint(&c, "kafka", 300, "ES384").await.is_ok());

    // Faults apply to GetWebIdentityToken only.
    emu.set_fault(Fault::new(FaultMode::ServerError));
    assert!(c.get_caller_identity().send().await.is_ok());
    assert_eq!(status_of_failure(&c).await.0, "InternalFailure");
    assert_eq!(status_of_failure(&c).await.0, "InternalFailure");
    emu.clear_fault();
    assert!(mint(&c, "kafka", 300, "ES384").await.is_ok());

    let stats = emu.stats();
    assert_eq!(stats.requests["GetWebIdentityToken"], 13);
    assert_eq!(stats.tokens_issued, 5);
}

#[tokio::test]
async fn timed_faults_and_latency() {
    let emu = emulator();
    let c = client(&emu);
    emu.set_fault(Fault::new(FaultMode::Throttle).for_duration(Duration::from_millis(400)));
    assert_eq!(status_of_failure(&c).await.0, "Throttling");
    assert_eq!(status_of_failure(&c).await.0, "Throttling");
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(mint(&c, "kafka", 300, "ES384").await.is_ok());

    // A delay long enough that a loaded machine cannot blur the difference.
    let latency = Duration::from_secs(2);
    emu.set_fault(Fault::latency(latency));
    let started = Instant::now();
    assert!(mint(&c, "kafka", 300, "ES384").await.is_ok());
    assert!(started.elapsed() >= latency);
    let started = Instant::now();
    assert!(c.get_caller_identity().send().await.is_ok());
    assert!(
        started.elapsed() < latency,
        "only GetWebIdentityToken is slowed"
    );

    emu.clear_fault();
    let started = Instant::now();
    assert!(mint(&c, "kafka", 300, "ES384").await.is_ok());
    assert!(started.elapsed() < latency);
}

#[tokio::test]
async fn sdk_retries_throttling_by_default() {
    // The standard retry policy (3 attempts) rides over two throttles.
    let emu = emulator();
    let c = Client::from_conf(
        config(&emu, USER_KEY, USER_SECRET, None)
            .retry_config(
                aws_sdk_sts::config::retry::RetryConfig::standard()
                    .with_initial_backoff(Duration::from_millis(10)),
            )
            .build(),
    );
    emu.set_fault(Fault::new(FaultMode::Throttle).times(2));
    assert!(mint(&c, "kafka", 300, "ES384").await.is_ok());
    assert_eq!(emu.stats().requests["GetWebIdentityToken"], 3);
}

#[tokio::test]
async fn works_with_the_aws_config_loader() {
    let emu = emulator();
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url(emu.url())
        .credentials_provider(Credentials::new(USER_KEY, USER_SECRET, None, None, "test"))
        .load()
        .await;
    let c = Client::new(&shared);
    let (jwt, _) = mint(&c, "kafka", 300, "RS256").await.unwrap();
    verify_jwt(&jwt, &emu.jwks());
}

#[test]
fn starts_and_stops_from_plain_threads_and_inside_a_runtime() {
    setup_env();
    let a = Emulator::start(EmulatorOptions::default()).unwrap();
    let b = Emulator::start(EmulatorOptions::default()).unwrap();
    assert_ne!(a.url(), b.url());
    assert_eq!(a.jwks(), b.jwks(), "keys are shared within a process");
    let url = a.url().to_string();
    a.shutdown();
    a.shutdown();
    assert!(!a.is_running());
    assert!(std::net::TcpStream::connect(url.trim_start_matches("http://")).is_err());
    drop(b);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let emu = Emulator::start(EmulatorOptions::default()).unwrap();
        // It serves while this thread is a runtime's.
        let jwks: Value = http(emu.url(), "GET", "/.well-known/jwks.json", None).json();
        assert_eq!(jwks, emu.jwks());
        drop(emu); // dropping inside async code must not panic
    });
}

#[tokio::test]
async fn account_rate_limit_throttles_like_sts_and_counts_each_second() {
    let emu = emulator();
    let c = client(&emu);
    // Burst 2, then one every 2.5 s: the third and fourth calls are refused.
    emu.set_rate_limit(Some(kafka_iam_oauth_emulator::RateLimit {
        rps: 0.4,
        burst: 2,
    }));
    assert!(mint(&c, "kafka", 300, "ES384").await.is_ok());
    assert!(
        c.get_caller_identity().send().await.is_ok(),
        "every action counts"
    );
    assert_eq!(
        status_of_failure(&c).await,
        ("Throttling".to_string(), Some(400))
    );
    assert_eq!(code(mint(&c, "kafka", 300, "ES384").await), "Throttling");
    // The wire shape as STS sends it (AWS Query error XML, Type Sender).
    let raw = http(
        emu.url(),
        "POST",
        "/?Action=GetCallerIdentity&Version=2011-06-15",
        None,
    );
    assert_eq!(raw.status, 400);
    for part in [
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">",
        "<Type>Sender</Type>",
        "<Code>Throttling</Code>",
        "<Message>Rate exceeded</Message>",
        "<RequestId>",
    ] {
        assert!(raw.body.contains(part), "{part} in {}", raw.body);
    }
    let stats = emu.stats();
    assert_eq!(stats.throttled, 3);
    let calls: u64 = stats.per_second.iter().map(|s| s.calls).sum();
    let throttled: u64 = stats.per_second.iter().map(|s| s.throttled).sum();
    assert_eq!((calls, throttled), (5, 3), "{:?}", stats.per_second);
    let json = http(emu.url(), "GET", "/_emulator/stats", None).json();
    assert_eq!(json["throttled"], 3);
    assert_eq!(json["rate_limit"]["burst"], 2);
    assert!(json["per_second"][0]["second"].as_i64().unwrap() > 1_700_000_000);

    // The control API: lift it, set it, refuse nonsense; reset restores
    // the start-up value (none here) and empties the histogram.
    let r = http(emu.url(), "POST", "/_emulator/rate-limit", Some("null"));
    assert_eq!(r.status, 200);
    for _ in 0..10 {
        assert!(mint(&c, "kafka", 300, "ES384").await.is_ok());
    }
    for bad in [
        r#"{"rps": 0, "burst": 1}"#,
        r#"{"rps": 1, "burst": 0}"#,
        r#"{"rps": 1}"#,
    ] {
        let r = http(emu.url(), "POST", "/_emulator/rate-limit", Some(bad));
        assert_eq!(r.status, 400, "{bad}");
    }
    let r = http(
        emu.url(),
        "POST",
        "/_emulator/rate-limit",
        Some(r#"{"rps": 1000, "burst": 1}"#),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        http(emu.url(), "GET", "/_emulator/rate-limit", None).json()["burst"],
        1
    );
    emu.reset();
    let stats = emu.stats();
    assert_eq!((stats.rate_limit, stats.throttled), (None, 0));
    assert!(stats.per_second.is_empty());
}

#[tokio::test]
async fn sdk_retries_the_rate_limit_as_throttling() {
    // The SDK's standard retry classifies Throttling as a throttling error
    // and retries it with backoff: at 5/s, burst 1, a second call right
    // after the first is refused once, then admitted on a retry.
    let emu = emulator();
    let c = Client::from_conf(
        config(&emu, USER_KEY, USER_SECRET, None)
            .retry_config(
                aws_sdk_sts::config::retry::RetryConfig::standard()
                    .with_max_attempts(10)
                    .with_initial_backoff(Duration::from_millis(100)),
            )
            .build(),
    );
    emu.set_rate_limit(Some(kafka_iam_oauth_emulator::RateLimit {
        rps: 5.0,
        burst: 1,
    }));
    assert!(mint(&c, "kafka", 300, "ES384").await.is_ok());
    assert!(mint(&c, "kafka", 300, "ES384").await.is_ok());
    let stats = emu.stats();
    assert!(stats.throttled >= 1, "{stats:?}");
    assert_eq!(
        stats.requests["GetWebIdentityToken"],
        2 + stats.throttled,
        "each refused call was retried"
    );
    assert_eq!(stats.tokens_issued, 2);
}
