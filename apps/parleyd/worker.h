/*
 * worker.h - one parleyd worker: a thread with its own libuv loop, pl_net
 * (listening on every address with SO_REUSEPORT), pl_dns, pl_proxy and
 * Lua script. The location table, the connection registry and the list
 * of workers are shared.
 *
 * Every call belongs to the worker its Call-ID hashes to (dispatch.h). A
 * message received by another worker is handed over to its owner through
 * the owner's lock-free queue (parley/mpsc.h), woken by a uv_async; so is
 * a send on a stream connection held by another worker (connreg.h). The
 * proxy and its transactions are touched by their worker only.
 */
#ifndef PARLEYD_WORKER_H
#define PARLEYD_WORKER_H

#include <stdatomic.h>

#include <parley/dialog.h>

#include "config.h"
#include "connreg.h"

typedef struct pd_worker pd_worker;
struct pd_persist;

typedef struct pd_shared {
    const pd_config *cfg;
    pl_location *location;
    pd_connreg *conns;
    pl_dlg_module *dialogs;     /* NULL: dialog tracking off */
    struct pd_persist *persist; /* the store (persist.h) */
    pd_worker **workers;
    unsigned n;
    atomic_bool stopping; /* no more hand-overs: the workers are stopping */
    /* Dialogs processed, sampled each second by worker 0 (calls per second). */
    atomic_uint_fast64_t rate_processed[11], rate_ms[11];
    atomic_uint rate_pos;
} pd_shared;

/* Message kinds counted per worker: requests by method (the last: any other), responses by class.
 */
#define PD_NMETHODS 15
extern const char *const pd_method_names[PD_NMETHODS];

/* Counters of one worker (read on its thread: pd_worker_call, or once it has stopped). */
typedef struct pd_worker_stats {
    uint64_t received;   /* messages off this worker's sockets */
    uint64_t handed_out; /* of those, handed to their owner */
    uint64_t handed_in;  /* messages other workers handed to this one */
    uint64_t sends_out;  /* stream sends handed to the connection's holder */
    uint64_t sends_in;   /* stream sends made for other workers */
    /* Messages by method (a response: its CSeq's) and class: [m][0] requests,
     * [m][1..6] responses 1xx..6xx. */
    uint64_t in_msgs[PD_NMETHODS][7], out_msgs[PD_NMETHODS][7];
} pd_worker_stats;

/*
 * Worker index of sh: its loop, pl_net listening on addrs (n_addrs of
 * them; worker 0 gets the configuration's, the others the addresses
 * worker 0 got, so that a port 0 is shared too), pl_dns, pl_proxy and
 * script. NULL with a message in err and *exit_code (1: a runtime
 * failure such as an address in use, 2: the script).
 */
pd_worker *pd_worker_new(pd_shared *sh, unsigned index, const char (*addrs)[PD_ADDR_MAX],
                         size_t n_addrs, char *err, size_t errcap, int *exit_code);
/* The address listener i got ("udp:127.0.0.1:5060"), into out. */
int pd_worker_listen_addr(const pd_worker *w, size_t i, char *out, size_t cap);
/* Start the thread. Returns PL_OK or a negative error. */
int pd_worker_start(pd_worker *w);
/* Ask the loop to stop (any thread), then wait for the thread. */
void pd_worker_stop(pd_worker *w);
void pd_worker_join(pd_worker *w);
void pd_worker_get_stats(const pd_worker *w, pd_worker_stats *out);
/* The dialog module's post function: run fn(arg) on worker index's loop (arg is freed unrun when
 * the workers are stopping). */
void pd_worker_post(unsigned index, void (*fn)(void *arg), void *arg, void *user);
/*
 * Run fn(w, arg) on worker index's thread and wait for it, at most
 * timeout_ms for it to start (once started it finishes, so arg may live on
 * the caller's stack). PL_OK, PL_ELIMIT (it did not start in time: it
 * never will), PL_EINVAL, PL_ENOMEM. Not from a worker thread.
 */
int pd_worker_call(pd_shared *sh, unsigned index, void (*fn)(pd_worker *w, void *arg), void *arg,
                   uint32_t timeout_ms);
/* Dialogs created per second over the last 10 seconds (any thread). */
double pd_calls_per_second(pd_shared *sh);
/* This worker's proxy (on its thread). */
pl_proxy *pd_worker_proxy(const pd_worker *w);
/* Load the configured script again and make it the router (on the worker's thread). 0, or -1
 * with the reason in err (the old script stays). */
int pd_worker_reload_script(pd_worker *w, char *err, size_t cap);
/* This worker's dialog table (NULL when tracking is off). */
pl_dlg_table *pd_worker_dialogs(const pd_worker *w);

/* After every worker has stopped and been joined: free everything. */
void pd_worker_free(pd_worker *w);

#endif
