/* Example: a librdkafka producer and consumer authenticated as an AWS IAM
 * principal through kafka-iam-oauth. Reads the broker and emulator addresses
 * from the environment (harness/.run/env.sh, as `make demo` sets them).
 * Build: gcc produce_consume.c -I../../include -lkafka_iam_oauth -lrdkafka
 * (make demo-c builds and runs it against the local harness). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <librdkafka/rdkafka.h>
#include "kafka_iam_oauth_rdkafka.h"

static const char *need(const char *name) {
    const char *v = getenv(name);
    if (!v) {
        fprintf(stderr, "set %s (source harness/.run/env.sh)\n", name);
        exit(2);
    }
    return v;
}

static rd_kafka_conf_t *client_conf(const char *oauth) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", need("KIO_BOOTSTRAP_SSL"), errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "security.protocol", "SASL_SSL", errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "ssl.ca.location", need("KIO_CA_PEM"), errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "sasl.mechanism", "OAUTHBEARER", errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "sasl.oauthbearer.config", oauth, errstr, sizeof errstr);
    if (kafka_iam_oauth_rdkafka_conf_init(conf, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s\n", errstr);
        exit(1);
    }
    return conf;
}

int main(void) {
    char oauth[1024], errstr[512], msg[64];
    snprintf(oauth, sizeof oauth, "region=eu-west-1,audience=%s,sts_endpoint=%s", need("KIO_AUDIENCE"),
             need("KIO_EMULATOR_URL"));

    /* Show who we are: the same token the clients will use (shared cache). */
    kafka_iam_oauth_provider *provider = NULL;
    const kafka_iam_oauth_token *token = NULL;
    kafka_iam_oauth_error *err = NULL;
    if (kafka_iam_oauth_provider_new(oauth, NULL, &provider, &err) != KAFKA_IAM_OAUTH_OK ||
        kafka_iam_oauth_provider_token(provider, 0, &token, &err) != KAFKA_IAM_OAUTH_OK) {
        fprintf(stderr, "no token: %s\n", kafka_iam_oauth_error_message(err));
        return 1;
    }
    long long left = (kafka_iam_oauth_token_lifetime_ms(token) - (long long)time(NULL) * 1000) / 1000;
    printf("C: authenticated as %s with a token valid for %lld s\n", kafka_iam_oauth_token_principal(token), left);
    kafka_iam_oauth_token_free(token);
    kafka_iam_oauth_provider_free(provider);

    rd_kafka_t *producer = rd_kafka_new(RD_KAFKA_PRODUCER, client_conf(oauth), errstr, sizeof errstr);
    if (!producer) {
        fprintf(stderr, "producer: %s\n", errstr);
        return 1;
    }
    long run = (long)time(NULL);
    for (int i = 0; i < 5; i++) {
        snprintf(msg, sizeof msg, "c-demo-%ld-%d", run, i);
        rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(need("KIO_TOPIC")), RD_KAFKA_V_VALUE(msg, strlen(msg)),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    }
    int unsent = rd_kafka_flush(producer, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_destroy(producer);
    printf("C: produced 5 messages to %s%s\n", need("KIO_TOPIC"), unsent ? " (NOT all delivered)" : "");

    rd_kafka_conf_t *cconf = client_conf(oauth);
    rd_kafka_conf_set(cconf, "group.id", need("KIO_GROUP"), errstr, sizeof errstr);
    rd_kafka_conf_set(cconf, "auto.offset.reset", "earliest", errstr, sizeof errstr);
    rd_kafka_t *consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, errstr, sizeof errstr);
    if (!consumer) {
        fprintf(stderr, "consumer: %s\n", errstr);
        return 1;
    }
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, need("KIO_TOPIC"), RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "c-demo-%ld-", run);
    int got = 0;
    time_t deadline = time(NULL) + 90;
    while (got < 5 && time(NULL) < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 500);
        if (!m) continue;
        if (!m->err && m->len > strlen(prefix) && !memcmp(m->payload, prefix, strlen(prefix))) got++;
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    printf("C: consumed %d of them back in consumer group %s\n", got, need("KIO_GROUP"));
    return got == 5 && !unsent ? 0 : 1;
}
