#!/usr/bin/env bash
# Starts the emulator + broker, runs each language's demo target, stops them.
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_EC2_METADATA_DISABLED=true
trap './harness/kafka-down.sh >/dev/null 2>&1 || true' EXIT
./harness/kafka-up.sh
# shellcheck disable=SC1091
source harness/.run/env.sh
echo
echo "Local STS emulator: $KIO_EMULATOR_URL   Kafka: $KIO_BOOTSTRAP_PLAINTEXT (SASL_PLAINTEXT), $KIO_BOOTSTRAP_SSL (SASL_SSL)"
for demo in "$@"; do
  echo
  echo "===== $demo"
  make --no-print-directory "$demo"
done
echo
echo "Demo finished; stopping the broker and the emulator."
