/*
 * logto_alg.h - the JWS algorithms the module knows, as a set.
 */
#ifndef LOGTO_ALG_H
#define LOGTO_ALG_H

#include "logto_err.h"

typedef enum {
    LOGTO_ALG_NONE_KNOWN = 0,
    LOGTO_ALG_ES256,
    LOGTO_ALG_ES384,
    LOGTO_ALG_ES512,
    LOGTO_ALG_RS256,
    LOGTO_ALG_RS384,
    LOGTO_ALG_RS512,
    LOGTO_ALG_PS256,
    LOGTO_ALG_PS384,
    LOGTO_ALG_PS512,
    LOGTO_ALG_EDDSA,
    LOGTO_ALG__COUNT
} logto_alg_t;

/* A set of algorithms: bit (1 << alg). */
typedef unsigned int logto_algset_t;

#define LOGTO_ALGSET_DEFAULT                                                   \
    ((logto_algset_t)(((1u << LOGTO_ALG__COUNT) - 1) & ~1u))

/* The algorithm named exactly `name` (case-sensitive, as RFC 7518 says),
 * or LOGTO_ALG_NONE_KNOWN. */
logto_alg_t logto_alg_from_name(const char *name);

/* The registered name of alg ("ES384"); "unknown" for others. */
const char *logto_alg_name(logto_alg_t alg);

/* Whether name is an algorithm that must never be accepted whatever is
 * configured: "none" (any case) and the HMAC family HS*. */
int logto_alg_is_forbidden(const char *name);

/* Parse a configured list ("ES384 RS256", separated by spaces or commas)
 * into *pset. Refuses forbidden and unknown names and an empty list with
 * LOGTO_ERR_CONFIG and a text naming the word. */
apr_status_t logto_algset_parse(logto_algset_t *pset, const char *list,
                                logto_err_t *err);

/* Whether alg is in set. */
int logto_algset_has(logto_algset_t set, logto_alg_t alg);

#endif /* LOGTO_ALG_H */
