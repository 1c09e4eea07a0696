#!/usr/bin/env bash
# Builds @confluentinc/kafka-javascript from source (the npm registry only;
# no prebuilt binary from GitHub) with CKJS_LINKING=dynamic: its vendored
# librdkafka against Debian's libssl/libsasl2/libzstd/liblz4/libcurl/zlib dev
# packages (scripts/install-deps.sh). The version and every dependency are
# pinned by tests/node-ckjs/package-lock.json (npm ci). Kept in
# build/node/ckjs/<version>-abi<N>/ and reused while the lockfile and Node's
# ABI stay the same.
# Usage: build.sh  (prints the directory holding node_modules)
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD/tests/node-ckjs
VERSION=$(node -p "require('$src/package.json').dependencies['@confluentinc/kafka-javascript']")
# Its gyp file runs librdkafka's build with a bare `make -j` (one job per
# source file at once); CKJS_JOBS caps it. node-gyp's own make stays serial:
# with -j its addon sources race the configure step (no rule for config.h).
JOBS=${CKJS_JOBS:-2}
abi=$(node -p process.versions.modules)
dir=$PWD/build/node/ckjs/$VERSION-abi$abi
stamp=$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -c1-16)
if [ "$(cat "$dir/.done" 2>/dev/null)" = "$stamp" ]; then echo "$dir"; exit 0; fi
# node-gyp needs Node's headers; it would download them from nodejs.org
# without a nodedir that has them (Debian's/NodeSource's nodejs ships them).
nodedir=$(dirname "$(dirname "$(command -v node)")")
[ -f "$nodedir/include/node/node_api.h" ] || {
  echo "ckjs: no Node headers under $nodedir/include/node (install the nodejs package that has them)" >&2; exit 1; }
tmp=$dir.tmp
rm -rf "$tmp"; mkdir -p "$tmp/bin"
# A `make` first on PATH that turns a bare -j into -j$JOBS.
cat >"$tmp/bin/make" <<WRAP
#!/bin/sh
n=\$#; while [ \$n -gt 0 ]; do a=\$1; shift; [ "\$a" = -j ] && a=-j$JOBS; set -- "\$@" "\$a"; n=\$((n - 1)); done
exec /usr/bin/make "\$@"
WRAP
chmod +x "$tmp/bin/make"
cp "$src/package.json" "$src/package-lock.json" "$tmp/"
start=$(date +%s)
(cd "$tmp" && PATH="$tmp/bin:$PATH" CKJS_LINKING=dynamic MAKEFLAGS= \
  npm_config_build_from_source=true npm_config_nodedir="$nodedir" \
  npm ci --no-audit --no-fund --loglevel=error >build.log 2>&1) || {
  echo "ckjs: npm ci failed (log $tmp/build.log):" >&2; tail -n 30 "$tmp/build.log" >&2; exit 1; }
(cd "$tmp" && node -e "const k=require('@confluentinc/kafka-javascript'); console.log('ckjs', require('@confluentinc/kafka-javascript/package.json').version, 'librdkafka', k.librdkafkaVersion)") >>"$tmp/build.log"
echo "built in $(( $(date +%s) - start )) s" >>"$tmp/build.log"
# Objects and archives (about 230 MB with debug info) are not needed to run.
find "$tmp/node_modules/@confluentinc/kafka-javascript" \( -name '*.o' -o -name '*.a' \) -delete
echo "$stamp" >"$tmp/.done"
rm -rf "$dir"; mv "$tmp" "$dir"
tail -n 2 "$dir/build.log" | sed 's/^/ckjs: /' >&2
echo "$dir"
