"""Issue 10 against the harness broker and a Karapace stand-in
(tests/python/restproxy.py): subject_mode decides the Kafka principal, one
token with two audiences serves the broker and the REST proxy, RestProxyAuth
keeps Karapace's margin, Karapace's optional typ/azp checks and its RS*-only
algorithms, and the ``sasl_oauth_token_provider_class`` provider called the
way Karapace calls it.

Bounds: every Kafka wait is at most KAFKA_WAIT_S; the scaled-down Karapace
run lasts at most ROTATION_BOUND_S (it waits out one 60 s token)."""
import asyncio
import json
import logging
import os
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
import requests
from confluent_kafka import Producer
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType, AdminClient,
                                   NewTopic, ResourcePatternType, ResourceType)

import kafka_iam_oauth
from kafka_iam_oauth.http import (DEFAULT_MARGIN_SECONDS, KARAPACE_CLEANUP_PERIOD_SECONDS,
                                  KARAPACE_EVICT_SECONDS, RestProxyAuth)
from kafka_iam_oauth.karapace import CONFIG_ENV, EXTENSIONS_ENV, KarapaceTokenProvider
from conftest import AUDIENCE, CONFIG, EMULATOR, ENV, TOPIC, fresh_config
from restproxy import RestProxy

KAFKA_WAIT_S = 30
ROTATION_BOUND_S = 75
ISSUER = ENV["KIO_ISSUER"]
JWKS = EMULATOR + "/.well-known/jwks.json"
REST_AUDIENCE = "karapace-rest.example.com"
ACCOUNT = ENV["KIO_USER_ARN"].split(":")[4]


# ---- subject_mode against the broker's ACLs -------------------------------

ROLE = f"arn:aws:iam::{ACCOUNT}:role/shared-workloads"
WORKLOAD = "workload-" + uuid.uuid4().hex[:8]

# One produce in a child process with the given session credentials (the
# AWS credential chain reads them from the environment, which is
# process-wide): prints {"error": null|name, "principal": ...}.
_WORKLOAD_SCRIPT = r"""
import json, sys
from confluent_kafka import Producer
import kafka_iam_oauth
config, topic = sys.argv[1:3]
tp = kafka_iam_oauth.TokenProvider(config=config)
principal = tp.token().principal
result = {}
p = Producer({"bootstrap.servers": sys.argv[3], "security.protocol": "SASL_PLAINTEXT",
              "sasl.mechanism": "OAUTHBEARER", "oauth_cb": tp, "message.timeout.ms": 20000})
p.produce(topic, b"x", on_delivery=lambda err, msg: result.update(error=err.name() if err else None))
p.flush(25)
print(json.dumps({"error": result.get("error", "no delivery report"), "principal": principal}))
"""


@pytest.fixture(scope="module")
def admin():
    return AdminClient({"bootstrap.servers": ENV["KIO_ADMIN_BOOTSTRAP"]})


def _done(futures):
    for f in futures.values():
        f.result(timeout=KAFKA_WAIT_S)


@pytest.fixture(scope="module")
def acl_topics(admin):
    """Two topics: one writable by the origin subject only, one by the role
    ARN only (ACLs made here over the harness's admin listener)."""
    origin_topic, role_topic = f"origin-{uuid.uuid4().hex[:8]}", f"role-{uuid.uuid4().hex[:8]}"
    _done(admin.create_topics([NewTopic(t, 1, 1) for t in (origin_topic, role_topic)]))
    fields = [(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, f"User:{who}", "*",
               AclOperation.WRITE, AclPermissionType.ALLOW)
              for topic, who in ((origin_topic, WORKLOAD), (role_topic, ROLE))]
    _done(admin.create_acls([AclBinding(*f) for f in fields]))
    yield origin_topic, role_topic
    _done(admin.delete_acls([AclBindingFilter(*f) for f in fields]))
    _done(admin.delete_topics([origin_topic, role_topic]))


