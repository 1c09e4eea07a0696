/* End-to-end with real librdkafka against the harness broker. The library
 * is attached to each client configuration the way KIO_E2E_PATH says:
 * "adapter" (the default) calls kafka_iam_oauth_rdkafka_conf_init() from
 * include/kafka_iam_oauth_rdkafka.h; "plugin" sets plugin.library.paths to
 * $KIO_PLUGIN_SO instead. Both run the same integration in the library.
 *
 * Usage: e2e_test <scenario> [arg]
 *   integration                attaching, validation, conf_dup, mechanism check,
 *                              refresh failures; no poll needed for tokens
 *   adapter                    the adapter's own entry points (NULLs, own refresh callback)
 *   produce_consume plain|ssl  produce to my-topic, consume it back in my-consumer-group
 *   wrong_audience plain|ssl   the broker refuses the token: SASL authentication error
 *   no_topic_acl               producing to other-topic: TOPIC_AUTHORIZATION_FAILED
 *   no_group_acl               (no-acl-user's keys) GROUP_AUTHORIZATION_FAILED
 *   two_principals             two clients, two profiles, one process: each its own token
 *   refresh <seconds> <fault mode> <fault after s>
 *                              60 s tokens on a live producer per listener,
 *                              STS failing for 15 s when a refresh is due
 * Reads the harness env (KIO_*). Ends with "N passed, N failed". */
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

/* What one client saw, through its callbacks (the conf opaque). */
struct seen {
    const char *name;
    int delivered, failed;
    rd_kafka_resp_err_t last_delivery_err;
    int auth_errors;    /* RD_KAFKA_RESP_ERR__AUTHENTICATION, from the broker or from us */
    int token_failures; /* refreshes we answered with rd_kafka_oauthbearer_set_token_failure */
    int disconnects;    /* broker connections lost (identical, suppressed reports included) */
    int mechanism_refused; /* logs of our on_new check refusing sasl.mechanism */
    char last_token_failure[512];
};

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    struct seen *s = rd_kafka_opaque(rk);
    if (s && strstr(buf, "kafka-iam-oauth: sasl.mechanism must be OAUTHBEARER")) s->mechanism_refused++;
    fprintf(stderr, "%s: log %d %s: %s\n", s ? s->name : "?", level, fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    struct seen *s = opaque;
    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION) s->auth_errors++;
    if (err == RD_KAFKA_RESP_ERR__TRANSPORT && strstr(reason, "Disconnected")) {
        int suppressed = 0;
        const char *comma = strrchr(reason, ',');
        if (comma && strstr(comma, "identical error(s) suppressed")) sscanf(comma, ", %d", &suppressed);
        s->disconnects += 1 + suppressed;
    }
    /* The adapter's failures say who they are from. */
    if (strstr(reason, "kafka-iam-oauth")) {
        s->token_failures++;
        snprintf(s->last_token_failure, sizeof s->last_token_failure, "%s", reason);
    }
    fprintf(stderr, "%s: librdkafka error: %s: %s\n", s->name, rd_kafka_err2name(err), reason);
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    struct seen *s = opaque;
    (void)rk;
    if (m->err) {
        s->failed++;
        s->last_delivery_err = m->err;
        if (s->failed < 10) fprintf(stderr, "%s: delivery failed: %s\n", s->name, rd_kafka_err2str(m->err));
    } else {
        s->delivered++;
    }
}

static void set(rd_kafka_conf_t *conf, const char *name, const char *value) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s: %s\n", name, errstr);
        exit(2);
    }
}

static void oauth_config(char *buf, size_t size, const char *audience, const char *extra) {
    snprintf(buf, size, "region=eu-west-1,audience=%s,sts_endpoint=%s%s%s", audience ? audience : env("KIO_AUDIENCE"),
             env("KIO_EMULATOR_URL"), extra ? "," : "", extra ? extra : "");
}

