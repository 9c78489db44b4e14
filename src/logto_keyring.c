/*
 * logto_keyring.c - key sets fetched once for all processes, parsed once
 * per process.
 *
 * Three places hold a key set: the issuer, the shared cache (one record
 * per set: the document and its timestamps) and each process (the parsed
 * keys, in a pool per version, a "generation"). A request normally only
 * looks at its process's generation; when that is past its refresh time,
 * or lacks a kid that may be new, the shared record is read; when that is
 * no better, one process fetches, under the cache's lock, after reading the
 * record once more.
 *
 * A generation is not reference-counted: when a new version is installed,
 * the one it replaces stays alive until the next replacement, so a
 * request still using it finishes first. Fetches, and so replacements,
 * are at least a backoff (>= 1 s) apart.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_escape.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <openssl/evp.h>

#include "logto_keyring.h"

#define RECORD_MAGIC "LKR1"
#define VERSION_LEN  32
#define MAX_OF(a, b) ((a) > (b) ? (a) : (b))

/* The shared record of one key set (see record_encode for its bytes). */
typedef struct record_t {
    apr_int64_t fetched_at;          /* 0: never */
    apr_int64_t last_attempt_at;     /* 0: never */
    apr_int64_t last_kid_refetch_at; /* 0: never */
    apr_uint64_t fetches;
    apr_uint64_t failures;
    int last_ok;
    unsigned char version[VERSION_LEN]; /* SHA-256 of body */
    const char *error;                  /* never NULL */
    const char *uri;                    /* never NULL, "" when unknown */
    const char *body;                   /* NULL: no keys yet */
    apr_size_t body_len;
} record_t;

/* The parsed keys of one version, in a pool of their own. */
typedef struct generation_t {
    apr_pool_t *pool;
    const logto_jwks_t *jwks;
    const char *body;
    apr_size_t body_len;
    unsigned char version[VERSION_LEN];
} generation_t;

/* What this process knows of one key set; guarded by the keyring's
 * mutex. */
typedef struct local_t {
    const char *key;    /* the shared cache's key */
    const char *source; /* the URI, or "discover:" and the issuer */
    record_t meta;      /* the record as last seen; body fields unused */
    char error[sizeof(((logto_err_t *)0)->text)];
    generation_t *cur;  /* NULL until keys were had */
    generation_t *prev; /* kept for threads still using it */
} local_t;

struct logto_keyring_t {
    apr_pool_t *pool; /* own allocator with a mutex: sub-pools are created
                         by any thread; allocation from it under mutex */
    apr_thread_mutex_t *mutex;
    apr_hash_t *by_uri;    /* jwks_uri -> local_t */
    apr_hash_t *by_issuer; /* issuer (for discovery) -> local_t */
    logto_cache_t *cache;
    logto_fetch_opts_t opts;
    logto_keyring_timing_t timing;
    logto_keyring_fetch_fn *fetch;
};

/* ------------------------------------------------------------ records */

static unsigned char *put64(unsigned char *q, apr_uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--) {
        *q++ = (unsigned char)(v >> (8 * i));
    }
    return q;
}

static unsigned char *put_bytes(unsigned char *q, const void *src, apr_size_t n)
{
    q = put64(q, n);
    if (n > 0) {
        memcpy(q, src, n);
    }
    return q + n;
}

/* The record as bytes: magic, five 64-bit big-endian numbers, last_ok,
 * version, then error, uri and body, each as a 64-bit length and bytes. */
