package confluent

// End-to-end tests: confluent-kafka-go (with the librdkafka it bundles)
// against the harness broker, which validates every token against the
// emulator's JWKS and authorizes the principal with ACLs. Run with the
// harness environment loaded (`source "$KIO_RUN_DIR/env.sh"`).

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

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	kio "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go"
	"github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/internal/testenv"
)

var env struct {
	emulator, plaintext, ssl, caPEM, audience, topic, otherTopic, group string
	reauthMs                                                            int
}

func TestMain(m *testing.M) {
	get := func(k string) string {
		v := os.Getenv(k)
		if v == "" {
			fmt.Fprintf(os.Stderr, "%s is not set: start the harness and source its env.sh (see harness/README.md)\n", k)
			os.Exit(2)
		}
		return v
	}
	env.emulator = get("KIO_EMULATOR_URL")
	env.plaintext = get("KIO_BOOTSTRAP_PLAINTEXT")
	env.ssl = get("KIO_BOOTSTRAP_SSL")
	env.caPEM = get("KIO_CA_PEM")
	env.audience = get("KIO_AUDIENCE")
	env.topic = get("KIO_TOPIC")
	env.otherTopic = get("KIO_OTHER_TOPIC")
	env.group = get("KIO_GROUP")
	env.reauthMs, _ = strconv.Atoi(get("KIO_REAUTH_MS"))
	dir, err := os.MkdirTemp("", "kio-go-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := testenv.SetupAWS(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// oauthConfig is the sasl.oauthbearer.config for the harness; extra is
// appended (e.g. "duration_seconds=60" or "profile=noacl").
func oauthConfig(extra string) string {
	s := fmt.Sprintf("region=eu-west-1,audience=%s,sts_endpoint=%s", env.audience, env.emulator)
	if extra != "" {
		s += "," + extra
	}
	return s
}

// clientConfig is a client ConfigMap for SASL_PLAINTEXT (or SASL_SSL with
// ssl = true) with OAUTHBEARER and the given sasl.oauthbearer.config.
func clientConfig(oauth string, ssl bool, more kafka.ConfigMap) kafka.ConfigMap {
	c := kafka.ConfigMap{
		"bootstrap.servers":       env.plaintext,
		"security.protocol":       "SASL_PLAINTEXT",
		"sasl.mechanism":          "OAUTHBEARER",
		"sasl.oauthbearer.config": oauth,
	}
	if ssl {
		c["bootstrap.servers"] = env.ssl
		c["security.protocol"] = "SASL_SSL"
		c["ssl.ca.location"] = env.caPEM
	}
	for k, v := range more {
		c[k] = v
	}
	return c
}

func provider(t *testing.T, conf kafka.ConfigMap) *kio.Provider {
	t.Helper()
	p, err := NewProvider(conf)
	if err != nil {
		t.Fatalf("NewProvider: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func newProducer(t *testing.T, conf kafka.ConfigMap) *kafka.Producer {
	t.Helper()
	c := conf
	p, err := kafka.NewProducer(&c)
	if err != nil {
		t.Fatalf("NewProducer: %v", err)
	}
	return p
}

func newConsumer(t *testing.T, conf kafka.ConfigMap) *kafka.Consumer {
	t.Helper()
	c := kafka.ConfigMap{"group.id": env.group, "enable.auto.commit": false, "auto.offset.reset": "earliest"}
	for k, v := range conf {
		c[k] = v
	}
	cons, err := kafka.NewConsumer(&c)
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	return cons
}

// assignFromStart reads the topic's one partition from the beginning
// without joining the group (so tests running at once do not take the
// partition from each other); messages are told apart by their run id.
func assignFromStart(t *testing.T, c *kafka.Consumer, topic string) {
	t.Helper()
	if err := c.Assign([]kafka.TopicPartition{{Topic: &topic, Partition: 0, Offset: kafka.OffsetBeginning}}); err != nil {
		t.Fatalf("Assign: %v", err)
	}
}

func runID(t *testing.T) string {
	return fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
}

// produce sends n messages keyed run/i and waits for their delivery reports,
// serving the producer's events meanwhile (refresh events with HandleEvent
// when p is not nil).
func produce(t *testing.T, prod *kafka.Producer, p *kio.Provider, topic, run string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		err := prod.Produce(&kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key:            []byte(fmt.Sprintf("%s/%d", run, i)),
			Value:          []byte("hello from Go " + strconv.Itoa(i)),
		}, nil)
		if err != nil {
			t.Fatalf("Produce: %v", err)
		}
	}
	deadline := time.After(60 * time.Second)
	for delivered := 0; delivered < n; {
		select {
		case ev := <-prod.Events():
			if p != nil {
				if ok, err := HandleEvent(context.Background(), p, prod, ev); ok {
					if err != nil {
						t.Errorf("refresh: %v", err)
					}
					continue
				}
			}
			switch e := ev.(type) {
			case *kafka.Message:
				if e.TopicPartition.Error != nil {
					t.Fatalf("delivery failed: %v", e.TopicPartition.Error)
				}
				delivered++
			case kafka.Error:
				t.Logf("producer error event: %v", e)
			}
		case <-deadline:
			t.Fatalf("%d of %d messages delivered in 60 s", delivered, n)
		}
	}
}

// TestEventsAnswerRefreshes: both clients get every token by answering
// OAuthBearerTokenRefresh events (producer from its Events channel,
// consumer from Poll); nothing is pushed.
func TestEventsAnswerRefreshes(t *testing.T) {
	t.Parallel()
	conf := clientConfig(oauthConfig(""), false, nil)
	p := provider(t, conf)
	prod := newProducer(t, conf)
	defer prod.Close()
	run := runID(t)
	produce(t, prod, p, env.topic, run, 5)

	cons := newConsumer(t, conf)
	defer cons.Close()
	assignFromStart(t, cons, env.topic)
	got := map[string]bool{}
	refreshes := 0
	deadline := time.Now().Add(60 * time.Second)
	for len(got) < 5 && time.Now().Before(deadline) {
		ev := cons.Poll(200)
		if ok, err := HandleEvent(context.Background(), p, cons, ev); ok {
			refreshes++
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			continue
		}
		switch e := ev.(type) {
		case *kafka.Message:
			if k := string(e.Key); strings.HasPrefix(k, run+"/") {
				got[k] = true
			}
		case kafka.Error:
			t.Fatalf("consumer error: %v", e)
		}
	}
	if len(got) != 5 {
		t.Fatalf("consumed %d of 5 messages", len(got))
	}
	if refreshes == 0 {
		t.Fatal("the consumer got its token without a refresh event")
	}
}

// TestPushOverSSL: SASL_SSL, both clients fed by StartPush only; the
// consumer only calls ReadMessage.
func TestPushOverSSL(t *testing.T) {
	t.Parallel()
	conf := clientConfig(oauthConfig(""), true, nil)
	p := provider(t, conf)
	prod := newProducer(t, conf)
	defer prod.Close()
	pp, err := StartPush(context.Background(), p, prod)
	if err != nil {
		t.Fatalf("StartPush: %v", err)
	}
	defer pp.Stop()
	run := runID(t)
	produce(t, prod, nil, env.topic, run, 3)

	cons := newConsumer(t, conf)
	defer cons.Close()
	cp, err := StartPush(context.Background(), p, cons)
	if err != nil {
		t.Fatalf("StartPush: %v", err)
	}
	defer cp.Stop()
	assignFromStart(t, cons, env.topic)
	got := 0
	deadline := time.Now().Add(60 * time.Second)
	for got < 3 && time.Now().Before(deadline) {
		m, err := cons.ReadMessage(time.Second)
		if err != nil {
			if kerr, ok := err.(kafka.Error); ok && kerr.IsTimeout() {
				continue
			}
			t.Fatalf("ReadMessage: %v", err)
		}
		if strings.HasPrefix(string(m.Key), run+"/") {
			got++
		}
	}
	if got != 3 {
		t.Fatalf("consumed %d of 3 messages", got)
	}
}

// refreshSeconds is how long the long test produces (default 200 s: three
// 60 s token lifetimes and a bit); KIO_GO_REFRESH_SECONDS overrides it.
func refreshSeconds() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("KIO_GO_REFRESH_SECONDS")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 200 * time.Second
}

type received struct {
	mu   sync.Mutex
	seqs map[int]time.Duration // sequence number -> when it was produced (since start)
	errs []error
}

func (r *received) add(seq int, at time.Duration) {
	r.mu.Lock()
	r.seqs[seq] = at
	r.mu.Unlock()
}

// readOnly consumes with ReadMessage only (no Poll, no event handling),
// as many Go programs do, until stop is closed.
func readOnly(c *kafka.Consumer, run string, r *received, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		m, err := c.ReadMessage(500 * time.Millisecond)
		if err != nil {
			if kerr, ok := err.(kafka.Error); ok && kerr.IsTimeout() {
				continue
			}
			r.mu.Lock()
			r.errs = append(r.errs, err)
			r.mu.Unlock()
			continue
		}
		k := string(m.Key)
		if !strings.HasPrefix(k, run+"/") {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(k, run+"/"), "/")
		seq, _ := strconv.Atoi(parts[0])
		ms, _ := strconv.Atoi(parts[1])
		r.add(seq, time.Duration(ms)*time.Millisecond)
	}
}

