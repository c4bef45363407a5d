/*
 * end.c - what the dialog module sends and when: termination (CANCEL
 * before confirmation, BYE both ways after), in-dialog OPTIONS pings, and
 * the dialog's timers (early timeout, no-ACK timeout, lifetime, delete
 * delay).
 *
 * CSeq strategy for pings: the proxy never advances a CSeq space it does
 * not own. A ping toward a leg carries the last CSeq sent toward that leg
 * minus one (or 0): a UA that still has the dialog answers it (a 500 for
 * the lower CSeq, RFC 3261 12.2.2, a 200, a 405... all mean "alive"), one
 * that lost it answers 481; nothing the endpoints number later is
 * disturbed, so no renumbering of their requests is ever needed. A BYE is
 * the last request of the dialog and takes the next CSeq (last + 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog_int.h"

/* ---- building a request toward one leg */

/* Header lines given by a caller: each must end with CRLF (one is added at the end if missing). */
static void put_lines(pl_sbuf *b, pl_str lines)
{
    if (!lines.len)
        return;
    pl_sbuf_put(b, lines);
    if (lines.len < 2 || lines.p[lines.len - 2] != '\r' || lines.p[lines.len - 1] != '\n')
        pl_sbuf_puts(b, "\r\n");
}

/*
 * The request toward leg x (0: the caller, else a callee leg), from the
 * other side y, as RFC 3261 12.2.1.1 builds it from the stored dialog
 * state: Request-URI the remote target, Route the route set, From and To
 * as x knows them.
 */
static int build(const pl_dlg *d, uint32_t x, pl_str method, uint32_t cseq, pl_str hdrs, char *out,
                 size_t cap, size_t *len)
{
    uint32_t y = x ? 0 : d->primary;
    const dlg_leg *lx = &d->legs[x];
    pl_str ytag = y || x ? d->legs[y].tag : PL_STR_NULL;
    pl_sbuf b = {out, 0, cap, false};
    pl_str target = lx->contact.len ? lx->contact : (x ? d->to_uri : d->from_uri);
    pl_sbuf_put(&b, method);
    pl_sbuf_puts(&b, " ");
    pl_sbuf_put(&b, target);
    pl_sbuf_puts(&b, " SIP/2.0\r\n");
    if (lx->route.len) {
        pl_sbuf_puts(&b, "Route: ");
        pl_sbuf_put(&b, lx->route);
        pl_sbuf_puts(&b, "\r\n");
    }
    pl_sbuf_puts(&b, "Max-Forwards: 70\r\nFrom: <");
    pl_sbuf_put(&b, x ? d->from_uri : d->to_uri);
    pl_sbuf_puts(&b, ">");
    if (ytag.len) {
        pl_sbuf_puts(&b, ";tag=");
        pl_sbuf_put(&b, ytag);
    }
    pl_sbuf_puts(&b, "\r\nTo: <");
    pl_sbuf_put(&b, x ? d->to_uri : d->from_uri);
    pl_sbuf_puts(&b, ">;tag=");
    pl_sbuf_put(&b, lx->tag);
    pl_sbuf_puts(&b, "\r\nCall-ID: ");
    pl_sbuf_put(&b, d->call_id);
    pl_sbuf_puts(&b, "\r\nCSeq: ");
    pl_sbuf_u32(&b, cseq);
    pl_sbuf_puts(&b, " ");
    pl_sbuf_put(&b, method);
    pl_sbuf_puts(&b, "\r\n");
    if (d->t->m->extra_headers)
        put_lines(&b, pl_str_c(d->t->m->extra_headers));
    put_lines(&b, hdrs);
    pl_sbuf_puts(&b, "Content-Length: 0\r\n\r\n");
    if (b.over)
        return PL_ENOSPC;
    *len = b.len;
    return PL_OK;
}

/* ---- sending, with a ticket back to the dialog */

static void on_answer(pl_proxy *p, const pl_msg *resp, void *arg);

static int send_to_leg(pl_dlg *d, uint32_t x, pl_str method, uint32_t cseq, pl_str hdrs, bool ping)
{
    pl_dlg_table *t = d->t;
    char buf[8192];
    size_t len;
    int rc = build(d, x, method, cseq, hdrs, buf, sizeof(buf), &len);
    if (rc != PL_OK)
        return rc;
    char blk[4096];
    pl_arena a;
    pl_arena_init(&a, blk, sizeof(blk), 0);
    pl_msg m;
    rc = pl_msg_parse(&m, buf, len, &a, NULL, NULL);
    if (rc != PL_OK) {
        pl_arena_free(&a);
        pl__dlg_logf(t, PL_PROXY_LOG_WARN, d->call_id, "%.*s toward leg %u: unparseable (headers?)",
                     (int)method.len, method.p, x);
        return PL_EINVAL;
    }
    ticket *k = calloc(1, sizeof(*k));
    if (!k) {
        pl_arena_free(&a);
        return PL_ENOMEM;
    }
    k->d = d;
    k->leg = x;
    k->ping = ping;
    const dlg_leg *l = &d->legs[x];
    /* Over a stream with no proxy between, the leg's own connection (RFC
     * 3261 18: a response path, and often the only way to reach a UA
     * behind NAT). */
    const pl_target *dst = l->src && !l->route.len ? l->src : NULL;
    rc = pl_proxy_request(t->p, &m, dst, on_answer, k);
    pl_arena_free(&a);
    if (rc != PL_OK) {
        free(k);
        return rc;
    }
    d->ref++;
    k->next = t->tickets;
    if (t->tickets)
        t->tickets->prev = k;
    t->tickets = k;
    return PL_OK;
}

