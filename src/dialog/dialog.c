/*
 * dialog.c - the dialog module and its tables, dialog creation, the state
 * machine driven by the proxy's events, matching of sequential requests,
 * callbacks, accessors.
 *
 * The state machine follows the one operators know from other proxies
 * (states 1 to 5, docs/dialog.md): reply-driven changes run when the
 * response reaches the proxy, before it goes upstream; a BYE ends the
 * dialog when the request passes, not when its 200 comes back.
 */
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dialog_int.h"

/* A 2xx that crosses a CANCEL, or comes after the caller's BYE, makes a
 * call nobody wants: it is ended with BYE after this many seconds. */
#define RACE_TIMEOUT_S 5

/* ---- small helpers */

static int str_set(pl_str *dst, pl_str src)
{
    char *p = NULL;
    if (src.len) {
        p = malloc(src.len);
        if (!p)
            return PL_ENOMEM;
        memcpy(p, src.p, src.len);
    }
    free((void *)dst->p);
    dst->p = p;
    dst->len = p ? src.len : 0;
    return PL_OK;
}

static void str_free(pl_str *s)
{
    free((void *)s->p);
    *s = PL_STR_NULL;
}

uint32_t pl_dlg_hash(pl_str call_id)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < call_id.len; i++) {
        h ^= (unsigned char)call_id.p[i];
        h *= 16777619u;
    }
    return h;
}

void pl_dlg_id_print(uint64_t id, char out[17])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--) {
        out[i] = hex[id & 15];
        id >>= 4;
    }
    out[16] = '\0';
}

int pl_dlg_id_parse(pl_str s, uint64_t *id)
{
    if (s.len == 0 || s.len > 16)
        return PL_EPARSE;
    uint64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (unsigned)((c | 0x20) - 'a' + 10);
        else
            return PL_EPARSE;
        v = v << 4 | d;
    }
    *id = v;
    return PL_OK;
}

uint64_t pl__dlg_now(const pl_dlg_table *t)
{
    return t->wheel->now;
}

__attribute__((format(printf, 4, 0))) static void
vlog(const pl_dlg_table *t, pl_proxy_log_level lvl, pl_str call_id, const char *fmt, va_list ap)
{
    const pl_dlg_config *c = &t->m->cfg;
    pl_proxy_log_level max = c->log_level ? c->log_level : PL_PROXY_LOG_WARN;
    if (lvl > max)
        return;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    if (c->log) {
        c->log(lvl, call_id, line, c->user);
    } else {
        static const char *const names[] = {"?", "error", "warning", "info", "debug"};
        fprintf(stderr, "dialog %s: [%.*s] %s\n", names[lvl], (int)call_id.len,
                call_id.p ? call_id.p : "", line);
    }
}

void pl__dlg_logf(const pl_dlg_table *t, pl_proxy_log_level lvl, pl_str call_id, const char *fmt,
                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(t, lvl, call_id, fmt, ap);
    va_end(ap);
}

/* ---- the module */

pl_dlg_module *pl_dlg_module_new(const pl_dlg_config *cfg)
{
    pl_dlg_module *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->cfg = *cfg;
    pl_dlg_config *c = &m->cfg;
    if (!c->n_tables)
        c->n_tables = 1;
    if (!c->default_lifetime_s)
        c->default_lifetime_s = 43200;
    if (c->default_lifetime_s > PL_DLG_MAX_SECONDS)
        c->default_lifetime_s = PL_DLG_MAX_SECONDS;
    if (!c->ping_interval_s)
        c->ping_interval_s = 30;
    if (c->ping_interval_s > PL_DLG_MAX_SECONDS)
        c->ping_interval_s = PL_DLG_MAX_SECONDS;
    if (!c->early_timeout_s)
        c->early_timeout_s = 300;
    if (!c->noack_timeout_s)
        c->noack_timeout_s = 60;
    if (!c->id_step)
        c->id_step = 1;
    const char *rp = c->rr_param && *c->rr_param ? c->rr_param : "did";
    m->rr_param_len = strlen(rp);
    if (m->rr_param_len >= sizeof(m->rr_param)) {
        free(m);
        return NULL;
    }
    memcpy(m->rr_param, rp, m->rr_param_len + 1);
    c->rr_param = m->rr_param;
    if (c->extra_headers && *c->extra_headers) {
        m->extra_headers = strdup(c->extra_headers);
        if (!m->extra_headers) {
            free(m);
            return NULL;
        }
    }
    c->extra_headers = m->extra_headers;
    m->tables = calloc(c->n_tables, sizeof(*m->tables));
    if (!m->tables) {
        free(m->extra_headers);
        free(m);
        return NULL;
    }
    pthread_mutex_init(&m->cb_lock, NULL);
    pthread_mutex_init(&m->prof_lock, NULL);
    atomic_init(&m->next_id, c->id_start);
    return m;
}

void pl_dlg_module_free(pl_dlg_module *m)
{
    if (!m)
        return;
    dlg_cb *cb = atomic_load(&m->global_cbs);
    while (cb) {
        dlg_cb *n = cb->next;
        if (cb->free_param)
            cb->free_param(cb->param);
        free(cb);
        cb = n;
    }
    pl__dlg_profiles_free(m);
    pthread_mutex_destroy(&m->cb_lock);
    pthread_mutex_destroy(&m->prof_lock);
    free(m->tables);
    free(m->extra_headers);
    free(m);
}

const pl_dlg_config *pl_dlg_module_config(const pl_dlg_module *m)
{
    return &m->cfg;
}

void pl_dlg_get_stats(const pl_dlg_module *m, pl_dlg_stats *out)
{
    pl_dlg_module *mm = (pl_dlg_module *)m;
    int64_t a = atomic_load(&mm->st_active), e = atomic_load(&mm->st_early),
            l = atomic_load(&mm->st_live);
    out->active = a > 0 ? (uint64_t)a : 0;
    out->early = e > 0 ? (uint64_t)e : 0;
    out->live = l > 0 ? (uint64_t)l : 0;
    out->processed = atomic_load(&mm->st_processed);
    out->expired = atomic_load(&mm->st_expired);
    out->failed = atomic_load(&mm->st_failed);
    out->terminated = atomic_load(&mm->st_terminated);
}

/* ---- jobs for a table's thread */

void pl__dlg_post(pl_dlg_module *m, unsigned index, void (*fn)(void *), void *arg)
{
    if (m->cfg.post) {
        m->cfg.post(index, fn, arg, m->cfg.user);
        return;
    }
    pl_dlg_table *t = m->tables[index];
    job *j = malloc(sizeof(*j));
    if (!t || !j) {
        free(j);
        fn(arg); /* nowhere to queue it: the job frees what it carries */
        return;
    }
    j->fn = fn;
    j->arg = arg;
    j->next = NULL;
    pthread_mutex_lock(&t->jobs_lock);
    if (t->jobs_last)
        t->jobs_last->next = j;
    else
        t->jobs = j;
    t->jobs_last = j;
    pthread_mutex_unlock(&t->jobs_lock);
}

void pl_dlg_table_run(pl_dlg_table *t)
{
    for (;;) {
        pthread_mutex_lock(&t->jobs_lock);
        job *j = t->jobs;
        t->jobs = NULL;
        t->jobs_last = NULL;
        pthread_mutex_unlock(&t->jobs_lock);
        if (!j)
            return;
        while (j) {
            job *n = j->next;
            j->fn(j->arg);
            free(j);
            j = n;
        }
    }
}

/* ---- the table */

