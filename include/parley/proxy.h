/*
 * parley/proxy.h - the RFC 3261 section 16 proxy core and the registrar
 * (section 10), on the transaction layer, with no I/O of its own.
 *
 * A pl_proxy takes received bytes (pl_proxy_receive), runs request
 * validation (16.3) and route preprocessing (16.4) itself, and hands each
 * request that survives them to its router (a Lua script, or C code) as a
 * pl_preq: the request's response context (16.7). The router answers it
 * (pl_preq_reply), or names targets (pl_preq_add_target) and forwards
 * (pl_preq_forward). The proxy then does the rest of section 16: a client
 * transaction per branch with a copy of the request (16.6: Request-URI,
 * Max-Forwards, Record-Route, Via with a branch stable for
 * retransmissions, Route and strict-router handling), responses collected
 * and the best forwarded (16.7: provisional and 2xx at once, 6xx stops
 * the others, 503 becomes 500, 401/407 challenges merged), CANCEL
 * (16.10), Timer C (16.8), parallel forking and serial forking by q.
 *
 * ACKs for 2xx and responses that match no transaction are forwarded
 * statelessly (16.11); an ACK goes through the router too (with no server
 * transaction: pl_preq_reply is refused).
 *
 * Observers (the dialog module) see every step through pl_proxy_observe()
 * and keep their own data on a request in a context slot. The proxy can
 * also send requests of its own (pl_proxy_request: a BYE, a ping) and
 * cancel an INVITE on its own decision (pl_preq_cancel).
 *
 * Single-threaded: one pl_proxy per worker, called from the thread that
 * advances its wheel. The location table (pl_location) is shared by all
 * workers and thread-safe.
 */
#ifndef PARLEY_PROXY_H
#define PARLEY_PROXY_H

#include <parley/dns.h>
#include <parley/msg.h>
#include <parley/net.h>
#include <parley/timer.h>
#include <parley/txn.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pl_proxy pl_proxy;
typedef struct pl_preq pl_preq;
typedef struct pl_location pl_location;

/* ------------------------------------------------------------ location table */

/* One registered contact, as lookup returns it (memory from the caller's arena). */
typedef struct pl_binding {
    pl_str contact; /* the Contact URI, without angle brackets or header parameters */
    pl_str path;    /* the Path values (RFC 3327), comma-separated, or empty */
    pl_str call_id;
    uint32_t cseq;
    uint16_t q;          /* q-value times 1000; 1000 when not given */
    uint64_t expires_ms; /* absolute, on the clock passed to the calls below */
    pl_target source;    /* where the REGISTER came from */
    pl_str user_agent;
} pl_binding;

typedef struct pl_location_config {
    uint32_t min_expires;     /* shorter asked expiry: 423 with Min-Expires, default 60 */
    uint32_t max_expires;     /* longer ones are cut to this, default 86400 */
    uint32_t default_expires; /* no expires parameter nor Expires header, default 3600 */
    uint32_t max_contacts;    /* per address of record, default 16 (more: 500) */
    uint32_t max_aors;        /* addresses of record in all, default 1000000 */
    /*
     * Optional: told of every change of a binding, e.g. to write the table
     * through a store (pl_store_binding_put/_del). removed false: b was
     * added or refreshed by pl_location_save(); true: b is gone (a
     * REGISTER removed it, or it expired in any call, or
     * pl_location_remove() or pl_location_expire() dropped it). b's
     * strings are valid during the call only. Called with the AOR's shard
     * locked, so the calls for an AOR come in the order of its changes
     * whatever the threads: do not call back into the table, and be quick.
     * pl_location_restore() does not call it.
     */
    void (*on_change)(const char *aor, const pl_binding *b, bool removed, void *user);
    void *hook_user;
} pl_location_config;

/* A table, or NULL. Thread-safe: sharded, one lock per shard. */
pl_location *pl_location_new(const pl_location_config *cfg);
void pl_location_free(pl_location *loc);

/*
 * The address of record of a URI (RFC 3261 10.3 step 5): "sip:user@host"
 * (scheme, unescaped user, lower-case host, port when given), every
 * parameter dropped. Writes a NUL-terminated string into out. Returns
 * PL_OK, PL_EINVAL (not a sip/sips URI) or PL_ENOSPC.
 */
int pl_location_aor(const pl_uri *uri, char *out, size_t cap);

