# C: ABI tests (valgrind) and end-to-end tests with real librdkafka through
# include/kafka_iam_oauth_rdkafka.h, against the harness broker.
# Two librdkafka flavours: Debian's 2.0.2 (no KIP-368 re-authentication: the
# broker closes expiring sessions and the client reconnects) and the one
# confluent-kafka's PyPI wheel bundles (re-authenticates in place).
TEST_SUITES += test-c
DEMOS += demo-c

C_BUILD := build/c
CFLAGS_TEST := -Wall -Wextra -Werror -g -Iinclude
LIBDIR := $(CARGO_TARGET_DIR)/debug
C_LINK := -L$(LIBDIR) -lkafka_iam_oauth -Wl,-rpath,$(LIBDIR)
C_TEST_ENV := AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=AKIAEMULATORUSER0001 \
  AWS_SECRET_ACCESS_KEY=emulator-secret-my-iam-user AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
C_NOACL_ENV := AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=AKIAEMULATORUSER0002 \
  AWS_SECRET_ACCESS_KEY=emulator-secret-no-acl-user AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
CKAFKA_WHEEL_VERSION := 2.16.1
# Seconds of the live-refresh run: three 60 s token lifetimes and a bit.
C_REFRESH_SECONDS ?= 200

$(C_BUILD)/abi_test: tests/c/abi_test.c tests/c/check.h include/kafka_iam_oauth.h
	@mkdir -p $(C_BUILD)
	gcc $(CFLAGS_TEST) $< -o $@ $(C_LINK)

$(C_BUILD)/e2e_debian: tests/c/e2e_test.c tests/c/check.h include/kafka_iam_oauth.h include/kafka_iam_oauth_rdkafka.h
	@mkdir -p $(C_BUILD)
	gcc $(CFLAGS_TEST) $< -o $@ $(C_LINK) -lrdkafka

# librdkafka from confluent-kafka's wheel (a PyPI package), linked by path.
$(C_BUILD)/bundled/.done:
	@mkdir -p $(C_BUILD)/bundled
	python3 -m pip download -q --no-deps --only-binary=:all: -d $(C_BUILD)/bundled confluent-kafka==$(CKAFKA_WHEEL_VERSION)
	cd $(C_BUILD)/bundled && python3 -m zipfile -e confluent_kafka-*.whl x >/dev/null
	touch $@

$(C_BUILD)/e2e_bundled: tests/c/e2e_test.c tests/c/check.h include/kafka_iam_oauth_rdkafka.h $(C_BUILD)/bundled/.done
	lib=$$(ls $(C_BUILD)/bundled/x/confluent_kafka.libs/librdkafka*.so* | head -n1); \
	gcc $(CFLAGS_TEST) $< -o $@ $(C_LINK) "$$lib" -Wl,-rpath,$(abspath $(C_BUILD))/bundled/x/confluent_kafka.libs

c-binaries: $(C_BUILD)/abi_test $(C_BUILD)/e2e_debian $(C_BUILD)/e2e_bundled $(C_BUILD)/produce_consume

test-c: c-binaries
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && ./tests/c/run.sh $(C_REFRESH_SECONDS)

$(C_BUILD)/produce_consume: examples/c/produce_consume.c include/kafka_iam_oauth_rdkafka.h
	@mkdir -p $(C_BUILD)
	gcc -Wall -Wextra -Werror -Iinclude $< -o $@ $(C_LINK) -lrdkafka

demo-c: $(C_BUILD)/produce_consume
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && env $(C_TEST_ENV) $(C_BUILD)/produce_consume

.PHONY: c-binaries test-c demo-c
