#!/usr/bin/env bash
# Suite test-java (mk/java.mk): Java Kafka clients authenticated by the token
# file `kafka-iam-oauth serve --token-file` keeps, with no code of ours in
# the JVM, against the harness broker (SASL_SSL, re-authentication every
# $KIO_REAUTH_MS), across at least three 60 s token lifetimes.
#
# One `serve` writes the file; side by side, for the same $RUN_SECONDS:
#   (a) Kafka's own console producer and consumer (the harness's jars),
#       configured only by a properties file: every line produced is consumed;
#   (b) tests/java (Maven, JUnit 5): a producer, a consumer in a group and an
#       admin client doing the same;
#   (c) a watcher reading the file all the while: never empty, never a
#       partial JWT, never expired, mode 0600.
# The clients' login refresher lines show how many distinct tokens each read.
#
#   tests/java/run.sh            (KIO_RUN_DIR's env.sh; the CLI binary built)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
# shellcheck disable=SC1091
source "${KIO_RUN_DIR:-harness/.run}/env.sh"
source harness/lib.sh

# Three 60 s lifetimes and some: the file is replaced every 30-36 s (the
# library refreshes at 50-60 % of a lifetime).
RUN_SECONDS=${KIO_JAVA_RUN_SECONDS:-190}
TOKEN_SECONDS=60
# After the run: the consumers catch up, the JVMs exit.
DRAIN_BOUND_S=60
SERVE=${KIO_SERVE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/kafka-iam-oauth}
[[ -x "$SERVE" ]] || { echo "test-java: $SERVE not built (cargo build -p kafka-iam-oauth-cli)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kio-java.XXXXXX")
LOGS=$ROOT/build/java
mkdir -p "$LOGS"
rm -f "$LOGS"/{serve,watch,maven,console-producer,console-consumer}.log
TOKEN=$WORK/token.jwt
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_ACCESS_KEY_ID=$KIO_USER_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$KIO_USER_SECRET_ACCESS_KEY
unset AWS_SESSION_TOKEN AWS_PROFILE
export KAFKA_IAM_OAUTH_CONFIG="region=eu-west-1,audience=$KIO_AUDIENCE,sts_endpoint=$KIO_EMULATOR_URL,duration_seconds=$TOKEN_SECONDS"

"$SERVE" serve --token-file "$TOKEN" >"$LOGS/serve.log" 2>&1 &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
wait_for 30 "the first token in $TOKEN" test -s "$TOKEN" || { cat "$LOGS/serve.log" >&2; exit 1; }

python3 tests/java/watch_token_file.py "$TOKEN" "$((RUN_SECONDS + DRAIN_BOUND_S))" "$WORK/clients-done" \
  >"$LOGS/watch.log" 2>&1 &
WATCH_PID=$!
PIDS+=("$WATCH_PID")

# (a) The properties file is all the console tools get (README, "Java and
# other JVM clients"); the allowed-URLs property goes on the JVM's command line.
PROPS=$WORK/client.properties
examples/java/client_properties.sh "$TOKEN" "$KIO_CA_PEM" >"$PROPS"
# A console client on the harness's jars, in this subshell's place (exec),
# so that its pid is the one `kill` stops; killed past the run's bound.
client_java() {
  exec timeout --kill-after=5 "$((RUN_SECONDS + DRAIN_BOUND_S))" java -Xmx256m -XX:TieredStopAtLevel=1 \
    -XX:+UseSerialGC -Dlog4j2.configurationFile="$ROOT/tests/java/log4j2-clients.xml" \
    -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls="file://$TOKEN" \
    -cp "$KIO_KAFKA_JARS/*" "$@"
}
MARK="console-$(date +%s%N)"
N_CONSOLE=$RUN_SECONDS # one a second

# Partition 0 from the start, no group: the group ACL ($KIO_JVM_GROUP)
# is the Maven test's consumer's; this one re-authenticates all the same.
(client_java org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$KIO_BOOTSTRAP_SSL" \
  --command-config "$PROPS" --topic "$KIO_JVM_TOPIC" --partition 0 --offset earliest \
  >"$WORK/consumed.txt" 2>"$LOGS/console-consumer.log") &
CONSUMER_PID=$!
PIDS+=("$CONSUMER_PID")

for ((i = 1; i <= N_CONSOLE; i++)); do echo "$MARK-$i"; sleep 1; done |
  (client_java org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$KIO_BOOTSTRAP_SSL" \
    --command-config "$PROPS" --topic "$KIO_JVM_TOPIC" >"$LOGS/console-producer.log" 2>&1) &
PRODUCER_PID=$!
PIDS+=("$PRODUCER_PID")

# (b) Maven + JUnit 5, at the same time against the same file.
KIO_TOKEN_FILE=$TOKEN KIO_JAVA_RUN_SECONDS=$RUN_SECONDS \
  mvn -B -q -Dstyle.color=never -f tests/java/pom.xml test >"$LOGS/maven.log" 2>&1 &
MAVEN_PID=$!
PIDS+=("$MAVEN_PID")

fail=0
wait "$PRODUCER_PID" || { echo "test-java: the console producer failed" >&2; fail=1; }
maven_rc=0
wait "$MAVEN_PID" || maven_rc=$?
[[ $maven_rc == 0 ]] || { echo "test-java: the Maven test failed (build/java/maven.log)" >&2; fail=1; }
all_consumed() { [[ $(grep -c "^$MARK-" "$WORK/consumed.txt") -ge $N_CONSOLE ]]; }
wait_for "$DRAIN_BOUND_S" "the console consumer" all_consumed || true
kill "$CONSUMER_PID" 2>/dev/null || true
touch "$WORK/clients-done"
watch_rc=0
wait "$WATCH_PID" || watch_rc=$?
[[ $watch_rc == 0 ]] || fail=1
pid_alive "$SERVE_PID" || { echo "test-java: serve exited during the run" >&2; fail=1; }

consumed=$(grep "^$MARK-" "$WORK/consumed.txt" | sort -u | wc -l)
[[ $consumed == "$N_CONSOLE" ]] || { echo "test-java: console: $N_CONSOLE produced, $consumed consumed" >&2; fail=1; }
if grep -E "ERROR|Authentication failed|SaslAuthenticationException" "$LOGS"/console-*.log >&2; then
  echo "test-java: the console tools logged errors (above)" >&2
  fail=1
fi
# Distinct tokens each client read: "Expiring credential valid from X to Y".
distinct() { grep -o 'Expiring credential valid from .* to [^(]*' "$1" | sort -u | wc -l; }
reads="console producer $(distinct "$LOGS/console-producer.log"), console consumer $(distinct "$LOGS/console-consumer.log"), maven clients $(distinct "$LOGS/maven.log")"
for f in console-producer console-consumer; do
  [[ $(distinct "$LOGS/$f.log") -ge 3 ]] || { echo "test-java: $f read fewer than 3 tokens" >&2; fail=1; }
done
[[ $(distinct "$LOGS/maven.log") -ge 3 ]] || { echo "test-java: the Maven clients read fewer than 3 tokens" >&2; fail=1; }
[[ $fail == 0 ]] || { tail -n 30 "$LOGS/maven.log" "$LOGS/serve.log" >&2; }

cat "$LOGS/watch.log"
grep -h '^java:' "$LOGS/maven.log" || true
echo "java: console $consumed/$N_CONSOLE consumed; distinct tokens read: $reads; maven exit $maven_rc"
echo "test-java: $([[ $fail == 0 ]] && echo passed || echo FAILED) (tokens of ${TOKEN_SECONDS} s over ${RUN_SECONDS} s)"
exit "$fail"
