/*
 * mod_auth_logto_keys.c - glue: the keys of a location, and the shared
 * cache behind them.
 *
 * The socache sequence of mod_authn_socache.c: mutex types registered in
 * pre_config, the provider chosen by AuthLogtoCache, created and
 * initialised in post_config with its global mutex, re-attached in
 * child_init. Two mutexes: one guards the socache itself when the provider
 * is not multi-process safe (shmcb), the other makes one process at a time
 * fetch a key set (single flight across all children and threads).
 */
#include <apr_strings.h>
#include <apr_global_mutex.h>
#include <apr_thread_mutex.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <util_mutex.h>

#include "mod_auth_logto.h"
#include "mod_auth_logto_keys.h"
#include "mod_auth_logto_status.h"
#include "logto_cache.h"
#include "logto_dpop.h"
#include "logto_fetch.h"
#include "logto_keyring.h"

#define CACHE_MUTEX  "auth-logto-cache"
#define FETCH_MUTEX  "auth-logto-fetch"
#define REPLAY_MUTEX "auth-logto-replay"
/* First guess of a cached value's size; a larger one is read again. */
#define FIRST_READ 16384

/* What the socache is told to expect: key and value sizes in bytes, and
 * how long entries live (seconds, as ap_socache.h declares, though shmcb
 * reads it as an apr_interval_time_t it ignores). */
static struct ap_socache_hints socache_hints = {64, 8192, 300};

/* Process-wide state: the shared cache and, per timing, a keyring. */
typedef struct keys_state_t {
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    int provider_needs_lock;
    apr_global_mutex_t *cache_mutex;
    apr_global_mutex_t *fetch_mutex;
    apr_global_mutex_t *replay_mutex; /* a DPoP jti's get and set as one */
    apr_thread_mutex_t *local_replay_mutex; /* the same, per process */
    server_rec *server;
    logto_cache_t cache;
    int have_cache;
    apr_pool_t *pool; /* process lifetime */
    apr_thread_mutex_t *rings_mutex;
    apr_hash_t *rings;          /* timing key -> logto_keyring_t */
    logto_cache_t *local_cache; /* without a shared store */
    unsigned char nonce_secret[LOGTO_DPOP_NONCE_SECRET_SIZE]; /* this
                                       server's, made in post_config */
} keys_state_t;

static keys_state_t state;

/* ------------------------------------------------------- socache adapter */

static apr_status_t lock_cache(void)
{
    if (state.provider_needs_lock && state.cache_mutex) {
        return apr_global_mutex_lock(state.cache_mutex);
    }
    return APR_SUCCESS;
}

static void unlock_cache(void)
{
    if (state.provider_needs_lock && state.cache_mutex) {
        apr_global_mutex_unlock(state.cache_mutex);
    }
}

static apr_status_t retrieve(const char *key, unsigned char *buf,
                             unsigned int *plen, apr_pool_t *p)
{
    apr_status_t rv = lock_cache();

    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = state.provider->retrieve(state.instance, state.server,
                                  (const unsigned char *)key,
                                  (unsigned int)strlen(key), buf, plen, p);
    unlock_cache();
    return rv;
}

/* A miss, a failure and a value too large all read as APR_NOTFOUND. */
static apr_status_t cache_get(void *baton, const char *key,
                              unsigned char **pval, apr_size_t *plen,
                              apr_pool_t *p)
{
    unsigned int len = FIRST_READ;
    unsigned char *buf = apr_palloc(p, len);
    apr_status_t rv = retrieve(key, buf, &len, p);

    if (rv == APR_ENOSPC) {
        len = LOGTO_JWKS_MAX_SIZE + 4096;
        buf = apr_palloc(p, len);
        rv = retrieve(key, buf, &len, p);
    }
    if (rv != APR_SUCCESS) {
        return APR_NOTFOUND;
    }
    *pval = buf;
    *plen = len;
    return APR_SUCCESS;
}

static apr_status_t cache_set(void *baton, const char *key,
                              const unsigned char *val, apr_size_t len,
                              apr_time_t expiry, apr_pool_t *p)
{
    apr_status_t rv = lock_cache();

    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = state.provider->store(state.instance, state.server,
                               (const unsigned char *)key,
                               (unsigned int)strlen(key), expiry,
                               (unsigned char *)val, (unsigned int)len, p);
    unlock_cache();
    return rv;
}

static apr_status_t fetch_lock(void *baton)
{
    return apr_global_mutex_lock(state.fetch_mutex);
}

