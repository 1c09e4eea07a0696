/* A host whose only librdkafka is linked statically into a shared object
 * it dlopens with local scope, as Node loads an addon that links librdkafka
 * statically (confluent-kafka-javascript's prebuilt binary). The object
 * (static_rdkafka_client.so: config_only_client.c with Debian's
 * librdkafka.a) produces and consumes with plugin.library.paths; the plugin
 * must find that copy by scanning the loaded objects' dynamic symbols,
 * since nothing of librdkafka is in the global scope.
 * Usage: local_scope_host /abs/static_rdkafka_client.so key=value...
 * Ends with "N passed, N failed". */
#include <dlfcn.h>
#include <stdio.h>
#include "../c/check.h"

typedef int (*client_main_t)(int argc, char **argv);

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s static_rdkafka_client.so key=value...\n", argv[0]);
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    CHECK(h != NULL, "dlopen %s: %s", argv[1], dlerror());
    if (!h) return kio_summary();
    CHECK(dlsym(RTLD_DEFAULT, "rd_kafka_conf_get") == NULL, "librdkafka must not be in the global scope");
    CHECK(dlsym(h, "rd_kafka_conf_get") != NULL, "the object exports librdkafka's API");
    client_main_t client_main = (client_main_t)dlsym(h, "kio_client_main");
    CHECK(client_main != NULL, "kio_client_main: %s", dlerror());
    if (!client_main) return kio_summary();
    /* The client's argv[0] is the object; its settings follow. */
    int rc = client_main(argc - 1, argv + 1);
    CHECK(rc == 0, "the client in the object produced and consumed (exit %d)", rc);
    return kio_summary();
}
