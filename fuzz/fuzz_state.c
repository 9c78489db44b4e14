/*
 * fuzz_state.c - libFuzzer harness: any bytes as a file found in the
 * state directory. Opened as the state file of a source (checksummed, no
 * secret configured: the worst case), then decoded as a key-set record:
 * a corrupt, truncated or foreign file is refused, never a crash.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz.h"
#include "logto_err.h"
#include "logto_keyring.h"
#include "logto_statedir.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init_apr();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *source = "https://tenant.logto.app/oidc/jwks";
    const unsigned char *payload;
    logto_keyring_entry_t *e;
    logto_err_t err;
    apr_size_t n;
    apr_pool_t *p;

    apr_pool_create(&p, global_pool);
    logto_err_clear(&err);
    if (logto_statedir_open(&payload, &n, source, NULL, data, size, p, &err) ==
        APR_SUCCESS) {
        logto_keyring_record_parse(&e, p, source, payload, n, &err);
    }
    apr_pool_destroy(p);
    return 0;
}
