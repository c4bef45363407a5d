/*
 * parley/dialog.h - dialog tracking for the proxy: a dialog table per
 * worker, the dialog state machine, callbacks, profiles (call counters,
 * with or without values), key/value data on a dialog, termination (CANCEL
 * or BYE both ways), lifetime and ping timers. No I/O of its own: it
 * watches a pl_proxy (its observer events), sends what it must through
 * pl_proxy_request(), and runs its timers on the proxy's wheel.
 *
 * Objects:
 *   pl_dlg_module  shared by every worker: configuration, profiles,
 *                  statistics, global callbacks; thread-safe.
 *   pl_dlg_table   one per worker (per pl_proxy): the dialogs whose
 *                  Call-ID hashes to that worker; used only from the
 *                  worker's thread.
 *   pl_dlg         a dialog; its pointer is valid on its table's thread,
 *                  inside a callback or the router, until the dialog is
 *                  destroyed (DESTROY callback). Elsewhere use its id.
 *
 * States (numbered as operators know them from other proxies):
 *   1 unconfirmed (created for an initial INVITE), 2 early (a 101-199
 *   went upstream), 3 confirmed, not acknowledged (a 2xx went upstream),
 *   4 confirmed (the ACK passed), 5 deleted. A 2xx after a failure or a
 *   CANCEL revives a deleted dialog to 3 (unless a BYE was seen); a BYE
 *   request ends a dialog when it passes (from the callee, or from the
 *   caller to the primary callee leg); docs/dialog.md has the full table.
 *
 * Identity: a 64-bit id, the Call-ID's hash (pl_dlg_hash) in the upper 32
 * bits and a counter in the lower 32. The owning table is the hash modulo
 * the number of tables, so any thread can find the owner from an id. The
 * id travels in the proxy's Record-Route as ";did=<16 hex digits>", which
 * matches sequential requests in O(1); the match is then checked against
 * the Call-ID and the tags.
 */
#ifndef PARLEY_DIALOG_H
#define PARLEY_DIALOG_H

#include <parley/proxy.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pl_dlg_module pl_dlg_module;
typedef struct pl_dlg_table pl_dlg_table;
typedef struct pl_dlg pl_dlg;
typedef struct pl_dlg_profile pl_dlg_profile;

typedef enum pl_dlg_state {
    PL_DLG_UNCONFIRMED = 1,
    PL_DLG_EARLY = 2,
    PL_DLG_CONFIRMED_NA = 3,
    PL_DLG_CONFIRMED = 4,
    PL_DLG_DELETED = 5,
} pl_dlg_state;

/* Create flags. */
enum {
    PL_DLG_F_BYE_ON_TIMEOUT = 1 << 0, /* at the end of its lifetime: BYE both ways */
    PL_DLG_F_PING_CALLER = 1 << 1,    /* OPTIONS to the caller every ping interval */
    PL_DLG_F_PING_CALLEE = 1 << 2,    /* OPTIONS to the callee every ping interval */
};

typedef enum pl_dlg_match_mode {
    PL_DLG_MATCH_DID_FALLBACK = 0, /* by id, else by Call-ID and tags (the default) */
    PL_DLG_MATCH_DID_ONLY = 1,     /* only by the id in our Route entry */
    PL_DLG_MATCH_SIP_ONLY = 2,     /* by Call-ID and tags; no id in Record-Route */
} pl_dlg_match_mode;

/* Direction of a sequential request or response. */
typedef enum pl_dlg_dir {
    PL_DLG_DIR_NONE = 0,
    PL_DLG_DIR_DOWNSTREAM = 1, /* from the caller toward the callee */
    PL_DLG_DIR_UPSTREAM = 2,   /* from the callee toward the caller */
} pl_dlg_dir;

