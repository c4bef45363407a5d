/*
 * dialog.c - the script's dialog module: dialog tracking (parley/dialog.h)
 * as the global table `dialog` and dialog objects.
 *
 * A dialog object is a userdata that holds the dialog's 64-bit id, not
 * its pointer: every method looks the id up in the worker's table first.
 * A dialog lives on after the hook that made the object (a script may
 * keep it in a global), and is freed by the dialog core when it ends, so
 * a pointer could dangle; an id cannot. A method on a dialog that is gone
 * raises "dialog <id> no longer exists".
 *
 * Arguments a script can only get wrong by a bug (an unknown flag, a
 * profile never defined, a value of the wrong type) raise a Lua error,
 * which answers the request 500 (docs/script.md, ERRORS). Outcomes that
 * depend on the traffic (the dialog ended meanwhile, the dialog limit)
 * return false or nil and a message.
 *
 * Some C calls run their callback under a lock of the dialog core
 * (profile values) or may do so. A Lua call can raise (out of memory) and
 * longjmp out of the callback with the lock held, so those callbacks only
 * copy into a collector (plain malloc, owned by a userdata whose __gc
 * frees it), and the Lua values are made after the C call returns.
 */
#include <stdlib.h>
#include <string.h>

#include "script_int.h"

#define SCRIPT_COLLECT_MT "parley.dialog.collect"

/* The body of a dialog object. */
typedef struct script_dlg {
    uint64_t id;
    pl_dlg_table *t; /* the table it was found in (the script's) */
} script_dlg;

/* ---- the table, the request, the dialog */

static pl_dlg_table *need_table(lua_State *L, const char *fn)
{
    pl_script *s = pl__script_of(L);
    if (!s->dialogs)
        luaL_error(L, "%s: dialog tracking is off", fn);
    return s->dialogs;
}

static pl_dlg_module *need_module(lua_State *L, const char *fn)
{
    return pl_dlg_table_module(need_table(L, fn));
}

/* The request of the innermost hook call, or NULL (the file's top level). */
static pl_preq *current_req(lua_State *L)
{
    pl_script *s = pl__script_of(L);
    return s->call ? s->call->r : NULL;
}

static pl_preq *need_req(lua_State *L, const char *fn)
{
    pl_preq *r = current_req(L);
    if (!r)
        luaL_error(L, "%s: no request is being routed (call it from a hook)", fn);
    return r;
}

static void push_dlg(lua_State *L, pl_dlg_table *t, const pl_dlg *d)
{
    script_dlg *o = lua_newuserdatauv(L, sizeof(*o), 0);
    o->id = pl_dlg_id(d);
    o->t = t;
    luaL_setmetatable(L, SCRIPT_DIALOG_MT);
}

/* The dialog of the object at arg, or a Lua error when it is gone. */
static pl_dlg *check_dlg(lua_State *L, int arg)
{
    script_dlg *o = luaL_checkudata(L, arg, SCRIPT_DIALOG_MT);
    pl_dlg_table *t = need_table(L, "dialog");
    pl_dlg *d = o->t == t ? pl_dlg_lookup(t, o->id) : NULL;
    if (!d) {
        char id[17];
        pl_dlg_id_print(o->id, id);
        luaL_error(L, "dialog %s no longer exists (it ended and was freed)", id);
    }
    return d;
}

static void push_opt(lua_State *L, pl_str s)
{
    if (s.len)
        pl__script_push_str(L, s);
    else
        lua_pushnil(L);
}