/*
 * Register, refresh or remove the bindings of one REGISTER (RFC 3261
 * 10.3 steps 5 to 8) at now_ms. Returns the status to answer: 200 (then
 * the response lists every binding), 423 (*min_expires set), 400 (a
 * malformed Contact, "*" with other contacts or a non-zero expiry), 500
 * (an out-of-order CSeq for the same Call-ID, or too many contacts), 403
 * (the table is full).
 */
uint16_t pl_location_save(pl_location *loc, const pl_msg *reg, const pl_target *src,
                          uint64_t now_ms, uint32_t *min_expires);

/*
 * The live bindings of aor (as pl_location_aor() writes it), best q first,
 * at most cap of them, memory from arena. Returns how many there are (can
 * be more than cap).
 */
size_t pl_location_lookup(pl_location *loc, const char *aor, uint64_t now_ms, pl_arena *arena,
                          pl_binding *out, size_t cap);

/* Remove one binding (contact non-empty) or every binding of aor. Returns PL_OK or PL_ENOTFOUND. */
int pl_location_remove(pl_location *loc, const char *aor, pl_str contact);

/*
 * Put back a binding as a store kept it, after a restart: no REGISTER, and
 * the on_change hook is not called. b->expires_ms is on this table's clock
 * (the caller converts from the stored Unix time); the strings are
 * copied. A binding of aor with the same contact (RFC 3261 19.1.4
 * comparison) is replaced. Returns PL_OK, PL_EINVAL (a contact that does
 * not parse), PL_ELIMIT (max_contacts or max_aors reached), PL_ENOMEM.
 */
int pl_location_restore(pl_location *loc, const char *aor, const pl_binding *b);

/* Drop bindings that expired by now_ms; returns how many. */
size_t pl_location_expire(pl_location *loc, uint64_t now_ms);

/* Every live binding, for listings: fn is called with the AOR and the binding (under the shard's
 * lock: do not call back into loc). */
void pl_location_walk(pl_location *loc, uint64_t now_ms,
                      void (*fn)(const char *aor, const pl_binding *b, void *arg), void *arg);

typedef struct pl_location_stats {
    size_t aors;
    size_t bindings;
} pl_location_stats;
void pl_location_get_stats(pl_location *loc, pl_location_stats *out);

/* ------------------------------------------------------------ the proxy */

typedef enum pl_proxy_log_level {
    PL_PROXY_LOG_ERROR = 1,
    PL_PROXY_LOG_WARN,
    PL_PROXY_LOG_INFO,
    PL_PROXY_LOG_DEBUG,
} pl_proxy_log_level;

/* A log line; call_id may be empty. */
typedef void (*pl_proxy_log_cb)(pl_proxy_log_level level, pl_str call_id, const char *line,
                                void *user);

/*
 * The router: the routing logic (a script, or C code). on_request must
 * settle the request, at once or later from the loop: pl_preq_reply() or
 * pl_preq_forward(). A request left unsettled when on_request returns
 * waits; one never settled is answered by Timer C or the transaction's
 * own limits. on_reply sees each response of a branch before the proxy
 * acts on it (the response may be edited). on_failure runs once every
 * branch has a final response and none is a 2xx, before the best one is
 * sent upstream, with that best response (a branch that ended without one
 * of its own, by Timer C or an unreachable next hop, is shown as a
 * response made from the request, marked synthesized): the router may add
 * targets and forward again (serial forking, failover), or reply, or
 * leave it (the best response goes up).
 * Any of them may be NULL: a NULL on_request forwards every request to its
 * Request-URI (with Route handling).
 */
typedef struct pl_proxy_router {
    void (*on_request)(pl_proxy *p, pl_preq *r, void *arg);
    void (*on_reply)(pl_proxy *p, pl_preq *r, uint32_t branch, pl_msg *resp, void *arg);
    void (*on_failure)(pl_proxy *p, pl_preq *r, const pl_msg *best, void *arg);
    void *arg;
} pl_proxy_router;

