/*
 * test_jws.c - compact JWS: shape, key choice and signatures. Valid
 * tokens come from RFC 7515 appendix A, RFC 8037 appendix A and
 * t/data/mint.pl (Perl Crypt::JWT); refused ones are derived from them.
 */
#include <string.h>

#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "logto_json.h"
#include "logto_jws.h"
#include "mint.h"
#include "unit.h"

/* RFC 7515 appendix A.2: RS256. */
#define A2_JWK                                                                 \
    "{\"kty\":\"RSA\",\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k" \
    "0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W" \
    "_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYU" \
    "sLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I" \
    "5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FR" \
    "WyuXpoQ\",\"e\":\"AQAB\"}"
#define A_PAYLOAD                                                              \
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNv" \
    "bS9pc19yb290Ijp0cnVlfQ"
#define A2_TOKEN                                                               \
    "eyJhbGciOiJSUzI1NiJ9." A_PAYLOAD                                          \
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm"  \
    "4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_" \
    "nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6" \
    "_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8n" \
    "p6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"

/* RFC 7515 appendix A.3: ES256. */
#define A3_JWK                                                                 \
    "{\"kty\":\"EC\",\"crv\":\"P-256\","                                       \
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","                   \
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}"
#define A3_TOKEN                                                               \
    "eyJhbGciOiJFUzI1NiJ9." A_PAYLOAD                                          \
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfK" \
    "TUJqPP3-Kg6NU1Q"

/* RFC 7515 appendix A.4: ES512 over the payload "Payload". */
#define A4_JWK                                                                 \
    "{\"kty\":\"EC\",\"crv\":\"P-521\","                                       \
    "\"x\":\"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvL" \
    "FV1jSfS9tsz4qUxcWceqwQGk\","                                              \
    "\"y\":\"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4K" \
    "kd0AZMaZmh9ubmf63e3kyMj2\"}"
#define A4_INPUT "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA"
#define A4_SIG                                                                 \
    "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-K" \
    "GDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKv" \
    "U8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn"

/* RFC 8037 appendix A.2 and A.4: Ed25519 over "Example of Ed25519
 * signing". */
#define ED_JWK                                                                 \
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","                                    \
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"
#define ED_INPUT "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
#define ED_SIG                                                                 \
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7" \
    "sVvpAr_MuM0KAg"

/* base64url by OpenSSL's encoder, so crafted test input does not depend
 * on the code under test. */
static const char *b64u(const void *data, apr_size_t len)
{
    char *out = apr_palloc(pool, (len + 2) / 3 * 4 + 1);
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len), i;

    while (n > 0 && out[n - 1] == '=') {
        n--;
    }
    out[n] = '\0';
    for (i = 0; i < n; i++) {
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    return out;
}

/* A token of the given header and payload JSON and signature bytes. */
static const char *craft(const char *header, const char *payload,
                         const char *sig)
{
    return apr_pstrcat(pool, b64u(header, strlen(header)), ".",
                       b64u(payload, strlen(payload)), ".",
                       b64u(sig, strlen(sig)), NULL);
}

static const unsigned char *unb64u(const char *s, apr_size_t *plen)
{
    char *std = apr_pstrdup(pool, s);
    apr_size_t n = strlen(s), i;
    unsigned char *out = apr_palloc(pool, n + 4);
    char *padded;
    int len;

    for (i = 0; i < n; i++) {
        std[i] = std[i] == '-' ? '+' : std[i] == '_' ? '/' : std[i];
    }
    padded = apr_pstrcat(pool, std,
                         n % 4 == 2   ? "=="
                         : n % 4 == 3 ? "="
                                      : "",
                         NULL);
    len = EVP_DecodeBlock(out, (unsigned char *)padded, (int)strlen(padded));
    ck_assert_int_ge(len, 0);
    *plen = (apr_size_t)len - (n % 4 == 2 ? 2 : n % 4 == 3 ? 1 : 0);
    return out;
}

static logto_jws_t *parse_ok(const char *token)
{
    logto_jws_t *jws = NULL;
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_msg(logto_jws_parse(&jws, pool, token, strlen(token), &err) ==
                      APR_SUCCESS,
                  "parse refused: %s", err.text);
    ck_assert_ptr_nonnull(jws);
    ck_assert_ptr_null(jws->payload);
    ck_assert_msg(logto_jws_parse_payload(jws, pool, &err) == APR_SUCCESS,
                  "payload refused: %s", err.text);
    return jws;
}

/* Expect token refused by parsing for reason: the header by
 * logto_jws_parse, the payload (read only after the signature) by
 * logto_jws_parse_payload. Returns the text. */
