/*
 * test_b64url.c - strict unpadded base64url.
 */
#include <string.h>

#include <openssl/evp.h>

#include "logto_b64url.h"
#include "unit.h"

/* Decode s, expecting success; the bytes and their count. */
static const char *decode_ok(const char *s, apr_size_t *plen)
{
    unsigned char *out;
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_int_eq(logto_b64url_decode(&out, plen, pool, s, strlen(s), &err),
                     APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_OK);
    return (const char *)out;
}

/* Decode s, expecting a refusal as malformed. */
static void decode_refused(const char *s)
{
    unsigned char *out;
    apr_size_t len;
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_int_ne(logto_b64url_decode(&out, &len, pool, s, strlen(s), &err),
                     APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_MALFORMED);
    ck_assert_ptr_null(out);
    ck_assert_str_ne(err.text, "");
}

START_TEST(rfc4648_vectors_decode)
{
    apr_size_t len;

    ck_assert_str_eq(decode_ok("", &len), "");
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(decode_ok("Zg", &len), "f");
    ck_assert_str_eq(decode_ok("Zm8", &len), "fo");
    ck_assert_str_eq(decode_ok("Zm9v", &len), "foo");
    ck_assert_str_eq(decode_ok("Zm9vYg", &len), "foob");
    ck_assert_str_eq(decode_ok("Zm9vYmE", &len), "fooba");
    ck_assert_str_eq(decode_ok("Zm9vYmFy", &len), "foobar");
    ck_assert_uint_eq(len, 6);
}
END_TEST

START_TEST(url_alphabet_decodes)
{
    apr_size_t len;
    const unsigned char *out = (const unsigned char *)decode_ok("-_-_", &len);

    ck_assert_uint_eq(len, 3);
    ck_assert_uint_eq(out[0], 0xfb);
    ck_assert_uint_eq(out[1], 0xff);
    ck_assert_uint_eq(out[2], 0xbf);
}
END_TEST

START_TEST(jws_header_decodes)
{
    apr_size_t len;

    ck_assert_str_eq(decode_ok("eyJhbGciOiJSUzI1NiJ9", &len),
                     "{\"alg\":\"RS256\"}");
}
END_TEST

START_TEST(padding_is_refused)
{
    decode_refused("Zg==");
    decode_refused("Zm8=");
    decode_refused("Zm9vYg==");
}
END_TEST

START_TEST(standard_alphabet_is_refused)
{
    decode_refused("+/+/");
    decode_refused("ab+c");
    decode_refused("ab/c");
}
END_TEST

START_TEST(whitespace_and_strays_are_refused)
{
    decode_refused("Zm9v Yg");
    decode_refused("Zm9v\nYg");
    decode_refused(" Zm9v");
    decode_refused("Zm9v\t");
    decode_refused("Zm9v.Yg");
    decode_refused("Zm9v\xc3\xa9");
}
END_TEST

START_TEST(length_4n_plus_1_is_refused)
{
    decode_refused("A");
    decode_refused("Zm9vY");
}
END_TEST

START_TEST(nonzero_trailing_bits_are_refused)
{
    decode_refused("Zh");  /* "Zg" is the one encoding of "f" */
    decode_refused("Zm9"); /* "Zm8" is the one encoding of "fo" */
    decode_refused("Zm_");
}
END_TEST