/* Events for observers (the dialog module, statistics). */
typedef enum pl_proxy_event {
    PL_PROXY_EV_REQUEST_IN = 1 << 0,        /* a request reached the router (msg: the request) */
    PL_PROXY_EV_REQUEST_FORWARDED = 1 << 1, /* a branch was sent (msg: the request as sent) */
    PL_PROXY_EV_REPLY_RECEIVED = 1 << 2,    /* a response on a branch (msg: the response) */
    PL_PROXY_EV_REPLY_FORWARDED = 1 << 3,   /* a response went upstream (msg: as sent) */
    PL_PROXY_EV_CANCELLED = 1 << 4,         /* a CANCEL for this request came (msg: the CANCEL) */
    PL_PROXY_EV_DELETED = 1 << 5,           /* the context is freed (msg: NULL) */
    PL_PROXY_EV_REPLIED = 1 << 6, /* the proxy or the router answered it (msg: the response) */
} pl_proxy_event;

/* branch is the branch index, or UINT32_MAX when the event has none. An
 * observer may read the request and the message, and set its context
 * slot; it must not reply, forward or add targets from inside an event
 * (the router does that), but it may cancel (pl_preq_cancel) this request
 * or another, and send requests of its own (pl_proxy_request). The
 * context is held during the call. */
typedef void (*pl_proxy_event_cb)(pl_proxy *p, pl_preq *r, pl_proxy_event ev, uint32_t branch,
                                  const pl_msg *msg, void *arg);

/* One address the proxy listens on, as it puts it in Via and Record-Route. */
typedef struct pl_proxy_local {
    pl_target target; /* transport and bound address */
    char host[64];    /* the host to advertise (empty: the address itself) */
} pl_proxy_local;

#define PL_PROXY_MAX_LOCALS  16
#define PL_PROXY_MAX_ALIASES 16
#define PL_PROXY_CTX_SLOTS   8

typedef struct pl_proxy_config {
    pl_wheel *wheel;
    pl_sender *sender;
    pl_dns *dns;           /* name lookups; NULL: numeric hosts only (a name: 503) */
    pl_location *location; /* for pl_preq_save and pl_preq_lookup; may be NULL */
    pl_txn_timers timers;
    pl_msg_limits limits;
    pl_proxy_local locals[PL_PROXY_MAX_LOCALS];
    size_t n_locals;
    /* Host names (and "host:port") that are this proxy too: a Route or a
     * Request-URI naming one is ours (16.4). */
    char aliases[PL_PROXY_MAX_ALIASES][64];
    size_t n_aliases;
    uint32_t timer_c_ms;   /* 16.8, default 180000; at least 180000 per the RFC */
    uint32_t max_branches; /* per request, default 16 */
    bool loop_detect;      /* 482 on a loop (16.3 step 4), default off as the RFC allows */
    uint32_t max_forwards; /* put in a request without one, default 70 */
    const char *server;    /* Server header of the proxy's own answers, or NULL */
    pl_proxy_router router;
    pl_proxy_log_cb log;          /* NULL: stderr */
    pl_proxy_log_level log_level; /* 0: warnings */
    void *user;
} pl_proxy_config;

pl_proxy *pl_proxy_new(const pl_proxy_config *cfg);
/*
 * Free the proxy, its transaction layer and every request context. First
 * every request of the proxy's own (pl_proxy_request) still waiting gets
 * its callback, once: with the final response already chosen if there is
 * one, else a synthesized 503 (pl_proxy_request is refused from there
 * on); then the contexts go (DELETED events are raised).
 */
void pl_proxy_free(pl_proxy *p);
pl_txn_layer *pl_proxy_txn_layer(pl_proxy *p);
void *pl_proxy_user(const pl_proxy *p);
/* The config's wheel: the clock the proxy's timers run on (for the dialog module's own). */
pl_wheel *pl_proxy_wheel(const pl_proxy *p);
/*
 * True when uri names this proxy: one of its locals (address and port,
 * after RFC 3263's choice of port and transport, no lookup) or an alias
 * (16.4's question). The dialog module drops such entries from a learned
 * route set.
 */
bool pl_proxy_uri_local(const pl_proxy *p, const pl_uri *uri);

/* Change the router (a script reload). Requests in progress keep running with the new one. */
void pl_proxy_set_router(pl_proxy *p, const pl_proxy_router *router);

/* Received bytes, as pl_txn_receive takes them. */
int pl_proxy_receive(pl_proxy *p, const char *buf, size_t len, const pl_target *src,
                     pl_framing framing);
/* A transport says dst is unreachable (see pl_txn_transport_error). */
void pl_proxy_transport_error(pl_proxy *p, const pl_target *dst);

