/*
 * logto_tokcache.c - keys of the verified-token cache.
 */
#include <apr_strings.h>
#include <openssl/evp.h>

#include "logto_b64url.h"
#include "logto_tokcache.h"

const char *logto_tokcache_config_id(apr_pool_t *p, const logto_policy_t *pol,
                                     const char *key_source)
{
    const char *aud = pol->audiences
                          ? apr_array_pstrcat(p, pol->audiences, ' ')
                          : "";

    return apr_psprintf(p, "iss=%s\naud=%s\nalgs=%x\nskew=%" APR_INT64_T_FMT
                        "\nkeys=%s",
                        pol->issuer ? pol->issuer : "", aud,
                        pol->algorithms, pol->clock_skew,
                        key_source ? key_source : "");
}

const char *logto_tokcache_key(apr_pool_t *p, const char *config_id,
                               const char *token, apr_size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok;

    ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
         EVP_DigestUpdate(ctx, config_id, strlen(config_id) + 1) &&
         EVP_DigestUpdate(ctx, token, len) &&
         EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        return NULL;
    }
    return apr_pstrcat(p, "tok:", logto_b64url_encode(p, md, mdlen), NULL);
}
