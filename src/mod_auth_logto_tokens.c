/*
 * mod_auth_logto_tokens.c - glue: the verified-token cache (see
 * logto_tokcache.h for the table).
 *
 * The table takes logto_tokcache_memsize(ENTRIES) bytes of anonymous
 * shared memory (10,500,064 bytes for the default 100,000 entries),
 * created by the parent and inherited by every child. It hangs off the
 * process pool, so a graceful restart with the same size finds it again,
 * entries and counters included; entries stay bound to the configuration
 * that verified them by their key.
 *
 * Beside it, a table of the same kind and size remembers the DPoP proofs
 * used (logto_tokcache_claim), kept across graceful restarts the same
 * way, and never letting a proof go before it expires: a replay is
 * refused by this server whatever the shared cache forgot. A full stop
 * keeps them too: the parent writes the live ones to the state
 * directory as it exits, and the next start claims them back.
 *
 * Each child also keeps a memo of the payloads it parsed (logto_memo.h),
 * so a hit in the table parses nothing: MEMO_PER_THREAD slots per worker
 * thread, at most MEMO_MAX, each holding one parsed payload (a 200-byte
 * payload is about 1.5 KiB of Jansson objects).
 */
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <ap_mpm.h>

#include "mod_auth_logto.h"
#include "mod_auth_logto_keys.h"
#include "mod_auth_logto_tokens.h"
#include "logto_b64url.h"
#include "logto_statedir.h"

#define SHM_USERDATA      "mod_auth_logto:token-table"
#define SHM_USED_USERDATA "mod_auth_logto:used-proofs"
/* Set in the process pool once the used proofs of the last stop were
 * read back: only a first start reads them. */
#define USED_READ_USERDATA "mod_auth_logto:used-proofs-read"
/* Used proofs on disk: state files of sources "dpop-proofs-used:0", ":1",
 * ..., each of at most USED_PER_FILE records. */
#define USED_SOURCE   "dpop-proofs-used:"
#define USED_PER_FILE (LOGTO_RECORD_MAX_PAYLOAD / LOGTO_TOKCACHE_CLAIM_LEN)
/* Longest a fleet record lives (exp may be far beyond apr_time_t). */
#define FLEET_MAX_LIFE 86400
/* The memo's size: a prefork child (one thread) holds 128 payloads, an
 * event child of 25 threads 3,200. */
#define MEMO_PER_THREAD 128
#define MEMO_MAX        8192

typedef struct tokens_state_t {
    logto_tokcache_t *table; /* NULL: no local table */
    logto_tokcache_t *used;  /* DPoP proofs seen, until they expire */
    int fleet;               /* a network socache behind it */
    logto_tokstore_t store;
} tokens_state_t;

static tokens_state_t tokens;

static apr_status_t forget_tokens(void *data)
{
    memset(&tokens, 0, sizeof(tokens));
    return APR_SUCCESS;
}

/* ------------------------------------------------------------ the store */

/* The fleet tier's key: the digest, with the section prefix. */
static const char *fleet_key(apr_pool_t *p, const unsigned char *digest)
{
    return apr_pstrcat(
        p, "tok:", logto_b64url_encode(p, digest, LOGTO_TOKCACHE_DIGEST_LEN),
        NULL);
}

static apr_status_t fleet_get(const unsigned char *digest, apr_int64_t now,
                              logto_tokcache_entry_t *e, apr_pool_t *p)
{
    unsigned char *val;
    apr_size_t len;

    if (logto_socache_get(fleet_key(p, digest), &val, &len, p) != APR_SUCCESS ||
        logto_tokcache_record_decode(e, val, len) != APR_SUCCESS ||
        now >= e->exp) {
        return APR_NOTFOUND;
    }
    return APR_SUCCESS;
}