// TestReadMessageOnlyConsumerStaysAuthenticatedWithPush is the case push
// mode exists for: a group consumer that only calls ReadMessage(), which
// drops refresh events, keeps consuming across several 60 s token
// lifetimes while the broker makes clients re-authenticate every
// $KIO_REAUTH_MS. A control consumer given one token and nothing more
// shows that the broker really stops a client whose token was not renewed.
func TestReadMessageOnlyConsumerStaysAuthenticatedWithPush(t *testing.T) {
	t.Parallel()
	const lifetime = 60 * time.Second
	total := refreshSeconds()
	conf := clientConfig(oauthConfig("duration_seconds=60"), false, nil)
	p := provider(t, conf)
	run := runID(t)
	start := time.Now()

	// The consumer under test: in the group, push mode, ReadMessage only.
	consumerConf := kafka.ConfigMap{"enable.auto.commit": true}
	for k, v := range conf {
		consumerConf[k] = v
	}
	pushed := newConsumer(t, consumerConf)
	defer pushed.Close()
	var pushErrors atomic.Int64
	pusher, err := StartPush(context.Background(), p, pushed, WithErrorHandler(func(err error) {
		pushErrors.Add(1)
		t.Logf("push: %v", err)
	}))
	if err != nil {
		t.Fatalf("StartPush: %v", err)
	}
	defer pusher.Stop()
	if err := pushed.Subscribe(env.topic, nil); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}

	// The control: one token set by hand, then ReadMessage only.
	control := newConsumer(t, conf)
	defer control.Close()
	first, err := p.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := control.SetOAuthBearerToken(OAuthBearerToken(first)); err != nil {
		t.Fatal(err)
	}
	assignFromStart(t, control, env.topic)

	// The producer, fed by push too.
	prod := newProducer(t, conf)
	defer prod.Close()
	pp, err := StartPush(context.Background(), p, prod)
	if err != nil {
		t.Fatalf("StartPush (producer): %v", err)
	}
	defer pp.Stop()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	got := &received{seqs: map[int]time.Duration{}}
	gotControl := &received{seqs: map[int]time.Duration{}}
	wg.Add(2)
	go func() { defer wg.Done(); readOnly(pushed, run, got, stop) }()
	go func() { defer wg.Done(); readOnly(control, run, gotControl, stop) }()

	produced := map[int]time.Duration{}
	var deliveryErrs atomic.Int64
	go func() {
		for ev := range prod.Events() {
			if m, ok := ev.(*kafka.Message); ok && m.TopicPartition.Error != nil {
				deliveryErrs.Add(1)
			}
		}
	}()
	for seq := 0; time.Since(start) < total; seq++ {
		at := time.Since(start)
		produced[seq] = at
		err := prod.Produce(&kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &env.topic, Partition: kafka.PartitionAny},
			Key:            []byte(fmt.Sprintf("%s/%d/%d", run, seq, at.Milliseconds())),
			Value:          []byte("tick"),
		}, nil)
		if err != nil {
			t.Fatalf("Produce: %v", err)
		}
		time.Sleep(2 * time.Second)
	}
	// Let the consumer catch up with the last messages.
	for i := 0; i < 30; i++ {
		got.mu.Lock()
		n := len(got.seqs)
		got.mu.Unlock()
		if n == len(produced) {
			break
		}
		time.Sleep(time.Second)
	}
	close(stop)
	wg.Wait()

	var missing []int
	for seq := range produced {
		if _, ok := got.seqs[seq]; !ok {
			missing = append(missing, seq)
		}
	}
	t.Logf("produced %d messages over %v; the push-mode consumer got %d, the control %d; tokens pushed to the consumer: %d; tokens minted: %d",
		len(produced), total.Round(time.Second), len(got.seqs), len(gotControl.seqs), pusher.TokensSet(), p.MintCount())
	if len(missing) > 0 {
		t.Errorf("the push-mode consumer missed %d messages (first %d)", len(missing), missing[0])
	}
	for _, err := range got.errs {
		var kerr kafka.Error
		if errors.As(err, &kerr) && kerr.Code() == kafka.ErrAuthentication {
			t.Errorf("the push-mode consumer lost authentication: %v", err)
		} else {
			t.Logf("push-mode consumer error (not authentication): %v", err)
		}
	}
	if wantTokens := int64(total / lifetime); pusher.TokensSet() < wantTokens+1 {
		t.Errorf("%d tokens pushed in %v of %v tokens; want at least %d", pusher.TokensSet(), total, lifetime, wantTokens+1)
	}
	if pushErrors.Load() != 0 {
		t.Errorf("%d background refreshes failed", pushErrors.Load())
	}
	// The control must have stopped receiving once its token expired (plus
	// the broker's clock skew and a re-authentication period).
	cutoff := lifetime + 5*time.Second + time.Duration(env.reauthMs)*time.Millisecond + 15*time.Second
	late := 0
	for _, at := range gotControl.seqs {
		if at > cutoff {
			late++
		}
	}
	if total > cutoff+20*time.Second && late > 0 {
		t.Errorf("the control consumer, never given a second token, still received %d messages produced after %v: the broker did not end its session, so this test proves nothing", late, cutoff)
	}
	if len(gotControl.seqs) == 0 {
		t.Errorf("the control consumer received nothing, not even with its first token")
	}
	if deliveryErrs.Load() != 0 {
		t.Errorf("%d deliveries failed", deliveryErrs.Load())
	}
}

