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
 *
 * Startup never fetches: the parent only prepares the cache (and puts the
 * last good key sets of the previous generation back into it after a
 * graceful restart). Each child runs a refresher thread that keeps the key
 * sets of the configuration fresh (see logto_keyring.h): it fetches at
 * once when the child starts, through the shared record, so of all
 * children one fetches.
 *
 * Every record written to the socache is sealed (logto_record.h) under
 * the server secret, in cache_set, and opened in cache_get: key sets,
 * verified tokens and whatever else goes through the adapter. A record
 * that fails to open is a miss.
 *
 * The state directory (AuthLogtoStateDir) is created by the parent, owner
 * only (0700), and handed to the User httpd's children run as: the child
 * that fetches a key set writes it there, and a child that finds no keys
 * and cannot fetch reads it. The parent, running as root, never writes
 * files there.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <pthread.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_escape.h>
#include <apr_strings.h>
#include <apr_global_mutex.h>
#include <apr_hash.h>
#include <apr_shm.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <util_mutex.h>
#include <openssl/evp.h>
#include <unixd.h>

#include "mod_auth_logto.h"
#include "mod_auth_logto_keys.h"
#include "mod_auth_logto_counters.h"
#include "logto_cache.h"
#include "logto_dpop.h"
#include "logto_fetch.h"
#include "logto_keyring.h"
#include "logto_md.h"
#include "logto_record.h"

#define CACHE_MUTEX  "auth-logto-cache"
#define FETCH_MUTEX  "auth-logto-fetch"
#define REPLAY_MUTEX "auth-logto-replay"
/* First guess of a cached value's size; a larger one is read again. */
#define FIRST_READ 16384
/* Room for the largest record (a key set at the fetch bound). */
#define LARGEST_READ (LOGTO_RECORD_OVERHEAD + LOGTO_RECORD_MAX_PAYLOAD)
/* Seconds between two reports of records that failed their check. */
#define FORGERY_REPORT_INTERVAL 60
/* Process-pool userdata: what outlives a generation. */
#define SECRET_USERDATA       "auth_logto_cache_secret"
#define NONCE_SECRET_USERDATA "auth_logto_dpop_nonce_secret"
#define LAST_GOOD_USERDATA    "auth_logto_last_good"
/* Longest key stored as it is (memcache: 2 hex digits a byte in 250). */
#define STORE_ID_MAX 100

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
    apr_global_mutex_t *fetch_mutex;  /* guards leases */
    struct lease_t *leases;           /* FETCH_LEASES, shared memory */
    apr_global_mutex_t *replay_mutex; /* a DPoP jti's get and set as one */
    apr_thread_mutex_t *local_replay_mutex; /* the same, per process */
    server_rec *server;
    logto_cache_t cache;
    int have_cache;
    int spread_ids; /* shmcb: ids begin with a hash character (store_id) */
    const char *cache_kind; /* for the status page */
    apr_pool_t *pool;       /* process lifetime */
    apr_thread_mutex_t *rings_mutex;
    apr_hash_t *rings;          /* timing key -> logto_keyring_t */
    logto_cache_t *local_cache; /* without a shared store */
    unsigned char nonce_secret[LOGTO_DPOP_NONCE_SECRET_SIZE]; /* this
                                       server's, made in post_config */
    logto_secret_t secret;           /* seals every socache record */
    const char *state_dir;           /* NULL: last good keys not on disk */
    apr_array_header_t *record_keys; /* "jwks:..." of the configuration */
    int secret_configured;
    apr_thread_t *refresher;
    int no_refresher; /* requests refresh keys themselves */
    apr_thread_mutex_t *stop_mutex;
    apr_thread_cond_t *stop_cond;
    int stopping;
    apr_uint32_t forged; /* records that failed, since the last
                            report */
    volatile apr_time_t forged_reported;
    apr_uint32_t largest; /* largest key-set record seen */
} keys_state_t;

/* Last good key-set records of the previous generation (graceful
 * restart), in a pool of their own under the process pool. */
typedef struct last_good_t {
    apr_pool_t *pool;
    apr_hash_t *records; /* key -> last_good_rec_t * */
} last_good_t;

typedef struct last_good_rec_t {
    unsigned char *val;
    apr_size_t len;
} last_good_rec_t;

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

/* The id a record is stored under: the key itself, or, for a long one (a
 * long JWKS URI), a digest of it, as memcache and redis take ids of up
 * to 120 bytes only. The seal still binds the whole key. For shmcb, one
 * character from a hash of the key in front: shmcb picks a record's
 * subcache by the id's first byte, so without it every key set
 * ("jwks:...") went to one subcache and pushed the others out (their
 * status read "fetched: never", and children fetched again). The 32
 * characters @ A-Z [ \ ] ^ _ differ in their five low bits, which are
 * what shmcb looks at. Network stores hash ids themselves, and servers of
 * a fleet must agree on them across versions: theirs are as they were. */
static const char *store_id(const char *key, apr_pool_t *p)
{
    apr_ssize_t klen = (apr_ssize_t)strlen(key);
    unsigned char md[32];
    unsigned int n = sizeof(md), h;
    const char *id = key;

    if (strlen(key) > STORE_ID_MAX &&
        EVP_Digest(key, strlen(key), md, &n, logto_md_sha256(), NULL)) {
        id = apr_pstrcat(p, "h:", apr_pescape_hex(p, md, sizeof(md), 0), NULL);
    }
    if (!state.spread_ids) {
        return id;
    }
    /* APR's times-33 hash, its bits mixed (its low five alone are only
     * the sum of the bytes) */
    h = apr_hashfunc_default(key, &klen) * 2654435761u;
    return apr_psprintf(p, "%c%s", (char)('@' + (h >> 27)), id);
}

