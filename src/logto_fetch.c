/*
 * logto_fetch.c - bounded HTTP GETs with libcurl.
 *
 * Every transfer is bounded in time, size, redirects and protocols, since
 * it runs inside a request of a server process: a slow or hostile issuer
 * must cost a bounded wait and nothing more.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <apr_uri.h>
#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "logto_fetch.h"
#include "logto_json.h"

/* The body as it arrives, in malloc'ed memory until the transfer ends. */
typedef struct body_t {
    char *buf;
    apr_size_t len;
    apr_size_t cap;
    apr_size_t max;
    int over; /* the body went past max */
} body_t;

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

void logto_fetch_opts_init(logto_fetch_opts_t *opts)
{
    opts->timeout = LOGTO_FETCH_TIMEOUT;
    opts->ca_file = NULL;
    opts->max_body = LOGTO_FETCH_MAX_BODY;
    opts->max_redirects = LOGTO_FETCH_MAX_REDIRECTS;
}

static void global_init_once(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

apr_status_t logto_fetch_global_init(void)
{
    pthread_once(&global_once, global_init_once);
    return global_rc == CURLE_OK ? APR_SUCCESS : APR_EGENERAL;
}

/* libcurl's write callback: keep the bytes, or stop the transfer (by
 * taking fewer bytes than offered) as soon as the body is too large. */
static size_t body_write(char *data, size_t size, size_t nmemb, void *baton)
{
    body_t *body = baton;
    apr_size_t n = size * nmemb;
    apr_size_t need;
    char *grown;

    if (n > body->max - body->len) {
        body->over = 1;
        return 0;
    }
    need = body->len + n + 1;
    if (need > body->cap) {
        apr_size_t cap = body->cap ? body->cap : 16384;
        while (cap < need) {
            cap *= 2;
        }
        grown = realloc(body->buf, cap);
        if (grown == NULL) {
            return 0;
        }
        body->buf = grown;
        body->cap = cap;
    }
    memcpy(body->buf + body->len, data, n);
    body->len += n;
    return n;
}

/* Limit the transfer to http and https, for the first URL and every
 * redirect alike (no file://, no gopher://); a transfer that starts on
 * https never drops to http on a redirect, where keys could be swapped. */
static void restrict_protocols(CURL *curl, const char *url)
{
    int https = strncasecmp(url, "https:", 6) == 0;

#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR,
                     https ? "https" : "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS,
                     (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS,
                     https ? (long)CURLPROTO_HTTPS
                           : (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

/* Set every bound and check of one transfer. */
static void set_options(CURL *curl, const char *url,
                        const logto_fetch_opts_t *opts, body_t *body,
                        char *errbuf, struct curl_slist *headers)
{
    long timeout_ms =
        1000L * (opts->timeout > 0 ? opts->timeout : LOGTO_FETCH_TIMEOUT);

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "mod_auth_logto");
    /* Signals are process-wide: threads of an httpd child must not get
     * libcurl's SIGALRM. */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    restrict_protocols(curl, url);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION,
                     opts->max_redirects > 0 ? 1L : 0L);
    if (opts->max_redirects > 0) {
        curl_easy_setopt(curl, CURLOPT_MAXREDIRS, (long)opts->max_redirects);
    }
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (opts->ca_file != NULL) {
        /* the file's CAs and no others: libcurl also trusts the CA
         * directory it was built with (/etc/ssl/certs on Debian) unless
         * told not to, so a public CA would still vouch for the issuer */
        curl_easy_setopt(curl, CURLOPT_CAINFO, opts->ca_file);
        curl_easy_setopt(curl, CURLOPT_CAPATH, NULL);
    }
    /* Refuses a declared length up front; body_write catches the rest. */
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)body->max);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
}

