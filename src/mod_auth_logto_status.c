/*
 * mod_auth_logto_status.c - glue: the status page (`SetHandler
 * logto-status`): the shared counters (mod_auth_logto_counters.c) and the
 * key sets in use. It only reads.
 *
 * The page lists every key set the configuration names: the JWKS files,
 * and, for every other source, the record of the shared cache that all
 * processes read and write, so every child gives the same answer. It
 * shows key ids, algorithms and types, never key material. "?json" gives
 * the same as JSON, "?metrics" in the Prometheus text format.
 */
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_time.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>

#include "mod_auth_logto.h"
#include "mod_auth_logto_counters.h"
#include "mod_auth_logto_dpop.h"
#include "mod_auth_logto_keys.h"
#include "mod_auth_logto_status.h"
#include "mod_auth_logto_tokens.h"
#include "logto_json.h"
#include "logto_keyring.h"
#include "logto_p384.h"

/* ------------------------------------------------------------ key sets */

/* A JWKS file, described like a key set the keyring fetched: its
 * "fetch" is the configuration load that parsed it. */
static logto_keyring_entry_t *file_entry(apr_pool_t *p,
                                         const logto_jwks_file_t *f)
{
    logto_keyring_entry_t *e = apr_pcalloc(p, sizeof(*e));
    const logto_jwk_t *jwk;
    logto_keyring_key_t *k;
    int i;

    e->source = apr_pstrcat(p, "file:", f->path, NULL);
    e->fetched_at = f->loaded_at;
    e->last_attempt_at = f->loaded_at;
    e->last_ok = 1;
    e->last_error = "";
    e->keys =
        apr_array_make(p, f->jwks->keys->nelts, sizeof(logto_keyring_key_t));
    for (i = 0; i < f->jwks->keys->nelts; i++) {
        jwk = APR_ARRAY_IDX(f->jwks->keys, i, const logto_jwk_t *);
        k = apr_array_push(e->keys);
        k->kid = jwk->kid;
        k->alg =
            jwk->alg == LOGTO_ALG_NONE_KNOWN ? NULL : logto_alg_name(jwk->alg);
        k->kty = logto_jwk_kty_name(jwk->kty);
    }
    e->skipped = f->jwks->skipped;
    return e;
}

/* Every key set to show, as logto_keyring_entry_t *: the server's JWKS
 * files (each path once), then every other key source of the
 * configuration as the shared cache holds it. */
static apr_array_header_t *key_sets(request_rec *r)
{
    const logto_srv_conf_t *sc =
        ap_get_module_config(r->server->module_config, &auth_logto_module);
    apr_array_header_t *sets =
        apr_array_make(r->pool, 4, sizeof(logto_keyring_entry_t *));
    apr_hash_t *seen = apr_hash_make(r->pool);
    const logto_jwks_file_t *f;
    int i;

    for (i = 0; sc->jwks_files && i < sc->jwks_files->nelts; i++) {
        f = &APR_ARRAY_IDX(sc->jwks_files, i, logto_jwks_file_t);
        if (apr_hash_get(seen, f->path, APR_HASH_KEY_STRING)) {
            continue;
        }
        apr_hash_set(seen, f->path, APR_HASH_KEY_STRING, f);
        APR_ARRAY_PUSH(sets, logto_keyring_entry_t *) = file_entry(r->pool, f);
    }
    apr_array_cat(sets, logto_keys_status(r->pool));
    return sets;
}

/* ---------------------------------------------------------------- JSON */

/* A string, or null for NULL (or text that is not UTF-8). */
static json_t *jstr(const char *s)
{
    json_t *v = s ? json_string(s) : NULL;
    return v ? v : json_null();
}

/* A time in seconds since the epoch, or null for never (0). */
static json_t *jtime(apr_int64_t t)
{
    return t ? json_integer((json_int_t)t) : json_null();
}