def _workload(mode: str, topic: str) -> dict:
    """Produces once as a session of ROLE acting for WORKLOAD."""
    with urllib.request.urlopen(
            f"{EMULATOR}/_emulator/session?principal={ROLE}&origin_subject={WORKLOAD}&seconds=3600",
            timeout=10) as r:
        creds = json.loads(r.read())
    env = dict(os.environ, AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
               AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"], AWS_SESSION_TOKEN=creds["SessionToken"])
    config = fresh_config("acl") + f",subject_mode={mode}"
    out = subprocess.run([sys.executable, "-c", _WORKLOAD_SCRIPT, config, topic, ENV["KIO_BOOTSTRAP_PLAINTEXT"]],
                         env=env, capture_output=True, text=True, timeout=KAFKA_WAIT_S + 30)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["origin_identity", "caller"])
def test_subject_mode_decides_which_acls_authorize(acl_topics, mode):
    """origin_identity: authorized by the ACL on the origin subject, refused
    by the one on the role ARN; caller (the default): the reverse."""
    origin_topic, role_topic = acl_topics
    allowed, refused_topic, principal = ((origin_topic, role_topic, WORKLOAD) if mode == "origin_identity"
                                         else (role_topic, origin_topic, ROLE))
    assert _workload(mode, allowed) == {"error": None, "principal": principal}
    refused = _workload(mode, refused_topic)
    assert refused["error"] == "TOPIC_AUTHORIZATION_FAILED", refused


# ---- one token, two audiences ----------------------------------------------

def _produce(conf_extra: dict, topic: str = TOPIC) -> str:
    result = {}
    p = Producer({"bootstrap.servers": ENV["KIO_BOOTSTRAP_PLAINTEXT"], "security.protocol": "SASL_PLAINTEXT",
                  "sasl.mechanism": "OAUTHBEARER", "message.timeout.ms": KAFKA_WAIT_S * 1000, **conf_extra})
    p.produce(topic, b"issue-10", on_delivery=lambda err, msg: result.update(error=err))
    p.flush(KAFKA_WAIT_S)
    assert "error" in result, "no delivery report"
    return result["error"]


@pytest.fixture
def karapace():
    """The stand-in validating tokens as Karapace's OIDC middleware does,
    expecting the REST proxy's audience."""
    p = RestProxy(jwks_url=JWKS, expected_issuer=ISSUER, expected_audience=REST_AUDIENCE)
    yield p
    p.close()


def test_one_token_two_audiences_broker_and_rest_proxy(karapace):
    tp = kafka_iam_oauth.TokenProvider(
        config=fresh_config("two-aud") + f",audience_2={REST_AUDIENCE},signing_algorithm=RS256,duration_seconds=3600")
    tok = tp.token()
    assert tok.claims["aud"] == [AUDIENCE, REST_AUDIENCE]
    # The broker expects AUDIENCE ...
    assert _produce({"oauth_cb": tp}) is None
    # ... the REST proxy stand-in expects REST_AUDIENCE: the same token.
    auth = RestProxyAuth(tp)
    r = requests.get(karapace.url + "/topics", auth=auth)
    assert r.status_code == 200, karapace.rejections
    assert auth.current_token.value == tok.value
    assert karapace.accepted_claims[-1]["aud"] == [AUDIENCE, REST_AUDIENCE]


def test_rest_proxy_refuses_a_token_without_its_audience(karapace):
    tp = kafka_iam_oauth.TokenProvider(config=fresh_config("one-aud") + ",signing_algorithm=RS256")
    r = requests.get(karapace.url + "/topics", auth=RestProxyAuth(tp))
    assert r.status_code == 401
    assert karapace.rejections[-1].startswith("InvalidAudienceError"), karapace.rejections


def test_karapace_accepts_only_rs_algorithms(karapace):
    """Karapace hard-codes RS256/RS384/RS512: the default ES384 is refused,
    which is why the docs say signing_algorithm=RS256 for Karapace."""
    tp = kafka_iam_oauth.TokenProvider(config=fresh_config("es384") + f",audience_2={REST_AUDIENCE}")
    assert tp.config["signing_algorithm"] == "ES384"
    r = requests.get(karapace.url + "/topics", auth=RestProxyAuth(tp))
    assert r.status_code == 401
    assert "algorithm" in karapace.rejections[-1].lower(), karapace.rejections