static apr_status_t retrieve(const char *key, unsigned char *buf,
                             unsigned int *plen, apr_pool_t *p)
{
    const char *id = store_id(key, p);
    apr_status_t rv = lock_cache();

    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = state.provider->retrieve(state.instance, state.server,
                                  (const unsigned char *)id,
                                  (unsigned int)strlen(id), buf, plen, p);
    unlock_cache();
    return rv;
}

/* Whether the record under key may be large (a key set): a store that
 * says "not found" for a buffer too small (shmcb) is asked again with
 * room for the largest. Token records are small. */
static int may_be_large(const char *key)
{
    return strncmp(key, "jwks:", 5) == 0;
}

/* The raw bytes under key, whatever their size up to the largest record:
 * shmcb answers APR_NOTFOUND, memcache APR_ENOMEM and others APR_ENOSPC
 * when the buffer is too small, so each of those is worth one more read
 * with room enough. */
static apr_status_t read_raw(const char *key, unsigned char **pbuf,
                             unsigned int *plen, apr_pool_t *p)
{
    unsigned int first = FIRST_READ, len;
    unsigned char *buf;
    apr_status_t rv;

    if (may_be_large(key) && apr_atomic_read32(&state.largest) >= first) {
        first = apr_atomic_read32(&state.largest) + 1024;
    }
    len = first;
    buf = apr_palloc(p, len);
    rv = retrieve(key, buf, &len, p);
    if (rv == APR_ENOSPC || rv == APR_ENOMEM ||
        (rv == APR_NOTFOUND && may_be_large(key))) {
        len = LARGEST_READ;
        buf = apr_palloc(p, len);
        rv = retrieve(key, buf, &len, p);
    }
    *pbuf = buf;
    *plen = len;
    return rv;
}

/* What the forged-record report names: the key set, or the section. */
static const char *record_label(const char *key)
{
    return may_be_large(key) ? key + 5 : "a verified-token record";
}

/* Count a record that failed its check (the status page's
 * integrity_failures, each one); say so once per interval. */
static void record_forged(const char *key, const char *why)
{
    apr_time_t now = apr_time_now(), last = state.forged_reported;
    apr_uint32_t n = apr_atomic_inc32(&state.forged) + 1;

    logto_count(LOGTO_C_INTEGRITY_FAILURES);
    if (now - last < apr_time_from_sec(FORGERY_REPORT_INTERVAL) && last != 0) {
        return;
    }
    state.forged_reported = now;
    apr_atomic_set32(&state.forged, 0);
    ap_log_error(
        APLOG_MARK, APLOG_WARNING, 0, state.server,
        LOGTO_LOGNO(
            01101) "%u shared cache record(s) failed their "
                   "authentication check and were ignored (latest: %s: %s); "
                   "is another server writing with another "
                   "AuthLogtoCacheSecret, or is someone forging records?",
        n, record_label(key), why);
}

/* A miss, a failure, a value too large and a record that fails its check
 * all read as APR_NOTFOUND. */
static apr_status_t cache_get(void *baton, const char *key,
                              unsigned char **pval, apr_size_t *plen,
                              apr_pool_t *p)
{
    unsigned char *buf;
    unsigned int len;
    const unsigned char *payload;
    apr_size_t n;
    logto_err_t err;

    if (read_raw(key, &buf, &len, p) != APR_SUCCESS) {
        return APR_NOTFOUND;
    }
    if (logto_record_open(&payload, &n, &state.secret, key, buf, len, &err) !=
        APR_SUCCESS) {
        record_forged(key, err.text);
        return APR_NOTFOUND;
    }
    if (may_be_large(key) && len > apr_atomic_read32(&state.largest)) {
        apr_atomic_set32(&state.largest, len);
    }
    *pval = (unsigned char *)payload;
    *plen = n;
    return APR_SUCCESS;
}

static apr_status_t cache_set(void *baton, const char *key,
                              const unsigned char *val, apr_size_t len,
                              apr_time_t expiry, apr_pool_t *p)
{
    apr_size_t rlen;
    unsigned char *rec;
    const char *id;
    apr_status_t rv;

    if (len > LOGTO_RECORD_MAX_PAYLOAD) {
        return APR_ENOSPC;
    }
    rec = logto_record_seal(&rlen, p, &state.secret, key, val, len);
    id = store_id(key, p);
    rv = lock_cache();
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = state.provider->store(
        state.instance, state.server, (const unsigned char *)id,
        (unsigned int)strlen(id), expiry, rec, (unsigned int)rlen, p);
    unlock_cache();
    if (rv == APR_SUCCESS && may_be_large(key) &&
        rlen > apr_atomic_read32(&state.largest)) {
        apr_atomic_set32(&state.largest, (apr_uint32_t)rlen);
    }
    return rv;
}

/* ------------------------------------------------------- fetch leases */

/* One fetch per key set at a time, across the children, and fetches of
 * different key sets side by side: a hanging issuer holds back only its
 * own key set. A lease names the key set (a hash of its record key; two
 * sets sharing a hash only share the single flight) and lasts until the
 * fetch ends, or its longest possible time when the holder dies. The
 * global fetch mutex guards only the table, for the instant of a look,
 * never across the network. */
#define FETCH_LEASES 64

typedef struct lease_t {
    unsigned int key; /* the hash of the record key; 0: free */
    apr_time_t until;
} lease_t;

static unsigned int lease_key(const char *key)
{
    apr_ssize_t len = APR_HASH_KEY_STRING;
    unsigned int h = apr_hashfunc_default(key, &len);

    return h ? h : 1;
}

