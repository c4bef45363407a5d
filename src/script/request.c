/*
 * request.c - the req object: the request being routed, as the script's
 * hooks see it.
 *
 * Fields (req.method, req.ruri...) are read from the proxy's copy of the
 * request each time, so they follow the script's own edits (set_ruri).
 * Methods call the proxy core (parley/proxy.h) for the request. Calls a
 * script can reasonably get wrong in routing (replying twice, forwarding
 * an answered request) return false and a message; calls that can only
 * be a bug in the script (a bad URI, a bad argument) raise an error,
 * which answers the request 500 (docs/script.md).
 *
 * One metatable serves every req: __index looks the key up in one table
 * that maps method names to their functions and field names to small
 * integers, so a field read is one hash lookup and a switch.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "script_int.h"

enum req_field {
    F_METHOD = 1,
    F_RURI,
    F_CALL_ID,
    F_FROM,
    F_TO,
    F_FROM_URI,
    F_TO_URI,
    F_FROM_TAG,
    F_TO_TAG,
    F_FROM_USER,
    F_TO_USER,
    F_RURI_USER,
    F_RURI_HOST,
    F_RURI_PORT,
    F_CSEQ,
    F_MAX_FORWARDS,
    F_SRC_IP,
    F_SRC_PORT,
    F_TRANSPORT,
    F_BODY,
};

static const char *const FIELD_NAMES[] = {
    [F_METHOD] = "method",
    [F_RURI] = "ruri",
    [F_CALL_ID] = "call_id",
    [F_FROM] = "from",
    [F_TO] = "to",
    [F_FROM_URI] = "from_uri",
    [F_TO_URI] = "to_uri",
    [F_FROM_TAG] = "from_tag",
    [F_TO_TAG] = "to_tag",
    [F_FROM_USER] = "from_user",
    [F_TO_USER] = "to_user",
    [F_RURI_USER] = "ruri_user",
    [F_RURI_HOST] = "ruri_host",
    [F_RURI_PORT] = "ruri_port",
    [F_CSEQ] = "cseq",
    [F_MAX_FORWARDS] = "max_forwards",
    [F_SRC_IP] = "src_ip",
    [F_SRC_PORT] = "src_port",
    [F_TRANSPORT] = "transport",
    [F_BODY] = "body",
};

/* ---- validity */

script_call *pl__script_obj_call(lua_State *L, const script_obj *o, const char *what)
{
    pl_script *s = pl__script_of(L);
    for (script_call *c = s->call; c; c = c->outer)
        if (c == o->call && c->gen == o->gen)
            return c;
    luaL_error(L, "%s no longer valid (it lives only during the hook call that received it)", what);
    return NULL;
}

/* The call of the req at arg, checked. */
static script_call *check_req(lua_State *L, int arg)
{
    script_obj *o = luaL_checkudata(L, arg, SCRIPT_REQ_MT);
    return pl__script_obj_call(L, o, "request");
}

static pl_msg *req_msg(lua_State *L, int arg)
{
    return pl_preq_msg(check_req(L, arg)->r);
}

script_obj *pl__script_req_push(lua_State *L, script_call *call)
{
    script_obj *o = lua_newuserdatauv(L, sizeof(*o), 0);
    o->call = call;
    o->gen = call->gen;
    luaL_setmetatable(L, SCRIPT_REQ_MT);
    return o;
}

/* true, or false and a message for a proxy error code. */
static int push_result(lua_State *L, int rc, const char *what)
{
    if (rc == PL_OK) {
        lua_pushboolean(L, 1);
        return 1;
    }
    const char *why;
    switch (rc) {
    case PL_ESTATE:
        why = "the request is already answered";
        break;
    case PL_ELIMIT:
        why = "too many branches";
        break;
    case PL_ENOMEM:
        why = "out of memory";
        break;
    default:
        why = pl_err_str(rc);
        break;
    }
    lua_pushboolean(L, 0);
    lua_pushfstring(L, "%s: %s", what, why);
    return 2;
}

/* ---- fields */

static void push_opt(lua_State *L, pl_str s)
{
    if (s.len)
        pl__script_push_str(L, s);
    else
        lua_pushnil(L);
}

static void push_src_ip(lua_State *L, const pl_target *t)
{
    char ip[INET6_ADDRSTRLEN] = "";
    if (t->addr.ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)&t->addr)->sin_addr, ip, sizeof(ip));
    else if (t->addr.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&t->addr)->sin6_addr, ip, sizeof(ip));
    lua_pushstring(L, ip);
}