static void fleet_put(const unsigned char *digest,
                      const logto_tokcache_entry_t *e, apr_int64_t now,
                      apr_pool_t *p)
{
    unsigned char rec[LOGTO_TOKCACHE_RECORD_LEN];
    apr_int64_t until =
        e->exp < now + FLEET_MAX_LIFE ? e->exp : now + FLEET_MAX_LIFE;

    logto_tokcache_record_encode(rec, e);
    logto_socache_set(fleet_key(p, digest), rec, sizeof(rec),
                      apr_time_from_sec(until), p);
}

/* The local table first; the fleet only on a local miss, and what it
 * knows is then kept locally too. */
static apr_status_t store_get(void *baton, const unsigned char *digest,
                              apr_int64_t now, logto_tokcache_entry_t *e,
                              apr_pool_t *p)
{
    if (tokens.table &&
        logto_tokcache_get(tokens.table, digest, now, e) == APR_SUCCESS) {
        return APR_SUCCESS;
    }
    if (!tokens.fleet || fleet_get(digest, now, e, p) != APR_SUCCESS) {
        return APR_NOTFOUND;
    }
    if (tokens.table) {
        logto_tokcache_put(tokens.table, digest, e, now);
    }
    return APR_SUCCESS;
}

static void store_put(void *baton, const unsigned char *digest,
                      const logto_tokcache_entry_t *e, apr_int64_t now,
                      apr_pool_t *p)
{
    if (tokens.table) {
        logto_tokcache_put(tokens.table, digest, e, now);
    }
    if (tokens.fleet) {
        fleet_put(digest, e, now, p);
    }
}

const logto_tokstore_t *logto_tokens_store(void)
{
    return tokens.table || tokens.fleet ? &tokens.store : NULL;
}

int logto_tokens_stats(logto_tokcache_stats_t *st, apr_uint32_t *pused)
{
    memset(st, 0, sizeof(*st));
    if (pused) {
        *pused = 0;
    }
    if (!tokens.table) {
        return 0;
    }
    logto_tokcache_stats(tokens.table, st, pused);
    return 1;
}

/* ------------------------------------------------------------ lifecycle */

void logto_tokens_child_init(apr_pool_t *pchild, server_rec *s)
{
    int threads = 1;
    apr_uint32_t slots;
    apr_status_t rv;

    if (tokens.table) {
        logto_tokcache_prefault(tokens.table);
    }
    if (!tokens.table && !tokens.fleet) {
        return;
    }
    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS ||
        threads < 1) {
        threads = 1;
    }
    slots = (apr_uint32_t)threads * MEMO_PER_THREAD;
    rv = logto_memo_create(&tokens.store.memo, pchild,
                           slots < MEMO_MAX ? slots : MEMO_MAX);
    if (rv != APR_SUCCESS) {
        /* without it hits parse their payloads again: slower, not wrong */
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     LOGTO_LOGNO(01003) "token cache: no memo of parsed "
                                        "payloads in this process");
    }
}

/* The table of an earlier generation kept under name: itself (attached)
 * when it has the size wanted, else NULL with *pold its memory, to be let
 * go by the caller (children of that generation keep their own mapping
 * until they exit). */
static logto_tokcache_t *existing_table(apr_shm_t **pold, apr_pool_t *pconf,
                                        apr_pool_t *process_pool,
                                        const char *name, apr_size_t size)
{
    void *data = NULL;
    logto_tokcache_t *tc = NULL;
    apr_shm_t *shm;

    *pold = NULL;
    apr_pool_userdata_get(&data, name, process_pool);
    if (!data) {
        return NULL;
    }
    shm = data;
    if (apr_shm_size_get(shm) == size &&
        logto_tokcache_attach(&tc, pconf, apr_shm_baseaddr_get(shm), size, 0) ==
            APR_SUCCESS) {
        return tc;
    }
    apr_pool_userdata_set(NULL, name, apr_pool_cleanup_null, process_pool);
    *pold = shm;
    return NULL;
}

/* What a table of another size held, into tc when keep (a table of
 * claims: used DPoP proofs must stay used across a graceful restart that
 * resizes it); then old is let go. */
