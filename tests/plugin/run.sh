#!/usr/bin/env bash
# Plugin suite: kcat, a config-only C program and confluent-kafka-python load
# libkafka_iam_oauth.so through plugin.library.paths, with the harness env.
set -uo pipefail
cd "$(dirname "$0")/../.."
SO=$(pwd)/${CARGO_TARGET_DIR:-target}/debug/libkafka_iam_oauth.so
[ -f "$SO" ] || SO=${CARGO_TARGET_DIR:-$(pwd)/target}/debug/libkafka_iam_oauth.so
B=build/plugin
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_ACCESS_KEY_ID=AKIAEMULATORUSER0001 AWS_SECRET_ACCESS_KEY=emulator-secret-my-iam-user
GOOD="region=eu-west-1,audience=$KIO_AUDIENCE,sts_endpoint=$KIO_EMULATOR_URL"
passed=0; failed=0
check() { # description, command...
  local what=$1; shift
  if "$@" >$B/last.log 2>&1; then passed=$((passed + 1)); echo "ok   $what"
  else failed=$((failed + 1)); echo "FAIL $what"; tail -n 15 $B/last.log; fi
}
KCAT=(kcat -b "$KIO_BOOTSTRAP_SSL" -X security.protocol=SASL_SSL -X "ssl.ca.location=$KIO_CA_PEM"
      -X sasl.mechanisms=OAUTHBEARER -X "plugin.library.paths=$SO")
msg="kcat-plugin-$(date +%s%N)"
kcat_produce() { echo "$msg" | timeout 60 "${KCAT[@]}" -X "sasl.oauthbearer.config=$GOOD" -P -t "$KIO_TOPIC"; }
kcat_consume() {
  timeout 60 "${KCAT[@]}" -X "sasl.oauthbearer.config=$GOOD" -C -G "$KIO_GROUP" "$KIO_TOPIC" -o beginning -e 2>/dev/null |
    grep -qx "$msg"
}
kcat_bad() { # config, expected text
  ! timeout 30 "${KCAT[@]}" -X "sasl.oauthbearer.config=$1" -P -t "$KIO_TOPIC" </dev/null 2>$B/bad.log && grep -q "$2" $B/bad.log
}
check "kcat produces with only -X settings" kcat_produce
check "kcat consumes it back in the group" kcat_consume
check "kcat: missing region fails with our message" kcat_bad "audience=x" "'region' is required"
check "kcat: bad duration fails with our message" kcat_bad "$GOOD,duration_seconds=5" "between 60 and 3600"
check "a C program with no line of ours produces and consumes" $B/config_only_client \
  "bootstrap.servers=$KIO_BOOTSTRAP_PLAINTEXT" security.protocol=SASL_PLAINTEXT sasl.mechanism=OAUTHBEARER \
  "plugin.library.paths=$SO" "sasl.oauthbearer.config=$GOOD" "group.id=$KIO_GROUP" "topic=$KIO_TOPIC"
check "confluent-kafka-python with plugin.library.paths and no oauth_cb" $B/venv/bin/python tests/plugin/python_plugin.py "$SO"
grep -E '^(ok|FAIL) ' $B/last.log | sed 's/^/    python: /' || true
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
