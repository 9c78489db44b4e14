/*
 * test_tokcache.c - the verified-token table: lookups, expiry, eviction
 * within its size, records, and readers and writers on threads at once.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "logto_tokcache.h"
#include "unit.h"

#define NOW ((apr_int64_t)1800000000)

static logto_tokcache_t *table(apr_uint32_t n)
{
    apr_size_t size = logto_tokcache_memsize(n);
    void *mem = apr_palloc(pool, size);
    logto_tokcache_t *tc = NULL;

    ck_assert_int_eq(logto_tokcache_attach(&tc, pool, mem, size, 1),
                     APR_SUCCESS);
    return tc;
}

/* A digest for i, spread like SHA-256 output would be. */
static void digest_of(unsigned char *d, apr_uint32_t i)
{
    ck_assert_int_eq(
        logto_tokcache_digest(d, "test", (const char *)&i, sizeof(i)),
        APR_SUCCESS);
}

/* An entry whose every field says which i it belongs to, so a torn read
 * would show. */
static void entry_of(logto_tokcache_entry_t *e, apr_uint32_t i)
{
    memset(e, 0, sizeof(*e));
    e->exp = NOW + 1000 + i;
    e->nbf = i;
    e->issuer = i;
    apr_snprintf(e->thumb, sizeof(e->thumb), "thumb-%u-%040u", i, i);
}

static int entry_is(const logto_tokcache_entry_t *e, apr_uint32_t i)
{
    logto_tokcache_entry_t want;

    entry_of(&want, i);
    return e->exp == want.exp && e->nbf == want.nbf &&
           e->issuer == want.issuer && !strcmp(e->thumb, want.thumb);
}

START_TEST(stored_entry_reads_back)
{
    logto_tokcache_t *tc = table(64);
    unsigned char d[32];
    logto_tokcache_entry_t e, got;

    digest_of(d, 7);
    entry_of(&e, 7);
    ck_assert_int_eq(logto_tokcache_get(tc, d, NOW, &got), APR_NOTFOUND);
    logto_tokcache_put(tc, d, &e, NOW);
    ck_assert_int_eq(logto_tokcache_get(tc, d, NOW, &got), APR_SUCCESS);
    ck_assert(entry_is(&got, 7));
}
END_TEST

START_TEST(entry_dies_at_exp)
{
    logto_tokcache_t *tc = table(64);
    unsigned char d[32];
    logto_tokcache_entry_t e, got;

    digest_of(d, 1);
    entry_of(&e, 1);
    logto_tokcache_put(tc, d, &e, NOW);
    ck_assert_int_eq(logto_tokcache_get(tc, d, e.exp - 1, &got), APR_SUCCESS);
    ck_assert_int_eq(logto_tokcache_get(tc, d, e.exp, &got), APR_NOTFOUND);
}
END_TEST

START_TEST(other_digest_misses)
{
    logto_tokcache_t *tc = table(64);
    unsigned char d[32], d2[32];
    logto_tokcache_entry_t e, got;

    digest_of(d, 1);
    memcpy(d2, d, sizeof(d2));
    d2[31] ^= 1; /* same bucket, other token */
    entry_of(&e, 1);
    logto_tokcache_put(tc, d, &e, NOW);
    ck_assert_int_eq(logto_tokcache_get(tc, d2, NOW, &got), APR_NOTFOUND);
}
END_TEST

/* Ten times more tokens than slots: the table never grows, evictions are
 * counted, and the latest tokens are found. */
START_TEST(eviction_keeps_the_table_within_its_size)
{
    logto_tokcache_t *tc = table(256);
    logto_tokcache_stats_t st;
    logto_tokcache_entry_t e, got;
    unsigned char d[32];
    apr_uint32_t i, used, found = 0;

    for (i = 0; i < 2560; i++) {
        digest_of(d, i);
        entry_of(&e, i);
        logto_tokcache_put(tc, d, &e, NOW);
    }
    logto_tokcache_stats(tc, &st, &used);
    ck_assert_uint_eq(st.entries, 256);
    ck_assert_uint_le(used, 256);
    ck_assert_uint_eq(st.stores, 2560);
    ck_assert_uint_eq(st.evictions, 2560 - used);
    for (i = 0; i < 2560; i++) {
        digest_of(d, i);
        if (logto_tokcache_get(tc, d, NOW, &got) == APR_SUCCESS) {
            ck_assert(entry_is(&got, i));
            found++;
        }
    }
    ck_assert_uint_eq(found, used);
}
END_TEST