/* Take key's lease for hold seconds, or clear it (hold 0), under the
 * table's mutex: APR_EBUSY when someone else holds it. */
static apr_status_t lease(const char *key, apr_int64_t hold)
{
    unsigned int k = lease_key(key);
    apr_time_t now = apr_time_now();
    lease_t *l, *free_slot = NULL;
    apr_status_t rv = APR_SUCCESS;

    if (apr_global_mutex_lock(state.fetch_mutex) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    for (l = state.leases; l < state.leases + FETCH_LEASES; l++) {
        int live = l->key != 0 && l->until > now;

        if (l->key == k && !hold) {
            l->key = 0;
            continue;
        }
        if (l->key == k && live) {
            rv = APR_EBUSY;
            break;
        }
        if (!live && !free_slot) {
            free_slot = l;
        }
    }
    /* a table full of fetches in flight: this one goes on unrecorded */
    if (hold && rv == APR_SUCCESS && free_slot) {
        free_slot->key = k;
        free_slot->until = now + apr_time_from_sec(hold);
    }
    apr_global_mutex_unlock(state.fetch_mutex);
    return rv;
}

static apr_status_t fetch_trylock(void *baton, const char *key,
                                  apr_int64_t hold)
{
    return lease(key, hold > 0 ? hold : 1);
}

static apr_status_t fetch_unlock(void *baton, const char *key)
{
    return lease(key, 0);
}

/* Waiting for a lease: until it is free, or as long as it can last. */
static apr_status_t fetch_lock(void *baton, const char *key, apr_int64_t hold)
{
    apr_time_t until = apr_time_now() + apr_time_from_sec(hold);
    apr_status_t rv;

    while ((rv = fetch_trylock(baton, key, hold)) == APR_EBUSY &&
           apr_time_now() < until) {
        apr_sleep(apr_time_from_msec(20));
    }
    return rv;
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

    state.cache_kind = "per process";
    if (sc->cache_none) {
        state.cache_kind = "per process (AuthLogtoCache none)";
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     LOGTO_LOGNO(01220) "AuthLogtoCache none: keys and "
                                        "tokens are cached per process");
        return OK;
    }
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
                     LOGTO_LOGNO(00303) "AuthLogtoCache %s (%s): cannot "
                                        "initialise (for shmcb: is the size "
                                        "large enough, the path writable?)",
                     name, sc->cache_where ? sc->cache_where : "default");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    state.provider_needs_lock =
        (state.provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) != 0;
    state.have_cache = 1;
    state.spread_ids = !strcmp(name, "shmcb");
    state.cache_kind = apr_pstrcat(pconf, "shared (", name, ")", NULL);
    return OK;
}

