#!/usr/bin/env bash
# make test-install: the C library installs like a C library.
#   - `make install PREFIX=<mktemp -d>`: the layout, the SONAME and its links;
#   - pkg-config against the installed copy: examples/c/produce_consume.c built
#     with nothing but `pkg-config --cflags --libs kafka_iam_oauth` (and
#     -lrdkafka) and run against the harness broker; a small program linked
#     with the static library through `pkg-config --static` and run;
#   - the symbols every artifact exports (the .so, the .a, the Python
#     extension when it is built);
#   - DESTDIR staging with a LIBDIR outside PREFIX/lib, and `make uninstall`.
# Called by mk/install.mk with the harness env loaded (KIO_*), MAKE,
# INSTALL_PROFILE and KIO_VERSION set. Prints one summary line; exits
# non-zero when a check failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
make_cmd=${MAKE:-make}
profile=${INSTALL_PROFILE:-release}
version=${KIO_VERSION:?KIO_VERSION is set by make test-install}
major=${version%%.*}
so=libkafka_iam_oauth.so
export AWS_EC2_METADATA_DISABLED=true
tag=$(basename "${KIO_RUN_DIR:-harness}" | tr -c 'A-Za-z0-9_\n-' '_')
logs=$(mkdir -p "build/install/logs/$tag" && cd "build/install/logs/$tag" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/kio-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
lib=$prefix/lib

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "install: ok   $*"; }
bad() { failed=$((failed + 1)); echo "install: FAIL $*"; }
# check NAME COMMAND...: ok when COMMAND succeeds; its output goes to the log,
# whose tail is shown on failure.
check() {
  local name=$1; shift
  if "$@" >"$logs/$name.log" 2>&1; then ok "$name"; else
    bad "$name (build/install/logs/$tag/$name.log):"; tail -n 25 "$logs/$name.log" | sed 's/^/    /'
  fi
}
summary() {
  echo "install: $passed passed, $failed failed (make install PREFIX=\$(mktemp -d), profile $profile; logs in build/install/logs/$tag)"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}
pc() { PKG_CONFIG_PATH="$lib/pkgconfig" pkg-config "$@" kafka_iam_oauth; }

# ---- make install
if ! "$make_cmd" --no-print-directory install PREFIX="$prefix" INSTALL_PROFILE="$profile" >"$logs/make-install.log" 2>&1; then
  bad "make install PREFIX=$prefix:"; tail -n 30 "$logs/make-install.log" | sed 's/^/    /'
  summary; exit 1
fi
ok "make install PREFIX=$prefix"