/* true, or false and "<what>: <why>" for an error code. */
static int push_result(lua_State *L, int rc, const char *what)
{
    if (rc == PL_OK) {
        lua_pushboolean(L, 1);
        return 1;
    }
    const char *why;
    switch (rc) {
    case PL_ESTATE:
        why = "the dialog has ended";
        break;
    case PL_ENOTFOUND:
        why = "not found";
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

/* ---- the collector: copies made under the core's locks */

typedef struct collect_item {
    size_t name_off, name_len;
    pl_dlg_vtype type;
    size_t str_off, str_len; /* PL_DLG_V_STR */
    int64_t i;               /* PL_DLG_V_INT, or a count */
} collect_item;

typedef struct collect {
    collect_item *items;
    size_t n, cap;
    char *pool;
    size_t used, pool_cap;
    bool failed; /* out of memory on the way */
} collect;

static int collect_gc(lua_State *L)
{
    collect *c = luaL_checkudata(L, 1, SCRIPT_COLLECT_MT);
    free(c->items);
    free(c->pool);
    memset(c, 0, sizeof(*c));
    return 0;
}

/* A new empty collector on the stack (freed by the garbage collector). */
static collect *collect_push(lua_State *L)
{
    collect *c = lua_newuserdatauv(L, sizeof(*c), 0);
    memset(c, 0, sizeof(*c));
    luaL_setmetatable(L, SCRIPT_COLLECT_MT);
    return c;
}

/* Copy s into the pool; its offset, or SIZE_MAX when out of memory. */
static size_t collect_str(collect *c, pl_str s)
{
    if (s.len > c->pool_cap - c->used) {
        size_t cap = c->pool_cap ? c->pool_cap : 256;
        while (cap - c->used < s.len)
            cap *= 2;
        char *p = realloc(c->pool, cap);
        if (!p)
            return SIZE_MAX;
        c->pool = p;
        c->pool_cap = cap;
    }
    size_t off = c->used;
    if (s.len)
        memcpy(c->pool + off, s.p, s.len);
    c->used += s.len;
    return off;
}

static void collect_add(collect *c, pl_str name, pl_dlg_vtype type, pl_str str, int64_t i)
{
    if (c->failed)
        return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        collect_item *items = realloc(c->items, cap * sizeof(*items));
        if (!items) {
            c->failed = true;
            return;
        }
        c->items = items;
        c->cap = cap;
    }
    collect_item *it = &c->items[c->n];
    it->name_off = collect_str(c, name);
    it->str_off = type == PL_DLG_V_STR ? collect_str(c, str) : 0;
    if (it->name_off == SIZE_MAX || it->str_off == SIZE_MAX) {
        c->failed = true;
        return;
    }
    it->name_len = name.len;
    it->type = type;
    it->str_len = type == PL_DLG_V_STR ? str.len : 0;
    it->i = i;
    c->n++;
}

/* A table name -> value (string, or integer) from the collector at index idx. */
static void collect_to_table(lua_State *L, int idx)
{
    collect *c = luaL_checkudata(L, idx, SCRIPT_COLLECT_MT);
    if (c->failed)
        luaL_error(L, "out of memory");
    lua_createtable(L, 0, c->n > 1000 ? 1000 : (int)c->n);
    for (size_t k = 0; k < c->n; k++) {
        const collect_item *it = &c->items[k];
        lua_pushlstring(L, c->pool + it->name_off, it->name_len);
        if (it->type == PL_DLG_V_STR)
            lua_pushlstring(L, c->pool + it->str_off, it->str_len);
        else
            lua_pushinteger(L, (lua_Integer)it->i);
        lua_rawset(L, -3);
    }
}

/* ---- flags */

static const struct {
    const char *name; /* as written in a string: "bye-on-timeout" */
    const char *key;  /* as a table key: bye_on_timeout */
    uint32_t bit;
} FLAGS[] = {
    {"bye-on-timeout", "bye_on_timeout", PL_DLG_F_BYE_ON_TIMEOUT},
    {"ping-caller", "ping_caller", PL_DLG_F_PING_CALLER},
    {"ping-callee", "ping_callee", PL_DLG_F_PING_CALLEE},
};
#define N_FLAGS (sizeof(FLAGS) / sizeof(FLAGS[0]))

static uint32_t flag_bit(lua_State *L, int arg, const char *p, size_t n)
{
    for (size_t i = 0; i < N_FLAGS; i++)
        if ((strlen(FLAGS[i].name) == n && memcmp(FLAGS[i].name, p, n) == 0) ||
            (strlen(FLAGS[i].key) == n && memcmp(FLAGS[i].key, p, n) == 0))
            return FLAGS[i].bit;
    lua_pushlstring(L, p, n);
    const char *name = lua_tostring(L, -1);
    luaL_argerror(
        L, arg,
        lua_pushfstring(L, "unknown flag '%s' (bye-on-timeout, ping-caller, ping-callee)", name));
    return 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* "bye-on-timeout, ping-caller": names separated by commas (spaces allowed). */
static uint32_t flags_from_string(lua_State *L, int arg, const char *s, size_t len)
{
    uint32_t flags = 0;
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && s[i] != ',')
            i++;
        size_t end = i;
        while (start < end && is_space(s[start]))
            start++;
        while (end > start && is_space(s[end - 1]))
            end--;
        if (end > start)
            flags |= flag_bit(L, arg, s + start, end - start);
        i++; /* past the comma */
    }
    return flags;
}

