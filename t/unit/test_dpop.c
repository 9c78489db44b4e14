/*
 * test_dpop.c - DPoP proofs (RFC 9449), URL normalisation and the cnf
 * claim. Proofs and the certificate come from t/data/mint-dpop.pl (Perl
 * Crypt::JWT, openssl), all for GET https://api.example.com/products at
 * iat 1700000000.
 */
#include <string.h>

#include <apr_strings.h>

#include "logto_cnf.h"
#include "logto_dpop.h"
#include "logto_json.h"
#include "mint.h"
#include "unit.h"

#define IAT 1700000000
#define URL "https://api.example.com/products"

/* What the minted proofs are made for, at their iat. */
static logto_dpop_expect_t expect(void)
{
    logto_dpop_expect_t x;

    x.method = "GET";
    x.url = URL;
    x.token = mint_get("token");
    x.token_len = strlen(x.token);
    x.jkt = mint_get("jkt_es256");
    x.now = IAT;
    x.max_age = 300;
    x.clock_skew = 60;
    return x;
}

/* Verify the minted proof name against x: the reason, LOGTO_OK when it
 * passes. */
static logto_reason_t verify_as(const char *name, const logto_dpop_expect_t *x)
{
    logto_dpop_proof_t *proof;
    const char *text = mint_get(name);
    logto_err_t err;

    logto_err_clear(&err);
    if (logto_dpop_verify(&proof, pool, text, strlen(text),
                          LOGTO_ALGSET_DEFAULT, x, &err) == APR_SUCCESS) {
        return LOGTO_OK;
    }
    ck_assert_int_ne(err.reason, LOGTO_OK);
    return err.reason;
}

static logto_reason_t verify_proof(const char *name)
{
    logto_dpop_expect_t x = expect();

    return verify_as(name, &x);
}

/* ------------------------------------------------------------ accepted */

