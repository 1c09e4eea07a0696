#!/usr/bin/env bash
# The RPM packages of one Linux glibc target (Amazon Linux, RHEL, Fedora),
# from the libraries and CLI already built (nothing compiled), laid out by
# `make install-strip` into /usr/lib64 and packed by rpmbuild (Debian's `rpm`
# package) from a generated spec that only copies the staged files:
#   kafka-iam-oauth-libs-V-1.ARCH.rpm   /usr/lib64/libkafka_iam_oauth.so.V and .so.0
#   kafka-iam-oauth-devel-V-1.ARCH.rpm  headers, the .so link, the .a, kafka_iam_oauth.pc
#   kafka-iam-oauth-V-1.ARCH.rpm        /usr/bin/kafka-iam-oauth (when a CLI is given)
# Each carries the licence, the third-party licences and the CycloneDX SBOM
# (scripts/packages/licenses.py) under /usr/share/licenses/<package>/.
# Usage: rpm.sh TARGET CLIB_DIR CLI_BINARY|'' OUT   (KIO_VERSION, MAKE set by make;
# PKG_XZ_LEVEL as in deb.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:?} clib=${2:?} cli=${3-} out=${4:?}
version=${KIO_VERSION:?} make_cmd=${MAKE:-make}
major=${version%%.*}
case "$target" in
  x86_64-*-gnu) arch=x86_64 strip=strip ;;
  aarch64-*-gnu) arch=aarch64 strip=aarch64-linux-gnu-strip ;;
  *) echo "rpm.sh: RPMs are built for the glibc targets ($target)" >&2; exit 2 ;;
esac
work=$(mktemp -d "${TMPDIR:-/tmp}/kio-rpm.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/stage
"$make_cmd" --no-print-directory -s install-strip PREFIX="$stage/usr" LIBDIR="$stage/usr/lib64" \
  INSTALL_FROM="$(cd "$clib" && pwd)" STRIP="$strip" PC_LIBS_PRIVATE="$(cat "$clib/native-static-libs")" >/dev/null
$strip --strip-unneeded "$stage/usr/lib64/libkafka_iam_oauth.so.$version"
python3 scripts/packages/licenses.py "$target" "$work/licences" >/dev/null
for p in kafka-iam-oauth kafka-iam-oauth-libs kafka-iam-oauth-devel; do
  install -D -m 0644 LICENSE "$stage/usr/share/licenses/$p/LICENSE"
  install -m 0644 "$work/licences/THIRD-PARTY-LICENSES.txt" "$work/licences/sbom.cdx.json" "$stage/usr/share/licenses/$p/"
done
[ -z "$cli" ] || { install -D -m 0755 "$cli" "$stage/usr/bin/kafka-iam-oauth"; $strip "$stage/usr/bin/kafka-iam-oauth"; }
epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)
spec=$work/kafka-iam-oauth.spec
cat >"$spec" <<SPEC
# Prebuilt files only: no build, no debuginfo, no post-install stripping
# (a cross-architecture binary would defeat the host's strip).
%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none
Name: kafka-iam-oauth
Version: $version
Release: 1
Summary: AWS IAM tokens for Kafka SASL/OAUTHBEARER (command line tool)
License: Apache-2.0
URL: https://github.com/kafka-iam-oauth/kafka-iam-oauth
# TLS to STS (and IMDS/ECS) is verified against the system roots.
Requires: ca-certificates
%description
The kafka-iam-oauth command: whoami, token, verify, acls, doctor and serve
(a token file for Kafka's Java clients), for checking and debugging AWS IAM
authentication to Kafka.

%package libs
Summary: AWS IAM tokens for Kafka SASL/OAUTHBEARER (library and librdkafka plugin)
Requires: ca-certificates
%description libs
Mints AWS STS GetWebIdentityToken JWTs for Kafka clients authenticating as an
AWS IAM principal with SASL/OAUTHBEARER. The shared library is also a
librdkafka plugin: plugin.library.paths=libkafka_iam_oauth.so.$major.

%package devel
Summary: AWS IAM tokens for Kafka SASL/OAUTHBEARER (development files)
Requires: kafka-iam-oauth-libs%{?_isa} = %{version}-%{release}
%description devel
Headers, the static library and kafka_iam_oauth.pc for building C programs
and cgo bindings against libkafka_iam_oauth.

%install
cp -a $stage/. %{buildroot}/

%post libs -p /sbin/ldconfig
%postun libs -p /sbin/ldconfig

%files libs
%license /usr/share/licenses/kafka-iam-oauth-libs/*
/usr/lib64/libkafka_iam_oauth.so.$major
/usr/lib64/libkafka_iam_oauth.so.$version

%files devel
%license /usr/share/licenses/kafka-iam-oauth-devel/*
/usr/include/*.h
/usr/lib64/libkafka_iam_oauth.so
/usr/lib64/libkafka_iam_oauth.a
/usr/lib64/pkgconfig/kafka_iam_oauth.pc
SPEC
if [ -n "$cli" ]; then
  printf '\n%%files\n%%license /usr/share/licenses/kafka-iam-oauth/*\n/usr/bin/kafka-iam-oauth\n' >>"$spec"
fi
SOURCE_DATE_EPOCH=$epoch rpmbuild -bb --target "$arch" --define "_topdir $work/rpmbuild" \
  --define "_rpmdir $work/rpms" --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
  --define "use_source_date_epoch_as_buildtime 1" --define "_binary_payload w${PKG_XZ_LEVEL:-6}.xzdio" "$spec" >"$work/rpmbuild.log" 2>&1 ||
  { tail -n 30 "$work/rpmbuild.log" >&2; exit 1; }
mkdir -p "$out"
for f in "$work"/rpms/*.rpm; do
  mv -f "$f" "$out/"; echo "rpm.sh: $out/$(basename "$f") ($(du -k "$out/$(basename "$f")" | cut -f1) KiB)"
done