/* A client configuration for one listener, without the adapter yet. */
static rd_kafka_conf_t *plain_conf(int ssl, const char *oauth, struct seen *s) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", env(ssl ? "KIO_BOOTSTRAP_SSL" : "KIO_BOOTSTRAP_PLAINTEXT"));
    set(conf, "security.protocol", ssl ? "SASL_SSL" : "SASL_PLAINTEXT");
    set(conf, "sasl.mechanism", "OAUTHBEARER");
    if (oauth) set(conf, "sasl.oauthbearer.config", oauth);
    if (ssl) set(conf, "ssl.ca.location", env("KIO_CA_PEM"));
    rd_kafka_conf_set_opaque(conf, s);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    return conf;
}

static int use_plugin(void) {
    const char *path = getenv("KIO_E2E_PATH");
    return path && !strcmp(path, "plugin");
}

/* Attaches the library to `conf`: the C adapter, or the plugin. */
static rd_kafka_conf_res_t attach(rd_kafka_conf_t *conf, char *errstr, size_t errstr_size) {
    if (use_plugin()) return rd_kafka_conf_set(conf, "plugin.library.paths", env("KIO_PLUGIN_SO"), errstr, errstr_size);
    return kafka_iam_oauth_rdkafka_conf_init(conf, errstr, errstr_size);
}

/* The same, with the library attached (what an application does). */
static rd_kafka_conf_t *client_conf(int ssl, const char *audience, const char *extra, struct seen *s) {
    char errstr[512], oauth[1024];
    oauth_config(oauth, sizeof oauth, audience, extra);
    rd_kafka_conf_t *conf = plain_conf(ssl, oauth, s);
    rd_kafka_conf_res_t r = attach(conf, errstr, sizeof errstr);
    CHECK(r == RD_KAFKA_CONF_OK, "attach: %s", errstr);
    return conf;
}

static rd_kafka_t *new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
    char errstr[512];
    if (type == RD_KAFKA_PRODUCER) rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
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

static rd_kafka_t *subscribed_consumer(rd_kafka_conf_t *conf) {
    set(conf, "group.id", env("KIO_GROUP"));
    set(conf, "auto.offset.reset", "earliest");
    rd_kafka_t *consumer = new_client(RD_KAFKA_CONSUMER, conf);
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, env("KIO_TOPIC"), RD_KAFKA_PARTITION_UA);
    CHECK(rd_kafka_subscribe(consumer, topics) == RD_KAFKA_RESP_ERR_NO_ERROR, "subscribe");
    rd_kafka_topic_partition_list_destroy(topics);
    return consumer;
}

/* Polls until `n` messages starting with `prefix` arrived or an error in
 * `stop_on` came; returns the count, writes the error seen. */
static int consume(rd_kafka_t *consumer, const char *prefix, int n, rd_kafka_resp_err_t stop_on,
                   rd_kafka_resp_err_t *got, double seconds) {
    int seen = 0;
    double deadline = now_s() + seconds;
    while (seen < n && now_s() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 500);
        if (!m) continue;
        if (!m->err && m->len > strlen(prefix) && memcmp(m->payload, prefix, strlen(prefix)) == 0) {
            seen++;
        } else if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (got) *got = m->err;
            fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
            if (m->err == stop_on) {
                rd_kafka_message_destroy(m);
                break;
            }
        }
        rd_kafka_message_destroy(m);
    }
    return seen;
}

static int listener(const char *arg) {
    if (arg && !strcmp(arg, "ssl")) return 1;
    if (arg && !strcmp(arg, "plain")) return 0;
    fprintf(stderr, "listener must be plain or ssl\n");
    exit(2);
}

/* ---- the integration itself (either path) --------------------------------- */

/* A metadata request needs an authenticated connection: without any poll,
 * it succeeds only if the refresh was served on the background thread. */
