#!/usr/bin/env bash
# Suite test-java (mk/java.mk): Java Kafka clients against the harness broker
# (SASL_SSL, re-authentication every $KIO_REAUTH_MS), across at least three
# 60 s token lifetimes, by two routes side by side: the token file
# `kafka-iam-oauth serve --token-file` keeps (no code of ours in the JVM),
# and our login callback handler (the JAR `make jvm-jar` builds, the core
# inside each JVM).
#
# First, at once: the JAR's native library exports only Java_* and
# JNI_OnLoad; it loads from the JAR in a fresh JVM with no library path;
# a platform the JAR has no library for is named in the error.
# Then one `serve` writes the file; side by side, for the same $RUN_SECONDS:
#   (a) Kafka's own console producer and consumer (the harness's jars),
#       configured only by a properties file: every line produced is consumed;
#   (b) the same pair configured by a properties file naming our handler,
#       the JAR on the class path: every line consumed, each JVM's STS mints
#       (the handler's log line, from the core's stats) one per refresh;
#   (c) tests/java (Maven, JUnit 5, test classes in parallel): a producer, a
#       consumer in a group and an admin client for each route (the
#       handler's clients share one STS call per refresh), and the handler's
#       failure cases (bad config, AccessDenied from a private emulator that
#       allows another audience only, an audience the broker refuses);
#   (d) a watcher reading the file all the while: never empty, never a
#       partial JWT, never expired, mode 0600.
# The clients' login refresher lines show how many distinct tokens each read.
#
#   tests/java/run.sh            (KIO_RUN_DIR's env.sh; the CLI binary, the
#                                 emulator and the JAR built)
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
EMULATOR=${KIO_EMULATOR_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/kafka-iam-oauth-emulator}
[[ -x "$EMULATOR" ]] || { echo "test-java: $EMULATOR not built" >&2; exit 2; }
JAR=${KIO_JVM_JAR:-}
[[ -f "$JAR" ]] || { echo "test-java: no JAR at '$JAR' (make jvm-jar; KIO_JVM_JAR)" >&2; exit 2; }
JAR=$(realpath "$JAR")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kio-java.XXXXXX")
LOGS=$ROOT/build/java
mkdir -p "$LOGS"
rm -f "$LOGS"/{serve,watch,maven,console-producer,console-consumer,handler-producer,handler-consumer,deny-emulator}.log
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
# The handler's configuration: the same string, in the JVMs themselves.
export KIO_HANDLER_CONFIG=$KAFKA_IAM_OAUTH_CONFIG
fail=0

# The JAR's native library, checked before anything waits.
tests/java/check-jar.sh "$JAR" "$(uname -m)" || fail=1
java -Djava.library.path=/nonexistent -cp "$JAR" tests/java/LoadCheck.java || fail=1
if java -Dos.arch=sparc64 -cp "$JAR" tests/java/LoadCheck.java >"$WORK/sparc.txt" 2>&1 ||
  ! grep -q "no native library for Linux/sparc64" "$WORK/sparc.txt"; then
  echo "test-java: an unknown platform was not named:" >&2; cat "$WORK/sparc.txt" >&2; fail=1
fi

# A private emulator whose policy allows another audience only: STS answers
# AccessDenied for ours (HandlerFailuresTest); the shared twin is left alone.
"$EMULATOR" --bind 127.0.0.1 --port 0 --quiet --allowed-audience "only-another-audience" \
  --ready-file "$WORK/deny.url" >"$LOGS/deny-emulator.log" 2>&1 &
PIDS+=("$!")
wait_for 30 "the private emulator" test -s "$WORK/deny.url" || { cat "$LOGS/deny-emulator.log" >&2; exit 1; }
export KIO_DENY_EMULATOR_URL=$(cat "$WORK/deny.url")

"$SERVE" serve --token-file "$TOKEN" >"$LOGS/serve.log" 2>&1 &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
wait_for 30 "the first token in $TOKEN" test -s "$TOKEN" || { cat "$LOGS/serve.log" >&2; exit 1; }

