/*
 * script_int.h - the script layer's private structures, shared by its
 * files: state.c (the Lua state: allocator, limits, the safe libraries,
 * the parley and config tables), script.c (loading, checking, and the
 * hooks the proxy calls), request.c (the req object), reply.c (the reply
 * object), headers.c (header reads and edits both objects share) and
 * dialog.c (the dialog module and dialog objects).
 *
 * A req or reply object seen by Lua is a small userdata that points to the
 * hook call it was made for (a script_call on the C stack of the hook).
 * When the hook returns, the pointer is cleared, so an object a script
 * kept in a global is refused with a Lua error ("request no longer
 * valid") instead of reaching a request the proxy has freed.
 */
#ifndef PARLEY_SCRIPT_INT_H
#define PARLEY_SCRIPT_INT_H

#include <parley/script.h>

#include <lauxlib.h>
#include <lua.h>

#define SCRIPT_REQ_MT    "parley.request"
#define SCRIPT_REPLY_MT  "parley.reply"
#define SCRIPT_DIALOG_MT "parley.dialog"

/* Bytes a state holds and may hold: the lua_Alloc's user data. */
typedef struct script_mem {
    size_t used;
    size_t cap;
} script_mem;

typedef enum script_hook { HOOK_REQUEST, HOOK_REPLY, HOOK_FAILURE } script_hook;

/* One hook call in progress (on the C stack of the hook). */
typedef struct script_call {
    pl_script *s;
    struct script_call *outer; /* the call this one runs inside, or NULL */
    uint64_t gen;              /* the script's call counter when it began */
    pl_preq *r;
    script_hook kind;
    const char *hook;   /* its name: "on_request", "on_reply", "on_failure" */
    pl_msg *resp;       /* on_reply: the response, editable */
    const pl_msg *best; /* on_failure: the best response, read-only */
    uint32_t branch;    /* on_reply: the branch index (0-based) */
    bool forwarded;     /* a forward() in this call succeeded */
} script_call;

struct pl_script {
    lua_State *L;
    pl_proxy *proxy;         /* NULL in a scratch state (pl_script_check) */
    pl_dlg_table *dialogs;   /* the worker's dialog table, or NULL: tracking is off */
    const char *const *vars; /* the config's settings, read while the state is made */
    const char *path;        /* for log lines; owned */
    script_mem mem;
    int max_instructions; /* per call from C into Lua (lua_sethook counts in int) */
    bool stopping;        /* the limit was hit: every further instruction raises */
    script_call *call;    /* the innermost hook call, or NULL */
    uint64_t calls;       /* hook calls so far: the next call's gen */
    bool has_on_reply;    /* the hooks the file defined when it was loaded */
    bool has_on_failure;
    char warn[512]; /* a warning being assembled (lua_WarnFunction) */
    size_t warn_len;
};

/*
 * The body of a req or reply userdata. It is valid while its call is in
 * progress: call is on the script's chain of active calls with the same
 * gen (the address alone could be reused by a later call).
 */
typedef struct script_obj {
    script_call *call;
    uint64_t gen;
} script_obj;

/* ---- state.c */

/* A new state with the safe libraries and the parley table, or NULL (out of memory). */
lua_State *pl__script_state_new(pl_script *s);
/* Arm the instruction limit for one call from C into Lua. */
void pl__script_limit_arm(pl_script *s);
/* The message handler given to lua_pcall: the message with a traceback. */
int pl__script_msgh(lua_State *L);
/* The pl_script owning L. */
pl_script *pl__script_of(lua_State *L);
/* Log a line through the proxy (stderr in a scratch state). */
void pl__script_log(pl_script *s, pl_proxy_log_level level, pl_str call_id, const char *text);
/* "error", "warn", "info", "debug" at argument arg. */
pl_proxy_log_level pl__script_check_level(lua_State *L, int arg);

/* ---- request.c, reply.c */

/* The call an object belongs to, or a Lua error "<what> no longer valid". */
script_call *pl__script_obj_call(lua_State *L, const script_obj *o, const char *what);

void pl__script_req_open(lua_State *L);
void pl__script_reply_open(lua_State *L);
/* Push a new req / reply object for call; returns its body (to invalidate later). */
script_obj *pl__script_req_push(lua_State *L, script_call *call);
script_obj *pl__script_reply_push(lua_State *L, script_call *call);

/* ---- dialog.c */

/* Set the global dialog (the module table and the dialog metatable). */
void pl__script_dialog_open(lua_State *L);

/* ---- headers.c: the calls req and reply share (msg may be read-only: edits then refused) */

int pl__script_hdr_get(lua_State *L, const pl_msg *msg, int name_arg);
int pl__script_hdr_get_all(lua_State *L, const pl_msg *msg, int name_arg);
int pl__script_hdr_add(lua_State *L, pl_msg *msg, int name_arg);
int pl__script_hdr_set(lua_State *L, pl_msg *msg, int name_arg);
int pl__script_hdr_remove(lua_State *L, pl_msg *msg, int name_arg);
/* Push s as a Lua string ("" for an empty one). */
void pl__script_push_str(lua_State *L, pl_str s);
/* Argument arg as a pl_str (a string; numbers are converted by Lua). */
pl_str pl__script_check_str(lua_State *L, int arg);

#endif