static void on_event(pl_proxy *p, pl_preq *r, pl_proxy_event ev, uint32_t branch, const pl_msg *msg,
                     void *arg);

pl_dlg_table *pl_dlg_table_new(pl_dlg_module *m, unsigned index, pl_proxy *p)
{
    if (index >= m->cfg.n_tables || m->tables[index])
        return NULL;
    pl_dlg_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->m = m;
    t->index = index;
    t->p = p;
    t->wheel = pl_proxy_wheel(p);
    t->nbuckets = 1024;
    t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
    t->slot = pl_proxy_ctx_slot(p);
    if (!t->buckets || t->slot < 0 ||
        pl_proxy_observe(p,
                         PL_PROXY_EV_REQUEST_IN | PL_PROXY_EV_REPLY_RECEIVED |
                             PL_PROXY_EV_REPLY_FORWARDED | PL_PROXY_EV_REPLIED |
                             PL_PROXY_EV_CANCELLED | PL_PROXY_EV_DELETED,
                         on_event, t) != PL_OK) {
        free(t->buckets);
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->jobs_lock, NULL);
    m->tables[index] = t;
    return t;
}

static void dlg_destroy(pl_dlg *d);

void pl_dlg_table_free(pl_dlg_table *t)
{
    if (!t)
        return;
    pl_proxy_unobserve(t->p, on_event, t);
    pl_dlg_table_run(t);
    /* Requests still out: their answers find no dialog. */
    for (ticket *k = t->tickets; k; k = k->next)
        k->d = NULL;
    t->tickets = NULL;
    /* Contexts of requests in the proxy: the proxy no longer tells us of them. */
    for (size_t i = 0; i < t->nbuckets; i++) {
        while (t->buckets[i]) {
            pl_dlg *d = t->buckets[i];
            if (d->state != PL_DLG_DELETED) {
                pl_dlg_module *m = t->m;
                if (d->state == PL_DLG_EARLY)
                    atomic_fetch_sub(&m->st_early, 1);
                else if (d->state >= PL_DLG_CONFIRMED_NA)
                    atomic_fetch_sub(&m->st_active, 1);
            }
            dlg_destroy(d);
        }
    }
    while (t->ctxs) {
        req_ctx *c = t->ctxs;
        t->ctxs = c->next;
        pl_preq_set_ctx(c->r, t->slot, NULL);
        free(c);
    }
    t->m->tables[t->index] = NULL;
    pthread_mutex_destroy(&t->jobs_lock);
    free(t->buckets);
    free(t);
}

pl_dlg_module *pl_dlg_table_module(const pl_dlg_table *t)
{
    return t->m;
}

static size_t bucket_of(const pl_dlg_table *t, uint32_t hash)
{
    return hash & (t->nbuckets - 1);
}

static void link_dlg(pl_dlg_table *t, pl_dlg *d)
{
    size_t b = bucket_of(t, d->hash);
    d->hprev = NULL;
    d->hnext = t->buckets[b];
    if (d->hnext)
        d->hnext->hprev = d;
    t->buckets[b] = d;
    t->count++;
}

static void unlink_dlg(pl_dlg_table *t, pl_dlg *d)
{
    if (d->unlinked)
        return;
    d->unlinked = true;
    if (d->hprev)
        d->hprev->hnext = d->hnext;
    else
        t->buckets[bucket_of(t, d->hash)] = d->hnext;
    if (d->hnext)
        d->hnext->hprev = d->hprev;
    t->count--;
}

/* Twice as many buckets once the table is twice as full as it is wide. */
static void maybe_grow(pl_dlg_table *t)
{
    if (t->count < 2 * t->nbuckets || t->nbuckets >= (1u << 24))
        return;
    size_t n = t->nbuckets * 2;
    pl_dlg **nb = calloc(n, sizeof(*nb));
    if (!nb)
        return;
    for (size_t i = 0; i < t->nbuckets; i++) {
        pl_dlg *d = t->buckets[i];
        while (d) {
            pl_dlg *next = d->hnext;
            size_t b = d->hash & (n - 1);
            d->hprev = NULL;
            d->hnext = nb[b];
            if (nb[b])
                nb[b]->hprev = d;
            nb[b] = d;
            d = next;
        }
    }
    free(t->buckets);
    t->buckets = nb;
    t->nbuckets = n;
}

pl_dlg *pl_dlg_lookup(pl_dlg_table *t, uint64_t id)
{
    for (pl_dlg *d = t->buckets[bucket_of(t, (uint32_t)(id >> 32))]; d; d = d->hnext)
        if (d->id == id)
            return d;
    return NULL;
}

static bool leg_tag_is(const pl_dlg *d, uint32_t i, pl_str tag)
{
    return pl_str_eq(d->legs[i].tag, tag);
}

/* The callee leg with this tag (0: none). */
static uint32_t callee_leg(const pl_dlg *d, pl_str tag)
{
    for (uint32_t i = 1; i < d->nlegs; i++)
        if (leg_tag_is(d, i, tag))
            return i;
    return 0;
}

/*
 * The tight match of a request with tags (from_tag, to_tag) to d: the
 * caller's tag on one side, one of the callee legs' tags (or none known
 * yet) on the other. Sets *dir and *leg (the leg it comes from).
 */
static bool tags_match(const pl_dlg *d, pl_str from_tag, pl_str to_tag, pl_dlg_dir *dir,
                       uint32_t *leg)
{
    if (leg_tag_is(d, 0, from_tag)) {
        if (d->nlegs > 1 && !callee_leg(d, to_tag))
            return false;
        *dir = PL_DLG_DIR_DOWNSTREAM;
        *leg = 0;
        return true;
    }
    if (leg_tag_is(d, 0, to_tag)) {
        uint32_t l = callee_leg(d, from_tag);
        if (!l)
            return false;
        *dir = PL_DLG_DIR_UPSTREAM;
        *leg = l;
        return true;
    }
    return false;
}

pl_dlg *pl_dlg_lookup_sip(pl_dlg_table *t, pl_str call_id, pl_str from_tag, pl_str to_tag)
{
    uint32_t h = pl_dlg_hash(call_id);
    for (pl_dlg *d = t->buckets[bucket_of(t, h)]; d; d = d->hnext) {
        if (d->state == PL_DLG_DELETED || d->hash != h || !pl_str_eq(d->call_id, call_id))
            continue;
        pl_dlg_dir dir;
        uint32_t leg;
        if (!to_tag.len ? leg_tag_is(d, 0, from_tag) : tags_match(d, from_tag, to_tag, &dir, &leg))
            return d;
    }
    return NULL;
}

pl_dlg *pl_dlg_lookup_callid(pl_dlg_table *t, pl_str call_id)
{
    uint32_t h = pl_dlg_hash(call_id);
    for (pl_dlg *d = t->buckets[bucket_of(t, h)]; d; d = d->hnext)
        if (d->state != PL_DLG_DELETED && d->hash == h && pl_str_eq(d->call_id, call_id))
            return d;
    return NULL;
}

size_t pl_dlg_lookup_callid_all(pl_dlg_table *t, pl_str call_id, uint64_t *ids, size_t cap)
{
    uint32_t h = pl_dlg_hash(call_id);
    size_t n = 0;
    for (pl_dlg *d = t->buckets[bucket_of(t, h)]; d; d = d->hnext)
        if (d->state != PL_DLG_DELETED && d->hash == h && pl_str_eq(d->call_id, call_id)) {
            if (n < cap)
                ids[n] = d->id;
            n++;
        }
    return n;
}

