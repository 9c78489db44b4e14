/*
 * logto_verify.h - the one verification of an access token: token in,
 * verdict and claims out. The module, logto-token-check, the fuzzers and
 * the unit tests all come through here.
 *
 * The order is the one the signature's meaning demands: the header is
 * parsed and checked (alg allowed, a kid named) before any key set is
 * asked; then, for each configured issuer whose key set holds a key
 * fitting the token's kid and alg, the signature is checked over the
 * exact bytes sent; only once a signature verifies is the payload parsed,
 * and the token is accepted only if its iss names a configured issuer
 * whose own keys verify it (asked again when another issuer's key did:
 * issuers may share keys). A token the cache vouches for skips the
 * signature check, and only while the key that verified it is still in
 * its issuer's key set.
 */
#ifndef LOGTO_VERIFY_H
#define LOGTO_VERIFY_H

#include <apr_pools.h>

#include "logto_err.h"
#include "logto_jwk.h"
#include "logto_jws.h"
#include "logto_jwt.h"
#include "logto_memo.h"
#include "logto_tokcache.h"

/* Where the keys of one issuer come from. */
typedef struct logto_keysource_t {
    /* The issuer's key set into *pjwks (valid at least as long as the
     * verification's pool), waiting for it as long as how allows (with
     * APR_EAGAIN when that is not enough). unknown_kid non-NULL: the set
     * handed out before lacks that kid, and the source may refetch
     * (within its own pacing). Fails with LOGTO_ERR_FETCH or
     * LOGTO_ERR_JWKS when no usable key can be had. */
    apr_status_t (*get)(const logto_jwks_t **pjwks, void *baton,
                        logto_keys_how_t how, const char *unknown_kid,
                        logto_err_t *err);
    void *baton;
    int may_refetch; /* whether an unknown kid can be worth asking again */
} logto_keysource_t;

/* Where verified tokens are remembered (see logto_tokcache.h). */
typedef struct logto_tokstore_t {
    /* APR_SUCCESS and *e when digest is remembered and live at now. */
    apr_status_t (*get)(void *baton, const unsigned char *digest,
                        apr_int64_t now, logto_tokcache_entry_t *e,
                        apr_pool_t *p);
    /* Remember e under digest; best effort, never blocks. */
    void (*put)(void *baton, const unsigned char *digest,
                const logto_tokcache_entry_t *e, apr_int64_t now,
                apr_pool_t *p);
    void *baton;
    /* Parsed payloads by digest, so a hit parses nothing (NULL: none). */
    logto_memo_t *memo;
} logto_tokstore_t;

/* What a verification found, for the caller's logs and counters. */
typedef struct logto_verify_info_t {
    const logto_jws_t *jws; /* the parsed token, NULL when it did not
                               parse; its payload only once verified */
    const char *kid;        /* its header's kid, a refused header's too
                               (for logs); NULL when it has none */
    const logto_jwk_t *key; /* the key that verified it */
    int issuer;             /* index of its issuer in pol->issuers */
    int cache_hit;          /* the store vouched for it */
} logto_verify_info_t;

/* Verify token (len bytes) at time now (seconds) against pol, with
 * sources[i] giving the keys of pol->issuers[i] (as many sources as
 * issuers), and store (NULL: none; also unused when pol->cache_id is
 * NULL) remembering verified tokens. On success *pclaims from p, with
 * key_thumbprint set. info may be NULL. Every refusal sets err's reason
 * and text; a reason that is not about the token
 * (logto_reason_is_token false) means the keys could not be had. */
apr_status_t logto_verify(logto_claims_t **pclaims, logto_verify_info_t *info,
                          apr_pool_t *p, const char *token, apr_size_t len,
                          const logto_policy_t *pol,
                          const logto_keysource_t *sources,
                          const logto_tokstore_t *store, apr_int64_t now,
                          logto_err_t *err);

/* A key source over one fixed key set (a JWKS file, a test's keys): never
 * refetches. ks's baton points to jwks, which must outlive it. */
void logto_keysource_fixed(logto_keysource_t *ks, const logto_jwks_t *jwks);

/* A token store over a table (tc must outlive it). */
void logto_tokstore_table(logto_tokstore_t *st, logto_tokcache_t *tc);

#endif /* LOGTO_VERIFY_H */
