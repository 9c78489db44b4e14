/*
 * logto_record.h - sealed records: what the module writes to a shared
 * cache or a file it may read back later, authenticated with HMAC-SHA-256
 * under a server secret and bound to the name it is stored under.
 *
 * A sealed record is
 *     "LTS1" | payload length (4 bytes, big-endian) | MAC (32 bytes) |
 *     payload
 * where the MAC is HMAC-SHA-256(secret, "LTS1" | name length (4 bytes) |
 * name | payload length | payload). Binding the name means a record
 * copied under another key (another key set, another token) fails the
 * check; the length makes a truncated record fail before any MAC is
 * computed.
 */
#ifndef LOGTO_RECORD_H
#define LOGTO_RECORD_H

#include <apr_pools.h>

#include "logto_err.h"

#define LOGTO_RECORD_MAGIC    "LTS1"
#define LOGTO_RECORD_OVERHEAD (4 + 4 + 32)
/* The largest payload a record carries: a key set at the fetch bound,
 * with room for its timestamps and URIs. */
#define LOGTO_RECORD_MAX_PAYLOAD (1024 * 1024 + 16384)
/* Fewest secret bytes accepted. */
#define LOGTO_RECORD_MIN_SECRET 32

typedef struct logto_secret_t {
    const unsigned char *bytes;
    apr_size_t len;
} logto_secret_t;

/* Seal payload (len bytes) stored under name: the record, from p, and its
 * length in *plen. */
unsigned char *logto_record_seal(apr_size_t *plen, apr_pool_t *p,
                                 const logto_secret_t *secret, const char *name,
                                 const void *payload, apr_size_t len);

/* Open a record read back under name: on success *ppayload points into
 * rec (not copied) and *plen is its length. APR_EGENERAL with err set
 * (LOGTO_ERR_INTERNAL reason, a short text) when the record is truncated,
 * not a record, or fails its MAC. */
apr_status_t logto_record_open(const unsigned char **ppayload, apr_size_t *plen,
                               const logto_secret_t *secret, const char *name,
                               const unsigned char *rec, apr_size_t len,
                               logto_err_t *err);

/* The length of the record whose first bytes (at least 8) are head, or 0
 * when they are not the start of a record. For reading a record whose
 * size is not known in advance. */
apr_size_t logto_record_length(const unsigned char *head, apr_size_t len);

#endif /* LOGTO_RECORD_H */