/* Observe events in mask with cb; returns PL_OK or PL_ENOMEM. */
int pl_proxy_observe(pl_proxy *p, uint32_t mask, pl_proxy_event_cb cb, void *arg);
/* Stop observing (every registration of cb with arg); not from inside an event. */
void pl_proxy_unobserve(pl_proxy *p, pl_proxy_event_cb cb, void *arg);
/* A context slot for an observer's data on each request (0..PL_PROXY_CTX_SLOTS-1), or PL_ELIMIT. */
int pl_proxy_ctx_slot(pl_proxy *p);

typedef struct pl_proxy_stats {
    uint64_t requests;          /* requests handed to the router */
    uint64_t forwarded;         /* branches sent */
    uint64_t stateless;         /* messages forwarded statelessly (ACK for 2xx, stray responses) */
    uint64_t replied_local;     /* final responses the proxy or the router made */
    uint64_t replies_forwarded; /* responses sent upstream */
    uint64_t cancelled;         /* CANCELs matched to a request */
    uint64_t timer_c;           /* branches ended by Timer C */
    uint64_t bad;               /* requests refused by 16.3 */
    uint64_t local_requests;    /* requests of the proxy's own (pl_proxy_request) */
    size_t live;                /* request contexts alive (those of local requests too) */
} pl_proxy_stats;
void pl_proxy_get_stats(const pl_proxy *p, pl_proxy_stats *out);

/*
 * The final response to a request the proxy made (pl_proxy_request):
 * received, or made here (resp->synthesized set): 408 when the
 * transaction timed out, 503 when the next hop is unreachable (no address,
 * a transport error) or on pl_proxy_free, 416 or 400 when the next hop's
 * URI cannot be used, 500 when the request cannot be built. resp carries
 * the proxy's Via on top and is valid during the call only (NULL only when
 * memory ran out even for a made one).
 */
typedef void (*pl_proxy_request_cb)(pl_proxy *p, const pl_msg *resp, void *arg);

/*
 * Send a request of the proxy's own (any method but INVITE, ACK and
 * CANCEL: the dialog module's BYE, an in-dialog OPTIONS ping). req holds
 * its Request-URI, From, To, Call-ID, CSeq, Max-Forwards (cfg.max_forwards,
 * 70, put in when absent; never decremented), Route set and body; any Via
 * it carries is dropped. The proxy copies it, adds its own Via (and
 * Content-Length when it has none), handles a Route set as for
 * a forwarded request (16.6 steps 6 and 7: loose, or a strict router as
 * next hop gets itself as Request-URI), runs one client transaction and
 * calls cb exactly once with the final response, never from inside this
 * call (provisional responses are not reported). dst, if not NULL, is
 * where to send it, with no lookup; else the next hop is the first Route
 * or the Request-URI (with DNS when the config has a resolver). No
 * Record-Route is added. The router never sees it, nor does an observer's
 * REQUEST_IN; the other events may fire (pl_preq_local tells them).
 * Returns PL_OK, PL_EINVAL (not a request, a method not allowed, no From,
 * To, Call-ID or CSeq, or a CSeq method that is not the request's),
 * PL_ESTATE (inside pl_proxy_free), PL_ENOMEM.
 */
int pl_proxy_request(pl_proxy *p, const pl_msg *req, const pl_target *dst, pl_proxy_request_cb cb,
                     void *arg);

