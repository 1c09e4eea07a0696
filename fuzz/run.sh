#!/usr/bin/env bash
# Runs fuzz targets already built by `cargo fuzz build` (mk/fuzz.mk does
# both), each for a bounded time, and prints one line per target and a
# summary: "fuzz: N targets, R runs, C crashes". Exits non-zero when any
# target crashed, leaked, timed out or ran out of memory; the input that did
# it is kept under $FUZZ_WORK/artifacts/<target>/ and shown.
#
#   fuzz/run.sh fresh|keep SECONDS TARGET...
#
# Each run starts from the committed corpus (fuzz/corpus/<target>, read
# only) plus a scratch corpus in $FUZZ_WORK/corpus/<target> where libFuzzer
# writes what it finds: `fresh` empties the scratch corpus first (make
# test-fuzz: every run starts from the same inputs), `keep` grows it (make
# fuzz). No network, no broker, no env.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
mode=$1
seconds=$2
shift 2
: "${FUZZ_TARGET_DIR:?}" "${FUZZ_WORK:?}"
rss_mb=${FUZZ_RSS_MB:-2048}
timeout_s=${FUZZ_TIMEOUT:-10}
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin_dir=$FUZZ_TARGET_DIR/$triple/release

total_runs=0
crashes=0
crashed=()
# Targets run side by side, one per CPU (FUZZ_JOBS), each for the full
# time: the same fuzzing per target in less wall time.
jobs_max=${FUZZ_JOBS:-$(nproc)}
for target in "$@"; do
  bin=$bin_dir/$target
  if [ ! -x "$bin" ]; then
    echo "fuzz: $bin is missing; build it with 'make fuzz-build'" >&2
    exit 2
  fi
  corpus=$FUZZ_WORK/corpus/$target
  artifacts=$FUZZ_WORK/artifacts/$target
  [ "$mode" = fresh ] && rm -rf "$corpus"
  mkdir -p "$corpus" "$artifacts"
  rm -f "$FUZZ_WORK/$target.rc"
  (
    "$bin" -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$timeout_s" \
      -print_final_stats=1 -artifact_prefix="$artifacts/" \
      "$corpus" "fuzz/corpus/$target" >"$FUZZ_WORK/$target.log" 2>&1
    echo $? >"$FUZZ_WORK/$target.rc"
  ) &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
done
wait
for target in "$@"; do
  bin=$bin_dir/$target
  corpus=$FUZZ_WORK/corpus/$target
  log=$FUZZ_WORK/$target.log
  rc=$(cat "$FUZZ_WORK/$target.rc" 2>/dev/null || echo 99)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  per_sec=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | cut -d' ' -f2)
  found=$(find "$corpus" -type f | wc -l)
  total_runs=$((total_runs + ${runs:-0}))
  echo "fuzz: $target: ${runs:-0} runs in ${seconds}s (${per_sec:-0}/s), coverage ${cov:-?} edges, $found new inputs kept"
  if [ "$rc" -ne 0 ]; then
    crashes=$((crashes + 1))
    crashed+=("$target")
    echo "fuzz: $target FAILED (exit $rc); log: $log" >&2
    # The panic (or sanitizer report) and where libFuzzer wrote the input.
    grep -E -m5 "panicked at|^==[0-9]+==ERROR|SUMMARY|ERROR: libFuzzer" -A3 "$log" >&2
    grep -E "Test unit written to|^Base64:" "$log" >&2
    echo "fuzz: reproduce with: $bin <that file>" >&2
  fi
done
echo "fuzz: $# targets, $total_runs runs, $crashes crashes${crashed[*]:+ (${crashed[*]})}"
[ "$crashes" -eq 0 ]
