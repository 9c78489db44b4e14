/*
 * test_fetch.c - bounded GETs and discovery, against the fake issuer on
 * 127.0.0.1.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_time.h>

#include "fake_issuer.h"
#include "logto_fetch.h"
#include "unit.h"

static fake_issuer_t fi;

static void issuer_up(void)
{
    apr_initialize();
    ck_assert_int_eq(
        fake_issuer_start(&fi, TEST_DATA_DIR "/../keys/jwks.json", 0), 0);
}

static void issuer_down(void)
{
    fake_issuer_stop(&fi);
    apr_terminate();
}

/* Put the issuer into a mode ("500", "slow&s=3", ...). */
static void mode(const char *m)
{
    ck_assert_ptr_nonnull(fake_issuer_control(
        &fi, pool, apr_pstrcat(pool, "/control/mode?m=", m, NULL)));
}

static apr_status_t get(char **pbody, apr_size_t *plen, const char *url,
                        const logto_fetch_opts_t *opts, logto_err_t *err)
{
    logto_err_clear(err);
    return logto_fetch_get(pbody, plen, pool, url, opts, err);
}

START_TEST(a_200_answer_gives_its_body)
{
    char *body = NULL;
    apr_size_t len = 0;
    logto_err_t err;

    mode("ok");
    ck_assert_int_eq(get(&body, &len, fi.jwks_uri, NULL, &err), APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(body, "\"keys\""));
    ck_assert_uint_eq(strlen(body), len);
    ck_assert_int_eq(err.reason, LOGTO_OK);
}
END_TEST

START_TEST(a_500_answer_is_refused)
{
    char *body;
    apr_size_t len;
    logto_err_t err;

    mode("500");
    ck_assert_int_ne(get(&body, &len, fi.jwks_uri, NULL, &err), APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_FETCH);
    ck_assert_str_eq(err.text, "HTTP 500");
}
END_TEST

START_TEST(a_404_answer_is_refused)
{
    char *body;
    apr_size_t len;
    logto_err_t err;

    mode("ok");
    ck_assert_int_ne(
        get(&body, &len, apr_pstrcat(pool, fi.base, "/nope", NULL), NULL, &err),
        APR_SUCCESS);
    ck_assert_str_eq(err.text, "HTTP 404");
}
END_TEST

START_TEST(a_declared_body_over_the_limit_is_refused)
{
    char *body;
    apr_size_t len;
    logto_err_t err;

    mode("huge");
    ck_assert_int_ne(get(&body, &len, fi.jwks_uri, NULL, &err), APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_FETCH);
    ck_assert_str_eq(err.text, "body over 1048576 bytes");
}
END_TEST

START_TEST(a_streamed_body_over_the_limit_is_refused)
{
    char *body;
    apr_size_t len;
    logto_err_t err;

    mode("hugestream");
    ck_assert_int_ne(get(&body, &len, fi.jwks_uri, NULL, &err), APR_SUCCESS);
    ck_assert_str_eq(err.text, "body over 1048576 bytes");
}
END_TEST

START_TEST(the_body_limit_is_configurable)
{
    logto_fetch_opts_t opts;
    char *body;
    apr_size_t len;
    logto_err_t err;

    mode("ok");
    logto_fetch_opts_init(&opts);
    opts.max_body = 10;
    ck_assert_int_ne(get(&body, &len, fi.jwks_uri, &opts, &err), APR_SUCCESS);
    ck_assert_str_eq(err.text, "body over 10 bytes");
}
END_TEST

START_TEST(a_slow_answer_times_out_within_a_second_of_the_timeout)
{
    logto_fetch_opts_t opts;
    char *body;
    apr_size_t len;
    logto_err_t err;
    apr_time_t start;

    mode("slow&s=5");
    logto_fetch_opts_init(&opts);
    opts.timeout = 1;
    start = apr_time_now();
    ck_assert_int_ne(get(&body, &len, fi.jwks_uri, &opts, &err), APR_SUCCESS);
    ck_assert_int_lt(apr_time_now() - start, apr_time_from_sec(2));
    ck_assert_int_eq(err.reason, LOGTO_ERR_FETCH);
    ck_assert_str_eq(err.text, "timed out");
    mode("ok");
}
END_TEST