static apr_status_t fetch_unlock(void *baton)
{
    return apr_global_mutex_unlock(state.fetch_mutex);
}

/* ------------------------------------------------------------- lifecycle */

int logto_keys_pre_config(apr_pool_t *pconf)
{
    if (ap_mutex_register(pconf, CACHE_MUTEX, NULL, APR_LOCK_DEFAULT, 0) !=
            APR_SUCCESS ||
        ap_mutex_register(pconf, FETCH_MUTEX, NULL, APR_LOCK_DEFAULT, 0) !=
            APR_SUCCESS ||
        ap_mutex_register(pconf, REPLAY_MUTEX, NULL, APR_LOCK_DEFAULT, 0) !=
            APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static apr_status_t forget_state(void *data)
{
    memset(&state, 0, sizeof(state));
    return APR_SUCCESS;
}

/* Create and initialise the socache named by AuthLogtoCache (shmcb when
 * unset). Without the provider loaded and nothing configured, keys are
 * kept per process, and the error log says so. */
static int init_socache(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    const logto_srv_conf_t *sc =
        ap_get_module_config(s->module_config, &auth_logto_module);
    const char *name =
        sc->cache_provider_name ? sc->cache_provider_name : "shmcb";
    const char *err;
    apr_status_t rv;

    state.provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                        AP_SOCACHE_PROVIDER_VERSION);
    if (!state.provider) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     LOGTO_LOGNO(00301) "socache provider %s not loaded: "
                                        "keys are cached per process (load "
                                        "mod_socache_shmcb to share them)",
                     name);
        return OK;
    }
    err = state.provider->create(&state.instance, sc->cache_args, ptemp, pconf);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     LOGTO_LOGNO(00302) "AuthLogtoCache %s: %s", name, err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rv = state.provider->init(state.instance, "auth_logto", &socache_hints, s,
                              pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     LOGTO_LOGNO(00303) "AuthLogtoCache %s: cannot "
                                        "initialise",
                     name);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    state.provider_needs_lock =
        (state.provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) != 0;
    state.have_cache = 1;
    return OK;
}

