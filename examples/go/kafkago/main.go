// Command kafkago produces a few messages with segmentio/kafka-go and reads
// them back in a consumer group, authenticated as an AWS IAM principal by
// kafka-iam-oauth's OAUTHBEARER mechanism (package kiokafkago).
//
//	KAFKA_BOOTSTRAP_SERVERS=my-kafka.example.com:9093 \
//	SASL_OAUTHBEARER_CONFIG=region=eu-west-1,audience=my-kafka.example.com \
//	KAFKA_TOPIC=my-topic KAFKA_GROUP=my-consumer-group go run ./kafkago -messages 5
//
// Optional: SSL_CA_LOCATION (a PEM CA bundle; the system's roots otherwise).
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	kio "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go"
	kiokafkago "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/kafkago"
)

func env(key string) string {
	v := os.Getenv(key)
	if v == "" {
		log.Fatalf("set %s", key)
	}
	return v
}

func tlsConfig() *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca := os.Getenv("SSL_CA_LOCATION"); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			log.Fatal(err)
		}
		c.RootCAs = x509.NewCertPool()
		c.RootCAs.AppendCertsFromPEM(pem)
	}
	return c
}

func main() {
	runID := flag.String("run", fmt.Sprint(time.Now().UnixMilli()), "run id put in the message keys")
	count := flag.Int("messages", 5, "how many messages to send and read back")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("go kafka-go: ")
	if err := run(*runID, *count); err != nil {
		log.Fatal(err)
	}
}

func run(id string, messages int) error {
	brokers := strings.Split(env("KAFKA_BOOTSTRAP_SERVERS"), ",")
	topic, group := env("KAFKA_TOPIC"), env("KAFKA_GROUP")
	p, err := kio.NewProvider(env("SASL_OAUTHBEARER_CONFIG"), os.Getenv("SASL_OAUTHBEARER_EXTENSIONS"))
	if err != nil {
		return err
	}
	defer p.Close()
	mech := kiokafkago.New(p) // one mechanism for every connection
	tlsCfg := tlsConfig()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, RequiredAcks: kafka.RequireAll,
		Transport: &kafka.Transport{SASL: mech, TLS: tlsCfg}}
	defer w.Close()
	want := map[string]bool{}
	var msgs []kafka.Message
	for i := 0; i < messages; i++ {
		key := fmt.Sprintf("kafkago-%s-%d", id, i)
		want[key] = true
		msgs = append(msgs, kafka.Message{Key: []byte(key), Value: []byte("hello from kafka-go")})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		return err // errors.As finds the library's *kio.Error or a *kiokafkago.RefusedError
	}
	log.Printf("produced %d messages to %s", messages, topic)

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, GroupID: group, Topic: topic,
		Dialer: &kafka.Dialer{SASLMechanism: mech, TLS: tlsCfg, Timeout: 10 * time.Second}, StartOffset: kafka.FirstOffset})
	defer r.Close()
	for len(want) > 0 {
		// FetchMessage and CommitMessages rather than ReadMessage: kafka-go
		// does not re-authenticate, so the broker closes its connections at
		// each session's end, and a commit in flight then fails; trying it
		// again dials anew (ReadMessage would return the error and drop m).
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return fmt.Errorf("%d messages not read back: %w", len(want), err)
		}
		if want[string(m.Key)] {
			delete(want, string(m.Key))
			log.Printf("consumed %s", m.Key)
		}
		for attempt := 1; ; attempt++ {
			if err = r.CommitMessages(ctx, m); err == nil || attempt == 3 {
				break
			}
			time.Sleep(time.Second)
		}
		if err != nil {
			return fmt.Errorf("committing %s: %w", m.Key, err)
		}
	}
	log.Printf("read back %d messages in group %s", messages, group)
	return nil
}