static unsigned char *record_encode(apr_size_t *plen, apr_pool_t *p,
                                    const record_t *rec)
{
    apr_size_t el = strlen(rec->error), ul = strlen(rec->uri);
    apr_size_t len =
        4 + 8 * 5 + 1 + VERSION_LEN + 8 * 3 + el + ul + rec->body_len;
    unsigned char *buf = apr_palloc(p, len), *q = buf;

    memcpy(q, RECORD_MAGIC, 4);
    q = put64(q + 4, (apr_uint64_t)rec->fetched_at);
    q = put64(q, (apr_uint64_t)rec->last_attempt_at);
    q = put64(q, (apr_uint64_t)rec->last_kid_refetch_at);
    q = put64(q, rec->fetches);
    q = put64(q, rec->failures);
    *q++ = rec->last_ok ? 1 : 0;
    memcpy(q, rec->version, VERSION_LEN);
    q = put_bytes(q + VERSION_LEN, rec->error, el);
    q = put_bytes(q, rec->uri, ul);
    put_bytes(q, rec->body, rec->body_len);
    *plen = len;
    return buf;
}

/* A cursor over bytes being decoded; fails (returns 0) past the end. */
typedef struct reader_t {
    const unsigned char *q;
    apr_size_t left;
} reader_t;

static int get64(reader_t *r, apr_uint64_t *pv)
{
    apr_uint64_t v = 0;
    int i;

    if (r->left < 8) {
        return 0;
    }
    for (i = 0; i < 8; i++) {
        v = (v << 8) | r->q[i];
    }
    r->q += 8;
    r->left -= 8;
    *pv = v;
    return 1;
}

static int get_text(reader_t *r, apr_pool_t *p, const char **ps,
                    apr_size_t *plen)
{
    apr_uint64_t n;

    if (!get64(r, &n) || n > r->left) {
        return 0;
    }
    *ps = apr_pstrmemdup(p, (const char *)r->q, (apr_size_t)n);
    *plen = (apr_size_t)n;
    r->q += n;
    r->left -= n;
    return 1;
}

/* Read a record back; 0 when the bytes are not one (a miss). */
static int record_decode(record_t *rec, apr_pool_t *p, const unsigned char *buf,
                         apr_size_t len)
{
    reader_t r = {buf, len};
    apr_uint64_t v[3];
    apr_size_t el, ul;

    if (len < 4 + 8 * 5 + 1 + VERSION_LEN || memcmp(buf, RECORD_MAGIC, 4)) {
        return 0;
    }
    r.q += 4;
    r.left -= 4;
    get64(&r, &v[0]);
    get64(&r, &v[1]);
    get64(&r, &v[2]);
    get64(&r, &rec->fetches);
    get64(&r, &rec->failures);
    rec->fetched_at = (apr_int64_t)v[0];
    rec->last_attempt_at = (apr_int64_t)v[1];
    rec->last_kid_refetch_at = (apr_int64_t)v[2];
    rec->last_ok = *r.q == 1;
    memcpy(rec->version, r.q + 1, VERSION_LEN);
    r.q += 1 + VERSION_LEN;
    r.left -= 1 + VERSION_LEN;
    if (!get_text(&r, p, &rec->error, &el) ||
        !get_text(&r, p, &rec->uri, &ul) ||
        !get_text(&r, p, &rec->body, &rec->body_len) || r.left != 0) {
        return 0;
    }
    if (rec->body_len == 0) {
        rec->body = NULL;
    }
    return 1;
}

/* The shared record of l, or NULL when there is none (or no cache). A
 * record that is there but fails its check counts in stats (may be
 * NULL) and reads as none. */
static const record_t *shared_read(logto_keyring_t *kr, const local_t *l,
                                   apr_pool_t *tmp,
                                   logto_keyring_stats_t *stats)
{
    record_t *rec = apr_pcalloc(tmp, sizeof(*rec));
    unsigned char *val;
    apr_size_t len;

    if (kr->cache == NULL || kr->cache->get(kr->cache->baton, l->key, &val,
                                            &len, tmp) != APR_SUCCESS) {
        return NULL;
    }
    if (!record_decode(rec, tmp, val, len)) {
        if (stats != NULL) {
            stats->bad_records++;
        }
        return NULL;
    }
    return rec;
}