static int init_mutexes(apr_pool_t *pconf, server_rec *s)
{
    apr_status_t rv;

    rv = ap_global_mutex_create(&state.fetch_mutex, NULL, FETCH_MUTEX, NULL, s,
                                pconf, 0);
    if (rv == APR_SUCCESS) {
        rv = ap_global_mutex_create(&state.replay_mutex, NULL, REPLAY_MUTEX,
                                    NULL, s, pconf, 0);
    }
    if (rv == APR_SUCCESS && state.provider_needs_lock) {
        rv = ap_global_mutex_create(&state.cache_mutex, NULL, CACHE_MUTEX, NULL,
                                    s, pconf, 0);
    }
    return rv == APR_SUCCESS ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

static void wire_cache(void)
{
    state.cache.baton = &state;
    state.cache.get = cache_get;
    state.cache.set = cache_set;
    state.cache.lock = fetch_lock;
    state.cache.unlock = fetch_unlock;
}

static void destroy_socache(void *data)
{
    if (state.instance && state.provider) {
        state.provider->destroy(state.instance, state.server);
    }
}

static apr_status_t destroy_socache_cleanup(void *data)
{
    destroy_socache(data);
    return APR_SUCCESS;
}

/* The keyring settings of c: refresh timing and fetch options. */
static void ring_settings(logto_keyring_timing_t *timing,
                          logto_fetch_opts_t *opts, const logto_dir_conf_t *c)
{
    timing->refresh = logto_conf_refresh(c);
    timing->min_refresh = logto_conf_min_refresh(c);
    timing->max_stale = logto_conf_max_stale(c);
    logto_fetch_opts_init(opts);
    opts->timeout = logto_conf_timeout(c);
    opts->ca_file = c->ca_file;
}

/* Fetch the keys of one issuer of a configuration into the shared cache,
 * once per key source, so that the first request does not wait for them. */
static void prefetch_issuer(apr_pool_t *ptemp, server_rec *s, apr_hash_t *seen,
                            const logto_dir_conf_t *c, const char *issuer)
{
    const logto_keyspec_t *k = logto_conf_keyspec(c, issuer);
    const char *uri = k ? k->jwks_uri : NULL;
    logto_keyring_timing_t timing;
    logto_fetch_opts_t opts;
    const logto_jwks_t *jwks;
    logto_keyring_t *kr;
    logto_err_t err;
    const char *id;

    if (k && k->file_jwks) {
        return;
    }
    id = uri ? uri : issuer;
    if (apr_hash_get(seen, id, APR_HASH_KEY_STRING)) {
        return;
    }
    apr_hash_set(seen, id, APR_HASH_KEY_STRING, id);
    ring_settings(&timing, &opts, c);
    if (logto_keyring_create(&kr, ptemp, &state.cache, &opts, &timing, &err) !=
            APR_SUCCESS ||
        logto_keyring_get(&jwks, kr, uri, issuer, NULL,
                          apr_time_sec(apr_time_now()), NULL,
                          &err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     LOGTO_LOGNO(00305) "keys of %s not fetched at startup: "
                                        "%s",
                     id, err.text);
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 LOGTO_LOGNO(00306) "keys of %s fetched at startup: %d "
                                    "usable",
                 id, jwks->keys->nelts);
}

/* The keys of every issuer of c (merged under its server's defaults). */
static void prefetch_one(apr_pool_t *ptemp, server_rec *s, apr_hash_t *seen,
                         const logto_dir_conf_t *c,
                         const logto_dir_conf_t *dflt)
{
    int i;

    if (c != dflt) {
        c = logto_merge_dir_conf(ptemp, (void *)dflt, (void *)c);
    }
    for (i = 0; c->issuers && i < c->issuers->nelts; i++) {
        prefetch_issuer(ptemp, s, seen, c,
                        APR_ARRAY_IDX(c->issuers, i, const char *));
    }
}

static void prefetch_sections(apr_pool_t *ptemp, server_rec *s,
                              apr_hash_t *seen, apr_array_header_t *secs,
                              const logto_dir_conf_t *dflt)
{
    ap_conf_vector_t **elts;
    int i;

    if (!secs) {
        return;
    }
    elts = (ap_conf_vector_t **)secs->elts;
    for (i = 0; i < secs->nelts; i++) {
        const logto_dir_conf_t *c =
            ap_get_module_config(elts[i], &auth_logto_module);
        if (c) {
            prefetch_one(ptemp, s, seen, c, dflt);
        }
    }
}

/* Walk every server's and every section's configuration for issuers. */
static void prefetch_all(apr_pool_t *ptemp, server_rec *s0)
{
    apr_hash_t *seen = apr_hash_make(ptemp);
    server_rec *s;

    for (s = s0; s; s = s->next) {
        core_server_config *core = ap_get_core_module_config(s->module_config);
        const logto_dir_conf_t *dflt =
            ap_get_module_config(s->lookup_defaults, &auth_logto_module);

        prefetch_one(ptemp, s, seen, dflt, dflt);
        prefetch_sections(ptemp, s, seen, core->sec_url, dflt);
        prefetch_sections(ptemp, s, seen, core->sec_dir, dflt);
    }
}

/* Prefetch through the shared cache. A store that needs no mutex of ours
 * (memcache, redis) keeps network connections, which children must not
 * inherit from the parent: they would all talk over one socket. The
 * prefetch then goes through an instance of its own, made from ptemp and
 * gone, with its connections, before the children start. */
static void prefetch(apr_pool_t *ptemp, server_rec *s)
{
    const logto_srv_conf_t *sc =
        ap_get_module_config(s->module_config, &auth_logto_module);
    ap_socache_instance_t *shared = state.instance, *own = NULL;

    if (!state.provider_needs_lock) {
        if (state.provider->create(&own, sc->cache_args, ptemp, ptemp) ||
            state.provider->init(own, "auth_logto", &socache_hints, s, ptemp) !=
                APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         LOGTO_LOGNO(00307) "keys not fetched at startup: "
                                            "the cache cannot be reached");
            return;
        }
        state.instance = own;
    }
    prefetch_all(ptemp, s);
    if (own) {
        state.provider->destroy(own, s);
        state.instance = shared;
    }
}