python3 tests/java/watch_token_file.py "$TOKEN" "$((RUN_SECONDS + DRAIN_BOUND_S))" "$WORK/clients-done" \
  >"$LOGS/watch.log" 2>&1 &
WATCH_PID=$!
PIDS+=("$WATCH_PID")

N_CONSOLE=$RUN_SECONDS # one line a second per producer
declare -A MARK CONSUMER_PID PRODUCER_PID
# console_pair NAME PROPS CLASSPATH [JVM OPTION...]: Kafka's console consumer
# (partition 0 from the start, no group: the group ACL is the Maven test's;
# it re-authenticates all the same) and console producer (one line a second,
# marked NAME-...) on the harness's jars, configured by PROPS only; output
# in $WORK/NAME-consumed.txt, logs in $LOGS/NAME-{consumer,producer}.log.
# Each JVM runs in its subshell's place (exec), so that its pid is the one
# `kill` stops; killed past the run's bound.
console_pair() {
  local name=$1 props=$2 cp=$3
  shift 3
  local java=(timeout --kill-after=5 "$((RUN_SECONDS + DRAIN_BOUND_S))" java -Xmx256m -XX:TieredStopAtLevel=1
    -XX:+UseSerialGC -Dlog4j2.configurationFile="$ROOT/tests/java/log4j2-clients.xml" "$@" -cp "$cp")
  MARK[$name]="$name-$(date +%s%N)"
  (exec "${java[@]}" org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$KIO_BOOTSTRAP_SSL" \
    --command-config "$props" --topic "$KIO_JVM_TOPIC" --partition 0 --offset earliest \
    >"$WORK/$name-consumed.txt" 2>"$LOGS/$name-consumer.log") &
  CONSUMER_PID[$name]=$!
  PIDS+=("$!")
  for ((i = 1; i <= N_CONSOLE; i++)); do echo "${MARK[$name]}-$i"; sleep 1; done |
    (exec "${java[@]}" org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$KIO_BOOTSTRAP_SSL" \
      --command-config "$props" --topic "$KIO_JVM_TOPIC" >"$LOGS/$name-producer.log" 2>&1) &
  PRODUCER_PID[$name]=$!
  PIDS+=("$!")
}

# (a) The properties file is all the console tools get (README, "Java and
# other JVM clients"); the allowed-URLs property goes on the JVM's command line.
PROPS=$WORK/client.properties
examples/java/client_properties.sh "$TOKEN" "$KIO_CA_PEM" >"$PROPS"
console_pair console "$PROPS" "$KIO_KAFKA_JARS/*" -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls="file://$TOKEN"

# (b) The same pair through our handler: a properties file and the JAR.
HPROPS=$WORK/handler.properties
examples/java/handler_properties.sh "$KIO_HANDLER_CONFIG" "$KIO_CA_PEM" >"$HPROPS"
console_pair handler "$HPROPS" "$KIO_KAFKA_JARS/*:$JAR"

# (c) Maven + JUnit 5, at the same time against the same file and the handler.
KIO_TOKEN_FILE=$TOKEN KIO_JAVA_RUN_SECONDS=$RUN_SECONDS \
  mvn -B -q -Dstyle.color=never -f tests/java/pom.xml test >"$LOGS/maven.log" 2>&1 &
MAVEN_PID=$!
PIDS+=("$MAVEN_PID")

for name in console handler; do
  wait "${PRODUCER_PID[$name]}" || { echo "test-java: the $name producer failed" >&2; fail=1; }
done
maven_rc=0
wait "$MAVEN_PID" || maven_rc=$?
[[ $maven_rc == 0 ]] || { echo "test-java: the Maven test failed (build/java/maven.log)" >&2; fail=1; }
consumed() { grep "^${MARK[$1]}-" "$WORK/$1-consumed.txt" | sort -u | wc -l; }
all_consumed() { [[ $(consumed console) -ge $N_CONSOLE ]] && [[ $(consumed handler) -ge $N_CONSOLE ]]; }
wait_for "$DRAIN_BOUND_S" "the console consumers" all_consumed || true
kill "${CONSUMER_PID[@]}" 2>/dev/null || true
touch "$WORK/clients-done"
watch_rc=0
wait "$WATCH_PID" || watch_rc=$?
[[ $watch_rc == 0 ]] || fail=1
pid_alive "$SERVE_PID" || { echo "test-java: serve exited during the run" >&2; fail=1; }

for name in console handler; do
  [[ $(consumed $name) == "$N_CONSOLE" ]] ||
    { echo "test-java: $name: $N_CONSOLE produced, $(consumed $name) consumed" >&2; fail=1; }
done
# Each handler JVM's STS mints, from its last login line (the core's stats):
# at least one per lifetime, at most one per refresh (50-60 % of a lifetime)
# plus the first.
mints() { grep -o "STS mints for this configuration: [0-9]*" "$1" | tail -n 1 | grep -o '[0-9]*$' || echo 0; }
MOST_MINTS=$((RUN_SECONDS / (TOKEN_SECONDS / 2) + 3))
for f in handler-producer handler-consumer; do
  m=$(mints "$LOGS/$f.log")
  { [[ $m -ge $((RUN_SECONDS / TOKEN_SECONDS)) ]] && [[ $m -le $MOST_MINTS ]]; } ||
    { echo "test-java: $f: $m STS mints (expected $((RUN_SECONDS / TOKEN_SECONDS))..$MOST_MINTS)" >&2; fail=1; }
done
if grep -E "ERROR|Authentication failed|SaslAuthenticationException|no token" "$LOGS"/console-*.log "$LOGS"/handler-*.log >&2; then
  echo "test-java: the console tools logged errors (above)" >&2
  fail=1
fi
# Distinct tokens each client read: "Expiring credential valid from X to Y".
distinct() { grep -o 'Expiring credential valid from .* to [^(]*' "$1" | sort -u | wc -l; }
reads="console producer $(distinct "$LOGS/console-producer.log"), console consumer $(distinct "$LOGS/console-consumer.log"), handler producer $(distinct "$LOGS/handler-producer.log"), handler consumer $(distinct "$LOGS/handler-consumer.log"), maven clients $(distinct "$LOGS/maven.log")"
for f in console-producer console-consumer handler-producer handler-consumer; do
  [[ $(distinct "$LOGS/$f.log") -ge 3 ]] || { echo "test-java: $f read fewer than 3 tokens" >&2; fail=1; }
done
[[ $(distinct "$LOGS/maven.log") -ge 3 ]] || { echo "test-java: the Maven clients read fewer than 3 tokens" >&2; fail=1; }
[[ $fail == 0 ]] || { tail -n 30 "$LOGS/maven.log" "$LOGS/serve.log" >&2; }

cat "$LOGS/watch.log"
grep -h '^java:' "$LOGS/maven.log" || true
echo "java: console $(consumed console)/$N_CONSOLE consumed, handler console $(consumed handler)/$N_CONSOLE; handler JVMs' STS mints: producer $(mints "$LOGS/handler-producer.log"), consumer $(mints "$LOGS/handler-consumer.log")"
echo "java: distinct tokens read: $reads; maven exit $maven_rc"
# Surefire's own count (every class: both routes and the failure cases).
cat "$LOGS"/target/surefire-reports/*.txt 2>/dev/null | grep -h "^Tests run:" |
  awk -F'[:,] *' '{r += $2; f += $4; e += $6; s += $8} END {printf "java: surefire: Tests run: %d, Failures: %d, Errors: %d, Skipped: %d\n", r, f, e, s}'
ls "$LOGS"/target/surefire-reports/*.txt >/dev/null 2>&1 || { echo "test-java: no surefire report" >&2; fail=1; }
echo "test-java: $([[ $fail == 0 ]] && echo passed || echo FAILED) (token file and handler; tokens of ${TOKEN_SECONDS} s over ${RUN_SECONDS} s)"
exit "$fail"
