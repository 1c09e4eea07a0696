/* A host with no librdkafka in it loads the plugin and calls its conf_init:
 * the plugin must fail with a clear message in errstr, never crash.
 * Usage: no_rdkafka_host /path/to/libkafka_iam_oauth.so
 * Ends with "N passed, N failed". */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include "../c/check.h"

typedef int (*conf_init_t)(void *conf, void **plug_opaquep, char *errstr, size_t errstr_size);

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s libkafka_iam_oauth.so\n", argv[0]);
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL); /* as librdkafka opens plugins */
    CHECK(h != NULL, "dlopen: %s", dlerror());
    if (!h) return kio_summary();
    CHECK(dlsym(RTLD_DEFAULT, "rd_kafka_conf_get") == NULL, "this host must not contain librdkafka");
    conf_init_t conf_init = (conf_init_t)dlsym(h, "conf_init");
    CHECK(conf_init != NULL, "conf_init is exported");
    if (!conf_init) return kio_summary();

    char errstr[512] = "";
    void *opaque = NULL;
    int fake_conf = 0; /* never dereferenced: the plugin finds no librdkafka first */
    int r = conf_init(&fake_conf, &opaque, errstr, sizeof errstr);
    CHECK(r != 0 && strstr(errstr, "no librdkafka found in this process"), "%d %s", r, errstr);
    printf("conf_init without librdkafka: %s\n", errstr);

    errstr[0] = 0;
    r = conf_init(NULL, &opaque, errstr, sizeof errstr);
    CHECK(r != 0 && strstr(errstr, "conf is NULL"), "%d %s", r, errstr);

    /* No room for a message: still a failure, still no crash. */
    CHECK(conf_init(&fake_conf, NULL, NULL, 0) != 0, "NULL errstr");
    char one[1] = {'x'};
    CHECK(conf_init(&fake_conf, NULL, one, 1) != 0 && one[0] == 0, "1-byte errstr gets an empty string");
    char small[8];
    CHECK(conf_init(&fake_conf, NULL, small, sizeof small) != 0 && strlen(small) == sizeof small - 1,
          "message truncated to the buffer");
    dlclose(h);
    return kio_summary();
}
