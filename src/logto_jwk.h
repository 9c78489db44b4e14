/*
 * logto_jwk.h - JSON Web Keys (RFC 7517) and key sets, turned into OpenSSL
 * keys once, when a set is loaded, never per request.
 */
#ifndef LOGTO_JWK_H
#define LOGTO_JWK_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "logto_alg.h"
#include "logto_err.h"
#include "logto_p384.h"

/* Largest key set document accepted, in bytes. */
#define LOGTO_JWKS_MAX_SIZE (1024 * 1024)
/* Members of a set looked at: an issuer publishes a handful (Logto one
 * to three); decoding thousands would cost every child seconds. */
#define LOGTO_JWKS_MAX_MEMBERS 256
/* P-384 keys of one set that get verification tables (each
 * logto_p384_key_size() bytes, 48 KiB); the others verify through OpenSSL
 * alone. */
#define LOGTO_P384_MAX_KEYS 16
/* Smallest RSA modulus accepted, in bits. */
#define LOGTO_RSA_MIN_BITS 2048

typedef enum { LOGTO_KTY_EC = 1, LOGTO_KTY_RSA, LOGTO_KTY_OKP } logto_kty_t;

typedef struct logto_jwk_t {
    const char *kid; /* NULL when the key has none */
    logto_kty_t kty;
    logto_alg_t alg;        /* declared alg, LOGTO_ALG_NONE_KNOWN if absent */
    int curve_nid;          /* EC: NID_X9_62_prime256v1, NID_secp384r1,
                               NID_secp521r1; OKP: NID_ED25519; RSA: 0 */
    int bits;               /* key size in bits */
    const char *thumbprint; /* RFC 7638 SHA-256 thumbprint, base64url:
                               names the key material itself */
    EVP_PKEY *pkey;         /* freed by the pool's cleanup */
    const logto_p384_key_t *p384; /* P-384 keys of a decoded set: the
                                     verification tables, NULL when not
                                     built (logto_p384_enabled() off, or
                                     over LOGTO_P384_MAX_KEYS in the set) */
    EVP_PKEY_CTX *verifier[LOGTO_ALG__COUNT]; /* keys of a decoded set: per
                                     alg that fits, a context initialised
                                     for verifying, copied for each
                                     signature (NULL: none, the signature
                                     is checked from scratch) */
} logto_jwk_t;

typedef struct logto_jwks_t {
    apr_array_header_t *keys;    /* of logto_jwk_t *, usable keys only */
    apr_array_header_t *skipped; /* of const char *, why each other key
                                    was skipped ("kid=x: RSA key of 1024
                                    bits"): the first 20 reasons */
    int nskipped;                /* members skipped, all of them */
} logto_jwks_t;

/* How far the one who asks for a key set will wait for it. */
typedef enum {
    /* the keys held now, when they answer without a look further: never
     * reads the shared cache, fetches or waits (APR_EAGAIN otherwise) */
    LOGTO_KEYS_IN_HAND,
    /* may read the shared cache and fetch, but never waits for a fetch
     * someone else is making (APR_EAGAIN when without keys it would) */
    LOGTO_KEYS_NO_WAIT,
    /* may wait for another's fetch too, at most a fetch's timeout */
    LOGTO_KEYS_WAIT
} logto_keys_how_t;

/* Turn one JWK object into a key from p. Refuses, with LOGTO_ERR_KEY:
 * private members present (d, p, q, ...: a JWKS is public), unknown kty
 * or crv, members of the wrong length, EC points off the curve, RSA under
 * LOGTO_RSA_MIN_BITS, `use` other than "sig", `key_ops` without "verify",
 * a declared alg that is forbidden, unknown or does not fit the key. */
apr_status_t logto_jwk_from_json(logto_jwk_t **pjwk, apr_pool_t *p,
                                 const json_t *jwk, logto_err_t *err);

/* Parse a JWK Set document of len bytes ({"keys":[...]}) into *pjwks from
 * p. Unusable keys are skipped with a reason; a set left with no usable
 * key, a document that is not such a set, or one over LOGTO_JWKS_MAX_SIZE
 * fails with LOGTO_ERR_JWKS. While logto_p384_enabled(), the first
 * LOGTO_P384_MAX_KEYS P-384 keys get their verification tables. */
apr_status_t logto_jwks_parse(logto_jwks_t **pjwks, apr_pool_t *p,
                              const char *json, apr_size_t len,
                              logto_err_t *err);

/* The skipped members of jwks for a log line, from p: the first five
 * reasons and a count of the rest; "" when none was skipped. */
const char *logto_jwks_skipped_text(const logto_jwks_t *jwks, apr_pool_t *p);

/* The key of jwks named kid (exact match), or NULL. */
const logto_jwk_t *logto_jwks_find(const logto_jwks_t *jwks, const char *kid);

/* The key of jwks whose thumbprint is tp, or NULL. */
const logto_jwk_t *logto_jwks_find_thumbprint(const logto_jwks_t *jwks,
                                              const char *tp);

/* The JWK name of a key type ("EC", "RSA", "OKP"). Static storage. */
const char *logto_jwk_kty_name(logto_kty_t kty);

/* Whether alg can be verified with key: family, curve and declared alg
 * agree (ES256 needs P-256, ES384 P-384, ES512 P-521; RS* and PS* need
 * RSA; EdDSA needs Ed25519). */
int logto_jwk_fits_alg(const logto_jwk_t *key, logto_alg_t alg);

#endif /* LOGTO_JWK_H */
