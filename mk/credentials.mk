# Credential sources at the broker (issue 14): EKS IRSA and EC2 IMDSv2 in
# child processes with only their runtime's environment, producing as the
# role ARN (tests/broker_sources.rs; the in-process scenarios of every
# source are tests/credential_sources.rs in test-rust). Same features as
# test-rust-rdkafka, so the librdkafka build is shared.
TEST_SUITES += test-credential-sources

CREDENTIAL_SOURCES_LOG := build/credential-sources

# $(call broker-sources-suite,LOG,CARGO TEST ARGS,SUMMARY): runs
# tests/broker_sources.rs with the harness's env.sh into LOG, shows its
# result lines and prints "SUMMARY: N passed, M failed" from the last
# `test result:` line (the children's own lines come before it).
define broker-sources-suite
@mkdir -p $(dir $(1))
@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && \
cargo test -q --workspace --features $(RDKAFKA_FEATURES) --test broker_sources -- $(2) --show-output \
  >$(1) 2>&1; rc=$$?; \
grep -h -o -E 'delivered .*|^arn:.*tokens signed by.*|panicked.*|^---- .*' $(1); \
[ $$rc -eq 0 ] || tail -n 40 $(1); \
result=$$(grep '^test result:' $(1) | tail -n 1); \
passed=$$(awk '{for (i = 2; i <= NF; i++) if ($$i ~ /^passed/) n += $$(i-1)} END {print n+0}' <<<"$$result"); \
failed=$$(awk '{for (i = 2; i <= NF; i++) if ($$i ~ /^failed/) n += $$(i-1)} END {print n+0}' <<<"$$result"); \
if [ $$rc -ne 0 ] && [ "$${failed:-0}" -eq 0 ]; then failed=1; fi; \
echo "$(3): $${passed:-0} passed, $${failed:-0} failed"; \
[ "$${failed:-0}" -eq 0 ] && [ "$${passed:-0}" -gt 0 ]
endef

test-credential-sources:
	$(call broker-sources-suite,$(CREDENTIAL_SOURCES_LOG)/broker.log,,Credential sources at the broker (IRSA and IMDSv2 as their role ARN))

.PHONY: test-credential-sources
