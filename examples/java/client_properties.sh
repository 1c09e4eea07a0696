#!/usr/bin/env bash
# Prints the whole configuration a Kafka Java client needs to authenticate
# with the token file `kafka-iam-oauth serve --token-file` keeps (README,
# "Java and other JVM clients"; docs/java.md):
#
#   examples/java/client_properties.sh TOKEN_FILE CA_PEM > client.properties
#
# The JVM also needs -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=file://TOKEN_FILE.
# Kafka's sasl.login.refresh.* defaults are right (our refresh comes first).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 TOKEN_FILE CA_PEM" >&2; exit 2; }
cat <<PROPS
security.protocol=SASL_SSL
ssl.truststore.type=PEM
ssl.truststore.location=$2
sasl.mechanism=OAUTHBEARER
sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
sasl.login.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler
sasl.oauthbearer.token.endpoint.url=file://$1
PROPS
