package clients

// The sleeping test (make test-go-clients, beside the other suites on the
// emulator's isolated twin): the three clients side by side through three
// 60 s token lifetimes while the broker makes clients re-authenticate every
// $KIO_REAUTH_MS.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"

	kio "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
)

const lifetime = 60 * time.Second

// longDuration is how long the clients produce: three token lifetimes and
// a little (KIO_GO_CLIENTS_SECONDS overrides it).
func longDuration() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("KIO_GO_CLIENTS_SECONDS")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 3*lifetime + 5*time.Second
}

// clientsPerKind is how many producing clients of each kind run
// (KIO_GO_CLIENTS, default 3), each kind with one group consumer besides.
func clientsPerKind() int {
	if n, err := strconv.Atoi(os.Getenv("KIO_GO_CLIENTS")); err == nil && n > 0 {
		return n
	}
	return 3
}

// tally is one kind's produced and consumed keys.
type tally struct {
	mu                 sync.Mutex
	produced, consumed map[string]bool
	errs               []error
}

func newTally() *tally { return &tally{produced: map[string]bool{}, consumed: map[string]bool{}} }

func (t *tally) add(m map[string]bool, key string) {
	t.mu.Lock()
	m[key] = true
	t.mu.Unlock()
}

func (t *tally) fail(err error) {
	t.mu.Lock()
	t.errs = append(t.errs, err)
	t.mu.Unlock()
}

// since is the time from start, for messages that say when something
// happened.
func since(start time.Time) string { return time.Since(start).Round(100 * time.Millisecond).String() }

func (t *tally) missing() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for k := range t.produced {
		if !t.consumed[k] {
			out = append(out, k)
		}
	}
	return out
}

// produceLoop calls send every 2 s until the deadline.
func produceLoop(ctx context.Context, start, until time.Time, name string, tl *tally, send func(context.Context, string) error) {
	for seq := 0; time.Now().Before(until) && ctx.Err() == nil; seq++ {
		key := fmt.Sprintf("%s/%d", name, seq)
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := send(sctx, key)
		cancel()
		if err != nil {
			tl.fail(fmt.Errorf("%s at %s: %w", key, since(start), err))
		} else {
			tl.add(tl.produced, key)
		}
		time.Sleep(2 * time.Second)
	}
}