/* Log through the proxy's log callback (the router's logging). */
void pl_proxy_log(const pl_proxy *p, pl_proxy_log_level level, pl_str call_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ------------------------------------------------------------ a request in the proxy */

/*
 * The request as it will be forwarded: the proxy's own copy, which the
 * router may edit (headers, Request-URI). For an ACK or a request the
 * proxy already answered, still readable.
 */
pl_msg *pl_preq_msg(pl_preq *r);
/* True when the Request-URI names this proxy (a local address or an alias). */
bool pl_preq_ruri_local(const pl_preq *r);
/* Where it came from. */
const pl_target *pl_preq_source(const pl_preq *r);
pl_proxy *pl_preq_proxy(const pl_preq *r);
/* True for a request with no server transaction (an ACK): no reply possible. */
bool pl_preq_stateless(const pl_preq *r);
/* True for a request the proxy made itself (pl_proxy_request): observers may skip it. */
bool pl_preq_local(const pl_preq *r);

/*
 * True when the request came with a Route set to follow (16.4): a Route
 * naming this proxy was removed, or Route values remain, so it goes to
 * the next Route and not by its Request-URI. This is how a script tells
 * an in-dialog request routed by Record-Route from a new one.
 */
bool pl_preq_loose_route(const pl_preq *r);
/* The params of the Route entry of ours that 16.4 removed (e.g. ";lr;did=..."), or empty. */
pl_str pl_preq_own_route_params(const pl_preq *r);

/*
 * Answer the request with a final or provisional response (code 100..699,
 * reason empty: the standard phrase; extra: n pairs of name and value).
 * A final answer settles the request and cancels any branch still
 * pending. PL_ESTATE when already settled with a final response,
 * PL_EINVAL for an ACK.
 */
int pl_preq_reply(pl_preq *r, uint16_t code, pl_str reason, const pl_str *extra, size_t n);

/*
 * Insert this proxy's Record-Route when the request is forwarded (16.6
 * step 4): "<sip:HOST:PORT;lr" + params + ">" (";transport=tcp", "tls"...
 * before ";lr" when the local is not UDP), two of them when
 * the request leaves by another transport or address family than it came
 * in. params (empty, or ";did=abc", one or more ";name[=value]") goes into
 * each. Calls accumulate: non-empty params are appended to those of the
 * calls before, so the dialog module's ";did=..." and a script's own
 * parameters both end up there, whichever comes first. Returns PL_OK,
 * PL_EINVAL (params not starting with ';', or holding '>', ',', CR or LF;
 * nothing changed), PL_ELIMIT (more than 256 bytes of params in all),
 * PL_ENOMEM.
 */
int pl_preq_record_route(pl_preq *r, pl_str params);

/*
 * Cancel an INVITE on the proxy's own decision, as a received CANCEL
 * would (16.10): branches that had a provisional response get a CANCEL
 * at once, the others as soon as one comes (9.1); no new branch starts
 * (no further serial group, no on_failure); the best response (the 487s
 * that come back) goes upstream. A request not forwarded yet is answered
 * 487 now. r is marked cancelled, but no PL_PROXY_EV_CANCELLED is raised
 * (that event means a CANCEL arrived). Safe from inside an observer event
 * or a router callback (of this request or another) and from a timer.
 * Returns PL_OK, or PL_ESTATE (not an INVITE, a final response already
 * sent, no server transaction, or the context is going).
 */
int pl_preq_cancel(pl_preq *r);

/*
 * Add a target (a branch to be): uri becomes the branch's Request-URI
 * (empty: the request's current one); route, if not empty, is a list of
 * Route values put on top (a registered Path); q orders serial forking
 * (1000 = q 1.0; higher first, equal q in parallel). dst, if not NULL,
 * is where to send it, with no lookup.
 */
int pl_preq_add_target(pl_preq *r, pl_str uri, pl_str route, uint16_t q, const pl_target *dst);

/*
 * Send the targets added since the last forward (with none: one branch to
 * the Route set or the Request-URI). Returns PL_OK (sent, or lookups
 * started), PL_ESTATE (already answered), PL_ELIMIT (max_branches), or
 * PL_EINVAL. For an ACK this forwards statelessly.
 */
int pl_preq_forward(pl_preq *r);

/* Registrar: save a REGISTER into the config's location table and answer it (200, 423, 400, 500).
 */
int pl_preq_save(pl_preq *r);
/*
 * Look the Request-URI up in the location table and add one target per
 * binding (its contact as Request-URI, its Path as Route, its q).
 * Returns how many, 0 when the AOR has no binding (the router answers
 * 404 then).
 */
int pl_preq_lookup(pl_preq *r);

/* Context slots for observers and the script. */
void pl_preq_set_ctx(pl_preq *r, int slot, void *data);
void *pl_preq_ctx(const pl_preq *r, int slot);

/* The number of branches so far, and one branch's request as sent (NULL if none yet). */
uint32_t pl_preq_branches(const pl_preq *r);
const pl_msg *pl_preq_branch_request(const pl_preq *r, uint32_t branch);
/* The final status answered upstream so far (0: none). */
uint16_t pl_preq_final_status(const pl_preq *r);

#ifdef __cplusplus
}
#endif
#endif
