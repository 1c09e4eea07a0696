"""Shared set-up: AWS environment pointing only at the local emulator, the
harness addresses (from env.sh, sourced by `make test-python`), and helpers
for the emulator's control API."""
import json
import os
import tempfile
import time
import urllib.request
import uuid

import pytest

if "KIO_USER_ACCESS_KEY_ID" not in os.environ:
    raise RuntimeError("source the harness env.sh first (make test-python does)")

_empty = tempfile.NamedTemporaryFile(prefix="kio-py-aws-", delete=False)
_empty.close()
os.environ.update(
    AWS_EC2_METADATA_DISABLED="true",
    # my-iam-user, as the emulator defines it (the harness's env.sh)
    AWS_ACCESS_KEY_ID=os.environ["KIO_USER_ACCESS_KEY_ID"],
    AWS_SECRET_ACCESS_KEY=os.environ["KIO_USER_SECRET_ACCESS_KEY"],
    AWS_CONFIG_FILE=_empty.name,
    AWS_SHARED_CREDENTIALS_FILE=_empty.name,
)
os.environ.pop("AWS_SESSION_TOKEN", None)
os.environ.pop("AWS_PROFILE", None)

import kafka_iam_oauth  # noqa: E402  (after the environment is set)

if "KIO_EMULATOR_URL" not in os.environ:
    raise RuntimeError("source the harness env.sh first (make test-python does)")

ENV = os.environ
EMULATOR = ENV["KIO_EMULATOR_URL"]
AUDIENCE = ENV["KIO_AUDIENCE"]
TOPIC = ENV["KIO_TOPIC"]
GROUP = ENV["KIO_GROUP"]
OTHER_TOPIC = ENV.get("KIO_OTHER_TOPIC", "other-topic")
PRINCIPAL = ENV["KIO_USER_ARN"]
CONFIG = f"region=eu-west-1,audience={AUDIENCE},sts_endpoint={EMULATOR}"


def fresh_config(label: str = "") -> str:
    """A config string with its own process-wide cache entry (a unique tag)."""
    return f"{CONFIG},tag_test={label or 't'}{uuid.uuid4().hex[:12]}"


def emulator(path: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        EMULATOR + path, data=data, method="GET" if body is None else "POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        raw = r.read()
    return json.loads(raw) if raw.strip() else None


def sts_calls() -> int:
    return emulator("/_emulator/stats")["requests"].get("GetWebIdentityToken", 0)


def base_conf(ssl: bool = False) -> dict:
    conf = {
        "bootstrap.servers": ENV["KIO_BOOTSTRAP_SSL"] if ssl else ENV["KIO_BOOTSTRAP_PLAINTEXT"],
        "security.protocol": "SASL_SSL" if ssl else "SASL_PLAINTEXT",
        "sasl.mechanism": "OAUTHBEARER",
        "sasl.oauthbearer.config": CONFIG,
        "oauth_cb": kafka_iam_oauth.oauth_cb,
    }
    if ssl:
        conf["ssl.ca.location"] = ENV["KIO_CA_PEM"]
    return conf


def wait_for(pred, timeout: float, step: float = 0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


@pytest.fixture
def emulator_reset():
    yield
    emulator("/_emulator/reset", {})
