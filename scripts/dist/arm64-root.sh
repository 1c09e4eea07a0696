#!/usr/bin/env bash
# An arm64 Debian root for make test-dist, run with qemu-user
# (`qemu-aarch64-static -L ROOT program`; no binfmt_misc needed): the
# first stage of debootstrap (--foreign: nothing runs inside) with python3
# (the arm64 CPython that imports the arm64 wheel), librdkafka-dev (the
# arm64 librdkafka the C example links), nodejs (the arm64 Node that
# loads the arm64 npm package) and openjdk-17-jre-headless (the arm64 JVM
# that loads the JAR's aarch64 JNI library), every downloaded package then
# unpacked with dpkg-deb -x. Built once into ROOT (build/dist/arm64-root)
# and kept; the mirror is the one apt is configured with on this machine.
# Usage: scripts/dist/arm64-root.sh ROOT
set -euo pipefail
root=${1:?usage: arm64-root.sh ROOT}
# The JVM's own path: /usr/bin/java is an alternatives link made by a
# maintainer script, and none runs here.
java=usr/lib/jvm/java-17-openjdk-arm64/bin/java
[ -x "$root/usr/bin/python3" ] && [ -x "$root/usr/bin/node" ] && [ -x "$root/$java" ] && [ -f "$root/.complete" ] && exit 0
# The Debian mirror and release apt uses here (deb822 .sources or one-line).
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)\/\{0,1\}$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]*\/debian\)\/\{0,1\}[[:space:]].*/\2/p' \
  /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1)
[ -n "$mirror" ] || { echo "arm64-root: no Debian mirror found in /etc/apt/sources.list*" >&2; exit 1; }
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:?}")
echo "arm64-root: debootstrap --foreign --arch=arm64 $suite from $mirror into $root"
rm -rf "$root.tmp"
mkdir -p "$(dirname "$root")"
debootstrap --foreign --arch=arm64 --variant=minbase --include=python3,librdkafka-dev,nodejs,openjdk-17-jre-headless \
  "$suite" "$root.tmp" "$mirror" >"$root.log" 2>&1 || { tail -n 20 "$root.log" >&2; exit 1; }
for deb in "$root.tmp"/var/cache/apt/archives/*.deb; do dpkg-deb -x "$deb" "$root.tmp"; done
rm -f "$root.tmp"/var/cache/apt/archives/*.deb
for p in usr/bin/python3 usr/bin/node "$java"; do
  [ -x "$root.tmp/$p" ] || { echo "arm64-root: no $p after unpacking" >&2; exit 1; }
done
touch "$root.tmp/.complete"
rm -rf "$root"
mv "$root.tmp" "$root"
echo "arm64-root: $(du -sh "$root" | cut -f1) in $root"