static json_t *json_refusals(const logto_counts_t *sc)
{
    json_t *o = json_object();
    int i;

    for (i = LOGTO_OK + 1; i < LOGTO_ERR__COUNT; i++) {
        json_object_set_new(o, logto_reason_name((logto_reason_t)i),
                            json_integer((json_int_t)sc->refusals[i]));
    }
    json_object_set_new(
        o, "bad_request",
        json_integer((json_int_t)sc->count[LOGTO_C_BAD_REQUEST]));
    json_object_set_new(o, "no_token",
                        json_integer((json_int_t)sc->count[LOGTO_C_NO_TOKEN]));
    return o;
}

/* Every counter under its name, beside the document's other members. */
static void json_counters(json_t *doc, const logto_counts_t *sc)
{
    int i;

    for (i = 0; i < LOGTO_C__COUNT; i++) {
        json_object_set_new(doc, logto_counter_names[i],
                            json_integer((json_int_t)sc->count[i]));
    }
}

static json_t *json_keys(const apr_array_header_t *keys)
{
    json_t *a = json_array();
    const logto_keyring_key_t *k;
    json_t *o;
    int i;

    for (i = 0; keys && i < keys->nelts; i++) {
        k = &APR_ARRAY_IDX(keys, i, logto_keyring_key_t);
        o = json_object();
        json_object_set_new(o, "kid", jstr(k->kid));
        json_object_set_new(o, "alg", jstr(k->alg));
        json_object_set_new(o, "kty", jstr(k->kty));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *json_strings(const apr_array_header_t *list)
{
    json_t *a = json_array();
    int i;

    for (i = 0; list && i < list->nelts; i++) {
        json_array_append_new(a, jstr(APR_ARRAY_IDX(list, i, const char *)));
    }
    return a;
}

static json_t *json_key_set(const logto_keyring_entry_t *e, apr_int64_t now)
{
    json_t *o = json_object();

    json_object_set_new(o, "source", jstr(e->source));
    json_object_set_new(o, "jwks_uri", jstr(e->jwks_uri));
    json_object_set_new(o, "fetched_at", jtime(e->fetched_at));
    json_object_set_new(o, "age",
                        e->fetched_at ? json_integer(now - e->fetched_at)
                                      : json_null());
    json_object_set_new(o, "last_attempt_at", jtime(e->last_attempt_at));
    json_object_set_new(o, "last_ok",
                        e->last_attempt_at ? json_boolean(e->last_ok)
                                           : json_null());
    json_object_set_new(o, "last_error", jstr(e->last_error));
    json_object_set_new(o, "fetches", json_integer((json_int_t)e->fetches));
    json_object_set_new(o, "failures", json_integer((json_int_t)e->failures));
    json_object_set_new(o, "keys", json_keys(e->keys));
    json_object_set_new(o, "skipped", json_strings(e->skipped));
    json_object_set_new(o, "from_state_dir", json_boolean(e->from_state_dir));
    return o;
}

/* The token table's own counters, shared by all children like it. */
static json_t *json_token_table(void)
{
    logto_tokcache_stats_t st;
    apr_uint32_t used;
    json_t *o;

    if (!logto_tokens_stats(&st, &used)) {
        return json_null();
    }
    o = json_object();
    json_object_set_new(o, "entries", json_integer(st.entries));
    json_object_set_new(o, "used", json_integer(used));
    json_object_set_new(o, "hits", json_integer(st.hits));
    json_object_set_new(o, "misses", json_integer(st.misses));
    json_object_set_new(o, "stores", json_integer(st.stores));
    json_object_set_new(o, "evictions", json_integer(st.evictions));
    json_object_set_new(o, "stores_skipped", json_integer(st.contended));
    return o;
}

/* Which code checks ES384 signatures, and how many each has checked. */
static json_t *json_es384(const logto_counts_t *sc)
{
    json_t *o = json_object();

    json_object_set_new(o, "fast_p384", json_boolean(logto_p384_enabled()));
    json_object_set_new(
        o, "verified_with_tables",
        json_integer((json_int_t)sc->count[LOGTO_C_ES384_TABLES]));
    json_object_set_new(
        o, "verified_by_openssl",
        json_integer((json_int_t)sc->count[LOGTO_C_ES384_OPENSSL]));
    return o;
}

static void send_json(request_rec *r, const logto_counts_t *sc,
                      const apr_array_header_t *sets, apr_int64_t now)
{
    json_t *doc = logto_json_own(r->pool, json_object());
    json_t *list = json_array();
    int i;

    json_object_set_new(doc, "now", json_integer(now));
    json_object_set_new(doc, "since", jtime(sc->since));
    json_object_set_new(doc, "counting", json_boolean(sc->available));
    json_object_set_new(doc, "shared", json_boolean(logto_keys_shared()));
    json_object_set_new(doc, "key_cache", jstr(logto_keys_cache_kind()));
    /* "accepted" is the name of the first versions of this page. */
    json_object_set_new(doc, "accepted",
                        json_integer((json_int_t)sc->count[LOGTO_C_ACCEPTED]));
    json_counters(doc, sc);
    json_object_set_new(doc, "refusals", json_refusals(sc));
    /* "token_cache_hits": the name of the first versions of this page. */
    json_object_set_new(
        doc, "token_cache_hits",
        json_integer((json_int_t)sc->count[LOGTO_C_TOKEN_CACHE_HITS]));
    json_object_set_new(doc, "token_cache", json_token_table());
    json_object_set_new(doc, "es384", json_es384(sc));
    for (i = 0; i < sets->nelts; i++) {
        json_array_append_new(
            list,
            json_key_set(APR_ARRAY_IDX(sets, i, logto_keyring_entry_t *), now));
    }
    json_object_set_new(doc, "key_sets", list);
    ap_rputs(logto_json_dump(r->pool, doc, JSON_INDENT(2)), r);
    ap_rputs("\n", r);
}

/* ---------------------------------------------------------------- text */

/* Text from the network, made harmless for a terminal. */
static const char *printable(apr_pool_t *p, const char *s)
{
    char *out;
    char *c;

    if (!s) {
        return "-";
    }
    out = apr_pstrdup(p, s);
    for (c = out; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            *c = '?';
        }
    }
    return out;
}

static const char *when(apr_pool_t *p, apr_int64_t t, apr_int64_t now)
{
    char date[APR_RFC822_DATE_LEN];

    if (!t) {
        return "never";
    }
    apr_rfc822_date(date, apr_time_from_sec(t));
    return apr_psprintf(p, "%s (%" APR_INT64_T_FMT " s ago)", date, now - t);
}

static void text_counters(request_rec *r, const logto_counts_t *sc,
                          apr_int64_t now)
{
    logto_tokcache_stats_t st;
    apr_uint32_t used;
    int i;

    if (!sc->available) {
        ap_rputs("counters: not available (no shared memory)\n", r);
    }
    ap_rprintf(r, "counting since:    %s\n", when(r->pool, sc->since, now));
    ap_rprintf(r, "accepted tokens:   %" APR_UINT64_T_FMT "\n",
               sc->count[LOGTO_C_ACCEPTED]);
    if (logto_tokens_stats(&st, &used)) {
        ap_rprintf(r,
                   "token table:       %u of %u entries used, %u hits, %u "
                   "misses, %u evictions\n",
                   used, st.entries, st.hits, st.misses, st.evictions);
    }
    for (i = 0; i < LOGTO_C__COUNT; i++) {
        if (i != LOGTO_C_ACCEPTED) {
            ap_rprintf(r, "%-24s %" APR_UINT64_T_FMT "\n",
                       logto_counter_names[i], sc->count[i]);
        }
    }
    ap_rputs("refusals:\n", r);
    for (i = LOGTO_OK + 1; i < LOGTO_ERR__COUNT; i++) {
        ap_rprintf(r, "  %-22s %" APR_UINT64_T_FMT "\n",
                   logto_reason_name((logto_reason_t)i), sc->refusals[i]);
    }
}

static void text_key_set(request_rec *r, const logto_keyring_entry_t *e,
                         apr_int64_t now)
{
    const logto_keyring_key_t *k;
    apr_pool_t *p = r->pool;
    int i;

    ap_rprintf(r, "\n%s\n", printable(p, e->source));
    if (e->jwks_uri) {
        ap_rprintf(r, "  jwks_uri:     %s\n", printable(p, e->jwks_uri));
    }
    ap_rprintf(r, "  fetched:      %s%s\n", when(p, e->fetched_at, now),
               e->from_state_dir ? " (keys from the state directory, not "
                                   "fetched since the start)"
                                 : "");
    ap_rprintf(r, "  last attempt: %s: %s\n", when(p, e->last_attempt_at, now),
               !e->last_attempt_at ? "-"
               : e->last_ok        ? "ok"
                                   : printable(p, e->last_error));
    ap_rprintf(r,
               "  fetches:      %" APR_UINT64_T_FMT " (%" APR_UINT64_T_FMT
               " failed, all processes)\n",
               e->fetches, e->failures);
    for (i = 0; e->keys && i < e->keys->nelts; i++) {
        k = &APR_ARRAY_IDX(e->keys, i, logto_keyring_key_t);
        ap_rprintf(r, "  key: kid=%s alg=%s kty=%s\n", printable(p, k->kid),
                   printable(p, k->alg), printable(p, k->kty));
    }
    for (i = 0; e->skipped && i < e->skipped->nelts; i++) {
        ap_rprintf(r, "  skipped: %s\n",
                   printable(p, APR_ARRAY_IDX(e->skipped, i, const char *)));
    }
}

static void send_text(request_rec *r, const logto_counts_t *sc,
                      const apr_array_header_t *sets, apr_int64_t now)
{
    int i;

    ap_rputs("mod_auth_logto status\n\n", r);
    ap_rprintf(r, "key cache:         %s\n", logto_keys_cache_kind());
    text_counters(r, sc, now);
    ap_rprintf(r,
               "ES384 signatures:  %" APR_UINT64_T_FMT " with P-384 tables, "
               "%" APR_UINT64_T_FMT " by OpenSSL (AuthLogtoFastP384 %s)\n",
               sc->count[LOGTO_C_ES384_TABLES],
               sc->count[LOGTO_C_ES384_OPENSSL],
               logto_p384_enabled() ? "On" : "Off");
    ap_rprintf(r, "\nkey sets: %d (%s)\n", sets->nelts,
               logto_keys_shared()
                   ? "as the shared cache holds them, for every process"
                   : "AuthLogtoCache none: as this process holds them");
    for (i = 0; i < sets->nelts; i++) {
        text_key_set(r, APR_ARRAY_IDX(sets, i, logto_keyring_entry_t *), now);
    }
}

/* ------------------------------------------------------------- metrics */

/* A label value in the Prometheus text format: backslash, double quote
 * and line feed escaped; other control characters (from the network)
 * made '?'. */
static const char *prom_label(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, 2 * strlen(s) + 1), *q = out;

    for (; *s; s++) {
        if (*s == '\\' || *s == '"') {
            *q++ = '\\';
            *q++ = *s;
        }
        else if (*s == '\n') {
            *q++ = '\\';
            *q++ = 'n';
        }
        else {
            *q++ = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
        }
    }
    *q = '\0';
    return out;
}

