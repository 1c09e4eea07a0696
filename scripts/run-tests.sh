#!/usr/bin/env bash
# Runs each suite given as a make target with the emulator + broker up,
# keeps going after a failure, prints a summary and fails if any suite did.
set -uo pipefail
cd "$(dirname "$0")/.."
export AWS_EC2_METADATA_DISABLED=true
trap './harness/kafka-down.sh >/dev/null 2>&1 || true' EXIT
if ! ./harness/kafka-up.sh; then
  echo "run-tests: the broker harness did not start" >&2
  exit 1
fi
failed=()
passed=()
for suite in "$@"; do
  echo "===== make $suite"
  if make --no-print-directory "$suite"; then
    passed+=("$suite")
  else
    failed+=("$suite")
    echo "===== $suite FAILED"
  fi
done
echo "===== suites passed: ${passed[*]:-none}"
echo "===== suites failed: ${failed[*]:-none}"
[ ${#failed[@]} -eq 0 ]
