package kafkaiamoauth

/*
#include <stdlib.h>
#include "kafka_iam_oauth.h"

static const char *kio_header_version(void) { return KAFKA_IAM_OAUTH_VERSION; }
*/
import "C"

import (
	"context"
	"errors"
	"maps"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Provider hands out tokens for one configuration. It is safe for
// concurrent use; share one between goroutines and clients. Providers with
// the same effective configuration share the library's process-wide token
// cache, so they cause one STS call per refresh between them.
//
// Close it when done; a finalizer frees it if you forget, but only as a
// backstop.
type Provider struct {
	// mu guards handle: calls hold it for reading, Close for writing, so
	// Close waits for calls in progress and none can use a freed handle.
	mu     sync.RWMutex
	handle *C.kafka_iam_oauth_provider // nil once closed

	waitMu sync.Mutex
	wait   *wait // the shared wait in C, nil when none is in flight
}

// NewProvider validates config (the sasl.oauthbearer.config string, e.g.
// "region=eu-west-1,audience=my-kafka.example.com") and extensions (the
// sasl.oauthbearer.extensions string, "" for none) and returns a provider
// for them. It makes no network call: a bad configuration fails here, with
// an *Error of CodeConfig naming the key.
func NewProvider(config, extensions string) (*Provider, error) {
	if strings.IndexByte(config, 0) >= 0 || strings.IndexByte(extensions, 0) >= 0 {
		return nil, &Error{Code: CodeInvalidArgument, Message: "sasl.oauthbearer.config and sasl.oauthbearer.extensions must not contain NUL bytes"}
	}
	cConfig := C.CString(config)
	defer C.free(unsafe.Pointer(cConfig))
	var cExt *C.char
	if extensions != "" {
		cExt = C.CString(extensions)
		defer C.free(unsafe.Pointer(cExt))
	}
	var handle *C.kafka_iam_oauth_provider
	var cerr *C.kafka_iam_oauth_error
	if st := C.kafka_iam_oauth_provider_new(cConfig, cExt, &handle, &cerr); st != C.KAFKA_IAM_OAUTH_OK {
		return nil, takeError(st, cerr)
	}
	p := &Provider{handle: handle}
	runtime.SetFinalizer(p, (*Provider).Close)
	return p, nil
}

// DefaultTimeout is how long Token waits for STS when ctx has no deadline
// (the C library's KAFKA_IAM_OAUTH_DEFAULT_TIMEOUT_MS).
const DefaultTimeout = time.Duration(C.KAFKA_IAM_OAUTH_DEFAULT_TIMEOUT_MS) * time.Millisecond

// Token returns a token. It returns at once when a token with a useful
// lifetime is cached, which is the case after the first call while the
// provider is in use (the library refreshes ahead of expiry in the
// background): then it starts no goroutine and makes no blocking call.
// Otherwise it waits for STS until ctx is done, or at most DefaultTimeout
// when ctx has no deadline: a deadline of any length is one wait in C, timed
// to it. Concurrent waits of one Provider share one wait in C (one OS
// thread, however many goroutines wait).
//
// Errors are *Error values (CodeCredentials, CodeSTS, CodeTimeout, ...),
// except that a *ContextError is returned when ctx ended before an answer
// (errors.Is(err, context.DeadlineExceeded) or context.Canceled holds, and
// errors.As(err, &e) finds the library's *Error, what it was waiting for,
// when it gave one), ctx.Err() itself when ctx was done before the call,
// and ErrClosed after Close.
func (p *Provider) Token(ctx context.Context) (Token, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return Token{}, err
	}
	if t, ok, err := p.cachedToken(); err != nil || ok {
		return t, err
	}
	for {
		w := p.joinWait(ctx)
		select {
		case <-w.done:
		case <-ctx.Done():
			return Token{}, contextError(ctx, w)
		}
		if w.err == nil {
			t := w.tok
			t.Extensions = maps.Clone(t.Extensions) // each caller owns its map
			return t, nil
		}
		var e *Error
		if !errors.As(w.err, &e) || e.Code != CodeTimeout {
			return Token{}, w.err
		}
		// The shared wait (timed to the deadline of the caller that
		// started it, or DefaultTimeout) ended without a token. A caller
		// whose deadline lies further ahead waits once more (the mint goes
		// on in the library); one without a deadline gets the timeout, as
		// from a single C call.
		deadline, ok := ctx.Deadline()
		if !ok {
			return Token{}, w.err
		}
		if !time.Now().Before(deadline) {
			<-ctx.Done() // the clocks may disagree by a moment
			return Token{}, ctx.Err()
		}
	}
}

