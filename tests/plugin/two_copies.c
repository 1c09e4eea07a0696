/* Two librdkafka copies in one process: this program links one (Debian's
 * librdkafka.so.1, global) and dlopens the other privately (RTLD_LOCAL, as
 * confluent-kafka's wheel is loaded). The plugin cannot tell which copy
 * calls its conf_init, so with both loaded it must refuse, through either
 * copy, with a message naming the copies and what to do; with one copy
 * loaded it attaches as usual. Built plain and with AddressSanitizer.
 * Usage: two_copies /abs/libkafka_iam_oauth.so /abs/other/librdkafka.so.1
 * Ends with "N passed, N failed". */
#include <dlfcn.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>
#include "../c/check.h"

/* What the refusal must say (capi/src/librdkafka.rs, one_copy_loaded). */
#define REFUSAL "2 copies of librdkafka are loaded in this process"

typedef rd_kafka_conf_t *(*conf_new_t)(void);
typedef rd_kafka_conf_res_t (*conf_set_t)(rd_kafka_conf_t *, const char *, const char *, char *, size_t);
typedef void (*conf_destroy_t)(rd_kafka_conf_t *);

/* Sets plugin.library.paths (after sasl.oauthbearer.config) through one
 * copy's functions; returns its result, the reason in errstr. */
static rd_kafka_conf_res_t load_plugin(conf_new_t conf_new, conf_set_t conf_set, conf_destroy_t conf_destroy,
                                       const char *so, char *errstr, size_t size) {
    rd_kafka_conf_t *conf = conf_new();
    errstr[0] = 0;
    rd_kafka_conf_res_t r = conf_set(conf, "sasl.oauthbearer.config", "region=eu-west-1,audience=two-copies", errstr, size);
    if (r == RD_KAFKA_CONF_OK) r = conf_set(conf, "plugin.library.paths", so, errstr, size);
    conf_destroy(conf);
    return r;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s libkafka_iam_oauth.so other-librdkafka.so\n", argv[0]);
        return 2;
    }
    const char *so = argv[1], *other = argv[2];
    char errstr[1024];

    /* One copy (the linked one): the plugin attaches. */
    rd_kafka_conf_res_t r = load_plugin(rd_kafka_conf_new, rd_kafka_conf_set, rd_kafka_conf_destroy, so, errstr,
                                        sizeof errstr);
    CHECK(r == RD_KAFKA_CONF_OK, "one copy loaded: %s", errstr);

    /* The second copy, private. */
    void *h = dlopen(other, RTLD_NOW | RTLD_LOCAL);
    CHECK(h != NULL, "dlopen %s: %s", other, dlerror());
    if (!h) return kio_summary();
    conf_new_t conf_new2 = (conf_new_t)dlsym(h, "rd_kafka_conf_new");
    conf_set_t conf_set2 = (conf_set_t)dlsym(h, "rd_kafka_conf_set");
    conf_destroy_t conf_destroy2 = (conf_destroy_t)dlsym(h, "rd_kafka_conf_destroy");
    CHECK(conf_new2 && conf_set2 && conf_destroy2 && (void *)conf_new2 != (void *)rd_kafka_conf_new,
          "the second copy has its own functions");
    if (!conf_new2 || !conf_set2 || !conf_destroy2) return kio_summary();

    /* Both loaded: refused through the global copy and through the private one. */
    r = load_plugin(rd_kafka_conf_new, rd_kafka_conf_set, rd_kafka_conf_destroy, so, errstr, sizeof errstr);
    printf("through the linked copy: %d %s\n", r, errstr);
    CHECK(r != RD_KAFKA_CONF_OK && strstr(errstr, REFUSAL) && strstr(errstr, "Load only one"),
          "linked copy: %d %s", r, errstr);
    r = load_plugin(conf_new2, conf_set2, conf_destroy2, so, errstr, sizeof errstr);
    printf("through the private copy: %d %s\n", r, errstr);
    CHECK(r != RD_KAFKA_CONF_OK && strstr(errstr, REFUSAL) && strstr(errstr, other), "private copy: %d %s", r,
          errstr);
    /* The refusal names no secret and no token: only paths and advice. */
    CHECK(!strstr(errstr, "eyJ"), "no JWT in the message");
    /* not dlclosed: librdkafka threads of the private copy may still run */
    return kio_summary();
}