/* ---- references and the end of a dialog */

void pl__dlg_ref(pl_dlg *d)
{
    d->ref++;
}

static void free_cbs(dlg_cb *cb)
{
    while (cb) {
        dlg_cb *n = cb->next;
        if (cb->free_param)
            cb->free_param(cb->param);
        free(cb);
        cb = n;
    }
}

static void dlg_destroy(pl_dlg *d)
{
    pl_dlg_table *t = d->t;
    unlink_dlg(t, d);
    pl_timer_stop(t->wheel, &d->t_life);
    pl_timer_stop(t->wheel, &d->t_aux);
    pl__dlg_profiles_drop(d);
    d->ref = 1 << 20; /* callbacks may take and drop references: no second destroy */
    pl__dlg_fire(d, PL_DLGCB_DESTROY, NULL, PL_DLG_DIR_NONE, UINT32_MAX);
    atomic_fetch_sub(&t->m->st_live, 1);
    free_cbs(d->cbs);
    pl__dlg_values_free(d);
    for (uint32_t i = 0; i < d->nlegs; i++) {
        str_free(&d->legs[i].tag);
        str_free(&d->legs[i].contact);
        str_free(&d->legs[i].route);
        free(d->legs[i].src);
    }
    free(d->legs);
    str_free(&d->call_id);
    str_free(&d->from_uri);
    str_free(&d->to_uri);
    if (d->end_reason_owned)
        free((void *)d->end_reason.p);
    free(d);
}

void pl__dlg_unref(pl_dlg *d)
{
    if (--d->ref == 0)
        dlg_destroy(d);
}

void pl__dlg_set_reason(pl_dlg *d, pl_str reason, bool copy)
{
    if (d->end_reason_owned)
        free((void *)d->end_reason.p);
    d->end_reason_owned = false;
    d->end_reason = reason;
    if (copy && reason.len) {
        char *p = malloc(reason.len);
        if (p) {
            memcpy(p, reason.p, reason.len);
            d->end_reason.p = p;
            d->end_reason_owned = true;
        } else {
            d->end_reason = PL_STR_LIT("Terminated");
        }
    }
}

static void release_table_ref(pl_dlg *d)
{
    if (!d->in_table)
        return;
    uint32_t delay = d->t->m->cfg.delete_delay_s;
    if (delay) {
        pl__dlg_arm_life(d, (uint64_t)delay * 1000);
        return;
    }
    d->in_table = false;
    pl__dlg_unref(d);
}

void pl__dlg_delete(pl_dlg *d, uint32_t cb_type, const pl_msg *msg, pl_dlg_dir dir, uint32_t leg)
{
    if (d->state == PL_DLG_DELETED)
        return;
    pl_dlg_module *m = d->t->m;
    pl_dlg_state old = d->state;
    d->state = PL_DLG_DELETED;
    if (old == PL_DLG_EARLY)
        atomic_fetch_sub(&m->st_early, 1);
    else if (old >= PL_DLG_CONFIRMED_NA)
        atomic_fetch_sub(&m->st_active, 1);
    pl_timer_stop(d->t->wheel, &d->t_life);
    pl_timer_stop(d->t->wheel, &d->t_aux);
    /* A failed dialog keeps its profiles while its INVITE lives (a late
     * 2xx may revive it); every other end drops them now. */
    if (cb_type != PL_DLGCB_FAILED || !d->ireq)
        pl__dlg_profiles_drop(d);
    if (cb_type == PL_DLGCB_FAILED)
        atomic_fetch_add(&m->st_failed, 1);
    else if (cb_type == PL_DLGCB_TERMINATED)
        atomic_fetch_add(&m->st_terminated, 1);
    if (!d->end_reason.len)
        pl__dlg_set_reason(
            d, cb_type == PL_DLGCB_FAILED ? PL_STR_LIT("Failed") : PL_STR_LIT("Terminated"), false);
    pl__dlg_logf(d->t, PL_PROXY_LOG_DEBUG, d->call_id, "dialog ended (%.*s)",
                 (int)d->end_reason.len, d->end_reason.p);
    d->ref++;
    if (cb_type != PL_DLGCB_FAILED)
        d->ended = true;
    pl__dlg_fire(d, cb_type, msg, dir, leg);
    pl__dlg_changed(d, PL_DLG_CHANGE_DELETED);
    release_table_ref(d);
    pl__dlg_unref(d);
}

/* ---- callbacks */

int pl_dlg_register_cb(pl_dlg_module *m, pl_dlg *d, uint32_t mask, pl_dlg_cb cb, void *param,
                       pl_dlg_param_free free_param)
{
    if (!cb || !mask)
        return PL_EINVAL;
    if (!d) {
        if (mask != PL_DLGCB_LOADED && mask != PL_DLGCB_CREATED)
            return PL_EINVAL;
    } else if (mask & PL_DLGCB_GLOBAL) {
        return PL_EINVAL;
    } else if (d->state == PL_DLG_DELETED && (mask & ~(uint32_t)PL_DLGCB_DESTROY)) {
        return PL_ESTATE;
    }
    dlg_cb *c = calloc(1, sizeof(*c));
    if (!c)
        return PL_ENOMEM;
    c->mask = mask;
    c->cb = cb;
    c->param = param;
    c->free_param = free_param;
    atomic_fetch_or(&m->cb_types, mask);
    if (d) {
        /* At the tail: callbacks run in the order they were registered. */
        dlg_cb **pp = &d->cbs;
        while (*pp)
            pp = &(*pp)->next;
        *pp = c;
        return PL_OK;
    }
    pthread_mutex_lock(&m->cb_lock);
    dlg_cb *head = atomic_load(&m->global_cbs);
    if (!head) {
        atomic_store(&m->global_cbs, c);
    } else {
        while (head->next)
            head = head->next;
        atomic_store((_Atomic(dlg_cb *) *)&head->next, c);
    }
    pthread_mutex_unlock(&m->cb_lock);
    if (mask == PL_DLGCB_LOADED)
        pl__dlg_replay_loaded(m, c);
    return PL_OK;
}

void pl__dlg_fire(pl_dlg *d, uint32_t type, const pl_msg *msg, pl_dlg_dir dir, uint32_t leg)
{
    pl_dlg_cb_params prm = {.msg = msg, .dir = dir, .leg = leg};
    if (type & PL_DLGCB_GLOBAL) {
        for (dlg_cb *c = atomic_load(&d->t->m->global_cbs); c;
             c = atomic_load((_Atomic(dlg_cb *) *)&c->next)) {
            if (!(c->mask & type))
                continue;
            prm.param = c->param;
            c->cb(d, type, &prm);
        }
        return;
    }
    d->ref++;
    for (dlg_cb *c = d->cbs; c; c = c->next) {
        if (!(c->mask & type))
            continue;
        prm.param = c->param;
        c->cb(d, type, &prm);
    }
    d->ref--; /* no destroy from here: the caller holds its own reference */
}

/* ---- LOADED replayed over the dialogs present when it is registered */

typedef struct replay_job {
    pl_dlg_module *m;
    unsigned index;
    dlg_cb *c;
} replay_job;

static void replay_one(pl_dlg *d, void *arg)
{
    dlg_cb *c = arg;
    if (!d->loaded || d->state == PL_DLG_DELETED)
        return;
    pl_dlg_cb_params prm = {.dir = PL_DLG_DIR_NONE, .leg = UINT32_MAX, .param = c->param};
    c->cb(d, PL_DLGCB_LOADED, &prm);
}