// A wait in C shared by every Token call of one provider that finds no
// cached token (singleflight): one goroutine per Provider waits in
// kafka_iam_oauth_provider_token, at most DefaultTimeout; the callers wait
// on done or on their own ctx. So however many goroutines call Token during
// a slow mint, at most maxCWaits OS threads of the process are blocked in C
// for this provider, and a cancelled caller returns at once.
type wait struct {
	done chan struct{} // closed when tok and err are set
	tok  Token
	err  error
	// The deadline the wait in C is timed to (zero: DefaultTimeout).
	deadline time.Time
}

// ContextError is Token's error when ctx ended before an answer: Err is
// ctx.Err(), Cause the library's error when it gave one (the wait in C was
// timed to this deadline and ended with it: what the mint was waiting for),
// else nil. errors.Is and errors.As see both.
type ContextError struct {
	Err   error
	Cause error
}

func (e *ContextError) Error() string {
	if e.Cause == nil {
		return e.Err.Error()
	}
	return e.Err.Error() + ": " + e.Cause.Error()
}

// Unwrap returns ctx.Err() and the library's error (if any).
func (e *ContextError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

// contextGrace is how long a caller whose deadline passed waits for the
// wait in C timed to that same deadline to come back with the library's
// error (the two clocks end within a moment of each other).
const contextGrace = 200 * time.Millisecond

// contextError is the error for a caller whose ctx ended while w was in
// flight. A deadline the wait in C was timed to brings the library's own
// error within contextGrace; a cancelled ctx returns at once.
func contextError(ctx context.Context, w *wait) error {
	deadline, ok := ctx.Deadline()
	if ok && errors.Is(ctx.Err(), context.DeadlineExceeded) && deadline.Equal(w.deadline) {
		grace := time.NewTimer(contextGrace)
		defer grace.Stop()
		select {
		case <-w.done:
			if w.err != nil {
				return &ContextError{Err: ctx.Err(), Cause: w.err}
			}
		case <-grace.C:
		}
	}
	return &ContextError{Err: ctx.Err()}
}

// maxCWaits is how many goroutines (so OS threads) per Provider wait in C
// at once: the one of the shared wait.
const maxCWaits = 1

// cWaits counts goroutines in the blocking C call (a test hook: calls in
// total, active now, and the most active at once).
var cWaits struct{ calls, active, peak atomic.Int64 }

// joinWait returns the provider's shared wait, starting one if none is in
// flight.
func (p *Provider) joinWait(ctx context.Context) *wait {
	p.waitMu.Lock()
	defer p.waitMu.Unlock()
	if p.wait != nil {
		return p.wait
	}
	w := &wait{done: make(chan struct{})}
	if d, ok := ctx.Deadline(); ok {
		w.deadline = d
	}
	p.wait = w
	go func() {
		w.tok, w.err = p.token(w.deadline)
		p.waitMu.Lock()
		p.wait = nil
		p.waitMu.Unlock()
		close(w.done)
	}()
	return w
}

// CachedToken returns the cached token if one with a useful lifetime is
// cached, and ok = false otherwise (nothing cached yet, or the cached one
// is about to expire: then Token gets one) or after Close. It never blocks
// and never calls STS. Taking the cached token counts as use, so the
// library keeps refreshing it ahead of expiry.
func (p *Provider) CachedToken() (t Token, ok bool) {
	t, ok, _ = p.cachedToken()
	return t, ok
}

func (p *Provider) cachedToken() (Token, bool, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.handle == nil {
		return Token{}, false, ErrClosed
	}
	ct := C.kafka_iam_oauth_provider_cached_token(p.handle)
	runtime.KeepAlive(p)
	if ct == nil {
		return Token{}, false, nil
	}
	return takeToken(ct), true, nil
}

// waitMillis is the C timeout for a wait until deadline: 0 (DefaultTimeout)
// without one, else the time left rounded up to a millisecond (at least 1,
// at most what uint32 holds: 49 days).
func waitMillis(deadline time.Time) C.uint32_t {
	if deadline.IsZero() {
		return 0
	}
	ms := (time.Until(deadline) + time.Millisecond - 1) / time.Millisecond
	return C.uint32_t(min(max(int64(ms), 1), math.MaxUint32))
}

// token waits in C for a token until deadline (zero: at most
// DefaultTimeout); only the shared wait (joinWait) calls it.
func (p *Provider) token(deadline time.Time) (Token, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.handle == nil {
		return Token{}, ErrClosed
	}
	var ct *C.kafka_iam_oauth_token
	var cerr *C.kafka_iam_oauth_error
	cWaits.calls.Add(1)
	for n, peak := cWaits.active.Add(1), cWaits.peak.Load(); n > peak && !cWaits.peak.CompareAndSwap(peak, n); {
		peak = cWaits.peak.Load()
	}
	st := C.kafka_iam_oauth_provider_token(p.handle, waitMillis(deadline), &ct, &cerr)
	cWaits.active.Add(-1)
	runtime.KeepAlive(p)
	if st != C.KAFKA_IAM_OAUTH_OK {
		return Token{}, takeError(st, cerr)
	}
	return takeToken(ct), nil
}

// MintCount is how many tokens STS has minted for this provider's shared
// cache entry in this process (for tests and monitoring).
func (p *Provider) MintCount() uint64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.handle == nil {
		return 0
	}
	n := uint64(C.kafka_iam_oauth_provider_mint_count(p.handle))
	runtime.KeepAlive(p)
	return n
}

