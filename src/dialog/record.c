/*
 * record.c - a confirmed dialog as a record, and back: what the store
 * (issue 7) writes and reads, and what a cluster peer would send. Values
 * and profile memberships travel as "name#T#value|" and "name#value|"
 * strings with '#', '|' and '\' escaped by '\'.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog_int.h"

/* ---- escaped strings */

static void w_esc(pl_sbuf *b, pl_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (c == '#' || c == '|' || c == '\\')
            pl_sbuf_puts(b, "\\");
        pl_sbuf_put(b, (pl_str){&c, 1});
    }
}

/* The next field of s up to an unescaped stop character, unescaped into out (cap bytes). */
static bool r_field(pl_str *s, char stop, char *out, size_t cap, size_t *n)
{
    size_t k = 0, i = 0;
    for (; i < s->len; i++) {
        char c = s->p[i];
        if (c == '\\' && i + 1 < s->len) {
            c = s->p[++i];
        } else if (c == stop) {
            break;
        } else if (c == '#' || c == '|') {
            return false; /* the wrong separator here */
        }
        if (k == cap)
            return false;
        out[k++] = c;
    }
    if (i == s->len)
        return false;
    s->p += i + 1;
    s->len -= i + 1;
    *n = k;
    return true;
}

typedef struct exp_ctx {
    pl_sbuf *b;
} exp_ctx;

static void exp_value(pl_str name, const pl_dlg_value *v, void *arg)
{
    pl_sbuf *b = arg;
    w_esc(b, name);
    if (v->type == PL_DLG_V_INT) {
        char num[32];
        int n = snprintf(num, sizeof(num), "#2#%" PRId64, v->i);
        pl_sbuf_put(b, (pl_str){num, (size_t)n});
    } else {
        pl_sbuf_puts(b, "#1#");
        w_esc(b, v->s);
    }
    pl_sbuf_puts(b, "|");
}

static void exp_profile(pl_dlg_profile *p, pl_str value, void *arg)
{
    pl_sbuf *b = arg;
    w_esc(b, pl_dlg_profile_name(p));
    pl_sbuf_puts(b, "#");
    w_esc(b, value);
    pl_sbuf_puts(b, "|");
}

static void exp_leg(const dlg_leg *l, pl_dlg_leg_record *r)
{
    r->tag = l->tag;
    r->contact = l->contact;
    r->route = l->route;
    r->cseq_to = l->cseq_to;
    r->cseq_from = l->cseq_from;
    r->inv_cseq = l->inv_cseq;
    r->has_src = l->src != NULL;
    if (l->src)
        r->src = *l->src;
}

int pl_dlg_export(const pl_dlg *d, pl_dlg_record *out, char *buf, size_t cap)
{
    if ((d->state != PL_DLG_CONFIRMED && d->state != PL_DLG_CONFIRMED_NA) || !d->primary)
        return PL_ESTATE;
    memset(out, 0, sizeof(*out));
    out->id = d->id;
    out->state = d->state;
    out->flags = d->flags;
    out->call_id = d->call_id;
    out->from_uri = d->from_uri;
    out->to_uri = d->to_uri;
    exp_leg(&d->legs[0], &out->leg[0]);
    exp_leg(&d->legs[d->primary], &out->leg[1]);
    uint64_t now = pl__dlg_now(d->t);
    out->lifetime_left_ms = d->expires_ms > now ? d->expires_ms - now : 0;
    out->ping_interval_s = d->ping_interval_s;
    out->end_reason = d->end_reason;
    pl_sbuf b = {buf, 0, cap, false};
    pl_dlg_value_each(d, exp_value, &b);
    size_t vlen = b.len;
    pl_dlg_profile_memberships(d, exp_profile, &b);
    if (b.over)
        return PL_ENOSPC;
    out->values = (pl_str){buf, vlen};
    out->profiles = (pl_str){buf + vlen, b.len - vlen};
    return PL_OK;
}

/* ---- loading */

static int copy(pl_str *dst, pl_str src)
{
    dst->p = NULL;
    dst->len = 0;
    if (!src.len)
        return PL_OK;
    char *p = malloc(src.len);
    if (!p)
        return PL_ENOMEM;
    memcpy(p, src.p, src.len);
    dst->p = p;
    dst->len = src.len;
    return PL_OK;
}

static int load_leg(dlg_leg *l, const pl_dlg_leg_record *r)
{
    memset(l, 0, sizeof(*l));
    l->cseq_to = r->cseq_to;
    l->cseq_from = r->cseq_from;
    l->inv_cseq = r->inv_cseq;
    if (r->has_src) {
        l->src = malloc(sizeof(*l->src));
        if (!l->src)
            return PL_ENOMEM;
        *l->src = r->src;
    }
    if (copy(&l->tag, r->tag) || copy(&l->contact, r->contact) || copy(&l->route, r->route))
        return PL_ENOMEM;
    return PL_OK;
}

static int load_values_in(pl_dlg *d, pl_str s, char *name, char *val, size_t cap)
{
    while (s.len) {
        size_t nn, tn, vn;
        char type[4];
        if (!r_field(&s, '#', name, cap, &nn) || !r_field(&s, '#', type, sizeof(type), &tn) ||
            !r_field(&s, '|', val, cap, &vn) || tn != 1)
            return PL_EINVAL;
        pl_str n = {name, nn}, v = {val, vn};
        int rc;
        if (type[0] == '2') {
            char tmp[32];
            if (vn >= sizeof(tmp))
                return PL_EINVAL;
            memcpy(tmp, val, vn);
            tmp[vn] = '\0';
            char *end;
            long long x = strtoll(tmp, &end, 10);
            if (!vn || *end)
                return PL_EINVAL;
            rc = pl_dlg_value_set_int(d, n, (int64_t)x);
        } else if (type[0] == '1') {
            rc = pl_dlg_value_set_str(d, n, v);
        } else {
            return PL_EINVAL;
        }
        if (rc != PL_OK)
            return rc;
    }
    return PL_OK;
}

