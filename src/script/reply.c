/*
 * reply.c - the reply object: a response from a branch, as on_reply and
 * on_failure see it.
 *
 * In on_reply it is the response as received (less the proxy's own Via),
 * before the proxy acts on it, and header edits change what goes
 * upstream. In on_failure it is the best final response of the branches
 * (RFC 3261 16.7 step 6), which the proxy sends upstream unless the script
 * replies or forwards again: read-only.
 */
#include "script_int.h"

enum reply_field {
    F_STATUS = 1,
    F_REASON,
    F_BRANCH,
    F_CALL_ID,
    F_BODY,
};

static const char *const FIELD_NAMES[] = {
    [F_STATUS] = "status",   [F_REASON] = "reason", [F_BRANCH] = "branch",
    [F_CALL_ID] = "call_id", [F_BODY] = "body",
};

static script_call *check_reply(lua_State *L, int arg)
{
    script_obj *o = luaL_checkudata(L, arg, SCRIPT_REPLY_MT);
    return pl__script_obj_call(L, o, "reply");
}

static const pl_msg *reply_msg(lua_State *L, int arg)
{
    script_call *c = check_reply(L, arg);
    return c->resp ? c->resp : c->best;
}

static pl_msg *reply_msg_edit(lua_State *L, int arg)
{
    script_call *c = check_reply(L, arg);
    if (!c->resp)
        luaL_error(L, "the reply is read-only in %s", c->hook);
    return c->resp;
}

script_obj *pl__script_reply_push(lua_State *L, script_call *call)
{
    script_obj *o = lua_newuserdatauv(L, sizeof(*o), 0);
    o->call = call;
    o->gen = call->gen;
    luaL_setmetatable(L, SCRIPT_REPLY_MT);
    return o;
}

static int push_field(lua_State *L, script_call *c, enum reply_field f)
{
    const pl_msg *m = c->resp ? c->resp : c->best;
    switch (f) {
    case F_STATUS:
        lua_pushinteger(L, m->status);
        break;
    case F_REASON:
        pl__script_push_str(L, m->reason);
        break;
    case F_BRANCH:
        /* Lua counts from 1; the best response of on_failure has no one branch. */
        if (c->resp)
            lua_pushinteger(L, (lua_Integer)c->branch + 1);
        else
            lua_pushnil(L);
        break;
    case F_CALL_ID:
        pl__script_push_str(L, m->call_id);
        break;
    case F_BODY:
        pl__script_push_str(L, m->body);
        break;
    }
    return 1;
}

static int reply_index(lua_State *L)
{
    script_call *c = check_reply(L, 1);
    lua_pushvalue(L, 2);
    int t = lua_rawget(L, lua_upvalueindex(1));
    if (t == LUA_TFUNCTION)
        return 1;
    if (t == LUA_TNUMBER)
        return push_field(L, c, (enum reply_field)lua_tointeger(L, -1));
    lua_pushnil(L);
    return 1;
}

static int reply_newindex(lua_State *L)
{
    check_reply(L, 1);
    return luaL_error(L, "reply fields are read-only");
}

static int reply_tostring(lua_State *L)
{
    script_obj *o = luaL_checkudata(L, 1, SCRIPT_REPLY_MT);
    pl_script *s = pl__script_of(L);
    for (script_call *c = s->call; c; c = c->outer) {
        if (c == o->call && c->gen == o->gen) {
            const pl_msg *m = c->resp ? c->resp : c->best;
            lua_pushfstring(L, "reply %d %s", (int)m->status,
                            lua_pushlstring(L, m->reason.p, m->reason.len));
            return 1;
        }
    }
    lua_pushliteral(L, "reply (no longer valid)");
    return 1;
}

static int reply_header(lua_State *L)
{
    return pl__script_hdr_get(L, reply_msg(L, 1), 2);
}

static int reply_headers(lua_State *L)
{
    return pl__script_hdr_get_all(L, reply_msg(L, 1), 2);
}

static int reply_add_header(lua_State *L)
{
    return pl__script_hdr_add(L, reply_msg_edit(L, 1), 2);
}

static int reply_set_header(lua_State *L)
{
    return pl__script_hdr_set(L, reply_msg_edit(L, 1), 2);
}

static int reply_remove_header(lua_State *L)
{
    return pl__script_hdr_remove(L, reply_msg_edit(L, 1), 2);
}

void pl__script_reply_open(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"header", reply_header},
        {"headers", reply_headers},
        {"add_header", reply_add_header},
        {"set_header", reply_set_header},
        {"remove_header", reply_remove_header},
        {NULL, NULL},
    };
    luaL_newmetatable(L, SCRIPT_REPLY_MT);
    luaL_newlib(L, methods);
    for (int f = F_STATUS; f <= F_BODY; f++) {
        lua_pushinteger(L, f);
        lua_setfield(L, -2, FIELD_NAMES[f]);
    }
    lua_pushcclosure(L, reply_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, reply_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, reply_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, SCRIPT_REPLY_MT);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}
