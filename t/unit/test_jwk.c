/*
 * test_jwk.c - JSON Web Keys and key sets: what is used, what is skipped
 * and why. Keys come from the RFCs and from t/data/mint.pl.
 */
#include <string.h>

#include <apr_strings.h>
#include <openssl/obj_mac.h>

#include "logto_jwk.h"
#include "logto_json.h"
#include "mint.h"
#include "unit.h"

/* RFC 7515 appendix A.3, public members. */
#define RFC7515_P256_JWK                                                       \
    "{\"kty\":\"EC\",\"crv\":\"P-256\","                                       \
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","                   \
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}"

/* RFC 7638 section 3.1: the key and its thumbprint. */
#define RFC7638_RSA_JWK                                                        \
    "{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM7"  \
    "8LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMst"   \
    "n64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY36"   \
    "8QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"   \
    "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kE"   \
    "gU8awapJzKnqDKgw\",\"e\":\"AQAB\",\"alg\":\"RS256\","                     \
    "\"kid\":\"2011-04-29\"}"
#define RFC7638_RSA_THUMBPRINT "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

/* RFC 8037 appendix A.2 and its thumbprint, A.3. */
#define RFC8037_ED25519_JWK                                                    \
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","                                    \
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"
#define RFC8037_THUMBPRINT "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

static json_t *json_of(const char *s)
{
    json_t *json;
    logto_err_t err;

    ck_assert_int_eq(logto_json_parse_object(&json, pool, s, strlen(s),
                                             LOGTO_JSON_MAX_DEPTH,
                                             LOGTO_ERR_KEY, &err),
                     APR_SUCCESS);
    return json;
}

/* The minted JWK `name` with member set to value (JSON text), or removed
 * when value is NULL. */
static json_t *minted_with(const char *name, const char *member,
                           const char *value)
{
    json_t *jwk = json_deep_copy(json_of(mint_get(name)));

    logto_json_own(pool, jwk);
    if (value == NULL) {
        json_object_del(jwk, member);
    }
    else {
        json_object_set_new(jwk, member,
                            json_loads(value, JSON_DECODE_ANY, NULL));
    }
    return jwk;
}

static const logto_jwk_t *key_ok(const json_t *json)
{
    logto_jwk_t *k = NULL;
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_msg(logto_jwk_from_json(&k, pool, json, &err) == APR_SUCCESS,
                  "key refused: %s", err.text);
    ck_assert_ptr_nonnull(k->pkey);
    return k;
}

/* Expect json refused as a key, with a text holding why. */
static void key_refused(const json_t *json, const char *why)
{
    logto_jwk_t *k = (logto_jwk_t *)1;
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_int_ne(logto_jwk_from_json(&k, pool, json, &err), APR_SUCCESS);
    ck_assert_ptr_null(k);
    ck_assert_int_eq(err.reason, LOGTO_ERR_KEY);
    ck_assert_msg(strstr(err.text, why) != NULL, "'%s' lacks '%s'", err.text,
                  why);
}

START_TEST(rfc7515_p256_key_loads)
{
    const logto_jwk_t *k = key_ok(json_of(RFC7515_P256_JWK));

    ck_assert_int_eq(k->kty, LOGTO_KTY_EC);
    ck_assert_int_eq(k->curve_nid, NID_X9_62_prime256v1);
    ck_assert_int_eq(k->bits, 256);
    ck_assert_int_eq(k->alg, LOGTO_ALG_NONE_KNOWN);
    ck_assert_ptr_null(k->kid);
}
END_TEST

START_TEST(rfc7638_rsa_thumbprint)
{
    const logto_jwk_t *k = key_ok(json_of(RFC7638_RSA_JWK));

    ck_assert_str_eq(k->thumbprint, RFC7638_RSA_THUMBPRINT);
    ck_assert_str_eq(k->kid, "2011-04-29");
    ck_assert_int_eq(k->alg, LOGTO_ALG_RS256);
    ck_assert_int_eq(k->bits, 2048);
}
END_TEST