/* Callback types (a mask of them at registration). */
enum {
    PL_DLGCB_LOADED = 1 << 0,     /* global: a dialog entered memory from the store or a peer */
    PL_DLGCB_CREATED = 1 << 1,    /* global: a dialog was created */
    PL_DLGCB_FAILED = 1 << 2,     /* it never got established (>= 300 went up, CANCEL, timeout) */
    PL_DLGCB_CONFIRMED = 1 << 3,  /* a 2xx went up (once) */
    PL_DLGCB_REQ_WITHIN = 1 << 4, /* a sequential request matched it */
    PL_DLGCB_TERMINATED = 1 << 5, /* a BYE passed, or the proxy ended it */
    PL_DLGCB_EXPIRED = 1 << 6,    /* its lifetime ran out (no BYE sent) */
    PL_DLGCB_EARLY = 1 << 7,      /* the first 101-199 went up */
    PL_DLGCB_RESPONSE_FWDED = 1 << 8,  /* a response to the initial INVITE went up */
    PL_DLGCB_RESPONSE_WITHIN = 1 << 9, /* a response to a sequential request went up */
    PL_DLGCB_MGMT_CONTEXT = 1 << 10,   /* a management listing with context asks for fields */
    PL_DLGCB_DESTROY = 1 << 11,        /* about to be freed (already unlinked) */
    PL_DLGCB_SAVED = 1 << 12,          /* written to the store */
};
#define PL_DLGCB_GLOBAL (PL_DLGCB_LOADED | PL_DLGCB_CREATED)

/*
 * What a callback gets. msg is the message that caused it (the request,
 * or the response as it went up), or NULL (a timer, the API, a load).
 * leg is 0 for the caller, 1.. for callee legs, UINT32_MAX when none.
 */
typedef struct pl_dlg_cb_params {
    const pl_msg *msg;
    pl_dlg_dir dir;
    uint32_t leg;
    void *param; /* the registered parameter */
    /* PL_DLGCB_MGMT_CONTEXT: add fields to the listing with
     * pl_dlg_ctx_add(params->ctx, name, value). */
    struct pl_dlg_mgmt_ctx *ctx;
} pl_dlg_cb_params;

typedef void (*pl_dlg_cb)(pl_dlg *d, uint32_t type, const pl_dlg_cb_params *params);
typedef void (*pl_dlg_param_free)(void *param);

/* What changed in a confirmed dialog, for a store (pl_dlg_config.on_change). */
typedef enum pl_dlg_change {
    PL_DLG_CHANGE_CONFIRMED = 1, /* a 2xx confirmed it (or a late 2xx revived it): write it */
    PL_DLG_CHANGE_UPDATED,       /* ACK, CSeqs, remote targets, values, profiles, flags, lifetime */
    PL_DLG_CHANGE_DELETED,       /* a confirmed dialog ended: remove it */
} pl_dlg_change;

/* Log lines: level as the proxy's, call_id may be empty. */
typedef void (*pl_dlg_log_cb)(pl_proxy_log_level level, pl_str call_id, const char *line,
                              void *user);

typedef struct pl_dlg_config {
    unsigned n_tables;           /* one per worker; default 1 */
    uint32_t default_lifetime_s; /* from confirmation; default 43200 (12 h) */
    uint32_t ping_interval_s;    /* OPTIONS pings; default 30 */
    uint32_t early_timeout_s;    /* a dialog unconfirmed or early this long fails; default 300 */
    uint32_t noack_timeout_s;    /* confirmed without ACK this long: ended with BYE; default 60 */
    uint32_t delete_delay_s;     /* a deleted dialog still matches this long; default 0 */
    pl_dlg_match_mode match_mode;
    const char *rr_param;       /* name of the id parameter in Record-Route; default "did" */
    const char *extra_headers;  /* header lines (CRLF-ended) added to every BYE and ping */
    uint32_t id_start, id_step; /* the id counter's start and step (nodes of a cluster) */
    size_t max_dialogs;         /* per table; 0: no limit (create answers PL_ELIMIT beyond) */
    /*
     * Run fn(arg) on table's thread, from its loop (for calls made from
     * another thread: pl_dlg_module_terminate). NULL with one table: run
     * it from the next pl_dlg_table_run() call.
     */
    void (*post)(unsigned table, void (*fn)(void *arg), void *arg, void *user);
    pl_dlg_log_cb log;
    pl_proxy_log_level log_level;
    /*
     * The store's hook (may be NULL): called on the dialog's thread after
     * each change of a confirmed dialog (pl_dlg_export() gives the record
     * to write), and once when it ends (DELETED). Loaded dialogs
     * (pl_dlg_restore) are not reported as CONFIRMED: they are stored
     * already. Unconfirmed dialogs are never reported.
     */
    void (*on_change)(pl_dlg *d, pl_dlg_change what, void *user);
    void *user;
} pl_dlg_config;

