/*
 * logto_md.h - the message digests of the module, fetched from OpenSSL
 * once per process. EVP_sha256() and its kin make OpenSSL 3 look the
 * implementation up again, under its method store's lock, on every use:
 * on the request path, every thread would meet every other there.
 */
#ifndef LOGTO_MD_H
#define LOGTO_MD_H

#include <openssl/evp.h>

/* SHA-256, SHA-384 and SHA-512. Never NULL: should the fetch fail, the
 * legacy EVP_shaNNN(), which fetches on each use, stands in. */
const EVP_MD *logto_md_sha256(void);
const EVP_MD *logto_md_sha384(void);
const EVP_MD *logto_md_sha512(void);

#endif /* LOGTO_MD_H */
