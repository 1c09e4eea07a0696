#!/usr/bin/env bash
# A file-based Go module proxy (GOPROXY=file://DIR) serving one version of
# the Go modules in this checkout, laid out as the Go module proxy protocol
# says (<module>/@v/{list,VERSION.info,VERSION.mod,VERSION.zip}), so a test
# does exactly what `go get <module>@<version>` does against proxy.golang.org
# for a tagged release (tag bindings/go/vVERSION; docs/dist.md). The zip
# holds what the go command's module zip holds: the module directory's
# regular files, without nested modules (a subdirectory with its own go.mod,
# e.g. the sarama/franz/kafkago adapters, is a module of its own: give it as
# another MODULE_DIR to serve it too).
# Usage: go-proxy.sh OUT_DIR VERSION MODULE_DIR...   (VERSION like v0.1.0)
set -euo pipefail
out=${1:?usage: go-proxy.sh OUT_DIR VERSION MODULE_DIR...} version=${2:?} ; shift 2
[[ "$version" == v* ]] || { echo "go-proxy.sh: version must start with v: $version" >&2; exit 2; }
epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)
for dir in "$@"; do
  python3 - "$out" "$version" "$dir" "$epoch" <<'PY'
import datetime, json, os, re, sys, zipfile
out, version, moddir, epoch = sys.argv[1], sys.argv[2], sys.argv[3].rstrip("/"), int(sys.argv[4])
gomod = open(os.path.join(moddir, "go.mod")).read()
module = re.search(r"^module\s+(\S+)", gomod, re.M).group(1)
# The proxy escapes upper-case letters in paths (!x); these have none.
assert module == module.lower(), module
vdir = os.path.join(out, module, "@v")
os.makedirs(vdir, exist_ok=True)
prefix = f"{module}@{version}/"
stamp = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
files = []
for root, dirs, names in os.walk(moddir):
    rel = os.path.relpath(root, moddir)
    # Nested modules, VCS data and vendor trees are not part of the module.
    dirs[:] = sorted(d for d in dirs if d not in (".git", "vendor")
                     and not os.path.exists(os.path.join(root, d, "go.mod")))
    for n in sorted(names):
        p = os.path.join(root, n)
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        files.append(os.path.normpath(os.path.join(rel, n)))
with zipfile.ZipFile(os.path.join(vdir, version + ".zip.tmp"), "w", zipfile.ZIP_DEFLATED) as z:
    for f in files:
        info = zipfile.ZipInfo(prefix + f, date_time=stamp.timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, open(os.path.join(moddir, f), "rb").read())
os.replace(os.path.join(vdir, version + ".zip.tmp"), os.path.join(vdir, version + ".zip"))
open(os.path.join(vdir, version + ".mod"), "w").write(gomod)
json.dump({"Version": version, "Time": stamp.strftime("%Y-%m-%dT%H:%M:%SZ")}, open(os.path.join(vdir, version + ".info"), "w"))
listing = os.path.join(vdir, "list")
known = set(open(listing).read().split()) if os.path.exists(listing) else set()
open(listing, "w").write("".join(v + "\n" for v in sorted(known | {version})))
print(f"go-proxy.sh: {module}@{version}: {len(files)} files")
PY
done
