# Go: the cgo binding (bindings/go, static library by default, -tags dynamic
# through pkg-config), its confluent-kafka-go v2 adapter (bindings/go/confluent),
# the pure-Go clients' adapters (bindings/go/sarama, franz, kafkago: each its
# own module; their end-to-end tests in bindings/go/internal/clients) and
# examples/go. Go modules come from the Go module proxy.
TEST_SUITES += test-go test-go-clients
DEMOS += demo-go

GO ?= go
GO_BUILD := $(ROOT)/build/go
# The Rust library profile the binding links (debug is what `make build` makes).
GO_PROFILE ?= debug
GO_LIBDIR := $(CARGO_TARGET_DIR)/$(GO_PROFILE)
GO_CARGO_FLAGS := $(if $(filter release,$(GO_PROFILE)),--release,)
# -tags dynamic: the library as `make install` lays it out (go-pkgconfig),
# found through its kafka_iam_oauth.pc at link time and on LD_LIBRARY_PATH
# at run time, as a user of a non-system prefix would.
GO_PREFIX := $(GO_BUILD)/prefix
GO_DYNAMIC_ENV := PKG_CONFIG_PATH="$(GO_PREFIX)/lib/pkgconfig$${PKG_CONFIG_PATH:+:$$PKG_CONFIG_PATH}" \
  LD_LIBRARY_PATH="$(GO_PREFIX)/lib$${LD_LIBRARY_PATH:+:$$LD_LIBRARY_PATH}"
# -L first: the binding's own #cgo LDFLAGS then take libkafka_iam_oauth.a from here.
GO_ENV := CGO_ENABLED=1 CGO_LDFLAGS="-L$(GO_LIBDIR)" $(GO_DYNAMIC_ENV)
GO_DEMO_AWS := AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID="$$KIO_USER_ACCESS_KEY_ID" \
  AWS_SECRET_ACCESS_KEY="$$KIO_USER_SECRET_ACCESS_KEY" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

# The Rust library (static and shared) and the emulator the unit tests start;
# cargo makes this a no-op when they are fresh.
go-lib:
	@$(call build-c-lib,$(GO_PROFILE))
	@$(CARGO_BUILD_DEV)

# Go modules (confluent-kafka-go v2 with its bundled librdkafka) from the proxy.
go-deps:
	@command -v $(GO) >/dev/null || { echo "go: Go 1.22 or newer is needed (https://go.dev/dl/)" >&2; exit 1; }
	@cd bindings/go && $(GO) mod download
	@cd examples/go && $(GO) mod download
	@for m in sarama franz kafkago internal/clients; do (cd bindings/go/$$m && $(GO) mod download) || exit 1; done

# For -tags dynamic: `make install` into the build-local $(GO_PREFIX), so the
# binding links through the same kafka_iam_oauth.pc every C user gets
# (mk/install.mk); the profile the rest of the suite links, so no second build.
go-pkgconfig:
	@$(MAKE) --no-print-directory -s install PREFIX=$(GO_PREFIX) INSTALL_PROFILE=$(GO_PROFILE) >/dev/null

test-go: go-deps go-lib go-pkgconfig
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && env $(GO_ENV) ./bindings/go/run-tests.sh

# The sleeping part (about 4 minutes, mostly waiting): sarama, franz-go and
# kafka-go side by side through three 60 s token lifetimes with broker
# re-authentication; meant to run beside the other suites with KIO_ISOLATED=1.
test-go-clients: go-deps go-lib
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && env $(GO_ENV) ./bindings/go/internal/clients/run-long.sh

demo-go: go-deps go-lib
	@mkdir -p $(GO_BUILD)/bin
	@cd examples/go && env $(GO_ENV) $(GO) build -o $(GO_BUILD)/bin/ ./...
	@source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && run=demo-$$(date +%s) && \
	export $(GO_DEMO_AWS) KAFKA_BOOTSTRAP_SERVERS="$$KIO_BOOTSTRAP_SSL" KAFKA_SECURITY_PROTOCOL=SASL_SSL \
	  SSL_CA_LOCATION="$$KIO_CA_PEM" KAFKA_TOPIC="$$KIO_TOPIC" KAFKA_GROUP="$$KIO_GROUP" \
	  SASL_OAUTHBEARER_CONFIG="region=eu-west-1,audience=$$KIO_AUDIENCE,sts_endpoint=$$KIO_EMULATOR_URL" && \
	$(GO_BUILD)/bin/producer -run $$run -messages 5 && $(GO_BUILD)/bin/consumer -run $$run -messages 5 && \
	$(GO_BUILD)/bin/sarama -run $$run -messages 3 && $(GO_BUILD)/bin/franz -run $$run -messages 3 && \
	$(GO_BUILD)/bin/kafkago -run $$run -messages 3

.PHONY: go-lib go-deps go-pkgconfig test-go test-go-clients demo-go
