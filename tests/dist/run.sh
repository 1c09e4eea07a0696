#!/usr/bin/env bash
# make test-dist: the cross-built release artifacts work on the machines
# they are for, run here under qemu-user (no binfmt_misc: qemu-aarch64-static
# is called directly, -L naming the arm64 Debian root for the loader and
# libraries) against the harness's emulator and broker on loopback:
#   - the manylinux2014_aarch64 wheel: auditwheel show, size budget,
#     exports; arm64 CPython (Debian's, under qemu) imports it and oauth_cb
#     mints a token;
#   - the aarch64-unknown-linux-gnu C tarball: layout, SONAME, exports,
#     pkg-config (relocatable, Libs.private = rustc's for the target);
#     examples/c built with gcc-aarch64-linux-gnu through pkg-config, run
#     under qemu against the broker; a program linked statically through
#     `pkg-config --static` mints under qemu;
#   - the static musl CLI: `kafka-iam-oauth token` on x86_64, and its
#     arm64 twin under qemu;
#   - the musllinux_1_2_x86_64 wheel: auditwheel show, budget, exports
#     (no musl CPython can be had from the registries this project uses, so
#     it is not imported here; docs/dist.md);
#   - the npm packages: linux-arm64-gnu loaded by Debian's arm64 Node under
#     qemu and minting; linux-x64-musl's fields, NEEDED and exports;
#   - the JVM JAR with the aarch64 JNI library: its exports
#     (tests/java/check-jar.sh), and Debian's arm64 OpenJDK 17 under qemu
#     loading it from the JAR (no library path) and minting (LoadCheck).
# Artifacts from `make dist-test-build` (mk/dist.mk) in $DIST_OUT; env:
# KIO_VERSION, DIST_OUT, DIST_ARM64_ROOT, DIST_TEST_WHEEL_BUDGET_KIB, and
# the harness's env.sh loaded. One summary line; non-zero when a check failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
version=${KIO_VERSION:?} out=${DIST_OUT:?} aroot=$(cd "${DIST_ARM64_ROOT:?}" && pwd)
budget=${DIST_TEST_WHEEL_BUDGET_KIB:?}
major=${version%%.*}
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_ACCESS_KEY_ID=${KIO_USER_ACCESS_KEY_ID:?source the harness env.sh} AWS_SECRET_ACCESS_KEY=${KIO_USER_SECRET_ACCESS_KEY:?}
config="region=eu-west-1,audience=${KIO_AUDIENCE:?},sts_endpoint=${KIO_EMULATOR_URL:?}"
# Bounds: a mint under qemu (arm64 CPython start, import, TLS-free STS call)
# and the C example's produce/consume round trip under qemu.
QEMU_MINT_TIMEOUT=120
QEMU_EXAMPLE_TIMEOUT=300
# The arm64 JVM's start (class loading and JIT all emulated), load and mint.
QEMU_JVM_TIMEOUT=300
qemu=qemu-aarch64-static
tag=$(basename "${KIO_RUN_DIR:-harness}" | tr -c 'A-Za-z0-9_\n-' '_')
logs=$(mkdir -p "build/dist/logs/$tag" && cd "build/dist/logs/$tag" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/kio-dist.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/install/symbols.sh
source tests/install/symbols.sh

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "dist: ok   $*"; }
bad() { failed=$((failed + 1)); echo "dist: FAIL $*"; }
check() {
  local name=$1; shift
  if "$@" >"$logs/$name.log" 2>&1; then ok "$name"; else
    bad "$name (build/dist/logs/$tag/$name.log):"; tail -n 25 "$logs/$name.log" | sed 's/^/    /'
  fi
}
# The emulator's count of issued tokens: every mint below must raise it.
issued() { curl -fsS "$KIO_EMULATOR_URL/_emulator/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens_issued"])'; }
# minted_by CMD...: CMD succeeds, prints the user's principal, and the
# emulator issued a token meanwhile.
minted_by() {
  local before after output
  before=$(issued) || return 1
  output=$("$@") || { echo "exit $?: $output"; return 1; }
  echo "$output"
  after=$(issued) || return 1
  echo "emulator tokens_issued: $before -> $after"
  grep -qF "$KIO_USER_ARN" <<<"$output" || { echo "no $KIO_USER_ARN in the output"; return 1; }
  [ "$after" -gt "$before" ]
}