static int init_mutexes(apr_pool_t *pconf, server_rec *s)
{
    apr_shm_t *shm;
    apr_status_t rv;

    rv = ap_global_mutex_create(&state.fetch_mutex, NULL, FETCH_MUTEX, NULL, s,
                                pconf, 0);
    /* the leases live as long as this generation, inherited by its
     * children */
    if (rv == APR_SUCCESS) {
        rv = apr_shm_create(&shm, FETCH_LEASES * sizeof(lease_t), NULL, pconf);
    }
    if (rv == APR_SUCCESS) {
        state.leases = apr_shm_baseaddr_get(shm);
        memset(state.leases, 0, FETCH_LEASES * sizeof(lease_t));
    }
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
    state.cache.trylock = fetch_trylock;
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

int logto_keys_retry_after(const logto_dir_conf_t *c)
{
    logto_keyring_timing_t timing;
    logto_fetch_opts_t opts;

    ring_settings(&timing, &opts, c);
    return (int)logto_keyring_starved_wait(&timing, opts.timeout);
}

/* ------------------------------------------------------ key sources */

/* Called for each network key source of the configuration: c is the
 * scope that names it, uri NULL for discovery, issuer the one it serves. */
typedef void source_fn(void *baton, const logto_dir_conf_t *c, const char *uri,
                       const char *issuer);

/* The network key source of one issuer of c, unless it comes from a file
 * or was met before. */
static void walk_issuer(apr_hash_t *seen, const logto_dir_conf_t *c,
                        const char *issuer, source_fn *fn, void *baton)
{
    const logto_keyspec_t *k = logto_conf_keyspec(c, issuer);
    const char *uri = k ? k->jwks_uri : NULL;
    const char *id;

    if (k && k->file_jwks) {
        return;
    }
    /* one source per CA file that its keys are fetched trusting */
    id = logto_keyring_record_key(apr_hash_pool_get(seen), uri, issuer,
                                  c->ca_file);
    if (apr_hash_get(seen, id, APR_HASH_KEY_STRING)) {
        return;
    }
    apr_hash_set(seen, id, APR_HASH_KEY_STRING, id);
    fn(baton, c, uri, issuer);
}

/* Every issuer of c, merged under its server's defaults. */
static void walk_one(apr_hash_t *seen, const logto_dir_conf_t *c,
                     const logto_dir_conf_t *dflt, source_fn *fn, void *baton)
{
    int i;

    if (c != dflt) {
        c = logto_merge_dir_conf(apr_hash_pool_get(seen), (void *)dflt,
                                 (void *)c);
    }
    for (i = 0; c->issuers && i < c->issuers->nelts; i++) {
        walk_issuer(seen, c, APR_ARRAY_IDX(c->issuers, i, const char *), fn,
                    baton);
    }
}

/* Whether section a (its path) encloses section b's: httpd merges a
 * into every request that b applies to. <Location /x> applies to what
 * begins with /x; <Directory /x> to /x and what lies under it. Regex and
 * wildcard sections enclose nothing here. */
static int encloses(const core_dir_config *a, const core_dir_config *b,
                    int dirs)
{
    apr_size_t n;

    if (!a || !b || !a->d || !b->d || a->r || b->r || a->d_is_fnmatch ||
        b->d_is_fnmatch) {
        return 0;
    }
    n = strlen(a->d);
    if (strncmp(a->d, b->d, n) != 0) {
        return 0;
    }
    return !dirs || n == 0 || a->d[n - 1] == '/' || b->d[n] == '\0' ||
           b->d[n] == '/';
}

/* Each section merged, as httpd would merge it for its own path, with
 * the server's defaults and the sections before it that enclose it: an
 * inner <Location> naming only an issuer takes its key file from the
 * outer one (no fetch for a source nothing uses), and one naming only a
 * key URI serves the outer one's issuer (the source is fetched at
 * startup and listed). */
static void walk_sections(apr_hash_t *seen, apr_array_header_t *secs,
                          const logto_dir_conf_t *dflt, int dirs, source_fn *fn,
                          void *baton)
{
    apr_pool_t *p = apr_hash_pool_get(seen);
    ap_conf_vector_t **elts;
    int i, j;

    if (!secs) {
        return;
    }
    elts = (ap_conf_vector_t **)secs->elts;
    for (i = 0; i < secs->nelts; i++) {
        const logto_dir_conf_t *c =
            ap_get_module_config(elts[i], &auth_logto_module);
        const core_dir_config *ci = ap_get_core_module_config(elts[i]);
        const logto_dir_conf_t *merged = dflt;

        if (!c) {
            continue;
        }
        for (j = 0; j < i; j++) {
            const logto_dir_conf_t *cj =
                ap_get_module_config(elts[j], &auth_logto_module);

            if (cj && encloses(ap_get_core_module_config(elts[j]), ci, dirs)) {
                merged = logto_merge_dir_conf(p, (void *)merged, (void *)cj);
            }
        }
        merged = logto_merge_dir_conf(p, (void *)merged, (void *)c);
        walk_one(seen, merged, merged, fn, baton);
    }
}

/* Every server's and every section's key sources, each once. */
static void walk_sources(apr_pool_t *p, server_rec *s0, source_fn *fn,
                         void *baton)
{
    apr_hash_t *seen = apr_hash_make(p);
    server_rec *s;

    for (s = s0; s; s = s->next) {
        core_server_config *core = ap_get_core_module_config(s->module_config);
        const logto_dir_conf_t *dflt =
            ap_get_module_config(s->lookup_defaults, &auth_logto_module);

        walk_one(seen, dflt, dflt, fn, baton);
        walk_sections(seen, core->sec_url, dflt, 0, fn, baton);
        walk_sections(seen, core->sec_dir, dflt, 1, fn, baton);
    }
}

static void collect_key(void *baton, const logto_dir_conf_t *c, const char *uri,
                        const char *issuer)
{
    apr_array_header_t *keys = baton;

    APR_ARRAY_PUSH(keys, const char *) =
        logto_keyring_record_key(keys->pool, uri, issuer, c->ca_file);
}

/* ---------------------------------------------------------- the secret */

/* Providers whose records stay on this host: without a configured
 * secret, one generated at startup will do. */
static int provider_is_local(const char *name)
{
    return !strcmp(name, "shmcb") || !strcmp(name, "shmht") ||
           !strcmp(name, "dbm");
}

/* len random bytes under name on the process pool: made once per
 * process and kept across graceful restarts, so what they seal or sign
 * before one (records put back, DPoP nonces clients hold) still holds
 * after it. NULL when no random bytes could be had. */
static const unsigned char *kept_random(server_rec *s, const char *name,
                                        apr_size_t len)
{
    apr_pool_t *pp = s->process->pool;
    void *data = NULL;
    unsigned char *bytes;

    apr_pool_userdata_get(&data, name, pp);
    if (!data) {
        bytes = apr_palloc(pp, len);
        if (apr_generate_random_bytes(bytes, len) != APR_SUCCESS) {
            return NULL;
        }
        apr_pool_userdata_set(bytes, name, apr_pool_cleanup_null, pp);
        data = bytes;
    }
    return data;
}

static apr_status_t generated_secret(logto_secret_t *secret, server_rec *s)
{
    secret->bytes = kept_random(s, SECRET_USERDATA, LOGTO_RECORD_MIN_SECRET);
    secret->len = LOGTO_RECORD_MIN_SECRET;
    return secret->bytes ? APR_SUCCESS : APR_EGENERAL;
}

/* This server's own DPoP nonce secret (shmcb, where the shared copy
 * lives, starts empty with each generation). */
static apr_status_t kept_nonce_secret(unsigned char *out, server_rec *s)
{
    const unsigned char *bytes =
        kept_random(s, NONCE_SECRET_USERDATA, LOGTO_DPOP_NONCE_SECRET_SIZE);

    if (!bytes) {
        return APR_EGENERAL;
    }
    memcpy(out, bytes, LOGTO_DPOP_NONCE_SECRET_SIZE);
    return APR_SUCCESS;
}

/* The secret that seals socache records: the configured one, or, for a
 * store on this host only, a generated one. A store other hosts reach
 * without a configured secret is a configuration error, caught by
 * apachectl -t too. */
static int choose_secret(server_rec *s, const char *name, int check_only)
{
    const logto_srv_conf_t *sc =
        ap_get_module_config(s->module_config, &auth_logto_module);

    if (sc->cache_secret) {
        state.secret.bytes = sc->cache_secret;
        state.secret.len = sc->cache_secret_len;
        state.secret_configured = 1;
        return OK;
    }
    if (!provider_is_local(name)) {
        ap_log_error(
            APLOG_MARK, APLOG_CRIT, 0, s,
            LOGTO_LOGNO(
                01102) "%s: AuthLogtoCache %s: records shared "
                       "with other hosts must be authenticated: "
                       "AuthLogtoCacheSecret is required (a file of at least "
                       "32 random bytes, the same on every server: openssl "
                       "rand -out /etc/apache2/logto-cache.secret 32)",
            sc->cache_where ? sc->cache_where : "AuthLogtoCache", name);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (check_only) {
        return OK;
    }
    if (generated_secret(&state.secret, s) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     LOGTO_LOGNO(01103) "no random bytes for the cache "
                                        "secret");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* ------------------------------------------------- the state directory */

/* Why dir cannot be the state directory, or NULL once it is ready: made
 * now (owner only, for the User the children run as: they write it, the
 * parent never does), or there already, a directory of that User that
 * nobody else may write. Never through a symbolic link, and a directory
 * that was there is never handed to anyone: a parent that the User may
 * write must not let it have root give it another directory. */
/* The first directory above dir that the User cannot pass through, or
 * NULL: the children would never reach the state directory. */
static const char *parent_closed(const char *dir, uid_t user, gid_t group,
                                 apr_pool_t *p)
{
    char *up = apr_pstrdup(p, dir), *slash;
    struct stat st;
    mode_t need;

    while ((slash = strrchr(up, '/')) != NULL && slash != up) {
        *slash = '\0';
        if (stat(up, &st) != 0) {
            return up;
        }
        need = st.st_uid == user    ? S_IXUSR
               : st.st_gid == group ? S_IXGRP
                                    : S_IXOTH;
        if (user != 0 && (st.st_mode & need) == 0) {
            return up;
        }
    }
    return NULL;
}

static const char *state_dir_problem(char *dir, apr_pool_t *p)
{
    uid_t user = geteuid() == 0 ? ap_unixd_config.user_id : geteuid();
    const char *why = NULL, *closed;
    char *slash, ebuf[120];
    struct stat st;
    apr_status_t rv;
    int fd, made = 0, e;

    /* parents as anyone may pass through (the children must reach it),
     * then this one, made here or there already: only what mkdir made
     * counts as made */
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        rv = apr_dir_make_recursive(dir,
                                    APR_FPROT_UREAD | APR_FPROT_UWRITE |
                                        APR_FPROT_UEXECUTE | APR_FPROT_GREAD |
                                        APR_FPROT_GEXECUTE | APR_FPROT_WREAD |
                                        APR_FPROT_WEXECUTE,
                                    p);
        if (rv != APR_SUCCESS) {
            why = apr_pstrcat(p, "cannot be made: ", dir, ": ",
                              apr_strerror(rv, ebuf, sizeof(ebuf)), NULL);
        }
        *slash = '/';
        if (why) {
            return why;
        }
    }
    if (mkdir(dir, 0700) == 0) {
        made = 1;
    }
    else if (errno != EEXIST) {
        return apr_pstrcat(p, "cannot be made: ", strerror(errno), NULL);
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        e = errno;
        return e == ELOOP || (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode))
                   ? "is a symbolic link"
               : e == ENOTDIR ? "is not a directory"
                              : apr_pstrdup(p, strerror(e));
    }
    if (fstat(fd, &st) != 0) {
        why = apr_pstrdup(p, strerror(errno));
    }
    else if (made && geteuid() == 0 &&
             (fchown(fd, ap_unixd_config.user_id, ap_unixd_config.group_id) !=
                  0 ||
              fchmod(fd, 0700) != 0)) {
        why = apr_pstrcat(p, "cannot be given to the User: ", strerror(errno),
                          NULL);
    }
    else if (!made && st.st_uid != user) {
        why = apr_psprintf(p,
                           "is owned by uid %ld, not by the User the "
                           "children run as (uid %ld): chown it, or remove "
                           "it to have it made",
                           (long)st.st_uid, (long)user);
    }
    else if (!made && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        why = "group or others may write it";
    }
    close(fd);
    if (!why &&
        (closed = parent_closed(
             dir, user, geteuid() == 0 ? ap_unixd_config.group_id : getegid(),
             p)) != NULL) {
        why = apr_pstrcat(p,
                          "cannot be reached by the User the children "
                          "run as: ",
                          closed, " is closed to it", NULL);
    }
    return why;
}

static void init_state_dir(apr_pool_t *pconf, server_rec *s)
{
    const logto_srv_conf_t *sc =
        ap_get_module_config(s->module_config, &auth_logto_module);
    const char *path =
        sc->state_dir ? sc->state_dir : ap_runtime_dir_relative(pconf, "logto");
    const char *why;
    char *dir;
    apr_size_t n;

    state.state_dir = NULL;
    if (!path) {
        return;
    }
    /* no trailing slash: with one, a symbolic link in the last place
     * would be followed, O_NOFOLLOW or not */
    dir = apr_pstrdup(pconf, path);
    for (n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--) {
        dir[n - 1] = '\0';
    }
    why = state_dir_problem(dir, pconf);
    if (why != NULL) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     LOGTO_LOGNO(01104) "AuthLogtoStateDir %s %s (%s): key "
                                        "sets and used DPoP proofs are not "
                                        "kept across a full restart",
                     dir, why,
                     sc->state_dir_where ? sc->state_dir_where
                                         : "the default, under "
                                           "DefaultRuntimeDir");
        return;
    }
    state.state_dir = apr_pstrdup(pconf, dir);
}