START_TEST(rfc8037_ed25519_thumbprint)
{
    const logto_jwk_t *k = key_ok(json_of(RFC8037_ED25519_JWK));

    ck_assert_int_eq(k->kty, LOGTO_KTY_OKP);
    ck_assert_int_eq(k->curve_nid, NID_ED25519);
    ck_assert_str_eq(k->thumbprint, RFC8037_THUMBPRINT);
}
END_TEST

START_TEST(minted_keys_load_with_their_thumbprints)
{
    static const char *const names[] = {"es384", "es256", "rsa", "ed"};
    static const int bits[] = {384, 256, 2048, 256};
    int i;

    for (i = 0; i < 4; i++) {
        const logto_jwk_t *k = key_ok(
            json_of(mint_get(apr_pstrcat(pool, "jwk_", names[i], NULL))));

        ck_assert_str_eq(k->thumbprint,
                         mint_get(apr_pstrcat(pool, "tp_", names[i], NULL)));
        ck_assert_str_eq(k->kid, apr_pstrcat(pool, "k-", names[i], NULL));
        ck_assert_int_eq(k->bits, bits[i]);
    }
}
END_TEST

START_TEST(private_members_are_refused)
{
    key_refused(minted_with("jwk_es384", "d", "\"AAAA\""), "private");
    key_refused(minted_with("jwk_rsa", "p", "\"AAAA\""), "private");
    key_refused(minted_with("jwk_ed", "d", "\"AAAA\""), "private");
    key_refused(json_of("{\"kty\":\"oct\",\"k\":\"AAAA\"}"), "private");
}
END_TEST

START_TEST(use_other_than_sig_is_refused)
{
    key_refused(minted_with("jwk_es384", "use", "\"enc\""), "use");
    key_refused(minted_with("jwk_es384", "use", "1"), "use");
    key_ok(minted_with("jwk_es384", "use", NULL));
}
END_TEST

START_TEST(key_ops_without_verify_are_refused)
{
    key_refused(minted_with("jwk_rsa", "key_ops", "[\"sign\",\"encrypt\"]"),
                "key_ops");
    key_refused(minted_with("jwk_rsa", "key_ops", "[]"), "key_ops");
    key_refused(minted_with("jwk_rsa", "key_ops", "\"verify\""), "key_ops");
    key_ok(minted_with("jwk_rsa", "key_ops", "[\"sign\",\"verify\"]"));
}
END_TEST

START_TEST(declared_alg_must_be_usable)
{
    key_refused(minted_with("jwk_es384", "alg", "\"none\""), "forbidden");
    key_refused(minted_with("jwk_rsa", "alg", "\"HS256\""), "forbidden");
    key_refused(minted_with("jwk_rsa", "alg", "\"RSA-OAEP\""), "unknown");
    key_refused(minted_with("jwk_rsa", "alg", "7"), "not a string");
}
END_TEST

START_TEST(declared_alg_must_fit_the_key)
{
    key_refused(minted_with("jwk_es384", "alg", "\"ES256\""), "does not fit");
    key_refused(minted_with("jwk_es256", "alg", "\"RS256\""), "does not fit");
    key_refused(minted_with("jwk_rsa", "alg", "\"EdDSA\""), "does not fit");
    key_refused(minted_with("jwk_ed", "alg", "\"ES512\""), "does not fit");
    key_ok(minted_with("jwk_rsa", "alg", "\"PS512\""));
}
END_TEST

START_TEST(small_rsa_key_is_refused)
{
    key_refused(json_of(mint_get("jwk_rsa1024")), "RSA key of 1024 bits");
}
END_TEST

START_TEST(bad_rsa_exponent_is_refused)
{
    key_refused(minted_with("jwk_rsa", "e", "\"AQAA\""), "exponent");
    key_refused(minted_with("jwk_rsa", "e", "\"AQ\""), "exponent");
    key_refused(minted_with("jwk_rsa", "e", "\"AQAAAAAAAAAAAQ\""), "exponent");
    key_refused(minted_with("jwk_rsa", "e", NULL), "member e missing");
}
END_TEST

