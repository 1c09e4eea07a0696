/* End-to-end with real librdkafka against the harness broker, using the
 * header-only adapter. Usage: e2e_test <scenario> [seconds]
 *   produce_consume_plain | produce_consume_ssl | wrong_audience |
 *   no_topic_acl | no_group_acl | refresh <seconds>
 * Reads the harness env (KIO_*). Ends with "N passed, N failed". */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>
#include "kafka_iam_oauth_rdkafka.h"
#include "check.h"

static const char *env(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "%s is not set: run under make test (harness env)\n", name);
        exit(2);
    }
    return v;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Errors seen through error_cb (authentication failures arrive here). */
static volatile int auth_errors;
static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)rk, (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION) auth_errors++;
    fprintf(stderr, "librdkafka error: %s: %s\n", rd_kafka_err2name(err), reason);
}

static int delivered, failed;
static rd_kafka_resp_err_t last_delivery_err;
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk, (void)opaque;
    if (m->err) {
        failed++;
        last_delivery_err = m->err;
        fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
    } else {
        delivered++;
    }
}

static rd_kafka_conf_t *base_conf(int ssl, const char *audience_override, const char *extra_config) {
    char errstr[512], oauth[1024];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    snprintf(oauth, sizeof oauth, "region=eu-west-1,audience=%s,sts_endpoint=%s%s%s",
             audience_override ? audience_override : env("KIO_AUDIENCE"), env("KIO_EMULATOR_URL"),
             extra_config ? "," : "", extra_config ? extra_config : "");
    const char *kv[][2] = {
        {"bootstrap.servers", env(ssl ? "KIO_BOOTSTRAP_SSL" : "KIO_BOOTSTRAP_PLAINTEXT")},
        {"security.protocol", ssl ? "SASL_SSL" : "SASL_PLAINTEXT"},
        {"sasl.mechanism", "OAUTHBEARER"},
        {"sasl.oauthbearer.config", oauth},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "%s: %s\n", kv[i][0], errstr);
            exit(2);
        }
    if (ssl && rd_kafka_conf_set(conf, "ssl.ca.location", env("KIO_CA_PEM"), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "ssl.ca.location: %s\n", errstr);
        exit(2);
    }
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_res_t r = kafka_iam_oauth_rdkafka_conf_init(conf, errstr, sizeof errstr);
    CHECK(r == RD_KAFKA_CONF_OK, "conf_init: %s", errstr);
    return conf;
}

static rd_kafka_t *new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", errstr);
        exit(2);
    }
    return rk;
}

static int produce(rd_kafka_t *rk, const char *topic, const char *payload) {
    return rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE((void *)payload, strlen(payload)),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
}

static void produce_consume(int ssl) {
    char run[64], payload[128];
    snprintf(run, sizeof run, "c-e2e-%d-%ld", ssl, (long)time(NULL));
    rd_kafka_conf_t *pc = base_conf(ssl, NULL, NULL);
    rd_kafka_conf_set_dr_msg_cb(pc, dr_cb);
    rd_kafka_t *producer = new_client(RD_KAFKA_PRODUCER, pc);
    const int n = 10;
    for (int i = 0; i < n; i++) {
        snprintf(payload, sizeof payload, "%s-%d", run, i);
        CHECK(produce(producer, env("KIO_TOPIC"), payload) == RD_KAFKA_RESP_ERR_NO_ERROR, "produce");
    }
    rd_kafka_flush(producer, 30000);
    CHECK(delivered == n && failed == 0, "delivered %d of %d, %d failed", delivered, n, failed);
    rd_kafka_destroy(producer);

    char errstr[512];
    rd_kafka_conf_t *cc = base_conf(ssl, NULL, NULL);
    rd_kafka_conf_set(cc, "group.id", env("KIO_GROUP"), errstr, sizeof errstr);
    rd_kafka_conf_set(cc, "auto.offset.reset", "earliest", errstr, sizeof errstr);
    rd_kafka_t *consumer = new_client(RD_KAFKA_CONSUMER, cc);
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, env("KIO_TOPIC"), RD_KAFKA_PARTITION_UA);
    CHECK(rd_kafka_subscribe(consumer, topics) == RD_KAFKA_RESP_ERR_NO_ERROR, "subscribe");
    rd_kafka_topic_partition_list_destroy(topics);
    int seen = 0;
    double deadline = now_s() + 60;
    while (seen < n && now_s() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 500);
        if (!m) continue;
        if (!m->err && m->len > strlen(run) && memcmp(m->payload, run, strlen(run)) == 0) seen++;
        else if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
    }
    CHECK(seen == n, "consumed %d of %d messages of this run", seen, n);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    printf("%s: produced %d and consumed %d messages as %s\n", ssl ? "SASL_SSL" : "SASL_PLAINTEXT", delivered,
           seen, "arn:aws:iam::123456789012:user/my-iam-user");
}

static void wrong_audience(void) {
    char errstr[512];
    rd_kafka_conf_t *pc = base_conf(0, "wrong-audience", NULL);
    rd_kafka_conf_set(pc, "message.timeout.ms", "8000", errstr, sizeof errstr);
    rd_kafka_conf_set_dr_msg_cb(pc, dr_cb);
    rd_kafka_t *producer = new_client(RD_KAFKA_PRODUCER, pc);
    produce(producer, env("KIO_TOPIC"), "must-not-arrive");
    rd_kafka_flush(producer, 15000);
    CHECK(auth_errors > 0, "the broker must refuse the token (SASL authentication error)");
    CHECK(delivered == 0 && failed == 1, "delivered %d failed %d", delivered, failed);
    rd_kafka_destroy(producer);
}