static const char *parse_refused_len(const char *token, apr_size_t len,
                                     logto_reason_t reason)
{
    logto_jws_t *jws = (logto_jws_t *)1;
    logto_err_t err;
    apr_status_t rv;

    logto_err_clear(&err);
    rv = logto_jws_parse(&jws, pool, token, len, &err);
    if (rv == APR_SUCCESS) {
        ck_assert_msg(reason == LOGTO_ERR_PAYLOAD, "header accepted, %s wanted",
                      logto_reason_name(reason));
        ck_assert_ptr_null(jws->payload);
        rv = logto_jws_parse_payload(jws, pool, &err);
    }
    else {
        ck_assert_ptr_null(jws);
    }
    ck_assert_int_ne(rv, APR_SUCCESS);
    ck_assert_msg(err.reason == reason, "reason %s (%s), not %s",
                  logto_reason_name(err.reason), err.text,
                  logto_reason_name(reason));
    ck_assert_str_ne(err.text, "");
    return apr_pstrdup(pool, err.text);
}

static const char *parse_refused(const char *token, logto_reason_t reason)
{
    return parse_refused_len(token, strlen(token), reason);
}

static const logto_jwks_t *jwks_of(const char *doc)
{
    logto_jwks_t *jwks;
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_msg(logto_jwks_parse(&jwks, pool, doc, strlen(doc), &err) ==
                      APR_SUCCESS,
                  "key set refused: %s", err.text);
    return jwks;
}

static const logto_jwks_t *one_key(const char *jwk)
{
    return jwks_of(apr_pstrcat(pool, "{\"keys\":[", jwk, "]}", NULL));
}

static const logto_jwk_t *select_ok(const logto_jws_t *jws,
                                    const logto_jwks_t *jwks)
{
    const logto_jwk_t *key = NULL;
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_msg(logto_jws_select_key(&key, jws, jwks, LOGTO_ALGSET_DEFAULT,
                                       &err) == APR_SUCCESS,
                  "no key: %s", err.text);
    ck_assert_ptr_nonnull(key);
    return key;
}

