/* make test-dist: mints a token for the configuration in argv[1] and
 * prints its principal. Linked with the static library through
 * `pkg-config --static` (cross-compiled for arm64, run under qemu-user),
 * and with the musl tarball's shared library (musl-gcc). */
#include <stdio.h>
#include <string.h>
#include "kafka_iam_oauth.h"

int main(int argc, char **argv) {
    kafka_iam_oauth_provider *p = NULL;
    const kafka_iam_oauth_token *t = NULL;
    kafka_iam_oauth_error *err = NULL;
    if (argc != 2) return 2;
    if (strcmp(kafka_iam_oauth_version(), KAFKA_IAM_OAUTH_VERSION) != 0) return 3;
    if (kafka_iam_oauth_provider_new(argv[1], NULL, &p, &err) != KAFKA_IAM_OAUTH_OK ||
        kafka_iam_oauth_provider_token(p, 0, &t, &err) != KAFKA_IAM_OAUTH_OK) {
        fprintf(stderr, "no token: %s\n", err ? kafka_iam_oauth_error_message(err) : "?");
        kafka_iam_oauth_error_free(err);
        kafka_iam_oauth_provider_free(p);
        return 1;
    }
    printf("%s\n", kafka_iam_oauth_token_principal(t));
    kafka_iam_oauth_token_free(t);
    kafka_iam_oauth_provider_free(p);
    return 0;
}