/* ------------------------------------------------------------ module and tables */

pl_dlg_module *pl_dlg_module_new(const pl_dlg_config *cfg);
/* After every table is freed. */
void pl_dlg_module_free(pl_dlg_module *m);
const pl_dlg_config *pl_dlg_module_config(const pl_dlg_module *m);

/* The hash of a Call-ID (FNV-1a, 32 bits); its dialogs live in table hash % n_tables. */
uint32_t pl_dlg_hash(pl_str call_id);

/*
 * The table of worker index (0..n_tables-1), watching proxy p (it
 * registers observers and takes a context slot). Call from that worker's
 * thread; NULL when out of memory or index is out of range.
 */
pl_dlg_table *pl_dlg_table_new(pl_dlg_module *m, unsigned index, pl_proxy *p);
/* Drop every dialog (DESTROY callbacks, no SIP sent) and free the table; before pl_proxy_free. */
void pl_dlg_table_free(pl_dlg_table *t);
pl_dlg_module *pl_dlg_table_module(const pl_dlg_table *t);
/* Run jobs queued for this table when the config has no post function. */
void pl_dlg_table_run(pl_dlg_table *t);

/* ------------------------------------------------------------ dialogs */

/*
 * Start tracking the dialog of an initial INVITE (no To tag) in the
 * router: turns Record-Route on with the id parameter (pl_preq_record_route;
 * the router's own Record-Route parameters are kept), fires CREATED. A second call for the same
 * request only replaces the flags. Returns PL_OK (*out set if out is not NULL), PL_EINVAL (not an
 * INVITE, or it has a To tag), PL_ELIMIT (max_dialogs), PL_ENOMEM.
 */
int pl_dlg_create(pl_dlg_table *t, pl_preq *r, uint32_t flags, pl_dlg **out);

/* The dialog of the request being processed (created for it, or matched to it), or NULL. */
pl_dlg *pl_dlg_current(pl_dlg_table *t, const pl_preq *r);
/* The direction of a sequential request r matched to a dialog (NONE otherwise). */
pl_dlg_dir pl_dlg_direction(pl_dlg_table *t, const pl_preq *r);

pl_dlg *pl_dlg_lookup(pl_dlg_table *t, uint64_t id);
/* By Call-ID and tags (to_tag may be empty: any); deleted dialogs skipped. */
pl_dlg *pl_dlg_lookup_sip(pl_dlg_table *t, pl_str call_id, pl_str from_tag, pl_str to_tag);

/* The first live (not deleted) dialog with this Call-ID in t, or NULL. */
pl_dlg *pl_dlg_lookup_callid(pl_dlg_table *t, pl_str call_id);
/* The ids of every live dialog with this Call-ID (at most cap); returns how many there are. */
size_t pl_dlg_lookup_callid_all(pl_dlg_table *t, pl_str call_id, uint64_t *ids, size_t cap);

uint64_t pl_dlg_id(const pl_dlg *d);
/* The id as text, 16 hex digits and a NUL; and back (PL_EPARSE). */
void pl_dlg_id_print(uint64_t id, char out[17]);
int pl_dlg_id_parse(pl_str s, uint64_t *id);
pl_dlg_state pl_dlg_state_of(const pl_dlg *d);
const char *pl_dlg_state_name(pl_dlg_state s);
pl_str pl_dlg_call_id(const pl_dlg *d);
pl_str pl_dlg_from_uri(const pl_dlg *d);
pl_str pl_dlg_to_uri(const pl_dlg *d);
/* The caller's tag, and the primary callee leg's tag (empty before a 2xx). */
pl_str pl_dlg_caller_tag(const pl_dlg *d);
pl_str pl_dlg_callee_tag(const pl_dlg *d);
pl_dlg_table *pl_dlg_table_of(const pl_dlg *d);

uint32_t pl_dlg_flags(const pl_dlg *d);
/* Replace the create flags (pings start or stop at once on a confirmed dialog). */
void pl_dlg_set_flags(pl_dlg *d, uint32_t flags);