// Stats is a snapshot of a provider's shared cache entry (for tests and
// monitoring), from Provider.Stats.
type Stats struct {
	// Mints is how many tokens STS minted for the entry in this process.
	Mints uint64
	// Failures is how many mints failed (one per mint, whatever its retries).
	Failures uint64
	// LastError is the code of the most recent failure (kept after later
	// successes), 0 if no mint has failed.
	LastError Code
	// ExpiresIn is the time until the cached token expires (0 if it has);
	// -1 when no token is cached.
	ExpiresIn time.Duration
	// RefreshIn is the time until the background refresh of the cached
	// token is due (0 if due now); -1 when no token is cached.
	RefreshIn time.Duration
	// NextAttemptIn is, after a failure, the time until STS is asked again
	// (Token meanwhile returns the remembered error at once); -1 when no
	// failure is remembered.
	NextAttemptIn time.Duration
}

// Stats returns a snapshot of the provider's shared cache entry. It never
// blocks and never calls STS; after Close it returns ErrClosed.
func (p *Provider) Stats() (Stats, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.handle == nil {
		return Stats{}, ErrClosed
	}
	var cs C.kafka_iam_oauth_stats
	st := C.kafka_iam_oauth_provider_stats(p.handle, &cs)
	runtime.KeepAlive(p)
	if st != C.KAFKA_IAM_OAUTH_OK {
		return Stats{}, &Error{Code: Code(st), Message: "kafka_iam_oauth_provider_stats failed"}
	}
	ms := func(v C.int64_t) time.Duration {
		if v < 0 {
			return -1
		}
		return time.Duration(v) * time.Millisecond
	}
	return Stats{
		Mints:         uint64(cs.mints),
		Failures:      uint64(cs.failures),
		LastError:     Code(cs.last_error),
		ExpiresIn:     ms(cs.expires_in_ms),
		RefreshIn:     ms(cs.refresh_in_ms),
		NextAttemptIn: ms(cs.next_attempt_in_ms),
	}, nil
}

// Close frees the provider. It is idempotent and always returns nil; it
// waits for Token calls in progress. Tokens already returned stay valid,
// and the shared cache lives on for other providers. Calls after Close
// fail with ErrClosed.
func (p *Provider) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.handle != nil {
		C.kafka_iam_oauth_provider_free(p.handle)
		p.handle = nil
		runtime.SetFinalizer(p, nil)
	}
	return nil
}

// takeToken copies an owned C token into a Token and frees it.
func takeToken(ct *C.kafka_iam_oauth_token) Token {
	t := Token{
		Value:      C.GoString(C.kafka_iam_oauth_token_value(ct)),
		Expiration: time.UnixMilli(int64(C.kafka_iam_oauth_token_lifetime_ms(ct))),
		RefreshAt:  time.UnixMilli(int64(C.kafka_iam_oauth_token_refresh_at_ms(ct))),
		Principal:  C.GoString(C.kafka_iam_oauth_token_principal(ct)),
	}
	var n C.size_t
	if arr := C.kafka_iam_oauth_token_extensions(ct, &n); arr != nil && n >= 2 {
		kv := unsafe.Slice(arr, int(n))
		t.Extensions = make(map[string]string, n/2)
		for i := 0; i+1 < len(kv); i += 2 {
			t.Extensions[C.GoString(kv[i])] = C.GoString(kv[i+1])
		}
	}
	C.kafka_iam_oauth_token_free(ct)
	return t
}

// RetryDelay is how long to wait before retry number attempt (0 = the
// first) after a failed Token call: the library's own backoff for its
// background refreshes (from 250-500 ms up to 15-30 s, with jitter), for
// code that retries on its own instead of inventing a schedule.
func RetryDelay(attempt int) time.Duration {
	if attempt < 0 {
		attempt = 0
	}
	if attempt > math.MaxUint32 {
		attempt = math.MaxUint32
	}
	return time.Duration(C.kafka_iam_oauth_retry_delay_ms(C.uint32_t(attempt))) * time.Millisecond
}

// Version is the version of the linked kafka-iam-oauth library.
func Version() string {
	return C.GoString(C.kafka_iam_oauth_version())
}

// headerVersion is KAFKA_IAM_OAUTH_VERSION from the header compiled against.
func headerVersion() string {
	return C.GoString(C.kio_header_version())
}
