/*
 * mgmt.c - the management server: the method table, and the HTTP side on
 * libmicrohttpd (one thread per connection, so that a method that waits
 * for the workers holds up only its own client).
 *
 *   POST /        JSON-RPC 2.0 (rpc.c); 204 when only notifications came
 *   GET /metrics  the host's metrics callback, text format 0.0.4
 *
 * Everything that is not that is refused on the first call of the access
 * handler, before any body is read: 404 (path), 405 (method), 401 (token),
 * 413 (a Content-Length over max_body). A chunked body is counted as it
 * arrives and refused with 413 at its end.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <parley/proxy.h>

#include "mgmt_int.h"

#define DEFAULT_LISTEN   "127.0.0.1:8080"
#define DEFAULT_MAX_BODY (1024 * 1024)
#define MAX_CONNECTIONS  64
#define IDLE_TIMEOUT_S   60

/* ------------------------------------------------------------ methods */

void pl__mgmt_log(const pl_mgmt *m, int level, const char *fmt, ...)
{
    if (!m->cfg.log)
        return;
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    m->cfg.log(level, line, m->cfg.user);
}

static int cmp_method(const void *key, const void *elem)
{
    return strcmp(key, ((const mgmt_method *)elem)->name);
}

const mgmt_method *pl__mgmt_find(const pl_mgmt *m, const char *name)
{
    if (!m->nmethods)
        return NULL;
    return bsearch(name, m->methods, m->nmethods, sizeof(*m->methods), cmp_method);
}

static json_t *core_methods(json_t *params, int *code, const char **message, bool *owned, void *arg)
{
    (void)params, (void)code, (void)message, (void)owned;
    return pl_mgmt_methods(arg);
}

pl_mgmt *pl_mgmt_new(const pl_mgmt_config *cfg)
{
    /* jansson's hash seed, once, before any server thread builds objects. */
    json_object_seed(0);
    pl_mgmt *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    if (cfg)
        m->cfg = *cfg;
    if (!m->cfg.max_body)
        m->cfg.max_body = DEFAULT_MAX_BODY;
    m->listen = strdup(m->cfg.listen ? m->cfg.listen : DEFAULT_LISTEN);
    if (m->cfg.token && m->cfg.token[0]) {
        m->auth_len = strlen("Bearer ") + strlen(m->cfg.token);
        m->auth = malloc(m->auth_len + 1);
        if (m->auth)
            snprintf(m->auth, m->auth_len + 1, "Bearer %s", m->cfg.token);
    }
    m->cfg.listen = m->listen;
    m->cfg.token = NULL; /* not kept: the copy in auth is what we check */
    if (!m->listen || (m->auth_len && !m->auth) ||
        pl_mgmt_add(m, "core.methods", core_methods, m) != PL_OK) {
        pl_mgmt_free(m);
        return NULL;
    }
    return m;
}

int pl_mgmt_add(pl_mgmt *m, const char *name, pl_mgmt_method_fn fn, void *arg)
{
    if (m->daemon)
        return PL_ESTATE;
    if (!name || !name[0] || !fn || pl__mgmt_find(m, name))
        return PL_EINVAL;
    if (m->nmethods == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 32;
        mgmt_method *n = realloc(m->methods, cap * sizeof(*n));
        if (!n)
            return PL_ENOMEM;
        m->methods = n;
        m->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return PL_ENOMEM;
    /* Keep the table sorted: lookups bsearch it, core.methods lists it. */
    size_t at = m->nmethods;
    while (at > 0 && strcmp(m->methods[at - 1].name, name) > 0)
        at--;
    memmove(m->methods + at + 1, m->methods + at, (m->nmethods - at) * sizeof(*m->methods));
    m->methods[at] = (mgmt_method){copy, fn, arg};
    m->nmethods++;
    return PL_OK;
}

json_t *pl_mgmt_methods(const pl_mgmt *m)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < m->nmethods; i++)
        json_array_append_new(a, json_string(m->methods[i].name));
    return a;
}

uint16_t pl_mgmt_port(const pl_mgmt *m)
{
    return m->port;
}

/* ------------------------------------------------------------ HTTP */

/* A request in progress: its body so far. */
typedef struct conn_req {
    char *body;
    size_t len, cap;
    bool too_big;
    char peer[64];
    struct timespec start;
} conn_req;

