/*
 * test_record.c - sealed records: what goes into the shared cache comes
 * back only unchanged, under its own name and the same secret.
 */
#include <string.h>

#include "logto_record.h"
#include "unit.h"

static const unsigned char bytes_a[32] = "secret-a-secret-a-secret-a-secr";
static const unsigned char bytes_b[32] = "secret-b-secret-b-secret-b-secr";
static const logto_secret_t secret_a = {bytes_a, sizeof(bytes_a)};
static const logto_secret_t secret_b = {bytes_b, sizeof(bytes_b)};

static unsigned char *seal(apr_size_t *plen, const char *name,
                           const char *payload)
{
    return logto_record_seal(plen, pool, &secret_a, name, payload,
                             strlen(payload));
}

START_TEST(a_sealed_record_opens_unchanged)
{
    apr_size_t len, n;
    unsigned char *rec = seal(&len, "jwks:u", "the payload");
    const unsigned char *out;
    logto_err_t err;

    ck_assert_uint_eq(len, LOGTO_RECORD_OVERHEAD + 11);
    ck_assert_uint_eq(logto_record_length(rec, len), len);
    ck_assert_int_eq(
        logto_record_open(&out, &n, &secret_a, "jwks:u", rec, len, &err),
        APR_SUCCESS);
    ck_assert_uint_eq(n, 11);
    ck_assert_int_eq(memcmp(out, "the payload", 11), 0);
}
END_TEST

START_TEST(an_empty_payload_seals_too)
{
    apr_size_t len, n = 99;
    unsigned char *rec = seal(&len, "tok:x", "");
    const unsigned char *out;
    logto_err_t err;

    ck_assert_int_eq(
        logto_record_open(&out, &n, &secret_a, "tok:x", rec, len, &err),
        APR_SUCCESS);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(another_secret_fails_the_check)
{
    apr_size_t len, n;
    unsigned char *rec = seal(&len, "jwks:u", "the payload");
    const unsigned char *out;
    logto_err_t err;

    ck_assert_int_ne(
        logto_record_open(&out, &n, &secret_b, "jwks:u", rec, len, &err),
        APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(err.text, "authentication check"));
    ck_assert_int_ne(
        logto_record_open(&out, &n, NULL, "jwks:u", rec, len, &err),
        APR_SUCCESS);
}
END_TEST

START_TEST(a_record_under_another_name_fails_the_check)
{
    apr_size_t len, n;
    unsigned char *rec = seal(&len, "tok:genuine", "thumbprint");
    const unsigned char *out;
    logto_err_t err;

    ck_assert_int_ne(
        logto_record_open(&out, &n, &secret_a, "tok:forged", rec, len, &err),
        APR_SUCCESS);
}
END_TEST

START_TEST(any_changed_byte_fails_the_check)
{
    apr_size_t len, n, i;
    unsigned char *rec = seal(&len, "jwks:u", "payload bytes");
    const unsigned char *out;
    logto_err_t err;

    for (i = 0; i < len; i++) {
        rec[i] ^= 0x01;
        ck_assert_int_ne(
            logto_record_open(&out, &n, &secret_a, "jwks:u", rec, len, &err),
            APR_SUCCESS);
        rec[i] ^= 0x01;
    }
    ck_assert_int_eq(
        logto_record_open(&out, &n, &secret_a, "jwks:u", rec, len, &err),
        APR_SUCCESS);
}
END_TEST

START_TEST(a_truncated_or_extended_record_fails)
{
    apr_size_t len, n;
    unsigned char *rec = seal(&len, "jwks:u", "payload bytes");
    unsigned char *longer = apr_pcalloc(pool, len + 1);
    const unsigned char *out;
    logto_err_t err;

    ck_assert_int_ne(
        logto_record_open(&out, &n, &secret_a, "jwks:u", rec, len - 1, &err),
        APR_SUCCESS);
    ck_assert_int_ne(
        logto_record_open(&out, &n, &secret_a, "jwks:u", rec, 7, &err),
        APR_SUCCESS);
    memcpy(longer, rec, len);
    ck_assert_int_ne(
        logto_record_open(&out, &n, &secret_a, "jwks:u", longer, len + 1, &err),
        APR_SUCCESS);
    ck_assert_int_ne(logto_record_open(&out, &n, &secret_a, "jwks:u",
                                       (const unsigned char *)"LKR2....", 8,
                                       &err),
                     APR_SUCCESS);
}
END_TEST

static Suite *record_suite(void)
{
    Suite *s = suite_create("record");
    TCase *tc = unit_tcase("seal");

    tcase_add_test(tc, a_sealed_record_opens_unchanged);
    tcase_add_test(tc, an_empty_payload_seals_too);
    tcase_add_test(tc, another_secret_fails_the_check);
    tcase_add_test(tc, a_record_under_another_name_fails_the_check);
    tcase_add_test(tc, any_changed_byte_fails_the_check);
    tcase_add_test(tc, a_truncated_or_extended_record_fails);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(record_suite());
}