@pytest.mark.parametrize("check", ["require_access_token_typ", "enforce_azp"])
def test_karapaces_optional_checks_refuse_sts_tokens(check):
    """STS tokens have typ JWT and no azp: with either check on, Karapace
    answers 401 (the docs say to leave both off)."""
    extra = {"client_id": "karapace"} if check == "enforce_azp" else {}
    proxy = RestProxy(jwks_url=JWKS, expected_issuer=ISSUER, expected_audience=AUDIENCE, **{check: True}, **extra)
    try:
        tp = kafka_iam_oauth.TokenProvider(config=fresh_config("opt") + ",signing_algorithm=RS256")
        tok = tp.token()
        assert "azp" not in tok.claims
        r = requests.get(proxy.url + "/topics", headers={"Authorization": "Bearer " + tok.value})
        assert r.status_code == 401
        assert ("typ" in proxy.rejections[-1]) if check == "require_access_token_typ" \
            else ("azp" in proxy.rejections[-1]), proxy.rejections
    finally:
        proxy.close()
    # the same token passes with the checks off
    plain = RestProxy(jwks_url=JWKS, expected_issuer=ISSUER, expected_audience=AUDIENCE)
    try:
        assert requests.get(plain.url + "/topics", headers={"Authorization": "Bearer " + tok.value}).status_code == 200
    finally:
        plain.close()


# ---- RestProxyAuth and Karapace's cleanup rules ------------------------------

def test_default_margin_is_karapaces_margin_plus_one_cleanup_period():
    assert (KARAPACE_EVICT_SECONDS, KARAPACE_CLEANUP_PERIOD_SECONDS) == (300, 150)
    assert DEFAULT_MARGIN_SECONDS == 450
    auth = RestProxyAuth(kafka_iam_oauth.TokenProvider(config=CONFIG + ",duration_seconds=3600"))
    assert auth.needed_duration_seconds() == 1125


