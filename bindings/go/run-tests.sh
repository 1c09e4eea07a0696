#!/usr/bin/env bash
# The Go suite (called by `make test-go` with the harness env loaded and
# CGO_LDFLAGS pointing at the Rust library): gofmt + vet, every test under
# the race detector against the static library (unit tests against a
# private emulator, end-to-end tests through confluent-kafka-go against the
# broker), the link test against the shared library (-tags dynamic,
# pkg-config), a build of examples/go, and the pure-Go clients' adapters
# (sarama, franz, kafkago: each its own module, vetted and tested under the
# race detector) with their quick end-to-end tests (internal/clients; its
# TestLong* run in make test-go-clients). Prints one summary line.
set -uo pipefail
cd "$(dirname "$0")"
# One log directory per harness run dir, so suites run at once in this tree
# (each with its own KIO_RUN_DIR) do not write over each other's logs.
tag=$(basename "${KIO_RUN_DIR:-harness}" | tr -c 'A-Za-z0-9_\n-' '_')
logs=$(mkdir -p "../../build/go/logs/$tag" && cd "../../build/go/logs/$tag" && pwd)
bin=$(mkdir -p ../../build/go/bin && cd ../../build/go/bin && pwd)
export AWS_EC2_METADATA_DISABLED=true
failed=0
adapter_logs=()
step() { # name, command...
  local name=$1; shift
  if ! "$@" >"$logs/$name.log" 2>&1; then
    echo "Go: $name failed:"; tail -n 40 "$logs/$name.log"; failed=$((failed + 1))
  fi
}

# Static library (the default), race detector on, every test. It runs in the
# background: the long end-to-end test mostly waits, so the checks below
# build meanwhile.
go test -race -count=1 -v -timeout "${GO_TEST_TIMEOUT:-12m}" ./... >"$logs/test-static.log" 2>&1 &
static_pid=$!

unformatted=$(gofmt -l . ../../examples/go)
if [ -n "$unformatted" ]; then echo "Go: not gofmt-formatted: $unformatted"; failed=$((failed + 1)); fi
step vet go vet ./...
(cd ../../examples/go && go vet ./... && go build -o "$bin/" ./...) >"$logs/examples.log" 2>&1 ||
  { echo "Go: examples/go does not build:"; tail -n 20 "$logs/examples.log"; failed=$((failed + 1)); }
# The pure-Go clients' adapters: each module's unit tests (a private
# emulator) under the race detector, then the refusals end to end against
# the broker, all three clients in one process. That one is built without
# -race: the same test binary as make test-go-clients (run beside this
# suite), so it is built once.
for m in sarama franz kafkago internal/clients; do
  name=adapter-$(basename "$m")
  flags=(-race); [ "$m" = internal/clients ] && flags=(-skip TestLong)
  (cd "$m" && go vet ./... && go test "${flags[@]}" -count=1 -v ./...) >"$logs/$name.log" 2>&1
  adapter_logs+=("$logs/$name.log")
done
# Shared library through pkg-config: the unit tests that prove linking and use.
go test -tags dynamic -race -count=1 -v -run 'TestLinkModeIsTheOneBuilt|TestVersionMatchesTheHeader|TestTokenIsAJWTForTheIAMPrincipal' . \
  >"$logs/test-dynamic.log" 2>&1
dynamic_rc=$?
wait $static_pid
static_rc=$?

passed=$(cat "$logs/test-static.log" "$logs/test-dynamic.log" "${adapter_logs[@]}" | grep -c '^--- PASS')
fails=$(cat "$logs/test-static.log" "$logs/test-dynamic.log" "${adapter_logs[@]}" | grep -c '^--- FAIL')
grep -h -E '^(ok|FAIL|---) ' "$logs/test-static.log" "$logs/test-dynamic.log" "${adapter_logs[@]}" | grep -v -- '--- PASS'
for log in "${adapter_logs[@]}"; do
  if ! grep -q '^ok' "$log" || grep -q -E '^(FAIL|panic:|# )' "$log"; then
    echo "Go: $(basename "$log" .log) failed:"; grep -v '^\[sarama\]' "$log" | grep -B2 -A20 -E '^(--- FAIL|panic:|FAIL|# |vet:)' | head -n 60
    [ "$(grep -c '^--- FAIL' "$log")" -gt 0 ] || failed=$((failed + 1))
  fi
done
grep -h 'produced .* messages over' "$logs/test-static.log" || true
if [ $static_rc -ne 0 ] || [ $dynamic_rc -ne 0 ]; then
  [ "$fails" -gt 0 ] || fails=1 # a build failure or a panic outside a test
  grep -h -B2 -A30 -E '^(--- FAIL|panic:|FAIL	|# )' "$logs/test-static.log" "$logs/test-dynamic.log" | grep -v '^%' | head -n 80
fi
fails=$((fails + failed))
echo "Go: $passed passed, $fails failed (go test -race; static and -tags dynamic; the sarama, franz-go and kafka-go adapters; logs in build/go/logs/$tag)"
[ "$fails" -eq 0 ] && [ "$passed" -gt 0 ]