static void select_refused(const logto_jws_t *jws, const logto_jwks_t *jwks,
                           logto_algset_t allowed, logto_reason_t reason)
{
    const logto_jwk_t *key = (const logto_jwk_t *)1;
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_int_ne(logto_jws_select_key(&key, jws, jwks, allowed, &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(key);
    ck_assert_msg(err.reason == reason, "reason %s (%s), not %s",
                  logto_reason_name(err.reason), err.text,
                  logto_reason_name(reason));
}

static void verify_ok(const logto_jws_t *jws, const logto_jwk_t *key)
{
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_msg(logto_jws_verify_signature(jws, key, pool, &err) ==
                      APR_SUCCESS,
                  "signature refused: %s", err.text);
}

static void verify_refused(const logto_jws_t *jws, const logto_jwk_t *key,
                           logto_reason_t reason)
{
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_int_ne(logto_jws_verify_signature(jws, key, pool, &err),
                     APR_SUCCESS);
    ck_assert_msg(err.reason == reason, "reason %s (%s), not %s",
                  logto_reason_name(err.reason), err.text,
                  logto_reason_name(reason));
}

/* A minted token, parsed, its key chosen from the minted set and its
 * signature verified. */
static const logto_jws_t *minted_verifies(const char *name)
{
    const logto_jws_t *jws = parse_ok(mint_get(name));

    verify_ok(jws, select_ok(jws, jwks_of(mint_get("jwks"))));
    return jws;
}

/* A copy of jws whose signature can be altered. */
static logto_jws_t *with_sig_copy(const logto_jws_t *jws)
{
    logto_jws_t *copy = apr_pmemdup(pool, jws, sizeof(*jws));

    copy->sig = apr_pmemdup(pool, jws->sig, jws->sig_len);
    return copy;
}

/* A JWS over a non-JSON payload, as RFC 7515 A.4 and RFC 8037 A.4 sign,
 * set up by hand because parsing rightly wants a JSON payload. */
static logto_jws_t *raw_jws(logto_alg_t alg, const char *input, const char *sig)
{
    logto_jws_t *jws = apr_pcalloc(pool, sizeof(*jws));

    jws->alg = alg;
    jws->alg_name = logto_alg_name(alg);
    jws->signing_input = input;
    jws->signing_input_len = strlen(input);
    jws->sig = unb64u(sig, &jws->sig_len);
    return jws;
}

static const logto_jwk_t *only_key(const char *jwk)
{
    return APR_ARRAY_IDX(one_key(jwk)->keys, 0, const logto_jwk_t *);
}

/* ---------------------------------------------------------------- RFCs */

START_TEST(rfc7515_a2_rs256_verifies)
{
    const logto_jws_t *jws = parse_ok(A2_TOKEN);

    ck_assert_int_eq(jws->alg, LOGTO_ALG_RS256);
    ck_assert_str_eq(jws->alg_name, "RS256");
    ck_assert_ptr_null(jws->kid);
    ck_assert_ptr_null(jws->typ);
    ck_assert_int_eq(json_integer_value(json_object_get(jws->payload, "exp")),
                     1300819380);
    ck_assert_uint_eq(jws->sig_len, 256);
    verify_ok(jws, only_key(A2_JWK));
}
END_TEST

START_TEST(rfc7515_a3_es256_verifies)
{
    const logto_jws_t *jws = parse_ok(A3_TOKEN);

    ck_assert_str_eq(jws->signing_input, "eyJhbGciOiJFUzI1NiJ9." A_PAYLOAD);
    ck_assert_uint_eq(jws->signing_input_len,
                      strlen("eyJhbGciOiJFUzI1NiJ9." A_PAYLOAD));
    verify_ok(jws, only_key(A3_JWK));
}
END_TEST

START_TEST(rfc7515_a4_es512_verifies)
{
    const char *token = A4_INPUT "." A4_SIG;

    /* Its payload is not JSON, so it is no access token ... */
    parse_refused(token, LOGTO_ERR_PAYLOAD);
    /* ... but the signature is sound. */
    verify_ok(raw_jws(LOGTO_ALG_ES512, A4_INPUT, A4_SIG), only_key(A4_JWK));
}
END_TEST

START_TEST(rfc8037_a4_ed25519_verifies)
{
    parse_refused(ED_INPUT "." ED_SIG, LOGTO_ERR_PAYLOAD);
    verify_ok(raw_jws(LOGTO_ALG_EDDSA, ED_INPUT, ED_SIG), only_key(ED_JWK));
}
END_TEST

START_TEST(rfc_signature_over_other_input_fails)
{
    logto_jws_t *jws = raw_jws(LOGTO_ALG_EDDSA, ED_INPUT "x", ED_SIG);

    verify_refused(jws, only_key(ED_JWK), LOGTO_ERR_SIGNATURE);
    jws = raw_jws(LOGTO_ALG_ES512, A4_INPUT "x", A4_SIG);
    verify_refused(jws, only_key(A4_JWK), LOGTO_ERR_SIGNATURE);
}
END_TEST

/* -------------------------------------------------------- minted tokens */

START_TEST(minted_es384_verifies)
{
    const logto_jws_t *jws = minted_verifies("token_es384");

    ck_assert_str_eq(jws->kid, "k-es384");
    ck_assert_str_eq(jws->typ, "at+jwt");
    ck_assert_uint_eq(jws->sig_len, 96);
    ck_assert_str_eq(logto_json_str(jws->payload, "sub"), "user-1");
}
END_TEST

START_TEST(minted_es256_verifies)
{
    minted_verifies("token_es256");
}
END_TEST

START_TEST(minted_rs256_and_rs512_verify)
{
    minted_verifies("token_rs256");
    minted_verifies("token_rs512");
}
END_TEST

START_TEST(minted_ps256_and_ps384_verify)
{
    minted_verifies("token_ps256");
    minted_verifies("token_ps384");
}
END_TEST

START_TEST(minted_eddsa_verifies)
{
    ck_assert_int_eq(minted_verifies("token_eddsa")->alg, LOGTO_ALG_EDDSA);
}
END_TEST

/* Logto's tokens always name their key: one that names none is refused,
 * even by a set of one key that would verify it, and before any key set
 * is asked (no refetch for it). */
START_TEST(one_key_set_refuses_a_token_without_kid)
{
    const logto_jws_t *jws = parse_ok(mint_get("token_es384_nokid"));
    logto_err_t err;

    ck_assert_ptr_null(jws->kid);
    select_refused(jws, one_key(mint_get("jwk_es384")), LOGTO_ALGSET_DEFAULT,
                   LOGTO_ERR_KID_MISSING);
    logto_err_clear(&err);
    ck_assert_int_ne(logto_jws_check_keyless(jws, LOGTO_ALGSET_DEFAULT, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_KID_MISSING);
    verify_ok(jws, only_key(mint_get("jwk_es384")));
}
END_TEST

/* -------------------------------------------------------------- shape */

START_TEST(oversized_token_is_refused_first)
{
    char *big = apr_palloc(pool, LOGTO_TOKEN_MAX_SIZE + 2);

    memset(big, 'A', LOGTO_TOKEN_MAX_SIZE + 1);
    big[LOGTO_TOKEN_MAX_SIZE + 1] = '\0';
    parse_refused(big, LOGTO_ERR_TOO_LARGE);
    big[10] = '.';
    big[20] = '=';
    parse_refused(big, LOGTO_ERR_TOO_LARGE);
}
END_TEST

START_TEST(opaque_token_is_named_as_such)
{
    const char *text = parse_refused("Rj0cWq3xN8d1-2fJ_6WnVQ0HkP3oHm9AuV3tS"
                                     "oPZq1Y",
                                     LOGTO_ERR_OPAQUE);

    ck_assert_ptr_nonnull(strstr(text, "opaque"));
    ck_assert_ptr_nonnull(strstr(text, "API resource"));
    ck_assert_ptr_null(strstr(text, "Rj0cWq3"));
}
END_TEST

/* What is no b64token is no opaque token of any issuer's: malformed. */
START_TEST(garbage_is_malformed_not_opaque)
{
    const char *bad[] = {"abc\"def", "abc\\def", "<script>x</script>",
                         "a=b",      "=abc",     "a b",
                         "tok;en"};
    const char *good[] = {"abc+/~-_", "abc==", "a.b"};
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *text = parse_refused(bad[i], LOGTO_ERR_MALFORMED);

        ck_assert_msg(strstr(text, "b64token") != NULL, "%s: %s", bad[i], text);
    }
    parse_refused(good[0], LOGTO_ERR_OPAQUE);
    parse_refused(good[1], LOGTO_ERR_OPAQUE);
    parse_refused(good[2], LOGTO_ERR_MALFORMED);
}
END_TEST

START_TEST(two_or_four_parts_are_refused)
{
    const char *t = mint_get("token_es384");
    const char *last = strrchr(t, '.');

    parse_refused(apr_pstrndup(pool, t, (apr_size_t)(last - t)),
                  LOGTO_ERR_MALFORMED);
    parse_refused(apr_pstrcat(pool, t, ".", last + 1, NULL),
                  LOGTO_ERR_MALFORMED);
    parse_refused(apr_pstrcat(pool, t, ".", NULL), LOGTO_ERR_MALFORMED);
    parse_refused("..", LOGTO_ERR_MALFORMED);
    parse_refused("", LOGTO_ERR_MALFORMED);
}
END_TEST

START_TEST(empty_parts_are_refused)
{
    const char *t = mint_get("token_es384");

    /* alg "none" style: no signature at all. */
    parse_refused(apr_pstrndup(pool, t, (apr_size_t)(strrchr(t, '.') - t + 1)),
                  LOGTO_ERR_MALFORMED);
    parse_refused(apr_pstrcat(pool, ".", strchr(t, '.') + 1, NULL),
                  LOGTO_ERR_MALFORMED);
}
END_TEST

START_TEST(non_strict_base64url_is_refused)
{
    const char *t = mint_get("token_es384");
    const char *dot = strchr(t, '.');
    const char *head = apr_pstrndup(pool, t, (apr_size_t)(dot - t));

    parse_refused(apr_pstrcat(pool, t, "==", NULL), LOGTO_ERR_MALFORMED);
    parse_refused(apr_pstrcat(pool, head, "=", dot, NULL), LOGTO_ERR_MALFORMED);
    parse_refused(apr_pstrcat(pool, head, " ", dot, NULL), LOGTO_ERR_MALFORMED);
    parse_refused(apr_pstrcat(pool, head, dot, "\n", NULL),
                  LOGTO_ERR_MALFORMED);
    parse_refused(apr_pstrcat(pool, head, dot, "+", NULL), LOGTO_ERR_MALFORMED);
    parse_refused(apr_pstrcat(pool, head, dot, "/", NULL), LOGTO_ERR_MALFORMED);
    /* A signature part of 4n+1 characters. */
    parse_refused(apr_pstrcat(pool, head, dot, "A", NULL), LOGTO_ERR_MALFORMED);
}
END_TEST

START_TEST(header_and_payload_must_be_objects)
{
    parse_refused(craft("[\"ES384\"]", "{}", "sig"), LOGTO_ERR_HEADER);
    parse_refused(craft("\"ES384\"", "{}", "sig"), LOGTO_ERR_HEADER);
    parse_refused(craft("{\"alg\":\"ES384\"", "{}", "sig"), LOGTO_ERR_HEADER);
    parse_refused(craft("{\"alg\":\"ES384\"}", "[1]", "sig"),
                  LOGTO_ERR_PAYLOAD);
    parse_refused(craft("{\"alg\":\"ES384\"}", "{} x", "sig"),
                  LOGTO_ERR_PAYLOAD);
}
END_TEST

START_TEST(duplicate_header_member_is_refused)
{
    parse_refused(craft("{\"alg\":\"ES384\",\"alg\":\"none\"}", "{}", "sig"),
                  LOGTO_ERR_HEADER);
    parse_refused(
        craft("{\"alg\":\"ES384\"}", "{\"sub\":\"a\",\"sub\":\"b\"}", "sig"),
        LOGTO_ERR_PAYLOAD);
}
END_TEST

START_TEST(deep_nesting_is_refused)
{
    char deep[128] = "{\"a\":";
    int i;

    for (i = 0; i < LOGTO_JSON_MAX_DEPTH; i++) {
        strcat(deep, "[");
    }
    strcat(deep, "1");
    for (i = 0; i < LOGTO_JSON_MAX_DEPTH; i++) {
        strcat(deep, "]");
    }
    strcat(deep, "}");
    parse_refused(craft("{\"alg\":\"ES384\"}", deep, "sig"), LOGTO_ERR_PAYLOAD);
    parse_refused(craft(deep, "{}", "sig"), LOGTO_ERR_HEADER);
}
END_TEST

START_TEST(alg_must_be_a_string)
{
    ck_assert_str_eq(parse_refused(craft("{\"typ\":\"at+jwt\"}", "{}", "sig"),
                                   LOGTO_ERR_ALG),
                     "alg missing");
    ck_assert_str_eq(parse_refused(craft("{\"alg\":[\"ES384\"]}", "{}", "sig"),
                                   LOGTO_ERR_ALG),
                     "alg is not a string");
    ck_assert_str_eq(
        parse_refused(craft("{\"alg\":384}", "{}", "sig"), LOGTO_ERR_ALG),
        "alg is not a string");
}
END_TEST

START_TEST(kid_must_be_a_string)
{
    parse_refused(craft("{\"alg\":\"ES384\",\"kid\":1}", "{}", "sig"),
                  LOGTO_ERR_HEADER);
}
END_TEST

START_TEST(typ_must_name_an_access_token)
{
    parse_refused(craft("{\"alg\":\"ES384\",\"typ\":\"JWT\"}", "{}", "sig"),
                  LOGTO_ERR_TYP);
    parse_refused(craft("{\"alg\":\"ES384\",\"typ\":\"at+jwt \"}", "{}", "sig"),
                  LOGTO_ERR_TYP);
    parse_refused(craft("{\"alg\":\"ES384\",\"typ\":\"\"}", "{}", "sig"),
                  LOGTO_ERR_TYP);
    parse_refused(craft("{\"alg\":\"ES384\",\"typ\":1}", "{}", "sig"),
                  LOGTO_ERR_TYP);
    ck_assert_str_eq(
        parse_ok(craft("{\"alg\":\"ES384\",\"typ\":\"AT+JWT\"}", "{}", "sig"))
            ->typ,
        "AT+JWT");
    parse_ok(craft("{\"alg\":\"ES384\",\"typ\":\"application/at+jwt\"}", "{}",
                   "sig"));
    parse_ok(craft("{\"alg\":\"ES384\",\"typ\":\"Application/AT+JWT\"}", "{}",
                   "sig"));
}
END_TEST

START_TEST(crit_is_refused)
{
    parse_refused(
        craft("{\"alg\":\"ES384\",\"crit\":[\"exp\"],\"exp\":1}", "{}", "sig"),
        LOGTO_ERR_CRIT);
    parse_refused(craft("{\"alg\":\"ES384\",\"crit\":[]}", "{}", "sig"),
                  LOGTO_ERR_CRIT);
}
END_TEST

START_TEST(unencoded_payload_is_refused)
{
    parse_refused(craft("{\"alg\":\"ES384\",\"b64\":false}", "{}", "sig"),
                  LOGTO_ERR_HEADER);
}
END_TEST

/* --------------------------------------------------------- key choice */

START_TEST(forbidden_and_unknown_algs_are_refused)
{
    const logto_jwks_t *jwks = jwks_of(mint_get("jwks"));
    static const char *const algs[] = {"none",  "None",  "HS256",    "HS512",
                                       "ES999", "es384", "RSA-OAEP", NULL};
    int i;

    for (i = 0; algs[i] != NULL; i++) {
        const char *h =
            apr_psprintf(pool, "{\"alg\":\"%s\",\"kid\":\"k-rsa\"}", algs[i]);

        select_refused(parse_ok(craft(h, "{}", "sig")), jwks,
                       LOGTO_ALGSET_DEFAULT, LOGTO_ERR_ALG);
    }
}
END_TEST

START_TEST(alg_outside_the_allowed_set_is_refused)
{
    const logto_jws_t *jws = parse_ok(mint_get("token_rs256"));
    const logto_jwks_t *jwks = jwks_of(mint_get("jwks"));

    select_refused(jws, jwks, 1u << LOGTO_ALG_ES384, LOGTO_ERR_ALG);
    select_refused(jws, jwks, 1u << LOGTO_ALG_PS256, LOGTO_ERR_ALG);
    select_refused(jws, jwks, 0, LOGTO_ERR_ALG);
}
END_TEST

START_TEST(unknown_kid_is_refused)
{
    const logto_jwks_t *jwks = jwks_of(mint_get("jwks"));

    select_refused(parse_ok(mint_get("token_rsa1024")), jwks,
                   LOGTO_ALGSET_DEFAULT, LOGTO_ERR_KID_UNKNOWN);
    select_refused(
        parse_ok(craft("{\"alg\":\"ES384\",\"kid\":\"K-ES384\"}", "{}", "sig")),
        jwks, LOGTO_ALGSET_DEFAULT, LOGTO_ERR_KID_UNKNOWN);
}
END_TEST

START_TEST(missing_kid_with_several_keys_is_refused)
{
    const char *two = apr_pstrcat(pool, "{\"keys\":[", mint_get("jwk_es384"),
                                  ",", mint_get("jwk_rsa"), "]}", NULL);

    select_refused(parse_ok(mint_get("token_es384_nokid")), jwks_of(two),
                   LOGTO_ALGSET_DEFAULT, LOGTO_ERR_KID_MISSING);
}
END_TEST

START_TEST(alg_not_fitting_the_key_is_refused)
{
    const logto_jwks_t *jwks = jwks_of(mint_get("jwks"));
    static const char *const headers[] = {
        "{\"alg\":\"ES256\",\"kid\":\"k-es384\"}",
        "{\"alg\":\"ES512\",\"kid\":\"k-es384\"}",
        "{\"alg\":\"RS256\",\"kid\":\"k-es384\"}",
        "{\"alg\":\"ES384\",\"kid\":\"k-rsa\"}",
        "{\"alg\":\"EdDSA\",\"kid\":\"k-rsa\"}",
        "{\"alg\":\"ES256\",\"kid\":\"k-ed\"}",
        NULL};
    int i;

    for (i = 0; headers[i] != NULL; i++) {
        select_refused(parse_ok(craft(headers[i], "{}", "sig")), jwks,
                       LOGTO_ALGSET_DEFAULT, LOGTO_ERR_KEY_MISMATCH);
    }
}
END_TEST

START_TEST(es256_token_against_p384_key_is_refused)
{
    const logto_jws_t *jws = parse_ok(mint_get("token_es256"));
    const logto_jwk_t *p384 = only_key(mint_get("jwk_es384"));

    select_refused(jws, one_key(mint_get("jwk_es384")), LOGTO_ALGSET_DEFAULT,
                   LOGTO_ERR_KID_UNKNOWN);
    verify_refused(jws, p384, LOGTO_ERR_KEY_MISMATCH);
}
END_TEST

START_TEST(embedded_keys_are_never_used)
{
    /* A token naming its own key (jwk, jku, x5u, x5c) still gets the key
     * its kid names in the configured set, or none. */
    const char *h = apr_psprintf(pool,
                                 "{\"alg\":\"ES384\",\"jwk\":%s,"
                                 "\"jku\":\"https://evil.example/k\","
                                 "\"x5u\":\"https://evil.example/c\","
                                 "\"x5c\":[\"AAAA\"]}",
                                 mint_get("jwk_es384"));
    const logto_jwks_t *jwks = jwks_of(mint_get("jwks"));

    select_refused(parse_ok(craft(h, "{}", "sig")), jwks, LOGTO_ALGSET_DEFAULT,
                   LOGTO_ERR_KID_MISSING);
}
END_TEST

/* ---------------------------------------------------------- signatures */

START_TEST(der_ecdsa_signature_is_refused)
{
    const logto_jws_t *jws = parse_ok(mint_get("token_es384_der"));

    ck_assert_uint_ne(jws->sig_len, 96);
    verify_refused(jws, select_ok(jws, jwks_of(mint_get("jwks"))),
                   LOGTO_ERR_SIGNATURE);
}
END_TEST

START_TEST(flipped_signature_byte_is_refused)
{
    static const char *const names[] = {"token_es384", "token_es256",
                                        "token_rs256", "token_ps256",
                                        "token_eddsa", NULL};
    const logto_jwks_t *jwks = jwks_of(mint_get("jwks"));
    int i;

    for (i = 0; names[i] != NULL; i++) {
        logto_jws_t *jws = with_sig_copy(parse_ok(mint_get(names[i])));
        unsigned char *sig = (unsigned char *)jws->sig;
        const logto_jwk_t *key = select_ok(jws, jwks);

        sig[jws->sig_len / 3] ^= 0x01;
        verify_refused(jws, key, LOGTO_ERR_SIGNATURE);
        sig[jws->sig_len / 3] ^= 0x01;
        verify_ok(jws, key);
    }
}
END_TEST

START_TEST(wrong_length_signature_is_refused)
{
    static const char *const names[] = {"token_es384", "token_rs256",
                                        "token_eddsa", NULL};
    const logto_jwks_t *jwks = jwks_of(mint_get("jwks"));
    int i;

    for (i = 0; names[i] != NULL; i++) {
        logto_jws_t *jws = with_sig_copy(parse_ok(mint_get(names[i])));
        const logto_jwk_t *key = select_ok(jws, jwks);

        jws->sig_len--;
        verify_refused(jws, key, LOGTO_ERR_SIGNATURE);
        jws->sig_len = 2;
        verify_refused(jws, key, LOGTO_ERR_SIGNATURE);
    }
}
END_TEST

/* Replace the r (which 0) or s (1) half of an ECDSA signature by v. */
static void set_half(logto_jws_t *jws, int which, const BIGNUM *v)
{
    apr_size_t half = jws->sig_len / 2;

    ck_assert_int_eq(
        BN_bn2binpad(v, (unsigned char *)jws->sig + (which ? half : 0),
                     (int)half),
        (int)half);
}

START_TEST(zero_r_or_s_is_refused)
{
    const logto_jws_t *orig = parse_ok(mint_get("token_es384"));
    const logto_jwk_t *key = select_ok(orig, jwks_of(mint_get("jwks")));
    BIGNUM *zero = BN_new();
    int which;

    BN_zero(zero);
    for (which = 0; which < 2; which++) {
        logto_jws_t *jws = with_sig_copy(orig);

        set_half(jws, which, zero);
        verify_refused(jws, key, LOGTO_ERR_SIGNATURE);
    }
    BN_free(zero);
}
END_TEST

START_TEST(r_or_s_at_or_above_the_order_is_refused)
{
    const logto_jws_t *orig = parse_ok(mint_get("token_es384"));
    const logto_jwk_t *key = select_ok(orig, jwks_of(mint_get("jwks")));
    EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_secp384r1);
    BIGNUM *v = BN_dup(EC_GROUP_get0_order(group));
    int which;

    for (which = 0; which < 2; which++) {
        logto_jws_t *jws = with_sig_copy(orig);

        set_half(jws, which, v);
        verify_refused(jws, key, LOGTO_ERR_SIGNATURE);
        BN_add_word(v, 1);
        set_half(jws, which, v);
        verify_refused(jws, key, LOGTO_ERR_SIGNATURE);
        BN_sub_word(v, 1);
    }
    BN_free(v);
    EC_GROUP_free(group);
}
END_TEST

START_TEST(s_plus_order_is_refused)
{
    /* P-521's 66-byte halves have room for s + n, the malleable twin of a
     * valid signature: it must not verify. */
    logto_jws_t *jws = raw_jws(LOGTO_ALG_ES512, A4_INPUT, A4_SIG);
    const logto_jwk_t *key = only_key(A4_JWK);
    EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_secp521r1);
    BIGNUM *s = BN_bin2bn(jws->sig + 66, 66, NULL);

    verify_ok(jws, key);
    ck_assert(BN_add(s, s, EC_GROUP_get0_order(group)));
    ck_assert_int_le(BN_num_bytes(s), 66);
    set_half(jws, 1, s);
    verify_refused(jws, key, LOGTO_ERR_SIGNATURE);
    BN_free(s);
    EC_GROUP_free(group);
}
END_TEST