static int load_profiles_in(pl_dlg *d, pl_str s, char *name, char *val, size_t cap)
{
    while (s.len) {
        size_t nn, vn;
        if (!r_field(&s, '#', name, cap, &nn) || !r_field(&s, '|', val, cap, &vn))
            return PL_EINVAL;
        pl_dlg_profile *p = pl_dlg_profile_find(d->t->m, (pl_str){name, nn});
        if (!p) {
            pl__dlg_logf(d->t, PL_PROXY_LOG_WARN, d->call_id,
                         "loaded dialog: profile %.*s is not defined, membership dropped", (int)nn,
                         name);
            continue;
        }
        int rc = pl_dlg_profile_set(d, p, (pl_str){val, vn}, false);
        if (rc != PL_OK)
            return rc;
    }
    return PL_OK;
}

/* An unescaped field is never longer than the text it comes from: scratch of that size. */
static int with_scratch(pl_dlg *d, pl_str s, int (*fn)(pl_dlg *, pl_str, char *, char *, size_t))
{
    size_t cap = s.len ? s.len : 1;
    char *name = malloc(cap), *val = malloc(cap);
    int rc = name && val ? fn(d, s, name, val, cap) : PL_ENOMEM;
    free(name);
    free(val);
    return rc;
}

static int load_values(pl_dlg *d, pl_str s)
{
    return with_scratch(d, s, load_values_in);
}

static int load_profiles(pl_dlg *d, pl_str s)
{
    return with_scratch(d, s, load_profiles_in);
}

int pl_dlg_restore(pl_dlg_table *t, const pl_dlg_record *rec, pl_dlg **out)
{
    pl_dlg_module *m = t->m;
    uint32_t hash = pl_dlg_hash(rec->call_id);
    if (!rec->call_id.len || (uint32_t)(rec->id >> 32) != hash ||
        hash % m->cfg.n_tables != t->index || !rec->leg[0].tag.len || !rec->leg[1].tag.len ||
        (rec->state != PL_DLG_CONFIRMED && rec->state != PL_DLG_CONFIRMED_NA))
        return PL_EINVAL;
    if (pl_dlg_lookup(t, rec->id))
        return PL_ESTATE;
    pl_dlg *d = pl__dlg_alloc(t, hash, rec->id);
    if (!d)
        return PL_ENOMEM;
    d->state = rec->state;
    d->flags = rec->flags;
    d->ping_interval_s = rec->ping_interval_s && rec->ping_interval_s <= PL_DLG_MAX_SECONDS
                             ? rec->ping_interval_s
                             : m->cfg.ping_interval_s;
    d->loaded = true;
    d->confirmed_fired = true;
    d->stored = true; /* it is in the store: its end is owed a DELETED */
    d->loading = true;
    d->confirmed_ms = pl__dlg_now(t);
    int rc = PL_OK;
    if (copy(&d->call_id, rec->call_id) || copy(&d->from_uri, rec->from_uri) ||
        copy(&d->to_uri, rec->to_uri))
        rc = PL_ENOMEM;
    for (int i = 0; rc == PL_OK && i < 2; i++) {
        if (pl__dlg_add_leg(d) == UINT32_MAX)
            rc = PL_ENOMEM;
        else
            rc = load_leg(&d->legs[i], &rec->leg[i]);
    }
    d->primary = 1;
    if (rc == PL_OK)
        rc = load_values(d, rec->values);
    if (rc != PL_OK) {
        pl__dlg_discard(d);
        return rc;
    }
    pl__dlg_link(t, d);
    /* The id counter goes past every id loaded, so new ones never repeat them. */
    uint32_t low = (uint32_t)rec->id;
    uint_fast32_t cur = atomic_load(&m->next_id);
    while (cur <= low && !atomic_compare_exchange_weak(&m->next_id, &cur, low + m->cfg.id_step))
        ;
    atomic_fetch_add(&m->st_active, 1);
    if (load_profiles(d, rec->profiles) != PL_OK)
        pl__dlg_logf(t, PL_PROXY_LOG_WARN, d->call_id, "loaded dialog: bad profile list");
    if (rec->end_reason.len)
        pl__dlg_set_reason(d, rec->end_reason, true);
    d->loading = false;
    /* (The wheel's reach: a longer stored lifetime is cut to it.) */
    pl__dlg_arm_life(d, rec->lifetime_left_ms > (uint64_t)PL_DLG_MAX_SECONDS * 1000
                            ? (uint64_t)PL_DLG_MAX_SECONDS * 1000
                            : rec->lifetime_left_ms);
    if (d->state == PL_DLG_CONFIRMED_NA) {
        pl_timer_start(t->wheel, &d->t_aux, (uint64_t)m->cfg.noack_timeout_s * 1000);
    } else {
        pl__dlg_start_pings(d);
    }
    d->ref++;
    pl__dlg_fire(d, PL_DLGCB_LOADED, NULL, PL_DLG_DIR_NONE, UINT32_MAX);
    bool alive = d->ref > 1;
    pl__dlg_unref(d);
    if (out)
        *out = alive ? d : NULL;
    return PL_OK;
}