START_TEST(good_proof_verifies)
{
    logto_dpop_proof_t *proof;
    logto_dpop_expect_t x = expect();
    const char *text = mint_get("proof_good");
    logto_err_t err;

    ck_assert_int_eq(logto_dpop_verify(&proof, pool, text, strlen(text),
                                       LOGTO_ALGSET_DEFAULT, &x, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(proof->jkt, mint_get("jkt_es256"));
    ck_assert_str_eq(proof->htm, "GET");
    ck_assert_int_eq(proof->iat, IAT);
}
END_TEST

/* Each key type's proof, with the token bound to that key. */
static void accepts_key(const char *proof, const char *jkt)
{
    logto_dpop_expect_t x = expect();

    x.jkt = mint_get(jkt);
    ck_assert_int_eq(verify_as(proof, &x), LOGTO_OK);
}

START_TEST(es384_rsa_pss_and_eddsa_proofs_verify)
{
    accepts_key("proof_es384", "jkt_es384");
    accepts_key("proof_rsa", "jkt_rsa");
    accepts_key("proof_ed", "jkt_ed");
}
END_TEST

START_TEST(typ_with_application_prefix_is_accepted)
{
    ck_assert_int_eq(verify_proof("proof_typ_app"), LOGTO_OK);
}
END_TEST

START_TEST(htu_compared_after_normalisation)
{
    ck_assert_int_eq(verify_proof("proof_htu_norm"), LOGTO_OK);
    ck_assert_int_eq(verify_proof("proof_htu_query"), LOGTO_OK);
}
END_TEST

START_TEST(request_query_is_ignored)
{
    logto_dpop_expect_t x = expect();

    x.url = URL "?page=2#top";
    ck_assert_int_eq(verify_as("proof_good", &x), LOGTO_OK);
}
END_TEST

START_TEST(iat_within_age_and_skew)
{
    logto_dpop_expect_t x = expect();

    x.now = IAT + 300 + 60;
    ck_assert_int_eq(verify_as("proof_good", &x), LOGTO_OK);
    x.now = IAT - 60;
    ck_assert_int_eq(verify_as("proof_good", &x), LOGTO_OK);
}
END_TEST

/* ------------------------------------------------------------- refused */

START_TEST(header_refusals)
{
    ck_assert_int_eq(verify_proof("proof_typ_jwt"), LOGTO_ERR_DPOP_TYP);
    ck_assert_int_eq(verify_proof("proof_typ_none"), LOGTO_ERR_DPOP_TYP);
    ck_assert_int_eq(verify_proof("proof_hs256"), LOGTO_ERR_DPOP_ALG);
    ck_assert_int_eq(verify_proof("proof_alg_none"), LOGTO_ERR_DPOP_MALFORMED);
    ck_assert_int_eq(verify_proof("proof_crit"), LOGTO_ERR_DPOP_MALFORMED);
}
END_TEST

START_TEST(alg_outside_the_allowed_set)
{
    logto_dpop_proof_t *proof;
    const char *text = mint_get("proof_good");
    logto_err_t err;

    ck_assert_int_ne(logto_dpop_parse(&proof, pool, text, strlen(text),
                                      1u << LOGTO_ALG_ES384, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_DPOP_ALG);
}
END_TEST

START_TEST(key_refusals)
{
    ck_assert_int_eq(verify_proof("proof_private_d"), LOGTO_ERR_DPOP_KEY);
    ck_assert_int_eq(verify_proof("proof_no_jwk"), LOGTO_ERR_DPOP_KEY);
    ck_assert_int_eq(verify_proof("proof_jwk_oct"), LOGTO_ERR_DPOP_KEY);
    ck_assert_int_eq(verify_proof("proof_alg_mismatch"), LOGTO_ERR_DPOP_KEY);
}
END_TEST

START_TEST(signature_by_another_key_is_refused)
{
    ck_assert_int_eq(verify_proof("proof_jwk_other"), LOGTO_ERR_DPOP_SIGNATURE);
}
END_TEST

START_TEST(private_member_named)
{
    logto_dpop_proof_t *proof;
    const char *text = mint_get("proof_private_d");
    logto_err_t err;

    logto_dpop_parse(&proof, pool, text, strlen(text), LOGTO_ALGSET_DEFAULT,
                     &err);
    ck_assert_ptr_nonnull(strstr(err.text, "private"));
}
END_TEST

START_TEST(claim_refusals)
{
    ck_assert_int_eq(verify_proof("proof_no_jti"), LOGTO_ERR_DPOP_JTI);
    ck_assert_int_eq(verify_proof("proof_no_htm"), LOGTO_ERR_DPOP_HTM);
    ck_assert_int_eq(verify_proof("proof_no_htu"), LOGTO_ERR_DPOP_HTU);
    ck_assert_int_eq(verify_proof("proof_no_iat"), LOGTO_ERR_DPOP_IAT);
    ck_assert_int_eq(verify_proof("proof_iat_string"), LOGTO_ERR_DPOP_IAT);
    ck_assert_int_eq(verify_proof("proof_ath_number"), LOGTO_ERR_DPOP_ATH);
}
END_TEST

START_TEST(request_mismatches)
{
    ck_assert_int_eq(verify_proof("proof_post"), LOGTO_ERR_DPOP_HTM);
    ck_assert_int_eq(verify_proof("proof_get_lower"), LOGTO_ERR_DPOP_HTM);
    ck_assert_int_eq(verify_proof("proof_htu_other"), LOGTO_ERR_DPOP_HTU);
    ck_assert_int_eq(verify_proof("proof_htu_host"), LOGTO_ERR_DPOP_HTU);
    ck_assert_int_eq(verify_proof("proof_htu_http"), LOGTO_ERR_DPOP_HTU);
    ck_assert_int_eq(verify_proof("proof_htu_port"), LOGTO_ERR_DPOP_HTU);
    ck_assert_int_eq(verify_proof("proof_htu_relative"), LOGTO_ERR_DPOP_HTU);
    ck_assert_int_eq(verify_proof("proof_htu_userinfo"), LOGTO_ERR_DPOP_HTU);
}
END_TEST

START_TEST(iat_out_of_window)
{
    logto_dpop_expect_t x = expect();

    ck_assert_int_eq(verify_proof("proof_old"), LOGTO_ERR_DPOP_IAT);
    ck_assert_int_eq(verify_proof("proof_future"), LOGTO_ERR_DPOP_IAT);
    x.now = IAT + 300 + 60 + 1;
    ck_assert_int_eq(verify_as("proof_good", &x), LOGTO_ERR_DPOP_IAT);
    x.now = IAT - 61;
    ck_assert_int_eq(verify_as("proof_good", &x), LOGTO_ERR_DPOP_IAT);
}
END_TEST

START_TEST(token_mismatches)
{
    logto_dpop_expect_t x = expect();

    ck_assert_int_eq(verify_proof("proof_no_ath"), LOGTO_ERR_DPOP_ATH);
    ck_assert_int_eq(verify_proof("proof_ath_other"), LOGTO_ERR_DPOP_ATH);
    ck_assert_int_eq(verify_proof("proof_other_key"), LOGTO_ERR_DPOP_JKT);
    x.jkt = NULL;
    ck_assert_int_eq(verify_as("proof_good", &x), LOGTO_ERR_DPOP_JKT);
    x = expect();
    x.token_len--;
    ck_assert_int_eq(verify_as("proof_good", &x), LOGTO_ERR_DPOP_ATH);
}
END_TEST

START_TEST(shape_refusals)
{
    logto_dpop_proof_t *proof;
    logto_err_t err;
    char *big = apr_palloc(pool, LOGTO_DPOP_MAX_SIZE + 2);
    const char *good = mint_get("proof_good");

    ck_assert_int_ne(
        logto_dpop_parse(&proof, pool, "", 0, LOGTO_ALGSET_DEFAULT, &err),
        APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_DPOP_MISSING);
    memset(big, 'a', LOGTO_DPOP_MAX_SIZE + 1);
    ck_assert_int_ne(logto_dpop_parse(&proof, pool, big,
                                      LOGTO_DPOP_MAX_SIZE + 1,
                                      LOGTO_ALGSET_DEFAULT, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_DPOP_MALFORMED);
    ck_assert_int_ne(
        logto_dpop_parse(&proof, pool, "a.b", 3, LOGTO_ALGSET_DEFAULT, &err),
        APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_DPOP_MALFORMED);
    /* no dot at all: not a JWT, told without the access token's words */
    ck_assert_int_ne(logto_dpop_parse(&proof, pool, "garbage", 7,
                                      LOGTO_ALGSET_DEFAULT, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_DPOP_MALFORMED);
    ck_assert_str_eq(err.text, "DPoP proof: not a JWT");
    /* one character short of the whole proof breaks the signature */
    ck_assert_int_ne(logto_dpop_parse(&proof, pool, good, strlen(good) - 1,
                                      LOGTO_ALGSET_DEFAULT, &err),
                     APR_SUCCESS);
}
END_TEST

/* ---------------------------------------------------------- normalise */

static const char *norm(const char *url)
{
    const char *out = NULL;
    logto_err_t err;

    if (logto_url_normalize(&out, pool, url, &err) != APR_SUCCESS) {
        ck_assert_int_eq(err.reason, LOGTO_ERR_DPOP_HTU);
        return NULL;
    }
    return out;
}

START_TEST(normalise_case_port_and_path)
{
    ck_assert_str_eq(norm("HTTPS://Api.Example.COM:443"),
                     "https://api.example.com/");
    ck_assert_str_eq(norm("http://h:80/a"), "http://h/a");
    ck_assert_str_eq(norm("http://h:/a"), "http://h/a");
    ck_assert_str_eq(norm("http://h:443/a"), "http://h:443/a");
    ck_assert_str_eq(norm("https://h:0443/a"), "https://h/a");
    ck_assert_str_eq(norm("https://h/a/./b/../c"), "https://h/a/c");
    ck_assert_str_eq(norm("https://h/../../a"), "https://h/a");
    ck_assert_str_eq(norm("https://h/a/.."), "https://h/");
    ck_assert_str_eq(norm("https://h/%7e%41%2f%2F"), "https://h/~A%2F%2F");
    ck_assert_str_eq(norm("https://h/%2e%2E/x"), "https://h/x");
    ck_assert_str_eq(norm("https://h/p?q=1#f"), "https://h/p");
    ck_assert_str_eq(norm("https://h?q"), "https://h/");
    ck_assert_str_eq(norm("https://[::1]:8443/p"), "https://[::1]:8443/p");
    ck_assert_str_eq(norm("https://h/A"), "https://h/A");
}
END_TEST

START_TEST(normalise_refusals)
{
    ck_assert_ptr_null(norm("ftp://h/"));
    ck_assert_ptr_null(norm("/relative"));
    ck_assert_ptr_null(norm("https://"));
    ck_assert_ptr_null(norm("https://u:p@h/"));
    ck_assert_ptr_null(norm("https://h:99999/"));
    ck_assert_ptr_null(norm("https://h:8a/"));
    ck_assert_ptr_null(norm("https://h/%zz"));
    ck_assert_ptr_null(norm("https://h/%4"));
    ck_assert_ptr_null(norm("https://h/a b"));
    ck_assert_ptr_null(norm("https://h/\x01"));
    ck_assert_ptr_null(norm("https://[::1/"));
}
END_TEST

/* --------------------------------------------------- ath, replay key */

START_TEST(ath_is_sha256_of_the_token)
{
    /* RFC 9449 section 7.1's example token and its ath */
    ck_assert_str_eq(
        logto_dpop_ath(pool, "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU", 43),
        "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo");
}
END_TEST

START_TEST(replay_key_names_key_and_jti)
{
    logto_dpop_proof_t a = {0}, b = {0};
    logto_dpop_expect_t x = expect();

    a.jkt = b.jkt = "k1";
    a.jti = b.jti = "j1";
    ck_assert_str_eq(logto_dpop_replay_key(pool, &a),
                     logto_dpop_replay_key(pool, &b));
    b.jkt = "k2";
    ck_assert_str_ne(logto_dpop_replay_key(pool, &a),
                     logto_dpop_replay_key(pool, &b));
    b.jkt = "k1";
    b.jti = "j2";
    ck_assert_str_ne(logto_dpop_replay_key(pool, &a),
                     logto_dpop_replay_key(pool, &b));
    ck_assert_int_eq(strncmp(logto_dpop_replay_key(pool, &a), "dpop-jti:", 9),
                     0);
    a.iat = IAT;
    ck_assert_int_eq(logto_dpop_replay_until(&a, &x), IAT + 300 + 60 + 1);
}
END_TEST

/* -------------------------------------------------------------- nonce */

static const unsigned char secret_a[LOGTO_DPOP_NONCE_SECRET_SIZE] = "a";
static const unsigned char secret_b[LOGTO_DPOP_NONCE_SECRET_SIZE] = "b";

START_TEST(nonce_valid_for_its_slot_and_the_next)
{
    /* slot 3 of 300 s: [900, 1200); accepted until the end of slot 4 */
    const char *n = logto_dpop_nonce(pool, secret_a, 1000, 300);

    ck_assert_ptr_nonnull(n);
    ck_assert_int_eq(strlen(n), 32);
    ck_assert_str_eq(n, logto_dpop_nonce(pool, secret_a, 1199, 300));
    ck_assert_str_ne(n, logto_dpop_nonce(pool, secret_a, 1200, 300));
    ck_assert(logto_dpop_nonce_valid(pool, n, secret_a, 900, 300));
    ck_assert(logto_dpop_nonce_valid(pool, n, secret_a, 1499, 300));
    ck_assert(!logto_dpop_nonce_valid(pool, n, secret_a, 1500, 300));
    ck_assert(!logto_dpop_nonce_valid(pool, n, secret_a, 899, 300));
}
END_TEST

START_TEST(nonce_refusals)
{
    const char *n = logto_dpop_nonce(pool, secret_a, 1000, 300);
    char *bad = apr_pstrdup(pool, n);

    ck_assert(!logto_dpop_nonce_valid(pool, n, secret_b, 1000, 300));
    ck_assert(!logto_dpop_nonce_valid(pool, NULL, secret_a, 1000, 300));
    ck_assert(!logto_dpop_nonce_valid(pool, "", secret_a, 1000, 300));
    ck_assert(
        !logto_dpop_nonce_valid(pool, "not a nonce", secret_a, 1000, 300));
    bad[20] = bad[20] == 'A' ? 'B' : 'A';
    ck_assert(!logto_dpop_nonce_valid(pool, bad, secret_a, 1000, 300));
    ck_assert(!logto_dpop_nonce_valid(pool, apr_pstrcat(pool, n, "AAAA", NULL),
                                      secret_a, 1000, 300));
    ck_assert_str_ne(n, logto_dpop_nonce(pool, secret_b, 1000, 300));
}
END_TEST

/* ---------------------------------------------------------------- cnf */

static apr_status_t read_cnf(logto_cnf_t *cnf, const char *payload,
                             logto_err_t *err)
{
    json_t *pl;

    ck_assert_int_eq(logto_json_parse_object(&pl, pool, payload,
                                             strlen(payload), 8,
                                             LOGTO_ERR_PAYLOAD, err),
                     APR_SUCCESS);
    return logto_cnf_read(cnf, pl, err);
}

START_TEST(cnf_read)
{
    logto_cnf_t cnf;
    logto_err_t err;

    ck_assert_int_eq(read_cnf(&cnf, "{}", &err), APR_SUCCESS);
    ck_assert_ptr_null(cnf.jkt);
    ck_assert_ptr_null(cnf.x5t_s256);
    ck_assert_int_eq(read_cnf(&cnf, "{\"cnf\":{\"jkt\":\"abc\"}}", &err),
                     APR_SUCCESS);
    ck_assert_str_eq(cnf.jkt, "abc");
    ck_assert_int_eq(
        read_cnf(&cnf, "{\"cnf\":{\"x5t#S256\":\"xyz\",\"jkt\":\"a\"}}", &err),
        APR_SUCCESS);
    ck_assert_str_eq(cnf.x5t_s256, "xyz");
}
END_TEST

START_TEST(cnf_refusals)
{
    static const char *const bad[] = {
        "{\"cnf\":\"jkt\"}",
        "{\"cnf\":[]}",
        "{\"cnf\":{\"jkt\":1}}",
        "{\"cnf\":{\"jkt\":\"\"}}",
        "{\"cnf\":{\"x5t#S256\":null}}",
        "{\"cnf\":{\"jwk\":{}}}",
        "{\"cnf\":{\"kid\":\"k\"}}",
    };
    logto_cnf_t cnf;
    logto_err_t err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(read_cnf(&cnf, bad[i], &err) != APR_SUCCESS, "%s",
                      bad[i]);
        ck_assert_int_eq(err.reason, LOGTO_ERR_CNF);
    }
    /* what is wrong, said */
    ck_assert_int_ne(read_cnf(&cnf, "{\"cnf\":{\"jkt\":\"\"}}", &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.text, "cnf.jkt is empty");
    ck_assert_int_ne(read_cnf(&cnf, "{\"cnf\":{\"jkt\":1}}", &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.text, "cnf.jkt is not a string");
}
END_TEST

START_TEST(certificate_thumbprint)
{
    char *pem = apr_pstrdup(pool, mint_get("cert_pem"));
    const char *tp;
    logto_err_t err;
    char *c;

    for (c = pem; *c; c++) {
        *c = *c == '|' ? '\n' : *c;
    }
    ck_assert_int_eq(logto_cert_thumbprint(&tp, pool, pem, &err), APR_SUCCESS);
    ck_assert_str_eq(tp, mint_get("cert_x5t"));
    ck_assert_int_ne(logto_cert_thumbprint(&tp, pool, "not a cert", &err),
                     APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_CERT_BINDING);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("dpop");
    TCase *ok = unit_tcase("accepted");
    TCase *no = unit_tcase("refused");
    TCase *url = unit_tcase("url");
    TCase *cnf = unit_tcase("cnf");

    tcase_add_test(ok, good_proof_verifies);
    tcase_add_test(ok, es384_rsa_pss_and_eddsa_proofs_verify);
    tcase_add_test(ok, typ_with_application_prefix_is_accepted);
    tcase_add_test(ok, htu_compared_after_normalisation);
    tcase_add_test(ok, request_query_is_ignored);
    tcase_add_test(ok, iat_within_age_and_skew);
    suite_add_tcase(s, ok);
    tcase_add_test(no, header_refusals);
    tcase_add_test(no, alg_outside_the_allowed_set);
    tcase_add_test(no, key_refusals);
    tcase_add_test(no, signature_by_another_key_is_refused);
    tcase_add_test(no, private_member_named);
    tcase_add_test(no, claim_refusals);
    tcase_add_test(no, request_mismatches);
    tcase_add_test(no, iat_out_of_window);
    tcase_add_test(no, token_mismatches);
    tcase_add_test(no, shape_refusals);
    suite_add_tcase(s, no);
    tcase_add_test(url, normalise_case_port_and_path);
    tcase_add_test(url, normalise_refusals);
    tcase_add_test(url, ath_is_sha256_of_the_token);
    tcase_add_test(url, replay_key_names_key_and_jti);
    tcase_add_test(url, nonce_valid_for_its_slot_and_the_next);
    tcase_add_test(url, nonce_refusals);
    suite_add_tcase(s, url);
    tcase_add_test(cnf, cnf_read);
    tcase_add_test(cnf, cnf_refusals);
    tcase_add_test(cnf, certificate_thumbprint);
    suite_add_tcase(s, cnf);
    return s;
}

int main(void)
{
    return mint_unit_main("mint-dpop.pl", suite);
}