/* Store rec for the other processes until it can be of no more use. */
static void shared_write(logto_keyring_t *kr, const local_t *l,
                         const record_t *rec, apr_pool_t *tmp)
{
    apr_int64_t keep = kr->timing.max_stale + kr->timing.refresh;
    unsigned char *val;
    apr_size_t len;

    if (kr->cache == NULL) {
        return;
    }
    val = record_encode(&len, tmp, rec);
    /* A store refusing the record (too large) costs each process its own
     * fetch per refresh interval, nothing more. */
    kr->cache->set(kr->cache->baton, l->key, val, len,
                   apr_time_now() + apr_time_from_sec(keep), tmp);
}

/* -------------------------------------------------------- generations */

static void body_version(unsigned char *version, const char *body,
                         apr_size_t len)
{
    unsigned int n = VERSION_LEN;

    if (!EVP_Digest(body, len, version, &n, EVP_sha256(), NULL)) {
        memset(version, 0, VERSION_LEN);
    }
}

/* Parse body into a new generation (a sub-pool of the keyring's pool,
 * which any thread may create). */
static apr_status_t generation_make(generation_t **pgen, logto_keyring_t *kr,
                                    const char *body, apr_size_t len,
                                    logto_err_t *err)
{
    apr_pool_t *gp;
    generation_t *g;
    logto_jwks_t *jwks;

    if (apr_pool_create(&gp, kr->pool) != APR_SUCCESS) {
        return logto_err_set(err, LOGTO_ERR_INTERNAL, "no memory");
    }
    if (logto_jwks_parse(&jwks, gp, body, len, err) != APR_SUCCESS) {
        apr_pool_destroy(gp);
        return APR_EGENERAL;
    }
    g = apr_pcalloc(gp, sizeof(*g));
    g->pool = gp;
    g->jwks = jwks;
    g->body = apr_pmemdup(gp, body, len);
    g->body_len = len;
    body_version(g->version, body, len);
    *pgen = g;
    return APR_SUCCESS;
}

/* Make g current; the generation before the current one goes. */
static void generation_install(local_t *l, generation_t *g)
{
    if (l->prev != NULL) {
        apr_pool_destroy(l->prev->pool);
    }
    l->prev = l->cur;
    l->cur = g;
}

/* ------------------------------------------------------ local state */

/* The best record known: the shared one (or this process's memory of it
 * when the cache lost it), with this process's keys when they are newer,
 * and the latest of each timestamp. All copied into tmp. Under mutex. */
static void record_merge(record_t *rec, const record_t *shared,
                         const local_t *l, apr_pool_t *tmp)
{
    const record_t *m = &l->meta;

    *rec = shared ? *shared : *m;
    if (shared == NULL) {
        rec->body = NULL;
        rec->body_len = 0;
        rec->fetched_at = 0;
    }
    rec->last_attempt_at = MAX_OF(rec->last_attempt_at, m->last_attempt_at);
    rec->last_kid_refetch_at =
        MAX_OF(rec->last_kid_refetch_at, m->last_kid_refetch_at);
    rec->fetches = MAX_OF(rec->fetches, m->fetches);
    rec->failures = MAX_OF(rec->failures, m->failures);
    rec->error = apr_pstrdup(tmp, rec->error);
    rec->uri = apr_pstrdup(tmp, rec->uri);
    if (l->cur && (rec->body == NULL || m->fetched_at > rec->fetched_at)) {
        rec->body = apr_pstrmemdup(tmp, l->cur->body, l->cur->body_len);
        rec->body_len = l->cur->body_len;
        memcpy(rec->version, l->cur->version, VERSION_LEN);
        rec->fetched_at = m->fetched_at;
    }
}

/* Bring l up to rec: install rec's keys when they are another version
 * (fresh: already parsed, or NULL), take its timestamps. A body that does
 * not parse here is ignored. Under mutex. */
