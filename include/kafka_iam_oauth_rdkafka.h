/*
 * kafka-iam-oauth: header-only adapter for librdkafka C programs.
 *
 * Everything here is static inline, so libkafka_iam_oauth itself never links
 * librdkafka: include this after <librdkafka/rdkafka.h> in a program that
 * links both (librdkafka 1.9 or newer).
 *
 *   rd_kafka_conf_t *conf = rd_kafka_conf_new();
 *   rd_kafka_conf_set(conf, "security.protocol", "SASL_SSL", ...);
 *   rd_kafka_conf_set(conf, "sasl.mechanism", "OAUTHBEARER", ...);
 *   rd_kafka_conf_set(conf, "sasl.oauthbearer.config",
 *                     "region=eu-west-1,audience=my-kafka.example.com", ...);
 *   if (kafka_iam_oauth_rdkafka_conf_init(conf, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) ...
 *   rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
 *
 * Token refreshes then run on librdkafka's background thread: the
 * application need not call rd_kafka_poll() for them (conf_init arranges it
 * through a client interceptor; kafka_iam_oauth_rdkafka_enable_background_callbacks()
 * does the same by hand and may be called again without harm).
 *
 * Every token refresh librdkafka asks for is answered, with
 * rd_kafka_oauthbearer_set_token() or rd_kafka_oauthbearer_set_token_failure()
 * (a refresh left unanswered makes librdkafka stop asking). The failure
 * message is the library's (it names the config key or the AWS error and
 * what to do); it never contains a token or a secret.
 */
#ifndef KAFKA_IAM_OAUTH_RDKAFKA_H
#define KAFKA_IAM_OAUTH_RDKAFKA_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include "kafka_iam_oauth.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How long one refresh may wait for STS when no token is cached (ms). */
#ifndef KAFKA_IAM_OAUTH_RDKAFKA_TIMEOUT_MS
#define KAFKA_IAM_OAUTH_RDKAFKA_TIMEOUT_MS 8000
#endif

/* Name of the interceptors this adapter adds. */
#define KAFKA_IAM_OAUTH_RDKAFKA_INTERCEPTOR "kafka-iam-oauth-rdkafka"

/*
 * The value of string property `name` of `conf`, malloc'd (free() it), or
 * NULL when the property is unset or empty. Sets *oom when allocation fails.
 */
static inline char *kafka_iam_oauth_rdkafka__conf_dup(const rd_kafka_conf_t *conf, const char *name, int *oom) {
    size_t n = 0;
    char *value;
    if (rd_kafka_conf_get(conf, name, NULL, &n) != RD_KAFKA_CONF_OK || n <= 1) return NULL;
    value = (char *)malloc(n);
    if (!value) {
        *oom = 1;
        return NULL;
    }
    if (rd_kafka_conf_get(conf, name, value, &n) != RD_KAFKA_CONF_OK || !value[0]) {
        free(value);
        return NULL;
    }
    return value;
}

/*
 * librdkafka's token-refresh callback, registered by
 * kafka_iam_oauth_rdkafka_conf_init(). `oauthbearer_config` is the client's
 * `sasl.oauthbearer.config`; the extensions come from the client's
 * `sasl.oauthbearer.extensions`. Providers with the same configuration share
 * the process-wide token cache, so building one per refresh costs no STS
 * call, and clients with different configurations get their own tokens.
 * Blocks for at most KAFKA_IAM_OAUTH_RDKAFKA_TIMEOUT_MS, and only when no
 * valid token is cached.
 */