static void prom_family(request_rec *r, const char *name, const char *type,
                        const char *help)
{
    ap_rprintf(r, "# HELP logto_%s %s\n# TYPE logto_%s %s\n", name, help, name,
               type);
}

static void metrics_counters(request_rec *r, const logto_counts_t *sc)
{
    int i;

    for (i = 0; i < LOGTO_C__COUNT; i++) {
        const char *name =
            apr_pstrcat(r->pool, logto_counter_names[i], "_total", NULL);
        prom_family(r, name, "counter", logto_counter_help[i]);
        ap_rprintf(r, "logto_%s %" APR_UINT64_T_FMT "\n", name, sc->count[i]);
    }
    prom_family(r, "refusals_total", "counter",
                "Tokens refused, and requests refused for want of keys, "
                "by reason; no_token and bad_request as in ?json.");
    for (i = LOGTO_OK + 1; i < LOGTO_ERR__COUNT; i++) {
        ap_rprintf(
            r, "logto_refusals_total{reason=\"%s\"} %" APR_UINT64_T_FMT "\n",
            logto_reason_name((logto_reason_t)i), sc->refusals[i]);
    }
    /* the same reasons as ?json's refusals: a sum over the family counts
     * the 401s without a token and the 400s too */
    ap_rprintf(r,
               "logto_refusals_total{reason=\"bad_request\"} "
               "%" APR_UINT64_T_FMT "\n",
               sc->count[LOGTO_C_BAD_REQUEST]);
    ap_rprintf(r,
               "logto_refusals_total{reason=\"no_token\"} "
               "%" APR_UINT64_T_FMT "\n",
               sc->count[LOGTO_C_NO_TOKEN]);
    prom_family(r, "counters_since_seconds", "gauge",
                "When the counters started, in seconds since the epoch.");
    ap_rprintf(r, "logto_counters_since_seconds %" APR_INT64_T_FMT "\n",
               sc->since);
}