int logto_keys_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    int rv;

    /* The first pass only checks the configuration. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    apr_pool_cleanup_register(pconf, NULL, forget_state, apr_pool_cleanup_null);
    if (logto_fetch_global_init() != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     LOGTO_LOGNO(00304) "libcurl cannot start");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    state.server = s;
    if (apr_generate_random_bytes(state.nonce_secret,
                                  sizeof(state.nonce_secret)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     LOGTO_LOGNO(01403) "no random bytes for DPoP nonces");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rv = init_socache(pconf, ptemp, s);
    if (rv != OK) {
        return rv;
    }
    if (state.have_cache) {
        apr_pool_cleanup_register(pconf, NULL, destroy_socache_cleanup,
                                  apr_pool_cleanup_null);
        rv = init_mutexes(pconf, s);
        if (rv != OK) {
            return rv;
        }
        wire_cache();
        prefetch(ptemp, s);
    }
    return OK;
}

void logto_keys_child_init(apr_pool_t *p, server_rec *s)
{
    const char *file;

    state.pool = p;
    state.rings = apr_hash_make(p);
    apr_thread_mutex_create(&state.rings_mutex, APR_THREAD_MUTEX_DEFAULT, p);
    apr_thread_mutex_create(&state.local_replay_mutex, APR_THREAD_MUTEX_DEFAULT,
                            p);
    if (!state.have_cache) {
        /* No shared store: one per process still makes its threads fetch
         * one at a time. */
        if (logto_cache_mem_create(&state.local_cache, p) != APR_SUCCESS) {
            state.local_cache = NULL;
        }
        return;
    }
    file = apr_global_mutex_lockfile(state.fetch_mutex);
    apr_global_mutex_child_init(&state.fetch_mutex, file, p);
    file = apr_global_mutex_lockfile(state.replay_mutex);
    apr_global_mutex_child_init(&state.replay_mutex, file, p);
    if (state.cache_mutex) {
        file = apr_global_mutex_lockfile(state.cache_mutex);
        apr_global_mutex_child_init(&state.cache_mutex, file, p);
    }
}

/* ------------------------------------------------------------- keyrings */

/* The keyring of this process for c's timing and fetch options. */
static logto_keyring_t *ring_for(const logto_dir_conf_t *c, apr_pool_t *tmp,
                                 logto_err_t *err)
{
    logto_keyring_timing_t timing;
    logto_fetch_opts_t opts;
    logto_keyring_t *kr;
    const char *key;

    if (!state.pool) {
        logto_err_set(err, LOGTO_ERR_INTERNAL, "keys not initialised");
        return NULL;
    }
    ring_settings(&timing, &opts, c);
    key = apr_psprintf(tmp,
                       "%" APR_INT64_T_FMT "/%" APR_INT64_T_FMT
                       "/%" APR_INT64_T_FMT "/%d/%s",
                       timing.refresh, timing.min_refresh, timing.max_stale,
                       opts.timeout, opts.ca_file ? opts.ca_file : "");
    apr_thread_mutex_lock(state.rings_mutex);
    kr = apr_hash_get(state.rings, key, APR_HASH_KEY_STRING);
    if (!kr && logto_keyring_create(&kr, state.pool,
                                    state.have_cache ? &state.cache
                                                     : state.local_cache,
                                    &opts, &timing, err) == APR_SUCCESS) {
        apr_hash_set(state.rings, apr_pstrdup(state.pool, key),
                     APR_HASH_KEY_STRING, kr);
    }
    apr_thread_mutex_unlock(state.rings_mutex);
    return kr;
}

static apr_status_t keys_get(const logto_jwks_t **pjwks, request_rec *r,
                             const logto_dir_conf_t *c, const char *issuer,
                             const char *unknown_kid, logto_err_t *err)
{
    logto_keyring_stats_t stats = {0, 0, 0};
    logto_keyring_t *kr;
    apr_status_t rv;

    const logto_keyspec_t *k = logto_conf_keyspec(c, issuer);

    if (k && k->file_jwks) {
        *pjwks = k->file_jwks;
        return APR_SUCCESS;
    }
    kr = ring_for(c, r->pool, err);
    if (!kr) {
        return APR_EGENERAL;
    }
    rv = logto_keyring_get(pjwks, kr, k ? k->jwks_uri : NULL, issuer,
                           unknown_kid, apr_time_sec(apr_time_now()), &stats,
                           err);
    if (stats.fetches) {
        logto_status_count_fetch(!stats.failures);
    }
    return rv;
}

apr_array_header_t *logto_keys_status(apr_pool_t *p)
{
    apr_array_header_t *all =
        apr_array_make(p, 4, sizeof(logto_keyring_entry_t *));
    apr_array_header_t *one;
    apr_hash_index_t *hi;

    if (!state.rings_mutex) {
        return all;
    }
    apr_thread_mutex_lock(state.rings_mutex);
    for (hi = apr_hash_first(p, state.rings); hi; hi = apr_hash_next(hi)) {
        if (logto_keyring_status(&one, p, apr_hash_this_val(hi)) ==
            APR_SUCCESS) {
            apr_array_cat(all, one);
        }
    }
    apr_thread_mutex_unlock(state.rings_mutex);
    return all;
}

