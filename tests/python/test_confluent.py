"""confluent-kafka with kafka_iam_oauth.oauth_cb on the Aiven guide's scenario."""
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient

import kafka_iam_oauth
from conftest import CONFIG, EMULATOR, GROUP, OTHER_TOPIC, TOPIC, base_conf, fresh_config, sts_calls


def produce_one(conf, topic, payload, timeout=30):
    results = []
    p = Producer({**conf, "message.timeout.ms": 20000})
    p.produce(topic, payload, on_delivery=lambda err, msg: results.append(err))
    p.flush(timeout)
    return results


@pytest.mark.parametrize("ssl", [False, True], ids=["SASL_PLAINTEXT", "SASL_SSL"])
def test_produce_and_consume_in_group(ssl):
    conf = base_conf(ssl)
    payload = f"py-{uuid.uuid4()}".encode()
    assert produce_one(conf, TOPIC, payload) == [None]

    c = Consumer({**conf, "group.id": GROUP, "auto.offset.reset": "earliest",
                  "enable.auto.commit": True})
    try:
        c.subscribe([TOPIC])
        deadline, seen = time.time() + 45, False
        while not seen and time.time() < deadline:
            m = c.poll(0.5)
            if m is not None and m.error() is None and m.value() == payload:
                seen = True
        assert seen, "the message produced was consumed back in my-consumer-group"
    finally:
        c.close()


def test_admin_lists_topics():
    a = AdminClient(base_conf(ssl=True))
    md = a.list_topics(timeout=20)
    assert TOPIC in md.topics


def test_wrong_audience_fails_authentication():
    errors = []
    conf = {**base_conf(), "sasl.oauthbearer.config": f"region=eu-west-1,audience=wrong-audience,sts_endpoint={EMULATOR}",
            "error_cb": lambda e: errors.append(e)}
    results = []
    p = Producer({**conf, "message.timeout.ms": 8000})
    p.produce(TOPIC, b"must-not-arrive", on_delivery=lambda err, msg: results.append(err))
    p.flush(15)
    assert any(e.code() == KafkaError._AUTHENTICATION for e in errors), errors
    assert results and results[0] is not None, "the message was not delivered"


def test_topic_without_acl_is_refused():
    results = produce_one(base_conf(), OTHER_TOPIC, b"no-acl", timeout=20)
    assert len(results) == 1 and results[0] is not None
    assert results[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, results[0]


def test_fifty_producers_share_one_sts_call():
    config = fresh_config("fifty")
    before = sts_calls()
    producers = [Producer({**base_conf(), "sasl.oauthbearer.config": config}) for _ in range(50)]
    delivered = []
    for i, p in enumerate(producers):
        p.produce(TOPIC, f"fifty-{i}".encode(), on_delivery=lambda err, msg: delivered.append(err))
    for p in producers:
        p.flush(30)
    assert delivered == [None] * 50
    assert sts_calls() - before == 1
    assert kafka_iam_oauth.Provider(config).mint_count == 1


def test_token_provider_as_oauth_cb():
    tp = kafka_iam_oauth.TokenProvider(config=CONFIG)
    conf = {**base_conf(), "oauth_cb": tp}
    assert produce_one(conf, TOPIC, b"via-token-provider") == [None]