/* CLOCK: an entry hit since the hand last passed outlives one that was
 * never hit. */
START_TEST(hit_entries_survive_eviction)
{
    logto_tokcache_t *tc = table(8); /* one bucket */
    logto_tokcache_entry_t e, got;
    unsigned char d[32];
    apr_uint32_t i;

    for (i = 0; i < 8; i++) {
        digest_of(d, i);
        entry_of(&e, i);
        logto_tokcache_put(tc, d, &e, NOW);
    }
    digest_of(d, 3);
    ck_assert_int_eq(logto_tokcache_get(tc, d, NOW, &got), APR_SUCCESS);
    for (i = 100; i < 107; i++) {
        digest_of(d, i);
        entry_of(&e, i);
        logto_tokcache_put(tc, d, &e, NOW);
    }
    digest_of(d, 3);
    ck_assert_int_eq(logto_tokcache_get(tc, d, NOW, &got), APR_SUCCESS);
}
END_TEST

START_TEST(expired_entries_go_first)
{
    logto_tokcache_t *tc = table(8);
    logto_tokcache_stats_t st;
    logto_tokcache_entry_t e;
    unsigned char d[32];
    apr_uint32_t i;

    for (i = 0; i < 8; i++) {
        digest_of(d, i);
        entry_of(&e, i);
        e.exp = NOW + 10;
        logto_tokcache_put(tc, d, &e, NOW);
    }
    digest_of(d, 50);
    entry_of(&e, 50);
    logto_tokcache_put(tc, d, &e, NOW + 20);
    logto_tokcache_stats(tc, &st, NULL);
    ck_assert_uint_eq(st.evictions, 0);
}
END_TEST

START_TEST(attach_checks_the_layout)
{
    apr_size_t size = logto_tokcache_memsize(64);
    void *mem = apr_palloc(pool, size);
    logto_tokcache_t *tc;

    ck_assert_uint_eq(logto_tokcache_memsize(0), 0);
    ck_assert_int_eq(logto_tokcache_attach(&tc, pool, mem, size, 1),
                     APR_SUCCESS);
    ck_assert_int_eq(logto_tokcache_attach(&tc, pool, mem, size, 0),
                     APR_SUCCESS);
    ck_assert_int_eq(
        logto_tokcache_attach(&tc, pool, mem, logto_tokcache_memsize(128), 0),
        APR_EINVAL);
    memset(mem, 0, size);
    ck_assert_int_eq(logto_tokcache_attach(&tc, pool, mem, size, 0),
                     APR_EINVAL);
}
END_TEST

START_TEST(record_round_trip)
{
    unsigned char rec[LOGTO_TOKCACHE_RECORD_LEN];
    logto_tokcache_entry_t e, got;

    entry_of(&e, 42);
    logto_tokcache_record_encode(rec, &e);
    ck_assert_int_eq(logto_tokcache_record_decode(&got, rec, sizeof(rec)),
                     APR_SUCCESS);
    ck_assert(entry_is(&got, 42));
    ck_assert_int_eq(logto_tokcache_record_decode(&got, rec, sizeof(rec) - 1),
                     APR_EINVAL);
    rec[0] = 'X';
    ck_assert_int_eq(logto_tokcache_record_decode(&got, rec, sizeof(rec)),
                     APR_EINVAL);
}
END_TEST

