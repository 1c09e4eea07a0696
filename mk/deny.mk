# Dependency hygiene (deny.toml): `cargo deny check bans licenses sources`
# works offline; no second HTTP/TLS stack, only permissive licenses, only
# crates.io. Advisories need a database these machines cannot fetch; they are
# checked by hand when dependencies change (docs/dependencies.md).
TEST_SUITES += test-deny

CARGO_DENY_VERSION := 0.20.2

# A debug build of the tool: it compiles in about half the time of a release
# build and checks this workspace in a few seconds all the same.
deps-cargo-deny:
	@if ! cargo deny --version 2>/dev/null | grep -q "$(CARGO_DENY_VERSION)"; then \
	  echo "installing cargo-deny $(CARGO_DENY_VERSION) from crates.io"; \
	  cargo install -q --locked --debug cargo-deny --version $(CARGO_DENY_VERSION); fi

test-deny: deps-cargo-deny
	@out=$$(cargo deny --offline check bans licenses sources 2>&1); rc=$$?; \
	if [ $$rc -ne 0 ]; then echo "$$out" | grep -v -E '^\s*(│|├|└|=)' | grep -A4 -E '^error' | head -n 60; fi; \
	summary=$$(echo "$$out" | tail -n 1); \
	echo "cargo deny: $$summary ($$(echo "$$out" | grep -c '^warning\[duplicate\]') duplicate-version warnings)"; \
	exit $$rc

.PHONY: deps-cargo-deny test-deny
