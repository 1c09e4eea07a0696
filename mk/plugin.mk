# The librdkafka plugin (capi/src/rdkafka.rs, docs/plugin.md): kcat, config-only C
# programs (Debian's librdkafka 2.0.2 and the 2.16 bundled in
# confluent-kafka's wheel) and confluent-kafka-python load
# libkafka_iam_oauth.so by configuration alone (tests/plugin/run.sh).
# Uses CKAFKA_VENV, CKAFKA_FIND_LIB and c-lib from mk/c.mk.
TEST_SUITES += test-plugin
PLUGIN_BUILD := build/plugin
PLUGIN_SO := $(CARGO_TARGET_DIR)/debug/libkafka_iam_oauth.so

$(PLUGIN_BUILD)/config_only_client_debian: tests/plugin/config_only_client.c
	@mkdir -p $(PLUGIN_BUILD)
	gcc $(C_WARN) -g $< -o $@ -lrdkafka

$(PLUGIN_BUILD)/config_only_client_bundled: tests/plugin/config_only_client.c $(CKAFKA_VENV)/.done
	@mkdir -p $(PLUGIN_BUILD)
	@$(CKAFKA_FIND_LIB); set -x; gcc $(C_WARN) -g $< -o $@ "$$lib" -Wl,-rpath,"$$(dirname "$$lib")"

# librdkafka linked statically into a shared object (Debian's librdkafka.a,
# linked as an addon would: only what the client calls), which a host with no
# librdkafka of its own dlopens with local scope.
$(PLUGIN_BUILD)/static_rdkafka_client.so: tests/plugin/config_only_client.c
	@mkdir -p $(PLUGIN_BUILD)
	gcc $(C_WARN) -g -shared -fPIC -Dmain=kio_client_main $< -o $@ \
	  -Wl,-Bstatic -lrdkafka -Wl,-Bdynamic $$(pkg-config --static --libs-only-l rdkafka | sed 's/-lrdkafka //')

$(PLUGIN_BUILD)/local_scope_host: tests/plugin/local_scope_host.c tests/c/check.h
	@mkdir -p $(PLUGIN_BUILD)
	gcc $(C_WARN) -g $< -o $@ -ldl

$(PLUGIN_BUILD)/no_rdkafka_host: tests/plugin/no_rdkafka_host.c tests/c/check.h
	@mkdir -p $(PLUGIN_BUILD)
	gcc $(C_WARN) -g $< -o $@ -ldl

# Two librdkafka copies: Debian's linked, the wheel's dlopened privately at run time.
$(PLUGIN_BUILD)/two_copies: tests/plugin/two_copies.c tests/c/check.h
	@mkdir -p $(PLUGIN_BUILD)
	gcc $(C_WARN) -g $< -o $@ -lrdkafka -ldl

$(PLUGIN_BUILD)/two_copies_asan: tests/plugin/two_copies.c tests/c/check.h
	@mkdir -p $(PLUGIN_BUILD)
	gcc $(C_WARN) -g -fsanitize=address -fno-omit-frame-pointer $< -o $@ -lrdkafka -ldl

# The outage test: the plugin by configuration; linked with the C ABI only to
# read the shared cache entry's stats, -rdynamic to time the refresh callback.
$(PLUGIN_BUILD)/outage: tests/plugin/outage.c tests/c/check.h include/kafka_iam_oauth.h | c-lib
	@mkdir -p $(PLUGIN_BUILD)
	gcc $(C_WARN) -g -Iinclude -rdynamic $< -o $@ $(C_LINK) -lrdkafka -ldl

PLUGIN_BINARIES := $(addprefix $(PLUGIN_BUILD)/,config_only_client_debian config_only_client_bundled no_rdkafka_host \
  two_copies two_copies_asan outage static_rdkafka_client.so local_scope_host)
plugin-binaries: $(PLUGIN_BINARIES) | c-lib

test-plugin: plugin-binaries $(CKAFKA_VENV)/.done
	@$(CKAFKA_FIND_LIB); source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && \
	  KIO_WHEEL_RDKAFKA="$$lib" ./tests/plugin/run.sh "$(abspath $(PLUGIN_SO))"

.PHONY: plugin-binaries test-plugin
