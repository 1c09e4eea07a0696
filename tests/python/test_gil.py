"""Every call that may wait for STS waits with the GIL released.

The emulator is made slow (latency fault on GetWebIdentityToken) so that a
cold mint takes over a second. While one thread waits for it, the main
thread runs Python bytecode, which needs the GIL. If the native call kept
the GIL while waiting, the main thread could not run a single bytecode until
the token arrived, and the count below would stay at 0 or 1.
"""
import threading
import time

import kafka_iam_oauth
from conftest import PRINCIPAL, emulator, fresh_config

LATENCY_MS = 1500


def python_steps_while(call):
    """Runs `call` in a thread; counts the main thread's loop iterations
    (each needs the GIL) until it returns. Returns (steps, result)."""
    result = {}

    def run():
        try:
            result["value"] = call()
        except BaseException as e:  # reported below
            result["error"] = e

    t = threading.Thread(target=run)
    t.start()
    steps = 0
    while t.is_alive():
        steps += 1
        time.sleep(0.005)  # gives the GIL away, then needs it back
    t.join()
    if "error" in result:
        raise result["error"]
    return steps, result["value"]


def slow_sts():
    emulator("/_emulator/faults", {"latency_ms": LATENCY_MS})


def test_provider_token_waits_without_the_gil(emulator_reset):
    slow_sts()
    p = kafka_iam_oauth.Provider(fresh_config("gil-provider"))
    steps, tok = python_steps_while(lambda: p.token(timeout=10))
    assert tok.principal == PRINCIPAL
    # ~1.5 s of waiting at <= 5 ms per step: hundreds with the GIL released,
    # at most one if the wait held it.
    assert steps >= 20, steps


def test_oauth_cb_waits_without_the_gil(emulator_reset):
    slow_sts()
    config = fresh_config("gil-cb")
    steps, (token, expiry, principal, ext) = python_steps_while(lambda: kafka_iam_oauth.oauth_cb(config))
    assert principal == PRINCIPAL and expiry > time.time()
    assert steps >= 20, steps


def test_failing_mint_waits_without_the_gil_and_logs(emulator_reset, caplog):
    """A mint that fails after the wait (STS answers with an error) also
    waits without the GIL, and the core's warning reaches the Python logger
    from the library's own thread without a deadlock."""
    import logging

    caplog.set_level(logging.WARNING, logger="kafka_iam_oauth")
    slow_sts()
    emulator("/_emulator/policy", {"federation_enabled": False})
    p = kafka_iam_oauth.Provider(fresh_config("gil-fail"))

    def call():
        try:
            p.token(timeout=10)
        except kafka_iam_oauth.StsError as e:
            return e
        return None

    steps, err = python_steps_while(call)
    assert isinstance(err, kafka_iam_oauth.StsError) and err.aws_code
    assert steps >= 20, steps
