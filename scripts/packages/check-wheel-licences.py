#!/usr/bin/env python3
"""Checks the third-party licences and SBOM a wheel carries (pyproject.toml
license-files, scripts/packages/maturin.sh): the PEP 639 files in
.dist-info/licenses/ and METADATA's fields for them, the SBOM is CycloneDX
naming the crates the extension links (the AWS SDK, PyO3, AWS-LC's C code),
each with a licence, the licence file lists the same crates, and, given the
lock file, every crate's version is the locked one (no stale list).

Usage: check-wheel-licences.py DIST_INFO_DIR [CARGO_LOCK]
DIST_INFO_DIR: an unpacked wheel's or an installed distribution's
kafka_iam_oauth-VERSION.dist-info. Prints one line; exits 1 on a failure.
"""
import json, os, sys, tomllib

dist_info = sys.argv[1]
lock = sys.argv[2] if len(sys.argv) > 2 else None
GEN = "build/wheel-licences"
FILES = ["LICENSE", f"{GEN}/THIRD-PARTY-LICENSES.txt", f"{GEN}/sbom.cdx.json"]
MUST = ["aws-sdk-sts", "pyo3", "aws-lc-sys", "clap"]


def fail(msg):
    sys.exit(f"wheel licences: {os.path.basename(dist_info.rstrip('/'))}: {msg}")


for f in FILES:
    if not os.path.isfile(os.path.join(dist_info, "licenses", f)):
        fail(f"no licenses/{f}")
meta = open(os.path.join(dist_info, "METADATA"), encoding="utf-8").read().split("\n\n", 1)[0].splitlines()
if "License-Expression: Apache-2.0" not in meta:
    fail("METADATA has no License-Expression: Apache-2.0")
missing = [f for f in FILES if f"License-File: {f}" not in meta]
if missing:
    fail(f"METADATA names no License-File {missing}")
version = next(m.split(": ", 1)[1] for m in meta if m.startswith("Version: "))

try:
    bom = json.load(open(os.path.join(dist_info, "licenses", GEN, "sbom.cdx.json"), encoding="utf-8"))
except ValueError as e:
    fail(f"sbom.cdx.json is not JSON: {e}")
if bom.get("bomFormat") != "CycloneDX" or not str(bom.get("specVersion", "")).startswith("1."):
    fail(f"sbom.cdx.json is not CycloneDX: {bom.get('bomFormat')} {bom.get('specVersion')}")
root = bom["metadata"]["component"]
if (root["name"], root["version"]) != ("kafka-iam-oauth", version):
    fail(f"the SBOM describes {root['name']} {root['version']}, the wheel is {version}")
comps = {c["name"]: c for c in bom["components"]}
absent = [n for n in MUST if n not in comps]
if absent:
    fail(f"the SBOM does not name {absent}")
unlicensed = [n for n, c in comps.items() if not c.get("licenses")]
if unlicensed:
    fail(f"SBOM components without a licence: {unlicensed}")

text = open(os.path.join(dist_info, "licenses", GEN, "THIRD-PARTY-LICENSES.txt"), encoding="utf-8").read()
if "Apache-2.0" not in text or "Apache License" not in text:
    fail("THIRD-PARTY-LICENSES.txt names no Apache-2.0 licence text")
unlisted = [c["name"] for c in bom["components"] if f"  {c['name']} {c['version']}  " not in text]
if unlisted:
    fail(f"THIRD-PARTY-LICENSES.txt does not list {unlisted[:5]}")

if lock:
    locked = {(p["name"], p["version"]) for p in tomllib.load(open(lock, "rb"))["package"]}
    stale = [f"{c['name']} {c['version']}" for c in bom["components"] if (c["name"], c["version"]) not in locked]
    if stale:
        fail(f"the SBOM names crates not in {lock} (stale): {stale[:5]}")

print(f"wheel licences: {len(bom['components'])} crates with licences in THIRD-PARTY-LICENSES.txt and sbom.cdx.json "
      f"(CycloneDX {bom['specVersion']}; aws-sdk-sts {comps['aws-sdk-sts']['version']}, pyo3 {comps['pyo3']['version']})"
      + (", all as locked" if lock else ""))
