// Package kiofranz connects a kafkaiamoauth.Provider to twmb/franz-go
// clients through its OAUTHBEARER mechanism (pkg/sasl/oauth).
//
// franz-go calls the mechanism on every broker connection and when it
// re-authenticates (KIP-368, on its own before the broker's session
// lifetime ends). The mechanism hands out the library's process-wide
// cached token, so that costs no STS call: one STS call per refresh for
// the whole process, however many clients and connections.
//
//	p, _ := kafkaiamoauth.NewProvider("region=eu-west-1,audience=my-kafka.example.com", "")
//	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DialTLSConfig(tlsCfg),
//		kgo.SASL(kiofranz.Mechanism(p)))
//
// This package is its own Go module, so programs that do not use franz-go
// do not depend on it.
package kiofranz

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"

	kio "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go"
)

// Mechanism returns franz-go's OAUTHBEARER mechanism fed by p (pass it to
// kgo.SASL).
func Mechanism(p *kio.Provider) sasl.Mechanism {
	return oauth.Oauth(AuthFunc(p))
}

// AuthFunc returns the function oauth.Oauth calls for each authentication:
// the cached token and its SASL extensions. When no token is cached it
// waits for STS until ctx is done: franz-go passes the client's own
// context, which Close ends and which has no deadline, so the wait is
// bounded by kafkaiamoauth.DefaultTimeout. A failure is returned
// wrapped (%w), so errors.As finds the library's *kafkaiamoauth.Error
// (Code, AWSCode such as "AccessDenied"); franz-go fails the request that
// needed the connection with it (ProduceSync's result, PollFetches' Errors,
// Ping) and logs it through kgo.WithLogger.
func AuthFunc(p *kio.Provider) func(context.Context) (oauth.Auth, error) {
	return func(ctx context.Context) (oauth.Auth, error) {
		tok, err := p.Token(ctx)
		if err != nil {
			return oauth.Auth{}, fmt.Errorf("franz-go OAUTHBEARER token: %w", err)
		}
		return oauth.Auth{Token: tok.Value, Extensions: tok.Extensions}, nil
	}
}
