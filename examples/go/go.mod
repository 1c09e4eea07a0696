module github.com/kafka-iam-oauth/kafka-iam-oauth/examples/go

go 1.22

require (
	github.com/confluentinc/confluent-kafka-go/v2 v2.11.1
	github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go v0.0.0
)

// The binding from this checkout; a program of yours would do the same
// (or set CGO_CFLAGS / CGO_LDFLAGS, see docs/go.md).
replace github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go => ../../bindings/go
