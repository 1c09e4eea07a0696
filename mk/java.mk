# Java: Kafka's own Java clients authenticated by the token file
# `kafka-iam-oauth serve --token-file` keeps (issue 11; docs/java.md):
# the console producer and consumer (the harness's jars) and a Maven +
# JUnit 5 program (tests/java: producer, consumer in a group, admin client),
# side by side against one serve'd file for three 60 s token lifetimes
# (tests/java/run.sh). Mostly waiting: about 3.5 minutes of wall time.
TEST_SUITES += test-java
DEMOS += demo-java demo-java-handler

JAVA_BUILD := build/java
JAVA_MVN := mvn -B -q -Dstyle.color=never -f tests/java/pom.xml
# The command-line tool (`serve`), built into the shared target/.
CLI_BIN := $(CARGO_TARGET_DIR)/debug/kafka-iam-oauth

# Maven Central: kafka-clients, JUnit 5, the plugins, once (Java 17 and
# Maven come from Debian, scripts/install-deps.sh). Compiling the test here
# keeps downloads out of the timed, concurrent run.
$(JAVA_BUILD)/.deps: tests/java/pom.xml $(wildcard tests/java/src/test/java/io/kafkaiamoauth/*.java)
	@mkdir -p $(JAVA_BUILD)
	$(JAVA_MVN) test-compile dependency:resolve-plugins >$(JAVA_BUILD)/mvn-deps.log 2>&1 || \
	  { cat $(JAVA_BUILD)/mvn-deps.log >&2; exit 1; }
	touch $@

java-cli:
	$(CARGO_BUILD_DEV)

# The JAR (mk/jvm.mk) first: the Maven test depends on it.
test-java: jvm-jar java-cli
	@$(MAKE) --no-print-directory $(JAVA_BUILD)/.deps
	KIO_SERVE_BIN=$(CLI_BIN) KIO_JVM_JAR=$(JVM_JAR) tests/java/run.sh

# Kafka's console producer, configured by a properties file only, sending
# through the token file `serve` keeps (README, "Java and other JVM clients").
demo-java: java-cli
	KIO_SERVE_BIN=$(CLI_BIN) examples/java/console_producer.sh

# A Maven program using our login callback handler (examples/java/handler):
# the JAR on the class path, the configuration in the client's properties.
demo-java-handler: jvm-jar
	examples/java/handler_demo.sh

.PHONY: java-cli test-java demo-java demo-java-handler
