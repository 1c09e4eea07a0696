# Credential rotation (issue 14): the harness emulator's sources hand out
# credentials that expire every 180 s while an IRSA and an IMDSv2 producer
# run side by side for 3 lifetimes + 60 s (about 10 minutes, nearly all of
# it waiting: it can run beside other suites). The test is ignored in
# plain `cargo test`; this target runs it (the recipe is mk/credentials.mk's).
TEST_SUITES += test-rotation

ROTATION_LOG := build/rotation

test-rotation:
	$(call broker-sources-suite,$(ROTATION_LOG)/rotation.log,--ignored --exact rotation_across_three_credential_lifetimes,Rotation (IRSA and IMDSv2 producers across 3 credential lifetimes of 180 s))

.PHONY: test-rotation
