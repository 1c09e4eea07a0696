#!/usr/bin/env bash
# `make bench-java` (mk/jvm.mk; not in make test): the JVM figures of
# docs/java.md against the harness broker, in one run: handle() per call
# for our handler (cached token) vs Kafka's handler reading the token file
# `serve` keeps; STS mints for 10 producers with the handler in one JVM;
# the JVM's RSS with one producer by each route; the JAR's size.
set -euo pipefail
cd "$(dirname "$0")/../../.."
ROOT=$PWD
# shellcheck disable=SC1091
source "${KIO_RUN_DIR:-harness/.run}/env.sh"
source harness/lib.sh
JAR=$(realpath "${KIO_JVM_JAR:?make bench-java sets it}")
SERVE=${KIO_SERVE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/kafka-iam-oauth}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kio-java-bench.XXXXXX")
trap 'kill $SERVE_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_ACCESS_KEY_ID=$KIO_USER_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$KIO_USER_SECRET_ACCESS_KEY
export KAFKA_IAM_OAUTH_CONFIG="region=eu-west-1,audience=$KIO_AUDIENCE,sts_endpoint=$KIO_EMULATOR_URL,duration_seconds=900"
export KIO_HANDLER_CONFIG=$KAFKA_IAM_OAUTH_CONFIG KIO_TOKEN_FILE=$WORK/token.jwt
"$SERVE" serve --token-file "$KIO_TOKEN_FILE" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
wait_for 30 "the token file" test -s "$KIO_TOKEN_FILE"
bench() {
  java -Xmx256m -XX:+UseSerialGC -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls="file://$KIO_TOKEN_FILE" \
    -Dlog4j2.configurationFile="$ROOT/harness/log4j2-tools.xml" \
    -cp "$KIO_KAFKA_JARS/*:$JAR" tests/java/bench/HandlerBench.java "$@" 2>"$WORK/bench.err" | grep '^bench:' ||
    { tail -n 20 "$WORK/bench.err" >&2; return 1; }
}
echo "bench: JAR $(basename "$JAR"): $(du -k "$JAR" | cut -f1) KiB"
bench handle "${BENCH_CALLS:-200000}"
bench clients 10
bench rss file
bench rss handler
