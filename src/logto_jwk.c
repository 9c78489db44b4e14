/*
 * logto_jwk.c - JSON Web Keys (RFC 7517) turned into OpenSSL keys.
 *
 * Every key is built from its public members with EVP_PKEY_fromdata and
 * checked once, when its set is loaded; a key that is not plainly a public
 * signature verification key is skipped, never guessed at.
 */
#include <string.h>

#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "logto_b64url.h"
#include "logto_json.h"
#include "logto_jwk.h"
#include "logto_jws.h"
#include "logto_md.h"

/* Largest RSA modulus accepted, in bits (OpenSSL's own bound). */
#define RSA_MAX_BITS 16384
/* Largest RSA public exponent accepted, in bits. */
#define RSA_MAX_E_BITS 64

typedef struct {
    const char *crv;   /* JWK name */
    const char *group; /* OpenSSL group name */
    int nid;
    apr_size_t size; /* bytes of a coordinate */
} ec_curve_t;

static const ec_curve_t ec_curves[] = {
    {"P-256", "prime256v1", NID_X9_62_prime256v1, 32},
    {"P-384", "secp384r1", NID_secp384r1, 48},
    {"P-521", "secp521r1", NID_secp521r1, 66},
};

/* Members only a private key has: a key set is public, so a key that
 * carries one was published by mistake and is not used. */
static const char *const private_members[] = {"d",  "p",   "q", "dp",   "dq",
                                              "qi", "oth", "k", "priv", NULL};

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free((EVP_PKEY *)data);
    return APR_SUCCESS;
}

/* Member name of jwk, a string decoded from strict base64url. */
static apr_status_t member_bytes(unsigned char **pbuf, apr_size_t *plen,
                                 const char **pstr, apr_pool_t *p,
                                 const json_t *jwk, const char *name,
                                 logto_err_t *err)
{
    const char *s = logto_json_str(jwk, name);

    if (s == NULL) {
        return logto_err_set(err, LOGTO_ERR_KEY, "member %s missing", name);
    }
    if (logto_b64url_decode(pbuf, plen, p, s, strlen(s), NULL) != APR_SUCCESS) {
        return logto_err_set(err, LOGTO_ERR_KEY, "member %s is not base64url",
                             name);
    }
    *pstr = s;
    return APR_SUCCESS;
}

/* Build a public key of OpenSSL type `type` from the parameters in bld. */
static apr_status_t pkey_from_params(EVP_PKEY **ppkey, const char *type,
                                     OSSL_PARAM_BLD *bld, logto_err_t *err)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    apr_status_t rv = APR_SUCCESS;

    *ppkey = NULL;
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, ppkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        rv = logto_err_set(err, LOGTO_ERR_KEY, "%s key not accepted", type);
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    ERR_clear_error();
    return rv;
}

/* Whether OpenSSL finds pkey a sound public key (EC: on the curve, not
 * the point at infinity, of the right order). */
static apr_status_t public_check(EVP_PKEY *pkey, logto_err_t *err)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = ctx != NULL && EVP_PKEY_public_check(ctx) == 1;

    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    if (!ok) {
        return logto_err_set(err, LOGTO_ERR_KEY, "public key check failed");
    }
    return APR_SUCCESS;
}

static const ec_curve_t *ec_curve_by_name(const char *crv)
{
    apr_size_t i;

    for (i = 0; crv && i < sizeof(ec_curves) / sizeof(ec_curves[0]); i++) {
        if (strcmp(crv, ec_curves[i].crv) == 0) {
            return &ec_curves[i];
        }
    }
    return NULL;
}