START_TEST(ec_coordinates_of_wrong_length_are_refused)
{
    /* A P-256 x offered for a P-384 key, and a coordinate one byte
     * short (a leading zero dropped). */
    key_refused(minted_with("jwk_es384", "x",
                            "\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\""),
                "wrong length");
    key_refused(minted_with("jwk_es256", "y",
                            "\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a\""),
                "base64url");
    key_refused(minted_with("jwk_es256", "y",
                            "\"x_FEzRu9m36HLN_tue659LNpXW6p"
                            "CyStikYjKIWI5Q\""),
                "wrong length");
}
END_TEST

START_TEST(ec_point_off_the_curve_is_refused)
{
    json_t *jwk = json_of(RFC7515_P256_JWK);

    json_object_set_new(jwk, "y",
                        json_string("x_FEzRu9m36HLN_tue659LNpXW6"
                                    "pCyStikYjKIWI5a4"));
    key_refused(jwk, "curve");
}
END_TEST

START_TEST(unknown_types_and_curves_are_refused)
{
    key_refused(minted_with("jwk_es384", "crv", "\"P-192\""), "curve");
    key_refused(minted_with("jwk_es256", "crv", "\"secp256k1\""), "curve");
    key_refused(minted_with("jwk_ed", "crv", "\"X25519\""), "curve");
    key_refused(minted_with("jwk_ed", "crv", "\"Ed448\""), "curve");
    key_refused(minted_with("jwk_es384", "kty", "\"oct\""), "key type");
    key_refused(minted_with("jwk_es384", "kty", NULL), "key type");
}
END_TEST

START_TEST(ed25519_key_of_wrong_length_is_refused)
{
    key_refused(minted_with("jwk_ed", "x",
                            "\"11qYAYKxCrfVS_7TyWQHOg7hcvPapi"
                            "MlrwIaaPcHUQ\""),
                "wrong length");
}
END_TEST

START_TEST(bad_members_are_refused)
{
    key_refused(minted_with("jwk_es384", "kid", "42"), "kid");
    key_refused(minted_with("jwk_rsa", "n", "\"ab+c\""), "base64url");
    key_refused(minted_with("jwk_rsa", "n", "12"), "member n missing");
}
END_TEST

START_TEST(minted_set_loads_every_key)
{
    const char *doc = mint_get("jwks");
    logto_jwks_t *jwks;
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_int_eq(logto_jwks_parse(&jwks, pool, doc, strlen(doc), &err),
                     APR_SUCCESS);
    ck_assert_int_eq(jwks->keys->nelts, 4);
    ck_assert_int_eq(jwks->skipped->nelts, 0);
    ck_assert_str_eq(logto_jwks_find(jwks, "k-rsa")->thumbprint,
                     mint_get("tp_rsa"));
    ck_assert_str_eq(logto_jwks_find_thumbprint(jwks, mint_get("tp_ed"))->kid,
                     "k-ed");
    ck_assert_ptr_null(logto_jwks_find(jwks, "k-none"));
    ck_assert_ptr_null(logto_jwks_find(jwks, "k-RSA"));
    ck_assert_ptr_null(logto_jwks_find(jwks, NULL));
    ck_assert_ptr_null(logto_jwks_find_thumbprint(jwks, "x"));
}
END_TEST

START_TEST(unusable_keys_are_skipped_with_reasons)
{
    const char *doc = apr_pstrcat(
        pool, "{\"keys\":[", mint_get("jwk_rsa1024"), ",",
        logto_json_dump(pool, minted_with("jwk_es256", "use", "\"enc\""), 0),
        ",", mint_get("jwk_es384"), ",",
        logto_json_dump(pool, minted_with("jwk_ed", "kid", "\"k-es384\""), 0),
        ",{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"},", RFC8037_ED25519_JWK, "]}",
        NULL);
    logto_jwks_t *jwks;
    logto_err_t err;

    ck_assert_int_eq(logto_jwks_parse(&jwks, pool, doc, strlen(doc), &err),
                     APR_SUCCESS);
    ck_assert_int_eq(jwks->keys->nelts, 2);
    ck_assert_int_eq(jwks->skipped->nelts, 4);
    ck_assert_str_eq(APR_ARRAY_IDX(jwks->skipped, 0, const char *),
                     "kid=k-rsa1024: RSA key of 1024 bits");
    ck_assert_str_eq(APR_ARRAY_IDX(jwks->skipped, 1, const char *),
                     "kid=k-es256: key use is not sig");
    ck_assert_str_eq(APR_ARRAY_IDX(jwks->skipped, 2, const char *),
                     "kid=k-es384: duplicate kid");
    ck_assert_ptr_nonnull(
        strstr(APR_ARRAY_IDX(jwks->skipped, 3, const char *), "key 4: "));
    ck_assert_int_eq(logto_jwks_find(jwks, "k-es384")->kty, LOGTO_KTY_EC);
}
END_TEST

