/*
 * proxy_int.h - the proxy core's private structures, shared by its files:
 * the proxy (config, transaction layer, observers, live request contexts),
 * the request context (16.7's response context) and its branches.
 */
#ifndef PARLEY_PROXY_INT_H
#define PARLEY_PROXY_INT_H

#include <parley/proxy.h>

#define MAX_OBSERVERS 8

typedef enum branch_state {
    BR_WAITING,   /* added, not sent yet (a later serial group, or before forward) */
    BR_RESOLVING, /* its next hop is being looked up */
    BR_RUNNING,   /* a client transaction is out */
    BR_DONE,      /* a final response (received, or made: 408 by Timer C, 503) */
} branch_state;

typedef struct branch {
    pl_preq *r;
    uint32_t idx;
    branch_state state;
    pl_str uri;   /* Request-URI for this branch (in r->arena), empty: the request's */
    pl_str route; /* Route values to put on top, or empty */
    uint16_t q;
    bool has_dst;
    pl_target dst;
    pl_txn *ct;
    struct dns_wait *wait; /* the lookup in progress (BR_RESOLVING), or NULL */
    bool provisional;      /* a 101-199 came: a CANCEL may be sent (9.1) */
    bool cancel_wanted;
    bool cancel_sent;
    /* An INVITE branch that got a 2xx: its transaction reports 2xx
     * retransmissions for 64*T1 (RFC 6026 Timer M), so the context stays. */
    bool accepted;
    uint16_t status; /* final status, 0 while none */
    /* A 3xx-6xx final response, kept for 16.7's choice: bytes and parse. */
    char *resp_buf;
    pl_msg resp;
    pl_arena resp_arena;
    pl_timer timer_c;
} pl_branch_;
typedef pl_branch_ branch;

struct pl_preq {
    pl_proxy *p;
    pl_txn *st; /* NULL for an ACK, or once the server transaction ended */
    bool stateless;
    pl_target src;
    /* The request as it will be forwarded: a copy of its bytes, parsed. */
    char *buf;
    pl_msg msg;
    pl_arena arena;
    /* State. */
    bool forwarded;  /* a branch was ever started (or the ACK sent) */
    bool final_sent; /* a final response went upstream */
    uint16_t final_status;
    bool cancelled;
    bool got_6xx;
    bool got_2xx;
    bool in_failure; /* inside on_failure */
    bool record_route;
    pl_str rr_params;
    bool loose;
    pl_str own_route_params;
    char loop[17]; /* 16.6 step 8: the loop-detection hash of the request as received */
    branch **br;
    uint32_t nbr;
    uint32_t capbr;
    void *ctx[PL_PROXY_CTX_SLOTS];
    pl_timer t_settle; /* the router must settle within Timer C */
    /* Work put off until no callback holds the context: a local request's
     * report, or the check after a pl_preq_cancel made inside one. */
    pl_timer t_later;
    int busy; /* inside a callback: not freed until it returns */
    bool freeing;
    /* A request of the proxy's own (pl_proxy_request): no server
     * transaction, no router; its final response goes to cb, once
     * (reported), from t_later. */
    bool local;
    bool reported;
    pl_proxy_request_cb cb;
    void *cb_arg;
    char tag[12];        /* random: unique branches for requests alike */
    uint16_t rep_status; /* the final to report (0: none chosen yet) */
    char *rep_buf;       /* a received final response kept to report, or NULL: made */
    pl_msg rep;
    pl_arena rep_arena;
    pl_preq *prev, *next;
};

typedef struct observer {
    uint32_t mask;
    pl_proxy_event_cb cb;
    void *arg;
} observer;

struct pl_proxy {
    pl_proxy_config cfg;
    pl_txn_layer *layer;
    pl_proxy_stats stats;
    observer obs[MAX_OBSERVERS];
    size_t nobs;
    int nslots;
    pl_preq *live;
    /* "host:port" of each local, as Via and Record-Route print it. */
    char hostport[PL_PROXY_MAX_LOCALS][80];
    size_t hostport_len[PL_PROXY_MAX_LOCALS];
    bool freeing; /* inside pl_proxy_free: no new local requests */
};

