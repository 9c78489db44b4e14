/*
 * logto_record.c - sealing and opening records with HMAC-SHA-256.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "logto_md.h"
#include "logto_record.h"

#define MAC_LEN 32

static void put32(unsigned char *q, apr_uint32_t v)
{
    q[0] = (unsigned char)(v >> 24);
    q[1] = (unsigned char)(v >> 16);
    q[2] = (unsigned char)(v >> 8);
    q[3] = (unsigned char)v;
}

static apr_uint32_t get32(const unsigned char *q)
{
    return ((apr_uint32_t)q[0] << 24) | ((apr_uint32_t)q[1] << 16) |
           ((apr_uint32_t)q[2] << 8) | q[3];
}

/* The MAC of payload under name; 0 when OpenSSL fails. (EVP_DigestSign
 * with an HMAC key: neither deprecated in OpenSSL 3 nor missing in 1.1.) */
static int record_mac(unsigned char *mac, const logto_secret_t *secret,
                      const char *name, const unsigned char *payload,
                      apr_size_t len)
{
    unsigned char nlen[4], plen[4];
    apr_size_t n = strlen(name), maclen = MAC_LEN;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_HMAC, NULL,
                                                 secret->bytes, secret->len);
    int ok;

    put32(nlen, (apr_uint32_t)n);
    put32(plen, (apr_uint32_t)len);
    ok = ctx != NULL && key != NULL &&
         EVP_DigestSignInit(ctx, NULL, logto_md_sha256(), NULL, key) == 1 &&
         EVP_DigestSignUpdate(ctx, LOGTO_RECORD_MAGIC, 4) == 1 &&
         EVP_DigestSignUpdate(ctx, nlen, 4) == 1 &&
         EVP_DigestSignUpdate(ctx, name, n) == 1 &&
         EVP_DigestSignUpdate(ctx, plen, 4) == 1 &&
         EVP_DigestSignUpdate(ctx, payload, len) == 1 &&
         EVP_DigestSignFinal(ctx, mac, &maclen) == 1 && maclen == MAC_LEN;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return ok;
}

unsigned char *logto_record_seal(apr_size_t *plen, apr_pool_t *p,
                                 const logto_secret_t *secret, const char *name,
                                 const void *payload, apr_size_t len)
{
    unsigned char *rec = apr_palloc(p, LOGTO_RECORD_OVERHEAD + len + 1);

    memcpy(rec, LOGTO_RECORD_MAGIC, 4);
    put32(rec + 4, (apr_uint32_t)len);
    if (len > 0) {
        memcpy(rec + LOGTO_RECORD_OVERHEAD, payload, len);
    }
    if (!record_mac(rec + 8, secret, name, rec + LOGTO_RECORD_OVERHEAD, len)) {
        /* A record nobody can open: a miss for every reader. */
        memset(rec + 8, 0, MAC_LEN);
    }
    *plen = LOGTO_RECORD_OVERHEAD + len;
    return rec;
}

apr_size_t logto_record_length(const unsigned char *head, apr_size_t len)
{
    apr_uint32_t n;

    if (len < 8 || memcmp(head, LOGTO_RECORD_MAGIC, 4) != 0) {
        return 0;
    }
    n = get32(head + 4);
    return n > LOGTO_RECORD_MAX_PAYLOAD ? 0 : LOGTO_RECORD_OVERHEAD + n;
}

apr_status_t logto_record_open(const unsigned char **ppayload, apr_size_t *plen,
                               const logto_secret_t *secret, const char *name,
                               const unsigned char *rec, apr_size_t len,
                               logto_err_t *err)
{
    unsigned char mac[MAC_LEN];
    apr_size_t want = logto_record_length(rec, len);

    if (want == 0) {
        return logto_err_set(err, LOGTO_ERR_INTERNAL, "not a sealed record");
    }
    if (want != len) {
        return logto_err_set(err, LOGTO_ERR_INTERNAL,
                             "record of %" APR_SIZE_T_FMT " bytes, "
                             "expected %" APR_SIZE_T_FMT,
                             len, want);
    }
    if (secret == NULL || secret->len == 0 ||
        !record_mac(mac, secret, name, rec + LOGTO_RECORD_OVERHEAD,
                    len - LOGTO_RECORD_OVERHEAD) ||
        CRYPTO_memcmp(mac, rec + 8, MAC_LEN) != 0) {
        return logto_err_set(err, LOGTO_ERR_INTERNAL,
                             "record failed its authentication check");
    }
    *ppayload = rec + LOGTO_RECORD_OVERHEAD;
    *plen = len - LOGTO_RECORD_OVERHEAD;
    return APR_SUCCESS;
}