// TestWrongAudienceIsRejectedByTheBroker: a token for another audience is
// minted fine but the broker refuses it.
func TestWrongAudienceIsRejectedByTheBroker(t *testing.T) {
	t.Parallel()
	oauth := fmt.Sprintf("region=eu-west-1,audience=not-%s,sts_endpoint=%s", env.audience, env.emulator)
	conf := clientConfig(oauth, false, kafka.ConfigMap{"message.timeout.ms": 10000})
	p := provider(t, conf)
	prod := newProducer(t, conf)
	defer prod.Close()
	pp, err := StartPush(context.Background(), p, prod)
	if err != nil {
		t.Fatalf("StartPush: %v", err)
	}
	defer pp.Stop()
	if err := prod.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &env.topic, Partition: kafka.PartitionAny}, Value: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(60 * time.Second)
	for {
		select {
		case ev := <-prod.Events():
			switch e := ev.(type) {
			case kafka.Error:
				if e.Code() == kafka.ErrAuthentication {
					return
				}
				t.Logf("error event: %v", e)
			case *kafka.Message:
				if e.TopicPartition.Error == nil {
					t.Fatal("a message was delivered with a token for the wrong audience")
				}
			}
		case <-timeout:
			t.Fatal("no authentication error within 60 s")
		}
	}
}