/* A lookup's link to its branch: the branch may go before the lookup
 * answers (its context freed, the proxy freed), so the resolver gets this
 * and the branch clears it when it goes. */
typedef struct dns_wait {
    struct branch *b; /* NULL: nobody waits any more */
} dns_wait;

/* A copy of m that outlives it, in one malloc'd block (returned; NULL when
 * out of memory): its bytes, then its views in arena, spare bytes more. */
char *pl__proxy_keep(pl_msg *dst, pl_arena *arena, const pl_msg *m, size_t spare);

/* RFC 3261 16.6 step 9 / 18.3: a message bound for a stream needs a
 * Content-Length; add one (the body's length) when it has none. */
int pl__proxy_content_length(pl_msg *m, const pl_target *dst);
/* v with its folds (CRLF + blanks) made one space, into buf; for header
 * values copied into new lines. */
pl_str pl__proxy_unfold(pl_str v, char *buf, size_t cap);

/* proxy.c */
void pl__proxy_emit(pl_proxy *p, pl_preq *r, pl_proxy_event ev, uint32_t branch, const pl_msg *m);
void pl__proxy_logf(const pl_proxy *p, pl_proxy_log_level lvl, pl_str call_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A clone of m whose header array is its own (in arena), for edits that
 * must not touch m. The bytes stay m's. */
int pl__msg_clone(pl_msg *out, const pl_msg *m, pl_arena *arena);
/* A new context for req (its own copy), in the proxy's live list; st NULL: stateless. */
pl_preq *pl__preq_new(pl_proxy *p, pl_txn *st, const pl_msg *req, const pl_target *src);
/* Free r when nothing holds it any more. */
void pl__preq_maybe_free(pl_preq *r);

/* validate.c: 16.3 and 16.4, and what is ours. */
bool pl__proxy_uri_local(const pl_proxy *p, const pl_uri *uri);
/* Run 16.3 on r: returns 0 to go on, or the status answered. */
uint16_t pl__proxy_validate(pl_preq *r);
void pl__proxy_preprocess_routes(pl_preq *r);
/* The loop-detection part of a branch (16.6 step 8): 16 hex digits. */
void pl__proxy_loop_hash(const pl_msg *m, char out[17]);
/* The local that fits a target (transport and family), or NULL. */
const pl_proxy_local *pl__proxy_local_for(const pl_proxy *p, const pl_target *t);
/* "host:port" of a local, as it goes into Via and Record-Route. */
size_t pl__proxy_local_hostport(const pl_proxy_local *l, char *out, size_t cap);
/* The same, computed once by pl_proxy_new. */
pl_str pl__proxy_hostport(const pl_proxy *p, const pl_proxy_local *l);

/* forward.c */
int pl__preq_start_group(pl_preq *r);
/* Put branch idx's Via (toward dst) on top of m. */
int pl__preq_add_via(const pl_preq *r, uint32_t idx, pl_msg *m, const pl_target *dst);
int pl__branch_cancel(branch *b);
void pl__proxy_forward_stray_response(pl_proxy *p, const pl_msg *resp);
/* Send a response on by its second Via, with no transaction (its top Via removed here). */
int pl__proxy_send_response_stateless(pl_proxy *p, const pl_msg *resp);

/* response.c */
void pl__branch_response(pl_txn *ct, const pl_msg *resp, bool final, void *arg);
void pl__preq_cancel_pending(pl_preq *r);
/* Every branch of the current groups is done: next group, on_failure, or the best response. */
void pl__preq_check_done(pl_preq *r);
int pl__preq_send_upstream(pl_preq *r, const pl_msg *resp, bool strip_via);
void pl__branch_timer_c(pl_timer *t, void *arg);

/* local.c: requests of the proxy's own */
/* The final response of a local request is known: resp (received, kept),
 * or NULL and status (made at delivery); reported from t_later. */
void pl__local_final(pl_preq *r, const pl_msg *resp, uint16_t status);
/* Call cb now with what was chosen (or a made status when nothing was). */
void pl__local_deliver(pl_preq *r, uint16_t status);

#endif
