# Installable the way each ecosystem installs (issue 22; docs/dist.md,
# "Installing"). The suites here prove each install from outside the checkout:
#   test-crates     what `cargo publish` would upload (tests/packages/crates.sh)
#   test-sdist      the sdist pip-installed into a fresh venv, importing and
#                   minting (tests/packages/sdist.sh; built by sdist-install-build)
#   test-go-proxy   `go get` of the binding from a file module proxy, static and
#                   -tags dynamic, producing to the broker (tests/packages/go-proxy.sh)
#   test-packages   the .deb/.rpm packages: lintian, installed into a throwaway
#                   Debian root (kcat + plugin by SONAME, pkg-config, the CLI),
#                   rpm -qpl/-qpR and an rpm --root install, licences and SBOM
#                   (tests/packages/packages.sh; built by packages-test-build)
# `make packages` writes this machine's .debs and .rpms (release build) to
# dist/; `make dist` makes them for every glibc target (mk/dist.mk).
TEST_SUITES += test-crates test-sdist test-go-proxy test-packages

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

# The tarball packages-test-build made in the prep (made here when absent).
test-go-proxy: go-deps
	@[ -f $(PKG_HOST_TARBALL) ] || $(MAKE) --no-print-directory packages-host-tarball
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && KIO_VERSION=$(KIO_VERSION) PACKAGES_TARBALL=$(PKG_HOST_TARBALL) \
	  GO=$(GO) tests/packages/go-proxy.sh

# Debian's tools for the packages and their tests: dpkg-deb (always there),
# lintian, rpm (rpmbuild), debootstrap (the throwaway root).
PKG_APT := lintian rpm debootstrap
deps-packages:
	@need=; for p in $(PKG_APT); do dpkg -s $$p >/dev/null 2>&1 || need="$$need $$p"; done; \
	if [ -n "$$need" ]; then echo "deps-packages: apt-get install$$need"; \
	  SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$need >/dev/null; fi
test: deps-packages
dist: deps-packages

PKG_ROOT := $(PKG_BUILD)/$(shell dpkg --print-architecture)-root
$(PKG_ROOT)/.complete: scripts/packages/amd64-root.sh | deps-packages
	scripts/packages/amd64-root.sh $(PKG_ROOT)

# What test-packages installs: this machine's packages from make build's
# debug libraries (stripped) and dist-test-build's static musl CLI (the
# debug CLI when that is absent), xz level 1 (these libraries are large).
PKG_TEST_OUT := $(PKG_BUILD)/test
packages-test-build: deps-packages $(PKG_ROOT)/.complete packages-host-tarball
	@t0=$$(date +%s); set -e; rm -rf $(PKG_TEST_OUT); cli="$(PKG_HOST_CLI)"; [ -n "$$cli" ] || cli=$(CARGO_TARGET_DIR)/debug/kafka-iam-oauth; \
	for s in deb rpm; do KIO_VERSION=$(KIO_VERSION) MAKE="$(MAKE)" PKG_XZ_LEVEL=1 \
	  scripts/packages/$$s.sh $(PKG_HOST_TARGET) $(PKG_HOST_CLIB) "$$cli" $(PKG_TEST_OUT); done; \
	lintian --tag-display-limit 0 $(PKG_TEST_OUT)/*.deb >$(PKG_TEST_OUT)/lintian.txt 2>&1 || true; \
	touch $(PKG_TEST_OUT)/.built; echo "packages-test-build: $$(( $$(date +%s) - t0 )) s"

# Uses what the prep built (run `make packages-test-build` again after a change).
test-packages:
	@[ -f $(PKG_TEST_OUT)/.built ] || $(MAKE) --no-print-directory packages-test-build
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && KIO_VERSION=$(KIO_VERSION) PKG_OUT=$(PKG_TEST_OUT) \
	  PKG_ROOT=$(PKG_ROOT) PKG_TARBALL=$(PKG_HOST_TARBALL) tests/packages/packages.sh

# This machine's .debs and .rpms in dist/, from the release build (the C
# libraries as `make install` builds them; the CLI from cargo, glibc-linked).
# `make dist` makes them for x86_64 and aarch64 from its cross builds.
packages: deps-packages
	@cargo build -q --release $(C_LIB_PACKAGES) -p kafka-iam-oauth-cli
	@set -e; clib=$(PKG_BUILD)/release-clib/$(PKG_HOST_TARGET); mkdir -p $$clib $(DIST); \
	cp -f $(CARGO_TARGET_DIR)/release/libkafka_iam_oauth.so $(CARGO_TARGET_DIR)/release/libkafka_iam_oauth.a $$clib/; \
	sed -n 's/^Libs.private: //p' capi/kafka_iam_oauth.pc.in >$$clib/native-static-libs; \
	for s in deb rpm; do KIO_VERSION=$(KIO_VERSION) MAKE="$(MAKE)" \
	  scripts/packages/$$s.sh $(PKG_HOST_TARGET) $$clib $(CARGO_TARGET_DIR)/release/kafka-iam-oauth $(DIST); done

.PHONY: test-crates packages-host-tarball sdist-install-build test-sdist test-go-proxy deps-packages packages-test-build test-packages packages

# `make bump-version V=X.Y.Z`: the version everywhere it lives (scripts/bump-version.sh).
bump-version:
	@[ -n "$(V)" ] || { echo "usage: make bump-version V=X.Y.Z" >&2; exit 2; }
	@scripts/bump-version.sh $(V)

.PHONY: bump-version