static void carry_over(logto_tokcache_t *tc, apr_shm_t *old, int keep,
                       apr_pool_t *pconf, server_rec *s, const char *what)
{
    logto_tokcache_t *otc;
    apr_uint32_t n;

    if (tc && keep &&
        logto_tokcache_attach(&otc, pconf, apr_shm_baseaddr_get(old),
                              apr_shm_size_get(old), 0) == APR_SUCCESS) {
        n = logto_tokcache_copy(tc, otc, apr_time_sec(apr_time_now()), 1);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     LOGTO_LOGNO(01004) "%s resized: %u live entries "
                                        "carried over",
                     what, n);
    }
    apr_shm_destroy(old);
}

/* A table of size bytes in anonymous shared memory hanging off the
 * process pool under name (what), the earlier generation's if it fits;
 * keep: one of another size is carried over (claims). */
static int make_table(logto_tokcache_t **ptc, apr_pool_t *pconf, server_rec *s,
                      const char *name, const char *what, apr_size_t size,
                      int keep)
{
    apr_pool_t *process_pool = s->process->pool;
    apr_shm_t *shm, *old;
    apr_status_t rv;

    *ptc = existing_table(&old, pconf, process_pool, name, size);
    if (*ptc || size == 0) {
        if (old) {
            carry_over(NULL, old, 0, pconf, s, what);
        }
        return OK;
    }
    rv = apr_shm_create(&shm, size, NULL, process_pool);
    if (rv == APR_SUCCESS) {
        rv = logto_tokcache_attach(ptc, pconf, apr_shm_baseaddr_get(shm), size,
                                   1);
    }
    if (old) {
        carry_over(rv == APR_SUCCESS ? *ptc : NULL, old, keep, pconf, s, what);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(
            APLOG_MARK, APLOG_CRIT, rv, s,
            LOGTO_LOGNO(01001) "cannot create %" APR_SIZE_T_FMT
                               " bytes of shared memory for the %s (lower "
                               "AuthLogtoTokenCache's ENTRIES)",
            size, what);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_userdata_set(shm, name, apr_pool_cleanup_null, process_pool);
    return OK;
}

/* ------------------------------------------------ used DPoP proofs */

apr_status_t logto_tokens_replay_claim(const char *key, apr_int64_t until,
                                       apr_int64_t now)
{
    unsigned char digest[LOGTO_TOKCACHE_DIGEST_LEN];
    logto_tokcache_entry_t e;

    if (!tokens.used) {
        return APR_ENOTIMPL;
    }
    if (logto_tokcache_digest(digest, "dpop-proof-used", key, strlen(key)) !=
        APR_SUCCESS) {
        return APR_EGENERAL;
    }
    memset(&e, 0, sizeof(e));
    e.exp = until;
    return logto_tokcache_claim(tokens.used, digest, &e, now);
}

/* ------------------------------------ used DPoP proofs across a stop */

typedef struct used_keeper_t {
    logto_tokcache_t *used;
    server_rec *s;
    pid_t parent;
} used_keeper_t;

static const char *used_source(apr_pool_t *p, apr_uint32_t n)
{
    return apr_psprintf(p, USED_SOURCE "%u", n);
}

/* The files a table of slots slots may need, and one more: the most a
 * reader looks for. */
static apr_uint32_t used_files_max(apr_uint32_t slots)
{
    return slots / USED_PER_FILE + 2;
}

/* Write the live used proofs of k->used into the state directory, one
 * file at a time (each sealed in a pool of its own, so a large table
 * never holds more than a file's worth), then remove the files of an
 * earlier, longer list. */
static void write_used(const used_keeper_t *k, const char *dir,
                       const logto_secret_t *secret, apr_pool_t *p)
{
    const apr_size_t cap = USED_PER_FILE * LOGTO_TOKCACHE_CLAIM_LEN;
    unsigned char *buf = apr_palloc(p, cap);
    apr_int64_t now = apr_time_sec(apr_time_now());
    apr_uint32_t next = 0, files = 0, records = 0;
    logto_tokcache_stats_t st;
    apr_pool_t *one;
    apr_size_t len;
    logto_err_t err;
    apr_status_t rv = APR_SUCCESS;

    if (apr_pool_create(&one, p) != APR_SUCCESS) {
        return;
    }
    logto_tokcache_stats(k->used, &st, NULL);
    do {
        apr_pool_clear(one);
        len = logto_tokcache_claims_write(k->used, now, &next, buf, cap);
        if (len == 0 && files > 0) {
            break;
        }
        rv = logto_statedir_save(dir, used_source(one, files), secret, buf, len,
                                 one, &err);
        records += (apr_uint32_t)(len / LOGTO_TOKCACHE_CLAIM_LEN);
        files++;
    } while (rv == APR_SUCCESS && next < st.entries);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, k->s,
                     LOGTO_LOGNO(01005) "cannot keep the used DPoP proofs "
                                        "in %s (%s): a proof used before "
                                        "this stop is not known as used "
                                        "after the next start",
                     dir, err.text);
        return;
    }
    while (files < used_files_max(st.entries) &&
           apr_file_remove(logto_statedir_path(p, dir, used_source(p, files)),
                           p) == APR_SUCCESS) {
        files++;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, k->s,
                 LOGTO_LOGNO(01006) "%u used DPoP proofs kept in %s for the "
                                    "next start",
                 records, dir);
}

