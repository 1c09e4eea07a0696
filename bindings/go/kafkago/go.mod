module github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/kafkago

go 1.23.0

require (
	github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go v0.0.0
	github.com/segmentio/kafka-go v0.4.51
)

replace github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go => ../
