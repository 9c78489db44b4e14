/*
 * logto_tokcache.c - the verified-token cache table (see logto_tokcache.h
 * for its design), its keys and its shared-cache records.
 *
 * The table lives in memory shared between processes, so it holds no
 * pointers, and every word two processes touch at once is read and
 * written with the compiler's atomic builtins: a slot's sequence number
 * (acquire/release around the entry it guards), its CLOCK mark, the
 * bucket's hand and the counters.
 */
#include <string.h>

#include <apr_strings.h>
#include <openssl/evp.h>

#include "logto_md.h"
#include "logto_tokcache.h"

/* LTC2: a claim looks in two buckets. A table of claims made by one
 * bucket must not be taken over across a graceful restart onto this
 * code: children of the two generations would each miss the proofs the
 * other placed. */
#define TABLE_MAGIC "LTC2"

typedef struct slot_t {
    apr_uint32_t seq; /* 0: never used; odd: a writer is in it */
    apr_uint32_t ref; /* CLOCK mark: hit since the hand last passed */
    unsigned char digest[LOGTO_TOKCACHE_DIGEST_LEN];
    logto_tokcache_entry_t e;
} slot_t;

typedef struct bucket_t {
    apr_uint32_t hand; /* where the CLOCK hand stands */
    apr_uint32_t lock; /* 1 while a claim is in the bucket */
    slot_t slots[LOGTO_TOKCACHE_WAYS];
} bucket_t;

typedef struct table_hdr_t {
    char magic[4];
    apr_uint32_t nbuckets;
    apr_uint32_t bucket_size; /* sizeof(bucket_t): a layout check */
    apr_uint32_t pad;
    logto_tokcache_stats_t stats;
} table_hdr_t;

/* The header padded to a cache line, so that counting does not share a
 * line with the first bucket. */
#define HDR_SIZE APR_ALIGN(sizeof(table_hdr_t), 64)

struct logto_tokcache_t {
    table_hdr_t *hdr;
    bucket_t *buckets;
    apr_uint32_t nbuckets;
};

#define LOAD(x)     __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define BUMP(x)     __atomic_fetch_add(&(x), 1, __ATOMIC_RELAXED)

static apr_uint32_t buckets_for(apr_uint32_t entries)
{
    return (entries + LOGTO_TOKCACHE_WAYS - 1) / LOGTO_TOKCACHE_WAYS;
}

apr_size_t logto_tokcache_memsize(apr_uint32_t entries)
{
    if (entries == 0) {
        return 0;
    }
    return HDR_SIZE + (apr_size_t)buckets_for(entries) * sizeof(bucket_t);
}

apr_status_t logto_tokcache_attach(logto_tokcache_t **ptc, apr_pool_t *p,
                                   void *mem, apr_size_t size, int init)
{
    logto_tokcache_t *tc;
    table_hdr_t *hdr = mem;
    apr_uint32_t nbuckets;

    *ptc = NULL;
    if (mem == NULL || size <= HDR_SIZE ||
        (size - HDR_SIZE) % sizeof(bucket_t) != 0) {
        return APR_EINVAL;
    }
    nbuckets = (apr_uint32_t)((size - HDR_SIZE) / sizeof(bucket_t));
    if (init) {
        memset(mem, 0, size);
        memcpy(hdr->magic, TABLE_MAGIC, 4);
        hdr->nbuckets = nbuckets;
        hdr->bucket_size = sizeof(bucket_t);
        hdr->stats.entries = nbuckets * LOGTO_TOKCACHE_WAYS;
    }
    else if (memcmp(hdr->magic, TABLE_MAGIC, 4) != 0 ||
             hdr->nbuckets != nbuckets ||
             hdr->bucket_size != sizeof(bucket_t)) {
        return APR_EINVAL;
    }
    tc = apr_pcalloc(p, sizeof(*tc));
    tc->hdr = hdr;
    tc->buckets = (bucket_t *)((char *)mem + HDR_SIZE);
    tc->nbuckets = nbuckets;
    *ptc = tc;
    return APR_SUCCESS;
}

void logto_tokcache_prefault(const logto_tokcache_t *tc)
{
    const volatile char *base = (const volatile char *)tc->hdr;
    apr_size_t size = HDR_SIZE + (apr_size_t)tc->nbuckets * sizeof(bucket_t);
    apr_size_t off;

    for (off = 0; off < size; off += 4096) {
        (void)base[off];
    }
}

