#!/usr/bin/env bash
# Runs the C suite (called by `make test-c` with the harness env loaded):
# the ABI test under valgrind, the e2e scenarios on both librdkafka flavours,
# and the long live-refresh run on both flavours at once. Prints the totals.
set -uo pipefail
cd "$(dirname "$0")/../.."
B=build/c
refresh_seconds=${1:-200}
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
user() { AWS_ACCESS_KEY_ID=AKIAEMULATORUSER0001 AWS_SECRET_ACCESS_KEY=emulator-secret-my-iam-user "$@"; }
noacl() { AWS_ACCESS_KEY_ID=AKIAEMULATORUSER0002 AWS_SECRET_ACCESS_KEY=emulator-secret-no-acl-user "$@"; }
passed=0; failed=0
tally() { # name, log file
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$2" | tail -n1)
  if [ -z "$line" ]; then
    echo "C: $1: no result line"; tail -n 20 "$2"; failed=$((failed + 1)); return
  fi
  passed=$((passed + ${line%% passed*}))
  local f=${line#*, }; f=${f%% failed}
  failed=$((failed + f))
  if [ "$f" != 0 ]; then echo "C: $1: $line"; grep -E 'FAIL|error' "$2" | head -n 20; else echo "C: $1: $line"; fi
}
mkdir -p $B/logs
# The long runs go first, in the background, one per flavour.
user timeout $((refresh_seconds + 120)) $B/e2e_debian refresh "$refresh_seconds" >$B/logs/refresh_debian.log 2>&1 &
p1=$!
user timeout $((refresh_seconds + 120)) $B/e2e_bundled refresh "$refresh_seconds" >$B/logs/refresh_bundled.log 2>&1 &
p2=$!
user timeout 300 valgrind -q --leak-check=full --show-possibly-lost=no --errors-for-leak-kinds=definite \
  --error-exitcode=9 $B/abi_test >$B/logs/abi.log 2>&1 || echo "valgrind exit $?" >>$B/logs/abi.log
grep -q '^valgrind exit' $B/logs/abi.log && echo "0 passed, 1 failed" >>$B/logs/abi.log
tally "ABI under valgrind" $B/logs/abi.log
for flavour in debian bundled; do
  for s in produce_consume_plain produce_consume_ssl wrong_audience no_topic_acl; do
    user timeout 150 $B/e2e_$flavour $s >$B/logs/${s}_$flavour.log 2>&1
    tally "$s ($flavour librdkafka)" $B/logs/${s}_$flavour.log
  done
  noacl timeout 90 $B/e2e_$flavour no_group_acl >$B/logs/no_group_acl_$flavour.log 2>&1
  tally "no_group_acl ($flavour librdkafka)" $B/logs/no_group_acl_$flavour.log
done
wait $p1; wait $p2
grep -h '^refresh:\|^librdkafka [0-9]' $B/logs/refresh_*.log
tally "live refresh (debian librdkafka)" $B/logs/refresh_debian.log
tally "live refresh (bundled librdkafka)" $B/logs/refresh_bundled.log
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
