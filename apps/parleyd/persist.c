/*
 * persist.c - parleyd's memory across restarts: confirmed dialogs and
 * registrations written through the store (src/store, docs/store.md) and
 * read back at start.
 *
 * Dialogs: the dialog module's on_change hook runs on the worker that owns
 * the dialog; it exports the record and queues it (the store thread does
 * the writing, so a slow database never holds a worker). At start the
 * rows are read once, grouped by owning worker, and each worker restores
 * its own (pl_dlg_restore on its thread: LOADED fires there). After each
 * write the store thread posts SAVED to the owner.
 *
 * Registrations: the location table's change hook queues each binding
 * added, refreshed or removed; at start the rows come back with
 * pl_location_restore. Expiry times are stored as Unix time and turned
 * back into the workers' monotonic clock.
 */
#include "persist.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "log.h"

static const pl_str NO_CALL = {NULL, 0};

struct pd_persist {
    pd_shared *sh;
    pl_store *store;
    pl_store_mode mode;
};

/* ---- clocks: the workers' (uv_now: monotonic ms) and Unix ms */

static uint64_t mono_ms(void)
{
    return uv_hrtime() / 1000000u;
}

static uint64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- hooks */

void pd_persist_dialog_change(pd_persist *p, pl_dlg *d, pl_dlg_change what)
{
    /* (Shutdown mode too: the store keeps the latest of each until it closes.) */
    if (!p || !p->store || p->mode == PL_STORE_NONE)
        return;
    if (what == PL_DLG_CHANGE_DELETED) {
        pl_store_dialog_del(p->store, pl_dlg_id(d));
        return;
    }
    pl_dlg_record rec;
    char buf[16384];
    int rc = pl_dlg_export(d, &rec, buf, sizeof(buf));
    if (rc == PL_OK)
        rc = pl_store_dialog_put(p->store, &rec);
    if (rc != PL_OK)
        pd_log(PL_PROXY_LOG_WARN, PD_MAIN, pl_dlg_call_id(d), "dialog not queued for the store: %s",
               pl_err_str(rc));
}

static void location_change(const char *aor, const pl_binding *b, bool removed, void *user)
{
    pd_persist *p = user;
    if (!p->store)
        return;
    if (removed) {
        pl_store_binding_del(p->store, aor, b ? b->contact : (pl_str){NULL, 0});
        return;
    }
    uint64_t now = mono_ms();
    uint64_t left = b->expires_ms > now ? b->expires_ms - now : 0;
    pl_store_binding_put(p->store, aor, b, unix_ms() + left);
}

/* SAVED, on the owner's thread. */
typedef struct saved_job {
    pd_shared *sh;
    uint64_t id;
} saved_job;

static void saved_run(void *arg)
{
    saved_job *j = arg;
    unsigned index = (unsigned)((j->id >> 32) % j->sh->n);
    pl_dlg_table *t = pd_worker_dialogs(j->sh->workers[index]);
    pl_dlg *d = t ? pl_dlg_lookup(t, j->id) : NULL;
    if (d)
        pl_dlg_notify_saved(d);
    free(j);
}

static void on_saved(uint64_t id, bool deleted, void *user)
{
    pd_persist *p = user;
    if (deleted || !p->sh->n)
        return; /* a deleted row's dialog has ended: nobody to tell */
    if (!p->sh->dialogs || !pl_dlg_wants(p->sh->dialogs, PL_DLGCB_SAVED))
        return; /* nobody listens: no hand-over per write */
    saved_job *j = malloc(sizeof(*j));
    if (!j)
        return;
    j->sh = p->sh;
    j->id = id;
    pd_worker_post((unsigned)((id >> 32) % p->sh->n), saved_run, j, p->sh);
}

static void store_log(pl_proxy_log_level level, pl_str call_id, const char *line, void *user)
{
    (void)user;
    pd_log_line(level, PD_MAIN, call_id, line);
}

/* ---- open and close */

