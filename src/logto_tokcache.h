/*
 * logto_tokcache.h - the verified-token cache: a fixed-size table in memory
 * the caller provides (shared memory in httpd, so every child process
 * sees it), and the keys and records it is used with.
 *
 * A verified token is remembered under SHA-256(configuration identity NUL
 * token) with what a later hit needs: its exp and nbf, which issuer's key
 * verified it and that key's thumbprint, so a repeated token skips the
 * signature check only while that key is still in the issuer's key set.
 *
 * The table is set-associative: a digest picks a bucket of
 * LOGTO_TOKCACHE_WAYS slots. Readers take no lock: each slot carries a
 * sequence number that is odd while a writer is in it, and a reader that
 * sees it change reads a miss. A writer claims a slot by compare-and-swap
 * of that number and gives up, rather than wait, when another writer holds
 * it. Within a bucket, eviction is CLOCK: a hit marks its slot, a store
 * passes over marked slots once (clearing the mark) before taking one.
 */
#ifndef LOGTO_TOKCACHE_H
#define LOGTO_TOKCACHE_H

#include <apr_pools.h>

#include "logto_jwt.h"

#define LOGTO_TOKCACHE_DIGEST_LEN 32
#define LOGTO_TOKCACHE_WAYS       8
/* A thumbprint (base64url of SHA-256) and its NUL. */
#define LOGTO_TOKCACHE_THUMB_LEN 44
/* The default number of entries (AuthLogtoTokenCache On). */
#define LOGTO_TOKCACHE_DEFAULT_ENTRIES 100000

/* What a hit needs. */
typedef struct logto_tokcache_entry_t {
    apr_int64_t exp;
    apr_int64_t nbf;                      /* 0 when absent */
    apr_uint32_t issuer;                  /* index into the policy's issuers */
    char thumb[LOGTO_TOKCACHE_THUMB_LEN]; /* verifying key, NUL-ended */
} logto_tokcache_entry_t;

/* Counters of one table, shared like the table itself. */
typedef struct logto_tokcache_stats_t {
    apr_uint32_t entries; /* slots */
    apr_uint32_t hits;
    apr_uint32_t misses;
    apr_uint32_t stores;
    apr_uint32_t evictions; /* live entries pushed out by a store */
    apr_uint32_t contended; /* stores given up: slot busy */
} logto_tokcache_stats_t;

typedef struct logto_tokcache_t logto_tokcache_t;

/* Bytes of memory a table of at least entries slots takes (rounded up
 * to whole buckets). 0 entries: 0. */
apr_size_t logto_tokcache_memsize(apr_uint32_t entries);

/* A table over mem (size bytes, from logto_tokcache_memsize; aligned for
 * 64-bit words). With init the memory is cleared and formatted; without,
 * it must hold a table of the same size already (another process's, or an
 * earlier generation's): APR_EINVAL otherwise. The handle is from p and
 * does not own mem. */
apr_status_t logto_tokcache_attach(logto_tokcache_t **ptc, apr_pool_t *p,
                                   void *mem, apr_size_t size, int init);

/* Touch every page of the table, so that a process that inherited it
 * maps it once at its start rather than page by page on its first
 * lookups. */
void logto_tokcache_prefault(const logto_tokcache_t *tc);

/* Look digest up at time now (seconds): APR_SUCCESS and *e on a live
 * entry (exp not past now), APR_NOTFOUND otherwise. Counts a hit or a
 * miss. Takes no lock. */
apr_status_t logto_tokcache_get(logto_tokcache_t *tc,
                                const unsigned char *digest, apr_int64_t now,
                                logto_tokcache_entry_t *e);

/* Remember e under digest, best effort: never waits; a store that meets a
 * busy slot is dropped. */
void logto_tokcache_put(logto_tokcache_t *tc, const unsigned char *digest,
                        const logto_tokcache_entry_t *e, apr_int64_t now);

