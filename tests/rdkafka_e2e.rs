//! rust-rdkafka (with the librdkafka it builds) against the harness broker,
//! authenticated by [`IamOAuthContext`]. The broker validates every token
//! against the emulator's JWKS and authorizes the IAM ARN with ACLs.
//! Needs the harness environment (`source "$KIO_RUN_DIR/env.sh"`) and
//! `--features rdkafka,rdkafka/ssl`; `make test-rust-rdkafka` does both.
#![cfg(feature = "rdkafka")]

mod common;

use kafka_iam_oauth::rdkafka::IamOAuthContext;
use kafka_iam_oauth::{ErrorKind, Provider};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| {
        panic!("{key} is not set: start the harness and source its env.sh (see harness/README.md)")
    })
}

/// `sasl.oauthbearer.config` for the harness, plus `extra`.
fn oauth_config(extra: &str) -> String {
    let mut s = format!(
        "region=eu-west-1,audience={},sts_endpoint={}",
        env("KIO_AUDIENCE"),
        env("KIO_EMULATOR_URL")
    );
    if !extra.is_empty() {
        s.push(',');
        s.push_str(extra);
    }
    s
}

fn client_config(oauth: &str, ssl: bool) -> ClientConfig {
    common::setup_env(true);
    let mut c = ClientConfig::new();
    c.set("sasl.mechanism", "OAUTHBEARER")
        .set("sasl.oauthbearer.config", oauth);
    if ssl {
        c.set("bootstrap.servers", env("KIO_BOOTSTRAP_SSL"))
            .set("security.protocol", "SASL_SSL")
            .set("ssl.ca.location", env("KIO_CA_PEM"));
    } else {
        c.set("bootstrap.servers", env("KIO_BOOTSTRAP_PLAINTEXT"))
            .set("security.protocol", "SASL_PLAINTEXT");
    }
    c
}

fn consumer_config(base: &ClientConfig) -> ClientConfig {
    let mut c = base.clone();
    c.set("group.id", env("KIO_GROUP"))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest");
    c
}

fn run_id(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{test}-{nanos}")
}

/// Reads partition 0 from the beginning without joining the group (tests
/// running at once must not take the partition from each other).
fn assign_from_start<C: Consumer<X>, X: rdkafka::consumer::ConsumerContext>(c: &C, topic: &str) {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    c.assign(&tpl).unwrap();
}