int pl__dlg_send_bye(pl_dlg *d, uint32_t x, pl_str hdrs)
{
    dlg_leg *l = &d->legs[x];
    l->cseq_to++;
    int rc = send_to_leg(d, x, PL_STR_LIT("BYE"), l->cseq_to, hdrs, false);
    if (rc != PL_OK)
        pl__dlg_logf(d->t, PL_PROXY_LOG_WARN, d->call_id, "BYE toward the %s not sent: %s",
                     x ? "callee" : "caller", pl_err_str(rc));
    return rc;
}

/* ---- termination */

static int end_confirmed(pl_dlg *d, pl_str hdrs, uint32_t cb_type)
{
    /* Both BYEs first, then the end: a failure of one never stops the other. */
    int rc0 = pl__dlg_send_bye(d, 0, hdrs);
    int rc1 = d->primary ? pl__dlg_send_bye(d, d->primary, hdrs) : PL_ENOTFOUND;
    pl__dlg_delete(d, cb_type, NULL, PL_DLG_DIR_NONE, UINT32_MAX);
    return rc0 == PL_OK && rc1 == PL_OK ? PL_OK : (rc0 != PL_OK ? rc0 : rc1);
}

int pl_dlg_terminate(pl_dlg *d, pl_str reason, pl_str hdrs)
{
    if (d->state == PL_DLG_DELETED)
        return PL_ESTATE;
    d->ref++;
    pl__dlg_set_reason(d, reason.len ? reason : PL_STR_LIT("Terminated"), reason.len > 0);
    int rc = PL_OK;
    if (d->state == PL_DLG_UNCONFIRMED || d->state == PL_DLG_EARLY) {
        /* CANCEL toward the callee (RFC 3261 9.1): the 487 goes up and the
         * dialog fails. A 2xx that crosses the CANCEL is a race: the call
         * it makes is ended soon, with BYE (see to_confirmed). */
        d->cancelled = true;
        if (!d->ireq || pl_preq_cancel(d->ireq) != PL_OK)
            pl__dlg_delete(d, PL_DLGCB_FAILED, NULL, PL_DLG_DIR_NONE, UINT32_MAX);
    } else {
        pl__dlg_logf(d->t, PL_PROXY_LOG_INFO, d->call_id, "ending the dialog: %.*s",
                     (int)d->end_reason.len, d->end_reason.p);
        rc = end_confirmed(d, hdrs, PL_DLGCB_TERMINATED);
        /* The BYEs went out as best they could; the dialog has ended either way. */
        rc = PL_OK;
    }
    pl__dlg_unref(d);
    return rc;
}

typedef struct term_job {
    pl_dlg_module *m;
    unsigned index;
    uint64_t id;
    pl_str reason, hdrs; /* in the same block */
} term_job;

static void term_run(void *arg)
{
    term_job *j = arg;
    pl_dlg_table *t = j->m->tables[j->index];
    pl_dlg *d = t ? pl_dlg_lookup(t, j->id) : NULL;
    if (d)
        pl_dlg_terminate(d, j->reason, j->hdrs);
    free(j);
}

int pl_dlg_module_terminate(pl_dlg_module *m, uint64_t id, pl_str reason, pl_str hdrs)
{
    unsigned index = (unsigned)((id >> 32) % m->cfg.n_tables);
    if (!m->tables[index])
        return PL_ENOTFOUND;
    term_job *j = malloc(sizeof(*j) + reason.len + hdrs.len);
    if (!j)
        return PL_ENOMEM;
    char *p = (char *)(j + 1);
    if (reason.len)
        memcpy(p, reason.p, reason.len);
    if (hdrs.len)
        memcpy(p + reason.len, hdrs.p, hdrs.len);
    *j = (term_job){m, index, id, {p, reason.len}, {p + reason.len, hdrs.len}};
    /* Runs on the owner's thread, never inside this call. */
    pl__dlg_post(m, index, term_run, j);
    return PL_OK;
}

/* ---- answers to what we sent */