static void local_adopt(logto_keyring_t *kr, local_t *l, const record_t *rec,
                        generation_t *fresh)
{
    apr_int64_t fetched_at = l->meta.fetched_at;
    logto_err_t perr;

    if (rec->body != NULL &&
        (l->cur == NULL ||
         memcmp(l->cur->version, rec->version, VERSION_LEN) != 0)) {
        if (fresh == NULL &&
            generation_make(&fresh, kr, rec->body, rec->body_len, &perr) !=
                APR_SUCCESS) {
            fresh = NULL;
        }
        if (fresh != NULL) {
            generation_install(l, fresh);
            fresh = NULL;
        }
    }
    if (fresh != NULL) {
        apr_pool_destroy(fresh->pool);
    }
    if (rec->body != NULL && l->cur != NULL &&
        memcmp(l->cur->version, rec->version, VERSION_LEN) == 0) {
        fetched_at = rec->fetched_at;
    }
    if (strcmp(l->meta.uri, rec->uri) != 0) {
        l->meta.uri = apr_pstrdup(kr->pool, rec->uri);
    }
    apr_cpystrn(l->error, rec->error, sizeof(l->error));
    l->meta.last_attempt_at = rec->last_attempt_at;
    l->meta.last_kid_refetch_at = rec->last_kid_refetch_at;
    l->meta.fetches = rec->fetches;
    l->meta.failures = rec->failures;
    l->meta.last_ok = rec->last_ok;
    l->meta.fetched_at = fetched_at;
}

/* The local state of a key set, made on first use. Under mutex. */
static local_t *local_find(logto_keyring_t *kr, const char *jwks_uri,
                           const char *issuer, int create)
{
    apr_hash_t *h = jwks_uri ? kr->by_uri : kr->by_issuer;
    const char *name = jwks_uri ? jwks_uri : issuer;
    local_t *l = apr_hash_get(h, name, APR_HASH_KEY_STRING);

    if (l == NULL && create) {
        l = apr_pcalloc(kr->pool, sizeof(*l));
        l->source = jwks_uri ? apr_pstrdup(kr->pool, jwks_uri)
                             : apr_pstrcat(kr->pool, "discover:", issuer, NULL);
        l->key = apr_pstrcat(kr->pool, "jwks:", l->source, NULL);
        l->meta.error = l->error;
        l->meta.uri = jwks_uri ? l->source : "";
        apr_hash_set(h, jwks_uri ? l->source : l->source + 9,
                     APR_HASH_KEY_STRING, l);
    }
    return l;
}

/* ------------------------------------------------------------ policy */

/* Seconds between two fetch attempts, so a failing issuer is not asked
 * once per request. */
static apr_int64_t backoff(const logto_keyring_t *kr)
{
    apr_int64_t b = kr->timing.min_refresh;

    return b < 1 ? 1 : b > LOGTO_KEYRING_BACKOFF ? LOGTO_KEYRING_BACKOFF : b;
}

/* Whether kid is missing and a refetch for it is allowed by now. */
static int kid_refetch_due(const logto_keyring_t *kr, const local_t *l,
                           const char *kid, apr_int64_t now)
{
    apr_int64_t last = l->meta.last_kid_refetch_at;

    return kid != NULL && !logto_jwks_find(l->cur->jwks, kid) &&
           (last == 0 || now - last >= kr->timing.min_refresh);
}

/* Whether l, as it stands, calls for a fetch; *for_kid says it is one for
 * an unknown kid. Under mutex. */
static int fetch_needed(const logto_keyring_t *kr, const local_t *l,
                        const char *kid, apr_int64_t now, int *for_kid)
{
    const record_t *m = &l->meta;

    *for_kid = 0;
    /* The backoff spares a failing issuer only: after a success, refresh
     * and min_refresh alone pace the fetches (a new kid right after the
     * startup fetch must not wait for it). */
    if (m->last_attempt_at != 0 && !m->last_ok &&
        now - m->last_attempt_at < backoff(kr)) {
        return 0;
    }
    if (l->cur == NULL || now - m->fetched_at >= kr->timing.refresh) {
        return 1;
    }
    *for_kid = kid_refetch_due(kr, l, kid, now);
    return *for_kid;
}

