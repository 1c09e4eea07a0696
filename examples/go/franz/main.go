// Command franz produces a few messages with twmb/franz-go and reads them
// back in a consumer group, authenticated as an AWS IAM principal by
// kafka-iam-oauth (package kiofranz).
//
//	KAFKA_BOOTSTRAP_SERVERS=my-kafka.example.com:9093 \
//	SASL_OAUTHBEARER_CONFIG=region=eu-west-1,audience=my-kafka.example.com \
//	KAFKA_TOPIC=my-topic KAFKA_GROUP=my-consumer-group go run ./franz -messages 5
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

	"github.com/twmb/franz-go/pkg/kgo"

	kio "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go"
	kiofranz "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/franz"
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
	log.SetPrefix("go franz-go: ")
	if err := run(*runID, *count); err != nil {
		log.Fatal(err)
	}
}

func run(id string, messages int) error {
	topic, group := env("KAFKA_TOPIC"), env("KAFKA_GROUP")
	p, err := kio.NewProvider(env("SASL_OAUTHBEARER_CONFIG"), os.Getenv("SASL_OAUTHBEARER_EXTENSIONS"))
	if err != nil {
		return err
	}
	defer p.Close()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(env("KAFKA_BOOTSTRAP_SERVERS"), ",")...),
		kgo.DialTLSConfig(tlsConfig()),
		kgo.SASL(kiofranz.Mechanism(p)),
		kgo.DefaultProduceTopic(topic),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	want := map[string]bool{}
	for i := 0; i < messages; i++ {
		key := fmt.Sprintf("franz-%s-%d", id, i)
		r, err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(key), Value: []byte("hello from franz-go")}).First()
		if err != nil {
			return err // errors.As(err, &kio.Error) finds the library's error
		}
		want[key] = true
		log.Printf("produced %s to %s[%d]@%d", key, r.Topic, r.Partition, r.Offset)
	}
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%d messages not read back within 60 s", len(want))
		}
		fs.EachError(func(t string, part int32, err error) { log.Printf("fetch %s[%d]: %v", t, part, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if want[string(r.Key)] {
				delete(want, string(r.Key))
				log.Printf("consumed %s", r.Key)
			}
		})
	}
	log.Printf("read back %d messages in group %s", messages, group)
	return nil
}
