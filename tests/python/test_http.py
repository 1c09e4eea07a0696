"""Bearer auth for the REST proxy with requests and httpx, against a
Karapace-like stand-in (tests/python/restproxy.py)."""
import threading
import time

import httpx
import pytest
import requests

import kafka_iam_oauth
from kafka_iam_oauth.http import DEFAULT_MARGIN_SECONDS, RestProxyAuth
from conftest import CONFIG, PRINCIPAL, fresh_config
from restproxy import RestProxy


@pytest.fixture
def proxy():
    p = RestProxy(evict_seconds=300, cycle_seconds=0.5)
    yield p
    p.close()


def test_standin_refuses_what_karapace_refuses(proxy):
    tok = kafka_iam_oauth.TokenProvider(config=CONFIG).token().value
    assert requests.get(proxy.url + "/topics").status_code == 401
    assert requests.get(proxy.url + "/topics", headers={"Authorization": "bearer " + tok}).status_code == 401
    assert requests.get(proxy.url + "/topics", headers={"Authorization": "Bearer not-a-jwt"}).status_code == 401
    assert requests.get(proxy.url + "/topics", headers={"Authorization": "Basic " + tok}).status_code == 401


def test_requests_and_httpx_share_one_session(proxy):
    tp = kafka_iam_oauth.TokenProvider(config=CONFIG + ",duration_seconds=3600")
    auth = RestProxyAuth(tp)
    assert auth.margin_seconds == DEFAULT_MARGIN_SECONDS == 450
    r = requests.post(proxy.url + "/consumers/my-consumer-group", json={}, auth=auth)
    assert r.status_code == 200, r.text
    instance = r.json()["instance_id"]
    assert requests.get(f"{proxy.url}/consumers/my-consumer-group/instances/{instance}", auth=auth).status_code == 200
    with httpx.Client(auth=auth) as client:
        assert client.get(f"{proxy.url}/consumers/my-consumer-group/instances/{instance}").status_code == 200
        assert client.get(proxy.url + "/topics").json() == ["my-topic"]
    assert proxy.sessions_created == 1
    assert auth.current_token.principal == PRINCIPAL


def test_async_httpx(proxy):
    import asyncio

    auth = RestProxyAuth(kafka_iam_oauth.TokenProvider(config=CONFIG + ",duration_seconds=3600"))

    async def run():
        async with httpx.AsyncClient(auth=auth) as client:
            return (await client.get(proxy.url + "/topics")).status_code

    assert asyncio.run(run()) == 200


def test_short_token_is_replaced_before_eviction(proxy):
    """Scaled-down Karapace: 60 s tokens, eviction under 20 s left, checked
    every 0.5 s; the auth's margin is 40 s. The auth keeps one token (one
    session) while it has more than 40 s left, switches before the proxy
    evicts it, tells the application, and never sends a token the proxy
    would evict."""
    proxy.evict_seconds = 20
    changes = []
    auth = RestProxyAuth(kafka_iam_oauth.TokenProvider(config=fresh_config("rest") + ",duration_seconds=60"),
                         margin_seconds=40, on_token_change=lambda old, new: changes.append((old, new)))
    first = auth.token()
    r = requests.post(proxy.url + "/consumers/my-consumer-group", json={}, auth=auth)
    instance = r.json()["instance_id"]
    consumer_url = f"{proxy.url}/consumers/my-consumer-group/instances/{instance}"
    statuses = []
    deadline = time.time() + 55
    while not changes and time.time() < deadline:
        statuses.append(requests.get(consumer_url, auth=auth).status_code)
        time.sleep(0.25)
    assert changes, "the auth switched to a new token within the first token's lifetime"
    old, new = changes[0]
    assert old.value == first.value and new.value != first.value
    assert old.remaining_seconds > proxy.evict_seconds - 1, "switched before the proxy would evict"
    # the old session (and its consumer) stayed usable until the switch; the
    # request that switched ran under a new session, where the instance is
    # gone: that is why the application is told about the change
    assert len(statuses) > 20 and all(s == 200 for s in statuses[:-1]), statuses
    assert statuses[-1] == 404
    assert requests.get(consumer_url, auth=auth).status_code == 404
    assert proxy.sessions_created == 2
    assert proxy.requests_after_eviction_margin == 0
    assert len(changes) == 1


def test_many_threads_one_token(proxy):
    auth = RestProxyAuth(kafka_iam_oauth.TokenProvider(config=CONFIG + ",duration_seconds=3600"))
    codes = []

    def work():
        with requests.Session() as s:
            for _ in range(5):
                codes.append(s.get(proxy.url + "/topics", auth=auth).status_code)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert codes == [200] * 40 and proxy.sessions_created == 1
