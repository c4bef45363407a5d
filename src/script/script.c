/*
 * script.c - a routing script: loading it, checking it, and running its
 * hooks as the proxy's router.
 *
 * Every entry into Lua goes through lua_pcall, with nothing before it that
 * can raise (pushing C functions and light userdata allocates nothing):
 * the objects a hook receives are made inside the protected call. So an
 * error, an allocation over the state's budget or the instruction limit
 * ends in a return code here, never in Lua's panic handler. The message
 * handler adds the traceback, which is logged with the Call-ID.
 *
 * What happens to the request after a hook (docs/script.md):
 * - on_request: when it neither forwarded the request nor answered it
 *   with a final response, the script failed (500 "Script Error", logged
 *   with the traceback) or forgot (500 "Not Routed", logged as a warning);
 *   an ACK has nothing to answer.
 * - on_failure: an error answers 500 unless the script already answered or
 *   forwarded again; a hook that returns quietly lets the best response go
 *   upstream, as the proxy does without a router.
 * - on_reply: an error is logged and the response goes on as it stands.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script_int.h"

/* pl_error.reason must outlive the call: one buffer per thread. */
static _Thread_local char error_text[2048];

static void set_error(pl_error *err, int code, const char *text)
{
    snprintf(error_text, sizeof(error_text), "%s", text ? text : "unknown error");
    if (err) {
        err->code = code;
        err->offset = 0;
        err->reason = error_text;
    }
}

/* ---- loading */

typedef struct load_args {
    const char *path;
    bool has_on_reply;
    bool has_on_failure;
} load_args;

static bool global_is_function(lua_State *L, const char *name)
{
    bool yes = lua_getglobal(L, name) == LUA_TFUNCTION;
    lua_pop(L, 1);
    return yes;
}

/*
 * Protected: compile the file and run its top level. Returns nothing when
 * the script is good, or a message (a failed compile, no on_request); an
 * error in the top level raises and reaches the message handler.
 */
static int load_protected(lua_State *L)
{
    load_args *a = lua_touserdata(L, 1);
    if (luaL_loadfilex(L, a->path, "t") != LUA_OK)
        return 1; /* the message: "path:line: ..." or "cannot open path" */
    lua_call(L, 0, 0);
    if (!global_is_function(L, "on_request")) {
        lua_pushfstring(L, "%s: no on_request function defined", a->path);
        return 1;
    }
    a->has_on_reply = global_is_function(L, "on_reply");
    a->has_on_failure = global_is_function(L, "on_failure");
    return 0;
}

static int load_script(pl_script *s, load_args *a, pl_error *err)
{
    lua_State *L = s->L;
    int top = lua_gettop(L);
    lua_pushcfunction(L, pl__script_msgh);
    lua_pushcfunction(L, load_protected);
    lua_pushlightuserdata(L, a);
    pl__script_limit_arm(s);
    int rc = lua_pcall(L, 1, 1, top + 1);
    int code = PL_OK;
    if (rc != LUA_OK) {
        code = rc == LUA_ERRMEM ? PL_ENOMEM : PL_EPARSE;
        set_error(err, code, lua_tostring(L, -1));
    } else if (!lua_isnil(L, -1)) {
        code = PL_EPARSE;
        set_error(err, code, lua_tostring(L, -1));
    }
    lua_settop(L, top);
    return code;
}

static pl_script *script_open(pl_proxy *proxy, const char *path, const pl_script_config *cfg,
                              load_args *a, pl_error *err)
{
    const pl_script_limits *limits = cfg ? &cfg->limits : NULL;
    if (!path) {
        set_error(err, PL_EINVAL, "no script path");
        return NULL;
    }
    pl_script *s = calloc(1, sizeof(*s));
    char *copy = strdup(path);
    if (!s || !copy) {
        free(s);
        free(copy);
        set_error(err, PL_ENOMEM, "out of memory");
        return NULL;
    }
    s->proxy = proxy;
    s->dialogs = proxy && cfg ? cfg->dialogs : NULL;
    s->vars = cfg ? cfg->vars : NULL;
    s->path = copy;
    s->mem.cap = limits && limits->max_memory ? limits->max_memory : PL_SCRIPT_DEFAULT_MAX_MEMORY;
    uint64_t max = limits && limits->max_instructions ? limits->max_instructions
                                                      : PL_SCRIPT_DEFAULT_MAX_INSTRUCTIONS;
    s->max_instructions = max > INT_MAX ? INT_MAX : (int)max;
    s->L = pl__script_state_new(s);
    s->vars = NULL; /* copied into the state: the caller's array may go */
    if (!s->L) {
        set_error(err, PL_ENOMEM, "cannot create a Lua state (out of memory)");
        pl_script_free(s);
        return NULL;
    }
    a->path = path;
    if (load_script(s, a, err) != PL_OK) {
        pl_script_free(s);
        return NULL;
    }
    return s;
}

pl_script *pl_script_new_config(pl_proxy *proxy, const char *path, const pl_script_config *cfg,
                                pl_error *err)
{
    load_args a = {0};
    pl_script *s = script_open(proxy, path, cfg, &a, err);
    if (s) {
        s->has_on_reply = a.has_on_reply;
        s->has_on_failure = a.has_on_failure;
    }
    return s;
}

pl_script *pl_script_new_limits(pl_proxy *proxy, const char *path, const pl_script_limits *limits,
                                pl_error *err)
{
    pl_script_config cfg = {0};
    if (limits)
        cfg.limits = *limits;
    return pl_script_new_config(proxy, path, &cfg, err);
}

pl_script *pl_script_new(pl_proxy *proxy, const char *path, pl_error *err)
{
    return pl_script_new_config(proxy, path, NULL, err);
}

