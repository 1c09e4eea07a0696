# The JVM JAR (issue 24; docs/java.md): io.github.kafkaiamoauth's login
# callback handler and TokenProvider (bindings/jvm/pom.xml) with the JNI
# library (crate kafka-iam-oauth-jvm, bindings/jvm/src/lib.rs) inside under
# /linux/<arch>/. `make jvm-jar` packages this machine's JAR from the debug
# build `make build` already makes (debug info stripped from the copy) into
# build/jvm/kafka-iam-oauth-VERSION.jar, and installs it into the local
# Maven repository for tests/java and examples/java. Its suite is part of
# test-java (mk/java.mk); release JARs are `make dist`'s (mk/dist.mk).

JVM_BUILD := build/jvm
JVM_ARCH := $(shell uname -m)
JVM_LIB := libkafka_iam_oauth_jni.so
JVM_JAR := $(JVM_BUILD)/kafka-iam-oauth-$(KIO_VERSION).jar
JVM_MVN := mvn -B -q -Dstyle.color=never -f bindings/jvm/pom.xml
# debug in make test (make build's library); `make bench-java JVM_PROFILE=release`
# measures an optimised one.
JVM_PROFILE ?= debug

jvm-jar:
	@grep -q "<version>$(KIO_VERSION)</version>" bindings/jvm/pom.xml || \
	  { echo "jvm-jar: bindings/jvm/pom.xml's version is not $(KIO_VERSION) (Cargo.toml)" >&2; exit 1; }
	$(if $(filter release,$(JVM_PROFILE)),cargo build -q -p kafka-iam-oauth-jvm --release,$(CARGO_BUILD_DEV))
	@rm -rf $(JVM_BUILD)/native && mkdir -p $(JVM_BUILD)/native/linux/$(JVM_ARCH)
	objcopy --strip-debug $(CARGO_TARGET_DIR)/$(JVM_PROFILE)/$(JVM_LIB) $(JVM_BUILD)/native/linux/$(JVM_ARCH)/$(JVM_LIB)
	$(JVM_MVN) install >$(JVM_BUILD)/mvn-jar.log 2>&1 || { cat $(JVM_BUILD)/mvn-jar.log >&2; exit 1; }
	cp $(JVM_BUILD)/target/kafka-iam-oauth-$(KIO_VERSION).jar $(JVM_JAR)
	@echo "jvm-jar: $(JVM_JAR) ($$(du -k $(JVM_JAR) | cut -f1) KiB; linux/$(JVM_ARCH), $(JVM_PROFILE))"

.PHONY: jvm-jar

# The JVM figures of docs/java.md (not in make test; needs the harness):
# handle() per call, STS mints for 10 clients in one JVM, RSS, JAR size.
# JVM_PROFILE=release measures an optimised library (the figures in docs/java.md).
bench-java: jvm-jar
	$(CARGO_BUILD_DEV)
	KIO_JVM_JAR=$(JVM_JAR) tests/java/bench/run.sh

.PHONY: bench-java
