/*
 * fuzz_mgmt.c - the management server's JSON-RPC 2.0 dispatcher fed any
 * request body (what a client POSTs): single requests, batches,
 * notifications, every error. The methods registered echo their params,
 * fail with a code, or return nothing. Every answer must be valid JSON
 * (or empty for notifications only); nothing may crash or leak.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <parley/mgmt.h>

#include "mgmt/mgmt_int.h"

static json_t *echo(json_t *params, int *code, const char **message, bool *owned, void *arg)
{
    (void)code;
    (void)message;
    (void)owned;
    (void)arg;
    return params ? json_deep_copy(params) : json_null();
}

static json_t *fail(json_t *params, int *code, const char **message, bool *owned, void *arg)
{
    (void)arg;
    *code = PL_MGMT_E_NOT_FOUND;
    if (json_is_string(params)) {
        *message = strdup(json_string_value(params));
        *owned = *message != NULL;
    } else {
        *message = "no such thing";
    }
    return NULL;
}

static json_t *nothing(json_t *params, int *code, const char **message, bool *owned, void *arg)
{
    (void)params;
    (void)code;
    (void)message;
    (void)owned;
    (void)arg;
    return NULL;
}

static pl_mgmt *m;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!m) {
        m = pl_mgmt_new(&(pl_mgmt_config){.listen = "127.0.0.1:0"});
        if (!m || pl_mgmt_add(m, "echo", echo, NULL) != PL_OK ||
            pl_mgmt_add(m, "fail", fail, NULL) != PL_OK ||
            pl_mgmt_add(m, "nothing", nothing, NULL) != PL_OK)
            abort();
    }
    char *body = malloc(size ? size : 1); /* exact size: ASan sees over-reads */
    if (!body)
        abort();
    memcpy(body, data, size);
    char *out = NULL;
    size_t out_len = 0;
    char summary[128];
    pl__mgmt_rpc(m, "fuzz", body, size, &out, &out_len, summary, sizeof(summary));
    if (out && out_len) {
        json_error_t e;
        json_t *j = json_loadb(out, out_len, 0, &e);
        if (!j)
            abort(); /* the answer is always JSON */
        json_decref(j);
    }
    free(out);
    free(body);
    return 0;
}
