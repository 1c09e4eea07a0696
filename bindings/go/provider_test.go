package kafkaiamoauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/internal/testenv"
)

// The unit tests run against a private emulator of their own, so they can
// set faults and policies without disturbing the broker's emulator.
var emu *testenv.Emulator

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kio-go-unit-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := testenv.SetupAWS(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	emu, err = testenv.StartEmulator(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	emu.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// config is a configuration with an audience of its own per test, so each
// test has its own entry in the library's process-wide cache.
func config(t *testing.T, extra string) string {
	s := fmt.Sprintf("region=eu-west-1,audience=go-%s,sts_endpoint=%s", strings.ReplaceAll(t.Name(), "/", "-"), emu.URL)
	if extra != "" {
		s += "," + extra
	}
	return s
}

func newProvider(t *testing.T, extra, extensions string) *Provider {
	t.Helper()
	p, err := NewProvider(config(t, extra), extensions)
	if err != nil {
		t.Fatalf("NewProvider: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func mintCalls(t *testing.T) int {
	t.Helper()
	n, err := testenv.MintCalls(emu.URL)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func control(t *testing.T, method, path string, body any) {
	t.Helper()
	if _, err := testenv.Control(emu.URL, method, path, body); err != nil {
		t.Fatal(err)
	}
}

func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want a *kafkaiamoauth.Error, got %T: %v", err, err)
	}
	return e
}

func TestBadConfigFailsInNewProviderWithoutNetwork(t *testing.T) {
	before := mintCalls(t)
	cases := []struct{ config, extensions, mentions string }{
		{"region=eu-west-1", "", "audience"},
		{"audience=a", "", "region"},
		{"region=eu-west-1,audience=a,duration_seconds=10", "", "duration_seconds"},
		{"region=eu-west-1,audience=a,no_such_key=1", "", "no_such_key"},
		{"region=eu-west-1,audience=a,signing_algorithm=HS256", "", "signing_algorithm"},
		{"region=eu-west-1,audience=a", "novalue", "sasl.oauthbearer.extensions"},
	}
	for _, c := range cases {
		p, err := NewProvider(c.config, c.extensions)
		if err == nil {
			p.Close()
			t.Errorf("NewProvider(%q, %q) succeeded", c.config, c.extensions)
			continue
		}
		e := asError(t, err)
		if e.Code != CodeConfig {
			t.Errorf("NewProvider(%q): code %v, want CodeConfig", c.config, e.Code)
		}
		if !strings.Contains(err.Error(), c.mentions) {
			t.Errorf("NewProvider(%q): %q does not name %q", c.config, err, c.mentions)
		}
	}
	if after := mintCalls(t); after != before {
		t.Errorf("a bad configuration made %d STS calls", after-before)
	}
}

func TestNULByteIsAnInvalidArgument(t *testing.T) {
	_, err := NewProvider("region=eu-west-1,audience=a\x00,duration_seconds=10", "")
	if e := asError(t, err); e.Code != CodeInvalidArgument {
		t.Fatalf("code %v, want CodeInvalidArgument", e.Code)
	}
}

func TestTokenIsAJWTForTheIAMPrincipal(t *testing.T) {
	p := newProvider(t, "duration_seconds=900", "logicalCluster=lkc-1,identityPoolId=pool-2")
	start := time.Now()
	tok, err := p.Token(context.Background())
	took := time.Since(start)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if tok.Principal != testenv.UserARN {
		t.Errorf("Principal %q, want %q", tok.Principal, testenv.UserARN)
	}
	if d := tok.Expiration.Sub(start); d < 850*time.Second || d > 905*time.Second {
		t.Errorf("token expires in %v, asked for 900 s", d)
	}
	claims, err := testenv.Claims(tok.Value)
	if err != nil {
		t.Fatalf("token value is not a JWT: %v", err)
	}
	if claims["sub"] != testenv.UserARN || claims["aud"] != "go-"+t.Name() {
		t.Errorf("claims sub=%v aud=%v", claims["sub"], claims["aud"])
	}
	// The library counts the lifetime (exp - iat, whole seconds) from when
	// the request left, erring early: Expiration is within a second of the
	// JWT's exp, or earlier by up to the call's time (a request that
	// crossed a second boundary at STS ends up to a second early).
	exp, _ := claims["exp"].(float64)
	if early := time.Unix(int64(exp), 0).Sub(tok.Expiration); early <= -time.Second || early > took+time.Second {
		t.Errorf("Expiration %v, JWT exp %v: %v early, the call took %v", tok.Expiration, exp, early, took)
	}
	want := map[string]string{"logicalCluster": "lkc-1", "identityPoolId": "pool-2"}
	if fmt.Sprint(tok.Extensions) != fmt.Sprint(want) {
		t.Errorf("Extensions %v, want %v", tok.Extensions, want)
	}
}

func TestNoExtensionsGiveNilMap(t *testing.T) {
	tok, err := newProvider(t, "", "").Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.Extensions != nil {
		t.Errorf("Extensions %v, want nil", tok.Extensions)
	}
}

func TestCachedTokenIsServedWithoutAnotherSTSCall(t *testing.T) {
	before := mintCalls(t)
	p1 := newProvider(t, "", "")
	p2 := newProvider(t, "", "") // same configuration: same cache entry
	if _, ok := p1.CachedToken(); ok {
		t.Fatal("CachedToken returned a token before any was minted")
	}
	if n := mintCalls(t) - before; n != 0 {
		t.Fatalf("CachedToken called STS (%d calls)", n)
	}
	minted := time.Now()
	t1, err := p1.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cached, ok := p2.CachedToken()
	if !ok || cached.Value != t1.Value {
		t.Fatal("CachedToken of a second provider of the same configuration did not return the token")
	}
	// The library's refresh time lies between the mint and the expiry.
	if t1.RefreshAt.Before(minted.Add(-time.Second)) || !t1.RefreshAt.Before(t1.Expiration) || !cached.RefreshAt.Equal(t1.RefreshAt) {
		t.Errorf("RefreshAt %v, minted about %v, expires %v", t1.RefreshAt, minted, t1.Expiration)
	}
	for i := 0; i < 100; i++ {
		t2, err := p2.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if t2.Value != t1.Value {
			t.Fatal("a second provider of the same configuration got another token")
		}
	}
	if n := p1.MintCount(); n != 1 {
		t.Errorf("MintCount %d, want 1", n)
	}
	if n := mintCalls(t) - before; n != 1 {
		t.Errorf("%d STS calls, want 1", n)
	}
}

// doneCounter is a cancellable context that counts calls to Done: Token
// only waits on Done (from a goroutine of its own) when it has to call STS.
type doneCounter struct {
	context.Context
	calls atomic.Int64
}

func (c *doneCounter) Done() <-chan struct{} {
	c.calls.Add(1)
	return c.Context.Done()
}

func TestCachedTokenIsReturnedWithoutAGoroutine(t *testing.T) {
	p := newProvider(t, "", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := &doneCounter{Context: ctx}
	if _, err := p.Token(first); err != nil {
		t.Fatal(err)
	}
	if first.calls.Load() == 0 {
		t.Fatal("the cold Token call did not wait on the context (test premise)")
	}
	warm := &doneCounter{Context: ctx}
	for i := 0; i < 100; i++ {
		if _, err := p.Token(warm); err != nil {
			t.Fatal(err)
		}
	}
	if n := warm.calls.Load(); n != 0 {
		t.Errorf("Token waited on the context %d times with a token cached", n)
	}
}

func TestManyGoroutinesAtColdStartCauseOneSTSCall(t *testing.T) {
	p := newProvider(t, "", "")
	const n = 32
	values := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			tok, err := p.Token(ctx)
			values[i], errs[i] = tok.Value, err
		}(i)
	}
	close(start)
	wg.Wait()
	for i := range values {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if values[i] != values[0] {
			t.Fatalf("goroutine %d got a different token", i)
		}
	}
	if m := p.MintCount(); m != 1 {
		t.Errorf("MintCount %d, want 1", m)
	}
}

func TestCloseIsIdempotentAndLaterCallsFail(t *testing.T) {
	p := newProvider(t, "", "")
	if _, err := p.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Token(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Token after Close: %v, want ErrClosed", err)
	}
	if _, ok := p.CachedToken(); ok {
		t.Errorf("CachedToken after Close returned a token")
	}
	if n := p.MintCount(); n != 0 {
		t.Errorf("MintCount after Close = %d, want 0", n)
	}
}

func TestCloseWhileOtherGoroutinesTakeTokens(t *testing.T) {
	p := newProvider(t, "", "")
	if _, err := p.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Each goroutine takes tokens until it is told the provider is closed;
	// Close comes once all of them are under way (the race detector watches).
	const workers = 8
	var served atomic.Int64
	ended := make(chan error, workers)
	for i := 0; i < workers; i++ {
		go func() {
			for {
				_, err := p.Token(context.Background())
				if err == nil {
					served.Add(1)
					continue
				}
				ended <- err
				return
			}
		}()
	}
	for served.Load() < 1000 {
		time.Sleep(time.Millisecond)
	}
	p.Close()
	for i := 0; i < workers; i++ {
		if err := <-ended; !errors.Is(err, ErrClosed) {
			t.Errorf("a goroutine ended with %v, want ErrClosed", err)
		}
	}
}

func TestSTSErrorComesBackFromTheCallThatFailed(t *testing.T) {
	p := newProvider(t, "profile="+testenv.ProfileWrong, "")
	_, err := p.Token(context.Background())
	e := asError(t, err)
	if e.Code != CodeSTS || e.AWSCode != "SignatureDoesNotMatch" {
		t.Fatalf("code %v, AWS code %q, want CodeSTS SignatureDoesNotMatch: %v", e.Code, e.AWSCode, err)
	}
	if strings.Contains(err.Error(), testenv.WrongSecret) {
		t.Fatal("the error message contains the secret access key")
	}
	if e.Retryable {
		t.Error("a wrong secret key is reported as retryable")
	}
}

func TestRetryDelayIsTheLibrarysBackoff(t *testing.T) {
	if d := RetryDelay(0); d < 250*time.Millisecond || d > 500*time.Millisecond {
		t.Errorf("RetryDelay(0) = %v", d)
	}
	if d := RetryDelay(100); d < 15*time.Second || d > 30*time.Second {
		t.Errorf("RetryDelay(100) = %v", d)
	}
}

func TestThrottlingIsRetryable(t *testing.T) {
	control(t, "POST", "/_emulator/faults", map[string]any{"mode": "throttle", "count": 50})
	defer control(t, "POST", "/_emulator/faults", map[string]any{"mode": "none"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := newProvider(t, "", "").Token(ctx)
	if e := asError(t, err); !e.Retryable {
		t.Fatalf("throttling: %v (code %v), want Retryable", err, e.Code)
	}
}

func TestFederationDisabledSaysWhatTheAdminMustDo(t *testing.T) {
	control(t, "POST", "/_emulator/policy", map[string]any{"federation_enabled": false})
	defer control(t, "POST", "/_emulator/reset", nil)
	_, err := newProvider(t, "", "").Token(context.Background())
	e := asError(t, err)
	if e.Code != CodeSTS || e.AWSCode != "OutboundWebIdentityFederationDisabledException" {
		t.Fatalf("code %v, AWS code %q: %v", e.Code, e.AWSCode, err)
	}
	if !strings.Contains(strings.ToLower(e.Message), "enable-outbound-web-identity-federation") {
		t.Errorf("the message does not name the fix: %q", e.Message)
	}
}

func TestMissingProfileIsACredentialsError(t *testing.T) {
	_, err := newProvider(t, "profile="+testenv.ProfileAbsent, "").Token(context.Background())
	if e := asError(t, err); e.Code != CodeCredentials {
		t.Fatalf("code %v, want CodeCredentials: %v", e.Code, err)
	}
}

func TestContextDeadlineEndsTheWait(t *testing.T) {
	control(t, "POST", "/_emulator/faults", map[string]any{"latency_ms": 3000})
	defer control(t, "POST", "/_emulator/faults", map[string]any{"mode": "none"})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := newProvider(t, "", "").Token(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want an error that is context.DeadlineExceeded", err)
	}
}

// A deadline past DefaultTimeout is one wait in C (issue 20): STS throttles
// three times, each answer after 3 s (under the library's 5 s per attempt),
// and the fourth answer (the mint's last attempt) brings the token after
// 9 s plus the throttled retries' backoff (at most 3.5 s), past
// DefaultTimeout (8 s), well within the 20 s deadline on a loaded machine.
func TestLongDeadlineIsOneWaitInC(t *testing.T) {
	control(t, "POST", "/_emulator/faults", map[string]any{"mode": "throttle", "latency_ms": 3000, "count": 3})
	defer control(t, "POST", "/_emulator/faults", map[string]any{"mode": "none"})
	p := newProvider(t, "mint_timeout_seconds=20", "")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	calls := cWaits.calls.Load()
	start := time.Now()
	if _, err := p.Token(ctx); err != nil {
		t.Fatalf("Token: %v", err)
	}
	took := time.Since(start)
	if took <= DefaultTimeout {
		t.Fatalf("the token came after %v: the test needs it past DefaultTimeout (%v)", took, DefaultTimeout)
	}
	if n := cWaits.calls.Load() - calls; n != 1 {
		t.Fatalf("%d waits in C for one Token call, want 1 (took %v)", n, took)
	}
	t.Logf("one wait in C, token after %v", took)
}

// A deadline that ends first (1 s, STS answering after 3 s): the error is
// context.DeadlineExceeded and wraps the library's own cause, the timed
// wait's timeout naming what it waited for (issue 20).
func TestShortDeadlineWrapsTheLibrarysCause(t *testing.T) {
	control(t, "POST", "/_emulator/faults", map[string]any{"latency_ms": 3000})
	defer control(t, "POST", "/_emulator/faults", map[string]any{"mode": "none"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := newProvider(t, "", "").Token(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want an error that is context.DeadlineExceeded", err)
	}
	e := asError(t, err)
	if e.Code != CodeTimeout || !strings.Contains(e.Message, "STS did not answer in time") {
		t.Fatalf("the library's cause: code %v: %v", e.Code, err)
	}
	var ce *ContextError
	if !errors.As(err, &ce) || ce.Err != context.DeadlineExceeded {
		t.Fatalf("got %T %v, want a *ContextError", err, err)
	}
}

func TestCancelledContextEndsTheWait(t *testing.T) {
	control(t, "POST", "/_emulator/faults", map[string]any{"latency_ms": 3000})
	defer control(t, "POST", "/_emulator/faults", map[string]any{"mode": "none"})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := newProvider(t, "", "").Token(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestDoneContextFailsWithoutAnSTSCall(t *testing.T) {
	before := mintCalls(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newProvider(t, "", "").Token(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if n := mintCalls(t) - before; n != 0 {
		t.Errorf("%d STS calls", n)
	}
}

func TestTokenValueNeverAppearsWhenPrintedLoggedOrEncoded(t *testing.T) {
	tok, err := newProvider(t, "", "k=v").Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	signature := tok.Value[strings.LastIndexByte(tok.Value, '.')+1:]
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		out = append(out, fmt.Sprintf(verb, tok), fmt.Sprintf(verb, &tok), fmt.Sprintf(verb, []Token{tok}),
			fmt.Sprintf(verb, struct{ T Token }{tok}))
	}
	out = append(out, tok.String(), tok.GoString())
	js, err := json.Marshal(map[string]any{"token": tok})
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(js))
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("got", "token", tok)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("got", "token", tok)
	out = append(out, logged.String())
	for _, s := range out {
		if strings.Contains(s, signature) || strings.Contains(s, tok.Value[:40]) {
			t.Fatalf("the token's value leaked into %q", s)
		}
	}
	if !strings.Contains(fmt.Sprint(tok), testenv.UserARN) || !strings.Contains(logged.String(), testenv.UserARN) {
		t.Errorf("the description should name the principal: %v / %s", tok, logged.String())
	}
}

func TestVersionMatchesTheHeader(t *testing.T) {
	if Version() == "" || Version() != headerVersion() {
		t.Fatalf("library version %q, header version %q", Version(), headerVersion())
	}
}

// The static build must not load the shared library, and -tags dynamic must.
func TestLinkModeIsTheOneBuilt(t *testing.T) {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip("no /proc/self/maps on this system")
	}
	loaded := bytes.Contains(maps, []byte("libkafka_iam_oauth.so"))
	if loaded != (LinkMode == "dynamic") {
		t.Fatalf("LinkMode %q but libkafka_iam_oauth.so loaded = %v", LinkMode, loaded)
	}
}

func TestStatsShowTheCacheWithoutAskingSTS(t *testing.T) {
	p := newProvider(t, "duration_seconds=600", "")
	s, err := p.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s != (Stats{LastError: 0, ExpiresIn: -1, RefreshIn: -1, NextAttemptIn: -1}) {
		t.Fatalf("fresh provider: %+v", s)
	}
	if _, err := p.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, _ = p.Stats()
	// duration_seconds=600: expiry at most 600 s ahead, the refresh before it.
	if s.Mints != 1 || s.Failures != 0 || s.ExpiresIn <= 0 || s.ExpiresIn > 600*time.Second ||
		s.RefreshIn < 0 || s.RefreshIn >= s.ExpiresIn || s.NextAttemptIn != -1 {
		t.Fatalf("after a mint: %+v", s)
	}
	p.Close()
	if _, err := p.Stats(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Stats after Close: %v, want ErrClosed", err)
	}
}

func TestStatsRememberAFailureAndTheNextAttempt(t *testing.T) {
	p := newProvider(t, "profile="+testenv.ProfileWrong, "")
	if _, err := p.Token(context.Background()); err == nil {
		t.Fatal("a wrong secret key minted")
	}
	s, err := p.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.Mints != 0 || s.Failures != 1 || s.LastError != CodeSTS || s.ExpiresIn != -1 || s.NextAttemptIn <= 0 {
		t.Fatalf("after a failure: %+v", s)
	}
}

// 1000 goroutines call Token while the first mint is slow (the emulator
// answers after 2 s): one goroutine waits in C for all of them (bound:
// maxCWaits threads blocked in C for the provider at once, and at most
// maxCCalls calls into C in all: the shared wait, plus one should it end at
// DefaultTimeout before the mint); those whose ctx ends first (a quarter,
// 300 ms) get their ctx error at once, the others the one token.
func TestManyWaitersShareOneWaitInC(t *testing.T) {
	const goroutines, maxCCalls = 1000, 2
	control(t, "POST", "/_emulator/faults", map[string]any{"latency_ms": 2000})
	defer control(t, "POST", "/_emulator/faults", map[string]any{"mode": "none"})
	p := newProvider(t, "", "")
	callsBefore := cWaits.calls.Load()
	cWaits.peak.Store(0)
	values := make([]string, goroutines)
	errs := make([]error, goroutines)
	short := make([]bool, goroutines)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < goroutines; i++ {
		wg.Add(1)
		short[i] = i%4 == 0
		go func(i int) {
			defer wg.Done()
			<-start
			wait := 30 * time.Second
			if short[i] {
				wait = 300 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			tok, err := p.Token(ctx)
			values[i], errs[i] = tok.Value, err
		}(i)
	}
	close(start)
	wg.Wait()
	var first string
	for i := range values {
		switch {
		case errs[i] == nil:
			if first == "" {
				first = values[i]
			}
			if values[i] != first {
				t.Fatalf("goroutine %d got another token", i)
			}
		case short[i] && errors.Is(errs[i], context.DeadlineExceeded):
		default:
			t.Fatalf("goroutine %d (short deadline %v): %v", i, short[i], errs[i])
		}
		if !short[i] && errs[i] != nil {
			t.Fatalf("goroutine %d with 30 s got %v", i, errs[i])
		}
	}
	if peak := cWaits.peak.Load(); peak > maxCWaits {
		t.Errorf("%d goroutines were blocked in C at once, want at most %d", peak, maxCWaits)
	}
	if calls := cWaits.calls.Load() - callsBefore; calls < 1 || calls > maxCCalls {
		t.Errorf("%d calls into the blocking C function, want 1..%d", calls, maxCCalls)
	}
	if m := p.MintCount(); m != 1 {
		t.Errorf("MintCount %d, want 1", m)
	}
}