const char *logto_keys_state_dir(const logto_secret_t **psecret)
{
    *psecret = state.secret_configured ? &state.secret : NULL;
    return state.state_dir;
}

/* -------------------------------------- last good keys across gracefuls */

/* Before this generation's cache goes (graceful restart or stop): copy
 * the key-set records into the process pool, for the next generation. */
static apr_status_t stash_last_good(void *data)
{
    server_rec *s = data;
    apr_pool_t *pp = s->process->pool, *np;
    last_good_t *old = NULL, *lg;
    int i;

    if (!state.have_cache || !state.record_keys ||
        apr_pool_create(&np, pp) != APR_SUCCESS) {
        return APR_SUCCESS;
    }
    lg = apr_pcalloc(np, sizeof(*lg));
    lg->pool = np;
    lg->records = apr_hash_make(np);
    for (i = 0; i < state.record_keys->nelts; i++) {
        const char *key = APR_ARRAY_IDX(state.record_keys, i, const char *);
        last_good_rec_t *r = apr_pcalloc(np, sizeof(*r));
        unsigned char *val;

        if (cache_get(&state, key, &val, &r->len, np) == APR_SUCCESS) {
            r->val = val;
            apr_hash_set(lg->records, apr_pstrdup(np, key), APR_HASH_KEY_STRING,
                         r);
        }
    }
    apr_pool_userdata_get((void **)&old, LAST_GOOD_USERDATA, pp);
    /* An empty stash (the cache lost them) keeps the older one. */
    if (apr_hash_count(lg->records) == 0) {
        apr_pool_destroy(np);
        return APR_SUCCESS;
    }
    apr_pool_userdata_set(lg, LAST_GOOD_USERDATA, apr_pool_cleanup_null, pp);
    if (old) {
        apr_pool_destroy(old->pool);
    }
    return APR_SUCCESS;
}

