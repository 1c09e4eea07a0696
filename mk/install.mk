# Install: the C library laid out the way C libraries install (docs/c.md,
# "Install"). `make install PREFIX=/usr/local [DESTDIR=/staging]` builds the
# release profile and installs
#   $(LIBDIR)/libkafka_iam_oauth.so.$(KIO_VERSION)   the shared library (SONAME libkafka_iam_oauth.so.MAJOR)
#   $(LIBDIR)/libkafka_iam_oauth.so.MAJOR            link: what programs load at run time
#   $(LIBDIR)/libkafka_iam_oauth.so                  link: what -lkafka_iam_oauth finds at link time
#   $(LIBDIR)/libkafka_iam_oauth.a                   the static library (no conf_init)
#   $(INCLUDEDIR)/*.h                                every header in include/
#   $(LIBDIR)/pkgconfig/kafka_iam_oauth.pc           from capi/kafka_iam_oauth.pc.in, relocatable
# `make install-strip` does the same without debug info; `make uninstall`
# (same PREFIX/DESTDIR/LIBDIR) removes exactly these files.
# `make test-install` (tests/install/run.sh) proves it against the broker.
TEST_SUITES += test-install

PREFIX ?= /usr/local
DESTDIR ?=
# release (what users get) or debug (what `make build` makes; the Go suite's
# -tags dynamic prefix uses it to avoid a second build).
INSTALL_PROFILE ?= release
INSTALL_PREFIX := $(abspath $(PREFIX))
# LIBDIR defaults to $(PREFIX)/lib; give it on the command line to change it
# (make install LIBDIR=/usr/lib/x86_64-linux-gnu). mk/c.mk has a LIBDIR of
# its own (the cargo build directory it links), so only a command-line LIBDIR
# counts here.
INSTALL_LIBDIR := $(abspath $(if $(filter command line,$(origin LIBDIR)),$(LIBDIR),$(INSTALL_PREFIX)/lib))
INCLUDEDIR ?= $(INSTALL_PREFIX)/include
INSTALL_INCLUDEDIR := $(abspath $(INCLUDEDIR))
PKGCONFIGDIR ?= $(INSTALL_LIBDIR)/pkgconfig
INSTALL_PKGCONFIGDIR := $(abspath $(PKGCONFIGDIR))