START_TEST(digest_binds_configuration_and_token)
{
    unsigned char a[32], b[32], c[32];

    logto_tokcache_digest(a, "conf-a", "tok", 3);
    logto_tokcache_digest(b, "conf-b", "tok", 3);
    logto_tokcache_digest(c, "conf-a", "tok2", 4);
    ck_assert(memcmp(a, b, 32) != 0);
    ck_assert(memcmp(a, c, 32) != 0);
    /* the NUL between them: "ab"+"c" is not "a"+"bc" */
    logto_tokcache_digest(a, "ab", "c", 1);
    logto_tokcache_digest(b, "a", "bc", 2);
    ck_assert(memcmp(a, b, 32) != 0);
}
END_TEST

/* ------------------------------------------------------------ threads */

#define THREADS 4
#define ROUNDS  200000
#define KEYS    512

typedef struct worker_t {
    logto_tokcache_t *tc;
    unsigned char (*digests)[32];
    apr_uint32_t seed;
    apr_uint32_t hits;
    apr_uint32_t torn;
} worker_t;

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    worker_t *w = data;
    logto_tokcache_entry_t e, got;
    apr_uint32_t i, k, x = w->seed;

    for (i = 0; i < ROUNDS; i++) {
        x = x * 1103515245u + 12345u;
        k = (x >> 20) % KEYS;
        if (x & 0x10000) {
            entry_of(&e, k);
            logto_tokcache_put(w->tc, w->digests[k], &e, NOW);
        }
        else if (logto_tokcache_get(w->tc, w->digests[k], NOW, &got) ==
                 APR_SUCCESS) {
            w->hits++;
            w->torn += !entry_is(&got, k);
        }
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* Four threads store and read 512 tokens in a table of 64 slots: no
 * read ever returns a mix of two entries, and nothing blocks. */
START_TEST(readers_and_writers_at_once)
{
    logto_tokcache_t *tc = table(64);
    unsigned char(*digests)[32] = apr_palloc(pool, KEYS * 32);
    apr_thread_t *th[THREADS];
    worker_t w[THREADS];
    logto_tokcache_stats_t st;
    apr_status_t trv;
    apr_uint32_t i, hits = 0, used;

    for (i = 0; i < KEYS; i++) {
        digest_of(digests[i], i);
    }
    for (i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].tc = tc;
        w[i].digests = digests;
        w[i].seed = 17 * i + 1;
        ck_assert_int_eq(apr_thread_create(&th[i], NULL, worker, &w[i], pool),
                         APR_SUCCESS);
    }
    for (i = 0; i < THREADS; i++) {
        apr_thread_join(&trv, th[i]);
        ck_assert_uint_eq(w[i].torn, 0);
        hits += w[i].hits;
    }
    logto_tokcache_stats(tc, &st, &used);
    ck_assert_uint_gt(hits, 0);
    ck_assert_uint_eq(st.hits, hits);
    ck_assert_uint_le(used, 64);
}
END_TEST

/* ------------------------------------------------------------ claims */

static apr_status_t claim(logto_tokcache_t *tc, apr_uint32_t i, apr_int64_t exp,
                          apr_int64_t now)
{
    logto_tokcache_entry_t e;
    unsigned char d[32];

    digest_of(d, i);
    memset(&e, 0, sizeof(e));
    e.exp = exp;
    return logto_tokcache_claim(tc, d, &e, now);
}

START_TEST(a_claim_is_first_once_until_it_expires)
{
    logto_tokcache_t *tc = table(64);

    ck_assert_int_eq(claim(tc, 1, NOW + 300, NOW), APR_SUCCESS);
    ck_assert_int_eq(claim(tc, 1, NOW + 300, NOW), APR_EEXIST);
    ck_assert_int_eq(claim(tc, 1, NOW + 300, NOW + 299), APR_EEXIST);
    ck_assert_int_eq(claim(tc, 2, NOW + 300, NOW), APR_SUCCESS);
    /* once expired, the digest is free again */
    ck_assert_int_eq(claim(tc, 1, NOW + 900, NOW + 300), APR_SUCCESS);
    ck_assert_int_eq(claim(tc, 1, NOW + 900, NOW + 301), APR_EEXIST);
}
END_TEST

/* A table of claims resized (a graceful restart with other ENTRIES): the
 * live claims are carried into the new one, still used there; the
 * expired ones are not. */
