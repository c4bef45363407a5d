/*
 * mpsc.c - the many-producer, one-consumer queue of parley/mpsc.h, after
 * Dmitry Vyukov's intrusive node-based design: producers swap a node into
 * the head and then link the previous head to it; the consumer walks from
 * the tail. A stub node keeps the list non-empty, so that neither side
 * ever needs a lock or a compare-and-swap loop.
 */
#include <parley/mpsc.h>

#include <stddef.h>

void pl_mpsc_init(pl_mpsc *q)
{
    atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
    atomic_store_explicit(&q->head, &q->stub, memory_order_relaxed);
    q->tail = &q->stub;
}

void pl_mpsc_push(pl_mpsc *q, pl_mpsc_node *n)
{
    atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
    /* The exchange orders this push against every other; the release store
     * publishes the node's contents to the consumer that follows the link. */
    pl_mpsc_node *prev = atomic_exchange_explicit(&q->head, n, memory_order_acq_rel);
    atomic_store_explicit(&prev->next, n, memory_order_release);
}

pl_mpsc_node *pl_mpsc_pop(pl_mpsc *q)
{
    pl_mpsc_node *tail = q->tail;
    pl_mpsc_node *next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (tail == &q->stub) {
        if (!next)
            return NULL;
        q->tail = next;
        tail = next;
        next = atomic_load_explicit(&next->next, memory_order_acquire);
    }
    if (next) {
        q->tail = next;
        return tail;
    }
    /* tail is the last linked node. If the head is elsewhere, a producer
     * has swapped it but not linked it yet: report empty for now. */
    if (tail != atomic_load_explicit(&q->head, memory_order_acquire))
        return NULL;
    /* Put the stub back behind tail, so that tail can be handed out. */
    pl_mpsc_push(q, &q->stub);
    next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (next) {
        q->tail = next;
        return tail;
    }
    return NULL;
}