/* A set of a good key and 299 junk members: one key, the first 20
 * reasons kept, every skip counted, and members past the first 256 not
 * looked at. */
START_TEST(junk_members_are_counted_not_kept)
{
    const char *doc =
        apr_pstrcat(pool, "{\"keys\":[", mint_get("jwk_es384"), NULL);
    const char *late;
    logto_jwks_t *jwks;
    logto_err_t err;
    int i;

    for (i = 0; i < 299; i++) {
        doc = apr_pstrcat(pool, doc, ",{}", NULL);
    }
    doc = apr_pstrcat(pool, doc, "]}", NULL);
    ck_assert_int_eq(logto_jwks_parse(&jwks, pool, doc, strlen(doc), &err),
                     APR_SUCCESS);
    ck_assert_int_eq(jwks->keys->nelts, 1);
    ck_assert_str_eq(logto_jwks_find(jwks, "k-es384")->kid, "k-es384");
    ck_assert_int_eq(jwks->nskipped, 299);
    ck_assert_int_le(jwks->skipped->nelts, 21);
    ck_assert_msg(
        strstr(logto_jwks_skipped_text(jwks, pool), "; and 294 more") != NULL,
        "%s", logto_jwks_skipped_text(jwks, pool));
    /* the good key as the 300th member: never looked at */
    late = "{\"keys\":[{}";
    for (i = 0; i < 298; i++) {
        late = apr_pstrcat(pool, late, ",{}", NULL);
    }
    late = apr_pstrcat(pool, late, ",", mint_get("jwk_es384"), "]}", NULL);
    ck_assert_int_ne(logto_jwks_parse(&jwks, pool, late, strlen(late), &err),
                     APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_JWKS);
}
END_TEST

