/*
 * logto_scope.c - OAuth scopes (RFC 6749 section 3.3): space-delimited.
 */
#include <string.h>

#include <apr_strings.h>

#include "logto_scope.h"

apr_array_header_t *logto_scope_split(apr_pool_t *p, const char *scope)
{
    apr_array_header_t *words = apr_array_make(p, 4, sizeof(const char *));
    const char *s = scope;

    while (s && *s) {
        apr_size_t n;

        while (*s == ' ') {
            s++;
        }
        n = strcspn(s, " ");
        if (n > 0) {
            APR_ARRAY_PUSH(words, const char *) = apr_pstrmemdup(p, s, n);
        }
        s += n;
    }
    return words;
}

int logto_scope_has(const apr_array_header_t *granted, const char *s)
{
    int i;

    if (!granted || !s) {
        return 0;
    }
    for (i = 0; i < granted->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(granted, i, const char *), s) == 0) {
            return 1;
        }
    }
    return 0;
}

const char *logto_scope_missing(apr_pool_t *p,
                                const apr_array_header_t *granted,
                                const apr_array_header_t *required)
{
    const char *missing = NULL;
    int i;

    if (!required) {
        return NULL;
    }
    for (i = 0; i < required->nelts; i++) {
        const char *s = APR_ARRAY_IDX(required, i, const char *);

        if (logto_scope_has(granted, s)) {
            continue;
        }
        missing =
            missing ? apr_pstrcat(p, missing, " ", s, NULL) : apr_pstrdup(p, s);
    }
    return missing;
}

const char *logto_scope_union(apr_pool_t *p, const char *a, const char *b)
{
    apr_array_header_t *all = logto_scope_split(p, a);
    apr_array_header_t *more = logto_scope_split(p, b);
    int i;

    for (i = 0; i < more->nelts; i++) {
        const char *s = APR_ARRAY_IDX(more, i, const char *);

        if (!logto_scope_has(all, s)) {
            APR_ARRAY_PUSH(all, const char *) = s;
        }
    }
    return all->nelts ? apr_array_pstrcat(p, all, ' ') : NULL;
}

int logto_scope_token_valid(const char *s)
{
    if (!s || !*s) {
        return 0;
    }
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch < 0x21 || ch > 0x7e || ch == '"' || ch == '\\') {
            return 0;
        }
    }
    return 1;
}