static void peer_name(struct MHD_Connection *conn, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, cap, "?");
    if (!ci || !ci->client_addr)
        return;
    char host[INET6_ADDRSTRLEN];
    if (ci->client_addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ci->client_addr;
        if (inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host)))
            snprintf(out, cap, "[%s]:%u", host, ntohs(s6->sin6_port));
    } else if (ci->client_addr->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ci->client_addr;
        if (inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host)))
            snprintf(out, cap, "%s:%u", host, ntohs(s4->sin_port));
    }
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * Queue a response. body is malloc'd and given away (NULL: empty); type,
 * allow (an Allow header for 405) and bearer (a WWW-Authenticate for 401)
 * may be NULL / false.
 */
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, char *body, size_t len,
                             const char *type, const char *allow, bool bearer)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, body ? body : (char *)"", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    if (type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    /* RFC 6750 3: a protected resource names the Bearer scheme in its 401. */
    if (bearer)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"parley\"");
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* An HTTP-level refusal with a JSON-RPC error body, logged at warn. */
static enum MHD_Result refuse(pl_mgmt *m, struct MHD_Connection *conn, const char *peer,
                              const char *method, const char *url, unsigned status, int code,
                              const char *message, const char *allow)
{
    pl__mgmt_log(m, PL_PROXY_LOG_WARN, "mgmt: %s: %s %.100s: %u, %s", peer, method, url, status,
                 message);
    size_t len;
    char *body = pl__mgmt_error_text(code, message, &len);
    return reply(conn, status, body, len, "application/json", allow,
                 status == MHD_HTTP_UNAUTHORIZED);
}

/*
 * RFC 6750 2.1: "Authorization: Bearer TOKEN". The scheme's name is
 * case-insensitive (RFC 7235 2.1); the token is compared in time that
 * depends on its expected length only, so a wrong guess says nothing of
 * how much of it was right.
 */
static bool authorized(const pl_mgmt *m, struct MHD_Connection *conn)
{
    if (!m->auth)
        return true;
    const char *have =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!have)
        return false;
    size_t hl = strlen(have);
    if (hl < 7 || strncasecmp(have, "Bearer ", 7) != 0)
        return false;
    unsigned diff = hl != m->auth_len;
    for (size_t i = 7; i < m->auth_len; i++)
        diff |= (unsigned char)m->auth[i] ^ (unsigned char)(i < hl ? have[i] : 0);
    return diff == 0;
}

typedef struct textbuf {
    char *p;
    size_t len, cap;
    bool oom;
} textbuf;

static void emit(const char *chunk, size_t len, void *ctx)
{
    textbuf *b = ctx;
    if (b->oom || !len)
        return;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        char *n = realloc(b->p, cap);
        if (!n) {
            b->oom = true;
            return;
        }
        b->p = n;
        b->cap = cap;
    }
    memcpy(b->p + b->len, chunk, len);
    b->len += len;
}

static enum MHD_Result serve_metrics(pl_mgmt *m, struct MHD_Connection *conn, const char *peer)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    textbuf b = {0};
    if (m->cfg.metrics)
        m->cfg.metrics(emit, &b, m->cfg.metrics_arg);
    if (b.oom) {
        free(b.p);
        return refuse(m, conn, peer, "GET", "/metrics", MHD_HTTP_INTERNAL_SERVER_ERROR,
                      PL_MGMT_E_INTERNAL, "out of memory", NULL);
    }
    pl__mgmt_log(m, PL_PROXY_LOG_DEBUG, "mgmt: %s: GET /metrics: 200, %zu bytes, %.1f ms", peer,
                 b.len, ms_since(&t0));
    return reply(conn, MHD_HTTP_OK, b.p, b.len, "text/plain; version=0.0.4; charset=utf-8", NULL,
                 false);
}