pd_persist *pd_persist_open(pd_shared *sh, const pd_config *c, char *err, size_t cap)
{
    pd_persist *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    p->sh = sh;
    pl_store_mode mode = PL_STORE_REALTIME;
    pl_store_mode_parse(c->store_mode, &mode);
    p->mode = mode;
    if (strcmp(c->store, "none") == 0 || mode == PL_STORE_NONE) {
        p->mode = PL_STORE_NONE;
        return p;
    }
    char url[sizeof(c->store) + PATH_MAX];
    pd_config_store_url(c, url, sizeof(url));
    pl_store_config sc = {
        .url = url,
        .mode = mode,
        .flush_ms = c->store_flush,
        .on_saved = on_saved,
        .log = store_log,
        .user = p,
    };
    pl_error e = {0, 0, NULL};
    p->store = pl_store_open(&sc, &e);
    if (!p->store) {
        snprintf(err, cap, "store %s: %s", url, e.reason ? e.reason : "cannot open");
        free(p);
        return NULL;
    }
    return p;
}

pl_store *pd_persist_store(const pd_persist *p)
{
    return p ? p->store : NULL;
}

void pd_persist_location_hook(pd_persist *p, pl_location_config *lc)
{
    if (p && p->store) {
        lc->on_change = location_change;
        lc->hook_user = p;
    }
}

/* ---- loading at start */

typedef struct rec_copy {
    pl_dlg_record rec;
    char *block; /* every string of rec */
} rec_copy;

typedef struct load_ctx {
    pd_shared *sh;
    rec_copy **per; /* per worker: an array */
    size_t *n, *cap;
    long bad;
} load_ctx;

static void keep(pl_str *s, char **at)
{
    if (s->len)
        memcpy(*at, s->p, s->len);
    s->p = *at;
    *at += s->len;
}

static void collect(const pl_dlg_record *rec, void *arg)
{
    load_ctx *lc = arg;
    unsigned w = (unsigned)(pl_dlg_hash(rec->call_id) % lc->sh->n);
    if (lc->n[w] == lc->cap[w]) {
        size_t cap = lc->cap[w] ? lc->cap[w] * 2 : 64;
        rec_copy *nb = realloc(lc->per[w], cap * sizeof(*nb));
        if (!nb) {
            lc->bad++;
            return;
        }
        lc->per[w] = nb;
        lc->cap[w] = cap;
    }
    rec_copy *c = &lc->per[w][lc->n[w]];
    c->rec = *rec;
    pl_str *strs[] = {&c->rec.call_id,    &c->rec.from_uri,       &c->rec.to_uri,
                      &c->rec.leg[0].tag, &c->rec.leg[0].contact, &c->rec.leg[0].route,
                      &c->rec.leg[1].tag, &c->rec.leg[1].contact, &c->rec.leg[1].route,
                      &c->rec.values,     &c->rec.profiles,       &c->rec.end_reason};
    size_t total = 0;
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        total += strs[i]->len;
    c->block = malloc(total ? total : 1);
    if (!c->block) {
        lc->bad++;
        return;
    }
    char *at = c->block;
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        keep(strs[i], &at);
    lc->n[w]++;
}

typedef struct restore_arg {
    pd_persist *p;
    rec_copy *recs;
    size_t n;
    size_t loaded, skipped;
} restore_arg;

static void restore_on_worker(pd_worker *w, void *arg)
{
    restore_arg *ra = arg;
    pl_dlg_table *t = pd_worker_dialogs(w);
    for (size_t i = 0; i < ra->n; i++) {
        const pl_dlg_record *rec = &ra->recs[i].rec;
        int rc = t ? PL_OK : PL_ESTATE;
        /* A row whose delete is queued: that call ended while it was read (a sync). */
        if (rc == PL_OK && pl_store_dialog_deleting(ra->p->store, rec->id))
            rc = PL_ESTATE;
        if (rc == PL_OK)
            rc = pl_dlg_restore(t, rec, NULL);
        if (rc == PL_OK) {
            ra->loaded++;
            /* Shutdown mode emptied the table when it read it: the dialog
             * must be written back at the next stop, changed or not. */
            if (ra->p->mode == PL_STORE_SHUTDOWN)
                pl_store_dialog_put(ra->p->store, rec);
        } else {
            ra->skipped++;
            if (rc != PL_ESTATE)
                pd_log(PL_PROXY_LOG_WARN, PD_MAIN, ra->recs[i].rec.call_id,
                       "stored dialog not restored: %s", pl_err_str(rc));
        }
    }
}

