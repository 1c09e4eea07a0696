"""Tokens after fork() and from many threads."""
import multiprocessing
import threading

import kafka_iam_oauth
from conftest import CONFIG, PRINCIPAL, fresh_config


def _child(config, q):
    try:
        tok, expiry, principal, ext = kafka_iam_oauth.oauth_cb(config)
        q.put(("ok", principal, len(tok) > 100))
    except Exception as e:  # pragma: no cover - reported to the parent
        q.put(("err", repr(e), False))


def test_forked_child_gets_tokens():
    kafka_iam_oauth.oauth_cb(CONFIG)  # runtime and cache live in the parent
    ctx = multiprocessing.get_context("fork")
    for config in (CONFIG, fresh_config("fork")):
        q = ctx.Queue()
        proc = ctx.Process(target=_child, args=(config, q))
        proc.start()
        result = q.get(timeout=30)
        proc.join(30)
        assert result[0] == "ok" and result[1] == PRINCIPAL and result[2], result
        assert proc.exitcode == 0


def test_many_threads_share_one_mint():
    config = fresh_config("threads")
    results, errors = [], []

    def work():
        try:
            results.append(kafka_iam_oauth.oauth_cb(config)[0])
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and len(results) == 32 and len(set(results)) == 1
    assert kafka_iam_oauth.Provider(config).mint_count == 1
