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

// The pusher's waits. It has no refresh or backoff policy of its own: the
// schedule comes from the token (RefreshAt, the library's own refresh
// time), and retries with backoff are the library's: its background
// refresh, the attempts inside each Token call, and kio.RetryDelay between
// the pusher's own failed Token calls.
const (
	// recheck: how soon to look at the cache again once the current token's
	// refresh time has passed and the cache still holds it (the library is
	// minting, or retrying while the token stays valid). A cache read: no
	// STS call, no lock.
	recheck = time.Second
	// maxWait: the longest single wait, so a clock jump cannot stall the pusher.
	maxWait = 5 * time.Minute
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
// from its own goroutine, until Stop is called, ctx is done or p is
// closed: at the current token's RefreshAt (when the library refreshes it
// in the background) it takes the new token from the provider's cache,
// looking again every second until the library has it; only when nothing
// usable is cached does it call Token, and after failed calls it waits
// kio.RetryDelay (the library's backoff) before the next.
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
	timer := time.NewTimer(nextLook(current))
	defer timer.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		tok, ok := s.p.CachedToken()
		if !ok {
			// Nothing usable cached (the library's refresh failed until the
			// token ran out, or nobody used it): ask for one, which calls STS.
			var err error
			tok, err = s.p.Token(ctx)
			if ctx.Err() != nil || errors.Is(err, kio.ErrClosed) {
				return
			}
			if err != nil {
				s.report(err)
				if current.Remaining() == 0 {
					_ = s.client.SetOAuthBearerTokenFailure(err.Error())
				}
				timer.Reset(kio.RetryDelay(failures))
				failures++
				continue
			}
			failures = 0
		}
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
		timer.Reset(nextLook(current))
	}
}

func (s *Pusher) report(err error) {
	if s.onError != nil {
		s.onError(err)
	}
}

// nextLook is when to look at the cache again: at the token's refresh time,
// and every second once that has passed.
func nextLook(t kio.Token) time.Duration {
	d := time.Until(t.RefreshAt)
	if d < recheck {
		return recheck
	}
	if d > maxWait {
		return maxWait
	}
	return d
}
