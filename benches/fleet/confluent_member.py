"""One process of `make bench-fleet`'s confluent-kafka fleet (issue 21).

confluent-kafka's ``[oauthbearer-aws]`` handler, built by the same
``create_handler(sasl.oauthbearer.config, extensions)`` its C extension
autowires for ``sasl.oauthbearer.metadata.authentication.type=aws_iam``,
called as librdkafka calls the refresh callback: at start, then at 80 % of
the token's remaining lifetime, 10 s after a failure. Prints one JSON line
at the end. The first ask is at GO_AT_MS (Unix ms, the fleet's start);
``late_ms`` says how far past it the process was ready (imports).
Usage: confluent_member.py CONFIG RUN_SECONDS GO_AT_MS
"""

import json
import sys
import time

from confluent_kafka._oauthbearer.aws.aws_autowire import create_handler


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def main():
    config, run_seconds = sys.argv[1], float(sys.argv[2])
    handler = create_handler(config, None)
    late = time.time() - int(sys.argv[3]) / 1000
    time.sleep(max(0.0, -late))
    ready = time.monotonic()
    end = ready + run_seconds
    first, failed, asks = -1, 0, 0
    while time.monotonic() < end:
        asks += 1
        try:
            _token, expiry, _principal, _ext = handler(config)
        except Exception:  # librdkafka gets set_token_failure
            failed += 1
            time.sleep(max(0.0, min(10.0, end - time.monotonic())))
            continue
        if first < 0:
            first = int((time.monotonic() - ready) * 1000)
        time.sleep(max(0.0, min((expiry - time.time()) * 0.8, end - time.monotonic())))
    print(json.dumps({"first_token_ms": first, "failed_waits": failed, "asks": asks,
                      "mints": asks - failed, "rss_kib": rss_kib(),
                      "late_ms": max(0, int(late * 1000))}))


if __name__ == "__main__":
    main()