func TestLongThreeClientsThroughThreeTokenLifetimes(t *testing.T) {
	total, n := longDuration(), clientsPerKind()
	run := runID(t)
	topics := map[string]string{"sarama": run + "-sarama", "franz-go": run + "-franz", "kafka-go": run + "-kafkago"}
	createTopics(t, topics["sarama"], topics["franz-go"], topics["kafka-go"])
	ext := map[string]string{"logicalCluster": "lkc-go-clients", "identityPoolId": "pool-go"}
	p := provider(t, oauthConfig(env.audience, "duration_seconds=60"), "logicalCluster=lkc-go-clients,identityPoolId=pool-go")
	first, err := p.Token(withTimeout(t, 30*time.Second))
	if err != nil {
		t.Fatalf("first token: %v", err)
	}
	// Each token's refresh is due at 50 % of its lifetime plus a jitter
	// of up to 10 % drawn per token (src/policy.rs REFRESH_FRACTION,
	// REFRESH_JITTER), so the first token's schedule says little about
	// the next ones: the bound on mints below takes the shortest.
	firstRefresh := first.RefreshAt.Sub(first.Expiration.Add(-lifetime))
	minRefreshEvery := lifetime / 2

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	until := start.Add(total)
	counters := map[string]*counter{"sarama": newCounter(ext), "franz-go": newCounter(ext), "kafka-go": newCounter(ext)}
	tallies := map[string]*tally{"sarama": newTally(), "franz-go": newTally(), "kafka-go": newTally()}
	var franzLog, kafkagoLog syncLog
	var producers, consumers sync.WaitGroup
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()

	// sarama: SyncProducers and a consumer group.
	{
		c, tl, topic := counters["sarama"], tallies["sarama"], topics["sarama"]
		for i := 0; i < n; i++ {
			prod, err := sarama.NewSyncProducer([]string{env.ssl}, saramaLongConfig(p, c, fmt.Sprintf("sarama-%d", i)))
			if err != nil {
				t.Fatalf("sarama.NewSyncProducer: %v", err)
			}
			closers = append(closers, func() { prod.Close() })
			producers.Add(1)
			go func(i int) {
				defer producers.Done()
				produceLoop(ctx, start, until, fmt.Sprintf("sarama-%d", i), tl, func(_ context.Context, key string) error {
					_, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.StringEncoder("tick")})
					return err
				})
			}(i)
		}
		cg, err := sarama.NewConsumerGroup([]string{env.ssl}, topic, saramaLongConfig(p, c, "sarama-consumer"))
		if err != nil {
			t.Fatalf("sarama.NewConsumerGroup: %v", err)
		}
		closers = append(closers, func() { cg.Close() })
		consumers.Add(1)
		go func() {
			defer consumers.Done()
			for ctx.Err() == nil {
				if err := cg.Consume(ctx, []string{topic}, tallyHandler{tl}); err != nil && ctx.Err() == nil {
					tl.fail(fmt.Errorf("consume at %s: %w", since(start), err))
					time.Sleep(time.Second)
				}
			}
		}()
	}

	// franz-go: clients producing, one in a group consuming; and a
	// control client given the first token only, which the broker must
	// refuse once that token expires (else this test proves nothing).
	var control controlLog
	{
		c, tl, topic := counters["franz-go"], tallies["franz-go"], topics["franz-go"]
		for i := 0; i < n; i++ {
			cl, err := franzClient(p, c, &franzLog, kgo.DefaultProduceTopic(topic))
			if err != nil {
				t.Fatal(err)
			}
			closers = append(closers, cl.Close)
			producers.Add(1)
			go func(i int) {
				defer producers.Done()
				produceLoop(ctx, start, until, fmt.Sprintf("franz-%d", i), tl, func(ctx context.Context, key string) error {
					return cl.ProduceSync(ctx, &kgo.Record{Key: []byte(key), Value: []byte("tick")}).FirstErr()
				})
			}(i)
		}
		gc, err := franzClient(p, c, &franzLog, kgo.ConsumerGroup(topic), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		closers = append(closers, gc.Close)
		consumers.Add(1)
		go func() {
			defer consumers.Done()
			for ctx.Err() == nil {
				fs := gc.PollFetches(ctx)
				fs.EachError(func(_ string, _ int32, err error) {
					if !errors.Is(err, context.Canceled) {
						tl.fail(fmt.Errorf("poll at %s: %w", since(start), err))
					}
				})
				fs.EachRecord(func(r *kgo.Record) { tl.add(tl.consumed, string(r.Key)) })
			}
		}()
		controlClient, err := kgo.NewClient(kgo.SeedBrokers(env.ssl), kgo.DialTLSConfig(env.tls),
			kgo.SASL(oauth.Auth{Token: first.Value}.AsMechanism()), kgo.RequestRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		closers = append(closers, controlClient.Close)
		producers.Add(1)
		go func() {
			defer producers.Done()
			// A metadata request on the control's connection every 3 s
			// to the end (Ping honours its context; a produce would
			// retry forever), each noted.
			for time.Now().Before(until) && ctx.Err() == nil {
				pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := controlClient.Ping(pctx)
				cancel()
				control.note(time.Since(start), err)
				time.Sleep(3 * time.Second)
			}
		}()
	}

	// kafka-go: Writers and a group Reader, one mechanism.
	var kafkagoCommitRetries atomic.Int64
	{
		c, tl, topic := counters["kafka-go"], tallies["kafka-go"], topics["kafka-go"]
		mech := kafkagoMechanism(p, c)
		for i := 0; i < n; i++ {
			w := kafkagoWriter(mech, topic, &kafkagoLog)
			closers = append(closers, func() { w.Close() })
			producers.Add(1)
			go func(i int) {
				defer producers.Done()
				produceLoop(ctx, start, until, fmt.Sprintf("kafkago-%d", i), tl, func(ctx context.Context, key string) error {
					return w.WriteMessages(ctx, kafka.Message{Key: []byte(key), Value: []byte("tick")})
				})
			}(i)
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{env.ssl}, GroupID: topic, Topic: topic,
			Dialer: kafkagoDialer(mech), StartOffset: kafka.FirstOffset, MaxWait: 500 * time.Millisecond,
			ErrorLogger: &kafkagoLog})
		closers = append(closers, func() { r.Close() })
		consumers.Add(1)
		go func() {
			defer consumers.Done()
			for ctx.Err() == nil {
				m, err := r.FetchMessage(ctx)
				if err != nil {
					if ctx.Err() == nil {
						tl.fail(fmt.Errorf("fetch at %s: %w", since(start), err))
					}
					continue
				}
				tl.add(tl.consumed, string(m.Key))
				attempts, err := kafkagoCommit(ctx, r, m)
				if attempts > 1 {
					kafkagoCommitRetries.Add(1)
				}
				if err != nil && ctx.Err() == nil {
					tl.fail(fmt.Errorf("commit at %s: %w", since(start), err))
				}
			}
		}()
	}

	if !waitFor(&producers, time.Until(until)+90*time.Second) {
		t.Fatalf("the producers did not stop within 90 s of the end; a client hangs")
	}
	// Let the consumers catch up with the last messages.
	for i := 0; i < 60; i++ {
		done := true
		for _, tl := range tallies {
			if len(tl.missing()) > 0 {
				done = false
			}
		}
		if done {
			break
		}
		time.Sleep(time.Second)
	}
	cancel()
	if !waitFor(&consumers, 60*time.Second) {
		t.Fatalf("the consumers did not stop within 60 s of their context's end; a client hangs")
	}
	elapsed := time.Since(start)

	stats, err := p.Stats()
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[[32]byte]bool{}
	var calls int64
	for _, kind := range []string{"sarama", "franz-go", "kafka-go"} {
		c, tl := counters[kind], tallies[kind]
		for k := range c.distinct() {
			tokens[k] = true
		}
		calls += c.calls.Load()
		t.Logf("%s: %d clients produced %d messages, the group consumer got %d; token requests (connections and re-authentications): %d, distinct tokens: %d",
			kind, n, len(tl.produced), len(tl.consumed), c.calls.Load(), len(c.distinct()))
		if len(tl.produced) == 0 {
			t.Errorf("%s produced nothing", kind)
		}
		if m := tl.missing(); len(m) > 0 {
			t.Errorf("%s: %d messages never consumed (e.g. %s)", kind, len(m), m[0])
		}
		for _, err := range tl.errs {
			t.Errorf("%s: %v", kind, err)
		}
		if c.missingExt.Load() > 0 {
			t.Errorf("%s: %d tokens handed out without the extensions %v", kind, c.missingExt.Load(), ext)
		}
		if min := int(total / lifetime); len(c.distinct()) < min+1 {
			t.Errorf("%s used %d distinct tokens in %v of %v tokens; want at least %d (did it re-authenticate?)", kind, len(c.distinct()), total, lifetime, min+1)
		}
	}
	for name, l := range map[string]*syncLog{"sarama": saramaLog, "franz-go": &franzLog, "kafka-go": &kafkagoLog} {
		if lines := l.authFailures(); len(lines) > 0 {
			t.Errorf("%s logged %d authentication failures, e.g. %s", name, len(lines), lines[0])
		}
	}
	// One STS mint per refresh for every client of the process: the
	// provider's entry minted each token handed out (one more may be
	// cached and not yet handed out), and no more than its refresh
	// schedule allows.
	maxMints := uint64(elapsed/minRefreshEvery) + 2
	t.Logf("STS mints for %d clients of 3 kinds over %v: %d (the first token's refresh at %v, each at least %v after the last; at most %d allowed); token requests the adapters answered: %d (what a provider minting per connection would have cost)",
		3*(n+1), elapsed.Round(time.Second), stats.Mints, firstRefresh.Round(time.Second), minRefreshEvery, maxMints, calls)
	if stats.Failures != 0 {
		t.Errorf("%d mints failed", stats.Failures)
	}
	if stats.Mints < uint64(len(tokens)) || stats.Mints > uint64(len(tokens))+1 {
		t.Errorf("%d mints for %d distinct tokens handed out", stats.Mints, len(tokens))
	}
	if stats.Mints > maxMints {
		t.Errorf("%d mints in %v; one per refresh is at most %d", stats.Mints, elapsed, maxMints)
	}
	t.Logf("kafka-go: %d commits needed another attempt (the broker had closed the coordinator's connection)", kafkagoCommitRetries.Load())
	// The control's goroutine has ended (producers.Wait above).
	control.check(t, total)
}

