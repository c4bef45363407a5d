/*
 * simnet.h - an in-memory network for the transaction layer's tests.
 *
 * A sim_ep is one host: its pl_sender (hand &ep->sender to a pl_txn_layer)
 * records every message the layer sends into a log - the wheel time, the
 * destination and a copy of the bytes - and can lose messages (the next N,
 * or those a predicate picks) or refuse them (send() returns an error, a
 * transport failure). Two endpoints are joined with sim_connect(); then
 * sim_deliver() hands each logged message that was not lost to the peer's
 * layer through pl_txn_receive(), from the sender's own address, with no
 * delay. sim_run() moves the shared wheel to a given time, delivering as it
 * goes, so a test can let two layers talk for a minute of virtual time.
 *
 * An endpoint without a layer is a scripted peer: the test builds messages
 * and sends them with sim_inject(); what the layer under test sends to it is
 * logged in the layer's endpoint and merely marked delivered.
 */
#ifndef PARLEY_TESTS_SIMNET_H
#define PARLEY_TESTS_SIMNET_H

#include <parley/txn.h>

typedef struct sim_pkt {
    uint64_t t;    /* wheel time of the send */
    pl_target dst; /* where the layer sent it */
    char *buf;     /* an exact-size heap copy of the bytes */
    size_t len;
    bool dropped; /* lost in the network: never delivered */
    bool failed;  /* send() refused it: never on the wire */
} sim_pkt;

typedef struct sim_ep sim_ep;

/* Return true to lose p (called for each accepted send, in order). */
typedef bool (*sim_drop_fn)(sim_ep *ep, const sim_pkt *p, void *arg);

struct sim_ep {
    pl_sender sender; /* first: the layer's pl_sender */
    pl_wheel *wheel;
    pl_target self; /* the source address the peer sees */
    sim_ep *peer;
    pl_txn_layer *layer; /* the layer that sends through this endpoint (NULL: scripted) */
    /* Instead of a layer: what takes the bytes delivered to this endpoint (a UA). */
    int (*receive)(void *rx_arg, const char *buf, size_t len, const pl_target *src,
                   pl_framing framing);
    void *rx_arg;

    sim_pkt *log;
    size_t n, cap;
    size_t next_deliver; /* first log entry not yet handed to the peer */

    /* Loss: drop_next messages are lost first, then those drop() picks. */
    unsigned drop_next;
    sim_drop_fn drop;
    void *drop_arg;

    /* Failure: fail_next sends fail first; fail_all: every send fails. */
    unsigned fail_next;
    bool fail_all;
    int fail_rc; /* what send() returns on failure (default PL_ENOTFOUND) */

    int last_receive_rc; /* pl_txn_receive's result for the last delivery */
};

/* Set up ep with address self ("udp:10.0.0.1:5060"); fails the test on a bad address. */
void sim_ep_init(sim_ep *ep, pl_wheel *wheel, const char *self);
/* Free the log (the endpoint may be re-initialised afterwards). */
void sim_ep_free(sim_ep *ep);
/* Join a and b both ways. */
void sim_connect(sim_ep *a, sim_ep *b);

/* Messages that reached the wire (not failed), lost ones included. */
size_t sim_sent(const sim_ep *ep);
/* The i-th message that reached the wire (0-based), or NULL. */
const sim_pkt *sim_nth(const sim_ep *ep, size_t i);
/* The last message that reached the wire, or NULL. */
const sim_pkt *sim_last(const sim_ep *ep);
/* Attempts to send, failed ones included. */
size_t sim_attempts(const sim_ep *ep);

/* Parse a logged message (into the test arena); fails the test when it does not parse. */
pl_msg *sim_parse(const sim_pkt *p);

/* Hand ep's undelivered messages to the peer's layer; returns how many were delivered. */
size_t sim_deliver(sim_ep *ep);
/* Deliver both ways until nothing is pending. */
void sim_flush(sim_ep *a, sim_ep *b);
/*
 * Advance the wheel to until (never backwards), one deadline at a time,
 * delivering both ways before and after every step. a or b may be NULL.
 */
void sim_run(pl_wheel *w, sim_ep *a, sim_ep *b, uint64_t until);

/* Bytes to layer from ep's address (framing from ep's transport); returns pl_txn_receive's code. */
int sim_inject_raw(sim_ep *from, pl_txn_layer *to, const char *buf, size_t len);
/* Print msg and inject it. */
int sim_inject(sim_ep *from, pl_txn_layer *to, const pl_msg *msg);

/* An exact-size heap copy (freed by tu_free_all) of msg's wire form. */
char *sim_print(const pl_msg *msg, size_t *len);

#endif
