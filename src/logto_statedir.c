/*
 * logto_statedir.c - last good key sets on disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_escape.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <apr_strings.h>
#include <openssl/evp.h>

#include "logto_md.h"
#include "logto_statedir.h"

/* Seals files when no secret is configured: it detects damage and files
 * of another source, not a forger (the directory's permissions and the
 * file's owner keep those out: see open_own_file). */
static const unsigned char checksum_key[] = "mod_auth_logto state file";

static const logto_secret_t *key_of(const logto_secret_t *secret)
{
    static const logto_secret_t fixed = {checksum_key,
                                         sizeof(checksum_key) - 1};

    return secret != NULL && secret->len > 0 ? secret : &fixed;
}

static const char *record_name(apr_pool_t *p, const char *source)
{
    return apr_pstrcat(p, "state:", source, NULL);
}

const char *logto_statedir_path(apr_pool_t *p, const char *dir,
                                const char *source)
{
    unsigned char md[32];
    unsigned int n = sizeof(md);

    if (!EVP_Digest(source, strlen(source), md, &n, logto_md_sha256(), NULL)) {
        memset(md, 0, sizeof(md));
    }
    return apr_pstrcat(p, dir, "/", apr_pescape_hex(p, md, sizeof(md), 0),
                       ".keys", NULL);
}

/* Write all of buf to f. */
static apr_status_t write_all(apr_file_t *f, const unsigned char *buf,
                              apr_size_t len)
{
    apr_size_t n = len;
    apr_status_t rv = apr_file_write_full(f, buf, len, &n);

    return rv == APR_SUCCESS && n != len ? APR_EGENERAL : rv;
}

apr_status_t logto_statedir_save(const char *dir, const char *source,
                                 const logto_secret_t *secret,
                                 const void *payload, apr_size_t len,
                                 apr_pool_t *p, logto_err_t *err)
{
    const char *path = logto_statedir_path(p, dir, source);
    char *tmpl = apr_pstrcat(p, path, ".XXXXXX", NULL);
    apr_size_t rlen;
    unsigned char *rec = logto_record_seal(
        &rlen, p, key_of(secret), record_name(p, source), payload, len);
    apr_file_t *f;
    apr_status_t rv;
    char ebuf[120];

    /* apr_file_mktemp creates the file with mode 0600. */
    rv = apr_file_mktemp(
        &f, tmpl, APR_FOPEN_CREATE | APR_FOPEN_WRITE | APR_FOPEN_EXCL, p);
    if (rv != APR_SUCCESS) {
        return logto_err_set(err, LOGTO_ERR_INTERNAL, "%s: %s", tmpl,
                             apr_strerror(rv, ebuf, sizeof(ebuf)));
    }
    rv = write_all(f, rec, rlen);
    if (rv == APR_SUCCESS) {
        rv = apr_file_sync(f);
    }
    if (apr_file_close(f) != APR_SUCCESS && rv == APR_SUCCESS) {
        rv = APR_EGENERAL;
    }
    if (rv == APR_SUCCESS) {
        rv = apr_file_rename(tmpl, path, p);
    }
    if (rv != APR_SUCCESS) {
        apr_file_remove(tmpl, p);
        return logto_err_set(err, LOGTO_ERR_INTERNAL, "%s: %s", path,
                             apr_strerror(rv, ebuf, sizeof(ebuf)));
    }
    return APR_SUCCESS;
}

const char *logto_statedir_parent_problem(const char *dir, apr_pool_t *p)
{
    char *parent = apr_pstrdup(p, dir);
    char *slash = strrchr(parent, '/');
    struct stat st;

    if (slash == NULL) {
        parent = ".";
    }
    else if (slash == parent) {
        parent = "/";
    }
    else {
        *slash = '\0';
    }
    if (stat(parent, &st) != 0) {
        return apr_pstrcat(p, parent, ": ", strerror(errno), NULL);
    }
    if (st.st_uid != 0 || ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
                           (st.st_mode & S_ISVTX) == 0)) {
        return apr_psprintf(p,
                            "%s, which holds it, may be written by another "
                            "user than root (uid %ld, mode %04o)",
                            parent, (long)st.st_uid,
                            (unsigned int)(st.st_mode & 07777));
    }
    return NULL;
}

apr_status_t logto_statedir_open(const unsigned char **ppayload,
                                 apr_size_t *plen, const char *source,
                                 const logto_secret_t *secret,
                                 const unsigned char *buf, apr_size_t len,
                                 apr_pool_t *p, logto_err_t *err)
{
    return logto_record_open(ppayload, plen, key_of(secret),
                             record_name(p, source), buf, len, err);
}

/* Open path for reading as a file this user (or root) wrote and nobody
 * else may have: a regular file, not through a symbolic link, writable
 * by its owner alone. Without a configured secret its seal is no
 * signature, so who could have written it is what vouches for it. */
static apr_status_t open_own_file(int *pfd, struct stat *st, const char *path,
                                  apr_pool_t *p, logto_err_t *err)
{
    /* O_NONBLOCK: a FIFO there must not hold the thread (S_ISREG below) */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0) {
        return errno == ENOENT ? APR_NOTFOUND
                               : logto_err_set(err, LOGTO_ERR_INTERNAL,
                                               "%s: %s", path, strerror(errno));
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) ||
        (st->st_uid != geteuid() && st->st_uid != 0) ||
        (st->st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        close(fd);
        return logto_err_set(err, LOGTO_ERR_INTERNAL,
                             "%s: not a regular file of this user's that "
                             "only its owner may write",
                             path);
    }
    *pfd = fd;
    return APR_SUCCESS;
}

apr_status_t logto_statedir_load(const unsigned char **ppayload,
                                 apr_size_t *plen, const char *dir,
                                 const char *source,
                                 const logto_secret_t *secret, apr_pool_t *p,
                                 logto_err_t *err)
{
    const char *path = logto_statedir_path(p, dir, source);
    apr_size_t max = LOGTO_RECORD_OVERHEAD + LOGTO_RECORD_MAX_PAYLOAD, n = 0;
    unsigned char *buf;
    struct stat st;
    apr_status_t rv;
    ssize_t got;
    int fd = -1;

    rv = open_own_file(&fd, &st, path, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (st.st_size < 0 || (apr_size_t)st.st_size > max) {
        close(fd);
        return logto_err_set(
            err, LOGTO_ERR_INTERNAL,
            "%s: not a regular file of at most %" APR_SIZE_T_FMT " bytes", path,
            max);
    }
    buf = apr_palloc(p, (apr_size_t)st.st_size + 1);
    while (n < (apr_size_t)st.st_size &&
           ((got = read(fd, buf + n, (apr_size_t)st.st_size - n)) > 0 ||
            (got < 0 && errno == EINTR))) {
        n += got > 0 ? (apr_size_t)got : 0;
    }
    close(fd);
    if (logto_statedir_open(ppayload, plen, source, secret, buf, n, p, err) !=
        APR_SUCCESS) {
        return logto_err_set(err, LOGTO_ERR_INTERNAL, "%s: %s", path,
                             apr_pstrdup(p, err->text));
    }
    return APR_SUCCESS;
}
