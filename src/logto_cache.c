/*
 * logto_cache.c - the in-memory implementation of logto_cache_t.
 *
 * Values are kept in malloc'ed memory, not in the pool, so that replacing
 * a value over and over does not grow the pool; the pool's cleanup frees
 * whatever is left.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>

#include "logto_cache.h"

typedef struct mem_entry_t {
    char *key;
    unsigned char *val;
    apr_size_t len;
    apr_time_t expiry;
} mem_entry_t;

typedef struct mem_cache_t {
    apr_hash_t *table; /* key -> mem_entry_t *, guarded by mutex */
    apr_hash_t *held;  /* keys whose fetch lock is taken, guarded by mutex */
    apr_thread_mutex_t *mutex;
    apr_thread_cond_t *released; /* a fetch lock was let go */
    unsigned long locks;
} mem_cache_t;

static void entry_free(mem_entry_t *e)
{
    free(e->key);
    free(e->val);
    free(e);
}

static apr_status_t mem_cleanup(void *baton)
{
    mem_cache_t *mc = baton;
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(NULL, mc->table); hi; hi = apr_hash_next(hi)) {
        entry_free(apr_hash_this_val(hi));
    }
    for (hi = apr_hash_first(NULL, mc->held); hi; hi = apr_hash_next(hi)) {
        free(apr_hash_this_val(hi));
    }
    /* The table itself goes with the pool (apr_hash_clear would read the
     * freed keys). */
    return APR_SUCCESS;
}

static apr_status_t mem_get(void *baton, const char *key, unsigned char **pval,
                            apr_size_t *plen, apr_pool_t *p)
{
    mem_cache_t *mc = baton;
    mem_entry_t *e;
    apr_status_t rv = APR_NOTFOUND;

    apr_thread_mutex_lock(mc->mutex);
    e = apr_hash_get(mc->table, key, APR_HASH_KEY_STRING);
    if (e != NULL && e->expiry > apr_time_now()) {
        *pval = apr_pmemdup(p, e->val, e->len ? e->len : 1);
        *plen = e->len;
        rv = APR_SUCCESS;
    }
    apr_thread_mutex_unlock(mc->mutex);
    return rv;
}

static mem_entry_t *entry_make(const char *key, const unsigned char *val,
                               apr_size_t len, apr_time_t expiry)
{
    mem_entry_t *e = calloc(1, sizeof(*e));

    if (e == NULL) {
        return NULL;
    }
    e->key = strdup(key);
    e->val = malloc(len ? len : 1);
    if (e->key == NULL || e->val == NULL) {
        entry_free(e);
        return NULL;
    }
    memcpy(e->val, val, len);
    e->len = len;
    e->expiry = expiry;
    return e;
}

static apr_status_t mem_set(void *baton, const char *key,
                            const unsigned char *val, apr_size_t len,
                            apr_time_t expiry, apr_pool_t *p)
{
    mem_cache_t *mc = baton;
    mem_entry_t *e = entry_make(key, val, len, expiry);
    mem_entry_t *old;

    if (e == NULL) {
        return APR_ENOMEM;
    }
    apr_thread_mutex_lock(mc->mutex);
    old = apr_hash_get(mc->table, key, APR_HASH_KEY_STRING);
    /* apr_hash_set keeps the old key pointer when replacing: drop the old
     * entry first, as its key is about to be freed. */
    apr_hash_set(mc->table, key, APR_HASH_KEY_STRING, NULL);
    apr_hash_set(mc->table, e->key, APR_HASH_KEY_STRING, e);
    apr_thread_mutex_unlock(mc->mutex);
    if (old != NULL) {
        entry_free(old);
    }
    return APR_SUCCESS;
}

/* The fetch lock of key, if free; under mutex. Each key has its own:
 * the fetch of one key set never holds back another's. */
static apr_status_t take_held(mem_cache_t *mc, const char *key)
{
    char *copy;

    if (apr_hash_get(mc->held, key, APR_HASH_KEY_STRING) != NULL) {
        return APR_EBUSY;
    }
    if ((copy = strdup(key)) == NULL) {
        return APR_ENOMEM;
    }
    apr_hash_set(mc->held, copy, APR_HASH_KEY_STRING, copy);
    mc->locks++;
    return APR_SUCCESS;
}

static apr_status_t mem_lock(void *baton, const char *key, apr_int64_t hold)
{
    mem_cache_t *mc = baton;
    apr_status_t rv;

    apr_thread_mutex_lock(mc->mutex);
    while ((rv = take_held(mc, key)) == APR_EBUSY) {
        apr_thread_cond_wait(mc->released, mc->mutex);
    }
    apr_thread_mutex_unlock(mc->mutex);
    return rv;
}

static apr_status_t mem_trylock(void *baton, const char *key, apr_int64_t hold)
{
    mem_cache_t *mc = baton;
    apr_status_t rv;

    apr_thread_mutex_lock(mc->mutex);
    rv = take_held(mc, key);
    apr_thread_mutex_unlock(mc->mutex);
    return rv;
}

static apr_status_t mem_unlock(void *baton, const char *key)
{
    mem_cache_t *mc = baton;
    char *copy;

    apr_thread_mutex_lock(mc->mutex);
    copy = apr_hash_get(mc->held, key, APR_HASH_KEY_STRING);
    if (copy != NULL) {
        apr_hash_set(mc->held, key, APR_HASH_KEY_STRING, NULL);
        free(copy);
    }
    apr_thread_cond_broadcast(mc->released);
    apr_thread_mutex_unlock(mc->mutex);
    return copy != NULL ? APR_SUCCESS : APR_EINVAL;
}

apr_status_t logto_cache_mem_create(logto_cache_t **pcache, apr_pool_t *p)
{
    logto_cache_t *cache = apr_pcalloc(p, sizeof(*cache));
    mem_cache_t *mc = apr_pcalloc(p, sizeof(*mc));
    apr_status_t rv;

    mc->table = apr_hash_make(p);
    mc->held = apr_hash_make(p);
    rv = apr_thread_mutex_create(&mc->mutex, APR_THREAD_MUTEX_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        rv = apr_thread_cond_create(&mc->released, p);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* Registered after the mutexes, so it runs before they go. */
    apr_pool_cleanup_register(p, mc, mem_cleanup, apr_pool_cleanup_null);
    cache->baton = mc;
    cache->get = mem_get;
    cache->set = mem_set;
    cache->lock = mem_lock;
    cache->unlock = mem_unlock;
    cache->trylock = mem_trylock;
    *pcache = cache;
    return APR_SUCCESS;
}

unsigned long logto_cache_mem_lock_count(const logto_cache_t *cache)
{
    const mem_cache_t *mc = cache->baton;

    return mc->locks;
}