# ---- the arm64 wheel
whl_arm=$(ls "$out"/wheels/kafka_iam_oauth-"$version"-*manylinux2014_aarch64*.whl 2>/dev/null | head -n1)
check wheel-aarch64-auditwheel-budget-exports scripts/dist/check-wheel.sh "${whl_arm:-missing manylinux2014_aarch64 wheel}" "$budget"
python3 -m zipfile -e "${whl_arm:-/dev/null}" "$work/whl-arm64" 2>/dev/null
arm_python() {
  [ -d "$work/whl-arm64/kafka_iam_oauth" ] || { echo "no unpacked wheel"; return 1; }
  PYTHONPATH=$work/whl-arm64 timeout "$QEMU_MINT_TIMEOUT" "$qemu" -L "$aroot" "$aroot/usr/bin/python3" -c '
import platform, sys, time
import kafka_iam_oauth
native = sys.modules["kafka_iam_oauth._native"].__file__
assert platform.machine() == "aarch64", platform.machine()
assert native.startswith(sys.argv[2]), native
token, expiry, principal, extensions = kafka_iam_oauth.oauth_cb(sys.argv[1])
assert token.count(".") == 2 and expiry > time.time(), expiry
print(platform.machine(), sys.version.split()[0], kafka_iam_oauth.__version__, native)
print("oauth_cb:", principal, "expires in", round(expiry - time.time()), "s")
' "$config" "$work/whl-arm64"
}
check wheel-aarch64-imports-and-mints-under-qemu minted_by arm_python

