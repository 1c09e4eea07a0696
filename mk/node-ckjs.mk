# confluent-kafka-javascript (@confluentinc/kafka-javascript) with this
# library, three ways in (docs/node.md): its KafkaJS API's
# oauthBearerProvider, its callback API's oauthbearer_token_refresh_cb, and
# plugin.library.paths with no JS of ours.
#
# npm serves it as source only here (its prebuilt binaries come from
# GitHub): tests/node-ckjs/build.sh builds it with CKJS_LINKING=dynamic
# (its vendored librdkafka against Debian's dev packages, which
# scripts/install-deps.sh installs) into build/node/ckjs/<version>-abi<N>,
# kept between runs. About 2 minutes of compiling: node-ckjs-build belongs
# in run-tests.sh's background prep, test-node-ckjs among the late suites.
CKJS_TEST := build/node/ckjs-test
TEST_SUITES += test-node-ckjs

node-ckjs-build:
	@./tests/node-ckjs/build.sh >/dev/null

# An N-API addon linking Debian's librdkafka.a (as confluent-kafka-javascript's
# prebuilt binary links its own): the plugin must find a static copy in an
# object Node loaded with RTLD_LOCAL (capi/src/librdkafka.rs).
NODE_INCLUDE = $(abspath $(dir $(shell command -v node))/../include/node)
$(CKJS_TEST)/static_rdkafka_addon.node: tests/node-ckjs/static_rdkafka_addon.c tests/plugin/config_only_client.c
	@mkdir -p $(CKJS_TEST)
	gcc $(C_WARN) -g -shared -fPIC -I$(NODE_INCLUDE) -Dmain=kio_client_main $^ -o $@ \
	  -Wl,-Bstatic -lrdkafka -Wl,-Bdynamic $$(pkg-config --static --libs-only-l rdkafka | sed 's/-lrdkafka //')

# The staged kafka-iam-oauth package (mk/node.mk's node-addon) and the
# plugin (mk/c.mk's c-lib) with ckjs's build (a no-op when built); the
# emulator's credentials in the environment, AWS files of our own (empty),
# no IMDS.
test-node-ckjs: node-addon c-lib $(CKJS_TEST)/static_rdkafka_addon.node
	@mkdir -p $(CKJS_TEST); : >$(CKJS_TEST)/aws-config; : >$(CKJS_TEST)/aws-credentials
	ckjs=$$(./tests/node-ckjs/build.sh) && source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && \
	  NODE_PATH=$(abspath $(NODE_BUILD)/pkg):$$ckjs/node_modules \
	  KIO_PLUGIN_SO=$(abspath $(PLUGIN_SO)) KIO_STATIC_ADDON=$(abspath $(CKJS_TEST))/static_rdkafka_addon.node \
	  AWS_EC2_METADATA_DISABLED=true \
	  AWS_ACCESS_KEY_ID=$$KIO_USER_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$$KIO_USER_SECRET_ACCESS_KEY \
	  AWS_CONFIG_FILE=$(abspath $(CKJS_TEST))/aws-config AWS_SHARED_CREDENTIALS_FILE=$(abspath $(CKJS_TEST))/aws-credentials \
	  node --test --test-reporter=spec --test-concurrency=1 tests/node-ckjs/ckjs.test.js

.PHONY: node-ckjs-build test-node-ckjs
