/*
 * test_memo.c - the memo of parsed tokens: what it gives back, what it
 * lets go, and threads sharing it (the sanitizer and valgrind runs of
 * this program check the references).
 */
#include <stdio.h>
#include <string.h>

#include <apr_thread_proc.h>

#include "logto_memo.h"
#include "logto_tokcache.h"
#include "unit.h"

/* A digest whose first four bytes (the set, mod the sets) are slot, the
 * rest tag. */
static void digest_of(unsigned char *d, apr_uint32_t slot, unsigned char tag)
{
    memset(d, tag, LOGTO_TOKCACHE_DIGEST_LEN);
    memcpy(d, &slot, sizeof(slot));
}

static json_t *payload(const char *sub)
{
    return json_pack("{s:s, s:i}", "sub", sub, "exp", 2000000000);
}

/* One header for every payload: what a test looks at is the payload. */
static json_t *header;

static void make_header(void)
{
    header = json_pack("{s:s, s:s}", "alg", "ES384", "kid", "k1");
}

static void drop_header(void)
{
    json_decref(header);
    header = NULL;
}

static void put(logto_memo_t *m, const unsigned char *d, json_t *payload)
{
    logto_memo_put(m, d, header, payload);
}

/* The payload remembered under d (a new reference), or NULL; the header
 * beside it must be the one put. */
static json_t *get(logto_memo_t *m, const unsigned char *d)
{
    json_t *h, *p;
    int found = logto_memo_get(m, d, &h, &p);

    ck_assert_int_eq(found, p != NULL);
    ck_assert_ptr_eq(h, found ? header : NULL);
    json_decref(h);
    return p;
}

START_TEST(gives_back_what_was_put)
{
    logto_memo_t *m;
    unsigned char d[LOGTO_TOKCACHE_DIGEST_LEN];
    json_t *p = payload("user-1"), *got;

    ck_assert_int_eq(logto_memo_create(&m, pool, 16), APR_SUCCESS);
    digest_of(d, 3, 0xaa);
    ck_assert_ptr_null(get(m, d));
    put(m, d, p);
    got = get(m, d);
    ck_assert_ptr_eq(got, p);
    /* ours, the memo's, and the one just handed out */
    ck_assert_int_eq((int)p->refcount, 3);
    json_decref(got);
    json_decref(p);
}
END_TEST

/* Four digests share a set; a fifth makes the oldest give way, and a
 * digest put again keeps its place. */
START_TEST(a_full_set_lets_the_oldest_go)
{
    logto_memo_t *m;
    unsigned char d[5][LOGTO_TOKCACHE_DIGEST_LEN];
    json_t *p[5], *again = payload("again"), *got;
    int i;

    ck_assert_int_eq(logto_memo_create(&m, pool, 16), APR_SUCCESS);
    for (i = 0; i < 5; i++) {
        digest_of(d[i], 1 + 4 * (apr_uint32_t)i, (unsigned char)(i + 1));
        p[i] = payload("x");
    }
    for (i = 0; i < 4; i++) {
        put(m, d[i], p[i]);
    }
    for (i = 0; i < 4; i++) {
        got = get(m, d[i]);
        ck_assert_ptr_eq(got, p[i]);
        json_decref(got);
    }
    ck_assert_ptr_null(get(m, d[4]));
    put(m, d[4], p[4]);
    ck_assert_ptr_null(get(m, d[0]));
    ck_assert_int_eq((int)p[0]->refcount, 1); /* the memo let it go */
    put(m, d[2], again);
    for (i = 1; i < 5; i++) {
        got = get(m, d[i]);
        ck_assert_ptr_eq(got, i == 2 ? again : p[i]);
        json_decref(got);
    }
    ck_assert_int_eq((int)p[2]->refcount, 1);
    for (i = 0; i < 5; i++) {
        json_decref(p[i]);
    }
    json_decref(again);
}
END_TEST