static void metadata_without_poll(rd_kafka_conf_t *conf, const char *what) {
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, conf);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, NULL, &md, 20000);
    CHECK(err == RD_KAFKA_RESP_ERR_NO_ERROR && md && md->broker_cnt == 1, "%s: metadata without polling: %s", what,
          rd_kafka_err2name(err));
    if (md) rd_kafka_metadata_destroy(md);
    char errstr[512] = "";
    /* Enabling again by hand is harmless. */
    CHECK(kafka_iam_oauth_rdkafka_enable_background_callbacks(rk, errstr, sizeof errstr) ==
              RD_KAFKA_RESP_ERR_NO_ERROR,
          "%s: enable again: %s", what, errstr);
    rd_kafka_destroy(rk);
}

static void integration(void) {
    char errstr[512], oauth[1024];
    const char *how = use_plugin() ? "plugin" : "adapter";
    struct seen s = {.name = how};
    printf("integration through the %s\n", how);

    /* Settings already made are validated when the library is attached,
     * with the library's message. */
    rd_kafka_conf_t *conf = plain_conf(0, "audience=a", &s);
    CHECK(attach(conf, errstr, sizeof errstr) == RD_KAFKA_CONF_INVALID && strstr(errstr, "'region' is required"),
          "missing region: %s", errstr);
    set(conf, "sasl.oauthbearer.config", "region=eu-west-1,audience=a,duration_seconds=5");
    CHECK(attach(conf, errstr, sizeof errstr) == RD_KAFKA_CONF_INVALID && strstr(errstr, "between 60 and 3600"),
          "bad duration: %s", errstr);
    oauth_config(oauth, sizeof oauth, NULL, NULL);
    set(conf, "sasl.oauthbearer.config", oauth);
    /* Debian's librdkafka 2.0.2 is built without libcurl and therefore
     * without the sasl.oauthbearer.extensions property. */
    int have_extensions =
        rd_kafka_conf_set(conf, "sasl.oauthbearer.extensions", "auth=x", errstr, sizeof errstr) == RD_KAFKA_CONF_OK;
    if (have_extensions)
        CHECK(attach(conf, errstr, sizeof errstr) == RD_KAFKA_CONF_INVALID &&
                  strstr(errstr, "sasl.oauthbearer.extensions"),
              "reserved extension: %s", errstr);
    else
        printf("integration: this librdkafka has no sasl.oauthbearer.extensions (%s)\n", errstr);
    /* A config longer than any fixed buffer is read whole (and then refused
     * for its length, not truncated into something else). */
    size_t big = 70000;
    char *huge = malloc(big + 1);
    memset(huge, 'x', big);
    memcpy(huge, "region=eu-west-1,audience=", 26);
    huge[big] = 0;
    set(conf, "sasl.oauthbearer.config", huge);
    if (have_extensions) set(conf, "sasl.oauthbearer.extensions", "");
    CHECK(attach(conf, errstr, sizeof errstr) == RD_KAFKA_CONF_INVALID && strstr(errstr, "longer than"),
          "oversized config: %s", errstr);
    /* Good settings: attached once. */
    set(conf, "sasl.oauthbearer.config", oauth);
    if (have_extensions) set(conf, "sasl.oauthbearer.extensions", "logicalCluster=lkc-c");
    CHECK(attach(conf, errstr, sizeof errstr) == RD_KAFKA_CONF_OK, "good: %s", errstr);
    /* Settings changed afterwards are checked as they are set. */
    CHECK(rd_kafka_conf_set(conf, "sasl.oauthbearer.config", "audience=a", errstr, sizeof errstr) ==
                  RD_KAFKA_CONF_INVALID &&
              strstr(errstr, "kafka-iam-oauth: ") && strstr(errstr, "'region' is required"),
          "bad config set later: %s", errstr);
    CHECK(rd_kafka_conf_set(conf, "sasl.oauthbearer.config", huge, errstr, sizeof errstr) == RD_KAFKA_CONF_INVALID &&
              strstr(errstr, "longer than"),
          "oversized config set later: %s", errstr);
    free(huge);
    set(conf, "sasl.oauthbearer.config", oauth);
    /* The adapter on a configuration that already has the library (from
     * either path) is refused, so nothing is registered twice. */
    CHECK(kafka_iam_oauth_rdkafka_conf_init(conf, errstr, sizeof errstr) == RD_KAFKA_CONF_INVALID &&
              strstr(errstr, "already"),
          "twice: %s", errstr);

    /* A configuration copied with rd_kafka_conf_dup keeps the library (the
     * adapter re-attaches itself; librdkafka reloads the plugin), and so
     * does a copy of the copy. */
    rd_kafka_conf_t *dup = rd_kafka_conf_dup(conf);
    rd_kafka_conf_t *dup2 = rd_kafka_conf_dup(dup);
    CHECK(kafka_iam_oauth_rdkafka_conf_init(dup, errstr, sizeof errstr) == RD_KAFKA_CONF_INVALID &&
              strstr(errstr, "already"),
          "the copy has the library: %s", errstr);
    metadata_without_poll(conf, "original");
    metadata_without_poll(dup, "conf_dup copy");
    metadata_without_poll(dup2, "copy of the copy");
    CHECK(s.token_failures == 0 && s.auth_errors == 0, "no failures: %d %d", s.token_failures, s.auth_errors);

    /* The mechanism is checked when a client is created (librdkafka only
     * logs an on_new failure). */
    struct seen m = {.name = "mechanism"};
    conf = rd_kafka_conf_new();
    set(conf, "security.protocol", "plaintext");
    set(conf, "sasl.mechanism", "PLAIN");
    set(conf, "sasl.oauthbearer.config", oauth);
    rd_kafka_conf_set_opaque(conf, &m);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    CHECK(attach(conf, errstr, sizeof errstr) == RD_KAFKA_CONF_OK, "attach: %s", errstr);
    rd_kafka_destroy(new_client(RD_KAFKA_PRODUCER, conf));
    CHECK(m.mechanism_refused > 0, "sasl.mechanism=PLAIN is reported at client creation");

    /* STS unreachable (nothing listens on port 9): the refresh is answered
     * with a failure carrying the library's message, never left hanging. */
    struct seen f = {.name = "unreachable"};
    conf = plain_conf(0, "region=eu-west-1,audience=c-integration-unreachable,sts_endpoint=http://127.0.0.1:9", &f);
    CHECK(attach(conf, errstr, sizeof errstr) == RD_KAFKA_CONF_OK, "%s", errstr);
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, conf);
    for (double deadline = now_s() + 30; f.token_failures == 0 && now_s() < deadline;) rd_kafka_poll(rk, 200);
    CHECK(f.token_failures > 0 && strstr(f.last_token_failure, "kafka-iam-oauth: ") &&
              strstr(f.last_token_failure, "could not reach"),
          "failure reported: %s", f.last_token_failure);
    rd_kafka_destroy(rk);
}

