/*
 * logto_scope.h - OAuth scopes (RFC 6749 section 3.3): space-delimited.
 */
#ifndef LOGTO_SCOPE_H
#define LOGTO_SCOPE_H

#include <apr_pools.h>
#include <apr_tables.h>

/* Whether s is a scope-token: one or more of %x21 / %x23-5B / %x5D-7E
 * (printable ASCII but space, quote and backslash). */
int logto_scope_token_valid(const char *s);

/* Split a scope string on spaces into an array of const char * from p;
 * empty words are dropped. NULL or "" gives an empty array. */
apr_array_header_t *logto_scope_split(apr_pool_t *p, const char *scope);

/* Whether granted (array of const char *) holds s exactly. */
int logto_scope_has(const apr_array_header_t *granted, const char *s);

/* The scopes of required (array of const char *) missing from granted,
 * joined with one space, from p; NULL when none is missing. */
const char *logto_scope_missing(apr_pool_t *p,
                                const apr_array_header_t *granted,
                                const apr_array_header_t *required);

/* The scopes of the space-separated lists a and b (either NULL), each
 * once, a's first, joined with one space, from p; NULL when none. */
const char *logto_scope_union(apr_pool_t *p, const char *a, const char *b);

#endif /* LOGTO_SCOPE_H */
