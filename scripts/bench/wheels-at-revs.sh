#!/usr/bin/env bash
# Release wheels of git revisions, each installed into its own venv, for
# side-by-side benchmarks (make bench-python-revs).
# Usage: wheels-at-revs.sh OUT MATURIN REV...   (prints one venv dir per REV)
# Each REV is checked out in OUT/<n>-src (a detached worktree); all share
# OUT/target, so only the workspace's own crates are compiled per REV. Their
# sources are touched first: a checkout's file times predate the previous
# REV's outputs, and cargo would take that REV's crates as up to date.
set -euo pipefail
out=$(mkdir -p "$1" && cd "$1" && pwd) maturin=$2; shift 2
i=0
for rev in "$@"; do
  i=$((i + 1)); src=$out/$i-src
  git worktree remove --force "$src" 2>/dev/null || rm -rf "$src"
  git worktree add -q --detach "$src" "$rev" >&2
  find "$src" -type f \( -name '*.rs' -o -name Cargo.toml -o -name '*.py' \) -print0 | xargs -0 touch
  rm -rf "$out/$i-wheel" "$out/$i-venv"
  wrap=; [ -x "$src/scripts/packages/maturin.sh" ] && wrap=$src/scripts/packages/maturin.sh
  t0=$(date +%s)
  (cd "$src" && CARGO_TARGET_DIR=$out/target $wrap "$maturin" build --release --strip -o "$out/$i-wheel" \
     >"$out/$i-build.log" 2>&1) || { tail -n 30 "$out/$i-build.log" >&2; exit 1; }
  python3 -m venv "$out/$i-venv"
  "$out/$i-venv/bin/pip" install -q --no-deps "$out/$i-wheel"/*.whl
  echo "wheels-at-revs.sh: $rev ($(git rev-parse --short "$rev")) in $(($(date +%s) - t0)) s" >&2
  echo "$out/$i-venv"
done
