/*
 * http.c - parleyctl's HTTP/1.1 client (RFC 9112), just what a JSON-RPC
 * call needs: resolve, connect without blocking past the deadline, send
 * one POST with "Connection: close", read the answer to its end (by
 * Content-Length, chunked, or the close), and split it.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Milliseconds left before deadline (0 when past). */
static int left_ms(double deadline)
{
    double l = (deadline - now_s()) * 1e3;
    return l <= 0 ? 0 : l > 1e9 ? 1000000000 : (int)l;
}

/* Wait for events on fd until the deadline: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, double deadline)
{
    struct pollfd p = {fd, events, 0};
    for (;;) {
        int n = poll(&p, 1, left_ms(deadline));
        if (n >= 0 || errno != EINTR)
            return n > 0 ? 1 : n;
    }
}

/* "http://HOST:PORT/" or "[V6]:PORT" into host and port; false if malformed. */
static bool split_addr(const char *addr, char *host, size_t hcap, char *port, size_t pcap)
{
    if (strncasecmp(addr, "http://", 7) == 0)
        addr += 7;
    size_t n = strlen(addr);
    while (n && addr[n - 1] == '/')
        n--;
    const char *end = addr + n, *colon;
    const char *h = addr, *hend;
    if (*addr == '[') {
        hend = memchr(addr, ']', n);
        if (!hend || hend + 1 >= end || hend[1] != ':')
            return false;
        h = addr + 1;
        colon = hend + 1;
    } else {
        colon = NULL;
        for (const char *c = addr; c < end; c++)
            if (*c == ':') {
                if (colon)
                    return false; /* a bare IPv6 address: brackets needed */
                colon = c;
            }
        if (!colon)
            return false;
        hend = colon;
    }
    size_t hl = (size_t)(hend - h), pl = (size_t)(end - colon - 1);
    if (!hl || hl >= hcap || !pl || pl >= pcap || pl > 5)
        return false;
    for (const char *c = colon + 1; c < end; c++)
        if (*c < '0' || *c > '9')
            return false;
    memcpy(host, h, hl);
    host[hl] = '\0';
    memcpy(port, colon + 1, pl);
    port[pl] = '\0';
    return atoi(port) > 0 && atoi(port) <= 65535;
}

static int connect_any(const char *host, const char *port, double deadline, char *err, size_t cap)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0) {
        snprintf(err, cap, "%s", gai_strerror(g));
        return -1;
    }
    int fd = -1;
    snprintf(err, cap, "no address");
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            snprintf(err, cap, "%s", strerror(errno));
            continue;
        }
        int e = 0;
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            e = errno;
            if (e == EINPROGRESS) {
                int w = wait_fd(fd, POLLOUT, deadline);
                socklen_t el = sizeof(e);
                if (w == 0)
                    e = ETIMEDOUT;
                else if (w < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
                    e = errno;
            }
        }
        if (e != 0) {
            snprintf(err, cap, "%s", strerror(e));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

static int send_all(int fd, const char *p, size_t n, double deadline)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            int r = wait_fd(fd, POLLOUT, deadline);
            if (r <= 0)
                return r == 0 ? CTL_HTTP_TIMEOUT : CTL_HTTP_CONNECT;
            continue;
        }
        if (w < 0)
            return CTL_HTTP_CONNECT;
        p += w;
        n -= (size_t)w;
    }
    return CTL_HTTP_OK;
}

