/*
 * dialog_int.h - the dialog module's private structures, shared by its
 * files: the module (shared by workers), a table (one worker's dialogs),
 * a dialog with its legs, callbacks, values and profile memberships.
 */
#ifndef PARLEY_DIALOG_INT_H
#define PARLEY_DIALOG_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <parley/dialog.h>

/* ---- callbacks */

typedef struct dlg_cb {
    uint32_t mask;
    pl_dlg_cb cb;
    void *param;
    pl_dlg_param_free free_param;
    struct dlg_cb *next;
} dlg_cb;

/* ---- profiles (profile.c) */

typedef struct prof_entry prof_entry;

/* One membership of a dialog in a profile: owned by the dialog, linked in
 * the profile entry's member list under that entry's shard lock. */
typedef struct plink {
    pl_dlg_profile *p;
    prof_entry *e;
    uint64_t id;                 /* the dialog's id, for listings from any thread */
    struct plink *next;          /* the dialog's list */
    struct plink *eprev, *enext; /* the entry's members */
} plink;

#define PROF_SHARDS 16

typedef struct prof_shard {
    pthread_mutex_t lock;
    prof_entry **buckets;
    size_t nbuckets;
    size_t nentries;
} prof_shard;

struct pl_dlg_profile {
    char *name;
    size_t name_len;
    bool has_value;
    atomic_size_t total;
    prof_shard shards[PROF_SHARDS];
};

#define MAX_PROFILES 256

/* ---- values */

typedef struct dlg_val {
    pl_str name; /* malloc'd with the value in one block */
    pl_dlg_value v;
    struct dlg_val *next;
} dlg_val;

/* ---- legs */

typedef struct dlg_leg {
    pl_str tag;
    pl_str contact;     /* remote target: the leg's Contact URI */
    pl_str route;       /* route set toward this leg, Route values comma-separated */
    uint32_t cseq_to;   /* the last CSeq of a request sent toward this leg */
    uint32_t cseq_from; /* the last CSeq of a request from this leg */
    uint32_t inv_cseq;  /* the CSeq of the last INVITE from this leg (its ACK has it) */
    uint32_t branch;    /* callee legs: the proxy branch it answered on */
    pl_target *src;     /* where it sends from, kept for a stream (TCP, TLS) only */
    bool ping_pending;
} dlg_leg;

/* ---- a dialog */

struct pl_dlg {
    uint64_t id;
    uint32_t hash;
    pl_dlg_table *t;
    pl_dlg *hnext, *hprev; /* bucket chain */
    pl_dlg_state state;
    uint32_t flags;
    int ref;
    bool in_table; /* the table's reference is held */
    bool unlinked;
    bool confirmed_fired, early_fired, ended, has_bye, cancelled, loaded;
    bool loading; /* inside pl_dlg_restore: no on_change */
    bool stored;  /* reported to on_change as confirmed (or loaded): a DELETED is owed */
    pl_str call_id, from_uri, to_uri;
    dlg_leg *legs; /* [0] the caller, [1..] callee legs */
    uint32_t nlegs, caplegs;
    uint32_t primary; /* the callee leg of the first 2xx, 0: none */
    pl_preq *ireq;    /* the initial INVITE while its context lives */
    uint32_t lifetime_s, ping_interval_s;
    uint64_t created_ms, confirmed_ms, expires_ms;
    pl_timer t_life;   /* early timeout (1-2), lifetime (3-4), delete delay (5) */
    pl_timer t_aux;    /* no-ACK (3), pings (4) */
    pl_str end_reason; /* static, or malloc'd when end_reason_owned */
    bool end_reason_owned;
    dlg_cb *cbs;
    dlg_val *vals;
    plink *links;
};

/* A request the dialog module sent (BYE, ping): its link back, cleared if
 * the table goes first. */
typedef struct ticket {
    pl_dlg *d;
    uint32_t leg;
    bool ping;
    struct ticket *prev, *next;
} ticket;

