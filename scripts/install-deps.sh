#!/usr/bin/env bash
# Installs the system packages the suites need, from Debian's repositories.
# Idempotent and quiet when everything is there already.
set -euo pipefail
need=()
# The compression/SASL/curl dev packages: test-plugin links Debian's
# librdkafka.a into a shared object, and confluent-kafka-javascript's source
# build (mk/node-ckjs.mk) builds its librdkafka against them.
for pkg in librdkafka-dev kcat pkg-config valgrind openssl curl libssl-dev python3-venv \
  liblz4-dev libzstd-dev libsasl2-dev libcurl4-openssl-dev zlib1g-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${need[*]}"
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
