#!/usr/bin/env bash
# Kafka's own console producer and consumer (Java), authenticated as an AWS
# IAM principal with no code and no native library in the JVM:
# `kafka-iam-oauth serve` keeps a token file fresh, and Kafka's built-in
# OAuthBearerLoginCallbackHandler reads it (README, "Java and other JVM
# clients"; docs/java.md).
#
# Environment: the harness's env.sh (KIO_BOOTSTRAP_SSL, KIO_CA_PEM,
# KIO_AUDIENCE, KIO_EMULATOR_URL, KIO_TOPIC, KIO_KAFKA_JARS, my-iam-user's
# keys). Against real AWS: your region and audience, no sts_endpoint, and
# the Kafka distribution's bin/kafka-console-producer.sh in place of `java -cp`.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck disable=SC1091
source "${KIO_RUN_DIR:-harness/.run}/env.sh"
CLI=${KIO_SERVE_BIN:-${CARGO_TARGET_DIR:-target}/debug/kafka-iam-oauth}

export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_ACCESS_KEY_ID=$KIO_USER_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$KIO_USER_SECRET_ACCESS_KEY
export KAFKA_IAM_OAUTH_CONFIG="region=eu-west-1,audience=$KIO_AUDIENCE,sts_endpoint=$KIO_EMULATOR_URL,duration_seconds=3600"

dir=$(mktemp -d "${TMPDIR:-/tmp}/kio-java-demo.XXXXXX")
serve_pid=
trap '[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null; rm -rf "$dir"' EXIT
token=$dir/token.jwt

# 1. One process keeps the file holding a valid token (every client on the
#    host can share it).
"$CLI" serve --token-file "$token" &
serve_pid=$!
for _ in $(seq 100); do [ -s "$token" ] && break; sleep 0.1; done
[ -s "$token" ] || { echo "demo-java: serve wrote no token" >&2; exit 1; }

# 2. The client configuration: a properties file, nothing else.
examples/java/client_properties.sh "$token" "$KIO_CA_PEM" >"$dir/client.properties"
echo "demo-java: client.properties:"
sed 's/^/  /' "$dir/client.properties"

# Kafka 4 reads file:// token endpoints only when allowed by name.
kafka() {
  java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls="file://$token" \
    -Dlog4j2.configurationFile=harness/log4j2-tools.xml -cp "$KIO_KAFKA_JARS/*" "$@"
}

run="java-demo-$(date +%s)"
printf '%s\n' "$run message 1" "$run message 2" "$run message 3" |
  kafka org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$KIO_BOOTSTRAP_SSL" \
    --command-config "$dir/client.properties" --topic "$KIO_TOPIC"
echo "demo-java: the console producer sent 3 messages; reading them back:"
got=$(kafka org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$KIO_BOOTSTRAP_SSL" \
  --command-config "$dir/client.properties" --topic "$KIO_TOPIC" --partition 0 --offset earliest \
  --timeout-ms 5000 2>/dev/null | grep -F "$run" || true)
sed 's/^/  /' <<<"$got"
[ "$(grep -c . <<<"$got")" = 3 ] || { echo "demo-java: expected 3 messages back" >&2; exit 1; }

kill -TERM "$serve_pid"
wait "$serve_pid"
serve_pid=
echo "demo-java: serve stopped cleanly; done"
