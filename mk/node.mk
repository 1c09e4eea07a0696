# Node.js: the npm package kafka-iam-oauth (bindings/node: the napi-rs
# addon crate kafka-iam-oauth-node, index.js, index.d.ts, the platform
# packages in bindings/node/npm/) and its suites (docs/node.md).
#
# The addon is built by cargo alone into the shared target/ (debug, like
# every suite) and staged with the package's files in
# build/node/pkg/kafka-iam-oauth, under the name index.js loads first
# (kafka-iam-oauth.<target>.node beside it). The tests run from
# build/node/test, where npm installs tests/node/package-lock.json
# (KafkaJS 2.2.4, @platformatic/kafka, TypeScript) and the staged package
# is linked as node_modules/kafka-iam-oauth.
TEST_SUITES += test-node test-node-reauth
DEMOS += demo-node

NODE_BUILD := build/node
NODE_PKG := $(NODE_BUILD)/pkg/kafka-iam-oauth
NODE_TEST := $(NODE_BUILD)/test
# This machine's target in the platform packages' names (linux-x64-gnu, ...).
NODE_ARCH := $(subst x86_64,x64,$(subst aarch64,arm64,$(shell uname -m)))
# musl or glibc decided as index.js's isMusl() does (ldd names its loader):
# a glibc machine may have musl's loader too (musl-tools, for test-dist).
NODE_TARGET := linux-$(NODE_ARCH)-$(if $(shell grep -qs musl /usr/bin/ldd && echo musl),musl,gnu)
NODE_ADDON := $(NODE_PKG)/kafka-iam-oauth.$(NODE_TARGET).node
NODE_FILES := index.js index.d.ts package.json README.md
# What the tests need besides the broker: emulator identities as the
# environment's keys, AWS config files of our own (empty), no IMDS.
NODE_TEST_ENV := AWS_EC2_METADATA_DISABLED=true \
  AWS_ACCESS_KEY_ID=$$KIO_USER_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$$KIO_USER_SECRET_ACCESS_KEY \
  AWS_CONFIG_FILE=$(abspath $(NODE_BUILD))/aws-config AWS_SHARED_CREDENTIALS_FILE=$(abspath $(NODE_BUILD))/aws-credentials \
  KIO_NODE_ADDON=$(abspath $(NODE_ADDON)) KIO_NODE_PACKAGE_DIR=$(abspath bindings/node)

# cargo decides whether anything changed; the staged copy follows.
node-addon:
	$(CARGO_BUILD_DEV)
	@mkdir -p $(NODE_PKG)
	cp $(addprefix bindings/node/,$(NODE_FILES)) LICENSE $(NODE_PKG)/
	ln -f $(CARGO_TARGET_DIR)/debug/libkafka_iam_oauth_node.so $(NODE_ADDON) 2>/dev/null || \
	  cp $(CARGO_TARGET_DIR)/debug/libkafka_iam_oauth_node.so $(NODE_ADDON)
	@: >$(NODE_BUILD)/aws-config; : >$(NODE_BUILD)/aws-credentials

# Node and npm from Debian (the machine image has them; a bare one gets
# them here); the test packages from the npm registry only, every version
# pinned by the lockfile.
node-tools:
	@command -v node >/dev/null && command -v npm >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }

$(NODE_TEST)/.deps: tests/node/package.json tests/node/package-lock.json | node-tools
	@mkdir -p $(NODE_TEST)
	cp tests/node/package.json tests/node/package-lock.json $(NODE_TEST)/
	cd $(NODE_TEST) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

deps-node: $(NODE_TEST)/.deps