/* The value of header name in the head (status line + headers), or NULL. */
static const char *header(const char *head, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (const char *l = strstr(head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
        const char *s = l + 2;
        if (strncasecmp(s, name, nl) == 0 && s[nl] == ':') {
            s += nl + 1;
            while (*s == ' ' || *s == '\t')
                s++;
            const char *e = strstr(s, "\r\n");
            *len = e ? (size_t)(e - s) : strlen(s);
            return s;
        }
    }
    return NULL;
}

/* Decode a chunked body in place; its new length, or -1 if malformed/incomplete. */
static long dechunk(char *b, size_t n)
{
    size_t in = 0, out = 0;
    for (;;) {
        char *e;
        if (in >= n)
            return -1;
        unsigned long sz = strtoul(b + in, &e, 16);
        char *crlf = strstr(b + in, "\r\n");
        if (e == b + in || !crlf || (size_t)(crlf - b) >= n)
            return -1;
        in = (size_t)(crlf - b) + 2;
        if (sz == 0)
            return (long)out;
        if (sz > n - in || n - in - sz < 2)
            return -1;
        memmove(b + out, b + in, sz);
        out += sz;
        in += sz + 2;
    }
}

/* Is buf (len bytes) a complete answer already? (Content-Length known and met.) */
bool ctl_http_complete(const char *buf, size_t len)
{
    const char *end = strstr(buf, "\r\n\r\n");
    if (!end)
        return false;
    size_t hl, cl_len;
    char head[4096];
    hl = (size_t)(end - buf) + 2;
    if (hl >= sizeof(head))
        return false;
    memcpy(head, buf, hl);
    head[hl] = '\0';
    const char *cl = header(head, "Content-Length", &cl_len);
    return cl && len - hl - 2 >= strtoull(cl, NULL, 10);
}

int ctl_http_parse(char *buf, size_t len, ctl_http_resp *out)
{
    char *end = strstr(buf, "\r\n\r\n");
    int status;
    if (!end || sscanf(buf, "HTTP/1.%*1[01] %3d", &status) != 1)
        return CTL_HTTP_BAD;
    end[2] = '\0'; /* the head, with its last CRLF */
    char *body = end + 4;
    size_t blen = len - (size_t)(body - buf), v;
    const char *te = header(buf, "Transfer-Encoding", &v);
    const char *cl = header(buf, "Content-Length", &v);
    if (te && strncasecmp(te, "chunked", 7) == 0) {
        long n = dechunk(body, blen);
        if (n < 0)
            return CTL_HTTP_BAD;
        blen = (size_t)n;
    } else if (cl) {
        unsigned long long n = strtoull(cl, NULL, 10);
        if (n > blen)
            return CTL_HTTP_BAD; /* cut short */
        blen = (size_t)n;
    }
    out->status = status;
    out->body = malloc(blen + 1);
    if (!out->body)
        return CTL_HTTP_BAD;
    memcpy(out->body, body, blen);
    out->body[blen] = '\0';
    out->body_len = blen;
    return CTL_HTTP_OK;
}

static int receive(int fd, double deadline, ctl_http_resp *out, char *err, size_t cap)
{
    size_t len = 0, bcap = 8192;
    char *buf = malloc(bcap);
    int rc = CTL_HTTP_OK;
    for (;;) {
        if (len + 4096 + 1 > bcap) {
            char *nb = realloc(buf, bcap *= 2);
            if (!nb) {
                rc = CTL_HTTP_BAD;
                break;
            }
            buf = nb;
        }
        ssize_t n = recv(fd, buf + len, bcap - len - 1, 0);
        if (n > 0) {
            len += (size_t)n;
            buf[len] = '\0';
            if (ctl_http_complete(buf, len))
                break;
            continue;
        }
        if (n == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN) {
            snprintf(err, cap, "%s", strerror(errno));
            rc = CTL_HTTP_CONNECT;
            break;
        }
        if (wait_fd(fd, POLLIN, deadline) <= 0) {
            snprintf(err, cap, "no answer in time");
            rc = CTL_HTTP_TIMEOUT;
            break;
        }
    }
    if (rc == CTL_HTTP_OK) {
        buf[len] = '\0';
        rc = ctl_http_parse(buf, len, out);
        if (rc != CTL_HTTP_OK)
            snprintf(err, cap, len ? "not an HTTP answer" : "connection closed without an answer");
    }
    free(buf);
    return rc;
}

int ctl_http_post(const char *addr, const char *token, const char *body, size_t len,
                  double timeout_s, ctl_http_resp *out, char *err, size_t cap)
{
    memset(out, 0, sizeof(*out));
    char host[256], port[8];
    if (!split_addr(addr, host, sizeof(host), port, sizeof(port))) {
        snprintf(err, cap, "want HOST:PORT or [IPV6]:PORT");
        return CTL_HTTP_ADDRESS;
    }
    double deadline = now_s() + timeout_s;
    int fd = connect_any(host, port, deadline, err, cap);
    if (fd < 0)
        return strstr(err, "timed out") ? CTL_HTTP_TIMEOUT : CTL_HTTP_CONNECT;
    bool v6 = strchr(host, ':') != NULL;
    char head[1024];
    int hl = snprintf(head, sizeof(head),
                      "POST / HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: parleyctl\r\n"
                      "Content-Type: application/json\r\nAccept: application/json\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n%s%s%s\r\n",
                      v6 ? "[" : "", host, v6 ? "]" : "", port, len,
                      token && *token ? "Authorization: Bearer " : "", token ? token : "",
                      token && *token ? "\r\n" : "");
    int rc = CTL_HTTP_OK;
    if (hl < 0 || (size_t)hl >= sizeof(head)) {
        snprintf(err, cap, "token too long");
        rc = CTL_HTTP_ADDRESS;
    }
    if (rc == CTL_HTTP_OK)
        rc = send_all(fd, head, (size_t)hl, deadline);
    if (rc == CTL_HTTP_OK)
        rc = send_all(fd, body, len, deadline);
    if (rc == CTL_HTTP_TIMEOUT)
        snprintf(err, cap, "no answer in time");
    else if (rc == CTL_HTTP_CONNECT)
        snprintf(err, cap, "%s", strerror(errno));
    /* A server may answer (401, 413) and close before taking the whole
     * body: what it said is still worth reading. */
    if (rc == CTL_HTTP_OK || rc == CTL_HTTP_CONNECT) {
        char rerr[128];
        int r = receive(fd, deadline, out, rerr, sizeof(rerr));
        if (rc == CTL_HTTP_OK && r != CTL_HTTP_OK)
            snprintf(err, cap, "%s", rerr);
        if (rc == CTL_HTTP_OK || r == CTL_HTTP_OK)
            rc = r;
    }
    close(fd);
    return rc;
}

void ctl_http_resp_free(ctl_http_resp *r)
{
    free(r->body);
    r->body = NULL;
}