/* Only objects are remembered, header and payload; a memo needs a slot. */
START_TEST(refuses_what_is_not_a_payload)
{
    logto_memo_t *m;
    unsigned char d[LOGTO_TOKCACHE_DIGEST_LEN];
    json_t *arr = json_array(), *p = payload("user-1");

    ck_assert_int_eq(logto_memo_create(&m, pool, 0), APR_EINVAL);
    ck_assert_int_eq(logto_memo_create(&m, pool, 1), APR_SUCCESS);
    digest_of(d, 0, 0x10);
    put(m, d, arr);
    put(m, d, NULL);
    ck_assert_ptr_null(get(m, d));
    ck_assert_int_eq((int)arr->refcount, 1);
    /* and the header too must be an object */
    logto_memo_put(m, d, arr, p);
    logto_memo_put(m, d, NULL, p);
    ck_assert_ptr_null(get(m, d));
    ck_assert_int_eq((int)arr->refcount, 1);
    ck_assert_int_eq((int)p->refcount, 1);
    json_decref(arr);
    json_decref(p);
}
END_TEST

/* The pool's end releases every payload the memo still holds. */
START_TEST(lets_go_with_its_pool)
{
    apr_pool_t *sub;
    logto_memo_t *m;
    unsigned char d[LOGTO_TOKCACHE_DIGEST_LEN];
    json_t *p = payload("user-1");

    apr_pool_create(&sub, pool);
    ck_assert_int_eq(logto_memo_create(&m, sub, 8), APR_SUCCESS);
    digest_of(d, 1, 0x20);
    put(m, d, p);
    ck_assert_int_eq((int)p->refcount, 2);
    ck_assert_int_eq((int)header->refcount, 2);
    apr_pool_destroy(sub);
    ck_assert_int_eq((int)p->refcount, 1);
    ck_assert_int_eq((int)header->refcount, 1);
    json_decref(p);
}
END_TEST

/* Headers are found by their base64url bytes, all of them, and only
 * objects of a bounded part are kept. */
START_TEST(headers_by_their_bytes)
{
    logto_memo_t *m;
    char b64[LOGTO_MEMO_HEADER_MAX + 1];
    json_t *got, *arr = json_array();

    memset(b64, 'e', sizeof(b64));
    ck_assert_int_eq(logto_memo_create(&m, pool, 4), APR_SUCCESS);
    ck_assert_ptr_null(logto_memo_header_get(m, "eyJh", 4));
    logto_memo_header_put(m, "eyJh", 4, header);
    got = logto_memo_header_get(m, "eyJh", 4);
    ck_assert_ptr_eq(got, header);
    json_decref(got);
    ck_assert_ptr_null(logto_memo_header_get(m, "eyJi", 4));
    ck_assert_ptr_null(logto_memo_header_get(m, "eyJhb", 5));
    ck_assert_ptr_null(logto_memo_header_get(m, "eyJ", 3));
    /* the longest part kept, one more is not */
    logto_memo_header_put(m, b64, LOGTO_MEMO_HEADER_MAX, header);
    got = logto_memo_header_get(m, b64, LOGTO_MEMO_HEADER_MAX);
    ck_assert_ptr_eq(got, header);
    json_decref(got);
    logto_memo_header_put(m, b64, sizeof(b64), header);
    ck_assert_ptr_null(logto_memo_header_get(m, b64, sizeof(b64)));
    logto_memo_header_put(m, "eyJj", 4, arr);
    logto_memo_header_put(m, "eyJk", 4, NULL);
    ck_assert_ptr_null(logto_memo_header_get(m, "eyJj", 4));
    ck_assert_ptr_null(logto_memo_header_get(m, "eyJk", 4));
    ck_assert_int_eq((int)arr->refcount, 1);
    json_decref(arr);
}
END_TEST

#define THREADS 4
#define ROUNDS  20000

/* THREADS threads running fn over data, all joined. */
static void run_threads(apr_thread_start_t fn, void *data)
{
    apr_thread_t *th[THREADS];
    apr_status_t rv;
    int i;

    for (i = 0; i < THREADS; i++) {
        ck_assert_int_eq(apr_thread_create(&th[i], NULL, fn, data, pool),
                         APR_SUCCESS);
    }
    for (i = 0; i < THREADS; i++) {
        apr_thread_join(&rv, th[i]);
    }
}

typedef struct {
    logto_memo_t *m;
    json_t *docs[8];
    unsigned long hits, wrong;
} shared_t;

/* Puts and gets over a few slots; every payload handed out must be the
 * one put under its digest, and is read, then released. */
