/*
 * test_mgmt.c - the management server of parley/mgmt.h over real HTTP on
 * loopback, with a small HTTP/1.1 client written here on plain sockets:
 * results and every JSON-RPC error code, ids of each type, batches and
 * notifications (204), the bearer token (missing, wrong, right, on
 * /metrics too), 413 by Content-Length and by a chunked body (and a body
 * exactly at the limit), 405, 404, the metrics text and its Content-Type,
 * a method that blocks while another connection is served, port 0 on IPv4
 * and IPv6, an address in use, the method table's rules, log lines.
 */
#include "testutil.h"

#include <parley/mgmt.h>
#include <parley/proxy.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ the client */

typedef struct http_resp {
    int status;
    char *head; /* status line and headers */
    char *body;
    size_t body_len;
} http_resp;

static void resp_free(http_resp *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static int connect_to(int family, uint16_t port)
{
    int fd = socket(family, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {10, 0}; /* a hung server fails the test, not the run */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int rc;
    if (family == AF_INET6) {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
        inet_pton(AF_INET6, "::1", &a.sin6_addr);
        rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    }
    if (rc != 0)
        fail_msg("connect to port %u: %s", port, strerror(errno));
    return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            fail_msg("send: %s", strerror(errno));
        p += w;
        n -= (size_t)w;
    }
}

/* Read the whole answer (every request says Connection: close) and split it. */
static void read_resp(int fd, http_resp *out)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1024 > cap)
            buf = realloc(buf, cap *= 2);
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n < 0)
            fail_msg("recv: %s", strerror(errno));
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(fd);
    char *end = strstr(buf, "\r\n\r\n");
    if (!end)
        fail_msg("no end of headers in: %s", buf);
    memset(out, 0, sizeof(*out));
    out->head = strndup(buf, (size_t)(end - buf) + 2);
    out->body_len = len - (size_t)(end + 4 - buf);
    out->body = malloc(out->body_len + 1);
    memcpy(out->body, end + 4, out->body_len);
    out->body[out->body_len] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1)
        fail_msg("bad status line: %s", buf);
    free(buf);
}

/* Send raw bytes, read the answer. */
static void raw(int family, uint16_t port, const char *req, size_t len, http_resp *out)
{
    int fd = connect_to(family, port);
    send_all(fd, req, len);
    read_resp(fd, out);
}

