#!/usr/bin/env python3
"""Reads the token file `kafka-iam-oauth serve --token-file` keeps, as often
as it can, for as long as the Java clients run, the way Kafka's
OAuthBearerLoginCallbackHandler reads it (open, read all, parse the JWT):
every read must give a whole JWT that has not expired, from a file of mode
0600. Prints one summary line; exits 1 at the first bad read.

    watch_token_file.py PATH SECONDS [STOP_FILE]

It stops early once STOP_FILE exists (the clients are done).

Standard library only (the suite runs it with the system python3)."""
import base64
import json
import os
import stat
import sys
import time

# Between two reads: fast enough to catch a partial write or a rename
# window (a write-then-rename leaves none to catch), without a busy loop.
READ_EVERY_S = 0.02


def claims(jwt: str) -> dict:
    parts = jwt.split(".")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"not a JWT ({len(parts)} parts, {len(jwt)} bytes)")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


def main() -> int:
    path, seconds = sys.argv[1], float(sys.argv[2])
    stop = sys.argv[3] if len(sys.argv) > 3 else None
    start = time.time()
    deadline = start + seconds
    reads, tokens, least_left = 0, set(), float("inf")
    while time.time() < deadline and not (stop and os.path.exists(stop)):
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
            with open(path, encoding="ascii") as f:
                jwt = f.read().strip()
        except OSError as e:
            print(f"watch: read {reads + 1}: cannot read {path}: {e}")
            return 1
        reads += 1
        now = time.time()
        if not jwt:
            print(f"watch: read {reads}: the file is empty")
            return 1
        try:
            exp = float(claims(jwt)["exp"])
        except (ValueError, KeyError) as e:
            print(f"watch: read {reads}: not a whole JWT: {e}")
            return 1
        if exp <= now:
            print(f"watch: read {reads}: the token expired {now - exp:.1f} s ago")
            return 1
        if mode != 0o600:
            print(f"watch: read {reads}: mode {mode:o}, expected 600")
            return 1
        least_left = min(least_left, exp - now)
        tokens.add(jwt)  # kept in memory only, never printed
        time.sleep(READ_EVERY_S)
    print(f"watch: {reads} reads over {time.time() - start:.0f} s, {len(tokens)} distinct tokens, "
          f"none empty or expired, least time left {least_left:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