/* ---------------------------------------------------------- key sources */

/* One issuer's keys for one request. */
typedef struct source_baton_t {
    request_rec *r;
    const logto_dir_conf_t *c;
    const char *issuer;
} source_baton_t;

static apr_status_t source_get(const logto_jwks_t **pjwks, void *baton,
                               const char *unknown_kid, logto_err_t *err)
{
    source_baton_t *b = baton;

    return keys_get(pjwks, b->r, b->c, b->issuer, unknown_kid, err);
}

logto_keysource_t *logto_keys_sources(request_rec *r, const logto_dir_conf_t *c,
                                      const logto_policy_t *pol)
{
    int n = pol->issuers->nelts, i;
    logto_keysource_t *ks = apr_pcalloc(r->pool, (n ? n : 1) * sizeof(*ks));
    source_baton_t *b = apr_pcalloc(r->pool, (n ? n : 1) * sizeof(*b));

    for (i = 0; i < n; i++) {
        b[i].r = r;
        b[i].c = c;
        b[i].issuer = APR_ARRAY_IDX(pol->issuers, i, const char *);
        ks[i].get = source_get;
        ks[i].baton = &b[i];
        ks[i].may_refetch = !logto_conf_keyspec(c, b[i].issuer) ||
                            !logto_conf_keyspec(c, b[i].issuer)->file_jwks;
    }
    return ks;
}

/* -------------------------------------------------- shared cache records */

int logto_socache_is_fleet(void)
{
    return state.have_cache && !state.provider_needs_lock;
}

apr_status_t logto_socache_get(const char *key, unsigned char **pval,
                               apr_size_t *plen, apr_pool_t *p)
{
    if (!state.have_cache) {
        return APR_NOTFOUND;
    }
    return cache_get(&state, key, pval, plen, p);
}

apr_status_t logto_socache_set(const char *key, const unsigned char *val,
                               apr_size_t len, apr_time_t expiry, apr_pool_t *p)
{
    if (!state.have_cache) {
        return APR_NOTFOUND;
    }
    return cache_set(&state, key, val, len, expiry, p);
}

/* ------------------------------------------------------- replay cache */

static apr_status_t replay_lock(void)
{
    if (state.have_cache) {
        return apr_global_mutex_lock(state.replay_mutex);
    }
    return state.local_replay_mutex
               ? apr_thread_mutex_lock(state.local_replay_mutex)
               : APR_EINIT;
}

static void replay_unlock(void)
{
    if (state.have_cache) {
        apr_global_mutex_unlock(state.replay_mutex);
    }
    else {
        apr_thread_mutex_unlock(state.local_replay_mutex);
    }
}

/* The lookup and the store under one lock held by every child: of two
 * requests with one proof, exactly one finds no entry. With memcache or
 * redis the entry is seen by the whole fleet; two hosts racing within
 * the same instant is the one window left. */
apr_status_t logto_replay_first_use(request_rec *r, const char *key,
                                    apr_int64_t until)
{
    logto_cache_t *cache = state.have_cache ? &state.cache : state.local_cache;
    unsigned char *val;
    apr_size_t len;
    apr_status_t rv;

    if (!cache || !key || replay_lock() != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (cache->get(cache->baton, key, &val, &len, r->pool) == APR_SUCCESS) {
        rv = APR_EEXIST;
    }
    else {
        rv = cache->set(cache->baton, key, (const unsigned char *)"1", 1,
                        apr_time_from_sec(until), r->pool);
    }
    replay_unlock();
    return rv;
}

/* The first secret any server stored wins, so every host sharing the
 * store makes and accepts the same nonces; without a store, or when it
 * fails, this server's own secret (shared by its children by fork). */
void logto_nonce_secret(request_rec *r, unsigned char *out)
{
    static const char key[] = "dpop-nonce-secret:v1";
    unsigned char *val;
    apr_size_t len;

    memcpy(out, state.nonce_secret, LOGTO_DPOP_NONCE_SECRET_SIZE);
    if (!state.have_cache || replay_lock() != APR_SUCCESS) {
        return;
    }
    if (state.cache.get(&state, key, &val, &len, r->pool) == APR_SUCCESS &&
        len == LOGTO_DPOP_NONCE_SECRET_SIZE) {
        memcpy(out, val, len);
    }
    else {
        state.cache.set(
            &state, key, state.nonce_secret, LOGTO_DPOP_NONCE_SECRET_SIZE,
            apr_time_now() + apr_time_from_sec(30 * 86400), r->pool);
    }
    replay_unlock();
}