static inline void kafka_iam_oauth_rdkafka_refresh_cb(rd_kafka_t *rk, const char *oauthbearer_config,
                                                      void *opaque) {
    char errstr[512];
    int oom = 0;
    char *extensions_config = kafka_iam_oauth_rdkafka__conf_dup(rd_kafka_conf(rk), "sasl.oauthbearer.extensions", &oom);
    kafka_iam_oauth_provider *provider = NULL;
    const kafka_iam_oauth_token *token = NULL;
    kafka_iam_oauth_error *err = NULL;
    const char *const *extensions;
    size_t extension_count = 0;
    (void)opaque;

    if (oom) {
        rd_kafka_oauthbearer_set_token_failure(rk, "kafka-iam-oauth: out of memory");
        return;
    }
    if (kafka_iam_oauth_provider_new(oauthbearer_config ? oauthbearer_config : "", extensions_config, &provider,
                                     &err) != KAFKA_IAM_OAUTH_OK ||
        kafka_iam_oauth_provider_token(provider, KAFKA_IAM_OAUTH_RDKAFKA_TIMEOUT_MS, &token, &err) !=
            KAFKA_IAM_OAUTH_OK) {
        snprintf(errstr, sizeof errstr, "kafka-iam-oauth: %s", kafka_iam_oauth_error_message(err));
        rd_kafka_oauthbearer_set_token_failure(rk, errstr);
        kafka_iam_oauth_error_free(err);
        kafka_iam_oauth_provider_free(provider);
        free(extensions_config);
        return;
    }
    free(extensions_config);
    extensions = kafka_iam_oauth_token_extensions(token, &extension_count);
    if (rd_kafka_oauthbearer_set_token(rk, kafka_iam_oauth_token_value(token),
                                       kafka_iam_oauth_token_lifetime_ms(token),
                                       kafka_iam_oauth_token_principal(token),
                                       (const char **)extensions, extension_count, errstr,
                                       sizeof errstr) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_oauthbearer_set_token_failure(rk, errstr);
    }
    kafka_iam_oauth_token_free(token);
    kafka_iam_oauth_provider_free(provider);
}

/*
 * Hands the client's SASL queue to librdkafka's background thread, so token
 * refreshes are answered even while the application does not poll.
 * kafka_iam_oauth_rdkafka_conf_init() already arranges this for every client
 * made from its configuration; calling it again is harmless. Needs
 * `conf_init` (or rd_kafka_conf_enable_sasl_queue(conf, 1) with a refresh
 * callback) on the configuration `rk` was made from. On failure writes the
 * reason to errstr and returns the librdkafka error code.
 */
