#!/usr/bin/env bash
# The plugin suite, called by `make test-plugin` with the harness env loaded:
# kcat, config-only C programs (Debian's librdkafka 2.0.2 and the wheel's
# 2.16) and confluent-kafka-python load libkafka_iam_oauth.so through
# plugin.library.paths. Usage: run.sh /abs/path/libkafka_iam_oauth.so
set -uo pipefail
cd "$(dirname "$0")/../.."
SO=${1:?path of libkafka_iam_oauth.so}
: "${KIO_EMULATOR_URL:?source the harness env.sh first}"
: "${KIO_USER_ACCESS_KEY_ID:?env.sh has no emulator identities: restart the harness}"
B=build/plugin
mkdir -p $B/logs
rm -f $B/logs/*.log

export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_STS
# The emulator's identities come from env.sh (KIO_USER_*, KIO_NOACL_*).
export AWS_ACCESS_KEY_ID="$KIO_USER_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$KIO_USER_SECRET_ACCESS_KEY"
creds=$(mktemp)
# The outage test sets a fault on the harness emulator (shared by the suites
# run after this one): always cleared on the way out.
fault_none() { curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"mode":"none"}' "$KIO_EMULATOR_URL/_emulator/faults"; }
trap 'rm -f "$creds"; fault_none' EXIT
printf '[kio-user]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n[kio-noacl]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
  "$KIO_USER_ACCESS_KEY_ID" "$KIO_USER_SECRET_ACCESS_KEY" "$KIO_NOACL_ACCESS_KEY_ID" "$KIO_NOACL_SECRET_ACCESS_KEY" >"$creds"

GOOD="region=eu-west-1,audience=$KIO_AUDIENCE,sts_endpoint=$KIO_EMULATOR_URL"
passed=0; failed=0; n=0
check() { # description, command...
  local what=$1; shift
  n=$((n + 1)); local log=$B/logs/$n.log
  if "$@" >"$log" 2>&1; then passed=$((passed + 1)); echo "plugin: ok   $what"
  else failed=$((failed + 1)); echo "plugin: FAIL $what (log $log)"; tail -n 15 "$log" | cut -c1-300; fi
}
# Succeeds when the command fails and its output has the text.
fails_with() { # text, command...
  local text=$1 out; shift
  out=$("$@" 2>&1 </dev/null) && { echo "unexpected success: $out"; return 1; }
  echo "$out"
  grep -qF -- "$text" <<<"$out"
}

# ---- kcat (Debian's package, librdkafka 2.0.2): only -X settings
KCAT=(kcat -b "$KIO_BOOTSTRAP_SSL" -X security.protocol=SASL_SSL -X "ssl.ca.location=$KIO_CA_PEM"
      -X sasl.mechanisms=OAUTHBEARER -X "plugin.library.paths=$SO")
msg="kcat-plugin-$(date +%s%N)"
kcat_produce() { echo "$msg" | timeout 60 "${KCAT[@]}" -X "sasl.oauthbearer.config=$GOOD" -P -t "$KIO_TOPIC"; }
kcat_consume() {
  timeout 60 "${KCAT[@]}" -X "sasl.oauthbearer.config=$GOOD" -C -G "$KIO_GROUP" "$KIO_TOPIC" -o beginning -e |
    grep -qxF "$msg"
}
kcat_bad() { fails_with "$2" timeout 30 "${KCAT[@]}" -X "sasl.oauthbearer.config=$1" -P -t "$KIO_TOPIC"; }
# No configuration at all: librdkafka reports our on_new message; the
# metadata request then cannot authenticate.
kcat_unconfigured() { fails_with "kafka-iam-oauth: set sasl.oauthbearer.config" timeout 30 "${KCAT[@]}" -L -m 5; }
kcat_bad_extensions() {
  fails_with "extension key 'auth' is reserved" timeout 30 "${KCAT[@]}" -X "sasl.oauthbearer.config=$GOOD" \
    -X sasl.oauthbearer.extensions=auth=x -L -m 5
}
check "kcat produces with only -X settings" kcat_produce
check "kcat consumes it back in the group" kcat_consume
check "kcat: missing region fails with our message" kcat_bad "audience=x" "'region' is required"
check "kcat: bad duration fails with our message" kcat_bad "$GOOD,duration_seconds=5" "between 60 and 3600"
check "kcat: no sasl.oauthbearer.config is reported, no crash" kcat_unconfigured
check "kcat: a reserved extension key fails with our message" kcat_bad_extensions

# ---- C programs with no line of ours, only configuration
COMMON=("bootstrap.servers=$KIO_BOOTSTRAP_PLAINTEXT" security.protocol=SASL_PLAINTEXT sasl.mechanism=OAUTHBEARER
        "group.id=$KIO_GROUP" "topic=$KIO_TOPIC")
check "a C program with no line of ours produces and consumes (librdkafka 2.0.2)" \
  timeout 120 $B/config_only_client_debian "${COMMON[@]}" "plugin.library.paths=$SO" "sasl.oauthbearer.config=$GOOD"
check "the same program on the wheel's librdkafka 2.16, SASL_SSL" \
  timeout 120 $B/config_only_client_bundled "bootstrap.servers=$KIO_BOOTSTRAP_SSL" security.protocol=SASL_SSL \
  "ssl.ca.location=$KIO_CA_PEM" sasl.mechanism=OAUTHBEARER "group.id=$KIO_GROUP" "topic=$KIO_TOPIC" \
  "plugin.library.paths=$SO" "sasl.oauthbearer.config=$GOOD"
# librdkafka 2.15+: Confluent's own AWS settings, unchanged, plus the plugin.
OIDC=(sasl.oauthbearer.method=oidc sasl.oauthbearer.metadata.authentication.type=aws_iam)
check "librdkafka 2.16: sasl.oauthbearer.method=oidc + metadata.authentication.type=aws_iam work with the plugin" \
  timeout 120 $B/config_only_client_bundled "${COMMON[@]}" "${OIDC[@]}" "sasl.oauthbearer.config=$GOOD" \
  "plugin.library.paths=$SO"
check "... and without the plugin the same settings get no token (librdkafka has no aws_iam flow)" \
  fails_with "no token-refresh callback is registered" timeout 60 $B/config_only_client_bundled "${COMMON[@]}" \
  "${OIDC[@]}" "sasl.oauthbearer.config=$GOOD" message.timeout.ms=5000 consume=0

# ---- a host without librdkafka
check "conf_init in a process without librdkafka fails with a message, no crash" \
  $B/no_rdkafka_host "$SO"

# ---- librdkafka linked statically into an object loaded with local scope
# (as Node loads confluent-kafka-javascript's prebuilt addon): found by the
# scan of the loaded objects' dynamic symbols
check "librdkafka linked statically into an object dlopened with local scope: the plugin finds it (SASL_SSL)" \
  timeout 120 $B/local_scope_host "$PWD/$B/static_rdkafka_client.so" "bootstrap.servers=$KIO_BOOTSTRAP_SSL" \
  security.protocol=SASL_SSL "ssl.ca.location=$KIO_CA_PEM" sasl.mechanism=OAUTHBEARER "group.id=$KIO_GROUP" \
  "topic=$KIO_TOPIC" "plugin.library.paths=$SO" "sasl.oauthbearer.config=$GOOD"

# ---- two librdkafka copies in one process (Debian's linked, the wheel's dlopened privately)
: "${KIO_WHEEL_RDKAFKA:?set KIO_WHEEL_RDKAFKA to the librdkafka of the confluent-kafka wheel (make test-plugin does)}"
check "two librdkafka copies loaded: conf_init refuses through either, naming both" \
  $B/two_copies "$SO" "$KIO_WHEEL_RDKAFKA"
check "... and Debian's linked with a static copy in an object dlopened privately: refused, naming both" \
  $B/two_copies "$SO" "$PWD/$B/static_rdkafka_client.so"
# fast_unwind_on_malloc=0: full stacks, so the suppression (the wheel's own
# OpenSSL init, kept at exit) matches only allocations made inside that copy.
check "... the same under AddressSanitizer: no ASan error, no leak of ours" \
  env ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:abort_on_error=0 \
  LSAN_OPTIONS="suppressions=$PWD/tests/plugin/lsan.supp" $B/two_copies_asan "$SO" "$KIO_WHEEL_RDKAFKA"

# ---- STS down for longer than a token's lifetime (75 s > 60 s), then back:
# producing resumes and no refresh callback blocks librdkafka's thread
# (bounds in tests/plugin/outage.c); about 2 minutes.
check "outage longer than a token's lifetime: producing resumes after STS returns, callbacks bounded" \
  timeout 170 $B/outage "bootstrap.servers=$KIO_BOOTSTRAP_PLAINTEXT" security.protocol=SASL_PLAINTEXT \
  sasl.mechanism=OAUTHBEARER "topic=$KIO_TOPIC" linger.ms=0 message.timeout.ms=300000 \
  "plugin.library.paths=$SO" "sasl.oauthbearer.config=$GOOD,duration_seconds=60"
grep -hE '^(STS unavailable|producing resumed|[0-9]+ refresh callbacks)' $B/logs/$n.log | sed 's/^/    outage: /'
fault_none

# ---- confluent-kafka-python (the wheel loads its librdkafka privately)
check "confluent-kafka-python with plugin.library.paths and no oauth_cb" \
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE="$creds" \
  timeout 240 build/venv-plugin/bin/python tests/plugin/python_plugin.py "$SO"
grep -hE '^(ok|FAIL) ' $B/logs/$n.log | sed 's/^/    python: /' | cut -c1-250

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
