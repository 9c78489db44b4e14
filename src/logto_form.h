/*
 * logto_form.h - application/x-www-form-urlencoded text (a query string or
 * a form body), read only to find where a client put a token besides the
 * Authorization header (RFC 6750 sections 2.2 and 2.3).
 */
#ifndef LOGTO_FORM_H
#define LOGTO_FORM_H

#include <apr.h>

/* Whether text (len bytes) has a parameter whose name, once decoded
 * (percent escapes, '+' for a space) and read as PHP reads names (leading
 * spaces dropped, '.' and ' ' as '_', "name[...]" an array of that name),
 * is name, followed by '='. Parameters are separated by '&' or ';'
 * (parsers that still honour HTML 4's ';' would find the token there
 * too). */
int logto_form_has_param(const char *text, apr_size_t len, const char *name);

/* The value of the hex digit c (either case) in a percent-encoding, or
 * -1. */
int logto_hex_digit(int c);

#endif /* LOGTO_FORM_H */