static void push_transport(lua_State *L, pl_transport tp)
{
    static const char *const names[PL_TP_COUNT_] = {
        [PL_TP_UDP] = "udp",   [PL_TP_TCP] = "tcp", [PL_TP_TLS] = "tls",
        [PL_TP_SCTP] = "sctp", [PL_TP_WS] = "ws",   [PL_TP_WSS] = "wss",
    };
    lua_pushstring(L, (unsigned)tp < PL_TP_COUNT_ ? names[tp] : "unknown");
}

static int push_field(lua_State *L, pl_preq *r, enum req_field f)
{
    const pl_msg *m = pl_preq_msg(r);
    switch (f) {
    case F_METHOD:
        pl__script_push_str(L, m->method);
        break;
    case F_RURI:
        pl__script_push_str(L, m->ruri_raw);
        break;
    case F_CALL_ID:
        pl__script_push_str(L, m->call_id);
        break;
    case F_FROM:
        push_opt(L, m->from ? m->from->raw : PL_STR_NULL);
        break;
    case F_TO:
        push_opt(L, m->to ? m->to->raw : PL_STR_NULL);
        break;
    case F_FROM_URI:
        push_opt(L, m->from ? m->from->uri_raw : PL_STR_NULL);
        break;
    case F_TO_URI:
        push_opt(L, m->to ? m->to->uri_raw : PL_STR_NULL);
        break;
    case F_FROM_TAG:
        push_opt(L, m->from && m->from->has_tag ? m->from->tag : PL_STR_NULL);
        break;
    case F_TO_TAG:
        push_opt(L, m->to && m->to->has_tag ? m->to->tag : PL_STR_NULL);
        break;
    case F_FROM_USER:
        push_opt(L, m->from ? m->from->uri.user : PL_STR_NULL);
        break;
    case F_TO_USER:
        push_opt(L, m->to ? m->to->uri.user : PL_STR_NULL);
        break;
    case F_RURI_USER:
        push_opt(L, m->ruri.user);
        break;
    case F_RURI_HOST:
        push_opt(L, m->ruri.host);
        break;
    case F_RURI_PORT:
        if (m->ruri.port_str.len)
            lua_pushinteger(L, m->ruri.port);
        else
            lua_pushnil(L);
        break;
    case F_CSEQ:
        lua_pushinteger(L, m->has_cseq ? (lua_Integer)m->cseq.num : 0);
        break;
    case F_MAX_FORWARDS:
        if (m->has_max_forwards)
            lua_pushinteger(L, m->max_forwards);
        else
            lua_pushnil(L);
        break;
    case F_SRC_IP:
        push_src_ip(L, pl_preq_source(r));
        break;
    case F_SRC_PORT:
        lua_pushinteger(L, pl_target_port(pl_preq_source(r)));
        break;
    case F_TRANSPORT:
        push_transport(L, pl_preq_source(r)->transport);
        break;
    case F_BODY:
        pl__script_push_str(L, m->body);
        break;
    }
    return 1;
}

/* __index: upvalue 1 maps names to methods (functions) and fields (integers). */
static int req_index(lua_State *L)
{
    script_call *c = check_req(L, 1);
    lua_pushvalue(L, 2);
    int t = lua_rawget(L, lua_upvalueindex(1));
    if (t == LUA_TFUNCTION)
        return 1;
    if (t == LUA_TNUMBER)
        return push_field(L, c->r, (enum req_field)lua_tointeger(L, -1));
    lua_pushnil(L);
    return 1;
}

static int req_newindex(lua_State *L)
{
    check_req(L, 1);
    return luaL_error(L, "request fields are read-only (use set_ruri, set_header...)");
}

static int req_tostring(lua_State *L)
{
    script_obj *o = luaL_checkudata(L, 1, SCRIPT_REQ_MT);
    pl_script *s = pl__script_of(L);
    for (script_call *c = s->call; c; c = c->outer) {
        if (c == o->call && c->gen == o->gen) {
            const pl_msg *m = pl_preq_msg(c->r);
            lua_pushfstring(L, "request %s %s", lua_pushlstring(L, m->method.p, m->method.len),
                            lua_pushlstring(L, m->ruri_raw.p, m->ruri_raw.len));
            return 1;
        }
    }
    lua_pushliteral(L, "request (no longer valid)");
    return 1;
}

/* ---- headers */

static int req_header(lua_State *L)
{
    return pl__script_hdr_get(L, req_msg(L, 1), 2);
}

static int req_headers(lua_State *L)
{
    return pl__script_hdr_get_all(L, req_msg(L, 1), 2);
}

static int req_add_header(lua_State *L)
{
    return pl__script_hdr_add(L, req_msg(L, 1), 2);
}

static int req_set_header(lua_State *L)
{
    return pl__script_hdr_set(L, req_msg(L, 1), 2);
}

