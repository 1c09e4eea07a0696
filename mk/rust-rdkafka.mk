# Rust with rust-rdkafka: the `rdkafka` feature's IamOAuthContext, its
# end-to-end test against the broker and examples/rust. rust-rdkafka builds
# its own librdkafka (2.12) from crates.io sources; `ssl` (OpenSSL from
# Debian's libssl-dev) is for SASL_SSL.
TEST_SUITES += test-rust-rdkafka
DEMOS += demo-rust

# With --workspace (not -p): only the rdkafka crates and the core are built
# again; the rest is make build's (Makefile, CARGO_BUILD_DEV).
RDKAFKA_FEATURES := kafka-iam-oauth/rdkafka,rdkafka/ssl
RUST_RDKAFKA_LOG := build/rust-rdkafka
RUST_DEMO_AWS := AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID="$$KIO_USER_ACCESS_KEY_ID" \
  AWS_SECRET_ACCESS_KEY="$$KIO_USER_SECRET_ACCESS_KEY" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

# The e2e test (tests/rdkafka_e2e.rs) and the module's doc example; the long
# test (a StreamConsumer across 60 s token lifetimes) runs alongside the rest.
test-rust-rdkafka:
	@mkdir -p $(RUST_RDKAFKA_LOG)
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && \
	cargo test -q --workspace --features $(RDKAFKA_FEATURES) --test rdkafka_e2e -- --test-threads=8 --show-output \
	  >$(RUST_RDKAFKA_LOG)/e2e.log 2>&1; e2e=$$?; \
	cargo test -q --workspace --features $(RDKAFKA_FEATURES) --doc -- rdkafka \
	  >$(RUST_RDKAFKA_LOG)/doc.log 2>&1; doc=$$?; \
	grep -h -E '^produced|panicked|^---- ' $(RUST_RDKAFKA_LOG)/e2e.log; \
	if [ $$e2e -ne 0 ] || [ $$doc -ne 0 ]; then tail -n 40 $(RUST_RDKAFKA_LOG)/e2e.log $(RUST_RDKAFKA_LOG)/doc.log; fi; \
	passed=$$(awk '/^test result:/ {for (i = 2; i <= NF; i++) if ($$i ~ /^passed/) n += $$(i-1)} END {print n+0}' $(RUST_RDKAFKA_LOG)/*.log); \
	failed=$$(awk '/^test result:/ {for (i = 2; i <= NF; i++) if ($$i ~ /^failed/) n += $$(i-1)} END {print n+0}' $(RUST_RDKAFKA_LOG)/*.log); \
	if [ $$e2e -ne 0 ] || [ $$doc -ne 0 ]; then [ "$${failed:-0}" -gt 0 ] || failed=1; fi; \
	echo "Rust (rust-rdkafka): $${passed:-0} passed, $${failed:-0} failed (e2e against the broker + doc example)"; \
	[ "$${failed:-0}" -eq 0 ] && [ "$${passed:-0}" -gt 0 ]

demo-rust:
	@cargo build -q --workspace --features $(RDKAFKA_FEATURES) --example rdkafka_produce_consume
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && \
	env $(RUST_DEMO_AWS) KAFKA_BOOTSTRAP_SERVERS="$$KIO_BOOTSTRAP_SSL" KAFKA_SECURITY_PROTOCOL=SASL_SSL \
	  SSL_CA_LOCATION="$$KIO_CA_PEM" KAFKA_TOPIC="$$KIO_TOPIC" KAFKA_GROUP="$$KIO_GROUP" \
	  SASL_OAUTHBEARER_CONFIG="region=eu-west-1,audience=$$KIO_AUDIENCE,sts_endpoint=$$KIO_EMULATOR_URL" \
	  $(CARGO_TARGET_DIR)/debug/examples/rdkafka_produce_consume

.PHONY: test-rust-rdkafka demo-rust
