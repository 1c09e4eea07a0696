// Command franz-producer is test-go-proxy's -tags dynamic program
// (tests/packages/go-proxy.sh): 5 messages with franz-go (pure Go), the
// SASL/OAUTHBEARER token from the kafka-iam-oauth binding. confluent-kafka-go
// cannot be this route's client here: its own "dynamic" build tag switches
// it to the system librdkafka, which must be 2.11.1 or newer (Debian
// bookworm has 2.0.2; docs/go.md).
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/oauth"

	kio "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go"
)

func main() {
	runID := flag.String("run", "franz", "run id put in the message keys")
	count := flag.Int("messages", 5, "how many messages to send")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("franz producer: ")
	p, err := kio.NewProvider(os.Getenv("SASL_OAUTHBEARER_CONFIG"), "")
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	pem, err := os.ReadFile(os.Getenv("SSL_CA_LOCATION"))
	if err != nil {
		log.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client, err := kgo.NewClient(
		kgo.SeedBrokers(os.Getenv("KAFKA_BOOTSTRAP_SERVERS")),
		kgo.DialTLSConfig(&tls.Config{RootCAs: pool}),
		kgo.SASL(oauth.Oauth(func(ctx context.Context) (oauth.Auth, error) {
			tok, err := p.Token(ctx)
			if err != nil {
				return oauth.Auth{}, err
			}
			log.Printf("token for %s (link mode %s)", tok.Principal, kio.LinkMode)
			return oauth.Auth{Token: tok.Value, Extensions: tok.Extensions}, nil
		})),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 0; i < *count; i++ {
		r := &kgo.Record{Topic: os.Getenv("KAFKA_TOPIC"), Key: []byte(fmt.Sprintf("go-%s-%d", *runID, i)), Value: []byte("hello")}
		if err := client.ProduceSync(ctx, r).FirstErr(); err != nil {
			log.Fatalf("produce: %v", err)
		}
		log.Printf("produced %s to %s[%d]@%d", r.Key, r.Topic, r.Partition, r.Offset)
	}
}