static void no_topic_acl(void) {
    rd_kafka_conf_t *pc = base_conf(0, NULL, NULL);
    rd_kafka_conf_set_dr_msg_cb(pc, dr_cb);
    rd_kafka_t *producer = new_client(RD_KAFKA_PRODUCER, pc);
    produce(producer, "other-topic", "no-acl");
    rd_kafka_flush(producer, 30000);
    CHECK(failed == 1 && last_delivery_err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, "got %s",
          rd_kafka_err2name(last_delivery_err));
    CHECK(auth_errors == 0, "authentication itself succeeded");
    rd_kafka_destroy(producer);
}

static void no_group_acl(void) {
    /* Run with the no-acl-user's keys (see mk/c.mk). */
    char errstr[512];
    rd_kafka_conf_t *cc = base_conf(0, NULL, NULL);
    rd_kafka_conf_set(cc, "group.id", env("KIO_GROUP"), errstr, sizeof errstr);
    rd_kafka_t *consumer = new_client(RD_KAFKA_CONSUMER, cc);
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, env("KIO_TOPIC"), RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    rd_kafka_resp_err_t got = RD_KAFKA_RESP_ERR_NO_ERROR;
    double deadline = now_s() + 30;
    while (got == RD_KAFKA_RESP_ERR_NO_ERROR && now_s() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 500);
        if (!m) continue;
        if (m->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED) got = m->err;
        rd_kafka_message_destroy(m);
    }
    CHECK(got == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED, "expected GROUP_AUTHORIZATION_FAILED");
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
}

static void emulator_fault(const char *json) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d '%s' %s/_emulator/faults",
             json, env("KIO_EMULATOR_URL"));
    CHECK(system(cmd) == 0, "fault injection %s", json);
}

static void refresh(int seconds) {
    char errstr[512], payload[64], tag[64];
    /* A config of its own (tag) so this run's cache entry starts cold. */
    snprintf(tag, sizeof tag, "tag_run=refresh-%ld,duration_seconds=60", (long)time(NULL));
    rd_kafka_conf_t *pc = base_conf(0, NULL, tag);
    rd_kafka_conf_set(pc, "message.timeout.ms", "300000", errstr, sizeof errstr);
    rd_kafka_conf_set_dr_msg_cb(pc, dr_cb);
    rd_kafka_t *producer = new_client(RD_KAFKA_PRODUCER, pc);
    double start = now_s();
    int sent = 0, throttled = 0, errored = 0;
    while (now_s() - start < seconds) {
        double t = now_s() - start;
        /* STS misbehaves for a while, with a valid token still cached. */
        if (!throttled && t > 70) emulator_fault("{\"mode\":\"throttle\",\"for_ms\":20000}"), throttled = 1;
        if (!errored && t > 100) emulator_fault("{\"mode\":\"server_error\",\"for_ms\":20000}"), errored = 1;
        snprintf(payload, sizeof payload, "refresh-%d", sent);
        if (produce(producer, env("KIO_TOPIC"), payload) == RD_KAFKA_RESP_ERR_NO_ERROR) sent++;
        rd_kafka_poll(producer, 500);
    }
    rd_kafka_flush(producer, 60000);
    /* The library's own count for this configuration (this process only;
     * other suites may be using the emulator at the same time). */
    kafka_iam_oauth_provider *p = NULL;
    char oauth[1024];
    size_t n = sizeof oauth;
    rd_kafka_conf_get(rd_kafka_conf(producer), "sasl.oauthbearer.config", oauth, &n);
    kafka_iam_oauth_provider_new(oauth, NULL, &p, NULL);
    long issued = (long)kafka_iam_oauth_provider_mint_count(p);
    kafka_iam_oauth_provider_free(p);
    printf("refresh: %d s with 60 s tokens, %d sent, %d delivered, %d failed, %ld tokens minted by STS\n", seconds,
           sent, delivered, failed, issued);
    CHECK(sent > 0 && delivered == sent && failed == 0, "sent %d delivered %d failed %d", sent, delivered, failed);
    /* Authentication errors that cost no delivery are reported, not failed:
     * librdkafka 2.16 with Kafka 4 occasionally logs one during KIP-368
     * re-authentication and retries at once. */
    printf("refresh: %d SASL authentication errors reported by librdkafka\n", auth_errors);
    /* Refresh ahead at 50-60%% of 60 s: about one token per 30-36 s, not one
     * per (re)connection or re-authentication (every KIO_REAUTH_MS). */
    CHECK(issued >= seconds / 60 && issued <= seconds / 30 + 2, "%ld tokens for %d s", issued, seconds);
    rd_kafka_destroy(producer);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s scenario [seconds]\n", argv[0]);
        return 2;
    }
    printf("librdkafka %s, scenario %s\n", rd_kafka_version_str(), argv[1]);
    if (!strcmp(argv[1], "produce_consume_plain")) produce_consume(0);
    else if (!strcmp(argv[1], "produce_consume_ssl")) produce_consume(1);
    else if (!strcmp(argv[1], "wrong_audience")) wrong_audience();
    else if (!strcmp(argv[1], "no_topic_acl")) no_topic_acl();
    else if (!strcmp(argv[1], "no_group_acl")) no_group_acl();
    else if (!strcmp(argv[1], "refresh")) refresh(argc > 2 ? atoi(argv[2]) : 200);
    else {
        fprintf(stderr, "unknown scenario %s\n", argv[1]);
        return 2;
    }
    return kio_summary();
}
