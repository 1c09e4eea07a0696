#!/usr/bin/env bash
# Runs each suite given as a make target with the emulator + broker up,
# keeps going after a failure, prints a summary and fails if any suite did.
#
# Some suites need tools and builds that need no broker (cargo-deny,
# cargo-fuzz and the fuzz targets, confluent-kafka-javascript built from
# source, test-dist's cross builds for arm64 and musl, the sdist's install,
# the .deb/.rpm packages and their Debian root: minutes of compiling on a
# fresh machine; packages-test-build after dist-test-build, whose static
# musl CLI it packs).
# Those are built in the background while the first suites run (several of
# which mostly wait out token lifetimes), and the suites that use them run
# after the others, once the background build is done; test-secrets stays
# last because it greps every other suite's logs.
#
# Suites that mostly sleep through token or credential lifetimes
# (CONCURRENT_SUITES: minutes each) start in the background as soon as the
# harness is up and run beside the others. They source env.sh with
# KIO_ISOLATED=1, so they talk to the emulator's isolated twin (same keys and
# issuer, its own faults, policy and counters): the fault injection of the
# other suites never reaches them, nor their requests the others' counters.
# Their output goes to build/concurrent/<suite>.log and is shown when they end.
set -uo pipefail
cd "$(dirname "$0")/.."
export AWS_EC2_METADATA_DISABLED=true

PREP_TARGETS=(deps-cargo-deny fuzz-build node-ckjs-build dist-test-build sdist-install-build packages-test-build)
LATE_SUITES=" test-deny test-fuzz test-node-ckjs test-dist test-sdist test-go-proxy test-packages "
CONCURRENT_SUITES=" test-rotation test-java test-go-clients test-node-reauth "
prep_log=build/prep-tools.log
mkdir -p build
# Disk: a CI run that fills it fails everywhere at once; say what there was.
disk() { echo "run-tests: disk $1: $(df -Ph . | awk 'NR==2 {print $4 " free of " $2}'); target/ and build/: $(du -sh target build 2>/dev/null | awk '{printf "%s %s  ", $2, $1}')"; }
disk "at start"
prep_pid=
conc_pids=()
cleanup() {
  [ -n "$prep_pid" ] && kill "$prep_pid" 2>/dev/null
  for pid in "${conc_pids[@]}"; do kill -- -"$pid" 2>/dev/null; done
  ./harness/kafka-down.sh >/dev/null 2>&1 || true
}
trap cleanup EXIT

early=() late=() last=() conc=()
for suite in "$@"; do
  case "$LATE_SUITES$CONCURRENT_SUITES" in
    *" $suite "*) if [[ "$CONCURRENT_SUITES" == *" $suite "* ]]; then conc+=("$suite"); else late+=("$suite"); fi ;;
    *) if [ "$suite" = test-secrets ]; then last+=("$suite"); else early+=("$suite"); fi ;;
  esac
done
if [ ${#late[@]} -gt 0 ]; then
  echo "run-tests: building ${PREP_TARGETS[*]} in the background (log: $prep_log)"
  # -k: one failed prep target does not stop the others.
  make -k --no-print-directory "${PREP_TARGETS[@]}" >"$prep_log" 2>&1 &
  prep_pid=$!
fi

if ! ./harness/kafka-up.sh; then
  echo "run-tests: the broker harness did not start" >&2
  exit 1
fi
failed=()
passed=()
# Each suite's output is also kept in build/suites/<suite>.log, so the end
# of the run can say again why a suite failed (a CI log shows its tail).
mkdir -p build/suites
run_suite() {
  echo "===== make $1"
  if make --no-print-directory "$1" 2>&1 | tee "build/suites/$1.log"; then
    passed+=("$1")
  else
    failed+=("$1")
    echo "===== $1 FAILED"
  fi
}
# Each concurrent suite in its own process group (set -m), so cleanup can
# stop the whole suite, JVMs and all.
mkdir -p build/concurrent
set -m
for suite in "${conc[@]}"; do
  echo "===== make $suite: started beside the other suites (log: build/concurrent/$suite.log)"
  KIO_ISOLATED=1 make --no-print-directory "$suite" >"build/concurrent/$suite.log" 2>&1 &
  conc_pids+=("$!")
done
set +m
for suite in "${early[@]}"; do run_suite "$suite"; done
for i in "${!conc[@]}"; do
  suite=${conc[$i]}
  wait "${conc_pids[$i]}"; rc=$?
  echo "===== make $suite (ran beside the other suites)"
  cat "build/concurrent/$suite.log"
  cp "build/concurrent/$suite.log" "build/suites/$suite.log"
  if [ "$rc" -eq 0 ]; then passed+=("$suite"); else failed+=("$suite"); echo "===== $suite FAILED"; fi
done
conc_pids=()
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
disk "at the end"
for suite in "${failed[@]}"; do
  echo "===== why $suite failed: the end of its output (all of it: build/suites/$suite.log)"
  tail -n 40 "build/suites/$suite.log"
done
echo "===== suites passed: ${passed[*]:-none}"
echo "===== suites failed: ${failed[*]:-none}"
[ ${#failed[@]} -eq 0 ]
