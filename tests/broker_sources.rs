//! The credential sources at the real broker: EKS IRSA and EC2 IMDSv2
//! against the harness's emulator (whose keys the broker trusts), each in
//! a child process whose environment holds only what that runtime sets;
//! rust-rdkafka produces to `$KIO_SOURCES_TOPIC`, which only the sources'
//! roles may write, so a delivery proves the broker saw the role ARN.
//!
//! `rotation_across_three_credential_lifetimes` (ignored here; `make
//! test-rotation` runs it) keeps an IRSA and an IMDS producer running side
//! by side while the sources hand out credentials that expire every 3
//! minutes.
//!
//! Needs the harness environment and `--features rdkafka,rdkafka/ssl`;
//! `make test-credential-sources` and `make test-rotation` do both.
#![cfg(feature = "rdkafka")]

mod common;

use common::http;
use kafka_iam_oauth::rdkafka::IamOAuthContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use std::time::{Duration, Instant};

/// Set in a child process: the source it uses and what it does.
const CHILD: &str = "KIO_BROKER_SOURCE_CHILD";
/// In a rotation child: how long its producer runs, in seconds.
const RUN_SECONDS: &str = "KIO_ROTATION_RUN_SECONDS";

/// Credential lifetime during the rotation test (the 3 minutes).
const ROTATION_CREDENTIALS: u64 = 180;
/// The producers run for three credential lifetimes plus a minute, so
/// every source rotates its credentials at least three times.
const ROTATION_RUN: Duration = Duration::from_secs(3 * ROTATION_CREDENTIALS + 60);
/// One message this often during the rotation.
const ROTATION_SEND_EVERY: Duration = Duration::from_secs(2);

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| {
        panic!("{key} is not set: start the harness and source its env.sh (see harness/README.md)")
    })
}

/// Runs `scenario` in a child process (`common::run_in_child`) that also
/// gets the harness's `KIO_*` variables and `extra`; returns its stdout.
fn run_child(scenario: &str, extra: &[(&str, String)]) -> String {
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("KIO_"))
        .collect();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    common::run_in_child(CHILD, scenario, &env).0
}

/// The child's entry: runs the scenario named by [`CHILD`]; a no-op in
/// the normal test run.
#[test]
fn child() {
    let Ok(scenario) = std::env::var(CHILD) else {
        return;
    };
    let (source, what) = scenario.split_once(':').expect("source:what");
    let expected_role = match source {
        "irsa" => irsa_env(),
        "imds" => imds_env(),
        other => panic!("unknown source {other}"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    match what {
        "produce" => runtime.block_on(produce(&expected_role, 3, Duration::ZERO)),
        "rotate" => {
            let secs: u64 = env(RUN_SECONDS).parse().unwrap();
            let sends = secs / ROTATION_SEND_EVERY.as_secs();
            runtime.block_on(produce(&expected_role, sends, ROTATION_SEND_EVERY));
        }
        other => panic!("unknown scenario {other}"),
    }
    println!("scenario {scenario} passed");
}

/// The environment every child has: empty AWS config files, and the STS
/// endpoint override the SDK's own STS calls use (the emulator).
fn base_env() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kio-broker-sources-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("empty"), "").unwrap();
    std::env::set_var("AWS_CONFIG_FILE", dir.join("empty"));
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", dir.join("empty"));
    std::env::set_var("AWS_ENDPOINT_URL_STS", env("KIO_EMULATOR_URL"));
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    dir
}

/// EKS IRSA: a service account token from the stand-in OIDC issuer.
fn irsa_env() -> String {
    let dir = base_env();
    let (status, jwt) = http(
        "GET",
        &format!(
            "{}/_emulator/web-identity-token?sub=system:serviceaccount:kafka:producer&seconds=3600",
            env("KIO_EMULATOR_URL")
        ),
        &[],
        "",
    );
    assert_eq!(status, 200, "{jwt}");
    let file = dir.join("token");
    std::fs::write(&file, jwt).unwrap();
    std::env::set_var("AWS_WEB_IDENTITY_TOKEN_FILE", &file);
    std::env::set_var("AWS_ROLE_ARN", env("KIO_IRSA_ROLE_ARN"));
    std::env::set_var("AWS_ROLE_SESSION_NAME", "kafka-producer-pod");
    env("KIO_IRSA_ROLE_ARN")
}

/// EC2: IMDSv2 on loopback.
fn imds_env() -> String {
    base_env();
    std::env::remove_var("AWS_EC2_METADATA_DISABLED");
    std::env::set_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", env("KIO_EMULATOR_URL"));
    env("KIO_INSTANCE_ROLE_ARN")
}

fn producer_config() -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", env("KIO_BOOTSTRAP_PLAINTEXT"))
        .set("security.protocol", "SASL_PLAINTEXT")
        .set("sasl.mechanism", "OAUTHBEARER")
        .set(
            "sasl.oauthbearer.config",
            format!(
                "region=eu-west-1,audience={},sts_endpoint={}",
                env("KIO_AUDIENCE"),
                env("KIO_EMULATOR_URL")
            ),
        )
        .set("message.timeout.ms", "30000");
    c
}

