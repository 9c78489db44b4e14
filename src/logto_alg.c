/*
 * logto_alg.c - the JWS algorithms the module knows, as a set.
 */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "logto_alg.h"

static const char *const alg_names[LOGTO_ALG__COUNT] = {
    [LOGTO_ALG_NONE_KNOWN] = "unknown", [LOGTO_ALG_ES256] = "ES256",
    [LOGTO_ALG_ES384] = "ES384",        [LOGTO_ALG_ES512] = "ES512",
    [LOGTO_ALG_RS256] = "RS256",        [LOGTO_ALG_RS384] = "RS384",
    [LOGTO_ALG_RS512] = "RS512",        [LOGTO_ALG_PS256] = "PS256",
    [LOGTO_ALG_PS384] = "PS384",        [LOGTO_ALG_PS512] = "PS512",
    [LOGTO_ALG_EDDSA] = "EdDSA",
};

logto_alg_t logto_alg_from_name(const char *name)
{
    int i;

    if (name == NULL) {
        return LOGTO_ALG_NONE_KNOWN;
    }
    for (i = LOGTO_ALG_NONE_KNOWN + 1; i < LOGTO_ALG__COUNT; i++) {
        if (strcmp(name, alg_names[i]) == 0) {
            return (logto_alg_t)i;
        }
    }
    return LOGTO_ALG_NONE_KNOWN;
}

const char *logto_alg_name(logto_alg_t alg)
{
    if ((int)alg <= LOGTO_ALG_NONE_KNOWN || alg >= LOGTO_ALG__COUNT) {
        return "unknown";
    }
    return alg_names[alg];
}

int logto_alg_is_forbidden(const char *name)
{
    if (name == NULL) {
        return 0;
    }
    /* Case-insensitive on purpose: a library elsewhere that lower-cases
     * names must not turn "None" or "hs256" into something accepted. */
    return strcasecmp(name, "none") == 0 || strncasecmp(name, "HS", 2) == 0;
}

/* Add one configured word to *pset, or say why it cannot be. */
static apr_status_t add_word(logto_algset_t *pset, const char *word,
                             logto_err_t *err)
{
    logto_alg_t alg;

    if (logto_alg_is_forbidden(word)) {
        return logto_err_set(err, LOGTO_ERR_CONFIG,
                             "algorithm '%.40s' is never accepted", word);
    }
    alg = logto_alg_from_name(word);
    if (alg == LOGTO_ALG_NONE_KNOWN) {
        return logto_err_set(err, LOGTO_ERR_CONFIG, "unknown algorithm '%.40s'",
                             word);
    }
    *pset |= 1u << alg;
    return APR_SUCCESS;
}

apr_status_t logto_algset_parse(logto_algset_t *pset, const char *list,
                                logto_err_t *err)
{
    logto_algset_t set = 0;
    const char *s = list ? list : "";

    *pset = 0;
    while (*s != '\0') {
        char word[64];
        apr_size_t n = strcspn(s, " \t,");

        if (n == 0) {
            s++;
            continue;
        }
        apr_cpystrn(word, s, n + 1 < sizeof(word) ? n + 1 : sizeof(word));
        if (add_word(&set, word, err) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        s += n;
    }
    if (set == 0) {
        return logto_err_set(err, LOGTO_ERR_CONFIG, "no algorithm given");
    }
    *pset = set;
    return APR_SUCCESS;
}

int logto_algset_has(logto_algset_t set, logto_alg_t alg)
{
    if ((int)alg <= LOGTO_ALG_NONE_KNOWN || alg >= LOGTO_ALG__COUNT) {
        return 0;
    }
    return (set & (1u << alg)) != 0;
}