static inline rd_kafka_resp_err_t kafka_iam_oauth_rdkafka_enable_background_callbacks(rd_kafka_t *rk, char *errstr,
                                                                                      size_t errstr_size) {
    rd_kafka_error_t *error;
    rd_kafka_resp_err_t code;
    if (!rk) {
        if (errstr && errstr_size) snprintf(errstr, errstr_size, "kafka-iam-oauth: rk is NULL");
        return RD_KAFKA_RESP_ERR__INVALID_ARG;
    }
    error = rd_kafka_sasl_background_callbacks_enable(rk);
    if (!error) return RD_KAFKA_RESP_ERR_NO_ERROR;
    code = rd_kafka_error_code(error);
    if (errstr && errstr_size)
        snprintf(errstr, errstr_size, "kafka-iam-oauth: cannot enable SASL background callbacks: %s",
                 rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    return code;
}

/* When the client's main thread starts (its SASL mechanism is chosen by
 * then, which is not yet so in on_new), enable background callbacks. */
static inline rd_kafka_resp_err_t kafka_iam_oauth_rdkafka__on_thread_start(rd_kafka_t *rk,
                                                                           rd_kafka_thread_type_t type,
                                                                           const char *name, void *opaque) {
    (void)name, (void)opaque;
    /* It fails only when the client uses no OAUTHBEARER: nothing to refresh. */
    if (type == RD_KAFKA_THREAD_MAIN) (void)kafka_iam_oauth_rdkafka_enable_background_callbacks(rk, NULL, 0);
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* Instance interceptors can only be added when the client is created. */
static inline rd_kafka_resp_err_t kafka_iam_oauth_rdkafka__on_new(rd_kafka_t *rk, const rd_kafka_conf_t *conf,
                                                                  void *opaque, char *errstr, size_t errstr_size) {
    (void)conf, (void)opaque, (void)errstr, (void)errstr_size;
    return rd_kafka_interceptor_add_on_thread_start(rk, KAFKA_IAM_OAUTH_RDKAFKA_INTERCEPTOR,
                                                    kafka_iam_oauth_rdkafka__on_thread_start, NULL);
}

/* Adds the interceptors below to `conf`. */
static inline rd_kafka_resp_err_t kafka_iam_oauth_rdkafka__add_interceptors(rd_kafka_conf_t *conf);

/* rd_kafka_conf_dup() copies the refresh callback and the SASL queue
 * setting but not interceptors: each interceptor adds itself to the copy. */
static inline rd_kafka_resp_err_t kafka_iam_oauth_rdkafka__on_conf_dup(rd_kafka_conf_t *new_conf,
                                                                       const rd_kafka_conf_t *old_conf,
                                                                       size_t filter_cnt, const char **filter,
                                                                       void *opaque) {
    (void)old_conf, (void)filter_cnt, (void)filter, (void)opaque;
    return kafka_iam_oauth_rdkafka__add_interceptors(new_conf);
}

static inline rd_kafka_resp_err_t kafka_iam_oauth_rdkafka__add_interceptors(rd_kafka_conf_t *conf) {
    rd_kafka_resp_err_t err = rd_kafka_conf_interceptor_add_on_new(conf, KAFKA_IAM_OAUTH_RDKAFKA_INTERCEPTOR,
                                                                   kafka_iam_oauth_rdkafka__on_new, NULL);
    if (err) return err;
    return rd_kafka_conf_interceptor_add_on_conf_dup(conf, KAFKA_IAM_OAUTH_RDKAFKA_INTERCEPTOR,
                                                     kafka_iam_oauth_rdkafka__on_conf_dup, NULL);
}

/*
 * Validates the `sasl.oauthbearer.config` (and `sasl.oauthbearer.extensions`)
 * already set on `conf` (no network call), registers the token-refresh
 * callback, routes refreshes to the SASL queue and arranges for the
 * background thread to serve it. Call it once per configuration, after
 * setting those properties and before rd_kafka_new(); a configuration copied
 * with rd_kafka_conf_dup() afterwards keeps all of it.
 * On failure writes the reason to errstr and returns RD_KAFKA_CONF_INVALID;
 * `conf` is then unchanged and still owned by the caller.
 */
static inline rd_kafka_conf_res_t kafka_iam_oauth_rdkafka_conf_init(rd_kafka_conf_t *conf, char *errstr,
                                                                    size_t errstr_size) {
    char *config, *extensions;
    int oom = 0;
    kafka_iam_oauth_provider *provider = NULL;
    kafka_iam_oauth_error *err = NULL;
    kafka_iam_oauth_status status;

    if (!conf) {
        snprintf(errstr, errstr_size, "kafka-iam-oauth: conf is NULL");
        return RD_KAFKA_CONF_INVALID;
    }
    config = kafka_iam_oauth_rdkafka__conf_dup(conf, "sasl.oauthbearer.config", &oom);
    extensions = kafka_iam_oauth_rdkafka__conf_dup(conf, "sasl.oauthbearer.extensions", &oom);
    if (oom || !config) {
        snprintf(errstr, errstr_size,
                 oom ? "kafka-iam-oauth: out of memory"
                     : "kafka-iam-oauth: set sasl.oauthbearer.config (e.g. "
                       "\"region=eu-west-1,audience=my-kafka.example.com\") before calling conf_init");
        free(config);
        free(extensions);
        return RD_KAFKA_CONF_INVALID;
    }
    status = kafka_iam_oauth_provider_new(config, extensions, &provider, &err);
    free(config);
    free(extensions);
    if (status != KAFKA_IAM_OAUTH_OK) {
        snprintf(errstr, errstr_size, "kafka-iam-oauth: %s", kafka_iam_oauth_error_message(err));
        kafka_iam_oauth_error_free(err);
        return RD_KAFKA_CONF_INVALID;
    }
    kafka_iam_oauth_provider_free(provider);
    if (kafka_iam_oauth_rdkafka__add_interceptors(conf) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(errstr, errstr_size, "kafka-iam-oauth: conf_init was already called on this configuration");
        return RD_KAFKA_CONF_INVALID;
    }
    rd_kafka_conf_set_oauthbearer_token_refresh_cb(conf, kafka_iam_oauth_rdkafka_refresh_cb);
    /* Refreshes go to the SASL queue, served by librdkafka's background
     * thread (see the interceptors above): no rd_kafka_poll() needed. */
    rd_kafka_conf_enable_sasl_queue(conf, 1);
    return RD_KAFKA_CONF_OK;
}

#ifdef __cplusplus
}
#endif

#endif /* KAFKA_IAM_OAUTH_RDKAFKA_H */
