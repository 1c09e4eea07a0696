# Fuzzing: cargo-fuzz (libFuzzer, AddressSanitizer, debug assertions) on the
# nightly toolchain; the crate is fuzz/ (not a workspace member). See
# DEVELOPERS.md, "Fuzzing".
#   make test-fuzz   every target for FUZZ_SECONDS each, from the committed
#                    corpus (part of `make test`; needs no broker)
#   make fuzz        longer runs (FUZZ_LONG_SECONDS each) whose finds are
#                    kept in build/fuzz/corpus/ across runs
#   make fuzz-merge  adds to the committed corpus the inputs of
#                    build/fuzz/corpus/ that add coverage (review, commit)
TEST_SUITES += test-fuzz

CARGO_FUZZ_VERSION := 0.13.2
FUZZ_TARGETS := config extensions jwt_claims emulator_request
FUZZ_SECONDS ?= 60
FUZZ_LONG_SECONDS ?= 1800
FUZZ_RSS_MB ?= 2048
FUZZ_TIMEOUT ?= 10
# Sanitizer builds never share target/ with the normal ones.
FUZZ_TARGET_DIR := $(ROOT)/build/fuzz-target
FUZZ_ENV := FUZZ_TARGET_DIR=$(FUZZ_TARGET_DIR) FUZZ_RSS_MB=$(FUZZ_RSS_MB) FUZZ_TIMEOUT=$(FUZZ_TIMEOUT)

deps-fuzz:
	@if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then \
	  echo "fuzz: the nightly Rust toolchain is not installed (cargo fuzz needs it); run: rustup toolchain install nightly --profile minimal" >&2; \
	  exit 1; fi
	@if ! cargo fuzz --version 2>/dev/null | grep -q "$(CARGO_FUZZ_VERSION)"; then \
	  cargo install --locked cargo-fuzz --version $(CARGO_FUZZ_VERSION); fi

# fuzz/ is its own workspace, so it needs a Cargo.lock of its own: the main
# one, copied at every build (cargo only adds libfuzzer-sys and arbitrary),
# so the fuzzed code is built with the versions the project ships.
fuzz-build: deps-fuzz
	cp Cargo.lock fuzz/Cargo.lock
	cargo +nightly fuzz build --target-dir $(FUZZ_TARGET_DIR) $(FUZZ_BUILD_FLAGS)

test-fuzz: fuzz-build
	@$(FUZZ_ENV) FUZZ_WORK=$(ROOT)/build/fuzz/test fuzz/run.sh fresh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz: fuzz-build
	@$(FUZZ_ENV) FUZZ_WORK=$(ROOT)/build/fuzz fuzz/run.sh keep $(FUZZ_LONG_SECONDS) $(FUZZ_TARGETS)

# libFuzzer's merge adds to the committed corpus only the inputs that add
# coverage (hash-named files); the hand-written seeds stay as they are.
fuzz-merge: fuzz-build
	@bin=$(FUZZ_TARGET_DIR)/$$(rustc +nightly -vV | sed -n 's/^host: //p')/release; \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus/$$t && \
	  $$bin/$$t -merge=1 -rss_limit_mb=$(FUZZ_RSS_MB) -timeout=$(FUZZ_TIMEOUT) \
	    fuzz/corpus/$$t build/fuzz/corpus/$$t 2>&1 | grep -E '^MERGE-OUTER: [0-9]+ new files' || exit 1; \
	done

.PHONY: deps-fuzz fuzz-build test-fuzz fuzz fuzz-merge