/* Expect doc refused as a key set. */
static void set_refused(const char *doc, apr_size_t len, const char *why)
{
    logto_jwks_t *jwks = (logto_jwks_t *)1;
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_int_ne(logto_jwks_parse(&jwks, pool, doc, len, &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(jwks);
    ck_assert_int_eq(err.reason, LOGTO_ERR_JWKS);
    ck_assert_msg(strstr(err.text, why) != NULL, "'%s' lacks '%s'", err.text,
                  why);
}

START_TEST(set_without_usable_key_is_refused)
{
    const char *doc =
        apr_pstrcat(pool, "{\"keys\":[", mint_get("jwk_rsa1024"), "]}", NULL);

    set_refused(doc, strlen(doc), "no usable key: kid=k-rsa1024: RSA key");
    set_refused("{\"keys\":[]}", 11, "no usable key");
}
END_TEST

START_TEST(documents_that_are_not_sets_are_refused)
{
    char *big = apr_palloc(pool, LOGTO_JWKS_MAX_SIZE + 2);

    set_refused("{\"keys\":{}}", 11, "no keys array");
    set_refused("{}", 2, "no keys array");
    set_refused("[]", 2, "not a JSON object");
    set_refused("<html>", 6, "not valid JSON");
    memset(big, ' ', LOGTO_JWKS_MAX_SIZE + 1);
    memcpy(big, "{\"keys\":[]}", 11);
    set_refused(big, LOGTO_JWKS_MAX_SIZE + 1, "too large");
}
END_TEST

START_TEST(fits_alg_matches_family_and_curve)
{
    const logto_jwk_t *es384 = key_ok(json_of(mint_get("jwk_es384")));
    const logto_jwk_t *es256 = key_ok(json_of(mint_get("jwk_es256")));
    const logto_jwk_t *rsa = key_ok(json_of(mint_get("jwk_rsa")));
    const logto_jwk_t *ed = key_ok(json_of(mint_get("jwk_ed")));
    const logto_jwk_t *p256 = key_ok(json_of(RFC7515_P256_JWK));
    int a;

    ck_assert(logto_jwk_fits_alg(es384, LOGTO_ALG_ES384));
    ck_assert(logto_jwk_fits_alg(es256, LOGTO_ALG_ES256));
    ck_assert(logto_jwk_fits_alg(p256, LOGTO_ALG_ES256));
    ck_assert(!logto_jwk_fits_alg(p256, LOGTO_ALG_ES384));
    ck_assert(logto_jwk_fits_alg(ed, LOGTO_ALG_EDDSA));
    for (a = LOGTO_ALG_RS256; a <= LOGTO_ALG_PS512; a++) {
        ck_assert(logto_jwk_fits_alg(rsa, (logto_alg_t)a));
        ck_assert(!logto_jwk_fits_alg(es384, (logto_alg_t)a));
        ck_assert(!logto_jwk_fits_alg(ed, (logto_alg_t)a));
    }
    /* The declared alg narrows a key to that one algorithm. */
    ck_assert(!logto_jwk_fits_alg(es384, LOGTO_ALG_ES256));
    ck_assert(!logto_jwk_fits_alg(es384, LOGTO_ALG_ES512));
    ck_assert(!logto_jwk_fits_alg(rsa, LOGTO_ALG_ES256));
    ck_assert(!logto_jwk_fits_alg(rsa, LOGTO_ALG_EDDSA));
    ck_assert(!logto_jwk_fits_alg(ed, LOGTO_ALG_ES256));
    ck_assert(!logto_jwk_fits_alg(rsa, LOGTO_ALG_NONE_KNOWN));
    ck_assert(!logto_jwk_fits_alg(
        key_ok(minted_with("jwk_rsa", "alg", "\"RS256\"")), LOGTO_ALG_PS256));
}
END_TEST

START_TEST(pool_frees_the_keys)
{
    apr_pool_t *sub;
    logto_jwks_t *jwks;
    const char *doc = mint_get("jwks");
    logto_err_t err;

    /* Under valgrind, a key not freed by the pool shows as a leak. */
    apr_pool_create(&sub, pool);
    ck_assert_int_eq(logto_jwks_parse(&jwks, sub, doc, strlen(doc), &err),
                     APR_SUCCESS);
    apr_pool_destroy(sub);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("jwk");
    TCase *tc = unit_tcase("jwk");

    tcase_add_test(tc, rfc7515_p256_key_loads);
    tcase_add_test(tc, rfc7638_rsa_thumbprint);
    tcase_add_test(tc, rfc8037_ed25519_thumbprint);
    tcase_add_test(tc, minted_keys_load_with_their_thumbprints);
    tcase_add_test(tc, private_members_are_refused);
    tcase_add_test(tc, use_other_than_sig_is_refused);
    tcase_add_test(tc, key_ops_without_verify_are_refused);
    tcase_add_test(tc, declared_alg_must_be_usable);
    tcase_add_test(tc, declared_alg_must_fit_the_key);
    tcase_add_test(tc, small_rsa_key_is_refused);
    tcase_add_test(tc, bad_rsa_exponent_is_refused);
    tcase_add_test(tc, ec_coordinates_of_wrong_length_are_refused);
    tcase_add_test(tc, ec_point_off_the_curve_is_refused);
    tcase_add_test(tc, unknown_types_and_curves_are_refused);
    tcase_add_test(tc, ed25519_key_of_wrong_length_is_refused);
    tcase_add_test(tc, bad_members_are_refused);
    tcase_add_test(tc, minted_set_loads_every_key);
    tcase_add_test(tc, unusable_keys_are_skipped_with_reasons);
    tcase_add_test(tc, junk_members_are_counted_not_kept);
    tcase_add_test(tc, set_without_usable_key_is_refused);
    tcase_add_test(tc, documents_that_are_not_sets_are_refused);
    tcase_add_test(tc, fits_alg_matches_family_and_curve);
    tcase_add_test(tc, pool_frees_the_keys);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mint_unit_main(NULL, suite);
}
