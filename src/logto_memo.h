/*
 * logto_memo.h - a memo of parsed tokens for one process, by token digest
 * (logto_tokcache_digest): the header and payload a token-cache hit would
 * otherwise decode and parse again.
 *
 * It is only a memo. The digest covers the configuration identity and
 * every byte of the token, so a header and payload found under it are
 * what parsing that token would give. Whether the token may be used at all is
 * still the token store's word (a hit, with its key still in the set),
 * and its claims are still checked on every use.
 *
 * Slots come in sets of four (a digest may sit in any slot of its set,
 * the oldest giving way), so a thousand clients in a few thousand slots
 * seldom push each other out. Each header and payload is held by a
 * Jansson reference, and never changed once parsed, so threads share them
 * read-only.
 * That needs Jansson's atomic reference counts: built without them, the
 * memo is not made (APR_ENOTIMPL) and every use parses.
 * Slots are guarded by striped mutexes that are only ever tried: a get
 * that finds its stripe busy is a miss, a put gives up. Nothing waits.
 * The same holds for the headers below.
 */
#ifndef LOGTO_MEMO_H
#define LOGTO_MEMO_H

#include <apr_pools.h>
#include <jansson.h>

typedef struct logto_memo_t logto_memo_t;

/* A memo of slots entries (at least 1) from p; everything it still holds
 * is released with p. */
apr_status_t logto_memo_create(logto_memo_t **pm, apr_pool_t *p,
                               apr_uint32_t slots);

/* The header and payload remembered under digest
 * (LOGTO_TOKCACHE_DIGEST_LEN bytes), as new references the caller
 * releases: 1; or 0, both NULL. */
int logto_memo_get(logto_memo_t *m, const unsigned char *digest,
                   json_t **pheader, json_t **ppayload);

/* Remember a token's header and payload (JSON objects both) under digest,
 * in place of the oldest entry of its set; the memo takes references of
 * its own. Best effort. */
void logto_memo_put(logto_memo_t *m, const unsigned char *digest,
                    json_t *header, json_t *payload);

/* Headers are remembered apart, by their base64url bytes: the tokens of
 * one key share one header, so a token never seen before is spared
 * parsing it too. A header part longer than this is not remembered. */
#define LOGTO_MEMO_HEADER_MAX 256

/* The header parsed before from the base64url header part b64 (len
 * bytes, compared whole), as a new reference the caller releases, or
 * NULL. */
json_t *logto_memo_header_get(logto_memo_t *m, const char *b64, apr_size_t len);

/* Remember header (a JSON object), parsed from b64, in place of whatever
 * its slot held; the memo takes a reference of its own. Best effort. */
void logto_memo_header_put(logto_memo_t *m, const char *b64, apr_size_t len,
                           json_t *header);

#endif /* LOGTO_MEMO_H */