static void replay_run(void *arg)
{
    replay_job *j = arg;
    pl_dlg_table *t = j->m->tables[j->index];
    if (t)
        pl_dlg_table_walk(t, replay_one, j->c);
    free(j);
}

void pl__dlg_replay_loaded(pl_dlg_module *m, dlg_cb *c)
{
    for (unsigned i = 0; i < m->cfg.n_tables; i++) {
        if (!m->tables[i])
            continue;
        replay_job *j = malloc(sizeof(*j));
        if (!j)
            continue;
        *j = (replay_job){m, i, c};
        pl__dlg_post(m, i, replay_run, j);
    }
}

/* ---- management context */

struct pl_dlg_mgmt_ctx {
    void (*fn)(pl_str name, pl_str value, void *arg);
    void *arg;
};

int pl_dlg_ctx_add(pl_dlg_mgmt_ctx *ctx, pl_str name, pl_str value)
{
    if (!ctx || !name.len)
        return PL_EINVAL;
    ctx->fn(name, value, ctx->arg);
    return PL_OK;
}

void pl_dlg_mgmt_context(pl_dlg *d, void (*fn)(pl_str name, pl_str value, void *arg), void *arg)
{
    pl_dlg_mgmt_ctx ctx = {fn, arg};
    pl_dlg_cb_params prm = {.dir = PL_DLG_DIR_NONE, .leg = UINT32_MAX, .ctx = &ctx};
    d->ref++;
    for (dlg_cb *c = d->cbs; c; c = c->next) {
        if (!(c->mask & PL_DLGCB_MGMT_CONTEXT))
            continue;
        prm.param = c->param;
        c->cb(d, PL_DLGCB_MGMT_CONTEXT, &prm);
    }
    pl__dlg_unref(d);
}

bool pl_dlg_wants(const pl_dlg_module *m, uint32_t type)
{
    return (atomic_load(&((pl_dlg_module *)m)->cb_types) & type) != 0;
}

void pl_dlg_notify_saved(pl_dlg *d)
{
    d->ref++;
    pl__dlg_fire(d, PL_DLGCB_SAVED, NULL, PL_DLG_DIR_NONE, UINT32_MAX);
    pl__dlg_unref(d);
}

/* ---- legs */

uint32_t pl__dlg_add_leg(pl_dlg *d)
{
    if (d->nlegs == d->caplegs) {
        uint32_t cap = d->caplegs ? d->caplegs * 2 : 2;
        dlg_leg *n = realloc(d->legs, cap * sizeof(*n));
        if (!n)
            return UINT32_MAX;
        d->legs = n;
        d->caplegs = cap;
    }
    memset(&d->legs[d->nlegs], 0, sizeof(dlg_leg));
    return d->nlegs++;
}

/* The Route values of list, joined by ", " (entries in skip excluded). */
static int join_routes(pl_str *out, const pl_nameaddr *const *v, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += v[i]->raw.len + 2;
    str_free(out);
    if (!n)
        return PL_OK;
    char *p = malloc(len);
    if (!p)
        return PL_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i) {
            p[k++] = ',';
            p[k++] = ' ';
        }
        memcpy(p + k, v[i]->raw.p, v[i]->raw.len);
        k += v[i]->raw.len;
    }
    out->p = p;
    out->len = k;
    return PL_OK;
}

/* Does the Record-Route entry rr carry this dialog's id? */
static bool rr_has_id(const pl_dlg *d, const pl_nameaddr *rr)
{
    const pl_dlg_module *m = d->t->m;
    pl_str prm = rr->uri.params;
    for (size_t i = 0; i + m->rr_param_len + 1 <= prm.len; i++) {
        if (prm.p[i] != ';' || i + 1 + m->rr_param_len + 1 > prm.len)
            continue;
        if (memcmp(prm.p + i + 1, m->rr_param, m->rr_param_len) != 0 ||
            prm.p[i + 1 + m->rr_param_len] != '=')
            continue;
        pl_str v = {prm.p + i + 2 + m->rr_param_len, 0};
        while (v.p + v.len < prm.p + prm.len && v.p[v.len] != ';')
            v.len++;
        uint64_t id;
        return pl_dlg_id_parse(v, &id) == PL_OK && id == d->id;
    }
    return false;
}

/*
 * The route set toward the callee from a 2xx's Record-Route (RFC 3261
 * 12.1 seen from the proxy's seat): each proxy puts its entry on top as
 * the INVITE goes downstream, so the entries above this proxy's own are
 * the downstream ones, the nearest just above it: reversed, they are the
 * Route toward the callee. The proxy's entry is the one naming it with
 * this dialog's id (a call that loops through the proxy has entries of
 * other passes: they are hops like any other); with no id (SIP-only
 * matching), the first entry naming the proxy.
 */
static int callee_route(pl_dlg *d, const pl_msg *resp, pl_str *out)
{
    const pl_nameaddr *v[64];
    size_t n = 0;
    bool by_id = d->t->m->cfg.match_mode != PL_DLG_MATCH_SIP_ONLY;
    const pl_nameaddr *rr = resp->record_route;
    for (; rr; rr = rr->next) {
        if (pl_proxy_uri_local(d->t->p, &rr->uri) && (!by_id || rr_has_id(d, rr)))
            break;
        if (n == sizeof(v) / sizeof(v[0]))
            return PL_ELIMIT;
        v[n++] = rr;
    }
    if (!rr)
        return PL_ENOTFOUND; /* our entry is not there: keep what we had */
    for (size_t i = 0; i < n / 2; i++) {
        const pl_nameaddr *x = v[i];
        v[i] = v[n - 1 - i];
        v[n - 1 - i] = x;
    }
    return join_routes(out, v, n);
}

/* The Contact URI of m, or empty. */
static pl_str contact_uri(const pl_msg *m)
{
    return m->contact ? m->contact->uri_raw : PL_STR_NULL;
}

/* ---- per-request context */

static req_ctx *ctx_of(const pl_dlg_table *t, const pl_preq *r)
{
    return pl_preq_ctx(r, t->slot);
}

static req_ctx *attach(pl_dlg_table *t, pl_preq *r, pl_dlg *d, pl_dlg_dir dir, uint32_t leg,
                       bool initial)
{
    req_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->d = d;
    c->dir = dir;
    c->leg = leg;
    c->initial = initial;
    c->r = r;
    c->next = t->ctxs;
    if (t->ctxs)
        t->ctxs->prev = c;
    t->ctxs = c;
    d->ref++;
    pl_preq_set_ctx(r, t->slot, c);
    return c;
}

pl_dlg *pl_dlg_current(pl_dlg_table *t, const pl_preq *r)
{
    req_ctx *c = ctx_of(t, r);
    return c ? c->d : NULL;
}

pl_dlg_dir pl_dlg_direction(pl_dlg_table *t, const pl_preq *r)
{
    req_ctx *c = ctx_of(t, r);
    return c && !c->initial ? c->dir : PL_DLG_DIR_NONE;
}

/* ---- creation */

pl_dlg *pl__dlg_alloc(pl_dlg_table *t, uint32_t hash, uint64_t id)
{
    pl_dlg *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->t = t;
    d->hash = hash;
    d->id = id;
    d->lifetime_s = t->m->cfg.default_lifetime_s;
    d->ping_interval_s = t->m->cfg.ping_interval_s;
    d->created_ms = pl__dlg_now(t);
    pl_timer_init(&d->t_life, pl__dlg_life_timer, d);
    pl_timer_init(&d->t_aux, pl__dlg_ping_timer, d);
    return d;
}

