package kiosarama

import (
	"errors"
	"os"
	"sync"
	"testing"

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

// Every connection of every client asks; one token serves them all.
func TestConcurrentConnectionsShareOneMint(t *testing.T) {
	p := provider(t, "go-sarama-share")
	tp := NewTokenProvider(p)
	var wg sync.WaitGroup
	tokens := make([]string, 50)
	for i := range tokens {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			at, err := tp.Token()
			if err != nil {
				t.Error(err)
				return
			}
			if at.Extensions["logicalCluster"] != "lkc-1" {
				t.Errorf("extensions %v", at.Extensions)
			}
			tokens[i] = at.Token
		}(i)
	}
	wg.Wait()
	for _, tok := range tokens {
		if tok == "" || tok != tokens[0] {
			t.Fatal("the connections got different tokens")
		}
	}
	if s, _ := p.Stats(); s.Mints != 1 {
		t.Errorf("%d mints for 50 connections; want 1", s.Mints)
	}
}

func TestErrorsWrapTheLibraryError(t *testing.T) {
	if _, err := testenv.Control(emu.URL, "POST", "/_emulator/policy", map[string]any{"allowed_audiences": []string{"someone-else"}}); err != nil {
		t.Fatal(err)
	}
	defer testenv.Control(emu.URL, "POST", "/_emulator/policy", map[string]any{"allowed_audiences": nil})
	_, err := NewTokenProvider(provider(t, "go-sarama-denied")).Token()
	var e *kio.Error
	if !errors.As(err, &e) || e.Code != kio.CodeSTS || e.AWSCode != "AccessDenied" {
		t.Fatalf("Token() = %v; want the library's STS AccessDenied error", err)
	}
}
