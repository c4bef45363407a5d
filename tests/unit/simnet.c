/* simnet.c - see simnet.h. */
#include "simnet.h"

#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static int sim_send(pl_sender *s, const pl_target *dst, const char *buf, size_t len)
{
    sim_ep *ep = (sim_ep *)s;
    if (ep->n == ep->cap) {
        size_t cap = ep->cap ? ep->cap * 2 : 64;
        sim_pkt *log = realloc(ep->log, cap * sizeof(*log));
        if (!log)
            fail_msg("simnet: out of memory");
        ep->log = log;
        ep->cap = cap;
    }
    sim_pkt *p = &ep->log[ep->n];
    memset(p, 0, sizeof(*p));
    p->t = ep->wheel->now;
    p->dst = *dst;
    p->len = len;
    p->buf = malloc(len ? len : 1);
    if (!p->buf)
        fail_msg("simnet: out of memory");
    if (len)
        memcpy(p->buf, buf, len);
    ep->n++;
    if (ep->fail_all || ep->fail_next) {
        if (ep->fail_next)
            ep->fail_next--;
        p->failed = true;
        return ep->fail_rc ? ep->fail_rc : PL_ENOTFOUND;
    }
    if (ep->drop_next) {
        ep->drop_next--;
        p->dropped = true;
    } else if (ep->drop && ep->drop(ep, p, ep->drop_arg)) {
        p->dropped = true;
    }
    return PL_OK;
}

void sim_ep_init(sim_ep *ep, pl_wheel *wheel, const char *self)
{
    memset(ep, 0, sizeof(*ep));
    ep->sender.send = sim_send;
    ep->wheel = wheel;
    if (pl_target_parse(&ep->self, self) != PL_OK)
        fail_msg("simnet: bad address %s", self);
}

void sim_ep_free(sim_ep *ep)
{
    for (size_t i = 0; i < ep->n; i++)
        free(ep->log[i].buf);
    free(ep->log);
    ep->log = NULL;
    ep->n = ep->cap = ep->next_deliver = 0;
}

void sim_connect(sim_ep *a, sim_ep *b)
{
    a->peer = b;
    b->peer = a;
}

size_t sim_attempts(const sim_ep *ep)
{
    return ep->n;
}

size_t sim_sent(const sim_ep *ep)
{
    size_t k = 0;
    for (size_t i = 0; i < ep->n; i++)
        k += !ep->log[i].failed;
    return k;
}

const sim_pkt *sim_nth(const sim_ep *ep, size_t i)
{
    for (size_t j = 0; j < ep->n; j++) {
        if (ep->log[j].failed)
            continue;
        if (i-- == 0)
            return &ep->log[j];
    }
    return NULL;
}

const sim_pkt *sim_last(const sim_ep *ep)
{
    for (size_t j = ep->n; j-- > 0;)
        if (!ep->log[j].failed)
            return &ep->log[j];
    return NULL;
}

pl_msg *sim_parse(const sim_pkt *p)
{
    if (!p)
        fail_msg("simnet: no such message");
    pl_msg *m = pl_arena_alloc(tu_arena(), sizeof(*m));
    if (!m)
        fail_msg("simnet: out of memory");
    char *b = tu_dup(p->buf, p->len);
    pl_error err = {0};
    pl_parse_opts opts = {PL_FRAMING_STREAM, NULL};
    int rc = pl_msg_parse(m, b, p->len, tu_arena(), &opts, &err);
    if (rc != PL_OK)
        fail_msg("simnet: a sent message does not parse (%s at %zu): %.*s", err.reason, err.offset,
                 (int)p->len, p->buf);
    return m;
}

int sim_inject_raw(sim_ep *from, pl_txn_layer *to, const char *buf, size_t len)
{
    /* An exact-size copy, so that a read past the end is caught. */
    char *b = malloc(len ? len : 1);
    if (!b)
        fail_msg("simnet: out of memory");
    if (len)
        memcpy(b, buf, len);
    pl_framing fr =
        pl_transport_reliable(from->self.transport) ? PL_FRAMING_STREAM : PL_FRAMING_DGRAM;
    int rc = pl_txn_receive(to, b, len, &from->self, fr);
    free(b);
    from->last_receive_rc = rc;
    return rc;
}

char *sim_print(const pl_msg *msg, size_t *len)
{
    size_t n = pl_msg_print_len(msg);
    char *buf = malloc(n ? n : 1);
    if (!buf)
        fail_msg("simnet: out of memory");
    size_t w = 0;
    if (pl_msg_print(msg, buf, n, &w) != PL_OK || w != n) {
        free(buf);
        fail_msg("simnet: pl_msg_print failed");
    }
    char *copy = tu_dup(buf, n);
    free(buf);
    *len = n;
    return copy;
}

int sim_inject(sim_ep *from, pl_txn_layer *to, const pl_msg *msg)
{
    size_t n;
    char *b = sim_print(msg, &n);
    return sim_inject_raw(from, to, b, n);
}

size_t sim_deliver(sim_ep *ep)
{
    size_t k = 0;
    while (ep->next_deliver < ep->n) {
        /* Index, not pointer: a delivery may make either side send (realloc). */
        size_t i = ep->next_deliver++;
        if (ep->log[i].failed || ep->log[i].dropped || !ep->peer ||
            (!ep->peer->layer && !ep->peer->receive))
            continue;
        char *b = ep->log[i].buf;
        size_t len = ep->log[i].len;
        pl_framing fr =
            pl_transport_reliable(ep->log[i].dst.transport) ? PL_FRAMING_STREAM : PL_FRAMING_DGRAM;
        ep->last_receive_rc = ep->peer->receive
                                  ? ep->peer->receive(ep->peer->rx_arg, b, len, &ep->self, fr)
                                  : pl_txn_receive(ep->peer->layer, b, len, &ep->self, fr);
        k++;
    }
    return k;
}

void sim_flush(sim_ep *a, sim_ep *b)
{
    for (;;) {
        size_t k = 0;
        if (a)
            k += sim_deliver(a);
        if (b)
            k += sim_deliver(b);
        if (!k && (!a || a->next_deliver == a->n) && (!b || b->next_deliver == b->n))
            return;
    }
}

void sim_run(pl_wheel *w, sim_ep *a, sim_ep *b, uint64_t until)
{
    sim_flush(a, b);
    while (w->now < until) {
        uint64_t next = pl_wheel_next_ms(w);
        uint64_t step = next == UINT64_MAX ? until - w->now : (next ? next : 1);
        uint64_t to = step > until - w->now ? until : w->now + step;
        pl_wheel_advance(w, to);
        sim_flush(a, b);
    }
}
