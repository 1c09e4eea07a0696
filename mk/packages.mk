# Installable the way each ecosystem installs (issue 22; docs/dist.md,
# "Installing"). The suites here prove each install from outside the checkout:
#   test-crates     what `cargo publish` would upload (tests/packages/crates.sh)
#   test-sdist      the sdist pip-installed into a fresh venv, importing and
#                   minting (tests/packages/sdist.sh; built by sdist-install-build)
#   test-go-proxy   `go get` of the binding from a file module proxy, static and
#                   -tags dynamic, producing to the broker (tests/packages/go-proxy.sh)
TEST_SUITES += test-crates

PKG_BUILD := build/packages
# This machine's C tarball, laid out by scripts/dist/package.sh (what `make
# dist` ships) from the debug libraries `make build` made, stripped: the
# packages' tests need no second build of the library.
PKG_HOST_TARGET := $(shell uname -m)-unknown-linux-gnu
PKG_HOST_CLIB := $(PKG_BUILD)/clib/$(PKG_HOST_TARGET)
PKG_HOST_TARBALL := $(PKG_BUILD)/kafka-iam-oauth-$(KIO_VERSION)-$(PKG_HOST_TARGET).tar.gz
# The static musl CLI dist-test-build made for this architecture, when there.
PKG_HOST_CLI = $(wildcard $(DIST_TEST_OUT)/cli/$(shell uname -m)-unknown-linux-musl/kafka-iam-oauth)

test-crates:
	@KIO_VERSION=$(KIO_VERSION) tests/packages/crates.sh

packages-host-tarball:
	@$(call build-c-lib,debug)
	@mkdir -p $(PKG_HOST_CLIB)
	@cp -f $(CARGO_TARGET_DIR)/debug/libkafka_iam_oauth.so $(CARGO_TARGET_DIR)/debug/libkafka_iam_oauth.a $(PKG_HOST_CLIB)/
	@sed -n 's/^Libs.private: //p' capi/kafka_iam_oauth.pc.in >$(PKG_HOST_CLIB)/native-static-libs
	@KIO_VERSION=$(KIO_VERSION) MAKE="$(MAKE)" scripts/dist/package.sh $(PKG_HOST_TARGET) $(PKG_HOST_CLIB) "$(PKG_HOST_CLI)" $(PKG_BUILD)

# The sdist built and pip-installed (a release build of the extension: in
# run-tests.sh's background prep), then checked against the emulator.
sdist-install-build:
	@$(MAKE) --no-print-directory $(PY_VENV)/.deps
	@KIO_VERSION=$(KIO_VERSION) PY=$(PY) tests/packages/sdist.sh build

test-sdist:
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && KIO_VERSION=$(KIO_VERSION) tests/packages/sdist.sh test

test-go-proxy: packages-host-tarball go-deps
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && KIO_VERSION=$(KIO_VERSION) PACKAGES_TARBALL=$(PKG_HOST_TARBALL) \
	  GO=$(GO) tests/packages/go-proxy.sh

.PHONY: test-crates packages-host-tarball sdist-install-build test-sdist test-go-proxy