int pl_script_check_config(const char *path, const pl_script_config *cfg, pl_error *err)
{
    load_args a = {0};
    pl_script *s = script_open(NULL, path, cfg, &a, err);
    if (!s)
        return err && err->code == PL_ENOMEM ? PL_ENOMEM : PL_EPARSE;
    pl_script_free(s);
    return PL_OK;
}

int pl_script_check(const char *path, pl_error *err)
{
    return pl_script_check_config(path, NULL, err);
}

void pl_script_free(pl_script *s)
{
    if (!s)
        return;
    if (s->L) {
        /* Finalizers may still run Lua: keep them inside the limit, and
         * away from a proxy that may be gone already. */
        s->proxy = NULL;
        lua_setwarnf(s->L, NULL, NULL);
        pl__script_limit_arm(s);
        lua_close(s->L);
    }
    free((char *)s->path);
    free(s);
}

/* ---- running hooks */

/* Protected: call the hook named c->hook with its objects. */
static int hook_protected(lua_State *L)
{
    script_call *c = lua_touserdata(L, 1);
    if (lua_getglobal(L, c->hook) != LUA_TFUNCTION) {
        if (c->kind == HOOK_REQUEST)
            return luaL_error(L, "on_request is not a function");
        return 0; /* on_reply or on_failure was removed: nothing to run */
    }
    int nargs = 1;
    if (c->kind != HOOK_REQUEST) {
        pl__script_reply_push(L, c);
        nargs = 2;
    }
    pl__script_req_push(L, c);
    lua_call(L, nargs, 0);
    return 0;
}

/* A traceback on one log line: each new line becomes " | "; "..." when cut. */
static void flatten(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    const char *p = in;
    /* Room for one " | ", then "..." and the NUL. */
    for (; *p && o + 7 <= cap; p++) {
        if (*p == '\n') {
            memcpy(out + o, " | ", 3);
            o += 3;
            while (p[1] == '\t')
                p++;
        } else if (*p != '\t') {
            out[o++] = *p;
        }
    }
    if (*p) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

static int run_hook(pl_script *s, script_call *c)
{
    lua_State *L = s->L;
    int top = lua_gettop(L);
    c->s = s;
    c->gen = ++s->calls;
    c->outer = s->call;
    s->call = c;
    lua_pushcfunction(L, pl__script_msgh);
    lua_pushcfunction(L, hook_protected);
    lua_pushlightuserdata(L, c);
    pl__script_limit_arm(s);
    int rc = lua_pcall(L, 1, 0, top + 1);
    if (rc != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        char line[900]; /* the proxy's log lines hold 1,023 bytes */
        flatten(msg ? msg : "unknown error", line, sizeof(line));
        pl_proxy_log(s->proxy, PL_PROXY_LOG_ERROR, pl_preq_msg(c->r)->call_id,
                     "script error in %s (%s): %s", c->hook, s->path, line);
    }
    lua_settop(L, top);
    s->call = c->outer;
    return rc;
}

/* Neither forwarded by this call nor answered with a final response. */
static bool unsettled(const script_call *c)
{
    return !c->forwarded && pl_preq_final_status(c->r) < 200 && !pl_preq_stateless(c->r);
}

static void answer_500(pl_preq *r, const char *reason)
{
    pl_preq_reply(r, 500, pl_str_c(reason), NULL, 0);
}

static void router_on_request(pl_proxy *p, pl_preq *r, void *arg)
{
    (void)p;
    pl_script *s = arg;
    script_call c = {.r = r, .kind = HOOK_REQUEST, .hook = "on_request"};
    int rc = run_hook(s, &c);
    if (!unsettled(&c))
        return;
    if (rc != LUA_OK) {
        answer_500(r, "Script Error");
        return;
    }
    pl_proxy_log(s->proxy, PL_PROXY_LOG_WARN, pl_preq_msg(r)->call_id,
                 "on_request (%s) returned without forwarding or answering the request: 500",
                 s->path);
    answer_500(r, "Not Routed");
}

static void router_on_reply(pl_proxy *p, pl_preq *r, uint32_t branch, pl_msg *resp, void *arg)
{
    (void)p;
    script_call c = {
        .r = r, .kind = HOOK_REPLY, .hook = "on_reply", .resp = resp, .branch = branch};
    run_hook(arg, &c);
}

/*
 * When no branch brought a response back (each timed out, or could not be
 * reached), the proxy has no message to show: the script sees a stand-in
 * 408 built from the request, the answer the proxy would send by itself.
 */
static void router_on_failure(pl_proxy *p, pl_preq *r, const pl_msg *best, void *arg)
{
    (void)p;
    char block[8192];
    pl_arena arena;
    pl_msg standin;
    pl_arena_init(&arena, block, sizeof(block), 0);
    if (!best && pl_msg_build_response(&standin, &arena, pl_preq_msg(r), 408, PL_STR_NULL,
                                       PL_STR_NULL, NULL) == PL_OK)
        best = &standin;
    if (best) {
        script_call c = {.r = r, .kind = HOOK_FAILURE, .hook = "on_failure", .best = best};
        if (run_hook(arg, &c) != LUA_OK && unsettled(&c))
            answer_500(r, "Script Error");
    }
    pl_arena_free(&arena);
}

void pl_script_attach(pl_script *s)
{
    pl_proxy_router rt = {.on_request = router_on_request, .arg = s};
    if (s->has_on_reply)
        rt.on_reply = router_on_reply;
    if (s->has_on_failure)
        rt.on_failure = router_on_failure;
    pl_proxy_set_router(s->proxy, &rt);
}
