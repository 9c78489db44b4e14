/*
 * logto_jwt.c - the claims of a Logto access token (RFC 9068).
 *
 * Texts set here become the HTTP error_description: short, lower-case and
 * never a copy of anything the token carries.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "logto_json.h"
#include "logto_jwt.h"
#include "logto_scope.h"

/* Largest integer a JSON number carries exactly in every implementation
 * (RFC 7493 section 2.2): beyond it two times may compare equal. */
#define LOGTO_MAX_SAFE_INT ((apr_int64_t)1 << 53)

/* Whether aud is an organization audience: the prefix and a non-empty id
 * other than "*" (the wildcard names no organization). */
static const char *org_id_of_aud(const char *aud)
{
    apr_size_t n = sizeof(LOGTO_ORG_AUD_PREFIX) - 1;

    if (strncmp(aud, LOGTO_ORG_AUD_PREFIX, n) != 0 || aud[n] == '\0' ||
        strcmp(aud + n, "*") == 0) {
        return NULL;
    }
    return aud + n;
}

/* Whether one token audience is one the policy accepts. */
static int aud_accepted(const logto_policy_t *pol, const char *aud)
{
    int i;

    for (i = 0; pol->audiences && i < pol->audiences->nelts; i++) {
        const char *want = APR_ARRAY_IDX(pol->audiences, i, const char *);

        /* the wildcard matches organizations, never itself */
        if (strcmp(want, LOGTO_ORG_AUD_WILDCARD) == 0) {
            if (org_id_of_aud(aud)) {
                return 1;
            }
        }
        else if (strcmp(want, aud) == 0) {
            return 1;
        }
    }
    return 0;
}

static apr_status_t check_issuer(const json_t *payload,
                                 const logto_policy_t *pol, logto_err_t *err)
{
    const char *iss = logto_json_str(payload, "iss");
    int i;

    if (!iss) {
        return logto_err_set(err, LOGTO_ERR_ISSUER,
                             json_object_get(payload, "iss")
                                 ? "iss is not a string"
                                 : "issuer missing");
    }
    for (i = 0; pol->issuers && i < pol->issuers->nelts; i++) {
        if (strcmp(iss, APR_ARRAY_IDX(pol->issuers, i, const char *)) == 0) {
            return APR_SUCCESS;
        }
    }
    return logto_err_set(err, LOGTO_ERR_ISSUER, "issuer not accepted");
}

/* Collect aud (a string or an array of strings) into *paud, then require
 * one accepted value. */
static apr_status_t check_audience(apr_array_header_t **paud, apr_pool_t *p,
                                   const json_t *payload,
                                   const logto_policy_t *pol, logto_err_t *err)
{
    const json_t *aud = json_object_get(payload, "aud");
    apr_array_header_t *list = apr_array_make(p, 2, sizeof(const char *));
    int accepted = 0;
    size_t i;

    *paud = list;
    if (!aud) {
        return logto_err_set(err, LOGTO_ERR_AUDIENCE, "audience missing");
    }
    if (json_is_string(aud)) {
        APR_ARRAY_PUSH(list, const char *) = json_string_value(aud);
    }
    else if (json_is_array(aud)) {
        for (i = 0; i < json_array_size(aud); i++) {
            const json_t *one = json_array_get(aud, i);

            if (!json_is_string(one)) {
                return logto_err_set(err, LOGTO_ERR_CLAIM_TYPE,
                                     "aud not a string or array of strings");
            }
            APR_ARRAY_PUSH(list, const char *) = json_string_value(one);
        }
    }
    else {
        return logto_err_set(err, LOGTO_ERR_CLAIM_TYPE,
                             "aud not a string or array of strings");
    }
    for (i = 0; i < (size_t)list->nelts && !accepted; i++) {
        accepted = aud_accepted(pol, APR_ARRAY_IDX(list, i, const char *));
    }
    if (!accepted) {
        return logto_err_set(err, LOGTO_ERR_AUDIENCE, "audience not accepted");
    }
    return APR_SUCCESS;
}

/* A NumericDate claim as whole seconds: a JSON number, neither negative
 * nor beyond 2^53, and finite. *pfound tells whether it was present. */
