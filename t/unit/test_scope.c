/*
 * test_scope.c - OAuth scope strings: split, has, missing.
 */
#include <apr_tables.h>

#include "logto_scope.h"
#include "unit.h"

static const char *word(const apr_array_header_t *a, int i)
{
    return APR_ARRAY_IDX(a, i, const char *);
}

START_TEST(split_cuts_on_spaces)
{
    apr_array_header_t *a = logto_scope_split(pool, "read:products write:x");

    ck_assert_int_eq(a->nelts, 2);
    ck_assert_str_eq(word(a, 0), "read:products");
    ck_assert_str_eq(word(a, 1), "write:x");
}
END_TEST

START_TEST(split_drops_empty_words)
{
    apr_array_header_t *a = logto_scope_split(pool, "  a   b  ");

    ck_assert_int_eq(a->nelts, 2);
    ck_assert_str_eq(word(a, 0), "a");
    ck_assert_str_eq(word(a, 1), "b");
}
END_TEST

START_TEST(split_of_nothing_is_empty)
{
    ck_assert_int_eq(logto_scope_split(pool, NULL)->nelts, 0);
    ck_assert_int_eq(logto_scope_split(pool, "")->nelts, 0);
    ck_assert_int_eq(logto_scope_split(pool, "   ")->nelts, 0);
}
END_TEST

START_TEST(split_keeps_other_characters)
{
    /* Only the space separates (RFC 6749 section 3.3): a tab is part of
     * a word and never widens what a token grants. */
    apr_array_header_t *a = logto_scope_split(pool, "a\tb c");

    ck_assert_int_eq(a->nelts, 2);
    ck_assert_str_eq(word(a, 0), "a\tb");
}
END_TEST

START_TEST(has_is_exact)
{
    apr_array_header_t *a = logto_scope_split(pool, "read:products admin");

    ck_assert(logto_scope_has(a, "read:products"));
    ck_assert(logto_scope_has(a, "admin"));
    ck_assert(!logto_scope_has(a, "read"));
    ck_assert(!logto_scope_has(a, "Admin"));
    ck_assert(!logto_scope_has(a, "admin "));
    ck_assert(!logto_scope_has(NULL, "admin"));
}
END_TEST

START_TEST(missing_none_is_null)
{
    apr_array_header_t *g = logto_scope_split(pool, "a b c");

    ck_assert_ptr_null(
        logto_scope_missing(pool, g, logto_scope_split(pool, "c a")));
    ck_assert_ptr_null(
        logto_scope_missing(pool, g, logto_scope_split(pool, "")));
}
END_TEST

START_TEST(missing_lists_in_required_order)
{
    apr_array_header_t *g = logto_scope_split(pool, "b");

    ck_assert_str_eq(
        logto_scope_missing(pool, g, logto_scope_split(pool, "a b c")), "a c");
}
END_TEST

START_TEST(missing_from_no_grant_is_all)
{
    ck_assert_str_eq(logto_scope_missing(pool, logto_scope_split(pool, NULL),
                                         logto_scope_split(pool, "x y")),
                     "x y");
}
END_TEST

START_TEST(union_keeps_each_scope_once)
{
    ck_assert_str_eq(logto_scope_union(pool, "s:a", "s:a s:b"), "s:a s:b");
    ck_assert_str_eq(logto_scope_union(pool, NULL, "s:b  s:b"), "s:b");
    ck_assert_str_eq(logto_scope_union(pool, "s:b s:a", NULL), "s:b s:a");
    ck_assert_str_eq(logto_scope_union(pool, "s:a", "s:ab"), "s:a s:ab");
    ck_assert_ptr_null(logto_scope_union(pool, NULL, NULL));
    ck_assert_ptr_null(logto_scope_union(pool, " ", ""));
}
END_TEST

START_TEST(token_is_printable_ascii_without_space_quote_backslash)
{
    ck_assert(logto_scope_token_valid("read:products"));
    ck_assert(logto_scope_token_valid("!#[]~"));
    ck_assert(!logto_scope_token_valid(""));
    ck_assert(!logto_scope_token_valid(NULL));
    ck_assert(!logto_scope_token_valid("a b"));
    ck_assert(!logto_scope_token_valid("a\"b"));
    ck_assert(!logto_scope_token_valid("a\\b"));
    ck_assert(!logto_scope_token_valid("a\tb"));
    ck_assert(!logto_scope_token_valid("a\x7f"));
    ck_assert(!logto_scope_token_valid("s:\xc3\xbc"));
}
END_TEST

static Suite *scope_suite(void)
{
    Suite *s = suite_create("scope");
    TCase *tc = unit_tcase("scope");

    tcase_add_test(tc, split_cuts_on_spaces);
    tcase_add_test(tc, split_drops_empty_words);
    tcase_add_test(tc, split_of_nothing_is_empty);
    tcase_add_test(tc, split_keeps_other_characters);
    tcase_add_test(tc, has_is_exact);
    tcase_add_test(tc, missing_none_is_null);
    tcase_add_test(tc, missing_lists_in_required_order);
    tcase_add_test(tc, missing_from_no_grant_is_all);
    tcase_add_test(tc, union_keeps_each_scope_once);
    tcase_add_test(tc, token_is_printable_ascii_without_space_quote_backslash);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(scope_suite());
}