static int req_remove_header(lua_State *L)
{
    return pl__script_hdr_remove(L, req_msg(L, 1), 2);
}

static pl_str check_uri(lua_State *L, int arg)
{
    pl_str uri = pl__script_check_str(L, arg);
    pl_uri parsed;
    pl_error err = {0};
    if (pl_uri_parse(&parsed, uri, &err) != PL_OK)
        luaL_error(L, "bad URI '%s': %s", uri.p, err.reason ? err.reason : "malformed");
    return uri;
}

static int req_set_ruri(lua_State *L)
{
    pl_msg *m = req_msg(L, 1);
    pl_str uri = check_uri(L, 2);
    int rc = pl_msg_set_ruri(m, uri);
    if (rc != PL_OK)
        return luaL_error(L, "set_ruri '%s': %s", uri.p, pl_err_str(rc));
    return 0;
}

/* ---- predicates */

static int req_in_dialog(lua_State *L)
{
    const pl_msg *m = req_msg(L, 1);
    lua_pushboolean(L, m->to && m->to->has_tag);
    return 1;
}

static int req_loose_route(lua_State *L)
{
    lua_pushboolean(L, pl_preq_loose_route(check_req(L, 1)->r));
    return 1;
}

static int req_for_me(lua_State *L)
{
    lua_pushboolean(L, pl_preq_ruri_local(check_req(L, 1)->r));
    return 1;
}

/* ---- answering */

#define MAX_REPLY_HEADERS 32

/*
 * The extra headers of reply(): a table of name = value (a value may be a
 * list of strings for several fields), and/or an array of {name, value}
 * pairs. The strings stay alive in the table while the call runs.
 */
static size_t collect_headers(lua_State *L, int t, pl_str *out, size_t cap_pairs)
{
    size_t n = 0;
    luaL_checktype(L, t, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        int k = lua_gettop(L) - 1, v = lua_gettop(L);
        if (lua_type(L, k) == LUA_TNUMBER) {
            if (!lua_istable(L, v))
                luaL_error(L, "reply headers: entry %d is not a {name, value} pair",
                           (int)lua_tointeger(L, k));
            if (n == cap_pairs)
                luaL_error(L, "reply headers: more than %d", MAX_REPLY_HEADERS);
            lua_rawgeti(L, v, 1);
            lua_rawgeti(L, v, 2);
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
                luaL_error(L, "reply headers: a pair must hold two strings");
            /* The pair table keeps both strings alive. */
            out[2 * n] = (pl_str){lua_tostring(L, -2), lua_rawlen(L, -2)};
            out[2 * n + 1] = (pl_str){lua_tostring(L, -1), lua_rawlen(L, -1)};
            n++;
            lua_pop(L, 2);
        } else if (lua_type(L, k) == LUA_TSTRING) {
            pl_str name = {lua_tostring(L, k), lua_rawlen(L, k)};
            if (lua_type(L, v) == LUA_TSTRING) {
                if (n == cap_pairs)
                    luaL_error(L, "reply headers: more than %d", MAX_REPLY_HEADERS);
                out[2 * n] = name;
                out[2 * n + 1] = (pl_str){lua_tostring(L, v), lua_rawlen(L, v)};
                n++;
            } else if (lua_istable(L, v)) {
                lua_Integer len = (lua_Integer)lua_rawlen(L, v);
                for (lua_Integer i = 1; i <= len; i++) {
                    if (lua_rawgeti(L, v, i) != LUA_TSTRING)
                        luaL_error(L, "reply headers: %s values must be strings", name.p);
                    if (n == cap_pairs)
                        luaL_error(L, "reply headers: more than %d", MAX_REPLY_HEADERS);
                    out[2 * n] = name;
                    out[2 * n + 1] = (pl_str){lua_tostring(L, -1), lua_rawlen(L, -1)};
                    n++;
                    lua_pop(L, 1);
                }
            } else {
                luaL_error(L, "reply headers: the value of %s must be a string", name.p);
            }
        } else {
            luaL_error(L, "reply headers: keys must be names or array indexes");
        }
        lua_pop(L, 1);
    }
    return n;
}

/* req:reply(code [, reason [, headers]]) -> true | false, message */
static int req_reply(lua_State *L)
{
    script_call *c = check_req(L, 1);
    lua_Integer code = luaL_checkinteger(L, 2);
    luaL_argcheck(L, code >= 100 && code <= 699, 2, "a status code is 100 to 699");
    pl_str reason = PL_STR_NULL;
    if (!lua_isnoneornil(L, 3))
        reason = pl__script_check_str(L, 3);
    pl_str extra[2 * MAX_REPLY_HEADERS];
    size_t n = 0;
    if (!lua_isnoneornil(L, 4))
        n = collect_headers(L, 4, extra, MAX_REPLY_HEADERS);
    if (pl_preq_stateless(c->r)) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "reply: an ACK cannot be answered");
        return 2;
    }
    int rc = pl_preq_reply(c->r, (uint16_t)code, reason, extra, n);
    if (rc == PL_EINVAL)
        return luaL_error(L,
                          "reply %d: refused (a reason or header with CR, LF or NUL, or a "
                          "bad header name?)",
                          (int)code);
    return push_result(L, rc, "reply");
}