/* POST / with body, and an Authorization header when auth is not NULL. */
static void post_auth(uint16_t port, const char *auth, const char *body, http_resp *out)
{
    char head[512];
    int n =
        snprintf(head, sizeof(head),
                 "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n%s%s%s\r\n",
                 strlen(body), auth ? "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "");
    size_t total = (size_t)n + strlen(body);
    char *req = malloc(total + 1);
    memcpy(req, head, (size_t)n);
    memcpy(req + n, body, strlen(body) + 1);
    raw(AF_INET, port, req, total, out);
    free(req);
}

static void post(uint16_t port, const char *body, http_resp *out)
{
    post_auth(port, NULL, body, out);
}

/* POST a single request and return the parsed JSON answer (status 200 asserted). */
static json_t *call(uint16_t port, const char *body)
{
    http_resp r;
    post(port, body, &r);
    if (r.status != 200)
        fail_msg("status %d for %s: %s", r.status, body, r.body);
    json_error_t e;
    json_t *j = json_loads(r.body, 0, &e);
    if (!j)
        fail_msg("answer is not JSON (%s): %s", e.text, r.body);
    resp_free(&r);
    return j;
}

/* The error code of a response object (0 when it is a result). */
static int err_code(json_t *resp)
{
    json_t *e = json_object_get(resp, "error");
    return e ? (int)json_integer_value(json_object_get(e, "code")) : 0;
}

static const char *err_message(json_t *resp)
{
    return json_string_value(json_object_get(json_object_get(resp, "error"), "message"));
}

/* The response is {"jsonrpc":"2.0","error":{code...},"id":null}. */
static void assert_error_null_id(const char *body, uint16_t port, int code)
{
    json_t *j = call(port, body);
    if (err_code(j) != code)
        fail_msg("%s: got %s", body, json_dumps(j, 0));
    assert_string_equal(json_string_value(json_object_get(j, "jsonrpc")), "2.0");
    assert_true(json_is_null(json_object_get(j, "id")));
    assert_null(json_object_get(j, "result"));
    json_decref(j);
}

/* ------------------------------------------------------------ the server's methods */

typedef struct fixture {
    pl_mgmt *m;
    uint16_t port;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int notified; /* calls of "note" */
    bool slow_entered, slow_release;
    char *logs; /* every log line, "LEVEL line\n" */
    size_t logs_len;
} fixture;

static json_t *m_echo(json_t *params, int *code, const char **message, bool *owned, void *arg)
{
    (void)code, (void)message, (void)owned, (void)arg;
    return params ? json_incref(params) : json_string("no params");
}

static json_t *m_note(json_t *params, int *code, const char **message, bool *owned, void *arg)
{
    (void)params, (void)code, (void)message, (void)owned;
    fixture *f = arg;
    pthread_mutex_lock(&f->lock);
    f->notified++;
    pthread_mutex_unlock(&f->lock);
    return json_true();
}

/* Needs {"n": integer}: -32602 otherwise, with a malloc'd message. */
static json_t *m_need(json_t *params, int *code, const char **message, bool *owned, void *arg)
{
    (void)arg;
    json_t *n = json_object_get(params, "n");
    if (!json_is_integer(n)) {
        *code = PL_MGMT_E_PARAMS;
        *message = strdup("n must be an integer");
        *owned = true;
        return NULL;
    }
    return json_pack("{s:I}", "twice", 2 * json_integer_value(n));
}

static json_t *m_missing(json_t *params, int *code, const char **message, bool *owned, void *arg)
{
    (void)params, (void)message, (void)owned, (void)arg;
    *code = PL_MGMT_E_NOT_FOUND; /* and no message: the default one */
    return json_true();          /* dropped: the error wins */
}

static json_t *m_null(json_t *params, int *code, const char **message, bool *owned, void *arg)
{
    (void)params, (void)code, (void)message, (void)owned, (void)arg;
    return NULL;
}

/* Blocks until the test releases it. */
static json_t *m_slow(json_t *params, int *code, const char **message, bool *owned, void *arg)
{
    (void)params, (void)code, (void)message, (void)owned;
    fixture *f = arg;
    pthread_mutex_lock(&f->lock);
    f->slow_entered = true;
    pthread_cond_broadcast(&f->cond);
    while (!f->slow_release)
        pthread_cond_wait(&f->cond, &f->lock);
    pthread_mutex_unlock(&f->lock);
    return json_string("done");
}

static void metrics(void (*emit)(const char *chunk, size_t len, void *ctx), void *ctx, void *arg)
{
    (void)arg;
    const char *a = "# HELP parley_test_total A counter.\n# TYPE parley_test_total counter\n";
    emit(a, strlen(a), ctx);
    char line[64];
    for (int i = 0; i < 300; i++) { /* past the first 4 KiB of buffer */
        int n = snprintf(line, sizeof(line), "parley_test_total{worker=\"%d\"} %d\n", i, i * 7);
        emit(line, (size_t)n, ctx);
    }
}

static void on_log(int level, const char *line, void *user)
{
    fixture *f = user;
    pthread_mutex_lock(&f->lock);
    size_t n = strlen(line) + 4;
    f->logs = realloc(f->logs, f->logs_len + n + 1);
    f->logs_len += (size_t)sprintf(f->logs + f->logs_len, "%d %s\n", level, line);
    pthread_mutex_unlock(&f->lock);
}

static bool logged(fixture *f, int level, const char *part)
{
    pthread_mutex_lock(&f->lock);
    bool found = false;
    for (char *l = f->logs; l && *l && !found;) {
        char *nl = strchr(l, '\n');
        *nl = '\0';
        found = atoi(l) == level && strstr(l, part);
        *nl = '\n';
        l = nl + 1;
    }
    pthread_mutex_unlock(&f->lock);
    return found;
}

static fixture *start(const char *listen, const char *token, size_t max_body)
{
    fixture *f = calloc(1, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    pl_mgmt_config cfg = {.listen = listen,
                          .token = token,
                          .max_body = max_body,
                          .metrics = metrics,
                          .log = on_log,
                          .user = f};
    f->m = pl_mgmt_new(&cfg);
    assert_non_null(f->m);
    assert_int_equal(pl_mgmt_add(f->m, "echo", m_echo, f), PL_OK);
    assert_int_equal(pl_mgmt_add(f->m, "note", m_note, f), PL_OK);
    assert_int_equal(pl_mgmt_add(f->m, "need", m_need, f), PL_OK);
    assert_int_equal(pl_mgmt_add(f->m, "missing", m_missing, f), PL_OK);
    assert_int_equal(pl_mgmt_add(f->m, "nothing", m_null, f), PL_OK);
    assert_int_equal(pl_mgmt_add(f->m, "slow", m_slow, f), PL_OK);
    pl_error err = {0};
    if (pl_mgmt_start(f->m, &err) != PL_OK)
        fail_msg("start on %s: %s", listen, err.reason);
    f->port = pl_mgmt_port(f->m);
    assert_true(f->port != 0);
    return f;
}

static void stop(fixture *f)
{
    pl_mgmt_free(f->m);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->cond);
    free(f->logs);
    free(f);
}

/* ------------------------------------------------------------ tests */

static void test_results_and_ids(void **state)
{
    (void)state;
    fixture *f = start("127.0.0.1:0", NULL, 0);
    json_t *j =
        call(f->port, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":{\"a\":[1,\"x\"]},"
                      "\"id\":7}");
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 7);
    assert_int_equal(
        json_integer_value(json_array_get(json_object_get(json_object_get(j, "result"), "a"), 0)),
        1);
    assert_string_equal(json_string_value(json_object_get(j, "jsonrpc")), "2.0");
    assert_null(json_object_get(j, "error"));
    json_decref(j);

    j = call(f->port, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[3],\"id\":\"abc\"}");
    assert_string_equal(json_string_value(json_object_get(j, "id")), "abc");
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "result"), 0)), 3);
    json_decref(j);

    /* A null id is an id (not a notification); no params reach the method as NULL. */
    j = call(f->port, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":null}");
    assert_true(json_is_null(json_object_get(j, "id")));
    assert_string_equal(json_string_value(json_object_get(j, "result")), "no params");
    json_decref(j);

    j = call(f->port, "{\"jsonrpc\":\"2.0\",\"method\":\"nothing\",\"id\":1.5}");
    assert_true(json_is_real(json_object_get(j, "id")));
    assert_true(json_is_null(json_object_get(j, "result")));
    assert_non_null(json_object_get(j, "result")); /* present, and null */
    json_decref(j);

    j = call(f->port, "{\"jsonrpc\":\"2.0\",\"method\":\"need\",\"params\":{\"n\":21},\"id\":2}");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "result"), "twice")),
                     42);
    json_decref(j);

    /* The built-in list, sorted. */
    j = call(f->port, "{\"jsonrpc\":\"2.0\",\"method\":\"core.methods\",\"id\":3}");
    json_t *want = json_pack("[s,s,s,s,s,s,s]", "core.methods", "echo", "missing", "need", "note",
                             "nothing", "slow");
    assert_true(json_equal(json_object_get(j, "result"), want));
    json_decref(want);
    json_decref(j);
    json_t *local = pl_mgmt_methods(f->m);
    assert_int_equal(json_array_size(local), 7);
    json_decref(local);

    /* One debug line per request, naming the method. */
    assert_true(logged(f, PL_PROXY_LOG_DEBUG, "POST / need: 200"));
    /* libmicrohttpd had nothing to complain about (its messages come as "http:"). */
    assert_false(logged(f, PL_PROXY_LOG_WARN, "mgmt: http:"));
    stop(f);
}