/* One sample per key set; value(e) returns 0 to leave a set out. */
typedef int metric_value_fn(const logto_keyring_entry_t *e, apr_int64_t now,
                            apr_int64_t *pv);

static void metrics_per_source(request_rec *r, const apr_array_header_t *sets,
                               apr_int64_t now, const char *name,
                               const char *type, const char *help,
                               metric_value_fn *value)
{
    const logto_keyring_entry_t *e;
    apr_int64_t v;
    int i;

    prom_family(r, name, type, help);
    for (i = 0; i < sets->nelts; i++) {
        e = APR_ARRAY_IDX(sets, i, const logto_keyring_entry_t *);
        if (value(e, now, &v)) {
            ap_rprintf(r, "logto_%s{source=\"%s\"} %" APR_INT64_T_FMT "\n",
                       name, prom_label(r->pool, e->source), v);
        }
    }
}

static int value_age(const logto_keyring_entry_t *e, apr_int64_t now,
                     apr_int64_t *pv)
{
    *pv = now - e->fetched_at;
    return e->fetched_at != 0;
}

static int value_keys(const logto_keyring_entry_t *e, apr_int64_t now,
                      apr_int64_t *pv)
{
    *pv = e->keys ? e->keys->nelts : 0;
    return 1;
}

/* JWKS files are read at startup, never fetched: no fetch samples. */
static int is_file(const logto_keyring_entry_t *e)
{
    return !strncmp(e->source, "file:", 5);
}

