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
#include <strings.h>

#include <apr_escape.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "logto_keyring.h"
#include "logto_md.h"
#include "logto_statedir.h"

#define RECORD_MAGIC "LKR2"
#define RECORD_NUMS  7
/* How often a request waiting for the fetch lock looks again. */
#define FETCH_LOCK_POLL_MS 20
#define VERSION_LEN        32
#define MAX_OF(a, b)       ((a) > (b) ? (a) : (b))
#define MIN_OF(a, b)       ((a) < (b) ? (a) : (b))

/* The shared record of one key set (see record_encode for its bytes). */
typedef struct record_t {
    apr_int64_t fetched_at;          /* 0: never */
    apr_int64_t last_attempt_at;     /* 0: never */
    apr_int64_t last_kid_refetch_at; /* 0: never */
    apr_uint64_t fetches;
    apr_uint64_t failures;
    apr_uint64_t fail_streak; /* failed attempts since the last
                                 success */
    apr_int64_t retry_at;     /* after a failure: no attempt before */
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
    generation_t *cur;          /* NULL until keys were had */
    generation_t *prev;         /* kept for threads still using it */
    const char *jwks_uri;       /* as asked for: NULL when discovered */
    const char *issuer;         /* for discovery, or NULL */
    int store_reported;         /* a refused shared store was reported */
    int state_seeded;           /* the state directory was looked at first */
    const generation_t *seeded; /* the keys it gave then, NULL: none */
    int state_tried;            /* and after a failed fetch */
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
    int background; /* a refresher calls tick: requests
                       never fetch for a routine refresh */
    logto_keyring_notify_fn *notify;
    void *notify_baton;
    const char *state_dir; /* NULL: no last good keys on disk */
    logto_secret_t state_secret;
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

/* The record as bytes: magic, seven 64-bit big-endian numbers, last_ok,
 * version, then error, uri and body, each as a 64-bit length and bytes. */
static unsigned char *record_encode(apr_size_t *plen, apr_pool_t *p,
                                    const record_t *rec)
{
    apr_size_t el = strlen(rec->error), ul = strlen(rec->uri);
    apr_size_t len =
        4 + 8 * RECORD_NUMS + 1 + VERSION_LEN + 8 * 3 + el + ul + rec->body_len;
    unsigned char *buf = apr_palloc(p, len), *q = buf;

    memcpy(q, RECORD_MAGIC, 4);
    q = put64(q + 4, (apr_uint64_t)rec->fetched_at);
    q = put64(q, (apr_uint64_t)rec->last_attempt_at);
    q = put64(q, (apr_uint64_t)rec->last_kid_refetch_at);
    q = put64(q, rec->fetches);
    q = put64(q, rec->failures);
    q = put64(q, rec->fail_streak);
    q = put64(q, (apr_uint64_t)rec->retry_at);
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
    apr_uint64_t v[4] = {0, 0, 0, 0};
    apr_size_t el, ul;

    if (len < 4 + 8 * RECORD_NUMS + 1 + VERSION_LEN ||
        memcmp(buf, RECORD_MAGIC, 4)) {
        return 0;
    }
    r.q += 4;
    r.left -= 4;
    get64(&r, &v[0]);
    get64(&r, &v[1]);
    get64(&r, &v[2]);
    get64(&r, &rec->fetches);
    get64(&r, &rec->failures);
    get64(&r, &rec->fail_streak);
    get64(&r, &v[3]);
    rec->retry_at = (apr_int64_t)v[3];
    rec->fetched_at = (apr_int64_t)v[0];
    rec->last_attempt_at = (apr_int64_t)v[1];
    rec->last_kid_refetch_at = (apr_int64_t)v[2];
    rec->last_ok = *r.q == 1;
    memcpy(rec->version, r.q + 1, VERSION_LEN);
    r.q += 1 + VERSION_LEN;
    r.left -= 1 + VERSION_LEN;
    if (!get_text(&r, p, &rec->error, &el) ||
        !get_text(&r, p, &rec->uri, &ul) ||
        !get_text(&r, p, &rec->body, &rec->body_len) || r.left != 0 ||
        rec->fetched_at < 0 || rec->last_attempt_at < 0 ||
        rec->last_kid_refetch_at < 0 || rec->retry_at < 0) {
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

static void notify(const logto_keyring_t *kr, logto_keyring_event_t ev,
                   const local_t *l, apr_status_t rv, const char *text)
{
    if (kr->notify != NULL) {
        kr->notify(kr->notify_baton, ev, l->source, rv, text ? text : "");
    }
}

/* Store rec for the other processes until it can be of no more use. A
 * store refusing the record (too large, full, unreachable) costs each
 * process its own fetches: said once per key set. */
static void shared_write(logto_keyring_t *kr, local_t *l, const record_t *rec,
                         apr_pool_t *tmp)
{
    apr_int64_t keep = kr->timing.max_stale + kr->timing.refresh;
    unsigned char *val;
    apr_size_t len;
    apr_status_t rv;

    if (kr->cache == NULL) {
        return;
    }
    val = record_encode(&len, tmp, rec);
    rv = kr->cache->set(kr->cache->baton, l->key, val, len,
                        apr_time_now() + apr_time_from_sec(keep), tmp);
    if (rv != APR_SUCCESS && !l->store_reported) {
        l->store_reported = 1;
        notify(kr, LOGTO_KEYRING_STORE_FAILED, l, rv,
               apr_psprintf(tmp, "%" APR_SIZE_T_FMT " bytes", len));
    }
}

/* -------------------------------------------------------- generations */

static void body_version(unsigned char *version, const char *body,
                         apr_size_t len)
{
    unsigned int n = VERSION_LEN;

    if (!EVP_Digest(body, len, version, &n, logto_md_sha256(), NULL)) {
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
    l->seeded = NULL; /* the state directory's, if so, said by the caller */
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
    else if (m->last_attempt_at > shared->last_attempt_at) {
        /* This process tried later than the record says (its store was
         * refused, or lost): its outcome and backoff count. */
        rec->last_ok = m->last_ok;
        rec->fail_streak = m->fail_streak;
        rec->retry_at = m->retry_at;
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
    l->meta.fail_streak = rec->fail_streak;
    l->meta.retry_at = rec->retry_at;
    l->meta.fetched_at = fetched_at;
    if (rec->last_attempt_at != 0) {
        l->seeded = NULL; /* this run has tried the issuer: not the disk's */
    }
}

/* The CA file a key set's keys are fetched trusting: none for a JWKS URI
 * over http, nor for discovery from an http issuer (whose document,
 * unauthenticated, names the key URI anyway), so that such a source is
 * one whatever the sections naming it say. */
static const char *ca_trusted(const char *jwks_uri, const char *issuer,
                              const char *ca_file)
{
    const char *url = jwks_uri ? jwks_uri : issuer;

    return url && strncasecmp(url, "https://", 8) == 0 ? ca_file : NULL;
}

/* Name l, a key set of kr, from p: its source (what the status page and
 * the state directory call it) and its shared record's key. Keys fetched
 * trusting one CA bundle are not another's: a CA file sets both apart. */
static void local_name(local_t *l, apr_pool_t *p, const logto_keyring_t *kr,
                       const char *jwks_uri, const char *issuer)
{
    const char *ca = ca_trusted(jwks_uri, issuer, kr->opts.ca_file);

    l->jwks_uri = jwks_uri ? apr_pstrdup(p, jwks_uri) : NULL;
    l->issuer = issuer ? apr_pstrdup(p, issuer) : NULL;
    l->source =
        jwks_uri ? l->jwks_uri : apr_pstrcat(p, "discover:", issuer, NULL);
    if (ca != NULL) {
        l->source = apr_pstrcat(p, l->source, " (CA file ", ca, ")", NULL);
    }
    l->key = logto_keyring_record_key(p, jwks_uri, issuer, ca);
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
        local_name(l, kr->pool, kr, jwks_uri, issuer);
        l->meta.error = l->error;
        l->meta.uri = jwks_uri ? l->jwks_uri : "";
        apr_hash_set(h, jwks_uri ? l->jwks_uri : l->issuer, APR_HASH_KEY_STRING,
                     l);
    }
    return l;
}

/* ------------------------------------------------------------ policy */

/* The least wait after a failure: the fetch timeout. */
static apr_int64_t least_wait(apr_int64_t timeout)
{
    return timeout > 0 ? timeout : 1;
}

static apr_int64_t backoff_base(const logto_keyring_t *kr)
{
    return least_wait(kr->opts.timeout);
}

apr_int64_t logto_keyring_starved_wait(const logto_keyring_timing_t *timing,
                                       apr_int64_t timeout)
{
    return MAX_OF(MIN_OF(timing->refresh, timing->min_refresh),
                  least_wait(timeout));
}

/* Whether a failed attempt holds the next one back at now. The
 * refresher always waits at least the least backoff: the free retry after
 * its own first attempt (record_failure) is for requests. */
static int in_backoff(const logto_keyring_t *kr, const local_t *l,
                      apr_int64_t now, int background)
{
    const record_t *m = &l->meta;
    apr_int64_t until = m->retry_at;

    if (m->last_attempt_at == 0 || m->last_ok) {
        return 0;
    }
    if (background) {
        until = MAX_OF(until, m->last_attempt_at + backoff_base(kr));
    }
    return now < until;
}

/* Whether the process holds keys young enough to serve at now. */
static int keys_usable(const logto_keyring_t *kr, const local_t *l,
                       apr_int64_t now)
{
    return l->cur != NULL && now - l->meta.fetched_at <= kr->timing.max_stale;
}

/* Seconds to wait after a failure that makes the streak n long: the fetch
 * timeout, doubled with each further failure up to the refresh interval
 * (up to the least refetch interval when starved: no keys to serve, so
 * every request is refused until an attempt succeeds), less up to a
 * quarter (never below the timeout) so that processes and servers that
 * failed together do not all retry together. */
static apr_int64_t backoff_after(const logto_keyring_t *kr, apr_uint64_t n,
                                 int starved)
{
    apr_int64_t base = backoff_base(kr), b = base;
    apr_int64_t cap =
        starved ? logto_keyring_starved_wait(&kr->timing, kr->opts.timeout)
                : MAX_OF(kr->timing.refresh, base);
    unsigned char r = 0;

    while (n > 1 && b < cap) {
        b *= 2;
        n--;
    }
    if (b > cap) {
        b = cap;
    }
    if (b / 4 > 0 && RAND_bytes(&r, 1) == 1) {
        b -= r % (b / 4 + 1);
    }
    return MAX_OF(b, base);
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
 * an unknown kid. routine: keys past their refresh time count (the
 * refresher, or a keyring without one); background: the refresher asks.
 * Under mutex. */
static int fetch_needed(const logto_keyring_t *kr, const local_t *l,
                        const char *kid, apr_int64_t now, int routine,
                        int background, int *for_kid)
{
    *for_kid = 0;
    /* The backoff spares a failing issuer only: after a success, refresh
     * and min_refresh alone pace the fetches (a new kid right after a
     * fetch must not wait for it). */
    if (in_backoff(kr, l, now, background)) {
        return 0;
    }
    if (!keys_usable(kr, l, now) ||
        (routine && now - l->meta.fetched_at >= kr->timing.refresh)) {
        return 1;
    }
    *for_kid = kid_refetch_due(kr, l, kid, now);
    return *for_kid;
}

/* Whether the process's keys answer a request without looking further:
 * young enough to serve, and no fetch due that the request must wait for.
 * Under mutex. */
static int local_answers(const logto_keyring_t *kr, const local_t *l,
                         const char *kid, apr_int64_t now)
{
    int for_kid;

    return keys_usable(kr, l, now) &&
           !fetch_needed(kr, l, kid, now, !kr->background, 0, &for_kid);
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

/* ------------------------------------------------------ state directory */

/* Keep rec, just fetched, as the last good keys of l on disk. */
static void state_save(const logto_keyring_t *kr, const local_t *l,
                       const record_t *rec, apr_pool_t *tmp)
{
    record_t keep = *rec;
    unsigned char *val;
    apr_size_t len;
    logto_err_t err;

    if (kr->state_dir == NULL) {
        return;
    }
    /* Only the keys and where they came from: counters and backoff belong
     * to the run that wrote them. */
    keep.last_attempt_at = keep.last_kid_refetch_at = keep.retry_at = 0;
    keep.fetches = keep.failures = keep.fail_streak = 0;
    keep.error = "";
    val = record_encode(&len, tmp, &keep);
    if (logto_statedir_save(kr->state_dir, l->source, &kr->state_secret, val,
                            len, tmp, &err) != APR_SUCCESS) {
        notify(kr, LOGTO_KEYRING_STATE_WRITE_FAILED, l, APR_EGENERAL, err.text);
    }
}

/* The last good keys of l from disk into rec and *pgen, when there are
 * some young enough to serve at now: APR_SUCCESS. APR_NOTFOUND when there
 * is no file; otherwise *pwhy says why the file cannot be used (not ours,
 * damaged, too old). Says nothing itself: whoever asks knows whether
 * that is worth saying. */
static apr_status_t state_load(generation_t **pgen, const char **pwhy,
                               logto_keyring_t *kr, const local_t *l,
                               record_t *rec, apr_int64_t now, apr_pool_t *tmp)
{
    const unsigned char *val;
    apr_size_t len;
    record_t disk;
    logto_err_t err;
    apr_status_t rv;

    rv = logto_statedir_load(&val, &len, kr->state_dir, l->source,
                             &kr->state_secret, tmp, &err);
    if (rv == APR_NOTFOUND) {
        return rv;
    }
    if (rv != APR_SUCCESS || !record_decode(&disk, tmp, val, len) ||
        disk.body == NULL || disk.fetched_at <= 0 || disk.fetched_at > now) {
        *pwhy = rv != APR_SUCCESS ? apr_pstrdup(tmp, err.text)
                                  : "not a key set record";
        return APR_EGENERAL;
    }
    if (now - disk.fetched_at > kr->timing.max_stale) {
        *pwhy = apr_psprintf(tmp,
                             "keys fetched %" APR_INT64_T_FMT " s ago are "
                             "past their stale limit",
                             now - disk.fetched_at);
        return APR_EGENERAL;
    }
    if (generation_make(pgen, kr, disk.body, disk.body_len, &err) !=
        APR_SUCCESS) {
        *pwhy = apr_pstrdup(tmp, err.text);
        return APR_EGENERAL;
    }
    rec->body = (*pgen)->body;
    rec->body_len = (*pgen)->body_len;
    memcpy(rec->version, (*pgen)->version, VERSION_LEN);
    rec->fetched_at = disk.fetched_at;
    rec->uri = disk.uri;
    return APR_SUCCESS;
}

/* The age of keys fetched at fetched_at, as the log says it. */
static const char *age_text(apr_pool_t *p, apr_int64_t now,
                            apr_int64_t fetched_at)
{
    return apr_psprintf(p, "fetched %" APR_INT64_T_FMT " s ago",
                        now - fetched_at);
}

/* The last good keys on disk into l, once, while it holds none: at child
 * start for the sources the configuration names (logto_keyring_add),
 * else at the first look beyond the process. A restart while the issuer
 * hangs serves them at once, and a shared record older than them (one
 * replayed into a network cache) never brings back keys the issuer has
 * dropped since: merged, the newer wins. One as new as them (put back
 * across a graceful restart) leaves them on disk. Not under mutex. */
static void state_seed(logto_keyring_t *kr, local_t *l, const record_t *shared,
                       apr_int64_t now, apr_pool_t *tmp)
{
    generation_t *g = NULL;
    const char *why;
    record_t disk;
    int tried;

    apr_thread_mutex_lock(kr->mutex);
    tried = l->state_seeded || l->cur != NULL || kr->state_dir == NULL;
    l->state_seeded = 1;
    apr_thread_mutex_unlock(kr->mutex);
    /* what cannot be used goes unsaid here: a failed fetch says it */
    memset(&disk, 0, sizeof(disk));
    if (tried || state_load(&g, &why, kr, l, &disk, now, tmp) != APR_SUCCESS) {
        return;
    }
    if (shared != NULL && shared->body != NULL &&
        shared->fetched_at >= disk.fetched_at) {
        apr_pool_destroy(g->pool);
        return;
    }
    apr_thread_mutex_lock(kr->mutex);
    if (l->cur == NULL) {
        generation_install(l, g);
        l->seeded = g;
        g = NULL;
        l->meta.fetched_at = disk.fetched_at;
        if (strcmp(l->meta.uri, disk.uri) != 0) {
            l->meta.uri = apr_pstrdup(kr->pool, disk.uri);
        }
    }
    apr_thread_mutex_unlock(kr->mutex);
    if (g != NULL) {
        apr_pool_destroy(g->pool);
        return;
    }
    notify(kr, LOGTO_KEYRING_STATE_SEEDED, l, APR_SUCCESS,
           age_text(tmp, now, disk.fetched_at));
}

/* After a failed fetch that leaves no keys young enough to serve, the
 * last good keys on disk into rec and *pgen, once; said either way. */
static void state_fallback(generation_t **pgen, logto_keyring_t *kr, local_t *l,
                           record_t *rec, apr_int64_t now, apr_pool_t *tmp)
{
    const char *why;
    apr_status_t rv;

    if (kr->state_dir == NULL || l->state_tried ||
        (rec->body != NULL && now - rec->fetched_at <= kr->timing.max_stale)) {
        return;
    }
    l->state_tried = 1;
    rv = state_load(pgen, &why, kr, l, rec, now, tmp);
    if (rv == APR_SUCCESS) {
        notify(kr, LOGTO_KEYRING_STATE_USED, l, APR_SUCCESS,
               age_text(tmp, now, rec->fetched_at));
    }
    else if (rv != APR_NOTFOUND) {
        notify(kr, LOGTO_KEYRING_STATE_IGNORED, l, rv, why);
    }
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

/* What a failed attempt leaves in rec: the error, the streak, and when
 * the next attempt may come. The very first attempt the refresher makes
 * for a key set nobody has keys of (at startup, when the issuer may be
 * this very server, still starting), if it failed quickly, holds nobody
 * back: the first request tries again at once. */
static void record_failure(const logto_keyring_t *kr, record_t *rec,
                           const char *why, int background,
                           apr_interval_time_t took, apr_pool_t *tmp)
{
    rec->failures++;
    rec->fail_streak++;
    rec->error = apr_pstrdup(tmp, why);
    /* Only a quick failure (refused, an error status): after a timeout, a
     * request retrying at once would only wait a timeout itself. */
    if (background && rec->body == NULL && rec->fetches == 1 &&
        took < apr_time_from_sec(backoff_base(kr)) / 2) {
        rec->retry_at = rec->last_attempt_at;
    }
    else {
        rec->retry_at =
            rec->last_attempt_at +
            backoff_after(kr, rec->fail_streak,
                          rec->body == NULL ||
                              rec->last_attempt_at - rec->fetched_at >
                                  kr->timing.max_stale);
    }
}

/* One fetch attempt: rec takes its outcome (a set that fails to parse
 * leaves the old body in place), goes to the shared cache, and l adopts
 * it. With no keys at all after a failure, the last good keys on disk,
 * once. Called under the cache's lock, not under mutex. */
static void fetch_and_store(logto_keyring_t *kr, local_t *l, record_t *rec,
                            int for_kid, int background, apr_int64_t now,
                            apr_time_t entered, apr_pool_t *tmp,
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
    rec->last_ok = fetch_generation(&g, &uri, kr, l->jwks_uri, l->issuer, tmp,
                                    &ferr) == APR_SUCCESS;
    /* The backoff counts from the end of the attempt: after a timeout,
     * the next caller (or this request's next look) must not ask the
     * slow issuer again at once. */
    rec->last_attempt_at = now + apr_time_sec(apr_time_now() - entered);
    rec->uri = uri;
    if (rec->last_ok && g->jwks && g->jwks->skipped->nelts &&
        memcmp(rec->version, g->version, VERSION_LEN) != 0) {
        notify(kr, LOGTO_KEYRING_KEYS_SKIPPED, l, APR_SUCCESS,
               logto_jwks_skipped_text(g->jwks, tmp));
    }
    if (rec->last_ok) {
        rec->body = g->body;
        rec->body_len = g->body_len;
        memcpy(rec->version, g->version, VERSION_LEN);
        /* now is when the caller looked; the keys are as of when the
         * fetch began, after any wait for the lock. */
        rec->fetched_at = now + apr_time_sec(started - entered);
        rec->error = "";
        rec->fail_streak = 0;
        rec->retry_at = 0;
        state_save(kr, l, rec, tmp);
    }
    else {
        record_failure(kr, rec, ferr.text, background, apr_time_now() - started,
                       tmp);
        state_fallback(&g, kr, l, rec, now, tmp);
    }
    notify(kr,
           rec->last_ok ? LOGTO_KEYRING_FETCHED : LOGTO_KEYRING_FETCH_FAILED, l,
           APR_SUCCESS, rec->last_ok ? "" : ferr.text);
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
                           const char *kid, apr_int64_t now, int background,
                           int *for_kid, apr_pool_t *tmp,
                           logto_keyring_stats_t *stats)
{
    const record_t *shared = shared_read(kr, l, tmp, stats);
    int need;

    state_seed(kr, l, shared, now, tmp);
    apr_thread_mutex_lock(kr->mutex);
    record_merge(rec, shared, l, tmp);
    local_adopt(kr, l, rec, NULL);
    need = fetch_needed(kr, l, kid, now, background || !kr->background,
                        background, for_kid);
    apr_thread_mutex_unlock(kr->mutex);
    return need;
}

/* Take the fetch lock: only if it is free (the refresher: someone else
 * fetching is as good), or waiting for it (a request that cannot be
 * answered without a fetch) at most the fetch timeout, twice that with
 * discovery: whoever holds it is fetching, and waiting longer would queue
 * requests behind fetches of other key sets too. Whether it is held; a
 * lock that fails outright costs the single flight, not the fetch. */
static int fetch_lock(logto_keyring_t *kr, const local_t *l, int wait,
                      int *locked)
{
    logto_cache_t *c = kr->cache;
    /* a fetch takes a timeout, two with discovery */
    apr_int64_t span = backoff_base(kr) * (l->jwks_uri ? 1 : 2);
    apr_time_t until;

    *locked = 0;
    if (c == NULL || c->lock == NULL) {
        return 1;
    }
    if (c->trylock == NULL) {
        *locked = c->lock(c->baton, l->key, span + 1) == APR_SUCCESS;
        return 1;
    }
    until = apr_time_now() + apr_time_from_sec(span);
    for (;;) {
        apr_status_t rv = c->trylock(c->baton, l->key, span + 1);

        if (rv == APR_SUCCESS) {
            *locked = 1;
            return 1;
        }
        if (!wait || !APR_STATUS_IS_EBUSY(rv) || apr_time_now() >= until) {
            /* Busy past the wait, or a lock that fails outright: the
             * refresher leaves it, a request takes it the blocking way
             * only in the second case. */
            if (wait && !APR_STATUS_IS_EBUSY(rv)) {
                *locked = c->lock(c->baton, l->key, span + 1) == APR_SUCCESS;
                return 1;
            }
            return 0;
        }
        apr_sleep(apr_time_from_msec(FETCH_LOCK_POLL_MS));
    }
}

/* Beyond the process's own keys: the shared record, then, if still
 * needed, a single fetch under the cache's lock. background: the
 * refresher's look; wait: for the lock when someone else holds it.
 * Whether someone else's fetch was under way and not waited for. */
static int refresh(logto_keyring_t *kr, local_t *l, const char *kid,
                   apr_int64_t now, int background, int wait,
                   logto_keyring_stats_t *stats, apr_pool_t *tmp)
{
    apr_time_t entered = apr_time_now();
    record_t rec;
    apr_uint64_t seen;
    int for_kid, locked;

    if (!sync_and_decide(kr, l, &rec, kid, now, background, &for_kid, tmp,
                         stats)) {
        return 0;
    }
    seen = rec.fetches;
    if (!fetch_lock(kr, l, wait, &locked)) {
        return !wait;
    }
    /* Someone may have fetched while this one waited for the lock: their
     * attempt, good or bad, answers this one too. Otherwise, against a
     * slow issuer, each waiter would fetch again in turn and wait a
     * timeout per process queued before it. */
    if (sync_and_decide(kr, l, &rec, kid, now, background, &for_kid, tmp,
                        stats) &&
        rec.fetches == seen) {
        fetch_and_store(kr, l, &rec, for_kid, background, now, entered, tmp,
                        stats);
    }
    if (locked && kr->cache->unlock != NULL) {
        kr->cache->unlock(kr->cache->baton, l->key);
    }
    return 0;
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
    return logto_keyring_get_how(pjwks, kr, jwks_uri, issuer, unknown_kid,
                                 LOGTO_KEYS_WAIT, now, stats, err);
}

apr_status_t logto_keyring_get_how(const logto_jwks_t **pjwks,
                                   logto_keyring_t *kr, const char *jwks_uri,
                                   const char *issuer, const char *unknown_kid,
                                   logto_keys_how_t how, apr_int64_t now,
                                   logto_keyring_stats_t *stats,
                                   logto_err_t *err)
{
    local_t *l;
    apr_pool_t *tmp;
    apr_status_t rv;
    int busy;

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
    if (how == LOGTO_KEYS_IN_HAND) {
        logto_err_set(err, LOGTO_ERR_FETCH, "keys not in hand");
        return APR_EAGAIN;
    }

    if (apr_pool_create(&tmp, kr->pool) != APR_SUCCESS) {
        return logto_err_set(err, LOGTO_ERR_INTERNAL, "no memory");
    }
    busy =
        refresh(kr, l, unknown_kid, now, 0, how == LOGTO_KEYS_WAIT, stats, tmp);
    apr_pool_destroy(tmp);
    apr_thread_mutex_lock(kr->mutex);
    if (busy && !keys_usable(kr, l, now)) {
        /* keys that serve need no wait; without any, the asker decides */
        logto_err_set(err, LOGTO_ERR_FETCH, "keys being fetched");
        rv = APR_EAGAIN;
    }
    else {
        rv = local_conclude(pjwks, kr, l, now, stats, err);
    }
    apr_thread_mutex_unlock(kr->mutex);
    return rv;
}

const char *logto_keyring_record_key(apr_pool_t *p, const char *jwks_uri,
                                     const char *issuer, const char *ca_file)
{
    const char *key = jwks_uri ? apr_pstrcat(p, "jwks:", jwks_uri, NULL)
                               : apr_pstrcat(p, "jwks:discover:", issuer, NULL);
    unsigned char md[32];
    unsigned int n = sizeof(md);

    ca_file = ca_trusted(jwks_uri, issuer, ca_file);
    if (ca_file == NULL) {
        return key;
    }
    /* no blank (memcache ids have none), and short: a digest of the path */
    if (!EVP_Digest(ca_file, strlen(ca_file), md, &n, logto_md_sha256(),
                    NULL)) {
        return apr_pstrcat(
            p, key, "|ca:", apr_pescape_hex(p, ca_file, strlen(ca_file), 0),
            NULL);
    }
    return apr_pstrcat(p, key, "|ca:", apr_pescape_hex(p, md, 8, 0), NULL);
}

/* ---------------------------------------------------------- refresher */

void logto_keyring_set_background(logto_keyring_t *kr, int on)
{
    kr->background = on;
}

void logto_keyring_set_notify(logto_keyring_t *kr, logto_keyring_notify_fn *fn,
                              void *baton)
{
    kr->notify = fn;
    kr->notify_baton = baton;
}

void logto_keyring_set_state_dir(logto_keyring_t *kr, const char *dir,
                                 const logto_secret_t *secret)
{
    kr->state_dir = dir ? apr_pstrdup(kr->pool, dir) : NULL;
    kr->state_secret.bytes = NULL;
    kr->state_secret.len = 0;
    if (secret != NULL && secret->len > 0) {
        kr->state_secret.bytes =
            apr_pmemdup(kr->pool, secret->bytes, secret->len);
        kr->state_secret.len = secret->len;
    }
}

void logto_keyring_add(logto_keyring_t *kr, const char *jwks_uri,
                       const char *issuer, apr_int64_t now)
{
    apr_pool_t *tmp;
    local_t *l;

    if (jwks_uri == NULL && issuer == NULL) {
        return;
    }
    apr_thread_mutex_lock(kr->mutex);
    l = local_find(kr, jwks_uri, issuer, 1);
    apr_thread_mutex_unlock(kr->mutex);
    if (apr_pool_create(&tmp, kr->pool) == APR_SUCCESS) {
        state_seed(kr, l, shared_read(kr, l, tmp, NULL), now, tmp);
        apr_pool_destroy(tmp);
    }
}

/* fn(l, out, p) for every key set l of kr, under its lock; out is an
 * array of elements of elt_size from p. */
static apr_array_header_t *
each_local(logto_keyring_t *kr, apr_pool_t *p, int elt_size,
           void (*fn)(local_t *, apr_array_header_t *, apr_pool_t *))
{
    apr_array_header_t *out = apr_array_make(p, 4, elt_size);
    apr_hash_t *tables[2] = {kr->by_uri, kr->by_issuer};
    apr_hash_index_t *hi;
    int t;

    apr_thread_mutex_lock(kr->mutex);
    for (t = 0; t < 2; t++) {
        for (hi = apr_hash_first(p, tables[t]); hi; hi = apr_hash_next(hi)) {
            fn(apr_hash_this_val(hi), out, p);
        }
    }
    apr_thread_mutex_unlock(kr->mutex);
    return out;
}

static void push_local(local_t *l, apr_array_header_t *out, apr_pool_t *p)
{
    APR_ARRAY_PUSH(out, local_t *) = l;
}

/* Every key set of kr, from p. */
static apr_array_header_t *locals_of(logto_keyring_t *kr, apr_pool_t *p)
{
    return each_local(kr, p, sizeof(local_t *), push_local);
}

void logto_keyring_tick(logto_keyring_t *kr, apr_int64_t now)
{
    apr_time_t entered = apr_time_now();
    apr_array_header_t *all;
    apr_pool_t *tmp, *scratch;
    int i;

    if (apr_pool_create(&tmp, kr->pool) != APR_SUCCESS) {
        return;
    }
    if (apr_pool_create(&scratch, tmp) == APR_SUCCESS) {
        all = locals_of(kr, tmp);
        for (i = 0; i < all->nelts; i++) {
            /* A key set after a slow one is looked at later than now. */
            refresh(kr, APR_ARRAY_IDX(all, i, local_t *), NULL,
                    now + apr_time_sec(apr_time_now() - entered), 1, 0, NULL,
                    scratch);
            apr_pool_clear(scratch);
        }
    }
    apr_pool_destroy(tmp);
}

/* ------------------------------------------------------------ status */

/* The keys of jwks (may be NULL) into e, copied from p. */
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

apr_status_t logto_keyring_record_parse(logto_keyring_entry_t **pentry,
                                        apr_pool_t *p, const char *source,
                                        const unsigned char *buf,
                                        apr_size_t len, logto_err_t *err)
{
    logto_keyring_entry_t *e;
    logto_jwks_t *jwks = NULL;
    logto_err_t perr;
    record_t rec;

    memset(&rec, 0, sizeof(rec));
    if (!record_decode(&rec, p, buf, len)) {
        return logto_err_set(err, LOGTO_ERR_INTERNAL, "not a key set record");
    }
    e = apr_pcalloc(p, sizeof(*e));
    e->source = apr_pstrdup(p, source);
    e->jwks_uri = rec.uri[0] ? rec.uri : NULL;
    e->fetched_at = rec.body ? rec.fetched_at : 0;
    e->last_attempt_at = rec.last_attempt_at;
    e->last_ok = rec.last_ok;
    e->last_error = rec.error;
    e->fetches = rec.fetches;
    e->failures = rec.failures;
    if (rec.body != NULL) {
        e->version = apr_pescape_hex(p, rec.version, VERSION_LEN, 0);
        if (logto_jwks_parse(&jwks, p, rec.body, rec.body_len, &perr) !=
            APR_SUCCESS) {
            jwks = NULL;
        }
    }
    entry_keys(e, p, jwks);
    *pentry = e;
    return APR_SUCCESS;
}

static int entry_cmp(const void *a, const void *b)
{
    const logto_keyring_entry_t *x = *(logto_keyring_entry_t *const *)a;
    const logto_keyring_entry_t *y = *(logto_keyring_entry_t *const *)b;

    return strcmp(x->source, y->source);
}

static void push_entry(local_t *l, apr_array_header_t *out, apr_pool_t *p)
{
    APR_ARRAY_PUSH(out, logto_keyring_entry_t *) = entry_copy(p, l);
}

apr_status_t logto_keyring_status(apr_array_header_t **pentries, apr_pool_t *p,
                                  logto_keyring_t *kr)
{
    apr_array_header_t *out =
        each_local(kr, p, sizeof(logto_keyring_entry_t *), push_entry);

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
    local_t probe, *l;
    const record_t *rec;
    logto_keyring_entry_t *e;

    if (jwks_uri == NULL && issuer == NULL) {
        return APR_EINVAL;
    }
    /* Named as local_find names it, so the same record is read. */
    memset(&probe, 0, sizeof(probe));
    local_name(&probe, p, kr, jwks_uri, issuer);
    rec = shared_read(kr, &probe, p, NULL);
    if (rec != NULL) {
        *pentry = entry_of_record(p, probe.source, rec);
        return APR_SUCCESS;
    }
    /* none shared yet: what the state directory gave this process */
    apr_thread_mutex_lock(kr->mutex);
    l = local_find(kr, jwks_uri, issuer, 0);
    e = l && l->cur && l->cur == l->seeded ? entry_copy(p, l) : NULL;
    apr_thread_mutex_unlock(kr->mutex);
    if (e != NULL) {
        e->from_state_dir = 1;
        *pentry = e;
        return APR_NOTFOUND;
    }
    e = apr_pcalloc(p, sizeof(*e));
    e->source = probe.source;
    e->jwks_uri = probe.jwks_uri;
    e->last_error = "";
    entry_keys(e, p, NULL);
    *pentry = e;
    return APR_NOTFOUND;
}
