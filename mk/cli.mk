# The kafka-iam-oauth command (cli/): its integration tests with the
# harness (feature broker-tests: verify vs the broker, doctor's broker
# steps, acls applied with Kafka's AclCommand, serve through an STS outage
# of one 60 s token lifetime), and `doctor` against the local broker in
# `make demo`. The tests without a broker run in test-rust.
TEST_SUITES += test-cli
DEMOS += demo-cli

CLI_LOG := build/cli
CLI_DEMO_AWS := AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID="$$KIO_USER_ACCESS_KEY_ID" \
  AWS_SECRET_ACCESS_KEY="$$KIO_USER_SECRET_ACCESS_KEY" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

test-cli:
	@mkdir -p $(CLI_LOG)
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && \
	cargo test --workspace --features kafka-iam-oauth-cli/broker-tests --test broker -- --test-threads=8 --nocapture \
	  >$(CLI_LOG)/test.log 2>&1; rc=$$?; \
	grep -h -E ': broker (accepts|rejects)|panicked|^---- |^test result' $(CLI_LOG)/test.log; \
	if [ $$rc -ne 0 ]; then tail -n 60 $(CLI_LOG)/test.log; fi; \
	passed=$$(awk '/^test result:/ {for (i = 2; i <= NF; i++) if ($$i ~ /^passed/) n += $$(i-1)} END {print n+0}' $(CLI_LOG)/test.log); \
	failed=$$(awk '/^test result:/ {for (i = 2; i <= NF; i++) if ($$i ~ /^failed/) n += $$(i-1)} END {print n+0}' $(CLI_LOG)/test.log); \
	if [ $$rc -ne 0 ] && [ "$${failed:-0}" -eq 0 ]; then failed=1; fi; \
	echo "CLI (kafka-iam-oauth): $${passed:-0} passed, $${failed:-0} failed (whoami/token/serve/doctor/verify/acls, against the emulator and the broker)"; \
	[ "$${failed:-0}" -eq 0 ] && [ "$${passed:-0}" -gt 0 ]

# doctor against the local broker: every check, SASL_SSL with the harness CA.
demo-cli:
	@$(CARGO_BUILD_DEV)
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && \
	env $(CLI_DEMO_AWS) $(CARGO_TARGET_DIR)/debug/kafka-iam-oauth \
	  --config "region=eu-west-1,audience=$$KIO_AUDIENCE,sts_endpoint=$$KIO_EMULATOR_URL" \
	  doctor --bootstrap "$$KIO_BOOTSTRAP_SSL" --ca "$$KIO_CA_PEM" --topic "$$KIO_TOPIC" --group "$$KIO_GROUP" \
	  --issuer "$$KIO_ISSUER" --audience "$$KIO_AUDIENCE"

.PHONY: test-cli demo-cli
