/*
 * fuzz_dpop.c - libFuzzer harness: any bytes as a DPoP proof through
 * parsing and every check against a fixed request and token, and as a URL
 * through the htu normalisation.
 *
 * The seeds in fuzz/corpus/dpop/ were minted by t/data/mint-dpop.pl (iat
 * 1700000000, GET https://api.example.com/products), so inputs reach the
 * signature and claim checks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "fuzz.h"
#include "logto_dpop.h"
#include "logto_err.h"

static logto_dpop_expect_t expect;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init_apr();
    expect.method = "GET";
    expect.url = "https://api.example.com/products";
    expect.token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJl";
    expect.token_len = strlen(expect.token);
    expect.jkt = "ylcEAVQOWrM2hz9VRbppjInc_P_wTwgUcbthcj22jl8";
    expect.now = 1700000000;
    expect.max_age = 300;
    expect.clock_skew = 60;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    logto_dpop_proof_t *proof;
    logto_err_t err;
    const char *url;

    apr_pool_create(&p, global_pool);
    logto_err_clear(&err);
    if (logto_dpop_parse(&proof, p, (const char *)data, size,
                         LOGTO_ALGSET_DEFAULT, &err) == APR_SUCCESS) {
        logto_err_clear(&err);
        if (logto_dpop_check(proof, &expect, p, &err) != APR_SUCCESS &&
            err.text[0] == '\0') {
            abort();
        }
        logto_dpop_replay_key(p, proof);
    }
    else if (err.reason == LOGTO_OK || err.text[0] == '\0') {
        abort(); /* every refusal must say why */
    }
    logto_url_normalize(&url, p, apr_pstrmemdup(p, (const char *)data, size),
                        &err);
    apr_pool_destroy(p);
    return 0;
}