START_TEST(claims_carried_over_to_a_table_of_another_size)
{
    logto_tokcache_t *small = table(64), *big = table(256);
    apr_uint32_t i;

    for (i = 0; i < 40; i++) {
        ck_assert_int_eq(claim(small, i, i < 30 ? NOW + 300 : NOW + 5, NOW),
                         APR_SUCCESS);
    }
    ck_assert_uint_eq(logto_tokcache_copy(big, small, NOW + 10, 1), 30);
    for (i = 0; i < 30; i++) {
        ck_assert_int_eq(claim(big, i, NOW + 300, NOW + 10), APR_EEXIST);
    }
    for (i = 30; i < 40; i++) {
        ck_assert_int_eq(claim(big, i, NOW + 300, NOW + 10), APR_SUCCESS);
    }
    /* and back into a smaller one, as far as it holds them */
    small = table(64);
    ck_assert_uint_ge(logto_tokcache_copy(small, big, NOW + 10, 1), 30);
    ck_assert_int_eq(claim(small, 3, NOW + 300, NOW + 10), APR_EEXIST);
}
END_TEST

/* Claims written out in pieces (a full stop) and read into a new table
 * (the next start): the live ones are used there, the expired ones are
 * neither written nor taken back. */
/* A new table of entries slots with the claims of buf read into it at
 * now, none past latest: *pn claimed, *plost without room. */
static logto_tokcache_t *read_back(apr_uint32_t entries,
                                   const unsigned char *buf, apr_size_t len,
                                   apr_int64_t now, apr_int64_t latest,
                                   apr_uint32_t *pn, apr_uint32_t *plost)
{
    logto_tokcache_t *tc = table(entries);

    ck_assert_int_eq(
        logto_tokcache_claims_read(tc, buf, len, now, latest, pn, plost),
        APR_SUCCESS);
    return tc;
}

START_TEST(claims_written_and_read_back)
{
    logto_tokcache_t *old = table(256), *fresh;
    logto_tokcache_stats_t st;
    /* room for 7 records a piece, and a part of one */
    unsigned char buf[7 * LOGTO_TOKCACHE_CLAIM_LEN + 5];
    unsigned char *all = apr_palloc(pool, 256 * LOGTO_TOKCACHE_CLAIM_LEN);
    apr_size_t len, total = 0;
    apr_uint32_t i, next = 0, n, lost, pieces = 0;

    for (i = 0; i < 40; i++) {
        ck_assert_int_eq(claim(old, i, i < 30 ? NOW + 300 : NOW + 5, NOW),
                         APR_SUCCESS);
    }
    logto_tokcache_stats(old, &st, NULL);
    while (next < st.entries) {
        len =
            logto_tokcache_claims_write(old, NOW + 10, &next, buf, sizeof(buf));
        ck_assert_uint_le(len, 7 * LOGTO_TOKCACHE_CLAIM_LEN);
        ck_assert_uint_eq(len % LOGTO_TOKCACHE_CLAIM_LEN, 0);
        memcpy(all + total, buf, len);
        total += len;
        ck_assert_uint_lt(++pieces, 100);
    }
    ck_assert_uint_eq(total, 30 * LOGTO_TOKCACHE_CLAIM_LEN);
    ck_assert_uint_ge(pieces, 5);

    fresh = read_back(64, all, total, NOW + 10, NOW + 1000, &n, &lost);
    ck_assert_uint_eq(n, 30);
    ck_assert_uint_eq(lost, 0);
    for (i = 0; i < 30; i++) {
        ck_assert_int_eq(claim(fresh, i, NOW + 300, NOW + 10), APR_EEXIST);
    }
    for (i = 30; i < 40; i++) {
        ck_assert_int_eq(claim(fresh, i, NOW + 300, NOW + 10), APR_SUCCESS);
    }
    /* read later, past their expiry, they are taken back as nothing */
    fresh = read_back(64, all, total, NOW + 300, NOW + 1000, &n, &lost);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(claim(fresh, 3, NOW + 900, NOW + 300), APR_SUCCESS);
    /* none kept past latest (a clock set back): free again after it */
    fresh = read_back(64, all, total, NOW + 10, NOW + 20, &n, &lost);
    ck_assert_uint_eq(n, 30);
    ck_assert_int_eq(claim(fresh, 3, NOW + 900, NOW + 19), APR_EEXIST);
    ck_assert_int_eq(claim(fresh, 3, NOW + 900, NOW + 20), APR_SUCCESS);
    /* a table too small: what found no room is counted */
    read_back(8, all, total, NOW + 10, NOW + 1000, &n, &lost);
    ck_assert_uint_eq(n + lost, 30);
    ck_assert_uint_gt(lost, 0);
}
END_TEST

