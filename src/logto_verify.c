/*
 * logto_verify.c - the one verification of an access token (see
 * logto_verify.h): header, key, signature, payload, claims, with the
 * token cache standing in for the signature of a token seen before.
 */
#include <string.h>

#include "logto_json.h"
#include "logto_verify.h"

/* The candidate of one issuer: its key for the token, or why none
 * (APR_EAGAIN: its keys are not to be had within how). With refetch, a
 * kid the set lacks (a rotation, perhaps) asks once more. */
static apr_status_t issuer_key(const logto_jwk_t **pkey,
                               const logto_keysource_t *ks,
                               const logto_jws_t *jws, logto_algset_t algs,
                               logto_keys_how_t how, int refetch,
                               logto_err_t *err)
{
    const logto_jwks_t *jwks;
    apr_status_t rv;

    rv = ks->get(&jwks, ks->baton, how, NULL, err);
    if (rv != APR_SUCCESS) {
        return APR_STATUS_IS_EAGAIN(rv) ? rv : APR_EGENERAL;
    }
    rv = logto_jws_select_key(pkey, jws, jwks, algs, err);
    if (rv != APR_SUCCESS && err->reason == LOGTO_ERR_KID_UNKNOWN && refetch &&
        ks->may_refetch) {
        if (ks->get(&jwks, ks->baton, LOGTO_KEYS_WAIT, jws->kid, err) !=
            APR_SUCCESS) {
            return APR_EGENERAL;
        }
        rv = logto_jws_select_key(pkey, jws, jwks, algs, err);
    }
    return rv;
}

/* How much a refusal by one issuer says about the token: a key its kid
 * names that does not verify it (or does not fit its alg) is a verdict;
 * keys that cannot be had leave the token undecided (it may be that
 * issuer's); a kid some other issuer's set lacks says least. */
static int weight(logto_reason_t reason)
{
    if (reason == LOGTO_ERR_SIGNATURE || reason == LOGTO_ERR_KEY_MISMATCH) {
        return 3;
    }
    return logto_reason_is_token(reason) ? 1 : 2;
}

/* Where the search stands with one issuer. */
typedef enum {
    ISSUER_PENDING,  /* its keys not had yet */
    ISSUER_ANSWERED, /* its keys answered, without a refetch */
    ISSUER_REFETCHED /* asked again for the kid: its last word */
} issuer_state_t;

/* The search for the issuer whose key verifies a token. */
typedef struct signer_search_t {
    const logto_jws_t *jws;
    const logto_policy_t *pol;
    const logto_keysource_t *sources;
    issuer_state_t *state; /* per issuer */
    logto_err_t *errs;     /* per issuer: its latest refusal */
    int known;             /* some issuer's set held the kid */
} signer_search_t;

/* One pass over the issuers in state from, each asked to wait as long as
 * how allows (with refetch: those whose set lacked the kid, for it): the
 * first whose key verifies the signature, *pissuer its index. An issuer
 * whose keys are not to be had within how stays where it was, for a
 * later pass (none after one that waits). */
static apr_status_t signer_pass(signer_search_t *s, const logto_jwk_t **pkey,
                                int *pissuer, apr_pool_t *p,
                                issuer_state_t from, logto_keys_how_t how,
                                int refetch)
{
    logto_err_t *one;
    apr_status_t rv;
    int i;

    for (i = 0; i < s->pol->issuers->nelts; i++) {
        one = &s->errs[i];
        /* asked again only for a kid its set lacked */
        if (s->state[i] != from ||
            (refetch && one->reason != LOGTO_ERR_KID_UNKNOWN)) {
            continue;
        }
        logto_err_clear(one);
        rv = issuer_key(pkey, &s->sources[i], s->jws, s->pol->algorithms, how,
                        refetch, one);
        if (APR_STATUS_IS_EAGAIN(rv) && how != LOGTO_KEYS_WAIT) {
            continue;
        }
        s->state[i] = refetch ? ISSUER_REFETCHED : ISSUER_ANSWERED;
        if (rv == APR_SUCCESS &&
            logto_jws_verify_signature(s->jws, *pkey, p, one) == APR_SUCCESS) {
            *pissuer = i;
            return APR_SUCCESS;
        }
        /* a key the kid names refused it, or does not fit its alg */
        s->known |= weight(one->reason) == 3;
    }
    *pkey = NULL;
    return APR_EGENERAL;
}

