package clients

// The quick tests (make test-go): what each client reports when the broker
// or STS refuses, through the client's own error path.

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/internal/testenv"
	kiokafkago "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/kafkago"
)

// refusalBound is how long a client may take to report a refusal: the
// broker and STS answer at once, so anything near it is a hang.
const refusalBound = 20 * time.Second

// TestNoACLUserIsRefusedOnTopicAndGroup: no-acl-user authenticates, and
// the broker's authorizer refuses it a topic without ACLs and a group,
// through each client's error for the request.
func TestNoACLUserIsRefusedOnTopicAndGroup(t *testing.T) {
	t.Parallel()
	p := provider(t, oauthConfig(env.audience, "profile="+testenv.ProfileNoACL), "")
	group := runID(t) + "-noacl"

	t.Run("sarama", func(t *testing.T) {
		t.Parallel()
		cfg := saramaConfig(p, nil, "noacl-sarama")
		prod, err := sarama.NewSyncProducer([]string{env.ssl}, cfg)
		if err != nil {
			t.Fatalf("NewSyncProducer: %v", err)
		}
		defer prod.Close()
		_, _, err = prod.SendMessage(&sarama.ProducerMessage{Topic: env.otherTopic, Value: sarama.StringEncoder("x")})
		if !errors.Is(err, sarama.ErrTopicAuthorizationFailed) {
			t.Errorf("SendMessage to %s: %v; want ErrTopicAuthorizationFailed", env.otherTopic, err)
		}
		cg, err := sarama.NewConsumerGroup([]string{env.ssl}, group, cfg)
		if err != nil {
			t.Fatalf("NewConsumerGroup: %v", err)
		}
		defer cg.Close()
		err = cg.Consume(withTimeout(t, refusalBound), []string{env.topic}, nopHandler{})
		if !errors.Is(err, sarama.ErrGroupAuthorizationFailed) {
			t.Errorf("Consume in group %s: %v; want ErrGroupAuthorizationFailed", group, err)
		}
	})

	t.Run("franz-go", func(t *testing.T) {
		t.Parallel()
		var l syncLog
		cl, err := franzClient(p, newCounter(nil), &l, kgo.RequestRetries(1))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		err = cl.ProduceSync(withTimeout(t, refusalBound), &kgo.Record{Topic: env.otherTopic, Value: []byte("x")}).FirstErr()
		if !errors.Is(err, kerr.TopicAuthorizationFailed) {
			t.Errorf("ProduceSync to %s: %v; want TOPIC_AUTHORIZATION_FAILED", env.otherTopic, err)
		}
		gc, err := franzClient(p, newCounter(nil), &l, kgo.ConsumerGroup(group), kgo.ConsumeTopics(env.topic))
		if err != nil {
			t.Fatal(err)
		}
		defer gc.Close()
		ctx := withTimeout(t, refusalBound)
		var groupErr error
		for groupErr == nil && ctx.Err() == nil {
			gc.PollFetches(ctx).EachError(func(_ string, _ int32, err error) {
				if errors.Is(err, kerr.GroupAuthorizationFailed) {
					groupErr = err
				}
			})
		}
		if groupErr == nil {
			t.Errorf("no GROUP_AUTHORIZATION_FAILED from PollFetches in group %s within %v", group, refusalBound)
		}
	})

	t.Run("kafka-go", func(t *testing.T) {
		t.Parallel()
		var l syncLog
		mech := kafkagoMechanism(p, newCounter(nil))
		w := kafkagoWriter(mech, env.otherTopic, &l)
		w.MaxAttempts = 1
		defer w.Close()
		if err := w.WriteMessages(withTimeout(t, refusalBound), kafka.Message{Value: []byte("x")}); err == nil {
			t.Errorf("WriteMessages to %s succeeded", env.otherTopic)
		}
		// The Writer reports the topic as unknown: kafka-go asks for
		// metadata first, and the broker hides a topic the principal may
		// not describe. Produce on a connection to the partition's leader
		// gets the broker's refusal itself.
		host, port, _ := net.SplitHostPort(env.ssl)
		portN, _ := strconv.Atoi(port)
		conn, err := kafkagoDialer(mech).DialPartition(withTimeout(t, refusalBound), "tcp", env.ssl,
			kafka.Partition{Topic: env.otherTopic, ID: 0, Leader: kafka.Broker{Host: host, Port: portN, ID: 1}})
		if err != nil {
			t.Fatalf("DialPartition: %v", err)
		}
		_ = conn.SetDeadline(time.Now().Add(refusalBound))
		_, err = conn.WriteMessages(kafka.Message{Value: []byte("x")})
		conn.Close()
		if !errors.Is(err, kafka.TopicAuthorizationFailed) {
			t.Errorf("Conn.WriteMessages to %s: %v; want TopicAuthorizationFailed", env.otherTopic, err)
		}
		// kafka-go's Reader retries group errors and logs them.
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{env.ssl}, GroupID: group, Topic: env.topic,
			Dialer: kafkagoDialer(mech), ErrorLogger: &l, MaxWait: 500 * time.Millisecond})
		defer r.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = r.ReadMessage(ctx)
		if !strings.Contains(l.buf.String(), kafka.GroupAuthorizationFailed.Error()) {
			t.Errorf("the Reader's ErrorLogger has no %q for group %s:\n%s", kafka.GroupAuthorizationFailed.Error(), group, l.buf.String())
		}
	})
}

type nopHandler struct{}

