/*
 * logto_memo.c - a memo of parsed tokens (see logto_memo.h).
 */
#include <string.h>

#include <apr_thread_mutex.h>

#include "logto_memo.h"
#include "logto_tokcache.h"

/* Enough stripes that threads seldom meet on one. */
#define STRIPES 64
/* Slots per set: direct mapping made 1,000 clients in 3,200 slots miss a
 * quarter of the time, each pushing out another. */
#define WAYS 4

typedef struct memo_slot_t {
    unsigned char digest[LOGTO_TOKCACHE_DIGEST_LEN];
    json_t *header;
    json_t *payload; /* NULL: empty */
} memo_slot_t;

typedef struct memo_set_t {
    memo_slot_t way[WAYS];
    unsigned int next; /* the way a new digest takes: oldest first */
} memo_set_t;

/* Header slots: an issuer or two, a key or two each, and room to spare. */
#define HEADERS 16

typedef struct header_slot_t {
    char b64[LOGTO_MEMO_HEADER_MAX];
    apr_size_t len;
    json_t *header; /* NULL: empty */
} header_slot_t;

struct logto_memo_t {
    memo_set_t *sets;
    apr_uint32_t nsets;
    apr_thread_mutex_t *stripe[STRIPES];
    header_slot_t headers[HEADERS];
};

static apr_status_t memo_release(void *data)
{
    logto_memo_t *m = data;
    apr_uint32_t i;
    int w;

    for (i = 0; i < m->nsets; i++) {
        for (w = 0; w < WAYS; w++) {
            json_decref(m->sets[i].way[w].header);
            json_decref(m->sets[i].way[w].payload);
            m->sets[i].way[w].header = NULL;
            m->sets[i].way[w].payload = NULL;
        }
    }
    for (i = 0; i < HEADERS; i++) {
        json_decref(m->headers[i].header);
        m->headers[i].header = NULL;
    }
    return APR_SUCCESS;
}

apr_status_t logto_memo_create(logto_memo_t **pm, apr_pool_t *p,
                               apr_uint32_t slots)
{
    logto_memo_t *m;
    apr_status_t rv;
    int i;

    *pm = NULL;
    if (slots == 0) {
        return APR_EINVAL;
    }
#if !JSON_HAVE_ATOMIC_BUILTINS && !JSON_HAVE_SYNC_BUILTINS
    return APR_ENOTIMPL;
#endif
    m = apr_pcalloc(p, sizeof(*m));
    m->nsets = (slots + WAYS - 1) / WAYS;
    m->sets = apr_pcalloc(p, (apr_size_t)m->nsets * sizeof(*m->sets));
    for (i = 0; i < STRIPES; i++) {
        rv =
            apr_thread_mutex_create(&m->stripe[i], APR_THREAD_MUTEX_DEFAULT, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    /* registered after the mutexes, so it runs before they are gone */
    apr_pool_cleanup_register(p, m, memo_release, apr_pool_cleanup_null);
    *pm = m;
    return APR_SUCCESS;
}

/* The set of a digest: its first bytes are uniform already. */
static memo_set_t *set_of(const logto_memo_t *m, const unsigned char *digest,
                          apr_thread_mutex_t **plock)
{
    apr_uint32_t h;

    memcpy(&h, digest, sizeof(h));
    h %= m->nsets;
    *plock = m->stripe[h % STRIPES];
    return &m->sets[h];
}

/* The way of set that holds digest, or -1. */
static int way_of(const memo_set_t *set, const unsigned char *digest)
{
    int w;

    for (w = 0; w < WAYS; w++) {
        if (set->way[w].payload &&
            !memcmp(set->way[w].digest, digest, LOGTO_TOKCACHE_DIGEST_LEN)) {
            return w;
        }
    }
    return -1;
}

int logto_memo_get(logto_memo_t *m, const unsigned char *digest,
                   json_t **pheader, json_t **ppayload)
{
    apr_thread_mutex_t *lock;
    memo_set_t *set = set_of(m, digest, &lock);
    int w;

    *pheader = *ppayload = NULL;
    if (apr_thread_mutex_trylock(lock) != APR_SUCCESS) {
        return 0;
    }
    w = way_of(set, digest);
    if (w >= 0) {
        *pheader = json_incref(set->way[w].header);
        *ppayload = json_incref(set->way[w].payload);
    }
    apr_thread_mutex_unlock(lock);
    return w >= 0;
}

void logto_memo_put(logto_memo_t *m, const unsigned char *digest,
                    json_t *header, json_t *payload)
{
    apr_thread_mutex_t *lock;
    memo_set_t *set = set_of(m, digest, &lock);
    json_t *old_header, *old_payload;
    int w;

    if (!json_is_object(header) || !json_is_object(payload) ||
        apr_thread_mutex_trylock(lock) != APR_SUCCESS) {
        return;
    }
    w = way_of(set, digest);
    if (w < 0) {
        w = (int)(set->next++ % WAYS);
    }
    old_header = set->way[w].header;
    old_payload = set->way[w].payload;
    memcpy(set->way[w].digest, digest, LOGTO_TOKCACHE_DIGEST_LEN);
    set->way[w].header = json_incref(header);
    set->way[w].payload = json_incref(payload);
    apr_thread_mutex_unlock(lock);
    /* the last reference may free a whole document: outside the lock */
    json_decref(old_header);
    json_decref(old_payload);
}

/* The header slot of b64 and its stripe: FNV-1a over its bytes. */
static header_slot_t *header_slot_of(logto_memo_t *m, const char *b64,
                                     apr_size_t len, apr_thread_mutex_t **plock)
{
    apr_uint32_t h = 2166136261u;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char)b64[i]) * 16777619u;
    }
    /* the lock from the slot, so that one slot has one lock */
    h %= HEADERS;
    *plock = m->stripe[h % STRIPES];
    return &m->headers[h];
}

json_t *logto_memo_header_get(logto_memo_t *m, const char *b64, apr_size_t len)
{
    apr_thread_mutex_t *lock;
    header_slot_t *slot;
    json_t *found = NULL;

    if (len > LOGTO_MEMO_HEADER_MAX) {
        return NULL;
    }
    slot = header_slot_of(m, b64, len, &lock);
    if (apr_thread_mutex_trylock(lock) != APR_SUCCESS) {
        return NULL;
    }
    if (slot->header && slot->len == len && !memcmp(slot->b64, b64, len)) {
        found = json_incref(slot->header);
    }
    apr_thread_mutex_unlock(lock);
    return found;
}

void logto_memo_header_put(logto_memo_t *m, const char *b64, apr_size_t len,
                           json_t *header)
{
    apr_thread_mutex_t *lock;
    header_slot_t *slot;
    json_t *old;

    if (len == 0 || len > LOGTO_MEMO_HEADER_MAX || !json_is_object(header)) {
        return;
    }
    slot = header_slot_of(m, b64, len, &lock);
    if (apr_thread_mutex_trylock(lock) != APR_SUCCESS) {
        return;
    }
    old = slot->header;
    memcpy(slot->b64, b64, len);
    slot->len = len;
    slot->header = json_incref(header);
    apr_thread_mutex_unlock(lock);
    json_decref(old);
}
