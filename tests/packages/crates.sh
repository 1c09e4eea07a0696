#!/usr/bin/env bash
# make test-crates: what `cargo publish` would upload for the two crates on
# crates.io (the core kafka-iam-oauth and the CLI kafka-iam-oauth-cli;
# docs/dist.md): each package holds only its sources, README and LICENSE,
# names the core by version (no path dependency left), drops the
# unpublished emulator, and builds from the packaged sources alone (cargo
# package's verify: offline, against the registry cache `make build` filled,
# in the shared target directory so only the two crates compile again).
# Every other workspace crate stays unpublished.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=${KIO_VERSION:?set by make}
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*" >&2; fail=$((fail + 1)); }
crates=(kafka-iam-oauth kafka-iam-oauth-cli)
pkg=(); for c in "${crates[@]}"; do pkg+=(-p "$c"); done
# --allow-dirty: a developer's uncommitted edits are packaged as they are
# (a clean clone in CI has none).
flags=(--offline --allow-dirty)
target=${CARGO_TARGET_DIR:-target}

# 1. The file lists: sources, manifest, README/LICENSE, nothing else.
for c in "${crates[@]}"; do
  list=$(cargo package "${flags[@]}" -q -p "$c" --list 2>/dev/null)
  n=$(wc -l <<<"$list")
  stray=$(grep -vE '^(src/.*\.rs|Cargo\.toml|Cargo\.toml\.orig|Cargo\.lock|\.cargo_vcs_info\.json|LICENSE|README\.md|cli\.md)$' <<<"$list" || true)
  if [ -z "$stray" ] && grep -qx LICENSE <<<"$list" && grep -qx src/lib.rs <<<"$list"; then
    ok "$c: cargo package --list: $n files (sources, manifest, README, LICENSE)"
  else bad "$c: unexpected files in the package: ${stray:-no LICENSE or src/lib.rs}"; fi
done

# 2. Package and build both from the packaged sources (the CLI's core comes
# from the package just made, through cargo's local overlay registry).
t0=$(date +%s)
if out=$(cargo package "${flags[@]}" "${pkg[@]}" 2>&1); then
  ok "cargo package ${pkg[*]}: packaged and built from the .crate files ($(( $(date +%s) - t0 )) s)"
else
  echo "$out" | grep -v '^warning: ignoring' | tail -n 30 >&2
  bad "cargo package ${pkg[*]} failed"
fi

# 3. The manifests as crates.io would see them.
for c in "${crates[@]}"; do
  crate=$target/package/$c-$version.crate
  [ -f "$crate" ] || { bad "$c: no $crate"; continue; }
  manifest=$(tar -xzOf "$crate" "$c-$version/Cargo.toml")
  if grep -q 'path *= *"\.\.' <<<"$manifest" || grep -q 'emulator' <<<"$manifest"; then
    bad "$c: the packaged Cargo.toml still has a path or the emulator dependency"
  else ok "$c: packaged manifest has no path dependency and no emulator ($(du -k "$crate" | cut -f1) KiB .crate)"; fi
  for key in description license repository readme rust-version keywords categories; do
    grep -q "^$key *=" <<<"$manifest" || bad "$c: no $key in the packaged manifest"
  done
done
cli_core=$(tar -xzOf "$target/package/kafka-iam-oauth-cli-$version.crate" "kafka-iam-oauth-cli-$version/Cargo.toml" |
  sed -n '/^\[dependencies.kafka-iam-oauth\]/,/^$/s/^version = "\(.*\)"/\1/p')
[ "$cli_core" = "$version" ] && ok "the CLI depends on kafka-iam-oauth $cli_core" ||
  bad "the CLI's kafka-iam-oauth dependency is version '$cli_core', not $version"

# 4. Only these two are publishable.
publishable=$(cargo metadata --offline --no-deps --format-version 1 |
  python3 -c 'import json,sys; print(" ".join(sorted(p["name"] for p in json.load(sys.stdin)["packages"] if p["publish"] != [])))')
[ "$publishable" = "kafka-iam-oauth kafka-iam-oauth-cli" ] && ok "publishable crates: $publishable" ||
  bad "publishable crates are '$publishable', expected kafka-iam-oauth kafka-iam-oauth-cli"

echo "test-crates: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