/*
 * Flags at arg: nil or absent (none), a string of names, or a table of
 * name = true entries and/or an array of names.
 */
static uint32_t check_flags(lua_State *L, int arg)
{
    if (lua_isnoneornil(L, arg))
        return 0;
    if (lua_type(L, arg) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, arg, &len);
        return flags_from_string(L, arg, s, len);
    }
    if (!lua_istable(L, arg))
        luaL_typeerror(L, arg, "string or table of flags");
    uint32_t flags = 0;
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        size_t len;
        if (lua_type(L, -2) == LUA_TSTRING) {
            const char *k = lua_tolstring(L, -2, &len);
            uint32_t bit = flag_bit(L, arg, k, len);
            if (lua_toboolean(L, -1))
                flags |= bit;
        } else if (lua_type(L, -2) == LUA_TNUMBER && lua_type(L, -1) == LUA_TSTRING) {
            const char *v = lua_tolstring(L, -1, &len);
            flags |= flag_bit(L, arg, v, len);
        } else {
            luaL_argerror(L, arg, "flags: name = true entries, or an array of names");
        }
        lua_pop(L, 1);
    }
    return flags;
}

/* ---- the module: dialogs of the request */

/* dialog.create([flags]) -> dialog | nil, message */
static int mod_create(lua_State *L)
{
    pl_dlg_table *t = need_table(L, "dialog.create");
    uint32_t flags = check_flags(L, 1);
    pl_preq *r = need_req(L, "dialog.create");
    pl_dlg *d = NULL;
    int rc = pl_dlg_create(t, r, flags, &d);
    if (rc == PL_OK && d) {
        push_dlg(L, t, d);
        return 1;
    }
    const char *why;
    switch (rc) {
    case PL_EINVAL:
        why = "not an initial INVITE (an INVITE without a To tag)";
        break;
    case PL_ELIMIT:
        why = "too many dialogs (the table's limit)";
        break;
    case PL_ENOMEM:
        why = "out of memory";
        break;
    default:
        why = pl_err_str(rc);
        break;
    }
    lua_pushnil(L);
    lua_pushfstring(L, "dialog.create: %s", why);
    return 2;
}

/* dialog.current() -> dialog | nil */
static int mod_current(lua_State *L)
{
    pl_dlg_table *t = need_table(L, "dialog.current");
    pl_preq *r = current_req(L);
    pl_dlg *d = r ? pl_dlg_current(t, r) : NULL;
    if (d)
        push_dlg(L, t, d);
    else
        lua_pushnil(L);
    return 1;
}

/* dialog.match([mode]) -> dialog | nil */
static int mod_match(lua_State *L)
{
    static const char *const NAMES[] = {"did", "fallback", "sip", NULL};
    static const pl_dlg_match_mode MODES[] = {PL_DLG_MATCH_DID_ONLY, PL_DLG_MATCH_DID_FALLBACK,
                                              PL_DLG_MATCH_SIP_ONLY};
    pl_dlg_table *t = need_table(L, "dialog.match");
    pl_dlg_match_mode mode = pl_dlg_module_config(pl_dlg_table_module(t))->match_mode;
    if (!lua_isnoneornil(L, 1))
        mode = MODES[luaL_checkoption(L, 1, NULL, NAMES)];
    pl_preq *r = need_req(L, "dialog.match");
    pl_dlg *d = NULL;
    if (pl_dlg_match(t, r, mode, &d) == PL_OK && d)
        push_dlg(L, t, d);
    else
        lua_pushnil(L);
    return 1;
}

/* dialog.lookup(id) -> dialog | nil (only this worker's dialogs) */
static uint64_t check_id(lua_State *L, int arg)
{
    if (lua_type(L, arg) == LUA_TUSERDATA)
        return ((script_dlg *)luaL_checkudata(L, arg, SCRIPT_DIALOG_MT))->id;
    pl_str s = pl__script_check_str(L, arg);
    uint64_t id;
    if (pl_dlg_id_parse(s, &id) != PL_OK)
        luaL_argerror(L, arg, "a dialog id is 16 hexadecimal digits");
    return id;
}

static int mod_lookup(lua_State *L)
{
    pl_dlg_table *t = need_table(L, "dialog.lookup");
    pl_dlg *d = pl_dlg_lookup(t, check_id(L, 1));
    if (d)
        push_dlg(L, t, d);
    else
        lua_pushnil(L);
    return 1;
}

