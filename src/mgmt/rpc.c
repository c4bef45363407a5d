/*
 * rpc.c - JSON-RPC 2.0 (https://www.jsonrpc.org/specification) over the
 * bodies the HTTP side hands in: one request object, or a batch (an array
 * of them) answered by an array in any order we like (we keep theirs).
 *
 * A request without an "id" member is a notification: it is run, but gets
 * no response even when it fails. What cannot be read as a request at all
 * (not an object, no "jsonrpc": "2.0", an id of the wrong type, no method
 * name) gets -32600 whether or not it had an id, with the id echoed only
 * when it was of a valid type.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parley/proxy.h>

#include "mgmt_int.h"

/* The spec's messages, for a method that sets a code but no message. */
static const char *default_message(int code)
{
    switch (code) {
    case PL_MGMT_E_PARSE:
        return "parse error";
    case PL_MGMT_E_REQUEST:
        return "invalid request";
    case PL_MGMT_E_METHOD:
        return "method not found";
    case PL_MGMT_E_PARAMS:
        return "invalid params";
    case PL_MGMT_E_INTERNAL:
        return "internal error";
    case PL_MGMT_E_NOT_FOUND:
        return "not found";
    case PL_MGMT_E_STATE:
        return "not possible in this state";
    case PL_MGMT_E_UNAVAILABLE:
        return "unavailable";
    case PL_MGMT_E_UNAUTHORIZED:
        return "unauthorized";
    default:
        return "error";
    }
}

/* {"jsonrpc": "2.0", "error": {code, message}, "id": id}; id is borrowed (NULL: null). */
static json_t *error_response(int code, const char *message, json_t *id)
{
    return json_pack("{s:s, s:{s:i, s:s}, s:O}", "jsonrpc", "2.0", "error", "code", code, "message",
                     message ? message : default_message(code), "id", id ? id : json_null());
}

char *pl__mgmt_error_text(int code, const char *message, size_t *len)
{
    json_t *r = error_response(code, message, NULL);
    char *s = r ? json_dumps(r, JSON_COMPACT) : NULL;
    json_decref(r);
    *len = s ? strlen(s) : 0;
    return s;
}

typedef struct rpc_ctx {
    pl_mgmt *m;
    const char *peer;
} rpc_ctx;

static json_t *refuse(const rpc_ctx *c, int code, const char *message, json_t *id,
                      const char *method)
{
    pl__mgmt_log(c->m, PL_PROXY_LOG_WARN, "mgmt: %s: %s: error %d: %s", c->peer,
                 method ? method : "-", code, message ? message : default_message(code));
    return error_response(code, message, id);
}

/* Run one request; the response, or NULL for a notification. */
static json_t *answer(const rpc_ctx *c, json_t *req)
{
    if (!json_is_object(req))
        return refuse(c, PL_MGMT_E_REQUEST, "invalid request: not an object", NULL, NULL);
    json_t *id = json_object_get(req, "id");
    bool notification = id == NULL;
    bool id_ok = !id || json_is_string(id) || json_is_number(id) || json_is_null(id);
    json_t *echo = id_ok ? id : NULL;
    json_t *version = json_object_get(req, "jsonrpc");
    if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") != 0)
        return refuse(c, PL_MGMT_E_REQUEST, "invalid request: \"jsonrpc\" must be \"2.0\"", echo,
                      NULL);
    if (!id_ok)
        return refuse(c, PL_MGMT_E_REQUEST,
                      "invalid request: \"id\" must be a string, a number or null", NULL, NULL);
    json_t *method = json_object_get(req, "method");
    if (!json_is_string(method))
        return refuse(c, PL_MGMT_E_REQUEST, "invalid request: \"method\" must be a string", echo,
                      NULL);
    const char *name = json_string_value(method);
    json_t *params = json_object_get(req, "params");
    if (params && !json_is_object(params) && !json_is_array(params))
        return refuse(c, PL_MGMT_E_REQUEST,
                      "invalid request: \"params\" must be an object or an array", echo, name);

    const mgmt_method *mm =
        strlen(name) == json_string_length(method) ? pl__mgmt_find(c->m, name) : NULL;
    if (!mm) {
        char msg[160];
        snprintf(msg, sizeof(msg), "method not found: %.100s", name);
        json_t *r = refuse(c, PL_MGMT_E_METHOD, msg, echo, name);
        if (notification) {
            json_decref(r);
            return NULL;
        }
        return r;
    }

    int code = 0;
    const char *message = NULL;
    bool owned = false;
    json_t *result = mm->fn(params, &code, &message, &owned, mm->arg);
    json_t *r;
    if (code != 0) {
        json_decref(result);
        r = refuse(c, code, message, echo, name);
        if (owned)
            free((char *)message);
    } else {
        r = json_pack("{s:s, s:o, s:O}", "jsonrpc", "2.0", "result", result ? result : json_null(),
                      "id", echo);
    }
    if (notification) {
        json_decref(r);
        return NULL;
    }
    return r;
}

/* The batch's responses (an array, maybe empty). */
static json_t *answer_batch(const rpc_ctx *c, json_t *batch)
{
    json_t *out = json_array();
    size_t i;
    json_t *req;
    json_array_foreach(batch, i, req)
    {
        json_t *r = answer(c, req);
        if (r)
            json_array_append_new(out, r);
    }
    return out;
}

void pl__mgmt_rpc(pl_mgmt *m, const char *peer, const char *body, size_t len, char **out,
                  size_t *out_len, char *summary, size_t cap)
{
    rpc_ctx c = {m, peer};
    json_error_t jerr;
    json_t *in = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
    json_t *resp;
    if (!in) {
        char msg[220];
        snprintf(msg, sizeof(msg), "parse error: %s at line %d column %d", jerr.text, jerr.line,
                 jerr.column);
        snprintf(summary, cap, "parse error");
        resp = refuse(&c, PL_MGMT_E_PARSE, msg, NULL, NULL);
    } else if (json_is_array(in)) {
        size_t n = json_array_size(in);
        snprintf(summary, cap, "batch of %zu", n);
        resp = n ? answer_batch(&c, in)
                 : refuse(&c, PL_MGMT_E_REQUEST, "invalid request: empty batch", NULL, NULL);
    } else {
        json_t *method = json_object_get(in, "method");
        snprintf(summary, cap, "%.60s",
                 json_is_string(method) ? json_string_value(method) : "invalid request");
        resp = answer(&c, in);
    }
    json_decref(in);
    *out = NULL;
    *out_len = 0;
    if (resp && !(json_is_array(resp) && json_array_size(resp) == 0)) {
        *out = json_dumps(resp, JSON_COMPACT);
        *out_len = *out ? strlen(*out) : 0;
    }
    json_decref(resp);
}