# The test files next to their node_modules (ESM imports, like
# @platformatic/kafka's, resolve from the importing file's directory).
node-test-tree: node-addon deps-node
	cp tests/node/*.js tests/node/*.ts tests/node/tsconfig.json $(NODE_TEST)/
	ln -sfn $(abspath $(NODE_PKG)) $(NODE_TEST)/node_modules/kafka-iam-oauth

# make node-pack: the npm tarballs of the main package and of this
# machine's platform package in build/node/ (release build, debug info
# stripped), installable together with `npm install <both .tgz>`.
NODE_PACK_PROFILE ?= release
node-pack: node-tools
	cargo build -q -p kafka-iam-oauth-node $(if $(filter debug,$(NODE_PACK_PROFILE)),,--profile $(NODE_PACK_PROFILE))
	scripts/node/pack.sh $(CARGO_TARGET_DIR)/$(NODE_PACK_PROFILE)/libkafka_iam_oauth_node.so $(NODE_TARGET) $(NODE_BUILD)

# test-node installs tarballs made the same way from the debug addon it
# already has (the packaging is under test, not the optimizer).
NODE_TEST_PACK := $(NODE_BUILD)/test-pack
node-test-pack: node-addon
	scripts/node/pack.sh $(CARGO_TARGET_DIR)/debug/libkafka_iam_oauth_node.so $(NODE_TARGET) $(NODE_TEST_PACK) >/dev/null

# The quick part (about half a minute warm): API, errors, event loop,
# sharing, @platformatic/kafka, the failures at the broker, exports, types,
# the tarballs installed with npm alone.
test-node: node-test-tree node-test-pack
	source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && cd $(NODE_TEST) && \
	  $(NODE_TEST_ENV) KIO_NODE_PACK_DIR=$(abspath $(NODE_TEST_PACK)) \
	  node --test --test-reporter=spec --test-concurrency=1 api.test.js clients.test.js pack.test.js

# The sleeping part (about 3.5 minutes, mostly waiting out three 60 s token
# lifetimes): KafkaJS through the broker's re-authentication. make test
# runs it beside the other suites (CONCURRENT_SUITES, KIO_ISOLATED=1).
test-node-reauth: node-test-tree
	source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && cd $(NODE_TEST) && \
	  $(NODE_TEST_ENV) node --test --test-reporter=spec reauth.test.js

# examples/node: KafkaJS producer + consumer with provider.kafkajsSasl
# (the harness's SASL_SSL listener), run from build/node/test where
# kafkajs and the staged package are installed.
demo-node: node-test-tree
	cp examples/node/produce_consume.js $(NODE_TEST)/example.js
	source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && cd $(NODE_TEST) && \
	  AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=$$KIO_USER_ACCESS_KEY_ID \
	  AWS_SECRET_ACCESS_KEY=$$KIO_USER_SECRET_ACCESS_KEY AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	  node example.js

# make bench-node (not in make test): warm provider.token() next to
# @aws-sdk/client-sts's GetWebIdentityTokenCommand per call, one run, its
# own emulator; STS calls for 50 clients; the release tarballs (make
# node-pack) installed into build/node/bench: sizes, install and require time.
NODE_BENCH := $(NODE_BUILD)/bench
$(NODE_BENCH)/.deps: benches/node/package.json benches/node/package-lock.json | node-tools
	@mkdir -p $(NODE_BENCH)
	cp benches/node/package.json benches/node/package-lock.json $(NODE_BENCH)/
	cd $(NODE_BENCH) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

bench-node: node-pack $(NODE_BENCH)/.deps
	$(CARGO_BUILD_DEV)
	cp benches/node/token.js $(NODE_BENCH)/
	cd $(NODE_BENCH) && tgz="$(abspath $(NODE_BUILD))/kafka-iam-oauth-$(KIO_VERSION).tgz $(abspath $(NODE_BUILD))/kafka-iam-oauth-$(NODE_TARGET)-$(KIO_VERSION).tgz" && \
	  rm -rf node_modules/kafka-iam-oauth node_modules/kafka-iam-oauth-$(NODE_TARGET) && \
	  start=$$(date +%s%N) && npm install --no-save --no-audit --no-fund --loglevel=error $$tgz && \
	  BENCH_INSTALL_MS=$$(( ($$(date +%s%N) - start) / 1000000 )) BENCH_TARBALLS="$$tgz" \
	  KIO_EMULATOR_BIN=$(CARGO_TARGET_DIR)/debug/kafka-iam-oauth-emulator node token.js

.PHONY: node-tools node-addon deps-node node-test-tree node-pack node-test-pack test-node bench-node test-node-reauth demo-node