/* Put the previous generation's records into the new cache, before any
 * child fetches: their fetch times travel with them, so MaxStale still
 * counts from the original fetch. */
static void restore_last_good(apr_pool_t *ptemp, server_rec *s)
{
    last_good_t *lg = NULL;
    apr_hash_index_t *hi;
    int n = 0;

    apr_pool_userdata_get((void **)&lg, LAST_GOOD_USERDATA, s->process->pool);
    if (!lg) {
        return;
    }
    for (hi = apr_hash_first(ptemp, lg->records); hi; hi = apr_hash_next(hi)) {
        const char *key = apr_hash_this_key(hi);
        last_good_rec_t *r = apr_hash_this_val(hi);

        /* Expiry: the longest any configuration keeps keys; the record's
         * own fetch time decides what still serves. */
        if (cache_set(&state, key, r->val, r->len,
                      apr_time_now() + apr_time_from_sec(2 * 86400 * 365),
                      ptemp) == APR_SUCCESS) {
            n++;
        }
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 LOGTO_LOGNO(01105) "%d key set(s) of the previous "
                                    "generation put back into the cache",
                 n);
}

int logto_keys_check_config(apr_pool_t *pconf, server_rec *s)
{
    const logto_srv_conf_t *sc =
        ap_get_module_config(s->module_config, &auth_logto_module);

    return choose_secret(
        s, sc->cache_provider_name ? sc->cache_provider_name : "shmcb", 1);
}

int logto_keys_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    const logto_srv_conf_t *sc =
        ap_get_module_config(s->module_config, &auth_logto_module);
    const char *name =
        sc->cache_provider_name ? sc->cache_provider_name : "shmcb";
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
    if (kept_nonce_secret(state.nonce_secret, s) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     LOGTO_LOGNO(01403) "no random bytes for DPoP nonces");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rv = choose_secret(s, name, 0);
    if (rv == OK) {
        rv = init_socache(pconf, ptemp, s);
    }
    if (rv != OK) {
        return rv;
    }
    init_state_dir(pconf, s);
    state.record_keys = apr_array_make(pconf, 4, sizeof(const char *));
    walk_sources(ptemp, s, collect_key, state.record_keys);
    if (state.have_cache) {
        apr_pool_cleanup_register(pconf, NULL, destroy_socache_cleanup,
                                  apr_pool_cleanup_null);
        rv = init_mutexes(pconf, s);
        if (rv != OK) {
            return rv;
        }
        wire_cache();
        /* A store of this host only: its records go with the generation,
         * so the parent carries the key sets over (registered after the
         * socache's cleanup, so it runs first). Other stores keep them. */
        if (state.provider_needs_lock) {
            restore_last_good(ptemp, s);
            apr_pool_cleanup_register(pconf, s, stash_last_good,
                                      apr_pool_cleanup_null);
        }
    }
    return OK;
}

/* ---------------------------------------------------------- refresher */

static logto_keyring_t *ring_for(const logto_dir_conf_t *c, apr_pool_t *tmp,
                                 logto_err_t *err);

