#!/usr/bin/env bash
# The Python sdist installed the way pip installs it where no wheel fits
# (issue 22; docs/dist.md): `sdist.sh build` makes the sdist with maturin
# into build/packages/sdist/ and `pip install`s it into a fresh venv
# (build/packages/sdist-venv), from /tmp, so nothing comes from the checkout:
# pip fetches maturin from PyPI (build isolation) and cargo builds the
# extension in release from the sdist's sources, offline against the
# registry cache. No broker: run-tests.sh builds it in the background
# (PREP_TARGETS). `sdist.sh test` (test-sdist, late) checks the sdist's
# contents and that the installed package imports from the venv and mints
# against the emulator, as the module and as the console script.
# SDIST_PROFILE=dev (make test's default) builds the extension in the dev
# profile in the shared target directory, where `make build` already built
# every dependency: a release build from scratch (what a user's pip install
# does) took 1002 s on this 2-core machine. SDIST_PROFILE=release builds it
# as a user would, in build/packages/sdist-target (kept between runs).
set -uo pipefail
cd "$(dirname "$0")/../.."
mode=${1:?usage: sdist.sh build|test}
version=${KIO_VERSION:?set by make}
root=$(pwd)
out=$root/build/packages/sdist venv=$root/build/packages/sdist-venv
sdist=$out/kafka_iam_oauth-$version.tar.gz
py=${PY:-build/venv/bin/python}

if [ "$mode" = build ]; then
  set -e
  t0=$(date +%s)
  rm -rf "$out" "$venv"
  mkdir -p "$out"
  scripts/packages/maturin.sh "$(dirname "$py")/maturin" sdist -o "$out" >"$out/sdist.log" 2>&1 || { cat "$out/sdist.log" >&2; exit 1; }
  python3 -m venv "$venv"
  if [ "${SDIST_PROFILE:-dev}" = release ]; then build_env=(CARGO_TARGET_DIR="$root/build/packages/sdist-target")
  else build_env=(CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}" MATURIN_PEP517_ARGS="--profile ${SDIST_PROFILE:-dev}"); fi
  (cd /tmp && env "${build_env[@]}" CARGO_NET_OFFLINE=true "$venv/bin/python" -m pip install -q "$sdist") >"$out/pip.log" 2>&1 || { tail -n 40 "$out/pip.log" >&2; exit 1; }
  echo "sdist.sh: built $(basename "$sdist") ($(du -k "$sdist" | cut -f1) KiB) and pip-installed it (profile ${SDIST_PROFILE:-dev}) into $venv: $(( $(date +%s) - t0 )) s"
  exit 0
fi

export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_ACCESS_KEY_ID=${KIO_USER_ACCESS_KEY_ID:?source the harness env.sh} AWS_SECRET_ACCESS_KEY=${KIO_USER_SECRET_ACCESS_KEY:?}
config="region=eu-west-1,audience=${KIO_AUDIENCE:?},sts_endpoint=${KIO_EMULATOR_URL:?}"
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*" >&2; fail=$((fail + 1)); }
issued() { curl -fsS "$KIO_EMULATOR_URL/_emulator/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens_issued"])'; }

if [ -f "$sdist" ]; then
  list=$(tar -tzf "$sdist" | sed "s|^kafka_iam_oauth-$version/||")
  # What builds the wheel: the manifests and lock, the Rust sources of the
  # extension and the crates it builds on, the Python package, the readme
  # and licence, the third-party licences and SBOM its wheels carry
  # (scripts/packages/maturin.sh). No tests, harness, fuzz corpora,
  # examples, C or Go.
  stray=$(grep -vE '^(|Cargo\.(toml|lock)|pyproject\.toml|PKG-INFO|LICENSE|build/wheel-licences/(THIRD-PARTY-LICENSES\.txt|sbom\.cdx\.json)|README\.md|docs/python\.md|(bindings/python/|cli/|emulator/)?Cargo\.toml|(bindings/python/|cli/|emulator/)?src/.*\.rs|cli/(LICENSE|cli\.md)|emulator/README\.md|python/kafka_iam_oauth/[a-z_]+\.(py|pyi|typed))$' <<<"$list" || true)
  [ -z "$stray" ] && ok "sdist: $(wc -l <<<"$list") entries, $(du -k "$sdist" | cut -f1) KiB, only what builds the wheel" ||
    bad "sdist: files that do not build the wheel: $(tr '\n' ' ' <<<"$stray")"
  grep -qx build/wheel-licences/THIRD-PARTY-LICENSES.txt <<<"$list" && grep -qx build/wheel-licences/sbom.cdx.json <<<"$list" &&
    ok "sdist: holds the third-party licences and SBOM (build/wheel-licences/)" ||
    bad "sdist: no build/wheel-licences/THIRD-PARTY-LICENSES.txt or sbom.cdx.json"
else bad "no $sdist (make sdist-install-build)"; fi

if [ -x "$venv/bin/python" ]; then
  before=$(issued)
  out_py=$(cd /tmp && "$venv/bin/python" -c '
import sys, time, kafka_iam_oauth
assert kafka_iam_oauth.__file__.startswith(sys.argv[2]), kafka_iam_oauth.__file__
assert kafka_iam_oauth.__version__ == sys.argv[3], kafka_iam_oauth.__version__
token, expiry, principal, _ = kafka_iam_oauth.oauth_cb(sys.argv[1])
assert token.count(".") == 2 and expiry > time.time()
print(principal, kafka_iam_oauth.__file__)' "$config" "$venv" "$version" 2>&1)
  after=$(issued)
  if grep -qF "$KIO_USER_ARN" <<<"$out_py" && [ "$after" -gt "$before" ]; then
    ok "the sdist's install imports from the venv and mints as $KIO_USER_ARN (emulator tokens_issued $before -> $after)"
  else bad "mint from the sdist's install: $out_py"; fi
  # The wheel pip built from the sdist carries them in .dist-info/licenses/.
  lic=$(python3 scripts/packages/check-wheel-licences.py "$venv"/lib/python3*/site-packages/kafka_iam_oauth-"$version".dist-info Cargo.lock 2>&1) &&
    ok "the sdist's install: $lic" || bad "the sdist's install: $lic"
  who=$(cd /tmp && "$venv/bin/kafka-iam-oauth" --config "$config" whoami 2>&1)
  grep -qF "$KIO_USER_ARN" <<<"$who" && ok "the console script kafka-iam-oauth whoami: $KIO_USER_ARN" ||
    bad "kafka-iam-oauth whoami from the sdist's venv: $who"
else bad "no venv at $venv (make sdist-install-build)"; fi

echo "test-sdist: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
