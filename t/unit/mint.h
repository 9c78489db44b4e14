/*
 * mint.h - keys and tokens from t/data/mint.pl (Perl Crypt::JWT), an
 * implementation independent of the module, obtained once per test
 * program before the suite runs.
 */
#ifndef LOGTO_MINT_H
#define LOGTO_MINT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define MINT_MAX_ITEMS 64

static char *mint_names[MINT_MAX_ITEMS];
static char *mint_values[MINT_MAX_ITEMS];
static int mint_count;

/* Run script (in t/data) with args and keep its "name value" lines; 0 on
 * success. */
static inline int mint_load_from(const char *script, const char *args)
{
    char cmd[1024], *line = NULL;
    size_t cap = 0;
    ssize_t n;
    FILE *f;

    snprintf(cmd, sizeof(cmd), "perl '%s/%s' %s", TEST_DATA_DIR, script,
             args ? args : "");
    f = popen(cmd, "r");
    if (f == NULL) {
        return -1;
    }
    while (mint_count < MINT_MAX_ITEMS && (n = getline(&line, &cap, f)) > 0) {
        char *sp = strchr(line, ' ');

        if (sp == NULL) {
            continue;
        }
        line[n - 1] = line[n - 1] == '\n' ? '\0' : line[n - 1];
        *sp = '\0';
        mint_names[mint_count] = strdup(line);
        mint_values[mint_count++] = strdup(sp + 1);
    }
    free(line);
    return pclose(f) == 0 && mint_count > 0 ? 0 : -1;
}

/* Run mint.pl with args and keep its "name value" lines; 0 on success. */
static inline int mint_load(const char *args)
{
    return mint_load_from("mint.pl", args);
}

/* The value minted under name; aborts the program if there is none. */
static inline const char *mint_get(const char *name)
{
    int i;

    for (i = 0; i < mint_count; i++) {
        if (strcmp(mint_names[i], name) == 0) {
            return mint_values[i];
        }
    }
    fprintf(stderr, "mint.pl printed no %s\n", name);
    abort();
}

/* Release what mint_load kept. */
static inline void mint_free(void)
{
    while (mint_count > 0) {
        mint_count--;
        free(mint_names[mint_count]);
        free(mint_values[mint_count]);
    }
}

/* The main of a test program on the keys of script (t/data/mint.pl when
 * NULL): mint them, run the suite make() builds, release them. */
static inline int mint_unit_main(const char *script, Suite *(*make)(void))
{
    int rc;

    script = script ? script : "mint.pl";
    if (mint_load_from(script, NULL) != 0) {
        fprintf(stderr, "t/data/%s failed\n", script);
        return EXIT_FAILURE;
    }
    rc = unit_main(make());
    mint_free();
    return rc;
}

#endif /* LOGTO_MINT_H */
