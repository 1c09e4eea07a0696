"""`make bench-fleet` (issue 21): N real processes started within one
second against the STS emulator limited to RPS/s (burst BURST), each
holding tokens of LIFETIME s for LIFETIMES lifetimes; two fleets in turn
on the same emulator and limit:

- library: C processes through the C API (benches/fleet/member.c), the
  lightest process that runs the library's own cache and refresh loop;
- confluent: Python processes running confluent-kafka's [oauthbearer-aws]
  handler (benches/fleet/confluent_member.py), called on librdkafka's
  schedule.

Prints a table; writes build/bench/fleet.csv (calls and throttles per
second per fleet), build/bench/fleet-summary.csv and build/bench/fleet.png
(and build/bench/fleet-sim.png when `make fleet-sim` wrote its CSV).
Loopback only: the emulator's own identities, no AWS.
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request


def http(url, method="GET", body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def quantile(values, q):
    v = sorted(values)
    return v[round((len(v) - 1) * q)] if v else None


def run_fleet(name, argv_for, n, run_seconds, url, env, start_within, warmup):
    """Spawns the fleet; each member loads, then makes its first ask at
    t0 + start_within * i / n, so the fleet starts within `start_within`
    whatever its start-up cost (Python's imports on a loaded machine)."""
    http(url + "/_emulator/reset", "POST", {})
    t0 = time.time() + warmup
    procs = []
    for i in range(n):
        go_at_ms = str(int((t0 + start_within * i / n) * 1000))
        procs.append(subprocess.Popen(argv_for() + [go_at_ms], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    spawned = time.time() - (t0 - warmup)
    results, errors = [], 0
    for p in procs:
        out, err = p.communicate()
        lines = [l for l in out.splitlines() if l.startswith("{")]
        if p.returncode != 0 or not lines:
            errors += 1
            sys.stderr.write(f"{name}: a member exited {p.returncode}: {err[-300:]}\n")
            continue
        results.append(json.loads(lines[-1]))
    stats = http(url + "/_emulator/stats")
    return t0, spawned, results, errors, stats


def summarize(name, t0, spawned, results, errors, stats, n, lifetime, lifetimes, limit):
    first = [r["first_token_ms"] for r in results if r["first_token_ms"] >= 0]
    per = {s["second"] - int(t0): s for s in stats["per_second"]}
    horizon = 20 + lifetime * lifetimes
    calls = [per.get(s, {}).get("calls", 0) for s in range(horizon + 1)]
    throttled = [per.get(s, {}).get("throttled", 0) for s in range(horizon + 1)]
    windows = [(0, 20)] + [(20 + k * lifetime, 20 + (k + 1) * lifetime) for k in range(lifetimes)]
    peaks = [max(calls[a:b] or [0]) for a, b in windows]
    rss = [r["rss_kib"] for r in results if r.get("rss_kib", -1) > 0]
    row = {
        "fleet": name,
        "processes": n,
        "spawned_within_s": round(spawned, 2),
        "no_token": n - len(first),
        "late": sum(1 for r in results if r.get("late_ms", 0) > 0),
        "member_errors": errors,
        "first_p50_ms": quantile(first, 0.5),
        "first_p99_ms": quantile(first, 0.99),
        "first_max_ms": max(first) if first else None,
        "sts_calls": stats["requests"]["GetWebIdentityToken"],
        "throttles": stats["throttled"],
        "tokens": stats["tokens_issued"],
        "peak_start": peaks[0],
        "peak_waves": peaks[1:],
        "failed_waits": sum(r["failed_waits"] for r in results),
        "rss_mib_avg": round(statistics.mean(rss) / 1024, 1) if rss else None,
        "rss_mib_total": round(sum(rss) / 1024) if rss else None,
        "limit": limit,
    }
    return row, calls, throttled


def plot(series, limit, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(series), 1, figsize=(10, 3 * len(series)), sharex=True,
                             squeeze=False)
    for ax, (name, calls, throttled) in zip(axes[:, 0], series):
        xs = range(len(calls))
        ax.plot(xs, calls, label="STS calls/s", lw=1)
        ax.plot(xs, throttled, label="throttled/s", lw=1, color="tab:red")
        if limit:
            ax.axhline(limit, ls="--", color="gray", lw=1, label=f"limit {limit}/s")
        ax.set_title(name, fontsize=10)
        ax.set_ylabel("per second")
        ax.legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("seconds since the fleet started")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_sim(out_dir):
    path = os.path.join(out_dir, "fleet-sim.csv")
    if not os.path.exists(path):
        return
    with open(path) as f:
        rows = list(csv.DictReader(f))
    series = []
    for model in ["library", "library_before", "librdkafka80", "per_connection"]:
        for lim in ["unlimited", "limited"]:
            key = f"{model}_{lim}"
            if f"{key}_calls" in rows[0]:
                series.append((f"{model} ({lim})", [int(r[f"{key}_calls"]) for r in rows],
                               [int(r[f"{key}_throttled"]) for r in rows]))
    plot(series, None, os.path.join(out_dir, "fleet-sim.png"),
         "make fleet-sim: 10,000 pods started within 60 s (simulated)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--processes", type=int, default=200)
    ap.add_argument("--lifetime", type=int, default=60)
    ap.add_argument("--lifetimes", type=int, default=3)
    ap.add_argument("--rps", type=float, default=20)
    ap.add_argument("--burst", type=int, default=20)
    ap.add_argument("--fleets", default="library,confluent")
    ap.add_argument("--emulator", required=True)
    ap.add_argument("--member", required=True)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--out", default="build/bench")
    ap.add_argument("--warmup", type=float, default=60,
                    help="seconds between spawning and the first ask (Python imports)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    ids = subprocess.run([a.emulator, "--print-identities"], check=True, capture_output=True,
                         text=True).stdout
    ids = dict(l.split("=", 1) for l in ids.splitlines() if "=" in l)
    emu = subprocess.Popen([a.emulator, "--quiet", "--rate-limit-rps", str(a.rps),
                            "--rate-limit-burst", str(a.burst)],
                           stdout=subprocess.PIPE, text=True)
    try:
        url = emu.stdout.readline().strip().split("url=", 1)[1]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_ACCESS_KEY_ID": ids["KIO_USER_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": ids["KIO_USER_SECRET_ACCESS_KEY"],
            "AWS_REGION": "eu-west-1",
            "LD_LIBRARY_PATH": os.environ.get("LD_LIBRARY_PATH", ""),
        }
        config = (f"region=eu-west-1,audience=fleet,sts_endpoint={url},"
                  f"duration_seconds={a.lifetime}")
        run_seconds = str(a.lifetime * a.lifetimes + 5)
        argv = {
            "library": lambda: [a.member, config, run_seconds],
            "confluent": lambda: [a.python, os.path.join(os.path.dirname(__file__),
                                                         "confluent_member.py"),
                                  config, run_seconds],
        }
        rows, series = [], []
        for name in a.fleets.split(","):
            print(f"bench-fleet: {name}: {a.processes} processes, {a.lifetimes} x {a.lifetime} s "
                  f"tokens, limit {a.rps:g}/s burst {a.burst} ...", flush=True)
            t0, spawned, results, errors, stats = run_fleet(
                name, argv[name], a.processes, run_seconds, url, env, 1.0, a.warmup)
            row, calls, throttled = summarize(name, t0, spawned, results, errors, stats,
                                              a.processes, a.lifetime, a.lifetimes, a.rps)
            rows.append(row)
            series.append((name, calls, throttled))
    finally:
        emu.terminate()
        emu.wait(timeout=10)

    cols = ["fleet", "first_p50_ms", "first_p99_ms", "first_max_ms", "sts_calls", "throttles",
            "peak_start", "peak_waves", "failed_waits", "no_token", "late", "rss_mib_avg"]
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(str(r[c]) for c in cols))
    with open(os.path.join(a.out, "fleet-summary.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(a.out, "fleet.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["second"] + [f"{n}_{k}" for n, _, _ in series for k in ("calls", "throttled")])
        for s in range(len(series[0][1])):
            w.writerow([s] + [v for _, c, t in series for v in (c[s], t[s])])
    plot(series, a.rps, os.path.join(a.out, "fleet.png"),
         f"make bench-fleet: {a.processes} processes started within 1 s, {a.lifetime} s tokens, "
         f"STS limit {a.rps:g}/s burst {a.burst}")
    plot_sim(a.out)
    print(f"wrote {a.out}/fleet.csv, fleet-summary.csv, fleet.png")
    if any(r["member_errors"] or r["no_token"] for r in rows):
        print("bench-fleet: some processes never got a token (see above)")


if __name__ == "__main__":
    main()
