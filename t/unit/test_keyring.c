/*
 * test_keyring.c - when keys are fetched, kept, shared and served stale,
 * against the fake issuer (real fetches) and, for the thread tests, fetch
 * functions of the test's own. Time is passed explicitly.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_thread_proc.h>

#include "fake_issuer.h"
#include "logto_keyring.h"
#include "logto_statedir.h"
#include "mint.h"
#include "unit.h"

#define T0 1700000000

static fake_issuer_t fi;
/* Key set files: A holds k-es384; B k-es384 and k-es256; C k-es256 only;
 * EMPTY no key at all. */
static char file_a[128], file_b[128], file_c[128], file_empty[128];

static void write_file(char *path, const char *name, const char *text)
{
    FILE *f;

    snprintf(path, 128, "%s/%s", fi.dir, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void issuer_up(void)
{
    char doc[8192];

    apr_initialize();
    ck_assert_int_eq(
        fake_issuer_start(&fi, TEST_DATA_DIR "/../keys/jwks.json", 0), 0);
    snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", mint_get("jwk_es384"));
    write_file(file_a, "a.json", doc);
    snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s]}", mint_get("jwk_es384"),
             mint_get("jwk_es256"));
    write_file(file_b, "b.json", doc);
    snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", mint_get("jwk_es256"));
    write_file(file_c, "c.json", doc);
    write_file(file_empty, "empty.json", "{\"keys\":[]}");
}

static void issuer_down(void)
{
    unlink(file_a);
    unlink(file_b);
    unlink(file_c);
    unlink(file_empty);
    fake_issuer_stop(&fi);
    apr_terminate();
}

static void control(const char *path)
{
    ck_assert_ptr_nonnull(fake_issuer_control(&fi, pool, path));
}

static void serve(const char *file)
{
    control(apr_pstrcat(pool, "/control/jwks?file=", file, NULL));
}

static void mode(const char *m)
{
    control(apr_pstrcat(pool, "/control/mode?m=", m, NULL));
}

static int fetches(void)
{
    return fake_issuer_count(&fi, pool, "jwks");
}

/* A fresh start: issuer reset to serve A, a new shared cache and a
 * keyring on it (refresh 300, min refresh 30, max stale 3600). */
static logto_cache_t *cache;

/* A keyring on the shared cache with min refresh and a fetch timeout of
 * the test's choice (refresh 300, max stale 3600). */
static logto_keyring_t *ring_timed(apr_int64_t min_refresh, int timeout)
{
    logto_keyring_timing_t timing = {300, 0, 3600};
    logto_fetch_opts_t opts;
    logto_keyring_t *kr = NULL;
    logto_err_t err;

    timing.min_refresh = min_refresh;
    logto_fetch_opts_init(&opts);
    opts.timeout = timeout;
    ck_assert_int_eq(
        logto_keyring_create(&kr, pool, cache, &opts, &timing, &err),
        APR_SUCCESS);
    return kr;
}

static logto_keyring_t *ring(void)
{
    return ring_timed(30, 2);
}

static logto_keyring_t *start(void)
{
    control("/control/reset");
    serve(file_a);
    ck_assert_int_eq(logto_cache_mem_create(&cache, pool), APR_SUCCESS);
    return ring();
}

/* Keys of the fake issuer's JWKS as of now, for kid (may be NULL). */
static apr_status_t keys(const logto_jwks_t **pjwks, logto_keyring_t *kr,
                         const char *kid, apr_int64_t now,
                         logto_keyring_stats_t *stats, logto_err_t *err)
{
    logto_err_clear(err);
    return logto_keyring_get(pjwks, kr, fi.jwks_uri, NULL, kid, now, stats,
                             err);
}

START_TEST(the_first_use_fetches_once)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks = NULL;
    logto_keyring_stats_t st;
    logto_err_t err;

    ck_assert_int_eq(keys(&jwks, kr, NULL, T0, &st, &err), APR_SUCCESS);
    ck_assert_ptr_nonnull(logto_jwks_find(jwks, "k-es384"));
    ck_assert_int_eq(st.fetches, 1);
    ck_assert_int_eq(st.failures, 0);
    ck_assert_int_eq(fetches(), 1);
}
END_TEST

START_TEST(fresh_keys_are_not_fetched_again)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks;
    logto_keyring_stats_t st;
    logto_err_t err;
    int i;

    keys(&jwks, kr, NULL, T0, NULL, &err);
    for (i = 1; i < 300; i += 37) {
        ck_assert_int_eq(keys(&jwks, kr, NULL, T0 + i, &st, &err), APR_SUCCESS);
        ck_assert_int_eq(st.fetches, 0);
    }
    ck_assert_int_eq(fetches(), 1);
}
END_TEST

START_TEST(keys_past_refresh_are_fetched_once)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks;
    logto_keyring_stats_t st;
    logto_err_t err;

    keys(&jwks, kr, NULL, T0, NULL, &err);
    ck_assert_int_eq(keys(&jwks, kr, NULL, T0 + 300, &st, &err), APR_SUCCESS);
    ck_assert_int_eq(st.fetches, 1);
    ck_assert_int_eq(st.stale, 0);
    ck_assert_int_eq(keys(&jwks, kr, NULL, T0 + 301, &st, &err), APR_SUCCESS);
    ck_assert_int_eq(st.fetches, 0);
    ck_assert_int_eq(fetches(), 2);
}
END_TEST

