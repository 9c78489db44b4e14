/*
 * logto_memo.c - a memo of parsed token payloads (see logto_memo.h).
 */
#include <string.h>

#include <apr_thread_mutex.h>

#include "logto_memo.h"
#include "logto_tokcache.h"

/* Enough stripes that threads seldom meet on one. */
#define STRIPES 64

typedef struct memo_slot_t {
    unsigned char digest[LOGTO_TOKCACHE_DIGEST_LEN];
    json_t *payload; /* NULL: empty */
} memo_slot_t;

struct logto_memo_t {
    memo_slot_t *slots;
    apr_uint32_t nslots;
    apr_thread_mutex_t *stripe[STRIPES];
};

static apr_status_t memo_release(void *data)
{
    logto_memo_t *m = data;
    apr_uint32_t i;

    for (i = 0; i < m->nslots; i++) {
        json_decref(m->slots[i].payload);
        m->slots[i].payload = NULL;
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
    m->nslots = slots;
    m->slots = apr_pcalloc(p, (apr_size_t)slots * sizeof(*m->slots));
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

/* The slot of a digest: its first bytes are uniform already. */
static apr_uint32_t slot_of(const logto_memo_t *m, const unsigned char *digest)
{
    apr_uint32_t h;

    memcpy(&h, digest, sizeof(h));
    return h % m->nslots;
}

json_t *logto_memo_get(logto_memo_t *m, const unsigned char *digest)
{
    apr_uint32_t i = slot_of(m, digest);
    apr_thread_mutex_t *lock = m->stripe[i % STRIPES];
    json_t *found = NULL;

    if (apr_thread_mutex_trylock(lock) != APR_SUCCESS) {
        return NULL;
    }
    if (m->slots[i].payload &&
        !memcmp(m->slots[i].digest, digest, LOGTO_TOKCACHE_DIGEST_LEN)) {
        found = json_incref(m->slots[i].payload);
    }
    apr_thread_mutex_unlock(lock);
    return found;
}

void logto_memo_put(logto_memo_t *m, const unsigned char *digest,
                    json_t *payload)
{
    apr_uint32_t i = slot_of(m, digest);
    apr_thread_mutex_t *lock = m->stripe[i % STRIPES];
    json_t *old;

    if (!json_is_object(payload) ||
        apr_thread_mutex_trylock(lock) != APR_SUCCESS) {
        return;
    }
    old = m->slots[i].payload;
    memcpy(m->slots[i].digest, digest, LOGTO_TOKCACHE_DIGEST_LEN);
    m->slots[i].payload = json_incref(payload);
    apr_thread_mutex_unlock(lock);
    /* the last reference may free a whole document: outside the lock */
    json_decref(old);
}