START_TEST(embedded_nul_is_refused)
{
    unsigned char *out;
    apr_size_t len;
    logto_err_t err;

    ck_assert_int_ne(logto_b64url_decode(&out, &len, pool, "Zm\0v", 4, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_MALFORMED);
}
END_TEST

START_TEST(encode_round_trips)
{
    unsigned char bytes[256];
    apr_size_t i, len;

    ck_assert_str_eq(logto_b64url_encode(pool, (const unsigned char *)"", 0),
                     "");
    ck_assert_str_eq(
        logto_b64url_encode(pool, (const unsigned char *)"foobar", 4),
        "Zm9vYg");
    for (i = 0; i < sizeof(bytes); i++) {
        bytes[i] = (unsigned char)(255 - i);
    }
    for (i = 0; i <= sizeof(bytes); i += 37) {
        const char *enc = logto_b64url_encode(pool, bytes, i);
        const char *dec = decode_ok(enc, &len);

        ck_assert_uint_eq(len, i);
        ck_assert_int_eq(memcmp(dec, bytes, i), 0);
        ck_assert_ptr_null(strpbrk(enc, "=+/"));
    }
}
END_TEST

/* OpenSSL's decoder, the judge: in translated to the standard alphabet
 * and padded. The decoded length, or -1 when OpenSSL refuses. */
static int openssl_decode(unsigned char *out, const char *in, apr_size_t len)
{
    char std[16];
    apr_size_t i, pad = (4 - len % 4) % 4;
    int n;

    for (i = 0; i < len; i++) {
        std[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
        if (in[i] == '+' || in[i] == '/' || in[i] == '=') {
            return -1; /* the standard alphabet is not base64url */
        }
    }
    memset(std + len, '=', pad);
    n = EVP_DecodeBlock(out, (const unsigned char *)std, (int)(len + pad));
    return n < 0 ? -1 : n - (int)(pad);
}

/* Every byte at every position of a final group of 2, 3 and 4 characters
 * after a whole group ("Zm9v"): decoded exactly as OpenSSL decodes it,
 * refused where OpenSSL refuses it or where set spare bits make a second
 * encoding of the same bytes. */
START_TEST(every_byte_at_every_position)
{
    const char *fill = "QUJD"; /* a valid group, "ABC" */
    unsigned char theirs[16], *ours;
    char in[8];
    apr_size_t glen, pos, len, outlen;
    unsigned c;
    logto_err_t err;

    for (glen = 2; glen <= 4; glen++) {
        for (pos = 0; pos < glen; pos++) {
            for (c = 0; c < 256; c++) {
                int n, canonical;

                memcpy(in, "Zm9v", 4);
                memcpy(in + 4, fill, glen);
                in[4 + pos] = (char)c;
                len = 4 + glen;
                n = openssl_decode(theirs, in, len);
                /* the one encoding: re-encoding gives the same text */
                canonical =
                    n >= 0 &&
                    !strncmp(logto_b64url_encode(pool, theirs, (apr_size_t)n),
                             in, len);
                logto_err_clear(&err);
                if (logto_b64url_decode(&ours, &outlen, pool, in, len, &err) ==
                    APR_SUCCESS) {
                    ck_assert_msg(canonical, "accepted: len %d, byte %u at %d",
                                  (int)len, c, (int)pos);
                    ck_assert_uint_eq(outlen, (apr_size_t)n);
                    ck_assert_int_eq(memcmp(ours, theirs, outlen), 0);
                }
                else {
                    ck_assert_msg(!canonical, "refused: len %d, byte %u at %d",
                                  (int)len, c, (int)pos);
                    ck_assert_int_eq(err.reason, LOGTO_ERR_MALFORMED);
                }
            }
        }
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("b64url");
    TCase *tc = unit_tcase("b64url");

    tcase_add_test(tc, rfc4648_vectors_decode);
    tcase_add_test(tc, url_alphabet_decodes);
    tcase_add_test(tc, jws_header_decodes);
    tcase_add_test(tc, padding_is_refused);
    tcase_add_test(tc, standard_alphabet_is_refused);
    tcase_add_test(tc, whitespace_and_strays_are_refused);
    tcase_add_test(tc, length_4n_plus_1_is_refused);
    tcase_add_test(tc, nonzero_trailing_bits_are_refused);
    tcase_add_test(tc, embedded_nul_is_refused);
    tcase_add_test(tc, encode_round_trips);
    tcase_add_test(tc, every_byte_at_every_position);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(suite());
}