START_TEST(an_unknown_kid_refetches_at_most_once_per_min_refresh)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks;
    logto_err_t err;

    keys(&jwks, kr, NULL, T0, NULL, &err);
    serve(file_b);
    /* A rotation: the new kid is found by one refetch. */
    ck_assert_int_eq(keys(&jwks, kr, "k-es256", T0 + 10, NULL, &err),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(logto_jwks_find(jwks, "k-es256"));
    ck_assert_int_eq(fetches(), 2);
    /* A kid nobody has: no refetch before min refresh has passed. */
    keys(&jwks, kr, "k-nobody", T0 + 11, NULL, &err);
    keys(&jwks, kr, "k-nobody", T0 + 39, NULL, &err);
    ck_assert_int_eq(fetches(), 2);
    ck_assert_int_eq(keys(&jwks, kr, "k-nobody", T0 + 40, NULL, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(fetches(), 3);
    keys(&jwks, kr, "k-nobody", T0 + 41, NULL, &err);
    keys(&jwks, kr, "k-nobody", T0 + 69, NULL, &err);
    ck_assert_int_eq(fetches(), 3);
    /* The set is still served for the kids it has. */
    ck_assert_ptr_nonnull(logto_jwks_find(jwks, "k-es384"));
}
END_TEST

START_TEST(a_new_kid_right_after_a_fetch_refetches)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks = NULL;
    logto_keyring_stats_t st;
    logto_err_t err;

    ck_assert_int_eq(keys(&jwks, kr, NULL, T0, NULL, &err), APR_SUCCESS);
    serve(file_b);
    /* A second after the startup fetch, well within the failure backoff:
     * that fetch succeeded, so nothing holds the refetch back. */
    ck_assert_int_eq(keys(&jwks, kr, "k-es256", T0 + 1, &st, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(st.fetches, 1);
    ck_assert_int_eq(st.failures, 0);
    ck_assert_ptr_nonnull(logto_jwks_find(jwks, "k-es256"));
    ck_assert_int_eq(fetches(), 2);
    /* min refresh still paces the next unknown kid. */
    keys(&jwks, kr, "k-nobody", T0 + 2, &st, &err);
    ck_assert_int_eq(st.fetches, 0);
    ck_assert_int_eq(fetches(), 2);
}
END_TEST

START_TEST(a_timed_out_attempt_is_not_retried_at_once)
{
    /* Backoff 1 s, fetches give up after 2 s. */
    logto_keyring_t *kr;
    const logto_jwks_t *jwks = NULL;
    logto_keyring_stats_t st;
    apr_time_t began;
    logto_err_t err;

    start();
    kr = ring_timed(1, 2);
    mode("slow&s=5&scope=jwks");
    began = apr_time_now();
    ck_assert_int_ne(keys(&jwks, kr, NULL, T0, &st, &err), APR_SUCCESS);
    ck_assert_int_eq(st.fetches, 1);
    ck_assert_int_eq(st.failures, 1);
    ck_assert_int_ge(apr_time_now() - began, apr_time_from_msec(1500));
    /* A look one second on, made after the two-second attempt ended: the
     * backoff counts from that end, so the issuer is not asked again. */
    ck_assert_int_ne(keys(&jwks, kr, NULL, T0 + 1, &st, &err), APR_SUCCESS);
    ck_assert_int_eq(st.fetches, 0);
    ck_assert_int_eq(fetches(), 1);
    mode("ok");
}
END_TEST

START_TEST(a_known_kid_never_refetches)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks;
    logto_err_t err;

    keys(&jwks, kr, NULL, T0, NULL, &err);
    keys(&jwks, kr, "k-es384", T0 + 100, NULL, &err);
    keys(&jwks, kr, "k-es384", T0 + 200, NULL, &err);
    ck_assert_int_eq(fetches(), 1);
}
END_TEST

START_TEST(a_failed_refresh_serves_stale_keys)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks = NULL;
    logto_keyring_stats_t st;
    logto_err_t err;

    keys(&jwks, kr, NULL, T0, NULL, &err);
    mode("500");
    ck_assert_int_eq(keys(&jwks, kr, NULL, T0 + 300, &st, &err), APR_SUCCESS);
    ck_assert_ptr_nonnull(logto_jwks_find(jwks, "k-es384"));
    ck_assert_int_eq(st.fetches, 1);
    ck_assert_int_eq(st.failures, 1);
    ck_assert_int_eq(st.stale, 1);
    /* A failing issuer is asked again only after a backoff: the fetch
     * timeout (2 s) first, then twice that less a jitter of up to a
     * quarter. */
    keys(&jwks, kr, NULL, T0 + 301, &st, &err);
    ck_assert_int_eq(st.fetches, 0);
    ck_assert_int_eq(fetches(), 2);
    keys(&jwks, kr, NULL, T0 + 302, &st, &err);
    ck_assert_int_eq(st.fetches, 1);
    ck_assert_int_eq(fetches(), 3);
    keys(&jwks, kr, NULL, T0 + 304, &st, &err);
    ck_assert_int_eq(st.fetches, 0);
    keys(&jwks, kr, NULL, T0 + 306, &st, &err);
    ck_assert_int_eq(st.fetches, 1);
    ck_assert_int_eq(fetches(), 4);
    /* Back up: fresh again. */
    mode("ok");
    ck_assert_int_eq(keys(&jwks, kr, NULL, T0 + 320, &st, &err), APR_SUCCESS);
    ck_assert_int_eq(st.fetches, 1);
    ck_assert_int_eq(st.stale, 0);
}
END_TEST

START_TEST(keys_past_max_stale_are_not_served)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks = NULL;
    logto_err_t err;

    keys(&jwks, kr, NULL, T0, NULL, &err);
    mode("refuse");
    ck_assert_int_eq(keys(&jwks, kr, NULL, T0 + 3600, NULL, &err), APR_SUCCESS);
    ck_assert_int_ne(keys(&jwks, kr, NULL, T0 + 3601, NULL, &err), APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_FETCH);
    ck_assert_msg(strstr(err.text, "stale") != NULL, "%s", err.text);
    mode("ok");
}
END_TEST

START_TEST(no_keys_and_no_issuer_is_an_error)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks = NULL;
    logto_err_t err;
    char *uri = apr_psprintf(pool, "http://127.0.0.1:%d/oidc/jwks",
                             fake_issuer_dead_port());

    logto_err_clear(&err);
    ck_assert_int_ne(
        logto_keyring_get(&jwks, kr, uri, NULL, NULL, T0, NULL, &err),
        APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_FETCH);
    ck_assert_msg(strstr(err.text, "connect failed") != NULL, "%s", err.text);
}
END_TEST

START_TEST(garbage_never_replaces_a_good_set)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks = NULL;
    logto_keyring_stats_t st;
    apr_array_header_t *status;
    logto_keyring_entry_t *e;
    logto_err_t err;

    keys(&jwks, kr, NULL, T0, NULL, &err);
    mode("garbage");
    ck_assert_int_eq(keys(&jwks, kr, NULL, T0 + 300, &st, &err), APR_SUCCESS);
    ck_assert_int_eq(st.failures, 1);
    ck_assert_ptr_nonnull(logto_jwks_find(jwks, "k-es384"));
    /* A set without a usable key is no better. */
    mode("ok");
    serve(file_empty);
    ck_assert_int_eq(keys(&jwks, kr, NULL, T0 + 310, &st, &err), APR_SUCCESS);
    ck_assert_int_eq(st.failures, 1);
    ck_assert_ptr_nonnull(logto_jwks_find(jwks, "k-es384"));
    logto_keyring_status(&status, pool, kr);
    e = APR_ARRAY_IDX(status, 0, logto_keyring_entry_t *);
    ck_assert_int_eq(e->last_ok, 0);
    ck_assert_msg(strstr(e->last_error, "key set refused") != NULL, "%s",
                  e->last_error);
}
END_TEST

START_TEST(a_new_set_that_parses_is_authoritative)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks = NULL;
    logto_err_t err;

    keys(&jwks, kr, NULL, T0, NULL, &err);
    serve(file_c);
    ck_assert_int_eq(keys(&jwks, kr, NULL, T0 + 300, NULL, &err), APR_SUCCESS);
    ck_assert_ptr_nonnull(logto_jwks_find(jwks, "k-es256"));
    ck_assert_ptr_null(logto_jwks_find(jwks, "k-es384"));
}
END_TEST

