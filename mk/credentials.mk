# Credential sources at the broker (issue 14): EKS IRSA and EC2 IMDSv2 in
# child processes with only their runtime's environment, producing as the
# role ARN (tests/broker_sources.rs; the in-process scenarios of every
# source are tests/credential_sources.rs in test-rust). Same features as
# test-rust-rdkafka, so the librdkafka build is shared.
TEST_SUITES += test-credential-sources

CREDENTIAL_SOURCES_LOG := build/credential-sources

test-credential-sources:
	@mkdir -p $(CREDENTIAL_SOURCES_LOG)
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && \
	cargo test -q -p kafka-iam-oauth --features $(RDKAFKA_FEATURES) --test broker_sources -- --show-output \
	  >$(CREDENTIAL_SOURCES_LOG)/broker.log 2>&1; rc=$$?; \
	grep -h -o -E 'delivered .*|panicked.*|^---- .*' $(CREDENTIAL_SOURCES_LOG)/broker.log; \
	[ $$rc -eq 0 ] || tail -n 40 $(CREDENTIAL_SOURCES_LOG)/broker.log; \
	passed=$$(grep '^test result:' $(CREDENTIAL_SOURCES_LOG)/broker.log | tail -n 1 | awk '{for (i = 2; i <= NF; i++) if ($$i ~ /^passed/) n += $$(i-1)} END {print n+0}'); \
	failed=$$(grep '^test result:' $(CREDENTIAL_SOURCES_LOG)/broker.log | tail -n 1 | awk '{for (i = 2; i <= NF; i++) if ($$i ~ /^failed/) n += $$(i-1)} END {print n+0}'); \
	if [ $$rc -ne 0 ] && [ "$${failed:-0}" -eq 0 ]; then failed=1; fi; \
	echo "Credential sources at the broker: $${passed:-0} passed, $${failed:-0} failed (IRSA and IMDSv2 as their role ARN)"; \
	[ "$${failed:-0}" -eq 0 ] && [ "$${passed:-0}" -gt 0 ]

.PHONY: test-credential-sources
