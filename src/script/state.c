/*
 * state.c - the Lua state a script runs in, and what it may reach.
 *
 * Every state gets its own allocator with a byte budget: an allocation
 * that would pass it fails, and Lua turns that into a "not enough memory"
 * error in the script, never into a failed malloc in the proxy. An
 * instruction-count hook stops a script that runs too long (an endless
 * loop) with an error; once the limit is hit, the hook fires on every
 * instruction, so a script that catches the error with pcall cannot go
 * on looping.
 *
 * Only libraries that cannot reach outside the state are opened: base
 * (without dofile and loadfile, and with a load that takes source text
 * only: binary chunks are not verified by Lua and can crash it), string,
 * table, math, utf8, and os.time, os.clock and os.date. print and warn
 * write to the proxy's log. The global parley holds log and version; the
 * global config holds the host's settings (pl_script_config.vars), read
 * only; the global dialog is the dialog module (dialog.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "script_int.h"

#ifndef PARLEY_VERSION
#define PARLEY_VERSION "0.1.0"
#endif

pl_script *pl__script_of(lua_State *L)
{
    return *(pl_script **)lua_getextraspace(L);
}

/* ---- memory */

/*
 * lua_Alloc: osize is the block's size when ptr is set (a type tag
 * otherwise). Growth past the cap fails; shrinking never fails (Lua
 * relies on that), so a realloc that cannot shrink keeps the old block.
 */
static void *script_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    script_mem *m = ud;
    if (!ptr)
        osize = 0;
    if (nsize == 0) {
        free(ptr);
        m->used -= osize;
        return NULL;
    }
    if (nsize > osize && nsize - osize > m->cap - m->used)
        return NULL;
    void *p = realloc(ptr, nsize);
    if (!p) {
        if (nsize > osize)
            return NULL;
        p = ptr;
    }
    m->used = m->used - osize + nsize;
    return p;
}

/* ---- the instruction limit */

static void count_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    pl_script *s = pl__script_of(L);
    if (!s->stopping) {
        s->stopping = true;
        lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    }
    luaL_error(L, "instruction limit exceeded (%d instructions)", s->max_instructions);
}

void pl__script_limit_arm(pl_script *s)
{
    s->stopping = false;
    lua_sethook(s->L, count_hook, LUA_MASKCOUNT, s->max_instructions);
}

/*
 * The message handler: the error message with a traceback. An error value
 * that is not a string is not converted with its __tostring (script code
 * that could loop or fail again inside the handler).
 */
int pl__script_msgh(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* ---- logging */

static const char *const LEVEL_NAMES[] = {"error", "warn", "info", "debug", NULL};

pl_proxy_log_level pl__script_check_level(lua_State *L, int arg)
{
    return (pl_proxy_log_level)(PL_PROXY_LOG_ERROR + luaL_checkoption(L, arg, NULL, LEVEL_NAMES));
}

void pl__script_log(pl_script *s, pl_proxy_log_level level, pl_str call_id, const char *text)
{
    if (s->proxy) {
        pl_proxy_log(s->proxy, level, call_id, "%s", text);
        return;
    }
    /* A scratch state (parleyd --check): nothing to log through. */
    int i = (int)level - (int)PL_PROXY_LOG_ERROR;
    fprintf(stderr, "%s: %s\n", i >= 0 && i < 4 ? LEVEL_NAMES[i] : "log", text);
}

static pl_str current_call_id(pl_script *s)
{
    if (!s->call || !s->call->r)
        return PL_STR_NULL;
    return pl_preq_msg(s->call->r)->call_id;
}

/* Concatenate the arguments from first on, separated by tabs, as print does. */
static const char *join_args(lua_State *L, int first)
{
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = first; i <= n; i++) {
        if (i > first)
            luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

/* parley.log(level, ...) */
static int lib_log(lua_State *L)
{
    pl_script *s = pl__script_of(L);
    pl_proxy_log_level level = pl__script_check_level(L, 1);
    luaL_checkany(L, 2);
    pl__script_log(s, level, PL_STR_NULL, join_args(L, 2));
    return 0;
}

/* print(...): an info line, with the Call-ID of the request being routed. */
static int lib_print(lua_State *L)
{
    pl_script *s = pl__script_of(L);
    pl__script_log(s, PL_PROXY_LOG_INFO, current_call_id(s), join_args(L, 1));
    return 0;
}

/* lua_WarnFunction: pieces are gathered until the last, then logged. */
static void script_warn(void *ud, const char *msg, int tocont)
{
    pl_script *s = ud;
    size_t n = strlen(msg);
    /* "@on", "@off" and other control messages are not text. */
    if (s->warn_len == 0 && !tocont && msg[0] == '@')
        return;
    if (n > sizeof(s->warn) - 1 - s->warn_len)
        n = sizeof(s->warn) - 1 - s->warn_len;
    memcpy(s->warn + s->warn_len, msg, n);
    s->warn_len += n;
    if (tocont)
        return;
    s->warn[s->warn_len] = '\0';
    s->warn_len = 0;
    pl__script_log(s, PL_PROXY_LOG_WARN, current_call_id(s), s->warn);
}

/* ---- the libraries */

/* load(chunk [, chunkname [, mode [, env]]]) for source text only. */
static int lib_load(lua_State *L)
{
    size_t len;
    const char *chunk = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, "=(load)");
    int env = lua_isnone(L, 4) ? 0 : 4;
    if (luaL_loadbufferx(L, chunk, len, name, "t") != LUA_OK) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    if (env) {
        lua_pushvalue(L, env);
        if (!lua_setupvalue(L, -2, 1))
            lua_pop(L, 1);
    }
    return 1;
}

static void open_lib(lua_State *L, const char *name, lua_CFunction open)
{
    luaL_requiref(L, name, open, 1);
    lua_pop(L, 1);
}

/* os with only the clock and the calendar. */
static void open_os(lua_State *L)
{
    static const char *const keep[] = {"time", "clock", "date", "difftime"};
    lua_pushcfunction(L, luaopen_os);
    lua_call(L, 0, 1);
    lua_createtable(L, 0, 4);
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        lua_getfield(L, -2, keep[i]);
        lua_setfield(L, -2, keep[i]);
    }
    lua_setglobal(L, "os");
    lua_pop(L, 1);
}

