/*
 * mod_auth_logto_status.c - glue: counters shared by all child processes,
 * and the status page (`SetHandler logto-status`).
 *
 * The counters live in one anonymous shared memory segment that the
 * parent creates in post_config and every child inherits by fork; each is
 * a 32-bit word bumped with an atomic increment, so counting takes no
 * lock. The segment hangs off the process pool, so a graceful restart
 * finds it again and the numbers go on.
 *
 * The page lists the key sets this process knows: the JWKS files of the
 * configuration and the key sets its keyrings fetched. It shows key ids,
 * algorithms and types, never key material.
 */
#include <apr_atomic.h>
#include <apr_hash.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <apr_time.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>

#include "mod_auth_logto.h"
#include "mod_auth_logto_dpop.h"
#include "mod_auth_logto_keys.h"
#include "mod_auth_logto_status.h"
#include "mod_auth_logto_tokens.h"
#include "logto_json.h"
#include "logto_keyring.h"

#define SHM_USERDATA "mod_auth_logto:status-shm"

/* The shared counters. Only the parent writes `since`, before forking. */
typedef struct status_counters_t {
    apr_size_t size; /* sizeof(status_counters_t): a layout check */
    apr_int64_t since;
    apr_uint32_t accepted;
    apr_uint32_t refusals[LOGTO_ERR__COUNT];
    apr_uint32_t bad_request;
    apr_uint32_t no_token;
    apr_uint32_t cache_hits;
    apr_uint32_t fetches;
    apr_uint32_t fetch_failures;
} status_counters_t;

/* NULL until post_config, or when no segment could be had: counting is
 * then a no-op. */
static status_counters_t *counters;

/* ------------------------------------------------------------ counters */

static apr_status_t forget_counters(void *data)
{
    counters = NULL;
    return APR_SUCCESS;
}

/* The segment of an earlier generation, if its layout is ours. */
static status_counters_t *existing_counters(apr_pool_t *process_pool)
{
    void *data = NULL;
    status_counters_t *sc;

    apr_pool_userdata_get(&data, SHM_USERDATA, process_pool);
    if (!data) {
        return NULL;
    }
    sc = apr_shm_baseaddr_get(data);
    return sc->size == sizeof(*sc) ? sc : NULL;
}

int logto_status_post_config(apr_pool_t *pconf, server_rec *s)
{
    apr_pool_t *process_pool = s->process->pool;
    apr_shm_t *shm;
    apr_status_t rv;

    /* The first pass only checks the configuration. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    apr_pool_cleanup_register(pconf, NULL, forget_counters,
                              apr_pool_cleanup_null);
    counters = existing_counters(process_pool);
    if (counters) {
        return OK;
    }
    rv = apr_shm_create(&shm, sizeof(*counters), NULL, process_pool);
    if (rv != APR_SUCCESS) {
        /* A status page without numbers is no reason to refuse to start. */
        ap_log_error(
            APLOG_MARK, APLOG_WARNING, rv, s,
            LOGTO_LOGNO(00401) "cannot create shared memory for "
                               "the status counters: logto-status shows none");
        return OK;
    }
    counters = apr_shm_baseaddr_get(shm);
    memset(counters, 0, sizeof(*counters));
    counters->size = sizeof(*counters);
    counters->since = apr_time_sec(apr_time_now());
    apr_pool_userdata_set(shm, SHM_USERDATA, apr_pool_cleanup_null,
                          process_pool);
    return OK;
}

/* One atomic increment of a shared counter, when there are counters. */
#define BUMP(field)                                                            \
    do {                                                                       \
        if (counters) {                                                        \
            apr_atomic_inc32(&counters->field);                                \
        }                                                                      \
    } while (0)

void logto_status_count_accept(void)
{
    BUMP(accepted);
}

void logto_status_count_refusal(logto_reason_t reason)
{
    if ((int)reason > LOGTO_OK && reason < LOGTO_ERR__COUNT) {
        BUMP(refusals[reason]);
    }
}

void logto_status_count_bad_request(void)
{
    BUMP(bad_request);
}

void logto_status_count_no_token(void)
{
    BUMP(no_token);
}

void logto_status_count_cache_hit(void)
{
    BUMP(cache_hits);
}

