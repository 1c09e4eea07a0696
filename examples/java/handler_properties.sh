#!/usr/bin/env bash
# Prints the whole configuration a Kafka Java client needs to authenticate
# with our login callback handler (the JAR on the class path; docs/java.md):
#
#   examples/java/handler_properties.sh CONFIG CA_PEM > client.properties
#
# CONFIG is the library's configuration string (README's keys), e.g.
# "region=eu-west-1,audience=my-kafka.example.com". Kafka's sasl.login.refresh.*
# defaults are right: the library refreshes the token before Kafka asks.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 CONFIG CA_PEM" >&2; exit 2; }
cat <<PROPS
security.protocol=SASL_SSL
ssl.truststore.type=PEM
ssl.truststore.location=$2
sasl.mechanism=OAUTHBEARER
sasl.login.callback.handler.class=io.github.kafkaiamoauth.IamOAuthLoginCallbackHandler
sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required config="$1";
PROPS