/* The longest lifetime or ping interval, seconds (the timing wheel's reach, 2^32 ms). */
#define PL_DLG_MAX_SECONDS 4294967u

/*
 * Lifetime in seconds (1 to PL_DLG_MAX_SECONDS, else PL_EINVAL): before confirmation, what the
 * dialog will get when its 2xx passes; after it, a new deadline counted from now.
 */
int pl_dlg_set_lifetime(pl_dlg *d, uint32_t seconds);
/* Seconds left of the lifetime (the lifetime itself before confirmation; 0 once deleted). */
uint32_t pl_dlg_lifetime_left(const pl_dlg *d);
/* The ping interval of this dialog, seconds (1 to PL_DLG_MAX_SECONDS); re-armed at once. */
int pl_dlg_set_ping_interval(pl_dlg *d, uint32_t seconds);
/* Unix-epoch-free times: milliseconds on the wheel's clock of creation and confirmation (0: not
 * yet). */
uint64_t pl_dlg_created_ms(const pl_dlg *d);
uint64_t pl_dlg_confirmed_ms(const pl_dlg *d);

/*
 * Why it ended: "Upstream BYE", "Downstream BYE", "Lifetime Timeout",
 * "Caller Ping Timeout", "Callee Ping Timeout", "No ACK", "Cancelled",
 * "Failed", "Early Timeout", or the reason given to pl_dlg_terminate().
 * Empty while it lives.
 */
pl_str pl_dlg_end_reason(const pl_dlg *d);

/* ------------------------------------------------------------ callbacks */

/*
 * Register cb for the types in mask. d NULL: a global type (LOADED or
 * CREATED, each registered alone), from any thread, any time; a LOADED
 * registered after dialogs were loaded runs at once over each of them (on
 * its table's thread). d not NULL: the per-dialog types, on d's thread;
 * refused (PL_ESTATE) once d is deleted. free_param, if not NULL, is
 * called with param when the dialog is destroyed (per-dialog) or the
 * module freed (global). Returns PL_OK, PL_EINVAL, PL_ESTATE, PL_ENOMEM.
 * Callbacks run outside any lock and may call this API on the dialog
 * (profiles, values, terminate, register more callbacks).
 */
int pl_dlg_register_cb(pl_dlg_module *m, pl_dlg *d, uint32_t mask, pl_dlg_cb cb, void *param,
                       pl_dlg_param_free free_param);

/* Was a callback of this type ever registered (on any dialog)? A store skips
 * telling of its writes when nobody listens for SAVED. */
bool pl_dlg_wants(const pl_dlg_module *m, uint32_t type);

/* The store (a layer above) says d was written: fires SAVED. */
void pl_dlg_notify_saved(pl_dlg *d);

/* Listing with context (management): the writer that MGMT_CONTEXT callbacks add to. */
typedef struct pl_dlg_mgmt_ctx pl_dlg_mgmt_ctx;
int pl_dlg_ctx_add(pl_dlg_mgmt_ctx *ctx, pl_str name, pl_str value);
/* Run MGMT_CONTEXT callbacks of d; fn gets each name/value they add. */
void pl_dlg_mgmt_context(pl_dlg *d, void (*fn)(pl_str name, pl_str value, void *arg), void *arg);

/* ------------------------------------------------------------ profiles */

/*
 * Define profiles: names separated by ';' (letters, digits, '_' and '-'),
 * with or without values. Any time, any thread. Returns PL_OK, PL_EINVAL
 * (a bad name, or a name defined before with the other kind), PL_ENOMEM.
 * Defining an existing profile again with the same kind is a no-op.
 */
int pl_dlg_profile_define(pl_dlg_module *m, const char *names, bool has_value);
pl_dlg_profile *pl_dlg_profile_find(pl_dlg_module *m, pl_str name);
pl_str pl_dlg_profile_name(const pl_dlg_profile *p);
bool pl_dlg_profile_has_value(const pl_dlg_profile *p);
/* Every profile: fn(profile, arg). */
void pl_dlg_profile_each(pl_dlg_module *m, void (*fn)(pl_dlg_profile *p, void *arg), void *arg);

/*
 * Add d to profile p (value: for a profile with values; ignored otherwise).
 * Adding the same membership twice counts twice (as the reference
 * allows); clear removes d's other values in p first. PL_ESTATE on a
 * deleted dialog.
 */
