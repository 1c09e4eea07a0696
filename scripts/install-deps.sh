#!/usr/bin/env bash
# Installs the system packages the suites need, from Debian's repositories.
# Idempotent and quiet when everything is there already.
set -euo pipefail
need=()
for pkg in librdkafka-dev kcat pkg-config valgrind openssl curl libssl-dev python3-venv; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${need[*]}"
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
