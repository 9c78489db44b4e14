/*
 * logto_statedir.h - the last good key set of each source, kept in a
 * directory so that a restart during an issuer outage still has keys.
 *
 * One file per source, named by the hex SHA-256 of the source
 * ("<hex>.keys"), holding a sealed record (logto_record.h) bound to the
 * name "state:" + source: a file copied from another source, truncated or
 * damaged fails to open. Files are written to a temporary file in the
 * same directory (mode 0600) and renamed over the old one, so a reader
 * sees the old file or the new one, never a part.
 */
#ifndef LOGTO_STATEDIR_H
#define LOGTO_STATEDIR_H

#include <apr_pools.h>

#include "logto_err.h"
#include "logto_record.h"

/* The file of source in dir, from p. */
const char *logto_statedir_path(apr_pool_t *p, const char *dir,
                                const char *source);

/* Write payload (len bytes) as source's file in dir, atomically. secret:
 * NULL or empty seals with a fixed key (a checksum against damage). */
apr_status_t logto_statedir_save(const char *dir, const char *source,
                                 const logto_secret_t *secret,
                                 const void *payload, apr_size_t len,
                                 apr_pool_t *p, logto_err_t *err);

/* Read source's file in dir: *ppayload (from p) and *plen. APR_NOTFOUND
 * when there is no file (nothing to say), APR_EGENERAL with err set when
 * there is one that cannot be used (unreadable, too large, damaged, of
 * another source or secret, or one that another user than this one or
 * root owns, others may write, or a symbolic link leads to). */
apr_status_t logto_statedir_load(const unsigned char **ppayload,
                                 apr_size_t *plen, const char *dir,
                                 const char *source,
                                 const logto_secret_t *secret, apr_pool_t *p,
                                 logto_err_t *err);

/* Why root should not write in dir, or NULL: the directory holding it
 * may be written by another user than root (and is not sticky), who could
 * put a link to another directory in dir's place between a check and a
 * write. From p. */
const char *logto_statedir_parent_problem(const char *dir, apr_pool_t *p);

/* Open a state file's bytes (as read) for source: the core of
 * logto_statedir_load, for tests and fuzzing. */
apr_status_t logto_statedir_open(const unsigned char **ppayload,
                                 apr_size_t *plen, const char *source,
                                 const logto_secret_t *secret,
                                 const unsigned char *buf, apr_size_t len,
                                 apr_pool_t *p, logto_err_t *err);

#endif /* LOGTO_STATEDIR_H */
