#!/usr/bin/env bash
# Checks the JVM JAR's native libraries (test-java; make dist's dist-jvm):
# one per architecture named, each an ELF for that machine exporting only
# the Java_io_github_kafkaiamoauth_* native methods and JNI_OnLoad.
# readelf reads every architecture's ELF.
#
#   tests/java/check-jar.sh JAR ARCH...      (ARCH: x86_64, aarch64)
set -euo pipefail
jar=${1:?usage: check-jar.sh JAR ARCH...}
shift
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kio-jar.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
for arch in "$@"; do
  lib=linux/$arch/libkafka_iam_oauth_jni.so
  python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
    "$jar" "$lib" >"$tmp/$arch.so" 2>/dev/null && [ -s "$tmp/$arch.so" ] ||
    { echo "check-jar: $jar has no $lib" >&2; fail=1; continue; }
  machine=$(readelf -hW "$tmp/$arch.so" | sed -n 's/^ *Machine: *//p')
  case "$arch:$machine" in
    x86_64:*X86-64* | aarch64:*AArch64*) ;;
    *) echo "check-jar: $lib is for '$machine'" >&2; fail=1 ;;
  esac
  # Defined, global or weak, default visibility: what the library exports.
  exports=$(readelf --dyn-syms -W "$tmp/$arch.so" |
    awk '$7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK") && $6 == "DEFAULT" && $8 != "" {sub(/@.*/, "", $8); print $8}' | sort -u)
  echo "check-jar: $lib ($machine, $(du -k "$tmp/$arch.so" | cut -f1) KiB): $(grep -c . <<<"$exports") exports, $(grep -c '^Java_' <<<"$exports") Java_*, $(grep -cx JNI_OnLoad <<<"$exports") JNI_OnLoad"
  if grep -v -E '^(Java_io_github_kafkaiamoauth_Native_[A-Za-z]+|JNI_OnLoad)$' <<<"$exports"; then
    echo "check-jar: ^ exported by $lib but not Java_* or JNI_OnLoad" >&2; fail=1
  fi
  grep -qx JNI_OnLoad <<<"$exports" || { echo "check-jar: $lib has no JNI_OnLoad" >&2; fail=1; }
  grep -q '^Java_io_github_kafkaiamoauth_Native_token$' <<<"$exports" || { echo "check-jar: $lib has no Native.token" >&2; fail=1; }
done
echo "check-jar: $jar ($(du -k "$jar" | cut -f1) KiB): $([ $fail = 0 ] && echo ok || echo FAILED)"
exit "$fail"
