/* C ABI tests: bad input gets a status and a readable message, nothing
 * crashes, _free(NULL) is a no-op, NULL handles get the documented values,
 * the version macros match the library, the cached-token call never mints,
 * real tokens come from the emulator ($KIO_EMULATOR_URL), and each failure
 * class (credentials, STS, timeout) has its status and message.
 * Run with no AWS key variables and AWS_SHARED_CREDENTIALS_FILE holding the
 * profiles kio-user, kio-noacl and kio-unknown (tests/c/run.sh writes it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kafka_iam_oauth.h"
#include "check.h"

/* A compile-time constant C code can size timeouts with (its value is
 * checked against the library's own default by capi's Rust tests). */
#if KAFKA_IAM_OAUTH_DEFAULT_TIMEOUT_MS <= 0
#error "KAFKA_IAM_OAUTH_DEFAULT_TIMEOUT_MS must be a positive constant"
#endif

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An emulator identity's variable from the harness's env.sh ($KIO_USER_ARN, ...). */
static const char *identity(const char *name) {
    const char *v = getenv(name);
    return v ? v : "(not set: source the harness env.sh)";
}

static kafka_iam_oauth_status new_provider(const char *config, const char *ext, kafka_iam_oauth_provider **p,
                                           char *msg, size_t msg_size) {
    kafka_iam_oauth_error *err = NULL;
    kafka_iam_oauth_status st = kafka_iam_oauth_provider_new(config, ext, p, &err);
    msg[0] = 0;
    if (st != KAFKA_IAM_OAUTH_OK) {
        snprintf(msg, msg_size, "%s", kafka_iam_oauth_error_message(err));
        if (kafka_iam_oauth_error_status(err) != st) msg[0] = '!';
        kafka_iam_oauth_error_free(err);
    }
    return st;
}

static void test_version(void) {
    CHECK(strcmp(kafka_iam_oauth_version(), KAFKA_IAM_OAUTH_VERSION) == 0, "%s vs %s",
          kafka_iam_oauth_version(), KAFKA_IAM_OAUTH_VERSION);
    char expect[64];
    snprintf(expect, sizeof expect, "%d.%d.%d", KAFKA_IAM_OAUTH_VERSION_MAJOR, KAFKA_IAM_OAUTH_VERSION_MINOR,
             KAFKA_IAM_OAUTH_VERSION_PATCH);
    CHECK(strcmp(expect, KAFKA_IAM_OAUTH_VERSION) == 0, "%s", expect);
}

/* The library's backoff, for programs that retry on their own: grows from
 * 250-500 ms to 15-30 s. */
static void test_retry_delay(void) {
    uint32_t first = kafka_iam_oauth_retry_delay_ms(0), later = kafka_iam_oauth_retry_delay_ms(100);
    CHECK(first >= 250 && first <= 500, "first retry after %u ms", first);
    CHECK(later >= 15000 && later <= 30000, "retry 100 after %u ms", later);
}

