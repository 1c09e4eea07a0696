package kiofranz

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	kio "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go"
	"github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/internal/testenv"
)

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

func TestAuthCarriesTokenAndExtensions(t *testing.T) {
	p := provider(t, "go-franz-auth")
	fn := AuthFunc(p)
	a, err := fn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := fn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if a.Token == "" || a.Token != b.Token || a.Extensions["logicalCluster"] != "lkc-1" || a.Zid != "" {
		t.Fatalf("auths differ or lack the extension: %v / %v", a.Extensions, b.Extensions)
	}
	if s, _ := p.Stats(); s.Mints != 1 {
		t.Errorf("%d mints for two authentications; want 1", s.Mints)
	}
	if Mechanism(p).Name() != "OAUTHBEARER" {
		t.Error(Mechanism(p).Name())
	}
}

// franz-go's context ends the wait for STS.
func TestContextDeadlineIsHonoured(t *testing.T) {
	if _, err := testenv.Control(emu.URL, "POST", "/_emulator/faults", map[string]any{"latency_ms": 3000}); err != nil {
		t.Fatal(err)
	}
	defer testenv.Control(emu.URL, "POST", "/_emulator/faults", map[string]any{"mode": "none"})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := AuthFunc(provider(t, "go-franz-slow"))(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AuthFunc with a 300 ms deadline against a 3 s STS: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned after %v; the deadline was 300 ms", d)
	}
}

func TestErrorsWrapTheLibraryError(t *testing.T) {
	if _, err := testenv.Control(emu.URL, "POST", "/_emulator/policy", map[string]any{"allowed_audiences": []string{"someone-else"}}); err != nil {
		t.Fatal(err)
	}
	defer testenv.Control(emu.URL, "POST", "/_emulator/policy", map[string]any{"allowed_audiences": nil})
	_, err := AuthFunc(provider(t, "go-franz-denied"))(context.Background())
	var e *kio.Error
	if !errors.As(err, &e) || e.Code != kio.CodeSTS || e.AWSCode != "AccessDenied" {
		t.Fatalf("AuthFunc = %v; want the library's STS AccessDenied error", err)
	}
}
