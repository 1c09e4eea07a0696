# kafka-iam-oauth: the README's two commands are `make demo` and `make test`.
# Each language adds its targets in mk/<lang>.mk (test-<lang>, demo-<lang>).
SHELL := /bin/bash
.DEFAULT_GOAL := help
ROOT := $(abspath .)
export CARGO_TARGET_DIR ?= $(ROOT)/target
CBINDGEN_VERSION := 0.29.0
# The crates that build libkafka_iam_oauth.so (with the plugin entry) and .a.
C_LIB_PACKAGES := -p kafka-iam-oauth-cdylib -p kafka-iam-oauth-staticlib
# The one version (the core crate's, in Cargo.toml), read once for every mk/*.mk.
KIO_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
# One debug build (DEVELOPERS.md, "Builds"): every debug recipe builds the
# whole workspace, so each cargo run resolves dependency features as
# `make build` did and reuses its outputs. A `-p` build resolves them for
# its own packages and compiles the AWS SDK, hyper and tokio again beside
# the first (about 65 crates, and a 400 MB static library, each time).
CARGO_BUILD_DEV := cargo build -q --workspace --all-targets
# $(call build-c-lib,debug|release): builds both C libraries and adds the
# SONAME link (libkafka_iam_oauth.so.0) that programs linked against
# target/<profile>/ look for at run time.
define build-c-lib
$(if $(filter release,$(1)),cargo build -q $(C_LIB_PACKAGES) --release,$(CARGO_BUILD_DEV))
ln -sf libkafka_iam_oauth.so $(CARGO_TARGET_DIR)/$(1)/libkafka_iam_oauth.so.0
endef
# Suites run by `make test`, in order; every mk/*.mk appends to these.
TEST_SUITES := test-rust
DEMOS :=

help:
	@echo "make demo   - install what is needed, start the STS emulator and a local Kafka broker, run the examples, stop them"
	@echo "make test   - every test suite (Rust, C, Python, Go) against the emulator and the broker"
	@echo "make bench  - benchmarks (warm-cache token retrieval, cold mint, cold-start stampede)"
	@echo "make install PREFIX=/usr/local [DESTDIR=] - install the C library, headers and kafka_iam_oauth.pc (make uninstall removes them)"
	@echo "make header - regenerate include/kafka_iam_oauth.h with cbindgen $(CBINDGEN_VERSION)"

# ---- dependencies (everything from Debian, crates.io, PyPI, the Go proxy, Maven Central)
deps: deps-system deps-cbindgen
deps-system:
	@./scripts/install-deps.sh
deps-cbindgen:
	@if ! cbindgen --version 2>/dev/null | grep -q "$(CBINDGEN_VERSION)"; then \
	  cargo install --locked cbindgen --version $(CBINDGEN_VERSION); fi

# ---- build
build:
	cargo build --workspace --all-targets
	@# the SONAME link for the C libraries the C, plugin and Go suites link
	$(call build-c-lib,debug)

header: deps-cbindgen
	cbindgen --quiet --config capi/cbindgen.toml --output include/kafka_iam_oauth.h capi

check-header: deps-cbindgen
	@tmp=$$(mktemp); cbindgen --quiet --config capi/cbindgen.toml --output $$tmp capi && \
	if ! diff -u include/kafka_iam_oauth.h $$tmp; then echo "include/kafka_iam_oauth.h is stale: run make header" >&2; rm -f $$tmp; exit 1; fi; \
	rm -f $$tmp; echo "header: include/kafka_iam_oauth.h matches cbindgen output"

# ---- the local emulator + broker (harness/)
harness-up:
	./harness/kafka-up.sh
harness-down:
	-./harness/kafka-down.sh

# ---- Rust suite: unit tests, integration tests against the emulator, header check
test-rust: check-header
	cargo fmt --all -- --check
	cargo test --workspace

# ---- everything
test: deps build
	./scripts/run-tests.sh $(TEST_SUITES)

demo: deps build
	./scripts/run-demo.sh $(DEMOS)

bench: build
	cargo bench -p kafka-iam-oauth-capi --bench token

.PHONY: help deps deps-system deps-cbindgen build header check-header harness-up harness-down test test-rust demo bench

-include mk/*.mk