def test_warns_once_when_duration_seconds_cannot_keep_the_margin(caplog):
    caplog.set_level(logging.WARNING, logger="kafka_iam_oauth.http")
    auth = RestProxyAuth(kafka_iam_oauth.TokenProvider(config=fresh_config("warn")))  # 300 s default
    for _ in range(3):
        auth.token()
    warnings = [r for r in caplog.records if r.name == "kafka_iam_oauth.http"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    message = warnings[0].getMessage()
    assert "duration_seconds" in message and "1125" in message and "300 s" in message
    caplog.clear()
    RestProxyAuth(kafka_iam_oauth.TokenProvider(config=fresh_config("nowarn") + ",duration_seconds=1200")).token()
    assert not [r for r in caplog.records if r.name == "kafka_iam_oauth.http"]


def test_every_request_keeps_margin_under_scaled_karapace_rules():
    """Karapace's rules scaled down to STS's shortest token (60 s): the
    janitor wakes every 8 s and evicts under 16 s left; the auth's margin
    is 16 + 8 = 24 s, which a 60 s token allows (60 * 0.4 = 24). Requests
    run past the first token's switch: none goes out with less than the
    margin (minus one request's time) and none after the proxy's margin."""
    karapace = RestProxy(16, 8, jwks_url=JWKS, expected_issuer=ISSUER, expected_audience=REST_AUDIENCE)
    try:
        _scaled_run(karapace)
    finally:
        karapace.close()


def _scaled_run(karapace):
    changes = []
    tp = kafka_iam_oauth.TokenProvider(
        config=fresh_config("scaled") + f",audience_2={REST_AUDIENCE},signing_algorithm=RS256,duration_seconds=60")
    auth = RestProxyAuth(tp, margin_seconds=24, on_token_change=lambda old, new: changes.append((old, new)))
    assert auth.needed_duration_seconds() == 60
    start = time.time()
    statuses = []
    after_switch = 0
    while time.time() - start < ROTATION_BOUND_S and after_switch < 4:
        statuses.append(requests.get(karapace.url + "/topics", auth=auth).status_code)
        after_switch += bool(changes)
        time.sleep(0.5)
    assert changes, f"no switch within {ROTATION_BOUND_S} s"
    assert set(statuses) == {200}, (statuses, karapace.rejections)
    assert karapace.least_remaining >= 24 - 1, karapace.least_remaining
    assert karapace.requests_after_eviction_margin == 0
    old, new = changes[0]
    assert old.remaining_seconds > karapace.evict_seconds


# ---- sasl_oauth_token_provider_class -----------------------------------------

def test_provider_class_needs_its_config(monkeypatch):
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    with pytest.raises(kafka_iam_oauth.ConfigError, match=CONFIG_ENV):
        KarapaceTokenProvider()


def test_provider_class_reads_extensions_from_the_environment(monkeypatch):
    monkeypatch.setenv(CONFIG_ENV, fresh_config("karapace-ext"))
    monkeypatch.setenv(EXTENSIONS_ENV, "logicalCluster=lkc-1,identityPoolId=pool\\,2")
    assert KarapaceTokenProvider().provider.token().extensions == {"logicalCluster": "lkc-1",
                                                                   "identityPoolId": "pool,2"}
    monkeypatch.setenv(EXTENSIONS_ENV, "auth=x")
    with pytest.raises(kafka_iam_oauth.ConfigError, match="auth"):
        KarapaceTokenProvider()


def test_provider_class_the_way_karapace_uses_it(monkeypatch):
    """Karapace imports the class named by sasl_oauth_token_provider_class,
    builds it without arguments, checks token_with_expiry is callable, and
    hands the bound method to confluent-kafka as oauth_cb."""
    monkeypatch.setenv(CONFIG_ENV, fresh_config("karapace") + ",duration_seconds=900")
    module, _, name = "kafka_iam_oauth.karapace:KarapaceTokenProvider".partition(":")
    cls = getattr(__import__(module, fromlist=[name]), name)
    instance = cls()
    assert callable(getattr(instance, "token_with_expiry", None))
    token, expiry = instance.token_with_expiry(None)
    assert isinstance(token, str) and isinstance(expiry, int)
    assert 800 < expiry - time.time() <= 900
    assert _produce({"oauth_cb": instance.token_with_expiry}) is None
    admin = AdminClient({"bootstrap.servers": ENV["KIO_BOOTSTRAP_PLAINTEXT"], "security.protocol": "SASL_PLAINTEXT",
                         "sasl.mechanism": "OAUTHBEARER", "oauth_cb": instance.token_with_expiry})
    assert TOPIC in admin.list_topics(timeout=KAFKA_WAIT_S).topics


def test_provider_class_through_aiokafka_adapter(monkeypatch):
    """A commit on the PR branch after PR 1226 (99ced22a, not in Karapace's
    main branch yet) also hands the provider to aiokafka, wrapped in an
    AbstractTokenProvider whose async token() returns token_with_expiry(None)[0]."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.abc import AbstractTokenProvider

    monkeypatch.setenv(CONFIG_ENV, fresh_config("karapace-aio"))
    inner = KarapaceTokenProvider()

    class Adapter(AbstractTokenProvider):
        async def token(self):
            token, _expiry = inner.token_with_expiry(None)
            return token

    async def run():
        producer = AIOKafkaProducer(bootstrap_servers=ENV["KIO_BOOTSTRAP_PLAINTEXT"], security_protocol="SASL_PLAINTEXT",
                                    sasl_mechanism="OAUTHBEARER", sasl_oauth_token_provider=Adapter())
        await asyncio.wait_for(producer.start(), KAFKA_WAIT_S)
        try:
            return await asyncio.wait_for(producer.send_and_wait(TOPIC, b"aiokafka"), KAFKA_WAIT_S)
        finally:
            await producer.stop()

    assert asyncio.run(run()).topic == TOPIC
