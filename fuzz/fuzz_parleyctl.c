/*
 * fuzz_parleyctl.c - what parleyctl makes of the bytes a management
 * server answers: the completeness check and the HTTP/1.x parse (status,
 * Content-Length, chunked bodies decoded in place), then the JSON-RPC
 * body through jansson as parleyctl reads it. The input is the answer as
 * read from the socket (NUL-terminated, as the client keeps it).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    buf[size] = '\0';
    size_t len = strlen(buf); /* the client never holds a NUL inside what it parses */
    (void)ctl_http_complete(buf, len);
    ctl_http_resp r = {0, NULL, 0};
    if (ctl_http_parse(buf, len, &r) == CTL_HTTP_OK) {
        if (!r.body || r.body[r.body_len] != '\0')
            abort();
        json_error_t e;
        json_t *j = json_loadb(r.body, r.body_len, 0, &e);
        json_decref(j);
    }
    ctl_http_resp_free(&r);
    free(buf);
    return 0;
}
