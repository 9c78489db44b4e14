/*
 * unit.h - what every Check unit test program shares: a pool per test and
 * a main that reports in TAP on standard output.
 */
#ifndef LOGTO_UNIT_H
#define LOGTO_UNIT_H

#include <check.h>
#include <stdlib.h>

#include <apr_general.h>
#include <apr_pools.h>

/* The pool of the running test, created by unit_setup and destroyed by
 * unit_teardown (checked fixtures, so they run in the forked child). */
static apr_pool_t *pool;

static void unit_setup(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
}

static void unit_teardown(void)
{
    apr_pool_destroy(pool);
    pool = NULL;
    apr_terminate();
}

/* A test case with the pool fixture. */
static inline TCase *unit_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, unit_setup, unit_teardown);
    return tc;
}

/* Run the suite, one TAP line per test on stdout; exit non-zero on any
 * failure. */
static inline int unit_main(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_set_tap(sr, "-");
    srunner_run_all(sr, CK_SILENT);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif /* LOGTO_UNIT_H */
