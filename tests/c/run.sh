#!/usr/bin/env bash
# The C suite, called by `make test-c` with the harness env loaded
# (KIO_EMULATOR_URL, KIO_BOOTSTRAP_*, ...). Usage: run.sh [refresh_seconds]
#
# Phase 1, one program at a time: the ABI test under valgrind and under
# AddressSanitizer/UBSan, then every e2e scenario on both librdkafka flavours
# (Debian's 2.0.2, which reconnects when the broker ends an expiring session,
# and the 2.16 that confluent-kafka's wheel bundles, which re-authenticates),
# the library attached both ways (the C adapter, and the plugin through
# plugin.library.paths=$KIO_PLUGIN_SO: one integration, two entry points),
# and the integration scenarios once more under AddressSanitizer.
# Phase 2: the live-refresh run on both flavours at once, while the emulator
# throttles and answers 5xx for a while; the emulator's counters must match
# the tokens the two processes minted. Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
B=build/c
L=$B/logs
refresh_seconds=${1:-200}
: "${KIO_EMULATOR_URL:?source the harness env.sh first}"
: "${KIO_PLUGIN_SO:?set KIO_PLUGIN_SO to the absolute path of libkafka_iam_oauth.so (make test-c does)}"
export KIO_PLUGIN_SO
plugin=(env KIO_E2E_PATH=plugin)
: "${KIO_USER_ACCESS_KEY_ID:?env.sh has no emulator identities: restart the harness}"
mkdir -p $L
rm -f $L/*.log

# Never off loopback; no AWS files of the machine's.
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_STS
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
creds=$(mktemp)
trap 'rm -f "$creds"; fault "{\"mode\":\"none\"}" >/dev/null 2>&1' EXIT
# The emulator's identities come from env.sh (KIO_USER_*, KIO_NOACL_*).
cat >"$creds" <<EOF
[kio-user]
aws_access_key_id = $KIO_USER_ACCESS_KEY_ID
aws_secret_access_key = $KIO_USER_SECRET_ACCESS_KEY

[kio-noacl]
aws_access_key_id = $KIO_NOACL_ACCESS_KEY_ID
aws_secret_access_key = $KIO_NOACL_SECRET_ACCESS_KEY

[kio-unknown]
aws_access_key_id = AKIAEMULATORUNKNOWN9
aws_secret_access_key = unknown-secret
EOF
# Who a program runs as: my-iam-user's or no-acl-user's keys, or no key
# variables and the profiles above.
user=(env AWS_ACCESS_KEY_ID="$KIO_USER_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$KIO_USER_SECRET_ACCESS_KEY")
noacl=(env AWS_ACCESS_KEY_ID="$KIO_NOACL_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$KIO_NOACL_SECRET_ACCESS_KEY")
profiles=(env AWS_SHARED_CREDENTIALS_FILE="$creds")

fault() { curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d "$1" "$KIO_EMULATOR_URL/_emulator/faults"; }
# "<GetWebIdentityToken requests> <tokens issued>"
stats() {
  curl -sf "$KIO_EMULATOR_URL/_emulator/stats" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["requests"]["GetWebIdentityToken"], d["tokens_issued"])'
}

passed=0; failed=0
verdict() { # ok(0/1), description
  if [ "$1" = 0 ]; then passed=$((passed + 1)); echo "C: ok   $2"
  else failed=$((failed + 1)); echo "C: FAIL $2"; fi
}
tally() { # name, log file, exit status
  local line f
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$2" | tail -n1)
  if [ -z "$line" ]; then
    failed=$((failed + 1)); echo "C: FAIL $1: no result line (exit $3)"; tail -n 20 "$2" | cut -c1-300; return
  fi
  passed=$((passed + ${line%% passed*}))
  f=${line#*, }; f=${f%% failed}
  if [ "$f" != 0 ] || [ "$3" != 0 ]; then
    failed=$((failed + (f > 0 ? f : 1)))
    echo "C: FAIL $1: $line (exit $3)"
    grep -E 'FAIL|ERROR|Sanitizer|definitely lost|Invalid|uninitialised' "$2" | head -n 20 | cut -c1-300
  else
    echo "C: ok   $1: $line"
  fi
}
run() { # name, timeout, command... (log in $L/<name>.log)
  local name=$1 secs=$2; shift 2
  local log=$L/${name//[^A-Za-z0-9_.-]/_}.log
  timeout "$secs" "$@" >"$log" 2>&1
  tally "$name" "$log" $?
}

# ---- phase 1
VALGRIND=(valgrind -q --leak-check=full --show-possibly-lost=no --errors-for-leak-kinds=definite --error-exitcode=9)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=9 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run "ABI under valgrind" 300 "${profiles[@]}" "${VALGRIND[@]}" $B/abi_test
run "ABI under ASan+UBSan" 120 "${profiles[@]}" $B/abi_test_asan
for flavour in debian bundled; do
  e2e=$B/e2e_$flavour
  run "integration through the adapter ($flavour)" 150 "${user[@]}" $e2e integration
  run "integration through the plugin ($flavour)" 150 "${user[@]}" "${plugin[@]}" $e2e integration
  run "adapter entry points ($flavour)" 90 "${user[@]}" $e2e adapter
  run "produce_consume SASL_PLAINTEXT ($flavour)" 150 "${user[@]}" $e2e produce_consume plain
  run "produce_consume SASL_SSL ($flavour)" 150 "${user[@]}" $e2e produce_consume ssl
  run "produce_consume SASL_SSL through the plugin ($flavour)" 150 "${user[@]}" "${plugin[@]}" $e2e produce_consume ssl
  run "wrong_audience SASL_PLAINTEXT ($flavour)" 90 "${user[@]}" $e2e wrong_audience plain
  run "wrong_audience SASL_SSL ($flavour)" 90 "${user[@]}" $e2e wrong_audience ssl
  run "no_topic_acl ($flavour)" 90 "${user[@]}" $e2e no_topic_acl
  run "no_group_acl ($flavour)" 90 "${noacl[@]}" $e2e no_group_acl
  run "two_principals ($flavour)" 150 "${profiles[@]}" $e2e two_principals
done
run "integration through the adapter under ASan+UBSan (debian)" 150 "${user[@]}" $B/e2e_asan integration
run "integration through the plugin under ASan+UBSan (debian)" 150 "${user[@]}" "${plugin[@]}" $B/e2e_asan integration
run "adapter entry points under ASan+UBSan (debian)" 90 "${user[@]}" $B/e2e_asan adapter
run "produce_consume SASL_SSL under ASan+UBSan (debian)" 150 "${user[@]}" $B/e2e_asan produce_consume ssl

# ---- phase 2: nothing else talks to the emulator now. Each process makes
# STS fail for 15 s just when one of its own refreshes is due (throttling in
# the Debian run, 5xx in the other, at different times); see refresh() in
# e2e_test.c.
fault '{"mode":"none"}'
read -r req0 tok0 < <(stats)
"${user[@]}" timeout $((refresh_seconds + 150)) $B/e2e_debian refresh "$refresh_seconds" throttle 40 \
  >$L/refresh_debian.log 2>&1 &
p1=$!
"${user[@]}" timeout $((refresh_seconds + 150)) $B/e2e_bundled refresh "$refresh_seconds" server_error 110 \
  >$L/refresh_bundled.log 2>&1 &
p2=$!
wait $p1; s1=$?
wait $p2; s2=$?
read -r req1 tok1 < <(stats)
fault '{"mode":"none"}'
grep -h '^refresh:\|^librdkafka [0-9]' $L/refresh_debian.log $L/refresh_bundled.log
tally "live refresh, STS throttling, both listeners (debian)" $L/refresh_debian.log $s1
tally "live refresh, STS 5xx, both listeners (bundled)" $L/refresh_bundled.log $s2
m1=$(sed -n 's/^minted //p' $L/refresh_debian.log); m2=$(sed -n 's/^minted //p' $L/refresh_bundled.log)
tokens=$((tok1 - tok0)); refused=$((req1 - tok1 - req0 + tok0))
echo "refresh: in ${refresh_seconds} s the emulator issued $tokens tokens and refused $refused GetWebIdentityToken calls; the two processes minted ${m1:-?} + ${m2:-?}"
[ -n "$m1" ] && [ -n "$m2" ] && [ "$tokens" -eq $((m1 + m2)) ]
verdict $? "emulator counter: tokens issued = tokens the two processes minted (one per refresh, not per connection)"
# Each fault window refused at least one whole STS call (4 attempts).
[ "$refused" -ge 8 ]
verdict $? "emulator counter: calls were refused during both fault windows ($refused)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
