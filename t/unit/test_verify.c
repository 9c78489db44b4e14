/*
 * test_verify.c - the one verification: tokens minted by Perl Crypt::JWT
 * (t/data/mint-logto.pl) through logto_verify, with one issuer and with
 * several, with and without the token cache.
 */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "logto_b64url.h"
#include "logto_json.h"
#include "logto_verify.h"
#include "unit.h"

#define NOW  ((apr_int64_t)1800000000)
#define ISS  "https://tenant.logto.app/oidc"
#define ISS2 "https://auth.example.com/oidc"
#define API  "https://api.example.com/products"

/* ------------------------------------------------------------ helpers */

static logto_policy_t *policy(const char *aud1, const char *aud2)
{
    logto_policy_t *pol = apr_pcalloc(pool, sizeof(*pol));

    pol->issuers = apr_array_make(pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(pol->issuers, const char *) = ISS;
    pol->audiences = apr_array_make(pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(pol->audiences, const char *) = aud1;
    if (aud2) {
        APR_ARRAY_PUSH(pol->audiences, const char *) = aud2;
    }
    pol->algorithms = LOGTO_ALGSET_DEFAULT;
    pol->clock_skew = 60;
    pol->cache_id = "test configuration";
    return pol;
}

typedef struct minted_t {
    logto_jwks_t *jwks;
    const char *jwks_text;
    apr_array_header_t *tokens; /* of const char * */
} minted_t;

/* Run mint-logto.pl for alg and kid with the token specs (JSON texts
 * without single quotes); parse the JWKS it prints. */
static minted_t *mint_kid(const char *alg, const char *kid,
                          const char *const *specs, int n)
{
    minted_t *m = apr_pcalloc(pool, sizeof(*m));
    const char *cmd = apr_psprintf(
        pool,
        "perl '%s/mint-logto.pl' --alg %s --kid %s --now %" APR_INT64_T_FMT,
        TEST_DATA_DIR, alg, kid, NOW);
    logto_err_t err;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    FILE *f;
    int i;

    for (i = 0; i < n; i++) {
        ck_assert_ptr_null(strchr(specs[i], '\''));
        cmd = apr_pstrcat(pool, cmd, " '", specs[i], "'", NULL);
    }
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    m->tokens = apr_array_make(pool, n, sizeof(const char *));
    while ((got = getline(&line, &cap, f)) > 0) {
        if (line[got - 1] == '\n') {
            line[--got] = '\0';
        }
        if (!m->jwks_text) {
            m->jwks_text = apr_pstrdup(pool, line);
        }
        else {
            APR_ARRAY_PUSH(m->tokens, const char *) = apr_pstrdup(pool, line);
        }
    }
    free(line);
    ck_assert_int_eq(pclose(f), 0);
    ck_assert_int_eq(m->tokens->nelts, n > 0 ? n : 1);
    ck_assert_msg(logto_jwks_parse(&m->jwks, pool, m->jwks_text,
                                   strlen(m->jwks_text), &err) == APR_SUCCESS,
                  "jwks: %s", err.text);
    return m;
}

static minted_t *mint(const char *alg, const char *const *specs, int n)
{
    return mint_kid(alg, "test-key-1", specs, n);
}

static const char *token(const minted_t *m, int i)
{
    return APR_ARRAY_IDX(m->tokens, i, const char *);
}

/* A key source that counts its calls, over a key set a test may swap. */
typedef struct counted_t {
    const logto_jwks_t *jwks;
    const logto_jwks_t *after_refetch; /* NULL: the same */
    logto_keys_how_t least; /* the least patience its keys are had with */
    int gets;
    int refetches;
    int waits; /* asks with LOGTO_KEYS_WAIT */
} counted_t;

static apr_status_t counted_get(const logto_jwks_t **pjwks, void *baton,
                                logto_keys_how_t how, const char *unknown_kid,
                                logto_err_t *err)
{
    counted_t *c = baton;

    c->gets++;
    c->waits += how == LOGTO_KEYS_WAIT;
    if (how < c->least) {
        logto_err_set(err, LOGTO_ERR_FETCH, "test: not yet");
        return APR_EAGAIN;
    }
    if (unknown_kid && c->after_refetch) {
        c->refetches++;
        c->jwks = c->after_refetch;
    }
    if (!c->jwks) {
        return logto_err_set(err, LOGTO_ERR_FETCH, "no keys: test");
    }
    *pjwks = c->jwks;
    return APR_SUCCESS;
}

static logto_keysource_t counted_source(counted_t *c, const logto_jwks_t *jwks)
{
    logto_keysource_t ks;

    memset(c, 0, sizeof(*c));
    c->jwks = jwks;
    c->least = LOGTO_KEYS_IN_HAND;
    ks.get = counted_get;
    ks.baton = c;
    ks.may_refetch = 1;
    return ks;
}

static apr_status_t verify_at(logto_claims_t **pc, logto_verify_info_t *info,
                              const char *t, const logto_policy_t *pol,
                              const logto_keysource_t *ks,
                              const logto_tokstore_t *st, apr_int64_t now,
                              logto_err_t *err)
{
    logto_err_clear(err);
    return logto_verify(pc, info, pool, t, strlen(t), pol, ks, st, now, err);
}

static apr_status_t verify(logto_claims_t **pc, const minted_t *m, int i,
                           const logto_policy_t *pol, logto_err_t *err)
{
    logto_keysource_t ks;

    logto_keysource_fixed(&ks, m->jwks);
    return verify_at(pc, NULL, token(m, i), pol, &ks, NULL, NOW, err);
}

static void assert_logto_token(const logto_claims_t *c, const minted_t *m)
{
    const logto_jwk_t *key =
        APR_ARRAY_IDX(m->jwks->keys, 0, const logto_jwk_t *);

    ck_assert_str_eq(c->sub, "user-1");
    ck_assert_str_eq(c->client_id, "app-client-1");
    ck_assert_str_eq(c->scope, "read:products write:products");
    ck_assert_int_eq(c->scopes->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(c->aud, 0, const char *), API);
    ck_assert_ptr_nonnull(c->jti);
    ck_assert_str_eq(c->kid, "test-key-1");
    ck_assert(c->iat == NOW);
    ck_assert(c->exp == NOW + 3600);
    ck_assert_str_eq(logto_json_str(c->header, "typ"), "at+jwt");
    ck_assert_ptr_nonnull(c->key_thumbprint);
    ck_assert_str_eq(c->key_thumbprint, key->thumbprint);
}

/* A token store over a fresh table of n entries. */
static logto_tokstore_t *table_store(apr_uint32_t n, logto_tokcache_t **ptc)
{
    apr_size_t size = logto_tokcache_memsize(n);
    void *mem = apr_palloc(pool, size);
    logto_tokstore_t *st = apr_pcalloc(pool, sizeof(*st));

    ck_assert_int_eq(logto_tokcache_attach(ptc, pool, mem, size, 1),
                     APR_SUCCESS);
    logto_tokstore_table(st, *ptc);
    return st;
}

/* ------------------------------------------------------- one issuer */

START_TEST(verifies_es384_logto_token)
{
    minted_t *m = mint("ES384", NULL, 0);
    logto_claims_t *c = NULL;
    logto_err_t err;

    ck_assert_msg(verify(&c, m, 0, policy(API, NULL), &err) == APR_SUCCESS,
                  "refused: %s", err.text);
    assert_logto_token(c, m);
    ck_assert_str_eq(logto_json_str(c->header, "alg"), "ES384");
}
END_TEST

START_TEST(verifies_rs256_logto_token)
{
    minted_t *m = mint("RS256", NULL, 0);
    logto_claims_t *c = NULL;
    logto_err_t err;

    ck_assert_msg(verify(&c, m, 0, policy(API, NULL), &err) == APR_SUCCESS,
                  "refused: %s", err.text);
    assert_logto_token(c, m);
    ck_assert_str_eq(logto_json_str(c->header, "alg"), "RS256");
}
END_TEST

START_TEST(whole_verification_checks_claims)
{
    const char *specs[] = {
        "{\"exp\":1799999000}",
        "{\"iss\":\"https://evil.logto.app/oidc\"}",
        "{\"aud\":\"urn:logto:organization:o1\",\"organization_id\":null}",
    };
    minted_t *m = mint("ES384", specs, 3);
    logto_claims_t *c;
    logto_err_t err;

    ck_assert_int_ne(verify(&c, m, 0, policy(API, NULL), &err), APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_EXPIRED);
    ck_assert_int_ne(verify(&c, m, 1, policy(API, NULL), &err), APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_ISSUER);
    ck_assert_int_eq(
        verify(&c, m, 2, policy(LOGTO_ORG_AUD_WILDCARD, NULL), &err),
        APR_SUCCESS);
    ck_assert_str_eq(c->organization_id, "o1");
}
END_TEST

START_TEST(refuses_exp_1e400)
{
    /* Jansson refuses to parse a number out of double range, so this is
     * refused as a payload; either way it must never be taken as a time. */
    const char *specs[] = {
        "{\"_payload\":\"{\\\"iss\\\":\\\"" ISS "\\\",\\\"aud\\\":\\\"" API
        "\\\",\\\"exp\\\":1e400}\"}",
    };
    minted_t *m = mint("ES384", specs, 1);
    logto_claims_t *c;
    logto_err_t err;

    ck_assert_int_ne(verify(&c, m, 0, policy(API, NULL), &err), APR_SUCCESS);
    ck_assert_msg(err.reason == LOGTO_ERR_PAYLOAD ||
                      err.reason == LOGTO_ERR_CLAIM_TYPE,
                  "reason %s", logto_reason_name(err.reason));
}
END_TEST

START_TEST(refuses_changed_payload)
{
    minted_t *m = mint("ES384", NULL, 0);
    char *t = apr_pstrdup(pool, token(m, 0));
    char *mid = strchr(t, '.') + 20;
    logto_keysource_t ks;
    logto_claims_t *c;
    logto_err_t err;

    *mid = *mid == 'A' ? 'B' : 'A';
    logto_keysource_fixed(&ks, m->jwks);
    ck_assert_int_ne(
        verify_at(&c, NULL, t, policy(API, NULL), &ks, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_SIGNATURE);
    ck_assert_ptr_null(c);
}
END_TEST

/* The payload is read only after the signature verified: a token whose
 * payload is not even JSON, under a signature that does not verify, is
 * refused for its signature. */
START_TEST(payload_is_parsed_only_after_the_signature)
{
    minted_t *m = mint("ES384", NULL, 0);
    const char *t = token(m, 0);
    const char *dot1 = strchr(t, '.'), *dot2 = strrchr(t, '.');
    const char *junk =
        logto_b64url_encode(pool, (const unsigned char *)"{]", 2);
    const char *forged =
        apr_pstrcat(pool, apr_pstrmemdup(pool, t, (apr_size_t)(dot1 - t + 1)),
                    junk, dot2, NULL);
    logto_verify_info_t info;
    logto_keysource_t ks;
    logto_claims_t *c;
    logto_err_t err;

    logto_keysource_fixed(&ks, m->jwks);
    ck_assert_int_ne(
        verify_at(&c, &info, forged, policy(API, NULL), &ks, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_SIGNATURE);
    ck_assert_ptr_nonnull(info.jws);
    ck_assert_ptr_null(info.jws->payload);
}
END_TEST

START_TEST(refuses_algorithm_not_allowed)
{
    minted_t *m = mint("ES384", NULL, 0);
    logto_policy_t *pol = policy(API, NULL);
    logto_claims_t *c;
    logto_err_t err;

    pol->algorithms = 1u << LOGTO_ALG_RS256;
    ck_assert_int_ne(verify(&c, m, 0, pol, &err), APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_ALG);
}
END_TEST

START_TEST(refuses_too_large_before_parsing)
{
    minted_t *m = mint("ES384", NULL, 0);
    apr_size_t len = LOGTO_TOKEN_MAX_SIZE + 1;
    char *big = apr_palloc(pool, len + 1);
    logto_keysource_t ks;
    logto_claims_t *c;
    logto_err_t err;

    memset(big, 'A', len);
    big[len] = '\0';
    logto_keysource_fixed(&ks, m->jwks);
    ck_assert_int_ne(
        verify_at(&c, NULL, big, policy(API, NULL), &ks, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_TOO_LARGE);
}
END_TEST

/* A kid the set lacks makes the source ask once more (a rotation); the
 * key that came with the refetch verifies. */
START_TEST(unknown_kid_refetches_once)
{
    minted_t *old = mint_kid("ES384", "old", NULL, 0);
    minted_t *m = mint_kid("ES384", "new", NULL, 0);
    logto_keysource_t ks;
    counted_t cnt;
    logto_claims_t *c;
    logto_err_t err;

    ks = counted_source(&cnt, old->jwks);
    cnt.after_refetch = m->jwks;
    ck_assert_int_eq(verify_at(&c, NULL, token(m, 0), policy(API, NULL), &ks,
                               NULL, NOW, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(cnt.refetches, 1);
    /* a source that may not refetch answers kid unknown */
    ks = counted_source(&cnt, old->jwks);
    cnt.after_refetch = m->jwks;
    ks.may_refetch = 0;
    ck_assert_int_ne(verify_at(&c, NULL, token(m, 0), policy(API, NULL), &ks,
                               NULL, NOW, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_KID_UNKNOWN);
    ck_assert_int_eq(cnt.refetches, 0);
}
END_TEST

START_TEST(no_keys_is_not_a_token_refusal)
{
    minted_t *m = mint("ES384", NULL, 0);
    logto_keysource_t ks;
    counted_t cnt;
    logto_claims_t *c;
    logto_err_t err;

    ks = counted_source(&cnt, NULL);
    ck_assert_int_ne(verify_at(&c, NULL, token(m, 0), policy(API, NULL), &ks,
                               NULL, NOW, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_FETCH);
    ck_assert(!logto_reason_is_token(err.reason));
}
END_TEST

/* ------------------------------------------------------ several issuers */

/* Two issuers, each with its keys: a token is accepted only when its iss
 * names a configured issuer whose own keys verify it. */
START_TEST(each_issuer_with_its_own_keys)
{
    const char *specs2[] = {"{\"iss\":\"" ISS2 "\"}", "{\"iss\":\"" ISS "\"}"};
    minted_t *m1 = mint_kid("ES384", "k1", NULL, 0);
    minted_t *m2 = mint_kid("ES384", "k2", specs2, 2);
    logto_policy_t *pol = policy(API, NULL);
    logto_keysource_t ks[2];
    logto_verify_info_t info;
    logto_claims_t *c;
    logto_err_t err;

    APR_ARRAY_PUSH(pol->issuers, const char *) = ISS2;
    logto_keysource_fixed(&ks[0], m1->jwks);
    logto_keysource_fixed(&ks[1], m2->jwks);
    ck_assert_int_eq(
        verify_at(&c, &info, token(m1, 0), pol, ks, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert_int_eq(info.issuer, 0);
    ck_assert_int_eq(
        verify_at(&c, &info, token(m2, 0), pol, ks, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert_int_eq(info.issuer, 1);
    ck_assert_str_eq(logto_json_str(c->payload, "iss"), ISS2);
    /* signed by the second issuer's key, naming the first issuer, whose
     * keys lack it */
    ck_assert_int_ne(
        verify_at(&c, &info, token(m2, 1), pol, ks, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_KID_UNKNOWN);
    /* naming no configured issuer */
    pol->issuers->nelts = 1;
    ck_assert_int_ne(
        verify_at(&c, &info, token(m2, 0), pol, ks + 1, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_ISSUER);
}
END_TEST

/* Two issuers, each with a counted key source: the first's set holds
 * k1 (m1), the second's k2 (m2); k3 (m3) is a key of the second that its
 * set lacks until a refetch brings it (a rotation). */
typedef struct two_issuers_t {
    minted_t *m1, *m2, *m3;
    logto_policy_t *pol;
    logto_keysource_t ks[2];
    counted_t one, two;
} two_issuers_t;

static void two_issuers(two_issuers_t *t)
{
    const char *specs2[] = {"{\"iss\":\"" ISS2 "\"}"};

    t->m1 = mint_kid("ES384", "k1", NULL, 0);
    t->m2 = mint_kid("ES384", "k2", specs2, 1);
    t->m3 = mint_kid("ES384", "k3", specs2, 1);
    t->pol = policy(API, NULL);
    APR_ARRAY_PUSH(t->pol->issuers, const char *) = ISS2;
    t->ks[0] = counted_source(&t->one, t->m1->jwks);
    t->ks[1] = counted_source(&t->two, t->m2->jwks);
}

/* How often each of two counted sources has been asked to refetch. */
static void assert_refetches(const counted_t *a, const counted_t *b, int na,
                             int nb)
{
    ck_assert_int_eq(a->refetches, na);
    ck_assert_int_eq(b->refetches, nb);
}

/* The keys each issuer has are asked before any is fetched again: a
 * token whose kid the second issuer's set holds never makes the first
 * issuer's keys be refetched; a kid no set holds (a rotation) does, once
 * for each. */
START_TEST(other_issuers_keys_not_refetched)
{
    two_issuers_t t;
    logto_verify_info_t info;
    logto_claims_t *c;
    logto_err_t err;

    two_issuers(&t);
    t.one.after_refetch = t.m1->jwks;
    t.two.after_refetch = t.m2->jwks;
    ck_assert_int_eq(
        verify_at(&c, &info, token(t.m2, 0), t.pol, t.ks, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert_int_eq(info.issuer, 1);
    assert_refetches(&t.one, &t.two, 0, 0);
    /* a kid neither set holds: each asked once more, then refused */
    ck_assert_int_ne(
        verify_at(&c, &info, token(t.m3, 0), t.pol, t.ks, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_KID_UNKNOWN);
    assert_refetches(&t.one, &t.two, 1, 1);
    /* the rotation came with the second issuer's refetch: accepted */
    t.two.after_refetch = t.m3->jwks;
    ck_assert_int_eq(
        verify_at(&c, &info, token(t.m3, 0), t.pol, t.ks, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert_int_eq(info.issuer, 1);
    assert_refetches(&t.one, &t.two, 2, 2);
}
END_TEST

/* An issuer whose keys are had only by waiting (its issuer hangs, or a
 * fetch of them is under way) is waited for last: a token another
 * issuer's keys in hand verify never waits on it, wherever it is listed;
 * its own token waits, and is refused as undecided when the keys never
 * come. */
START_TEST(issuer_that_hangs_waited_for_last)
{
    two_issuers_t t;
    logto_verify_info_t info;
    logto_claims_t *c;
    logto_err_t err;

    two_issuers(&t);
    t.one.least = LOGTO_KEYS_WAIT;
    ck_assert_int_eq(
        verify_at(&c, &info, token(t.m2, 0), t.pol, t.ks, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert_int_eq(info.issuer, 1);
    ck_assert_int_eq(t.one.waits, 0);
    ck_assert_int_eq(t.two.waits, 0);
    /* t.one that can be had without waiting for another's fetch comes
     * before t.one that cannot */
    t.one.least = LOGTO_KEYS_WAIT;
    t.two.least = LOGTO_KEYS_NO_WAIT;
    ck_assert_int_eq(
        verify_at(&c, &info, token(t.m2, 0), t.pol, t.ks, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert_int_eq(t.one.waits, 0);
    /* the first issuer's own token: waited for, accepted */
    ck_assert_int_eq(
        verify_at(&c, &info, token(t.m1, 0), t.pol, t.ks, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert_int_eq(info.issuer, 0);
    ck_assert_int_eq(t.one.waits, 1);
    /* its keys never come: undecided (keys cannot be had), not the
     * second issuer's unknown kid */
    t.one.jwks = NULL;
    t.one.after_refetch = NULL;
    ck_assert_int_ne(
        verify_at(&c, &info, token(t.m1, 0), t.pol, t.ks, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_FETCH);
    ck_assert_int_eq(logto_reason_is_token(err.reason), 0);
}
END_TEST

/* The healthy issuer rotated (its new kid comes with a refetch) while the
 * one listed first hangs: the keys had without waiting are asked again
 * for the kid before the hanging issuer is waited for. */
START_TEST(rotation_beside_an_issuer_that_hangs)
{
    two_issuers_t t;
    logto_verify_info_t info;
    logto_claims_t *c;
    logto_err_t err;

    two_issuers(&t);
    t.one.least = LOGTO_KEYS_WAIT;
    t.two.after_refetch = t.m3->jwks;
    ck_assert_int_eq(
        verify_at(&c, &info, token(t.m3, 0), t.pol, t.ks, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert_int_eq(info.issuer, 1);
    ck_assert_int_eq(t.two.refetches, 1);
    ck_assert_int_eq(t.one.waits, 0);
    /* a kid nobody has: the hanging issuer is waited for, then asked
     * again; the refusal is undecided (its keys cannot be had) */
    t.one.jwks = NULL;
    t.one.after_refetch = NULL;
    ck_assert_int_ne(
        verify_at(&c, &info, token(t.m1, 0), t.pol, t.ks, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_FETCH);
    ck_assert_int_eq(t.two.refetches, 2);
}
END_TEST

/* Two issuers with one key set (a custom domain beside the default one):
 * a token naming either is accepted, as that issuer's. */
START_TEST(issuers_sharing_keys)
{
    const char *specs2[] = {"{\"iss\":\"" ISS2 "\"}"};
    minted_t *m = mint_kid("ES384", "k1", specs2, 1);
    logto_policy_t *pol = policy(API, NULL);
    logto_keysource_t ks[2];
    logto_tokcache_t *tc;
    logto_tokstore_t *st;
    logto_verify_info_t info;
    logto_claims_t *c;
    logto_err_t err;

    APR_ARRAY_PUSH(pol->issuers, const char *) = ISS2;
    logto_keysource_fixed(&ks[0], m->jwks);
    logto_keysource_fixed(&ks[1], m->jwks);
    ck_assert_int_eq(
        verify_at(&c, &info, token(m, 0), pol, ks, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert_int_eq(info.issuer, 1);
    ck_assert_str_eq(logto_json_str(c->payload, "iss"), ISS2);
    /* remembered as the second issuer's: a hit says so too */
    st = table_store(64, &tc);
    ck_assert_int_eq(verify_at(&c, &info, token(m, 0), pol, ks, st, NOW, &err),
                     APR_SUCCESS);
    ck_assert(!info.cache_hit);
    ck_assert_int_eq(
        verify_at(&c, &info, token(m, 0), pol, ks, st, NOW + 1, &err),
        APR_SUCCESS);
    ck_assert(info.cache_hit);
    ck_assert_int_eq(info.issuer, 1);
}
END_TEST

/* One issuer down does not stop the other's tokens; a token of the one
 * down is a 503 matter, not a refusal. */
START_TEST(one_issuer_without_keys)
{
    minted_t *m1 = mint_kid("ES384", "k1", NULL, 0);
    logto_policy_t *pol = policy(API, NULL);
    logto_keysource_t ks[2];
    counted_t down;
    logto_claims_t *c;
    logto_err_t err;

    APR_ARRAY_PUSH(pol->issuers, const char *) = ISS2;
    ks[0] = counted_source(&down, NULL);
    logto_keysource_fixed(&ks[1], m1->jwks);
    /* m1's token names ISS, whose keys are down: k1 of ISS2 verifies it,
     * but only ISS's keys may decide */
    ck_assert_int_ne(
        verify_at(&c, NULL, token(m1, 0), pol, ks, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert(!logto_reason_is_token(err.reason));
    /* a kid ISS2's keys lack, with ISS down: undecided, not refused */
    logto_keysource_fixed(&ks[1], mint_kid("ES384", "k2", NULL, 0)->jwks);
    ck_assert_int_ne(
        verify_at(&c, NULL, token(m1, 0), pol, ks, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert(!logto_reason_is_token(err.reason));
    logto_keysource_fixed(&ks[1], NULL);
    ck_assert_int_ne(
        verify_at(&c, NULL, token(m1, 0), pol, ks, NULL, NOW, &err),
        APR_SUCCESS);
    ck_assert(!logto_reason_is_token(err.reason));
}
END_TEST

/* ------------------------------------------------------- the token cache */

START_TEST(repeated_token_is_a_cache_hit)
{
    minted_t *m = mint("ES384", NULL, 0);
    logto_tokcache_t *tc;
    logto_tokstore_t *st = table_store(64, &tc);
    logto_verify_info_t info;
    logto_keysource_t ks;
    logto_tokcache_stats_t stats;
    logto_claims_t *c;
    logto_err_t err;

    logto_keysource_fixed(&ks, m->jwks);
    ck_assert_int_eq(verify_at(&c, &info, token(m, 0), policy(API, NULL), &ks,
                               st, NOW, &err),
                     APR_SUCCESS);
    ck_assert(!info.cache_hit);
    ck_assert_int_eq(verify_at(&c, &info, token(m, 0), policy(API, NULL), &ks,
                               st, NOW + 1, &err),
                     APR_SUCCESS);
    ck_assert(info.cache_hit);
    assert_logto_token(c, m);
    logto_tokcache_stats(tc, &stats, NULL);
    ck_assert_uint_eq(stats.hits, 1);
    ck_assert_uint_eq(stats.misses, 1);
    ck_assert_uint_eq(stats.stores, 1);
}
END_TEST

/* Another configuration identity is another key: no hit. */
START_TEST(cache_is_bound_to_the_configuration)
{
    minted_t *m = mint("ES384", NULL, 0);
    logto_tokcache_t *tc;
    logto_tokstore_t *st = table_store(64, &tc);
    logto_policy_t *other = policy(API, NULL);
    logto_verify_info_t info;
    logto_keysource_t ks;
    logto_claims_t *c;
    logto_err_t err;

    other->cache_id = "another configuration";
    logto_keysource_fixed(&ks, m->jwks);
    verify_at(&c, &info, token(m, 0), policy(API, NULL), &ks, st, NOW, &err);
    ck_assert_int_eq(
        verify_at(&c, &info, token(m, 0), other, &ks, st, NOW, &err),
        APR_SUCCESS);
    ck_assert(!info.cache_hit);
}
END_TEST

/* Past exp, the entry is no more; the claims refuse the token. */
START_TEST(cache_never_serves_past_exp)
{
    minted_t *m = mint("ES384", NULL, 0);
    logto_tokcache_t *tc;
    logto_tokstore_t *st = table_store(64, &tc);
    logto_verify_info_t info;
    logto_keysource_t ks;
    logto_claims_t *c;
    logto_err_t err;

    logto_keysource_fixed(&ks, m->jwks);
    verify_at(&c, &info, token(m, 0), policy(API, NULL), &ks, st, NOW, &err);
    ck_assert_int_ne(verify_at(&c, &info, token(m, 0), policy(API, NULL), &ks,
                               st, NOW + 3600 + 61, &err),
                     APR_SUCCESS);
    ck_assert(!info.cache_hit);
    ck_assert_int_eq(err.reason, LOGTO_ERR_EXPIRED);
}
END_TEST

/* A key gone from the set takes its tokens' entries with it. */
START_TEST(cache_never_serves_after_key_removal)
{
    minted_t *m = mint("ES384", NULL, 0);
    minted_t *other = mint("ES384", NULL, 0); /* same kid, other key */
    logto_tokcache_t *tc;
    logto_tokstore_t *st = table_store(64, &tc);
    logto_verify_info_t info;
    logto_keysource_t ks;
    counted_t cnt;
    logto_claims_t *c;
    logto_err_t err;

    ks = counted_source(&cnt, m->jwks);
    verify_at(&c, &info, token(m, 0), policy(API, NULL), &ks, st, NOW, &err);
    cnt.jwks = other->jwks;
    ck_assert_int_ne(verify_at(&c, &info, token(m, 0), policy(API, NULL), &ks,
                               st, NOW + 1, &err),
                     APR_SUCCESS);
    ck_assert(!info.cache_hit);
    ck_assert_int_eq(err.reason, LOGTO_ERR_SIGNATURE);
}
END_TEST

/* With a memo, a hit takes the header and payload parsed before: it
 * parses nothing, and the claims are still checked. Without one, every
 * use parses. */
START_TEST(hit_parses_nothing_with_a_memo)
{
    minted_t *m = mint("ES384", NULL, 0);
    logto_tokcache_t *tc;
    logto_tokstore_t *st = table_store(64, &tc);
    logto_verify_info_t info;
    logto_keysource_t ks;
    logto_claims_t *first, *c;
    logto_err_t err;

    logto_keysource_fixed(&ks, m->jwks);
    /* no memo: a hit parses again */
    verify_at(&first, &info, token(m, 0), policy(API, NULL), &ks, st, NOW,
              &err);
    ck_assert_int_eq(verify_at(&c, &info, token(m, 0), policy(API, NULL), &ks,
                               st, NOW + 1, &err),
                     APR_SUCCESS);
    ck_assert(info.cache_hit);
    ck_assert_ptr_ne(c->payload, first->payload);
    /* a memo: filled by the next use, then a hit parses nothing */
    ck_assert_int_eq(logto_memo_create(&st->memo, pool, 16), APR_SUCCESS);
    verify_at(&first, &info, token(m, 0), policy(API, NULL), &ks, st, NOW + 2,
              &err);
    ck_assert_int_eq(verify_at(&c, &info, token(m, 0), policy(API, NULL), &ks,
                               st, NOW + 3, &err),
                     APR_SUCCESS);
    ck_assert(info.cache_hit);
    ck_assert_ptr_eq(c->payload, first->payload);
    ck_assert_ptr_eq(c->header, first->header);
    assert_logto_token(c, m);
    /* another configuration (another audience) shares neither the
     * entry nor the memo: the token is verified and refused anew */
    ck_assert_int_ne(verify_at(&c, &info, token(m, 0),
                               policy("https://other", NULL), &ks, st, NOW + 4,
                               &err),
                     APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_AUDIENCE);
}
END_TEST

/* The memo never vouches for a token: once the cache no longer does (its
 * key left the set, its entry was let go), the token is parsed whole and
 * its signature checked again. */
START_TEST(memo_never_stands_for_the_cache)
{
    minted_t *m = mint("ES384", NULL, 0);
    minted_t *other = mint("ES384", NULL, 0); /* same kid, other key */
    logto_tokcache_t *tc;
    logto_tokstore_t *st = table_store(64, &tc);
    logto_verify_info_t info;
    logto_keysource_t ks;
    counted_t cnt;
    logto_claims_t *hit, *c;
    logto_err_t err;
    int i;

    ks = counted_source(&cnt, m->jwks);
    ck_assert_int_eq(logto_memo_create(&st->memo, pool, 16), APR_SUCCESS);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(verify_at(&hit, &info, token(m, 0), policy(API, NULL),
                                   &ks, st, NOW + i, &err),
                         APR_SUCCESS);
    }
    ck_assert(info.cache_hit);
    ck_assert_ptr_null(info.jws->sig); /* the memo's: nothing parsed */
    /* and such a token can never be verified by signature */
    ck_assert_int_eq(logto_jws_header_len(info.jws), 0);
    ck_assert_int_ne(
        logto_jws_verify_signature(
            info.jws, logto_jwks_find(m->jwks, "test-key-1"), pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_SIGNATURE);
    /* another table: no entry, the memo alone; verified afresh */
    st->baton = table_store(64, &tc)->baton;
    ck_assert_int_eq(verify_at(&c, &info, token(m, 0), policy(API, NULL), &ks,
                               st, NOW + 3, &err),
                     APR_SUCCESS);
    ck_assert(!info.cache_hit);
    ck_assert_ptr_nonnull(info.jws->sig);
    ck_assert_ptr_ne(c->payload, hit->payload);
    /* the key gone: the memo's header does not carry the token past it */
    cnt.jwks = other->jwks;
    ck_assert_int_ne(verify_at(&c, &info, token(m, 0), policy(API, NULL), &ks,
                               st, NOW + 4, &err),
                     APR_SUCCESS);
    ck_assert(!info.cache_hit);
    ck_assert_int_eq(err.reason, LOGTO_ERR_SIGNATURE);
}
END_TEST

/* Two of m's tokens whose header parts are the same bytes (the minting
 * tool orders header members at random, in one of 6 ways), in *pi, *pj. */
static void same_header(const minted_t *m, int *pi, int *pj)
{
    int i, j;

    for (j = 1; j < m->tokens->nelts; j++) {
        for (i = 0; i < j; i++) {
            const char *a = token(m, i), *b = token(m, j);
            apr_size_t n = (apr_size_t)(strchr(a, '.') - a);

            if (strchr(b, '.') - b == (long)n && !strncmp(a, b, n)) {
                *pi = i;
                *pj = j;
                return;
            }
        }
    }
    ck_abort_msg("no two tokens share a header");
}

/* Tokens of one key share their header part: a new one takes the header
 * parsed for one that verified before. A refused token's header is not
 * remembered. */
START_TEST(header_memo_spares_new_tokens)
{
    const char *specs[] = {"{}", "{}", "{}", "{}", "{}", "{}", "{}"};
    minted_t *m = mint("ES384", specs, 7);
    minted_t *other = mint_kid("ES384", "test-key-2", NULL, 0);
    const char *t0, *t1;
    char *forged = apr_pstrdup(pool, token(other, 0));
    apr_size_t hlen = (apr_size_t)(strchr(forged, '.') - forged);
    logto_tokcache_t *tc;
    logto_tokstore_t *st = table_store(64, &tc);
    logto_verify_info_t info;
    logto_keysource_t ks;
    logto_claims_t *c0, *c1;
    logto_err_t err;
    json_t *h;
    int i, j;

    same_header(m, &i, &j);
    t0 = token(m, i);
    t1 = token(m, j);
    logto_keysource_fixed(&ks, m->jwks);
    ck_assert_int_eq(logto_memo_create(&st->memo, pool, 16), APR_SUCCESS);
    /* another kid, unknown here: refused, and its header not kept */
    ck_assert_int_ne(
        verify_at(&c0, &info, forged, policy(API, NULL), &ks, st, NOW, &err),
        APR_SUCCESS);
    ck_assert_ptr_null(logto_memo_header_get(st->memo, forged, hlen));
    ck_assert_int_eq(
        verify_at(&c0, &info, t0, policy(API, NULL), &ks, st, NOW, &err),
        APR_SUCCESS);
    hlen = (apr_size_t)(strchr(t0, '.') - t0);
    h = logto_memo_header_get(st->memo, t0, hlen);
    ck_assert_ptr_eq(h, c0->header);
    json_decref(h);
    /* a new token of the same key: verified, its header not parsed */
    ck_assert_int_eq(
        verify_at(&c1, &info, t1, policy(API, NULL), &ks, st, NOW, &err),
        APR_SUCCESS);
    ck_assert(!info.cache_hit);
    ck_assert_ptr_eq(c1->header, c0->header);
    ck_assert_str_eq(info.jws->kid, "test-key-1");
    /* the same header with a signature that does not verify: refused */
    forged = apr_pstrdup(pool, t1);
    forged[strlen(forged) - 5] = forged[strlen(forged) - 5] == 'A' ? 'B' : 'A';
    st->baton = table_store(64, &tc)->baton;
    ck_assert_int_ne(
        verify_at(&c1, &info, forged, policy(API, NULL), &ks, st, NOW, &err),
        APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_SIGNATURE);
}
END_TEST

/* A token seen once is not remembered: the memo is filled by its first
 * hit, so a flood of new tokens never pushes out those that come back. */
START_TEST(memo_filled_by_a_hit_not_a_miss)
{
    minted_t *m = mint("ES384", NULL, 0);
    logto_tokcache_t *tc;
    logto_tokstore_t *st = table_store(64, &tc);
    logto_verify_info_t info;
    logto_keysource_t ks;
    logto_claims_t *miss, *hit, *again;
    logto_err_t err;

    logto_keysource_fixed(&ks, m->jwks);
    ck_assert_int_eq(logto_memo_create(&st->memo, pool, 16), APR_SUCCESS);
    ck_assert_int_eq(verify_at(&miss, &info, token(m, 0), policy(API, NULL),
                               &ks, st, NOW, &err),
                     APR_SUCCESS);
    ck_assert(!info.cache_hit);
    ck_assert_int_eq(verify_at(&hit, &info, token(m, 0), policy(API, NULL), &ks,
                               st, NOW + 1, &err),
                     APR_SUCCESS);
    ck_assert(info.cache_hit);
    ck_assert_ptr_ne(hit->payload, miss->payload);
    ck_assert_int_eq(verify_at(&again, &info, token(m, 0), policy(API, NULL),
                               &ks, st, NOW + 2, &err),
                     APR_SUCCESS);
    ck_assert_ptr_eq(again->payload, hit->payload);
}
END_TEST

/* Without a cache identity, nothing is stored or looked up. */
START_TEST(no_cache_id_no_cache)
{
    minted_t *m = mint("ES384", NULL, 0);
    logto_tokcache_t *tc;
    logto_tokstore_t *st = table_store(64, &tc);
    logto_policy_t *pol = policy(API, NULL);
    logto_verify_info_t info;
    logto_tokcache_stats_t stats;
    logto_keysource_t ks;
    logto_claims_t *c;
    logto_err_t err;

    pol->cache_id = NULL;
    logto_keysource_fixed(&ks, m->jwks);
    verify_at(&c, &info, token(m, 0), pol, &ks, st, NOW, &err);
    ck_assert_int_eq(verify_at(&c, &info, token(m, 0), pol, &ks, st, NOW, &err),
                     APR_SUCCESS);
    ck_assert(!info.cache_hit);
    logto_tokcache_stats(tc, &stats, NULL);
    ck_assert_uint_eq(stats.stores + stats.hits + stats.misses, 0);
}
END_TEST

static Suite *verify_suite(void)
{
    Suite *s = suite_create("verify");
    TCase *tc = unit_tcase("one issuer");
    TCase *tm = unit_tcase("several issuers");
    TCase *tk = unit_tcase("token cache");

    /* minting keys (RSA above all) takes a moment under valgrind */
    tcase_set_timeout(tc, 60);
    tcase_set_timeout(tm, 60);
    tcase_set_timeout(tk, 60);
    tcase_add_test(tc, verifies_es384_logto_token);
    tcase_add_test(tc, verifies_rs256_logto_token);
    tcase_add_test(tc, whole_verification_checks_claims);
    tcase_add_test(tc, refuses_exp_1e400);
    tcase_add_test(tc, refuses_changed_payload);
    tcase_add_test(tc, payload_is_parsed_only_after_the_signature);
    tcase_add_test(tc, refuses_algorithm_not_allowed);
    tcase_add_test(tc, refuses_too_large_before_parsing);
    tcase_add_test(tc, unknown_kid_refetches_once);
    tcase_add_test(tc, issuer_that_hangs_waited_for_last);
    tcase_add_test(tc, rotation_beside_an_issuer_that_hangs);
    tcase_add_test(tc, other_issuers_keys_not_refetched);
    tcase_add_test(tc, no_keys_is_not_a_token_refusal);
    suite_add_tcase(s, tc);
    tcase_add_test(tm, each_issuer_with_its_own_keys);
    tcase_add_test(tm, one_issuer_without_keys);
    tcase_add_test(tm, issuers_sharing_keys);
    suite_add_tcase(s, tm);
    tcase_add_test(tk, repeated_token_is_a_cache_hit);
    tcase_add_test(tk, cache_is_bound_to_the_configuration);
    tcase_add_test(tk, cache_never_serves_past_exp);
    tcase_add_test(tk, cache_never_serves_after_key_removal);
    tcase_add_test(tk, no_cache_id_no_cache);
    tcase_add_test(tk, hit_parses_nothing_with_a_memo);
    tcase_add_test(tk, memo_filled_by_a_hit_not_a_miss);
    tcase_add_test(tk, memo_never_stands_for_the_cache);
    tcase_add_test(tk, header_memo_spares_new_tokens);
    suite_add_tcase(s, tk);
    return s;
}

int main(void)
{
    return unit_main(verify_suite());
}