/* An EC key from crv, x and y: the uncompressed point 04 || x || y. */
static apr_status_t ec_key(logto_jwk_t *k, apr_pool_t *p, const json_t *jwk,
                           logto_err_t *err)
{
    const ec_curve_t *curve = ec_curve_by_name(logto_json_str(jwk, "crv"));
    unsigned char *x, *y, *point;
    apr_size_t xlen, ylen;
    const char *xs, *ys;
    OSSL_PARAM_BLD *bld;
    apr_status_t rv;

    if (curve == NULL) {
        return logto_err_set(err, LOGTO_ERR_KEY, "unsupported EC curve");
    }
    if (member_bytes(&x, &xlen, &xs, p, jwk, "x", err) != APR_SUCCESS ||
        member_bytes(&y, &ylen, &ys, p, jwk, "y", err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (xlen != curve->size || ylen != curve->size) {
        return logto_err_set(err, LOGTO_ERR_KEY,
                             "EC coordinates of the wrong length");
    }
    point = apr_palloc(p, 1 + 2 * curve->size);
    point[0] = 0x04;
    memcpy(point + 1, x, curve->size);
    memcpy(point + 1 + curve->size, y, curve->size);

    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                         curve->group, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
                                          1 + 2 * curve->size)) {
        OSSL_PARAM_BLD_free(bld);
        return logto_err_set(err, LOGTO_ERR_INTERNAL, "out of memory");
    }
    rv = pkey_from_params(&k->pkey, "EC", bld, err);
    OSSL_PARAM_BLD_free(bld);
    if (rv != APR_SUCCESS) {
        return logto_err_set(err, LOGTO_ERR_KEY, "EC point not on curve");
    }
    apr_pool_cleanup_register(p, k->pkey, pkey_cleanup, apr_pool_cleanup_null);
    if (public_check(k->pkey, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    k->curve_nid = curve->nid;
    k->thumbprint = apr_psprintf(p,
                                 "{\"crv\":\"%s\",\"kty\":\"EC\","
                                 "\"x\":\"%s\",\"y\":\"%s\"}",
                                 curve->crv, xs, ys);
    return APR_SUCCESS;
}

/* Refuse a modulus or exponent no honest signer publishes. */
static apr_status_t rsa_sane(const BIGNUM *n, const BIGNUM *e, logto_err_t *err)
{
    int bits = BN_num_bits(n);

    if (bits < LOGTO_RSA_MIN_BITS) {
        return logto_err_set(err, LOGTO_ERR_KEY, "RSA key of %d bits", bits);
    }
    if (bits > RSA_MAX_BITS || !BN_is_odd(n)) {
        return logto_err_set(err, LOGTO_ERR_KEY, "RSA modulus unusable");
    }
    if (!BN_is_odd(e) || BN_is_one(e) || BN_num_bits(e) > RSA_MAX_E_BITS) {
        return logto_err_set(err, LOGTO_ERR_KEY, "RSA exponent unusable");
    }
    return APR_SUCCESS;
}

static apr_status_t rsa_build(EVP_PKEY **ppkey, const BIGNUM *n,
                              const BIGNUM *e, logto_err_t *err)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    apr_status_t rv;

    if (bld == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)) {
        OSSL_PARAM_BLD_free(bld);
        return logto_err_set(err, LOGTO_ERR_INTERNAL, "out of memory");
    }
    rv = pkey_from_params(ppkey, "RSA", bld, err);
    OSSL_PARAM_BLD_free(bld);
    return rv;
}