/* Whether the process's keys answer without looking further: young
 * enough to serve, and no fetch due (fresh and holding kid or not due for
 * it, or a fetch was tried within the backoff). Under mutex. */
static int local_answers(const logto_keyring_t *kr, const local_t *l,
                         const char *kid, apr_int64_t now)
{
    int for_kid;

    return l->cur != NULL && now - l->meta.fetched_at <= kr->timing.max_stale &&
           !fetch_needed(kr, l, kid, now, &for_kid);
}

/* Hand out the keys if they are young enough to serve. Under mutex. */
static apr_status_t local_conclude(const logto_jwks_t **pjwks,
                                   const logto_keyring_t *kr, const local_t *l,
                                   apr_int64_t now,
                                   logto_keyring_stats_t *stats,
                                   logto_err_t *err)
{
    apr_int64_t age = now - l->meta.fetched_at;

    if (l->cur == NULL) {
        return logto_err_set(err, LOGTO_ERR_FETCH, "no keys: %s",
                             l->error[0] ? l->error : "not fetched yet");
    }
    if (age > kr->timing.max_stale) {
        return logto_err_set(err, LOGTO_ERR_FETCH,
                             "keys fetched %" APR_INT64_T_FMT
                             " s ago are past their stale limit: %s",
                             age, l->error);
    }
    if (stats != NULL) {
        stats->stale = age >= kr->timing.refresh;
    }
    *pjwks = l->cur->jwks;
    return APR_SUCCESS;
}

/* ------------------------------------------------------------ fetch */

/* Fetch the document (after discovery when there is no URI) and parse it
 * into a new generation. */
