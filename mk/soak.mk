# make soak: benches/soak.rs (issue 13, "Thread churn"). Not in TEST_SUITES:
# it prints figures instead of passing or failing on them; its bounded
# version is tests/soak.rs, run by `cargo test` in test-rust.
# No broker: the bench starts its own in-process emulator on 127.0.0.1.
# SOAK_THREADS, SOAK_CONFIGS, SOAK_CALLS, SOAK_IDLE_MS override the sizes.
soak:
	AWS_EC2_METADATA_DISABLED=true cargo bench -p kafka-iam-oauth --bench soak

.PHONY: soak
