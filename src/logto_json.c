/*
 * logto_json.c - Jansson, wrapped once: bounded parsing and pool ownership.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "logto_json.h"

static apr_status_t json_cleanup(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

json_t *logto_json_own(apr_pool_t *p, json_t *json)
{
    if (json) {
        apr_pool_cleanup_register(p, json, json_cleanup, apr_pool_cleanup_null);
    }
    return json;
}

/* What a client is told of JSON Jansson refused: valid JSON that holds
 * what a token must not is said as such, the rest is "not valid JSON". */
static const char *json_refusal(const json_error_t *jerr)
{
#if JANSSON_VERSION_HEX >= 0x020b00 /* json_error_code: Jansson 2.11 */
    switch (json_error_code(jerr)) {
        case json_error_numeric_overflow:
            return "a number out of range";
        case json_error_null_character:
            return "a string holds a NUL character";
        case json_error_duplicate_key:
            return "a member named twice";
        default:
            return "not valid JSON";
    }
#else
    (void)jerr;
    return "not valid JSON";
#endif
}

/* The deepest nesting of buf, counting brackets outside strings only.
 * Runs before Jansson so a hostile document never reaches its recursive
 * parser; stops counting once max is exceeded. */
static int nesting_depth(const char *buf, apr_size_t len, int max)
{
    apr_size_t i;
    int depth = 0, deepest = 0, in_string = 0;

    for (i = 0; i < len && deepest <= max; i++) {
        char c = buf[i];

        if (in_string) {
            if (c == '\\') {
                i++; /* the escaped character cannot end the string */
            }
            else if (c == '"') {
                in_string = 0;
            }
        }
        else if (c == '"') {
            in_string = 1;
        }
        else if (c == '{' || c == '[') {
            if (++depth > deepest) {
                deepest = depth;
            }
        }
        else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return deepest;
}

/*
 * The quick parser: a token's header and payload, a key set or a
 * discovery document are nearly always plain ASCII, without escapes or
 * fractions, and Jansson's lexer, reading a byte at a time through its
 * stream, costs more than building the values does (3.4 us against 0.4
 * us for a Logto access token's payload). So such a document is read
 * here and built with Jansson's own constructors; anything else it meets
 * (an escape, a byte outside printable ASCII, a fraction or exponent, an
 * integer of more than 18 digits, a member name of 256 bytes or more, a
 * repeated member, nesting past the bound, trailing bytes, malformed
 * JSON) makes it give up, and the document goes to Jansson, which then
 * accepts or refuses it in its own words. What it accepts is exactly what
 * Jansson would build: fuzz/fuzz_json and t/unit/test_json hold the two
 * to that.
 */
typedef struct {
    const char *at, *end;
    int max_depth;
} quick_t;

#define QUICK_KEY_MAX 256

/* JSON's four whitespace characters and nothing else. */
static void quick_space(quick_t *q)
{
    while (q->at < q->end && (*q->at == ' ' || *q->at == '\t' ||
                              *q->at == '\n' || *q->at == '\r')) {
        q->at++;
    }
}

static int quick_is(quick_t *q, char c)
{
    if (q->at < q->end && *q->at == c) {
        q->at++;
        return 1;
    }
    return 0;
}

/* A string of printable ASCII without escapes: its bytes in *ps, *pn. */
static int quick_string(quick_t *q, const char **ps, apr_size_t *pn)
{
    const char *start;

    if (!quick_is(q, '"')) {
        return 0;
    }
    start = q->at;
    while (q->at < q->end && *q->at != '"') {
        unsigned char c = (unsigned char)*q->at;

        if (c < 0x20 || c > 0x7e || c == '\\') {
            return 0;
        }
        q->at++;
    }
    if (q->at == q->end) {
        return 0;
    }
    *ps = start;
    *pn = (apr_size_t)(q->at - start);
    q->at++;
    return 1;
}

/* An integer Jansson would read the same: no leading zero, few enough
 * digits that it cannot overflow json_int_t. A fraction or exponent is
 * left behind, and the container, finding neither a comma nor its end
 * next, gives up. */
static json_t *quick_integer(quick_t *q)
{
    int digits = 0, most = sizeof(json_int_t) >= 8 ? 18 : 9;
    int negative = quick_is(q, '-');
    json_int_t v = 0;

    if (q->at == q->end || *q->at < '0' || *q->at > '9' ||
        (*q->at == '0' && q->at + 1 < q->end && q->at[1] >= '0' &&
         q->at[1] <= '9')) {
        return NULL;
    }
    while (q->at < q->end && *q->at >= '0' && *q->at <= '9') {
        if (++digits > most) {
            return NULL;
        }
        v = v * 10 + (*q->at++ - '0');
    }
    return json_integer(negative ? -v : v);
}

static json_t *quick_word(quick_t *q, const char *word, json_t *value)
{
    apr_size_t n = strlen(word);

    if ((apr_size_t)(q->end - q->at) < n || memcmp(q->at, word, n) != 0) {
        return NULL;
    }
    q->at += n;
    return value;
}

static json_t *quick_container(quick_t *q, int depth);

/* One value at q->at (whitespace skipped before it); depth is that of the
 * container holding it. */
static json_t *quick_value(quick_t *q, int depth)
{
    const char *s;
    apr_size_t n;

    if (q->at == q->end) {
        return NULL;
    }
    switch (*q->at) {
        case '{':
        case '[':
            return quick_container(q, depth + 1);
        case '"':
            return quick_string(q, &s, &n) ? json_stringn_nocheck(s, n) : NULL;
        case 't':
            return quick_word(q, "true", json_true());
        case 'f':
            return quick_word(q, "false", json_false());
        case 'n':
            return quick_word(q, "null", json_null());
        default:
            return quick_integer(q);
    }
}

/* One member "name": value into obj; 0 to give up. */
static int quick_member(quick_t *q, json_t *obj, int depth)
{
    char name[QUICK_KEY_MAX];
    const char *s;
    apr_size_t n;
    json_t *v;

    if (!quick_string(q, &s, &n) || n >= sizeof(name)) {
        return 0;
    }
    memcpy(name, s, n);
    name[n] = '\0';
    quick_space(q);
    /* A member named again is Jansson's to refuse, in its own words. */
    if (!quick_is(q, ':') || json_object_get(obj, name) != NULL) {
        return 0;
    }
    quick_space(q);
    v = quick_value(q, depth);
    return v && json_object_set_new_nocheck(obj, name, v) == 0;
}

/* An object or array at q->at, at depth (the top level is 1). Jansson's
 * values are built as its parser builds them, in document order. */
static json_t *quick_container(quick_t *q, int depth)
{
    int is_object = *q->at == '{';
    char close = is_object ? '}' : ']';
    json_t *c;

    if (depth > q->max_depth) {
        return NULL;
    }
    q->at++;
    c = is_object ? json_object() : json_array();
    if (c == NULL) {
        return NULL;
    }
    quick_space(q);
    if (quick_is(q, close)) {
        return c;
    }
    for (;;) {
        if (is_object ? !quick_member(q, c, depth)
                      : json_array_append_new(c, quick_value(q, depth)) != 0) {
            break;
        }
        quick_space(q);
        if (quick_is(q, close)) {
            return c;
        }
        if (!quick_is(q, ',')) {
            break;
        }
        quick_space(q);
    }
    json_decref(c);
    return NULL;
}

json_t *logto_json_quick_parse(const char *buf, apr_size_t len, int max_depth)
{
    quick_t q = {buf, buf + len, max_depth};
    json_t *json;

    quick_space(&q);
    if (q.at == q.end || *q.at != '{') {
        return NULL;
    }
    json = quick_container(&q, 1);
    quick_space(&q);
    if (json && q.at != q.end) {
        json_decref(json);
        return NULL;
    }
    return json;
}

apr_status_t logto_json_parse_object(json_t **pjson, apr_pool_t *p,
                                     const char *buf, apr_size_t len,
                                     int max_depth, logto_reason_t reason,
                                     logto_err_t *err)
{
    json_error_t jerr;
    json_t *json;

    *pjson = NULL;
    json = logto_json_quick_parse(buf, len, max_depth);
    if (json != NULL) {
        *pjson = logto_json_own(p, json);
        return APR_SUCCESS;
    }
    if (memchr(buf, '\0', len) != NULL) {
        return logto_err_set(err, reason, "JSON holds a NUL byte");
    }
    if (nesting_depth(buf, len, max_depth) > max_depth) {
        return logto_err_set(err, reason, "JSON nested too deeply");
    }
    json = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (json == NULL) {
        return logto_err_set(err, reason, "%s", json_refusal(&jerr));
    }
    logto_json_own(p, json);
    if (!json_is_object(json)) {
        return logto_err_set(err, reason, "not a JSON object");
    }
    *pjson = json;
    return APR_SUCCESS;
}

const char *logto_json_str(const json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *logto_json_path(const json_t *obj, const char *path)
{
    const char *start = path, *dot;
    json_t *cur = (json_t *)obj;
    char name[256];

    if (!json_is_object(obj) || path == NULL || *path == '\0') {
        return NULL;
    }
    /* A member whose own name holds dots ("https://x.example/roles")
     * is found as is before the name is read as a path. */
    if (json_object_get(obj, path) != NULL) {
        return json_object_get(obj, path);
    }
    while (cur != NULL) {
        apr_size_t n;

        if (!json_is_object(cur)) {
            return NULL;
        }
        dot = strchr(start, '.');
        n = dot ? (apr_size_t)(dot - start) : strlen(start);
        if (n == 0 || n >= sizeof(name)) {
            return NULL;
        }
        memcpy(name, start, n);
        name[n] = '\0';
        cur = json_object_get(cur, name);
        if (dot == NULL) {
            return cur;
        }
        start = dot + 1;
    }
    return NULL;
}

/* A real in the shortest decimal text that reads back as the same value. */
static const char *real_text(apr_pool_t *p, double d)
{
    char buf[64];

    if (!isfinite(d)) {
        return NULL;
    }
    /* The C library's %g, not APR's, which drops the leading zero. */
    snprintf(buf, sizeof(buf), "%.15g", d);
    if (strtod(buf, NULL) != d) {
        snprintf(buf, sizeof(buf), "%.17g", d);
    }
    return apr_pstrdup(p, buf);
}

static const char *scalar_text(apr_pool_t *p, const json_t *v)
{
    switch (json_typeof(v)) {
        case JSON_STRING:
            return apr_pstrmemdup(p, json_string_value(v),
                                  json_string_length(v));
        case JSON_INTEGER:
            return apr_psprintf(p, "%" APR_INT64_T_FMT,
                                (apr_int64_t)json_integer_value(v));
        case JSON_REAL:
            return real_text(p, json_real_value(v));
        case JSON_TRUE:
            return "true";
        case JSON_FALSE:
            return "false";
        default:
            return NULL;
    }
}

/* The scalar members of an array, joined with one space. */
static const char *array_text(apr_pool_t *p, const json_t *arr)
{
    const char *out = NULL;
    size_t i;

    for (i = 0; i < json_array_size(arr); i++) {
        const char *s = scalar_text(p, json_array_get(arr, i));

        if (s != NULL) {
            out = out ? apr_pstrcat(p, out, " ", s, NULL) : s;
        }
    }
    return out ? out : "";
}

const char *logto_json_as_text(apr_pool_t *p, const json_t *value)
{
    if (value == NULL || json_is_null(value)) {
        return NULL;
    }
    if (json_is_array(value)) {
        return array_text(p, value);
    }
    if (json_is_object(value)) {
        return logto_json_dump(p, value, 0);
    }
    return scalar_text(p, value);
}

char *logto_json_dump(apr_pool_t *p, const json_t *json, size_t flags)
{
    char *s, *copy;

    if ((flags & JSON_MAX_INDENT) == 0) {
        flags |= JSON_COMPACT;
    }
    s = json_dumps(json, flags | JSON_ENCODE_ANY);
    if (s == NULL) {
        return NULL;
    }
    copy = apr_pstrdup(p, s);
    free(s);
    return copy;
}