// waitFor waits for wg at most d, and says whether it ended.
func waitFor(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// tallyHandler is a sarama group handler that records each key.
type tallyHandler struct{ tl *tally }

func (tallyHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (tallyHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h tallyHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		h.tl.add(h.tl.consumed, string(m.Key))
		s.MarkMessage(m, "")
	}
	return nil
}

// saramaLongConfig is saramaConfig with sarama's default metadata retries
// (3, 250 ms apart): the refusal tests shorten them to fail fast, but a
// client running for minutes on a loaded machine retries as users' do.
func saramaLongConfig(p *kio.Provider, c *counter, clientID string) *sarama.Config {
	cfg := saramaConfig(p, c, clientID)
	def := sarama.NewConfig()
	cfg.Metadata.Retry = def.Metadata.Retry
	return cfg
}

// kafkagoCommit commits m's offset, trying again twice a second apart:
// kafka-go does not re-authenticate (no KIP-368), so the broker closes
// the group coordinator's connection at each session's end, and a commit
// in flight then fails ("use of closed network connection"); the next
// attempt dials again. (ReadMessage would return that error and drop m.)
// It returns the attempts made.
func kafkagoCommit(ctx context.Context, r *kafka.Reader, m kafka.Message) (int, error) {
	var err error
	attempt := 0
	for attempt < 3 && ctx.Err() == nil {
		attempt++
		if err = r.CommitMessages(ctx, m); err == nil {
			break
		}
		time.Sleep(time.Second)
	}
	return attempt, err
}

// controlLog is what the control client's requests met: given only the
// first token, it must work until that token expires and then be refused
// at re-authentication for good.
type controlLog struct {
	lastOK   time.Duration // since start; 0: never
	failures []controlFailure
}

type controlFailure struct {
	at      time.Duration
	err     error
	refusal bool // the broker refused the token (not a cut connection)
}

func (c *controlLog) note(at time.Duration, err error) {
	if err == nil {
		c.lastOK = at
		return
	}
	// franz-go reports the broker's OAUTHBEARER error challenge as
	// "unexpected data in oauth response" (its oauth mechanism expects
	// none), and an error code in SaslAuthenticate as the kerr.
	refusal := errors.Is(err, kerr.SaslAuthenticationFailed) || strings.Contains(err.Error(), "unexpected data in oauth response")
	c.failures = append(c.failures, controlFailure{at, err, refusal})
}

// check: the control was cut off (its failures after its last success)
// no earlier than its token's expiry allows, and the broker refused its
// token then. A failure followed by a success (a request that reached a
// loaded broker just after its session's end: the broker closes the
// connection and the next request connects again) is only logged.
func (c *controlLog) check(t *testing.T, total time.Duration) {
	t.Helper()
	var cutAt time.Duration
	refused := 0
	for _, f := range c.failures {
		if f.at < c.lastOK {
			t.Logf("the control client's request failed at %v and a later one worked: %v", f.at.Round(100*time.Millisecond), f.err)
			continue
		}
		if cutAt == 0 {
			cutAt = f.at
			t.Logf("the control client, never given a second token, was cut off at %v: %v", f.at.Round(time.Second), f.err)
		}
		if f.refusal {
			refused++
		}
	}
	if cutAt == 0 {
		if cutoff := lifetime + env.reauth + 30*time.Second; total > cutoff+10*time.Second {
			t.Errorf("the control client, never given a second token, still worked at %v: the broker did not end its session, so this test proves nothing", c.lastOK.Round(time.Second))
		}
		return
	}
	t.Logf("... and refused at re-authentication %d times after that", refused)
	if cutAt < lifetime-10*time.Second {
		t.Errorf("the control client was cut off at %v, before its token could have expired", cutAt)
	}
	if refused == 0 {
		t.Errorf("the control client was cut off at %v but never refused at authentication: %v", cutAt, c.failures[len(c.failures)-1].err)
	}
}
