/*
 * parley/txn.h - RFC 3261 section 17 transactions, on a timing wheel and a
 * pl_sender, with no I/O of their own.
 *
 * The layer takes received bytes in (pl_txn_receive), matches them to a
 * transaction or creates one, and hands its user (a UA core or a proxy) new
 * requests and the responses of its client transactions. Retransmissions,
 * absorbing of retransmitted requests, the ACK of a non-2xx final response,
 * 100 Trying and every timer (A B D E F G H I J K, and L and M of RFC 6026)
 * are the layer's. Timeouts and transport failures reach the user as a
 * synthesized 408 or 503 response, so a user always gets a message.
 *
 * Single-threaded: call everything from the thread that advances the wheel.
 * Callbacks never run from inside the call that caused them, except
 * pl_txn_receive() and pl_wheel_advance(), whose whole job is to deliver.
 */
#ifndef PARLEY_TXN_H
#define PARLEY_TXN_H

#include <parley/msg.h>
#include <parley/net.h>
#include <parley/timer.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pl_txn_layer pl_txn_layer;
typedef struct pl_txn pl_txn;

typedef enum pl_txn_kind {
    PL_TXN_CLIENT_INVITE,
    PL_TXN_CLIENT_NON_INVITE,
    PL_TXN_SERVER_INVITE,
    PL_TXN_SERVER_NON_INVITE,
} pl_txn_kind;

typedef enum pl_txn_state {
    PL_TXN_CALLING,    /* client INVITE, request sent */
    PL_TXN_TRYING,     /* non-INVITE, no response yet */
    PL_TXN_PROCEEDING, /* a provisional response seen or sent */
    PL_TXN_COMPLETED,  /* a final response (non-2xx for INVITE) */
    PL_TXN_CONFIRMED,  /* server INVITE: the ACK came */
    PL_TXN_ACCEPTED,   /* INVITE, 2xx (RFC 6026): absorbing retransmissions */
    PL_TXN_TERMINATED,
} pl_txn_state;

/* Timer values in milliseconds (RFC 3261 table 4). Zero fields: defaults. */
typedef struct pl_txn_timers {
    uint32_t t1; /* RTT estimate, default 500 */
    uint32_t t2; /* maximum non-INVITE retransmit interval, default 4000 */
    uint32_t t4; /* time a message stays in the network, default 5000 */
    /* INVITE server: a 100 Trying when the user is silent this long, default 200. */
    uint32_t trying_ms;
    /* INVITE server: when the user has sent no final response this long, the
     * layer answers 408 itself. 0 (the default): wait for the user, as a
     * proxy does (its Timer C, RFC 3261 16.8, is the proxy core's). A
     * non-INVITE server transaction with no final response ends silently
     * after 64*T1, when its client has given up (17.1.2.2). */
    uint32_t invite_answer_ms;
} pl_txn_timers;

/*
 * A new request for the user: a new server transaction st (answer it with
 * pl_txn_respond). For a CANCEL, st is the CANCEL's own transaction and
 * pl_txn_cancelled(st) the INVITE transaction it matched (RFC 3261 9.2): the
 * user answers the CANCEL 200 and the INVITE 487. A CANCEL that matches no
 * INVITE transaction is the layer's alone: answered 481, not reported. The
 * message is valid during the callback.
 */
typedef void (*pl_txn_request_cb)(pl_txn_layer *layer, pl_txn *st, const pl_msg *req,
                                  const pl_target *src, void *user);

/*
 * A message no transaction takes: an ACK for a 2xx (RFC 3261 17.2.3, 13.3.1.4),
 * or a response that matches no client transaction (a proxy forwards it
 * statelessly, 16.7; a UA drops it, or, for a retransmitted 2xx, re-sends
 * its ACK). Valid during the callback.
 */
typedef void (*pl_txn_stray_cb)(pl_txn_layer *layer, const pl_msg *msg, const pl_target *src,
                                void *user);

/*
 * A server transaction ended: its final response was acknowledged or timed
 * out, or no final response was ever given. timed_out is true for Timer H
 * (the ACK never came). After this call the handle is gone.
 */
typedef void (*pl_txn_done_cb)(pl_txn_layer *layer, pl_txn *st, bool timed_out, void *user);

typedef struct pl_txn_config {
    pl_wheel *wheel;
    pl_sender *sender;
    pl_txn_timers timers;
    pl_msg_limits limits; /* for parsing received messages */
    bool detect_merged;   /* 482 for merged requests (RFC 3261 8.2.2.2): a UAS, not a proxy */
    /* RFC 3261 18.1.1: a request to a UDP target larger than this goes over
     * TCP instead (same address and port, top Via changed to TCP). 0: 1300,
     * the RFC's figure for an unknown path MTU; SIZE_MAX: never switch. */
    size_t udp_max;
    pl_txn_request_cb on_request;
    pl_txn_stray_cb on_stray;
    pl_txn_done_cb on_server_done; /* may be NULL */
    void *user;
} pl_txn_config;

