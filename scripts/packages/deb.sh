#!/usr/bin/env bash
# The Debian packages of one Linux target, from the libraries and CLI `make
# dist` / dist-test-build already built (nothing is compiled here), laid out
# by `make install-strip` into Debian's multiarch paths and packed with
# dpkg-deb (Debian's own tool: cargo-deb builds one package per cargo crate,
# and these three packages split one crate's outputs; docs/dist.md):
#   libkafka-iam-oauth0_V_ARCH.deb     /usr/lib/<multiarch>/libkafka_iam_oauth.so.V
#                                      and its SONAME link .so.0 (the librdkafka plugin:
#                                      plugin.library.paths=libkafka_iam_oauth.so.0)
#   libkafka-iam-oauth-dev_V_ARCH.deb  headers, the .so link, the .a, kafka_iam_oauth.pc
#   kafka-iam-oauth_V_ARCH.deb         /usr/bin/kafka-iam-oauth (when a CLI is given)
# Each carries /usr/share/doc/<package>/{copyright,changelog.gz} (a native
# package: the version has no Debian revision), the
# third-party licences and the CycloneDX SBOM (scripts/packages/licenses.py).
# Usage: deb.sh TARGET CLIB_DIR CLI_BINARY|'' OUT   (KIO_VERSION, MAKE set by make;
# PKG_XZ_LEVEL, 6 by default: make test's packages of debug libraries take 1)
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:?} clib=${2:?} cli=${3-} out=${4:?}
version=${KIO_VERSION:?} make_cmd=${MAKE:-make}
major=${version%%.*}
case "$target" in
  x86_64-*) arch=amd64 multiarch=x86_64-linux-gnu strip=strip ;;
  aarch64-*) arch=arm64 multiarch=aarch64-linux-gnu strip=aarch64-linux-gnu-strip ;;
  *) echo "deb.sh: no Debian architecture for $target" >&2; exit 2 ;;
esac
[[ "$target" == *-gnu ]] || { echo "deb.sh: Debian packages are for glibc targets ($target)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/kio-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/stage
"$make_cmd" --no-print-directory -s install-strip PREFIX="$stage/usr" LIBDIR="$stage/usr/lib/$multiarch" \
  INSTALL_FROM="$(cd "$clib" && pwd)" STRIP="$strip" PC_LIBS_PRIVATE="$(cat "$clib/native-static-libs")" >/dev/null
epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)
maintainer="kafka-iam-oauth maintainers <kafka-iam-oauth@users.noreply.github.com>"
homepage=https://github.com/kafka-iam-oauth/kafka-iam-oauth
mkdir -p "$out"

# docs PKG: copyright, changelog and licences into PKGROOT/usr/share/doc/PKG.
docs() {
  local pkg=$1 d=$2/usr/share/doc/$1
  install -d "$d"
  { echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
    echo "Upstream-Name: kafka-iam-oauth"
    echo "Source: $homepage"
    echo
    echo "Files: *"
    echo "Copyright: $(date -u -d "@$epoch" +%Y) kafka-iam-oauth contributors"
    echo "License: Apache-2.0"
    echo " On Debian systems, the full text of the Apache License 2.0 is in"
    echo " /usr/share/common-licenses/Apache-2.0. The Rust crates and C code linked"
    echo " into this package are listed with their licences in"
    echo " /usr/share/doc/$pkg/THIRD-PARTY-LICENSES.gz, and as a CycloneDX SBOM in"
    echo " /usr/share/doc/$pkg/sbom.cdx.json."; } >"$d/copyright"
  { echo "kafka-iam-oauth ($version) unstable; urgency=medium"; echo
    echo "  * Release $version: see CHANGELOG.md upstream."; echo
    echo " -- $maintainer  $(date -u -R -d "@$epoch")"; } | gzip -n -9 >"$d/changelog.gz"
  gzip -n -9 <"$licences/THIRD-PARTY-LICENSES.txt" >"$d/THIRD-PARTY-LICENSES.gz"
  install -m 0644 "$licences/sbom.cdx.json" "$d/sbom.cdx.json"
}
# pack PKG ROOT SECTION DEPENDS SHORT LONG [MULTIARCH]
pack() {
  local pkg=$1 root=$2 section=$3 depends=$4 short=$5 long=$6 ma=${7-}
  install -d "$root/DEBIAN"
  find "$root" -path "$root/DEBIAN" -prune -o -type d -exec chmod 0755 {} +
  { echo "Package: $pkg"; echo "Source: kafka-iam-oauth"; echo "Version: $version"; echo "Architecture: $arch"
    echo "Maintainer: $maintainer"; echo "Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)"
    [ -z "$depends" ] || echo "Depends: $depends"
    [ -z "$ma" ] || echo "Multi-Arch: $ma"
    echo "Section: $section"; echo "Priority: optional"; echo "Homepage: $homepage"
    echo "Description: $short"; fold -s -w 72 <<<"$long" | sed 's/ *$//; s/^/ /'; } >"$root/DEBIAN/control"
  (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort | xargs -r md5sum) >"$root/DEBIAN/md5sums"
  find "$root" -exec touch -h -d "@$epoch" {} +
  SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz -z"${PKG_XZ_LEVEL:-6}" --build "$root" "$out/${pkg}_${version}_${arch}.deb" >/dev/null
  echo "deb.sh: $out/${pkg}_${version}_${arch}.deb ($(du -k "$out/${pkg}_${version}_${arch}.deb" | cut -f1) KiB)"
}

