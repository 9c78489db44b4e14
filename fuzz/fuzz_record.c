/*
 * fuzz_record.c - libFuzzer harness: any bytes as a record read back from
 * the shared cache. Opened under a secret (a forged or damaged record must
 * fail, never crash), and, as if it had passed its check, decoded as a
 * key-set record and as the payload of a sealed round trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "logto_err.h"
#include "logto_keyring.h"
#include "logto_record.h"

static const unsigned char secret_bytes[32] = "0123456789abcdef0123456789abcde";
static const logto_secret_t secret = {secret_bytes, sizeof(secret_bytes)};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init_apr();
    return 0;
}

/* Every key listed must be complete. */
static void use_entry(const logto_keyring_entry_t *e)
{
    int i;

    for (i = 0; i < e->keys->nelts; i++) {
        const logto_keyring_key_t *k =
            &APR_ARRAY_IDX(e->keys, i, logto_keyring_key_t);
        if (k->kty == NULL) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *name = "jwks:https://tenant.logto.app/oidc/jwks";
    const unsigned char *payload;
    logto_keyring_entry_t *e;
    unsigned char *sealed;
    apr_size_t n, slen;
    logto_err_t err;
    apr_pool_t *p;

    apr_pool_create(&p, global_pool);
    logto_err_clear(&err);
    /* As read from the store: random bytes never pass the check. */
    if (logto_record_open(&payload, &n, &secret, name, data, size, &err) ==
        APR_SUCCESS) {
        logto_keyring_record_parse(&e, p, name + 5, payload, n, &err);
    }
    /* As if it had passed it: decoded without trust. */
    if (logto_keyring_record_parse(&e, p, name + 5, data, size, &err) ==
        APR_SUCCESS) {
        use_entry(e);
    }
    /* A round trip keeps every byte, under the right name only. */
    sealed = logto_record_seal(&slen, p, &secret, name, data, size);
    if (logto_record_open(&payload, &n, &secret, name, sealed, slen, &err) !=
            APR_SUCCESS ||
        n != size || (size > 0 && memcmp(payload, data, size) != 0) ||
        logto_record_open(&payload, &n, &secret, "jwks:elsewhere", sealed, slen,
                          &err) == APR_SUCCESS) {
        abort();
    }
    apr_pool_destroy(p);
    return 0;
}