int pl_dlg_profile_set(pl_dlg *d, pl_dlg_profile *p, pl_str value, bool clear);
/* Remove one membership (value.p NULL on a profile with values: every value). PL_ENOTFOUND. */
int pl_dlg_profile_unset(pl_dlg *d, pl_dlg_profile *p, pl_str value);
/* Is d in p (with this value; value.p NULL: any)? */
bool pl_dlg_profile_is_in(const pl_dlg *d, const pl_dlg_profile *p, pl_str value);
/* Dialogs in p (value.p NULL: all of them, else those with this value). Thread-safe, exact. */
size_t pl_dlg_profile_size(pl_dlg_profile *p, pl_str value);
/* Ids of the dialogs in p (value as above), at most cap; returns how many there are. */
size_t pl_dlg_profile_list(pl_dlg_profile *p, pl_str value, uint64_t *ids, size_t cap);
/* Each value of p with its count (fn is called under the profile's lock: no calls back). */
void pl_dlg_profile_values(pl_dlg_profile *p, void (*fn)(pl_str value, size_t count, void *arg),
                           void *arg);
/* d's memberships: fn(profile, value) for each. */
void pl_dlg_profile_memberships(const pl_dlg *d,
                                void (*fn)(pl_dlg_profile *p, pl_str value, void *arg), void *arg);

/* ------------------------------------------------------------ values */

typedef enum pl_dlg_vtype { PL_DLG_V_STR = 1, PL_DLG_V_INT = 2 } pl_dlg_vtype;

typedef struct pl_dlg_value {
    pl_dlg_vtype type;
    pl_str s;  /* PL_DLG_V_STR: valid until the value changes or the dialog goes */
    int64_t i; /* PL_DLG_V_INT */
} pl_dlg_value;

/* Store (replacing any value of that name). PL_EINVAL for an empty name. */
int pl_dlg_value_set_str(pl_dlg *d, pl_str name, pl_str value);
int pl_dlg_value_set_int(pl_dlg *d, pl_str name, int64_t value);
int pl_dlg_value_unset(pl_dlg *d, pl_str name);
/* A view of the value; PL_ENOTFOUND. */
int pl_dlg_value_get(const pl_dlg *d, pl_str name, pl_dlg_value *out);
/* Copy it into buf as text (integers in decimal), NUL-terminated: PL_OK, PL_ENOTFOUND, PL_ENOSPC
 * (*len is then the size needed without the NUL). */
int pl_dlg_value_fetch(const pl_dlg *d, pl_str name, char *buf, size_t cap, size_t *len);
/* A malloc'd NUL-terminated copy as text (free() it), or NULL (not found, out of memory). */
char *pl_dlg_value_dup(const pl_dlg *d, pl_str name);
/* Each value: fn(name, value, arg). */
void pl_dlg_value_each(const pl_dlg *d, void (*fn)(pl_str name, const pl_dlg_value *v, void *arg),
                       void *arg);

/* ------------------------------------------------------------ ending a dialog */

/*
 * End d with a reason: not yet confirmed, CANCEL toward the callee (its
 * 487 goes up and the dialog fails); confirmed, BYE to the caller and to
 * the primary callee leg, each built from the stored leg data (remote
 * target, route set, tags, CSeq one above the last toward that leg,
 * config extra headers, then hdrs), both always sent; the dialog ends at
 * once (TERMINATED) whatever the BYEs get. PL_ESTATE when already
 * deleted. Safe from inside callbacks.
 */
int pl_dlg_terminate(pl_dlg *d, pl_str reason, pl_str hdrs);
/* The same by id from any thread (runs on the owner's thread later):
 * PL_OK (queued), PL_ENOTFOUND (no table for it), PL_ENOMEM. */
int pl_dlg_module_terminate(pl_dlg_module *m, uint64_t id, pl_str reason, pl_str hdrs);

/* ------------------------------------------------------------ sequential requests */

/*
 * Match r, a request with a To tag, to its dialog (mode as the config's,
 * or another): done automatically when r enters the proxy; calling it
 * again returns the same dialog. PL_OK (*out set), PL_ENOTFOUND.
 */