licences=$work/licences
python3 scripts/packages/licenses.py "$target" "$licences"
libdir=usr/lib/$multiarch

lib=$work/libkafka-iam-oauth$major
install -d "$lib/$libdir"
cp -a "$stage/$libdir/libkafka_iam_oauth.so.$version" "$stage/$libdir/libkafka_iam_oauth.so.$major" "$lib/$libdir/"
# Debian policy 10.1/10.2: shared libraries stripped of unneeded symbols, not executable.
$strip --remove-section=.comment --remove-section=.note --strip-unneeded "$lib/$libdir/libkafka_iam_oauth.so.$version"
chmod 0644 "$lib/$libdir/libkafka_iam_oauth.so.$version"
docs "libkafka-iam-oauth$major" "$lib"
echo "libkafka_iam_oauth $major libkafka-iam-oauth$major (>= $version)" >"$lib/DEBIAN.shlibs"
install -d "$lib/DEBIAN"; mv "$lib/DEBIAN.shlibs" "$lib/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$lib/DEBIAN/triggers"
# ca-certificates: the library verifies STS and IMDS/ECS endpoints against the system roots.
pack "libkafka-iam-oauth$major" "$lib" libs "libc6 (>= 2.17), libgcc-s1, ca-certificates" \
  "AWS IAM tokens for Kafka SASL/OAUTHBEARER (library and librdkafka plugin)" \
  "Mints AWS STS GetWebIdentityToken JWTs for Kafka clients authenticating as an AWS IAM principal with SASL/OAUTHBEARER, caching and refreshing them process-wide. This package holds the shared library, which is also a librdkafka plugin: kcat, rsyslog omkafka, syslog-ng or any librdkafka program loads it with plugin.library.paths=libkafka_iam_oauth.so.$major." same

dev=$work/libkafka-iam-oauth-dev
install -d "$dev/$libdir/pkgconfig" "$dev/usr/include"
cp -a "$stage/$libdir/libkafka_iam_oauth.so" "$stage/$libdir/libkafka_iam_oauth.a" "$dev/$libdir/"
cp -a "$stage/$libdir/pkgconfig/kafka_iam_oauth.pc" "$dev/$libdir/pkgconfig/"
cp -a "$stage/usr/include/." "$dev/usr/include/"
docs libkafka-iam-oauth-dev "$dev"
pack libkafka-iam-oauth-dev "$dev" libdevel "libkafka-iam-oauth$major (= $version)" \
  "AWS IAM tokens for Kafka SASL/OAUTHBEARER (development files)" \
  "Headers, the static library and the pkg-config file (kafka_iam_oauth.pc) for building C programs and cgo bindings against libkafka-iam-oauth: cc app.c \$(pkg-config --cflags --libs kafka_iam_oauth)." same

if [ -n "$cli" ]; then
  bin=$work/kafka-iam-oauth
  install -D -m 0755 "$cli" "$bin/usr/bin/kafka-iam-oauth"
  $strip "$bin/usr/bin/kafka-iam-oauth"
  docs kafka-iam-oauth "$bin"
  deps=ca-certificates; readelf -d "$cli" | grep -q 'NEEDED.*libc.so.6' && deps="libc6 (>= 2.17), libgcc-s1, ca-certificates"
  if [ "$deps" = ca-certificates ]; then
    # The static musl build: one binary for every Linux of this architecture.
    install -D -m 0644 /dev/stdin "$bin/usr/share/lintian/overrides/kafka-iam-oauth" <<<"kafka-iam-oauth: statically-linked-binary [usr/bin/kafka-iam-oauth]"
  fi
  pack kafka-iam-oauth "$bin" utils "$deps" \
    "AWS IAM tokens for Kafka SASL/OAUTHBEARER (command line tool)" \
    "The kafka-iam-oauth command: whoami, token, verify, acls, doctor and serve (a token file for Kafka's Java clients), for checking and debugging AWS IAM authentication to Kafka."
fi