/* pconf's cleanup: when the parent exits (not at a restart, where the
 * table lives on in the process pool; never in a child). A parent that
 * dies (a crash, a restart on a configuration that does not load) or
 * runs as one process (-X) keeps nothing. */
static apr_status_t keep_used(void *data)
{
    const used_keeper_t *k = data;
    const logto_secret_t *secret;
    const char *dir = logto_keys_state_dir(&secret);
    const char *why;
    apr_pool_t *p;

    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_EXITING ||
        getpid() != k->parent || dir == NULL ||
        apr_pool_create(&p, k->s->process->pool) != APR_SUCCESS) {
        return APR_SUCCESS;
    }
    /* root writes only where no other user can steer it elsewhere */
    why = geteuid() == 0 ? logto_statedir_parent_problem(dir, p) : NULL;
    if (why != NULL) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, k->s,
                     LOGTO_LOGNO(01010) "the used DPoP proofs are not kept "
                                        "in %s: %s (set AuthLogtoStateDir "
                                        "in a directory of root's)",
                     dir, why);
    }
    else {
        write_used(k, dir, secret, p);
    }
    apr_pool_destroy(p);
    return APR_SUCCESS;
}

/* One file of used proofs claimed back into used: APR_NOTFOUND past the
 * last one; another status with err set for one that cannot be used. */
