/*
 * test_cache.c - the in-memory logto_cache_t.
 */
#include <string.h>

#include <apr_thread_proc.h>

#include "logto_cache.h"
#include "unit.h"

static logto_cache_t *make(void)
{
    logto_cache_t *c = NULL;

    ck_assert_int_eq(logto_cache_mem_create(&c, pool), APR_SUCCESS);
    return c;
}

static apr_time_t later(void)
{
    return apr_time_now() + apr_time_from_sec(60);
}

START_TEST(a_stored_value_reads_back)
{
    logto_cache_t *c = make();
    unsigned char *val = NULL;
    apr_size_t len = 0;

    ck_assert_int_eq(c->set(c->baton, "jwks:a", (const unsigned char *)"xyz", 3,
                            later(), pool),
                     APR_SUCCESS);
    ck_assert_int_eq(c->get(c->baton, "jwks:a", &val, &len, pool), APR_SUCCESS);
    ck_assert_uint_eq(len, 3);
    ck_assert_int_eq(memcmp(val, "xyz", 3), 0);
}
END_TEST

START_TEST(a_missing_key_is_not_found)
{
    logto_cache_t *c = make();
    unsigned char *val;
    apr_size_t len;

    ck_assert_int_eq(c->get(c->baton, "jwks:none", &val, &len, pool),
                     APR_NOTFOUND);
}
END_TEST

START_TEST(a_new_value_replaces_the_old)
{
    logto_cache_t *c = make();
    unsigned char *val;
    apr_size_t len;

    c->set(c->baton, "k", (const unsigned char *)"first", 5, later(), pool);
    c->set(c->baton, "k", (const unsigned char *)"2nd", 3, later(), pool);
    ck_assert_int_eq(c->get(c->baton, "k", &val, &len, pool), APR_SUCCESS);
    ck_assert_uint_eq(len, 3);
    ck_assert_int_eq(memcmp(val, "2nd", 3), 0);
}
END_TEST

START_TEST(an_expired_value_is_not_found)
{
    logto_cache_t *c = make();
    unsigned char *val;
    apr_size_t len;

    c->set(c->baton, "k", (const unsigned char *)"v", 1, apr_time_now() - 1,
           pool);
    ck_assert_int_eq(c->get(c->baton, "k", &val, &len, pool), APR_NOTFOUND);
}
END_TEST

START_TEST(an_empty_value_is_a_value)
{
    logto_cache_t *c = make();
    unsigned char *val = NULL;
    apr_size_t len = 99;

    c->set(c->baton, "k", (const unsigned char *)"", 0, later(), pool);
    ck_assert_int_eq(c->get(c->baton, "k", &val, &len, pool), APR_SUCCESS);
    ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(keys_are_distinct)
{
    logto_cache_t *c = make();
    unsigned char *val;
    apr_size_t len;

    c->set(c->baton, "jwks:a", (const unsigned char *)"a", 1, later(), pool);
    c->set(c->baton, "jwks:b", (const unsigned char *)"b", 1, later(), pool);
    ck_assert_int_eq(c->get(c->baton, "jwks:a", &val, &len, pool), APR_SUCCESS);
    ck_assert_int_eq(val[0], 'a');
    ck_assert_int_eq(c->get(c->baton, "jwks:b", &val, &len, pool), APR_SUCCESS);
    ck_assert_int_eq(val[0], 'b');
}
END_TEST

START_TEST(the_lock_is_counted_and_can_be_taken_again)
{
    logto_cache_t *c = make();

    ck_assert_int_eq(c->lock(c->baton, "k", 5), APR_SUCCESS);
    ck_assert_int_eq(c->unlock(c->baton, "k"), APR_SUCCESS);
    ck_assert_int_eq(c->lock(c->baton, "k", 5), APR_SUCCESS);
    ck_assert_int_eq(c->unlock(c->baton, "k"), APR_SUCCESS);
    ck_assert_uint_eq(logto_cache_mem_lock_count(c), 2);
}
END_TEST

/* Each key has a fetch lock of its own: one held leaves another's free,
 * and its own busy until let go. */
START_TEST(fetch_locks_are_per_key)
{
    logto_cache_t *c = make();

    ck_assert_int_eq(c->lock(c->baton, "jwks:a", 5), APR_SUCCESS);
    ck_assert_int_eq(c->trylock(c->baton, "jwks:a", 5), APR_EBUSY);
    ck_assert_int_eq(c->trylock(c->baton, "jwks:b", 5), APR_SUCCESS);
    ck_assert_int_eq(c->unlock(c->baton, "jwks:b"), APR_SUCCESS);
    ck_assert_int_eq(c->unlock(c->baton, "jwks:a"), APR_SUCCESS);
    ck_assert_int_eq(c->trylock(c->baton, "jwks:a", 5), APR_SUCCESS);
    ck_assert_int_eq(c->unlock(c->baton, "jwks:a"), APR_SUCCESS);
    ck_assert_int_ne(c->unlock(c->baton, "jwks:a"), APR_SUCCESS);
}
END_TEST

/* Threads writing and reading the same keys: no crash, no torn value. */
static void *APR_THREAD_FUNC hammer(apr_thread_t *t, void *baton)
{
    logto_cache_t *c = baton;
    apr_pool_t *p;
    unsigned char *val;
    apr_size_t len;
    int i, bad = 0;

    apr_pool_create(&p, NULL);
    for (i = 0; i < 2000; i++) {
        c->set(c->baton, i % 2 ? "x" : "y", (const unsigned char *)"abcdefgh",
               8, later(), p);
        if (c->get(c->baton, "x", &val, &len, p) == APR_SUCCESS &&
            (len != 8 || memcmp(val, "abcdefgh", 8) != 0)) {
            bad++;
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    apr_thread_exit(t, bad ? APR_EGENERAL : APR_SUCCESS);
    return NULL;
}

START_TEST(threads_share_it_safely)
{
    logto_cache_t *c = make();
    apr_thread_t *t[4];
    apr_status_t rv;
    int i;

    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(apr_thread_create(&t[i], NULL, hammer, c, pool),
                         APR_SUCCESS);
    }
    for (i = 0; i < 4; i++) {
        apr_thread_join(&rv, t[i]);
        ck_assert_int_eq(rv, APR_SUCCESS);
    }
}
END_TEST

static Suite *cache_suite(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = unit_tcase("mem");

    tcase_add_test(tc, a_stored_value_reads_back);
    tcase_add_test(tc, a_missing_key_is_not_found);
    tcase_add_test(tc, a_new_value_replaces_the_old);
    tcase_add_test(tc, an_expired_value_is_not_found);
    tcase_add_test(tc, an_empty_value_is_a_value);
    tcase_add_test(tc, keys_are_distinct);
    tcase_add_test(tc, the_lock_is_counted_and_can_be_taken_again);
    tcase_add_test(tc, fetch_locks_are_per_key);
    tcase_add_test(tc, threads_share_it_safely);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(cache_suite());
}