START_TEST(signature_of_another_alg_is_refused)
{
    /* An RS256 signature is no PS256 one and the other way round, though
     * both use the same key. */
    const logto_jwks_t *jwks = jwks_of(mint_get("jwks"));
    logto_jws_t *rs = with_sig_copy(parse_ok(mint_get("token_rs256")));
    logto_jws_t *ps = with_sig_copy(parse_ok(mint_get("token_ps256")));
    const logto_jwk_t *key = select_ok(rs, jwks);

    rs->alg = LOGTO_ALG_PS256;
    verify_refused(rs, key, LOGTO_ERR_SIGNATURE);
    ps->alg = LOGTO_ALG_RS256;
    verify_refused(ps, key, LOGTO_ERR_SIGNATURE);
    ps->alg = LOGTO_ALG_PS384;
    verify_refused(ps, key, LOGTO_ERR_SIGNATURE);
}
END_TEST

START_TEST(altered_payload_is_refused)
{
    const logto_jwks_t *jwks = jwks_of(mint_get("jwks"));
    const char *t = mint_get("token_es384");
    const char *dot = strchr(t, '.');
    const char *claims = "{\"sub\":\"admin\"}";
    const char *forged =
        apr_pstrcat(pool, apr_pstrndup(pool, t, (apr_size_t)(dot - t + 1)),
                    b64u(claims, strlen(claims)), strrchr(t, '.'), NULL);
    const logto_jws_t *jws = parse_ok(forged);

    verify_refused(jws, select_ok(jws, jwks), LOGTO_ERR_SIGNATURE);
}
END_TEST

