#!/usr/bin/env bash
# The Maven program examples/java/handler (our login callback handler in the
# JVM, no sidecar) against the local broker: `make demo-java-handler`.
# Environment: the harness's env.sh and my-iam-user's keys; against real
# AWS, your usual credential chain and the program's config string.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck disable=SC1091
source "${KIO_RUN_DIR:-harness/.run}/env.sh"
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_ACCESS_KEY_ID=$KIO_USER_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$KIO_USER_SECRET_ACCESS_KEY
exec mvn -B -q -Dstyle.color=never -f examples/java/handler/pom.xml compile exec:java
