//! The `kafka-iam-oauth` binary against the harness's broker and emulator
//! (`source "$KIO_RUN_DIR/env.sh"`; `make test-cli` runs it with
//! `--features broker-tests`):
//! - `verify` agrees with the real broker on a corpus of tokens (the
//!   broker's verdict through librdkafka, opened at run time);
//! - `doctor --bootstrap` names the failing broker step;
//! - `acls` output fed to Kafka's AclCommand grants a fresh principal
//!   exactly what it needs, and then it produces and consumes (Kafka's own
//!   Java clients on a token file kept by `serve --once`).
#![cfg(feature = "broker-tests")]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kafka_iam_oauth_cli::rdkafka::{BrokerOptions, Librdkafka};
use kafka_iam_oauth_emulator::{NO_ACL_USER, USER};
use serde_json::{json, Value};
mod common;
// The core's test helpers: its loopback HTTP client for the control API.
#[path = "../../tests/common/mod.rs"]
mod core_common;

use common::{assert_failed_at, last_step, step_names, text, Creds};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest one CLI command may take (doctor waits up to its broker timeout).
const COMMAND_BOUND: Duration = Duration::from_secs(60);
/// How long the broker has to answer one authentication.
const BROKER_TIMEOUT: Duration = Duration::from_secs(20);

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| {
        panic!("{key} is not set: start the harness and source its env.sh (see harness/README.md)")
    })
}

fn unique(prefix: &str) -> String {
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{n}", std::process::id())
}

fn config(audience: &str, extra: &str) -> String {
    let mut c = format!(
        "region=eu-west-1,audience={audience},sts_endpoint={}",
        env("KIO_EMULATOR_URL")
    );
    if !extra.is_empty() {
        c.push(',');
        c.push_str(extra);
    }
    c
}

const USER_KEYS: (&str, &str) = (USER.access_key_id, USER.secret_access_key);
const NO_ACL_KEYS: (&str, &str) = (NO_ACL_USER.access_key_id, NO_ACL_USER.secret_access_key);

fn run(c: Command) -> Output {
    common::run(c, COMMAND_BOUND)
}

/// A command with the harness identity `(key, secret)` and nothing else.
fn cli(keys: (&str, &str), args: &[&str]) -> Command {
    common::cli(&Creds::keys(keys.0, keys.1), args)
}