/* An RSA key from n and e. */
static apr_status_t rsa_key(logto_jwk_t *k, apr_pool_t *p, const json_t *jwk,
                            logto_err_t *err)
{
    unsigned char *nb, *eb;
    apr_size_t nlen, elen;
    const char *ns, *es;
    BIGNUM *n = NULL, *e = NULL;
    apr_status_t rv;

    if (member_bytes(&nb, &nlen, &ns, p, jwk, "n", err) != APR_SUCCESS ||
        member_bytes(&eb, &elen, &es, p, jwk, "e", err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    n = BN_bin2bn(nb, (int)nlen, NULL);
    e = BN_bin2bn(eb, (int)elen, NULL);
    if (n == NULL || e == NULL) {
        rv = logto_err_set(err, LOGTO_ERR_INTERNAL, "out of memory");
        goto end;
    }
    rv = rsa_sane(n, e, err);
    if (rv == APR_SUCCESS) {
        rv = rsa_build(&k->pkey, n, e, err);
    }
    if (rv == APR_SUCCESS) {
        apr_pool_cleanup_register(p, k->pkey, pkey_cleanup,
                                  apr_pool_cleanup_null);
        k->thumbprint = apr_psprintf(p,
                                     "{\"e\":\"%s\",\"kty\":\"RSA\","
                                     "\"n\":\"%s\"}",
                                     es, ns);
    }
end:
    BN_free(n);
    BN_free(e);
    return rv;
}

/* An Ed25519 key (RFC 8037) from its 32-byte x. */
static apr_status_t okp_key(logto_jwk_t *k, apr_pool_t *p, const json_t *jwk,
                            logto_err_t *err)
{
    const char *crv = logto_json_str(jwk, "crv");
    unsigned char *x;
    apr_size_t xlen;
    const char *xs;
    OSSL_PARAM_BLD *bld;
    apr_status_t rv;

    if (crv == NULL || strcmp(crv, "Ed25519") != 0) {
        return logto_err_set(err, LOGTO_ERR_KEY, "unsupported OKP curve");
    }
    if (member_bytes(&x, &xlen, &xs, p, jwk, "x", err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (xlen != 32) {
        return logto_err_set(err, LOGTO_ERR_KEY,
                             "Ed25519 key of the wrong length");
    }
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL || !OSSL_PARAM_BLD_push_octet_string(
                           bld, OSSL_PKEY_PARAM_PUB_KEY, x, xlen)) {
        OSSL_PARAM_BLD_free(bld);
        return logto_err_set(err, LOGTO_ERR_INTERNAL, "out of memory");
    }
    rv = pkey_from_params(&k->pkey, "ED25519", bld, err);
    OSSL_PARAM_BLD_free(bld);
    if (rv != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    apr_pool_cleanup_register(p, k->pkey, pkey_cleanup, apr_pool_cleanup_null);
    k->curve_nid = NID_ED25519;
    k->thumbprint = apr_psprintf(p,
                                 "{\"crv\":\"Ed25519\",\"kty\":\"OKP\","
                                 "\"x\":\"%s\"}",
                                 xs);
    return APR_SUCCESS;
}

/* The key must be meant for verifying signatures: use and key_ops. */
static apr_status_t check_purpose(const json_t *jwk, logto_err_t *err)
{
    json_t *use = json_object_get(jwk, "use");
    json_t *ops = json_object_get(jwk, "key_ops");
    size_t i;

    if (use != NULL &&
        (!json_is_string(use) || strcmp(json_string_value(use), "sig"))) {
        return logto_err_set(err, LOGTO_ERR_KEY, "key use is not sig");
    }
    if (ops == NULL) {
        return APR_SUCCESS;
    }
    for (i = 0; json_is_array(ops) && i < json_array_size(ops); i++) {
        json_t *op = json_array_get(ops, i);

        if (json_is_string(op) &&
            strcmp(json_string_value(op), "verify") == 0) {
            return APR_SUCCESS;
        }
    }
    return logto_err_set(err, LOGTO_ERR_KEY, "key_ops lacks verify");
}

/* The members every key is refused for before its material is looked at:
 * private parts, a purpose other than verifying, a bad kid or alg. */
static apr_status_t check_members(logto_jwk_t *k, const json_t *jwk,
                                  logto_err_t *err)
{
    json_t *kid = json_object_get(jwk, "kid");
    json_t *alg = json_object_get(jwk, "alg");
    int i;

    for (i = 0; private_members[i] != NULL; i++) {
        if (json_object_get(jwk, private_members[i]) != NULL) {
            return logto_err_set(err, LOGTO_ERR_KEY,
                                 "private key member '%s' present",
                                 private_members[i]);
        }
    }
    if (check_purpose(jwk, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (kid != NULL && !json_is_string(kid)) {
        return logto_err_set(err, LOGTO_ERR_KEY, "kid is not a string");
    }
    k->kid = kid ? json_string_value(kid) : NULL;
    if (alg == NULL) {
        return APR_SUCCESS;
    }
    if (!json_is_string(alg)) {
        return logto_err_set(err, LOGTO_ERR_KEY, "key alg is not a string");
    }
    if (logto_alg_is_forbidden(json_string_value(alg))) {
        return logto_err_set(err, LOGTO_ERR_KEY, "key alg is forbidden");
    }
    k->alg = logto_alg_from_name(json_string_value(alg));
    if (k->alg == LOGTO_ALG_NONE_KNOWN) {
        return logto_err_set(err, LOGTO_ERR_KEY, "key alg unknown");
    }
    return APR_SUCCESS;
}

/* Replace k->thumbprint, the canonical JSON of RFC 7638, by its SHA-256
 * in base64url. */
static apr_status_t hash_thumbprint(logto_jwk_t *k, apr_pool_t *p,
                                    logto_err_t *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (!EVP_Digest(k->thumbprint, strlen(k->thumbprint), md, &mdlen,
                    logto_md_sha256(), NULL)) {
        ERR_clear_error();
        return logto_err_set(err, LOGTO_ERR_INTERNAL, "SHA-256 failed");
    }
    k->thumbprint = logto_b64url_encode(p, md, mdlen);
    return APR_SUCCESS;
}

/* Build the key material of the key type jwk names. */
static apr_status_t build_key(logto_jwk_t *k, apr_pool_t *p, const json_t *jwk,
                              logto_err_t *err)
{
    const char *kty = logto_json_str(jwk, "kty");

    if (kty != NULL && strcmp(kty, "EC") == 0) {
        k->kty = LOGTO_KTY_EC;
        return ec_key(k, p, jwk, err);
    }
    if (kty != NULL && strcmp(kty, "RSA") == 0) {
        k->kty = LOGTO_KTY_RSA;
        return rsa_key(k, p, jwk, err);
    }
    if (kty != NULL && strcmp(kty, "OKP") == 0) {
        k->kty = LOGTO_KTY_OKP;
        return okp_key(k, p, jwk, err);
    }
    return logto_err_set(err, LOGTO_ERR_KEY, "unsupported key type");
}

apr_status_t logto_jwk_from_json(logto_jwk_t **pjwk, apr_pool_t *p,
                                 const json_t *jwk, logto_err_t *err)
{
    logto_jwk_t *k = apr_pcalloc(p, sizeof(*k));

    *pjwk = NULL;
    if (!json_is_object(jwk)) {
        return logto_err_set(err, LOGTO_ERR_KEY, "key is not an object");
    }
    if (check_members(k, jwk, err) != APR_SUCCESS ||
        build_key(k, p, jwk, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    /* a copy: the key outlives the document it came in */
    k->kid = k->kid ? apr_pstrdup(p, k->kid) : NULL;
    k->bits = EVP_PKEY_get_bits(k->pkey);
    if (k->alg != LOGTO_ALG_NONE_KNOWN && !logto_jwk_fits_alg(k, k->alg)) {
        return logto_err_set(err, LOGTO_ERR_KEY,
                             "key alg %s does not fit the key",
                             logto_alg_name(k->alg));
    }
    if (hash_thumbprint(k, p, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    *pjwk = k;
    return APR_SUCCESS;
}

/* Give a P-384 key its verification tables, built from the point as
 * OpenSSL decoded and checked it. Without them (no memory, a point
 * refused) the key still verifies, through OpenSSL alone. */
static void p384_tables(logto_jwk_t *k, apr_pool_t *p)
{
    unsigned char point[1 + 2 * LOGTO_P384_BYTES];
    size_t len = 0;
    void *mem;

    if (!EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_PUB_KEY,
                                         point, sizeof(point), &len) ||
        len != sizeof(point) || point[0] != 0x04) {
        ERR_clear_error();
        return;
    }
    mem = apr_palloc(p, logto_p384_key_size());
    k->p384 = logto_p384_key_init(mem, point + 1, point + 1 + LOGTO_P384_BYTES);
}

/* Whether another key of the set being decoded gets P-384 tables. */
static int wants_p384_tables(const logto_jwks_t *jwks, const logto_jwk_t *k)
{
    int i, n = 0;

    if (!logto_p384_enabled() || k->kty != LOGTO_KTY_EC ||
        k->curve_nid != NID_secp384r1) {
        return 0;
    }
    for (i = 0; i < jwks->keys->nelts; i++) {
        n += APR_ARRAY_IDX(jwks->keys, i, logto_jwk_t *)->p384 != NULL;
    }
    return n < LOGTO_P384_MAX_KEYS;
}

/* Reasons kept per set: enough to see what is wrong with a set, and a
 * set of a thousand junk members is not a thousand strings kept. */
#define SKIPPED_KEPT 20

/* Count a skipped member, keeping the first reasons. */
static void note_skipped(logto_jwks_t *jwks, const char *why, int count)
{
    if (jwks->skipped->nelts < SKIPPED_KEPT) {
        APR_ARRAY_PUSH(jwks->skipped, const char *) = why;
    }
    jwks->nskipped += count;
}

/* Add the i-th member of a set, or the reason it was skipped. */
static void add_key(logto_jwks_t *jwks, apr_pool_t *p, const json_t *jwk,
                    size_t i)
{
    const char *kid = logto_json_str(jwk, "kid");
    const char *name = kid ? apr_psprintf(p, "kid=%.64s", kid)
                           : apr_psprintf(p, "key %lu", (unsigned long)i);
    logto_jwk_t *k;
    logto_err_t err;

    logto_err_clear(&err);
    if (logto_jwk_from_json(&k, p, jwk, &err) != APR_SUCCESS) {
        note_skipped(jwks, apr_psprintf(p, "%s: %s", name, err.text), 1);
    }
    else if (k->kid != NULL && logto_jwks_find(jwks, k->kid) != NULL) {
        /* The first key of a name wins: a kid must name one key. */
        note_skipped(jwks, apr_psprintf(p, "%s: duplicate kid", name), 1);
    }
    else {
        if (wants_p384_tables(jwks, k)) {
            p384_tables(k, p);
        }
        logto_jws_prepare_key(k, p);
        APR_ARRAY_PUSH(jwks->keys, logto_jwk_t *) = k;
    }
}

/* The set of doc's keys array, into jwks from p: at most
 * LOGTO_JWKS_MAX_MEMBERS members are looked at. */
static void add_keys(logto_jwks_t *jwks, apr_pool_t *p, const json_t *keys)
{
    size_t i, n = json_array_size(keys);

    for (i = 0; i < n && i < LOGTO_JWKS_MAX_MEMBERS; i++) {
        add_key(jwks, p, json_array_get(keys, i), i);
    }
    if (n > LOGTO_JWKS_MAX_MEMBERS) {
        note_skipped(jwks,
                     apr_psprintf(p, "%lu members beyond the first %d ignored",
                                  (unsigned long)(n - LOGTO_JWKS_MAX_MEMBERS),
                                  LOGTO_JWKS_MAX_MEMBERS),
                     (int)(n - LOGTO_JWKS_MAX_MEMBERS));
    }
}

apr_status_t logto_jwks_parse(logto_jwks_t **pjwks, apr_pool_t *p,
                              const char *json, apr_size_t len,
                              logto_err_t *err)
{
    logto_jwks_t *jwks;
    apr_pool_t *doc_pool;
    json_t *doc, *keys;

    *pjwks = NULL;
    if (len > LOGTO_JWKS_MAX_SIZE) {
        return logto_err_set(err, LOGTO_ERR_JWKS, "key set too large");
    }
    /* The document in a pool of its own, gone once the keys are decoded:
     * a megabyte of JSON can take a hundred times that parsed. */
    if (apr_pool_create(&doc_pool, p) != APR_SUCCESS) {
        return logto_err_set(err, LOGTO_ERR_INTERNAL, "out of memory");
    }
    if (logto_json_parse_object(&doc, doc_pool, json, len, LOGTO_JSON_MAX_DEPTH,
                                LOGTO_ERR_JWKS, err) != APR_SUCCESS) {
        apr_pool_destroy(doc_pool);
        return APR_EGENERAL;
    }
    keys = json_object_get(doc, "keys");
    if (!json_is_array(keys)) {
        apr_pool_destroy(doc_pool);
        return logto_err_set(err, LOGTO_ERR_JWKS, "no keys array");
    }
    jwks = apr_pcalloc(p, sizeof(*jwks));
    jwks->keys = apr_array_make(p, 4, sizeof(logto_jwk_t *));
    jwks->skipped = apr_array_make(p, 1, sizeof(const char *));
    add_keys(jwks, p, keys);
    apr_pool_destroy(doc_pool);
    if (jwks->keys->nelts == 0) {
        return logto_err_set(err, LOGTO_ERR_JWKS, "no usable key%s%s",
                             jwks->skipped->nelts ? ": " : "",
                             jwks->skipped->nelts
                                 ? APR_ARRAY_IDX(jwks->skipped, 0, const char *)
                                 : "");
    }
    *pjwks = jwks;
    return APR_SUCCESS;
}

const char *logto_jwks_skipped_text(const logto_jwks_t *jwks, apr_pool_t *p)
{
    const apr_array_header_t *sk = jwks->skipped;
    const char *text = "";
    int i, shown = sk->nelts < 5 ? sk->nelts : 5;

    for (i = 0; i < shown; i++) {
        text = apr_pstrcat(p, text, i ? "; " : "",
                           APR_ARRAY_IDX(sk, i, const char *), NULL);
    }
    if (jwks->nskipped > shown) {
        text = apr_psprintf(p, "%s; and %d more", text, jwks->nskipped - shown);
    }
    return text;
}

const logto_jwk_t *logto_jwks_find(const logto_jwks_t *jwks, const char *kid)
{
    int i;

    for (i = 0; jwks && kid && i < jwks->keys->nelts; i++) {
        const logto_jwk_t *k = APR_ARRAY_IDX(jwks->keys, i, logto_jwk_t *);

        if (k->kid != NULL && strcmp(k->kid, kid) == 0) {
            return k;
        }
    }
    return NULL;
}

const logto_jwk_t *logto_jwks_find_thumbprint(const logto_jwks_t *jwks,
                                              const char *tp)
{
    int i;

    for (i = 0; jwks && tp && i < jwks->keys->nelts; i++) {
        const logto_jwk_t *k = APR_ARRAY_IDX(jwks->keys, i, logto_jwk_t *);

        if (strcmp(k->thumbprint, tp) == 0) {
            return k;
        }
    }
    return NULL;
}

int logto_jwk_fits_alg(const logto_jwk_t *key, logto_alg_t alg)
{
    int fits;

    if (key->alg != LOGTO_ALG_NONE_KNOWN && key->alg != alg) {
        return 0;
    }
    switch (alg) {
        case LOGTO_ALG_ES256:
            fits = key->kty == LOGTO_KTY_EC &&
                   key->curve_nid == NID_X9_62_prime256v1;
            break;
        case LOGTO_ALG_ES384:
            fits = key->kty == LOGTO_KTY_EC && key->curve_nid == NID_secp384r1;
            break;
        case LOGTO_ALG_ES512:
            fits = key->kty == LOGTO_KTY_EC && key->curve_nid == NID_secp521r1;
            break;
        case LOGTO_ALG_RS256:
        case LOGTO_ALG_RS384:
        case LOGTO_ALG_RS512:
        case LOGTO_ALG_PS256:
        case LOGTO_ALG_PS384:
        case LOGTO_ALG_PS512:
            fits = key->kty == LOGTO_KTY_RSA;
            break;
        case LOGTO_ALG_EDDSA:
            fits = key->kty == LOGTO_KTY_OKP && key->curve_nid == NID_ED25519;
            break;
        default:
            fits = 0;
    }
    return fits;
}

const char *logto_jwk_kty_name(logto_kty_t kty)
{
    switch (kty) {
        case LOGTO_KTY_EC:
            return "EC";
        case LOGTO_KTY_RSA:
            return "RSA";
        case LOGTO_KTY_OKP:
            return "OKP";
    }
    return "unknown";
}