void pl__dlg_discard(pl_dlg *d)
{
    for (uint32_t i = 0; i < d->nlegs; i++) {
        str_free(&d->legs[i].tag);
        str_free(&d->legs[i].contact);
        str_free(&d->legs[i].route);
        free(d->legs[i].src);
    }
    free(d->legs);
    str_free(&d->call_id);
    str_free(&d->from_uri);
    str_free(&d->to_uri);
    pl__dlg_values_free(d);
    pl__dlg_profiles_drop(d);
    free(d);
}

void pl__dlg_link(pl_dlg_table *t, pl_dlg *d)
{
    d->ref = 1; /* the table's */
    d->in_table = true;
    link_dlg(t, d);
    maybe_grow(t);
    atomic_fetch_add(&t->m->st_live, 1);
}

int pl_dlg_create(pl_dlg_table *t, pl_preq *r, uint32_t flags, pl_dlg **out)
{
    pl_dlg_module *m = t->m;
    req_ctx *c = ctx_of(t, r);
    if (c && c->initial) {
        pl_dlg_set_flags(c->d, flags);
        if (out)
            *out = c->d;
        return PL_OK;
    }
    const pl_msg *msg = pl_preq_msg(r);
    if (c || pl_preq_stateless(r) || pl_preq_local(r) || msg->method_id != PL_METHOD_INVITE ||
        !msg->from || !msg->to || msg->to->has_tag || !msg->from->tag.len || !msg->call_id.len ||
        !msg->has_cseq)
        return PL_EINVAL;
    if (m->cfg.max_dialogs && t->count >= m->cfg.max_dialogs)
        return PL_ELIMIT;
    uint32_t hash = pl_dlg_hash(msg->call_id);
    pl_dlg *d = pl__dlg_alloc(
        t, hash, (uint64_t)hash << 32 | (uint32_t)atomic_fetch_add(&m->next_id, m->cfg.id_step));
    if (!d)
        return PL_ENOMEM;
    d->state = PL_DLG_UNCONFIRMED;
    d->flags = flags;
    int rc = PL_OK;
    const pl_nameaddr *rrs[64];
    size_t nrr = 0;
    for (const pl_nameaddr *rr = msg->record_route; rr && rc == PL_OK; rr = rr->next) {
        if (nrr == sizeof(rrs) / sizeof(rrs[0]))
            rc = PL_ELIMIT;
        else
            rrs[nrr++] = rr;
    }
    if (rc == PL_OK && pl__dlg_add_leg(d) == UINT32_MAX)
        rc = PL_ENOMEM;
    if (rc == PL_OK) {
        dlg_leg *caller = &d->legs[0];
        caller->cseq_from = caller->inv_cseq = msg->cseq.num;
        const pl_target *src = pl_preq_source(r);
        if (src->transport != PL_TP_UDP) {
            caller->src = malloc(sizeof(*src));
            if (caller->src)
                *caller->src = *src;
            else
                rc = PL_ENOMEM;
        }
        if (str_set(&d->call_id, msg->call_id) || str_set(&d->from_uri, msg->from->uri_raw) ||
            str_set(&d->to_uri, msg->to->uri_raw) || str_set(&caller->tag, msg->from->tag) ||
            str_set(&caller->contact, contact_uri(msg)) || join_routes(&caller->route, rrs, nrr))
            rc = PL_ENOMEM;
    }
    if (rc == PL_OK) {
        if (m->cfg.match_mode == PL_DLG_MATCH_SIP_ONLY) {
            rc = pl_preq_record_route(r, PL_STR_NULL);
        } else {
            char prm[64];
            char hex[17];
            pl_dlg_id_print(d->id, hex);
            int n = snprintf(prm, sizeof(prm), ";%s=%s", m->rr_param, hex);
            rc = pl_preq_record_route(r, (pl_str){prm, (size_t)n});
        }
    }
    if (rc != PL_OK) {
        pl__dlg_discard(d);
        return rc;
    }
    pl__dlg_link(t, d);
    atomic_fetch_add(&m->st_processed, 1);
    if (!attach(t, r, d, PL_DLG_DIR_DOWNSTREAM, 0, true)) {
        d->state = PL_DLG_DELETED;
        d->in_table = false;
        atomic_fetch_add(&m->st_failed, 1);
        pl__dlg_unref(d);
        return PL_ENOMEM;
    }
    d->ireq = r;
    pl__dlg_arm_life(d, (uint64_t)m->cfg.early_timeout_s * 1000);
    pl__dlg_logf(t, PL_PROXY_LOG_DEBUG, d->call_id, "dialog created");
    d->ref++;
    pl__dlg_fire(d, PL_DLGCB_CREATED, msg, PL_DLG_DIR_DOWNSTREAM, 0);
    bool alive = d->ref > 1;
    pl__dlg_unref(d);
    if (out)
        *out = alive ? d : NULL;
    return PL_OK;
}

/* ---- responses to the initial INVITE */

static void to_confirmed(pl_dlg *d, const pl_msg *resp, uint32_t leg)
{
    pl_dlg_module *m = d->t->m;
    pl_dlg_state old = d->state;
    if (old == PL_DLG_DELETED) {
        if (d->ended || d->has_bye)
            return; /* a BYE passed: it stays ended */
        /* A late 2xx revives a failed dialog (it was cancelled or failed
         * while this branch still ran): the caller gets the 2xx and has a
         * call. */
        if (!d->in_table) {
            d->in_table = true;
            d->ref++;
        }
        pl__dlg_logf(d->t, PL_PROXY_LOG_INFO, d->call_id, "a late 2xx revives the dialog");
    }
    d->state = PL_DLG_CONFIRMED_NA;
    if (old == PL_DLG_EARLY)
        atomic_fetch_sub(&m->st_early, 1);
    atomic_fetch_add(&m->st_active, 1);
    d->confirmed_ms = pl__dlg_now(d->t);
    uint32_t life = d->lifetime_s;
    if (d->cancelled || d->has_bye) {
        /* A 2xx that crossed a CANCEL or the caller's BYE: nobody wants
         * this call; end it soon, with BYE both ways. */
        life = RACE_TIMEOUT_S;
        d->flags |= PL_DLG_F_BYE_ON_TIMEOUT;
        /* The proxy's own reason (a terminate) stays; a caller's CANCEL or
         * BYE becomes the race. */
        if (!d->end_reason.len || pl_str_eq(d->end_reason, PL_STR_LIT("Cancelled")))
            pl__dlg_set_reason(d, PL_STR_LIT("SIP Race Condition"), false);
    } else if (old == PL_DLG_DELETED) {
        pl__dlg_set_reason(d, PL_STR_NULL, false);
    }
    pl__dlg_arm_life(d, (uint64_t)life * 1000);
    pl_timer_stop(d->t->wheel, &d->t_aux);
    pl_timer_start(d->t->wheel, &d->t_aux, (uint64_t)m->cfg.noack_timeout_s * 1000);
    if (!d->confirmed_fired) {
        d->confirmed_fired = true;
        pl__dlg_fire(d, PL_DLGCB_CONFIRMED, resp, PL_DLG_DIR_UPSTREAM, leg);
    }
    pl__dlg_changed(d, PL_DLG_CHANGE_CONFIRMED);
}

