#!/usr/bin/env bash
# One C tarball: OUT/kafka-iam-oauth-VERSION-TARGET.tar.gz, laid out by
# `make install-strip` (mk/install.mk: the .so with its SONAME links, the .a,
# both headers, the relocatable kafka_iam_oauth.pc from capi/kafka_iam_oauth.pc.in
# with this target's Libs.private from rustc), plus bin/kafka-iam-oauth (the
# static musl CLI of the same architecture, when built), LICENSE, README.md,
# THIRD-PARTY-LICENSES.txt and sbom.cdx.json.
# Reproducible: sorted names, root owner, mtime of the last commit, gzip -n.
# Usage: package.sh TARGET CLIB_DIR CLI_BINARY|'' OUT   (MAKE, KIO_VERSION set by make)
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:?} clib=${2:?} cli=${3-} out=${4:?}
version=${KIO_VERSION:?} make_cmd=${MAKE:-make}
name=kafka-iam-oauth-$version-$target
strip=strip
[[ "$target" == aarch64-* ]] && strip=aarch64-linux-gnu-strip
work=$(mktemp -d "${TMPDIR:-/tmp}/kio-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/$name
"$make_cmd" --no-print-directory -s install-strip PREFIX="$stage" INSTALL_FROM="$(cd "$clib" && pwd)" \
  STRIP="$strip" PC_LIBS_PRIVATE="$(cat "$clib/native-static-libs")" >/dev/null
cli_line=
if [ -n "$cli" ]; then
  install -D -m 0755 "$cli" "$stage/bin/kafka-iam-oauth"
  cli_line="    bin/kafka-iam-oauth                  the command line tool (static, runs on any Linux of this architecture)"
fi
case "$target" in
  *-gnu) libc_note="Built for glibc 2.17 and newer (Amazon Linux 2 and 2023, Debian, Ubuntu, RHEL 7+)." ;;
  *-musl) libc_note="Built for musl libc (Alpine Linux): the libraries need musl's libc.so at run time." ;;
esac
sed -e "s|@VERSION@|$version|g" -e "s|@MAJOR@|${version%%.*}|g" -e "s|@TARGET@|$target|g" \
  -e "s|@LIBC_NOTE@|$libc_note|" -e "s|@CLI_LINE@|$cli_line|" scripts/dist/tarball-README.md >"$stage/README.md"
install -m 0644 LICENSE "$stage/LICENSE"
# The licences of every crate (and the C code of the -sys crates) linked in,
# and the CycloneDX SBOM (scripts/packages/licenses.py).
python3 scripts/packages/licenses.py "$target" "$stage" >/dev/null
mkdir -p "$out"
epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)
tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -cf - "$name" | gzip -n -9 >"$out/$name.tar.gz.tmp"
mv -f "$out/$name.tar.gz.tmp" "$out/$name.tar.gz"
echo "package.sh: $out/$name.tar.gz ($(du -k "$out/$name.tar.gz" | cut -f1) KiB)"
