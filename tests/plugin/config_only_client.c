/* A librdkafka program with no line of kafka-iam-oauth in it: every setting
 * comes from the command line (key=value ...), as a vendor's daemon would
 * read them from its config file. Produces one message to `topic`, then
 * consumes it back in `group.id` (unless consume=0). Exit 0 when the message
 * was delivered (and came back). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>

static int do_consume = 1;
static int delivered;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk, (void)opaque;
    if (m->err) fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
    else delivered++;
}

static rd_kafka_conf_t *conf_from(int argc, char **argv, const char **topic) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    for (int i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) continue;
        *eq = 0;
        if (!strcmp(argv[i], "topic")) *topic = eq + 1;
        else if (!strcmp(argv[i], "consume")) do_consume = strcmp(eq + 1, "0") != 0;
        else if (rd_kafka_conf_set(conf, argv[i], eq + 1, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "config error: %s\n", errstr);
            exit(3);
        }
        *eq = '=';
    }
    return conf;
}

int main(int argc, char **argv) {
    char errstr[512], payload[64];
    const char *topic = "my-topic";
    snprintf(payload, sizeof payload, "config-only-%ld-%d", (long)time(NULL), (int)getpid());
    rd_kafka_conf_t *pconf = conf_from(argc, argv, &topic);
    rd_kafka_conf_t *cconf = rd_kafka_conf_dup(pconf);
    rd_kafka_conf_set_dr_msg_cb(pconf, dr_cb);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, errstr, sizeof errstr);
    if (!p) {
        fprintf(stderr, "producer: %s\n", errstr);
        return 3;
    }
    rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(payload, strlen(payload)),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    rd_kafka_flush(p, 30000);
    rd_kafka_destroy(p);
    if (delivered != 1) {
        fprintf(stderr, "message not delivered\n");
        rd_kafka_conf_destroy(cconf);
        return 1;
    }
    if (!do_consume) {
        rd_kafka_conf_destroy(cconf);
        printf("config-only client: produced its message\n");
        return 0;
    }
    rd_kafka_conf_set(cconf, "auto.offset.reset", "earliest", errstr, sizeof errstr);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, errstr, sizeof errstr);
    if (!c) {
        fprintf(stderr, "consumer: %s\n", errstr);
        return 3;
    }
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(c, t);
    rd_kafka_topic_partition_list_destroy(t);
    int found = 0;
    time_t deadline = time(NULL) + 45;
    while (!found && time(NULL) < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 500);
        if (!m) continue;
        if (!m->err && m->len == strlen(payload) && !memcmp(m->payload, payload, m->len)) found = 1;
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    printf("config-only client: produced and %s its message\n", found ? "consumed" : "did NOT consume");
    return found ? 0 : 1;
}
