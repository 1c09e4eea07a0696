// Command consumer reads messages with confluent-kafka-go in a consumer
// group, authenticated as an AWS IAM principal by kafka-iam-oauth. It only
// calls ReadMessage(), which drops token refresh events, so it uses the
// adapter's push mode: a goroutine sets a fresh token on the consumer before
// the current one runs low.
//
//	KAFKA_BOOTSTRAP_SERVERS=my-kafka.example.com:9093 KAFKA_SECURITY_PROTOCOL=SASL_SSL \
//	SASL_OAUTHBEARER_CONFIG=region=eu-west-1,audience=my-kafka.example.com \
//	KAFKA_TOPIC=my-topic KAFKA_GROUP=my-consumer-group go run ./consumer -run demo -messages 5
//
// Optional: SSL_CA_LOCATION (a CA bundle).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/confluent"
)

func env(key string) string {
	v := os.Getenv(key)
	if v == "" {
		log.Fatalf("set %s", key)
	}
	return v
}

func main() {
	runID := flag.String("run", "", "read the messages the producer sent with this run id")
	count := flag.Int("messages", 5, "how many messages of that run to read")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("go consumer: ")
	if err := run(*runID, *count); err != nil {
		log.Fatal(err)
	}
}

func run(id string, messages int) error {
	if id == "" {
		return errors.New("give -run, the producer's run id")
	}

	conf := kafka.ConfigMap{
		"bootstrap.servers":       env("KAFKA_BOOTSTRAP_SERVERS"),
		"security.protocol":       env("KAFKA_SECURITY_PROTOCOL"),
		"sasl.mechanism":          "OAUTHBEARER",
		"sasl.oauthbearer.config": env("SASL_OAUTHBEARER_CONFIG"),
		"group.id":                env("KAFKA_GROUP"),
		"auto.offset.reset":       "earliest",
	}
	if ca := os.Getenv("SSL_CA_LOCATION"); ca != "" {
		conf["ssl.ca.location"] = ca
	}
	provider, err := confluent.NewProvider(conf)
	if err != nil {
		return err
	}
	defer provider.Close()

	consumer, err := kafka.NewConsumer(&conf)
	if err != nil {
		return err
	}
	defer consumer.Close()

	// Sets the first token now (an error here is the one STS gave) and
	// keeps the consumer's token fresh until Stop. Stop runs before Close
	// (defers run last-in first-out).
	pusher, err := confluent.StartPush(context.Background(), provider, consumer,
		confluent.WithErrorHandler(func(err error) { log.Printf("token refresh failed: %v", err) }))
	if err != nil {
		return err
	}
	defer pusher.Stop()
	tok, _ := provider.Token(context.Background())
	log.Printf("authenticated as %s, token valid until %s", tok.Principal, tok.Expiration.Format(time.RFC3339))

	if err := consumer.Subscribe(env("KAFKA_TOPIC"), nil); err != nil {
		return err
	}
	prefix := fmt.Sprintf("go-%s-", id)
	deadline := time.Now().Add(60 * time.Second)
	for seen := 0; seen < messages; {
		if time.Now().After(deadline) {
			return fmt.Errorf("read %d of %d messages in 60 s", seen, messages)
		}
		m, err := consumer.ReadMessage(time.Second)
		if err != nil {
			if kerr, ok := err.(kafka.Error); ok && kerr.IsTimeout() {
				continue
			}
			return err
		}
		if strings.HasPrefix(string(m.Key), prefix) {
			seen++
			log.Printf("consumed %s from %s", m.Key, m.TopicPartition)
		}
	}
	log.Printf("done")

	return nil
}
