/*
 * logto_fetch.h - bounded HTTP GETs with libcurl, for the discovery
 * document and the key set, and nothing else.
 *
 * libcurl's global state must be set up once per process before any fetch,
 * while the process is still single-threaded: the httpd glue calls
 * logto_fetch_global_init() in post_config, the unit tests and the
 * command-line tool at their start.
 */
#ifndef LOGTO_FETCH_H
#define LOGTO_FETCH_H

#include <apr_pools.h>

#include "logto_err.h"

/* Defaults of logto_fetch_opts_t. */
#define LOGTO_FETCH_TIMEOUT       5
#define LOGTO_FETCH_MAX_BODY      (1024 * 1024)
#define LOGTO_FETCH_MAX_REDIRECTS 3

typedef struct logto_fetch_opts_t {
    int timeout;         /* seconds for connecting and for the whole
                            transfer; <= 0: LOGTO_FETCH_TIMEOUT */
    const char *ca_file; /* CA bundle for https, NULL: system store */
    apr_size_t max_body; /* largest body accepted in bytes;
                            0: LOGTO_FETCH_MAX_BODY */
    int max_redirects;   /* redirects followed; <= 0: none */
} logto_fetch_opts_t;

/* Fill opts with the defaults (timeout 5 s, system CAs, 1 MiB, 3
 * redirects). */
void logto_fetch_opts_init(logto_fetch_opts_t *opts);

/* curl_global_init, once per process however often it is called; call it
 * before any thread starts. APR_EGENERAL when libcurl cannot start. */
apr_status_t logto_fetch_global_init(void);

/* GET url (http or https only; certificates and host names always
 * verified) and hand back the body of a 200 answer in *pbody (from p,
 * NUL-terminated, *plen bytes without the NUL). Any other status, a body
 * over opts->max_body, a timeout or a connection failure fails with
 * LOGTO_ERR_FETCH and a text saying which. opts NULL: defaults. */
apr_status_t logto_fetch_get(char **pbody, apr_size_t *plen, apr_pool_t *p,
                             const char *url, const logto_fetch_opts_t *opts,
                             logto_err_t *err);

/* Read <issuer>/.well-known/openid-configuration and hand back its
 * jwks_uri in *puri (from p). The document's issuer must equal issuer
 * exactly; jwks_uri must be https, or http when issuer itself is http.
 * Failures are LOGTO_ERR_FETCH. */
apr_status_t logto_discover_jwks_uri(const char **puri, apr_pool_t *p,
                                     const char *issuer,
                                     const logto_fetch_opts_t *opts,
                                     logto_err_t *err);

/* The jwks_uri of a discovery document (body, len bytes) of issuer, as
 * logto_discover_jwks_uri checks it, in *puri (from p). No network. */
apr_status_t logto_discovery_parse(const char **puri, apr_pool_t *p,
                                   const char *issuer, const char *body,
                                   apr_size_t len, logto_err_t *err);

/* Whether the file at path is a CA bundle as OpenSSL loads one: every
 * PEM block in it readable, at least one of them a certificate.
 * LOGTO_ERR_CONFIG with a text saying what is wrong otherwise. */
apr_status_t logto_ca_file_check(const char *path, logto_err_t *err);

#endif /* LOGTO_FETCH_H */
