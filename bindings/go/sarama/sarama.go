// Package kiosarama connects a kafkaiamoauth.Provider to IBM/sarama
// clients that use SASL/OAUTHBEARER (sarama.SASLTypeOAuth).
//
// sarama asks Net.SASL.TokenProvider for a token on every broker
// connection and on every re-authentication (KIP-368; sarama re-authenticates
// on its own before the broker's session lifetime ends). TokenProvider hands
// out the library's process-wide cached token, so that costs no STS call:
// one STS call per refresh for the whole process, however many clients and
// connections.
//
//	p, _ := kafkaiamoauth.NewProvider("region=eu-west-1,audience=my-kafka.example.com", "")
//	cfg := sarama.NewConfig()
//	kiosarama.Configure(cfg, p)
//	cfg.Net.TLS.Enable = true
//	producer, err := sarama.NewSyncProducer(brokers, cfg)
//
// This package is its own Go module, so programs that do not use sarama do
// not depend on it.
package kiosarama

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	kio "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go"
)

// TokenProvider is a sarama.AccessTokenProvider backed by a Provider.
type TokenProvider struct {
	// Provider hands out the tokens; share one between clients.
	Provider *kio.Provider
	// Timeout bounds how long Token waits for STS when no token is cached
	// (sarama's Token takes no context); 0 means kafkaiamoauth.DefaultTimeout.
	// With a token cached, Token returns at once.
	Timeout time.Duration
}

var _ sarama.AccessTokenProvider = (*TokenProvider)(nil)

// NewTokenProvider returns a TokenProvider for p with the default timeout.
func NewTokenProvider(p *kio.Provider) *TokenProvider {
	return &TokenProvider{Provider: p}
}

// Token returns the cached token and its SASL extensions, or waits for one
// at most Timeout. A failure is returned wrapped (%w), so errors.As finds
// the library's *kafkaiamoauth.Error (Code, AWSCode such as "AccessDenied");
// sarama then fails the connection with it (NewClient, NewSyncProducer and
// the others return it inside ErrOutOfBrokers) and logs it to sarama.Logger.
func (t *TokenProvider) Token() (*sarama.AccessToken, error) {
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = kio.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tok, err := t.Provider.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("sarama OAUTHBEARER token: %w", err)
	}
	return &sarama.AccessToken{Token: tok.Value, Extensions: tok.Extensions}, nil
}

// Configure sets cfg to authenticate with SASL/OAUTHBEARER using p:
// Net.SASL.Enable, Mechanism, Handshake and TokenProvider. TLS
// (cfg.Net.TLS) stays the caller's choice; Kafka needs SASL_SSL for IAM
// tokens outside a test.
func Configure(cfg *sarama.Config, p *kio.Provider) {
	cfg.Net.SASL.Enable = true
	cfg.Net.SASL.Mechanism = sarama.SASLTypeOAuth
	cfg.Net.SASL.Handshake = true
	cfg.Net.SASL.Version = sarama.SASLHandshakeV1
	cfg.Net.SASL.TokenProvider = NewTokenProvider(p)
}
