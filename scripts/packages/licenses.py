#!/usr/bin/env python3
"""Third-party licences and a CycloneDX SBOM for one artifact (issue 22).

Usage: licenses.py TARGET[,TARGET...] OUT_DIR [CRATE...]
Writes OUT_DIR/THIRD-PARTY-LICENSES.txt (every crate linked into the
artifact: name, version, licence expression, source, then the licence and
notice files the crate ships, which for the -sys crates cover the C code
they compile, e.g. aws-lc-sys's AWS-LC) and OUT_DIR/sbom.cdx.json
(CycloneDX 1.5). The crates are the normal (not build- or dev-)
dependencies reachable from CRATE... (default: the C libraries and the CLI)
for TARGET (several: the union of their graphs; the wheels' list is the
one of every Linux target they are built for, scripts/packages/maturin.sh),
from `cargo metadata` over Cargo.lock, offline: the same graph
`cargo deny` (deny.toml) limits the licences of. Both files are replaced
whole (written beside and renamed), so a crate dropped from the lock file
leaves nothing behind and a concurrent reader sees the old or the new file.
Derived here rather than with cargo-about/cargo-cyclonedx: those would be
two more tools to compile on a fresh CI machine (minutes on 2 cores) for
what the lock file and the registry sources already say.
"""
import glob, json, os, subprocess, sys, uuid

target, out = sys.argv[1], sys.argv[2]
targets = target.split(",")
roots = set(sys.argv[3:] or ["kafka-iam-oauth-cdylib", "kafka-iam-oauth-staticlib", "kafka-iam-oauth-cli"])
meta = json.loads(subprocess.run(
    ["cargo", "metadata", "--offline", "--format-version", "1"] + [a for t in targets for a in ("--filter-platform", t)],
    check=True, capture_output=True, text=True).stdout)
pkgs = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
workspace = set(meta["workspace_members"])
start = [i for i in workspace if pkgs[i]["name"] in roots]
missing = roots - {pkgs[i]["name"] for i in start}
if missing:
    sys.exit(f"licenses.py: no workspace crate {sorted(missing)}")
seen, todo, edges = set(), list(start), {}
while todo:
    i = todo.pop()
    if i in seen:
        continue
    seen.add(i)
    edges[i] = []
    for d in nodes[i]["deps"]:
        if any(k["kind"] is None for k in d["dep_kinds"]):
            edges[i].append(d["pkg"])
            todo.append(d["pkg"])
third = sorted((pkgs[i] for i in seen if i not in workspace), key=lambda p: (p["name"], p["version"]))
version = next(pkgs[i]["version"] for i in start)
# The licence files are read from the crates' unpacked sources, which a
# fresh machine has only for what some build already needed (the wheel's
# run comes before its own build): fetch them, never write a list that
# says a crate ships no licence file because it was not unpacked yet.
if any(not os.path.isdir(os.path.dirname(p["manifest_path"])) for p in third):
    subprocess.run(["cargo", "fetch", "--locked"] + [a for t in targets for a in ("--target", t)],
                   check=True, stdout=subprocess.DEVNULL)
    absent = [p["name"] for p in third if not os.path.isdir(os.path.dirname(p["manifest_path"]))]
    if absent:
        sys.exit(f"licenses.py: no sources of {absent} after cargo fetch")

def purl(p):
    return f"pkg:cargo/{p['name']}@{p['version']}"

os.makedirs(out, exist_ok=True)
tmp = f".tmp.{os.getpid()}"
with open(os.path.join(out, "THIRD-PARTY-LICENSES.txt" + tmp), "w") as f:
    f.write(f"kafka-iam-oauth {version} is Apache-2.0 (LICENSE). Built for\n"
            + "".join(f"  {t}\n" for t in targets)
            + f"it links the following {len(third)} crates; their licence and notice files\nfollow the list.\n\n")
    for p in third:
        f.write(f"  {p['name']} {p['version']}  {p.get('license') or p.get('license_file') or 'UNKNOWN'}\n")
    for p in third:
        d = os.path.dirname(p["manifest_path"])
        files = sorted(set(x for pat in ("LICEN[CS]E*", "licen[cs]e*", "COPYING*", "NOTICE*", "COPYRIGHT*")
                           for x in glob.glob(os.path.join(d, pat)) if os.path.isfile(x)))
        f.write("\n" + "=" * 78 + f"\n{p['name']} {p['version']}  ({p.get('license') or 'see below'})\n")
        f.write(f"source: {p.get('repository') or p['source']}\n")
        if not files:
            f.write(f"(the crate ships no licence file; its licence is {p.get('license')}, whose text is\n"
                    " the standard one, e.g. https://spdx.org/licenses/)\n")
        for x in files:
            f.write(f"--- {os.path.basename(x)}\n")
            f.write(open(x, encoding="utf-8", errors="replace").read().rstrip() + "\n")

def component(p):
    c = {"type": "library", "bom-ref": purl(p), "name": p["name"], "version": p["version"], "purl": purl(p)}
    if p.get("license"):
        c["licenses"] = [{"expression": p["license"]}]
    if p.get("description"):
        c["description"] = p["description"].strip()
    return c

root = {"type": "library", "bom-ref": f"pkg:cargo/kafka-iam-oauth@{version}", "name": "kafka-iam-oauth",
        "version": version, "purl": f"pkg:cargo/kafka-iam-oauth@{version}", "licenses": [{"expression": "Apache-2.0"}]}
ref = {i: (root["bom-ref"] if i in workspace else purl(pkgs[i])) for i in seen}
deps = {}
for i, ds in edges.items():
    deps.setdefault(ref[i], set()).update(ref[d] for d in ds if ref[d] != ref[i])
epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0")) or None
bom = {
    "bomFormat": "CycloneDX", "specVersion": "1.5",
    # Reproducible: the serial number is derived from the content's identity
    # (the crates too: a dependency change is a new BOM).
    "serialNumber": "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"kafka-iam-oauth/{version}/{target}/{sorted(roots)}/"
                                                  + ",".join(purl(p) for p in third))),
    "version": 1,
    "metadata": {"component": root, "properties": [{"name": "target", "value": t} for t in targets]},
    "components": [component(p) for p in third],
    "dependencies": [{"ref": r, "dependsOn": sorted(ds)} for r, ds in sorted(deps.items())],
}
with open(os.path.join(out, "sbom.cdx.json" + tmp), "w") as f:
    json.dump(bom, f, indent=1, sort_keys=True)
for name in ("THIRD-PARTY-LICENSES.txt", "sbom.cdx.json"):
    os.replace(os.path.join(out, name + tmp), os.path.join(out, name))
print(f"licenses.py: {len(third)} crates for {target} ({', '.join(sorted(roots))}) in {out}")
