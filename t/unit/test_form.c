/*
 * test_form.c - finding access_token in a query string or a form body,
 * however the client spells its name.
 */
#include <string.h>

#include "logto_form.h"
#include "unit.h"

static int has(const char *text)
{
    return logto_form_has_param(text, strlen(text), "access_token");
}

START_TEST(finds_the_parameter_anywhere)
{
    ck_assert(has("access_token=abc"));
    ck_assert(has("a=1&access_token=abc"));
    ck_assert(has("a=1&access_token=abc&b=2"));
    ck_assert(has("a=1;access_token=abc"));
    ck_assert(has("access_token="));
    ck_assert(has("&&access_token=x"));
}
END_TEST

/* A form parser decodes names: so does the search. */
START_TEST(finds_an_encoded_name)
{
    ck_assert(has("access%5Ftoken=abc"));
    ck_assert(has("access%5ftoken=abc"));
    ck_assert(has("%61ccess_token=abc"));
    ck_assert(has("x=1&%61%63%63%65%73%73%5F%74%6F%6B%65%6E=abc"));
}
END_TEST

/* PHP reads a name its own way: what lands in $_POST['access_token'] is
 * found too. */
START_TEST(finds_names_as_php_reads_them)
{
    ck_assert(has("access.token=abc"));
    ck_assert(has("access+token=abc"));
    ck_assert(has("access%20token=abc"));
    ck_assert(has("+access_token=abc"));
    ck_assert(has("%20%20access_token=abc"));
    ck_assert(has("access_token[]=abc"));
    ck_assert(has("access_token[x]=abc"));
    ck_assert(!has("access_token_[]=abc"));
    ck_assert(!has("x+access_token=abc"));
}
END_TEST

START_TEST(other_parameters_are_not_it)
{
    ck_assert(!has(""));
    ck_assert(!has("access_token"));        /* no value */
    ck_assert(!has("access_tokens=abc"));   /* longer name */
    ck_assert(!has("my_access_token=abc")); /* in the middle */
    ck_assert(!has("access_toke=abc"));     /* shorter */
    ck_assert(!has("x=access_token=abc"));  /* in a value */
    ck_assert(!has("access-token=abc"));    /* not PHP's '_' */
    ck_assert(!has("access%5token=abc"));   /* not an escape of _ */
    ck_assert(!has("access%2"));            /* cut escape */
    ck_assert(!has("ACCESS_TOKEN=abc"));    /* names are exact */
    ck_assert(!logto_form_has_param(NULL, 0, "access_token"));
    ck_assert(!logto_form_has_param("a=1", 3, ""));
}
END_TEST

/* Only len bytes are read: the text need not end with a NUL. */
START_TEST(reads_only_len_bytes)
{
    const char text[] = "a=1&access_token=abc";

    ck_assert(!logto_form_has_param(text, 4, "access_token"));
    ck_assert(!logto_form_has_param(text, 16, "access_token"));
    ck_assert(logto_form_has_param(text, 17, "access_token"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("form");
    TCase *tc = unit_tcase("form");

    tcase_add_test(tc, finds_the_parameter_anywhere);
    tcase_add_test(tc, finds_an_encoded_name);
    tcase_add_test(tc, finds_names_as_php_reads_them);
    tcase_add_test(tc, other_parameters_are_not_it);
    tcase_add_test(tc, reads_only_len_bytes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(suite());
}