func (nopHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (nopHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (nopHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for range c.Messages() {
	}
	return nil
}

// TestWrongAudienceIsRefusedAtAuthentication: STS mints a token for
// another audience; the broker refuses it in the SASL exchange, and each
// client reports an authentication failure (kafka-go: the broker's status,
// from the error challenge, within the bound).
func TestWrongAudienceIsRefusedAtAuthentication(t *testing.T) {
	t.Parallel()
	p := provider(t, oauthConfig("not-"+env.audience, ""), "")

	t.Run("sarama", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		_, err := sarama.NewSyncProducer([]string{env.ssl}, saramaConfig(p, nil, "wrongaud-sarama"))
		if !errors.Is(err, sarama.ErrSASLAuthenticationFailed) {
			t.Errorf("NewSyncProducer: %v; want ErrSASLAuthenticationFailed", err)
		}
		if d := time.Since(start); d > refusalBound {
			t.Errorf("sarama took %v to report it (bound %v)", d, refusalBound)
		}
	})

	t.Run("franz-go", func(t *testing.T) {
		t.Parallel()
		var l syncLog
		cl, err := franzClient(p, newCounter(nil), &l, kgo.RequestRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		// franz-go's oauth mechanism answers the broker's error
		// challenge with its own error, without the broker's status.
		err = cl.Ping(withTimeout(t, refusalBound))
		if err == nil || !(errors.Is(err, kerr.SaslAuthenticationFailed) || strings.Contains(err.Error(), "unexpected data in oauth response")) {
			t.Errorf("Ping: %v; want the refused authentication", err)
		}
	})

	t.Run("kafka-go", func(t *testing.T) {
		t.Parallel()
		mech := kafkagoMechanism(p, newCounter(nil))
		start := time.Now()
		conn, err := kafkagoDialer(mech).DialContext(withTimeout(t, refusalBound), "tcp", env.ssl)
		if err == nil {
			conn.Close()
			t.Fatal("the broker accepted a token for another audience")
		}
		var refused *kiokafkago.RefusedError
		if !errors.As(err, &refused) || refused.Status != "invalid_token" {
			t.Fatalf("DialContext: %v; want a RefusedError with status invalid_token", err)
		}
		if !strings.Contains(err.Error(), `"invalid_token"`) {
			t.Errorf("the error does not name the status: %v", err)
		}
		if d := time.Since(start); d > refusalBound {
			t.Errorf("kafka-go took %v to end the exchange (bound %v)", d, refusalBound)
		}
		// The Writer's path reports the same error.
		w := kafkagoWriter(mech, env.topic, &syncLog{})
		w.MaxAttempts = 1
		defer w.Close()
		err = w.WriteMessages(withTimeout(t, refusalBound), kafka.Message{Value: []byte("x")})
		if !errors.As(err, &refused) {
			t.Errorf("WriteMessages: %v; want a RefusedError", err)
		}
	})
}

// TestAccessDeniedAtSTSSurfacesAsTheLibraryError: the emulator's policy
// denies one audience (sts:GetWebIdentityToken answers AccessDenied); each
// client fails with an error in whose chain errors.As finds the library's
// *Error with CodeSTS and AWSCode AccessDenied. The policy goes back to
// allowing every audience afterwards; the audiences other tests of this
// process and of the Go suite use stay allowed meanwhile.
func TestAccessDeniedAtSTSSurfacesAsTheLibraryError(t *testing.T) {
	if _, err := testenv.Control(env.emulator, "POST", "/_emulator/policy",
		map[string]any{"allowed_audiences": []string{env.audience, "not-" + env.audience}}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := testenv.Control(env.emulator, "POST", "/_emulator/policy", map[string]any{"allowed_audiences": nil}); err != nil {
			t.Errorf("resetting the emulator's policy: %v", err)
		}
	}()
	p := provider(t, oauthConfig("denied-"+env.audience, ""), "")
	check := func(t *testing.T, where string, err error) {
		t.Helper()
		e := kioError(err)
		if e == nil || e.AWSCode != "AccessDenied" {
			t.Errorf("%s: %v; want the library's *Error with AWSCode AccessDenied in the chain", where, err)
			return
		}
		t.Logf("%s: %v", where, err)
	}

	t.Run("sarama", func(t *testing.T) {
		// sarama: the constructor that opens the first connection
		// (NewClient, NewSyncProducer, ...) returns ErrOutOfBrokers
		// joined with each broker's error.
		_, err := sarama.NewSyncProducer([]string{env.ssl}, saramaConfig(p, nil, "denied-sarama"))
		check(t, "sarama.NewSyncProducer", err)
	})
	t.Run("franz-go", func(t *testing.T) {
		// franz-go: the request that needed the connection (a produce
		// retries it until its record timeout; the logger has each try).
		var l syncLog
		cl, err := franzClient(p, newCounter(nil), &l, kgo.RequestRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		check(t, "kgo.Client.Ping", cl.Ping(withTimeout(t, refusalBound)))
	})
	t.Run("kafka-go", func(t *testing.T) {
		// kafka-go: the call that dialled.
		mech := kafkagoMechanism(p, newCounter(nil))
		_, err := kafkagoDialer(mech).DialContext(withTimeout(t, refusalBound), "tcp", env.ssl)
		check(t, "kafka.Dialer.DialContext", err)
		w := kafkagoWriter(mech, env.topic, &syncLog{})
		w.MaxAttempts = 1
		defer w.Close()
		err = w.WriteMessages(withTimeout(t, refusalBound), kafka.Message{Value: []byte("x")})
		check(t, "kafka.Writer.WriteMessages", err)
	})
}
