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
 */
#ifndef PARLEY_SCRIPT_H
#define PARLEY_SCRIPT_H

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
/* Make the script the proxy's router. */
void pl_script_attach(pl_script *s);
void pl_script_free(pl_script *s);

/* Load and run path in a scratch state, as parleyd --check does: PL_OK or PL_EPARSE with err. */
int pl_script_check(const char *path, pl_error *err);

#ifdef __cplusplus
}
#endif
#endif
