"""The package's shape: one version (Cargo's), exceptions defined once (in
the native module), nothing heavy imported by `import kafka_iam_oauth`, and
the core's log events reaching Python's `logging` without tokens."""
import importlib.metadata
import pathlib
import re
import subprocess
import sys
import textwrap

import kafka_iam_oauth
from kafka_iam_oauth import _native

EXCEPTIONS = ["Error", "ConfigError", "CredentialsError", "StsError", "TokenTimeoutError"]


def test_version_is_the_wheels():
    assert kafka_iam_oauth.__version__ == _native.__version__
    assert kafka_iam_oauth.__version__ == importlib.metadata.version("kafka-iam-oauth")


def test_exceptions_are_the_native_ones():
    for name in EXCEPTIONS:
        cls = getattr(kafka_iam_oauth, name)
        assert cls is getattr(_native, name)
        assert cls.__module__ == "kafka_iam_oauth"
        assert issubclass(cls, kafka_iam_oauth.Error)
    assert issubclass(kafka_iam_oauth.ConfigError, ValueError)
    assert issubclass(kafka_iam_oauth.TokenTimeoutError, TimeoutError)


def test_no_python_module_redeclares_an_exception():
    package = pathlib.Path(kafka_iam_oauth.__file__).parent
    for path in package.glob("*.py"):
        declared = re.findall(r"^\s*class\s+(\w+)", path.read_text(), re.M)
        assert not set(declared) & set(EXCEPTIONS), (path.name, declared)


def test_import_does_not_import_asyncio_typing_or_logging():
    heavy = "{'asyncio', 'typing', 'logging'}"
    code = f"import sys, kafka_iam_oauth; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_failure_prints_its_reason_once_when_logging_is_not_configured():
    """The package's logger gets its NullHandler before its first record
    (logging's own last-resort handler never fires for it); a failed
    oauth_cb writes its reason to stderr itself, once per distinct failure,
    so a user who configured no logging sees why (test_logging_threads.py
    covers STS errors)."""
    code = textwrap.dedent("""
        import kafka_iam_oauth as k
        for _ in range(3):
            try:
                k.oauth_cb("region=eu-west-1,audience=a,duration_seconds=5")
            except k.ConfigError:
                pass
        import logging
        handlers = logging.getLogger("kafka_iam_oauth").handlers
        print([type(h).__name__ for h in handlers])
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("kafka_iam_oauth: no OAUTHBEARER token (config error)") and "duration_seconds" in lines[0]
    assert out.stdout.strip() == "['NullHandler']"


def test_claims_are_plain_python_objects():
    from conftest import CONFIG
    claims = kafka_iam_oauth.Provider(CONFIG).token().claims
    assert isinstance(claims, dict)
    assert isinstance(claims["exp"], int) and isinstance(claims["sub"], str)
    assert isinstance(claims["aud"], (str, list))


def test_wheel_carries_the_third_party_licences_and_sbom():
    """The installed wheel's .dist-info/licenses/ holds the licences of every
    crate linked into the extension and its CycloneDX SBOM (pyproject.toml
    license-files), for the crates Cargo.lock locks today."""
    root = pathlib.Path(__file__).resolve().parents[2]
    dist = importlib.metadata.distribution("kafka-iam-oauth")
    metadata = next(f for f in dist.files if f.name == "METADATA" and f.parent.name.endswith(".dist-info"))
    dist_info = pathlib.Path(dist.locate_file(metadata)).parent
    check = [sys.executable, str(root / "scripts/packages/check-wheel-licences.py"), str(dist_info), str(root / "Cargo.lock")]
    out = subprocess.run(check, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr + out.stdout
