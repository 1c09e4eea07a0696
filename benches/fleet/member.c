/* One process of `make bench-fleet`'s library fleet (issue 21): asks the
 * library for a token as librdkafka's refresh callback would (at start,
 * then at 80 % of the token's remaining lifetime, 10 s after a failure)
 * for RUN_SECONDS, through the C API. Prints one JSON line at the end:
 * the first token's wait, failed waits, the library's own mints, RSS.
 * The first ask is at GO_AT_MS (Unix ms, the fleet's start; set by the
 * driver so start-up time does not spread the fleet); `late_ms` says how
 * far past it the process was ready.
 * Usage: member CONFIG RUN_SECONDS GO_AT_MS */
#include <kafka_iam_oauth.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ms(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms) {
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: member CONFIG RUN_SECONDS GO_AT_MS\n");
        return 2;
    }
    kafka_iam_oauth_provider *p = NULL;
    kafka_iam_oauth_error *err = NULL;
    if (kafka_iam_oauth_provider_new(argv[1], NULL, &p, &err) != KAFKA_IAM_OAUTH_OK) {
        fprintf(stderr, "member: %s\n", kafka_iam_oauth_error_message(err));
        return 1;
    }
    int64_t late = now_ms(CLOCK_REALTIME) - atoll(argv[3]);
    sleep_ms(-late);
    int64_t ready = now_ms(CLOCK_MONOTONIC);
    int64_t end = ready + atoll(argv[2]) * 1000;
    int64_t first = -1, failed = 0, asks = 0;
    while (now_ms(CLOCK_MONOTONIC) < end) {
        const kafka_iam_oauth_token *t = NULL;
        asks++;
        if (kafka_iam_oauth_provider_token(p, 0, &t, &err) == KAFKA_IAM_OAUTH_OK) {
            if (first < 0)
                first = now_ms(CLOCK_MONOTONIC) - ready;
            /* librdkafka: refresh at 80 % of what is left (wall clock ms). */
            int64_t left = kafka_iam_oauth_token_lifetime_ms(t) - now_ms(CLOCK_REALTIME);
            kafka_iam_oauth_token_free(t);
            int64_t until_end = end - now_ms(CLOCK_MONOTONIC);
            sleep_ms(left * 8 / 10 < until_end ? left * 8 / 10 : until_end);
        } else {
            failed++;
            kafka_iam_oauth_error_free(err);
            err = NULL;
            int64_t until_end = end - now_ms(CLOCK_MONOTONIC);
            sleep_ms(10000 < until_end ? 10000 : until_end); /* librdkafka retries 10 s after a failure */
        }
    }
    kafka_iam_oauth_stats s;
    memset(&s, 0, sizeof s);
    kafka_iam_oauth_provider_stats(p, &s);
    printf("{\"first_token_ms\": %lld, \"failed_waits\": %lld, \"asks\": %lld, "
           "\"mints\": %llu, \"rss_kib\": %ld, \"late_ms\": %lld}\n",
           (long long)first, (long long)failed, (long long)asks,
           (unsigned long long)kafka_iam_oauth_provider_mint_count(p), rss_kib(),
           (long long)(late > 0 ? late : 0));
    kafka_iam_oauth_provider_free(p);
    return 0;
}
