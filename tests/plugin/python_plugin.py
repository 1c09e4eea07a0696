"""confluent-kafka-python with plugin.library.paths and no oauth_cb.

The wheel loads its bundled librdkafka privately, so the plugin must find it
at run time. Prints one line per check and exits non-zero on any failure."""
import os
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer

plugin, env = sys.argv[1], os.environ
good = f"region=eu-west-1,audience={env['KIO_AUDIENCE']},sts_endpoint={env['KIO_EMULATOR_URL']}"
base = {
    "bootstrap.servers": env["KIO_BOOTSTRAP_SSL"],
    "security.protocol": "SASL_SSL",
    "ssl.ca.location": env["KIO_CA_PEM"],
    "sasl.mechanism": "OAUTHBEARER",
    "plugin.library.paths": plugin,
}
failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    failures += 0 if ok else 1


payload = f"python-plugin-{time.time()}".encode()
delivered = []
p = Producer({**base, "sasl.oauthbearer.config": good})
p.produce(env["KIO_TOPIC"], payload, on_delivery=lambda err, msg: delivered.append(err))
p.flush(30)
check(delivered == [None], f"produce through the plugin (delivery: {delivered})")

c = Consumer({**base, "sasl.oauthbearer.config": good, "group.id": env["KIO_GROUP"], "auto.offset.reset": "earliest"})
c.subscribe([env["KIO_TOPIC"]])
found, deadline = False, time.time() + 45
while not found and time.time() < deadline:
    m = c.poll(0.5)
    found = m is not None and m.error() is None and m.value() == payload
c.close()
check(found, "consume it back in the consumer group")

# Two clients with different configs in one process each get their own token:
# the wrong audience is refused by the broker, the right one keeps working.
errors = []
bad = Producer({**base, "sasl.oauthbearer.config": good.replace(env["KIO_AUDIENCE"], "wrong-audience"),
                "error_cb": lambda e: errors.append(e), "message.timeout.ms": 8000})
bad.produce(env["KIO_TOPIC"], b"must-not-arrive")
bad.flush(15)
check(any(e.code() == -169 for e in errors), "a client with the wrong audience fails SASL authentication")
ok2 = []
p.produce(env["KIO_TOPIC"], b"still-fine", on_delivery=lambda err, msg: ok2.append(err))
p.flush(30)
check(ok2 == [None], "while the other client in the same process keeps producing")

for config, expect in [("audience=x", "'region' is required"), (good + ",duration_seconds=5", "between 60 and 3600")]:
    try:
        Producer({**base, "sasl.oauthbearer.config": config})
        check(False, f"bad config {config!r} must fail client creation")
    except KafkaException as e:
        check(expect in str(e), f"bad config fails client creation with our message: {e}")
sys.exit(1 if failures else 0)