/* What a request context carries for the dialog module (its ctx slot). */
typedef struct req_ctx {
    pl_dlg *d;
    pl_preq *r;
    struct req_ctx *prev, *next; /* the table's list */
    pl_dlg_dir dir;
    uint32_t leg;       /* the leg it came from */
    uint32_t to;        /* the leg it goes to (0: the caller, or unknown downstream) */
    uint32_t prev_cseq; /* the CSeq from that leg before this request */
    bool initial;       /* the dialog's initial INVITE */
} req_ctx;

typedef struct job {
    void (*fn)(void *arg);
    void *arg;
    struct job *next;
} job;

struct pl_dlg_table {
    pl_dlg_module *m;
    unsigned index;
    pl_proxy *p;
    pl_wheel *wheel;
    int slot;
    pl_dlg **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
    ticket *tickets;
    req_ctx *ctxs;
    /* Jobs for a module with no post function. */
    pthread_mutex_t jobs_lock;
    job *jobs, *jobs_last;
};

struct pl_dlg_module {
    pl_dlg_config cfg;
    char rr_param[33];
    size_t rr_param_len;
    char *extra_headers;
    pl_dlg_table **tables;
    _Atomic(dlg_cb *) global_cbs;
    pthread_mutex_t cb_lock;
    _Atomic(pl_dlg_profile *) profiles[MAX_PROFILES];
    atomic_size_t nprofiles;
    atomic_uint cb_types; /* every type a callback was ever registered for */
    pthread_mutex_t prof_lock;
    atomic_uint_fast32_t next_id;
    /* statistics */
    atomic_int_fast64_t st_active, st_early, st_live;
    atomic_uint_fast64_t st_processed, st_expired, st_failed, st_terminated;
};

/* dialog.c */
/* A new dialog's memory and timers (not linked yet). */
pl_dlg *pl__dlg_alloc(pl_dlg_table *t, uint32_t hash, uint64_t id);
/* Free a dialog never linked (no callbacks). */
void pl__dlg_discard(pl_dlg *d);
/* Link d into t with the table's reference. */
void pl__dlg_link(pl_dlg_table *t, pl_dlg *d);
uint32_t pl__dlg_add_leg(pl_dlg *d);
void pl__dlg_ref(pl_dlg *d);
void pl__dlg_unref(pl_dlg *d);
void pl__dlg_fire(pl_dlg *d, uint32_t type, const pl_msg *msg, pl_dlg_dir dir, uint32_t leg);
void pl__dlg_logf(const pl_dlg_table *t, pl_proxy_log_level lvl, pl_str call_id, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));
uint64_t pl__dlg_now(const pl_dlg_table *t);
void pl__dlg_set_reason(pl_dlg *d, pl_str reason, bool copy);
/* Move d to DELETED as its end: stats, profiles dropped, the table's reference released. */
void pl__dlg_delete(pl_dlg *d, uint32_t cb_type, const pl_msg *msg, pl_dlg_dir dir, uint32_t leg);
void pl__dlg_arm_life(pl_dlg *d, uint64_t ms);
/* Tell the store hook (confirmed dialogs only). */
void pl__dlg_changed(pl_dlg *d, pl_dlg_change what);

/* Run fn(arg) on table index's thread, later (never inside the caller). */
void pl__dlg_post(pl_dlg_module *m, unsigned index, void (*fn)(void *), void *arg);
void pl__dlg_replay_loaded(pl_dlg_module *m, dlg_cb *c);

/* end.c: termination, pings, timers */
int pl__dlg_send_bye(pl_dlg *d, uint32_t leg, pl_str hdrs);
void pl__dlg_ping_timer(pl_timer *tm, void *arg);
void pl__dlg_life_timer(pl_timer *tm, void *arg);
void pl__dlg_start_pings(pl_dlg *d);

/* profile.c */
void pl__dlg_profiles_drop(pl_dlg *d);
void pl__dlg_profiles_free(pl_dlg_module *m);

/* value.c */
void pl__dlg_values_free(pl_dlg *d);

#endif
