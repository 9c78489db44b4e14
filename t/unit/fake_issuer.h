/*
 * fake_issuer.h - start, drive and stop t/issuer/fake-issuer.pl from a
 * unit test: an issuer on 127.0.0.1 that fails on command.
 */
#ifndef LOGTO_FAKE_ISSUER_H
#define LOGTO_FAKE_ISSUER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_pools.h>
#include <apr_strings.h>

#include "logto_fetch.h"

#define FAKE_ISSUER_SCRIPT TEST_DATA_DIR "/../issuer/fake-issuer.pl"

typedef struct fake_issuer_t {
    pid_t pid;
    int port;
    int tls;           /* https with a certificate of its own */
    char dir[64];      /* a private temporary directory */
    char ca_file[96];  /* tls: the certificate, to trust */
    char key_file[96]; /* tls: its key */
    char base[64];     /* http(s)://127.0.0.1:PORT */
    char issuer[80];   /* base + /oidc */
    char jwks_uri[96]; /* issuer + /jwks */
} fake_issuer_t;

/* The port written to path, or 0 while there is none. */
static inline int fake_issuer_read_port(const char *path)
{
    FILE *f = fopen(path, "r");
    int port = 0;

    if (f != NULL) {
        if (fscanf(f, "%d", &port) != 1) {
            port = 0;
        }
        fclose(f);
    }
    return port;
}

/* A self-signed certificate for 127.0.0.1 (by the openssl command) in
 * fi's directory; 0 on success. */
static inline int fake_issuer_make_cert(fake_issuer_t *fi)
{
    char cmd[512];

    snprintf(fi->ca_file, sizeof(fi->ca_file), "%s/cert.pem", fi->dir);
    snprintf(fi->key_file, sizeof(fi->key_file), "%s/key.pem", fi->dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
             "-nodes -days 2 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout '%s' -out '%s' "
             ">/dev/null 2>&1",
             fi->key_file, fi->ca_file);
    return system(cmd) == 0 ? 0 : -1;
}

/* Run the script in this (forked) process; never returns. */
static inline void fake_issuer_exec(const fake_issuer_t *fi,
                                    const char *jwks_file, const char *portfile)
{
    if (fi->tls) {
        execlp("perl", "perl", FAKE_ISSUER_SCRIPT, "--jwks", jwks_file,
               "--portfile", portfile, "--tls-cert", fi->ca_file, "--tls-key",
               fi->key_file, "0", (char *)NULL);
    }
    else {
        execlp("perl", "perl", FAKE_ISSUER_SCRIPT, "--jwks", jwks_file,
               "--portfile", portfile, "0", (char *)NULL);
    }
    _exit(127);
}

/* Start the issuer on a free port, serving jwks_file, over https with a
 * certificate of its own when tls is set; waits (at most 10 s) until it
 * listens. 0 on success. */
static inline int fake_issuer_start(fake_issuer_t *fi, const char *jwks_file,
                                    int tls)
{
    char portfile[96];
    int i;

    memset(fi, 0, sizeof(*fi));
    fi->tls = tls;
    strcpy(fi->dir, "/tmp/logto-issuer-XXXXXX");
    if (mkdtemp(fi->dir) == NULL || (tls && fake_issuer_make_cert(fi))) {
        return -1;
    }
    snprintf(portfile, sizeof(portfile), "%s/port", fi->dir);
    fi->pid = fork();
    if (fi->pid < 0) {
        return -1;
    }
    if (fi->pid == 0) {
        fake_issuer_exec(fi, jwks_file, portfile);
    }
    for (i = 0; i < 200 && fi->port == 0; i++) {
        if (waitpid(fi->pid, NULL, WNOHANG) == fi->pid) {
            fi->pid = 0;
            return -1;
        }
        usleep(50000);
        fi->port = fake_issuer_read_port(portfile);
    }
    snprintf(fi->base, sizeof(fi->base), "%s://127.0.0.1:%d",
             tls ? "https" : "http", fi->port);
    snprintf(fi->issuer, sizeof(fi->issuer), "%s/oidc", fi->base);
    snprintf(fi->jwks_uri, sizeof(fi->jwks_uri), "%s/jwks", fi->issuer);
    return fi->port ? 0 : -1;
}

/* GET a control path ("/control/mode?m=500"); the answer's body from p,
 * or NULL when the issuer did not answer 200. */
static inline char *fake_issuer_control(fake_issuer_t *fi, apr_pool_t *p,
                                        const char *path)
{
    logto_fetch_opts_t opts;
    char *body;
    apr_size_t len;

    logto_fetch_opts_init(&opts);
    opts.ca_file = fi->tls ? fi->ca_file : NULL;
    if (logto_fetch_get(&body, &len, p, apr_pstrcat(p, fi->base, path, NULL),
                        &opts, NULL) != APR_SUCCESS) {
        return NULL;
    }
    return body;
}

/* How many JWKS (what "jwks") or discovery (what "discovery") requests
 * the issuer has had; -1 when it does not answer. */
static inline int fake_issuer_count(fake_issuer_t *fi, apr_pool_t *p,
                                    const char *what)
{
    char *n = fake_issuer_control(
        fi, p, apr_pstrcat(p, "/control/count?k=", what, NULL));

    return n ? atoi(n) : -1;
}

/* Stop the issuer (politely, then not), waiting at most 5 s, and remove
 * its directory. */
static inline void fake_issuer_stop(fake_issuer_t *fi)
{
    char path[96];
    int i;

    if (fi->pid > 0) {
        kill(fi->pid, SIGTERM);
        for (i = 0; i < 100; i++) {
            if (waitpid(fi->pid, NULL, WNOHANG) == fi->pid) {
                fi->pid = 0;
                break;
            }
            usleep(50000);
        }
        if (fi->pid > 0) {
            kill(fi->pid, SIGKILL);
            waitpid(fi->pid, NULL, 0);
            fi->pid = 0;
        }
    }
    snprintf(path, sizeof(path), "%s/port", fi->dir);
    unlink(path);
    if (fi->tls) {
        unlink(fi->ca_file);
        unlink(fi->key_file);
    }
    rmdir(fi->dir);
}

/* A 127.0.0.1 port nothing listens on (bound, then released). */
static inline int fake_issuer_dead_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0) {
        port = ntohs(sa.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

#endif /* LOGTO_FAKE_ISSUER_H */
