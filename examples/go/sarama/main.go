// Command sarama produces a few messages with IBM/sarama and reads them
// back in a consumer group, authenticated as an AWS IAM principal by
// kafka-iam-oauth (package kiosarama).
//
//	KAFKA_BOOTSTRAP_SERVERS=my-kafka.example.com:9093 \
//	SASL_OAUTHBEARER_CONFIG=region=eu-west-1,audience=my-kafka.example.com \
//	KAFKA_TOPIC=my-topic KAFKA_GROUP=my-consumer-group go run ./sarama -messages 5
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

	"github.com/IBM/sarama"

	kio "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go"
	kiosarama "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/sarama"
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
	log.SetPrefix("go sarama: ")
	if err := run(*runID, *count); err != nil {
		log.Fatal(err)
	}
}

func run(id string, messages int) error {
	brokers := strings.Split(env("KAFKA_BOOTSTRAP_SERVERS"), ",")
	topic, group := env("KAFKA_TOPIC"), env("KAFKA_GROUP")
	// Validates the configuration; no network call yet. One provider for
	// the whole program: every connection of every client shares its token.
	p, err := kio.NewProvider(env("SASL_OAUTHBEARER_CONFIG"), os.Getenv("SASL_OAUTHBEARER_EXTENSIONS"))
	if err != nil {
		return err
	}
	defer p.Close()

	cfg := sarama.NewConfig()
	kiosarama.Configure(cfg, p)
	cfg.Net.TLS.Enable = true
	cfg.Net.TLS.Config = tlsConfig()
	cfg.Producer.Return.Successes = true
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest

	producer, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		return err // errors.As(err, &kio.Error) finds the library's error
	}
	defer producer.Close()
	want := map[string]bool{}
	for i := 0; i < messages; i++ {
		key := fmt.Sprintf("sarama-%s-%d", id, i)
		part, off, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.StringEncoder("hello from sarama")})
		if err != nil {
			return err
		}
		want[key] = true
		log.Printf("produced %s to %s[%d]@%d", key, topic, part, off)
	}

	cg, err := sarama.NewConsumerGroup(brokers, group, cfg)
	if err != nil {
		return err
	}
	defer cg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := &handler{want: want, done: cancel}
	for ctx.Err() == nil {
		if err := cg.Consume(ctx, []string{topic}, h); err != nil && ctx.Err() == nil {
			return err
		}
	}
	if len(h.want) > 0 {
		return fmt.Errorf("%d messages not read back within 60 s", len(h.want))
	}
	log.Printf("read back %d messages in group %s", messages, group)
	return nil
}

// handler marks each message read and stops once all were seen.
type handler struct {
	want map[string]bool
	done func()
}

func (*handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (*handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		s.MarkMessage(m, "")
		if h.want[string(m.Key)] {
			delete(h.want, string(m.Key))
			log.Printf("consumed %s", m.Key)
		}
		if len(h.want) == 0 {
			h.done()
		}
	}
	return nil
}
