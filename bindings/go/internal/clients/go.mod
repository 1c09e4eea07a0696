module github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/internal/clients

go 1.25.0

require (
	github.com/IBM/sarama v1.60.2
	github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go v0.0.0
	github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/franz v0.0.0
	github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/kafkago v0.0.0
	github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/sarama v0.0.0
	github.com/segmentio/kafka-go v0.4.51
	github.com/twmb/franz-go v1.21.7
)

require (
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/eapache/go-resiliency v1.7.0 // indirect
	github.com/hashicorp/go-uuid v1.0.3 // indirect
	github.com/jcmturner/aescts/v2 v2.0.0 // indirect
	github.com/jcmturner/dnsutils/v2 v2.0.0 // indirect
	github.com/jcmturner/gofork v1.7.6 // indirect
	github.com/jcmturner/gokrb5/v8 v8.4.4 // indirect
	github.com/jcmturner/rpc/v2 v2.0.3 // indirect
	github.com/klauspost/compress v1.20.1 // indirect
	github.com/pierrec/lz4/v4 v4.1.31 // indirect
	github.com/rcrowley/go-metrics v0.0.0-20250401214520-65e299d6c5c9 // indirect
	github.com/twmb/franz-go/pkg/kmsg v1.13.1 // indirect
	golang.org/x/crypto v0.55.0 // indirect
	golang.org/x/net v0.58.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)

replace (
	github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go => ../..
	github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/franz => ../../franz
	github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/kafkago => ../../kafkago
	github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/sarama => ../../sarama
)