# ---- layout: the real file, the two links, the archive, every header, the .pc
layout() {
  local rc=0 h
  [ -f "$lib/$so.$version" ] && [ ! -L "$lib/$so.$version" ] || { echo "missing regular file lib/$so.$version"; rc=1; }
  for link in "$so.$major" "$so"; do
    [ "$(readlink "$lib/$link")" = "$so.$version" ] || { echo "lib/$link -> '$(readlink "$lib/$link")', want $so.$version"; rc=1; }
  done
  [ -f "$lib/libkafka_iam_oauth.a" ] || { echo "missing lib/libkafka_iam_oauth.a"; rc=1; }
  for h in include/*.h; do
    cmp "$h" "$prefix/$h" || { echo "include: $h not installed as is"; rc=1; }
  done
  [ -f "$lib/pkgconfig/kafka_iam_oauth.pc" ] || { echo "missing lib/pkgconfig/kafka_iam_oauth.pc"; rc=1; }
  (cd "$prefix" && find . \( -type f -o -type l \) | sort)
  return $rc
}
check layout layout

# ---- SONAME: libkafka_iam_oauth.so.MAJOR, the name the run-time link carries
soname() {
  readelf -d "$lib/$so.$version"
  local got
  got=$(readelf -d "$lib/$so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  echo "SONAME: $got"
  [ "$got" = "$so.$major" ]
}
check soname-is-"$so.$major" soname

# ---- pkg-config: version, relocatable prefix, flags
pkgconfig() {
  cat "$lib/pkgconfig/kafka_iam_oauth.pc"
  local v p libs slibs
  v=$(pc --modversion) && echo "modversion: $v" && [ "$v" = "$version" ] || return 1
  p=$(pc --variable=prefix) && echo "prefix: $p" && [ "$(realpath "$p")" = "$(realpath "$prefix")" ] || return 1
  grep -qx 'prefix=${pcfiledir}/../..' "$lib/pkgconfig/kafka_iam_oauth.pc" || { echo "prefix is not \${pcfiledir}/../.."; return 1; }
  libs=$(pc --libs) && libs=$(echo $libs) && echo "--libs: $libs" || return 1
  [ "$libs" = "-L$lib/pkgconfig/../../lib -lkafka_iam_oauth" ] || { echo "unexpected --libs"; return 1; }
  echo "--cflags: $(pc --cflags)"
  [ -f "$(pc --variable=includedir)/kafka_iam_oauth.h" ] || { echo "includedir has no kafka_iam_oauth.h"; return 1; }
  slibs=$(pc --static --libs) && echo "--static --libs: $slibs" || return 1
  [[ "$slibs" == *-lgcc_s* && "$slibs" == *-lpthread* ]] || { echo "--static --libs lacks Libs.private"; return 1; }
}
check pkg-config pkgconfig

# Libs.private is what rustc says the static library needs (a new native
# dependency must show up in the .pc.in).
libs_private() {
  local want have
  want=$(cargo rustc -q -p kafka-iam-oauth-staticlib $([ "$profile" = release ] && echo --release) \
    -- --print native-static-libs 2>&1 | sed -n 's/.*native-static-libs: //p' | tail -n1)
  have=$(sed -n 's/^Libs.private: //p' capi/kafka_iam_oauth.pc.in)
  echo "rustc native-static-libs: $want"
  echo ".pc.in Libs.private:      $have"
  [ -n "$want" ] && [ "$want" = "$have" ]
}
check libs-private-matches-rustc libs_private

# ---- the C example, built with pkg-config only, run against the broker
example_build() {
  # shellcheck disable=SC2046 # pkg-config output is meant to be split
  gcc -Wall -Wextra -Werror examples/c/produce_consume.c -o "$work/produce_consume" \
    $(pc --cflags --libs) -lrdkafka || return 1
  readelf -d "$work/produce_consume" | grep NEEDED
  readelf -d "$work/produce_consume" | grep -q "NEEDED.*\[$so.$major\]" || { echo "not linked against $so.$major"; return 1; }
  # It loads the installed copy, through the SONAME link.
  LD_LIBRARY_PATH=$lib ldd "$work/produce_consume" | tee "$work/ldd"
  grep -q "$so.$major => $lib/$so.$major " "$work/ldd" || { echo "does not load $lib/$so.$major"; return 1; }
}
check example-builds-with-pkg-config example_build

example_run() {
  [ -x "$work/produce_consume" ] || { echo "not built"; return 1; }
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    AWS_ACCESS_KEY_ID="${KIO_USER_ACCESS_KEY_ID:?source the harness env.sh}" \
    AWS_SECRET_ACCESS_KEY="${KIO_USER_SECRET_ACCESS_KEY:?}" \
    LD_LIBRARY_PATH=$lib timeout 180 "$work/produce_consume"
}
check example-runs-against-broker example_run
grep -h '^C: ' "$logs/example-runs-against-broker.log" | sed 's/^/    /'

# ---- static linking through pkg-config --static
static_link() {
  cat >"$work/static_version.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include "kafka_iam_oauth.h"
/* Linked with libkafka_iam_oauth.a: the version, and a config error from the
 * Rust code (parsing, an owned error object, its message and free). */
int main(void) {
    kafka_iam_oauth_provider *p = NULL;
    kafka_iam_oauth_error *err = NULL;
    if (strcmp(kafka_iam_oauth_version(), KAFKA_IAM_OAUTH_VERSION) != 0) return 1;
    if (kafka_iam_oauth_provider_new("audience=x", NULL, &p, &err) == KAFKA_IAM_OAUTH_OK || !err) return 2;
    printf("%s\n%s\n", kafka_iam_oauth_version(), kafka_iam_oauth_error_message(err));
    kafka_iam_oauth_error_free(err);
    return 0;
}
EOF
  local libs
  libs=$(pc --static --libs) || return 1
  # Both libraries sit in libdir and the linker prefers the .so for
  # -lkafka_iam_oauth; -l: names the archive.
  libs=${libs/-lkafka_iam_oauth/-l:libkafka_iam_oauth.a}
  echo "gcc static_version.c $(pc --cflags) $libs"
  # shellcheck disable=SC2046,SC2086
  gcc -Wall -Wextra -Werror "$work/static_version.c" -o "$work/static_version" $(pc --cflags) $libs || return 1
  readelf -d "$work/static_version" | grep NEEDED
  if readelf -d "$work/static_version" | grep -q 'NEEDED.*libkafka_iam_oauth'; then echo "needs the shared library"; return 1; fi
  # No LD_LIBRARY_PATH: nothing of ours is loaded at run time.
  local out
  out=$("$work/static_version") || { echo "exit $?: $out"; return 1; }
  echo "$out"
  [ "$(head -n1 <<<"$out")" = "$version" ] && grep -q "region" <<<"$out"
}
check static-link-with-pkg-config-static static_link