/* The table as a set of things used once (DPoP proofs): remember digest
 * until e->exp, unless a live entry holds it already, and never in place
 * of another live entry. A digest has two buckets (its first and second
 * words pick them) and goes to the emptier, so a table fills evenly.
 * APR_SUCCESS: remembered now, first use; APR_EEXIST: used before;
 * APR_ENOSPC: every slot of both buckets is live (the caller refuses
 * rather than forget a use); APR_EAGAIN: a bucket stayed busy. Claims of
 * one digest are atomic across processes (a lock word per bucket); they
 * are not mixed with logto_tokcache_get or put on one table. */
apr_status_t logto_tokcache_claim(logto_tokcache_t *tc,
                                  const unsigned char *digest,
                                  const logto_tokcache_entry_t *e,
                                  apr_int64_t now);

/* Copy the entries of src live at now into dst (a table of another
 * size, across a graceful restart), by logto_tokcache_claim when claims
 * (a table of claims), else by logto_tokcache_put. An entry a writer is
 * in the middle of is left out. How many were copied. */
apr_uint32_t logto_tokcache_copy(logto_tokcache_t *dst, logto_tokcache_t *src,
                                 apr_int64_t now, int claims);

/* Bytes of one claim as logto_tokcache_claims_write writes it: the
 * digest, then its expiry (seconds, 8 bytes big-endian). */
#define LOGTO_TOKCACHE_CLAIM_LEN (LOGTO_TOKCACHE_DIGEST_LEN + 8)

/* The claims of tc live at now, as records of LOGTO_TOKCACHE_CLAIM_LEN
 * bytes, into buf (cap bytes) from slot *pnext on, until buf is full or
 * the table walked; *pnext is set to where a next call goes on (the
 * table's slot count once it is done: see logto_tokcache_stats' entries).
 * Bytes written. For keeping used DPoP proofs across a full restart. */
apr_size_t logto_tokcache_claims_write(const logto_tokcache_t *tc,
                                       apr_int64_t now, apr_uint32_t *pnext,
                                       unsigned char *buf, apr_size_t cap);

/* Claim in tc every record of buf (len bytes, as written by
 * logto_tokcache_claims_write) still live at now, none for longer than
 * until latest (what no proof can outlive: a clock set back, a file not
 * this server's); *pn: how many were new to tc, *plost: how many found
 * no room. APR_EINVAL when len is not whole records or an expiry is past
 * any time (the records before it are claimed). */
apr_status_t logto_tokcache_claims_read(logto_tokcache_t *tc,
                                        const unsigned char *buf,
                                        apr_size_t len, apr_int64_t now,
                                        apr_int64_t latest, apr_uint32_t *pn,
                                        apr_uint32_t *plost);

/* A snapshot of the counters, and the number of slots in use (*pused,
 * may be NULL: counting walks the table). */
void logto_tokcache_stats(const logto_tokcache_t *tc,
                          logto_tokcache_stats_t *st, apr_uint32_t *pused);

/* A string naming everything of pol and key_source that decides whether
 * a token verifies (issuers, audiences, algorithms, skew, where keys come
 * from) and extra (what the caller adds, may be NULL), from p. */
const char *logto_tokcache_config_id(apr_pool_t *p, const logto_policy_t *pol,
                                     const char *key_source, const char *extra);

/* SHA-256(config_id NUL token) into digest (LOGTO_TOKCACHE_DIGEST_LEN
 * bytes). */
apr_status_t logto_tokcache_digest(unsigned char *digest, const char *config_id,
                                   const char *token, apr_size_t len);

/* Bytes of an entry as a shared-cache record, and back: a fixed layout
 * of LOGTO_TOKCACHE_RECORD_LEN bytes, so a fleet of servers agrees. */
#define LOGTO_TOKCACHE_RECORD_LEN (4 + 8 + 8 + 4 + LOGTO_TOKCACHE_THUMB_LEN)
void logto_tokcache_record_encode(unsigned char *rec,
                                  const logto_tokcache_entry_t *e);
apr_status_t logto_tokcache_record_decode(logto_tokcache_entry_t *e,
                                          const unsigned char *rec,
                                          apr_size_t len);

#endif /* LOGTO_TOKCACHE_H */