void logto_status_count_fetch(int ok)
{
    BUMP(fetches);
    if (!ok) {
        BUMP(fetch_failures);
    }
}

void logto_status_count_verdict(const logto_req_t *rq)
{
    switch (rq->verdict) {
        case LOGTO_V_VALID:
            logto_status_count_accept();
            break;
        case LOGTO_V_INVALID:
        case LOGTO_V_UNAVAILABLE:
            logto_status_count_refusal(rq->err.reason);
            break;
        case LOGTO_V_BAD_REQUEST:
            logto_status_count_bad_request();
            break;
        case LOGTO_V_NONE:
            logto_status_count_no_token();
            break;
        default:
            break;
    }
    if (rq->cache_hit) {
        logto_status_count_cache_hit();
    }
}

/* A snapshot, so one page shows one set of numbers (each read atomic). */
static void read_counters(status_counters_t *out)
{
    int i;

    memset(out, 0, sizeof(*out));
    if (!counters) {
        return;
    }
    out->since = counters->since;
    out->accepted = apr_atomic_read32(&counters->accepted);
    for (i = 0; i < LOGTO_ERR__COUNT; i++) {
        out->refusals[i] = apr_atomic_read32(&counters->refusals[i]);
    }
    out->bad_request = apr_atomic_read32(&counters->bad_request);
    out->no_token = apr_atomic_read32(&counters->no_token);
    out->cache_hits = apr_atomic_read32(&counters->cache_hits);
    out->fetches = apr_atomic_read32(&counters->fetches);
    out->fetch_failures = apr_atomic_read32(&counters->fetch_failures);
}

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
 * files (each path once), then what this process's keyrings fetched. */
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

