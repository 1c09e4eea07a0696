package clients

// What the tests share: the harness environment, TLS to the broker, the
// Provider, and the per-run topics and groups the admin listener creates.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	kio "github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go"
	"github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go/internal/testenv"
)

var env struct {
	emulator, ssl, admin, caPEM, audience, principal, topic, otherTopic string
	reauth                                                              time.Duration
	tls                                                                 *tls.Config
}

// prefix names this suite's topics and groups; the admin listener grants
// my-iam-user these by prefix (the harness's my-topic and my-consumer-group
// belong to suites that run at the same time).
const prefix = "go-clients-"

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
	env.ssl = get("KIO_BOOTSTRAP_SSL")
	env.admin = get("KIO_ADMIN_BOOTSTRAP")
	env.caPEM = get("KIO_CA_PEM")
	env.audience = get("KIO_AUDIENCE")
	env.principal = get("KIO_PRINCIPAL")
	env.topic = get("KIO_TOPIC")
	env.otherTopic = get("KIO_OTHER_TOPIC")
	ms, err := strconv.Atoi(get("KIO_REAUTH_MS"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "KIO_REAUTH_MS:", err)
		os.Exit(2)
	}
	env.reauth = time.Duration(ms) * time.Millisecond
	pem, err := os.ReadFile(env.caPEM)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fmt.Fprintln(os.Stderr, "no certificate in", env.caPEM)
		os.Exit(2)
	}
	env.tls = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	dir, err := os.MkdirTemp("", "kio-go-clients-")
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

// oauthConfig is a sasl.oauthbearer.config against the harness's
// emulator; extra is appended (e.g. "duration_seconds=60").
func oauthConfig(audience, extra string) string {
	s := fmt.Sprintf("region=eu-west-1,audience=%s,sts_endpoint=%s", audience, env.emulator)
	if extra != "" {
		s += "," + extra
	}
	return s
}

func provider(t *testing.T, config, extensions string) *kio.Provider {
	t.Helper()
	p, err := kio.NewProvider(config, extensions)
	if err != nil {
		t.Fatalf("NewProvider: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func runID(t *testing.T) string {
	return fmt.Sprintf("%s%d-%d", prefix, time.Now().UnixNano()/1e6, os.Getpid())
}

var aclsOnce sync.Once

// createTopics creates the topics (1 partition) over the admin listener
// and, once per process, grants my-iam-user Describe/Read/Write on topics
// and Read on groups named prefix*.
func createTopics(t *testing.T, topics ...string) {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_0_0_0
	admin, err := sarama.NewClusterAdmin([]string{env.admin}, cfg)
	if err != nil {
		t.Fatalf("admin client: %v", err)
	}
	defer admin.Close()
	var aclErr error
	aclsOnce.Do(func() {
		user := "User:" + env.principal
		allow := func(op sarama.AclOperation) *sarama.Acl {
			return &sarama.Acl{Principal: user, Host: "*", Operation: op, PermissionType: sarama.AclPermissionAllow}
		}
		var acls []*sarama.ResourceAcls
		topicRes := sarama.Resource{ResourceType: sarama.AclResourceTopic, ResourceName: prefix, ResourcePatternType: sarama.AclPatternPrefixed}
		groupRes := sarama.Resource{ResourceType: sarama.AclResourceGroup, ResourceName: prefix, ResourcePatternType: sarama.AclPatternPrefixed}
		acls = append(acls, &sarama.ResourceAcls{Resource: topicRes, Acls: []*sarama.Acl{allow(sarama.AclOperationDescribe), allow(sarama.AclOperationRead), allow(sarama.AclOperationWrite)}})
		acls = append(acls, &sarama.ResourceAcls{Resource: groupRes, Acls: []*sarama.Acl{allow(sarama.AclOperationRead)}})
		aclErr = admin.CreateACLs(acls)
	})
	if aclErr != nil {
		t.Fatalf("CreateACLs: %v", aclErr)
	}
	for _, topic := range topics {
		if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
			t.Fatalf("CreateTopic %s: %v", topic, err)
		}
	}
	t.Cleanup(func() {
		admin, err := sarama.NewClusterAdmin([]string{env.admin}, cfg)
		if err != nil {
			return
		}
		defer admin.Close()
		for _, topic := range topics {
			_ = admin.DeleteTopic(topic)
		}
	})
}

// withTimeout is a context for one step of a test.
func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
