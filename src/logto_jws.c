/*
 * logto_jws.c - compact JWS (RFC 7515): parsing, key choice, signature.
 *
 * The key is only ever chosen from the configured key set: jku, x5u, jwk
 * and x5c headers are attacker-controlled and never read.
 */
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>

#include "logto_b64url.h"
#include "logto_json.h"
#include "logto_jws.h"
#include "logto_md.h"
#include "logto_p384.h"

/* The three parts of a compact token, as found in it. */
typedef struct {
    const char *start[3];
    apr_size_t len[3];
} jws_parts_t;

/* Whether token is a b64token: ALPHA / DIGIT / "-" "." "_" "~" "+" "/",
 * then "=" only at the end. */
static int is_b64token(const char *token, apr_size_t len)
{
    apr_size_t i = 0;

    while (i < len && token[i] &&
           (apr_isalnum(token[i]) || strchr("-._~+/", token[i]))) {
        i++;
    }
    while (i > 0 && i < len && token[i] == '=') {
        i++;
    }
    return i == len && len > 0;
}

/* Split token on its dots: exactly three parts, none of them empty. */
static apr_status_t split_parts(jws_parts_t *parts, const char *token,
                                apr_size_t len, logto_err_t *err)
{
    const char *end = token + len, *s = token;
    apr_size_t i, dots = 0;
    int n;

    if (len == 0) {
        return logto_err_set(err, LOGTO_ERR_MALFORMED, "empty token");
    }
    for (i = 0; i < len; i++) {
        dots += token[i] == '.';
    }
    /* An opaque token is one of RFC 6750's b64token (Logto's are
     * base64url); anything else is no token of any issuer's. */
    if (dots == 0 && !is_b64token(token, len)) {
        return logto_err_set(err, LOGTO_ERR_MALFORMED,
                             "token malformed: a character outside "
                             "RFC 6750's b64token");
    }
    if (dots == 0) {
        return logto_err_set(err, LOGTO_ERR_OPAQUE,
                             "not a JWT: Logto issues opaque access tokens "
                             "when no API resource is requested");
    }
    if (dots != 2) {
        return logto_err_set(err, LOGTO_ERR_MALFORMED,
                             "token is not three parts");
    }
    for (n = 0; n < 3; n++) {
        const char *dot = memchr(s, '.', (apr_size_t)(end - s));
        const char *stop = dot ? dot : end;

        parts->start[n] = s;
        parts->len[n] = (apr_size_t)(stop - s);
        if (parts->len[n] == 0) {
            return logto_err_set(err, LOGTO_ERR_MALFORMED, "token part empty");
        }
        s = dot ? dot + 1 : end;
    }
    return APR_SUCCESS;
}