/* Describe a failed transfer: what happened, never what was sent. */
static apr_status_t transfer_failed(CURLcode rc, const body_t *body,
                                    const char *errbuf, logto_err_t *err)
{
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);

    if (body->over || rc == CURLE_FILESIZE_EXCEEDED) {
        return logto_err_set(err, LOGTO_ERR_FETCH, "body over %lu bytes",
                             (unsigned long)body->max);
    }
    switch (rc) {
        case CURLE_OPERATION_TIMEDOUT:
            return logto_err_set(err, LOGTO_ERR_FETCH, "timed out");
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
            return logto_err_set(err, LOGTO_ERR_FETCH, "connect failed: %s",
                                 why);
        case CURLE_TOO_MANY_REDIRECTS:
            return logto_err_set(err, LOGTO_ERR_FETCH, "too many redirects");
        case CURLE_UNSUPPORTED_PROTOCOL:
            /* a redirect from https to http ends here too */
            return logto_err_set(err, LOGTO_ERR_FETCH,
                                 "protocol not allowed (http and https "
                                 "only, and https only after https): %s",
                                 why);
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CACERT_BADFILE:
            return logto_err_set(err, LOGTO_ERR_FETCH, "TLS failed: %s", why);
        default:
            return logto_err_set(err, LOGTO_ERR_FETCH, "fetch failed: %s", why);
    }
}

/* Run the transfer; on a 200 copy the body into p. */
static apr_status_t perform(char **pbody, apr_size_t *plen, apr_pool_t *p,
                            CURL *curl, body_t *body, const char *errbuf,
                            logto_err_t *err)
{
    CURLcode rc = curl_easy_perform(curl);
    long code = 0;

    if (rc != CURLE_OK) {
        return transfer_failed(rc, body, errbuf, err);
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) {
        return logto_err_set(err, LOGTO_ERR_FETCH, "HTTP %ld", code);
    }
    *pbody = apr_palloc(p, body->len + 1);
    if (body->len > 0) {
        memcpy(*pbody, body->buf, body->len);
    }
    (*pbody)[body->len] = '\0';
    *plen = body->len;
    return APR_SUCCESS;
}

apr_status_t logto_fetch_get(char **pbody, apr_size_t *plen, apr_pool_t *p,
                             const char *url, const logto_fetch_opts_t *opts,
                             logto_err_t *err)
{
    logto_fetch_opts_t defaults;
    body_t body = {NULL, 0, 0, 0, 0};
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    CURL *curl;
    apr_status_t rv;

    if (opts == NULL) {
        logto_fetch_opts_init(&defaults);
        opts = &defaults;
    }
    body.max = opts->max_body ? opts->max_body : LOGTO_FETCH_MAX_BODY;
    curl = curl_easy_init();
    if (curl == NULL) {
        return logto_err_set(err, LOGTO_ERR_INTERNAL,
                             "libcurl handle not created");
    }
    headers = curl_slist_append(NULL, "Accept: application/json");
    set_options(curl, url, opts, &body, errbuf, headers);
    rv = perform(pbody, plen, p, curl, &body, errbuf, err);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    free(body.buf);
    return rv;
}

/* The discovery URL of issuer: issuer without a trailing slash, then the
 * well-known path (OpenID Connect Discovery 1.0, section 4). */
static const char *discovery_url(apr_pool_t *p, const char *issuer)
{
    apr_size_t n = strlen(issuer);

    if (n > 0 && issuer[n - 1] == '/') {
        n--;
    }
    return apr_pstrcat(p, apr_pstrmemdup(p, issuer, n),
                       "/.well-known/openid-configuration", NULL);
}

/* s for a message: printable ASCII as is, anything else '?'. */
static const char *printable(apr_pool_t *p, const char *s)
{
    char *t, *c;

    if (s == NULL) {
        return "none";
    }
    t = apr_pstrdup(p, s);
    for (c = t; *c; c++) {
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) {
            *c = '?';
        }
    }
    return t;
}