static apr_status_t read_used_file(logto_tokcache_t *used, const char *dir,
                                   const logto_secret_t *secret,
                                   apr_uint32_t file, apr_int64_t latest,
                                   apr_uint32_t *pn, apr_uint32_t *plost,
                                   apr_pool_t *p, logto_err_t *err)
{
    const unsigned char *buf;
    apr_uint32_t n, lost;
    apr_size_t len;
    apr_status_t rv;

    rv = logto_statedir_load(&buf, &len, dir, used_source(p, file), secret, p,
                             err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = logto_tokcache_claims_read(
        used, buf, len, apr_time_sec(apr_time_now()), latest, &n, &lost);
    *pn += n;
    *plost += lost;
    return rv == APR_SUCCESS ? rv
                             : logto_err_set(err, LOGTO_ERR_INTERNAL,
                                             "not a list of used proofs");
}

/* On the first start, claim the used proofs the last stop kept: none for
 * longer than the longest a proof is accepted, counted from now. */
static void read_used(logto_tokcache_t *used, apr_pool_t *ptemp, server_rec *s)
{
    const logto_secret_t *secret;
    const char *dir = logto_keys_state_dir(&secret);
    logto_tokcache_stats_t st;
    apr_uint32_t file, total = 0, lost = 0;
    apr_status_t rv = APR_NOTFOUND;
    apr_int64_t latest;
    apr_pool_t *one;
    int age, skew;
    logto_err_t err;

    if (dir == NULL || apr_pool_create(&one, ptemp) != APR_SUCCESS) {
        return;
    }
    logto_conf_dpop_ceiling(&age, &skew);
    latest = apr_time_sec(apr_time_now()) + age + skew + 1;
    logto_tokcache_stats(used, &st, NULL);
    for (file = 0; file < used_files_max(st.entries); file++) {
        apr_pool_clear(one);
        rv = read_used_file(used, dir, secret, file, latest, &total, &lost, one,
                            &err);
        if (rv != APR_SUCCESS) {
            break;
        }
    }
    if (rv != APR_NOTFOUND && rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     LOGTO_LOGNO(01007) "the used DPoP proofs kept in %s "
                                        "cannot be read back (%s, file %u): "
                                        "%u were",
                     dir, err.text, file, total);
    }
    else if (total > 0) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     LOGTO_LOGNO(01008) "%u used DPoP proofs read back from "
                                        "%s",
                     total, dir);
    }
    if (lost > 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     LOGTO_LOGNO(01009) "%u used DPoP proofs kept in %s found "
                                        "no room in the table of used proofs "
                                        "(AuthLogtoTokenCache ENTRIES): they "
                                        "are not known as used",
                     lost, dir);
    }
}

/* After the table of used proofs is made: read back what the last stop
 * kept (first start only), and keep it at the next stop. */
static void used_across_stops(apr_pool_t *pconf, apr_pool_t *ptemp,
                              server_rec *s)
{
    used_keeper_t *k = apr_pcalloc(pconf, sizeof(*k));
    void *done = NULL;

    apr_pool_userdata_get(&done, USED_READ_USERDATA, s->process->pool);
    if (!done) {
        read_used(tokens.used, ptemp, s);
        apr_pool_userdata_set((void *)1, USED_READ_USERDATA,
                              apr_pool_cleanup_null, s->process->pool);
    }
    k->used = tokens.used;
    k->s = s;
    k->parent = getpid();
    apr_pool_cleanup_register(pconf, k, keep_used, apr_pool_cleanup_null);
}

int logto_tokens_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                             server_rec *s)
{
    int entries = logto_conf_token_entries(s);
    apr_size_t size = logto_tokcache_memsize((apr_uint32_t)entries);
    /* as many used proofs as tokens, and never none */
    apr_size_t used_size = logto_tokcache_memsize(
        entries > 0 ? (apr_uint32_t)entries : LOGTO_TOKCACHE_DEFAULT_ENTRIES);
    int rv;

    /* The first pass only checks the configuration. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    apr_pool_cleanup_register(pconf, NULL, forget_tokens,
                              apr_pool_cleanup_null);
    rv = make_table(&tokens.table, pconf, s, SHM_USERDATA, "token cache", size,
                    0);
    if (rv == OK) {
        rv = make_table(&tokens.used, pconf, s, SHM_USED_USERDATA,
                        "table of used DPoP proofs", used_size, 1);
    }
    if (rv != OK) {
        return rv;
    }
    used_across_stops(pconf, ptemp, s);
    tokens.fleet = logto_socache_is_fleet();
    tokens.store.get = store_get;
    tokens.store.put = store_put;
    tokens.store.baton = &tokens;
    ap_log_error(
        APLOG_MARK, APLOG_DEBUG, 0, s,
        LOGTO_LOGNO(01002) "token cache: %d entries in %" APR_SIZE_T_FMT
                           " bytes of shared memory%s",
        entries, size, tokens.fleet ? ", fleet tier behind it" : "");
    return OK;
}
