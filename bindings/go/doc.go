// Package kafkaiamoauth authenticates Go Kafka clients as an AWS IAM
// principal: it mints short-lived JWTs with AWS STS GetWebIdentityToken,
// caches and refreshes them, and hands them out as SASL/OAUTHBEARER tokens.
//
// It is a thin cgo layer over the kafka-iam-oauth C ABI
// (include/kafka_iam_oauth.h). By default it links the static library
// libkafka_iam_oauth.a; build with -tags dynamic to link the shared library
// found through pkg-config (kafka_iam_oauth.pc) instead. See docs/go.md.
//
//	p, err := kafkaiamoauth.NewProvider("region=eu-west-1,audience=my-kafka.example.com", "")
//	if err != nil { ... }          // a bad configuration fails here, without a network call
//	defer p.Close()
//	tok, err := p.Token(ctx)       // cached after the first call; refreshed ahead of expiry
//
// The subpackage confluent connects a Provider to confluent-kafka-go v2
// clients, both by answering OAuthBearerTokenRefresh events and by pushing
// fresh tokens to clients whose application never sees those events.
package kafkaiamoauth