/* What the keyrings report, to the log and the counters. */
static void keyring_event(void *baton, logto_keyring_event_t ev,
                          const char *source, apr_status_t rv, const char *text)
{
    server_rec *s = state.server;

    switch (ev) {
        case LOGTO_KEYRING_FETCHED:
            logto_count_fetch(1);
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                         LOGTO_LOGNO(01106) "keys of %s fetched", source);
            break;
        case LOGTO_KEYRING_KEYS_SKIPPED:
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         LOGTO_LOGNO(01113) "keys of %s: members skipped, "
                                            "tokens naming them are refused "
                                            "(unknown key id): %s",
                         source, text);
            break;
        case LOGTO_KEYRING_FETCH_FAILED:
            logto_count_fetch(0);
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         LOGTO_LOGNO(01107) "keys of %s not fetched: %s",
                         source, text);
            break;
        case LOGTO_KEYRING_STORE_FAILED:
            ap_log_error(
                APLOG_MARK, APLOG_WARNING, rv, s,
                LOGTO_LOGNO(
                    01108) "keys of %s (a record of %s) "
                           "cannot be stored in the shared cache: each child "
                           "fetches them for itself (a larger AuthLogtoCache "
                           "size, or memcached's item size, helps)",
                source, text);
            break;
        case LOGTO_KEYRING_STATE_USED:
            ap_log_error(
                APLOG_MARK, APLOG_WARNING, 0, s,
                LOGTO_LOGNO(
                    01109) "keys of %s from the state "
                           "directory (%s): the issuer cannot be reached",
                source, text);
            break;
        case LOGTO_KEYRING_STATE_SEEDED:
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                         LOGTO_LOGNO(01114) "keys of %s from the state "
                                            "directory (%s), until a fetch",
                         source, text);
            break;
        case LOGTO_KEYRING_STATE_IGNORED:
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         LOGTO_LOGNO(01110) "state file of %s ignored: %s",
                         source, text);
            break;
        case LOGTO_KEYRING_STATE_WRITE_FAILED:
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         LOGTO_LOGNO(01111) "keys of %s not kept in the "
                                            "state directory: %s",
                         source, text);
            break;
    }
}

static void register_source(void *baton, const logto_dir_conf_t *c,
                            const char *uri, const char *issuer)
{
    logto_keyring_t *kr;
    logto_err_t err;

    kr = ring_for(c, baton, &err);
    if (kr) {
        logto_keyring_add(kr, uri, issuer, apr_time_sec(apr_time_now()));
    }
}

/* One round: every keyring of the process. */
static void refresh_all(apr_pool_t *tmp)
{
    apr_array_header_t *rings = apr_array_make(tmp, 4, sizeof(void *));
    apr_hash_index_t *hi;
    int i;

    apr_thread_mutex_lock(state.rings_mutex);
    for (hi = apr_hash_first(tmp, state.rings); hi; hi = apr_hash_next(hi)) {
        APR_ARRAY_PUSH(rings, logto_keyring_t *) = apr_hash_this_val(hi);
    }
    apr_thread_mutex_unlock(state.rings_mutex);
    for (i = 0; i < rings->nelts; i++) {
        logto_keyring_tick(APR_ARRAY_IDX(rings, i, logto_keyring_t *),
                           apr_time_sec(apr_time_now()));
    }
}

/* How long until the next round: just after the next second begins.
 * Times are whole seconds, taken as a round begins: a fetch made early in
 * its second is recorded with the second it happened in, not the one
 * before (which would shorten MaxStale by a second). */
static apr_interval_time_t until_next_round(void)
{
    apr_time_t now = apr_time_now();

    return apr_time_from_sec(1) - now % apr_time_from_sec(1) +
           apr_time_from_msec(10);
}

/* The refresher: a round at once, then one a second until the child
 * goes. */
static void *APR_THREAD_FUNC refresher(apr_thread_t *t, void *data)
{
    apr_allocator_t *alloc;
    apr_pool_t *tmp = NULL;

    /* Scratch memory of its own allocator: the child's may have no
     * mutex (prefork), and its main thread allocates from it. */
    if (apr_allocator_create(&alloc) == APR_SUCCESS &&
        apr_pool_create_ex(&tmp, NULL, NULL, alloc) == APR_SUCCESS) {
        apr_allocator_owner_set(alloc, tmp);
    }
    if (!tmp) {
        apr_thread_exit(t, APR_ENOMEM);
        return NULL;
    }
    apr_thread_mutex_lock(state.stop_mutex);
    while (!state.stopping) {
        apr_thread_mutex_unlock(state.stop_mutex);
        refresh_all(tmp);
        apr_pool_clear(tmp);
        apr_thread_mutex_lock(state.stop_mutex);
        if (!state.stopping) {
            apr_thread_cond_timedwait(state.stop_cond, state.stop_mutex,
                                      until_next_round());
        }
    }
    apr_thread_mutex_unlock(state.stop_mutex);
    apr_pool_destroy(tmp);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* Before the child's pool and the keyrings in it go: stop the refresher
 * (a fetch it is making ends within its timeout). */
static apr_status_t stop_refresher(void *data)
{
    apr_status_t rv;

    if (!state.refresher) {
        return APR_SUCCESS;
    }
    apr_thread_mutex_lock(state.stop_mutex);
    state.stopping = 1;
    apr_thread_cond_signal(state.stop_cond);
    apr_thread_mutex_unlock(state.stop_mutex);
    apr_thread_join(&rv, state.refresher);
    state.refresher = NULL;
    return APR_SUCCESS;
}

/* Start the refresher with every signal blocked: the MPM's own threads
 * handle them, and a handler running on this thread would wait for it. */
static void start_refresher(apr_pool_t *p, server_rec *s)
{
    sigset_t all, old;
    apr_status_t rv;

    if (apr_thread_mutex_create(&state.stop_mutex, APR_THREAD_MUTEX_DEFAULT,
                                p) != APR_SUCCESS ||
        apr_thread_cond_create(&state.stop_cond, p) != APR_SUCCESS) {
        state.no_refresher = 1;
        return;
    }
    state.stopping = 0;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rv = apr_thread_create(&state.refresher, NULL, refresher, NULL, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rv != APR_SUCCESS) {
        apr_hash_index_t *hi;

        state.refresher = NULL;
        state.no_refresher = 1;
        for (hi = apr_hash_first(p, state.rings); hi; hi = apr_hash_next(hi)) {
            logto_keyring_set_background(apr_hash_this_val(hi), 0);
        }
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     LOGTO_LOGNO(01112) "no key refresher thread: keys are "
                                        "refreshed by requests");
        return;
    }
    apr_pool_pre_cleanup_register(p, NULL, stop_refresher);
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
    }
    else {
        file = apr_global_mutex_lockfile(state.fetch_mutex);
        apr_global_mutex_child_init(&state.fetch_mutex, file, p);
        file = apr_global_mutex_lockfile(state.replay_mutex);
        apr_global_mutex_child_init(&state.replay_mutex, file, p);
        if (state.cache_mutex) {
            file = apr_global_mutex_lockfile(state.cache_mutex);
            apr_global_mutex_child_init(&state.cache_mutex, file, p);
        }
    }
    walk_sources(p, s, register_source, p);
    start_refresher(p, s);
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
        logto_keyring_set_notify(kr, keyring_event, NULL);
        logto_keyring_set_background(kr, !state.no_refresher);
        /* A generated secret dies with the server: files on disk are
         * sealed with the configured one, or checksummed only. */
        logto_keyring_set_state_dir(kr, state.state_dir,
                                    state.secret_configured ? &state.secret
                                                            : NULL);
        apr_hash_set(state.rings, apr_pstrdup(state.pool, key),
                     APR_HASH_KEY_STRING, kr);
    }
    apr_thread_mutex_unlock(state.rings_mutex);
    return kr;
}

