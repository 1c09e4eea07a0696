/* A Node addon that links librdkafka statically (Debian's librdkafka.a), as
 * confluent-kafka-javascript's prebuilt binary does; Node loads it, like
 * every addon, with RTLD_LOCAL. run([key=value, ...]) runs the config-only
 * client (tests/plugin/config_only_client.c, built in with
 * -Dmain=kio_client_main) on the calling thread and returns its exit
 * status: with plugin.library.paths, the plugin must find this addon's
 * copy among the loaded objects. Test-only; blocks while it runs. */
#include <node_api.h>
#include <stdlib.h>

int kio_client_main(int argc, char **argv);

#define MAX_ARGS 32

static napi_value run(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value args[1], result;
    uint32_t n = 0;
    char *argv[MAX_ARGS + 1] = {"static_rdkafka_addon"};
    int status = 2;
    if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc != 1 ||
        napi_get_array_length(env, args[0], &n) != napi_ok || n > MAX_ARGS) {
        napi_throw_type_error(env, NULL, "run([key=value, ...]): at most 32 strings");
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++) {
        napi_value item;
        size_t len = 0;
        argv[i + 1] = NULL;
        if (napi_get_element(env, args[0], i, &item) != napi_ok ||
            napi_get_value_string_utf8(env, item, NULL, 0, &len) != napi_ok ||
            !(argv[i + 1] = malloc(len + 1)) ||
            napi_get_value_string_utf8(env, item, argv[i + 1], len + 1, &len) != napi_ok) {
            n = i + (argv[i + 1] != NULL);
            napi_throw_type_error(env, NULL, "run: every argument must be a string");
            goto out;
        }
    }
    status = kio_client_main((int)n + 1, argv);
out:
    for (uint32_t i = 1; i <= n; i++) free(argv[i]);
    if (napi_create_int32(env, status, &result) != napi_ok) return NULL;
    return result;
}

NAPI_MODULE_INIT() {
    napi_value fn;
    if (napi_create_function(env, "run", NAPI_AUTO_LENGTH, run, NULL, &fn) != napi_ok ||
        napi_set_named_property(env, exports, "run", fn) != napi_ok)
        return NULL;
    return exports;
}