static void test_free_null(void) {
    kafka_iam_oauth_provider_free(NULL);
    kafka_iam_oauth_token_free(NULL);
    kafka_iam_oauth_error_free(NULL);
    CHECK(kafka_iam_oauth_token_value(NULL) == NULL, "value(NULL)");
    CHECK(kafka_iam_oauth_token_principal(NULL) == NULL, "principal(NULL)");
    CHECK(kafka_iam_oauth_token_lifetime_ms(NULL) == 0, "lifetime(NULL)");
    size_t n = 99;
    CHECK(kafka_iam_oauth_token_extensions(NULL, &n) == NULL && n == 0, "extensions(NULL)");
    CHECK(kafka_iam_oauth_error_aws_code(NULL) == NULL, "aws_code(NULL)");
    CHECK(strcmp(kafka_iam_oauth_error_message(NULL), "NULL error") == 0, "message(NULL)");
    CHECK(kafka_iam_oauth_provider_mint_count(NULL) == 0, "mint_count(NULL)");
    CHECK(kafka_iam_oauth_provider_cached_token(NULL) == NULL, "cached_token(NULL)");
    CHECK(kafka_iam_oauth_token_refresh_at_ms(NULL) == 0, "refresh_at(NULL)");
    CHECK(!kafka_iam_oauth_error_retryable(NULL), "retryable(NULL)");
    CHECK(kafka_iam_oauth_error_status(NULL) == KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT, "status(NULL)");
    CHECK(kafka_iam_oauth_token_extensions(NULL, NULL) == NULL, "extensions(NULL, NULL)");
    /* stats: a NULL provider or out is INVALID_ARGUMENT and writes nothing. */
    kafka_iam_oauth_stats s;
    memset(&s, 0x5a, sizeof s);
    CHECK(kafka_iam_oauth_provider_stats(NULL, &s) == KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT && s.mints == 0x5a5a5a5a5a5a5a5aULL,
          "stats(NULL, &s)");
    CHECK(kafka_iam_oauth_provider_stats(NULL, NULL) == KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT, "stats(NULL, NULL)");
}

/* Stats of a provider: what the library knows without asking STS. */
static kafka_iam_oauth_stats stats_of(const kafka_iam_oauth_provider *p) {
    kafka_iam_oauth_stats s;
    memset(&s, 0, sizeof s);
    CHECK(kafka_iam_oauth_provider_stats(p, &s) == KAFKA_IAM_OAUTH_OK, "stats");
    return s;
}

/* A fresh provider has no token and no failure (every duration -1); after a
 * mint the token's expiry and refresh lie ahead, refresh first; a failing
 * configuration counts its failure, keeps its status and says when STS is
 * asked again. */
static void test_stats(const char *emulator) {
    char config[512], msg[2048];
    kafka_iam_oauth_provider *p = NULL;
    snprintf(config, sizeof config,
             "region=eu-west-1,audience=c-abi-stats,duration_seconds=600,profile=kio-user,mint_timeout_seconds=30,"
             "sts_endpoint=%s", emulator);
    CHECK(new_provider(config, NULL, &p, msg, sizeof msg) == KAFKA_IAM_OAUTH_OK, "%s", msg);
    if (!p) return;
    CHECK(kafka_iam_oauth_provider_stats(p, NULL) == KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT, "stats(p, NULL)");
    kafka_iam_oauth_stats s = stats_of(p);
    CHECK(s.mints == 0 && s.failures == 0 && s.last_error == KAFKA_IAM_OAUTH_OK && s.expires_in_ms == -1 &&
              s.refresh_in_ms == -1 && s.next_attempt_in_ms == -1,
          "fresh: mints %llu failures %llu last %d expires %lld refresh %lld next %lld", (unsigned long long)s.mints,
          (unsigned long long)s.failures, s.last_error, (long long)s.expires_in_ms, (long long)s.refresh_in_ms,
          (long long)s.next_attempt_in_ms);
    const kafka_iam_oauth_token *t = NULL;
    /* Generous waits: this test also runs under valgrind. */
    CHECK(kafka_iam_oauth_provider_token(p, 40000, &t, NULL) == KAFKA_IAM_OAUTH_OK, "token");
    kafka_iam_oauth_token_free(t);
    s = stats_of(p);
    /* duration_seconds=600: the expiry at most 600 s ahead, the refresh before it. */
    CHECK(s.mints == 1 && s.failures == 0 && s.expires_in_ms > 0 && s.expires_in_ms <= 600 * 1000 &&
              s.refresh_in_ms >= 0 && s.refresh_in_ms < s.expires_in_ms && s.next_attempt_in_ms == -1,
          "minted: mints %llu expires %lld refresh %lld next %lld", (unsigned long long)s.mints,
          (long long)s.expires_in_ms, (long long)s.refresh_in_ms, (long long)s.next_attempt_in_ms);
    kafka_iam_oauth_provider_free(p);
    p = NULL;

    /* An unknown key: a non-retryable STS failure, remembered. */
    snprintf(config, sizeof config, "region=eu-west-1,audience=c-abi-stats-fail,profile=kio-unknown,mint_timeout_seconds=30,sts_endpoint=%s",
             emulator);
    new_provider(config, NULL, &p, msg, sizeof msg);
    CHECK(kafka_iam_oauth_provider_token(p, 40000, &t, NULL) == KAFKA_IAM_OAUTH_ERR_STS, "unknown key fails");
    s = stats_of(p);
    CHECK(s.mints == 0 && s.failures == 1 && s.last_error == KAFKA_IAM_OAUTH_ERR_STS && s.expires_in_ms == -1 &&
              s.next_attempt_in_ms > 0,
          "failed: failures %llu last %d next %lld", (unsigned long long)s.failures, s.last_error,
          (long long)s.next_attempt_in_ms);
    kafka_iam_oauth_provider_free(p);
}

