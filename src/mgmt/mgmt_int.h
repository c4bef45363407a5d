/*
 * mgmt_int.h - the management server's private parts, shared by its files:
 * the server object (config, method table, the HTTP daemon), the JSON-RPC
 * dispatcher (rpc.c) and the listening socket (listen.c).
 */
#ifndef PARLEY_MGMT_INT_H
#define PARLEY_MGMT_INT_H

#include <parley/mgmt.h>

struct MHD_Daemon;

typedef struct mgmt_method {
    char *name;
    pl_mgmt_method_fn fn;
    void *arg;
} mgmt_method;

struct pl_mgmt {
    pl_mgmt_config cfg;
    char *listen; /* our copy of cfg.listen */
    char *auth;   /* "Bearer TOKEN", or NULL when no token is asked */
    size_t auth_len;
    mgmt_method *methods; /* sorted by name */
    size_t nmethods, cap;
    struct MHD_Daemon *daemon;
    uint16_t port;
};

/* Log a formatted line at level (PL_PROXY_LOG_*) through cfg.log. */
void pl__mgmt_log(const pl_mgmt *m, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The method registered under name, or NULL. */
const mgmt_method *pl__mgmt_find(const pl_mgmt *m, const char *name);

/*
 * Answer one POST body from peer (for log lines): a request or a batch.
 * *out gets the malloc'd response text, or NULL when nothing is to be
 * sent back (notifications only: HTTP 204). summary (cap bytes) gets a
 * short description for the request's log line: the method's name,
 * "batch of 3", "parse error". Each error response is logged at warn.
 */
void pl__mgmt_rpc(pl_mgmt *m, const char *peer, const char *body, size_t len, char **out,
                  size_t *out_len, char *summary, size_t cap);

/* A JSON-RPC error response with a null id, as malloc'd text. */
char *pl__mgmt_error_text(int code, const char *message, size_t *len);

/*
 * Open a listening TCP socket on addr ("127.0.0.1:8080", "[::1]:8080";
 * port 0: any free port). Returns the socket and sets *port, or -1 with
 * err->reason set.
 */
int pl__mgmt_listen(const char *addr, uint16_t *port, pl_error *err);

#endif