// TestTopicWithoutACLIsDenied: the principal is the IAM ARN, which has no
// ACL on other-topic.
func TestTopicWithoutACLIsDenied(t *testing.T) {
	t.Parallel()
	conf := clientConfig(oauthConfig(""), false, kafka.ConfigMap{"message.timeout.ms": 15000})
	p := provider(t, conf)
	prod := newProducer(t, conf)
	defer prod.Close()
	pp, err := StartPush(context.Background(), p, prod)
	if err != nil {
		t.Fatalf("StartPush: %v", err)
	}
	defer pp.Stop()
	// The refusal comes either from Produce itself, when librdkafka already
	// holds the topic's metadata error, or in the delivery report: both are
	// the broker's topic authorization failure.
	if err := prod.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &env.otherTopic, Partition: kafka.PartitionAny}, Value: []byte("x")}, nil); err != nil {
		var kerr kafka.Error
		if !errors.As(err, &kerr) || kerr.Code() != kafka.ErrTopicAuthorizationFailed {
			t.Fatalf("produce error %v, want topic authorization failed", err)
		}
		return
	}
	timeout := time.After(60 * time.Second)
	for {
		select {
		case ev := <-prod.Events():
			if m, ok := ev.(*kafka.Message); ok {
				var kerr kafka.Error
				if m.TopicPartition.Error == nil {
					t.Fatal("delivered to a topic without an ACL")
				}
				if !errors.As(m.TopicPartition.Error, &kerr) || kerr.Code() != kafka.ErrTopicAuthorizationFailed {
					t.Fatalf("delivery error %v, want topic authorization failed", m.TopicPartition.Error)
				}
				return
			}
		case <-timeout:
			t.Fatal("no delivery report within 60 s")
		}
	}
}