static void test_bad_input(void) {
    kafka_iam_oauth_provider *p = NULL;
    char msg[2048];
    CHECK(new_provider(NULL, NULL, &p, msg, sizeof msg) == KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT &&
              strstr(msg, "config is NULL"), "%s", msg);
    CHECK(kafka_iam_oauth_provider_new("region=r,audience=a", NULL, NULL, NULL) ==
              KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT, "NULL out");
    CHECK(new_provider("region=r,audience=\xff\xfe", NULL, &p, msg, sizeof msg) ==
              KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT && strstr(msg, "UTF-8"), "%s", msg);
    size_t huge = 70000;
    char *big = malloc(huge + 1);
    memset(big, 'a', huge);
    big[huge] = 0;
    CHECK(new_provider(big, NULL, &p, msg, sizeof msg) == KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT &&
              strstr(msg, "longer than"), "%s", msg);
    free(big);
    CHECK(new_provider("audience=a", NULL, &p, msg, sizeof msg) == KAFKA_IAM_OAUTH_ERR_CONFIG &&
              strstr(msg, "'region' is required"), "%s", msg);
    CHECK(new_provider("region=r,audience=a,duration_seconds=10", NULL, &p, msg, sizeof msg) ==
              KAFKA_IAM_OAUTH_ERR_CONFIG && strstr(msg, "between 60 and 3600"), "%s", msg);
    CHECK(new_provider("region=r,audience=a,colour=blue", NULL, &p, msg, sizeof msg) == KAFKA_IAM_OAUTH_ERR_CONFIG &&
              strstr(msg, "unknown key"), "%s", msg);
    CHECK(new_provider("region=r,audience=a", "auth=x", &p, msg, sizeof msg) == KAFKA_IAM_OAUTH_ERR_CONFIG &&
              strstr(msg, "reserved"), "%s", msg);
    CHECK(new_provider("region=r,audience=a", "key=\xc3\x28", &p, msg, sizeof msg) ==
              KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT && strstr(msg, "UTF-8"), "extensions not UTF-8: %s", msg);
    char *bigext = malloc(huge + 1);
    memset(bigext, 'b', huge);
    memcpy(bigext, "key=", 4);
    bigext[huge] = 0;
    CHECK(new_provider("region=r,audience=a", bigext, &p, msg, sizeof msg) == KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT &&
              strstr(msg, "longer than"), "oversized extensions: %s", msg);
    free(bigext);
    CHECK(new_provider("region=r,audience=a,signing_algorithm=HS256", NULL, &p, msg, sizeof msg) ==
              KAFKA_IAM_OAUTH_ERR_CONFIG && strstr(msg, "signing_algorithm"), "%s", msg);
    CHECK(new_provider("region=r,audience=a", "", &p, msg, sizeof msg) == KAFKA_IAM_OAUTH_OK && p, "empty extensions");
    kafka_iam_oauth_provider_free(p);
    p = NULL;
    CHECK(p == NULL, "no provider written on failure");
    /* A failing call without error_out still returns its status. */
    CHECK(kafka_iam_oauth_provider_new("nonsense", NULL, &p, NULL) == KAFKA_IAM_OAUTH_ERR_CONFIG, "no error_out");
    const kafka_iam_oauth_token *t = NULL;
    kafka_iam_oauth_error *err = NULL;
    CHECK(kafka_iam_oauth_provider_token(NULL, 0, &t, &err) == KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT &&
              kafka_iam_oauth_error_status(err) == KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT, "NULL provider");
    kafka_iam_oauth_error_free(err);
    err = NULL;
    new_provider("region=r,audience=a", NULL, &p, msg, sizeof msg);
    CHECK(kafka_iam_oauth_provider_token(p, 0, NULL, &err) == KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT, "NULL token_out");
    CHECK(t == NULL, "nothing written");
    kafka_iam_oauth_error_free(err);
    err = NULL;
    /* A configuration error needs a change, not a retry. */
    CHECK(kafka_iam_oauth_provider_new("audience=a", NULL, &p, &err) == KAFKA_IAM_OAUTH_ERR_CONFIG &&
              !kafka_iam_oauth_error_retryable(err),
          "config errors are not retryable");
    kafka_iam_oauth_error_free(err);
    kafka_iam_oauth_provider_free(p);
}

