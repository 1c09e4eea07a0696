# C: ABI tests (valgrind, AddressSanitizer/UBSan) and end-to-end tests with
# real librdkafka, the library attached through include/kafka_iam_oauth_rdkafka.h
# and through plugin.library.paths, against the harness broker
# (tests/c/run.sh; docs/c.md).
# Two librdkafka flavours: Debian's 2.0.2 (no KIP-368 re-authentication: the
# broker closes expiring sessions and the client reconnects) and the 2.16 that
# confluent-kafka's PyPI wheel bundles (re-authenticates in place), taken
# from a small venv that the plugin suite (mk/plugin.mk) uses as well.
TEST_SUITES += test-c
DEMOS += demo-c

C_BUILD := build/c
C_WARN := -Wall -Wextra -Werror
CFLAGS_TEST := $(C_WARN) -g -Iinclude
C_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer
LIBDIR := $(CARGO_TARGET_DIR)/debug
C_LINK := -L$(LIBDIR) -lkafka_iam_oauth -Wl,-rpath,$(LIBDIR)
C_HEADERS := include/kafka_iam_oauth.h include/kafka_iam_oauth_rdkafka.h tests/c/check.h
# Seconds of the live-refresh run: three 60 s token lifetimes and a bit.
C_REFRESH_SECONDS ?= 200

# confluent-kafka from PyPI: its wheel bundles librdkafka 2.16 (loaded
# privately by the Python extension; the C tests link it by path).
CKAFKA_VERSION := 2.16.1
CKAFKA_VENV := build/venv-plugin
$(CKAFKA_VENV)/.done:
	python3 -m venv $(CKAFKA_VENV)
	$(CKAFKA_VENV)/bin/python -m pip install -q --disable-pip-version-check confluent-kafka==$(CKAFKA_VERSION)
	touch $@
# Shell snippet: the bundled librdkafka's absolute path in $lib.
CKAFKA_FIND_LIB := lib=$$(ls "$(abspath $(CKAFKA_VENV))"/lib/python3*/site-packages/confluent_kafka.libs/librdkafka*.so* | head -n1); \
  [ -n "$$lib" ] || { echo "no librdkafka in $(CKAFKA_VENV)" >&2; exit 1; }

# The library the programs link (a no-op when up to date).
c-lib:
	@$(call build-c-lib,debug)

$(C_BUILD)/abi_test: tests/c/abi_test.c $(C_HEADERS) | c-lib
	@mkdir -p $(C_BUILD)
	gcc $(CFLAGS_TEST) $< -o $@ $(C_LINK)

$(C_BUILD)/abi_test_asan: tests/c/abi_test.c $(C_HEADERS) | c-lib
	@mkdir -p $(C_BUILD)
	gcc $(CFLAGS_TEST) $(C_SAN) $< -o $@ $(C_LINK)

$(C_BUILD)/e2e_debian: tests/c/e2e_test.c $(C_HEADERS) | c-lib
	@mkdir -p $(C_BUILD)
	gcc $(CFLAGS_TEST) $< -o $@ $(C_LINK) -lrdkafka

$(C_BUILD)/e2e_asan: tests/c/e2e_test.c $(C_HEADERS) | c-lib
	@mkdir -p $(C_BUILD)
	gcc $(CFLAGS_TEST) $(C_SAN) $< -o $@ $(C_LINK) -lrdkafka

# Debian's headers (the functions used are the same in 2.16), the wheel's
# librdkafka linked by path.
$(C_BUILD)/e2e_bundled: tests/c/e2e_test.c $(C_HEADERS) $(CKAFKA_VENV)/.done | c-lib
	@mkdir -p $(C_BUILD)
	@$(CKAFKA_FIND_LIB); set -x; gcc $(CFLAGS_TEST) $< -o $@ $(C_LINK) "$$lib" -Wl,-rpath,"$$(dirname "$$lib")"

$(C_BUILD)/produce_consume: examples/c/produce_consume.c include/kafka_iam_oauth.h include/kafka_iam_oauth_rdkafka.h | c-lib
	@mkdir -p $(C_BUILD)
	gcc $(C_WARN) -Iinclude $< -o $@ $(C_LINK) -lrdkafka

C_BINARIES := $(addprefix $(C_BUILD)/,abi_test abi_test_asan e2e_debian e2e_asan e2e_bundled produce_consume)
c-binaries: $(C_BINARIES)

test-c: c-binaries
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && \
	  KIO_PLUGIN_SO="$(abspath $(LIBDIR))/libkafka_iam_oauth.so" ./tests/c/run.sh $(C_REFRESH_SECONDS)

demo-c: $(C_BUILD)/produce_consume
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && \
	  AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	  AWS_ACCESS_KEY_ID="$$KIO_USER_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$$KIO_USER_SECRET_ACCESS_KEY" \
	  $(C_BUILD)/produce_consume

.PHONY: c-lib c-binaries test-c demo-c
