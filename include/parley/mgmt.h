/*
 * parley/mgmt.h - the management interface: JSON-RPC 2.0 over HTTP
 * (libmicrohttpd), with an optional bearer token, and Prometheus metrics.
 *
 *   POST /       a JSON-RPC 2.0 request (or a batch); the answer is the
 *                JSON-RPC response (HTTP 200), or HTTP 401 without the
 *                right "Authorization: Bearer TOKEN" when a token is set.
 *   GET /metrics the text exposition format (version 0.0.4), written by
 *                the host's metrics callback (token checked as well).
 *
 * The server runs its own thread(s); methods are called from them, one
 * request at a time per connection, and may block (a host that must ask
 * its workers waits for their answers, bounded). Errors follow JSON-RPC
 * 2.0: -32700 parse error, -32600 invalid request, -32601 method not
 * found, -32602 invalid params, -32603 internal error; a method's own
 * errors use codes from -32000 down (PL_MGMT_E_*).
 */
#ifndef PARLEY_MGMT_H
#define PARLEY_MGMT_H

#include <jansson.h>

#include <parley/base.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pl_mgmt pl_mgmt;

/* JSON-RPC error codes a method may return. */
enum {
    PL_MGMT_E_PARSE = -32700,
    PL_MGMT_E_REQUEST = -32600,
    PL_MGMT_E_METHOD = -32601,
    PL_MGMT_E_PARAMS = -32602,
    PL_MGMT_E_INTERNAL = -32603,
    PL_MGMT_E_NOT_FOUND = -32004,    /* no such dialog, profile, registration */
    PL_MGMT_E_STATE = -32010,        /* not possible now (already ended...) */
    PL_MGMT_E_UNAVAILABLE = -32020,  /* the store is off, a worker did not answer */
    PL_MGMT_E_UNAUTHORIZED = -32001, /* the body of an HTTP 401 (no or wrong token) */
};

/*
 * A method: params is the request's "params" (an object, an array, or
 * NULL when absent). Return the result (a new reference; NULL is taken as
 * JSON null), or set *code (one of the above) and *message (a static or
 * malloc'd string as *message_owned says) and return NULL.
 */
typedef json_t *(*pl_mgmt_method_fn)(json_t *params, int *code, const char **message,
                                     bool *message_owned, void *arg);

/*
 * GET /metrics: write the exposition text with emit(chunk, len, ctx) as
 * many times as needed.
 */
typedef void (*pl_mgmt_metrics_fn)(void (*emit)(const char *chunk, size_t len, void *ctx),
                                   void *ctx, void *arg);

typedef struct pl_mgmt_config {
    const char *listen; /* "127.0.0.1:8080", "[::1]:8080"; port 0: any free port */
    const char *token;  /* NULL or empty: no token asked */
    size_t max_body;    /* a request body larger than this gets 413; default 1 MiB */
    pl_mgmt_metrics_fn metrics;
    void *metrics_arg;
    void (*log)(int level, const char *line, void *user); /* level as pl_proxy_log_level */
    void *user;
} pl_mgmt_config;

/*
 * A server (not listening yet) with the built-in method "core.methods";
 * cfg's strings are copied. NULL when out of memory.
 */
pl_mgmt *pl_mgmt_new(const pl_mgmt_config *cfg);
/*
 * Register a method before pl_mgmt_start: PL_OK, PL_EINVAL for a name
 * taken already (or empty), PL_ESTATE once started, PL_ENOMEM.
 */
int pl_mgmt_add(pl_mgmt *m, const char *name, pl_mgmt_method_fn fn, void *arg);
/* Start listening (PL_OK, or an error with a reason in err: address in use...). */
int pl_mgmt_start(pl_mgmt *m, pl_error *err);
/* The port bound (after a start with port 0). */
uint16_t pl_mgmt_port(const pl_mgmt *m);
/* Stop (waits for methods in progress) and free. */
void pl_mgmt_free(pl_mgmt *m);

/* The method names registered, sorted, as a JSON array (for "help"). */
json_t *pl_mgmt_methods(const pl_mgmt *m);

#ifdef __cplusplus
}
#endif
#endif