START_TEST(a_refused_connection_says_so)
{
    char *body;
    apr_size_t len;
    logto_err_t err;
    int port = fake_issuer_dead_port();

    ck_assert_int_ne(port, 0);
    ck_assert_int_ne(get(&body, &len,
                         apr_psprintf(pool, "http://127.0.0.1:%d/jwks", port),
                         NULL, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_FETCH);
    ck_assert_msg(strncmp(err.text, "connect failed: ", 16) == 0, "%s",
                  err.text);
}
END_TEST

START_TEST(a_closed_connection_without_answer_fails)
{
    char *body;
    apr_size_t len;
    logto_err_t err;

    mode("refuse");
    ck_assert_int_ne(get(&body, &len, fi.jwks_uri, NULL, &err), APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_FETCH);
    mode("ok");
}
END_TEST

START_TEST(other_protocols_are_not_fetched)
{
    char *body;
    apr_size_t len;
    logto_err_t err;

    ck_assert_int_ne(get(&body, &len, "file:///etc/hostname", NULL, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_FETCH);
    ck_assert_msg(strstr(err.text, "protocol") != NULL, "%s", err.text);
}
END_TEST

START_TEST(up_to_three_redirects_are_followed)
{
    char *body = NULL;
    apr_size_t len;
    logto_err_t err;

    mode("ok");
    ck_assert_int_eq(get(&body, &len,
                         apr_pstrcat(pool, fi.base, "/redirect/2", NULL), NULL,
                         &err),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(body, "\"keys\""));
    ck_assert_int_ne(get(&body, &len,
                         apr_pstrcat(pool, fi.base, "/redirect/3", NULL), NULL,
                         &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.text, "too many redirects");
}
END_TEST

START_TEST(redirects_are_not_followed_when_none_are_allowed)
{
    logto_fetch_opts_t opts;
    char *body;
    apr_size_t len;
    logto_err_t err;

    logto_fetch_opts_init(&opts);
    opts.max_redirects = 0;
    ck_assert_int_ne(get(&body, &len,
                         apr_pstrcat(pool, fi.base, "/redirect/0", NULL), &opts,
                         &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.text, "HTTP 302");
}
END_TEST

START_TEST(a_redirect_to_another_protocol_is_not_followed)
{
    char *body;
    apr_size_t len;
    logto_err_t err;

    ck_assert_int_ne(get(&body, &len,
                         apr_pstrcat(pool, fi.base, "/redirect-file", NULL),
                         NULL, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_FETCH);
    ck_assert_msg(strstr(err.text, "protocol") != NULL, "%s", err.text);
}
END_TEST

START_TEST(discovery_finds_the_jwks_uri)
{
    const char *uri = NULL;
    logto_err_t err;

    mode("ok");
    logto_err_clear(&err);
    ck_assert_int_eq(logto_discover_jwks_uri(&uri, pool, fi.issuer, NULL, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(uri, fi.jwks_uri);
}
END_TEST

/* What discovery may name as the jwks_uri: what AuthLogtoJwksUri may. */
START_TEST(discovery_parse_checks_the_jwks_uri)
{
    const char *iss = "https://a.example/oidc",
               *plain = "http://a.example/oidc";
    const char *ok[] = {"https://a.example/oidc/jwks",
                        "https://keys.example:8443/jwks?x=1"};
    const char *bad[] = {"http://a.example/oidc/jwks",
                         "https://user:pw@a.example/jwks",
                         "https://user@a.example/jwks",
                         "https://a.example/jwks#frag",
                         "https://a.example/j wks",
                         "/oidc/jwks",
                         "file:///etc/passwd",
                         "https://",
                         ""};
    const char *uri;
    logto_err_t err;
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        const char *doc = apr_psprintf(
            pool, "{\"issuer\":\"%s\",\"jwks_uri\":\"%s\"}", iss, ok[i]);

        ck_assert_msg(logto_discovery_parse(&uri, pool, iss, doc, strlen(doc),
                                            &err) == APR_SUCCESS,
                      "%s: %s", ok[i], err.text);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *doc = apr_psprintf(
            pool, "{\"issuer\":\"%s\",\"jwks_uri\":\"%s\"}", iss, bad[i]);

        ck_assert_msg(logto_discovery_parse(&uri, pool, iss, doc, strlen(doc),
                                            &err) != APR_SUCCESS,
                      "%s accepted", bad[i]);
        ck_assert_ptr_nonnull(strstr(err.text, "jwks_uri"));
    }
    /* http keys for an http issuer */
    {
        const char *doc = "{\"issuer\":\"http://a.example/oidc\","
                          "\"jwks_uri\":\"http://a.example/oidc/jwks\"}";

        ck_assert_int_eq(
            logto_discovery_parse(&uri, pool, plain, doc, strlen(doc), &err),
            APR_SUCCESS);
    }
    /* the messages: the document's issuer named, printable; one "not" */
    {
        const char *doc = "{\"issuer\":\"https://a.example/oidc/\\u0001\","
                          "\"jwks_uri\":\"https://a.example/jwks\"}";

        ck_assert_int_ne(
            logto_discovery_parse(&uri, pool, iss, doc, strlen(doc), &err),
            APR_SUCCESS);
        ck_assert_msg(strstr(err.text, "(https://a.example/oidc/?)") != NULL,
                      "%s", err.text);
        ck_assert_int_ne(logto_discovery_parse(&uri, pool, iss, "[1]", 3, &err),
                         APR_SUCCESS);
        ck_assert_msg(strstr(err.text, "not a JSON object: not") == NULL, "%s",
                      err.text);
    }
}
END_TEST

START_TEST(discovery_refuses_another_issuer)
{
    const char *uri = NULL;
    logto_err_t err;

    mode("badissuer");
    logto_err_clear(&err);
    ck_assert_int_ne(logto_discover_jwks_uri(&uri, pool, fi.issuer, NULL, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_FETCH);
    ck_assert_msg(strstr(err.text, "issuer") != NULL, "%s", err.text);
    ck_assert_ptr_null(uri);
    mode("ok");
}
END_TEST

START_TEST(discovery_needs_the_exact_issuer)
{
    const char *uri = NULL;
    logto_err_t err;

    mode("ok");
    logto_err_clear(&err);
    /* The same document, fetched for an issuer spelled with a slash. */
    ck_assert_int_ne(
        logto_discover_jwks_uri(
            &uri, pool, apr_pstrcat(pool, fi.issuer, "/", NULL), NULL, &err),
        APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_FETCH);
}
END_TEST

START_TEST(discovery_reports_a_failed_fetch)
{
    const char *uri = NULL;
    logto_err_t err;

    mode("500");
    logto_err_clear(&err);
    ck_assert_int_ne(logto_discover_jwks_uri(&uri, pool, fi.issuer, NULL, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.text, "discovery: HTTP 500");
    mode("garbage");
    ck_assert_int_ne(logto_discover_jwks_uri(&uri, pool, fi.issuer, NULL, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_FETCH);
    mode("ok");
}
END_TEST

/* ---------------------------------------------------------------- https */

static fake_issuer_t tls;

static void tls_issuer_up(void)
{
    apr_initialize();
    ck_assert_int_eq(
        fake_issuer_start(&tls, TEST_DATA_DIR "/../keys/jwks.json", 1), 0);
}

static void tls_issuer_down(void)
{
    fake_issuer_stop(&tls);
    apr_terminate();
}

START_TEST(https_with_the_issuers_ca_is_fetched)
{
    logto_fetch_opts_t opts;
    char *body = NULL;
    apr_size_t len;
    logto_err_t err;

    logto_fetch_opts_init(&opts);
    opts.ca_file = tls.ca_file;
    ck_assert_int_eq(get(&body, &len, tls.jwks_uri, &opts, &err), APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(body, "\"keys\""));
}
END_TEST

START_TEST(an_untrusted_certificate_is_refused)
{
    char *body;
    apr_size_t len;
    logto_err_t err;

    /* The system store does not know the issuer's own certificate. */
    ck_assert_int_ne(get(&body, &len, tls.jwks_uri, NULL, &err), APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_FETCH);
    ck_assert_msg(strncmp(err.text, "TLS failed: ", 12) == 0, "%s", err.text);
}
END_TEST

START_TEST(a_certificate_for_another_name_is_refused)
{
    logto_fetch_opts_t opts;
    char *body;
    apr_size_t len;
    logto_err_t err;

    logto_fetch_opts_init(&opts);
    opts.ca_file = tls.ca_file;
    /* Trusted, but issued for 127.0.0.1, not for localhost. */
    ck_assert_int_ne(
        get(&body, &len,
            apr_psprintf(pool, "https://localhost:%d/oidc/jwks", tls.port),
            &opts, &err),
        APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_FETCH);
}
END_TEST

START_TEST(https_discovery_finds_an_https_jwks_uri)
{
    logto_fetch_opts_t opts;
    const char *uri = NULL;
    logto_err_t err;

    logto_fetch_opts_init(&opts);
    opts.ca_file = tls.ca_file;
    logto_err_clear(&err);
    ck_assert_int_eq(
        logto_discover_jwks_uri(&uri, pool, tls.issuer, &opts, &err),
        APR_SUCCESS);
    ck_assert_str_eq(uri, tls.jwks_uri);
}
END_TEST

/* ------------------------------------------------------------ CA files */

/* A copy of the issuer's certificate with one base64 character of its
 * body changed, in the issuer's directory; its path. */
static const char *spoiled_copy(void)
{
    const char *path = apr_pstrcat(pool, tls.dir, "/spoiled.pem", NULL);
    char buf[8192];
    FILE *f = fopen(tls.ca_file, "r");
    size_t n;
    char *mid;

    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    mid = strchr(buf, '\n') + 40; /* inside the first line of base64 */
    *mid = *mid == '!' ? '?' : '!';
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fwrite(buf, 1, n, f);
    fclose(f);
    return path;
}

START_TEST(a_ca_file_of_certificates_is_accepted)
{
    logto_err_t err;

    logto_err_clear(&err);
    ck_assert_int_eq(logto_ca_file_check(tls.ca_file, &err), APR_SUCCESS);
}
END_TEST

START_TEST(a_ca_file_without_a_certificate_is_refused)
{
    logto_err_t err;

    /* a private key, a key set: files, but not CA bundles */
    ck_assert_int_ne(logto_ca_file_check(tls.key_file, &err), APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_CONFIG);
    ck_assert_str_eq(err.text, "holds no PEM certificate");
    ck_assert_int_ne(
        logto_ca_file_check(TEST_DATA_DIR "/../keys/jwks.json", &err),
        APR_SUCCESS);
    ck_assert_str_eq(err.text, "holds no PEM certificate");
    ck_assert_int_ne(logto_ca_file_check("/nonexistent/ca.pem", &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err.text, "cannot be read");
}
END_TEST

START_TEST(a_ca_file_with_a_broken_certificate_is_refused)
{
    const char *path = spoiled_copy();
    logto_err_t err;
    apr_status_t rv = logto_ca_file_check(path, &err);

    unlink(path); /* before the checks: the directory is removed after */
    ck_assert_int_ne(rv, APR_SUCCESS);
    ck_assert_int_eq(err.reason, LOGTO_ERR_CONFIG);
    ck_assert_str_eq(err.text, "holds a PEM block that does not parse");
}
END_TEST

/* The issuer's certificate as a bundle of another shape, made by the
 * shell command cmd from $CERT and $KEY into $OUT, in the issuer's
 * directory: checked, then removed. */
static apr_status_t check_reshaped(const char *cmd, logto_err_t *err)
{
    const char *out = apr_pstrcat(pool, tls.dir, "/reshaped.pem", NULL);
    apr_status_t rv;

    setenv("CERT", tls.ca_file, 1);
    setenv("KEY", tls.key_file, 1);
    setenv("OUT", out, 1);
    ck_assert_int_eq(system(cmd), 0);
    rv = logto_ca_file_check(out, err);
    unlink(out);
    return rv;
}

START_TEST(a_ca_file_as_openssl_reads_it_is_accepted)
{
    logto_err_t err;

    /* a certificate with its key beside it, in either order */
    ck_assert_int_eq(check_reshaped("cat \"$CERT\" \"$KEY\" > \"$OUT\"", &err),
                     APR_SUCCESS);
    ck_assert_int_eq(check_reshaped("cat \"$KEY\" \"$CERT\" > \"$OUT\"", &err),
                     APR_SUCCESS);
    /* "TRUSTED CERTIFICATE" blocks (Fedora's ca-bundle.trust.crt) */
    ck_assert_int_eq(check_reshaped("openssl x509 -in \"$CERT\" -trustout "
                                    "-addtrust serverAuth -out \"$OUT\"",
                                    &err),
                     APR_SUCCESS);
}
END_TEST

static Suite *fetch_suite(void)
{
    Suite *s = suite_create("fetch");
    TCase *tc = unit_tcase("get");

    tcase_add_unchecked_fixture(tc, issuer_up, issuer_down);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, a_200_answer_gives_its_body);
    tcase_add_test(tc, a_500_answer_is_refused);
    tcase_add_test(tc, a_404_answer_is_refused);
    tcase_add_test(tc, a_declared_body_over_the_limit_is_refused);
    tcase_add_test(tc, a_streamed_body_over_the_limit_is_refused);
    tcase_add_test(tc, the_body_limit_is_configurable);
    tcase_add_test(tc, a_slow_answer_times_out_within_a_second_of_the_timeout);
    tcase_add_test(tc, a_refused_connection_says_so);
    tcase_add_test(tc, a_closed_connection_without_answer_fails);
    tcase_add_test(tc, other_protocols_are_not_fetched);
    tcase_add_test(tc, up_to_three_redirects_are_followed);
    tcase_add_test(tc, redirects_are_not_followed_when_none_are_allowed);
    tcase_add_test(tc, a_redirect_to_another_protocol_is_not_followed);
    tcase_add_test(tc, discovery_finds_the_jwks_uri);
    tcase_add_test(tc, discovery_refuses_another_issuer);
    tcase_add_test(tc, discovery_parse_checks_the_jwks_uri);
    tcase_add_test(tc, discovery_needs_the_exact_issuer);
    tcase_add_test(tc, discovery_reports_a_failed_fetch);
    suite_add_tcase(s, tc);
    tc = unit_tcase("https");
    tcase_add_unchecked_fixture(tc, tls_issuer_up, tls_issuer_down);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, https_with_the_issuers_ca_is_fetched);
    tcase_add_test(tc, an_untrusted_certificate_is_refused);
    tcase_add_test(tc, a_certificate_for_another_name_is_refused);
    tcase_add_test(tc, https_discovery_finds_an_https_jwks_uri);
    tcase_add_test(tc, a_ca_file_of_certificates_is_accepted);
    tcase_add_test(tc, a_ca_file_without_a_certificate_is_refused);
    tcase_add_test(tc, a_ca_file_with_a_broken_certificate_is_refused);
    tcase_add_test(tc, a_ca_file_as_openssl_reads_it_is_accepted);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (logto_fetch_global_init() != APR_SUCCESS) {
        return EXIT_FAILURE;
    }
    return unit_main(fetch_suite());
}