# ---- exported symbols (the checks are shared with make test-dist)
# shellcheck source=tests/install/symbols.sh
source tests/install/symbols.sh
so_symbols() { kio_so_exports "$lib/$so.$version"; }
check so-exports-only-kafka_iam_oauth-and-conf_init so_symbols
a_symbols() { kio_a_exports "$lib/libkafka_iam_oauth.a"; }
check a-has-no-conf_init-and-only-prefixed-exports a_symbols

# The Python extension, when `make test-python` has installed it (or, before
# that, as maturin's cargo build left it in build/zig-target).
py_ext=$(ls build/venv/lib/python3*/site-packages/kafka_iam_oauth/_native*.so \
  build/zig-target/*/release/lib_native.so build/zig-target/release/lib_native.so 2>/dev/null | head -n1)
if [ -n "$py_ext" ]; then
  py_symbols() { kio_py_exports "$py_ext"; }
  check python-extension-exports-only-PyInit__native py_symbols
else
  echo "install: skip python-extension-exports-only-PyInit__native (no build/venv/.../_native*.so nor build/zig-target/.../lib_native.so; make test-python builds it)"
fi

# ---- DESTDIR staging, LIBDIR outside PREFIX/lib, and uninstall
staged() {
  local stage=$work/stage libdir=/usr/lib/x86_64-linux-gnu
  "$make_cmd" --no-print-directory -s install DESTDIR="$stage" PREFIX=/usr LIBDIR=$libdir INSTALL_PROFILE="$profile" || return 1
  (cd "$stage" && find . \( -type f -o -type l \) | sort)
  [ -f "$stage$libdir/$so.$version" ] && [ -f "$stage/usr/include/kafka_iam_oauth.h" ] || return 1
  grep '^prefix=' "$stage$libdir/pkgconfig/kafka_iam_oauth.pc"
  # The staged .pc points into the staging tree (relative to itself).
  local inc
  inc=$(PKG_CONFIG_PATH="$stage$libdir/pkgconfig" pkg-config --variable=includedir kafka_iam_oauth)
  echo "staged includedir: $inc"
  [ "$(realpath "$inc")" = "$stage/usr/include" ] || return 1
  "$make_cmd" --no-print-directory -s uninstall DESTDIR="$stage" PREFIX=/usr LIBDIR=$libdir || return 1
  local left
  left=$(cd "$stage" && find . \( -type f -o -type l \))
  [ -z "$left" ] || { echo "left after uninstall: $left"; return 1; }
}
check destdir-libdir-and-uninstall staged

uninstall() {
  "$make_cmd" --no-print-directory -s uninstall PREFIX="$prefix" || return 1
  local left
  left=$(cd "$prefix" && find . \( -type f -o -type l \))
  [ -z "$left" ] || { echo "left after uninstall: $left"; return 1; }
}
check uninstall-removes-everything uninstall

summary
