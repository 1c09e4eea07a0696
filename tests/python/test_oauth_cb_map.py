"""oauth_cb's map of configuration strings releases the ones nobody used for
the eviction time (issue 20), so their core cache entries are evicted too.

In a child process: the eviction time is shortened there (the core's
testing hook, which the map follows), never in the test process."""
import os
import subprocess
import sys

from conftest import CONFIG

CHILD = r'''
import sys, time
import kafka_iam_oauth
from kafka_iam_oauth import _native

config, tag = sys.argv[1], sys.argv[2]
configs = [f"{config},tag_map={tag}{i}" for i in range(3)]
for c in configs:
    kafka_iam_oauth.oauth_cb(c)
remembered, entries = _native._oauth_cb_map()
assert remembered == 3, remembered
assert entries >= 3, entries

IDLE = 0.3  # seconds: the eviction time in this child
_native._oauth_cb_map(idle_seconds=IDLE)
# Strings used since the last sweep survive it; an eviction time later,
# those unused since are released.
for _ in range(2):
    time.sleep(IDLE + 0.05)
    kafka_iam_oauth.oauth_cb(configs[0])
    remembered, _ = _native._oauth_cb_map(sweep=True)
assert remembered == 1, f"{remembered} strings remembered, want only the one in use"
# The released strings' core entries are idle and held by nothing: evicted.
time.sleep(IDLE + 0.05)
kafka_iam_oauth.oauth_cb(configs[0])
remembered, after = _native._oauth_cb_map(sweep=True)
assert remembered == 1 and after == entries - 2, (remembered, entries, after)
# The one in use is still served from the cache.
token, expiry, principal, _ = kafka_iam_oauth.oauth_cb(configs[0])
assert token and expiry > time.time()
# A released string comes back on its next use.
kafka_iam_oauth.oauth_cb(configs[1])
assert _native._oauth_cb_map()[0] == 2
print("ok")
'''


def test_unused_oauth_cb_strings_are_released_with_their_entries():
    out = subprocess.run(
        [sys.executable, "-c", CHILD, CONFIG, f"p{os.getpid()}-"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