// TestUserWithoutGroupACLCannotConsumeInTheGroup: the token of no-acl-user
// (profile noacl) names that user, who may not use the group.
func TestUserWithoutGroupACLCannotConsumeInTheGroup(t *testing.T) {
	t.Parallel()
	conf := clientConfig(oauthConfig("profile="+testenv.ProfileNoACL), false, nil)
	p := provider(t, conf)
	cons := newConsumer(t, conf)
	defer cons.Close()
	pusher, err := StartPush(context.Background(), p, cons)
	if err != nil {
		t.Fatalf("StartPush: %v", err)
	}
	defer pusher.Stop()
	tok, _ := p.Token(context.Background())
	if tok.Principal != testenv.NoACLARN {
		t.Fatalf("principal %q, want %q", tok.Principal, testenv.NoACLARN)
	}
	if err := cons.Subscribe(env.topic, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		_, err := cons.ReadMessage(time.Second)
		var kerr kafka.Error
		if errors.As(err, &kerr) && kerr.Code() == kafka.ErrGroupAuthorizationFailed {
			return
		}
		if err != nil && !kerr.IsTimeout() {
			t.Logf("ReadMessage: %v", err)
		}
	}
	t.Fatal("no group authorization error within 60 s")
}

// TestBadCredentialsFailStartPushAndTellTheClient: STS refuses the
// signature; StartPush returns that error, and the client is told too.
func TestBadCredentialsFailStartPushAndTellTheClient(t *testing.T) {
	t.Parallel()
	conf := clientConfig(oauthConfig("profile="+testenv.ProfileWrong), false, nil)
	p := provider(t, conf)
	prod := newProducer(t, conf)
	defer prod.Close()
	_, err := StartPush(context.Background(), p, prod)
	var e *kio.Error
	if !errors.As(err, &e) || e.Code != kio.CodeSTS || e.AWSCode != "SignatureDoesNotMatch" {
		t.Fatalf("StartPush: %v, want the STS error SignatureDoesNotMatch", err)
	}
	if strings.Contains(err.Error(), testenv.WrongSecret) {
		t.Fatal("the error contains the secret key")
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-prod.Events():
			if ke, ok := ev.(kafka.Error); ok && strings.Contains(ke.String(), "SignatureDoesNotMatch") {
				return
			}
		case <-timeout:
			t.Fatal("the client never reported the token failure")
		}
	}
}

func TestNewProviderReadsTheConfigMap(t *testing.T) {
	p, err := NewProvider(kafka.ConfigMap{"sasl.oauthbearer.config": oauthConfig(""), "sasl.oauthbearer.extensions": "a=1"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tok, err := p.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.Extensions["a"] != "1" || tok.Principal != testenv.UserARN {
		t.Errorf("token %v", tok)
	}
	for _, conf := range []kafka.ConfigMap{
		{},
		{"sasl.oauthbearer.config": 42},
		{"sasl.oauthbearer.config": "region=eu-west-1"},
		{"sasl.oauthbearer.config": oauthConfig(""), "sasl.oauthbearer.extensions": true},
	} {
		_, err := NewProvider(conf)
		var e *kio.Error
		if !errors.As(err, &e) || e.Code != kio.CodeConfig {
			t.Errorf("NewProvider(%v): %v, want a configuration error", conf, err)
		}
	}
}
