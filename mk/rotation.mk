# Credential rotation (issue 14): the harness emulator's sources hand out
# credentials that expire every 180 s while an IRSA and an IMDSv2 producer
# run side by side for 3 lifetimes + 60 s (about 10 minutes, nearly all of
# it waiting: it can run beside other suites). The test is ignored in
# plain `cargo test`; this target runs it.
TEST_SUITES += test-rotation

ROTATION_LOG := build/rotation

test-rotation:
	@mkdir -p $(ROTATION_LOG)
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && \
	cargo test -q -p kafka-iam-oauth --features $(RDKAFKA_FEATURES) --test broker_sources -- \
	  --ignored --exact rotation_across_three_credential_lifetimes --show-output \
	  >$(ROTATION_LOG)/rotation.log 2>&1; rc=$$?; \
	grep -h -o -E 'delivered .*|^arn:.*tokens signed by.*|panicked.*|^---- .*' $(ROTATION_LOG)/rotation.log; \
	[ $$rc -eq 0 ] || tail -n 40 $(ROTATION_LOG)/rotation.log; \
	passed=$$(grep '^test result:' $(ROTATION_LOG)/rotation.log | tail -n 1 | awk '{for (i = 2; i <= NF; i++) if ($$i ~ /^passed/) n += $$(i-1)} END {print n+0}'); \
	failed=$$(grep '^test result:' $(ROTATION_LOG)/rotation.log | tail -n 1 | awk '{for (i = 2; i <= NF; i++) if ($$i ~ /^failed/) n += $$(i-1)} END {print n+0}'); \
	if [ $$rc -ne 0 ] && [ "$${failed:-0}" -eq 0 ]; then failed=1; fi; \
	echo "Rotation: $${passed:-0} passed, $${failed:-0} failed (IRSA and IMDSv2 producers across 3 credential lifetimes of 180 s)"; \
	[ "$${failed:-0}" -eq 0 ] && [ "$${passed:-0}" -gt 0 ]

.PHONY: test-rotation
