/*
 * headers.c - header reads and edits for the req and reply objects.
 *
 * Names match in any case, long or compact ("v" is Via). A value is one
 * header field's value as written: a field that holds a comma-separated
 * list comes back whole, and headers() gives one entry per field.
 *
 * Edits go through the message layer, which refuses a value with CR, LF
 * or NUL and a name that is not a token. The headers that make a message
 * what it is to the transaction layer and to dialogs (Via, Call-ID, CSeq,
 * From, To) and Content-Length, which follows the body, are the proxy's:
 * a script cannot add, replace or remove them.
 */
#include <string.h>

#include "script_int.h"

void pl__script_push_str(lua_State *L, pl_str s)
{
    lua_pushlstring(L, s.p, s.len);
}

pl_str pl__script_check_str(lua_State *L, int arg)
{
    size_t n;
    const char *p = luaL_checklstring(L, arg, &n);
    return (pl_str){p, n};
}

static pl_str check_name(lua_State *L, int arg)
{
    pl_str name = pl__script_check_str(L, arg);
    if (name.len == 0)
        luaL_argerror(L, arg, "empty header name");
    return name;
}

/* A name an edit may touch; raises a Lua error otherwise. */
static pl_str check_editable(lua_State *L, int arg)
{
    pl_str name = check_name(L, arg);
    switch (pl_hdr_id_from_name(name)) {
    case PL_HDR_VIA:
    case PL_HDR_CALL_ID:
    case PL_HDR_CSEQ:
    case PL_HDR_FROM:
    case PL_HDR_TO:
    case PL_HDR_CONTENT_LENGTH:
        luaL_error(L, "the %s header belongs to the proxy and cannot be edited", name.p);
        break;
    default:
        break;
    }
    return name;
}

int pl__script_hdr_get(lua_State *L, const pl_msg *msg, int name_arg)
{
    pl_str name = check_name(L, name_arg);
    int32_t i = pl_msg_hdr_find_name(msg, name, 0);
    if (i < 0)
        lua_pushnil(L);
    else
        pl__script_push_str(L, msg->hdrs[i].value);
    return 1;
}

int pl__script_hdr_get_all(lua_State *L, const pl_msg *msg, int name_arg)
{
    pl_str name = check_name(L, name_arg);
    lua_newtable(L);
    lua_Integer n = 0;
    for (int32_t i = pl_msg_hdr_find_name(msg, name, 0); i >= 0;
         i = pl_msg_hdr_find_name(msg, name, (uint32_t)i + 1)) {
        pl__script_push_str(L, msg->hdrs[i].value);
        lua_rawseti(L, -2, ++n);
    }
    return 1;
}

static void edit_failed(lua_State *L, const char *what, pl_str name, int rc)
{
    if (rc == PL_ENOMEM)
        luaL_error(L, "%s %s: out of memory", what, name.p);
    luaL_error(L, "%s %s: refused (%s)", what, name.p, pl_err_str(rc));
}

int pl__script_hdr_add(lua_State *L, pl_msg *msg, int name_arg)
{
    pl_str name = check_editable(L, name_arg);
    pl_str value = pl__script_check_str(L, name_arg + 1);
    int rc = pl_msg_hdr_append(msg, name, value);
    if (rc != PL_OK)
        edit_failed(L, "add_header", name, rc);
    return 0;
}

/* Remove every field named name at or after from; returns how many, or a negative error. */
static int remove_from(pl_msg *msg, pl_str name, uint32_t from)
{
    int n = 0;
    for (int32_t i = pl_msg_hdr_find_name(msg, name, from); i >= 0;
         i = pl_msg_hdr_find_name(msg, name, (uint32_t)i)) {
        int rc = pl_msg_hdr_remove(msg, (uint32_t)i);
        if (rc != PL_OK)
            return rc;
        n++;
    }
    return n;
}

int pl__script_hdr_set(lua_State *L, pl_msg *msg, int name_arg)
{
    pl_str name = check_editable(L, name_arg);
    pl_str value = pl__script_check_str(L, name_arg + 1);
    int32_t first = pl_msg_hdr_find_name(msg, name, 0);
    int rc;
    if (first < 0) {
        rc = pl_msg_hdr_append(msg, name, value);
    } else {
        /* The new value first: a refused value leaves the message as it was. */
        rc = pl_msg_hdr_replace(msg, (uint32_t)first, value);
        if (rc == PL_OK) {
            int n = remove_from(msg, name, (uint32_t)first + 1);
            rc = n < 0 ? n : PL_OK;
        }
    }
    if (rc != PL_OK)
        edit_failed(L, "set_header", name, rc);
    return 0;
}

int pl__script_hdr_remove(lua_State *L, pl_msg *msg, int name_arg)
{
    pl_str name = check_editable(L, name_arg);
    int n = remove_from(msg, name, 0);
    if (n < 0)
        edit_failed(L, "remove_header", name, n);
    lua_pushinteger(L, n);
    return 1;
}
