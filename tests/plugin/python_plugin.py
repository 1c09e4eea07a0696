"""confluent-kafka-python with plugin.library.paths and no oauth_cb.

The wheel loads its bundled librdkafka privately, so the plugin must find it
at run time. Credentials come from profiles (kio-user, kio-noacl) in
AWS_SHARED_CREDENTIALS_FILE, so that two clients in this one process can be
two principals. Prints one line per check and exits non-zero on any failure.
Usage: python_plugin.py /path/to/libkafka_iam_oauth.so
"""
import ctypes
import os
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

plugin, env = sys.argv[1], os.environ
endpoint = f"region=eu-west-1,audience={env['KIO_AUDIENCE']},sts_endpoint={env['KIO_EMULATOR_URL']}"
good = endpoint + ",profile=kio-user"
noacl = endpoint + ",profile=kio-noacl"
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
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    failures += 0 if ok else 1


def consumer(config, errors):
    c = Consumer({**base, "sasl.oauthbearer.config": config, "group.id": env["KIO_GROUP"],
                  "auto.offset.reset": "earliest", "error_cb": errors.append})
    c.subscribe([env["KIO_TOPIC"]])
    return c


# The premise: librdkafka's symbols are not global in this process, so the
# plugin cannot rely on the dynamic linker (it looks the library up itself).
import confluent_kafka.cimpl  # noqa: E402,F401  (loads the bundled librdkafka)

check(not hasattr(ctypes.CDLL(None), "rd_kafka_conf_get"),
      "the wheel's librdkafka is loaded privately (rd_kafka_* not visible globally)")

payload = f"python-plugin-{time.time()}".encode()
delivered = []
p = Producer({**base, "sasl.oauthbearer.config": good})
p.produce(env["KIO_TOPIC"], payload, on_delivery=lambda err, msg: delivered.append(err))
p.flush(30)
check(delivered == [None], f"produce through the plugin (delivery: {delivered})")

errors = []
c = consumer(good, errors)
found, deadline = False, time.time() + 45
while not found and time.time() < deadline:
    m = c.poll(0.5)
    found = m is not None and m.error() is None and m.value() == payload
check(found, "consume it back in the consumer group")

# Several clients with different configs in one process, each with its own
# token: another principal (no group ACL) is refused the group, a wrong
# audience fails SASL, and the first clients keep working.
n_errors = []
n = consumer(noacl, n_errors)
refused, deadline = None, time.time() + 30
while refused is None and time.time() < deadline:
    m = n.poll(0.5)
    if m is not None and m.error() is not None and m.error().code() == KafkaError.GROUP_AUTHORIZATION_FAILED:
        refused = m.error()
n.close()
check(refused is not None, f"a second principal (kio-noacl) in the same process is refused the group: {refused}")

bad_errors = []
bad = Producer({**base, "sasl.oauthbearer.config": good.replace(env["KIO_AUDIENCE"], "wrong-audience"),
                "error_cb": bad_errors.append, "message.timeout.ms": 8000})
bad.produce(env["KIO_TOPIC"], b"must-not-arrive")
bad.flush(15)
check(any(e.code() == KafkaError._AUTHENTICATION for e in bad_errors),
      "a client with the wrong audience fails SASL authentication")

ok2 = []
p.produce(env["KIO_TOPIC"], payload + b"-2", on_delivery=lambda err, msg: ok2.append(err))
p.flush(30)
check(ok2 == [None], "while the first producer in the same process keeps producing")
found, deadline = False, time.time() + 45
while not found and time.time() < deadline:
    m = c.poll(0.5)
    found = m is not None and m.error() is None and m.value() == payload + b"-2"
check(found, "and the first consumer keeps consuming")
c.close()
check(not any(e.code() == KafkaError._AUTHENTICATION for e in errors + n_errors),
      "no authentication error for the good configurations")

for config, expect in [("audience=x", "'region' is required"),
                       (good + ",duration_seconds=5", "between 60 and 3600")]:
    try:
        Producer({**base, "sasl.oauthbearer.config": config})
        check(False, f"bad config {config!r} must fail client creation")
    except KafkaException as e:
        check(expect in str(e), f"bad config fails client creation with our message: {e}")
sys.exit(1 if failures else 0)