/* dialog.direction() -> "downstream" | "upstream" | nil */
static int mod_direction(lua_State *L)
{
    pl_dlg_table *t = need_table(L, "dialog.direction");
    pl_preq *r = current_req(L);
    switch (r ? pl_dlg_direction(t, r) : PL_DLG_DIR_NONE) {
    case PL_DLG_DIR_DOWNSTREAM:
        lua_pushliteral(L, "downstream");
        break;
    case PL_DLG_DIR_UPSTREAM:
        lua_pushliteral(L, "upstream");
        break;
    default:
        lua_pushnil(L);
        break;
    }
    return 1;
}

/* ---- profiles */

static pl_dlg_profile *check_profile(lua_State *L, int arg, const char *fn)
{
    pl_dlg_module *m = need_module(L, fn);
    pl_str name = pl__script_check_str(L, arg);
    pl_dlg_profile *p = pl_dlg_profile_find(m, name);
    if (!p)
        luaL_error(L, "%s: no profile named '%s' (define it with dialog.define_profile)", fn,
                   name.p);
    return p;
}

/*
 * The value at arg for profile p: PL_STR_NULL when absent (any value, or
 * none for a profile without values). A profile with values needs one
 * when required; a profile without values takes none.
 */
static pl_str check_value(lua_State *L, int arg, const pl_dlg_profile *p, bool required,
                          const char *fn)
{
    pl_str name = pl_dlg_profile_name(p);
    if (lua_isnoneornil(L, arg)) {
        if (required && pl_dlg_profile_has_value(p))
            luaL_error(L, "%s: profile '%s' has values: give one", fn,
                       lua_pushlstring(L, name.p, name.len));
        return PL_STR_NULL;
    }
    if (!pl_dlg_profile_has_value(p))
        luaL_error(L, "%s: profile '%s' has no values", fn, lua_pushlstring(L, name.p, name.len));
    return pl__script_check_str(L, arg);
}

/* dialog.define_profile(name, has_value) */
static int mod_define_profile(lua_State *L)
{
    pl_dlg_module *m = need_module(L, "dialog.define_profile");
    const char *name = luaL_checkstring(L, 1);
    bool has_value = lua_toboolean(L, 2);
    int rc = pl_dlg_profile_define(m, name, has_value);
    if (rc == PL_OK)
        return 0;
    if (rc == PL_ENOMEM)
        return luaL_error(L, "dialog.define_profile: out of memory");
    pl_dlg_profile *p = pl_dlg_profile_find(m, pl_str_c(name));
    if (p && pl_dlg_profile_has_value(p) != has_value)
        return luaL_error(L, "dialog.define_profile: profile '%s' exists %s values", name,
                          has_value ? "without" : "with");
    return luaL_error(L,
                      "dialog.define_profile: bad profile name '%s' (letters, digits, '_' and "
                      "'-'; several separated by ';')",
                      name);
}

/* dialog.profile_size(name [, value]) -> integer */
static int mod_profile_size(lua_State *L)
{
    pl_dlg_profile *p = check_profile(L, 1, "dialog.profile_size");
    pl_str value = check_value(L, 2, p, false, "dialog.profile_size");
    lua_pushinteger(L, (lua_Integer)pl_dlg_profile_size(p, value));
    return 1;
}

