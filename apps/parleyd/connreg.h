/*
 * connreg.h - which worker holds which stream connection.
 *
 * A TCP or TLS connection lives in the pl_net of the worker that accepted
 * or opened it. A worker that must send on a connection it does not hold
 * (an answer to a request another worker received, a request to a UA
 * that registered through another worker's connection) finds the holder
 * here and hands it the bytes. Fed by each pl_net's on_connection events.
 *
 * Sharded, one mutex per shard; it is consulted only for stream sends
 * that the sending worker's own pl_net cannot make, never for UDP.
 */
#ifndef PARLEYD_CONNREG_H
#define PARLEYD_CONNREG_H

#include <parley/net.h>

typedef struct pd_connreg pd_connreg;

pd_connreg *pd_connreg_new(void);
void pd_connreg_free(pd_connreg *r);
/* Worker w holds a connection to peer. Returns PL_OK or PL_ENOMEM. */
int pd_connreg_add(pd_connreg *r, const pl_target *peer, unsigned w);
/* Worker w's connection to peer closed. */
void pd_connreg_remove(pd_connreg *r, const pl_target *peer, unsigned w);
/* A worker other than self that holds a connection to peer, or -1. */
int pd_connreg_find(pd_connreg *r, const pl_target *peer, unsigned self);

#endif