/* The digest is uniform already: its first word picks the bucket. */
static bucket_t *bucket_of(const logto_tokcache_t *tc,
                           const unsigned char *digest)
{
    apr_uint32_t h;

    memcpy(&h, digest, sizeof(h));
    return &tc->buckets[h % tc->nbuckets];
}

/* A consistent copy of slot s when it holds digest: 1, else 0. */
static int slot_read(logto_tokcache_entry_t *e, slot_t *s,
                     const unsigned char *digest)
{
    apr_uint32_t before = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);

    if (before == 0 || (before & 1) ||
        memcmp(s->digest, digest, LOGTO_TOKCACHE_DIGEST_LEN) != 0) {
        return 0;
    }
    memcpy(e, &s->e, sizeof(*e));
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return LOAD(s->seq) == before;
}

apr_status_t logto_tokcache_get(logto_tokcache_t *tc,
                                const unsigned char *digest, apr_int64_t now,
                                logto_tokcache_entry_t *e)
{
    bucket_t *b = bucket_of(tc, digest);
    int w;

    for (w = 0; w < LOGTO_TOKCACHE_WAYS; w++) {
        slot_t *s = &b->slots[w];

        if (slot_read(e, s, digest) && now < e->exp &&
            e->thumb[LOGTO_TOKCACHE_THUMB_LEN - 1] == '\0') {
            if (!LOAD(s->ref)) {
                STORE(s->ref, 1);
            }
            BUMP(tc->hdr->stats.hits);
            return APR_SUCCESS;
        }
    }
    BUMP(tc->hdr->stats.misses);
    return APR_NOTFOUND;
}

/* Whether slot s holds a live entry other than digest's (racy read: only
 * for choosing and counting). */
static int slot_live(slot_t *s, apr_int64_t now)
{
    apr_int64_t exp;

    memcpy(&exp, &s->e.exp, sizeof(exp));
    return LOAD(s->seq) != 0 && now < exp;
}

/* The slot a store of digest goes to: the one holding digest, else an
 * empty or expired one, else the first unmarked one from the hand on
 * (clearing marks as it passes, so two rounds always end). */
static int slot_choose(bucket_t *b, const unsigned char *digest,
                       apr_int64_t now)
{
    apr_uint32_t hand = LOAD(b->hand) % LOGTO_TOKCACHE_WAYS;
    int w, i;

    for (w = 0; w < LOGTO_TOKCACHE_WAYS; w++) {
        if (LOAD(b->slots[w].seq) != 0 &&
            !memcmp(b->slots[w].digest, digest, LOGTO_TOKCACHE_DIGEST_LEN)) {
            return w;
        }
    }
    for (w = 0; w < LOGTO_TOKCACHE_WAYS; w++) {
        if (!slot_live(&b->slots[w], now)) {
            return w;
        }
    }
    for (i = 0; i < 2 * LOGTO_TOKCACHE_WAYS; i++) {
        w = (int)((hand + (apr_uint32_t)i) % LOGTO_TOKCACHE_WAYS);
        if (!LOAD(b->slots[w].ref)) {
            break;
        }
        STORE(b->slots[w].ref, 0);
    }
    STORE(b->hand, (apr_uint32_t)(w + 1) % LOGTO_TOKCACHE_WAYS);
    return w;
}