# Names from the one version in Cargo.toml (KIO_VERSION, top Makefile). The
# SONAME's number is the major version (capi/shared/build.rs sets it).
KIO_SOVERSION := $(firstword $(subst ., ,$(KIO_VERSION)))
KIO_SO := libkafka_iam_oauth.so
KIO_SONAME := $(KIO_SO).$(KIO_SOVERSION)
KIO_SO_FILE := $(KIO_SO).$(KIO_VERSION)
KIO_A := libkafka_iam_oauth.a
KIO_PC := kafka_iam_oauth.pc
KIO_HEADERS := $(notdir $(wildcard include/*.h))
INSTALL_CARGO_FLAGS := $(if $(filter release,$(INSTALL_PROFILE)),--release,)
# INSTALL_FROM=DIR on the command line installs libraries already built
# there (make dist: a cross-built target's) and builds nothing.
INSTALL_FROM := $(CARGO_TARGET_DIR)/$(if $(filter release,$(INSTALL_PROFILE)),release,debug)
INSTALL_BUILD := $(if $(filter command line,$(origin INSTALL_FROM)),,install-lib)
# The strip that reads the libraries' architecture (make dist passes the cross one).
STRIP ?= strip
# What static linking needs when it is not the .pc.in's (Linux glibc):
# make dist gives rustc's native-static-libs of each target.
PC_LIBS_PRIVATE ?=
INSTALL_D_LIB := $(DESTDIR)$(INSTALL_LIBDIR)
INSTALL_D_INC := $(DESTDIR)$(INSTALL_INCLUDEDIR)
INSTALL_D_PC := $(DESTDIR)$(INSTALL_PKGCONFIGDIR)

# Both C libraries (cargo makes this a no-op when they are fresh).
install-lib:
	@cargo build -q $(C_LIB_PACKAGES) $(INSTALL_CARGO_FLAGS)

# install -C leaves a file that is already the same alone (no new inode for
# a library a running program has mapped, no copy for a repeated install).
install: $(INSTALL_BUILD)
	@[ -n "$(KIO_SOVERSION)" ] || { echo "install: no version found in Cargo.toml" >&2; exit 1; }
	install -d "$(INSTALL_D_LIB)" "$(INSTALL_D_INC)" "$(INSTALL_D_PC)"
	install -C -m 0755 "$(INSTALL_FROM)/$(KIO_SO)" "$(INSTALL_D_LIB)/$(KIO_SO_FILE)"
	ln -sfn "$(KIO_SO_FILE)" "$(INSTALL_D_LIB)/$(KIO_SONAME)"
	ln -sfn "$(KIO_SO_FILE)" "$(INSTALL_D_LIB)/$(KIO_SO)"
	install -C -m 0644 "$(INSTALL_FROM)/$(KIO_A)" "$(INSTALL_D_LIB)/$(KIO_A)"
	install -C -m 0644 $(addprefix include/,$(KIO_HEADERS)) "$(INSTALL_D_INC)/"
	@# The .pc names its directories relative to itself (${pcfiledir}).
	sed -e "s|@PREFIX_FROM_PCDIR@|$$(realpath -m --relative-to="$(INSTALL_PKGCONFIGDIR)" "$(INSTALL_PREFIX)")|" \
	    -e "s|@LIBDIR_FROM_PREFIX@|$$(realpath -m --relative-to="$(INSTALL_PREFIX)" "$(INSTALL_LIBDIR)")|" \
	    -e "s|@INCLUDEDIR_FROM_PREFIX@|$$(realpath -m --relative-to="$(INSTALL_PREFIX)" "$(INSTALL_INCLUDEDIR)")|" \
	    -e "s|@VERSION@|$(KIO_VERSION)|" $(if $(PC_LIBS_PRIVATE),-e "s|^Libs.private: .*|Libs.private: $(PC_LIBS_PRIVATE)|") \
	    capi/kafka_iam_oauth.pc.in >"$(INSTALL_D_PC)/$(KIO_PC).tmp"
	mv -f "$(INSTALL_D_PC)/$(KIO_PC).tmp" "$(INSTALL_D_PC)/$(KIO_PC)"

# GNU's install-strip: the same files without debug info (the release
# profile keeps line tables for the benchmarks: about 86 MB against 15 MB).
install-strip: install
	$(STRIP) --strip-debug "$(INSTALL_D_LIB)/$(KIO_SO_FILE)" "$(INSTALL_D_LIB)/$(KIO_A)"

uninstall:
	rm -f "$(INSTALL_D_LIB)/$(KIO_SO_FILE)" "$(INSTALL_D_LIB)/$(KIO_SONAME)" "$(INSTALL_D_LIB)/$(KIO_SO)" \
	  "$(INSTALL_D_LIB)/$(KIO_A)" $(addprefix "$(INSTALL_D_INC)/,$(addsuffix ",$(KIO_HEADERS))) \
	  "$(INSTALL_D_PC)/$(KIO_PC)"

# Installs into a fresh temporary prefix and checks the layout, the SONAME,
# pkg-config (the C example built with nothing else, run against the
# broker; a static link with --static) and every artifact's exported symbols.
# It installs the debug build `make build` already made, so a clean-clone CI
# run pays for no second (release) build; TEST_INSTALL_PROFILE=release
# checks the release one.
TEST_INSTALL_PROFILE ?= debug
test-install:
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && \
	  MAKE="$(MAKE)" INSTALL_PROFILE=$(TEST_INSTALL_PROFILE) KIO_VERSION=$(KIO_VERSION) ./tests/install/run.sh

.PHONY: install-lib install install-strip uninstall test-install