static void test_token(const char *emulator) {
    char config[512], msg[2048];
    kafka_iam_oauth_provider *p = NULL;
    snprintf(config, sizeof config,
             "region=eu-west-1,audience=c-abi-test,duration_seconds=600,profile=kio-user,mint_timeout_seconds=30,"
             "sts_endpoint=%s",
             emulator);
    CHECK(new_provider(config, "logicalCluster=lkc-1", &p, msg, sizeof msg) == KAFKA_IAM_OAUTH_OK, "%s", msg);
    if (!p) return;
    /* Nothing cached yet: the non-blocking call returns NULL and mints nothing. */
    CHECK(kafka_iam_oauth_provider_cached_token(p) == NULL, "no cached token before the first mint");
    CHECK(kafka_iam_oauth_provider_mint_count(p) == 0, "cached_token did not mint");
    const kafka_iam_oauth_token *t = NULL;
    kafka_iam_oauth_error *err = NULL;
    int64_t before = now_ms();
    /* Generous waits (mint_timeout_seconds=30, 40 s): the first mint of the
     * process builds the SDK's clients, slow under valgrind. */
    kafka_iam_oauth_status st = kafka_iam_oauth_provider_token(p, 40000, &t, &err);
    CHECK(st == KAFKA_IAM_OAUTH_OK, "%s", err ? kafka_iam_oauth_error_message(err) : "?");
    kafka_iam_oauth_error_free(err);
    if (t) {
        CHECK(strcmp(kafka_iam_oauth_token_principal(t), identity("KIO_USER_ARN")) == 0, "%s",
              kafka_iam_oauth_token_principal(t));
        CHECK(strncmp(kafka_iam_oauth_token_value(t), "eyJ", 3) == 0, "JWT");
        CHECK(kafka_iam_oauth_token_lifetime_ms(t) > 1600000000000LL, "lifetime");
        size_t n = 0;
        const char *const *ext = kafka_iam_oauth_token_extensions(t, &n);
        CHECK(n == 2 && strcmp(ext[0], "logicalCluster") == 0 && strcmp(ext[1], "lkc-1") == 0, "extensions");
        /* The refresh time lies between the mint and the expiry (600 s on). */
        int64_t refresh = kafka_iam_oauth_token_refresh_at_ms(t), expiry = kafka_iam_oauth_token_lifetime_ms(t);
        CHECK(refresh > before && refresh < expiry && expiry - refresh < 600 * 1000, "refresh at %lld, expiry %lld",
              (long long)refresh, (long long)expiry);
        /* Now the non-blocking call has it: the same token, owned by the caller. */
        const kafka_iam_oauth_token *cached = kafka_iam_oauth_provider_cached_token(p);
        CHECK(cached && cached != t && strcmp(kafka_iam_oauth_token_value(cached), kafka_iam_oauth_token_value(t)) == 0 &&
                  kafka_iam_oauth_token_refresh_at_ms(cached) == refresh,
              "cached token");
        kafka_iam_oauth_token_free(cached);
        /* A second provider with the same config shares the cache. */
        kafka_iam_oauth_provider *p2 = NULL;
        new_provider(config, "logicalCluster=lkc-1", &p2, msg, sizeof msg);
        const kafka_iam_oauth_token *t2 = NULL;
        CHECK(kafka_iam_oauth_provider_token(p2, 0, &t2, NULL) == KAFKA_IAM_OAUTH_OK &&
                  strcmp(kafka_iam_oauth_token_value(t2), kafka_iam_oauth_token_value(t)) == 0, "shared cache");
        CHECK(kafka_iam_oauth_provider_mint_count(p2) == 1, "one mint");
        kafka_iam_oauth_provider_free(p2);
        /* The token outlives its provider. */
        kafka_iam_oauth_provider_free(p);
        p = NULL;
        CHECK(strlen(kafka_iam_oauth_token_value(t2)) > 100, "token valid after provider freed");
        kafka_iam_oauth_token_free(t2);
        kafka_iam_oauth_token_free(t);
    }
    kafka_iam_oauth_provider_free(p);
}