/* ---- the adapter's own entry points ---------------------------------------- */

static void adapter(void) {
    char errstr[512];
    struct seen s = {.name = "adapter"};
    /* The adapter is called after the settings: it insists on the config
     * (the plugin, loaded perhaps before them, checks it at on_new). */
    rd_kafka_conf_t *conf = plain_conf(0, NULL, &s);
    CHECK(kafka_iam_oauth_rdkafka_conf_init(conf, errstr, sizeof errstr) == RD_KAFKA_CONF_INVALID &&
              strstr(errstr, "set sasl.oauthbearer.config"),
          "no config: %s", errstr);
    rd_kafka_conf_destroy(conf);
    CHECK(kafka_iam_oauth_rdkafka_conf_init(NULL, errstr, sizeof errstr) == RD_KAFKA_CONF_INVALID &&
              strstr(errstr, "NULL"),
          "NULL conf: %s", errstr);
    CHECK(kafka_iam_oauth_rdkafka_conf_init(NULL, NULL, 0) == RD_KAFKA_CONF_INVALID, "NULL conf, no errstr");
    CHECK(kafka_iam_oauth_rdkafka_enable_background_callbacks(NULL, errstr, sizeof errstr) ==
              RD_KAFKA_RESP_ERR__INVALID_ARG &&
              strstr(errstr, "NULL"),
          "enable(NULL): %s", errstr);
    /* A program may register the refresh callback itself and poll. */
    char oauth[1024];
    oauth_config(oauth, sizeof oauth, NULL, NULL);
    conf = plain_conf(0, oauth, &s);
    rd_kafka_conf_set_oauthbearer_token_refresh_cb(conf, kafka_iam_oauth_rdkafka_refresh_cb);
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, conf);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
    for (double deadline = now_s() + 20; err != RD_KAFKA_RESP_ERR_NO_ERROR && now_s() < deadline;) {
        rd_kafka_poll(rk, 100);
        err = rd_kafka_metadata(rk, 0, NULL, &md, 500);
    }
    CHECK(err == RD_KAFKA_RESP_ERR_NO_ERROR, "metadata with the refresh callback alone: %s", rd_kafka_err2name(err));
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    CHECK(s.token_failures == 0 && s.auth_errors == 0, "no failures: %d %d", s.token_failures, s.auth_errors);
}

