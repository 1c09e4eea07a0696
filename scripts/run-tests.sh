#!/usr/bin/env bash
# Runs each suite given as a make target with the emulator + broker up,
# keeps going after a failure, prints a summary and fails if any suite did.
#
# Some suites need tools and builds that need no broker (cargo-deny,
# cargo-fuzz and the fuzz targets: minutes of compiling on a fresh machine).
# Those are built in the background while the first suites run (several of
# which mostly wait out token lifetimes), and the suites that use them run
# after the others, once the background build is done; test-secrets stays
# last because it greps every other suite's logs.
set -uo pipefail
cd "$(dirname "$0")/.."
export AWS_EC2_METADATA_DISABLED=true

PREP_TARGETS=(deps-cargo-deny fuzz-build)
LATE_SUITES=" test-deny test-fuzz "
prep_log=build/prep-tools.log
mkdir -p build
prep_pid=
cleanup() {
  [ -n "$prep_pid" ] && kill "$prep_pid" 2>/dev/null
  ./harness/kafka-down.sh >/dev/null 2>&1 || true
}
trap cleanup EXIT

early=() late=() last=()
for suite in "$@"; do
  case "$LATE_SUITES" in
    *" $suite "*) late+=("$suite") ;;
    *) if [ "$suite" = test-secrets ]; then last+=("$suite"); else early+=("$suite"); fi ;;
  esac
done
if [ ${#late[@]} -gt 0 ]; then
  echo "run-tests: building ${PREP_TARGETS[*]} in the background (log: $prep_log)"
  make --no-print-directory "${PREP_TARGETS[@]}" >"$prep_log" 2>&1 &
  prep_pid=$!
fi

if ! ./harness/kafka-up.sh; then
  echo "run-tests: the broker harness did not start" >&2
  exit 1
fi
failed=()
passed=()
run_suite() {
  echo "===== make $1"
  if make --no-print-directory "$1"; then
    passed+=("$1")
  else
    failed+=("$1")
    echo "===== $1 FAILED"
  fi
}
for suite in "${early[@]}"; do run_suite "$suite"; done
if [ -n "$prep_pid" ]; then
  if ! wait "$prep_pid"; then
    echo "run-tests: the background build of ${PREP_TARGETS[*]} failed; its log:" >&2
    tail -n 40 "$prep_log" >&2
  fi
  prep_pid=
fi
# Each late suite makes its own prerequisites again (a no-op when the
# background build succeeded), so a failure there is reported by the suite.
for suite in "${late[@]}" "${last[@]}"; do run_suite "$suite"; done
echo "===== suites passed: ${passed[*]:-none}"
echo "===== suites failed: ${failed[*]:-none}"
[ ${#failed[@]} -eq 0 ]