/// Receives until `want` messages whose key starts with `run/` arrived.
async fn receive(consumer: &StreamConsumer<IamOAuthContext>, run: &str, want: usize) -> usize {
    let prefix = format!("{run}/");
    let mut got = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while got < want && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(1), consumer.recv()).await {
            Ok(Ok(m)) => {
                if m.key().is_some_and(|k| k.starts_with(prefix.as_bytes())) {
                    got += 1;
                }
            }
            Ok(Err(e)) => panic!("consumer error: {e}"),
            Err(_) => {}
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_producer_and_stream_consumer_authenticate_as_the_iam_principal() {
    let config = client_config(&oauth_config(""), false);
    let context = IamOAuthContext::from_client_config(&config).unwrap();
    let topic = env("KIO_TOPIC");
    let run = run_id("base-producer");

    let producer: BaseProducer<IamOAuthContext> =
        config.create_with_context(context.clone()).unwrap();
    for i in 0..3 {
        let key = format!("{run}/{i}");
        producer
            .send(
                BaseRecord::to(&topic)
                    .key(&key)
                    .payload("hello from rust-rdkafka"),
            )
            .map_err(|(e, _)| e)
            .unwrap();
    }
    // flush() polls, which serves the token refresh, then waits for delivery.
    producer.flush(Duration::from_secs(60)).unwrap();

    let consumer: StreamConsumer<IamOAuthContext> = consumer_config(&config)
        .create_with_context(context.clone())
        .unwrap();
    assign_from_start(&consumer, &topic);
    assert_eq!(
        receive(&consumer, &run, 3).await,
        3,
        "consumed fewer than 3 messages"
    );

    let token = context.provider().token().unwrap();
    assert_eq!(token.principal(), env("KIO_PRINCIPAL"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn future_producer_and_stream_consumer_over_sasl_ssl() {
    let config = client_config(&oauth_config(""), true);
    let context = IamOAuthContext::from_client_config(&config).unwrap();
    let topic = env("KIO_TOPIC");
    let run = run_id("future-producer-ssl");
    // The first token without blocking the executor.
    context.provider().token_async().await.unwrap();

    let producer: FutureProducer<IamOAuthContext> =
        config.create_with_context(context.clone()).unwrap();
    for i in 0..3 {
        let key = format!("{run}/{i}");
        producer
            .send(
                FutureRecord::to(&topic).key(&key).payload("over TLS"),
                Duration::from_secs(30),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("delivery");
    }
    let consumer: StreamConsumer<IamOAuthContext> = consumer_config(&config)
        .create_with_context(context)
        .unwrap();
    assign_from_start(&consumer, &topic);
    assert_eq!(
        receive(&consumer, &run, 3).await,
        3,
        "consumed fewer than 3 messages"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_without_acl_is_denied() {
    let mut config = client_config(&oauth_config(""), false);
    config.set("message.timeout.ms", "15000");
    let context = IamOAuthContext::from_client_config(&config).unwrap();
    let producer: FutureProducer<IamOAuthContext> = config.create_with_context(context).unwrap();
    let err = producer
        .send(
            FutureRecord::<(), _>::to(&env("KIO_OTHER_TOPIC")).payload("x"),
            Duration::from_secs(30),
        )
        .await
        .map_err(|(e, _)| e)
        .expect_err("delivered to a topic without an ACL");
    assert_eq!(
        err,
        KafkaError::MessageProduction(RDKafkaErrorCode::TopicAuthorizationFailed)
    );
}

#[test]
fn wrong_audience_is_rejected_by_the_broker() {
    let oauth = format!(
        "region=eu-west-1,audience=not-{},sts_endpoint={}",
        env("KIO_AUDIENCE"),
        env("KIO_EMULATOR_URL")
    );
    let config = consumer_config(&client_config(&oauth, false));
    let context = IamOAuthContext::from_client_config(&config).unwrap();
    let consumer: BaseConsumer<IamOAuthContext> = config.create_with_context(context).unwrap();
    assign_from_start(&consumer, &env("KIO_TOPIC"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(500)) {
            Some(Err(e)) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::Authentication) => {
                return
            }
            Some(Ok(_)) => panic!("consumed with a token for the wrong audience"),
            _ => {}
        }
    }
    panic!("no authentication error within 60 s");
}

#[test]
fn extensions_are_refused_because_rust_rdkafka_cannot_send_them() {
    common::setup_env(true);
    let mut config = client_config(&oauth_config(""), false);
    config.set("sasl.oauthbearer.extensions", "logicalCluster=lkc-1");
    let err = IamOAuthContext::from_client_config(&config).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.message().contains("sasl.oauthbearer.extensions"),
        "{err}"
    );
    let provider = Provider::new(&oauth_config(""), "logicalCluster=lkc-1").unwrap();
    assert_eq!(
        IamOAuthContext::new(provider).unwrap_err().kind(),
        ErrorKind::Config
    );
}

#[test]
fn client_config_without_oauth_config_is_a_config_error() {
    let err = IamOAuthContext::from_client_config(&ClientConfig::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("sasl.oauthbearer.config"), "{err}");
    let mut config = ClientConfig::new();
    config.set("sasl.oauthbearer.config", "region=eu-west-1");
    let err = IamOAuthContext::from_client_config(&config).unwrap_err();
    assert!(err.message().contains("audience"), "{err}");
}

/// Seconds the long test produces for (default 150: two 60 s token
/// lifetimes and a half); `KIO_RUST_REFRESH_SECONDS` overrides it.
fn refresh_seconds() -> u64 {
    std::env::var("KIO_RUST_REFRESH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s| *s > 0)
        .unwrap_or(150)
}

/// A group consumer that keeps calling `recv()` keeps consuming across
/// several 60 s token lifetimes while the broker makes every client
/// re-authenticate each `$KIO_REAUTH_MS`: refreshes are served inside recv.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_consumer_stays_authenticated_across_token_lifetimes() {
    let total = Duration::from_secs(refresh_seconds());
    let config = client_config(&oauth_config("duration_seconds=60"), false);
    let context = IamOAuthContext::from_client_config(&config).unwrap();
    let topic = env("KIO_TOPIC");
    let run = run_id("stream-refresh");

    let mut cc = consumer_config(&config);
    cc.set("enable.auto.commit", "true");
    let consumer: StreamConsumer<IamOAuthContext> =
        cc.create_with_context(context.clone()).unwrap();
    consumer.subscribe(&[&topic]).unwrap();
    let producer: FutureProducer<IamOAuthContext> =
        config.create_with_context(context.clone()).unwrap();

    let prefix = format!("{run}/");
    // How many messages were produced, once the producer is done.
    let final_count = Arc::new(AtomicU64::new(u64::MAX));
    let done = Arc::clone(&final_count);
    let reader = tokio::spawn(async move {
        let mut got = BTreeMap::new();
        let mut errors = Vec::new();
        let stop = Instant::now() + total + Duration::from_secs(30);
        while Instant::now() < stop {
            match tokio::time::timeout(Duration::from_secs(1), consumer.recv()).await {
                Ok(Ok(m)) => {
                    if let Some(k) = m.key().and_then(|k| std::str::from_utf8(k).ok()) {
                        if let Some(seq) = k.strip_prefix(&prefix) {
                            got.insert(seq.parse::<u64>().unwrap(), ());
                        }
                    }
                }
                Ok(Err(e)) => errors.push(e),
                Err(_) => {}
            }
            if got.len() as u64 >= done.load(Ordering::Relaxed) {
                break;
            }
        }
        (got, errors)
    });

    let start = Instant::now();
    let mut produced = 0u64;
    while start.elapsed() < total {
        let key = format!("{run}/{produced}");
        producer
            .send(
                FutureRecord::to(&topic).key(&key).payload("tick"),
                Duration::from_secs(30),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap_or_else(|e| panic!("delivery of message {produced} failed: {e}"));
        produced += 1;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    final_count.store(produced, Ordering::Relaxed);
    let (got, errors) = reader.await.unwrap();
    let missing: Vec<u64> = (0..produced).filter(|s| !got.contains_key(s)).collect();
    let auth_errors: Vec<_> = errors
        .iter()
        .filter(|e| e.rdkafka_error_code() == Some(RDKafkaErrorCode::Authentication))
        .collect();
    let mints = context.provider().mint_count();
    eprintln!(
        "produced {produced} over {total:?}; consumed {}; tokens minted {mints}; errors {errors:?}",
        got.len()
    );
    assert!(
        missing.is_empty(),
        "the consumer missed {} messages: {missing:?}",
        missing.len()
    );
    assert!(
        auth_errors.is_empty(),
        "the consumer lost authentication: {auth_errors:?}"
    );
    // A refresh every 30-36 s of a 60 s token: the clients kept taking them.
    let want = total.as_secs() / 60 + 1;
    assert!(
        mints >= want,
        "{mints} tokens minted in {total:?}; want at least {want}"
    );
}