static json_t *json_refusals(const status_counters_t *sc)
{
    json_t *o = json_object();
    int i;

    for (i = LOGTO_OK + 1; i < LOGTO_ERR__COUNT; i++) {
        json_object_set_new(o, logto_reason_name((logto_reason_t)i),
                            json_integer(sc->refusals[i]));
    }
    json_object_set_new(o, "bad_request", json_integer(sc->bad_request));
    json_object_set_new(o, "no_token", json_integer(sc->no_token));
    return o;
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

static void send_json(request_rec *r, const status_counters_t *sc,
                      const apr_array_header_t *sets, apr_int64_t now)
{
    json_t *doc = logto_json_own(r->pool, json_object());
    json_t *list = json_array();
    int i;

    json_object_set_new(doc, "now", json_integer(now));
    json_object_set_new(doc, "since", jtime(sc->since));
    json_object_set_new(doc, "counting", json_boolean(counters != NULL));
    json_object_set_new(doc, "accepted", json_integer(sc->accepted));
    json_object_set_new(doc, "refusals", json_refusals(sc));
    json_object_set_new(doc, "token_cache_hits", json_integer(sc->cache_hits));
    json_object_set_new(doc, "token_cache", json_token_table());
    json_object_set_new(doc, "fetches", json_integer(sc->fetches));
    json_object_set_new(doc, "fetch_failures",
                        json_integer(sc->fetch_failures));
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

static void text_counters(request_rec *r, const status_counters_t *sc,
                          apr_int64_t now)
{
    logto_tokcache_stats_t st;
    apr_uint32_t used;
    int i;

    if (!counters) {
        ap_rputs("counters: not available (no shared memory)\n", r);
    }
    ap_rprintf(r, "counting since:    %s\n", when(r->pool, sc->since, now));
    ap_rprintf(r, "accepted tokens:   %u\n", sc->accepted);
    ap_rprintf(r, "token cache hits:  %u\n", sc->cache_hits);
    if (logto_tokens_stats(&st, &used)) {
        ap_rprintf(r,
                   "token table:       %u of %u entries used, %u hits, %u "
                   "misses, %u evictions\n",
                   used, st.entries, st.hits, st.misses, st.evictions);
    }
    ap_rprintf(r, "key set fetches:   %u (%u failed)\n", sc->fetches,
               sc->fetch_failures);
    ap_rputs("refusals:\n", r);
    for (i = LOGTO_OK + 1; i < LOGTO_ERR__COUNT; i++) {
        ap_rprintf(r, "  %-22s %u\n", logto_reason_name((logto_reason_t)i),
                   sc->refusals[i]);
    }
    ap_rprintf(r, "  %-22s %u\n", "bad_request", sc->bad_request);
    ap_rprintf(r, "  %-22s %u\n", "no_token", sc->no_token);
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
    ap_rprintf(r, "  fetched:      %s\n", when(p, e->fetched_at, now));
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

static void send_text(request_rec *r, const status_counters_t *sc,
                      const apr_array_header_t *sets, apr_int64_t now)
{
    int i;

    ap_rputs("mod_auth_logto status\n\n", r);
    text_counters(r, sc, now);
    ap_rprintf(r, "\nkey sets: %d (keys fetched as this process saw them)\n",
               sets->nelts);
    for (i = 0; i < sets->nelts; i++) {
        text_key_set(r, APR_ARRAY_IDX(sets, i, logto_keyring_entry_t *), now);
    }
}

/* ------------------------------------------------------------- handler */

/* Whether the query string holds a "json" parameter (?json, ?json=1). */
static int wants_json(const char *args)
{
    const char *q = args;

    while (q && *q) {
        if (!strncmp(q, "json", 4) &&
            (q[4] == '\0' || q[4] == '&' || q[4] == '=')) {
            return 1;
        }
        q = strchr(q, '&');
        q = q ? q + 1 : NULL;
    }
    return 0;
}

int logto_status_handler(request_rec *r)
{
    status_counters_t sc;
    apr_array_header_t *sets;
    apr_int64_t now = apr_time_sec(apr_time_now());
    int json;

    if (!r->handler || strcmp(r->handler, LOGTO_STATUS_HANDLER)) {
        return DECLINED;
    }
    r->allowed |= AP_METHOD_BIT << M_GET;
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    json = wants_json(r->args);
    ap_set_content_type(r, json ? "application/json"
                                : "text/plain; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only) {
        return OK;
    }
    read_counters(&sc);
    sets = key_sets(r);
    if (json) {
        send_json(r, &sc, sets, now);
    }
    else {
        send_text(r, &sc, sets, now);
    }
    return OK;
}

/* ------------------------------------------------------------- metadata */

static const char *metadata_resource(const logto_dir_conf_t *c)
{
    int i;

    for (i = 0; c->audiences && i < c->audiences->nelts; i++) {
        const char *a = APR_ARRAY_IDX(c->audiences, i, const char *);
        if (!strchr(a, '*')) {
            return a;
        }
    }
    return NULL;
}

int logto_metadata_handler(request_rec *r)
{
    const logto_srv_conf_t *sc =
        ap_get_module_config(r->server->module_config, &auth_logto_module);
    const logto_dir_conf_t *c = NULL, *dflt;
    const char *resource, *doc;
    const apr_array_header_t *issuers;
    json_t *meta;
    int i;

    for (i = 0; i < sc->metadata->nelts && !c; i++) {
        const logto_metadata_t *md =
            &APR_ARRAY_IDX(sc->metadata, i, logto_metadata_t);
        if (!strcmp(r->uri, md->path)) {
            c = md->conf;
        }
    }
    if (!c) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        r->allowed = AP_METHOD_BIT << M_GET;
        return HTTP_METHOD_NOT_ALLOWED;
    }
    dflt = ap_get_module_config(r->server->lookup_defaults, &auth_logto_module);
    resource = metadata_resource(c);
    resource = resource ? resource : metadata_resource(dflt);
    issuers = c->issuers ? c->issuers : dflt->issuers;
    if (!resource || !issuers || !issuers->nelts) {
        return HTTP_NOT_FOUND;
    }
    /* NULL only for configured text that is not UTF-8 */
    meta = logto_json_own(
        r->pool, json_pack("{s:s, s:o, s:[s]}", "resource", resource,
                           "authorization_servers", json_strings(issuers),
                           "bearer_methods_supported", "header"));
    logto_dpop_metadata(meta, c);
    doc = logto_json_dump(r->pool, meta, JSON_COMPACT);
    if (!doc) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "max-age=3600");
    if (r->header_only) {
        return OK;
    }
    ap_rputs(doc, r);
    ap_rputs("\n", r);
    return OK;
}