static apr_status_t fetch_generation(generation_t **pgen, const char **puri,
                                     logto_keyring_t *kr, const char *jwks_uri,
                                     const char *issuer, apr_pool_t *tmp,
                                     logto_err_t *err)
{
    char *body;
    apr_size_t len;

    if (jwks_uri == NULL &&
        logto_discover_jwks_uri(&jwks_uri, tmp, issuer, &kr->opts, err) !=
            APR_SUCCESS) {
        return APR_EGENERAL;
    }
    *puri = jwks_uri;
    if (kr->fetch(&body, &len, tmp, jwks_uri, &kr->opts, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (generation_make(pgen, kr, body, len, err) != APR_SUCCESS) {
        return logto_err_set(err, LOGTO_ERR_FETCH, "key set refused: %s",
                             apr_pstrdup(tmp, err->text));
    }
    return APR_SUCCESS;
}

/* One fetch attempt: rec takes its outcome (a set that fails to parse
 * leaves the old body in place), goes to the shared cache, and l adopts
 * it. Called under the cache's lock, not under mutex. */
static void fetch_and_store(logto_keyring_t *kr, local_t *l, record_t *rec,
                            const char *jwks_uri, const char *issuer,
                            int for_kid, apr_int64_t now, apr_pool_t *tmp,
                            logto_keyring_stats_t *stats)
{
    generation_t *g = NULL;
    const char *uri = rec->uri;
    apr_time_t started = apr_time_now();
    logto_err_t ferr;

    logto_err_clear(&ferr);
    if (for_kid) {
        rec->last_kid_refetch_at = now;
    }
    rec->fetches++;
    rec->last_ok = fetch_generation(&g, &uri, kr, jwks_uri, issuer, tmp,
                                    &ferr) == APR_SUCCESS;
    /* The backoff counts from the end of the attempt: after a timeout,
     * the next caller (or this request's next look) must not ask the
     * slow issuer again at once. */
    rec->last_attempt_at = now + apr_time_sec(apr_time_now() - started);
    rec->uri = uri;
    if (rec->last_ok) {
        rec->body = g->body;
        rec->body_len = g->body_len;
        memcpy(rec->version, g->version, VERSION_LEN);
        rec->fetched_at = now;
        rec->error = "";
    }
    else {
        rec->failures++;
        rec->error = apr_pstrdup(tmp, ferr.text);
    }
    if (stats != NULL) {
        stats->fetches++;
        stats->failures += !rec->last_ok;
    }
    shared_write(kr, l, rec, tmp);
    apr_thread_mutex_lock(kr->mutex);
    local_adopt(kr, l, rec, g);
    apr_thread_mutex_unlock(kr->mutex);
}

/* Read the shared record into l and decide whether to fetch; rec gets the
 * merged record. */
static int sync_and_decide(logto_keyring_t *kr, local_t *l, record_t *rec,
                           const char *kid, apr_int64_t now, int *for_kid,
                           apr_pool_t *tmp, logto_keyring_stats_t *stats)
{
    const record_t *shared = shared_read(kr, l, tmp, stats);
    int need;

    apr_thread_mutex_lock(kr->mutex);
    record_merge(rec, shared, l, tmp);
    local_adopt(kr, l, rec, NULL);
    need = fetch_needed(kr, l, kid, now, for_kid);
    apr_thread_mutex_unlock(kr->mutex);
    return need;
}

/* Beyond the process's own keys: the shared record, then, if still
 * needed, a single fetch under the cache's lock. */
static void refresh(logto_keyring_t *kr, local_t *l, const char *jwks_uri,
                    const char *issuer, const char *kid, apr_int64_t now,
                    logto_keyring_stats_t *stats, apr_pool_t *tmp)
{
    record_t rec;
    apr_uint64_t seen;
    int for_kid, locked = 0;

    if (!sync_and_decide(kr, l, &rec, kid, now, &for_kid, tmp, stats)) {
        return;
    }
    seen = rec.fetches;
    /* A lock that fails costs the single flight, not the fetch. */
    if (kr->cache != NULL && kr->cache->lock != NULL) {
        locked = kr->cache->lock(kr->cache->baton) == APR_SUCCESS;
    }
    /* Someone may have fetched while this one waited for the lock: their
     * attempt, good or bad, answers this one too. Otherwise, against a
     * slow issuer, each waiter would fetch again in turn and wait a
     * timeout per process queued before it. */
    if (sync_and_decide(kr, l, &rec, kid, now, &for_kid, tmp, stats) &&
        rec.fetches == seen) {
        fetch_and_store(kr, l, &rec, jwks_uri, issuer, for_kid, now, tmp,
                        stats);
    }
    if (locked && kr->cache->unlock != NULL) {
        kr->cache->unlock(kr->cache->baton);
    }
}

/* ------------------------------------------------------------ public */

apr_status_t logto_keyring_create(logto_keyring_t **pkr, apr_pool_t *p,
                                  logto_cache_t *cache,
                                  const logto_fetch_opts_t *opts,
                                  const logto_keyring_timing_t *timing,
                                  logto_err_t *err)
{
    apr_allocator_t *allocator;
    apr_thread_mutex_t *amutex;
    apr_pool_t *kp;
    logto_keyring_t *kr;

    if (apr_allocator_create(&allocator) != APR_SUCCESS) {
        return logto_err_set(err, LOGTO_ERR_INTERNAL, "no memory");
    }
    if (apr_pool_create_ex(&kp, p, NULL, allocator) != APR_SUCCESS) {
        apr_allocator_destroy(allocator);
        return logto_err_set(err, LOGTO_ERR_INTERNAL, "no memory");
    }
    apr_allocator_owner_set(allocator, kp);
    kr = apr_pcalloc(kp, sizeof(*kr));
    if (apr_thread_mutex_create(&amutex, APR_THREAD_MUTEX_DEFAULT, kp) !=
            APR_SUCCESS ||
        apr_thread_mutex_create(&kr->mutex, APR_THREAD_MUTEX_DEFAULT, kp) !=
            APR_SUCCESS) {
        apr_pool_destroy(kp);
        return logto_err_set(err, LOGTO_ERR_INTERNAL, "no mutex");
    }
    apr_allocator_mutex_set(allocator, amutex);
    kr->pool = kp;
    kr->by_uri = apr_hash_make(kp);
    kr->by_issuer = apr_hash_make(kp);
    kr->cache = cache;
    logto_fetch_opts_init(&kr->opts);
    if (opts != NULL) {
        kr->opts = *opts;
        kr->opts.ca_file =
            opts->ca_file ? apr_pstrdup(kp, opts->ca_file) : NULL;
    }
    kr->timing = *timing;
    kr->timing.max_stale = MAX_OF(timing->max_stale, timing->refresh);
    kr->fetch = logto_fetch_get;
    *pkr = kr;
    return APR_SUCCESS;
}

void logto_keyring_set_fetch(logto_keyring_t *kr, logto_keyring_fetch_fn *fn)
{
    kr->fetch = fn ? fn : logto_fetch_get;
}

apr_status_t logto_keyring_get(const logto_jwks_t **pjwks, logto_keyring_t *kr,
                               const char *jwks_uri, const char *issuer,
                               const char *unknown_kid, apr_int64_t now,
                               logto_keyring_stats_t *stats, logto_err_t *err)
{
    local_t *l;
    apr_pool_t *tmp;
    apr_status_t rv;

    if (jwks_uri == NULL && issuer == NULL) {
        return logto_err_set(err, LOGTO_ERR_CONFIG,
                             "neither a JWKS URI nor an issuer");
    }
    if (stats != NULL) {
        memset(stats, 0, sizeof(*stats));
    }
    apr_thread_mutex_lock(kr->mutex);
    l = local_find(kr, jwks_uri, issuer, 1);
    if (local_answers(kr, l, unknown_kid, now)) {
        rv = local_conclude(pjwks, kr, l, now, stats, err);
        apr_thread_mutex_unlock(kr->mutex);
        return rv;
    }
    apr_thread_mutex_unlock(kr->mutex);

    if (apr_pool_create(&tmp, kr->pool) != APR_SUCCESS) {
        return logto_err_set(err, LOGTO_ERR_INTERNAL, "no memory");
    }
    refresh(kr, l, jwks_uri, issuer, unknown_kid, now, stats, tmp);
    apr_pool_destroy(tmp);
    apr_thread_mutex_lock(kr->mutex);
    rv = local_conclude(pjwks, kr, l, now, stats, err);
    apr_thread_mutex_unlock(kr->mutex);
    return rv;
}

/* ------------------------------------------------------------ status */

/* The kids, algorithms and types of jwks (may be NULL) into e, from p:
 * never key material. */
static void entry_keys(logto_keyring_entry_t *e, apr_pool_t *p,
                       const logto_jwks_t *jwks)
{
    int i;

    e->keys = apr_array_make(p, 4, sizeof(logto_keyring_key_t));
    e->skipped = apr_array_make(p, 1, sizeof(const char *));
    for (i = 0; jwks != NULL && i < jwks->keys->nelts; i++) {
        const logto_jwk_t *k = APR_ARRAY_IDX(jwks->keys, i, logto_jwk_t *);
        logto_keyring_key_t *out = apr_array_push(e->keys);

        out->kid = k->kid ? apr_pstrdup(p, k->kid) : NULL;
        out->alg =
            k->alg != LOGTO_ALG_NONE_KNOWN ? logto_alg_name(k->alg) : NULL;
        out->kty = logto_jwk_kty_name(k->kty);
    }
    for (i = 0; jwks != NULL && i < jwks->skipped->nelts; i++) {
        APR_ARRAY_PUSH(e->skipped, const char *) =
            apr_pstrdup(p, APR_ARRAY_IDX(jwks->skipped, i, const char *));
    }
}

/* A copy of what l holds, from p. Under mutex. */
static logto_keyring_entry_t *entry_copy(apr_pool_t *p, const local_t *l)
{
    logto_keyring_entry_t *e = apr_pcalloc(p, sizeof(*e));

    e->source = apr_pstrdup(p, l->source);
    e->jwks_uri = l->meta.uri[0] ? apr_pstrdup(p, l->meta.uri) : NULL;
    e->fetched_at = l->cur ? l->meta.fetched_at : 0;
    e->last_attempt_at = l->meta.last_attempt_at;
    e->last_ok = l->meta.last_ok;
    e->last_error = apr_pstrdup(p, l->error);
    e->fetches = l->meta.fetches;
    e->failures = l->meta.failures;
    e->version =
        l->cur ? apr_pescape_hex(p, l->cur->version, VERSION_LEN, 0) : NULL;
    entry_keys(e, p, l->cur ? l->cur->jwks : NULL);
    return e;
}

static int entry_cmp(const void *a, const void *b)
{
    const logto_keyring_entry_t *x = *(logto_keyring_entry_t *const *)a;
    const logto_keyring_entry_t *y = *(logto_keyring_entry_t *const *)b;

    return strcmp(x->source, y->source);
}

apr_status_t logto_keyring_status(apr_array_header_t **pentries, apr_pool_t *p,
                                  logto_keyring_t *kr)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(void *));
    apr_hash_t *tables[2] = {kr->by_uri, kr->by_issuer};
    apr_hash_index_t *hi;
    int t;

    apr_thread_mutex_lock(kr->mutex);
    for (t = 0; t < 2; t++) {
        for (hi = apr_hash_first(p, tables[t]); hi; hi = apr_hash_next(hi)) {
            APR_ARRAY_PUSH(out, logto_keyring_entry_t *) =
                entry_copy(p, apr_hash_this_val(hi));
        }
    }
    apr_thread_mutex_unlock(kr->mutex);
    qsort(out->elts, out->nelts, sizeof(void *), entry_cmp);
    *pentries = out;
    return APR_SUCCESS;
}