/* ---- against the broker -------------------------------------------------- */

static void produce_consume(int ssl) {
    char run[64], payload[128];
    struct seen ps = {.name = "producer"}, cs = {.name = "consumer"};
    snprintf(run, sizeof run, "c-e2e-%d-%ld-%d", ssl, (long)time(NULL), (int)getpid());
    rd_kafka_t *producer = new_client(RD_KAFKA_PRODUCER, client_conf(ssl, NULL, NULL, &ps));
    const int n = 10;
    for (int i = 0; i < n; i++) {
        snprintf(payload, sizeof payload, "%s-%d", run, i);
        CHECK(produce(producer, env("KIO_TOPIC"), payload) == RD_KAFKA_RESP_ERR_NO_ERROR, "produce");
    }
    rd_kafka_flush(producer, 30000);
    CHECK(ps.delivered == n && ps.failed == 0, "delivered %d of %d, %d failed", ps.delivered, n, ps.failed);
    rd_kafka_destroy(producer);

    rd_kafka_t *consumer = subscribed_consumer(client_conf(ssl, NULL, NULL, &cs));
    int seen = consume(consumer, run, n, RD_KAFKA_RESP_ERR_NO_ERROR, NULL, 60);
    CHECK(seen == n, "consumed %d of %d messages of this run", seen, n);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    CHECK(ps.auth_errors + cs.auth_errors == 0, "no authentication error");
    printf("%s: produced %d and consumed %d messages as %s\n", ssl ? "SASL_SSL" : "SASL_PLAINTEXT", ps.delivered,
           seen, env("KIO_PRINCIPAL"));
}

static void wrong_audience(int ssl) {
    struct seen s = {.name = "wrong-audience"};
    rd_kafka_conf_t *pc = client_conf(ssl, "wrong-audience", NULL, &s);
    set(pc, "message.timeout.ms", "8000");
    rd_kafka_t *producer = new_client(RD_KAFKA_PRODUCER, pc);
    produce(producer, env("KIO_TOPIC"), "must-not-arrive");
    rd_kafka_flush(producer, 15000);
    CHECK(s.auth_errors > 0, "the broker must refuse the token (SASL authentication error)");
    CHECK(s.token_failures == 0, "the token was minted; only the broker refused it: %s", s.last_token_failure);
    CHECK(s.delivered == 0 && s.failed == 1, "delivered %d failed %d", s.delivered, s.failed);
    rd_kafka_destroy(producer);
}

