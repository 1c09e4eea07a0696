// Package kiokafkago is a SASL/OAUTHBEARER mechanism (RFC 7628, KIP-255)
// for segmentio/kafka-go, fed by a kafkaiamoauth.Provider. kafka-go has no
// OAUTHBEARER mechanism of its own; it takes any sasl.Mechanism.
//
// kafka-go authenticates each connection once and does not re-authenticate
// (no KIP-368): when the broker's session ends (the token's expiry or
// connections.max.reauth.ms) the broker closes the connection and kafka-go
// opens a new one, which calls Start again. Start hands out the library's
// process-wide cached token, so that costs no STS call: one STS call per
// refresh for the whole process, however many connections.
//
//	p, _ := kafkaiamoauth.NewProvider("region=eu-west-1,audience=my-kafka.example.com", "")
//	mech := kiokafkago.New(p)
//	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: "my-topic",
//		Transport: &kafka.Transport{SASL: mech, TLS: tlsCfg}}
//	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, GroupID: "my-group", Topic: "my-topic",
//		Dialer: &kafka.Dialer{SASLMechanism: mech, TLS: tlsCfg, Timeout: 10 * time.Second}})
//
// This package is its own Go module, so programs that do not use kafka-go
// do not depend on it.
package kiokafkago

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/segmentio/kafka-go/sasl"

	kio "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go"
)

// Mechanism is kafka-go's sasl.Mechanism for OAUTHBEARER. It is safe for
// concurrent use; share one between readers, writers and dialers.
type Mechanism struct {
	provider *kio.Provider
}

var _ sasl.Mechanism = (*Mechanism)(nil)

// New returns the OAUTHBEARER mechanism for p.
func New(p *kio.Provider) *Mechanism {
	return &Mechanism{provider: p}
}

// Name is "OAUTHBEARER", the mechanism kafka-go asks the broker for.
func (m *Mechanism) Name() string { return "OAUTHBEARER" }

// Start returns the client's first message: the cached token and its SASL
// extensions, or, when none is cached, one from STS within ctx (kafka-go's
// dial context: Dialer.Timeout or Deadline, the Transport's DialTimeout,
// the caller's context). A failure is returned wrapped (%w), so errors.As
// finds the library's *kafkaiamoauth.Error (Code, AWSCode such as
// "AccessDenied"); kafka-go returns it from the call that dialled
// (Writer.WriteMessages, Reader.FetchMessage, Dialer.DialLeader, ...) and
// Reader logs it to its ErrorLogger.
func (m *Mechanism) Start(ctx context.Context) (sasl.StateMachine, []byte, error) {
	tok, err := m.provider.Token(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka-go OAUTHBEARER token: %w", err)
	}
	var broker string
	if md := sasl.MetadataFromContext(ctx); md != nil {
		broker = fmt.Sprintf("%s:%d", md.Host, md.Port)
	}
	return &session{broker: broker}, initialResponse(tok.Value, tok.Extensions), nil
}

// initialResponse is the client's first message (RFC 7628 §3.1), laid out
// as Kafka's own client does: a GS2 header without channel binding or
// authorization identity, auth first, extensions sorted by key, then the
// closing pair of separators. The library has already checked the
// extension keys and values against the RFC's grammar, and that none is
// "auth".
func initialResponse(token string, extensions map[string]string) []byte {
	keys := make([]string, 0, len(extensions))
	for k := range extensions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("n,,\x01auth=Bearer ")
	b.WriteString(token)
	b.WriteByte(0x01)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(extensions[k])
		b.WriteByte(0x01)
	}
	b.WriteByte(0x01)
	return []byte(b.String())
}

// session is one connection's exchange.
type session struct {
	broker string
}

// Next handles the broker's answer to the first message. An empty answer
// is success. Anything else is the server's error challenge (RFC 7628
// §3.2.2, a JSON object with "status"): the client must then send a lone
// %x01 or abort. kafka-go reports the broker's reply to a %x01 only as
// its error code 58, dropping the status, so Next aborts instead (it
// returns the error and kafka-go closes the connection): the caller sees
// a *RefusedError naming the status, and nothing waits on the broker.
func (s *session) Next(_ context.Context, challenge []byte) (bool, []byte, error) {
	if len(challenge) == 0 {
		return true, nil, nil
	}
	return false, nil, refused(s.broker, challenge)
}

// RefusedError is the broker's refusal of a token (RFC 7628 §3.2.2): the
// broker validated the token and found it wrong (expired, another
// audience or issuer, an unknown signing key). The broker's log has the
// reason; the status says what kind.
type RefusedError struct {
	// Broker is the broker's host:port, when kafka-go named it.
	Broker string
	// Status is the error's "status" field, e.g. "invalid_token".
	Status string
	// Scope is the "scope" field, empty when the broker sent none.
	Scope string
	// OpenIDConfiguration is the "openid-configuration" field, empty when
	// the broker sent none.
	OpenIDConfiguration string
}

func (e *RefusedError) Error() string {
	msg := "the broker refused the OAUTHBEARER token: status " + fmt.Sprintf("%q", e.Status)
	if e.Broker != "" {
		msg = "broker " + e.Broker + " refused the OAUTHBEARER token: status " + fmt.Sprintf("%q", e.Status)
	}
	if e.Scope != "" {
		msg += fmt.Sprintf(", scope %q", e.Scope)
	}
	if e.OpenIDConfiguration != "" {
		msg += fmt.Sprintf(", openid-configuration %q", e.OpenIDConfiguration)
	}
	return msg + " (a token for another audience or issuer, or expired; the broker's log has the reason)"
}

// refused parses the error challenge. It never includes the challenge's
// raw bytes beyond the three RFC fields, each cut short: the broker is
// not trusted to send only what the RFC says.
func refused(broker string, challenge []byte) *RefusedError {
	var v struct {
		Status string `json:"status"`
		Scope  string `json:"scope"`
		OpenID string `json:"openid-configuration"`
	}
	e := &RefusedError{Broker: broker}
	if err := json.Unmarshal(challenge, &v); err != nil || v.Status == "" {
		e.Status = "unreadable error challenge"
		return e
	}
	e.Status, e.Scope, e.OpenIDConfiguration = clip(v.Status), clip(v.Scope), clip(v.OpenID)
	return e
}

func clip(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