/* What is not a list of claims: a part of a record, or an expiry past
 * any time. */
START_TEST(claims_read_refuses_what_is_no_list)
{
    logto_tokcache_t *tc = table(64);
    unsigned char rec[2 * LOGTO_TOKCACHE_CLAIM_LEN];
    apr_uint32_t n = 7, lost = 7;
    int k;

    digest_of(rec, 1);
    digest_of(rec + LOGTO_TOKCACHE_CLAIM_LEN, 2);
    for (k = 0; k < 8; k++) {
        rec[LOGTO_TOKCACHE_DIGEST_LEN + k] =
            (unsigned char)((apr_uint64_t)(NOW + 300) >> (56 - 8 * k));
        rec[LOGTO_TOKCACHE_CLAIM_LEN + LOGTO_TOKCACHE_DIGEST_LEN + k] = 0xff;
    }
    ck_assert_int_eq(logto_tokcache_claims_read(tc, rec, sizeof(rec) - 1, NOW,
                                                NOW + 1000, &n, &lost),
                     APR_EINVAL);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(logto_tokcache_claims_read(tc, rec, sizeof(rec), NOW,
                                                NOW + 1000, &n, &lost),
                     APR_EINVAL);
    /* the record before the bad one was taken */
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(claim(tc, 1, NOW + 300, NOW), APR_EEXIST);
    ck_assert_int_eq(
        logto_tokcache_claims_read(tc, rec, 0, NOW, NOW + 1000, &n, &lost),
        APR_SUCCESS);
    ck_assert_uint_eq(n, 0);
}
END_TEST

/* A full table refuses new claims rather than forget a live one: every
 * claim made stays a replay however many others come after. */
START_TEST(a_full_table_forgets_no_live_claim)
{
    logto_tokcache_t *tc = table(64);
    apr_uint32_t i, taken = 0, full = 0;

    for (i = 0; i < 1000; i++) {
        apr_status_t rv = claim(tc, i, NOW + 300, NOW);
        ck_assert(rv == APR_SUCCESS || rv == APR_ENOSPC);
        taken += rv == APR_SUCCESS;
        full += rv == APR_ENOSPC;
    }
    ck_assert_uint_le(taken, 64);
    ck_assert_uint_eq(taken + full, 1000);
    for (i = 0; i < 1000; i++) {
        apr_status_t rv = claim(tc, i, NOW + 300, NOW + 10);
        ck_assert(rv == APR_EEXIST || rv == APR_ENOSPC);
    }
    /* and the claims made are all there: as many replays as takes */
    for (i = 0, full = 0; i < 1000; i++) {
        full += claim(tc, i, NOW + 300, NOW + 20) == APR_EEXIST;
    }
    ck_assert_uint_eq(full, taken);
    /* once they expire, their slots take new claims */
    ck_assert_int_eq(claim(tc, 5000, NOW + 900, NOW + 300), APR_SUCCESS);
}
END_TEST

/* Claims fill the table evenly (two buckets each, the emptier taking
 * it): the first refusal comes only once three quarters are in use. With
 * one bucket per digest it came at about a fifth to a quarter (DPoP
 * proofs got 503s from some 50 a second on the default table). */