static apr_status_t get_time(apr_int64_t *pt, int *pfound,
                             const json_t *payload, const char *name,
                             logto_err_t *err)
{
    const json_t *v = json_object_get(payload, name);
    double d;

    *pt = 0;
    *pfound = v != NULL;
    if (!v) {
        return APR_SUCCESS;
    }
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);

        if (i >= 0 && i <= LOGTO_MAX_SAFE_INT) {
            *pt = (apr_int64_t)i;
            return APR_SUCCESS;
        }
    }
    else if (json_is_real(v)) {
        d = json_real_value(v);
        if (isfinite(d) && d >= 0 && d <= (double)LOGTO_MAX_SAFE_INT) {
            /* truncation is the floor of a non-negative number */
            *pt = (apr_int64_t)d;
            return APR_SUCCESS;
        }
    }
    return logto_err_set(err, LOGTO_ERR_CLAIM_TYPE, "%s not a valid time",
                         name);
}

/* exp required and not past; nbf and iat, when present, not ahead. */
static apr_status_t check_times(logto_claims_t *c, const json_t *payload,
                                const logto_policy_t *pol, apr_int64_t now,
                                logto_err_t *err)
{
    /* A negative leeway counts as none; a huge one is capped so that the
     * sums below cannot overflow. */
    apr_int64_t skew = pol->clock_skew < 0 ? 0 : pol->clock_skew;
    int found;

    if (skew > LOGTO_MAX_SAFE_INT) {
        skew = LOGTO_MAX_SAFE_INT;
    }
    if (get_time(&c->exp, &found, payload, "exp", err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (!found) {
        return logto_err_set(err, LOGTO_ERR_EXP_MISSING, "exp missing");
    }
    if (get_time(&c->nbf, &found, payload, "nbf", err) != APR_SUCCESS ||
        get_time(&c->iat, &found, payload, "iat", err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    /* RFC 7519 4.1.4: valid only before exp (with the leeway) */
    if (now >= c->exp + skew) {
        return logto_err_set(err, LOGTO_ERR_EXPIRED, "token expired");
    }
    if (c->nbf > now + skew) {
        return logto_err_set(err, LOGTO_ERR_NOT_YET_VALID,
                             "token not yet valid");
    }
    if (c->iat > now + skew) {
        return logto_err_set(err, LOGTO_ERR_IAT_FUTURE,
                             "token issued in the future");
    }
    return APR_SUCCESS;
}

/* An optional string claim: *pv is NULL when absent. */
static apr_status_t get_string(const char **pv, const json_t *payload,
                               const char *name, logto_err_t *err)
{
    const json_t *v = json_object_get(payload, name);

    *pv = NULL;
    if (!v) {
        return APR_SUCCESS;
    }
    if (!json_is_string(v)) {
        return logto_err_set(err, LOGTO_ERR_CLAIM_TYPE, "%s not a string",
                             name);
    }
    *pv = json_string_value(v);
    return APR_SUCCESS;
}

static apr_status_t get_strings(logto_claims_t *c, apr_pool_t *p,
                                const json_t *payload,
                                const logto_policy_t *pol, logto_err_t *err)
{
    const char *org;
    int i, claimed;

    if (get_string(&c->scope, payload, "scope", err) != APR_SUCCESS ||
        get_string(&c->sub, payload, "sub", err) != APR_SUCCESS ||
        get_string(&c->client_id, payload, "client_id", err) != APR_SUCCESS ||
        get_string(&c->jti, payload, "jti", err) != APR_SUCCESS ||
        get_string(&org, payload, "organization_id", err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    c->scopes = logto_scope_split(p, c->scope);
    if (org != NULL && *org == '\0') {
        org = NULL; /* an empty id names no organization */
    }
    /* An organization token names its organization in the claim, or only
     * in its audience (urn:logto:organization:<id>): in one this
     * configuration accepted, never in another entry of the list. Where
     * it names it in both, they agree: the audience is what the token
     * was issued for. */
    claimed = org != NULL;
    for (i = 0; i < c->aud->nelts; i++) {
        const char *aud = APR_ARRAY_IDX(c->aud, i, const char *);
        const char *id = aud_accepted(pol, aud) ? org_id_of_aud(aud) : NULL;

        if (id && org && strcmp(id, org) != 0) {
            return logto_err_set(err, LOGTO_ERR_AUDIENCE,
                                 claimed ? "organization_id is not the "
                                           "organization of aud"
                                         : "aud names more than one "
                                           "organization");
        }
        org = org ? org : id;
    }
    c->organization_id = org;
    return APR_SUCCESS;
}

apr_status_t logto_claims_check(logto_claims_t **pclaims, apr_pool_t *p,
                                const logto_jws_t *jws,
                                const logto_policy_t *pol, apr_int64_t now,
                                logto_err_t *err)
{
    logto_claims_t *c;

    *pclaims = NULL;
    if (!jws || !json_is_object(jws->payload) || !pol) {
        return logto_err_set(err, LOGTO_ERR_PAYLOAD, "payload invalid");
    }
    c = apr_pcalloc(p, sizeof(*c));
    c->header = jws->header;
    c->payload = jws->payload;
    c->kid = jws->kid;
    if (check_issuer(c->payload, pol, err) != APR_SUCCESS ||
        check_audience(&c->aud, p, c->payload, pol, err) != APR_SUCCESS ||
        check_times(c, c->payload, pol, now, err) != APR_SUCCESS ||
        get_strings(c, p, c->payload, pol, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    *pclaims = c;
    return APR_SUCCESS;
}

json_t *logto_claims_get(const logto_claims_t *claims, const char *path)
{
    if (!claims || !claims->payload || !path) {
        return NULL;
    }
    return logto_json_path(claims->payload, path);
}

/* Whether want is a JSON number; *pinteger whether it has neither a
 * fraction nor an exponent. */
static int is_json_number(const char *want, int *pinteger)
{
    const char *s = want + (*want == '-');

    if (*s == '0') {
        s++;
    }
    else if (*s >= '1' && *s <= '9') {
        while (*s >= '0' && *s <= '9') {
            s++;
        }
    }
    else {
        return 0;
    }
    *pinteger = *s == '\0';
    if (*s == '.') {
        if (!(*++s >= '0' && *s <= '9')) {
            return 0;
        }
        while (*s >= '0' && *s <= '9') {
            s++;
        }
    }
    if (*s == 'e' || *s == 'E') {
        s += s[1] == '+' || s[1] == '-' ? 2 : 1;
        if (!(*s >= '0' && *s <= '9')) {
            return 0;
        }
        while (*s >= '0' && *s <= '9') {
            s++;
        }
    }
    return *s == '\0';
}

/* Whether the number i of a claim equals the configured text want, a
 * JSON number written however (1, 1.0 and 1e0 are one number): integers
 * exactly, others as doubles. */
static int integer_matches(json_int_t i, const char *want)
{
    int integer;
    char *end;
    apr_int64_t w;
    double d;

    if (!is_json_number(want, &integer)) {
        return 0;
    }
    if (integer) {
        errno = 0;
        w = apr_strtoi64(want, &end, 10);
        return errno == 0 && *end == '\0' && w == (apr_int64_t)i;
    }
    d = strtod(want, &end);
    return d == floor(d) && fabs(d) < 9007199254740992.0 &&
           (apr_int64_t)d == (apr_int64_t)i;
}

static int real_matches(double r, const char *want)
{
    int integer;
    char *end;

    if (!is_json_number(want, &integer)) {
        return 0;
    }
    /* an integer literal names one integer: the double must be it */
    if (integer && r == floor(r) && fabs(r) < 9.2e18) {
        return integer_matches((json_int_t)r, want);
    }
    return !integer && strtod(want, &end) == r;
}

/* Whether one scalar value equals the configured text want. */
static int scalar_matches(const json_t *v, const char *want)
{
    switch (json_typeof(v)) {
        case JSON_STRING:
            return strcmp(json_string_value(v), want) == 0;
        case JSON_INTEGER:
            return integer_matches(json_integer_value(v), want);
        case JSON_REAL:
            return real_matches(json_real_value(v), want);
        case JSON_TRUE:
            return strcmp(want, "true") == 0;
        case JSON_FALSE:
            return strcmp(want, "false") == 0;
        default:
            return 0;
    }
}

static int value_matches(const json_t *v, const char *want)
{
    size_t i;

    if (!json_is_array(v)) {
        return scalar_matches(v, want);
    }
    for (i = 0; i < json_array_size(v); i++) {
        if (scalar_matches(json_array_get(v, i), want)) {
            return 1;
        }
    }
    return 0;
}

int logto_claims_match(const logto_claims_t *claims, const char *path,
                       const char *const *values, int nvalues)
{
    const json_t *v = logto_claims_get(claims, path);
    int i;

    if (!v || !values) {
        return 0;
    }
    for (i = 0; i < nvalues; i++) {
        if (values[i] && value_matches(v, values[i])) {
            return 1;
        }
    }
    return 0;
}
