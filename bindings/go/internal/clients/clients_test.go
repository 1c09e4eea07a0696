package clients

// The three clients, each built the way its adapter's doc says, with a
// counter around the adapter: how many times the client asked for a token
// (each connection and each re-authentication) and which tokens it got.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/oauth"

	kio "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go"
	kiofranz "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/franz"
	kiokafkago "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/kafkago"
	kiosarama "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/sarama"
)

// counter counts a client kind's token requests and the distinct tokens
// handed out (by hash; the test keeps no token), and whether each carried
// the expected extensions.
type counter struct {
	calls, missingExt atomic.Int64
	mu                sync.Mutex
	tokens            map[[32]byte]bool
	wantExt           map[string]string
}

func newCounter(wantExt map[string]string) *counter {
	return &counter{tokens: map[[32]byte]bool{}, wantExt: wantExt}
}

func (c *counter) saw(token string, ext map[string]string) {
	c.mu.Lock()
	c.tokens[sha256.Sum256([]byte(token))] = true
	c.mu.Unlock()
	for k, v := range c.wantExt {
		if ext[k] != v {
			c.missingExt.Add(1)
		}
	}
}

func (c *counter) distinct() map[[32]byte]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[[32]byte]bool, len(c.tokens))
	for k := range c.tokens {
		out[k] = true
	}
	return out
}

// syncLog is a client's log, kept to look for authentication failures.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *syncLog) Printf(format string, args ...any) {
	_, _ = fmt.Fprintf(l, format+"\n", args...)
}

// authFailures are the log's lines about a failed authentication.
func (l *syncLog) authFailures() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.buf.String(), "\n") {
		low := strings.ToLower(line)
		if (strings.Contains(low, "sasl") || strings.Contains(low, "authenticat") || strings.Contains(low, "invalid_token")) &&
			(strings.Contains(low, "fail") || strings.Contains(low, "error") || strings.Contains(low, "invalid")) {
			out = append(out, line)
		}
	}
	return out
}

// saramaLog is sarama.Logger (a global of sarama's).
var saramaLog = &syncLog{}

func init() { sarama.Logger = log.New(saramaLog, "[sarama] ", log.LstdFlags|log.Lmicroseconds) }

// --- sarama

type countingSarama struct {
	inner sarama.AccessTokenProvider
	c     *counter
}

func (s countingSarama) Token() (*sarama.AccessToken, error) {
	s.c.calls.Add(1)
	t, err := s.inner.Token()
	if err == nil {
		s.c.saw(t.Token, t.Extensions)
	}
	return t, err
}

func saramaConfig(p *kio.Provider, c *counter, clientID string) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_0_0_0
	cfg.ClientID = clientID
	kiosarama.Configure(cfg, p)
	if c != nil {
		cfg.Net.SASL.TokenProvider = countingSarama{cfg.Net.SASL.TokenProvider, c}
	}
	cfg.Net.TLS.Enable = true
	cfg.Net.TLS.Config = env.tls
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Metadata.Retry.Max = 1
	cfg.Metadata.Retry.Backoff = 200 * time.Millisecond
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	return cfg
}

// --- franz-go

func franzMechanism(p *kio.Provider, c *counter) kgo.Opt {
	fn := kiofranz.AuthFunc(p)
	return kgo.SASL(oauth.Oauth(func(ctx context.Context) (oauth.Auth, error) {
		c.calls.Add(1)
		a, err := fn(ctx)
		if err == nil {
			c.saw(a.Token, a.Extensions)
		}
		return a, err
	}))
}

func franzClient(p *kio.Provider, c *counter, logTo *syncLog, opts ...kgo.Opt) (*kgo.Client, error) {
	all := []kgo.Opt{
		kgo.SeedBrokers(env.ssl),
		kgo.DialTLSConfig(env.tls),
		franzMechanism(p, c),
		kgo.WithLogger(kgo.BasicLogger(logTo, kgo.LogLevelWarn, nil)),
	}
	return kgo.NewClient(append(all, opts...)...)
}

// --- kafka-go

type countingMechanism struct {
	*kiokafkago.Mechanism
	c *counter
}

func (m countingMechanism) Start(ctx context.Context) (sasl.StateMachine, []byte, error) {
	m.c.calls.Add(1)
	sm, ir, err := m.Mechanism.Start(ctx)
	if err == nil {
		// The token sits between "auth=Bearer " and the next 0x01; the
		// extensions follow as key=value pairs.
		s := strings.TrimSuffix(string(ir), "\x01\x01")
		parts := strings.Split(s, "\x01")
		ext := map[string]string{}
		var token string
		for _, kv := range parts[1:] {
			if v, ok := strings.CutPrefix(kv, "auth=Bearer "); ok {
				token = v
			} else if k, v, ok := strings.Cut(kv, "="); ok {
				ext[k] = v
			}
		}
		m.c.saw(token, ext)
	}
	return sm, ir, err
}

func kafkagoMechanism(p *kio.Provider, c *counter) sasl.Mechanism {
	return countingMechanism{kiokafkago.New(p), c}
}

func kafkagoWriter(mech sasl.Mechanism, topic string, logTo *syncLog) *kafka.Writer {
	return &kafka.Writer{
		Addr:         kafka.TCP(env.ssl),
		Topic:        topic,
		Transport:    &kafka.Transport{SASL: mech, TLS: env.tls, DialTimeout: 10 * time.Second},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 10 * time.Millisecond,
		ErrorLogger:  logTo,
	}
}

func kafkagoDialer(mech sasl.Mechanism) *kafka.Dialer {
	return &kafka.Dialer{SASLMechanism: mech, TLS: env.tls, Timeout: 10 * time.Second}
}

// kioError finds the library's error in err's chain.
func kioError(err error) *kio.Error {
	var e *kio.Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