START_TEST(processes_sharing_a_cache_fetch_once)
{
    logto_keyring_t *kr1 = start(), *kr2 = ring(), *kr3 = ring();
    const logto_jwks_t *j1, *j2;
    logto_keyring_stats_t st;
    logto_err_t err;

    ck_assert_int_eq(keys(&j1, kr1, NULL, T0, NULL, &err), APR_SUCCESS);
    ck_assert_int_eq(keys(&j2, kr2, NULL, T0 + 1, &st, &err), APR_SUCCESS);
    ck_assert_int_eq(st.fetches, 0);
    ck_assert_ptr_nonnull(logto_jwks_find(j2, "k-es384"));
    ck_assert_int_eq(fetches(), 1);
    /* A refetch for a kid by one is seen by the others. */
    serve(file_b);
    keys(&j1, kr1, "k-es256", T0 + 10, NULL, &err);
    ck_assert_int_eq(keys(&j2, kr3, "k-es256", T0 + 11, &st, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(st.fetches, 0);
    ck_assert_ptr_nonnull(logto_jwks_find(j2, "k-es256"));
    ck_assert_int_eq(keys(&j2, kr2, "k-es256", T0 + 12, &st, &err),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(logto_jwks_find(j2, "k-es256"));
    ck_assert_int_eq(fetches(), 2);
}
END_TEST

START_TEST(a_corrupt_shared_record_is_a_miss)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks = NULL;
    logto_err_t err;
    char *key = apr_pstrcat(pool, "jwks:", fi.jwks_uri, NULL);

    cache->set(cache->baton, key, (const unsigned char *)"LKR1junk", 8,
               apr_time_now() + apr_time_from_sec(60), pool);
    ck_assert_int_eq(keys(&jwks, kr, NULL, T0, NULL, &err), APR_SUCCESS);
    ck_assert_ptr_nonnull(logto_jwks_find(jwks, "k-es384"));
}
END_TEST

START_TEST(a_corrupt_shared_record_is_counted)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks = NULL;
    logto_keyring_stats_t st;
    logto_err_t err;
    char *key = apr_pstrcat(pool, "jwks:", fi.jwks_uri, NULL);

    cache->set(cache->baton, key, (const unsigned char *)"LKR1junk", 8,
               apr_time_now() + apr_time_from_sec(60), pool);
    ck_assert_int_eq(keys(&jwks, kr, NULL, T0, &st, &err), APR_SUCCESS);
    ck_assert_int_ge(st.bad_records, 1);
    ck_assert_int_eq(st.fetches, 1);
}
END_TEST

START_TEST(the_shared_status_is_what_the_cache_holds)
{
    logto_keyring_t *kr1 = start(), *kr2 = ring();
    const logto_jwks_t *jwks = NULL;
    logto_keyring_entry_t *e;
    logto_err_t err;

    /* Before any fetch: the source, no keys. */
    ck_assert_int_eq(
        logto_keyring_shared_status(&e, pool, kr2, fi.jwks_uri, NULL),
        APR_NOTFOUND);
    ck_assert_str_eq(e->source, fi.jwks_uri);
    ck_assert_int_eq(e->keys->nelts, 0);
    ck_assert_int_eq(e->fetched_at, 0);
    /* One keyring fetches; another, which never asked for keys, shows
     * them as the cache holds them. */
    serve(file_b);
    ck_assert_int_eq(keys(&jwks, kr1, NULL, T0, NULL, &err), APR_SUCCESS);
    ck_assert_int_eq(
        logto_keyring_shared_status(&e, pool, kr2, fi.jwks_uri, NULL),
        APR_SUCCESS);
    ck_assert_str_eq(e->source, fi.jwks_uri);
    ck_assert_str_eq(e->jwks_uri, fi.jwks_uri);
    ck_assert_int_eq(e->fetched_at, T0);
    ck_assert_int_eq(e->last_ok, 1);
    ck_assert_uint_eq(e->fetches, 1);
    ck_assert_int_eq(e->keys->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(e->keys, 0, logto_keyring_key_t).kid,
                     "k-es384");
    ck_assert_uint_eq(strlen(e->version), 64);
    /* kr2 itself still knows of no key set: nothing was fetched for it. */
    {
        apr_array_header_t *own;
        logto_keyring_status(&own, pool, kr2);
        ck_assert_int_eq(own->nelts, 0);
    }
    /* A discovery source is named as the keyring names it. */
    ck_assert_int_eq(logto_keyring_shared_status(&e, pool, kr2, NULL,
                                                 "https://issuer.example"),
                     APR_NOTFOUND);
    ck_assert_str_eq(e->source, "discover:https://issuer.example");
    ck_assert_int_eq(logto_keyring_shared_status(&e, pool, kr2, NULL, NULL),
                     APR_EINVAL);
}
END_TEST

START_TEST(the_shared_status_ignores_a_corrupt_record)
{
    logto_keyring_t *kr = start();
    logto_keyring_entry_t *e;
    char *key = apr_pstrcat(pool, "jwks:", fi.jwks_uri, NULL);

    cache->set(cache->baton, key, (const unsigned char *)"LKR1junk", 8,
               apr_time_now() + apr_time_from_sec(60), pool);
    ck_assert_int_eq(
        logto_keyring_shared_status(&e, pool, kr, fi.jwks_uri, NULL),
        APR_NOTFOUND);
    ck_assert_int_eq(e->keys->nelts, 0);
}
END_TEST

START_TEST(keys_are_found_through_discovery)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks = NULL;
    apr_array_header_t *status;
    logto_keyring_entry_t *e;
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_int_eq(
        logto_keyring_get(&jwks, kr, NULL, fi.issuer, NULL, T0, NULL, &err),
        APR_SUCCESS);
    ck_assert_ptr_nonnull(logto_jwks_find(jwks, "k-es384"));
    ck_assert_int_eq(fake_issuer_count(&fi, pool, "discovery"), 1);
    logto_keyring_get(&jwks, kr, NULL, fi.issuer, NULL, T0 + 5, NULL, &err);
    ck_assert_int_eq(fetches(), 1);
    logto_keyring_status(&status, pool, kr);
    ck_assert_int_eq(status->nelts, 1);
    e = APR_ARRAY_IDX(status, 0, logto_keyring_entry_t *);
    ck_assert_str_eq(e->source,
                     apr_pstrcat(pool, "discover:", fi.issuer, NULL));
    ck_assert_str_eq(e->jwks_uri, fi.jwks_uri);
}
END_TEST

START_TEST(a_failed_discovery_is_an_error)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks = NULL;
    logto_err_t err;

    mode("badissuer");
    logto_err_clear(&err);
    ck_assert_int_ne(
        logto_keyring_get(&jwks, kr, NULL, fi.issuer, NULL, T0, NULL, &err),
        APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_FETCH);
    ck_assert_msg(strstr(err.text, "issuer") != NULL, "%s", err.text);
    mode("ok");
}
END_TEST

START_TEST(the_status_lists_keys_and_fetches)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks = NULL;
    apr_array_header_t *status;
    logto_keyring_entry_t *e;
    logto_keyring_key_t *k;
    logto_err_t err;

    serve(file_b);
    keys(&jwks, kr, NULL, T0, NULL, &err);
    logto_keyring_status(&status, pool, kr);
    ck_assert_int_eq(status->nelts, 1);
    e = APR_ARRAY_IDX(status, 0, logto_keyring_entry_t *);
    ck_assert_str_eq(e->source, fi.jwks_uri);
    ck_assert_int_eq(e->fetched_at, T0);
    ck_assert_int_eq(e->last_attempt_at, T0);
    ck_assert_int_eq(e->last_ok, 1);
    ck_assert_str_eq(e->last_error, "");
    ck_assert_uint_eq(e->fetches, 1);
    ck_assert_uint_eq(e->failures, 0);
    ck_assert_uint_eq(strlen(e->version), 64);
    ck_assert_int_eq(e->keys->nelts, 2);
    k = &APR_ARRAY_IDX(e->keys, 0, logto_keyring_key_t);
    ck_assert_str_eq(k->kid, "k-es384");
    ck_assert_str_eq(k->alg, "ES384");
    ck_assert_str_eq(k->kty, "EC");
}
END_TEST

/* ----------------------------------------------- threads, single flight */

static volatile apr_uint32_t hook_calls;

/* A fetch that takes 200 ms and always gives set A. */
static apr_status_t slow_fetch(char **pbody, apr_size_t *plen, apr_pool_t *p,
                               const char *url, const logto_fetch_opts_t *opts,
                               logto_err_t *err)
{
    apr_atomic_inc32(&hook_calls);
    apr_sleep(apr_time_from_msec(200));
    *pbody = apr_psprintf(p, "{\"keys\":[%s]}", mint_get("jwk_es384"));
    *plen = strlen(*pbody);
    return APR_SUCCESS;
}

typedef struct racer_t {
    logto_keyring_t *kr;
    apr_status_t rv;
    int found;
} racer_t;

