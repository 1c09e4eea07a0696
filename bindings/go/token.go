package kafkaiamoauth

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"
)

// Token is one SASL/OAUTHBEARER token: the JWT STS minted and what a Kafka
// client sends with it.
//
// Value is a secret. Printing a Token with any fmt verb, logging it with
// log/slog or encoding it as JSON shows the principal, the expiry and the
// extension keys, never Value.
type Token struct {
	// Value is the JWT. Never log it.
	Value string
	// Expiration is when the token expires.
	Expiration time.Time
	// RefreshAt is when the library refreshes this token in the background
	// (while it is in use), between its mint and Expiration. Code that hands
	// tokens to clients itself (the confluent pusher) looks for the next
	// token from then on.
	RefreshAt time.Time
	// Principal is the Kafka principal name (the configured claim, "sub"
	// by default: the IAM ARN).
	Principal string
	// Extensions are the SASL extensions to send with the token (from
	// sasl.oauthbearer.extensions); nil when there are none.
	Extensions map[string]string
}

func (t Token) describe() string {
	keys := make([]string, 0, len(t.Extensions))
	for k := range t.Extensions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return fmt.Sprintf("Token{Principal: %q, Expiration: %s, Value: <redacted>, Extensions: [%s]}",
		t.Principal, t.Expiration.UTC().Format(time.RFC3339), strings.Join(keys, " "))
}

// String describes the token without its value.
func (t Token) String() string { return t.describe() }

// GoString describes the token without its value (the %#v verb).
func (t Token) GoString() string { return t.describe() }

// Format makes every fmt verb print the redacted description.
func (t Token) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(t.describe())) }

// LogValue makes log/slog log the token without its value.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("principal", t.Principal),
		slog.Time("expiration", t.Expiration),
		slog.String("value", "<redacted>"),
	)
}

// MarshalJSON encodes the token without its value.
func (t Token) MarshalJSON() ([]byte, error) {
	keys := make([]string, 0, len(t.Extensions))
	for k := range t.Extensions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return json.Marshal(struct {
		Principal     string    `json:"principal"`
		Expiration    time.Time `json:"expiration"`
		Value         string    `json:"value"`
		ExtensionKeys []string  `json:"extension_keys,omitempty"`
	}{t.Principal, t.Expiration, "<redacted>", keys})
}

// Remaining is the time left before the token expires (0 if expired).
func (t Token) Remaining() time.Duration {
	if d := time.Until(t.Expiration); d > 0 {
		return d
	}
	return 0
}