static void initial_reply(pl_dlg *d, uint32_t branch, const pl_msg *resp)
{
    uint16_t code = resp->status;
    if (code <= 100 || code >= 300)
        return;
    pl_str tag = resp->to ? resp->to->tag : PL_STR_NULL;
    uint32_t leg = 0;
    if (tag.len) {
        leg = callee_leg(d, tag);
        if (!leg) {
            leg = pl__dlg_add_leg(d);
            if (leg == UINT32_MAX)
                return;
            dlg_leg *l = &d->legs[leg];
            l->branch = branch;
            l->cseq_to = d->legs[0].inv_cseq;
            if (str_set(&l->tag, tag) != PL_OK) {
                d->nlegs--;
                return;
            }
        }
        dlg_leg *l = &d->legs[leg];
        pl_str c = contact_uri(resp);
        if (c.len && !(l->contact.len && pl_str_eq(l->contact, c)))
            str_set(&l->contact, c);
        if (code >= 200 || !l->route.len)
            callee_route(d, resp, &l->route);
    }
    if (code < 200) {
        if (d->state == PL_DLG_UNCONFIRMED) {
            d->state = PL_DLG_EARLY;
            atomic_fetch_add(&d->t->m->st_early, 1);
        }
        if (d->state == PL_DLG_EARLY && !d->early_fired) {
            d->early_fired = true;
            pl__dlg_fire(d, PL_DLGCB_EARLY, resp, PL_DLG_DIR_UPSTREAM, leg ? leg : UINT32_MAX);
        }
        return;
    }
    if (!leg) {
        pl__dlg_logf(d->t, PL_PROXY_LOG_WARN, d->call_id, "2xx without a To tag: not tracked");
        return;
    }
    if (!d->primary)
        d->primary = leg; /* the first 2xx's leg; another branch's 2xx leaves it */
    if (d->state == PL_DLG_CONFIRMED_NA || d->state == PL_DLG_CONFIRMED)
        return;
    to_confirmed(d, resp, leg);
}

/* ---- sequential requests */

static void seq_request(pl_dlg *d, req_ctx *c, const pl_msg *msg)
{
    pl_dlg_table *t = d->t;
    uint32_t from = c->leg;
    uint32_t to = 0;
    if (c->dir == PL_DLG_DIR_DOWNSTREAM) {
        to = msg->to ? callee_leg(d, msg->to->tag) : 0;
        if (!to)
            to = d->primary;
    }
    c->to = to;
    c->prev_cseq = d->legs[from].cseq_from;
    pl_method meth = msg->method_id;
    if (meth != PL_METHOD_ACK && msg->has_cseq) {
        d->legs[from].cseq_from = msg->cseq.num;
        if (to || c->dir == PL_DLG_DIR_UPSTREAM)
            d->legs[to].cseq_to = msg->cseq.num;
        if (meth == PL_METHOD_INVITE)
            d->legs[from].inv_cseq = msg->cseq.num;
    }
    /* A target refresh (RFC 3261 12.2): the sender's new Contact. */
    if ((meth == PL_METHOD_INVITE || meth == PL_METHOD_UPDATE) && msg->contact)
        str_set(&d->legs[from].contact, msg->contact->uri_raw);
    d->ref++;
    pl__dlg_fire(d, PL_DLGCB_REQ_WITHIN, msg, c->dir, from);
    if (meth == PL_METHOD_ACK) {
        if (d->state == PL_DLG_CONFIRMED_NA && from == 0 && msg->has_cseq &&
            msg->cseq.num == d->legs[0].inv_cseq) {
            d->state = PL_DLG_CONFIRMED;
            pl_timer_stop(t->wheel, &d->t_aux);
            pl__dlg_start_pings(d);
        }
    } else if (meth == PL_METHOD_BYE) {
        bool primary = c->dir == PL_DLG_DIR_UPSTREAM ? from == d->primary : to == d->primary;
        if (d->state == PL_DLG_CONFIRMED_NA || d->state == PL_DLG_CONFIRMED) {
            if (primary) {
                pl__dlg_set_reason(d,
                                   c->dir == PL_DLG_DIR_UPSTREAM ? PL_STR_LIT("Upstream BYE")
                                                                 : PL_STR_LIT("Downstream BYE"),
                                   false);
                pl__dlg_delete(d, PL_DLGCB_TERMINATED, msg, c->dir, from);
            } else {
                pl__dlg_logf(t, PL_PROXY_LOG_INFO, d->call_id,
                             "BYE on a non-primary leg: the dialog stays");
            }
        } else if (d->state == PL_DLG_UNCONFIRMED || d->state == PL_DLG_EARLY) {
            if (c->dir == PL_DLG_DIR_DOWNSTREAM)
                d->has_bye = true;
            else
                pl__dlg_logf(t, PL_PROXY_LOG_INFO, d->call_id,
                             "BYE from the callee before a 2xx (RFC 3261 15): ignored");
        }
    }
    pl__dlg_changed(d, PL_DLG_CHANGE_UPDATED); /* the ACK, CSeqs, a new target */
    pl__dlg_unref(d);
}

static pl_str own_did(const pl_dlg_module *m, pl_str prm)
{
    for (size_t i = 0; i < prm.len; i++) {
        if (prm.p[i] != ';')
            continue;
        size_t k = i + 1;
        while (k < prm.len && (prm.p[k] == ' ' || prm.p[k] == '\t'))
            k++;
        if (k + m->rr_param_len < prm.len &&
            strncasecmp(prm.p + k, m->rr_param, m->rr_param_len) == 0 &&
            prm.p[k + m->rr_param_len] == '=') {
            pl_str v = {prm.p + k + m->rr_param_len + 1, 0};
            while (v.p + v.len < prm.p + prm.len && v.p[v.len] != ';' && v.p[v.len] != ' ')
                v.len++;
            return v;
        }
    }
    return PL_STR_NULL;
}

int pl_dlg_match(pl_dlg_table *t, pl_preq *r, pl_dlg_match_mode mode, pl_dlg **out)
{
    req_ctx *c = ctx_of(t, r);
    if (c) {
        if (out)
            *out = c->d;
        return PL_OK;
    }
    const pl_msg *msg = pl_preq_msg(r);
    if (pl_preq_local(r) || !msg->is_request || !msg->to || !msg->to->tag.len || !msg->from ||
        !msg->call_id.len)
        return PL_ENOTFOUND;
    pl_str ftag = msg->from->tag, ttag = msg->to->tag;
    pl_dlg *d = NULL;
    pl_dlg_dir dir = PL_DLG_DIR_NONE;
    uint32_t leg = 0;
    if (mode != PL_DLG_MATCH_SIP_ONLY) {
        pl_str v = own_did(t->m, pl_preq_own_route_params(r));
        uint64_t id;
        if (v.len && pl_dlg_id_parse(v, &id) == PL_OK) {
            pl_dlg *cand = pl_dlg_lookup(t, id);
            if (cand && pl_str_eq(cand->call_id, msg->call_id) &&
                tags_match(cand, ftag, ttag, &dir, &leg))
                d = cand;
            else if (cand)
                pl__dlg_logf(t, PL_PROXY_LOG_WARN, msg->call_id,
                             "a request names dialog %.*s but its Call-ID or tags differ",
                             (int)v.len, v.p);
        }
    }
    if (!d && mode != PL_DLG_MATCH_DID_ONLY) {
        d = pl_dlg_lookup_sip(t, msg->call_id, ftag, ttag);
        if (d && !tags_match(d, ftag, ttag, &dir, &leg))
            d = NULL;
    }
    if (!d)
        return PL_ENOTFOUND;
    c = attach(t, r, d, dir, leg, false);
    if (!c)
        return PL_ENOMEM;
    seq_request(d, c, msg);
    if (out)
        *out = c->d;
    return PL_OK;
}