/* dialog.profile_list(name [, value]) -> array of ids */
static int mod_profile_list(lua_State *L)
{
    pl_dlg_profile *p = check_profile(L, 1, "dialog.profile_list");
    pl_str value = check_value(L, 2, p, false, "dialog.profile_list");
    size_t cap = 64, n = 0;
    uint64_t *ids = NULL;
    /* Other workers change the profile meanwhile: grow and ask again, a few times. */
    for (int tries = 0; tries < 4; tries++) {
        lua_settop(L, 2);
        ids = lua_newuserdatauv(L, cap * sizeof(*ids), 0);
        n = pl_dlg_profile_list(p, value, ids, cap);
        if (n <= cap)
            break;
        cap = n + n / 4 + 16;
    }
    if (n > cap)
        n = cap;
    lua_createtable(L, n > 100000 ? 100000 : (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        char id[17];
        pl_dlg_id_print(ids[i], id);
        lua_pushstring(L, id);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static void add_profile_value(pl_str value, size_t count, void *arg)
{
    collect_add(arg, value, PL_DLG_V_INT, PL_STR_NULL, (int64_t)count);
}

/* dialog.profile_values(name) -> table value -> count */
static int mod_profile_values(lua_State *L)
{
    pl_dlg_profile *p = check_profile(L, 1, "dialog.profile_values");
    if (!pl_dlg_profile_has_value(p))
        return luaL_error(L, "dialog.profile_values: profile '%s' has no values",
                          lua_tostring(L, 1));
    collect *c = collect_push(L);
    pl_dlg_profile_values(p, add_profile_value, c);
    collect_to_table(L, -1);
    return 1;
}

/* d:set_profile(name [, value [, clear]]) -> true | false, message */
static int dlg_set_profile(lua_State *L)
{
    pl_dlg *d = check_dlg(L, 1);
    pl_dlg_profile *p = check_profile(L, 2, "set_profile");
    pl_str value = check_value(L, 3, p, true, "set_profile");
    bool clear = lua_toboolean(L, 4);
    return push_result(L, pl_dlg_profile_set(d, p, value, clear), "set_profile");
}

/* d:unset_profile(name [, value]) -> true | false, message */
static int dlg_unset_profile(lua_State *L)
{
    pl_dlg *d = check_dlg(L, 1);
    pl_dlg_profile *p = check_profile(L, 2, "unset_profile");
    pl_str value = check_value(L, 3, p, false, "unset_profile");
    int rc = pl_dlg_profile_unset(d, p, value);
    if (rc == PL_ENOTFOUND) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "unset_profile: the dialog is not in that profile");
        return 2;
    }
    return push_result(L, rc, "unset_profile");
}

/* d:is_in_profile(name [, value]) -> boolean */
static int dlg_is_in_profile(lua_State *L)
{
    pl_dlg *d = check_dlg(L, 1);
    pl_dlg_profile *p = check_profile(L, 2, "is_in_profile");
    pl_str value = check_value(L, 3, p, false, "is_in_profile");
    lua_pushboolean(L, pl_dlg_profile_is_in(d, p, value));
    return 1;
}

/* ---- values */

static pl_str check_value_name(lua_State *L, int arg)
{
    pl_str name = pl__script_check_str(L, arg);
    if (name.len == 0)
        luaL_argerror(L, arg, "empty value name");
    return name;
}

/* d:set_value(name, v): v a string or an integer */
static int dlg_set_value(lua_State *L)
{
    pl_dlg *d = check_dlg(L, 1);
    pl_str name = check_value_name(L, 2);
    int rc;
    int isint = 0;
    lua_Integer i = lua_type(L, 3) == LUA_TNUMBER ? lua_tointegerx(L, 3, &isint) : 0;
    if (isint) {
        rc = pl_dlg_value_set_int(d, name, (int64_t)i);
    } else if (lua_type(L, 3) == LUA_TSTRING) {
        rc = pl_dlg_value_set_str(d, name, pl__script_check_str(L, 3));
    } else {
        return luaL_typeerror(L, 3, "string or integer");
    }
    if (rc == PL_ENOMEM)
        return luaL_error(L, "set_value: out of memory");
    return push_result(L, rc, "set_value");
}

static void push_value(lua_State *L, const pl_dlg_value *v)
{
    if (v->type == PL_DLG_V_INT)
        lua_pushinteger(L, (lua_Integer)v->i);
    else
        pl__script_push_str(L, v->s);
}

/* d:value(name) -> string | integer | nil */
static int dlg_value(lua_State *L)
{
    pl_dlg *d = check_dlg(L, 1);
    pl_str name = check_value_name(L, 2);
    pl_dlg_value v;
    if (pl_dlg_value_get(d, name, &v) == PL_OK)
        push_value(L, &v);
    else
        lua_pushnil(L);
    return 1;
}

/* d:unset_value(name) -> true | false, message */
static int dlg_unset_value(lua_State *L)
{
    pl_dlg *d = check_dlg(L, 1);
    pl_str name = check_value_name(L, 2);
    int rc = pl_dlg_value_unset(d, name);
    if (rc == PL_ENOTFOUND) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "unset_value: no such value");
        return 2;
    }
    return push_result(L, rc, "unset_value");
}

static void add_value(pl_str name, const pl_dlg_value *v, void *arg)
{
    collect_add(arg, name, v->type, v->s, v->i);
}

/* d:values() -> table name -> value */
static int dlg_values(lua_State *L)
{
    pl_dlg *d = check_dlg(L, 1);
    collect *c = collect_push(L);
    pl_dlg_value_each(d, add_value, c);
    collect_to_table(L, -1);
    return 1;
}