static void no_topic_acl(void) {
    struct seen s = {.name = "no-topic-acl"};
    rd_kafka_t *producer = new_client(RD_KAFKA_PRODUCER, client_conf(0, NULL, NULL, &s));
    produce(producer, env("KIO_OTHER_TOPIC"), "no-acl");
    rd_kafka_flush(producer, 30000);
    CHECK(s.failed == 1 && s.last_delivery_err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, "got %s",
          rd_kafka_err2name(s.last_delivery_err));
    CHECK(s.auth_errors == 0, "authentication itself succeeded");
    rd_kafka_destroy(producer);
}

static void no_group_acl(void) {
    /* Run with the no-acl-user's keys (tests/c/run.sh). */
    struct seen s = {.name = "no-group-acl"};
    rd_kafka_t *consumer = subscribed_consumer(client_conf(0, NULL, NULL, &s));
    rd_kafka_resp_err_t got = RD_KAFKA_RESP_ERR_NO_ERROR;
    consume(consumer, "never", 1, RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED, &got, 30);
    CHECK(got == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED, "expected GROUP_AUTHORIZATION_FAILED, got %s",
          rd_kafka_err2name(got));
    CHECK(s.auth_errors == 0, "authentication itself succeeded");
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
}

static void two_principals(void) {
    /* Run without key variables, with a credentials file holding the
     * profiles kio-user (my-iam-user) and kio-noacl (no-acl-user). Both
     * consumers live in this one process and join the same group: only the
     * one whose token names my-iam-user may. */
    char run[64], payload[96];
    struct seen ps = {.name = "producer"}, us = {.name = "kio-user"}, ns = {.name = "kio-noacl"};
    snprintf(run, sizeof run, "c-two-%ld-%d", (long)time(NULL), (int)getpid());
    rd_kafka_t *producer = new_client(RD_KAFKA_PRODUCER, client_conf(0, NULL, "profile=kio-noacl", &ps));
    snprintf(payload, sizeof payload, "%s-0", run);
    produce(producer, env("KIO_TOPIC"), payload);
    rd_kafka_flush(producer, 30000);
    CHECK(ps.delivered == 1, "no-acl-user may write my-topic");
    rd_kafka_t *user = subscribed_consumer(client_conf(0, NULL, "profile=kio-user", &us));
    rd_kafka_t *noacl = subscribed_consumer(client_conf(1, NULL, "profile=kio-noacl", &ns));
    rd_kafka_resp_err_t got = RD_KAFKA_RESP_ERR_NO_ERROR;
    consume(noacl, "never", 1, RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED, &got, 30);
    CHECK(got == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED, "kio-noacl: expected GROUP_AUTHORIZATION_FAILED, got %s",
          rd_kafka_err2name(got));
    CHECK(consume(user, run, 1, RD_KAFKA_RESP_ERR_NO_ERROR, NULL, 60) == 1, "kio-user consumes in the group");
    CHECK(us.auth_errors + ns.auth_errors + ps.auth_errors == 0, "no authentication error");
    rd_kafka_consumer_close(noacl);
    rd_kafka_destroy(noacl);
    rd_kafka_consumer_close(user);
    rd_kafka_destroy(user);
    rd_kafka_destroy(producer);
}

static double wall_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int emulator_fault(const char *json) {
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d '%s' %s/_emulator/faults", json,
             env("KIO_EMULATOR_URL"));
    return system(cmd);
}

/* When this process's cached token was minted (wall clock, s), or -1
 * when none is cached; never waits. */
static double minted_at(const kafka_iam_oauth_provider *p, double lifetime_s) {
    const kafka_iam_oauth_token *t = kafka_iam_oauth_provider_cached_token(p);
    if (!t) return -1;
    double m = kafka_iam_oauth_token_lifetime_ms(t) / 1000.0 - lifetime_s;
    kafka_iam_oauth_token_free(t);
    return m;
}