/* A layer, or NULL when out of memory or the config lacks wheel or sender. */
pl_txn_layer *pl_txn_layer_new(const pl_txn_config *cfg);
/* Free the layer and every transaction, without calling any callback. */
void pl_txn_layer_free(pl_txn_layer *layer);

/*
 * Counters, for tests, statistics and leak checks.
 */
typedef struct pl_txn_stats {
    uint64_t received;        /* messages handed to pl_txn_receive */
    uint64_t bad;             /* refused by the parser or pl_msg_check */
    uint64_t retransmissions; /* requests and responses sent again by timers */
    uint64_t absorbed;        /* retransmitted requests absorbed by a server transaction */
    uint64_t timeouts;        /* client transactions ended by Timer B or F */
    uint64_t transport_errors;
    size_t live;            /* transactions alive */
    size_t live_by_kind[4]; /* of those, by pl_txn_kind */
} pl_txn_stats;

void pl_txn_layer_stats(const pl_txn_layer *layer, pl_txn_stats *out);

/*
 * Bytes received from src: one datagram, or one message framed by
 * pl_framer_next (framing then PL_FRAMING_STREAM). Returns PL_OK, or the
 * parse error (the message was dropped, or answered with a 400/505/416
 * where RFC 3261 allows an answer).
 */
int pl_txn_receive(pl_txn_layer *layer, const char *buf, size_t len, const pl_target *src,
                   pl_framing framing);

/*
 * A client transaction's responses. resp is every provisional and the final
 * response (a synthesized 408 on timeout, 503 on transport error); for an
 * INVITE, also every retransmitted 2xx (RFC 6026), so that the user can send
 * its ACK again. final is true once: the user's last callback is the first
 * final response, except for INVITE 2xx retransmissions (final stays true
 * for them too; the user tells them by the To tag it already has).
 */
typedef void (*pl_txn_response_cb)(pl_txn *ct, const pl_msg *resp, bool final, void *arg);

/*
 * Start a client transaction: send req (a built or edited request whose top
 * Via carries a z9hG4bK branch) to dst. The layer copies req. Above
 * udp_max bytes a UDP target becomes TCP (18.1.1). Returns PL_OK
 * and *out (may be NULL), or an error. An ACK takes no transaction: send it
 * with pl_txn_send_stateless. A failure to send reaches cb as a 503 later.
 */
int pl_txn_client_start(pl_txn_layer *layer, const pl_msg *req, const pl_target *dst,
                        pl_txn_response_cb cb, void *arg, pl_txn **out);

/* Stop reporting to the user (the transaction runs out its timers silently;
 * a 2xx retransmitted to an abandoned INVITE transaction in Accepted goes
 * to the layer's on_stray, as if no transaction had matched it). */
void pl_txn_client_abandon(pl_txn *ct);

/*
 * Answer a server transaction with resp (built from its request, e.g. by
 * pl_msg_build_response). Provisional responses may be sent repeatedly; the
 * first final response completes the transaction. Returns PL_EINVAL once a
 * final response was sent (for an INVITE, a 2xx may be retransmitted by the
 * user while Accepted).
 */
int pl_txn_respond(pl_txn *st, const pl_msg *resp);

/* The request of a transaction: valid as long as the transaction, except
 * that a non-INVITE transaction frees it on reaching Completed (its final
 * response sent or received) and an INVITE transaction on reaching
 * Accepted (a 2xx sent or received), after which this returns NULL. */
const pl_msg *pl_txn_request(const pl_txn *t);
pl_txn_kind pl_txn_kind_of(const pl_txn *t);
pl_txn_state pl_txn_state_of(const pl_txn *t);
/* Where a client transaction sends (after an RFC 3261 18.1.1 switch to TCP,
 * the TCP target), or where a server transaction answers. */
const pl_target *pl_txn_peer(const pl_txn *t);
/* For a CANCEL's server transaction: the INVITE transaction it cancels, or NULL. */
pl_txn *pl_txn_cancelled(const pl_txn *st);
/* Attach the user's data to a transaction. */
void pl_txn_set_user(pl_txn *t, void *user);
void *pl_txn_user(const pl_txn *t);

/*
 * A transport reports that dst cannot be reached after all (a connection
 * refused or reset after pl_sender.send had accepted the bytes). Every
 * client transaction sending to dst that has no final response ends with a
 * 503 (RFC 3261 8.1.3.1), delivered on the next wheel tick.
 */
void pl_txn_transport_error(pl_txn_layer *layer, const pl_target *dst);

/* Send a message with no transaction (an ACK for a 2xx, a proxy's stateless forward). */
int pl_txn_send_stateless(pl_txn_layer *layer, const pl_msg *msg, const pl_target *dst);

#ifdef __cplusplus
}
#endif
#endif