static void test_errors(void **state)
{
    (void)state;
    fixture *f = start("127.0.0.1:0", NULL, 0);
    uint16_t p = f->port;
    /* -32700: not JSON at all, cut short, empty. */
    assert_error_null_id("{\"jsonrpc\": \"2.0\", \"method\": \"echo\", \"params\": [", p, -32700);
    assert_error_null_id("not json", p, -32700);
    assert_error_null_id("", p, -32700);
    /* -32600: not an object, no or a wrong "jsonrpc", a bad id, no method. */
    assert_error_null_id("1", p, -32600);
    assert_error_null_id("\"echo\"", p, -32600);
    assert_error_null_id("[]", p, -32600);
    assert_error_null_id("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":{}}", p, -32600);
    assert_error_null_id("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":[1]}", p, -32600);
    assert_error_null_id("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":true}", p, -32600);
    /* ... with a good id echoed. */
    const char *with_id[] = {
        "{\"method\":\"echo\",\"id\":5}",
        "{\"jsonrpc\":\"1.0\",\"method\":\"echo\",\"id\":5}",
        "{\"jsonrpc\":2.0,\"method\":\"echo\",\"id\":5}",
        "{\"jsonrpc\":\"2.0\",\"id\":5}",
        "{\"jsonrpc\":\"2.0\",\"method\":42,\"id\":5}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":\"x\",\"id\":5}",
        /* A request without an id that is not valid is answered all the same. */
        "{\"jsonrpc\":\"2.0\",\"method\":17}",
    };
    for (size_t i = 0; i < sizeof(with_id) / sizeof(*with_id); i++) {
        json_t *j = call(p, with_id[i]);
        if (err_code(j) != -32600)
            fail_msg("%s: got %s", with_id[i], json_dumps(j, 0));
        json_t *id = json_object_get(j, "id");
        if (i < 6)
            assert_int_equal(json_integer_value(id), 5);
        else
            assert_true(json_is_null(id));
        json_decref(j);
    }
    /* -32601 */
    json_t *j = call(p, "{\"jsonrpc\":\"2.0\",\"method\":\"no.such\",\"id\":\"q\"}");
    assert_int_equal(err_code(j), -32601);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "q");
    assert_non_null(strstr(err_message(j), "no.such"));
    json_decref(j);
    /* A name with a NUL inside is not the name before the NUL. */
    j = call(p, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\\u0000x\",\"id\":1}");
    assert_true(err_code(j) == -32601 || err_code(j) == -32700);
    json_decref(j);
    /* -32602 from the method, its malloc'd message (freed: ASan says so). */
    j = call(p, "{\"jsonrpc\":\"2.0\",\"method\":\"need\",\"params\":{\"n\":\"x\"},\"id\":9}");
    assert_int_equal(err_code(j), -32602);
    assert_string_equal(err_message(j), "n must be an integer");
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 9);
    json_decref(j);
    /* A method's own code without a message gets a default one. */
    j = call(p, "{\"jsonrpc\":\"2.0\",\"method\":\"missing\",\"id\":10}");
    assert_int_equal(err_code(j), PL_MGMT_E_NOT_FOUND);
    assert_true(strlen(err_message(j)) > 0);
    assert_null(json_object_get(j, "result"));
    json_decref(j);
    /* Errors are logged at warn. */
    assert_true(logged(f, PL_PROXY_LOG_WARN, "error -32602: n must be an integer"));
    assert_true(logged(f, PL_PROXY_LOG_WARN, "error -32700"));
    stop(f);
}

