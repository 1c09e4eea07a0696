"""Issue 13, item 8: the library's log records never take the GIL on the
core's runtime worker. Records from that thread wait in a bounded queue and
are emitted by the next Python thread that calls in, so a logging handler
that itself asks for a token cannot deadlock the worker, and a failing
refresh that logs while the interpreter shuts down neither hangs nor
crashes. Also: the last-resort stderr line of a failed ``oauth_cb`` when the
application configured no logging.

Every scenario runs in a child process against a private emulator (started
here), so a hang is caught by a timeout and faults reach no other test."""
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from conftest import AUDIENCE

ROOT = Path(__file__).resolve().parents[2]

# Bounds, each named in the assertion that uses it.
# (a) 5 failing mints, each handler call at most 2 more calls that fail at
# once (federation disabled) or within their 5 s timeout: a deadlock would
# hang forever, a worker blocked in a handler would cost 8 s per record.
DEADLOCK_BOUND_S = 60
# (b) the background refresh of a 60 s token starts at 50-60 % of its
# lifetime (policy::REFRESH_FRACTION + REFRESH_JITTER: 30-36 s); its first
# failed attempt is counted within that plus the mint's own retries.
REFRESH_FAILS_WITHIN_S = 60
# (b) from the child's last line to its exit: interpreter finalization with
# the refresh still failing on the worker (no wait on any of our threads).
EXIT_BOUND_S = 20


def emulator_exe() -> str:
    return os.environ.get("KIO_EMULATOR_BIN") or str(
        Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "kafka-iam-oauth-emulator")


@pytest.fixture
def private_emulator(request):
    """A private emulator; `request.param` holds extra arguments."""
    args = getattr(request, "param", [])
    ready = Path(tempfile.mkdtemp(prefix="kio-py-emu-")) / "url"
    proc = subprocess.Popen([emulator_exe(), "--bind", "127.0.0.1", "--port", "0", "--quiet",
                             "--allowed-audience", AUDIENCE, "--ready-file", str(ready), *args],
                            stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (ready.exists() and ready.read_text().strip()):
        assert proc.poll() is None and time.monotonic() < deadline, "the private emulator did not start"
        time.sleep(0.05)
    try:
        yield ready.read_text().strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run_child(code: str, url: str, timeout: float):
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code, url, AUDIENCE],
                         capture_output=True, text=True, timeout=timeout)
    return out, time.monotonic() - start


PRELUDE = """
import logging, sys, threading, time, json, urllib.request, uuid
import kafka_iam_oauth as k
URL, AUDIENCE = sys.argv[1], sys.argv[2]
def cfg(label, extra=""):
    return f"region=eu-west-1,audience={AUDIENCE},sts_endpoint={URL},tag_t={label}{extra}"
def control(path, body):
    req = urllib.request.Request(URL + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()
"""


@pytest.mark.parametrize("private_emulator", [["--federation-disabled"]], indirect=True)
def test_handler_that_asks_for_a_token_does_not_deadlock(private_emulator):
    code = PRELUDE + textwrap.dedent("""
    seen = {"emits": 0, "off_main": 0, "token_errors": 0, "cb_errors": 0, "mint_failed": 0}
    class AskingHandler(logging.Handler):
        def emit(self, record):
            seen["emits"] += 1
            if threading.current_thread() is not threading.main_thread():
                seen["off_main"] += 1
            if "token mint failed" in record.getMessage():
                seen["mint_failed"] += 1
            # Both front doors, from inside emit, while mints fail and log.
            try:
                k.Provider(cfg("handler")).token(timeout=5)
            except k.Error:
                seen["token_errors"] += 1
            try:
                k.oauth_cb(cfg("handler-cb"))
            except k.Error:
                seen["cb_errors"] += 1
    log = logging.getLogger("kafka_iam_oauth")
    log.addHandler(AskingHandler())
    log.setLevel(logging.INFO)
    for i in range(5):
        try:
            k.Provider(cfg(f"main{i}")).token(timeout=5)
        except k.StsError:
            pass
    print("SEEN", json.dumps(seen), "DROPPED", k._native._dropped_log_records())
    """)
    out, took = run_child(code, private_emulator, timeout=DEADLOCK_BOUND_S)
    print(out.stdout, out.stderr[-2000:], f"took {took:.1f} s", sep="\n")
    assert out.returncode == 0, out.stderr
    seen = __import__("json").loads(out.stdout.split("SEEN ", 1)[1].split(" DROPPED")[0])
    # every mint failure of the main loop reached the handler, on the
    # calling (main) thread, never on the runtime's worker
    assert seen["mint_failed"] >= 5, seen
    assert seen["off_main"] == 0, seen
    assert seen["token_errors"] == seen["emits"] and seen["cb_errors"] == seen["emits"], seen


