/*
 * kafka-iam-oauth for librdkafka C programs: typed wrappers over the
 * library's librdkafka integration (kafka_iam_oauth_rdkafka_*_raw in
 * kafka_iam_oauth.h), which is the same code the plugin
 * (plugin.library.paths) runs. Include it after <librdkafka/rdkafka.h>.
 *
 *   rd_kafka_conf_t *conf = rd_kafka_conf_new();
 *   rd_kafka_conf_set(conf, "security.protocol", "SASL_SSL", ...);
 *   rd_kafka_conf_set(conf, "sasl.mechanism", "OAUTHBEARER", ...);
 *   rd_kafka_conf_set(conf, "sasl.oauthbearer.config",
 *                     "region=eu-west-1,audience=my-kafka.example.com", ...);
 *   if (kafka_iam_oauth_rdkafka_conf_init(conf, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) ...
 *   rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
 *
 * libkafka_iam_oauth does not link librdkafka: it finds the librdkafka
 * functions in the running process (1.9 or newer, loaded as a shared
 * library, e.g. linked with -lrdkafka). Token refreshes then run on
 * librdkafka's background thread: the application need not call
 * rd_kafka_poll() for them. Every refresh is answered, with a token or with
 * rd_kafka_oauthbearer_set_token_failure() and a message starting with
 * "kafka-iam-oauth: " (it names the config key or the AWS error and what to
 * do; never a token or a secret), which reaches the application's error_cb.
 */
#ifndef KAFKA_IAM_OAUTH_RDKAFKA_H
#define KAFKA_IAM_OAUTH_RDKAFKA_H

#include <librdkafka/rdkafka.h>
#include "kafka_iam_oauth.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Validates the `sasl.oauthbearer.config` (and `sasl.oauthbearer.extensions`)
 * already set on `conf` (no network call), registers the token-refresh
 * callback, routes refreshes to the SASL queue and adds interceptors that
 * check later changes to those settings and `sasl.mechanism` when a client
 * is created, hand the SASL queue to the background thread, and carry all of
 * it over to copies made with rd_kafka_conf_dup(). Call it once per
 * configuration, after setting those properties and before rd_kafka_new().
 * On failure writes the reason to errstr and returns RD_KAFKA_CONF_INVALID;
 * `conf` is then unchanged and still owned by the caller. Never blocks.
 */
static inline rd_kafka_conf_res_t kafka_iam_oauth_rdkafka_conf_init(rd_kafka_conf_t *conf, char *errstr,
                                                                    size_t errstr_size) {
    return (rd_kafka_conf_res_t)kafka_iam_oauth_rdkafka_conf_init_raw(conf, errstr, errstr_size);
}

/*
 * Hands the client's SASL queue to librdkafka's background thread, so token
 * refreshes are answered even while the application does not poll.
 * kafka_iam_oauth_rdkafka_conf_init() already arranges this for every client
 * made from its configuration; calling it again is harmless. On failure
 * writes the reason to errstr and returns the librdkafka error code
 * (RD_KAFKA_RESP_ERR__INVALID_ARG for a NULL rk).
 */
static inline rd_kafka_resp_err_t kafka_iam_oauth_rdkafka_enable_background_callbacks(rd_kafka_t *rk, char *errstr,
                                                                                      size_t errstr_size) {
    return (rd_kafka_resp_err_t)kafka_iam_oauth_rdkafka_enable_background_callbacks_raw(rk, errstr, errstr_size);
}

/*
 * The token-refresh callback kafka_iam_oauth_rdkafka_conf_init() registers,
 * for programs that register it themselves with
 * rd_kafka_conf_set_oauthbearer_token_refresh_cb() (they then poll for
 * refreshes, or enable background callbacks, themselves). Uses the client's
 * own `sasl.oauthbearer.config` and `sasl.oauthbearer.extensions`; blocks
 * for at most KAFKA_IAM_OAUTH_DEFAULT_TIMEOUT_MS, and only when no valid
 * token is cached.
 */
static inline void kafka_iam_oauth_rdkafka_refresh_cb(rd_kafka_t *rk, const char *oauthbearer_config, void *opaque) {
    kafka_iam_oauth_rdkafka_refresh_cb_raw(rk, oauthbearer_config, opaque);
}

#ifdef __cplusplus
}
#endif

#endif /* KAFKA_IAM_OAUTH_RDKAFKA_H */
