#!/usr/bin/env bash
# harness/kafka-down.sh: stop the broker and the emulator started by kafka-up.sh.
# Safe to call twice, or after a failed start: it only signals processes whose
# command line still shows they belong to this run directory.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUN="$KIO_RUN_DIR"
if [[ ! -d "$RUN" ]]; then
  log "nothing to stop ($RUN does not exist)"
  exit 0
fi
RUN="$(cd "$RUN" && pwd)"

# Suites must not pick up addresses of a harness that is going away.
rm -f "$RUN/env.sh" "$RUN/env.sh.tmp"

# Broker first: it is a client of the emulator's JWKS, not the other way round.
if [[ -f "$RUN/kafka.pid" ]]; then
  stop_pid "$(cat "$RUN/kafka.pid")" "$RUN/server.properties" "Kafka broker"
  rm -f "$RUN/kafka.pid"
fi
if [[ -f "$RUN/emulator.pid" ]]; then
  stop_pid "$(cat "$RUN/emulator.pid")" "$RUN/emulator.url" "emulator"
  rm -f "$RUN/emulator.pid"
fi
log "stopped (logs kept in $RUN)"
