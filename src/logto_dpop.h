/*
 * logto_dpop.h - DPoP proofs (RFC 9449): parsing, signature under the
 * proof's own key, and the checks against the request and the access
 * token. The replay check (jti) needs the shared cache and is the
 * caller's; logto_dpop_replay_key names the entry.
 */
#ifndef LOGTO_DPOP_H
#define LOGTO_DPOP_H

#include <apr_pools.h>
#include <jansson.h>

#include "logto_alg.h"
#include "logto_err.h"
#include "logto_jwk.h"
#include "logto_jws.h"

/* Longest proof accepted, in bytes. */
#define LOGTO_DPOP_MAX_SIZE (8 * 1024)

/* A proof whose shape, header, key and signature are good. */
typedef struct logto_dpop_proof_t {
    const logto_jws_t *jws;
    const logto_jwk_t *jwk; /* the public key of the header's jwk */
    const char *jkt;        /* its RFC 7638 thumbprint, base64url */
    const char *jti;
    const char *htm;
    const char *htu;
    const char *ath;   /* NULL when absent */
    const char *nonce; /* NULL when absent */
    apr_int64_t iat;
} logto_dpop_proof_t;

/* What a proof must match: the request it came with and its token. */
typedef struct logto_dpop_expect_t {
    const char *method; /* the request's method, exactly */
    const char *url;    /* the request's URL; query and fragment are
                           ignored, both sides are normalised */
    const char *token;  /* the access token (for ath) */
    apr_size_t token_len;
    const char *jkt;        /* the token's cnf.jkt */
    apr_int64_t now;        /* seconds since the epoch */
    apr_int64_t max_age;    /* accepted age of iat, seconds */
    apr_int64_t clock_skew; /* leeway both ways, seconds */
} logto_dpop_expect_t;

/* Parse proof (len bytes, the DPoP header's value) into *pproof from p:
 * a compact JWS within LOGTO_DPOP_MAX_SIZE whose header has typ
 * dpop+jwt, an alg in allowed (never none or HS*), a jwk that is a
 * usable public key (private members refused) fitting the alg, and whose
 * signature verifies under that jwk; the payload has a string jti, htm
 * and htu and a numeric iat, and ath and nonce are strings when present.
 * Each refusal has its own LOGTO_ERR_DPOP_* reason. */
apr_status_t logto_dpop_parse(logto_dpop_proof_t **pproof, apr_pool_t *p,
                              const char *proof, apr_size_t len,
                              logto_algset_t allowed, logto_err_t *err);

/* Check a parsed proof against x: htm equals the method, htu the URL
 * (RFC 3986 normalisation, query and fragment ignored), iat neither
 * older than max_age + skew nor more than skew ahead, ath the base64url
 * SHA-256 of the token, and the proof's key the token's cnf.jkt.
 * Scratch memory from p. */
apr_status_t logto_dpop_check(const logto_dpop_proof_t *proof,
                              const logto_dpop_expect_t *x, apr_pool_t *p,
                              logto_err_t *err);

/* logto_dpop_parse, then logto_dpop_check. */
apr_status_t logto_dpop_verify(logto_dpop_proof_t **pproof, apr_pool_t *p,
                               const char *proof, apr_size_t len,
                               logto_algset_t allowed,
                               const logto_dpop_expect_t *x, logto_err_t *err);

/* Normalise an absolute http(s) URL (RFC 3986 section 6.2.2 and 6.2.3):
 * scheme and host in lower case, a default or empty port dropped,
 * percent-encodings of unreserved characters decoded and the others in
 * upper case, dot segments removed, an empty path as "/"; query and
 * fragment dropped. Userinfo, a bad port, a bad percent-encoding and
 * control characters fail with LOGTO_ERR_DPOP_HTU. *pout from p. */
apr_status_t logto_url_normalize(const char **pout, apr_pool_t *p,
                                 const char *url, logto_err_t *err);

/* The ath of an access token: base64url(SHA-256(token)), from p. */
const char *logto_dpop_ath(apr_pool_t *p, const char *token, apr_size_t len);

/* The shared-cache key under which the proof's jti is remembered: a
 * section prefix and a hash of the proof's key and jti, from p. */
const char *logto_dpop_replay_key(apr_pool_t *p,
                                  const logto_dpop_proof_t *proof);

/* Until when (seconds since the epoch) a proof can still be accepted,
 * so how long its jti must be remembered. */
apr_int64_t logto_dpop_replay_until(const logto_dpop_proof_t *proof,
                                    const logto_dpop_expect_t *x);

/* Bytes of the secret server nonces are made with. */
#define LOGTO_DPOP_NONCE_SECRET_SIZE 32

/* A server nonce (RFC 9449 section 9) for the time slot of now (slots
 * of lifetime seconds): base64url of the slot number and an HMAC-SHA-256
 * of it under secret (LOGTO_DPOP_NONCE_SECRET_SIZE bytes). From p; NULL
 * when HMAC fails. */
const char *logto_dpop_nonce(apr_pool_t *p, const unsigned char *secret,
                             apr_int64_t now, apr_int64_t lifetime);

/* Whether nonce is one logto_dpop_nonce made with secret for the slot of
 * now or the slot before (so a nonce lives between one and two
 * lifetimes). Scratch memory from p. */
int logto_dpop_nonce_valid(apr_pool_t *p, const char *nonce,
                           const unsigned char *secret, apr_int64_t now,
                           apr_int64_t lifetime);

#endif /* LOGTO_DPOP_H */
