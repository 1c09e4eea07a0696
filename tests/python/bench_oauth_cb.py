"""Side-by-side oauth_cb benchmark (run by `make bench-python`, part of `make bench`).

Three implementations on the same sasl.oauthbearer.config, against one local
emulator (started here unless KIO_EMULATOR_URL is set):
  ours     kafka_iam_oauth.oauth_cb
  ckafka   confluent-kafka's [oauthbearer-aws] extra (create_handler, boto3)
  aiven    the Aiven guide's boto3 function (an STS client and call per refresh)
Prints warm callback latency, STS calls for 50 clients, import + first token
(time, peak RSS) and footprint, with ratios. Numbers are reported, not asserted.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

AIVEN_CB = '''
import boto3
def aiven_oauth_cb(config):
    # as in the Aiven guide: a boto3 STS client and one STS call per refresh
    sts = boto3.client("sts", region_name=REGION, endpoint_url=ENDPOINT)
    resp = sts.get_web_identity_token(Audience=[AUDIENCE], SigningAlgorithm="ES384", DurationSeconds=3600)
    token = resp["WebIdentityToken"]
    return token, resp["Expiration"].timestamp(), "my-iam-user", {}
'''


def emulator_exe():
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "kafka-iam-oauth-emulator"


def user_keys():
    """my-iam-user's keys: from the harness's env.sh, else from the emulator
    binary, which defines them."""
    if not os.environ.get("KIO_USER_ACCESS_KEY_ID"):
        out = subprocess.run([str(emulator_exe()), "--print-identities"], check=True,
                             capture_output=True, text=True).stdout
        os.environ.update(line.split("=", 1) for line in out.splitlines())
    return os.environ["KIO_USER_ACCESS_KEY_ID"], os.environ["KIO_USER_SECRET_ACCESS_KEY"]


def start_emulator():
    if os.environ.get("KIO_EMULATOR_URL"):
        return os.environ["KIO_EMULATOR_URL"], None
    exe = emulator_exe()
    ready = Path(tempfile.mkdtemp(prefix="kio-bench-")) / "url"
    proc = subprocess.Popen([str(exe), "--port", "0", "--quiet", "--ready-file", str(ready)],
                            stdout=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not (ready.exists() and ready.read_text().strip()):
        if time.time() > deadline or proc.poll() is not None:
            raise RuntimeError("the emulator did not start")
        time.sleep(0.05)
    return ready.read_text().strip(), proc


def sts_calls(url):
    with urllib.request.urlopen(url + "/_emulator/stats", timeout=10) as r:
        return json.load(r)["requests"].get("GetWebIdentityToken", 0)


def make_cb(name, config, env):
    if name == "ours":
        import kafka_iam_oauth
        return kafka_iam_oauth.oauth_cb
    if name == "ckafka":
        from confluent_kafka._oauthbearer.aws.aws_autowire import create_handler
        return create_handler(config, None)
    ns = {"REGION": "eu-west-1", "ENDPOINT": env["url"], "AUDIENCE": "my-kafka.example.com"}
    exec(AIVEN_CB, ns)
    return ns["aiven_oauth_cb"]


def warm_latency(cb, config, n):
    cb(config)
    samples = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n):
            cb(config)
        samples.append((time.perf_counter() - t) / n)
    return statistics.median(samples)


COLD = '''
import sys, time
t = time.perf_counter()
import confluent_kafka  # every variant is used from a confluent-kafka app
{imp}
cb({config!r})
elapsed = time.perf_counter() - t
# VmHWM (not ru_maxrss, which Linux carries over from the parent across exec)
hwm = [l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
print(elapsed, hwm)
'''
COLD_IMPORTS = {
    "none": "cb = lambda c: None",
    "ours": "import kafka_iam_oauth; cb = kafka_iam_oauth.oauth_cb",
    "ckafka": "from confluent_kafka._oauthbearer.aws.aws_autowire import create_handler; "
              "cb = create_handler({config!r}, None)",
    "aiven": "ns = dict(REGION='eu-west-1', ENDPOINT={url!r}, AUDIENCE='my-kafka.example.com'); "
             "exec({aiven!r}, ns); cb = ns['aiven_oauth_cb']",
}


def cold(name, config, url):
    imp = COLD_IMPORTS[name].format(config=config, url=url, aiven=AIVEN_CB)
    runs = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", COLD.format(imp=imp, config=config)],
                             capture_output=True, text=True, check=True, timeout=120)
        secs, rss = out.stdout.split()
        runs.append((float(secs), int(rss)))
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def installed_size(*dists):
    from importlib.metadata import distribution
    total = 0
    for d in dists:
        dist = distribution(d)
        for f in dist.files or []:
            p = Path(dist.locate_file(f))
            if p.is_file():
                total += p.stat().st_size
    return total


def main():
    empty = tempfile.NamedTemporaryFile(delete=False)
    key, secret = user_keys()
    os.environ.update(AWS_EC2_METADATA_DISABLED="true", AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret,
                      AWS_CONFIG_FILE=empty.name, AWS_SHARED_CREDENTIALS_FILE=empty.name)
    url, proc = start_emulator()
    try:
        config = f"region=eu-west-1,audience=my-kafka.example.com,duration_seconds=3600,sts_endpoint={url}"
        env = {"url": url}
        names = ["ours", "ckafka", "aiven"]
        print("oauth_cb benchmark against the local emulator", url)

        lat = {}
        for name in names:
            lat[name] = warm_latency(make_cb(name, config, env), config, 100_000 if name == "ours" else 30)
        print("\nwarm callback latency (median per call)")
        for name in names:
            ratio = "" if name == "ours" else f"   {lat[name] / lat['ours']:,.0f}x ours"
            print(f"  {name:7} {lat[name] * 1e6:12,.2f} us{ratio}")

        print("\nSTS calls when 50 clients each fetch their token (fresh config per implementation)")
        for name in names:
            cfg = config + f",tag_bench={name}{time.time_ns()}"
            before = sts_calls(url)
            cbs = [make_cb(name, cfg, env) for _ in range(50)] if name != "ours" else [make_cb(name, cfg, env)] * 50
            for cb in cbs:
                cb(cfg)
            print(f"  {name:7} {sts_calls(url) - before:5d}")

        print("\nimport + first token in a fresh interpreter that imports confluent_kafka (median of 3): time, peak RSS")
        base = cold("none", config, url)
        res = {n: cold(n, config, url) for n in names}
        for name in names:
            secs, rss = res[name]
            ratio = "" if name == "ours" else (f"   time {secs / res['ours'][0]:.1f}x ours, "
                                               f"extra RSS {(rss - base[1]) / max(1, res['ours'][1] - base[1]):.1f}x ours")
            print(f"  {name:7} {secs * 1000:9.1f} ms  {rss / 1024:7.1f} MiB (+{(rss - base[1]) / 1024:.1f} over confluent_kafka alone){ratio}")

        wheels = sorted((ROOT / "build" / "wheels").glob("kafka_iam_oauth-*.whl"))
        ours_inst = installed_size("kafka-iam-oauth")
        boto_inst = installed_size("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3")
        print("\nfootprint")
        if wheels:
            print(f"  ours    wheel {wheels[-1].stat().st_size / 2**20:.1f} MiB ({wheels[-1].name})")
        print(f"  ours    installed {ours_inst / 2**20:.1f} MiB")
        print(f"  boto3 stack (boto3, botocore, s3transfer, jmespath, dateutil, urllib3) installed "
              f"{boto_inst / 2**20:.1f} MiB = {boto_inst / ours_inst:.1f}x ours")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
