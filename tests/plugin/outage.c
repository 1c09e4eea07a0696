/* An STS outage longer than a token's lifetime, then recovery, through the
 * plugin in a real librdkafka producer (Debian's 2.0.2; the library attached
 * by plugin.library.paths alone, settings from the command line as in
 * config_only_client.c, sasl.oauthbearer.config with duration_seconds=60).
 *
 * The producer sends one message a second. After the first delivery the
 * harness emulator answers GetWebIdentityToken with 503 for OUTAGE_MS (more
 * than one token lifetime), then normally again. Checked:
 * - the outage outlasted the token: the library's stats (read through a
 *   provider of the same configuration, which shares the plugin's cache
 *   entry) show failed mints and no valid token during the outage, and
 *   messages produced during it are delivered only after STS is back;
 * - producing resumes within RESUME_BOUND_MS of STS's return;
 * - no token-refresh callback blocked librdkafka's thread longer than
 *   CALLBACK_BOUND_MS: the program interposes
 *   rd_kafka_conf_set_oauthbearer_token_refresh_cb (exported with -rdynamic;
 *   the plugin resolves librdkafka in the global scope, where the program
 *   comes first) and times every call of the plugin's callback.
 * Usage: outage key=value... (topic=...); needs $KIO_EMULATOR_URL.
 * Ends with "N passed, N failed"; the caller resets the emulator's faults. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "kafka_iam_oauth.h"
#include "../c/check.h"

/* The outage: longer than the 60 s token lifetime (duration_seconds=60). */
#define TOKEN_LIFETIME_MS 60000
#define OUTAGE_MS (TOKEN_LIFETIME_MS + 15000)
/* After STS is back: the library's next STS attempt comes at most 30 s later
 * (policy::REFRESH_BACKOFF.max and FAILURE_BACKOFF.max), librdkafka asks
 * again at most 10 s after a failed refresh, plus 5 s to reconnect and
 * deliver. */
#define RESUME_BOUND_MS (30000 + 10000 + 5000)
/* A refresh callback waits for STS at most the library's default timeout;
 * 2 s of margin for scheduling on a loaded machine. */
#define CALLBACK_BOUND_MS (KAFKA_IAM_OAUTH_DEFAULT_TIMEOUT_MS + 2000)
#define MAX_MESSAGES 400

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the refresh callback, timed */
typedef void (*refresh_cb_t)(rd_kafka_t *rk, const char *oauthbearer_config, void *opaque);
static refresh_cb_t plugin_cb;
static atomic_int callbacks;
static atomic_llong longest_callback_ms;

static void timed_refresh(rd_kafka_t *rk, const char *oauthbearer_config, void *opaque) {
    int64_t start = now_ms();
    plugin_cb(rk, oauthbearer_config, opaque);
    long long took = now_ms() - start;
    atomic_fetch_add(&callbacks, 1);
    long long prev = atomic_load(&longest_callback_ms);
    while (took > prev && !atomic_compare_exchange_weak(&longest_callback_ms, &prev, took)) {
    }
}

/* Interposes librdkafka's setter: the plugin registers its callback through
 * this one, which registers the timed wrapper with the real function. */
void rd_kafka_conf_set_oauthbearer_token_refresh_cb(rd_kafka_conf_t *conf, refresh_cb_t cb) {
    void (*real)(rd_kafka_conf_t *, refresh_cb_t) =
        (void (*)(rd_kafka_conf_t *, refresh_cb_t))dlsym(RTLD_NEXT, "rd_kafka_conf_set_oauthbearer_token_refresh_cb");
    if (!real) abort();
    if (cb && cb != timed_refresh) {
        plugin_cb = cb;
        cb = timed_refresh;
    }
    real(conf, cb);
}

/* ---- deliveries */
static int64_t produced_at[MAX_MESSAGES], delivered_at[MAX_MESSAGES];

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk, (void)opaque;
    intptr_t i = (intptr_t)m->_private;
    if (!m->err && i >= 0 && i < MAX_MESSAGES) delivered_at[i] = now_ms();
}

static int fault(const char *emulator, const char *json) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d '%s' %s/_emulator/faults",
             json, emulator);
    return system(cmd);
}