/* Another configuration (profile) is another cache entry: another token,
 * another principal. */
static void test_second_principal(const char *emulator) {
    char config[512], msg[2048];
    kafka_iam_oauth_provider *p = NULL;
    const kafka_iam_oauth_token *t = NULL;
    snprintf(config, sizeof config,
             "region=eu-west-1,audience=c-abi-test,profile=kio-noacl,mint_timeout_seconds=30,sts_endpoint=%s", emulator);
    CHECK(new_provider(config, NULL, &p, msg, sizeof msg) == KAFKA_IAM_OAUTH_OK, "%s", msg);
    CHECK(kafka_iam_oauth_provider_token(p, 40000, &t, NULL) == KAFKA_IAM_OAUTH_OK && t &&
              strcmp(kafka_iam_oauth_token_principal(t), identity("KIO_NOACL_ARN")) == 0,
          "no-acl-user's token");
    size_t n = 99;
    CHECK(t && kafka_iam_oauth_token_extensions(t, &n) == NULL && n == 0, "no extensions: NULL, %zu", n);
    kafka_iam_oauth_token_free(t);
    kafka_iam_oauth_provider_free(p);
}

/* Each failure class has its status, and a message that says what to do. */
static void test_failures(const char *emulator) {
    char config[512], msg[2048];
    kafka_iam_oauth_provider *p = NULL;
    const kafka_iam_oauth_token *t = NULL;
    kafka_iam_oauth_error *err = NULL;

    /* No key variables and no default profile: nothing in the chain. */
    snprintf(config, sizeof config, "region=eu-west-1,audience=c-abi-nocreds,sts_endpoint=%s", emulator);
    new_provider(config, NULL, &p, msg, sizeof msg);
    kafka_iam_oauth_status st = kafka_iam_oauth_provider_token(p, 10000, &t, &err);
    CHECK(st == KAFKA_IAM_OAUTH_ERR_CREDENTIALS && strstr(kafka_iam_oauth_error_message(err), "AWS_ACCESS_KEY_ID") &&
              kafka_iam_oauth_error_aws_code(err) == NULL,
          "%d %s", st, kafka_iam_oauth_error_message(err));
    CHECK(!kafka_iam_oauth_error_retryable(err), "missing credentials are not retryable");
    kafka_iam_oauth_error_free(err);
    kafka_iam_oauth_provider_free(p);
    err = NULL;

    /* A key STS does not know: the AWS error code comes through, the
     * secret key does not. */
    snprintf(config, sizeof config, "region=eu-west-1,audience=c-abi-unknown,profile=kio-unknown,sts_endpoint=%s",
             emulator);
    new_provider(config, NULL, &p, msg, sizeof msg);
    st = kafka_iam_oauth_provider_token(p, 10000, &t, &err);
    const char *code = kafka_iam_oauth_error_aws_code(err);
    CHECK(st == KAFKA_IAM_OAUTH_ERR_STS && code && strcmp(code, "InvalidClientTokenId") == 0, "%d %s %s", st,
          code ? code : "(no code)", kafka_iam_oauth_error_message(err));
    CHECK(!strstr(kafka_iam_oauth_error_message(err), "unknown-secret"), "no secret in the message");
    CHECK(!kafka_iam_oauth_error_retryable(err), "an unknown key is not retryable");
    kafka_iam_oauth_error_free(err);
    kafka_iam_oauth_provider_free(p);
    err = NULL;

    /* The emulator answers the next call after 3 s: a 300 ms wait times out. */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d '{\"latency_ms\":3000,\"count\":1}' "
             "%s/_emulator/faults",
             emulator);
    CHECK(system(cmd) == 0, "latency fault");
    snprintf(config, sizeof config, "region=eu-west-1,audience=c-abi-slow,profile=kio-user,sts_endpoint=%s", emulator);
    new_provider(config, NULL, &p, msg, sizeof msg);
    st = kafka_iam_oauth_provider_token(p, 300, &t, &err);
    CHECK(st == KAFKA_IAM_OAUTH_ERR_TIMEOUT && t == NULL, "%d %s", st, kafka_iam_oauth_error_message(err));
    CHECK(kafka_iam_oauth_error_retryable(err), "a timeout is retryable");
    kafka_iam_oauth_error_free(err);
    err = NULL;
    /* The mint goes on in the background; a patient caller gets the token. */
    CHECK(kafka_iam_oauth_provider_token(p, 20000, &t, &err) == KAFKA_IAM_OAUTH_OK && t, "%s",
          kafka_iam_oauth_error_message(err));
    kafka_iam_oauth_error_free(err);
    kafka_iam_oauth_token_free(t);
    kafka_iam_oauth_provider_free(p);
}