static void on_answer(pl_proxy *p, const pl_msg *resp, void *arg)
{
    (void)p;
    ticket *k = arg;
    pl_dlg *d = k->d;
    if (!d) {
        free(k); /* the table went first */
        return;
    }
    pl_dlg_table *t = d->t;
    if (k->prev)
        k->prev->next = k->next;
    else
        t->tickets = k->next;
    if (k->next)
        k->next->prev = k->prev;
    uint16_t code = resp ? resp->status : 408;
    if (k->ping && k->leg < d->nlegs) {
        d->legs[k->leg].ping_pending = false;
        /* Gone: no answer (a 408 made here), a 408, a 481 (the dialog is
         * not there), or unreachable (a 503 made here, e.g. its TCP
         * connection is gone). Any other answer proves the UA holds it. */
        bool gone = code == 408 || code == 481 || (resp && resp->synthesized && code == 503);
        if (gone && d->state != PL_DLG_DELETED) {
            pl__dlg_logf(t, PL_PROXY_LOG_INFO, d->call_id, "ping to the %s: %u, ending the call",
                         k->leg ? "callee" : "caller", code);
            pl_dlg_terminate(
                d, k->leg ? PL_STR_LIT("Callee Ping Timeout") : PL_STR_LIT("Caller Ping Timeout"),
                PL_STR_NULL);
        }
    } else if (!k->ping && code >= 300) {
        pl__dlg_logf(t, PL_PROXY_LOG_INFO, d->call_id, "BYE toward the %s: %u",
                     k->leg ? "callee" : "caller", code);
    }
    free(k);
    pl__dlg_unref(d);
}

/* ---- pings */

static void ping_leg(pl_dlg *d, uint32_t x)
{
    dlg_leg *l = &d->legs[x];
    if (l->ping_pending)
        return; /* at most one outstanding per leg */
    uint32_t cseq = l->cseq_to ? l->cseq_to - 1 : 0;
    if (send_to_leg(d, x, PL_STR_LIT("OPTIONS"), cseq, PL_STR_NULL, true) == PL_OK)
        l->ping_pending = true;
}

void pl__dlg_start_pings(pl_dlg *d)
{
    if (d->state == PL_DLG_CONFIRMED && (d->flags & (PL_DLG_F_PING_CALLER | PL_DLG_F_PING_CALLEE)))
        pl_timer_start(d->t->wheel, &d->t_aux, (uint64_t)d->ping_interval_s * 1000);
}

/* t_aux: the no-ACK timeout in state 3, the ping period in state 4. */
void pl__dlg_ping_timer(pl_timer *tm, void *arg)
{
    (void)tm;
    pl_dlg *d = arg;
    d->ref++;
    if (d->state == PL_DLG_CONFIRMED_NA) {
        pl__dlg_logf(d->t, PL_PROXY_LOG_INFO, d->call_id, "no ACK for the 2xx: ending the call");
        pl_dlg_terminate(d, PL_STR_LIT("No ACK"), PL_STR_NULL);
    } else if (d->state == PL_DLG_CONFIRMED) {
        if ((d->flags & PL_DLG_F_PING_CALLER))
            ping_leg(d, 0);
        if ((d->flags & PL_DLG_F_PING_CALLEE) && d->primary && d->state == PL_DLG_CONFIRMED)
            ping_leg(d, d->primary);
        pl__dlg_start_pings(d);
    }
    pl__dlg_unref(d);
}

/* t_life: the early timeout (1, 2), the lifetime (3, 4), the delete delay (5). */
void pl__dlg_life_timer(pl_timer *tm, void *arg)
{
    (void)tm;
    pl_dlg *d = arg;
    pl_dlg_module *m = d->t->m;
    d->ref++;
    switch (d->state) {
    case PL_DLG_UNCONFIRMED:
    case PL_DLG_EARLY:
        pl__dlg_logf(d->t, PL_PROXY_LOG_INFO, d->call_id, "unconfirmed for %u s: ending it",
                     m->cfg.early_timeout_s);
        pl__dlg_set_reason(d, PL_STR_LIT("Early Timeout"), false);
        d->cancelled = true; /* a crossing 2xx: a race, ended soon */
        if (!d->ireq || pl_preq_cancel(d->ireq) != PL_OK)
            pl__dlg_delete(d, PL_DLGCB_FAILED, NULL, PL_DLG_DIR_NONE, UINT32_MAX);
        break;
    case PL_DLG_CONFIRMED_NA:
    case PL_DLG_CONFIRMED:
        atomic_fetch_add(&m->st_expired, 1);
        if (!d->end_reason.len)
            pl__dlg_set_reason(d, PL_STR_LIT("Lifetime Timeout"), false);
        if (d->flags & PL_DLG_F_BYE_ON_TIMEOUT) {
            pl__dlg_logf(d->t, PL_PROXY_LOG_INFO, d->call_id, "lifetime over: BYE both ways");
            end_confirmed(d, PL_STR_NULL, PL_DLGCB_TERMINATED);
        } else {
            pl__dlg_logf(d->t, PL_PROXY_LOG_INFO, d->call_id, "lifetime over: dropped");
            pl__dlg_delete(d, PL_DLGCB_EXPIRED, NULL, PL_DLG_DIR_NONE, UINT32_MAX);
        }
        break;
    case PL_DLG_DELETED:
        if (d->in_table) {
            d->in_table = false;
            pl__dlg_unref(d);
        }
        break;
    }
    pl__dlg_unref(d);
}
