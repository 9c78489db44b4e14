/*
 * fuzz_discovery.c - libFuzzer harness: any bytes as an issuer's
 * discovery document through logto_discovery_parse, which must hand back
 * a jwks_uri of the accepted kinds or fail, never crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "logto_err.h"
#include "logto_fetch.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init_apr();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const issuers[] = {"https://tenant.logto.app/oidc",
                                          "http://127.0.0.1:3001/oidc"};
    apr_pool_t *p;
    const char *uri;
    logto_err_t err;
    int i;

    apr_pool_create(&p, global_pool);
    for (i = 0; i < 2; i++) {
        logto_err_clear(&err);
        if (logto_discovery_parse(&uri, p, issuers[i], (const char *)data, size,
                                  &err) == APR_SUCCESS &&
            strncasecmp(uri, "https://", 8) != 0 &&
            (i == 0 || strncasecmp(uri, "http://", 7) != 0)) {
            abort(); /* an unacceptable jwks_uri got through */
        }
    }
    apr_pool_destroy(p);
    return 0;
}