/* The refusal to report when no issuer's key verified: of the issuers'
 * latest words, the one that says most, the first issuer's among
 * equals. */
static void worst_error(const signer_search_t *s, logto_err_t *err)
{
    int i, best = -1;

    for (i = 0; i < s->pol->issuers->nelts; i++) {
        if (s->state[i] != ISSUER_PENDING &&
            (best < 0 ||
             weight(s->errs[i].reason) > weight(s->errs[best].reason))) {
            best = i;
        }
    }
    if (best >= 0) {
        *err = s->errs[best];
    }
}

/* Signature: an issuer with a fitting key whose signature verifies. The
 * keys held now are asked first, then those that can be had without
 * waiting for another's fetch; when none of these holds the kid (a
 * rotation), they are asked again for it, and only then are the rest
 * waited for (and asked again too): an issuer that hangs never delays a
 * token another issuer's keys verify, though the signature comes before
 * the payload that names the issuer. A token whose kid the keys had
 * without waiting hold never makes any issuer's keys be fetched again. */
static apr_status_t find_signer(const logto_jwk_t **pkey, int *pissuer,
                                apr_pool_t *p, const logto_jws_t *jws,
                                const logto_policy_t *pol,
                                const logto_keysource_t *sources,
                                logto_err_t *err)
{
    apr_size_t n = (apr_size_t)pol->issuers->nelts;
    signer_search_t s;

    s.jws = jws;
    s.pol = pol;
    s.sources = sources;
    s.state = apr_pcalloc(p, n * sizeof(*s.state));
    s.errs = apr_pcalloc(p, n * sizeof(*s.errs));
    s.known = 0;
    if (signer_pass(&s, pkey, pissuer, p, ISSUER_PENDING, LOGTO_KEYS_IN_HAND,
                    0) == APR_SUCCESS ||
        signer_pass(&s, pkey, pissuer, p, ISSUER_PENDING, LOGTO_KEYS_NO_WAIT,
                    0) == APR_SUCCESS ||
        (!s.known && signer_pass(&s, pkey, pissuer, p, ISSUER_ANSWERED,
                                 LOGTO_KEYS_WAIT, 1) == APR_SUCCESS) ||
        signer_pass(&s, pkey, pissuer, p, ISSUER_PENDING, LOGTO_KEYS_WAIT, 0) ==
            APR_SUCCESS ||
        (!s.known && signer_pass(&s, pkey, pissuer, p, ISSUER_ANSWERED,
                                 LOGTO_KEYS_WAIT, 1) == APR_SUCCESS)) {
        return APR_SUCCESS;
    }
    worst_error(&s, err);
    return APR_EGENERAL;
}

/* The cache's word for the token: its entry, if the key that verified it
 * is still in its issuer's key set. */
static const logto_jwk_t *vouched_key(int *pissuer, const logto_tokstore_t *st,
                                      const unsigned char *digest,
                                      const logto_policy_t *pol,
                                      const logto_keysource_t *sources,
                                      apr_int64_t now, apr_pool_t *p)
{
    logto_tokcache_entry_t e;
    const logto_jwks_t *jwks;
    logto_err_t err;

    if (st->get(st->baton, digest, now, &e, p) != APR_SUCCESS ||
        e.issuer >= (apr_uint32_t)pol->issuers->nelts ||
        sources[e.issuer].get(&jwks, sources[e.issuer].baton, LOGTO_KEYS_WAIT,
                              NULL, &err) != APR_SUCCESS) {
        return NULL;
    }
    *pissuer = (int)e.issuer;
    return logto_jwks_find_thumbprint(jwks, e.thumb);
}

/* After the signature: the payload (parsed now, unless the memo kept it),
 * the claims, and iss one of the configured issuers. */
