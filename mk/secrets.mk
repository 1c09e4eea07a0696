# Secrets never reach a log (issue 13): tests/secrets.rs makes a
# credential_process leak a fake key id and secret to stderr and checks
# every error and tracing event; then tests/secrets/grep-logs.sh greps the
# logs of every suite of this `make test` (build/**, the harness run dir)
# for those strings.
#
# It must run LAST, after the suites whose logs it greps. mk/*.mk are
# included in alphabetical order and each appends to TEST_SUITES, so a
# plain `TEST_SUITES += test-secrets` here would run before any mk file
# named after "secrets". A target-specific append is expanded when `make
# test` runs its recipe, after every mk file has added its suites, so
# test-secrets is always the last word of $(TEST_SUITES) there.
test: TEST_SUITES += test-secrets

SECRETS_LOG := build/secrets

test-secrets:
	@rm -rf $(SECRETS_LOG) && mkdir -p $(SECRETS_LOG)
	@KIO_SECRETS_LOG_DIR=$(abspath $(SECRETS_LOG)) cargo test -q -p kafka-iam-oauth --test secrets -- --nocapture \
	  >$(SECRETS_LOG)/rust.log 2>&1; rust=$$?; \
	grep -h -E '^test result|panicked|^---- ' $(SECRETS_LOG)/rust.log; \
	if [ $$rust -ne 0 ]; then tail -n 40 $(SECRETS_LOG)/rust.log; fi; \
	./tests/secrets/grep-logs.sh; grep=$$?; \
	echo "test-secrets: rust $$([ $$rust -eq 0 ] && echo passed || echo FAILED), log grep $$([ $$grep -eq 0 ] && echo clean || echo FOUND A SECRET)"; \
	[ $$rust -eq 0 ] && [ $$grep -eq 0 ]

.PHONY: test-secrets