/* ---- the proxy's events */

static void on_event(pl_proxy *p, pl_preq *r, pl_proxy_event ev, uint32_t branch, const pl_msg *msg,
                     void *arg)
{
    (void)p;
    pl_dlg_table *t = arg;
    if (pl_preq_local(r))
        return;
    if (ev == PL_PROXY_EV_REQUEST_IN) {
        if (msg->to && msg->to->has_tag && msg->method_id != PL_METHOD_CANCEL)
            pl_dlg_match(t, r, t->m->cfg.match_mode, NULL);
        return;
    }
    req_ctx *c = ctx_of(t, r);
    if (!c)
        return;
    pl_dlg *d = c->d;
    d->ref++;
    switch (ev) {
    case PL_PROXY_EV_REPLY_RECEIVED:
        if (c->initial)
            initial_reply(d, branch, msg);
        break;
    case PL_PROXY_EV_REPLY_FORWARDED:
    case PL_PROXY_EV_REPLIED:
        if (c->initial) {
            if (ev == PL_PROXY_EV_REPLY_FORWARDED && msg->status > 100)
                pl__dlg_fire(d, PL_DLGCB_RESPONSE_FWDED, msg, PL_DLG_DIR_UPSTREAM,
                             msg->to ? callee_leg(d, msg->to->tag) : UINT32_MAX);
            if (msg->status >= 300 &&
                (d->state == PL_DLG_UNCONFIRMED || d->state == PL_DLG_EARLY)) {
                if (!d->end_reason.len)
                    pl__dlg_set_reason(
                        d, d->cancelled ? PL_STR_LIT("Cancelled") : PL_STR_LIT("Failed"), false);
                pl__dlg_delete(d, PL_DLGCB_FAILED, msg, PL_DLG_DIR_UPSTREAM, UINT32_MAX);
            }
        } else if (ev == PL_PROXY_EV_REPLY_FORWARDED && msg->status > 100) {
            /* The answerer's new Contact (12.2: a 2xx to a target refresh). */
            const pl_msg *req = pl_preq_msg(r);
            if (msg->status < 300 && msg->contact &&
                (req->method_id == PL_METHOD_INVITE || req->method_id == PL_METHOD_UPDATE)) {
                uint32_t to = 0;
                if (c->dir == PL_DLG_DIR_DOWNSTREAM)
                    to = req->to ? callee_leg(d, req->to->tag) : 0;
                if (c->dir == PL_DLG_DIR_UPSTREAM || to) {
                    str_set(&d->legs[to].contact, msg->contact->uri_raw);
                    pl__dlg_changed(d, PL_DLG_CHANGE_UPDATED);
                }
            }
            pl__dlg_fire(d, PL_DLGCB_RESPONSE_WITHIN, msg,
                         c->dir == PL_DLG_DIR_DOWNSTREAM ? PL_DLG_DIR_UPSTREAM
                                                         : PL_DLG_DIR_DOWNSTREAM,
                         c->leg);
        }
        break;
    case PL_PROXY_EV_CANCELLED:
        if (c->initial) {
            d->cancelled = true;
            pl__dlg_set_reason(d, PL_STR_LIT("Cancelled"), false);
        }
        break;
    case PL_PROXY_EV_DELETED:
        if (c->initial) {
            d->ireq = NULL;
            if (d->state == PL_DLG_UNCONFIRMED || d->state == PL_DLG_EARLY) {
                if (!d->end_reason.len)
                    pl__dlg_set_reason(d, PL_STR_LIT("Failed"), false);
                pl__dlg_delete(d, PL_DLGCB_FAILED, NULL, PL_DLG_DIR_NONE, UINT32_MAX);
            } else if (d->state == PL_DLG_DELETED) {
                pl__dlg_profiles_drop(d); /* no revival possible any more */
            }
        }
        pl_preq_set_ctx(r, t->slot, NULL);
        if (c->prev)
            c->prev->next = c->next;
        else
            t->ctxs = c->next;
        if (c->next)
            c->next->prev = c->prev;
        free(c);
        pl__dlg_unref(d); /* the context's */
        break;
    default:
        break;
    }
    pl__dlg_unref(d);
}

/* ---- accessors */

uint64_t pl_dlg_id(const pl_dlg *d)
{
    return d->id;
}

pl_dlg_state pl_dlg_state_of(const pl_dlg *d)
{
    return d->state;
}

const char *pl_dlg_state_name(pl_dlg_state s)
{
    switch (s) {
    case PL_DLG_UNCONFIRMED:
        return "unconfirmed";
    case PL_DLG_EARLY:
        return "early";
    case PL_DLG_CONFIRMED_NA:
        return "confirmed-not-acked";
    case PL_DLG_CONFIRMED:
        return "confirmed";
    case PL_DLG_DELETED:
        return "deleted";
    }
    return "?";
}

pl_str pl_dlg_call_id(const pl_dlg *d)
{
    return d->call_id;
}

pl_str pl_dlg_from_uri(const pl_dlg *d)
{
    return d->from_uri;
}

pl_str pl_dlg_to_uri(const pl_dlg *d)
{
    return d->to_uri;
}

pl_str pl_dlg_caller_tag(const pl_dlg *d)
{
    return d->legs[0].tag;
}

pl_str pl_dlg_callee_tag(const pl_dlg *d)
{
    return d->primary ? d->legs[d->primary].tag : PL_STR_NULL;
}

pl_dlg_table *pl_dlg_table_of(const pl_dlg *d)
{
    return d->t;
}

uint32_t pl_dlg_flags(const pl_dlg *d)
{
    return d->flags;
}

void pl_dlg_set_flags(pl_dlg *d, uint32_t flags)
{
    uint32_t pings = PL_DLG_F_PING_CALLER | PL_DLG_F_PING_CALLEE;
    bool changed = (d->flags & pings) != (flags & pings);
    d->flags = flags;
    if (changed && d->state == PL_DLG_CONFIRMED) {
        pl_timer_stop(d->t->wheel, &d->t_aux);
        pl__dlg_start_pings(d);
    }
    pl__dlg_changed(d, PL_DLG_CHANGE_UPDATED);
}

int pl_dlg_set_lifetime(pl_dlg *d, uint32_t seconds)
{
    if (!seconds || seconds > PL_DLG_MAX_SECONDS)
        return PL_EINVAL;
    if (d->state == PL_DLG_DELETED)
        return PL_ESTATE;
    d->lifetime_s = seconds;
    if (d->state >= PL_DLG_CONFIRMED_NA)
        pl__dlg_arm_life(d, (uint64_t)seconds * 1000);
    pl__dlg_changed(d, PL_DLG_CHANGE_UPDATED);
    return PL_OK;
}

uint32_t pl_dlg_lifetime_left(const pl_dlg *d)
{
    if (d->state == PL_DLG_DELETED)
        return 0;
    if (d->state < PL_DLG_CONFIRMED_NA)
        return d->lifetime_s;
    uint64_t now = pl__dlg_now(d->t);
    return d->expires_ms > now ? (uint32_t)((d->expires_ms - now + 999) / 1000) : 0;
}