/* The keys of c's issuer; what fetching it took is added to *total. */
static apr_status_t keys_get(const logto_jwks_t **pjwks, request_rec *r,
                             const logto_dir_conf_t *c, const char *issuer,
                             logto_keys_how_t how, const char *unknown_kid,
                             logto_keyring_stats_t *total, logto_err_t *err)
{
    logto_keyring_stats_t stats = {0, 0, 0, 0};
    logto_keyring_t *kr;
    const logto_keyspec_t *k = logto_conf_keyspec(c, issuer);
    apr_status_t rv;

    if (k && k->file_jwks) {
        *pjwks = k->file_jwks;
        return APR_SUCCESS;
    }
    kr = ring_for(c, r->pool, err);
    if (!kr) {
        return APR_EGENERAL;
    }
    rv = logto_keyring_get_how(pjwks, kr, k ? k->jwks_uri : NULL, issuer,
                               unknown_kid, how, apr_time_sec(apr_time_now()),
                               &stats, err);
    total->fetches += stats.fetches;
    total->failures += stats.failures;
    total->stale |= stats.stale;
    if (rv == APR_SUCCESS && stats.stale) {
        logto_count(LOGTO_C_STALE_SERVES);
    }
    while (stats.bad_records-- > 0) {
        logto_count(LOGTO_C_INTEGRITY_FAILURES);
    }
    return rv;
}

typedef struct shared_walk_t {
    apr_pool_t *pool;
    apr_array_header_t *entries; /* of logto_keyring_entry_t * */
} shared_walk_t;

/* The shared record of one key source, read through a keyring of this
 * process for the section that names it. */
static void shared_source(void *baton, const logto_dir_conf_t *c,
                          const char *uri, const char *issuer)
{
    shared_walk_t *w = baton;
    logto_keyring_entry_t *e;
    logto_keyring_t *kr;
    logto_err_t err;

    kr = ring_for(c, w->pool, &err);
    if (kr) {
        logto_keyring_shared_status(&e, w->pool, kr, uri, issuer);
        APR_ARRAY_PUSH(w->entries, logto_keyring_entry_t *) = e;
    }
}

static int entry_cmp(const void *a, const void *b)
{
    const logto_keyring_entry_t *x = *(logto_keyring_entry_t *const *)a;
    const logto_keyring_entry_t *y = *(logto_keyring_entry_t *const *)b;

    return strcmp(x->source, y->source);
}

apr_array_header_t *logto_keys_status(apr_pool_t *p)
{
    shared_walk_t w;

    w.pool = p;
    w.entries = apr_array_make(p, 4, sizeof(logto_keyring_entry_t *));
    if (!state.pool || !state.server) {
        return w.entries;
    }
    walk_sources(p, state.server, shared_source, &w);
    qsort(w.entries->elts, w.entries->nelts, sizeof(void *), entry_cmp);
    return w.entries;
}

int logto_keys_shared(void)
{
    return state.have_cache;
}

const char *logto_keys_cache_kind(void)
{
    return state.cache_kind ? state.cache_kind : "per process";
}

/* ---------------------------------------------------------- key sources */

/* One issuer's keys for one request. */
typedef struct source_baton_t {
    request_rec *r;
    const logto_dir_conf_t *c;
    const char *issuer;
    logto_keyring_stats_t *stats;
} source_baton_t;

static apr_status_t source_get(const logto_jwks_t **pjwks, void *baton,
                               logto_keys_how_t how, const char *unknown_kid,
                               logto_err_t *err)
{
    source_baton_t *b = baton;

    return keys_get(pjwks, b->r, b->c, b->issuer, how, unknown_kid, b->stats,
                    err);
}

logto_keysource_t *logto_keys_sources(request_rec *r, const logto_dir_conf_t *c,
                                      const logto_policy_t *pol,
                                      logto_keyring_stats_t *stats)
{
    int n = pol->issuers->nelts, i;
    logto_keysource_t *ks = apr_pcalloc(r->pool, (n ? n : 1) * sizeof(*ks));
    source_baton_t *b = apr_pcalloc(r->pool, (n ? n : 1) * sizeof(*b));

    for (i = 0; i < n; i++) {
        b[i].r = r;
        b[i].c = c;
        b[i].issuer = APR_ARRAY_IDX(pol->issuers, i, const char *);
        b[i].stats = stats;
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
