/*
 * logto_dpop.c - DPoP proofs (RFC 9449 section 4.3): the proof carries
 * its own public key; the token's cnf.jkt says which key that must be.
 */
#include <math.h>
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "logto_b64url.h"
#include "logto_dpop.h"
#include "logto_form.h"
#include "logto_json.h"
#include "logto_md.h"

#define DPOP_TYP      "dpop+jwt"
#define REPLAY_PREFIX "dpop-jti:"

/* Members only a private or symmetric key has (RFC 7518 section 6). */
static const char *const private_members[] = {"d",  "p",   "q", "dp", "dq",
                                              "qi", "oth", "k", NULL};

/* ------------------------------------------------------------- parsing */

/* A parse failure of the JWS layer, told as a proof failure. */
static apr_status_t jws_refusal(const logto_err_t *why, logto_err_t *err)
{
    logto_reason_t reason = LOGTO_ERR_DPOP_MALFORMED;

    if (why->reason == LOGTO_ERR_TYP) {
        reason = LOGTO_ERR_DPOP_TYP;
    }
    else if (why->reason == LOGTO_ERR_ALG) {
        reason = LOGTO_ERR_DPOP_ALG;
    }
    /* the access token's words for something with no dot would mislead */
    if (why->reason == LOGTO_ERR_OPAQUE) {
        return logto_err_set(err, reason, "DPoP proof: not a JWT");
    }
    return logto_err_set(err, reason, "DPoP proof: %s", why->text);
}

/* The alg must be a known asymmetric one of the allowed set. */
static apr_status_t check_alg(const logto_jws_t *jws, logto_algset_t allowed,
                              logto_err_t *err)
{
    if (logto_alg_is_forbidden(jws->alg_name) ||
        jws->alg == LOGTO_ALG_NONE_KNOWN ||
        !logto_algset_has(allowed, jws->alg)) {
        return logto_err_set(err, LOGTO_ERR_DPOP_ALG,
                             "DPoP proof algorithm not allowed");
    }
    return APR_SUCCESS;
}

/* The header's jwk: a public key that fits the alg. */
static apr_status_t proof_key(logto_dpop_proof_t *proof, apr_pool_t *p,
                              logto_err_t *err)
{
    const json_t *jwk = json_object_get(proof->jws->header, "jwk");
    logto_jwk_t *key;
    logto_err_t why;
    int i;

    if (!json_is_object(jwk)) {
        return logto_err_set(err, LOGTO_ERR_DPOP_KEY,
                             "DPoP proof has no jwk header");
    }
    for (i = 0; private_members[i] != NULL; i++) {
        if (json_object_get(jwk, private_members[i]) != NULL) {
            return logto_err_set(err, LOGTO_ERR_DPOP_KEY,
                                 "DPoP proof jwk carries private key "
                                 "member '%s'",
                                 private_members[i]);
        }
    }
    if (logto_jwk_from_json(&key, p, jwk, &why) != APR_SUCCESS) {
        return logto_err_set(err, LOGTO_ERR_DPOP_KEY, "DPoP proof jwk: %s",
                             why.text);
    }
    if (!logto_jwk_fits_alg(key, proof->jws->alg)) {
        return logto_err_set(err, LOGTO_ERR_DPOP_KEY,
                             "DPoP proof alg does not fit its jwk");
    }
    proof->jwk = key;
    proof->jkt = key->thumbprint;
    return APR_SUCCESS;
}

/* A claim that must be a non-empty string. */
static apr_status_t need_string(const char **pout, const json_t *payload,
                                const char *name, logto_reason_t reason,
                                logto_err_t *err)
{
    const json_t *v = json_object_get(payload, name);

    *pout = NULL;
    if (!json_is_string(v) || json_string_length(v) == 0) {
        return logto_err_set(err, reason, "DPoP proof %s %s", name,
                             !v                  ? "missing"
                             : json_is_string(v) ? "is empty"
                                                 : "is not a string");
    }
    *pout = json_string_value(v);
    return APR_SUCCESS;
}

