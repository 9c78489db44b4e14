/*
 * logto_jws.h - compact JWS (RFC 7515) parsing and signature verification.
 */
#ifndef LOGTO_JWS_H
#define LOGTO_JWS_H

#include <apr_pools.h>
#include <jansson.h>

#include "logto_alg.h"
#include "logto_err.h"
#include "logto_jwk.h"

/* Longest token accepted, in bytes (SPEC: 16 KiB). */
#define LOGTO_TOKEN_MAX_SIZE (16 * 1024)

typedef struct logto_jws_t {
    json_t *header;  /* owned by the pool */
    json_t *payload; /* owned by the pool; NULL until
                        logto_jws_parse_payload */
    logto_alg_t alg;
    const char *alg_name;      /* as the token says it */
    const char *kid;           /* NULL when absent */
    const char *typ;           /* NULL when absent */
    const char *signing_input; /* header '.' payload, as sent */
    apr_size_t signing_input_len;
    const char *payload_b64; /* the payload part, in signing_input */
    apr_size_t payload_b64_len;
    const unsigned char *sig; /* decoded signature */
    apr_size_t sig_len;
} logto_jws_t;

/* Parse a compact JWS of len bytes into *pjws from p: exactly three
 * strict base64url parts, the header a JSON object within size and
 * nesting bounds, `alg` a string, `kid` and `typ` strings when present,
 * `typ` at+jwt or application/at+jwt (case-insensitive) when present,
 * `crit` refused (no extension is understood), `b64` false refused.
 * Something with no dot at all fails with LOGTO_ERR_OPAQUE; other shape
 * errors with their own reasons. Does not look at keys or the signature,
 * nor inside the payload (see logto_jws_parse_payload). */
apr_status_t logto_jws_parse(logto_jws_t **pjws, apr_pool_t *p,
                             const char *token, apr_size_t len,
                             logto_err_t *err);

/* logto_jws_parse for a JWS of another type: typ must be present and
 * name typ ("dpop+jwt"), with or without "application/", in any case; a
 * NULL typ is logto_jws_parse's access-token rule. */
apr_status_t logto_jws_parse_typed(logto_jws_t **pjws, apr_pool_t *p,
                                   const char *token, apr_size_t len,
                                   const char *typ, logto_err_t *err);

/* logto_jws_parse for a token whose header part is byte for byte one
 * parsed before: known (a JSON object, or NULL to parse it now) is that
 * parse, and p takes over the caller's reference to it. *pkid (pkid may
 * be NULL): the header's kid whenever the header was read that far, a
 * refused token's too, for logs; else NULL. */
apr_status_t logto_jws_parse_known(logto_jws_t **pjws, const char **pkid,
                                   apr_pool_t *p, const char *token,
                                   apr_size_t len, json_t *known,
                                   logto_err_t *err);

/* The length of jws's header part, at the start of its signing input; 0
 * for a token remembered without it (logto_jws_remembered). */
apr_size_t logto_jws_header_len(const logto_jws_t *jws);

/* Decode and parse jws's payload into jws->payload (a JSON object within
 * size and nesting bounds, from p), once its signature has verified:
 * fails with LOGTO_ERR_PAYLOAD or LOGTO_ERR_MALFORMED. */
apr_status_t logto_jws_parse_payload(logto_jws_t *jws, apr_pool_t *p,
                                     logto_err_t *err);

/* A token parsed before, from the header and payload logto_jws_parse and
 * logto_jws_parse_payload gave for it (a memo's, logto_memo.h), into *pjws
 * from p, which takes over the caller's references to both. It has no
 * signature nor signing input: only for a token whose signature is not
 * checked again. */
apr_status_t logto_jws_remembered(logto_jws_t **pjws, apr_pool_t *p,
                                  json_t *header, json_t *payload,
                                  logto_err_t *err);

/* What is decided before any key is looked at: jws's alg known, never
 * forbidden and in allowed (LOGTO_ERR_ALG), and a kid named
 * (LOGTO_ERR_KID_MISSING: Logto's tokens always name their key, and a
 * token that names none is refused even by a set of one key). */
apr_status_t logto_jws_check_keyless(const logto_jws_t *jws,
                                     logto_algset_t allowed, logto_err_t *err);

/* Choose the key of jwks that jws's kid names, after
 * logto_jws_check_keyless, and check that jws's alg fits it. Never uses
 * jku, x5u, jwk or x5c. *pkey points into jwks. */
apr_status_t logto_jws_select_key(const logto_jwk_t **pkey,
                                  const logto_jws_t *jws,
                                  const logto_jwks_t *jwks,
                                  logto_algset_t allowed, logto_err_t *err);

/* Prepare key, a member of a decoded key set, for verifying: a context per
 * algorithm that fits it (logto_jwk_t.verifier), freed with p. A key
 * without them verifies all the same, only slower. */
void logto_jws_prepare_key(logto_jwk_t *key, apr_pool_t *p);

/* Verify jws's signature with key, which must fit jws->alg. ECDSA
 * signatures are raw r||s of exactly twice the curve's size; DER, r or s
 * of 0 or >= the group order are refused. Fails with
 * LOGTO_ERR_SIGNATURE. Scratch memory from p. */
apr_status_t logto_jws_verify_signature(const logto_jws_t *jws,
                                        const logto_jwk_t *key, apr_pool_t *p,
                                        logto_err_t *err);

#endif /* LOGTO_JWS_H */