def test_interpreter_exits_while_the_refresh_keeps_failing(private_emulator):
    code = PRELUDE + textwrap.dedent("""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="LOG %(threadName)s %(message)s")
    p = k.Provider(cfg("refresh", ",duration_seconds=60"))
    p.token()
    control("/_emulator/faults", {"mode": "server_error", "for_ms": 600000})
    deadline = time.monotonic() + float(sys.argv[3])
    while p.stats().failures == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # the refresh logs just after its mint is counted
    # more mints failing on the worker at exit: callers gave up on them
    for i in range(4):
        try:
            k.Provider(cfg(f"inflight{i}")).token(timeout=0.05)
        except k.Error:
            pass
    s = p.stats()
    print("STATS", s.failures, s.last_error_kind, s.expires_in is not None, flush=True)
    """)
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code, private_emulator, AUDIENCE,
                          str(REFRESH_FAILS_WITHIN_S)],
                         capture_output=True, text=True, timeout=REFRESH_FAILS_WITHIN_S + EXIT_BOUND_S)
    took = time.monotonic() - start
    print(out.stdout, out.stderr[-3000:], f"took {took:.1f} s", sep="\n")
    assert out.returncode == 0, out.stderr
    failures, kind, has_token = out.stdout.split("STATS ", 1)[1].split()
    assert int(failures) >= 1, "the background refresh failed at least once before exit"
    assert kind == "sts" and has_token == "True", out.stdout
    assert "token refresh failed" in out.stderr, "the refresh's records reached logging on a Python thread"
    assert "LOG MainThread" in out.stderr
    for bad in ("panicked", "Fatal Python error", "Segmentation", "Aborted"):
        assert bad not in out.stderr


@pytest.mark.parametrize("private_emulator", [["--federation-disabled"]], indirect=True)
def test_failure_reaches_stderr_when_no_logging_is_configured(private_emulator):
    code = PRELUDE + textwrap.dedent("""
    codes = set()
    for i in range(4):
        try:
            k.oauth_cb(cfg("same"))
        except k.StsError as e:
            codes.add(e.aws_code)
    try:
        k.TokenProvider(config=cfg("tp"))()
    except k.StsError as e:
        codes.add(e.aws_code)
    print("CODES", *sorted(codes))
    """)
    out, _ = run_child(code, private_emulator, timeout=60)
    assert out.returncode == 0, out.stderr
    (code_,) = out.stdout.split("CODES ", 1)[1].split()
    lines = [l for l in out.stderr.splitlines() if "no OAUTHBEARER token" in l]
    # once per distinct failure: the four oauth_cb calls (the first mint,
    # then the negative cache's "failed N time(s) ... next attempt" errors)
    # are one failure; TokenProvider's config (another tag) is the same too
    assert len(lines) == 1, out.stderr
    assert code_ in lines[0] and "sts error" in lines[0]

    # with logging configured, the application's handler gets it instead
    configured = code.replace("codes = set()", "codes = set()\nlogging.basicConfig(stream=sys.stdout, format='LOG %(message)s')")
    out, _ = run_child(configured, private_emulator, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "no OAUTHBEARER token" not in out.stderr, out.stderr
    assert "LOG kafka_iam_oauth: no OAUTHBEARER token" in out.stdout


@pytest.mark.parametrize("private_emulator", [["--federation-disabled"]], indirect=True)
def test_forked_child_logs_its_own_failures(private_emulator):
    """The queue's lock is held across os.fork() (register_at_fork hooks), so
    the child cannot inherit it locked by the parent's worker; the child's
    records reach the child's handlers, the parent's stay in the parent."""
    code = PRELUDE + textwrap.dedent("""
    import os
    got = []
    class Collect(logging.Handler):
        def emit(self, record):
            got.append(record.getMessage())
    logging.getLogger("kafka_iam_oauth").addHandler(Collect())
    try:
        k.Provider(cfg("parent")).token(timeout=5)
    except k.StsError:
        pass
    before = len(got)
    pid = os.fork()
    if pid == 0:
        got.clear()
        try:
            k.Provider(cfg("child")).token(timeout=5)
        except k.StsError:
            pass
        ok = any("token mint failed" in m for m in got)
        os._exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    print("PARENT", before, "CHILD", os.waitstatus_to_exitcode(status))
    """)
    out, _ = run_child(code, private_emulator, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "CHILD 0" in out.stdout and "PARENT 0" not in out.stdout, out.stdout + out.stderr
