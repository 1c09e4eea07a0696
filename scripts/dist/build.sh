#!/usr/bin/env bash
# Cross-builds the artifacts of one Rust target with zig (scripts/dist/zig-env.sh)
# into $CARGO_TARGET_DIR, and copies them to OUT/:
#   wheel  the abi3 wheel (maturin, via $MATURIN_BUILD from mk/python.mk):
#          OUT/wheels/*.whl, manylinux2014 (glibc targets) or musllinux_1_2
#   clib   libkafka_iam_oauth.so and .a: OUT/clib/<target>/
#   cli    the static `kafka-iam-oauth` (musl targets only): OUT/cli/<target>/
#   jni    the JVM JAR's libkafka_iam_oauth_jni.so (glibc targets):
#          OUT/jni/linux/<arch>/, the layout the JAR carries (mk/jvm.mk)
#   node   the npm tarballs (scripts/node/pack.sh): the platform package
#          kafka-iam-oauth-linux-<x64|arm64>-<gnu|musl> and the main one,
#          OUT/node/*.tgz
# Usage: build.sh TARGET PROFILE OUT PART...
# PROFILE release is what `make dist` ships: the cargo runs take the same
# profile settings as the wheel (pyproject.toml's [tool.maturin] config,
# read from there), so the wheel, the C libraries and the CLI of a target
# share one build of every dependency. dist-test is make test-dist's cheap
# profile (Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:?usage: build.sh TARGET PROFILE OUT PART...} profile=${2:?} out=${3:?}
shift 3
: "${CARGO_TARGET_DIR:?set by make}" "${MATURIN_BUILD:?set by make (mk/python.mk PY_MATURIN)}" "${PY_VENV_BIN:?}"
export PATH=$PY_VENV_BIN:$PATH
# shellcheck source=scripts/dist/zig-env.sh
source scripts/dist/zig-env.sh "$target"
# maturin passes pyproject.toml's [tool.maturin] config to cargo; the cargo
# runs here pass the same, or they would compile every dependency again.
mapfile -t cfg < <(python3 -c 'import tomllib
for c in tomllib.load(open("pyproject.toml", "rb"))["tool"]["maturin"].get("config", []): print("--config=" + c)')
from=$CARGO_TARGET_DIR/$target/$profile
for part in "$@"; do
  t0=$(date +%s)
  case "$part" in
    wheel)
      compat=manylinux2014; [[ "$target" == *-musl ]] && compat=musllinux_1_2
      mkdir -p "$out/wheels"
      rm -f "$out"/wheels/kafka_iam_oauth-*"${compat}_${target%%-*}"*.whl
      # shellcheck disable=SC2086 # MATURIN_BUILD is a command line
      $MATURIN_BUILD --profile "$profile" --target "$target" --compatibility "$compat" -o "$out/wheels"
      if [[ "$target" == *-musl ]]; then
        # zig's musl names libc `libc.so` in the extension's NEEDED; musl
        # distributions (Alpine) name it libc.musl-<arch>.so.1, the name
        # auditwheel's musllinux policy allows. musl's loader takes both as
        # itself; the wheel gets the distributions' name, and RECORD is
        # rewritten by `wheel pack`.
        whl=$(ls "$out"/wheels/kafka_iam_oauth-*"${compat}_${target%%-*}".whl)
        tmp=$(mktemp -d "${TMPDIR:-/tmp}/kio-wheel.XXXXXX")
        wheel unpack -d "$tmp" "$whl" >/dev/null
        patchelf --replace-needed libc.so "libc.musl-${target%%-*}.so.1" "$tmp"/*/kafka_iam_oauth/_native*.so
        rm -f "$whl"
        wheel pack -d "$out/wheels" "$tmp"/kafka_iam_oauth-* >/dev/null
        rm -rf "$tmp"
      fi ;;
    clib)
      cargo build -q "${cfg[@]}" --profile "$profile" --target "$target" -p kafka-iam-oauth-cdylib
      # The .a, with what rustc says a program linking it needs (the .pc's
      # Libs.private for this target).
      mkdir -p "$out/clib/$target"
      cargo rustc "${cfg[@]}" --profile "$profile" --target "$target" -p kafka-iam-oauth-staticlib \
        -- --print native-static-libs 2>&1 | tee "$out/clib/$target/rustc.log" |
        sed -n 's/.*native-static-libs: //p' | tail -n1 >"$out/clib/$target/native-static-libs"
      [ -s "$out/clib/$target/native-static-libs" ] || { tail -n 30 "$out/clib/$target/rustc.log" >&2; exit 1; }
      cp -f "$from/libkafka_iam_oauth.so" "$from/libkafka_iam_oauth.a" "$out/clib/$target/" ;;
    cli)
      [[ "$target" == *-musl ]] || { echo "build.sh: the CLI is built for musl targets only" >&2; exit 2; }
      if [ ! -f cli/Cargo.toml ]; then echo "build.sh: no cli/ crate yet; CLI skipped"; continue; fi
      # Static: +crt-static for this final link only; the dependencies stay
      # compiled as for the musl .so and the wheel (-crt-static, zig-env.sh).
      cargo rustc -q "${cfg[@]}" --profile "$profile" --target "$target" -p kafka-iam-oauth-cli --bin kafka-iam-oauth \
        -- -C target-feature=+crt-static
      mkdir -p "$out/cli/$target"
      cp -f "$from/kafka-iam-oauth" "$out/cli/$target/" ;;
    jni)
      [[ "$target" == *-gnu ]] || { echo "build.sh: the JNI library is built for glibc targets only" >&2; exit 2; }
      cargo build -q "${cfg[@]}" --profile "$profile" --target "$target" -p kafka-iam-oauth-jvm
      mkdir -p "$out/jni/linux/${target%%-*}"
      # -p: the build's time, so make packages dist-test's JAR again only
      # when the library was rebuilt (mk/dist.mk).
      cp -fp "$from/libkafka_iam_oauth_jni.so" "$out/jni/linux/${target%%-*}/" ;;
    node)
      # The npm platform package kafka-iam-oauth-<os>-<cpu>-<libc> and the
      # main package (scripts/node/pack.sh): OUT/node/*.tgz.
      cargo build -q "${cfg[@]}" --profile "$profile" --target "$target" -p kafka-iam-oauth-node
      arch=${target%%-*} libc=${target##*-}
      npm_target=linux-$([ "$arch" = aarch64 ] && echo arm64 || echo x64)-$libc
      addon=$from/libkafka_iam_oauth_node.so
      if [[ "$target" == *-musl ]]; then
        # As for the wheel: musl distributions name libc libc.musl-<arch>.so.1.
        cp -f "$addon" "$from/libkafka_iam_oauth_node.musl.so"
        addon=$from/libkafka_iam_oauth_node.musl.so
        patchelf --replace-needed libc.so "libc.musl-$arch.so.1" "$addon"
      fi
      strip_cmd=strip; [ "$arch" = aarch64 ] && strip_cmd=aarch64-linux-gnu-strip
      scripts/node/pack.sh "$addon" "$npm_target" "$out/node" "$strip_cmd" ;;
    *) echo "build.sh: unknown part $part" >&2; exit 2 ;;
  esac
  echo "build.sh: $target $profile $part: $(($(date +%s) - t0)) s"
done