/* The entry of one shared record, from p: the record's timestamps and
 * counts, and the keys of its document as this process parses it. */
static logto_keyring_entry_t *entry_of_record(apr_pool_t *p, const char *source,
                                              const record_t *rec)
{
    logto_keyring_entry_t *e = apr_pcalloc(p, sizeof(*e));
    logto_jwks_t *jwks = NULL;
    logto_err_t perr;

    e->source = source;
    e->jwks_uri = rec->uri[0] ? rec->uri : NULL;
    e->last_attempt_at = rec->last_attempt_at;
    e->last_ok = rec->last_ok;
    e->last_error = rec->error;
    e->fetches = rec->fetches;
    e->failures = rec->failures;
    if (rec->body != NULL &&
        logto_jwks_parse(&jwks, p, rec->body, rec->body_len, &perr) ==
            APR_SUCCESS) {
        e->fetched_at = rec->fetched_at;
        e->version = apr_pescape_hex(p, rec->version, VERSION_LEN, 0);
    }
    entry_keys(e, p, jwks);
    return e;
}

apr_status_t logto_keyring_shared_status(logto_keyring_entry_t **pentry,
                                         apr_pool_t *p, logto_keyring_t *kr,
                                         const char *jwks_uri,
                                         const char *issuer)
{
    local_t probe;
    const record_t *rec;
    logto_keyring_entry_t *e;

    if (jwks_uri == NULL && issuer == NULL) {
        return APR_EINVAL;
    }
    /* Named as local_find names it, so the same record is read. */
    memset(&probe, 0, sizeof(probe));
    probe.source = jwks_uri ? apr_pstrdup(p, jwks_uri)
                            : apr_pstrcat(p, "discover:", issuer, NULL);
    probe.key = apr_pstrcat(p, "jwks:", probe.source, NULL);
    rec = shared_read(kr, &probe, p, NULL);
    if (rec != NULL) {
        *pentry = entry_of_record(p, probe.source, rec);
        return APR_SUCCESS;
    }
    e = apr_pcalloc(p, sizeof(*e));
    e->source = probe.source;
    e->jwks_uri = jwks_uri ? probe.source : NULL;
    e->last_error = "";
    entry_keys(e, p, NULL);
    *pentry = e;
    return APR_NOTFOUND;
}
