"""The Aiven guide's producer/consumer, with kafka_iam_oauth as the oauth_cb.

Environment (written by harness/kafka-up.sh into env.sh): KIO_BOOTSTRAP_SSL,
KIO_CA_PEM, KIO_AUDIENCE, KIO_EMULATOR_URL, KIO_TOPIC, KIO_GROUP. Against real
AWS leave KIO_EMULATOR_URL unset and use your own region and audience.
"""
import os
import sys
import time
import uuid

from confluent_kafka import Consumer, Producer

import kafka_iam_oauth

env = os.environ
config = f"region={env.get('AWS_REGION', 'eu-west-1')},audience={env['KIO_AUDIENCE']},duration_seconds=3600"
if env.get("KIO_EMULATOR_URL"):
    config += f",sts_endpoint={env['KIO_EMULATOR_URL']}"

# At start-up, before any client is built: the checks of `kafka-iam-oauth
# doctor` (config, credentials, STS, federation, permission, a token), so a
# problem shows as its real reason (e.g. AccessDenied and the permission to
# grant), not as confluent-kafka's "OAuth token not set within 10 seconds".
try:
    kafka_iam_oauth.check(config)
except kafka_iam_oauth.Error as e:
    sys.exit(f"Cannot get a Kafka token: {e}")

common = {
    "bootstrap.servers": env["KIO_BOOTSTRAP_SSL"],
    "security.protocol": "SASL_SSL",
    "ssl.ca.location": env["KIO_CA_PEM"],
    "sasl.mechanism": "OAUTHBEARER",
    "sasl.oauthbearer.config": config,
    "oauth_cb": kafka_iam_oauth.oauth_cb,
}
topic, group = env.get("KIO_TOPIC", "my-topic"), env.get("KIO_GROUP", "my-consumer-group")

token = kafka_iam_oauth.TokenProvider(config=config).token()
print(f"Authenticated to AWS as {token.principal}")
print(f"The Kafka token is valid for another {token.remaining_seconds / 60:.0f} minutes")

run = uuid.uuid4().hex[:8]
messages = [f"message {i} of run {run}" for i in range(5)]
delivered = []
producer = Producer(common)
for m in messages:
    producer.produce(topic, m.encode(), on_delivery=lambda err, msg: delivered.append(err))
producer.flush(30)
ok = sum(1 for e in delivered if e is None)
print(f"Produced {ok} of {len(messages)} messages to topic {topic}")

consumer = Consumer({**common, "group.id": group, "auto.offset.reset": "earliest"})
consumer.subscribe([topic])
seen = set()
deadline = time.time() + 60
while len(seen) < len(messages) and time.time() < deadline:
    msg = consumer.poll(0.5)
    if msg is None or msg.error():
        continue
    value = msg.value().decode(errors="replace")
    if value in messages:
        seen.add(value)
consumer.close()
print(f"Consumed {len(seen)} of those messages back in consumer group {group}")

sys.exit(0 if ok == len(messages) == len(seen) else 1)