static int notified(fixture *f)
{
    pthread_mutex_lock(&f->lock);
    int n = f->notified;
    pthread_mutex_unlock(&f->lock);
    return n;
}

static void test_batches_and_notifications(void **state)
{
    (void)state;
    fixture *f = start("127.0.0.1:0", NULL, 0);
    /* A request, a notification, a non-object, an unknown method, a bad one. */
    json_t *j = call(f->port, "[{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[1],\"id\":1},"
                              " {\"jsonrpc\":\"2.0\",\"method\":\"note\"},"
                              " 7,"
                              " {\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":\"u\"},"
                              " {\"jsonrpc\":\"2.0\",\"method\":\"need\",\"params\":{},\"id\":3}]");
    assert_true(json_is_array(j));
    assert_int_equal(json_array_size(j), 4);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "id")), 1);
    assert_int_equal(err_code(json_array_get(j, 0)), 0);
    assert_int_equal(err_code(json_array_get(j, 1)), -32600);
    assert_true(json_is_null(json_object_get(json_array_get(j, 1), "id")));
    assert_int_equal(err_code(json_array_get(j, 2)), -32601);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 2), "id")), "u");
    assert_int_equal(err_code(json_array_get(j, 3)), -32602);
    json_decref(j);
    assert_int_equal(notified(f), 1);

    /* Only notifications (one failing): 204, no body, every one run. */
    http_resp r;
    post(f->port,
         "[{\"jsonrpc\":\"2.0\",\"method\":\"note\"},{\"jsonrpc\":\"2.0\",\"method\":\"note\","
         "\"params\":[]},{\"jsonrpc\":\"2.0\",\"method\":\"nope\"}]",
         &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body_len, 0);
    resp_free(&r);
    assert_int_equal(notified(f), 3);
    /* One notification alone; one of an unknown method; one whose method fails. */
    post(f->port, "{\"jsonrpc\":\"2.0\",\"method\":\"note\"}", &r);
    assert_int_equal(r.status, 204);
    resp_free(&r);
    post(f->port, "{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"params\":{}}", &r);
    assert_int_equal(r.status, 204);
    resp_free(&r);
    post(f->port, "{\"jsonrpc\":\"2.0\",\"method\":\"need\"}", &r);
    assert_int_equal(r.status, 204);
    resp_free(&r);
    assert_int_equal(notified(f), 4);
    assert_true(logged(f, PL_PROXY_LOG_DEBUG, "batch of 3: 204"));
    stop(f);
}

