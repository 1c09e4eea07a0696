/*
 * kafka-iam-oauth: header-only adapter for librdkafka C programs.
 *
 * Everything here is static inline, so libkafka_iam_oauth itself never links
 * librdkafka: include this after <librdkafka/rdkafka.h> in a program that
 * links both.
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
 * application need not call rd_kafka_poll() for them.
 *
 * Every token refresh librdkafka asks for is answered, with
 * rd_kafka_oauthbearer_set_token() or rd_kafka_oauthbearer_set_token_failure()
 * (a refresh left unanswered makes librdkafka stop asking).
 */
#ifndef KAFKA_IAM_OAUTH_RDKAFKA_H
#define KAFKA_IAM_OAUTH_RDKAFKA_H

#include <stdio.h>
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

/*
 * Reads `sasl.oauthbearer.extensions` from `conf` into `buf`; returns buf,
 * or NULL when unset/empty or too long for buf.
 */
static inline const char *kafka_iam_oauth_rdkafka__extensions(const rd_kafka_conf_t *conf,
                                                               char *buf, size_t size) {
    size_t n = size;
    if (!conf || rd_kafka_conf_get(conf, "sasl.oauthbearer.extensions", buf, &n) != RD_KAFKA_CONF_OK)
        return NULL;
    return buf[0] ? buf : NULL;
}

/*
 * librdkafka's token-refresh callback. `oauthbearer_config` is the client's
 * `sasl.oauthbearer.config`; providers with the same configuration share the
 * process-wide token cache, so building one per refresh costs no STS call.
 */
static inline void kafka_iam_oauth_rdkafka_refresh_cb(rd_kafka_t *rk, const char *oauthbearer_config,
                                                      void *opaque) {
    char ext[4096];
    char errstr[512];
    kafka_iam_oauth_provider *provider = NULL;
    const kafka_iam_oauth_token *token = NULL;
    kafka_iam_oauth_error *err = NULL;
    const char *const *extensions;
    size_t extension_count = 0;
    (void)opaque;

    if (kafka_iam_oauth_provider_new(oauthbearer_config ? oauthbearer_config : "",
                                     kafka_iam_oauth_rdkafka__extensions(rd_kafka_conf(rk), ext, sizeof ext),
                                     &provider, &err) != KAFKA_IAM_OAUTH_OK ||
        kafka_iam_oauth_provider_token(provider, KAFKA_IAM_OAUTH_RDKAFKA_TIMEOUT_MS, &token, &err) !=
            KAFKA_IAM_OAUTH_OK) {
        rd_kafka_oauthbearer_set_token_failure(rk, kafka_iam_oauth_error_message(err));
        kafka_iam_oauth_error_free(err);
        kafka_iam_oauth_provider_free(provider);
        return;
    }
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

/* When the client's main thread starts (its SASL mechanism is chosen by
 * then), hand the SASL queue to librdkafka's background thread. */
static inline rd_kafka_resp_err_t kafka_iam_oauth_rdkafka__on_thread_start(rd_kafka_t *rk,
                                                                           rd_kafka_thread_type_t type,
                                                                           const char *name, void *opaque) {
    (void)name, (void)opaque;
    if (type == RD_KAFKA_THREAD_MAIN) {
        rd_kafka_error_t *error = rd_kafka_sasl_background_callbacks_enable(rk);
        if (error) rd_kafka_error_destroy(error);
    }
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* Instance interceptors can only be added when the client is created. */
static inline rd_kafka_resp_err_t kafka_iam_oauth_rdkafka__on_new(rd_kafka_t *rk, const rd_kafka_conf_t *conf,
                                                                  void *opaque, char *errstr, size_t errstr_size) {
    (void)conf, (void)opaque, (void)errstr, (void)errstr_size;
    return rd_kafka_interceptor_add_on_thread_start(rk, "kafka-iam-oauth-rdkafka",
                                                    kafka_iam_oauth_rdkafka__on_thread_start, NULL);
}

/*
 * Validates the `sasl.oauthbearer.config` (and extensions) already set on
 * `conf` (no network call) and registers the refresh callback. On failure
 * writes the reason to errstr and returns RD_KAFKA_CONF_INVALID; `conf` is
 * left unchanged and still owned by the caller.
 */
static inline rd_kafka_conf_res_t kafka_iam_oauth_rdkafka_conf_init(rd_kafka_conf_t *conf, char *errstr,
                                                                    size_t errstr_size) {
    char config[8192];
    char ext[4096];
    size_t n = sizeof config;
    kafka_iam_oauth_provider *provider = NULL;
    kafka_iam_oauth_error *err = NULL;

    if (!conf) {
        snprintf(errstr, errstr_size, "kafka-iam-oauth: conf is NULL");
        return RD_KAFKA_CONF_INVALID;
    }
    if (rd_kafka_conf_get(conf, "sasl.oauthbearer.config", config, &n) != RD_KAFKA_CONF_OK || !config[0]) {
        snprintf(errstr, errstr_size,
                 "kafka-iam-oauth: set sasl.oauthbearer.config (e.g. \"region=eu-west-1,audience=...\") first");
        return RD_KAFKA_CONF_INVALID;
    }
    if (kafka_iam_oauth_provider_new(config, kafka_iam_oauth_rdkafka__extensions(conf, ext, sizeof ext),
                                     &provider, &err) != KAFKA_IAM_OAUTH_OK) {
        snprintf(errstr, errstr_size, "kafka-iam-oauth: %s", kafka_iam_oauth_error_message(err));
        kafka_iam_oauth_error_free(err);
        return RD_KAFKA_CONF_INVALID;
    }
    kafka_iam_oauth_provider_free(provider);
    if (rd_kafka_conf_interceptor_add_on_new(conf, "kafka-iam-oauth-rdkafka", kafka_iam_oauth_rdkafka__on_new,
                                             NULL) != RD_KAFKA_RESP_ERR_NO_ERROR) {
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
