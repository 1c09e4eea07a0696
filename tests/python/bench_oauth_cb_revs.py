"""Warm oauth_cb of several builds side by side in one run (make bench-python-revs).

Usage: bench_oauth_cb_revs.py LABEL=VENV ...
Each build runs in its own child interpreter (its venv's python) against one
local emulator: one mint, then 9 blocks of 100,000 calls with the same config
string (the warm path: the config map's hit and the cached token). Rounds
alternate the order of the builds; medians of all blocks, as ratios to the
first build. Numbers are reported, not asserted.
"""
import json
import os
import statistics
import subprocess
import sys

from bench_oauth_cb import start_emulator, user_keys

CHILD = r'''
import json, sys, time, kafka_iam_oauth
cfg = sys.argv[1]
cb = kafka_iam_oauth.oauth_cb
cb(cfg)
per = []
for _ in range(9):
    t = time.perf_counter_ns()
    for _ in range(100_000):
        cb(cfg)
    per.append((time.perf_counter_ns() - t) / 100_000)
print(json.dumps(per))
'''


def main():
    builds = [a.split("=", 1) for a in sys.argv[1:]]
    if not builds or any(len(b) != 2 for b in builds):
        sys.exit("usage: bench_oauth_cb_revs.py LABEL=VENV ...")
    key, secret = user_keys()
    empty = "/dev/null"
    os.environ.update(AWS_EC2_METADATA_DISABLED="true", AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret,
                      AWS_CONFIG_FILE=empty, AWS_SHARED_CREDENTIALS_FILE=empty)
    url, proc = start_emulator()
    config = f"region=eu-west-1,audience=my-kafka.example.com,duration_seconds=3600,sts_endpoint={url}"
    blocks = {label: [] for label, _ in builds}
    try:
        rounds = int(os.environ.get("ROUNDS", "6"))
        for r in range(rounds):
            order = builds[r % len(builds):] + builds[:r % len(builds)]
            for label, venv in order:
                out = subprocess.run([os.path.join(venv, "bin", "python"), "-c", CHILD, config],
                                     capture_output=True, text=True, check=True, timeout=600)
                blocks[label] += json.loads(out.stdout)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
    first = statistics.median(blocks[builds[0][0]])
    print(f"warm oauth_cb, {rounds} rounds x 9 blocks of 100k calls per build (median; min-max of blocks)")
    for label, _ in builds:
        b = blocks[label]
        m = statistics.median(b)
        print(f"  {label:24} {m:7.1f} ns/call ({min(b):.1f}-{max(b):.1f})  {m / first:.3f}x {builds[0][0]}")


if __name__ == "__main__":
    main()
