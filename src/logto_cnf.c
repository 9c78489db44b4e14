/*
 * logto_cnf.c - the confirmation claim (RFC 7800) and certificate
 * thumbprints (RFC 8705 section 3.1).
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "logto_b64url.h"
#include "logto_cnf.h"
#include "logto_md.h"

/* Member name of cnf as a non-empty string: NULL when absent, an error
 * when present in any other form. */
static apr_status_t cnf_string(const char **pout, const json_t *cnf,
                               const char *name, logto_err_t *err)
{
    const json_t *v = json_object_get(cnf, name);

    *pout = NULL;
    if (v == NULL) {
        return APR_SUCCESS;
    }
    if (!json_is_string(v) || json_string_length(v) == 0) {
        return logto_err_set(err, LOGTO_ERR_CNF, "cnf.%s %s", name,
                             json_is_string(v) ? "is empty"
                                               : "is not a string");
    }
    *pout = json_string_value(v);
    return APR_SUCCESS;
}

apr_status_t logto_cnf_read(logto_cnf_t *cnf, const json_t *payload,
                            logto_err_t *err)
{
    const json_t *c = json_object_get(payload, "cnf");

    cnf->jkt = cnf->x5t_s256 = NULL;
    if (c == NULL) {
        return APR_SUCCESS;
    }
    if (!json_is_object(c)) {
        return logto_err_set(err, LOGTO_ERR_CNF, "cnf is not an object");
    }
    if (cnf_string(&cnf->jkt, c, "jkt", err) != APR_SUCCESS ||
        cnf_string(&cnf->x5t_s256, c, "x5t#S256", err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    /* A binding this module cannot check must not turn the token into a
     * bearer token. */
    if (!cnf->jkt && !cnf->x5t_s256 && json_object_size(c) > 0) {
        return logto_err_set(err, LOGTO_ERR_CNF,
                             "token is bound by an unsupported cnf method");
    }
    return APR_SUCCESS;
}

apr_status_t logto_cert_thumbprint(const char **ptp, apr_pool_t *p,
                                   const char *pem, logto_err_t *err)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    apr_status_t rv = APR_EGENERAL;

    *ptp = NULL;
    if (x == NULL) {
        logto_err_set(err, LOGTO_ERR_CERT_BINDING,
                      "client certificate unreadable");
        goto end;
    }
    if (!X509_digest(x, logto_md_sha256(), md, &mdlen)) {
        logto_err_set(err, LOGTO_ERR_INTERNAL, "SHA-256 failed");
        goto end;
    }
    *ptp = logto_b64url_encode(p, md, mdlen);
    rv = APR_SUCCESS;
end:
    X509_free(x);
    BIO_free(bio);
    ERR_clear_error();
    return rv;
}