fn raw_token(keys: (&str, &str), config: &str) -> String {
    let o = run(cli(keys, &["--config", config, "token", "--raw"]));
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

/// `POST path` with a JSON body to the harness emulator's control API.
fn emulator_post(path: &str, body: &Value) -> Value {
    let url = format!("{}{path}", env("KIO_EMULATOR_URL"));
    let (status, answer) = core_common::http(
        "POST",
        &url,
        &[("Content-Type", "application/json")],
        &body.to_string(),
    );
    assert_eq!(status, 200, "{answer}");
    serde_json::from_str(&answer).unwrap()
}

/// Claims signed with the harness issuer's own keys.
fn signed(claims: Value, kid: Option<&str>) -> String {
    let mut req = json!({ "claims": claims, "alg": "RS256" });
    if let Some(k) = kid {
        req["kid"] = json!(k);
    }
    emulator_post("/_emulator/sign", &req)["token"]
        .as_str()
        .unwrap()
        .to_string()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The token's parts re-joined with `payload` replaced.
fn with_payload(jwt: &str, edit: impl FnOnce(&mut Value)) -> String {
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    edit(&mut claims);
    let p = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{}.{p}.{}", parts[0], parts[2])
}

/// The broker's verdict: does SASL/OAUTHBEARER authentication succeed?
fn broker_accepts(rd: &Librdkafka, jwt: &str) -> Result<(), String> {
    let opts = BrokerOptions {
        bootstrap: env("KIO_BOOTSTRAP_PLAINTEXT"),
        security_protocol: "SASL_PLAINTEXT".into(),
        timeout: BROKER_TIMEOUT,
        ..BrokerOptions::default()
    };
    let v = rd
        .check_broker(&opts, jwt, "corpus")
        .expect("librdkafka set-up");
    v.connected.expect("the harness broker answers");
    v.authenticated
}

/// `verify`'s verdict (exit status 0 or 1) and its first failed check.
fn verify(jwt: &str) -> (bool, Option<String>) {
    let o = run(cli(
        USER_KEYS,
        &[
            "--json",
            "verify",
            jwt,
            "--issuer",
            &env("KIO_ISSUER"),
            "--audience",
            &env("KIO_AUDIENCE"),
            "--jwks",
            &env("KIO_JWKS_URL"),
            "--clock-skew",
            &env("KIO_CLOCK_SKEW"),
        ],
    ));
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    let code = o.status.code();
    assert!(matches!(code, Some(0 | 1)), "{}", text(&o));
    (
        code == Some(0),
        v["first_failure"]["check"].as_str().map(str::to_string),
    )
}

#[test]
fn verify_agrees_with_the_broker_on_a_corpus() {
    let rd = Librdkafka::open(None).expect("librdkafka (the harness machine has it)");
    let aud = env("KIO_AUDIENCE");
    let iss = env("KIO_ISSUER");
    let sub = USER.arn;
    let good = raw_token(USER_KEYS, &config(&aud, ""));
    let t = now();
    let base = json!({"iss": iss, "aud": aud, "sub": sub, "iat": t, "exp": t + 600});
    let claims = |edit: &dyn Fn(&mut Value)| {
        let mut c = base.clone();
        edit(&mut c);
        c
    };
    let parts: Vec<&str> = good.split('.').collect();
    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let mid = sig.len() / 2;
    sig[mid] ^= 0x55;
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    // (case, token, verify's expected first failed check; None = accepted)
    let corpus: Vec<(&str, String, Option<&str>)> = vec![
        ("good", good.clone(), None),
        (
            "good, signed by the sign endpoint",
            signed(base.clone(), None),
            None,
        ),
        (
            "wrong audience",
            raw_token(USER_KEYS, &config("wrong-audience.example.com", "")),
            Some("aud"),
        ),
        (
            "wrong issuer",
            signed(
                claims(&|c| c["iss"] = json!("https://wrong-issuer.example.com")),
                None,
            ),
            Some("iss"),
        ),
        (
            "expired",
            signed(
                claims(&|c| {
                    c["iat"] = json!(t - 900);
                    c["exp"] = json!(t - 300)
                }),
                None,
            ),
            Some("exp"),
        ),
        (
            "not yet valid",
            signed(claims(&|c| c["nbf"] = json!(t + 300)), None),
            Some("nbf"),
        ),
        // Kafka (jose4j) requires iat but does not refuse one ahead of its
        // clock; verify agrees.
        (
            "issued in the future",
            signed(
                claims(&|c| {
                    c["iat"] = json!(t + 300);
                    c["exp"] = json!(t + 900)
                }),
                None,
            ),
            None,
        ),
        (
            "tampered payload",
            with_payload(&good, |c| c["sub"] = json!("ANONYMOUS")),
            Some("signature"),
        ),
        (
            "tampered signature",
            format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(&sig)),
            Some("signature"),
        ),
        (
            "alg none",
            format!("{none_header}.{}.", parts[1]),
            Some("algorithm"),
        ),
        (
            "unknown kid",
            signed(base.clone(), Some("RSA_UNKNOWN")),
            Some("kid"),
        ),
        (
            "missing subject claim",
            signed(
                claims(&|c| {
                    c.as_object_mut().unwrap().remove("sub");
                }),
                None,
            ),
            Some("subject"),
        ),
    ];
    let mut disagreements = Vec::new();
    for (case, token, expected) in &corpus {
        let broker = broker_accepts(&rd, token);
        let (accepted, first) = verify(token);
        println!(
            "{case}: broker {}, verify {} ({})",
            if broker.is_ok() { "accepts" } else { "rejects" },
            if accepted { "accepts" } else { "rejects" },
            first.as_deref().unwrap_or("-")
        );
        if broker.is_ok() != accepted {
            disagreements.push(format!(
                "{case}: broker {broker:?}, verify accepted={accepted} ({first:?})"
            ));
        }
        assert_eq!(
            first.as_deref(),
            *expected,
            "{case}: verify's first failure"
        );
        assert_eq!(
            broker.is_ok(),
            expected.is_none(),
            "{case}: the broker's verdict {broker:?}"
        );
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

/// `doctor --json` with the broker; its failed step.
fn doctor(keys: (&str, &str), config: &str, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec!["--config", config, "--json", "doctor"];
    if !extra.contains(&"--broker-timeout") {
        args.extend_from_slice(&["--broker-timeout", "15"]);
    }
    args.extend_from_slice(extra);
    let o = run(cli(keys, &args));
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    (o.status.code(), v)
}

fn ssl_broker() -> Vec<String> {
    vec![
        "--bootstrap".into(),
        env("KIO_BOOTSTRAP_SSL"),
        "--ca".into(),
        env("KIO_CA_PEM"),
        "--topic".into(),
        env("KIO_TOPIC"),
        "--group".into(),
        env("KIO_GROUP"),
    ]
}

#[test]
fn doctor_names_the_failing_broker_step() {
    let aud = env("KIO_AUDIENCE");
    let broker = ssl_broker();
    let broker: Vec<&str> = broker.iter().map(String::as_str).collect();
    let mut good = broker.clone();
    let (iss, a) = (env("KIO_ISSUER"), aud.clone());
    good.extend_from_slice(&["--issuer", &iss, "--audience", &a]);
    let (code, v) = doctor(USER_KEYS, &config(&aud, ""), &good);
    assert_eq!(code, Some(0), "{v}");
    let names = step_names(&v);
    assert_eq!(
        &names[7..],
        [
            "librdkafka",
            "broker_connect",
            "broker_auth",
            "topic_access",
            "group_access"
        ],
        "{v}"
    );

    // A token for another audience: STS mints it, the broker refuses it.
    assert_failed_at(
        doctor(
            USER_KEYS,
            &config("wrong-audience.example.com", ""),
            &broker,
        ),
        1,
        "broker_auth",
    );

    // A fresh role: authenticated, no ACL on the topic.
    let fresh = format!(
        "role_arn=arn:aws:iam::123456789012:role/{}",
        unique("cli-doctor")
    );
    assert_failed_at(
        doctor(USER_KEYS, &config(&aud, &fresh), &broker),
        1,
        "topic_access",
    );

    // no-acl-user: topic ACLs, no group ACL.
    assert_failed_at(
        doctor(NO_ACL_KEYS, &config(&aud, ""), &broker),
        1,
        "group_access",
    );

    // Nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    assert_failed_at(
        doctor(
            USER_KEYS,
            &config(&aud, ""),
            &[
                "--bootstrap",
                &closed,
                "--security-protocol",
                "SASL_PLAINTEXT",
                "--broker-timeout",
                "3",
            ],
        ),
        1,
        "broker_connect",
    );

    // Everything from a Kafka client properties file: the configuration,
    // bootstrap.servers, security.protocol, ssl.ca.location.
    let dir = tempfile::tempdir().unwrap();
    let props = dir.path().join("client.properties");
    std::fs::write(
        &props,
        format!(
            "bootstrap.servers={}\nsecurity.protocol=SASL_SSL\nsasl.mechanism=OAUTHBEARER\n\
             ssl.ca.location={}\nsasl.oauthbearer.config={}\n",
            env("KIO_BOOTSTRAP_SSL"),
            env("KIO_CA_PEM"),
            config(&aud, "")
        ),
    )
    .unwrap();
    let o = run(cli(
        USER_KEYS,
        &[
            "--properties",
            props.to_str().unwrap(),
            "--json",
            "doctor",
            "--topic",
            &env("KIO_TOPIC"),
        ],
    ));
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    assert_eq!(o.status.code(), Some(0), "{v}");
    let auth = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "broker_auth")
        .unwrap();
    assert_eq!(auth["verdict"], "pass", "{v}");

    // No librdkafka at the given path: said clearly.
    let v = assert_failed_at(
        doctor(
            USER_KEYS,
            &config(&aud, ""),
            &[
                "--bootstrap",
                &closed,
                "--librdkafka",
                "/nonexistent/librdkafka.so.1",
            ],
        ),
        1,
        "librdkafka",
    );
    assert!(last_step(&v)["message"]
        .as_str()
        .unwrap()
        .contains("install"));
}

/// Runs `script` in bash with the harness helpers (`kafka_java`) loaded and
/// `kafka-acls.sh` standing for Kafka's AclCommand.
fn harness_bash(script: &str) -> Output {
    let lib = concat!(env!("CARGO_MANIFEST_DIR"), "/../harness/lib.sh");
    let mut c = Command::new("bash");
    c.arg("-c").arg(format!(
        "set -euo pipefail; source {lib}; kafka-acls.sh() {{ kafka_java org.apache.kafka.tools.AclCommand \"$@\"; }}\n{script}"
    ));
    run(c)
}

#[test]
fn acls_output_grants_a_fresh_principal_what_produce_and_consume_need() {
    let role = format!("arn:aws:iam::123456789012:role/{}", unique("cli-acls"));
    let group = unique("cli-acls-group");
    let topic = env("KIO_TOPIC");
    let cfg = config(&env("KIO_AUDIENCE"), &format!("role_arn={role}"));
    let broker = [
        "--bootstrap",
        "",
        "--security-protocol",
        "SASL_PLAINTEXT",
        "--topic",
        &topic,
        "--group",
        &group,
    ];
    let plain = env("KIO_BOOTSTRAP_PLAINTEXT");
    let broker: Vec<&str> = broker
        .iter()
        .map(|a| if a.is_empty() { plain.as_str() } else { a })
        .collect();

    // Before: the fresh principal has nothing.
    let (_, v) = doctor(USER_KEYS, &cfg, &broker);
    assert_eq!(v["failed_step"], "topic_access", "{v}");

    // The commands, with the principal from a minted token.
    let o = run(cli(
        USER_KEYS,
        &[
            "--config",
            &cfg,
            "acls",
            "--topic",
            &topic,
            "--group",
            &group,
            "--format",
            "kafka-acls",
            "--bootstrap-server",
            &env("KIO_ADMIN_BOOTSTRAP"),
        ],
    ));
    assert!(o.status.success(), "{}", text(&o));
    let commands = String::from_utf8(o.stdout).unwrap();
    assert!(commands.contains(&format!("User:{role}")), "{commands}");
    let applied = harness_bash(&commands);
    assert!(applied.status.success(), "{}", text(&applied));

    // Exactly the guide's grants: Describe, Write, Read on the topic, Read
    // on the group, for this principal.
    let listed = harness_bash(&format!(
        "kafka_java org.apache.kafka.tools.AclCommand --bootstrap-server {} --list --principal 'User:{role}'",
        env("KIO_ADMIN_BOOTSTRAP")
    ));
    assert!(listed.status.success(), "{}", text(&listed));
    let listing = String::from_utf8_lossy(&listed.stdout).into_owned();
    let mut entries: Vec<String> = listing
        .lines()
        .filter(|l| l.contains(&format!("principal=User:{role}")))
        .map(|l| {
            let op = l
                .split("operation=")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap();
            op.to_string()
        })
        .collect();
    entries.sort();
    assert_eq!(entries, ["DESCRIBE", "READ", "READ", "WRITE"], "{listing}");

    // After: doctor passes, and Kafka's own clients produce and consume as
    // the principal, with a token file written by serve --once.
    let (code, v) = doctor(USER_KEYS, &cfg, &broker);
    assert_eq!(code, Some(0), "{v}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token.jwt");
    let o = run(cli(
        USER_KEYS,
        &[
            "--config",
            &cfg,
            "serve",
            "--once",
            "--token-file",
            file.to_str().unwrap(),
        ],
    ));
    assert!(o.status.success(), "{}", text(&o));
    let props = dir.path().join("client.properties");
    std::fs::write(
        &props,
        format!(
            "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=OAUTHBEARER\n\
             sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required ;\n\
             sasl.login.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler\n\
             sasl.oauthbearer.token.endpoint.url=file://{}\nmax.block.ms=20000\n",
            file.display()
        ),
    )
    .unwrap();
    let java = |class: &str, args: &str| {
        harness_bash(&format!(
            "KIO_TOOL_JAVA_OPTS=-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=file://{} \
             kafka_java {class} --bootstrap-server {plain} --command-config {} {args} 2>&1",
            file.display(),
            props.display()
        ))
    };
    let produced = java(
        "org.apache.kafka.tools.VerifiableProducer",
        &format!("--topic {topic} --max-messages 1"),
    );
    assert!(
        text(&produced).contains("\"name\":\"producer_send_success\""),
        "{}",
        text(&produced)
    );
    let consumed = java(
        "org.apache.kafka.tools.VerifiableConsumer",
        &format!("--topic {topic} --group-id {group} --max-messages 1 --reset-policy earliest"),
    );
    assert!(
        text(&consumed).contains("\"name\":\"records_consumed\""),
        "{}",
        text(&consumed)
    );
}