/// Produces `count` messages to the sources topic, one every `every`,
/// each delivered before the next; then checks the principal and that no
/// mint failed.
async fn produce(expected_role: &str, count: u64, every: Duration) {
    let config = producer_config();
    let context = IamOAuthContext::from_client_config(&config).unwrap();
    let producer: FutureProducer<IamOAuthContext> =
        config.create_with_context(context.clone()).unwrap();
    let topic = env("KIO_SOURCES_TOPIC");
    let started = Instant::now();
    for i in 0..count {
        let key = format!("{}-{i}", std::process::id());
        producer
            .send(
                FutureRecord::to(&topic)
                    .key(&key)
                    .payload("from a credential source"),
                Duration::from_secs(30),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap_or_else(|e| {
                panic!(
                    "message {i} after {:?} not delivered: {e}",
                    started.elapsed()
                )
            });
        tokio::time::sleep(every).await;
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    let token = context.provider().token().unwrap();
    assert_eq!(token.principal(), expected_role);
    let stats = context.provider().stats();
    println!(
        "delivered {count} messages in {:?} as {expected_role}; {} mints, {} failures",
        started.elapsed(),
        stats.mints,
        stats.failures
    );
    // No error ever reached the user (a SessionDurationEscalation would
    // show here as a failed mint).
    assert_eq!(stats.failures, 0, "{stats:?}");
    assert_eq!(stats.last_error_kind, None);
}

#[test]
fn irsa_role_is_the_principal_at_the_broker() {
    run_child("irsa:produce", &[]);
}

#[test]
fn imds_instance_role_is_the_principal_at_the_broker() {
    run_child("imds:produce", &[]);
}

#[test]
fn a_user_without_the_role_acl_is_denied_on_the_sources_topic() {
    // The control for the two tests above: the topic's ACLs name only the
    // roles, so the same producer as my-iam-user (environment keys) is refused.
    common::setup_env(true);
    let mut config = producer_config();
    config.set("message.timeout.ms", "15000");
    let context = IamOAuthContext::from_client_config(&config).unwrap();
    let producer: FutureProducer<IamOAuthContext> = config.create_with_context(context).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let err = runtime
        .block_on(producer.send(
            FutureRecord::<(), _>::to(&env("KIO_SOURCES_TOPIC")).payload("x"),
            Duration::from_secs(30),
        ))
        .map_err(|(e, _)| e)
        .expect_err("delivered to the sources topic as a user");
    assert_eq!(
        err,
        KafkaError::MessageProduction(RDKafkaErrorCode::TopicAuthorizationFailed)
    );
}

/// `POST /_emulator/sources` on the harness's emulator.
fn sources_update(body: &str) -> serde_json::Value {
    let (status, text) = http(
        "POST",
        &format!("{}/_emulator/sources", env("KIO_EMULATOR_URL")),
        &[("Content-Type", "application/json")],
        body,
    );
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Rotation (mostly waiting: `make test-rotation`): the sources hand out
/// credentials that expire every 3 minutes; an IRSA and an IMDS producer
/// run side by side for three lifetimes and a minute. Every message is
/// delivered, no mint fails, every token was capped to the credentials
/// that signed it (STS never had to refuse one as outliving them), and
/// each source's credentials were rotated at least three times.
#[test]
#[ignore = "about 10 minutes of waiting: make test-rotation"]
fn rotation_across_three_credential_lifetimes() {
    // Only this test changes the harness emulator's sources; the reset
    // forgets earlier tokens so the counts below are this run's.
    sources_update(&format!(
        "{{\"reset\": true, \"credential_seconds\": {ROTATION_CREDENTIALS}}}"
    ));
    let run = [(RUN_SECONDS, ROTATION_RUN.as_secs().to_string())];
    let (irsa, imds) = std::thread::scope(|s| {
        let irsa = s.spawn(|| std::panic::catch_unwind(|| run_child("irsa:rotate", &run)));
        let imds = s.spawn(|| std::panic::catch_unwind(|| run_child("imds:rotate", &run)));
        (irsa.join().unwrap(), imds.join().unwrap())
    });
    let view = sources_update(&format!(
        "{{\"credential_seconds\": {}}}",
        kafka_iam_oauth_emulator::DEFAULT_CREDENTIAL_SECONDS
    ));
    irsa.expect("the IRSA producer");
    imds.expect("the IMDS producer");
    for role in [env("KIO_IRSA_ROLE_ARN"), env("KIO_INSTANCE_ROLE_ARN")] {
        let escalations = view["escalations_refused"][&role].as_u64().unwrap_or(0);
        assert_eq!(
            escalations, 0,
            "STS refused tokens of {role} as outliving their credentials"
        );
        let issued: Vec<&serde_json::Value> = view["issued"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["principal"] == role.as_str())
            .collect();
        for t in &issued {
            assert!(
                t["exp"].as_i64() <= t["credentials_expire"].as_i64(),
                "a token of {role} outlives its credentials: {t}"
            );
        }
        let mut keys: Vec<&str> = issued
            .iter()
            .filter_map(|t| t["access_key_id"].as_str())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        println!(
            "{role}: {} tokens signed by {} credentials",
            issued.len(),
            keys.len()
        );
        // The first credentials and at least three rotations.
        assert!(
            keys.len() >= 4,
            "{role}: only {} credentials used",
            keys.len()
        );
    }
}