/* ---- identity and state */

static int dlg_id(lua_State *L)
{
    char id[17];
    pl_dlg_id_print(pl_dlg_id(check_dlg(L, 1)), id);
    lua_pushstring(L, id);
    return 1;
}

static int dlg_state(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)pl_dlg_state_of(check_dlg(L, 1)));
    return 1;
}

static int dlg_state_name(lua_State *L)
{
    lua_pushstring(L, pl_dlg_state_name(pl_dlg_state_of(check_dlg(L, 1))));
    return 1;
}

static int dlg_call_id(lua_State *L)
{
    pl__script_push_str(L, pl_dlg_call_id(check_dlg(L, 1)));
    return 1;
}

static int dlg_from_tag(lua_State *L)
{
    push_opt(L, pl_dlg_caller_tag(check_dlg(L, 1)));
    return 1;
}

static int dlg_to_tag(lua_State *L)
{
    push_opt(L, pl_dlg_callee_tag(check_dlg(L, 1)));
    return 1;
}

static int dlg_from_uri(lua_State *L)
{
    pl__script_push_str(L, pl_dlg_from_uri(check_dlg(L, 1)));
    return 1;
}

static int dlg_to_uri(lua_State *L)
{
    pl__script_push_str(L, pl_dlg_to_uri(check_dlg(L, 1)));
    return 1;
}

static int dlg_end_reason(lua_State *L)
{
    push_opt(L, pl_dlg_end_reason(check_dlg(L, 1)));
    return 1;
}

/* d:flags() -> array of names */
static int dlg_flags(lua_State *L)
{
    uint32_t flags = pl_dlg_flags(check_dlg(L, 1));
    lua_createtable(L, (int)N_FLAGS, 0);
    lua_Integer n = 0;
    for (size_t i = 0; i < N_FLAGS; i++) {
        if (flags & FLAGS[i].bit) {
            lua_pushstring(L, FLAGS[i].name);
            lua_rawseti(L, -2, ++n);
        }
    }
    return 1;
}

static int dlg_set_flags(lua_State *L)
{
    pl_dlg *d = check_dlg(L, 1);
    pl_dlg_set_flags(d, check_flags(L, 2));
    return 0;
}

/* ---- timers */

static uint32_t check_seconds(lua_State *L, int arg)
{
    lua_Integer s = luaL_checkinteger(L, arg);
    luaL_argcheck(L, s >= 1 && s <= (lua_Integer)UINT32_MAX, arg, "seconds from 1 to 4294967295");
    return (uint32_t)s;
}

/* d:set_timeout(seconds) -> true | false, message */
static int dlg_set_timeout(lua_State *L)
{
    pl_dlg *d = check_dlg(L, 1);
    return push_result(L, pl_dlg_set_lifetime(d, check_seconds(L, 2)), "set_timeout");
}

static int dlg_timeout(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)pl_dlg_lifetime_left(check_dlg(L, 1)));
    return 1;
}

static int dlg_set_ping_interval(lua_State *L)
{
    pl_dlg *d = check_dlg(L, 1);
    return push_result(L, pl_dlg_set_ping_interval(d, check_seconds(L, 2)), "set_ping_interval");
}

/* ---- ending */

#define DEFAULT_REASON "Script Terminated"

/* A header field name: a token (RFC 3261 25.1) without the rarer characters. */
static bool is_token(const char *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("-.!%*_+`'~", c)))
            return false;
    }
    return true;
}

static bool has_ctl(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
            return true;
    return false;
}

static void check_field(lua_State *L, int arg, const char *name, size_t nlen, const char *value,
                        size_t vlen)
{
    if (!is_token(name, nlen) || has_ctl(value, vlen))
        luaL_argerror(L, arg, "a header needs a token name and a value without CR, LF or NUL");
}

static void add_field(lua_State *L, luaL_Buffer *b, int arg, const char *name, size_t nlen,
                      const char *value, size_t vlen)
{
    check_field(L, arg, name, nlen, value, vlen);
    luaL_addlstring(b, name, nlen);
    luaL_addstring(b, ": ");
    luaL_addlstring(b, value, vlen);
    luaL_addstring(b, "\r\n");
}

