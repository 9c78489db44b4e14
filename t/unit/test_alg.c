/*
 * test_alg.c - algorithm names and configured sets.
 */
#include <string.h>

#include "logto_alg.h"
#include "unit.h"

static const char *const all_names[] = {"ES256", "ES384", "ES512", "RS256",
                                        "RS384", "RS512", "PS256", "PS384",
                                        "PS512", "EdDSA", NULL};

START_TEST(names_round_trip)
{
    int i;

    for (i = 0; all_names[i] != NULL; i++) {
        logto_alg_t alg = logto_alg_from_name(all_names[i]);

        ck_assert_int_ne(alg, LOGTO_ALG_NONE_KNOWN);
        ck_assert_str_eq(logto_alg_name(alg), all_names[i]);
    }
    ck_assert_int_eq(i, LOGTO_ALG__COUNT - 1);
}
END_TEST

START_TEST(names_are_case_sensitive)
{
    ck_assert_int_eq(logto_alg_from_name("es384"), LOGTO_ALG_NONE_KNOWN);
    ck_assert_int_eq(logto_alg_from_name("EDDSA"), LOGTO_ALG_NONE_KNOWN);
    ck_assert_int_eq(logto_alg_from_name("ES384 "), LOGTO_ALG_NONE_KNOWN);
    ck_assert_int_eq(logto_alg_from_name(""), LOGTO_ALG_NONE_KNOWN);
    ck_assert_int_eq(logto_alg_from_name(NULL), LOGTO_ALG_NONE_KNOWN);
    ck_assert_str_eq(logto_alg_name(LOGTO_ALG_NONE_KNOWN), "unknown");
    ck_assert_str_eq(logto_alg_name(LOGTO_ALG__COUNT), "unknown");
}
END_TEST

START_TEST(none_and_hmac_are_forbidden)
{
    ck_assert(logto_alg_is_forbidden("none"));
    ck_assert(logto_alg_is_forbidden("None"));
    ck_assert(logto_alg_is_forbidden("NONE"));
    ck_assert(logto_alg_is_forbidden("HS256"));
    ck_assert(logto_alg_is_forbidden("HS384"));
    ck_assert(logto_alg_is_forbidden("HS512"));
    ck_assert(logto_alg_is_forbidden("hs256"));
    ck_assert(!logto_alg_is_forbidden("ES384"));
    ck_assert(!logto_alg_is_forbidden("RS256"));
    ck_assert(!logto_alg_is_forbidden("nonesuch"));
    ck_assert(!logto_alg_is_forbidden(NULL));
}
END_TEST

START_TEST(default_set_holds_every_known_alg)
{
    int i;

    for (i = LOGTO_ALG_NONE_KNOWN + 1; i < LOGTO_ALG__COUNT; i++) {
        ck_assert(logto_algset_has(LOGTO_ALGSET_DEFAULT, (logto_alg_t)i));
    }
    ck_assert(!logto_algset_has(LOGTO_ALGSET_DEFAULT, LOGTO_ALG_NONE_KNOWN));
}
END_TEST

START_TEST(list_parses_with_spaces_and_commas)
{
    logto_algset_t set;
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_int_eq(logto_algset_parse(&set, " ES384,RS256 ,\tEdDSA ", &err),
                     APR_SUCCESS);
    ck_assert(logto_algset_has(set, LOGTO_ALG_ES384));
    ck_assert(logto_algset_has(set, LOGTO_ALG_RS256));
    ck_assert(logto_algset_has(set, LOGTO_ALG_EDDSA));
    ck_assert(!logto_algset_has(set, LOGTO_ALG_ES256));
    ck_assert(!logto_algset_has(set, LOGTO_ALG_PS256));
}
END_TEST

/* Parse list expecting a configuration error whose text holds word. */
static void list_refused(const char *list, const char *word)
{
    logto_algset_t set = 1;
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_int_ne(logto_algset_parse(&set, list, &err), APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_CONFIG);
    ck_assert_uint_eq(set, 0);
    ck_assert_ptr_nonnull(strstr(err.text, word));
}

START_TEST(forbidden_names_in_a_list_are_refused)
{
    list_refused("ES384 none", "'none'");
    list_refused("NONE", "'NONE'");
    list_refused("RS256,HS256", "'HS256'");
}
END_TEST

START_TEST(unknown_names_in_a_list_are_refused)
{
    list_refused("ES384 ES999", "unknown algorithm 'ES999'");
    list_refused("es384", "'es384'");
}
END_TEST

START_TEST(empty_list_is_refused)
{
    list_refused("", "no algorithm");
    list_refused(" , ", "no algorithm");
    list_refused(NULL, "no algorithm");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("alg");
    TCase *tc = unit_tcase("alg");

    tcase_add_test(tc, names_round_trip);
    tcase_add_test(tc, names_are_case_sensitive);
    tcase_add_test(tc, none_and_hmac_are_forbidden);
    tcase_add_test(tc, default_set_holds_every_known_alg);
    tcase_add_test(tc, list_parses_with_spaces_and_commas);
    tcase_add_test(tc, forbidden_names_in_a_list_are_refused);
    tcase_add_test(tc, unknown_names_in_a_list_are_refused);
    tcase_add_test(tc, empty_list_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(suite());
}