static void *APR_THREAD_FUNC hammer(apr_thread_t *t, void *data)
{
    shared_t *sh = data;
    unsigned char d[LOGTO_TOKCACHE_DIGEST_LEN];
    unsigned long hits = 0, wrong = 0;
    int i;

    for (i = 0; i < ROUNDS; i++) {
        /* unsigned: a thread's address may not fit an int */
        unsigned k = ((unsigned)i * 7u + (unsigned)(apr_uintptr_t)t) % 8u;
        json_t *got;

        digest_of(d, (apr_uint32_t)k % 4, (unsigned char)k);
        if (i % 3 == 0) {
            put(sh->m, d, sh->docs[k]);
        }
        else if ((got = get(sh->m, d)) != NULL) {
            hits++;
            wrong +=
                got != sh->docs[k] ||
                json_integer_value(json_object_get(got, "n")) != (json_int_t)k;
            json_decref(got);
        }
    }
    __atomic_add_fetch(&sh->hits, hits, __ATOMIC_RELAXED);
    __atomic_add_fetch(&sh->wrong, wrong, __ATOMIC_RELAXED);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

START_TEST(threads_share_it)
{
    shared_t sh;
    int i;

    memset(&sh, 0, sizeof(sh));
    ck_assert_int_eq(logto_memo_create(&sh.m, pool, 4), APR_SUCCESS);
    for (i = 0; i < 8; i++) {
        sh.docs[i] = json_pack("{s:i}", "n", i);
    }
    run_threads(hammer, &sh);
    ck_assert_uint_eq(sh.wrong, 0);
    ck_assert_uint_gt(sh.hits, 0);
    for (i = 0; i < 8; i++) {
        /* ours, plus at most one for a slot still holding it */
        ck_assert_int_le((int)sh.docs[i]->refcount, 2);
        json_decref(sh.docs[i]);
    }
}
END_TEST

#define HEADER_KINDS 64

typedef struct {
    logto_memo_t *m;
    json_t *docs[HEADER_KINDS];
    char names[HEADER_KINDS][16];
    unsigned long hits, wrong;
} headers_t;

/* Puts and gets of many headers over the 16 header slots, so that
 * headers share slots: every header handed out must be the one put under
 * its bytes, and is read, then released. */
static void *APR_THREAD_FUNC hammer_headers(apr_thread_t *t, void *data)
{
    headers_t *sh = data;
    unsigned long hits = 0, wrong = 0;
    int i;

    for (i = 0; i < ROUNDS; i++) {
        unsigned k =
            ((unsigned)i * 13u + (unsigned)(apr_uintptr_t)t) % HEADER_KINDS;
        const char *b64 = sh->names[k];
        json_t *got;

        if (i % 3 == 0) {
            logto_memo_header_put(sh->m, b64, strlen(b64), sh->docs[k]);
        }
        else if ((got = logto_memo_header_get(sh->m, b64, strlen(b64))) !=
                 NULL) {
            hits++;
            wrong +=
                got != sh->docs[k] ||
                json_integer_value(json_object_get(got, "n")) != (json_int_t)k;
            json_decref(got);
        }
    }
    __atomic_add_fetch(&sh->hits, hits, __ATOMIC_RELAXED);
    __atomic_add_fetch(&sh->wrong, wrong, __ATOMIC_RELAXED);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

START_TEST(threads_share_headers)
{
    headers_t *sh = apr_pcalloc(pool, sizeof(*sh));
    int i;

    ck_assert_int_eq(logto_memo_create(&sh->m, pool, 4), APR_SUCCESS);
    for (i = 0; i < HEADER_KINDS; i++) {
        sh->docs[i] = json_pack("{s:i}", "n", i);
        snprintf(sh->names[i], sizeof(sh->names[i]), "eyJ%d", i);
    }
    run_threads(hammer_headers, sh);
    ck_assert_uint_eq(sh->wrong, 0);
    ck_assert_uint_gt(sh->hits, 0);
    for (i = 0; i < HEADER_KINDS; i++) {
        ck_assert_int_le((int)sh->docs[i]->refcount, 2);
        json_decref(sh->docs[i]);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("memo");
    TCase *tc = unit_tcase("memo");

    tcase_add_checked_fixture(tc, make_header, drop_header);
    tcase_add_test(tc, gives_back_what_was_put);
    tcase_add_test(tc, a_full_set_lets_the_oldest_go);
    tcase_add_test(tc, refuses_what_is_not_a_payload);
    tcase_add_test(tc, lets_go_with_its_pool);
    tcase_add_test(tc, headers_by_their_bytes);
    tcase_add_test(tc, threads_share_it);
    tcase_add_test(tc, threads_share_headers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(suite());
}
