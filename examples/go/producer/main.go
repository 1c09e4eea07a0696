// Command producer sends a few messages with confluent-kafka-go,
// authenticated as an AWS IAM principal by kafka-iam-oauth. It answers
// librdkafka's token refresh events from the producer's Events channel.
//
//	KAFKA_BOOTSTRAP_SERVERS=my-kafka.example.com:9093 KAFKA_SECURITY_PROTOCOL=SASL_SSL \
//	SASL_OAUTHBEARER_CONFIG=region=eu-west-1,audience=my-kafka.example.com \
//	KAFKA_TOPIC=my-topic go run ./producer -run demo -messages 5
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
	runID := flag.String("run", fmt.Sprint(time.Now().UnixMilli()), "run id put in the message keys")
	count := flag.Int("messages", 5, "how many messages to send")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("go producer: ")
	if err := run(*runID, *count); err != nil {
		log.Fatal(err)
	}
}

func run(id string, messages int) error {
	topic := env("KAFKA_TOPIC")
	conf := kafka.ConfigMap{
		"bootstrap.servers":       env("KAFKA_BOOTSTRAP_SERVERS"),
		"security.protocol":       env("KAFKA_SECURITY_PROTOCOL"),
		"sasl.mechanism":          "OAUTHBEARER",
		"sasl.oauthbearer.config": env("SASL_OAUTHBEARER_CONFIG"),
	}
	if ca := os.Getenv("SSL_CA_LOCATION"); ca != "" {
		conf["ssl.ca.location"] = ca
	}
	// Validates sasl.oauthbearer.config; no network call yet.
	provider, err := confluent.NewProvider(conf)
	if err != nil {
		return err
	}
	defer provider.Close()

	producer, err := kafka.NewProducer(&conf)
	if err != nil {
		return err
	}
	defer producer.Close()

	for i := 0; i < messages; i++ {
		key := fmt.Sprintf("go-%s-%d", id, i)
		err := producer.Produce(&kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key:            []byte(key),
			Value:          []byte("hello from confluent-kafka-go"),
		}, nil)
		if err != nil {
			return err
		}
	}

	// The Events channel carries the token refresh requests as well as the
	// delivery reports; the first refresh comes before anything is sent.
	ctx := context.Background()
	timeout := time.After(60 * time.Second)
	for delivered := 0; delivered < messages; {
		select {
		case ev := <-producer.Events():
			if ok, err := confluent.HandleEvent(ctx, provider, producer, ev); ok {
				if err != nil {
					log.Printf("token refresh failed: %v", err)
				} else {
					tok, _ := provider.Token(ctx)
					log.Printf("token set for %s, valid until %s", tok.Principal, tok.Expiration.Format(time.RFC3339))
				}
				continue
			}
			switch e := ev.(type) {
			case *kafka.Message:
				if e.TopicPartition.Error != nil {
					return fmt.Errorf("delivery failed: %v", e.TopicPartition.Error)
				}
				delivered++
				log.Printf("produced %s to %s", e.Key, e.TopicPartition)
			case kafka.Error:
				log.Printf("client error: %v", e)
			}
		case <-timeout:
			return errors.New("messages not delivered within 60 s")
		}
	}

	return nil
}