# ---- the arm64 C tarball
tgz=$out/kafka-iam-oauth-$version-aarch64-unknown-linux-gnu.tar.gz
tar -C "$work" -xzf "$tgz" 2>/dev/null
top=$work/kafka-iam-oauth-$version-aarch64-unknown-linux-gnu
lib=$top/lib
pc() { PKG_CONFIG_PATH="$lib/pkgconfig" pkg-config "$@" kafka_iam_oauth; }
layout() {
  local h rc=0
  [ -f "$tgz" ] || { echo "no $tgz"; return 1; }
  (cd "$top" && find . | sort)
  [ -f "$lib/libkafka_iam_oauth.so.$version" ] || { echo "no lib/libkafka_iam_oauth.so.$version"; rc=1; }
  for link in libkafka_iam_oauth.so.$major libkafka_iam_oauth.so; do
    [ "$(readlink "$lib/$link")" = "libkafka_iam_oauth.so.$version" ] || { echo "lib/$link is not a link to the library"; rc=1; }
  done
  for h in include/*.h; do cmp "$h" "$top/$h" || rc=1; done
  for f in lib/libkafka_iam_oauth.a lib/pkgconfig/kafka_iam_oauth.pc LICENSE README.md; do
    [ -s "$top/$f" ] || { echo "no $f"; rc=1; }
  done
  readelf -h "$lib/libkafka_iam_oauth.so.$version" | grep -q 'AArch64' || { echo "not an AArch64 library"; rc=1; }
  readelf -d "$lib/libkafka_iam_oauth.so.$version" | grep SONAME
  readelf -d "$lib/libkafka_iam_oauth.so.$version" | grep -q "SONAME.*\[libkafka_iam_oauth.so.$major\]" || rc=1
  return $rc
}
check c-aarch64-tarball-layout-and-soname layout
so_exports() { NM=aarch64-linux-gnu-nm kio_so_exports "$lib/libkafka_iam_oauth.so.$version"; }
check c-aarch64-so-exports so_exports
a_exports() { NM=aarch64-linux-gnu-nm kio_a_exports "$lib/libkafka_iam_oauth.a"; }
check c-aarch64-a-exports a_exports
pkgconfig() {
  cat "$lib/pkgconfig/kafka_iam_oauth.pc"
  [ "$(pc --modversion)" = "$version" ] || { echo "modversion is not $version"; return 1; }
  [ "$(realpath "$(pc --variable=prefix)")" = "$(realpath "$top")" ] || { echo "prefix is not where it was unpacked"; return 1; }
  local want have
  want=$(cat "$out/clib/aarch64-unknown-linux-gnu/native-static-libs")
  have=$(sed -n 's/^Libs.private: //p' "$lib/pkgconfig/kafka_iam_oauth.pc")
  echo "rustc native-static-libs: $want"; echo "Libs.private:            $have"
  echo "--static --libs: $(pc --static --libs)"
  [ -n "$want" ] && [ "$want" = "$have" ]
}
check c-aarch64-pkg-config pkgconfig

# The C example: arm64 librdkafka's headers and library from the arm64 root.
mkdir -p "$work/rdinc" && ln -s "$aroot/usr/include/librdkafka" "$work/rdinc/librdkafka"
arm_libs=$aroot/usr/lib/aarch64-linux-gnu:$aroot/lib/aarch64-linux-gnu
example_build() {
  # shellcheck disable=SC2046 # pkg-config output is meant to be split
  aarch64-linux-gnu-gcc -Wall -Wextra -Werror examples/c/produce_consume.c -o "$work/produce_consume" \
    $(pc --cflags --libs) -I"$work/rdinc" "$aroot/usr/lib/aarch64-linux-gnu/librdkafka.so.1" \
    -Wl,-rpath-link,"$arm_libs" || return 1
  readelf -h "$work/produce_consume" | grep Machine
  readelf -d "$work/produce_consume" | grep NEEDED
  readelf -d "$work/produce_consume" | grep -q "NEEDED.*\[libkafka_iam_oauth.so.$major\]"
}
check c-example-aarch64-builds-with-pkg-config example_build
example_run() {
  [ -x "$work/produce_consume" ] || { echo "not built"; return 1; }
  LD_LIBRARY_PATH=$lib timeout "$QEMU_EXAMPLE_TIMEOUT" "$qemu" -L "$aroot" "$work/produce_consume" || return 1
}
check c-example-aarch64-runs-under-qemu minted_by example_run
grep -h '^C: ' "$logs/c-example-aarch64-runs-under-qemu.log" | sed 's/^/    /'

static_build() {
  local libs
  libs=$(pc --static --libs) || return 1
  # Both libraries sit in lib/ and the linker prefers the .so for
  # -lkafka_iam_oauth; -l: names the archive.
  libs=${libs/-lkafka_iam_oauth/-l:libkafka_iam_oauth.a}
  echo "aarch64-linux-gnu-gcc static_token.c $(pc --cflags) $libs"
  # shellcheck disable=SC2046,SC2086
  aarch64-linux-gnu-gcc -Wall -Wextra -Werror tests/dist/static_token.c -o "$work/static_token" $(pc --cflags) $libs || return 1
  readelf -d "$work/static_token" | grep NEEDED
  ! readelf -d "$work/static_token" | grep -q 'NEEDED.*libkafka_iam_oauth'
}
check c-aarch64-static-link-with-pkg-config-static static_build
static_run() {
  [ -x "$work/static_token" ] || { echo "not built"; return 1; }
  timeout "$QEMU_MINT_TIMEOUT" "$qemu" -L "$aroot" "$work/static_token" "$config"
}
check c-aarch64-static-program-mints-under-qemu minted_by static_run

# ---- the x86_64 musl C tarball (make dist builds it; make test-dist does
# not): a program built with Debian's musl-gcc through pkg-config against
# the unpacked tarball runs on musl's own loader here and mints.
mtgz=$out/kafka-iam-oauth-$version-x86_64-unknown-linux-musl.tar.gz
if [ -f "$mtgz" ]; then
  tar -C "$work" -xzf "$mtgz"
  mtop=$work/kafka-iam-oauth-$version-x86_64-unknown-linux-musl
  mpc() { PKG_CONFIG_PATH="$mtop/lib/pkgconfig" pkg-config "$@" kafka_iam_oauth; }
  musl_shared() {
    # shellcheck disable=SC2046 # pkg-config output is meant to be split
    musl-gcc -Wall -Wextra -Werror tests/dist/static_token.c -o "$work/musl_shared" $(mpc --cflags --libs) || return 1
    readelf -lW "$work/musl_shared" | grep -o 'interpreter: [^]]*'
    readelf -d "$work/musl_shared" | grep NEEDED
    LD_LIBRARY_PATH=$mtop/lib "$work/musl_shared" "$config"
  }
  check c-x86_64-musl-shared-library-mints minted_by musl_shared
  # No static link here: Libs.private names -lgcc_s (rustc's
  # native-static-libs for musl), which Alpine's gcc has and Debian's
  # musl-gcc does not.
  musl_exports() { kio_so_exports "$mtop/lib/libkafka_iam_oauth.so.$version" && kio_a_exports "$mtop/lib/libkafka_iam_oauth.a"; }
  check c-x86_64-musl-exports musl_exports
else
  echo "dist: skip c-x86_64-musl-* (no $mtgz: make dist builds it, make test-dist-full tests it)"
fi

# ---- the static musl CLI, x86_64 and arm64
for t in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
  cli=$out/cli/$t/kafka-iam-oauth
  if [ ! -f cli/Cargo.toml ]; then echo "dist: skip cli-$t (no cli/ crate yet)"; continue; fi
  if [[ "$t" == aarch64-* && "${DIST_TEST_ARM64_CLI:-yes}" != yes ]]; then
    echo "dist: skip cli-$t (DIST_TEST_ARM64_CLI=no)"; continue
  fi
  cli_static() { kio_static_exe "$cli" && readelf -h "$cli" | grep Machine; }
  check "cli-$t-is-static" cli_static
  run=("$cli"); [[ "$t" == aarch64-* ]] && run=("$qemu" "$cli")
  cli_token() { KAFKA_IAM_OAUTH_CONFIG=$config timeout "$QEMU_MINT_TIMEOUT" "${run[@]}" --json token; }
  check "cli-$t-token" minted_by cli_token
done

# ---- the x86_64 musllinux wheel
whl_musl=$(ls "$out"/wheels/kafka_iam_oauth-"$version"-*musllinux_1_2_x86_64*.whl 2>/dev/null | head -n1)
check wheel-musllinux-x86_64-auditwheel-budget-exports scripts/dist/check-wheel.sh "${whl_musl:-missing musllinux_1_2_x86_64 wheel}" "$budget"
echo "dist: note: the musllinux wheel is not imported: no musl CPython is available from Debian, PyPI or the other registries reachable here"

# ---- the npm packages (scripts/dist/build.sh's node part): the arm64
# glibc one loaded by Debian's arm64 Node under qemu and minting; the
# x86_64 musl one checked for what it is (no musl Node can be had from
# Debian or npm here).
node_unpack() { # TGZ: unpacked as node_modules/<its package name>
  local d name
  d=$(mktemp -d "$work/tgz.XXXXXX") && tar -xzf "$1" -C "$d" || return 1
  name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "$d/package/package.json") || return 1
  mkdir -p "$work/node/node_modules" && rm -rf "$work/node/node_modules/$name" && mv "$d/package" "$work/node/node_modules/$name"
}
node_main=$out/node/kafka-iam-oauth-$version.tgz
node_arm=$out/node/kafka-iam-oauth-linux-arm64-gnu-$version.tgz
if [ -f "$node_main" ] && [ -f "$node_arm" ] && [ -x "$aroot/usr/bin/node" ]; then
  node_unpack "$node_main" && node_unpack "$node_arm"
  arm_node() {
    (cd "$work/node" && KIO_CONFIG=$config timeout "$QEMU_MINT_TIMEOUT" "$qemu" -L "$aroot" "$aroot/usr/bin/node" -e '
const kio = require("kafka-iam-oauth")
const addon = require.resolve("kafka-iam-oauth-linux-arm64-gnu")
if (process.arch !== "arm64" || kio.platformTarget() !== "linux-arm64-gnu") throw new Error(`${process.arch} ${kio.platformTarget()}`)
new kio.TokenProvider(process.env.KIO_CONFIG).token().then(
  (t) => console.log(process.arch, process.version, kio.version, addon, "token:", t.principal, "expires in", Math.round((t.lifetime - Date.now()) / 1000), "s"),
  (e) => { console.error(e); process.exit(1) })')
  }
  check npm-linux-arm64-gnu-loads-and-mints-under-qemu minted_by arm_node
else
  echo "dist: skip npm-linux-arm64-gnu (no $node_arm, $node_main or arm64 node: make dist-test-build builds them)"
fi
node_musl=$out/node/kafka-iam-oauth-linux-x64-musl-$version.tgz
if [ -f "$node_musl" ]; then
  node_unpack "$node_musl"
  musl_addon=$work/node/node_modules/kafka-iam-oauth-linux-x64-musl/kafka-iam-oauth.linux-x64-musl.node
  npm_musl() {
    python3 - "$work/node/node_modules/kafka-iam-oauth-linux-x64-musl/package.json" <<'PY' || return 1
import json, sys
p = json.load(open(sys.argv[1]))
assert (p["os"], p["cpu"], p["libc"]) == (["linux"], ["x64"], ["musl"]), p
print(p["name"], p["version"], p["main"])
PY
    readelf -h "$musl_addon" | grep -q 'X86-64' || { echo "not x86-64"; return 1; }
    readelf -d "$musl_addon" | grep NEEDED
    readelf -d "$musl_addon" | grep -q 'libc.musl-x86_64.so.1' || { echo "no libc.musl-x86_64.so.1 in NEEDED"; return 1; }
    extra=$(nm -D --defined-only "$musl_addon" | awk '{print $NF}' | grep -vx -e napi_register_module_v1 -e node_api_module_get_api_version_v1)
    [ -z "$extra" ] || { echo "exports beyond Node-API's: $extra"; return 1; }
  }
  check npm-linux-x64-musl-structure npm_musl
  echo "dist: note: the musl npm package is not loaded: no musl Node is available from Debian, npm or the other registries reachable here"
else
  echo "dist: skip npm-linux-x64-musl (no $node_musl)"
fi

# ---- the JVM JAR with the aarch64 JNI library (dist-test-build's
# dist-test-jar; make dist's, with both libraries, for test-dist-full): the
# arm64 JVM from the arm64 root loads the library out of the JAR and a
# TokenProvider mints. LoadCheck is compiled here by the host's
# javac (the arm64 root has a JRE: no compiler, and javac under qemu is slow).
jar=$out/jvm-target/kafka-iam-oauth-$version.jar
arm_java=$aroot/usr/lib/jvm/java-17-openjdk-arm64/bin/java
if [ -f "$jar" ] && [ -x "$arm_java" ]; then
  check jar-aarch64-exports tests/java/check-jar.sh "$jar" aarch64
  jvm_mint() {
    mkdir -p "$work/jvm" && javac -d "$work/jvm" -cp "$jar" --release 17 tests/java/LoadCheck.java || return 1
    # -XX:TieredStopAtLevel=1: C1 only, less JIT work under emulation.
    timeout "$QEMU_JVM_TIMEOUT" "$qemu" -L "$aroot" "$arm_java" -XX:TieredStopAtLevel=1 \
      -Djava.library.path=/nonexistent -cp "$jar:$work/jvm" LoadCheck "$config" || return 1
  }
  check jar-aarch64-loads-and-mints-under-qemu minted_by jvm_mint
  grep -h '^load-check: ' "$logs/jar-aarch64-loads-and-mints-under-qemu.log" | sed 's/^/    /'
else
  # Both are made by dist-test-build (make dist's dist-jvm for test-dist-full):
  # missing is a failure, not a skip.
  bad "jar-aarch64: no $jar or no $arm_java (make dist-test-build makes both)"
fi

echo "dist: $passed passed, $failed failed (cross-built profile ${DIST_PROFILE:-dist-test}; logs in build/dist/logs/$tag)"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
