/*
 * fuzz_jwks.c - libFuzzer harness: any bytes as a JWK Set document
 * through logto_jwks_parse, then the lookups a verification makes.
 */
#include <stdint.h>
#include <stdlib.h>

#include <apr_tables.h>

#include "fuzz.h"
#include "logto_err.h"
#include "logto_jwk.h"

/* Release the process-wide pool before LeakSanitizer looks at exit: APR
 * may keep pool memory where the leak checker cannot see pointers. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init_apr();
    return 0;
}

/* Every usable key must be complete and findable by what names it. */
static void use_keys(const logto_jwks_t *jwks)
{
    int i;

    for (i = 0; i < jwks->keys->nelts; i++) {
        const logto_jwk_t *k =
            APR_ARRAY_IDX(jwks->keys, i, const logto_jwk_t *);

        if (!k->pkey || !k->thumbprint ||
            !logto_jwks_find_thumbprint(jwks, k->thumbprint) ||
            (k->kid && !logto_jwks_find(jwks, k->kid))) {
            abort();
        }
        logto_jwk_fits_alg(k, LOGTO_ALG_ES384);
        logto_jwk_fits_alg(k, LOGTO_ALG_RS256);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    logto_jwks_t *jwks;
    logto_err_t err;

    apr_pool_create(&p, global_pool);
    logto_err_clear(&err);
    if (logto_jwks_parse(&jwks, p, (const char *)data, size, &err) ==
        APR_SUCCESS) {
        use_keys(jwks);
    }
    apr_pool_destroy(p);
    return 0;
}