static int value_fetches(const logto_keyring_entry_t *e, apr_int64_t now,
                         apr_int64_t *pv)
{
    *pv = (apr_int64_t)e->fetches;
    return !is_file(e);
}

static int value_failures(const logto_keyring_entry_t *e, apr_int64_t now,
                          apr_int64_t *pv)
{
    *pv = (apr_int64_t)e->failures;
    return !is_file(e);
}

static int value_last_ok(const logto_keyring_entry_t *e, apr_int64_t now,
                         apr_int64_t *pv)
{
    *pv = e->last_ok ? 1 : 0;
    return e->last_attempt_at != 0;
}

/* One sample without labels, with its family lines. */
static void prom_sample(request_rec *r, const char *name, const char *type,
                        const char *help, apr_uint64_t value)
{
    prom_family(r, name, type, help);
    ap_rprintf(r, "logto_%s %" APR_UINT64_T_FMT "\n", name, value);
}

/* The token table's counters, kept by the table itself. */
static void metrics_token_table(request_rec *r)
{
    logto_tokcache_stats_t st;
    apr_uint32_t used;

    if (!logto_tokens_stats(&st, &used)) {
        return;
    }
    prom_sample(r, "token_cache_hits_total", "counter",
                "Lookups the token table answered.", st.hits);
    prom_sample(r, "token_cache_misses_total", "counter",
                "Lookups the token table did not answer.", st.misses);
    prom_sample(r, "token_cache_stores_total", "counter",
                "Tokens stored in the token table.", st.stores);
    prom_sample(r, "token_cache_evictions_total", "counter",
                "Live token table entries pushed out by a store.",
                st.evictions);
    prom_sample(r, "token_cache_entries", "gauge", "Slots of the token table.",
                st.entries);
    prom_sample(r, "token_cache_used", "gauge",
                "Slots of the token table in use.", used);
}

