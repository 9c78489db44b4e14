/*
 * logto_form.c - finding a parameter in form-urlencoded text (see
 * logto_form.h).
 */
#include <string.h>

#include "logto_form.h"

int logto_hex_digit(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* The next byte of an encoded name from s (before end) into *pc: '+' is
 * a space, "%XY" the byte XY, a '%' without two hex digits itself, as
 * the common parsers take it. Returns where the next byte starts. */
static const char *decoded_byte(const char *s, const char *end, char *pc)
{
    int hi, lo;

    if (*s == '+') {
        *pc = ' ';
        return s + 1;
    }
    if (*s == '%' && end - s >= 3 && (hi = logto_hex_digit(s[1])) >= 0 &&
        (lo = logto_hex_digit(s[2])) >= 0) {
        *pc = (char)(hi << 4 | lo);
        return s + 3;
    }
    *pc = *s;
    return s + 1;
}

/* Whether the parameter from s to end (no separator inside) is name=...:
 * its name, decoded and read as PHP reads it, is name, and an '=' follows
 * it. PHP drops leading spaces, takes '.' and ' ' for '_', and ends the
 * name at '[' (name[]=... is an array named name): what a backend would
 * find under that name counts. */
static int param_is(const char *s, const char *end, const char *name)
{
    int leading = 1, cut = 0;
    char c;

    while (s < end && *s != '=') {
        s = decoded_byte(s, end, &c);
        if (leading && c == ' ') {
            continue;
        }
        leading = 0;
        if (cut) {
            continue;
        }
        if (c == '[') {
            cut = 1;
            continue;
        }
        if (c == '.' || c == ' ') {
            c = '_';
        }
        if (*name == '\0' || c != *name) {
            return 0;
        }
        name++;
    }
    return *name == '\0' && s < end;
}

int logto_form_has_param(const char *text, apr_size_t len, const char *name)
{
    const char *s = text, *end = text + len, *stop;

    if (!text || !name || !*name) {
        return 0;
    }
    for (;;) {
        for (stop = s; stop < end && *stop != '&' && *stop != ';'; stop++) {
        }
        if (param_is(s, stop, name)) {
            return 1;
        }
        if (stop == end) {
            return 0;
        }
        s = stop + 1;
    }
}