/* The first call for a request: its headers are in, its body is not. */
static enum MHD_Result on_headers(pl_mgmt *m, struct MHD_Connection *conn, const char *url,
                                  const char *method, void **con_cls)
{
    char peer[64];
    peer_name(conn, peer, sizeof(peer));
    bool rpc = strcmp(url, "/") == 0;
    if (!rpc && strcmp(url, "/metrics") != 0) {
        pl__mgmt_log(m, PL_PROXY_LOG_WARN, "mgmt: %s: %s %.100s: 404", peer, method, url);
        char *body = strdup("not found: POST / (JSON-RPC) or GET /metrics\n");
        return reply(conn, MHD_HTTP_NOT_FOUND, body, body ? strlen(body) : 0, "text/plain", NULL,
                     false);
    }
    if (rpc && strcmp(method, "POST") != 0)
        return refuse(m, conn, peer, method, url, MHD_HTTP_METHOD_NOT_ALLOWED, PL_MGMT_E_REQUEST,
                      "use POST for JSON-RPC", "POST");
    if (!rpc && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return refuse(m, conn, peer, method, url, MHD_HTTP_METHOD_NOT_ALLOWED, PL_MGMT_E_REQUEST,
                      "use GET for metrics", "GET, HEAD");
    if (!authorized(m, conn))
        return refuse(m, conn, peer, method, url, MHD_HTTP_UNAUTHORIZED, PL_MGMT_E_UNAUTHORIZED,
                      "unauthorized: wrong or missing bearer token", NULL);
    if (!rpc)
        return serve_metrics(m, conn, peer);

    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t n;
    if (cl && pl_str_to_u64(pl_str_c(cl), UINT64_MAX, &n) == PL_OK && n > m->cfg.max_body) {
        char msg[80];
        snprintf(msg, sizeof(msg), "request body over %zu bytes", m->cfg.max_body);
        return refuse(m, conn, peer, method, url, MHD_HTTP_CONTENT_TOO_LARGE, PL_MGMT_E_REQUEST,
                      msg, NULL);
    }
    conn_req *r = calloc(1, sizeof(*r));
    if (!r)
        return MHD_NO;
    memcpy(r->peer, peer, sizeof(peer));
    clock_gettime(CLOCK_MONOTONIC, &r->start);
    *con_cls = r;
    return MHD_YES;
}

static void take_body(pl_mgmt *m, conn_req *r, const char *data, size_t n)
{
    if (r->too_big)
        return;
    if (r->len + n > m->cfg.max_body) {
        r->too_big = true;
        free(r->body);
        r->body = NULL;
        r->len = r->cap = 0;
        return;
    }
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 1024;
        while (cap < r->len + n)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b) {
            r->too_big = true; /* refused as too big for us, which it is */
            return;
        }
        r->body = b;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    pl_mgmt *m = cls;
    conn_req *r = *con_cls;
    if (!r)
        return on_headers(m, conn, url, method, con_cls);
    if (*upload_size) {
        take_body(m, r, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->too_big) {
        char msg[80];
        snprintf(msg, sizeof(msg), "request body over %zu bytes", m->cfg.max_body);
        return refuse(m, conn, r->peer, method, url, MHD_HTTP_CONTENT_TOO_LARGE, PL_MGMT_E_REQUEST,
                      msg, NULL);
    }
    char *out;
    size_t out_len;
    char summary[80];
    pl__mgmt_rpc(m, r->peer, r->body ? r->body : "", r->len, &out, &out_len, summary,
                 sizeof(summary));
    unsigned status = out ? MHD_HTTP_OK : MHD_HTTP_NO_CONTENT;
    pl__mgmt_log(m, PL_PROXY_LOG_DEBUG, "mgmt: %s: POST / %s: %u, %.1f ms", r->peer, summary,
                 status, ms_since(&r->start));
    return reply(conn, status, out, out_len, out ? "application/json" : NULL, NULL, false);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    conn_req *r = *con_cls;
    if (r) {
        free(r->body);
        free(r);
        *con_cls = NULL;
    }
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    const pl_mgmt *m = cls;
    if (!m->cfg.log)
        return;
    char line[400];
    int n = snprintf(line, sizeof(line), "mgmt: http: ");
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    size_t len = strlen(line);
    while (len && line[len - 1] == '\n')
        line[--len] = '\0';
    m->cfg.log(PL_PROXY_LOG_WARN, line, m->cfg.user);
}

int pl_mgmt_start(pl_mgmt *m, pl_error *err)
{
    pl_error dummy;
    if (!err)
        err = &dummy;
    if (m->daemon) {
        err->code = PL_ESTATE;
        err->reason = "already started";
        return PL_ESTATE;
    }
    int fd = pl__mgmt_listen(m->listen, &m->port, err);
    if (fd < 0)
        return err->code;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (m->listen[0] == '[')
        flags |= MHD_USE_IPv6;
    /* The logger comes first so that MHD's own messages use it too. */
    m->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, m, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, m,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, m,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_END);
    if (!m->daemon) {
        close(fd);
        m->port = 0;
        err->code = PL_EINVAL;
        err->reason = "the HTTP server did not start";
        return PL_EINVAL;
    }
    pl__mgmt_log(m, PL_PROXY_LOG_INFO, "mgmt: JSON-RPC on %s (port %u)%s, %zu methods", m->listen,
                 m->port, m->auth ? ", bearer token asked" : "", m->nmethods);
    return PL_OK;
}

void pl_mgmt_free(pl_mgmt *m)
{
    if (!m)
        return;
    /* Joins every connection thread: methods in progress finish first. */
    if (m->daemon)
        MHD_stop_daemon(m->daemon);
    for (size_t i = 0; i < m->nmethods; i++)
        free(m->methods[i].name);
    free(m->methods);
    if (m->auth)
        memset(m->auth, 0, m->auth_len);
    free(m->auth);
    free(m->listen);
    free(m);
}
