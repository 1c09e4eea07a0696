# shellcheck shell=bash disable=SC2034 # variables here are used by the scripts that source it
# harness/lib.sh: helpers shared by kafka-up.sh, kafka-down.sh and smoke.sh.
# Source it; it does not change shell options of its caller.

# Repository root and the harness directory, whatever the caller's cwd.
KIO_HARNESS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KIO_REPO_ROOT="$(cd "$KIO_HARNESS_DIR/.." && pwd)"

# Where the running harness keeps its files (certs, logs, pids, env.sh).
: "${KIO_RUN_DIR:=$KIO_HARNESS_DIR/.run}"
# Kafka version to run; must match a version on Maven Central with kafka-tools too.
: "${KIO_KAFKA_VERSION:=4.3.1}"
: "${KIO_CACHE_DIR:=${HOME}/.cache/kafka-iam-oauth}"
KIO_KAFKA_JARS_DIR="$KIO_CACHE_DIR/kafka-$KIO_KAFKA_VERSION"

log() { printf '[harness] %s\n' "$*" >&2; }
die() { printf '[harness] ERROR: %s\n' "$*" >&2; exit 1; }

# free_ports N: print N distinct free TCP ports on 127.0.0.1, one a line.
# All sockets stay bound until every port is chosen, so the N are distinct.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
PY
}

# wait_for TIMEOUT_S DESCRIPTION CMD...: run CMD every 0.5 s until it succeeds.
# Returns 1 after TIMEOUT_S seconds. CMD should be quiet (its output is shown).
wait_for() {
  local timeout=$1 what=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      log "timed out after ${timeout}s waiting for $what"
      return 1
    fi
    sleep 0.5
  done
}

# pid_alive PID: the process exists (and is not a zombie).
pid_alive() {
  [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null &&
    ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# pid_matches PID PATTERN: the process's command line contains PATTERN.
# Guards against killing an unrelated process that reused a stale pid.
pid_matches() {
  pid_alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# pidfile_running FILE PATTERN: FILE holds the pid of a live process whose
# command line contains PATTERN.
pidfile_running() {
  [[ -f "$1" ]] && pid_matches "$(cat "$1")" "$2"
}

# stop_pid PID PATTERN NAME: TERM, wait up to 20 s, then KILL.
stop_pid() {
  local pid=$1 pattern=$2 name=$3
  pid_matches "$pid" "$pattern" || return 0
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 20))
  while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  if pid_alive "$pid"; then
    log "$name did not stop after TERM; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
}

# kafka_java CLASS ARGS...: run a short-lived Kafka tool JVM on the cached jars,
# logging only warnings (to stderr) so its stdout stays readable. It is killed
# after KIO_TOOL_TIMEOUT seconds (default 60) so a stuck tool cannot hang a run.
kafka_java() {
  local class=$1; shift
  # shellcheck disable=SC2086 # KIO_TOOL_JAVA_OPTS is deliberately word-split
  timeout --kill-after=5 "${KIO_TOOL_TIMEOUT:-60}" java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$KIO_HARNESS_DIR/log4j2-tools.xml" \
    ${KIO_TOOL_JAVA_OPTS:-} \
    -cp "$KIO_KAFKA_JARS_DIR/*" "$class" "$@"
}

# fetch_kafka_jars: copy Kafka + log4j2 jars from Maven Central once, then reuse.
# A stamp file marks a complete copy, so an interrupted download is redone.
fetch_kafka_jars() {
  if [[ -f "$KIO_KAFKA_JARS_DIR/.complete" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (install Maven: apt-get install -y maven)"
  log "fetching Apache Kafka $KIO_KAFKA_VERSION jars from Maven Central into $KIO_KAFKA_JARS_DIR"
  local tmp="$KIO_KAFKA_JARS_DIR.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # -f keeps Maven's output out of the work tree; -B: no progress noise. Maven's
  # output is only shown when it fails (even -q prints stray colour codes).
  if ! mvn -q -B -Dstyle.color=never -f "$KIO_HARNESS_DIR/pom.xml" dependency:copy-dependencies \
      -Dkafka.version="$KIO_KAFKA_VERSION" -DoutputDirectory="$tmp" >"$tmp.log" 2>&1; then
    cat "$tmp.log" >&2
    rm -rf "$tmp" "$tmp.log"
    die "mvn could not fetch Kafka $KIO_KAFKA_VERSION jars"
  fi
  rm -f "$tmp.log"
  rm -rf "$KIO_KAFKA_JARS_DIR"
  mv "$tmp" "$KIO_KAFKA_JARS_DIR"
  touch "$KIO_KAFKA_JARS_DIR/.complete"
}
