/*
 * logto_err.c - caller-owned errors of the core.
 */
#include <stdarg.h>
#include <stdio.h>

#include "logto_err.h"

static const char *const reason_names[LOGTO_ERR__COUNT] = {
    [LOGTO_OK] = "ok",
    [LOGTO_ERR_TOO_LARGE] = "token_too_large",
    [LOGTO_ERR_OPAQUE] = "token_opaque",
    [LOGTO_ERR_MALFORMED] = "token_malformed",
    [LOGTO_ERR_HEADER] = "header_invalid",
    [LOGTO_ERR_PAYLOAD] = "payload_invalid",
    [LOGTO_ERR_TYP] = "typ_invalid",
    [LOGTO_ERR_CRIT] = "crit_unsupported",
    [LOGTO_ERR_ALG] = "alg_not_allowed",
    [LOGTO_ERR_KID_MISSING] = "kid_missing",
    [LOGTO_ERR_KID_UNKNOWN] = "kid_unknown",
    [LOGTO_ERR_KEY_MISMATCH] = "key_mismatch",
    [LOGTO_ERR_SIGNATURE] = "signature_invalid",
    [LOGTO_ERR_ISSUER] = "issuer_invalid",
    [LOGTO_ERR_AUDIENCE] = "audience_invalid",
    [LOGTO_ERR_EXP_MISSING] = "exp_missing",
    [LOGTO_ERR_CLAIM_TYPE] = "claim_invalid",
    [LOGTO_ERR_EXPIRED] = "token_expired",
    [LOGTO_ERR_NOT_YET_VALID] = "token_not_yet_valid",
    [LOGTO_ERR_IAT_FUTURE] = "iat_in_future",
    [LOGTO_ERR_CNF] = "cnf_invalid",
    [LOGTO_ERR_BOUND_BEARER] = "dpop_bound_as_bearer",
    [LOGTO_ERR_NOT_BOUND] = "dpop_token_not_bound",
    [LOGTO_ERR_SCHEME] = "scheme_not_accepted",
    [LOGTO_ERR_CERT_BINDING] = "certificate_mismatch",
    [LOGTO_ERR_DPOP_MISSING] = "dpop_proof_missing",
    [LOGTO_ERR_DPOP_MALFORMED] = "dpop_proof_malformed",
    [LOGTO_ERR_DPOP_TYP] = "dpop_typ_invalid",
    [LOGTO_ERR_DPOP_ALG] = "dpop_alg_not_allowed",
    [LOGTO_ERR_DPOP_KEY] = "dpop_key_invalid",
    [LOGTO_ERR_DPOP_SIGNATURE] = "dpop_signature_invalid",
    [LOGTO_ERR_DPOP_HTM] = "dpop_htm_mismatch",
    [LOGTO_ERR_DPOP_HTU] = "dpop_htu_mismatch",
    [LOGTO_ERR_DPOP_IAT] = "dpop_iat_invalid",
    [LOGTO_ERR_DPOP_JTI] = "dpop_jti_missing",
    [LOGTO_ERR_DPOP_REPLAY] = "dpop_replay",
    [LOGTO_ERR_DPOP_ATH] = "dpop_ath_mismatch",
    [LOGTO_ERR_DPOP_JKT] = "dpop_key_mismatch",
    [LOGTO_ERR_DPOP_NONCE] = "dpop_nonce_required",
    [LOGTO_ERR_JWKS] = "jwks_invalid",
    [LOGTO_ERR_KEY] = "key_invalid",
    [LOGTO_ERR_CONFIG] = "config_invalid",
    [LOGTO_ERR_FETCH] = "fetch_failed",
    [LOGTO_ERR_INTERNAL] = "internal_error",
};

void logto_err_clear(logto_err_t *err)
{
    if (err) {
        err->reason = LOGTO_OK;
        err->text[0] = '\0';
    }
}

apr_status_t logto_err_set(logto_err_t *err, logto_reason_t reason,
                           const char *fmt, ...)
{
    va_list ap;

    if (err) {
        err->reason = reason;
        va_start(ap, fmt);
        vsnprintf(err->text, sizeof(err->text), fmt, ap);
        va_end(ap);
    }
    return APR_EGENERAL;
}

const char *logto_reason_name(logto_reason_t reason)
{
    if ((int)reason < 0 || reason >= LOGTO_ERR__COUNT) {
        return "unknown";
    }
    return reason_names[reason];
}

int logto_reason_is_token(logto_reason_t reason)
{
    return reason > LOGTO_OK && reason <= LOGTO_ERR_DPOP_NONCE;
}

int logto_reason_is_dpop_proof(logto_reason_t reason)
{
    return reason >= LOGTO_ERR_DPOP_MISSING && reason <= LOGTO_ERR_DPOP_NONCE;
}