/* Decode part i of the token and parse it as a bounded JSON object. */
static apr_status_t part_object(json_t **pjson, apr_pool_t *p,
                                const jws_parts_t *parts, int i,
                                logto_reason_t reason, logto_err_t *err)
{
    unsigned char *buf;
    apr_size_t len;
    logto_err_t why;

    if (logto_b64url_decode(&buf, &len, p, parts->start[i], parts->len[i],
                            err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (logto_json_parse_object(pjson, p, (const char *)buf, len,
                                LOGTO_JSON_MAX_DEPTH, reason,
                                &why) != APR_SUCCESS) {
        return logto_err_set(err, reason, "%s: %s",
                             i == 0 ? "header" : "payload", why.text);
    }
    return APR_SUCCESS;
}

/* The shape of a base64url part without decoding it: the alphabet only,
 * and no length that leaves a single character over. The payload is
 * checked so at parse time, decoded only once its signature verified. */
static apr_status_t check_b64url_shape(const char *in, apr_size_t len,
                                       logto_err_t *err)
{
    if (!logto_b64url_alphabet_only(in, len)) {
        return logto_err_set(err, LOGTO_ERR_MALFORMED,
                             "invalid base64url character");
    }
    if (len % 4 == 1) {
        return logto_err_set(err, LOGTO_ERR_MALFORMED,
                             "invalid base64url length");
    }
    return APR_SUCCESS;
}

/* Whether typ names the media type want ("at+jwt": a JWT access token,
 * RFC 9068 section 2.1), with or without its "application/" prefix, in
 * any case (RFC 7515 section 4.1.9). */
static int typ_is(const char *typ, const char *want)
{
    if (strncasecmp(typ, "application/", 12) == 0) {
        typ += 12;
    }
    return strcasecmp(typ, want) == 0;
}

/* The header members this module understands, checked. want_typ NULL:
 * an access token, whose typ may be absent; else typ must be want_typ. */
static apr_status_t check_header(logto_jws_t *jws, const char *want_typ,
                                 logto_err_t *err)
{
    json_t *h = jws->header;
    json_t *kid = json_object_get(h, "kid");
    json_t *typ = json_object_get(h, "typ");
    json_t *b64 = json_object_get(h, "b64");

    /* the kid first, so that a refusal of what follows can name it */
    if (kid != NULL && !json_is_string(kid)) {
        return logto_err_set(err, LOGTO_ERR_HEADER, "kid is not a string");
    }
    jws->kid = kid ? json_string_value(kid) : NULL;
    jws->alg_name = logto_json_str(h, "alg");
    if (jws->alg_name == NULL) {
        return logto_err_set(err, LOGTO_ERR_ALG,
                             json_object_get(h, "alg") ? "alg is not a string"
                                                       : "alg missing");
    }
    jws->alg = logto_alg_from_name(jws->alg_name);
    if (typ != NULL && !json_is_string(typ)) {
        return logto_err_set(err, LOGTO_ERR_TYP, "typ is not a string");
    }
    jws->typ = typ ? json_string_value(typ) : NULL;
    if (want_typ != NULL && (jws->typ == NULL || !typ_is(jws->typ, want_typ))) {
        return logto_err_set(err, LOGTO_ERR_TYP, "typ is not %s", want_typ);
    }
    if (want_typ == NULL && jws->typ != NULL && !typ_is(jws->typ, "at+jwt")) {
        return logto_err_set(err, LOGTO_ERR_TYP, "typ is not at+jwt");
    }
    /* No extension is understood, so any critical one must refuse. */
    if (json_object_get(h, "crit") != NULL) {
        return logto_err_set(err, LOGTO_ERR_CRIT, "crit header not supported");
    }
    if (b64 != NULL && !json_is_true(b64)) {
        return logto_err_set(err, LOGTO_ERR_HEADER,
                             "unencoded payload not supported");
    }
    return APR_SUCCESS;
}

/* Parse token; known, when not NULL, is its header part parsed before
 * (a reference this takes over). */
static apr_status_t parse(logto_jws_t **pjws, const char **pkid, apr_pool_t *p,
                          const char *token, apr_size_t len, const char *typ,
                          json_t *known, logto_err_t *err)
{
    logto_jws_t *jws;
    jws_parts_t parts;
    unsigned char *sig;
    apr_status_t rv;

    *pjws = NULL;
    logto_json_own(p, known);
    if (len > LOGTO_TOKEN_MAX_SIZE) {
        return logto_err_set(err, LOGTO_ERR_TOO_LARGE, "token too large");
    }
    if (split_parts(&parts, token, len, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    jws = apr_pcalloc(p, sizeof(*jws));
    jws->header = known;
    if (logto_b64url_decode(&sig, &jws->sig_len, p, parts.start[2],
                            parts.len[2], err) != APR_SUCCESS ||
        (!known && part_object(&jws->header, p, &parts, 0, LOGTO_ERR_HEADER,
                               err) != APR_SUCCESS) ||
        check_b64url_shape(parts.start[1], parts.len[1], err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    rv = check_header(jws, typ, err);
    if (pkid) {
        *pkid = jws->kid;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    jws->sig = sig;
    jws->signing_input_len = parts.len[0] + 1 + parts.len[1];
    jws->signing_input = apr_pstrmemdup(p, token, jws->signing_input_len);
    jws->payload_b64 = jws->signing_input + parts.len[0] + 1;
    jws->payload_b64_len = parts.len[1];
    *pjws = jws;
    return APR_SUCCESS;
}

apr_status_t logto_jws_parse(logto_jws_t **pjws, apr_pool_t *p,
                             const char *token, apr_size_t len,
                             logto_err_t *err)
{
    return parse(pjws, NULL, p, token, len, NULL, NULL, err);
}

apr_status_t logto_jws_parse_known(logto_jws_t **pjws, const char **pkid,
                                   apr_pool_t *p, const char *token,
                                   apr_size_t len, json_t *known,
                                   logto_err_t *err)
{
    if (pkid) {
        *pkid = NULL;
    }
    return parse(pjws, pkid, p, token, len, NULL, known, err);
}

apr_status_t logto_jws_parse_typed(logto_jws_t **pjws, apr_pool_t *p,
                                   const char *token, apr_size_t len,
                                   const char *typ, logto_err_t *err)
{
    return parse(pjws, NULL, p, token, len, typ, NULL, err);
}

apr_size_t logto_jws_header_len(const logto_jws_t *jws)
{
    /* a remembered token has no signing input */
    if (!jws->signing_input || jws->signing_input_len <= jws->payload_b64_len) {
        return 0;
    }
    return jws->signing_input_len - jws->payload_b64_len - 1;
}

apr_status_t logto_jws_parse_payload(logto_jws_t *jws, apr_pool_t *p,
                                     logto_err_t *err)
{
    jws_parts_t parts;

    memset(&parts, 0, sizeof(parts));
    parts.start[1] = jws->payload_b64;
    parts.len[1] = jws->payload_b64_len;
    return part_object(&jws->payload, p, &parts, 1, LOGTO_ERR_PAYLOAD, err);
}

apr_status_t logto_jws_remembered(logto_jws_t **pjws, apr_pool_t *p,
                                  json_t *header, json_t *payload,
                                  logto_err_t *err)
{
    logto_jws_t *jws = apr_pcalloc(p, sizeof(*jws));

    *pjws = NULL;
    jws->header = logto_json_own(p, header);
    jws->payload = logto_json_own(p, payload);
    /* alg, kid and typ come from the header, as when it was parsed */
    if (!json_is_object(header) || !json_is_object(payload) ||
        check_header(jws, NULL, err) != APR_SUCCESS) {
        return logto_err_set(err, LOGTO_ERR_INTERNAL, "not a parsed token");
    }
    *pjws = jws;
    return APR_SUCCESS;
}

/* The token's alg must be known, never forbidden and configured. */
static apr_status_t check_alg(const logto_jws_t *jws, logto_algset_t allowed,
                              logto_err_t *err)
{
    if (jws->alg_name == NULL || logto_alg_is_forbidden(jws->alg_name)) {
        return logto_err_set(err, LOGTO_ERR_ALG, "algorithm not allowed");
    }
    if (jws->alg == LOGTO_ALG_NONE_KNOWN) {
        return logto_err_set(err, LOGTO_ERR_ALG, "unknown algorithm");
    }
    if (!logto_algset_has(allowed, jws->alg)) {
        return logto_err_set(err, LOGTO_ERR_ALG, "algorithm not allowed");
    }
    return APR_SUCCESS;
}

apr_status_t logto_jws_check_keyless(const logto_jws_t *jws,
                                     logto_algset_t allowed, logto_err_t *err)
{
    if (check_alg(jws, allowed, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (jws->kid == NULL) {
        return logto_err_set(err, LOGTO_ERR_KID_MISSING,
                             "token names no key id");
    }
    return APR_SUCCESS;
}

apr_status_t logto_jws_select_key(const logto_jwk_t **pkey,
                                  const logto_jws_t *jws,
                                  const logto_jwks_t *jwks,
                                  logto_algset_t allowed, logto_err_t *err)
{
    const logto_jwk_t *key;

    *pkey = NULL;
    /* The alg and the kid first: a token that can never verify must not
     * make the caller refetch keys. */
    if (logto_jws_check_keyless(jws, allowed, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    key = logto_jwks_find(jwks, jws->kid);
    if (key == NULL) {
        return logto_err_set(err, LOGTO_ERR_KID_UNKNOWN, "unknown key id");
    }
    if (!logto_jwk_fits_alg(key, jws->alg)) {
        return logto_err_set(err, LOGTO_ERR_KEY_MISMATCH,
                             "algorithm does not fit the key");
    }
    *pkey = key;
    return APR_SUCCESS;
}

static const EVP_MD *alg_md(logto_alg_t alg)
{
    switch (alg) {
        case LOGTO_ALG_ES256:
        case LOGTO_ALG_RS256:
        case LOGTO_ALG_PS256:
            return logto_md_sha256();
        case LOGTO_ALG_ES384:
        case LOGTO_ALG_RS384:
        case LOGTO_ALG_PS384:
            return logto_md_sha384();
        case LOGTO_ALG_ES512:
        case LOGTO_ALG_RS512:
        case LOGTO_ALG_PS512:
            return logto_md_sha512();
        default:
            return NULL; /* EdDSA hashes internally */
    }
}

/* Whether 0 < v < order. */
static int in_range(const BIGNUM *v, const BIGNUM *order)
{
    return !BN_is_zero(v) && BN_cmp(v, order) < 0;
}

/* Convert a raw r||s of the group's exact size into the DER that
 * OpenSSL verifies, refusing r or s out of [1, n-1] explicitly. */
static apr_status_t ecdsa_der(unsigned char **pder, apr_size_t *plen,
                              apr_pool_t *p, const logto_jwk_t *key,
                              const unsigned char *sig, apr_size_t len)
{
    EC_GROUP *group = EC_GROUP_new_by_curve_name(key->curve_nid);
    apr_size_t half = (apr_size_t)(key->bits + 7) / 8;
    BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG *es = NULL;
    unsigned char *der = NULL;
    apr_status_t rv = APR_EGENERAL;
    int n;

    if (group == NULL || len != 2 * half) {
        goto end;
    }
    r = BN_bin2bn(sig, (int)half, NULL);
    s = BN_bin2bn(sig + half, (int)half, NULL);
    if (r == NULL || s == NULL || !in_range(r, EC_GROUP_get0_order(group)) ||
        !in_range(s, EC_GROUP_get0_order(group)) ||
        (es = ECDSA_SIG_new()) == NULL || !ECDSA_SIG_set0(es, r, s)) {
        goto end;
    }
    r = s = NULL; /* es owns them now */
    n = i2d_ECDSA_SIG(es, &der);
    if (n > 0) {
        *pder = apr_pmemdup(p, der, (apr_size_t)n);
        *plen = (apr_size_t)n;
        rv = APR_SUCCESS;
    }
end:
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    BN_free(r);
    BN_free(s);
    EC_GROUP_free(group);
    return rv;
}

/* RSASSA-PSS as RFC 7518 section 3.5 fixes it: MGF1 with the same hash,
 * a salt as long as the hash. */
static int set_pss(EVP_PKEY_CTX *pctx, const EVP_MD *md)
{
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, EVP_MD_get_size(md)) > 0;
}

static int is_pss(logto_alg_t alg)
{
    return alg == LOGTO_ALG_PS256 || alg == LOGTO_ALG_PS384 ||
           alg == LOGTO_ALG_PS512;
}

static apr_status_t verifier_cleanup(void *data)
{
    EVP_PKEY_CTX_free(data);
    return APR_SUCCESS;
}

/* A context of key for alg, initialised for verifying, or NULL. */
static EVP_PKEY_CTX *make_verifier(const logto_jwk_t *key, logto_alg_t alg)
{
    const EVP_MD *md = alg_md(alg);
    EVP_PKEY_CTX *ctx;

    if (md == NULL || !logto_jwk_fits_alg(key, alg)) {
        return NULL;
    }
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
    if (ctx == NULL || EVP_PKEY_verify_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0 ||
        (is_pss(alg)
             ? !set_pss(ctx, md)
             : key->kty == LOGTO_KTY_RSA &&
                   EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)) {
        EVP_PKEY_CTX_free(ctx);
        ERR_clear_error();
        return NULL;
    }
    return ctx;
}

void logto_jws_prepare_key(logto_jwk_t *key, apr_pool_t *p)
{
    int alg;

    for (alg = LOGTO_ALG_NONE_KNOWN + 1; alg < LOGTO_ALG__COUNT; alg++) {
        key->verifier[alg] = make_verifier(key, (logto_alg_t)alg);
        if (key->verifier[alg] != NULL) {
            apr_pool_cleanup_register(p, key->verifier[alg], verifier_cleanup,
                                      apr_pool_cleanup_null);
        }
    }
}

/* The digest of jws's signing input for its alg; its length, 0 on error. */
static unsigned int signing_digest(const logto_jws_t *jws, unsigned char *md)
{
    unsigned int len = 0;

    if (!EVP_Digest(jws->signing_input, jws->signing_input_len, md, &len,
                    alg_md(jws->alg), NULL)) {
        ERR_clear_error();
        return 0;
    }
    return len;
}

/* sig over jws's signing input, with a copy of the key's prepared context
 * (sharing one between threads would not be safe): 1 when valid. */
static int prepared_verify(const logto_jws_t *jws, EVP_PKEY_CTX *prepared,
                           const unsigned char *sig, apr_size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = signing_digest(jws, md);
    EVP_PKEY_CTX *ctx = mdlen ? EVP_PKEY_CTX_dup(prepared) : NULL;
    int ok = ctx != NULL && EVP_PKEY_verify(ctx, sig, len, md, mdlen) == 1;

    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        ERR_clear_error(); /* not free: only a refusal leaves errors */
    }
    return ok;
}

/* One EVP_DigestVerify of sig over jws's signing input: 1 when valid. */
static int digest_verify(const logto_jws_t *jws, const logto_jwk_t *key,
                         const unsigned char *sig, apr_size_t len)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *md = alg_md(jws->alg);
    int ok = 0;

    if (mctx == NULL ||
        EVP_DigestVerifyInit(mctx, &pctx, md, NULL, key->pkey) != 1) {
        goto end;
    }
    if (is_pss(jws->alg) && !set_pss(pctx, md)) {
        goto end;
    }
    ok = EVP_DigestVerify(mctx, sig, len,
                          (const unsigned char *)jws->signing_input,
                          jws->signing_input_len) == 1;
end:
    EVP_MD_CTX_free(mctx);
    ERR_clear_error();
    return ok;
}

/* The signature length the key's algorithm family demands. */
static apr_size_t expected_sig_len(const logto_jwk_t *key)
{
    switch (key->kty) {
        case LOGTO_KTY_RSA:
            return (apr_size_t)EVP_PKEY_get_size(key->pkey);
        case LOGTO_KTY_OKP:
            return 64;
        default:
            return 2 * (((apr_size_t)key->bits + 7) / 8);
    }
}

/* ES384 with the key's tables: SHA-384 of the signing input, then the
 * raw r || s straight to the verifier, which makes every range check. */
static int p384_verify(const logto_jws_t *jws, const logto_jwk_t *key)
{
    unsigned char md[EVP_MAX_MD_SIZE];

    return signing_digest(jws, md) == LOGTO_P384_BYTES &&
           logto_p384_verify(key->p384, md, jws->sig);
}

/* Whether jws goes to the P-384 tables of key rather than to OpenSSL. */
static int uses_p384_tables(const logto_jws_t *jws, const logto_jwk_t *key)
{
    return jws->alg == LOGTO_ALG_ES384 && key->p384 != NULL &&
           logto_p384_enabled();
}

apr_status_t logto_jws_verify_signature(const logto_jws_t *jws,
                                        const logto_jwk_t *key, apr_pool_t *p,
                                        logto_err_t *err)
{
    const unsigned char *sig = jws->sig;
    apr_size_t len = jws->sig_len;
    unsigned char *der;

    if (!logto_jwk_fits_alg(key, jws->alg)) {
        return logto_err_set(err, LOGTO_ERR_KEY_MISMATCH,
                             "algorithm does not fit the key");
    }
    /* a token remembered without its signature is never verified */
    if (!sig || !jws->signing_input) {
        return logto_err_set(err, LOGTO_ERR_SIGNATURE, "no signature");
    }
    if (len != expected_sig_len(key)) {
        return logto_err_set(err, LOGTO_ERR_SIGNATURE,
                             "signature of the wrong length");
    }
    if (uses_p384_tables(jws, key)) {
        logto_p384_observe(LOGTO_P384_PATH_TABLES);
        if (!p384_verify(jws, key)) {
            return logto_err_set(err, LOGTO_ERR_SIGNATURE, "signature invalid");
        }
        return APR_SUCCESS;
    }
    if (jws->alg == LOGTO_ALG_ES384) {
        logto_p384_observe(LOGTO_P384_PATH_OPENSSL);
    }
    if (key->kty == LOGTO_KTY_EC) {
        if (ecdsa_der(&der, &len, p, key, sig, len) != APR_SUCCESS) {
            return logto_err_set(err, LOGTO_ERR_SIGNATURE, "signature invalid");
        }
        sig = der;
    }
    if (key->verifier[jws->alg] != NULL
            ? !prepared_verify(jws, key->verifier[jws->alg], sig, len)
            : !digest_verify(jws, key, sig, len)) {
        return logto_err_set(err, LOGTO_ERR_SIGNATURE, "signature invalid");
    }
    return APR_SUCCESS;
}
