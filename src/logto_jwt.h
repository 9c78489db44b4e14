/*
 * logto_jwt.h - the claims of a Logto access token (RFC 9068); the whole
 * verification is logto_verify (logto_verify.h).
 */
#ifndef LOGTO_JWT_H
#define LOGTO_JWT_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#include "logto_alg.h"
#include "logto_err.h"
#include "logto_jwk.h"
#include "logto_jws.h"

/* The one audience wildcard: every organization-token audience. */
#define LOGTO_ORG_AUD_PREFIX   "urn:logto:organization:"
#define LOGTO_ORG_AUD_WILDCARD "urn:logto:organization:*"

/* What a token must satisfy; built once at configuration time. */
typedef struct logto_policy_t {
    apr_array_header_t *issuers;   /* of const char *: exact accepted
                                      iss values, each with its keys */
    apr_array_header_t *audiences; /* of const char *; may hold the
                                      organization wildcard */
    logto_algset_t algorithms;
    apr_int64_t clock_skew; /* seconds of leeway */
    const char *cache_id;   /* what of the configuration decides
                               a verdict, for the token cache;
                               NULL: no token cache */
} logto_policy_t;

/* The verified claims, from the pool they were verified in. */
typedef struct logto_claims_t {
    json_t *header;  /* the JWS header (owned by the pool) */
    json_t *payload; /* all claims (owned by the pool) */
    const char *kid; /* header kid, NULL when absent */
    const char *jti; /* NULL when absent */
    const char *sub;
    const char *client_id;
    const char *scope;           /* as sent; NULL when absent */
    apr_array_header_t *scopes;  /* of const char *, split on spaces */
    apr_array_header_t *aud;     /* of const char * */
    const char *organization_id; /* organization_id claim, else from an
                                    urn:logto:organization:<id> aud */
    apr_int64_t exp;
    apr_int64_t nbf;            /* 0 when absent */
    apr_int64_t iat;            /* 0 when absent */
    const char *key_thumbprint; /* thumbprint of the verifying key */
} logto_claims_t;

/* Check the claims of an already signature-verified (and parsed) payload
 * against pol at time now (seconds since the epoch) and fill *pclaims
 * from p: iss exactly one of pol's issuers; aud (string or array of strings)
 * holds an accepted audience; exp present, an integer-valued number, not past
 * now - skew; nbf and iat, when present, numbers not after now + skew; a number
 * that is negative, not finite or beyond 2^53 is refused; scope a string when
 * present. */
apr_status_t logto_claims_check(logto_claims_t **pclaims, apr_pool_t *p,
                                const logto_jws_t *jws,
                                const logto_policy_t *pol, apr_int64_t now,
                                logto_err_t *err);

/* Claim at a dotted path of the verified payload, or NULL. */
json_t *logto_claims_get(const logto_claims_t *claims, const char *path);

/* Whether the claim at path equals one of values (nvalues of them): a
 * string claim compared exactly, a number or boolean by its text, an
 * array when any scalar member matches. */
int logto_claims_match(const logto_claims_t *claims, const char *path,
                       const char *const *values, int nvalues);

#endif /* LOGTO_JWT_H */
