// Package confluent connects a kafkaiamoauth.Provider to confluent-kafka-go
// v2 clients (*kafka.Producer, *kafka.Consumer, *kafka.AdminClient) that use
// security.protocol SASL_SSL (or SASL_PLAINTEXT) and sasl.mechanism
// OAUTHBEARER.
//
// Two ways, usable together:
//
//   - Events: librdkafka asks for a token with a kafka.OAuthBearerTokenRefresh
//     event; answer it with HandleEvent (or Refresh) from the loop that reads
//     the client's events (Poll or the Events channel).
//   - Push: StartPush sets a token on the client at once and then sets a
//     fresh one before the current one runs low, from its own goroutine.
//     Use it whenever the application may not see the refresh events:
//     Consumer.ReadMessage drops them silently, and a producer whose
//     Events channel nobody reads never answers them.
//
// This package is separate from kafkaiamoauth so that programs which do not
// use confluent-kafka-go do not depend on it.
package confluent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	kio "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go"
)

// TokenSetter is the part of *kafka.Producer, *kafka.Consumer and
// *kafka.AdminClient this package uses.
type TokenSetter interface {
	SetOAuthBearerToken(kafka.OAuthBearerToken) error
	SetOAuthBearerTokenFailure(string) error
}

// NewProvider returns a provider for the sasl.oauthbearer.config and
// sasl.oauthbearer.extensions entries of a client's ConfigMap, so the
// configuration lives in one place. It makes no network call.
func NewProvider(conf kafka.ConfigMap) (*kio.Provider, error) {
	config, err := stringEntry(conf, "sasl.oauthbearer.config")
	if err != nil {
		return nil, err
	}
	if config == "" {
		return nil, &kio.Error{Code: kio.CodeConfig, Message: `sasl.oauthbearer.config is not set in the ConfigMap; set it to e.g. "region=eu-west-1,audience=my-kafka.example.com"`}
	}
	extensions, err := stringEntry(conf, "sasl.oauthbearer.extensions")
	if err != nil {
		return nil, err
	}
	return kio.NewProvider(config, extensions)
}

func stringEntry(conf kafka.ConfigMap, key string) (string, error) {
	v, ok := conf[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", &kio.Error{Code: kio.CodeConfig, Message: fmt.Sprintf("%s in the ConfigMap must be a string, not %T", key, v)}
	}
	return s, nil
}

// OAuthBearerToken converts a token to confluent-kafka-go's type.
func OAuthBearerToken(t kio.Token) kafka.OAuthBearerToken {
	return kafka.OAuthBearerToken{
		TokenValue: t.Value,
		Expiration: t.Expiration,
		Principal:  t.Principal,
		Extensions: t.Extensions,
	}
}

// Refresh gets a token from p and sets it on client. When no token can be
// had, or the client refuses it, it calls client.SetOAuthBearerTokenFailure
// with the reason (librdkafka then reports it as an error event and asks
// again 10 s later) and returns the error.
func Refresh(ctx context.Context, p *kio.Provider, client TokenSetter) error {
	tok, err := p.Token(ctx)
	if err == nil {
		err = client.SetOAuthBearerToken(OAuthBearerToken(tok))
		if err != nil {
			err = fmt.Errorf("kafka-iam-oauth: the client refused the token: %w", err)
		}
	}
	if err != nil {
		_ = client.SetOAuthBearerTokenFailure(err.Error())
		return err
	}
	return nil
}

// HandleEvent answers ev with Refresh if it is a kafka.OAuthBearerTokenRefresh
// and reports whether it was one; err is Refresh's error.
//
//	for ev := range producer.Events() {
//		if ok, err := confluent.HandleEvent(ctx, p, producer, ev); ok {
//			if err != nil { log.Print(err) }
//			continue
//		}
//		...
//	}
func HandleEvent(ctx context.Context, p *kio.Provider, client TokenSetter, ev kafka.Event) (handled bool, err error) {
	switch ev.(type) {
	case kafka.OAuthBearerTokenRefresh, *kafka.OAuthBearerTokenRefresh:
		return true, Refresh(ctx, p, client)
	}
	return false, nil
}

// PushOption configures StartPush.
type PushOption func(*Pusher)

