#!/usr/bin/env bash
# harness/smoke.sh: prove that a running harness really validates OAUTHBEARER
# JWTs and enforces the Aiven-guide ACLs. Needs java, curl (for --aws-sigv4)
# and a harness started by kafka-up.sh (same KIO_RUN_DIR).
#
# Tokens come from the emulator's STS GetWebIdentityToken, SigV4-signed by curl
# with the emulator's built-in test identities (KIO_USER_*, KIO_NOACL_* in
# env.sh). Clients are Kafka's own Java verifiable producer/consumer, handed
# the token through a file
# (sasl.oauthbearer.token.endpoint.url=file://...), so nothing beyond the
# harness's Kafka jars is needed.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ -f "$KIO_RUN_DIR/env.sh" ]] || die "no harness running in $KIO_RUN_DIR (run harness/kafka-up.sh first)"
# shellcheck source=/dev/null
source "$KIO_RUN_DIR/env.sh"
command -v curl >/dev/null || die "curl is required (apt-get install -y curl)"
[[ -n "${KIO_USER_ACCESS_KEY_ID:-}" ]] || die "$KIO_RUN_DIR/env.sh has no KIO_USER_* identities (restart the harness)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/kio-smoke.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); printf 'ok     %s\n' "$1"; }
fail() {
  FAILED=$((FAILED + 1)); printf 'FAILED %s\n' "$1"
  sed 's/^/       | /' "$2" | tail -n 15
}

# token NAME ACCESS_KEY SECRET AUDIENCE [ALG]: write a JWT from the emulator to $WORK/NAME.jwt.
token() {
  local name=$1 akid=$2 secret=$3 aud=$4 alg=${5:-RS256} resp
  resp="$(curl -sS --fail-with-body --max-time 10 \
    --aws-sigv4 "aws:amz:us-east-1:sts" --user "$akid:$secret" \
    --data-urlencode Action=GetWebIdentityToken --data-urlencode Version=2011-06-15 \
    --data-urlencode "Audience.member.1=$aud" --data-urlencode DurationSeconds=900 \
    --data-urlencode "SigningAlgorithm=$alg" \
    "$KIO_EMULATOR_URL/")" || die "GetWebIdentityToken failed: $resp"
  sed -n 's:.*<WebIdentityToken>\([^<]*\)</WebIdentityToken>.*:\1:p' <<<"$resp" >"$WORK/$name.jwt"
  [[ -s "$WORK/$name.jwt" ]] || die "no WebIdentityToken in the emulator's answer"
}

# client_config NAME PROTOCOL: client properties using $WORK/NAME.jwt.
client_config() {
  local name=$1 protocol=$2
  {
    echo "security.protocol=$protocol"
    echo "sasl.mechanism=OAUTHBEARER"
    echo "sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required ;"
    echo "sasl.login.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler"
    echo "sasl.oauthbearer.token.endpoint.url=file://$WORK/$name.jwt"
    echo "max.block.ms=20000"
    if [[ "$protocol" == SASL_SSL ]]; then
      echo "ssl.truststore.type=PEM"
      echo "ssl.truststore.location=$KIO_CA_PEM"
    fi
  } >"$WORK/$name-$protocol.properties"
}

# client TOKEN_NAME PROTOCOL CLASS ARGS...: run a Kafka tool as that token's
# principal; stdout+stderr go to $WORK/out.
client() {
  local name=$1 protocol=$2 class=$3; shift 3
  local bootstrap=$KIO_BOOTSTRAP_PLAINTEXT
  [[ "$protocol" == SASL_SSL ]] && bootstrap=$KIO_BOOTSTRAP_SSL
  client_config "$name" "$protocol"
  # The file "token endpoint" must be allowed like any other URL in Kafka 4.
  KIO_TOOL_JAVA_OPTS="-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=file://$WORK/$name.jwt" \
    kafka_java "$class" --bootstrap-server "$bootstrap" \
    --command-config "$WORK/$name-$protocol.properties" "$@" >"$WORK/out" 2>&1 || true
}
produce() { # TOKEN_NAME PROTOCOL TOPIC
  client "$1" "$2" org.apache.kafka.tools.VerifiableProducer --topic "$3" --max-messages 1
}
consume() { # TOKEN_NAME: one record from my-topic in my-consumer-group
  client "$1" SASL_PLAINTEXT org.apache.kafka.tools.VerifiableConsumer --topic "$KIO_TOPIC" \
    --group-id "$KIO_GROUP" --max-messages 1 --reset-policy earliest
}
expect() { # DESCRIPTION EXTENDED-REGEX: the last client output matches
  if grep -Eq "$2" "$WORK/out"; then pass "$1"; else fail "$1" "$WORK/out"; fi
}

USER_KEYS=("$KIO_USER_ACCESS_KEY_ID" "$KIO_USER_SECRET_ACCESS_KEY")
token good "${USER_KEYS[@]}" "$KIO_AUDIENCE"
token es384 "${USER_KEYS[@]}" "$KIO_AUDIENCE" ES384
token wrongaud "${USER_KEYS[@]}" wrong-audience.example.com
token noacl "$KIO_NOACL_ACCESS_KEY_ID" "$KIO_NOACL_SECRET_ACCESS_KEY" "$KIO_AUDIENCE"
# A forged token: the good token's header and signature around a payload whose
# sub is ANONYMOUS (the super user). Only a signature check can refuse it.
python3 - "$WORK/good.jwt" "$WORK/forged.jwt" <<'PY'
import base64, json, sys
h, p, s = open(sys.argv[1]).read().strip().split(".")
claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
claims["sub"] = "ANONYMOUS"
p = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
open(sys.argv[2], "w").write(f"{h}.{p}.{s}")
PY

produce good SASL_PLAINTEXT "$KIO_TOPIC"
expect "my-iam-user produces to $KIO_TOPIC over SASL_PLAINTEXT" '"name":"producer_send_success"'
produce good SASL_SSL "$KIO_TOPIC"
expect "my-iam-user produces to $KIO_TOPIC over SASL_SSL (CA from KIO_CA_PEM)" '"name":"producer_send_success"'
produce es384 SASL_PLAINTEXT "$KIO_TOPIC"
expect "an ES384-signed token is accepted too" '"name":"producer_send_success"'
produce wrongaud SASL_PLAINTEXT "$KIO_TOPIC"
expect "a token for another audience fails SASL authentication" 'SaslAuthenticationException.*invalid_token'
if grep -q 'Audience (aud) claim \[wrong-audience.example.com\]' "$KIO_KAFKA_LOG"; then
  pass "the broker log says why (audience)"
else
  fail "the broker log says why (audience)" "$KIO_KAFKA_LOG"
fi
produce forged SASL_PLAINTEXT "$KIO_TOPIC"
expect "a token with a forged payload (sub=ANONYMOUS) fails SASL authentication" 'SaslAuthenticationException.*invalid_token'
produce good SASL_PLAINTEXT "$KIO_OTHER_TOPIC"
expect "my-iam-user producing to $KIO_OTHER_TOPIC gets TOPIC_AUTHORIZATION_FAILED" 'TopicAuthorizationException'
consume good
expect "my-iam-user consumes from $KIO_TOPIC in $KIO_GROUP" '"name":"records_consumed"'
consume noacl
expect "no-acl-user cannot join $KIO_GROUP (GROUP_AUTHORIZATION_FAILED)" 'GroupAuthorizationException'

echo "smoke: $PASSED passed, $FAILED failed"
((FAILED == 0))
