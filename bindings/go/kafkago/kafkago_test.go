package kiokafkago

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go/sasl"

	kio "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go"
	"github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/internal/testenv"
)

// RFC 7628 §4.1's initial client response (the IMAP example), with the
// ^A separators as bytes.
const rfcExample41 = "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"

// RFC 7628 §4.3's error challenge, base64 as the RFC prints it.
const rfcExample43Challenge = "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0="

// kvpairs splits a client response into its GS2 header and key/value pairs,
// checking the framing: header, ^A, pairs each ended by ^A, and a final ^A.
func kvpairs(t *testing.T, msg string) (string, map[string]string) {
	t.Helper()
	header, rest, ok := strings.Cut(msg, "\x01")
	if !ok || !strings.HasSuffix(rest, "\x01\x01") {
		t.Fatalf("not framed as RFC 7628 §3.1 says: %q", msg)
	}
	pairs := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(rest, "\x01\x01"), "\x01") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			t.Fatalf("bad kvpair %q in %q", kv, msg)
		}
		pairs[k] = v
	}
	return header, pairs
}

func TestInitialResponseMatchesRFC7628Example(t *testing.T) {
	const token = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="
	got := string(initialResponse(token, map[string]string{"host": "server.example.com", "port": "143"}))
	// Kafka's layout: no authzid, auth first, extensions sorted.
	want := "n,,\x01auth=Bearer " + token + "\x01host=server.example.com\x01port=143\x01\x01"
	if got != want {
		t.Fatalf("initial response\n got %q\nwant %q", got, want)
	}
	// The same pairs and framing as the RFC's example; only the GS2
	// header differs (the RFC's example names an authzid, a=user@...).
	gotHeader, gotPairs := kvpairs(t, got)
	rfcHeader, rfcPairs := kvpairs(t, rfcExample41)
	if gotHeader != "n,," || rfcHeader != "n,a=user@example.com," {
		t.Errorf("GS2 headers %q and %q", gotHeader, rfcHeader)
	}
	if len(gotPairs) != len(rfcPairs) {
		t.Errorf("pairs %v, the RFC's %v", gotPairs, rfcPairs)
	}
	for k, v := range rfcPairs {
		if gotPairs[k] != v {
			t.Errorf("pair %s = %q, the RFC's %q", k, gotPairs[k], v)
		}
	}
}

func TestInitialResponseWithoutExtensions(t *testing.T) {
	if got, want := string(initialResponse("a.b.c", nil)), "n,,\x01auth=Bearer a.b.c\x01\x01"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestEmptyServerAnswerCompletesTheExchange(t *testing.T) {
	done, resp, err := (&session{}).Next(context.Background(), nil)
	if !done || resp != nil || err != nil {
		t.Fatalf("Next(empty) = %v, %q, %v; want done", done, resp, err)
	}
}

func TestErrorChallengeEndsTheExchangeNamingTheStatus(t *testing.T) {
	challenge, err := base64.StdEncoding.DecodeString(rfcExample43Challenge)
	if err != nil {
		t.Fatal(err)
	}
	done, resp, err := (&session{broker: "127.0.0.1:9093"}).Next(context.Background(), challenge)
	if done || resp != nil {
		t.Errorf("Next(error challenge) = done %v, response %q; want neither", done, resp)
	}
	var refused *RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("Next(error challenge) error %v; want a *RefusedError", err)
	}
	want := RefusedError{Broker: "127.0.0.1:9093", Status: "invalid_token", Scope: "example_scope",
		OpenIDConfiguration: "https://example.com/.well-known/openid-configuration"}
	if *refused != want {
		t.Errorf("got %+v, want %+v", *refused, want)
	}
	for _, s := range []string{`"invalid_token"`, "127.0.0.1:9093", "example_scope"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q does not name %s", err, s)
		}
	}
}

func TestUnreadableErrorChallengeIsNotEchoed(t *testing.T) {
	_, _, err := (&session{}).Next(context.Background(), []byte("not json, perhaps a secret"))
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("Next(garbage) = %v; want an error that does not echo the bytes", err)
	}
}

func TestMechanismName(t *testing.T) {
	var m sasl.Mechanism = New(nil)
	if m.Name() != "OAUTHBEARER" {
		t.Fatal(m.Name())
	}
}

var emu *testenv.Emulator

func TestMain(m *testing.M) { os.Exit(testenv.RunWithEmulator(m, &emu)) }

func provider(t *testing.T, audience string) *kio.Provider {
	t.Helper()
	p, err := kio.NewProvider("region=eu-west-1,audience="+audience+",sts_endpoint="+emu.URL, "logicalCluster=lkc-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestStartSendsTheCachedTokenWithExtensions(t *testing.T) {
	p := provider(t, "go-kafkago-start")
	m := New(p)
	_, first, err := m.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, second, err := m.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := p.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := "n,,\x01auth=Bearer " + tok.Value + "\x01logicalCluster=lkc-1\x01\x01"
	if string(first) != want || string(second) != want {
		t.Error("Start's message is not the cached token with the extension")
	}
	if s, _ := p.Stats(); s.Mints != 1 {
		t.Errorf("%d mints for two connections; want 1", s.Mints)
	}
}

// kafka-go's dial context ends the wait for STS.
func TestStartHonoursTheDialDeadline(t *testing.T) {
	if _, err := testenv.Control(emu.URL, "POST", "/_emulator/faults", map[string]any{"latency_ms": 3000}); err != nil {
		t.Fatal(err)
	}
	defer testenv.Control(emu.URL, "POST", "/_emulator/faults", map[string]any{"mode": "none"})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := New(provider(t, "go-kafkago-slow")).Start(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start with a 300 ms deadline against a 3 s STS: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned after %v; the deadline was 300 ms", d)
	}
}

func TestStartErrorWrapsTheLibraryError(t *testing.T) {
	if _, err := testenv.Control(emu.URL, "POST", "/_emulator/policy", map[string]any{"allowed_audiences": []string{"someone-else"}}); err != nil {
		t.Fatal(err)
	}
	defer testenv.Control(emu.URL, "POST", "/_emulator/policy", map[string]any{"allowed_audiences": nil})
	_, _, err := New(provider(t, "go-kafkago-denied")).Start(context.Background())
	var e *kio.Error
	if !errors.As(err, &e) || e.Code != kio.CodeSTS || e.AWSCode != "AccessDenied" {
		t.Fatalf("Start = %v; want the library's STS AccessDenied error", err)
	}
}
