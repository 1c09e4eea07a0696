#!/usr/bin/env bash
# One command for a new version (`make bump-version V=X.Y.Z`; docs/dist.md,
# "Cutting a release"): writes X.Y.Z everywhere a version lives, then
# checks none of the old one is left in those places.
#   Cargo.toml [workspace.package] (every crate, the wheel through maturin,
#   the .deb/.rpm/tarball names), cli/Cargo.toml's dependency on the core,
#   Cargo.lock, the C header's KAFKA_IAM_OAUTH_VERSION* macros (capi/cbindgen.toml
#   and include/kafka_iam_oauth.h), bindings/node's package.json files,
#   bindings/jvm/pom.xml, and a new CHANGELOG.md section from [Unreleased].
# The Go module's version is its tag, bindings/go/vX.Y.Z: printed, not made.
set -euo pipefail
cd "$(dirname "$0")/.."
new=${1:?usage: bump-version.sh X.Y.Z}
[[ "$new" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || { echo "bump-version: not X.Y.Z: $new" >&2; exit 2; }
maj=${BASH_REMATCH[1]} min=${BASH_REMATCH[2]} pat=${BASH_REMATCH[3]}
old=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
[ "$old" != "$new" ] || { echo "bump-version: already $new"; exit 0; }
esc=${old//./\\.}
sed -i "0,/^version = \"$esc\"/s//version = \"$new\"/" Cargo.toml
sed -i "s/^\(kafka-iam-oauth = { path = \"\.\.\", version = \"\)$esc\"/\1$new\"/" cli/Cargo.toml
for f in capi/cbindgen.toml include/kafka_iam_oauth.h; do
  sed -i -e "s/\(#define KAFKA_IAM_OAUTH_VERSION \)\"$esc\"/\1\"$new\"/" \
    -e "s/\(#define KAFKA_IAM_OAUTH_VERSION_MAJOR \)[0-9]*/\1$maj/" \
    -e "s/\(#define KAFKA_IAM_OAUTH_VERSION_MINOR \)[0-9]*/\1$min/" \
    -e "s/\(#define KAFKA_IAM_OAUTH_VERSION_PATCH \)[0-9]*/\1$pat/" "$f"
done
for f in bindings/node/package.json bindings/node/npm/*/package.json; do
  [ -f "$f" ] && sed -i -e "s/\"version\": \"$esc\"/\"version\": \"$new\"/" \
    -e "s/\(\"kafka-iam-oauth-[a-z0-9-]*\": \"\)$esc\"/\1$new\"/" "$f"
done
[ -f bindings/jvm/pom.xml ] && sed -i "0,/<version>$esc<\/version>/s//<version>$new<\/version>/" bindings/jvm/pom.xml
cargo update -q --offline --workspace
if [ -f CHANGELOG.md ] && grep -q '^## \[Unreleased\]' CHANGELOG.md; then
  sed -i "s/^## \[Unreleased\]$/## [Unreleased]\n\n## [$new] - $(date -u +%F)/" CHANGELOG.md
fi
left=$(grep -n -e "version = \"$esc\"" -e "KAFKA_IAM_OAUTH_VERSION \"$esc\"" -e "\"version\": \"$esc\"" \
  Cargo.toml cli/Cargo.toml capi/cbindgen.toml include/kafka_iam_oauth.h bindings/node/package.json 2>/dev/null || true)
[ -z "$left" ] || { echo "bump-version: $old is still in:"; echo "$left"; exit 1; } >&2
echo "bump-version: $old -> $new. Then: review git diff, commit, tag v$new and bindings/go/v$new (the Go module's tag)."