int pl_dlg_set_ping_interval(pl_dlg *d, uint32_t seconds)
{
    if (!seconds || seconds > PL_DLG_MAX_SECONDS)
        return PL_EINVAL;
    d->ping_interval_s = seconds;
    if (d->state == PL_DLG_CONFIRMED) {
        pl_timer_stop(d->t->wheel, &d->t_aux);
        pl__dlg_start_pings(d);
    }
    pl__dlg_changed(d, PL_DLG_CHANGE_UPDATED);
    return PL_OK;
}

uint64_t pl_dlg_created_ms(const pl_dlg *d)
{
    return d->created_ms;
}

uint64_t pl_dlg_confirmed_ms(const pl_dlg *d)
{
    return d->confirmed_ms;
}

pl_str pl_dlg_end_reason(const pl_dlg *d)
{
    return d->end_reason;
}

/* The ids of every dialog of t, malloc'd (NULL with *n 0 when empty or out of memory). */
static uint64_t *table_ids(const pl_dlg_table *t, size_t *n)
{
    *n = 0;
    if (!t->count)
        return NULL;
    uint64_t *ids = malloc(t->count * sizeof(*ids));
    if (!ids)
        return NULL;
    for (size_t i = 0; i < t->nbuckets; i++)
        for (pl_dlg *d = t->buckets[i]; d && *n < t->count; d = d->hnext)
            ids[(*n)++] = d->id;
    return ids;
}

void pl_dlg_table_walk(pl_dlg_table *t, void (*fn)(pl_dlg *d, void *arg), void *arg)
{
    /* By id, each looked up again: fn (or a callback it runs) may end and
     * free dialogs, this one or others. */
    size_t n;
    uint64_t *ids = table_ids(t, &n);
    for (size_t i = 0; i < n; i++) {
        pl_dlg *d = pl_dlg_lookup(t, ids[i]);
        if (d) {
            d->ref++;
            fn(d, arg);
            pl__dlg_unref(d);
        }
    }
    free(ids);
}

void pl__dlg_arm_life(pl_dlg *d, uint64_t ms)
{
    pl_timer_stop(d->t->wheel, &d->t_life);
    d->expires_ms = pl__dlg_now(d->t) + ms;
    pl_timer_start(d->t->wheel, &d->t_life, ms);
}

/* ---- validate and fix the route of a sequential request */

/* Split a stored route set ("a, b") into parsed entries; returns how many (at most cap). */
static size_t split_routes(pl_str set, pl_nameaddr *out, size_t cap, bool *bad)
{
    size_t n = 0, start = 0;
    int angle = 0;
    bool quote = false;
    if (!set.len)
        return 0;
    for (size_t i = 0; i <= set.len; i++) {
        char ch = i < set.len ? set.p[i] : ',';
        if (quote) {
            if (ch == '\\' && i + 1 < set.len)
                i++;
            else if (ch == '"')
                quote = false;
            continue;
        }
        if (ch == '"')
            quote = true;
        else if (ch == '<')
            angle++;
        else if (ch == '>')
            angle--;
        else if (ch == ',' && angle <= 0) {
            pl_str v = pl_str_trim((pl_str){set.p + start, i - start});
            start = i + 1;
            if (!v.len)
                continue;
            if (n == cap || pl_nameaddr_parse(&out[n], v, 64, NULL) != PL_OK) {
                *bad = true;
                return n;
            }
            n++;
        }
    }
    return n;
}

int pl_dlg_validate(pl_dlg *d, pl_preq *r)
{
    req_ctx *c = ctx_of(d->t, r);
    if (!c || c->d != d || c->initial)
        return PL_DLG_BAD_OTHER;
    const pl_msg *msg = pl_preq_msg(r);
    if (!msg->has_cseq)
        return PL_DLG_BAD_OTHER;
    if (msg->method_id == PL_METHOD_ACK) {
        if (msg->cseq.num != d->legs[c->leg].inv_cseq)
            return PL_DLG_BAD_CSEQ;
    } else if (c->prev_cseq && msg->cseq.num <= c->prev_cseq) {
        return PL_DLG_BAD_CSEQ;
    }
    if (d->state < PL_DLG_CONFIRMED_NA)
        return PL_DLG_VALID; /* remote target and route set are settled by the 2xx */
    if (c->dir == PL_DLG_DIR_DOWNSTREAM && !c->to)
        return PL_DLG_BAD_OTHER;
    const dlg_leg *dst = &d->legs[c->to];
    if (dst->contact.len) {
        pl_uri u;
        if (pl_uri_parse(&u, dst->contact, NULL) != PL_OK || !pl_uri_equal(&u, &msg->ruri))
            return PL_DLG_BAD_TARGET;
    }
    pl_nameaddr stored[32];
    bool bad = false;
    size_t n = split_routes(dst->route, stored, 32, &bad);
    if (bad)
        return PL_DLG_BAD_OTHER;
    const pl_nameaddr *rt = msg->route;
    for (size_t i = 0; i < n; i++, rt = rt->next)
        if (!rt || !pl_uri_equal(&stored[i].uri, &rt->uri))
            return PL_DLG_BAD_ROUTE;
    return rt ? PL_DLG_BAD_ROUTE : PL_DLG_VALID;
}

int pl_dlg_fix_route(pl_dlg *d, pl_preq *r)
{
    req_ctx *c = ctx_of(d->t, r);
    if (!c || c->d != d || c->initial || (c->dir == PL_DLG_DIR_DOWNSTREAM && !c->to))
        return PL_EINVAL;
    const dlg_leg *dst = &d->legs[c->to];
    if (!dst->contact.len)
        return PL_ENOTFOUND;
    pl_msg *m = pl_preq_msg(r);
    int rc = pl_msg_set_ruri(m, dst->contact);
    if (rc >= 0) {
        int k = pl_msg_hdr_remove_id(m, PL_HDR_ROUTE);
        rc = k < 0 ? k : PL_OK;
    }
    if (rc == PL_OK && dst->route.len)
        rc = pl_msg_hdr_append(m, PL_STR_LIT("Route"), dst->route);
    return rc;
}

/* ---- memory */

static size_t heap(const void *p)
{
    return p ? malloc_usable_size((void *)p) : 0;
}

size_t pl_dlg_memory(const pl_dlg *d, size_t *strings)
{
    size_t n = heap(d) + heap(d->legs), s = 0;
    for (uint32_t i = 0; i < d->nlegs; i++) {
        const dlg_leg *l = &d->legs[i];
        n += heap(l->route.p) + heap(l->src);
        s += heap(l->tag.p) + heap(l->contact.p);
    }
    for (const dlg_val *v = d->vals; v; v = v->next)
        n += heap(v);
    for (const plink *l = d->links; l; l = l->next)
        n += heap(l);
    for (const dlg_cb *c = d->cbs; c; c = c->next)
        n += heap(c);
    if (d->end_reason_owned)
        n += heap(d->end_reason.p);
    s += heap(d->call_id.p) + heap(d->from_uri.p) + heap(d->to_uri.p);
    if (strings)
        *strings = s;
    return n;
}

/* ---- the store's hook */

void pl__dlg_changed(pl_dlg *d, pl_dlg_change what)
{
    const pl_dlg_config *c = &d->t->m->cfg;
    if (!c->on_change || d->loading)
        return;
    if (what == PL_DLG_CHANGE_DELETED) {
        if (!d->stored)
            return;
        d->stored = false;
    } else {
        if (d->state != PL_DLG_CONFIRMED_NA && d->state != PL_DLG_CONFIRMED)
            return;
        if (!d->stored)
            what = PL_DLG_CHANGE_CONFIRMED;
        d->stored = true;
    }
    c->on_change(d, what, c->user);
}