/* A jwks_uri from discovery passes the checks AuthLogtoJwksUri does: an
 * absolute http(s) URL with a host, no credentials and no fragment, no
 * space or control character; http only for an http issuer. */
static int jwks_uri_acceptable(apr_pool_t *p, const char *uri,
                               const char *issuer)
{
    apr_uri_t u;
    const char *c;

    for (c = uri; *c; c++) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7f) {
            return 0;
        }
    }
    if (apr_uri_parse(p, uri, &u) != APR_SUCCESS || !u.scheme || !u.hostname ||
        !*u.hostname || u.user || u.password || u.fragment) {
        return 0;
    }
    if (strcasecmp(u.scheme, "https") == 0) {
        return 1;
    }
    return strcasecmp(u.scheme, "http") == 0 &&
           strncasecmp(issuer, "http://", 7) == 0;
}

apr_status_t logto_discovery_parse(const char **puri, apr_pool_t *p,
                                   const char *issuer, const char *body,
                                   apr_size_t len, logto_err_t *err)
{
    json_t *doc;
    const char *doc_issuer, *uri;

    if (logto_json_parse_object(&doc, p, body, len, LOGTO_JSON_MAX_DEPTH,
                                LOGTO_ERR_FETCH, err) != APR_SUCCESS) {
        return logto_err_set(err, LOGTO_ERR_FETCH, "discovery: %s",
                             apr_pstrdup(p, err->text));
    }
    doc_issuer = logto_json_str(doc, "issuer");
    if (doc_issuer == NULL || strcmp(doc_issuer, issuer) != 0) {
        return logto_err_set(err, LOGTO_ERR_FETCH,
                             "discovery: the document's issuer (%.100s) is "
                             "not the configured one",
                             printable(p, doc_issuer));
    }
    uri = logto_json_str(doc, "jwks_uri");
    if (uri == NULL || !jwks_uri_acceptable(p, uri, issuer)) {
        return logto_err_set(err, LOGTO_ERR_FETCH,
                             "discovery: jwks_uri missing, not https, or with "
                             "credentials or a fragment");
    }
    *puri = apr_pstrdup(p, uri);
    return APR_SUCCESS;
}

apr_status_t logto_discover_jwks_uri(const char **puri, apr_pool_t *p,
                                     const char *issuer,
                                     const logto_fetch_opts_t *opts,
                                     logto_err_t *err)
{
    char *body;
    apr_size_t len;
    logto_err_t local;

    if (err == NULL) {
        err = &local;
    }
    if (logto_fetch_get(&body, &len, p, discovery_url(p, issuer), opts, err) !=
        APR_SUCCESS) {
        return logto_err_set(err, LOGTO_ERR_FETCH, "discovery: %s",
                             apr_pstrdup(p, err->text));
    }
    return logto_discovery_parse(puri, p, issuer, body, len, err);
}

apr_status_t logto_ca_file_check(const char *path, logto_err_t *err)
{
    STACK_OF(X509_INFO) * infos;
    BIO *in;
    int i, n = 0;

    ERR_clear_error();
    in = BIO_new_file(path, "r");
    if (!in) {
        ERR_clear_error();
        return logto_err_set(err, LOGTO_ERR_CONFIG, "cannot be read");
    }
    /* as OpenSSL's own CA file loader reads it: certificates (trusted
     * ones too), CRLs and keys; a block that does not parse fails all */
    infos = PEM_X509_INFO_read_bio(in, NULL, NULL, NULL);
    BIO_free(in);
    ERR_clear_error();
    if (!infos) {
        return logto_err_set(err, LOGTO_ERR_CONFIG,
                             "holds a PEM block that does not parse");
    }
    for (i = 0; i < sk_X509_INFO_num(infos); i++) {
        n += sk_X509_INFO_value(infos, i)->x509 != NULL;
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    if (n == 0) {
        return logto_err_set(err, LOGTO_ERR_CONFIG, "holds no PEM certificate");
    }
    return APR_SUCCESS;
}
