#!/usr/bin/env bash
# harness/kafka-up.sh: start the STS/JWKS emulator and one Apache Kafka 4.x broker
# (KRaft, combined broker+controller) that validates OAUTHBEARER JWTs against the
# emulator's JWKS the way Aiven for Apache Kafka does, create the Aiven-guide
# topics and ACLs, and write $KIO_RUN_DIR/env.sh for the test suites.
#
# Everything listens on 127.0.0.1 only. Stop it with harness/kafka-down.sh.
#
# Inputs (all optional):
#   KIO_EMULATOR_BIN   emulator binary (default ${CARGO_TARGET_DIR:-target}/debug/kafka-iam-oauth-emulator,
#                      a relative path being taken from the repository root if not found from cwd)
#   KIO_EMULATOR_ARGS  extra emulator arguments, word-split (e.g. "--max-duration-seconds 900")
#   KIO_AUDIENCE       audience the broker expects (default my-kafka.example.com)
#   KIO_CLOCK_SKEW     sasl.oauthbearer.clock.skew.seconds (default 5)
#   KIO_REAUTH_MS      connections.max.reauth.ms (default 15000)
#   KIO_START_TIMEOUT  seconds to wait for the broker (default 90)
#   KIO_RUN_DIR, KIO_CACHE_DIR, KIO_KAFKA_VERSION, KIO_KAFKA_JAVA_OPTS
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${KIO_AUDIENCE:=my-kafka.example.com}"
: "${KIO_CLOCK_SKEW:=5}"
: "${KIO_REAUTH_MS:=15000}"
: "${KIO_START_TIMEOUT:=90}"
: "${KIO_EMULATOR_BIN:=${CARGO_TARGET_DIR:-target}/debug/kafka-iam-oauth-emulator}"

TOPIC=my-topic
OTHER_TOPIC=other-topic
# Only the credential sources' roles (IRSA, the EC2 instance role) may use it.
SOURCES_TOPIC=credential-sources
GROUP=my-consumer-group
# The Java suite's own topic and group (my-iam-user's, same grants as the
# guide's): it runs beside the other suites (scripts/run-tests.sh), and a
# consumer of its in my-consumer-group would take my-topic's partition from them.
JVM_TOPIC=jvm-clients
JVM_GROUP=jvm-clients-group

for tool in java python3 openssl; do
  command -v "$tool" >/dev/null || die "$tool is required but not installed"
done

# --- run directory -----------------------------------------------------------
# A marker file proves the directory is ours before anything in it is deleted.
RUN="$KIO_RUN_DIR"
MARKER=.kafka-iam-oauth-harness
if [[ -d "$RUN" ]]; then
  RUN="$(cd "$RUN" && pwd)"
  # Same command-line checks as kafka-down.sh, so a recycled pid does not block us.
  if pidfile_running "$RUN/kafka.pid" "$RUN/server.properties" ||
    pidfile_running "$RUN/emulator.pid" "$RUN/emulator.url"; then
    die "a harness is already running in $RUN; run KIO_RUN_DIR=$RUN harness/kafka-down.sh first"
  fi
  if [[ -f "$RUN/$MARKER" ]]; then
    rm -rf "$RUN"
  elif [[ -n "$(ls -A "$RUN")" ]]; then
    die "$RUN exists, is not empty and is not a harness run directory; refusing to clear it"
  fi
fi
mkdir -p "$RUN"
RUN="$(cd "$RUN" && pwd)"
touch "$RUN/$MARKER"
KAFKA_LOG="$RUN/kafka.log"
EMU_LOG="$RUN/emulator.log"