static void test_token(void **state)
{
    (void)state;
    fixture *f = start("127.0.0.1:0", "s3cret-token", 0);
    const char *body = "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[1],\"id\":1}";
    const char *refused[] = {NULL,
                             "Bearer wrong",
                             "Bearer s3cret-tokeX", /* same length */
                             "Bearer s3cret-token2",
                             "Bearer s3cret",
                             "Bearer ",
                             "Basic czNjcmV0LXRva2Vu",
                             "s3cret-token",
                             "Bearer  s3cret-token"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++) {
        http_resp r;
        post_auth(f->port, refused[i], body, &r);
        if (r.status != 401)
            fail_msg("Authorization '%s': status %d", refused[i] ? refused[i] : "(none)", r.status);
        assert_non_null(strstr(r.head, "WWW-Authenticate: Bearer"));
        json_t *j = json_loads(r.body, 0, NULL);
        assert_non_null(j);
        assert_int_equal(err_code(j), PL_MGMT_E_UNAUTHORIZED);
        assert_true(json_is_null(json_object_get(j, "id")));
        json_decref(j);
        resp_free(&r);
    }
    assert_true(logged(f, PL_PROXY_LOG_WARN, "401"));
    const char *accepted[] = {"Bearer s3cret-token", "bearer s3cret-token"};
    for (size_t i = 0; i < 2; i++) {
        http_resp r;
        post_auth(f->port, accepted[i], body, &r);
        assert_int_equal(r.status, 200);
        json_t *j = json_loads(r.body, 0, NULL);
        assert_int_equal(err_code(j), 0);
        json_decref(j);
        resp_free(&r);
    }
    /* /metrics asks for it too. */
    http_resp r;
    const char *get = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    raw(AF_INET, f->port, get, strlen(get), &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    get = "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-token\r\n"
          "Connection: close\r\n\r\n";
    raw(AF_INET, f->port, get, strlen(get), &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    stop(f);
}

static void test_http_errors(void **state)
{
    (void)state;
    fixture *f = start("127.0.0.1:0", NULL, 100);
    http_resp r;
    /* A Content-Length over max_body: refused before the body is read. */
    const char *big =
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\nConnection: close\r\n\r\n";
    raw(AF_INET, f->port, big, strlen(big), &r);
    assert_int_equal(r.status, 413);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_int_equal(err_code(j), -32600);
    assert_non_null(strstr(err_message(j), "over 100 bytes"));
    json_decref(j);
    resp_free(&r);
    /* A chunked body that grows past it: read to its end, then refused. */
    char chunked[512];
    char pad[61];
    memset(pad, ' ', 60);
    pad[60] = '\0';
    snprintf(chunked, sizeof(chunked),
             "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
             "3c\r\n%s\r\n3c\r\n%s\r\n0\r\n\r\n",
             pad, pad);
    raw(AF_INET, f->port, chunked, strlen(chunked), &r);
    assert_int_equal(r.status, 413);
    resp_free(&r);
    /* Exactly max_body bytes: served. */
    char at_limit[101];
    const char *req = "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1}";
    snprintf(at_limit, sizeof(at_limit), "%-100s", req);
    assert_int_equal(strlen(at_limit), 100);
    post(f->port, at_limit, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    /* The same in chunks. */
    snprintf(chunked, sizeof(chunked),
             "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
             "32\r\n%.50s\r\n32\r\n%.50s\r\n0\r\n\r\n",
             at_limit, at_limit + 50);
    raw(AF_INET, f->port, chunked, strlen(chunked), &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    /* Other methods: 405 with Allow. */
    const char *get = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    raw(AF_INET, f->port, get, strlen(get), &r);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.head, "Allow: POST"));
    resp_free(&r);
    const char *put =
        "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    raw(AF_INET, f->port, put, strlen(put), &r);
    assert_int_equal(r.status, 405);
    resp_free(&r);
    const char *postm =
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    raw(AF_INET, f->port, postm, strlen(postm), &r);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.head, "Allow: GET"));
    resp_free(&r);
    /* Other paths: 404. */
    const char *other = "GET /rpc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    raw(AF_INET, f->port, other, strlen(other), &r);
    assert_int_equal(r.status, 404);
    resp_free(&r);
    const char *other_post =
        "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    raw(AF_INET, f->port, other_post, strlen(other_post), &r);
    assert_int_equal(r.status, 404);
    resp_free(&r);
    assert_true(logged(f, PL_PROXY_LOG_WARN, "413"));
    assert_true(logged(f, PL_PROXY_LOG_WARN, "GET /rpc: 404"));
    stop(f);
}

