/*
 * json_judge.h - Jansson as the judge of logto_json_parse_object: the same
 * bytes go to the function and to json_loadb, read with the rules the
 * function promises (an object; no NUL byte; no member named twice;
 * nesting no deeper than the bound), and the two must agree on whether
 * the bytes are accepted; an accepted document must be the one Jansson
 * builds, its members in the same order, of the same types and values.
 * Shared by t/unit/test_json.c and fuzz/fuzz_json.c.
 */
#ifndef LOGTO_JSON_JUDGE_H
#define LOGTO_JSON_JUDGE_H

#include <stdlib.h>
#include <string.h>

#include "logto_json.h"

/* Nesting of a parsed value: an object or array is one deeper than its
 * deepest member. */
static int judge_depth(json_t *v)
{
    int deepest = 0, d;
    const char *name;
    json_t *m;
    size_t i;

    if (json_is_object(v)) {
        json_object_foreach(v, name, m)
        {
            d = judge_depth(m);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, m)
        {
            d = judge_depth(m);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    return 0;
}

/* Same members in the same order, same types, same values. */
static int judge_same(json_t *want, json_t *got)
{
    size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER;
    char *a = json_dumps(want, flags), *b = json_dumps(got, flags);
    int same = a && b && strcmp(a, b) == 0 && json_equal(want, got);

    free(a);
    free(b);
    return same;
}

/* 1 when logto_json_parse_object reads len bytes of buf as Jansson does,
 * at max_depth, and so does logto_json_quick_parse when it reads them at
 * all; 0 when they differ. *pquick (unless NULL): whether the quick
 * reading took them. The bytes are copied to a buffer of exactly len, so
 * that a read past the end is the sanitizers' to see; the document goes
 * to p. */
static int json_judge(const char *buf, size_t len, int max_depth, apr_pool_t *p,
                      int *pquick)
{
    char *copy = malloc(len ? len : 1);
    json_error_t jerr;
    json_t *want, *got = NULL, *quick;
    logto_err_t err;
    int accepted, agreed;

    if (copy == NULL) {
        abort();
    }
    memcpy(copy, buf, len);
    want = json_loadb(copy, len, JSON_REJECT_DUPLICATES, &jerr);
    if (want && (!json_is_object(want) || memchr(copy, '\0', len) ||
                 judge_depth(want) > max_depth)) {
        json_decref(want);
        want = NULL;
    }
    logto_err_clear(&err);
    accepted = logto_json_parse_object(&got, p, copy, len, max_depth,
                                       LOGTO_ERR_PAYLOAD, &err) == APR_SUCCESS;
    if (accepted) {
        agreed = want != NULL && got != NULL && judge_same(want, got);
    }
    else {
        agreed = want == NULL && got == NULL && err.text[0] != '\0';
    }
    quick = logto_json_quick_parse(copy, len, max_depth);
    if (quick != NULL && (want == NULL || !judge_same(want, quick))) {
        agreed = 0;
    }
    if (pquick) {
        *pquick = quick != NULL;
    }
    json_decref(quick);
    json_decref(want);
    free(copy);
    return agreed;
}

#endif /* LOGTO_JSON_JUDGE_H */