// WithErrorHandler sets a function called, from the pusher's goroutine,
// with every failed background refresh. The current token keeps being used
// meanwhile; only when it has expired is the client told with
// SetOAuthBearerTokenFailure.
func WithErrorHandler(f func(error)) PushOption {
	return func(s *Pusher) { s.onError = f }
}

// Bounds of the pusher's wait between two looks at the provider's cache.
const (
	minCheck = time.Second
	maxCheck = 5 * time.Minute
)

// Pusher keeps a fresh token set on one client. Create it with StartPush;
// call Stop before closing the client.
type Pusher struct {
	p       *kio.Provider
	client  TokenSetter
	onError func(error)

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	set    atomic.Int64
}

// StartPush sets a token from p on client now (waiting for STS if none is
// cached, within ctx) and returns an error, the one from the call that
// failed, if it cannot. It then keeps setting a fresh token on the client
// from its own goroutine before the current one runs low (the provider's
// cache refreshes at half the token lifetime; the pusher looks at the
// cache at a quarter of the remaining lifetime, 1 s to 5 min apart), until
// Stop is called or ctx is done.
//
// Call Stop before closing the client: confluent-kafka-go clients must not
// be used after Close.
func StartPush(ctx context.Context, p *kio.Provider, client TokenSetter, opts ...PushOption) (*Pusher, error) {
	if p == nil || client == nil {
		return nil, &kio.Error{Code: kio.CodeInvalidArgument, Message: "StartPush needs a provider and a client"}
	}
	s := &Pusher{p: p, client: client, done: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	tok, err := p.Token(ctx)
	if err == nil {
		if err = client.SetOAuthBearerToken(OAuthBearerToken(tok)); err != nil {
			err = fmt.Errorf("kafka-iam-oauth: the client refused the token: %w", err)
		}
	}
	if err != nil {
		_ = client.SetOAuthBearerTokenFailure(err.Error())
		return nil, err
	}
	s.set.Add(1)
	var runCtx context.Context
	runCtx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		defer close(s.done)
		stop := context.AfterFunc(ctx, s.cancel)
		defer stop()
		s.run(runCtx, tok)
	}()
	return s, nil
}

// TokensSet is how many distinct tokens the pusher has set on the client
// so far (the first one included).
func (s *Pusher) TokensSet() int64 {
	return s.set.Load()
}

// Stop ends the pusher and waits for its goroutine to finish; no call to
// the client is made after it returns. Idempotent.
func (s *Pusher) Stop() {
	s.once.Do(s.cancel)
	<-s.done
}

func (s *Pusher) run(ctx context.Context, current kio.Token) {
	timer := time.NewTimer(checkAfter(current))
	defer timer.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		tok, err := s.p.Token(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			s.report(err)
			if current.Remaining() == 0 {
				_ = s.client.SetOAuthBearerTokenFailure(err.Error())
			}
			timer.Reset(retryAfter(current, failures))
			continue
		}
		failures = 0
		if tok.Value != current.Value || !tok.Expiration.Equal(current.Expiration) {
			if err := s.client.SetOAuthBearerToken(OAuthBearerToken(tok)); err != nil {
				var kerr kafka.Error
				if errors.As(err, &kerr) && kerr.Code() == kafka.ErrState {
					return // the client is closed
				}
				s.report(fmt.Errorf("kafka-iam-oauth: the client refused the token: %w", err))
			} else {
				current = tok
				s.set.Add(1)
			}
		}
		timer.Reset(checkAfter(current))
	}
}

func (s *Pusher) report(err error) {
	if s.onError != nil {
		s.onError(err)
	}
}

// checkAfter is when to look at the cache again: a quarter of the time
// left, so a token refreshed at half its predecessor's lifetime reaches the
// client well before librdkafka's own refresh point (80 %).
func checkAfter(t kio.Token) time.Duration {
	d := t.Remaining() / 4
	if d < minCheck {
		return minCheck
	}
	if d > maxCheck {
		return maxCheck
	}
	return d
}

// retryAfter backs off 1 s, 2 s, 4 s ... up to 30 s after failures, and
// never waits past half of what is left of the current token.
func retryAfter(current kio.Token, failures int) time.Duration {
	d := time.Second << min(failures-1, 5)
	if d > 30*time.Second {
		d = 30 * time.Second
	}
	if half := current.Remaining() / 2; half > 0 && half < d {
		d = half
	}
	if d < 100*time.Millisecond {
		d = 100 * time.Millisecond
	}
	return d
}
