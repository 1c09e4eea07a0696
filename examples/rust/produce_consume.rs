//! Produce and consume with rust-rdkafka, authenticated as an AWS IAM
//! principal by kafka-iam-oauth's `IamOAuthContext`.
//!
//! ```sh
//! KAFKA_BOOTSTRAP_SERVERS=my-kafka.example.com:9093 KAFKA_SECURITY_PROTOCOL=SASL_SSL \
//! SASL_OAUTHBEARER_CONFIG=region=eu-west-1,audience=my-kafka.example.com \
//! KAFKA_TOPIC=my-topic KAFKA_GROUP=my-consumer-group \
//! cargo run --example rdkafka_produce_consume --features rdkafka,rdkafka/ssl
//! ```
//! Optional: `SSL_CA_LOCATION` (a CA bundle), `MESSAGES` (default 5).
//! `make demo` runs it against the local emulator and broker.

use kafka_iam_oauth::rdkafka::IamOAuthContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

type BoxError = Box<dyn std::error::Error>;

fn var(key: &str) -> Result<String, BoxError> {
    std::env::var(key).map_err(|_| format!("set {key}").into())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let topic = var("KAFKA_TOPIC")?;
    let messages: usize = std::env::var("MESSAGES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);

    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", var("KAFKA_BOOTSTRAP_SERVERS")?)
        .set("security.protocol", var("KAFKA_SECURITY_PROTOCOL")?)
        .set("sasl.mechanism", "OAUTHBEARER")
        .set("sasl.oauthbearer.config", var("SASL_OAUTHBEARER_CONFIG")?);
    if let Ok(ca) = std::env::var("SSL_CA_LOCATION") {
        config.set("ssl.ca.location", ca);
    }
    // Validates sasl.oauthbearer.config; no network call yet.
    let context = IamOAuthContext::from_client_config(&config)?;

    // Optional: the first token now, off the async executor. Clients would
    // otherwise ask for it themselves on their first poll.
    let token = context.provider().token_async().await?;
    println!(
        "rust: authenticated as {} (token valid for {} s)",
        token.principal(),
        token.remaining().as_secs()
    );

    let producer: FutureProducer<IamOAuthContext> = config.create_with_context(context.clone())?;
    let run = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    for i in 0..messages {
        let key = format!("rust-{run}-{i}");
        let delivery = producer
            .send(
                FutureRecord::to(&topic)
                    .key(&key)
                    .payload("hello from rust-rdkafka"),
                Duration::from_secs(30),
            )
            .await
            .map_err(|(e, _)| e)?;
        println!(
            "rust: produced {key} to {topic} [{}] at offset {}",
            delivery.partition, delivery.offset
        );
    }

    let consumer: StreamConsumer<IamOAuthContext> = config
        .clone()
        .set("group.id", var("KAFKA_GROUP")?)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create_with_context(context)?;
    consumer.subscribe(&[&topic])?;
    let prefix = format!("rust-{run}-");
    let mut seen = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen < messages {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("consumed {seen} of {messages} messages in 60 s").into());
        }
        let Ok(m) = tokio::time::timeout(left, consumer.recv()).await else {
            continue;
        };
        let m = m?;
        let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
        if key.starts_with(&prefix) {
            seen += 1;
            println!(
                "rust: consumed {key} from {} [{}] at offset {}",
                m.topic(),
                m.partition(),
                m.offset()
            );
        }
        consumer.commit_message(&m, CommitMode::Sync)?;
    }
    println!("rust: done, {seen} messages produced and consumed");
    Ok(())
}