static void open_parley(lua_State *L)
{
    static const luaL_Reg fns[] = {{"log", lib_log}, {NULL, NULL}};
    luaL_newlib(L, fns);
    lua_pushliteral(L, PARLEY_VERSION);
    lua_setfield(L, -2, "version");
    lua_setglobal(L, "parley");
}

/* ---- config: the host's settings, read-only */

/* A decimal integer (optional sign, digits) that fits in a lua_Integer. */
static bool parse_integer(const char *v, lua_Integer *out)
{
    const char *p = v;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    if (!*p)
        return false;
    /* Accumulate negatively: the most negative value has no positive twin. */
    lua_Integer n = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        lua_Integer d = *p - '0';
        if (n < (LUA_MININTEGER + d) / 10)
            return false;
        n = n * 10 - d;
    }
    if (!neg) {
        if (n == LUA_MININTEGER)
            return false;
        n = -n;
    }
    *out = n;
    return true;
}

static int config_newindex(lua_State *L)
{
    return luaL_error(L, "config is read-only (its values come from the host's configuration)");
}

/* next() over the settings (upvalue 1), for pairs(config). */
static int config_next(lua_State *L)
{
    lua_settop(L, 2);
    if (lua_next(L, lua_upvalueindex(1)))
        return 2;
    lua_pushnil(L);
    return 1;
}

static int config_pairs(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, config_next, 1);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

/*
 * config is an empty table whose metatable reads from the settings and
 * refuses assignments; __pairs walks the settings.
 */
static void open_config(lua_State *L, const char *const *vars)
{
    lua_newtable(L); /* the settings */
    int data = lua_gettop(L);
    for (size_t i = 0; vars && vars[i]; i++) {
        const char *eq = strchr(vars[i], '=');
        if (!eq || eq == vars[i])
            continue;
        lua_pushlstring(L, vars[i], (size_t)(eq - vars[i]));
        lua_Integer n;
        if (parse_integer(eq + 1, &n))
            lua_pushinteger(L, n);
        else
            lua_pushstring(L, eq + 1);
        lua_rawset(L, data);
    }
    lua_newtable(L); /* config itself, always empty */
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, data);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, config_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, data);
    lua_pushcclosure(L, config_pairs, 1);
    lua_setfield(L, -2, "__pairs");
    lua_pushliteral(L, "config");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_setglobal(L, "config");
    lua_pop(L, 1);
}

/* Run inside lua_pcall: an allocation failure here is an error, not a panic. */
static int open_all(lua_State *L)
{
    open_lib(L, LUA_GNAME, luaopen_base);
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    open_lib(L, LUA_UTF8LIBNAME, luaopen_utf8);
    open_os(L);

    lua_pushnil(L);
    lua_setglobal(L, "dofile");
    lua_pushnil(L);
    lua_setglobal(L, "loadfile");
    lua_pushcfunction(L, lib_load);
    lua_setglobal(L, "load");
    lua_pushcfunction(L, lib_print);
    lua_setglobal(L, "print");

    open_parley(L);
    open_config(L, pl__script_of(L)->vars);
    pl__script_dialog_open(L);
    pl__script_req_open(L);
    pl__script_reply_open(L);
    return 0;
}

lua_State *pl__script_state_new(pl_script *s)
{
    lua_State *L = lua_newstate(script_alloc, &s->mem);
    if (!L)
        return NULL;
    *(pl_script **)lua_getextraspace(L) = s;
    lua_setwarnf(L, script_warn, s);
    lua_pushcfunction(L, open_all);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
        lua_close(L);
        return NULL;
    }
    return L;
}