/* One "Name: value" line of a headers string (no line ending in it). */
static void add_line(lua_State *L, luaL_Buffer *b, int arg, const char *p, size_t n)
{
    const char *colon = memchr(p, ':', n);
    if (!colon)
        luaL_argerror(L, arg, "each header line is 'Name: value'");
    size_t nlen = (size_t)(colon - p);
    while (nlen && is_space(p[nlen - 1]))
        nlen--;
    const char *v = colon + 1;
    size_t vlen = n - (size_t)(v - p);
    while (vlen && is_space(*v)) {
        v++;
        vlen--;
    }
    add_field(L, b, arg, p, nlen, v, vlen);
}

/*
 * The extra headers of a BYE at arg, as CRLF-ended lines pushed on the
 * stack: a string of "Name: value" lines (LF or CRLF between them), or a
 * table name = value. PL_STR_NULL when absent.
 */
static pl_str check_bye_headers(lua_State *L, int arg)
{
    if (lua_isnoneornil(L, arg))
        return PL_STR_NULL;
    luaL_Buffer b;
    if (lua_type(L, arg) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, arg, &len);
        luaL_buffinit(L, &b);
        size_t i = 0;
        while (i < len) {
            const char *nl = memchr(s + i, '\n', len - i);
            size_t end = nl ? (size_t)(nl - s) : len;
            size_t n = end - i;
            if (n && s[i + n - 1] == '\r')
                n--;
            if (n)
                add_line(L, &b, arg, s + i, n);
            i = end + 1;
        }
    } else if (lua_istable(L, arg)) {
        /* The lines first (lua_next wants its key on top, a buffer may push a box). */
        lua_newtable(L);
        int lines = lua_gettop(L);
        lua_Integer n = 0;
        lua_pushnil(L);
        while (lua_next(L, arg)) {
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
                luaL_argerror(L, arg, "headers: name = value, both strings");
            size_t nlen, vlen;
            const char *name = lua_tolstring(L, -2, &nlen);
            const char *value = lua_tolstring(L, -1, &vlen);
            check_field(L, arg, name, nlen, value, vlen);
            lua_pushfstring(L, "%s: %s\r\n", name, value);
            lua_rawseti(L, lines, ++n);
            lua_pop(L, 1);
        }
        luaL_buffinit(L, &b);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, lines, i);
            luaL_addvalue(&b);
        }
    } else {
        luaL_typeerror(L, arg, "string or table of headers");
        return PL_STR_NULL;
    }
    luaL_pushresult(&b);
    size_t n;
    const char *p = lua_tolstring(L, -1, &n);
    return (pl_str){p, n};
}

static pl_str check_reason(lua_State *L, int arg)
{
    if (lua_isnoneornil(L, arg))
        return pl_str_c(DEFAULT_REASON);
    pl_str r = pl__script_check_str(L, arg);
    if (r.len == 0 || has_ctl(r.p, r.len))
        luaL_argerror(L, arg, "a reason is a non-empty string without CR, LF or NUL");
    return r;
}

/* d:terminate([reason [, headers]]) -> true | false, message */
static int dlg_terminate(lua_State *L)
{
    pl_dlg *d = check_dlg(L, 1);
    pl_str reason = check_reason(L, 2);
    pl_str hdrs = check_bye_headers(L, 3);
    return push_result(L, pl_dlg_terminate(d, reason, hdrs), "terminate");
}

/* dialog.terminate(id [, reason [, headers]]) -> true (queued) | false, message */
static int mod_terminate(lua_State *L)
{
    pl_dlg_module *m = need_module(L, "dialog.terminate");
    uint64_t id = check_id(L, 1);
    pl_str reason = check_reason(L, 2);
    pl_str hdrs = check_bye_headers(L, 3);
    int rc = pl_dlg_module_terminate(m, id, reason, hdrs);
    if (rc == PL_ENOTFOUND) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "dialog.terminate: no such dialog");
        return 2;
    }
    return push_result(L, rc, "dialog.terminate");
}

/* ---- sequential requests */

static const char *validate_name(int rc)
{
    switch (rc) {
    case PL_DLG_VALID:
        return "ok";
    case PL_DLG_BAD_CSEQ:
        return "bad cseq";
    case PL_DLG_BAD_TARGET:
        return "bad target";
    case PL_DLG_BAD_ROUTE:
        return "bad route";
    default:
        return "other";
    }
}