/*
 * 60 s tokens on two live producers (one per listener) for `seconds`, while
 * STS fails for a while: once this run is `fault_after` s old, the emulator
 * is set to `fault_mode` for 15 s starting 28 s after this process's current
 * token was minted. Refresh-ahead is due 30-36 s after the mint, inside that
 * window, and the token is valid until 60 s: the refresh must fail, the old
 * token must keep being served, and the next mint must come after the
 * window. (Another process sharing the emulator meets the window at any
 * point of its own schedule; 15 s is less than the 24 s its token has left
 * when its refresh starts, so it stays safe too.)
 */
static void refresh(int seconds, const char *fault_mode, int fault_after) {
    const double lifetime = 60, window = 15;
    char payload[64], tag[96], oauth[1024], fault[128];
    struct seen s[2] = {{.name = "producer SASL_PLAINTEXT"}, {.name = "producer SASL_SSL"}};
    rd_kafka_t *producer[2];
    int sent[2] = {0, 0};
    /* A config of its own (tag) so this run's cache entry starts cold. */
    snprintf(tag, sizeof tag, "tag_run=refresh-%ld-%d,duration_seconds=60", (long)time(NULL), (int)getpid());
    for (int i = 0; i < 2; i++) {
        rd_kafka_conf_t *pc = client_conf(i, NULL, tag, &s[i]);
        /* Far shorter than the run: a token outage would fail deliveries. */
        set(pc, "message.timeout.ms", "60000");
        producer[i] = new_client(RD_KAFKA_PRODUCER, pc);
    }
    kafka_iam_oauth_provider *p = NULL;
    oauth_config(oauth, sizeof oauth, NULL, tag);
    CHECK(kafka_iam_oauth_provider_new(oauth, NULL, &p, NULL) == KAFKA_IAM_OAUTH_OK, "provider");
    snprintf(fault, sizeof fault, "{\"mode\":\"%s\",\"for_ms\":%d}", fault_mode, (int)(window * 1000));

    /* Twenty messages a second per listener, for the whole run. */
    double start = now_s(), wall0 = wall_s(), next = start, next_look = start;
    double target_mint = -1, fault_at = -1, replaced_at = -1;
    while (now_s() - start < seconds) {
        if (now_s() >= next) {
            for (int i = 0; i < 2; i++) {
                snprintf(payload, sizeof payload, "refresh-%d-%d", i, sent[i]);
                if (produce(producer[i], env("KIO_TOPIC"), payload) == RD_KAFKA_RESP_ERR_NO_ERROR) sent[i]++;
            }
            next += 0.05;
        }
        for (int i = 0; i < 2; i++) rd_kafka_poll(producer[i], 10);
        if (now_s() < next_look || replaced_at >= 0) continue;
        next_look = now_s() + 0.25;
        double m = minted_at(p, lifetime), w = wall_s();
        if (m < 0) continue;
        if (fault_at < 0) {
            /* Aim at the first token whose window starts late enough and
             * not in the past. */
            if (m + 28 - wall0 >= fault_after && w < m + 27) target_mint = m;
            if (target_mint >= 0 && w >= target_mint + 28) {
                CHECK(emulator_fault(fault) == 0, "fault %s", fault);
                fault_at = w;
                printf("refresh: STS %s for %.0f s from t=%.0f s (token minted at t=%.0f s, refresh due at "
                       "t=%.0f-%.0f s)\n",
                       fault_mode, window, w - wall0, m - wall0, m - wall0 + 30, m - wall0 + 36);
            }
        } else if (m > target_mint + 1) {
            replaced_at = m;
            printf("refresh: the token was replaced at t=%.0f s, %.1f s after the fault window\n", m - wall0,
                   m - (fault_at + window));
        }
    }
    for (int i = 0; i < 2; i++) rd_kafka_flush(producer[i], 70000);

    CHECK(fault_at >= 0, "the fault window was set (run longer than %d s + 60 s)", fault_after);
    /* The refresh met the fault: its token came only once STS recovered,
     * while the old one was still valid. */
    /* (Expiry times have whole seconds: 1.5 s of slack.) */
    CHECK(replaced_at >= fault_at + window - 1.5 && replaced_at < target_mint + lifetime,
          "token after the fault window minted at %.1f s (window %.1f-%.1f s, old token valid until %.1f s)",
          replaced_at - wall0, fault_at - wall0, fault_at + window - wall0, target_mint + lifetime - wall0);
    long minted = (long)kafka_iam_oauth_provider_mint_count(p);
    kafka_iam_oauth_provider_free(p);
    /* How the client lives through session expiry, every KIO_REAUTH_MS:
     * before librdkafka 2.2 (no KIP-368) the broker closes the connection and
     * the client reconnects with the current token; from 2.2 on it
     * re-authenticates on the open connection. */
    int expiries = (int)(seconds * 1000.0 / atof(env("KIO_REAUTH_MS")));
    int reauthenticates = rd_kafka_version() >= 0x020200ff;
    for (int i = 0; i < 2; i++) {
        printf("refresh: %s: %d s, %d sent, %d delivered, %d failed, %d SASL authentication errors, "
               "%d disconnects for %d session expiries\n",
               s[i].name, seconds, sent[i], s[i].delivered, s[i].failed, s[i].auth_errors, s[i].disconnects, expiries);
        if (reauthenticates)
            CHECK(s[i].disconnects < expiries / 2, "%s: re-authentication should keep connections open: %d disconnects",
                  s[i].name, s[i].disconnects);
        else
            CHECK(s[i].disconnects >= expiries / 2, "%s: the broker should end expiring sessions: %d disconnects",
                  s[i].name, s[i].disconnects);
        CHECK(sent[i] > 0 && s[i].delivered == sent[i] && s[i].failed == 0, "%s: sent %d delivered %d failed %d",
              s[i].name, sent[i], s[i].delivered, s[i].failed);
        /* Every refresh librdkafka asked for got a token, faults or not. */
        CHECK(s[i].token_failures == 0, "%s: a refresh was answered with a failure: %s", s[i].name,
              s[i].last_token_failure);
    }
    /* The result line tests/c/run.sh compares with the emulator's counter. */
    printf("minted %ld\n", minted);
    /* Refresh ahead at 50-60%% of 60 s: about one token per 30-36 s for both
     * clients together, at least one per lifetime; not one per connection or
     * per re-authentication (every KIO_REAUTH_MS per connection). */
    CHECK(minted >= seconds / 60 + 1 && minted <= seconds / 30 + 2, "%ld tokens for %d s", minted, seconds);
    for (int i = 0; i < 2; i++) rd_kafka_destroy(producer[i]);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s scenario [arg]\n", argv[0]);
        return 2;
    }
    const char *sc = argv[1], *arg = argc > 2 ? argv[2] : NULL;
    printf("librdkafka %s, scenario %s %s\n", rd_kafka_version_str(), sc, arg ? arg : "");
    if (!strcmp(sc, "integration")) integration();
    else if (!strcmp(sc, "adapter")) adapter();
    else if (!strcmp(sc, "produce_consume")) produce_consume(listener(arg));
    else if (!strcmp(sc, "wrong_audience")) wrong_audience(listener(arg));
    else if (!strcmp(sc, "no_topic_acl")) no_topic_acl();
    else if (!strcmp(sc, "no_group_acl")) no_group_acl();
    else if (!strcmp(sc, "two_principals")) two_principals();
    else if (!strcmp(sc, "refresh") && argc == 5) refresh(atoi(argv[2]), argv[3], atoi(argv[4]));
    else {
        fprintf(stderr, "unknown scenario %s\n", sc);
        return 2;
    }
    return kio_summary();
}
