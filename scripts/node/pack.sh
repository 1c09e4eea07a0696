#!/usr/bin/env bash
# npm tarballs of the package kafka-iam-oauth and of one platform package:
#   scripts/node/pack.sh ADDON TARGET OUTDIR [STRIP]
# ADDON is the built addon (libkafka_iam_oauth_node.so of any profile),
# TARGET a platform of bindings/node/npm/ (linux-x64-gnu, ...), STRIP the
# strip command for that target's ELF files (default: strip). Leaves
# OUTDIR/kafka-iam-oauth-<version>.tgz and
# OUTDIR/kafka-iam-oauth-<target>-<version>.tgz (npm pack), built from
# staging directories under OUTDIR/stage/, and prints their paths.
set -euo pipefail
addon=${1:?usage: pack.sh ADDON TARGET OUTDIR [STRIP]}
target=${2:?target}
out=${3:?outdir}
strip_cmd=${4:-strip}
root=$(cd "$(dirname "$0")/../.." && pwd)
src=$root/bindings/node
[ -f "$src/npm/$target/package.json" ] || { echo "pack.sh: no platform package for $target" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$out/stage
rm -rf "$stage/kafka-iam-oauth" "$stage/$target"
mkdir -p "$stage/kafka-iam-oauth" "$stage/$target"
cp "$src/index.js" "$src/index.d.ts" "$src/package.json" "$src/README.md" "$root/LICENSE" "$stage/kafka-iam-oauth/"
cp "$src/npm/$target/package.json" "$root/LICENSE" "$stage/$target/"
# Debug info stays out of the package (the release profile keeps it for
# profiling); the dynamic symbol table Node loads from is kept.
"$strip_cmd" --strip-debug -o "$stage/$target/kafka-iam-oauth.$target.node" "$addon"
for dir in "$stage/kafka-iam-oauth" "$stage/$target"; do
  (cd "$out" && npm pack --silent --pack-destination "$out" "$dir" >/dev/null)
done
version=$(node -p "require('$src/package.json').version")
ls "$out/kafka-iam-oauth-$version.tgz" "$out/kafka-iam-oauth-$target-$version.tgz"
