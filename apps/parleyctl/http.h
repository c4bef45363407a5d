/*
 * http.h - parleyctl's HTTP/1.1 client: one POST per connection, over
 * plain sockets, bounded by a deadline.
 */
#ifndef PARLEYCTL_HTTP_H
#define PARLEYCTL_HTTP_H

#include <stdbool.h>
#include <stddef.h>

typedef enum ctl_http_err {
    CTL_HTTP_OK = 0,
    CTL_HTTP_ADDRESS = -1, /* the address is not HOST:PORT */
    CTL_HTTP_CONNECT = -2, /* no connection (refused, unreachable, name unknown) */
    CTL_HTTP_TIMEOUT = -3, /* no complete answer before the deadline */
    CTL_HTTP_BAD = -4,     /* an answer that is not HTTP/1.x */
} ctl_http_err;

typedef struct ctl_http_resp {
    int status;
    char *body; /* NUL-terminated; malloc'd */
    size_t body_len;
} ctl_http_resp;

/*
 * POST body to http://addr/ ("127.0.0.1:8080", "[::1]:8080",
 * "host:8080"; an "http://" prefix and a trailing "/" are allowed) with
 * "Authorization: Bearer token" when token is not NULL or empty. Waits
 * at most timeout_s seconds in all. On an error, err (cap bytes) says
 * why, e.g. "Connection refused".
 */
int ctl_http_post(const char *addr, const char *token, const char *body, size_t len,
                  double timeout_s, ctl_http_resp *out, char *err, size_t cap);

void ctl_http_resp_free(ctl_http_resp *r);

/* What the client does with the bytes it read (buf NUL-terminated at len), exposed for the fuzz
 * target: is the answer complete yet (Content-Length met)? and its status and body (chunked
 * decoded in place). */
bool ctl_http_complete(const char *buf, size_t len);
int ctl_http_parse(char *buf, size_t len, ctl_http_resp *out);

#endif