/* d:validate() -> code, name (of the request being routed) */
static int dlg_validate(lua_State *L)
{
    pl_dlg *d = check_dlg(L, 1);
    int rc = pl_dlg_validate(d, need_req(L, "validate"));
    if (rc != PL_DLG_VALID && rc != PL_DLG_BAD_CSEQ && rc != PL_DLG_BAD_TARGET &&
        rc != PL_DLG_BAD_ROUTE)
        rc = PL_DLG_BAD_OTHER;
    lua_pushinteger(L, rc);
    lua_pushstring(L, validate_name(rc));
    return 2;
}

/* d:fix_route() -> true | false, message */
static int dlg_fix_route(lua_State *L)
{
    pl_dlg *d = check_dlg(L, 1);
    return push_result(L, pl_dlg_fix_route(d, need_req(L, "fix_route")), "fix_route");
}

/* ---- statistics */

static void set_int(lua_State *L, const char *name, uint64_t v)
{
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, name);
}

static int mod_stats(lua_State *L)
{
    pl_dlg_stats st;
    pl_dlg_get_stats(need_module(L, "dialog.stats"), &st);
    lua_createtable(L, 0, 7);
    set_int(L, "active", st.active);
    set_int(L, "early", st.early);
    set_int(L, "processed", st.processed);
    set_int(L, "expired", st.expired);
    set_int(L, "failed", st.failed);
    set_int(L, "terminated", st.terminated);
    set_int(L, "live", st.live);
    return 1;
}

/* ---- the metatable */

static int dlg_tostring(lua_State *L)
{
    script_dlg *o = luaL_checkudata(L, 1, SCRIPT_DIALOG_MT);
    pl_script *s = pl__script_of(L);
    char id[17];
    pl_dlg_id_print(o->id, id);
    pl_dlg *d = s->dialogs && o->t == s->dialogs ? pl_dlg_lookup(s->dialogs, o->id) : NULL;
    if (d)
        lua_pushfstring(L, "dialog %s (%s)", id, pl_dlg_state_name(pl_dlg_state_of(d)));
    else
        lua_pushfstring(L, "dialog %s (gone)", id);
    return 1;
}

static int dlg_eq(lua_State *L)
{
    script_dlg *a = luaL_checkudata(L, 1, SCRIPT_DIALOG_MT);
    script_dlg *b = luaL_checkudata(L, 2, SCRIPT_DIALOG_MT);
    lua_pushboolean(L, a->id == b->id && a->t == b->t);
    return 1;
}

void pl__script_dialog_open(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"id", dlg_id},
        {"state", dlg_state},
        {"state_name", dlg_state_name},
        {"call_id", dlg_call_id},
        {"from_tag", dlg_from_tag},
        {"to_tag", dlg_to_tag},
        {"from_uri", dlg_from_uri},
        {"to_uri", dlg_to_uri},
        {"set_profile", dlg_set_profile},
        {"unset_profile", dlg_unset_profile},
        {"is_in_profile", dlg_is_in_profile},
        {"set_value", dlg_set_value},
        {"value", dlg_value},
        {"unset_value", dlg_unset_value},
        {"values", dlg_values},
        {"terminate", dlg_terminate},
        {"flags", dlg_flags},
        {"set_flags", dlg_set_flags},
        {"set_timeout", dlg_set_timeout},
        {"timeout", dlg_timeout},
        {"set_ping_interval", dlg_set_ping_interval},
        {"end_reason", dlg_end_reason},
        {"validate", dlg_validate},
        {"fix_route", dlg_fix_route},
        {NULL, NULL},
    };
    static const luaL_Reg module[] = {
        {"create", mod_create},
        {"current", mod_current},
        {"match", mod_match},
        {"lookup", mod_lookup},
        {"direction", mod_direction},
        {"define_profile", mod_define_profile},
        {"profile_size", mod_profile_size},
        {"profile_list", mod_profile_list},
        {"profile_values", mod_profile_values},
        {"terminate", mod_terminate},
        {"stats", mod_stats},
        {NULL, NULL},
    };
    luaL_newmetatable(L, SCRIPT_DIALOG_MT);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, dlg_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, dlg_eq);
    lua_setfield(L, -2, "__eq");
    lua_pushliteral(L, SCRIPT_DIALOG_MT);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);

    luaL_newmetatable(L, SCRIPT_COLLECT_MT);
    lua_pushcfunction(L, collect_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    luaL_newlib(L, module);
    lua_pushboolean(L, pl__script_of(L)->dialogs != NULL);
    lua_setfield(L, -2, "enabled");
    lua_setglobal(L, "dialog");
}