static void *APR_THREAD_FUNC race(apr_thread_t *t, void *baton)
{
    racer_t *r = baton;
    const logto_jwks_t *jwks = NULL;
    logto_err_t err;

    r->rv = logto_keyring_get(&jwks, r->kr, "http://keys.invalid/jwks", NULL,
                              NULL, T0, NULL, &err);
    r->found = r->rv == APR_SUCCESS && logto_jwks_find(jwks, "k-es384") != NULL;
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

START_TEST(many_threads_and_keyrings_fetch_once)
{
    logto_keyring_t *shared_kr;
    apr_thread_t *t[8];
    racer_t r[8];
    apr_status_t rv;
    int i;

    ck_assert_int_eq(logto_cache_mem_create(&cache, pool), APR_SUCCESS);
    shared_kr = ring();
    hook_calls = 0;
    for (i = 0; i < 8; i++) {
        /* Half the threads share one keyring, the others have their own,
         * like threads of one process and processes. */
        r[i].kr = i % 2 ? shared_kr : ring();
        logto_keyring_set_fetch(r[i].kr, slow_fetch);
        ck_assert_int_eq(apr_thread_create(&t[i], NULL, race, &r[i], pool),
                         APR_SUCCESS);
    }
    for (i = 0; i < 8; i++) {
        apr_thread_join(&rv, t[i]);
        ck_assert_int_eq(r[i].rv, APR_SUCCESS);
        ck_assert(r[i].found);
    }
    ck_assert_uint_eq(apr_atomic_read32(&hook_calls), 1);
}
END_TEST

/* The shared cache seen through a wrapper that counts calls to its lock
 * (made before waiting for it), so a test knows when a keyring has gone
 * past its first look and queued for the fetch. */
static logto_cache_t *inner_cache;
static volatile apr_uint32_t lock_calls;

static apr_status_t wrap_get(void *baton, const char *key, unsigned char **pval,
                             apr_size_t *plen, apr_pool_t *p)
{
    return inner_cache->get(inner_cache->baton, key, pval, plen, p);
}

static apr_status_t wrap_set(void *baton, const char *key,
                             const unsigned char *val, apr_size_t len,
                             apr_time_t expiry, apr_pool_t *p)
{
    return inner_cache->set(inner_cache->baton, key, val, len, expiry, p);
}

static apr_status_t wrap_lock(void *baton, const char *key, apr_int64_t hold)
{
    apr_atomic_inc32(&lock_calls);
    return inner_cache->lock(inner_cache->baton, key, hold);
}

static apr_status_t wrap_unlock(void *baton, const char *key)
{
    return inner_cache->unlock(inner_cache->baton, key);
}

/* Poll until *v reaches want, for at most 10 s; whether it did. */
static int wait_for(volatile apr_uint32_t *v, apr_uint32_t want)
{
    int i;

    for (i = 0; i < 10000 && apr_atomic_read32(v) < want; i++) {
        apr_sleep(apr_time_from_msec(1));
    }
    return apr_atomic_read32(v) >= want;
}

#define GATED_URI "http://keys.invalid/jwks"

static volatile apr_uint32_t gate_open, gate_entered;

/* A fetch that gives set A once the test opens the gate (at most 10 s
 * later). */
static apr_status_t gated_fetch(char **pbody, apr_size_t *plen, apr_pool_t *p,
                                const char *url, const logto_fetch_opts_t *opts,
                                logto_err_t *err)
{
    apr_atomic_inc32(&hook_calls);
    apr_atomic_inc32(&gate_entered);
    wait_for(&gate_open, 1);
    *pbody = apr_psprintf(p, "{\"keys\":[%s]}", mint_get("jwk_es384"));
    *plen = strlen(*pbody);
    return APR_SUCCESS;
}

/* Two keyrings on the cache (two processes), fetching through the gate. */
static void gated_rings(logto_keyring_t **kr1, logto_keyring_t **kr2)
{
    *kr1 = ring_timed(1, 2);
    *kr2 = ring_timed(1, 2);
    logto_keyring_set_fetch(*kr1, gated_fetch);
    logto_keyring_set_fetch(*kr2, gated_fetch);
}

typedef struct looker_t {
    logto_keyring_t *kr;
    apr_int64_t now;
    apr_status_t rv;
    logto_keyring_stats_t st;
} looker_t;

static void *APR_THREAD_FUNC look_for_nobody(apr_thread_t *t, void *baton)
{
    looker_t *lk = baton;
    const logto_jwks_t *jwks = NULL;
    logto_err_t err;

    logto_err_clear(&err);
    lk->rv = logto_keyring_get(&jwks, lk->kr, GATED_URI, NULL, "k-nobody",
                               lk->now, &lk->st, &err);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

START_TEST(a_keyring_queued_behind_a_fetch_uses_its_result)
{
    static logto_cache_t wrapped = {NULL,      wrap_get,    wrap_set,
                                    wrap_lock, wrap_unlock, NULL};
    logto_keyring_t *kr1, *kr2;
    const logto_jwks_t *jwks = NULL;
    looker_t a = {0}, b = {0};
    apr_thread_t *ta, *tb;
    apr_uint32_t base;
    apr_status_t rv;
    logto_err_t err;
    int queued;

    ck_assert_int_eq(logto_cache_mem_create(&inner_cache, pool), APR_SUCCESS);
    cache = &wrapped;
    gated_rings(&kr1, &kr2);
    apr_atomic_set32(&hook_calls, 0);
    apr_atomic_set32(&lock_calls, 0);
    apr_atomic_set32(&gate_open, 1);
    logto_err_clear(&err);
    ck_assert_int_eq(
        logto_keyring_get(&jwks, kr1, GATED_URI, NULL, NULL, T0, NULL, &err),
        APR_SUCCESS);
    ck_assert_uint_eq(apr_atomic_read32(&hook_calls), 1);

    /* kr1 refetches for a kid nobody has; kr2, a second later, wants the
     * same kid and queues for the lock while that fetch is going. Coming
     * after it, kr2 would refetch (min refresh 1 s); queued behind it, it
     * takes its result. */
    apr_atomic_set32(&gate_open, 0);
    apr_atomic_set32(&gate_entered, 0);
    base = apr_atomic_read32(&lock_calls);
    a.kr = kr1;
    a.now = T0 + 10;
    b.kr = kr2;
    b.now = T0 + 11;
    ck_assert_int_eq(apr_thread_create(&ta, NULL, look_for_nobody, &a, pool),
                     APR_SUCCESS);
    ck_assert(wait_for(&gate_entered, 1));
    ck_assert_int_eq(apr_thread_create(&tb, NULL, look_for_nobody, &b, pool),
                     APR_SUCCESS);
    queued = wait_for(&lock_calls, base + 2);
    apr_atomic_set32(&gate_open, 1);
    apr_thread_join(&rv, ta);
    apr_thread_join(&rv, tb);
    ck_assert(queued);
    ck_assert_int_eq(a.rv, APR_SUCCESS);
    ck_assert_int_eq(a.st.fetches, 1);
    ck_assert_int_eq(b.rv, APR_SUCCESS);
    ck_assert_int_eq(b.st.fetches, 0);
    ck_assert_uint_eq(apr_atomic_read32(&hook_calls), 2);
}
END_TEST

static void *APR_THREAD_FUNC look_plainly(apr_thread_t *t, void *baton)
{
    looker_t *lk = baton;
    const logto_jwks_t *jwks = NULL;
    logto_err_t err;

    logto_err_clear(&err);
    lk->rv = logto_keyring_get(&jwks, lk->kr, GATED_URI, NULL, NULL, lk->now,
                               &lk->st, &err);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* One that may not wait: with nothing in hand, LOGTO_KEYS_IN_HAND never
 * fetches; LOGTO_KEYS_NO_WAIT leaves at once while another process's
 * fetch of the same keys is under way, and takes its result after. */
START_TEST(keys_had_without_waiting)
{
    logto_keyring_t *kr1, *kr2;
    const logto_jwks_t *jwks = NULL;
    looker_t a = {0};
    apr_thread_t *ta;
    apr_status_t rv;
    apr_time_t t;
    logto_err_t err;

    ck_assert_int_eq(logto_cache_mem_create(&cache, pool), APR_SUCCESS);
    gated_rings(&kr1, &kr2);
    apr_atomic_set32(&hook_calls, 0);
    apr_atomic_set32(&gate_open, 0);
    apr_atomic_set32(&gate_entered, 0);
    logto_err_clear(&err);
    ck_assert_int_eq(logto_keyring_get_how(&jwks, kr2, GATED_URI, NULL, NULL,
                                           LOGTO_KEYS_IN_HAND, T0, NULL, &err),
                     APR_EAGAIN);
    ck_assert_int_eq(err.reason, LOGTO_ERR_FETCH);
    ck_assert_uint_eq(apr_atomic_read32(&hook_calls), 0);

    a.kr = kr1;
    a.now = T0;
    ck_assert_int_eq(apr_thread_create(&ta, NULL, look_plainly, &a, pool),
                     APR_SUCCESS);
    ck_assert(wait_for(&gate_entered, 1));
    t = apr_time_now();
    ck_assert_int_eq(logto_keyring_get_how(&jwks, kr2, GATED_URI, NULL, NULL,
                                           LOGTO_KEYS_NO_WAIT, T0, NULL, &err),
                     APR_EAGAIN);
    ck_assert_int_lt(apr_time_now() - t, apr_time_from_msec(900));
    ck_assert_int_eq(logto_keyring_get_how(&jwks, kr2, GATED_URI, NULL, NULL,
                                           LOGTO_KEYS_IN_HAND, T0, NULL, &err),
                     APR_EAGAIN);
    apr_atomic_set32(&gate_open, 1);
    apr_thread_join(&rv, ta);
    ck_assert_int_eq(a.rv, APR_SUCCESS);
    ck_assert_int_eq(logto_keyring_get_how(&jwks, kr2, GATED_URI, NULL, NULL,
                                           LOGTO_KEYS_NO_WAIT, T0, NULL, &err),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(logto_jwks_find(jwks, "k-es384"));
    ck_assert_int_eq(logto_keyring_get_how(&jwks, kr2, GATED_URI, NULL, NULL,
                                           LOGTO_KEYS_IN_HAND, T0 + 1, NULL,
                                           &err),
                     APR_SUCCESS);
    ck_assert_uint_eq(apr_atomic_read32(&hook_calls), 1);
}
END_TEST

#define OTHER_URI "http://other.invalid/jwks"

/* The gate holds fetches of GATED_URI only; any other set comes at once. */
static apr_status_t gated_one_fetch(char **pbody, apr_size_t *plen,
                                    apr_pool_t *p, const char *url,
                                    const logto_fetch_opts_t *opts,
                                    logto_err_t *err)
{
    if (strcmp(url, GATED_URI) == 0) {
        return gated_fetch(pbody, plen, p, url, opts, err);
    }
    *pbody = apr_psprintf(p, "{\"keys\":[%s]}", mint_get("jwk_es384"));
    *plen = strlen(*pbody);
    return APR_SUCCESS;
}

/* A fetch of one key set under way (against an issuer that hangs) holds
 * back no other: with the per-process cache too (AuthLogtoCache none), a
 * set nobody fetches is had without waiting. */
START_TEST(one_sets_fetch_holds_back_no_other)
{
    logto_keyring_t *kr;
    const logto_jwks_t *jwks = NULL;
    looker_t a = {0};
    apr_thread_t *ta;
    apr_status_t rv, got;
    apr_time_t t, took;
    logto_err_t err;

    ck_assert_int_eq(logto_cache_mem_create(&cache, pool), APR_SUCCESS);
    kr = ring_timed(1, 2);
    logto_keyring_set_fetch(kr, gated_one_fetch);
    apr_atomic_set32(&gate_open, 0);
    apr_atomic_set32(&gate_entered, 0);
    a.kr = kr;
    a.now = T0;
    ck_assert_int_eq(apr_thread_create(&ta, NULL, look_plainly, &a, pool),
                     APR_SUCCESS);
    ck_assert(wait_for(&gate_entered, 1));
    logto_err_clear(&err);
    t = apr_time_now();
    got = logto_keyring_get_how(&jwks, kr, OTHER_URI, NULL, NULL,
                                LOGTO_KEYS_NO_WAIT, T0, NULL, &err);
    took = apr_time_now() - t;
    apr_atomic_set32(&gate_open, 1);
    apr_thread_join(&rv, ta);
    ck_assert_msg(got == APR_SUCCESS, "a set nobody fetches: %d (%s)", got,
                  err.text);
    ck_assert_int_lt(took, apr_time_from_msec(900));
}
END_TEST

/* Against an issuer that keeps failing, with a fetch timeout of 2 s and
 * timing: the waits between attempts are waits[0..5] (each less up to a
 * quarter, never under 2), and 7 attempts are made in all. */
static void check_backoff(logto_keyring_timing_t timing,
                          const apr_int64_t *waits)
{
    logto_fetch_opts_t opts;
    logto_keyring_t *kr = NULL;
    const logto_jwks_t *jwks = NULL;
    logto_keyring_stats_t st;
    logto_err_t err;
    apr_int64_t now = T0;
    int i, n;

    start();
    logto_fetch_opts_init(&opts);
    opts.timeout = 2;
    ck_assert_int_eq(
        logto_keyring_create(&kr, pool, cache, &opts, &timing, &err),
        APR_SUCCESS);
    mode("500");
    keys(&jwks, kr, NULL, now, &st, &err);
    ck_assert_int_eq(st.fetches, 1);
    for (i = 0; i < 6; i++) {
        apr_int64_t w = waits[i];
        apr_int64_t least = w - w / 4 < 2 ? 2 : w - w / 4;

        /* Nothing before the least wait; an attempt by the full one. */
        keys(&jwks, kr, NULL, now + least - 1, &st, &err);
        ck_assert_int_eq(st.fetches, 0);
        for (n = 0; n <= w - least; n++) {
            keys(&jwks, kr, NULL, now + least + n, &st, &err);
            if (st.fetches == 1) {
                break;
            }
        }
        ck_assert_int_eq(st.fetches, 1);
        now += least + n;
    }
    ck_assert_int_eq(fetches(), 7);
    /* what a 503 tells clients (Retry-After) is the longest wait seen */
    ck_assert_int_eq(logto_keyring_starved_wait(&timing, opts.timeout),
                     waits[5]);
    mode("ok");
}

START_TEST(the_backoff_doubles_up_to_the_refresh_interval)
{
    /* Refresh 20 s, min refresh 30 s: waits of 2, 4, 8, 16, then 20. */
    static const apr_int64_t waits[] = {2, 4, 8, 16, 20, 20};
    logto_keyring_timing_t timing = {20, 30, 3600};

    check_backoff(timing, waits);
}
END_TEST

/* With no keys to serve, every request is refused until an attempt
 * succeeds: the issuer is asked again at least every min refresh, not
 * every refresh interval, so service comes back soon after it does. */
START_TEST(a_starved_keyring_retries_every_min_refresh)
{
    static const apr_int64_t waits[] = {2, 4, 5, 5, 5, 5};
    logto_keyring_timing_t timing = {300, 5, 3600};

    check_backoff(timing, waits);
}
END_TEST

START_TEST(with_a_refresher_requests_never_fetch_for_a_refresh)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks = NULL;
    logto_keyring_stats_t st;
    logto_err_t err;

    logto_keyring_set_background(kr, 1);
    logto_keyring_add(kr, fi.jwks_uri, NULL, T0);
    /* No keys: the request fetches (it cannot be answered otherwise). */
    ck_assert_int_eq(keys(&jwks, kr, "k-es384", T0, &st, &err), APR_SUCCESS);
    ck_assert_int_eq(st.fetches, 1);
    /* Past refresh, a known kid: served at once, no fetch. */
    ck_assert_int_eq(keys(&jwks, kr, "k-es384", T0 + 400, &st, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(st.fetches, 0);
    ck_assert_int_eq(st.stale, 1);
    ck_assert_int_eq(fetches(), 1);
    /* The refresher fetches, once. */
    serve(file_b);
    logto_keyring_tick(kr, T0 + 401);
    logto_keyring_tick(kr, T0 + 402);
    ck_assert_int_eq(fetches(), 2);
    ck_assert_int_eq(keys(&jwks, kr, "k-es256", T0 + 403, &st, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(st.fetches, 0);
    ck_assert_int_eq(st.stale, 0);
    ck_assert_ptr_nonnull(logto_jwks_find(jwks, "k-es256"));
    /* An unknown kid still refetches, paced by min refresh. */
    ck_assert_int_eq(keys(&jwks, kr, "k-nobody", T0 + 440, &st, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(st.fetches, 1);
}
END_TEST

START_TEST(the_refresher_never_waits_for_the_lock)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks = NULL;
    logto_err_t err;

    const char *k = logto_keyring_record_key(pool, fi.jwks_uri, NULL, NULL);

    logto_keyring_set_background(kr, 1);
    keys(&jwks, kr, NULL, T0, NULL, &err);
    ck_assert_int_eq(fetches(), 1);
    /* Someone else holds the fetch lock: the refresher leaves it to them. */
    ck_assert_int_eq(cache->lock(cache->baton, k, 5), APR_SUCCESS);
    logto_keyring_tick(kr, T0 + 400);
    ck_assert_int_eq(cache->unlock(cache->baton, k), APR_SUCCESS);
    ck_assert_int_eq(fetches(), 1);
    logto_keyring_tick(kr, T0 + 401);
    ck_assert_int_eq(fetches(), 2);
}
END_TEST

START_TEST(a_request_waits_for_a_busy_fetch_lock_at_most_the_timeout)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks = NULL;
    logto_keyring_stats_t st;
    const char *k = logto_keyring_record_key(pool, fi.jwks_uri, NULL, NULL);
    apr_time_t began;
    logto_err_t err;

    logto_keyring_set_background(kr, 1);
    /* Someone (who never gets to the end) fetches these keys and holds
     * their lock: a request with no keys waits the fetch timeout (2 s),
     * then answers without them. Another key set's lock holds nobody. */
    ck_assert_int_eq(cache->lock(cache->baton, "jwks:other", 5), APR_SUCCESS);
    ck_assert_int_eq(cache->lock(cache->baton, k, 5), APR_SUCCESS);
    began = apr_time_now();
    ck_assert_int_ne(keys(&jwks, kr, NULL, T0, &st, &err), APR_SUCCESS);
    ck_assert_int_ge(apr_time_now() - began, apr_time_from_msec(1900));
    ck_assert_int_lt(apr_time_now() - began, apr_time_from_msec(3000));
    ck_assert_int_eq(st.fetches, 0);
    ck_assert_int_eq(cache->unlock(cache->baton, k), APR_SUCCESS);
    /* Free again: the next request fetches. */
    ck_assert_int_eq(keys(&jwks, kr, NULL, T0, &st, &err), APR_SUCCESS);
    ck_assert_int_eq(st.fetches, 1);
}
END_TEST

START_TEST(a_failed_first_attempt_of_the_refresher_holds_nobody_back)
{
    logto_keyring_t *kr = start();
    const logto_jwks_t *jwks = NULL;
    logto_keyring_stats_t st;
    logto_err_t err;

    logto_keyring_set_background(kr, 1);
    logto_keyring_add(kr, fi.jwks_uri, NULL, T0);
    mode("500");
    logto_keyring_tick(kr, T0);
    ck_assert_int_eq(fetches(), 1);
    mode("ok");
    /* The first request, the same second, fetches at once. */
    ck_assert_int_eq(keys(&jwks, kr, NULL, T0, &st, &err), APR_SUCCESS);
    ck_assert_int_eq(st.fetches, 1);
}
END_TEST

/* A keyring of its own cache (another server's, after a restart) keeping
 * its last good keys in dir. */
static logto_keyring_t *ring_with_state(const char *dir, apr_int64_t max_stale)
{
    logto_keyring_timing_t timing = {300, 30, 3600};
    logto_cache_t *own;
    logto_keyring_t *kr = NULL;
    logto_err_t err;

    timing.max_stale = max_stale;
    ck_assert_int_eq(logto_cache_mem_create(&own, pool), APR_SUCCESS);
    ck_assert_int_eq(logto_keyring_create(&kr, pool, own, NULL, &timing, &err),
                     APR_SUCCESS);
    logto_keyring_set_state_dir(kr, dir, NULL);
    return kr;
}

static int events[16];

/* Remove a state directory and its files (the issuer's directory must be
 * empty when it stops). */
static void remove_state(const char *dir)
{
    apr_dir_t *d;
    apr_finfo_t info;

    if (apr_dir_open(&d, dir, pool) != APR_SUCCESS) {
        return;
    }
    while (apr_dir_read(&info, APR_FINFO_NAME | APR_FINFO_TYPE, d) ==
           APR_SUCCESS) {
        if (info.filetype == APR_REG) {
            apr_file_remove(apr_pstrcat(pool, dir, "/", info.name, NULL), pool);
        }
    }
    apr_dir_close(d);
    apr_dir_remove(dir, pool);
}

static void count_event(void *baton, logto_keyring_event_t ev,
                        const char *source, apr_status_t rv, const char *text)
{
    events[ev]++;
}

/* The state directory name under the issuer's, made, and a keyring
 * with it that fetched the issuer's keys at T0 (so they are on disk). */
static const char *state_with_keys(const char *name)
{
    const char *dir = apr_pstrcat(pool, fi.dir, "/", name, NULL);
    const logto_jwks_t *jwks = NULL;
    logto_keyring_stats_t st;
    logto_err_t err;

    start();
    ck_assert_int_eq(apr_dir_make(dir, APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(
        keys(&jwks, ring_with_state(dir, 3600), NULL, T0, &st, &err),
        APR_SUCCESS);
    return dir;
}

START_TEST(last_good_keys_outlive_a_restart_within_max_stale)
{
    const char *dir = state_with_keys("state");
    logto_keyring_t *kr;
    const logto_jwks_t *jwks = NULL;
    logto_keyring_stats_t st;
    logto_err_t err;
    apr_file_t *f;

    mode("refuse");
    /* "Restarted": a new cache, the issuer down. The file serves, looked
     * at before the fetch (which fails). */
    memset(events, 0, sizeof(events));
    kr = ring_with_state(dir, 3600);
    logto_keyring_set_notify(kr, count_event, NULL);
    ck_assert_int_eq(keys(&jwks, kr, "k-es384", T0 + 1000, &st, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(st.failures, 1);
    ck_assert_ptr_nonnull(logto_jwks_find(jwks, "k-es384"));
    ck_assert_int_eq(events[LOGTO_KEYRING_STATE_SEEDED], 1);
    /* Its age is the original fetch's: past max stale, 503 material. */
    ck_assert_int_ne(keys(&jwks, kr, NULL, T0 + 3601, &st, &err), APR_SUCCESS);
    /* Too old at startup: ignored, said so. */
    memset(events, 0, sizeof(events));
    kr = ring_with_state(dir, 3600);
    logto_keyring_set_notify(kr, count_event, NULL);
    ck_assert_int_ne(keys(&jwks, kr, NULL, T0 + 3601, &st, &err), APR_SUCCESS);
    ck_assert_int_eq(events[LOGTO_KEYRING_STATE_IGNORED], 1);
    /* A damaged file: ignored, said so, never trusted. */
    ck_assert_int_eq(
        apr_file_open(&f, logto_statedir_path(pool, dir, fi.jwks_uri),
                      APR_FOPEN_WRITE | APR_FOPEN_TRUNCATE | APR_FOPEN_BINARY,
                      0, pool),
        APR_SUCCESS);
    apr_file_write_full(f, "LTS1\0\0\0\7garbage", 15, NULL);
    apr_file_close(f);
    memset(events, 0, sizeof(events));
    kr = ring_with_state(dir, 3600);
    logto_keyring_set_notify(kr, count_event, NULL);
    ck_assert_int_ne(keys(&jwks, kr, NULL, T0 + 10, &st, &err), APR_SUCCESS);
    ck_assert_int_eq(events[LOGTO_KEYRING_STATE_IGNORED], 1);
    ck_assert_int_eq(events[LOGTO_KEYRING_STATE_USED], 0);
    mode("ok");
    remove_state(dir);
}
END_TEST

/* Before any fetch of this run, the status of a source whose shared
 * record is not there yet shows the keys the state directory gave, with
 * their original fetch time, and says so; once the shared record holds
 * keys, they are its. */
START_TEST(status_shows_keys_from_the_state_directory)
{
    const char *dir = state_with_keys("state-status");
    logto_keyring_t *kr;
    logto_keyring_entry_t *e;
    const logto_jwks_t *jwks = NULL;
    logto_keyring_stats_t st;
    logto_err_t err;

    mode("refuse");
    kr = ring_with_state(dir, 3600);
    /* nothing read yet: nothing shown */
    ck_assert_int_eq(
        logto_keyring_shared_status(&e, pool, kr, fi.jwks_uri, NULL),
        APR_NOTFOUND);
    ck_assert_int_eq(e->keys->nelts, 0);
    ck_assert(!e->from_state_dir);
    /* a child's start reads the state directory */
    logto_keyring_add(kr, fi.jwks_uri, NULL, T0 + 10);
    ck_assert_int_eq(
        logto_keyring_shared_status(&e, pool, kr, fi.jwks_uri, NULL),
        APR_NOTFOUND);
    ck_assert(e->from_state_dir);
    ck_assert_int_gt(e->keys->nelts, 0);
    ck_assert_int_eq(e->fetched_at, T0);
    ck_assert_int_eq(e->last_attempt_at, 0);
    /* the issuer back and fetched: the shared record's word */
    mode("ok");
    ck_assert_int_eq(keys(&jwks, kr, "no-such-kid", T0 + 400, &st, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(
        logto_keyring_shared_status(&e, pool, kr, fi.jwks_uri, NULL),
        APR_SUCCESS);
    ck_assert(!e->from_state_dir);
    ck_assert_int_gt(e->keys->nelts, 0);
    ck_assert_int_eq(e->fetched_at, T0 + 400);
    remove_state(dir);
}
END_TEST

/* Root writes in a state directory only when the one holding it is
 * root's and closed to others (or sticky): nobody else can swap it. */
START_TEST(root_writes_only_under_a_parent_of_roots)
{
    const char *base = apr_pstrcat(pool, fi.dir, "/parents", NULL);
    const char *open_dir = apr_pstrcat(pool, base, "/open", NULL);
    const char *sticky = apr_pstrcat(pool, base, "/sticky", NULL);

    ck_assert_int_eq(apr_dir_make(base, APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_dir_make(open_dir, APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_dir_make(sticky, APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(chmod(open_dir, 0777), 0);
    ck_assert_int_eq(chmod(sticky, 01777), 0);
    /* "/" is root's everywhere */
    ck_assert_ptr_null(logto_statedir_parent_problem("/state", pool));
    ck_assert_ptr_nonnull(logto_statedir_parent_problem(
        apr_pstrcat(pool, open_dir, "/state", NULL), pool));
    if (geteuid() == 0) {
        ck_assert_ptr_null(logto_statedir_parent_problem(
            apr_pstrcat(pool, sticky, "/state", NULL), pool));
        ck_assert_ptr_null(logto_statedir_parent_problem(
            apr_pstrcat(pool, base, "/state", NULL), pool));
    }
    else {
        /* not root's */
        ck_assert_ptr_nonnull(logto_statedir_parent_problem(
            apr_pstrcat(pool, base, "/state", NULL), pool));
    }
    ck_assert_ptr_nonnull(logto_statedir_parent_problem(
        apr_pstrcat(pool, base, "/missing/state", NULL), pool));
    apr_dir_remove(open_dir, pool);
    apr_dir_remove(sticky, pool);
    apr_dir_remove(base, pool);
}
END_TEST

START_TEST(a_state_file_of_another_source_is_not_used)
{
    const char *dir = state_with_keys("state2");
    const char *other = "http://127.0.0.1:1/other/jwks";
    logto_keyring_t *kr;
    const logto_jwks_t *jwks = NULL;
    logto_keyring_stats_t st;
    logto_err_t err;

    /* The file copied to the name of another source. */
    ck_assert_int_eq(apr_file_copy(logto_statedir_path(pool, dir, fi.jwks_uri),
                                   logto_statedir_path(pool, dir, other),
                                   APR_FPROT_FILE_SOURCE_PERMS, pool),
                     APR_SUCCESS);
    memset(events, 0, sizeof(events));
    kr = ring_with_state(dir, 3600);
    logto_keyring_set_notify(kr, count_event, NULL);
    ck_assert_int_ne(
        logto_keyring_get(&jwks, kr, other, NULL, NULL, T0 + 5, &st, &err),
        APR_SUCCESS);
    ck_assert_int_eq(events[LOGTO_KEYRING_STATE_IGNORED], 1);
    remove_state(dir);
}
END_TEST

/* A keyring on the shared cache with a state directory (refresh 300,
 * min refresh 30, max stale 3600). */
static logto_keyring_t *ring_sharing_state(const char *dir)
{
    logto_keyring_timing_t timing = {300, 30, 3600};
    logto_keyring_t *kr = NULL;
    logto_err_t err;

    ck_assert_int_eq(
        logto_keyring_create(&kr, pool, cache, NULL, &timing, &err),
        APR_SUCCESS);
    logto_keyring_set_state_dir(kr, dir, NULL);
    logto_keyring_set_notify(kr, count_event, NULL);
    return kr;
}

/* A genuine but older record put back into the shared cache (a network
 * cache replayed by whoever can write it) never brings back keys the
 * issuer has dropped since: a process starting on it takes the newer
 * keys of the state directory. And a process that starts while the
 * issuer is down serves those at once, without a fetch first. */
START_TEST(a_replayed_older_record_never_brings_back_dropped_keys)
{
    const char *dir = apr_pstrcat(pool, fi.dir, "/state3", NULL);
    const char *key = logto_keyring_record_key(pool, fi.jwks_uri, NULL, NULL);
    logto_keyring_t *kr;
    const logto_jwks_t *jwks = NULL;
    logto_keyring_stats_t st;
    unsigned char *old;
    apr_size_t old_len;
    logto_err_t err;

    start();
    ck_assert_int_eq(apr_dir_make(dir, APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    kr = ring_sharing_state(dir);
    ck_assert_int_eq(keys(&jwks, kr, NULL, T0, &st, &err), APR_SUCCESS);
    ck_assert_int_eq(cache->get(cache->baton, key, &old, &old_len, pool),
                     APR_SUCCESS);
    /* the issuer drops k-es384 for k-es256 */
    serve(file_c);
    ck_assert_int_eq(keys(&jwks, kr, NULL, T0 + 300, &st, &err), APR_SUCCESS);
    ck_assert_ptr_null(logto_jwks_find(jwks, "k-es384"));
    mode("refuse");
    ck_assert_int_eq(cache->set(cache->baton, key, old, old_len,
                                apr_time_now() + apr_time_from_sec(3600), pool),
                     APR_SUCCESS);
    memset(events, 0, sizeof(events));
    kr = ring_sharing_state(dir);
    logto_keyring_set_background(kr, 1);
    ck_assert_int_eq(keys(&jwks, kr, NULL, T0 + 310, &st, &err), APR_SUCCESS);
    ck_assert_ptr_null(logto_jwks_find(jwks, "k-es384"));
    ck_assert_ptr_nonnull(logto_jwks_find(jwks, "k-es256"));
    ck_assert_int_eq(events[LOGTO_KEYRING_STATE_SEEDED], 1);
    /* at once: past its refresh time, the refresher fetches, not this */
    memset(events, 0, sizeof(events));
    kr = ring_sharing_state(dir);
    logto_keyring_set_background(kr, 1);
    ck_assert_int_eq(keys(&jwks, kr, NULL, T0 + 700, &st, &err), APR_SUCCESS);
    ck_assert_int_eq(st.fetches, 0);
    ck_assert_ptr_nonnull(logto_jwks_find(jwks, "k-es256"));
    /* a configured source has them in hand from the child's start */
    kr = ring_sharing_state(dir);
    logto_keyring_set_background(kr, 1);
    logto_keyring_add(kr, fi.jwks_uri, NULL, T0 + 700);
    ck_assert_int_eq(events[LOGTO_KEYRING_STATE_SEEDED], 2);
    ck_assert_int_eq(logto_keyring_get_how(&jwks, kr, fi.jwks_uri, NULL, NULL,
                                           LOGTO_KEYS_IN_HAND, T0 + 700, NULL,
                                           &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(logto_jwks_find(jwks, "k-es384"));
    mode("ok");
    remove_state(dir);
}
END_TEST

/* Without a configured secret a state file's seal is no signature: a
 * file anyone but this user (or root) could have written is never
 * read. Group or other may write it, a symbolic link leads to it, or
 * (as root) another user owns it: refused, said why. */
START_TEST(a_state_file_others_could_write_is_not_read)
{
    const char *dir = apr_pstrcat(pool, fi.dir, "/state4", NULL);
    const char *path, *moved;
    const unsigned char *val;
    apr_size_t len;
    logto_err_t err;

    ck_assert_int_eq(apr_dir_make(dir, APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(logto_statedir_save(dir, "s", NULL, "keys", 4, pool, &err),
                     APR_SUCCESS);
    path = logto_statedir_path(pool, dir, "s");
    ck_assert_int_eq(
        logto_statedir_load(&val, &len, dir, "s", NULL, pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(chmod(path, 0620), 0);
    ck_assert_int_ne(
        logto_statedir_load(&val, &len, dir, "s", NULL, pool, &err),
        APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(err.text, "only its owner may write"));
    ck_assert_int_eq(chmod(path, 0602), 0);
    ck_assert_int_ne(
        logto_statedir_load(&val, &len, dir, "s", NULL, pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(chmod(path, 0600), 0);
    moved = apr_pstrcat(pool, dir, "/elsewhere", NULL);
    ck_assert_int_eq(rename(path, moved), 0);
    ck_assert_int_eq(symlink(moved, path), 0);
    ck_assert_int_ne(
        logto_statedir_load(&val, &len, dir, "s", NULL, pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rename(moved, path), 0);
    if (geteuid() == 0) {
        ck_assert_int_eq(chown(path, 65534, 65534), 0);
        ck_assert_int_ne(
            logto_statedir_load(&val, &len, dir, "s", NULL, pool, &err),
            APR_SUCCESS);
    }
    remove_state(dir);
}
END_TEST

static Suite *keyring_suite(void)
{
    Suite *s = suite_create("keyring");
    TCase *tc = unit_tcase("issuer");
    TCase *tt = unit_tcase("threads");

    tcase_add_unchecked_fixture(tc, issuer_up, issuer_down);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, the_first_use_fetches_once);
    tcase_add_test(tc, fresh_keys_are_not_fetched_again);
    tcase_add_test(tc, keys_past_refresh_are_fetched_once);
    tcase_add_test(tc, an_unknown_kid_refetches_at_most_once_per_min_refresh);
    tcase_add_test(tc, a_new_kid_right_after_a_fetch_refetches);
    tcase_add_test(tc, a_timed_out_attempt_is_not_retried_at_once);
    tcase_add_test(tc, a_known_kid_never_refetches);
    tcase_add_test(tc, a_failed_refresh_serves_stale_keys);
    tcase_add_test(tc, keys_past_max_stale_are_not_served);
    tcase_add_test(tc, no_keys_and_no_issuer_is_an_error);
    tcase_add_test(tc, garbage_never_replaces_a_good_set);
    tcase_add_test(tc, a_new_set_that_parses_is_authoritative);
    tcase_add_test(tc, processes_sharing_a_cache_fetch_once);
    tcase_add_test(tc, a_corrupt_shared_record_is_a_miss);
    tcase_add_test(tc, a_corrupt_shared_record_is_counted);
    tcase_add_test(tc, the_shared_status_is_what_the_cache_holds);
    tcase_add_test(tc, the_shared_status_ignores_a_corrupt_record);
    tcase_add_test(tc, keys_are_found_through_discovery);
    tcase_add_test(tc, a_failed_discovery_is_an_error);
    tcase_add_test(tc, the_status_lists_keys_and_fetches);
    tcase_add_test(tc, the_backoff_doubles_up_to_the_refresh_interval);
    tcase_add_test(tc, a_starved_keyring_retries_every_min_refresh);
    tcase_add_test(tc, with_a_refresher_requests_never_fetch_for_a_refresh);
    tcase_add_test(tc, the_refresher_never_waits_for_the_lock);
    tcase_add_test(tc,
                   a_failed_first_attempt_of_the_refresher_holds_nobody_back);
    tcase_add_test(tc,
                   a_request_waits_for_a_busy_fetch_lock_at_most_the_timeout);
    tcase_add_test(tc, last_good_keys_outlive_a_restart_within_max_stale);
    tcase_add_test(tc, status_shows_keys_from_the_state_directory);
    tcase_add_test(tc, root_writes_only_under_a_parent_of_roots);
    tcase_add_test(tc, a_state_file_of_another_source_is_not_used);
    tcase_add_test(tc, a_replayed_older_record_never_brings_back_dropped_keys);
    tcase_add_test(tc, a_state_file_others_could_write_is_not_read);
    suite_add_tcase(s, tc);
    tcase_set_timeout(tt, 30);
    tcase_add_test(tt, many_threads_and_keyrings_fetch_once);
    tcase_add_test(tt, a_keyring_queued_behind_a_fetch_uses_its_result);
    tcase_add_test(tt, keys_had_without_waiting);
    tcase_add_test(tt, one_sets_fetch_holds_back_no_other);
    suite_add_tcase(s, tt);
    return s;
}

int main(void)
{
    if (logto_fetch_global_init() != APR_SUCCESS) {
        return EXIT_FAILURE;
    }
    return mint_unit_main(NULL, keyring_suite);
}