/* ---- routing */

static int req_record_route(lua_State *L)
{
    script_call *c = check_req(L, 1);
    pl_str params = PL_STR_NULL;
    if (!lua_isnoneornil(L, 2))
        params = pl__script_check_str(L, 2);
    int rc = pl_preq_record_route(c->r, params);
    if (rc == PL_EINVAL)
        return luaL_error(L, "record_route: bad parameters '%s'", params.p ? params.p : "");
    return push_result(L, rc, "record_route");
}

/* q from 0..1 to the proxy's thousandths. */
static uint16_t check_q(lua_State *L, int arg)
{
    lua_Number q = luaL_optnumber(L, arg, 1.0);
    luaL_argcheck(L, q >= 0.0 && q <= 1.0, arg, "q is a number from 0 to 1");
    return (uint16_t)(q * 1000.0 + 0.5);
}

static int add_target(lua_State *L, script_call *c, pl_str uri, uint16_t q)
{
    int rc = pl_preq_add_target(c->r, uri, PL_STR_NULL, q, NULL);
    if (rc == PL_EINVAL)
        return luaL_error(L, "add_target: refused URI '%s'", uri.p);
    return rc;
}

/* req:add_target(uri [, q]) -> true | false, message */
static int req_add_target(lua_State *L)
{
    script_call *c = check_req(L, 1);
    pl_str uri = check_uri(L, 2);
    uint16_t q = check_q(L, 3);
    return push_result(L, add_target(L, c, uri, q), "add_target");
}

/* req:forward([uri]) -> true | false, message */
static int req_forward(lua_State *L)
{
    script_call *c = check_req(L, 1);
    if (!lua_isnoneornil(L, 2)) {
        int rc = add_target(L, c, check_uri(L, 2), 1000);
        if (rc != PL_OK)
            return push_result(L, rc, "forward");
    }
    int rc = pl_preq_forward(c->r);
    if (rc == PL_OK)
        c->forwarded = true;
    return push_result(L, rc, "forward");
}

/* req:lookup() -> bindings found (0: none) [, message on an error] */
static int req_lookup(lua_State *L)
{
    int n = pl_preq_lookup(check_req(L, 1)->r);
    if (n >= 0) {
        lua_pushinteger(L, n);
        return 1;
    }
    lua_pushinteger(L, 0);
    lua_pushfstring(L, "lookup: %s", pl_err_str(n));
    return 2;
}

/* req:save() -> true (answered) | false, message */
static int req_save(lua_State *L)
{
    pl_preq *r = check_req(L, 1)->r;
    if (pl_preq_msg(r)->method_id != PL_METHOD_REGISTER) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "save: not a REGISTER");
        return 2;
    }
    return push_result(L, pl_preq_save(r), "save");
}

/* req:log(level, ...) */
static int req_log(lua_State *L)
{
    script_call *c = check_req(L, 1);
    pl_proxy_log_level level = pl__script_check_level(L, 2);
    luaL_checkany(L, 3);
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 3; i <= n; i++) {
        if (i > 3)
            luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    pl__script_log(c->s, level, pl_preq_msg(c->r)->call_id, lua_tostring(L, -1));
    return 0;
}

void pl__script_req_open(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"header", req_header},
        {"headers", req_headers},
        {"add_header", req_add_header},
        {"set_header", req_set_header},
        {"remove_header", req_remove_header},
        {"set_ruri", req_set_ruri},
        {"in_dialog", req_in_dialog},
        {"loose_route", req_loose_route},
        {"for_me", req_for_me},
        {"reply", req_reply},
        {"record_route", req_record_route},
        {"add_target", req_add_target},
        {"forward", req_forward},
        {"lookup", req_lookup},
        {"save", req_save},
        {"log", req_log},
        {NULL, NULL},
    };
    luaL_newmetatable(L, SCRIPT_REQ_MT);
    luaL_newlib(L, methods);
    for (int f = F_METHOD; f <= F_BODY; f++) {
        lua_pushinteger(L, f);
        lua_setfield(L, -2, FIELD_NAMES[f]);
    }
    lua_pushcclosure(L, req_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, req_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, req_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, SCRIPT_REQ_MT);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}