int main(int argc, char **argv) {
    const char *emulator = getenv("KIO_EMULATOR_URL"), *topic = "my-topic", *sasl_config = NULL;
    char errstr[512];
    if (!emulator) {
        fprintf(stderr, "KIO_EMULATOR_URL is not set\n");
        return 2;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    for (int i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) continue;
        *eq = 0;
        if (!strcmp(argv[i], "topic")) topic = eq + 1;
        else if (rd_kafka_conf_set(conf, argv[i], eq + 1, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "config error: %s\n", errstr);
            return 3;
        }
        if (!strcmp(argv[i], "sasl.oauthbearer.config")) sasl_config = eq + 1;
        *eq = '=';
    }
    CHECK(plugin_cb != NULL, "the plugin's refresh callback was registered through the interposed setter");
    if (!sasl_config || !plugin_cb) return kio_summary();
    /* Same configuration string, same cache entry as the plugin's clients. */
    kafka_iam_oauth_provider *observer = NULL;
    CHECK(kafka_iam_oauth_provider_new(sasl_config, NULL, &observer, NULL) == KAFKA_IAM_OAUTH_OK, "observer");
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!p || !observer) {
        fprintf(stderr, "producer: %s\n", errstr);
        return 3;
    }
    int n = 0;
    char payload[64];
#define PRODUCE()                                                                                               \
    do {                                                                                                        \
        snprintf(payload, sizeof payload, "outage-%d-%d", (int)getpid(), n);                                     \
        produced_at[n] = now_ms();                                                                              \
        rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(payload, strlen(payload)),               \
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE((void *)(intptr_t)n),       \
                          RD_KAFKA_V_END);                                                                      \
        n++;                                                                                                    \
    } while (0)

    PRODUCE();
    for (int64_t until = now_ms() + 30000; !delivered_at[0] && now_ms() < until;) rd_kafka_poll(p, 100);
    CHECK(delivered_at[0] != 0, "the first message was delivered before the outage");
    if (!delivered_at[0]) return kio_summary();

    char outage[64];
    snprintf(outage, sizeof outage, "{\"mode\":\"unavailable\",\"for_ms\":%d}", OUTAGE_MS);
    CHECK(fault(emulator, outage) == 0, "outage fault set");
    int64_t outage_start = now_ms(), sts_back = outage_start + OUTAGE_MS;
    printf("STS unavailable for %d ms (token lifetime %d ms)\n", OUTAGE_MS, TOKEN_LIFETIME_MS);

    int expired_seen = 0, last_produced_during_outage = -1;
    unsigned long long failures = 0;
    int64_t resumed = 0, next_produce = now_ms(), stop = sts_back + RESUME_BOUND_MS + 5000;
    while (now_ms() < stop && n < MAX_MESSAGES) {
        if (now_ms() >= next_produce) {
            if (now_ms() < sts_back) last_produced_during_outage = n;
            PRODUCE();
            next_produce += 1000;
            kafka_iam_oauth_stats s;
            if (kafka_iam_oauth_provider_stats(observer, &s) == KAFKA_IAM_OAUTH_OK && now_ms() < sts_back) {
                if (s.expires_in_ms <= 0) expired_seen = 1;
                failures = s.failures;
            }
        }
        rd_kafka_poll(p, 100);
        if (!resumed) {
            for (int i = 0; i < n; i++)
                if (delivered_at[i] >= sts_back && (!resumed || delivered_at[i] < resumed)) resumed = delivered_at[i];
        }
        /* Done once a message produced after STS's return is delivered too. */
        if (resumed && n > 0 && produced_at[n - 1] > sts_back && delivered_at[n - 1]) break;
    }
    fault(emulator, "{\"mode\":\"none\"}");

    CHECK(failures > 0, "the library saw failed mints during the outage");
    CHECK(expired_seen, "the cached token expired during the outage (the outage outlasted the token)");
    int late = 0;
    for (int i = 1; i <= last_produced_during_outage; i++)
        if (delivered_at[i] >= sts_back) late++;
    CHECK(late > 0, "messages produced during the outage were delivered only after STS was back (%d)", late);
    CHECK(resumed != 0, "producing resumed after STS was back");
    if (resumed) {
        printf("producing resumed %lld ms after STS was back (bound %d ms)\n", (long long)(resumed - sts_back),
               RESUME_BOUND_MS);
        CHECK(resumed - sts_back <= RESUME_BOUND_MS, "resumed %lld ms after STS's return, bound %d ms",
              (long long)(resumed - sts_back), RESUME_BOUND_MS);
    }
    printf("%d refresh callbacks, the longest %lld ms (bound %d ms)\n", atomic_load(&callbacks),
           (long long)atomic_load(&longest_callback_ms), CALLBACK_BOUND_MS);
    CHECK(atomic_load(&callbacks) >= 2, "refresh callbacks ran during the outage (%d)", atomic_load(&callbacks));
    CHECK(atomic_load(&longest_callback_ms) <= CALLBACK_BOUND_MS, "a refresh callback took %lld ms, bound %d ms",
          (long long)atomic_load(&longest_callback_ms), CALLBACK_BOUND_MS);
    rd_kafka_flush(p, 10000);
    rd_kafka_destroy(p);
    kafka_iam_oauth_provider_free(observer);
    return kio_summary();
}