static void send_metrics(request_rec *r, const logto_counts_t *sc,
                         const apr_array_header_t *sets, apr_int64_t now)
{
    metrics_counters(r, sc);
    metrics_token_table(r);
    metrics_per_source(r, sets, now, "jwks_age_seconds", "gauge",
                       "Seconds since the key set was last fetched (or its "
                       "file read).",
                       value_age);
    metrics_per_source(r, sets, now, "jwks_keys", "gauge",
                       "Usable keys in the key set.", value_keys);
    metrics_per_source(r, sets, now, "jwks_fetches_total", "counter",
                       "Fetch attempts of the key set, by every process.",
                       value_fetches);
    metrics_per_source(r, sets, now, "jwks_fetch_failures_total", "counter",
                       "Failed fetch attempts of the key set, by every "
                       "process.",
                       value_failures);
    metrics_per_source(r, sets, now, "jwks_last_fetch_ok", "gauge",
                       "1 when the last fetch attempt of the key set "
                       "succeeded.",
                       value_last_ok);
}

/* ------------------------------------------------------------- handler */

enum { PAGE_TEXT, PAGE_JSON, PAGE_METRICS };

/* Whether the query string holds parameter name (?name, ?name=1). */
static int has_param(const char *args, const char *name)
{
    apr_size_t n = strlen(name);
    const char *q = args;

    while (q && *q) {
        if (!strncmp(q, name, n) &&
            (q[n] == '\0' || q[n] == '&' || q[n] == '=')) {
            return 1;
        }
        q = strchr(q, '&');
        q = q ? q + 1 : NULL;
    }
    return 0;
}

/* Whether one media range of an Accept header names Prometheus' text
 * format (text/plain; version=0.0.4) or OpenMetrics, which scrapers that
 * ask for it also take the text format for. */
static int prometheus_range(apr_pool_t *p, const char *range)
{
    char *copy = apr_pstrdup(p, range), *last, *part;
    int text_plain = 0, version = 0;

    part = apr_strtok(copy, ";", &last);
    if (!part) {
        return 0;
    }
    apr_collapse_spaces(part, part); /* returns the end, not part */
    if (!strcasecmp(part, "application/openmetrics-text")) {
        return 1;
    }
    text_plain = !strcasecmp(part, "text/plain");
    while ((part = apr_strtok(NULL, ";", &last)) != NULL) {
        apr_collapse_spaces(part, part); /* returns the end, not part */
        version |= !strcasecmp(part, "version=0.0.4");
    }
    return text_plain && version;
}

static int accepts_prometheus(request_rec *r)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");
    char *copy, *last, *range;

    if (!accept) {
        return 0;
    }
    copy = apr_pstrdup(r->pool, accept);
    for (range = apr_strtok(copy, ",", &last); range;
         range = apr_strtok(NULL, ",", &last)) {
        if (prometheus_range(r->pool, range)) {
            return 1;
        }
    }
    return 0;
}

/* ?json, then ?metrics, then the Accept header choose the page. */
static int page_wanted(request_rec *r)
{
    if (has_param(r->args, "json")) {
        return PAGE_JSON;
    }
    if (has_param(r->args, "metrics") || accepts_prometheus(r)) {
        return PAGE_METRICS;
    }
    return PAGE_TEXT;
}

static const char *const page_types[] = {
    "text/plain; charset=utf-8", "application/json",
    "text/plain; version=0.0.4; charset=utf-8"};

int logto_status_handler(request_rec *r)
{
    logto_counts_t sc;
    apr_array_header_t *sets;
    apr_int64_t now = apr_time_sec(apr_time_now());
    int page;

    if (!r->handler || strcmp(r->handler, LOGTO_STATUS_HANDLER)) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        logto_allow_get(r);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    page = page_wanted(r);
    ap_set_content_type(r, page_types[page]);
    apr_table_mergen(r->headers_out, "Vary", "Accept");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only) {
        return OK;
    }
    logto_counters_read(&sc);
    sets = key_sets(r);
    if (page == PAGE_JSON) {
        send_json(r, &sc, sets, now);
    }
    else if (page == PAGE_METRICS) {
        send_metrics(r, &sc, sets, now);
    }
    else {
        send_text(r, &sc, sets, now);
    }
    return OK;
}