long pd_persist_load_dialogs(pd_persist *p, size_t *skipped)
{
    if (skipped)
        *skipped = 0;
    if (!p || !p->store)
        return 0;
    pd_shared *sh = p->sh;
    load_ctx lc = {sh, calloc(sh->n, sizeof(rec_copy *)), calloc(sh->n, sizeof(size_t)),
                   calloc(sh->n, sizeof(size_t)), 0};
    long total = -1;
    if (lc.per && lc.n && lc.cap) {
        uint64_t t0 = mono_ms();
        long rows = pl_store_dialog_load(p->store, collect, &lc);
        if (rows < 0) {
            pd_log(PL_PROXY_LOG_ERROR, PD_MAIN, NO_CALL, "reading the stored dialogs failed: %s",
                   pl_err_str((int)rows));
        } else {
            total = 0;
            size_t skip = (size_t)lc.bad;
            for (unsigned w = 0; w < sh->n; w++) {
                restore_arg ra = {p, lc.per[w], lc.n[w], 0, 0};
                if (ra.n && pd_worker_call(sh, w, restore_on_worker, &ra, 60000) != PL_OK)
                    pd_log(PL_PROXY_LOG_ERROR, PD_MAIN, NO_CALL,
                           "worker %u did not restore its dialogs", w);
                total += (long)ra.loaded;
                skip += ra.skipped;
            }
            if (skipped)
                *skipped = skip;
            pd_log(PL_PROXY_LOG_INFO, PD_MAIN, NO_CALL,
                   "%ld dialog(s) restored from the store in %llu ms (%zu skipped)", total,
                   (unsigned long long)(mono_ms() - t0), skip);
        }
    }
    for (unsigned w = 0; lc.per && w < sh->n; w++) {
        for (size_t i = 0; lc.n && i < lc.n[w]; i++)
            free(lc.per[w][i].block);
        free(lc.per[w]);
    }
    free(lc.per);
    free(lc.n);
    free(lc.cap);
    return total; /* (shutdown mode: the load emptied the table; the close writes it back) */
}

static void binding_back(const char *aor, const pl_binding *b, uint64_t expires_unix_ms, void *arg)
{
    pd_persist *p = arg;
    uint64_t now_u = unix_ms();
    if (expires_unix_ms <= now_u)
        return; /* expired while parleyd was down */
    pl_binding c = *b;
    c.expires_ms = mono_ms() + (expires_unix_ms - now_u);
    pl_location_restore(p->sh->location, aor, &c);
}

long pd_persist_load_bindings(pd_persist *p)
{
    if (!p || !p->store)
        return 0;
    long n = pl_store_binding_load(p->store, binding_back, p);
    if (n >= 0)
        pd_log(PL_PROXY_LOG_INFO, PD_MAIN, NO_CALL, "%ld registration(s) read from the store", n);
    return n;
}

/* ---- writing everything (shutdown mode, store.restore) */

typedef struct dump_arg {
    pd_persist *p;
    size_t written;
} dump_arg;

static void dump_one(pl_dlg *d, void *arg)
{
    dump_arg *da = arg;
    pl_dlg_state st = pl_dlg_state_of(d);
    if (st != PL_DLG_CONFIRMED && st != PL_DLG_CONFIRMED_NA)
        return;
    pl_dlg_record rec;
    char buf[16384];
    if (pl_dlg_export(d, &rec, buf, sizeof(buf)) == PL_OK &&
        pl_store_dialog_put(da->p->store, &rec) == PL_OK)
        da->written++;
}

static void dump_on_worker(pd_worker *w, void *arg)
{
    pl_dlg_table *t = pd_worker_dialogs(w);
    if (t)
        pl_dlg_table_walk(t, dump_one, arg);
}

long pd_persist_write_all(pd_persist *p)
{
    if (!p || !p->store)
        return 0;
    dump_arg da = {p, 0};
    for (unsigned w = 0; w < p->sh->n; w++)
        pd_worker_call(p->sh, w, dump_on_worker, &da, 10000);
    return (long)da.written;
}

void pd_persist_close(pd_persist *p)
{
    if (!p)
        return;
    if (p->store) {
        pl_store_stats st;
        pl_store_get_stats(p->store, &st);
        if (st.queued)
            pd_log(PL_PROXY_LOG_INFO, PD_MAIN, NO_CALL,
                   "writing %llu queued change(s) to the store", (unsigned long long)st.queued);
        pl_store_close(p->store, 30000);
    }
    free(p);
}