static void test_metrics(void **state)
{
    (void)state;
    fixture *f = start("127.0.0.1:0", NULL, 0);
    http_resp r;
    const char *get = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    raw(AF_INET, f->port, get, strlen(get), &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "Content-Type: text/plain; version=0.0.4"));
    assert_true(strncmp(r.body, "# HELP parley_test_total A counter.\n", 36) == 0);
    assert_non_null(strstr(r.body, "\nparley_test_total{worker=\"0\"} 0\n"));
    assert_non_null(strstr(r.body, "\nparley_test_total{worker=\"299\"} 2093\n"));
    /* Every chunk, in order, nothing else. */
    size_t lines = 0;
    for (const char *c = r.body; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 302);
    resp_free(&r);
    stop(f);
}

typedef struct slow_call {
    uint16_t port;
    json_t *answer;
} slow_call;

static void *call_slow(void *arg)
{
    slow_call *c = arg;
    c->answer = call(c->port, "{\"jsonrpc\":\"2.0\",\"method\":\"slow\",\"id\":1}");
    return NULL;
}

static void test_blocking_method(void **state)
{
    (void)state;
    fixture *f = start("127.0.0.1:0", NULL, 0);
    slow_call c = {f->port, NULL};
    pthread_t t;
    pthread_create(&t, NULL, call_slow, &c);
    /* Wait (bounded) until the slow method runs... */
    pthread_mutex_lock(&f->lock);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    while (!f->slow_entered)
        if (pthread_cond_timedwait(&f->cond, &f->lock, &until) != 0)
            break;
    bool entered = f->slow_entered;
    pthread_mutex_unlock(&f->lock);
    assert_true(entered);
    /* ...then another connection is answered while it still blocks. */
    json_t *j = call(f->port, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[2],\"id\":2}");
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "result"), 0)), 2);
    json_decref(j);
    pthread_mutex_lock(&f->lock);
    assert_null(c.answer); /* still blocked: nothing written before the release */
    f->slow_release = true;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
    pthread_join(t, NULL);
    assert_string_equal(json_string_value(json_object_get(c.answer, "result")), "done");
    json_decref(c.answer);
    stop(f);
}