/* Parsing reads the header only: a payload that is not JSON (altered in
 * transit) is no parse error, and the signature over it then fails;
 * characters outside base64url stay a shape error of the parse. */
START_TEST(payload_is_read_only_after_the_signature)
{
    const logto_jwks_t *jwks = jwks_of(mint_get("jwks"));
    const char *t = mint_get("token_es384");
    const char *dot = strchr(t, '.');
    const char *head = apr_pstrndup(pool, t, (apr_size_t)(dot - t + 1));
    const char *forged =
        apr_pstrcat(pool, head, b64u("{not json", 9), strrchr(t, '.'), NULL);
    logto_jws_t *jws = NULL;
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_int_eq(logto_jws_parse(&jws, pool, forged, strlen(forged), &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(jws->payload);
    verify_refused(jws, select_ok(jws, jwks), LOGTO_ERR_SIGNATURE);
    parse_refused(apr_pstrcat(pool, head, "e30*", strrchr(t, '.'), NULL),
                  LOGTO_ERR_MALFORMED);
}
END_TEST

START_TEST(verify_rechecks_that_the_key_fits)
{
    const logto_jws_t *jws = parse_ok(mint_get("token_rs256"));

    verify_refused(jws, only_key(mint_get("jwk_es384")),
                   LOGTO_ERR_KEY_MISMATCH);
    verify_refused(jws, only_key(mint_get("jwk_ed")), LOGTO_ERR_KEY_MISMATCH);
}
END_TEST

START_TEST(error_texts_carry_no_token_material)
{
    const char *t = mint_get("token_es384");
    logto_jws_t *jws = with_sig_copy(parse_ok(t));
    const logto_jwk_t *key = select_ok(jws, jwks_of(mint_get("jwks")));
    logto_err_t err;

    ((unsigned char *)jws->sig)[0] ^= 0x80;
    logto_jws_verify_signature(jws, key, pool, &err);
    ck_assert_str_eq(err.text, "signature invalid");
    logto_jws_select_key(&key, parse_ok(mint_get("token_rsa1024")),
                         jwks_of(mint_get("jwks")), LOGTO_ALGSET_DEFAULT, &err);
    ck_assert_str_eq(err.text, "unknown key id");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("jws");
    TCase *rfc = unit_tcase("rfc");
    TCase *minted = unit_tcase("minted");
    TCase *shape = unit_tcase("shape");
    TCase *keys = unit_tcase("keys");
    TCase *sigs = unit_tcase("signatures");

    tcase_add_test(rfc, rfc7515_a2_rs256_verifies);
    tcase_add_test(rfc, rfc7515_a3_es256_verifies);
    tcase_add_test(rfc, rfc7515_a4_es512_verifies);
    tcase_add_test(rfc, rfc8037_a4_ed25519_verifies);
    tcase_add_test(rfc, rfc_signature_over_other_input_fails);
    suite_add_tcase(s, rfc);

    tcase_add_test(minted, minted_es384_verifies);
    tcase_add_test(minted, minted_es256_verifies);
    tcase_add_test(minted, minted_rs256_and_rs512_verify);
    tcase_add_test(minted, minted_ps256_and_ps384_verify);
    tcase_add_test(minted, minted_eddsa_verifies);
    tcase_add_test(minted, one_key_set_refuses_a_token_without_kid);
    suite_add_tcase(s, minted);

    tcase_add_test(shape, oversized_token_is_refused_first);
    tcase_add_test(shape, opaque_token_is_named_as_such);
    tcase_add_test(shape, garbage_is_malformed_not_opaque);
    tcase_add_test(shape, two_or_four_parts_are_refused);
    tcase_add_test(shape, empty_parts_are_refused);
    tcase_add_test(shape, non_strict_base64url_is_refused);
    tcase_add_test(shape, header_and_payload_must_be_objects);
    tcase_add_test(shape, duplicate_header_member_is_refused);
    tcase_add_test(shape, deep_nesting_is_refused);
    tcase_add_test(shape, alg_must_be_a_string);
    tcase_add_test(shape, kid_must_be_a_string);
    tcase_add_test(shape, typ_must_name_an_access_token);
    tcase_add_test(shape, crit_is_refused);
    tcase_add_test(shape, unencoded_payload_is_refused);
    suite_add_tcase(s, shape);

    tcase_add_test(keys, forbidden_and_unknown_algs_are_refused);
    tcase_add_test(keys, alg_outside_the_allowed_set_is_refused);
    tcase_add_test(keys, unknown_kid_is_refused);
    tcase_add_test(keys, missing_kid_with_several_keys_is_refused);
    tcase_add_test(keys, alg_not_fitting_the_key_is_refused);
    tcase_add_test(keys, es256_token_against_p384_key_is_refused);
    tcase_add_test(keys, embedded_keys_are_never_used);
    suite_add_tcase(s, keys);

    tcase_add_test(sigs, der_ecdsa_signature_is_refused);
    tcase_add_test(sigs, flipped_signature_byte_is_refused);
    tcase_add_test(sigs, wrong_length_signature_is_refused);
    tcase_add_test(sigs, zero_r_or_s_is_refused);
    tcase_add_test(sigs, r_or_s_at_or_above_the_order_is_refused);
    tcase_add_test(sigs, s_plus_order_is_refused);
    tcase_add_test(sigs, signature_of_another_alg_is_refused);
    tcase_add_test(sigs, altered_payload_is_refused);
    tcase_add_test(sigs, payload_is_read_only_after_the_signature);
    tcase_add_test(sigs, verify_rechecks_that_the_key_fits);
    tcase_add_test(sigs, error_texts_carry_no_token_material);
    suite_add_tcase(s, sigs);
    return s;
}

int main(void)
{
    return mint_unit_main(NULL, suite);
}