void logto_tokcache_put(logto_tokcache_t *tc, const unsigned char *digest,
                        const logto_tokcache_entry_t *e, apr_int64_t now)
{
    bucket_t *b = bucket_of(tc, digest);
    slot_t *s = &b->slots[slot_choose(b, digest, now)];
    apr_uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
    int evicts;

    /* Claim the slot (odd) or leave it to the writer already in it. */
    if ((seq & 1) ||
        !__atomic_compare_exchange_n(&s->seq, &seq, seq + 1, 0,
                                     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        BUMP(tc->hdr->stats.contended);
        return;
    }
    evicts = seq != 0 && slot_live(s, now) &&
             memcmp(s->digest, digest, LOGTO_TOKCACHE_DIGEST_LEN) != 0;
    memcpy(s->digest, digest, LOGTO_TOKCACHE_DIGEST_LEN);
    memcpy(&s->e, e, sizeof(*e));
    s->e.thumb[LOGTO_TOKCACHE_THUMB_LEN - 1] = '\0';
    STORE(s->ref, 0);
    __atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
    BUMP(tc->hdr->stats.stores);
    if (evicts) {
        BUMP(tc->hdr->stats.evictions);
    }
}

/* Rounds a claim waits for a bucket another claim is in: claims take
 * nanoseconds, so this is a process preempted inside one. */
#define CLAIM_SPINS 10000

static int bucket_lock(bucket_t *b)
{
    int i;

    for (i = 0; i < CLAIM_SPINS; i++) {
        apr_uint32_t free_ = 0;
        if (__atomic_compare_exchange_n(&b->lock, &free_, 1, 0,
                                        __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            return 1;
        }
        if (i % 64 == 63) {
            apr_sleep(0); /* yield to whoever holds it */
        }
    }
    return 0;
}

/* Write e under digest into slot s, which no one else writes now. */
static void slot_fill(slot_t *s, const unsigned char *digest,
                      const logto_tokcache_entry_t *e)
{
    apr_uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);

    __atomic_store_n(&s->seq, seq | 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    memcpy(s->digest, digest, LOGTO_TOKCACHE_DIGEST_LEN);
    memcpy(&s->e, e, sizeof(*e));
    s->e.thumb[LOGTO_TOKCACHE_THUMB_LEN - 1] = '\0';
    STORE(s->ref, 0);
    __atomic_store_n(&s->seq, (seq | 1) + 1, __ATOMIC_RELEASE);
}

/* A claim's second bucket: the digest's second word picks it. */
static bucket_t *other_bucket_of(const logto_tokcache_t *tc,
                                 const unsigned char *digest)
{
    apr_uint32_t h;

    memcpy(&h, digest + sizeof(h), sizeof(h));
    return &tc->buckets[h % tc->nbuckets];
}

/* In bucket b: whether a live entry holds digest; *pfree its first slot
 * holding nothing live (-1: none), *pnfree how many such slots. */
static int claim_scan(bucket_t *b, const unsigned char *digest, apr_int64_t now,
                      int *pfree, int *pnfree)
{
    logto_tokcache_entry_t cur;
    int w;

    *pfree = -1;
    *pnfree = 0;
    for (w = 0; w < LOGTO_TOKCACHE_WAYS; w++) {
        slot_t *s = &b->slots[w];

        if (slot_read(&cur, s, digest) && now < cur.exp) {
            return 1;
        }
        if (!slot_live(s, now)) {
            *pfree = *pfree < 0 ? w : *pfree;
            ++*pnfree;
        }
    }
    return 0;
}

/* Two buckets per digest, the emptier taking a new claim: with one, the
 * fullest of a table's buckets filled while the table was still half
 * empty, and a claim that finds its buckets full is refused (503). Both
 * are locked for the claim, in address order, so two claims of one
 * digest never both find it absent. */
apr_status_t logto_tokcache_claim(logto_tokcache_t *tc,
                                  const unsigned char *digest,
                                  const logto_tokcache_entry_t *e,
                                  apr_int64_t now)
{
    bucket_t *b1 = bucket_of(tc, digest), *b2 = other_bucket_of(tc, digest);
    bucket_t *lo = b1 < b2 ? b1 : b2, *hi = b1 < b2 ? b2 : b1;
    apr_status_t rv = APR_ENOSPC;
    int f1, f2 = -1, n1, n2 = 0;

    if (!bucket_lock(lo)) {
        BUMP(tc->hdr->stats.contended);
        return APR_EAGAIN;
    }
    if (hi != lo && !bucket_lock(hi)) {
        __atomic_store_n(&lo->lock, 0, __ATOMIC_RELEASE);
        BUMP(tc->hdr->stats.contended);
        return APR_EAGAIN;
    }
    if (claim_scan(b1, digest, now, &f1, &n1) ||
        (b2 != b1 && claim_scan(b2, digest, now, &f2, &n2))) {
        rv = APR_EEXIST;
    }
    else if (n1 > 0 || n2 > 0) {
        if (n2 > n1) {
            slot_fill(&b2->slots[f2], digest, e);
        }
        else {
            slot_fill(&b1->slots[f1], digest, e);
        }
        BUMP(tc->hdr->stats.stores);
        rv = APR_SUCCESS;
    }
    if (hi != lo) {
        __atomic_store_n(&hi->lock, 0, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&lo->lock, 0, __ATOMIC_RELEASE);
    return rv;
}

/* Slot i of tc (bucket i / WAYS) when it holds an entry live at now:
 * its digest and entry, read consistently; 0 otherwise. */
static int live_slot(const logto_tokcache_t *tc, apr_uint32_t i,
                     apr_int64_t now, unsigned char *digest,
                     logto_tokcache_entry_t *e)
{
    slot_t *s =
        &tc->buckets[i / LOGTO_TOKCACHE_WAYS].slots[i % LOGTO_TOKCACHE_WAYS];

    /* the slot's digest, then a consistent read under it */
    memcpy(digest, s->digest, LOGTO_TOKCACHE_DIGEST_LEN);
    return slot_read(e, s, digest) && now < e->exp;
}

apr_uint32_t logto_tokcache_copy(logto_tokcache_t *dst, logto_tokcache_t *src,
                                 apr_int64_t now, int claims)
{
    unsigned char digest[LOGTO_TOKCACHE_DIGEST_LEN];
    logto_tokcache_entry_t e;
    apr_uint32_t i, n = 0;

    for (i = 0; i < src->nbuckets * LOGTO_TOKCACHE_WAYS; i++) {
        if (!live_slot(src, i, now, digest, &e)) {
            continue;
        }
        if (claims) {
            n += logto_tokcache_claim(dst, digest, &e, now) == APR_SUCCESS;
        }
        else {
            logto_tokcache_put(dst, digest, &e, now);
            n++;
        }
    }
    return n;
}

apr_size_t logto_tokcache_claims_write(const logto_tokcache_t *tc,
                                       apr_int64_t now, apr_uint32_t *pnext,
                                       unsigned char *buf, apr_size_t cap)
{
    unsigned char *at = buf;
    logto_tokcache_entry_t e;
    apr_uint32_t i, slots = tc->nbuckets * LOGTO_TOKCACHE_WAYS;
    int k;

    for (i = *pnext; i < slots; i++) {
        if ((apr_size_t)(at - buf) + LOGTO_TOKCACHE_CLAIM_LEN > cap) {
            break;
        }
        if (!live_slot(tc, i, now, at, &e)) {
            continue;
        }
        at += LOGTO_TOKCACHE_DIGEST_LEN;
        for (k = 7; k >= 0; k--) {
            *at++ = (unsigned char)((apr_uint64_t)e.exp >> (k * 8));
        }
    }
    *pnext = i;
    return (apr_size_t)(at - buf);
}

apr_status_t logto_tokcache_claims_read(logto_tokcache_t *tc,
                                        const unsigned char *buf,
                                        apr_size_t len, apr_int64_t now,
                                        apr_int64_t latest, apr_uint32_t *pn,
                                        apr_uint32_t *plost)
{
    logto_tokcache_entry_t e;
    apr_uint64_t exp;
    apr_size_t off;
    apr_status_t rv;
    int k;

    *pn = *plost = 0;
    if (len % LOGTO_TOKCACHE_CLAIM_LEN != 0) {
        return APR_EINVAL;
    }
    for (off = 0; off < len; off += LOGTO_TOKCACHE_CLAIM_LEN) {
        const unsigned char *r = buf + off;

        for (exp = 0, k = 0; k < 8; k++) {
            exp = exp << 8 | r[LOGTO_TOKCACHE_DIGEST_LEN + k];
        }
        /* a value past apr_int64_t is no time a claim was made for */
        if (exp > (apr_uint64_t)APR_INT64_MAX) {
            return APR_EINVAL;
        }
        memset(&e, 0, sizeof(e));
        e.exp = (apr_int64_t)exp < latest ? (apr_int64_t)exp : latest;
        if (now >= e.exp) {
            continue;
        }
        rv = logto_tokcache_claim(tc, r, &e, now);
        *pn += rv == APR_SUCCESS;
        *plost += rv == APR_ENOSPC || rv == APR_EAGAIN;
    }
    return APR_SUCCESS;
}

void logto_tokcache_stats(const logto_tokcache_t *tc,
                          logto_tokcache_stats_t *st, apr_uint32_t *pused)
{
    table_hdr_t *h = tc->hdr;
    apr_uint32_t b, used = 0;
    int w;

    st->entries = h->stats.entries;
    st->hits = LOAD(h->stats.hits);
    st->misses = LOAD(h->stats.misses);
    st->stores = LOAD(h->stats.stores);
    st->evictions = LOAD(h->stats.evictions);
    st->contended = LOAD(h->stats.contended);
    if (pused == NULL) {
        return;
    }
    for (b = 0; b < tc->nbuckets; b++) {
        for (w = 0; w < LOGTO_TOKCACHE_WAYS; w++) {
            used += LOAD(tc->buckets[b].slots[w].seq) != 0;
        }
    }
    *pused = used;
}

/* ------------------------------------------------------------ keys */

const char *logto_tokcache_config_id(apr_pool_t *p, const logto_policy_t *pol,
                                     const char *key_source, const char *extra)
{
    const char *iss =
        pol->issuers ? apr_array_pstrcat(p, pol->issuers, ' ') : "";
    const char *aud =
        pol->audiences ? apr_array_pstrcat(p, pol->audiences, ' ') : "";

    return apr_psprintf(
        p, "iss=%s\naud=%s\nalgs=%x\nskew=%" APR_INT64_T_FMT "\nkeys=%s\n%s",
        iss, aud, pol->algorithms, pol->clock_skew,
        key_source ? key_source : "", extra ? extra : "");
}

apr_status_t logto_tokcache_digest(unsigned char *digest, const char *config_id,
                                   const char *token, apr_size_t len)
{
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx;
    int ok;

    ctx = EVP_MD_CTX_new();
    ok = ctx && EVP_DigestInit_ex(ctx, logto_md_sha256(), NULL) &&
         EVP_DigestUpdate(ctx, config_id, strlen(config_id) + 1) &&
         EVP_DigestUpdate(ctx, token, len) &&
         EVP_DigestFinal_ex(ctx, digest, &mdlen) &&
         mdlen == LOGTO_TOKCACHE_DIGEST_LEN;
    EVP_MD_CTX_free(ctx);
    return ok ? APR_SUCCESS : APR_EGENERAL;
}

/* ------------------------------------------------------------ records */

static void put64(unsigned char *q, apr_uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--) {
        *q++ = (unsigned char)(v >> (8 * i));
    }
}

static apr_uint64_t get64(const unsigned char *q)
{
    apr_uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | q[i];
    }
    return v;
}

void logto_tokcache_record_encode(unsigned char *rec,
                                  const logto_tokcache_entry_t *e)
{
    memcpy(rec, "LTR1", 4);
    put64(rec + 4, (apr_uint64_t)e->exp);
    put64(rec + 12, (apr_uint64_t)e->nbf);
    rec[20] = (unsigned char)(e->issuer >> 24);
    rec[21] = (unsigned char)(e->issuer >> 16);
    rec[22] = (unsigned char)(e->issuer >> 8);
    rec[23] = (unsigned char)e->issuer;
    memcpy(rec + 24, e->thumb, LOGTO_TOKCACHE_THUMB_LEN);
    rec[24 + LOGTO_TOKCACHE_THUMB_LEN - 1] = '\0';
}

apr_status_t logto_tokcache_record_decode(logto_tokcache_entry_t *e,
                                          const unsigned char *rec,
                                          apr_size_t len)
{
    if (len != LOGTO_TOKCACHE_RECORD_LEN || memcmp(rec, "LTR1", 4) != 0 ||
        rec[24 + LOGTO_TOKCACHE_THUMB_LEN - 1] != '\0') {
        return APR_EINVAL;
    }
    e->exp = (apr_int64_t)get64(rec + 4);
    e->nbf = (apr_int64_t)get64(rec + 12);
    e->issuer = ((apr_uint32_t)rec[20] << 24) | ((apr_uint32_t)rec[21] << 16) |
                ((apr_uint32_t)rec[22] << 8) | rec[23];
    memcpy(e->thumb, rec + 24, LOGTO_TOKCACHE_THUMB_LEN);
    return APR_SUCCESS;
}
