"""kafka-python and aiokafka produce and consume with our token providers."""
import asyncio
import ssl
import time
import uuid

from conftest import CONFIG, ENV, GROUP, PRINCIPAL, TOPIC, fresh_config

import kafka_iam_oauth


def test_kafka_python_produce_consume():
    from kafka import KafkaConsumer, KafkaProducer
    from kafka_iam_oauth.kafka_python import KafkaPythonTokenProvider

    tp = KafkaPythonTokenProvider(kafka_iam_oauth.TokenProvider(config=CONFIG))
    common = dict(bootstrap_servers=ENV["KIO_BOOTSTRAP_PLAINTEXT"], security_protocol="SASL_PLAINTEXT",
                  sasl_mechanism="OAUTHBEARER", sasl_oauth_token_provider=tp)
    payload = f"kafka-python-{uuid.uuid4()}".encode()
    p = KafkaProducer(**common)
    try:
        md = p.send(TOPIC, payload).get(timeout=30)
        assert md.topic == TOPIC
    finally:
        p.close()
    c = KafkaConsumer(TOPIC, group_id=GROUP, auto_offset_reset="earliest", consumer_timeout_ms=1000, **common)
    try:
        deadline, seen = time.time() + 45, False
        while not seen and time.time() < deadline:
            for batch in c.poll(timeout_ms=500).values():
                seen = seen or any(m.value == payload for m in batch)
        assert seen
    finally:
        c.close()


def test_aiokafka_produce_consume_over_ssl():
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from kafka_iam_oauth.aiokafka import AIOKafkaTokenProvider

    async def run():
        ctx = ssl.create_default_context(cafile=ENV["KIO_CA_PEM"])
        tp = AIOKafkaTokenProvider(config=CONFIG)
        assert (await tp.token()).count(".") == 2
        common = dict(bootstrap_servers=ENV["KIO_BOOTSTRAP_SSL"], security_protocol="SASL_SSL", ssl_context=ctx,
                      sasl_mechanism="OAUTHBEARER", sasl_oauth_token_provider=tp)
        payload = f"aiokafka-{uuid.uuid4()}".encode()
        p = AIOKafkaProducer(**common)
        await p.start()
        try:
            await p.send_and_wait(TOPIC, payload)
        finally:
            await p.stop()
        c = AIOKafkaConsumer(TOPIC, group_id=GROUP, auto_offset_reset="earliest", **common)
        await c.start()
        try:
            deadline = time.time() + 45
            while time.time() < deadline:
                batches = await c.getmany(timeout_ms=500)
                if any(m.value == payload for msgs in batches.values() for m in msgs):
                    return True
            return False
        finally:
            await c.stop()

    assert asyncio.run(run())


def test_token_async_does_not_block_the_loop():
    async def run():
        tp = kafka_iam_oauth.TokenProvider(config=fresh_config("async"))
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        t = asyncio.create_task(ticker())
        tok = await tp.token_async()
        t.cancel()
        return tok, ticks

    tok, ticks = asyncio.run(run())
    assert tok.principal == PRINCIPAL and tok.claims["sub"] == PRINCIPAL
    assert ticks >= 1
