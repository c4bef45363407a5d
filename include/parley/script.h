/*
 * parley/script.h - routing scripts in Lua 5.4 for the proxy core.
 *
 * A pl_script loads one Lua file into its own Lua state (one per worker)
 * and becomes its proxy's router: the script's on_request(req),
 * on_reply(reply, req) and on_failure(reply, req) functions run for each
 * request and response. The API a script sees is documented in
 * docs/script.md. An error in the script (a Lua error, a bad argument)
 * never reaches the proxy: the request is answered 500 and the traceback
 * is logged with the Call-ID.
 *
 * With a dialog table (pl_script_config.dialogs, parley/dialog.h) the
 * script's `dialog` module tracks calls: dialog objects, profiles, values,
 * termination. Host settings reach the script as its read-only `config`
 * table.
 */
#ifndef PARLEY_SCRIPT_H
#define PARLEY_SCRIPT_H

#include <parley/dialog.h>
#include <parley/proxy.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pl_script pl_script;

/*
 * Load path into a new Lua state bound to proxy (not yet its router).
 * Returns NULL with err->reason (a static or thread-local string:
 * the Lua message with file and line) when the file cannot be read,
 * does not compile, fails when run, or has no on_request function.
 */
pl_script *pl_script_new(pl_proxy *proxy, const char *path, pl_error *err);

/*
 * What one script may spend. A hook call (and the file's top level) that
 * runs more Lua instructions than max_instructions is stopped with an
 * error; an allocation that would take the state past max_memory bytes
 * fails, and Lua raises "not enough memory". Either way the request is
 * answered 500 and the proxy goes on. Zero fields take the defaults.
 */
typedef struct pl_script_limits {
    uint64_t max_instructions; /* per hook call; default 10,000,000 */
    size_t max_memory;         /* for the whole Lua state; default 64 MiB */
} pl_script_limits;

#define PL_SCRIPT_DEFAULT_MAX_INSTRUCTIONS 10000000u
#define PL_SCRIPT_DEFAULT_MAX_MEMORY       (64u * 1024u * 1024u)

/* pl_script_new() with limits (NULL: the defaults). */
pl_script *pl_script_new_limits(pl_proxy *proxy, const char *path, const pl_script_limits *limits,
                                pl_error *err);

/* Everything a host may give a script besides its proxy and file. */
typedef struct pl_script_config {
    pl_script_limits limits; /* zero fields: the defaults */
    /*
     * The worker's dialog table (the one watching proxy), or NULL: the
     * script's `dialog` module then answers every call with the Lua error
     * "dialog tracking is off", and `dialog.enabled` is false.
     */
    pl_dlg_table *dialogs;
    /*
     * Settings for the script: NULL-terminated "name=value" strings (NULL:
     * none), copied into the script's read-only global table `config`. A
     * value that is a decimal integer (optional sign, digits, within 64
     * bits) becomes a Lua integer, any other stays a string. A string
     * without '=' or with an empty name is ignored; the last of two
     * settings with one name wins.
     */
    const char *const *vars;
} pl_script_config;

/* pl_script_new() with a config (NULL: as pl_script_new). */
pl_script *pl_script_new_config(pl_proxy *proxy, const char *path, const pl_script_config *cfg,
                                pl_error *err);
/*
 * Make the script the proxy's router. on_reply and on_failure are looked
 * up now: a script that defines neither costs the proxy nothing on
 * responses.
 */
void pl_script_attach(pl_script *s);
/*
 * Close the Lua state. Call it after pl_proxy_free(), or once another
 * router is attached: the proxy must not call a freed script.
 */
void pl_script_free(pl_script *s);

/*
 * Load and run path in a scratch state, as parleyd --check does: PL_OK or
 * PL_EPARSE with err. The state has no proxy and no dialog table
 * (`dialog.enabled` is false) and an empty `config`.
 */
int pl_script_check(const char *path, pl_error *err);
/* The same with the config's limits and vars (its dialogs are not used). */
int pl_script_check_config(const char *path, const pl_script_config *cfg, pl_error *err);

#ifdef __cplusplus
}
#endif
#endif