static void test_ipv6_port0(void **state)
{
    (void)state;
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::1", &a.sin6_addr);
    bool have_v6 = probe >= 0 && bind(probe, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (probe >= 0)
        close(probe);
    if (!have_v6)
        skip();
    fixture *f = start("[::1]:0", NULL, 0);
    http_resp r;
    const char *body = "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[6],\"id\":6}";
    char req[256];
    int n = snprintf(req, sizeof(req),
                     "POST / HTTP/1.1\r\nHost: [::1]\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s",
                     strlen(body), body);
    raw(AF_INET6, f->port, req, (size_t)n, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"result\":[6]"));
    resp_free(&r);
    assert_true(logged(f, PL_PROXY_LOG_DEBUG, "[::1]:"));
    stop(f);
}

static void test_start_failures(void **state)
{
    (void)state;
    fixture *f = start("127.0.0.1:0", NULL, 0);
    /* A second server on the same port. */
    char addr[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", f->port);
    pl_mgmt *m = pl_mgmt_new(&(pl_mgmt_config){.listen = addr});
    pl_error err = {0};
    assert_int_not_equal(pl_mgmt_start(m, &err), PL_OK);
    assert_non_null(err.reason);
    assert_non_null(strstr(err.reason, "in use"));
    assert_int_equal(pl_mgmt_port(m), 0);
    pl_mgmt_free(m);
    /* Addresses that are not addresses. */
    const char *bad[] = {"localhost:8080", "127.0.0.1", "127.0.0.1:99999", "[::1:8080",
                         "::1:8080",       "",          "1.2.3.4:x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        m = pl_mgmt_new(&(pl_mgmt_config){.listen = bad[i]});
        err = (pl_error){0};
        if (pl_mgmt_start(m, &err) == PL_OK)
            fail_msg("started on '%s'", bad[i]);
        assert_non_null(strstr(err.reason, "bad listen address"));
        pl_mgmt_free(m);
    }
    /* An address that is not this host's. */
    m = pl_mgmt_new(&(pl_mgmt_config){.listen = "192.0.2.1:0"});
    assert_int_not_equal(pl_mgmt_start(m, &err), PL_OK);
    assert_non_null(strstr(err.reason, "not available"));
    pl_mgmt_free(m);
    /* The method table: no duplicates, no empty names, closed once started. */
    assert_int_equal(pl_mgmt_add(f->m, "late", m_echo, NULL), PL_ESTATE);
    assert_int_equal(pl_mgmt_start(f->m, &err), PL_ESTATE);
    m = pl_mgmt_new(NULL);
    assert_int_equal(pl_mgmt_add(m, "core.methods", m_echo, NULL), PL_EINVAL);
    assert_int_equal(pl_mgmt_add(m, "", m_echo, NULL), PL_EINVAL);
    assert_int_equal(pl_mgmt_add(m, "x", NULL, NULL), PL_EINVAL);
    assert_int_equal(pl_mgmt_add(m, "x", m_echo, NULL), PL_OK);
    assert_int_equal(pl_mgmt_add(m, "x", m_echo, NULL), PL_EINVAL);
    pl_mgmt_free(m); /* never started */
    stop(f);
}

/* Freeing with a client connected and silent returns (the thread is told to go). */
static void test_free_with_idle_client(void **state)
{
    (void)state;
    fixture *f = start("127.0.0.1:0", NULL, 0);
    int fd = connect_to(AF_INET, f->port);
    /* A keep-alive request answered, the connection left open. */
    const char *body = "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1}";
    char req[256];
    int n =
        snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(body), body);
    send_all(fd, req, (size_t)n);
    struct pollfd pfd = {fd, POLLIN, 0};
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    char buf[1024];
    assert_true(recv(fd, buf, sizeof(buf), 0) > 0);
    int idle = connect_to(AF_INET, f->port); /* and one that never sends */
    stop(f);
    /* Both see the server go. */
    pfd.fd = idle;
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    assert_true(recv(idle, buf, sizeof(buf), 0) <= 0);
    close(idle);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_results_and_ids),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_batches_and_notifications),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_http_errors),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_blocking_method),
        cmocka_unit_test(test_ipv6_port0),
        cmocka_unit_test(test_start_failures),
        cmocka_unit_test(test_free_with_idle_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
