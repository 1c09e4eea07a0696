module github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go

go 1.22

require github.com/confluentinc/confluent-kafka-go/v2 v2.11.1
