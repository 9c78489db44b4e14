/*
 * logto_err.h - the caller-owned error every core function fills.
 *
 * The core never logs: it returns a status and describes the failure here.
 * The httpd glue alone maps a reason to an HTTP status, an
 * error_description and a log level.
 */
#ifndef LOGTO_ERR_H
#define LOGTO_ERR_H

#include <apr.h>
#include <apr_errno.h>

/* Why a token, a key set or a fetch was refused. Every reason a token can
 * be refused for is distinct, so tests and logs can tell them apart. */
typedef enum {
    LOGTO_OK = 0,
    /* token shape */
    LOGTO_ERR_TOO_LARGE, /* token over the size bound */
    LOGTO_ERR_OPAQUE,    /* not a JWT at all (Logto's opaque tokens) */
    LOGTO_ERR_MALFORMED, /* not three strict base64url parts */
    LOGTO_ERR_HEADER,    /* header not a JSON object / bad member */
    LOGTO_ERR_PAYLOAD,   /* payload not a JSON object */
    LOGTO_ERR_TYP,       /* typ present and not at+jwt */
    LOGTO_ERR_CRIT,      /* crit header names an extension */
    /* keys and signature */
    LOGTO_ERR_ALG,          /* alg missing, unknown or not allowed */
    LOGTO_ERR_KID_MISSING,  /* the token names no key (kid) */
    LOGTO_ERR_KID_UNKNOWN,  /* kid names no key of the set */
    LOGTO_ERR_KEY_MISMATCH, /* alg does not fit the key's type/curve/use */
    LOGTO_ERR_SIGNATURE,    /* signature invalid */
    /* claims */
    LOGTO_ERR_ISSUER,        /* iss missing or not the expected issuer */
    LOGTO_ERR_AUDIENCE,      /* no aud value accepted */
    LOGTO_ERR_EXP_MISSING,   /* exp absent */
    LOGTO_ERR_CLAIM_TYPE,    /* exp/nbf/iat not a usable number, etc. */
    LOGTO_ERR_EXPIRED,       /* exp in the past beyond the skew */
    LOGTO_ERR_NOT_YET_VALID, /* nbf in the future beyond the skew */
    LOGTO_ERR_IAT_FUTURE,    /* iat in the future beyond the skew */
    /* sender constraints: the token's cnf (RFC 7800, 9449, 8705) */
    LOGTO_ERR_CNF,          /* cnf not an object, jkt/x5t#S256 not strings */
    LOGTO_ERR_BOUND_BEARER, /* DPoP-bound token sent as a bearer token */
    LOGTO_ERR_NOT_BOUND,    /* DPoP scheme with a token bound to no key */
    LOGTO_ERR_SCHEME,       /* scheme the location does not accept */
    LOGTO_ERR_CERT_BINDING, /* certificate-bound token, no such cert */
    /* DPoP proofs (RFC 9449 section 4.3) */
    LOGTO_ERR_DPOP_MISSING,   /* no DPoP header, or more than one */
    LOGTO_ERR_DPOP_MALFORMED, /* not a compact JWS, claims of bad type */
    LOGTO_ERR_DPOP_TYP,       /* typ not dpop+jwt */
    LOGTO_ERR_DPOP_ALG,       /* alg not an allowed asymmetric one */
    LOGTO_ERR_DPOP_KEY,       /* jwk missing, private or unusable */
    LOGTO_ERR_DPOP_SIGNATURE, /* signature invalid under the jwk */
    LOGTO_ERR_DPOP_HTM,       /* htm not the request's method */
    LOGTO_ERR_DPOP_HTU,       /* htu not the request's URL */
    LOGTO_ERR_DPOP_IAT,       /* iat missing, too old or in the future */
    LOGTO_ERR_DPOP_JTI,       /* jti missing */
    LOGTO_ERR_DPOP_REPLAY,    /* jti seen before within the window */
    LOGTO_ERR_DPOP_ATH,       /* ath not the hash of the access token */
    LOGTO_ERR_DPOP_JKT,       /* proof key is not the token's cnf.jkt */
    LOGTO_ERR_DPOP_NONCE,     /* server nonce missing or stale */
    /* not about a token: configuration, keys, network */
    LOGTO_ERR_JWKS,     /* key set unusable (no usable key, not JSON) */
    LOGTO_ERR_KEY,      /* one key unusable (skipped from its set) */
    LOGTO_ERR_CONFIG,   /* bad configuration value */
    LOGTO_ERR_FETCH,    /* network fetch failed */
    LOGTO_ERR_INTERNAL, /* allocation or library failure */
    LOGTO_ERR__COUNT
} logto_reason_t;

typedef struct logto_err_t {
    logto_reason_t reason;
    char text[200];
} logto_err_t;

/* Reset err to LOGTO_OK with an empty text. */
void logto_err_clear(logto_err_t *err);

/* Set reason and a printf-style text (truncated to fit); returns
 * APR_EGENERAL so callers can write `return logto_err_set(...)`.
 * err may be NULL. */
apr_status_t logto_err_set(logto_err_t *err, logto_reason_t reason,
                           const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A stable, short, lower-case name of a reason ("signature_invalid"),
 * for counters and logs. Static storage. */
const char *logto_reason_name(logto_reason_t reason);

/* Whether the reason is a refusal of the token itself (401 material), as
 * opposed to a key, configuration or network failure. */
int logto_reason_is_token(logto_reason_t reason);

/* Whether the reason is about the DPoP proof rather than the token
 * (error="invalid_dpop_proof" or "use_dpop_nonce", RFC 9449 7.1). */
int logto_reason_is_dpop_proof(logto_reason_t reason);

#endif /* LOGTO_ERR_H */
