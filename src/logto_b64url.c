/*
 * logto_b64url.c - strict unpadded base64url.
 *
 * Strict means one encoding per byte string: a token altered in its
 * encoding alone (padding, the standard alphabet, set trailing bits) is a
 * different token and is refused rather than quietly normalised.
 */
#include <apr_strings.h>

#include "logto_b64url.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of every byte, -1 outside the alphabet: decoding reads
 * each character of every token, so one load rather than five ranges. */
/* clang-format off */
static const signed char sextets[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};
/* clang-format on */

/* The 6-bit value of c, or -1 for any character outside the alphabet. */
static int sextet(unsigned char c)
{
    return sextets[c];
}

/* Every character of every token comes through here: the sextets of the
 * whole input are or-ed together, without a branch per character (a
 * single -1 makes the result negative). */
int logto_b64url_alphabet_only(const char *in, apr_size_t len)
{
    const unsigned char *u = (const unsigned char *)in;
    int any = 0;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        any |= sextets[u[i]];
    }
    return any >= 0;
}

/* Check every character and the bits a short final group leaves over. */
static apr_status_t check_input(const char *in, apr_size_t len,
                                logto_err_t *err)
{
    int last;

    if (len % 4 == 1) {
        return logto_err_set(err, LOGTO_ERR_MALFORMED,
                             "base64url of impossible length");
    }
    if (!logto_b64url_alphabet_only(in, len)) {
        return logto_err_set(err, LOGTO_ERR_MALFORMED,
                             "invalid base64url character");
    }
    if (len % 4 == 0) {
        return APR_SUCCESS;
    }
    /* 2 characters carry 1 byte (4 spare bits), 3 carry 2 (2 spare). */
    last = sextet((unsigned char)in[len - 1]);
    if ((len % 4 == 2 && (last & 0x0f)) || (len % 4 == 3 && (last & 0x03))) {
        return logto_err_set(err, LOGTO_ERR_MALFORMED,
                             "non-canonical base64url");
    }
    return APR_SUCCESS;
}

apr_status_t logto_b64url_decode(unsigned char **pout, apr_size_t *plen,
                                 apr_pool_t *p, const char *in, apr_size_t len,
                                 logto_err_t *err)
{
    unsigned char *out;
    apr_size_t i, n = 0;
    apr_uint32_t acc = 0;
    int bits = 0;

    *pout = NULL;
    *plen = 0;
    if (check_input(in, len, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    out = apr_palloc(p, len / 4 * 3 + 3);
    /* whole groups: 4 characters, 3 bytes */
    for (i = 0; i + 4 <= len; i += 4) {
        acc = (apr_uint32_t)sextet((unsigned char)in[i]) << 18 |
              (apr_uint32_t)sextet((unsigned char)in[i + 1]) << 12 |
              (apr_uint32_t)sextet((unsigned char)in[i + 2]) << 6 |
              (apr_uint32_t)sextet((unsigned char)in[i + 3]);
        out[n++] = (unsigned char)(acc >> 16);
        out[n++] = (unsigned char)(acc >> 8);
        out[n++] = (unsigned char)acc;
    }
    /* the short final group */
    for (acc = 0; i < len; i++) {
        acc = (acc << 6) | (apr_uint32_t)sextet((unsigned char)in[i]);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    out[n] = '\0';
    *pout = out;
    *plen = n;
    return APR_SUCCESS;
}

char *logto_b64url_encode(apr_pool_t *p, const unsigned char *in,
                          apr_size_t len)
{
    char *out = apr_palloc(p, (len + 2) / 3 * 4 + 1);
    apr_size_t i, n = 0;
    apr_uint32_t acc = 0;
    int bits = 0;

    for (i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[n++] = alphabet[(acc >> bits) & 0x3f];
        }
    }
    if (bits > 0) {
        out[n++] = alphabet[(acc << (6 - bits)) & 0x3f];
    }
    out[n] = '\0';
    return out;
}
