/*
 * test_err.c - the caller-owned error: set, clear, names, classes.
 */
#include <string.h>

#include "logto_err.h"
#include "unit.h"

START_TEST(set_fills_reason_and_text)
{
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_int_eq(
        logto_err_set(&err, LOGTO_ERR_EXPIRED, "token %s", "expired"),
        APR_EGENERAL);
    ck_assert_int_eq(err.reason, LOGTO_ERR_EXPIRED);
    ck_assert_str_eq(err.text, "token expired");
}
END_TEST

START_TEST(clear_resets)
{
    logto_err_t err;

    logto_err_set(&err, LOGTO_ERR_SIGNATURE, "signature invalid");
    logto_err_clear(&err);
    ck_assert_int_eq(err.reason, LOGTO_OK);
    ck_assert_str_eq(err.text, "");
}
END_TEST

START_TEST(set_truncates_long_text)
{
    logto_err_t err;
    char big[1000];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    logto_err_set(&err, LOGTO_ERR_INTERNAL, "%s", big);
    ck_assert_uint_eq(strlen(err.text), sizeof(err.text) - 1);
}
END_TEST

START_TEST(set_and_clear_accept_null)
{
    logto_err_clear(NULL);
    ck_assert_int_eq(logto_err_set(NULL, LOGTO_ERR_KEY, "x"), APR_EGENERAL);
}
END_TEST

START_TEST(every_reason_has_a_distinct_name)
{
    int i, j;

    for (i = 0; i < LOGTO_ERR__COUNT; i++) {
        const char *a = logto_reason_name((logto_reason_t)i);

        ck_assert_ptr_nonnull(a);
        ck_assert_str_ne(a, "unknown");
        for (j = 0; j < i; j++) {
            ck_assert_str_ne(a, logto_reason_name((logto_reason_t)j));
        }
    }
}
END_TEST

START_TEST(names_are_stable)
{
    ck_assert_str_eq(logto_reason_name(LOGTO_ERR_SIGNATURE),
                     "signature_invalid");
    ck_assert_str_eq(logto_reason_name(LOGTO_ERR_EXPIRED), "token_expired");
    ck_assert_str_eq(logto_reason_name(LOGTO_OK), "ok");
}
END_TEST

START_TEST(out_of_range_is_unknown)
{
    ck_assert_str_eq(logto_reason_name(LOGTO_ERR__COUNT), "unknown");
    ck_assert_str_eq(logto_reason_name((logto_reason_t)-1), "unknown");
}
END_TEST

START_TEST(token_reasons_are_told_apart)
{
    ck_assert(logto_reason_is_token(LOGTO_ERR_TOO_LARGE));
    ck_assert(logto_reason_is_token(LOGTO_ERR_SIGNATURE));
    ck_assert(logto_reason_is_token(LOGTO_ERR_CLAIM_TYPE));
    ck_assert(logto_reason_is_token(LOGTO_ERR_IAT_FUTURE));
    ck_assert(!logto_reason_is_token(LOGTO_OK));
    ck_assert(!logto_reason_is_token(LOGTO_ERR_JWKS));
    ck_assert(!logto_reason_is_token(LOGTO_ERR_KEY));
    ck_assert(!logto_reason_is_token(LOGTO_ERR_CONFIG));
    ck_assert(!logto_reason_is_token(LOGTO_ERR_FETCH));
    ck_assert(!logto_reason_is_token(LOGTO_ERR_INTERNAL));
}
END_TEST

static Suite *err_suite(void)
{
    Suite *s = suite_create("err");
    TCase *tc = unit_tcase("err");

    tcase_add_test(tc, set_fills_reason_and_text);
    tcase_add_test(tc, clear_resets);
    tcase_add_test(tc, set_truncates_long_text);
    tcase_add_test(tc, set_and_clear_accept_null);
    tcase_add_test(tc, every_reason_has_a_distinct_name);
    tcase_add_test(tc, names_are_stable);
    tcase_add_test(tc, out_of_range_is_unknown);
    tcase_add_test(tc, token_reasons_are_told_apart);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(err_suite());
}
