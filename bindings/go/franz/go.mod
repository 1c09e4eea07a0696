module github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/franz

go 1.25.0

require github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go v0.0.0

require github.com/twmb/franz-go v1.21.7

replace github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go => ../
