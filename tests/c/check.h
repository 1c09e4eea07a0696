/* Minimal test bookkeeping shared by the C tests: CHECK records a result
 * and the program ends with the plain "N passed, N failed" line. */
#ifndef KIO_CHECK_H
#define KIO_CHECK_H
#include <stdio.h>

static int kio_passed, kio_failed;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) {                                                        \
            kio_passed++;                                                  \
        } else {                                                           \
            kio_failed++;                                                  \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

static int kio_summary(void) {
    printf("%d passed, %d failed\n", kio_passed, kio_failed);
    return kio_failed == 0 && kio_passed > 0 ? 0 : 1;
}
#endif
