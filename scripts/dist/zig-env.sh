# shellcheck shell=bash
# Sourced: `source scripts/dist/zig-env.sh RUST_TARGET`. Sets up zig (the
# PyPI package ziglang, in the Python venv whose bin/ is first on PATH) as
# the C compiler, archiver and linker for RUST_TARGET, the way `maturin
# build --zig` does, but through wrapper scripts at a fixed path
# (build/dist/zig/). maturin keeps these variables when they are already set
# (cargo-zigbuild's add_env_if_missing), so maturin's own cargo run and the
# plain cargo runs that build the C libraries and the CLI see the same
# environment and share every compiled dependency in one target directory.
# glibc targets link against glibc 2.17 (manylinux2014: CentOS 7, Amazon
# Linux 2 and everything newer); musl targets against zig's musl 1.2.
_kio_target=${1:?usage: source scripts/dist/zig-env.sh RUST_TARGET}
_kio_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
case "$_kio_target" in
  x86_64-unknown-linux-gnu | aarch64-unknown-linux-gnu) _kio_zig=${_kio_target%%-*}-linux-gnu.2.17 ;;
  x86_64-unknown-linux-musl | aarch64-unknown-linux-musl) _kio_zig=${_kio_target%%-*}-linux-musl ;;
  *) echo "zig-env.sh: unsupported target $_kio_target" >&2; return 1 ;;
esac
_kio_dir=$_kio_root/build/dist/zig
mkdir -p "$_kio_dir"
command -v maturin >/dev/null || { echo "zig-env.sh: no maturin on PATH (the venv's bin/ goes first)" >&2; return 1; }
# `maturin zig cc` is cargo-zigbuild's driver: it drops the linker arguments
# zig does not take and maps glibc versions; -fno-sanitize=all because zig
# turns UBSan on for unoptimized C.
for _kio_tool in cc c++; do
  _kio_w=$_kio_dir/zig$_kio_tool-$_kio_target.sh
  printf '#!/bin/sh\nexec "%s" zig %s -- -fno-sanitize=all -target %s "$@"\n' \
    "$(command -v maturin)" "$_kio_tool" "$_kio_zig" >"$_kio_w.tmp"
  chmod +x "$_kio_w.tmp"
  cmp -s "$_kio_w.tmp" "$_kio_w" && rm -f "$_kio_w.tmp" || mv -f "$_kio_w.tmp" "$_kio_w"
done
for _kio_tool in ar ranlib; do
  _kio_w=$_kio_dir/zig$_kio_tool.sh
  printf '#!/bin/sh\nexec "%s" -m ziglang %s "$@"\n' "$(command -v python3)" "$_kio_tool" >"$_kio_w.tmp"
  chmod +x "$_kio_w.tmp"
  cmp -s "$_kio_w.tmp" "$_kio_w" && rm -f "$_kio_w.tmp" || mv -f "$_kio_w.tmp" "$_kio_w"
done
_kio_env=${_kio_target//-/_}
export "CC_$_kio_env=$_kio_dir/zigcc-$_kio_target.sh"
export "CXX_$_kio_env=$_kio_dir/zigc++-$_kio_target.sh"
export "AR_$_kio_env=$_kio_dir/zigar.sh"
export "RANLIB_$_kio_env=$_kio_dir/zigranlib.sh"
export "CARGO_TARGET_${_kio_env^^}_LINKER=$_kio_dir/zigcc-$_kio_target.sh"
# No CMake in the build; set so that maturin writes no toolchain file of its own.
export "CMAKE_TOOLCHAIN_FILE_$_kio_env=/dev/null"
# musl: the Python extension and libkafka_iam_oauth.so link musl's libc.so
# (what maturin passes for a musl cdylib, given here so that every cargo run
# compiles the dependencies alike); the static CLI adds +crt-static at its
# own final link only (scripts/dist/build.sh).
case "$_kio_target" in
  *-musl) export CARGO_ENCODED_RUSTFLAGS=$'-C\x1ftarget-feature=-crt-static' ;;
  *) unset CARGO_ENCODED_RUSTFLAGS ;;
esac
unset _kio_target _kio_root _kio_zig _kio_dir _kio_tool _kio_w _kio_env