int pl_dlg_match(pl_dlg_table *t, pl_preq *r, pl_dlg_match_mode mode, pl_dlg **out);

enum {
    PL_DLG_VALID = 1,
    PL_DLG_BAD_CSEQ = -1,   /* not above the last CSeq from that side (an ACK: not the INVITE's) */
    PL_DLG_BAD_TARGET = -2, /* the Request-URI is not the stored remote target */
    PL_DLG_BAD_ROUTE = -3,  /* the Route set is not the stored one */
    PL_DLG_BAD_OTHER = -4,  /* not matched to d, or no data to check against */
};
/* Check a matched sequential request against d (target and route set once confirmed). */
int pl_dlg_validate(pl_dlg *d, pl_preq *r);
/* Make r's Request-URI and Route set the stored ones of its destination leg. */
int pl_dlg_fix_route(pl_dlg *d, pl_preq *r);

/* ------------------------------------------------------------ saving and loading */

/*
 * A confirmed dialog as a store keeps it (issue 7's persistence and a
 * cluster's replication): what a BYE, a ping, a timer and the profiles
 * need, and nothing of the transactions.
 */
typedef struct pl_dlg_leg_record {
    pl_str tag, contact, route; /* route: Route values, comma-separated */
    uint32_t cseq_to, cseq_from, inv_cseq;
    bool has_src; /* a TCP/TLS leg's connection address */
    pl_target src;
} pl_dlg_leg_record;

typedef struct pl_dlg_record {
    uint64_t id;
    pl_dlg_state state; /* 3 or 4 */
    uint32_t flags;
    pl_str call_id, from_uri, to_uri;
    pl_dlg_leg_record leg[2];  /* the caller, the primary callee */
    uint64_t lifetime_left_ms; /* 0: it expires as soon as it is loaded */
    uint32_t ping_interval_s;
    /* Values "name#T#value|" (T: 1 string, 2 integer) and profiles
     * "name#value|", with '#', '|' and '\' escaped by '\'. */
    pl_str values, profiles;
    pl_str end_reason;
} pl_dlg_record;

/*
 * d as a record: strings point into d (valid until it changes), values
 * and profiles are written into buf. PL_ESTATE (not confirmed),
 * PL_ENOSPC.
 */
int pl_dlg_export(const pl_dlg *d, pl_dlg_record *out, char *buf, size_t cap);
/*
 * Load a record into t (on t's thread): the dialog comes back confirmed,
 * with its legs, CSeqs, route sets, values, profile memberships (profiles
 * not defined are skipped, logged), flags, pings, and what is left of its
 * lifetime (none left: it expires at once, with BYE when flagged); the
 * LOADED callbacks fire. PL_EINVAL (the id's hash is not its Call-ID's,
 * or it belongs to another table, or a malformed record), PL_ESTATE (that
 * id is here already), PL_ENOMEM.
 */
int pl_dlg_restore(pl_dlg_table *t, const pl_dlg_record *rec, pl_dlg **out);

/* ------------------------------------------------------------ walking and statistics */

/* Every dialog of t (on t's thread); fn may not free or end dialogs. */
void pl_dlg_table_walk(pl_dlg_table *t, void (*fn)(pl_dlg *d, void *arg), void *arg);

/*
 * Heap bytes d holds: the return value counts the dialog, its legs (tag
 * and remote target excluded), route sets, values, profile memberships
 * and callbacks; *strings (if not NULL) the Call-ID, From/To URIs, tags
 * and remote targets. Each allocation counted as the allocator gives it
 * (malloc_usable_size).
 */
size_t pl_dlg_memory(const pl_dlg *d, size_t *strings);

typedef struct pl_dlg_stats {
    uint64_t active;     /* now in state 3 or 4 */
    uint64_t early;      /* now in state 2 */
    uint64_t processed;  /* created since start */
    uint64_t expired;    /* ended by their lifetime */
    uint64_t failed;     /* never established */
    uint64_t terminated; /* ended by a BYE or by the proxy */
    uint64_t live;       /* in memory, any state */
} pl_dlg_stats;
void pl_dlg_get_stats(const pl_dlg_module *m, pl_dlg_stats *out);

#ifdef __cplusplus
}
#endif
#endif
