# The librdkafka plugin: kcat, a config-only C program and confluent-kafka-python
# load libkafka_iam_oauth.so by configuration alone.
TEST_SUITES += test-plugin
PLUGIN_BUILD := build/plugin

$(PLUGIN_BUILD)/config_only_client: tests/plugin/config_only_client.c
	@mkdir -p $(PLUGIN_BUILD)
	gcc -Wall -Wextra -Werror -g $< -o $@ -lrdkafka

# confluent-kafka from PyPI (its wheel bundles librdkafka 2.x).
$(PLUGIN_BUILD)/venv/.done:
	@mkdir -p $(PLUGIN_BUILD)
	python3 -m venv $(PLUGIN_BUILD)/venv
	$(PLUGIN_BUILD)/venv/bin/pip install -q confluent-kafka==$(CKAFKA_WHEEL_VERSION)
	touch $@

test-plugin: $(PLUGIN_BUILD)/config_only_client $(PLUGIN_BUILD)/venv/.done
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && ./tests/plugin/run.sh

.PHONY: test-plugin