static void test_sts_error(const char *emulator) {
    /* Nothing listens on port 9: an unreachable endpoint is an STS error
     * with a readable message, after retries. */
    char msg[2048];
    kafka_iam_oauth_provider *p = NULL;
    (void)emulator;
    new_provider("region=eu-west-1,audience=c-unreachable,profile=kio-user,sts_endpoint=http://127.0.0.1:9", NULL, &p,
                 msg, sizeof msg);
    const kafka_iam_oauth_token *t = NULL;
    kafka_iam_oauth_error *err = NULL;
    kafka_iam_oauth_status st = kafka_iam_oauth_provider_token(p, 10000, &t, &err);
    CHECK(st == KAFKA_IAM_OAUTH_ERR_STS && strstr(kafka_iam_oauth_error_message(err), "could not reach"), "%d %s",
          st, kafka_iam_oauth_error_message(err));
    CHECK(t == NULL, "no token written on failure");
    CHECK(kafka_iam_oauth_error_retryable(err), "an unreachable endpoint is retryable");
    kafka_iam_oauth_error_free(err);
    kafka_iam_oauth_provider_free(p);
}

int main(void) {
    const char *emulator = getenv("KIO_EMULATOR_URL");
    test_version();
    test_retry_delay();
    test_free_null();
    test_bad_input();
    if (emulator) {
        test_token(emulator);
        test_stats(emulator);
        test_second_principal(emulator);
        test_failures(emulator);
        test_sts_error(emulator);
    } else {
        CHECK(emulator != NULL, "KIO_EMULATOR_URL is not set: run under make test");
    }
    return kio_summary();
}
