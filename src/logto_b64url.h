/*
 * logto_b64url.h - strict base64url (RFC 7515 section 2, RFC 4648 section 5).
 */
#ifndef LOGTO_B64URL_H
#define LOGTO_B64URL_H

#include <apr_pools.h>

#include "logto_err.h"

/* Decode exactly len characters of unpadded base64url into a buffer from p
 * (NUL-terminated for convenience, *plen excludes the NUL). Refuses '=',
 * '+', '/', whitespace, any other character, a length of 4n+1, and
 * non-zero trailing bits (so every byte string has one encoding).
 * Fails with LOGTO_ERR_MALFORMED. */
apr_status_t logto_b64url_decode(unsigned char **pout, apr_size_t *plen,
                                 apr_pool_t *p, const char *in, apr_size_t len,
                                 logto_err_t *err);

/* Whether every one of the len characters is of the base64url alphabet
 * (no NUL, no padding, no whitespace). */
int logto_b64url_alphabet_only(const char *in, apr_size_t len);

/* Encode len bytes as unpadded base64url, NUL-terminated, from p. */
char *logto_b64url_encode(apr_pool_t *p, const unsigned char *in,
                          apr_size_t len);

#endif /* LOGTO_B64URL_H */