# --- cleanup on failure --------------------------------------------------------
# Any failure (or Ctrl-C) before the end stops what was started and shows why.
STARTED_OK=0
on_exit() {
  local rc=$?
  ((STARTED_OK)) && return 0
  log "start-up failed (exit $rc)"
  if [[ -s "$KAFKA_LOG" ]]; then
    # The cause is usually the first error; the tail is often just shutdown noise.
    if grep -qE '^\[[^]]*\] (ERROR|FATAL) |Exception' "$KAFKA_LOG"; then
      log "first errors in $KAFKA_LOG:"
      grep -E '^\[[^]]*\] (ERROR|FATAL) |^[A-Za-z.$]*(Exception|Error)\b|^Caused by' "$KAFKA_LOG" |
        cut -c1-600 | head -n 8 >&2
    fi
    log "last lines of $KAFKA_LOG:"
    tail -n 30 "$KAFKA_LOG" >&2
  fi
  if [[ -s "$EMU_LOG" ]]; then
    log "last lines of $EMU_LOG:"
    tail -n 15 "$EMU_LOG" >&2
  fi
  KIO_RUN_DIR="$RUN" "$KIO_HARNESS_DIR/kafka-down.sh" || true
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. Kafka jars -------------------------------------------------------------
fetch_kafka_jars

# --- 2. emulator ---------------------------------------------------------------
# The broker fetches the JWKS while starting, so the emulator must be up first.
emu_bin="$KIO_EMULATOR_BIN"
if [[ "$emu_bin" != /* && ! -e "$emu_bin" ]]; then
  emu_bin="$KIO_REPO_ROOT/$emu_bin" # default is relative to the repository root
fi
[[ -x "$emu_bin" ]] ||
  die "emulator binary not found at $emu_bin (build it: cargo build -p kafka-iam-oauth-emulator, or set KIO_EMULATOR_BIN)"
emu_bin="$(cd "$(dirname "$emu_bin")" && pwd)/$(basename "$emu_bin")"

# The built-in identities are defined once, in the emulator; its
# --print-identities lines (KIO_USER_ACCESS_KEY_ID=..., KIO_USER_ARN=...,
# KIO_NOACL_...) go into env.sh as they are, and name the ACLs' principals.
IDENTITIES="$("$emu_bin" --print-identities)" || die "$emu_bin --print-identities failed"
declare -A IDENTITY=()
while IFS='=' read -r name value; do
  [[ "$name" =~ ^KIO_[A-Z0-9_]+$ && -n "$value" ]] || die "unexpected identity line '$name=...'"
  IDENTITY[$name]=$value
done <<<"$IDENTITIES"
[[ -n "${IDENTITY[KIO_USER_ARN]:-}" && -n "${IDENTITY[KIO_NOACL_ARN]:-}" ]] ||
  die "$emu_bin --print-identities gave no KIO_USER_ARN / KIO_NOACL_ARN"
PRINCIPAL="User:${IDENTITY[KIO_USER_ARN]}"
NO_ACL_PRINCIPAL="User:${IDENTITY[KIO_NOACL_ARN]}"

log "starting emulator $emu_bin"
# setsid: the background processes outlive this script and ignore the terminal's Ctrl-C.
# shellcheck disable=SC2086 # KIO_EMULATOR_ARGS is deliberately word-split
# --isolated-ready-file: a twin with the same keys and issuer but its own
# faults/policy/sources, for the suites that run beside the others (KIO_ISOLATED_EMULATOR_URL).
setsid "$emu_bin" --bind 127.0.0.1 --port 0 --ready-file "$RUN/emulator.url" \
  --isolated-ready-file "$RUN/emulator-isolated.url" ${KIO_EMULATOR_ARGS:-} </dev/null >"$EMU_LOG" 2>&1 &
EMU_PID=$!
echo "$EMU_PID" >"$RUN/emulator.pid"

emulator_ready() {
  pid_alive "$EMU_PID" || die "emulator exited during start-up"
  grep -q '^kafka-iam-oauth-emulator ready url=' "$EMU_LOG"
}
wait_for 30 "the emulator's ready line" emulator_ready || die "emulator did not become ready within 30s"
EMU_URL="$(sed -n 's/^kafka-iam-oauth-emulator ready url=\([^[:space:]]*\).*/\1/p' "$EMU_LOG" | head -n 1)"
EMU_URL="${EMU_URL%/}"
[[ "$EMU_URL" == http://127.0.0.1:* ]] || die "unexpected emulator url '$EMU_URL'"
JWKS_URL="$EMU_URL/.well-known/jwks.json"
ISOLATED_EMU_URL="$(sed -n 's/^kafka-iam-oauth-emulator isolated url=\([^[:space:]]*\).*/\1/p' "$EMU_LOG" | head -n 1)"
[[ "$ISOLATED_EMU_URL" == http://127.0.0.1:* ]] || die "unexpected isolated emulator url '$ISOLATED_EMU_URL'"

# The issuer the broker expects is whatever the emulator puts in its discovery
# document (that is also what goes into the tokens' iss claim).
ISSUER="$(python3 - "$EMU_URL" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/.well-known/openid-configuration", timeout=10) as r:
    print(json.load(r)["issuer"])
PY
)" || die "could not read $EMU_URL/.well-known/openid-configuration"
python3 - "$JWKS_URL" <<'PY' || die "emulator JWKS at $JWKS_URL has no RSA key"
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
    keys = json.load(r)["keys"]
sys.exit(0 if any(k.get("kty") == "RSA" for k in keys) else 1)
PY
log "emulator ready at $EMU_URL (issuer $ISSUER)"

# --- 3. TLS material -------------------------------------------------------------
# A throw-away CA (its PEM is what clients get as ssl.ca.location, like the CA
# certificate Aiven hands out) and a broker certificate for 127.0.0.1/localhost.
CERTS="$RUN/certs"
mkdir -p "$CERTS"
CA_PEM="$CERTS/ca.pem"
KEYSTORE="$CERTS/broker.p12"
KEYSTORE_PASSWORD="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
run_openssl() { # openssl, quietly; on failure show its output and stop
  openssl "$@" >"$CERTS/openssl.log" 2>&1 || { cat "$CERTS/openssl.log" >&2; die "openssl $1 failed"; }
}
run_openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 7 \
  -subj "/CN=kafka-iam-oauth harness CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$CERTS/ca.key" -out "$CA_PEM"
run_openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
  -keyout "$CERTS/broker.key" -out "$CERTS/broker.csr"
printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
  "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
  >"$CERTS/broker.ext"
run_openssl x509 -req -sha256 -days 7 -in "$CERTS/broker.csr" \
  -CA "$CA_PEM" -CAkey "$CERTS/ca.key" -CAcreateserial \
  -extfile "$CERTS/broker.ext" -out "$CERTS/broker.pem"
run_openssl pkcs12 -export -name broker -inkey "$CERTS/broker.key" \
  -in "$CERTS/broker.pem" -certfile "$CA_PEM" \
  -passout "pass:$KEYSTORE_PASSWORD" -out "$KEYSTORE"

# --- 4. broker configuration -------------------------------------------------------
VALIDATOR=org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler
JAAS='org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required ;'

# write_config: pick free ports and write server.properties for them.
write_config() {
  mapfile -t ports < <(free_ports 4)
  ((${#ports[@]} == 4)) || die "could not pick free ports"
  P_CONTROLLER=${ports[0]} P_ADMIN=${ports[1]} P_OAUTH=${ports[2]} P_OAUTHSSL=${ports[3]}

  cat >"$RUN/server.properties" <<EOF
# Written by harness/kafka-up.sh. Single node, KRaft combined mode, loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$P_CONTROLLER
controller.listener.names=CONTROLLER

# CONTROLLER and ADMIN are plaintext and unauthenticated (principal ANONYMOUS,
# a super user): controller, inter-broker and harness admin traffic stay off the
# OAuth path. OAUTH / OAUTHSSL are what clients under test use.
listeners=CONTROLLER://127.0.0.1:$P_CONTROLLER,ADMIN://127.0.0.1:$P_ADMIN,OAUTH://127.0.0.1:$P_OAUTH,OAUTHSSL://127.0.0.1:$P_OAUTHSSL
advertised.listeners=ADMIN://127.0.0.1:$P_ADMIN,OAUTH://127.0.0.1:$P_OAUTH,OAUTHSSL://127.0.0.1:$P_OAUTHSSL
listener.security.protocol.map=CONTROLLER:PLAINTEXT,ADMIN:PLAINTEXT,OAUTH:SASL_PLAINTEXT,OAUTHSSL:SASL_SSL
inter.broker.listener.name=ADMIN

# OAUTHBEARER validated against the emulator's JWKS (as Aiven does with the
# STS issuer's JWKS). Principal = the token's sub claim (the IAM ARN).
sasl.enabled.mechanisms=OAUTHBEARER
listener.name.oauth.sasl.enabled.mechanisms=OAUTHBEARER
listener.name.oauth.oauthbearer.sasl.server.callback.handler.class=$VALIDATOR
listener.name.oauth.oauthbearer.sasl.jaas.config=$JAAS
listener.name.oauthssl.sasl.enabled.mechanisms=OAUTHBEARER
listener.name.oauthssl.oauthbearer.sasl.server.callback.handler.class=$VALIDATOR
listener.name.oauthssl.oauthbearer.sasl.jaas.config=$JAAS
sasl.oauthbearer.jwks.endpoint.url=$JWKS_URL
sasl.oauthbearer.expected.issuer=$ISSUER
sasl.oauthbearer.expected.audience=$KIO_AUDIENCE
sasl.oauthbearer.sub.claim.name=sub
sasl.oauthbearer.clock.skew.seconds=$KIO_CLOCK_SKEW
# Short, so tests can observe re-authentication with a fresh token.
connections.max.reauth.ms=$KIO_REAUTH_MS

# TLS on OAUTHSSL only; no client certificates (authentication is the JWT).
listener.name.oauthssl.ssl.keystore.type=PKCS12
listener.name.oauthssl.ssl.keystore.location=$KEYSTORE
listener.name.oauthssl.ssl.keystore.password=$KEYSTORE_PASSWORD
listener.name.oauthssl.ssl.client.auth=none

authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS
allow.everyone.if.no.acl.found=false

# One broker: every replication factor is 1.
log.dirs=$RUN/data
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
EOF
}

# --- 5. format storage and start the broker ------------------------------------------
# A random Kafka Uuid (base64url of 16 bytes); it may start with "-", hence --cluster-id=.
CLUSTER_ID="$(python3 -c 'import base64, uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode())')"

# format_and_start: format a fresh log dir and start the broker in the background.
format_and_start() {
  rm -rf "$RUN/data"
  log "formatting storage (cluster id $CLUSTER_ID)"
  kafka_java kafka.tools.StorageTool format --cluster-id="$CLUSTER_ID" --config "$RUN/server.properties" \
    >"$RUN/format.log" 2>&1 || { cat "$RUN/format.log" >&2; die "kafka storage format failed"; }

  log "starting Kafka $KIO_KAFKA_VERSION broker (log: $KAFKA_LOG)"
  # Kafka 4 refuses to fetch a JWKS from a URL not listed in this system property.
  # shellcheck disable=SC2086 # KIO_KAFKA_JAVA_OPTS is deliberately word-split
  setsid java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KIO_HARNESS_DIR/log4j2-broker.xml" \
    -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls="$JWKS_URL" \
    ${KIO_KAFKA_JAVA_OPTS:-} \
    -cp "$KIO_KAFKA_JARS_DIR/*" kafka.Kafka "$RUN/server.properties" \
    </dev/null >"$KAFKA_LOG" 2>&1 &
  KAFKA_PID=$!
  echo "$KAFKA_PID" >"$RUN/kafka.pid"
}

# --- 6. wait, then topics and ACLs ---------------------------------------------------------
# Free ports are found by binding port 0 and are released before Kafka binds
# them, so something else (a parallel harness, a client's outgoing connection)
# can take one in between. The broker then exits with "Address already in use";
# retry with fresh ports rather than fail the whole run.
started_or_dead() { ! pid_alive "$KAFKA_PID" || grep -q 'Kafka Server started' "$KAFKA_LOG"; }
for attempt in 1 2 3; do
  write_config
  format_and_start
  wait_for "$KIO_START_TIMEOUT" "the broker's 'Kafka Server started' line" started_or_dead ||
    die "the broker did not start within ${KIO_START_TIMEOUT}s"
  pid_alive "$KAFKA_PID" && break
  if ((attempt < 3)) && grep -q 'Address already in use' "$KAFKA_LOG"; then
    log "a port was taken before the broker could bind it; retrying with new ports"
    mv -f "$KAFKA_LOG" "$KAFKA_LOG.attempt$attempt"
    continue
  fi
  die "the broker exited during start-up"
done
log "broker started; creating topics and ACLs"

ADMIN_BOOTSTRAP="127.0.0.1:$P_ADMIN"
admin_tool() { # CLASS ARGS...: a Kafka admin tool against the ADMIN listener, bounded in time
  local class=$1; shift
  kafka_java "$class" --bootstrap-server "$ADMIN_BOOTSTRAP" "$@"
}
for t in "$TOPIC" "$OTHER_TOPIC" "$SOURCES_TOPIC" "$JVM_TOPIC"; do
  admin_tool org.apache.kafka.tools.TopicCommand --create --if-not-exists \
    --topic "$t" --partitions 1 --replication-factor 1 >/dev/null
done
# The ACLs of the Aiven guide for the IAM user...
admin_tool org.apache.kafka.tools.AclCommand --add \
  --allow-principal "$PRINCIPAL" --allow-principal "$NO_ACL_PRINCIPAL" \
  --operation Describe --operation Write --operation Read --topic "$TOPIC" >/dev/null
# ...and the group ACL for my-iam-user only: no-acl-user cannot consume in a group.
admin_tool org.apache.kafka.tools.AclCommand --add \
  --allow-principal "$PRINCIPAL" --operation Read --group "$GROUP" >/dev/null
admin_tool org.apache.kafka.tools.AclCommand --add --allow-principal "$PRINCIPAL" \
  --operation Describe --operation Write --operation Read --topic "$JVM_TOPIC" >/dev/null
# Prefixed: test-java's two routes (token file, handler) each consume in
# their own group ($JVM_GROUP, $JVM_GROUP-handler) on the one partition.
admin_tool org.apache.kafka.tools.AclCommand --add --resource-pattern-type prefixed \
  --allow-principal "$PRINCIPAL" --operation Read --group "$JVM_GROUP" >/dev/null

# The roles of the credential sources (tests/source_principals.rs, tests/rotation.rs)
# on their own topic: a write there succeeds only with the role ARN as principal.
ROLE_PRINCIPALS=("User:${IDENTITY[KIO_IRSA_ROLE_ARN]:?no KIO_IRSA_ROLE_ARN}" "User:${IDENTITY[KIO_INSTANCE_ROLE_ARN]:?no KIO_INSTANCE_ROLE_ARN}")
admin_tool org.apache.kafka.tools.AclCommand --add \
  --allow-principal "${ROLE_PRINCIPALS[0]}" --allow-principal "${ROLE_PRINCIPALS[1]}" \
  --operation Describe --operation Write --operation Read --topic "$SOURCES_TOPIC" >/dev/null

# DescribeAcls is answered by the broker's own authorizer, so once the ACLs are
# listed here they are also enforced.
acls="$(admin_tool org.apache.kafka.tools.AclCommand --list)"
n_acls="$(grep -cF -e "principal=$PRINCIPAL," -e "principal=$NO_ACL_PRINCIPAL," <<<"$acls" || true)"
[[ "$n_acls" == 11 ]] || { printf '%s\n' "$acls" >&2; die "expected 11 ACL entries, found $n_acls"; }
n_acls="$(grep -cF -e "principal=${ROLE_PRINCIPALS[0]}," -e "principal=${ROLE_PRINCIPALS[1]}," <<<"$acls" || true)"
[[ "$n_acls" == 6 ]] || { printf '%s\n' "$acls" >&2; die "expected 6 role ACL entries, found $n_acls"; }

# --- 7. env.sh for the suites --------------------------------------------------------------
# Written to a temporary file and renamed, so nobody sources half of it.
{
  echo "# Written by harness/kafka-up.sh at $(date -u +%Y-%m-%dT%H:%M:%SZ); removed by kafka-down.sh."
  for kv in \
    "KIO_EMULATOR_URL=$EMU_URL" \
    "KIO_ISOLATED_EMULATOR_URL=$ISOLATED_EMU_URL" \
    "KIO_ISSUER=$ISSUER" \
    "KIO_JWKS_URL=$JWKS_URL" \
    "KIO_BOOTSTRAP_PLAINTEXT=127.0.0.1:$P_OAUTH" \
    "KIO_BOOTSTRAP_SSL=127.0.0.1:$P_OAUTHSSL" \
    "KIO_ADMIN_BOOTSTRAP=$ADMIN_BOOTSTRAP" \
    "KIO_CA_PEM=$CA_PEM" \
    "KIO_AUDIENCE=$KIO_AUDIENCE" \
    "KIO_TOPIC=$TOPIC" \
    "KIO_OTHER_TOPIC=$OTHER_TOPIC" \
    "KIO_SOURCES_TOPIC=$SOURCES_TOPIC" \
    "KIO_GROUP=$GROUP" \
    "KIO_JVM_TOPIC=$JVM_TOPIC" \
    "KIO_JVM_GROUP=$JVM_GROUP" \
    "KIO_PRINCIPAL=${PRINCIPAL#User:}" \
    "KIO_NO_ACL_PRINCIPAL=${NO_ACL_PRINCIPAL#User:}" \
    "KIO_CLOCK_SKEW=$KIO_CLOCK_SKEW" \
    "KIO_REAUTH_MS=$KIO_REAUTH_MS" \
    "KIO_KAFKA_LOG=$KAFKA_LOG" \
    "KIO_EMULATOR_LOG=$EMU_LOG" \
    "KIO_EMULATOR_PID=$EMU_PID" \
    "KIO_KAFKA_PID=$KAFKA_PID" \
    "KIO_KAFKA_JARS=$KIO_KAFKA_JARS_DIR" \
    "KIO_KAFKA_VERSION=$KIO_KAFKA_VERSION" \
    "KIO_RUN_DIR=$RUN"; do
    printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
  done
  # The emulator's identities (test credentials, not secrets), sorted so
  # env.sh reads the same on every run.
  for name in $(printf '%s\n' "${!IDENTITY[@]}" | sort); do
    printf 'export %s=%q\n' "$name" "${IDENTITY[$name]}"
  done
  # A suite sourcing env.sh with KIO_ISOLATED=1 (scripts/run-tests.sh's
  # CONCURRENT_SUITES) talks to the isolated twin, so other suites' faults,
  # policy changes and resets never reach it, nor its requests their counters.
  echo '[ -n "${KIO_ISOLATED:-}" ] && export KIO_EMULATOR_URL="$KIO_ISOLATED_EMULATOR_URL"'
  echo 'true'
} >"$RUN/env.sh.tmp"
mv "$RUN/env.sh.tmp" "$RUN/env.sh"

STARTED_OK=1
log "ready: SASL_PLAINTEXT 127.0.0.1:$P_OAUTH, SASL_SSL 127.0.0.1:$P_OAUTHSSL, admin $ADMIN_BOOTSTRAP"
log "source $RUN/env.sh"
