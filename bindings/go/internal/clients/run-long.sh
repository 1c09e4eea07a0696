#!/usr/bin/env bash
# The sleeping part of the Go suite (make test-go-clients, run beside the
# other suites with KIO_ISOLATED=1): sarama, franz-go and kafka-go side by
# side through three 60 s token lifetimes (TestLong* in this module).
# Called with the harness env loaded and CGO_LDFLAGS pointing at the Rust
# library. Prints one summary line.
set -uo pipefail
cd "$(dirname "$0")"
tag=$(basename "${KIO_RUN_DIR:-harness}" | tr -c 'A-Za-z0-9_\n-' '_')
logs=$(mkdir -p "../../../../build/go/logs/$tag" && cd "../../../../build/go/logs/$tag" && pwd)
export AWS_EC2_METADATA_DISABLED=true
go test -count=1 -v -run 'TestLong' -timeout "${GO_CLIENTS_TEST_TIMEOUT:-9m}" . >"$logs/clients-long.log" 2>&1
rc=$?
grep -v '^\[sarama\]' "$logs/clients-long.log" | grep -E '^(---|ok|FAIL|panic)|long_test.go' | head -n 60
passed=$(grep -c '^--- PASS' "$logs/clients-long.log")
fails=$(grep -c '^--- FAIL' "$logs/clients-long.log")
[ $rc -ne 0 ] && [ "$fails" -eq 0 ] && fails=1 # a build failure or a panic outside a test
echo "Go clients: $passed passed, $fails failed (sarama, franz-go, kafka-go through three token lifetimes; log build/go/logs/$tag/clients-long.log)"
[ "$fails" -eq 0 ] && [ "$passed" -gt 0 ]
