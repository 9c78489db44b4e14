/*
 * fuzz_jws.c - libFuzzer harness: any bytes as a token through the whole
 * verification (logto_verify) against a fixed key set of one EC P-384
 * and one RSA key, then the claim lookups a request would make.
 *
 * The seeds in fuzz/corpus/jws/ were minted by t/data/mint-logto.pl with
 * these two keys (now = 1800000000), so inputs reach the claim checks.
 */
#include <stdint.h>
#include <stdlib.h>

#include <apr_tables.h>

#include "fuzz.h"
#include "logto_err.h"
#include "logto_jwk.h"
#include "logto_jwt.h"
#include "logto_scope.h"
#include "logto_verify.h"

#define FUZZ_NOW ((apr_int64_t)1800000000)

static const char fuzz_jwks[] =
    "{\"keys\":[{\"alg\":\"ES384\",\"crv\":\"P-384\",\"kid\":\"fuzz-ec\","
    "\"kty\":\"EC\",\"use\":\"sig\",\"x\":\"Sg0iIw3h1Lc6MRqfs1FnvqWteBnVr"
    "QoeCri6e9TQlg4wpkqY4fHZ8WR4fTuZJjWC\",\"y\":\"mIw7lXGDa45hYMNDzNUbZw"
    "NpbP72NLbpJFYXG3zfki6lKXARMBZb6JOpRvIDZfkl\"},{\"e\":\"AQAB\",\"kid"
    "\":\"fuzz-rsa\",\"kty\":\"RSA\",\"n\":\"nQieI4OfNUZ272EAIRDhwjFSIc9D"
    "AVazyXDZw3eVWODg9intm4zu8C0hlQf55T8RCaN6o5b3FkNuv3-t_ruGZ289CoV9G5sv"
    "dKpDB1etDjrh6hLVYpzgdggOvbZgb7Xyk-doLUr1NqeNcCLFB3xTxbsHrKXIU_dRfWcK"
    "DzwTxD_edlGQu1T8esAwZUZiXtxmDg3qekcwDJaMV6QsfQLqAubmjYTrCBjuc1-ot--l"
    "3Pa7NgdbTAfD8uAQXELc9DJ6C1iR7UXvUYJ-kWFNjCHKFsk_Ee9vQdVK-Vxv6iwM8wJF"
    "8E6Zrp9GC34OxZoLAmE7z3a3aLwOqAaMCs1QBKlYuw\",\"use\":\"sig\"}]}";

static logto_jwks_t *jwks;
static logto_policy_t policy;
static logto_keysource_t keys;

/* Release the process-wide pool before LeakSanitizer looks at exit: APR
 * may keep pool memory where the leak checker cannot see pointers. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    logto_err_t err;

    fuzz_init_apr();
    if (logto_jwks_parse(&jwks, global_pool, fuzz_jwks, sizeof(fuzz_jwks) - 1,
                         &err) != APR_SUCCESS ||
        jwks->keys->nelts != 2) {
        abort();
    }
    logto_keysource_fixed(&keys, jwks);
    policy.issuers = apr_array_make(global_pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(policy.issuers, const char *) =
        "https://tenant.logto.app/oidc";
    policy.audiences = apr_array_make(global_pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(policy.audiences, const char *) =
        "https://api.example.com/products";
    APR_ARRAY_PUSH(policy.audiences, const char *) = LOGTO_ORG_AUD_WILDCARD;
    policy.algorithms = LOGTO_ALGSET_DEFAULT;
    policy.clock_skew = 60;
    return 0;
}

/* What the authorization phase asks of verified claims. */
static void use_claims(const logto_claims_t *c, apr_pool_t *p)
{
    static const char *const values[] = {"gold", "3", "true", "a"};
    apr_array_header_t *want = logto_scope_split(p, "read:products admin");

    logto_scope_missing(p, c->scopes, want);
    logto_claims_match(c, "custom.tier", values, 4);
    logto_claims_match(c, "custom.roles", values, 4);
    logto_claims_match(c, "sub", values, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    logto_claims_t *claims;
    logto_err_t err;

    apr_pool_create(&p, global_pool);
    logto_err_clear(&err);
    if (logto_verify(&claims, NULL, p, (const char *)data, size, &policy, &keys,
                     NULL, FUZZ_NOW, &err) == APR_SUCCESS) {
        use_claims(claims, p);
    }
    else if (err.reason == LOGTO_OK || err.text[0] == '\0') {
        abort(); /* every refusal must say why */
    }
    apr_pool_destroy(p);
    return 0;
}
