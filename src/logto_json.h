/*
 * logto_json.h - Jansson, wrapped once: bounded parsing, pool ownership and
 * the claim lookups the rest of the core needs.
 */
#ifndef LOGTO_JSON_H
#define LOGTO_JSON_H

#include <apr_pools.h>
#include <jansson.h>

#include "logto_err.h"

/* Deepest nesting of arrays/objects a parsed document may have. */
#define LOGTO_JSON_MAX_DEPTH 16

/* Parse len bytes as a JSON object (top level must be an object; duplicate
 * member names, NUL bytes, nesting deeper than max_depth and trailing
 * garbage are refused). The result belongs to p: a pool cleanup drops the
 * reference, so callers never json_decref it. On failure sets `reason`
 * into err. */
apr_status_t logto_json_parse_object(json_t **pjson, apr_pool_t *p,
                                     const char *buf, apr_size_t len,
                                     int max_depth, logto_reason_t reason,
                                     logto_err_t *err);

/* The quick reading logto_json_parse_object tries first (logto_json.c
 * says which documents it reads): the object, as a new reference the
 * caller releases, when all of buf is in that common subset; NULL when it
 * leaves buf to Jansson. Exposed for the tests that hold it to Jansson. */
json_t *logto_json_quick_parse(const char *buf, apr_size_t len, int max_depth);

/* Tie an existing reference to p (p's cleanup json_decrefs it).
 * Returns json. */
json_t *logto_json_own(apr_pool_t *p, json_t *json);

/* Member `name` of object obj as a string, or NULL if absent or not a
 * string. Points into obj. */
const char *logto_json_str(const json_t *obj, const char *name);

/* Follow a dotted path ("custom.tier") through nested objects of obj.
 * NULL when any step is missing or not an object. Points into obj. */
json_t *logto_json_path(const json_t *obj, const char *path);

/* A claim value as the string httpd sees (environment, headers,
 * logto_claim()): strings as is, integers and reals in decimal, true and
 * false as words, arrays as their scalar members joined with one space,
 * objects as compact JSON; NULL for a NULL value or JSON null. From p. */
const char *logto_json_as_text(apr_pool_t *p, const json_t *value);

/* Compact serialisation from p (for the command-line tool and status). */
char *logto_json_dump(apr_pool_t *p, const json_t *json, size_t flags);

#endif /* LOGTO_JSON_H */