START_TEST(claims_fill_the_table_before_one_is_refused)
{
    logto_tokcache_t *tc = table(8000);
    logto_tokcache_stats_t st;
    apr_uint32_t i, used;

    for (i = 0; claim(tc, i, NOW + 300, NOW) == APR_SUCCESS; i++) {
        ck_assert_uint_lt(i, 100000);
    }
    logto_tokcache_stats(tc, &st, &used);
    ck_assert_uint_eq(used, i);
    ck_assert_uint_ge(used, st.entries * 70 / 100);
}
END_TEST

#define CLAIM_KEYS 2000

/* First uses of each digest, across the threads. */
static apr_uint32_t first_uses[CLAIM_KEYS];

typedef struct claimer_t {
    logto_tokcache_t *tc;
    apr_uint32_t firsts; /* claims that were first uses */
} claimer_t;

static void *APR_THREAD_FUNC claimer(apr_thread_t *t, void *data)
{
    claimer_t *c = data;
    apr_uint32_t i;

    for (i = 0; i < CLAIM_KEYS; i++) {
        if (claim(c->tc, i, NOW + 300, NOW) == APR_SUCCESS) {
            c->firsts++;
            __atomic_fetch_add(&first_uses[i], 1, __ATOMIC_RELAXED);
        }
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* Four threads claim the same digests at once: each is a first use for
 * exactly one of them. */
START_TEST(racing_claims_have_one_first_use)
{
    logto_tokcache_t *tc = table(4 * CLAIM_KEYS);
    apr_thread_t *th[THREADS];
    claimer_t c[THREADS];
    apr_status_t trv;
    apr_uint32_t i, firsts = 0;

    for (i = 0; i < THREADS; i++) {
        c[i].tc = tc;
        c[i].firsts = 0;
        ck_assert_int_eq(apr_thread_create(&th[i], NULL, claimer, &c[i], pool),
                         APR_SUCCESS);
    }
    for (i = 0; i < THREADS; i++) {
        apr_thread_join(&trv, th[i]);
        firsts += c[i].firsts;
    }
    /* never two first uses of one digest; a full pair of buckets can
     * leave a digest with none */
    for (i = 0; i < CLAIM_KEYS; i++) {
        ck_assert_msg(first_uses[i] <= 1, "digest %u: %u first uses", i,
                      first_uses[i]);
    }
    ck_assert_uint_le(firsts, CLAIM_KEYS);
    ck_assert_uint_gt(firsts, CLAIM_KEYS * 9 / 10);
    for (i = 0; i < CLAIM_KEYS; i++) {
        apr_status_t rv = claim(tc, i, NOW + 300, NOW);
        ck_assert(rv == APR_EEXIST || rv == APR_ENOSPC);
    }
}
END_TEST

static Suite *tokcache_suite(void)
{
    Suite *s = suite_create("tokcache");
    TCase *tc = unit_tcase("table");
    TCase *tt = unit_tcase("threads");

    tcase_add_test(tc, stored_entry_reads_back);
    tcase_add_test(tc, entry_dies_at_exp);
    tcase_add_test(tc, other_digest_misses);
    tcase_add_test(tc, eviction_keeps_the_table_within_its_size);
    tcase_add_test(tc, hit_entries_survive_eviction);
    tcase_add_test(tc, expired_entries_go_first);
    tcase_add_test(tc, attach_checks_the_layout);
    tcase_add_test(tc, record_round_trip);
    tcase_add_test(tc, digest_binds_configuration_and_token);
    tcase_add_test(tc, a_claim_is_first_once_until_it_expires);
    tcase_add_test(tc, a_full_table_forgets_no_live_claim);
    tcase_add_test(tc, claims_fill_the_table_before_one_is_refused);
    suite_add_tcase(s, tc);
    tcase_set_timeout(tt, 120);
    tcase_add_test(tt, readers_and_writers_at_once);
    tcase_add_test(tt, racing_claims_have_one_first_use);
    tcase_add_test(tt, claims_carried_over_to_a_table_of_another_size);
    tcase_add_test(tt, claims_written_and_read_back);
    tcase_add_test(tt, claims_read_refuses_what_is_no_list);
    suite_add_tcase(s, tt);
    return s;
}

int main(void)
{
    return unit_main(tokcache_suite());
}