static apr_status_t check_payload(logto_claims_t **pclaims, apr_pool_t *p,
                                  logto_jws_t *jws, const logto_policy_t *pol,
                                  int *pnamed, apr_int64_t now,
                                  logto_err_t *err)
{
    const char *iss;
    int i;

    if (!jws->payload && logto_jws_parse_payload(jws, p, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (logto_claims_check(pclaims, p, jws, pol, now, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    iss = logto_json_str((*pclaims)->payload, "iss");
    for (i = 0; iss && i < pol->issuers->nelts; i++) {
        if (strcmp(iss, APR_ARRAY_IDX(pol->issuers, i, const char *)) == 0) {
            *pnamed = i;
            return APR_SUCCESS;
        }
    }
    *pclaims = NULL;
    return logto_err_set(err, LOGTO_ERR_ISSUER, "issuer not accepted");
}

/* A token is checked against the keys of the issuer its iss names. When
 * another issuer's key verified it (issuers that share keys, as a custom
 * domain beside the default one does), the named issuer's keys are asked
 * too, and their answer stands: keys that cannot be had leave the token
 * undecided, a kid they lack refuses it. */
static apr_status_t settle_issuer(logto_verify_info_t *info, apr_pool_t *p,
                                  const logto_jws_t *jws,
                                  const logto_policy_t *pol,
                                  const logto_keysource_t *sources, int named,
                                  logto_err_t *err)
{
    const logto_jwk_t *key;

    /* A hit's issuer is the one settled when the token was stored: a
     * token the memo kept (no signature) never goes past this. */
    if (named == info->issuer) {
        return APR_SUCCESS;
    }
    if (issuer_key(&key, &sources[named], jws, pol->algorithms, LOGTO_KEYS_WAIT,
                   1, err) != APR_SUCCESS ||
        (strcmp(key->thumbprint, info->key->thumbprint) != 0 &&
         logto_jws_verify_signature(jws, key, p, err) != APR_SUCCESS)) {
        return APR_EGENERAL;
    }
    info->issuer = named;
    info->key = key;
    return APR_SUCCESS;
}

static void remember(const logto_tokstore_t *st, const unsigned char *digest,
                     const logto_claims_t *c, int issuer,
                     const logto_jwk_t *key, apr_int64_t now, apr_pool_t *p)
{
    logto_tokcache_entry_t e;

    memset(&e, 0, sizeof(e));
    e.exp = c->exp;
    e.nbf = c->nbf;
    e.issuer = (apr_uint32_t)issuer;
    if (strlen(key->thumbprint) < sizeof(e.thumb)) {
        strcpy(e.thumb, key->thumbprint);
        st->put(st->baton, digest, &e, now, p);
    }
}

/* The token as the memo kept it from an earlier hit, or NULL. */
static logto_jws_t *remembered(const logto_tokstore_t *st,
                               const unsigned char *digest, apr_pool_t *p)
{
    json_t *header, *payload;
    logto_jws_t *jws;
    logto_err_t err;

    if (!st->memo || !logto_memo_get(st->memo, digest, &header, &payload) ||
        logto_jws_remembered(&jws, p, header, payload, &err) != APR_SUCCESS) {
        return NULL;
    }
    return jws;
}

/* Parse token, with its header as the memo kept it when its header part
 * is byte for byte that of a token verified before; *pknown whether it
 * was. */
static apr_status_t parse_token(logto_jws_t **pjws, int *pknown,
                                const char **pkid, apr_pool_t *p,
                                const char *token, apr_size_t len,
                                const logto_tokstore_t *st, logto_err_t *err)
{
    const char *dot = NULL;
    json_t *known = NULL;

    if (st && st->memo && len <= LOGTO_TOKEN_MAX_SIZE) {
        dot = memchr(token, '.', len);
    }
    if (dot) {
        known =
            logto_memo_header_get(st->memo, token, (apr_size_t)(dot - token));
    }
    *pknown = known != NULL;
    return logto_jws_parse_known(pjws, pkid, p, token, len, known, err);
}

apr_status_t logto_verify(logto_claims_t **pclaims, logto_verify_info_t *info,
                          apr_pool_t *p, const char *token, apr_size_t len,
                          const logto_policy_t *pol,
                          const logto_keysource_t *sources,
                          const logto_tokstore_t *store, apr_int64_t now,
                          logto_err_t *err)
{
    unsigned char digest[LOGTO_TOKCACHE_DIGEST_LEN];
    logto_verify_info_t local;
    logto_jws_t *jws = NULL;
    int cached, kept, known = 0, named = 0;

    info = info ? info : &local;
    memset(info, 0, sizeof(*info));
    *pclaims = NULL;
    if (!token || !pol || !pol->issuers || !pol->issuers->nelts || !sources) {
        return logto_err_set(err, LOGTO_ERR_INTERNAL, "nothing to verify");
    }
    cached =
        store && pol->cache_id && len <= LOGTO_TOKEN_MAX_SIZE &&
        logto_tokcache_digest(digest, pol->cache_id, token, len) == APR_SUCCESS;
    /* 1. the header: shape, alg, kid, typ, crit; for a token this process
     * saw verified before, as the memo kept it, parsed then */
    jws = cached ? remembered(store, digest, p) : NULL;
    kept = jws != NULL;
    if (!kept && parse_token(&jws, &known, &info->kid, p, token, len, store,
                             err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    info->jws = jws;
    info->kid = jws->kid;
    if (logto_jws_check_keyless(jws, pol->algorithms, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    /* 2. a key whose signature verifies, or the cache's word for one */
    if (cached) {
        info->key =
            vouched_key(&info->issuer, store, digest, pol, sources, now, p);
        info->cache_hit = info->key != NULL;
    }
    /* the memo's token has no signature: without the cache's word, the
     * token is parsed again and its signature checked */
    if (!info->cache_hit && kept) {
        kept = 0;
        if (parse_token(&jws, &known, NULL, p, token, len, store, err) !=
            APR_SUCCESS) {
            return APR_EGENERAL;
        }
        info->jws = jws;
    }
    if (!info->cache_hit && find_signer(&info->key, &info->issuer, p, jws, pol,
                                        sources, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    /* 3. only now the payload, and the claims: checked on every use */
    if (check_payload(pclaims, p, jws, pol, &named, now, err) != APR_SUCCESS ||
        settle_issuer(info, p, jws, pol, sources, named, err) != APR_SUCCESS) {
        *pclaims = NULL;
        return APR_EGENERAL;
    }
    (*pclaims)->key_thumbprint = info->key->thumbprint;
    if (cached && !info->cache_hit) {
        remember(store, digest, *pclaims, info->issuer, info->key, now, p);
    }
    /* Kept from the first hit on, when the token was parsed whole: a
     * token sent once (a flood of new ones) would only push out those
     * that come back. */
    if (info->cache_hit && store->memo && !kept) {
        logto_memo_put(store->memo, digest, jws->header, jws->payload);
    }
    /* A header is remembered once a token bearing it verified: tokens
     * that do not can never push out the header of those that do. */
    if (!info->cache_hit && store && store->memo && !known) {
        logto_memo_header_put(store->memo, jws->signing_input,
                              logto_jws_header_len(jws), jws->header);
    }
    return APR_SUCCESS;
}

/* ------------------------------------------------------------ adapters */

static apr_status_t fixed_get(const logto_jwks_t **pjwks, void *baton,
                              logto_keys_how_t how, const char *unknown_kid,
                              logto_err_t *err)
{
    if (baton == NULL) {
        return logto_err_set(err, LOGTO_ERR_JWKS, "no keys");
    }
    *pjwks = baton;
    return APR_SUCCESS;
}

void logto_keysource_fixed(logto_keysource_t *ks, const logto_jwks_t *jwks)
{
    ks->get = fixed_get;
    ks->baton = (void *)jwks;
    ks->may_refetch = 0;
}

static apr_status_t table_get(void *baton, const unsigned char *digest,
                              apr_int64_t now, logto_tokcache_entry_t *e,
                              apr_pool_t *p)
{
    return logto_tokcache_get(baton, digest, now, e);
}

static void table_put(void *baton, const unsigned char *digest,
                      const logto_tokcache_entry_t *e, apr_int64_t now,
                      apr_pool_t *p)
{
    logto_tokcache_put(baton, digest, e, now);
}

void logto_tokstore_table(logto_tokstore_t *st, logto_tokcache_t *tc)
{
    st->get = table_get;
    st->put = table_put;
    st->baton = tc;
    st->memo = NULL;
}