/* A claim that may be absent but is a string when present. */
static apr_status_t may_string(const char **pout, const json_t *payload,
                               const char *name, logto_reason_t reason,
                               logto_err_t *err)
{
    *pout = NULL;
    if (json_object_get(payload, name) == NULL) {
        return APR_SUCCESS;
    }
    return need_string(pout, payload, name, reason, err);
}

/* iat: a finite, non-negative number of seconds within 2^53. */
static apr_status_t proof_iat(logto_dpop_proof_t *proof, logto_err_t *err)
{
    const json_t *v = json_object_get(proof->jws->payload, "iat");
    double d;

    if (!json_is_number(v)) {
        return logto_err_set(err, LOGTO_ERR_DPOP_IAT, "DPoP proof iat %s",
                             v ? "is not a number" : "missing");
    }
    d = json_number_value(v);
    if (!isfinite(d) || d < 0 || d > 9007199254740992.0) {
        return logto_err_set(err, LOGTO_ERR_DPOP_IAT,
                             "DPoP proof iat out of range");
    }
    proof->iat = (apr_int64_t)d;
    return APR_SUCCESS;
}

static apr_status_t proof_claims(logto_dpop_proof_t *proof, logto_err_t *err)
{
    const json_t *pl = proof->jws->payload;

    if (need_string(&proof->jti, pl, "jti", LOGTO_ERR_DPOP_JTI, err) !=
            APR_SUCCESS ||
        need_string(&proof->htm, pl, "htm", LOGTO_ERR_DPOP_HTM, err) !=
            APR_SUCCESS ||
        need_string(&proof->htu, pl, "htu", LOGTO_ERR_DPOP_HTU, err) !=
            APR_SUCCESS ||
        proof_iat(proof, err) != APR_SUCCESS ||
        may_string(&proof->ath, pl, "ath", LOGTO_ERR_DPOP_ATH, err) !=
            APR_SUCCESS ||
        may_string(&proof->nonce, pl, "nonce", LOGTO_ERR_DPOP_NONCE, err) !=
            APR_SUCCESS) {
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t logto_dpop_parse(logto_dpop_proof_t **pproof, apr_pool_t *p,
                              const char *proof, apr_size_t len,
                              logto_algset_t allowed, logto_err_t *err)
{
    logto_dpop_proof_t *pr = apr_pcalloc(p, sizeof(*pr));
    logto_jws_t *jws;
    logto_err_t why;

    *pproof = NULL;
    if (len == 0) {
        return logto_err_set(err, LOGTO_ERR_DPOP_MISSING, "DPoP proof empty");
    }
    if (len > LOGTO_DPOP_MAX_SIZE) {
        return logto_err_set(err, LOGTO_ERR_DPOP_MALFORMED,
                             "DPoP proof too large");
    }
    if (logto_jws_parse_typed(&jws, p, proof, len, DPOP_TYP, &why) !=
        APR_SUCCESS) {
        return jws_refusal(&why, err);
    }
    pr->jws = jws;
    /* alg and key before the signature, the signature before any claim */
    if (check_alg(jws, allowed, err) != APR_SUCCESS ||
        proof_key(pr, p, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (logto_jws_verify_signature(jws, pr->jwk, p, &why) != APR_SUCCESS) {
        return logto_err_set(err, LOGTO_ERR_DPOP_SIGNATURE,
                             "DPoP proof signature invalid");
    }
    /* the payload is read only once the signature is good */
    if (logto_jws_parse_payload(jws, p, &why) != APR_SUCCESS) {
        return jws_refusal(&why, err);
    }
    if (proof_claims(pr, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    *pproof = pr;
    return APR_SUCCESS;
}

/* ------------------------------------------------------ URL normalising */

static int is_unreserved(int c)
{
    return apr_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Percent-encodings of path normalised into out (room for len + 1). */
static apr_status_t norm_percent(char *out, const char *s, apr_size_t len,
                                 logto_err_t *err)
{
    static const char hex[] = "0123456789ABCDEF";
    apr_size_t i;
    char *o = out;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int hi, lo;

        if (c <= 0x20 || c >= 0x7f) {
            return logto_err_set(err, LOGTO_ERR_DPOP_HTU,
                                 "URL has a control or non-ASCII character");
        }
        if (c != '%') {
            *o++ = (char)c;
            continue;
        }
        if (i + 2 >= len) {
            return logto_err_set(err, LOGTO_ERR_DPOP_HTU,
                                 "URL has a bad percent-encoding");
        }
        hi = logto_hex_digit(s[i + 1]);
        lo = hi < 0 ? -1 : logto_hex_digit(s[i + 2]);
        if (lo < 0) {
            return logto_err_set(err, LOGTO_ERR_DPOP_HTU,
                                 "URL has a bad percent-encoding");
        }
        c = (unsigned char)(hi * 16 + lo);
        if (is_unreserved(c)) {
            *o++ = (char)c;
        }
        else {
            *o++ = '%';
            *o++ = hex[hi];
            *o++ = hex[lo];
        }
        i += 2;
    }
    *o = '\0';
    return APR_SUCCESS;
}

/* RFC 3986 section 5.2.4, in place: in and out share the buffer, out
 * never overtakes in. */
static void remove_dot_segments(char *path)
{
    char *in = path, *out = path;

    while (*in) {
        if (!strncmp(in, "../", 3)) {
            in += 3;
        }
        else if (!strncmp(in, "./", 2)) {
            in += 2;
        }
        else if (!strncmp(in, "/./", 3)) {
            in += 2;
        }
        else if (!strcmp(in, "/.")) {
            in[1] = '\0';
        }
        else if (!strncmp(in, "/../", 4) || !strcmp(in, "/..")) {
            in += 3;
            if (*in == '\0') {
                *--in = '/';
            }
            while (out > path && *--out != '/') {
            }
        }
        else if (!strcmp(in, ".") || !strcmp(in, "..")) {
            in += strlen(in);
        }
        else {
            do {
                *out++ = *in++;
            } while (*in && *in != '/');
        }
    }
    *out = '\0';
}

/* Host of the authority in lower case, port checked and dropped when it
 * is the scheme's default. */
static apr_status_t norm_authority(const char **pout, apr_pool_t *p,
                                   const char *auth, apr_size_t len, int https,
                                   logto_err_t *err)
{
    const char *end = auth + len, *colon = NULL, *s;
    char *host, *h;
    apr_int64_t port = 0;

    if (memchr(auth, '@', len)) {
        return logto_err_set(err, LOGTO_ERR_DPOP_HTU, "URL has userinfo");
    }
    s = (len && auth[0] == '[') ? memchr(auth, ']', len) : auth;
    if (s == NULL) {
        return logto_err_set(err, LOGTO_ERR_DPOP_HTU, "URL host is bad");
    }
    colon = memchr(s, ':', (apr_size_t)(end - s));
    host = apr_pstrmemdup(p, auth, (apr_size_t)((colon ? colon : end) - auth));
    if (!*host || strchr(host, '%')) {
        return logto_err_set(err, LOGTO_ERR_DPOP_HTU, "URL host is bad");
    }
    for (h = host; *h; h++) {
        *h = (char)apr_tolower(*h);
    }
    for (s = colon ? colon + 1 : end; s < end; s++) {
        if (!apr_isdigit(*s) || (port = port * 10 + (*s - '0')) > 65535) {
            return logto_err_set(err, LOGTO_ERR_DPOP_HTU, "URL port is bad");
        }
    }
    if (!colon || colon + 1 == end || port == (https ? 443 : 80)) {
        *pout = host;
    }
    else {
        *pout = apr_psprintf(p, "%s:%" APR_INT64_T_FMT, host, port);
    }
    return APR_SUCCESS;
}

apr_status_t logto_url_normalize(const char **pout, apr_pool_t *p,
                                 const char *url, logto_err_t *err)
{
    const char *auth, *path, *end;
    const char *host = NULL;
    char *npath;
    int https;

    *pout = NULL;
    if (!strncasecmp(url, "https://", 8)) {
        https = 1;
        auth = url + 8;
    }
    else if (!strncasecmp(url, "http://", 7)) {
        https = 0;
        auth = url + 7;
    }
    else {
        return logto_err_set(err, LOGTO_ERR_DPOP_HTU,
                             "URL is not absolute http(s)");
    }
    path = auth + strcspn(auth, "/?#");
    end = path + strcspn(path, "?#");
    if (norm_authority(&host, p, auth, (apr_size_t)(path - auth), https, err) !=
        APR_SUCCESS) {
        return APR_EGENERAL;
    }
    npath = apr_palloc(p, (apr_size_t)(end - path) + 2);
    if (norm_percent(npath, path, (apr_size_t)(end - path), err) !=
        APR_SUCCESS) {
        return APR_EGENERAL;
    }
    remove_dot_segments(npath);
    *pout = apr_pstrcat(p, https ? "https://" : "http://", host,
                        *npath ? npath : "/", NULL);
    return APR_SUCCESS;
}

/* -------------------------------------------------------------- checks */

static const char *sha256_b64url(apr_pool_t *p, const void *data,
                                 apr_size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (!EVP_Digest(data, len, md, &mdlen, logto_md_sha256(), NULL)) {
        ERR_clear_error();
        return NULL;
    }
    return logto_b64url_encode(p, md, mdlen);
}

const char *logto_dpop_ath(apr_pool_t *p, const char *token, apr_size_t len)
{
    return sha256_b64url(p, token, len);
}

static apr_status_t check_htu(const logto_dpop_proof_t *proof,
                              const logto_dpop_expect_t *x, apr_pool_t *p,
                              logto_err_t *err)
{
    const char *want, *got;
    logto_err_t why;

    if (logto_url_normalize(&want, p, x->url, &why) != APR_SUCCESS) {
        return logto_err_set(err, LOGTO_ERR_DPOP_HTU,
                             "request URL unusable: %s", why.text);
    }
    if (logto_url_normalize(&got, p, proof->htu, &why) != APR_SUCCESS) {
        return logto_err_set(err, LOGTO_ERR_DPOP_HTU, "DPoP proof htu: %s",
                             why.text);
    }
    if (strcmp(want, got)) {
        return logto_err_set(err, LOGTO_ERR_DPOP_HTU,
                             "DPoP proof htu does not match the request URL");
    }
    return APR_SUCCESS;
}

static apr_status_t check_iat(const logto_dpop_proof_t *proof,
                              const logto_dpop_expect_t *x, logto_err_t *err)
{
    if (proof->iat < x->now - x->max_age - x->clock_skew) {
        return logto_err_set(err, LOGTO_ERR_DPOP_IAT,
                             "DPoP proof too old (iat)");
    }
    if (proof->iat > x->now + x->clock_skew) {
        return logto_err_set(err, LOGTO_ERR_DPOP_IAT,
                             "DPoP proof issued in the future (iat)");
    }
    return APR_SUCCESS;
}

static apr_status_t check_ath(const logto_dpop_proof_t *proof,
                              const logto_dpop_expect_t *x, apr_pool_t *p,
                              logto_err_t *err)
{
    const char *want;

    if (proof->ath == NULL) {
        return logto_err_set(err, LOGTO_ERR_DPOP_ATH, "DPoP proof ath missing");
    }
    want = logto_dpop_ath(p, x->token, x->token_len);
    if (want == NULL || strcmp(want, proof->ath)) {
        return logto_err_set(err, LOGTO_ERR_DPOP_ATH,
                             "DPoP proof ath is not the hash of the access "
                             "token");
    }
    return APR_SUCCESS;
}

apr_status_t logto_dpop_check(const logto_dpop_proof_t *proof,
                              const logto_dpop_expect_t *x, apr_pool_t *p,
                              logto_err_t *err)
{
    if (strcmp(proof->htm, x->method)) {
        return logto_err_set(err, LOGTO_ERR_DPOP_HTM,
                             "DPoP proof htm does not match the request "
                             "method");
    }
    if (check_htu(proof, x, p, err) != APR_SUCCESS ||
        check_iat(proof, x, err) != APR_SUCCESS ||
        check_ath(proof, x, p, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (x->jkt == NULL || strcmp(x->jkt, proof->jkt)) {
        return logto_err_set(err, LOGTO_ERR_DPOP_JKT,
                             "DPoP proof key is not the key the token is "
                             "bound to");
    }
    return APR_SUCCESS;
}

apr_status_t logto_dpop_verify(logto_dpop_proof_t **pproof, apr_pool_t *p,
                               const char *proof, apr_size_t len,
                               logto_algset_t allowed,
                               const logto_dpop_expect_t *x, logto_err_t *err)
{
    if (logto_dpop_parse(pproof, p, proof, len, allowed, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    return logto_dpop_check(*pproof, x, p, err);
}

const char *logto_dpop_replay_key(apr_pool_t *p,
                                  const logto_dpop_proof_t *proof)
{
    const char *id = apr_pstrcat(p, proof->jkt, "\n", proof->jti, NULL);
    const char *h = sha256_b64url(p, id, strlen(id));

    return h ? apr_pstrcat(p, REPLAY_PREFIX, h, NULL) : NULL;
}

apr_int64_t logto_dpop_replay_until(const logto_dpop_proof_t *proof,
                                    const logto_dpop_expect_t *x)
{
    return proof->iat + x->max_age + x->clock_skew + 1;
}

/* -------------------------------------------------------------- nonces */

#define NONCE_MAC_SIZE 16
#define NONCE_SIZE     (8 + NONCE_MAC_SIZE)

/* The nonce bytes of slot: the slot big-endian, then the truncated MAC. */
static int nonce_bytes(unsigned char out[NONCE_SIZE],
                       const unsigned char *secret, apr_uint64_t slot)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int i;

    for (i = 7; i >= 0; i--, slot >>= 8) {
        out[i] = (unsigned char)(slot & 0xff);
    }
    if (!HMAC(logto_md_sha256(), secret, LOGTO_DPOP_NONCE_SECRET_SIZE, out, 8,
              md, &mdlen) ||
        mdlen < NONCE_MAC_SIZE) {
        ERR_clear_error();
        return 0;
    }
    memcpy(out + 8, md, NONCE_MAC_SIZE);
    return 1;
}

const char *logto_dpop_nonce(apr_pool_t *p, const unsigned char *secret,
                             apr_int64_t now, apr_int64_t lifetime)
{
    unsigned char n[NONCE_SIZE];

    if (lifetime < 1 || now < 0 ||
        !nonce_bytes(n, secret, (apr_uint64_t)(now / lifetime))) {
        return NULL;
    }
    return logto_b64url_encode(p, n, sizeof(n));
}

int logto_dpop_nonce_valid(apr_pool_t *p, const char *nonce,
                           const unsigned char *secret, apr_int64_t now,
                           apr_int64_t lifetime)
{
    unsigned char want[NONCE_SIZE];
    unsigned char *got;
    apr_size_t len, i;
    apr_uint64_t slot = 0, current;

    if (!nonce || lifetime < 1 || now < 0 ||
        logto_b64url_decode(&got, &len, p, nonce, strlen(nonce), NULL) !=
            APR_SUCCESS ||
        len != NONCE_SIZE) {
        return 0;
    }
    for (i = 0; i < 8; i++) {
        slot = (slot << 8) | got[i];
    }
    current = (apr_uint64_t)(now / lifetime);
    if (slot != current && (current == 0 || slot != current - 1)) {
        return 0;
    }
    return nonce_bytes(want, secret, slot) &&
           CRYPTO_memcmp(want, got, NONCE_SIZE) == 0;
}
