/*
 * parley/mpsc.h - a lock-free queue with many producers and one consumer,
 * for handing work to a thread's event loop (parleyd's workers hand each
 * other messages this way).
 *
 * Intrusive: the caller embeds a pl_mpsc_node in its own item and gets the
 * item back from the node. Any thread may push; one thread (the owner of
 * the queue) pops. A push is one atomic exchange and one store, never
 * waits, and never allocates; items come out in the order their pushes
 * took effect, so each producer's items stay in its own order.
 *
 * A pop can see the queue empty while a push is half done (the producer
 * has swapped the head but not yet linked the previous node). The
 * producer's wake-up, made after pl_mpsc_push returns, brings the
 * consumer back for it: wake the consumer after every push (uv_async_send
 * coalesces wake-ups, so this costs little).
 */
#ifndef PARLEY_MPSC_H
#define PARLEY_MPSC_H

#include <stdatomic.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pl_mpsc_node {
    _Atomic(struct pl_mpsc_node *) next;
} pl_mpsc_node;

typedef struct pl_mpsc {
    _Atomic(pl_mpsc_node *) head;   /* producers swap themselves in here */
    char pad_[64 - sizeof(void *)]; /* head and tail on separate cache lines */
    pl_mpsc_node *tail;             /* the consumer's end */
    pl_mpsc_node stub;
} pl_mpsc;

/* An empty queue. Not thread-safe: before any producer sees it. */
void pl_mpsc_init(pl_mpsc *q);
/* Add n at the end. Any thread. */
void pl_mpsc_push(pl_mpsc *q, pl_mpsc_node *n);
/* The oldest node, or NULL when empty (or a push is half done). The consumer thread only. */
pl_mpsc_node *pl_mpsc_pop(pl_mpsc *q);

#ifdef __cplusplus
}
#endif
#endif
