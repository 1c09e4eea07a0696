#!/usr/bin/env bash
# A throwaway amd64 Debian root for make test-packages (issue 22): the .debs
# are installed into it with dpkg inside chroot, so the packaged library,
# headers, .pc and CLI are used from their system paths without touching
# this machine's own /usr (nothing another suite could pick up). debootstrap
# minbase with kcat (the librdkafka program that loads the plugin),
# pkg-config, gcc and librdkafka-dev (the C example), ca-certificates (a
# dependency of the packages: TLS to STS). Built once into ROOT
# (build/packages/amd64-root) and kept; the mirror is apt's on this machine.
# Usage: scripts/packages/amd64-root.sh ROOT
set -euo pipefail
root=${1:?usage: amd64-root.sh ROOT}
[ -f "$root/.complete" ] && exit 0
mkdir -p "$(dirname "$root")"
# One builder at a time (make and a background prep may both ask for it).
exec 9>"$root.lock"
flock 9
[ -f "$root/.complete" ] && exit 0
# debootstrap mounts /proc in the new root; a run that died leaves it there.
unmount_tmp() { { grep -o " $(realpath -m "$root.tmp")/[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount "$m" || umount -l "$m"; done; }
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)\/\{0,1\}$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]*\/debian\)\/\{0,1\}[[:space:]].*/\2/p' \
  /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1)
[ -n "$mirror" ] || { echo "amd64-root: no Debian mirror found in /etc/apt/sources.list*" >&2; exit 1; }
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:?}")
echo "amd64-root: debootstrap --arch=amd64 $suite from $mirror into $root"
unmount_tmp
rm -rf "$root.tmp"
debootstrap --arch=amd64 --variant=minbase --include=kcat,pkg-config,gcc,libc6-dev,librdkafka-dev,ca-certificates \
  "$suite" "$root.tmp" "$mirror" >"$root.log" 2>&1 || { unmount_tmp; tail -n 20 "$root.log" >&2; exit 1; }
unmount_tmp
rm -f "$root.tmp"/var/cache/apt/archives/*.deb
touch "$root.tmp/.complete"
rm -rf "$root"
mv "$root.tmp" "$root"
echo "amd64-root: $(du -sh "$root" | cut -f1) in $root"
