# Installable the way each ecosystem installs (issue 22; docs/dist.md,
# "Installing"). The suites here prove each install from outside the checkout:
#   test-crates     what `cargo publish` would upload (tests/packages/crates.sh)
TEST_SUITES += test-crates

test-crates:
	@KIO_VERSION=$(KIO_VERSION) tests/packages/crates.sh

.PHONY: test-crates
