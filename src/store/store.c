/*
 * store.c - the store: its public calls, the write queue and the thread
 * that empties it into the database.
 *
 * A put copies what it is given into one heap block (before any lock),
 * then takes the queue's mutex only to link it: at the tail of its list
 * (dialogs or bindings), and in a table of pending keys, where it replaces
 * a pending write for the same dialog or the same AOR and contact (the
 * replaced one is unlinked, so the order of what is left is still the
 * order of the calls). A dialog deleted before its row was ever written
 * cancels its pending put: nothing reaches the database.
 *
 * The thread takes what is due (bindings always; dialogs at once in
 * REALTIME, up to the last flush in DELAYED, only when closing in
 * SHUTDOWN), at most BATCH entries, and writes them in one transaction.
 * When the database fails it keeps that batch, reconnects and tries again
 * after a pause that doubles from 100 ms to 5 s, logging the outage once;
 * meanwhile puts go on queueing (and coalescing), so the queue holds at
 * most one write per live object plus the batch.
 *
 * Locks: `lock` guards the queue, the counters and the id set; `conn`
 * guards the connection (the thread's batches, loads and truncates). The
 * thread never holds `lock` while it talks to the database, and nobody
 * takes `conn` while holding `lock`.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

#define BATCH 256
/* Realtime mode: how long the thread lets writes gather after the first, so
 * that a busy proxy's writes share transactions (and wakeups). */
#define GATHER_MS      2
#define PAUSE_FIRST_MS 100
#define PAUSE_MAX_MS   5000
#define CLOSE_GRACE_MS 2000

struct pl_store {
    pl_store_config cfg;
    const st_driver *drv;
    st_db *db;
    pthread_mutex_t conn;

    pthread_mutex_t lock;
    pthread_cond_t wake;     /* to the thread: something is due, a flush, closing */
    pthread_cond_t progress; /* from the thread: a batch is done, or it stopped */
    st_list dq, bq;          /* dialogs, bindings; each in call order */
    st_keys keys;
    st_idset in_db;        /* dialog ids whose row exists, or is on its way */
    uint64_t seq;          /* the last sequence number given */
    uint64_t due_upto;     /* dialog writes with seq <= due_upto are due */
    uint64_t inflight_min; /* the lowest seq in the batch being written, or UINT64_MAX */
    size_t inflight;
    int64_t next_flush; /* DELAYED: monotonic ms */
    bool stopping, stopped, gave_up;
    bool gathering;   /* the thread lets writes gather: no wakeup per write */
    int64_t deadline; /* closing: give up at this monotonic ms */
    uint64_t written, errors, coalesced;
    bool connected;
    bool outage, catching_up;
    int64_t outage_since;
    uint64_t written_at_outage;
    pthread_t thread;
};

/* ---- small things */

int64_t st_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t st_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec mono_ts(int64_t ms)
{
    return (struct timespec){.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
}

void st_log(pl_store *s, pl_proxy_log_level level, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (s && s->cfg.log)
        s->cfg.log(level, PL_STR_NULL, line, s->cfg.user);
    else if (level <= PL_PROXY_LOG_WARN)
        fprintf(stderr, "parley: %s\n", line);
}

static const char *const mode_names[] = {
    [PL_STORE_REALTIME] = "realtime",
    [PL_STORE_NONE] = "none",
    [PL_STORE_DELAYED] = "delayed",
    [PL_STORE_SHUTDOWN] = "shutdown",
};

bool pl_store_mode_parse(const char *s, pl_store_mode *out)
{
    for (size_t i = 0; s && i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
        if (strcmp(s, mode_names[i]) == 0) {
            *out = (pl_store_mode)i;
            return true;
        }
    return false;
}

const char *pl_store_mode_name(pl_store_mode m)
{
    return (unsigned)m < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[m] : "?";
}

pl_store_mode pl_store_get_mode(const pl_store *s)
{
    return s->cfg.mode;
}

static size_t queued(const pl_store *s)
{
    return s->dq.n + s->bq.n + s->inflight;
}

/* ---- applying a batch (the thread, `conn` held) */

enum { E_PENDING, E_DONE, E_DROPPED };

static int exec_entry(pl_store *s, const st_entry *e)
{
    const st_driver *d = s->drv;
    st_val v[ST_DIALOG_COLS];
    char src[2][64];
    switch (e->kind) {
    case ST_K_DLG_PUT:
        return d->exec(s->db, ST_DIALOG_PUT, v,
                       st_dialog_vals(&e->rec, e->expires_ms, e->at_ms, src, v));
    case ST_K_DLG_DEL:
        v[0] = (st_val){.type = ST_INT, .i = (int64_t)e->id};
        return d->exec(s->db, ST_DIALOG_DEL, v, 1);
    case ST_K_BIND_PUT:
        return d->exec(s->db, ST_BINDING_PUT, v,
                       st_binding_vals(e->aor, &e->b, e->expires_ms, e->at_ms, src[0], v));
    case ST_K_BIND_DEL:
        v[0] = (st_val){.type = ST_TEXT, .s = pl_str_c(e->aor)};
        v[1] = (st_val){.type = ST_TEXT, .s = e->b.contact};
        return d->exec(s->db, e->b.contact.len ? ST_BINDING_DEL : ST_BINDING_DEL_AOR, v,
                       e->b.contact.len ? 2 : 1);
    }
    return ST_EDATA;
}

static void log_dropped(pl_store *s, const st_entry *e)
{
    if (st_entry_is_dialog(e))
        st_log(s, PL_PROXY_LOG_ERROR, "store: dialog %016llx refused by the database, dropped: %s",
               (unsigned long long)e->id, s->drv->errmsg(s->db));
    else
        st_log(s, PL_PROXY_LOG_ERROR, "store: binding %s %.*s refused by the database, dropped: %s",
               e->aor, (int)e->b.contact.len, e->b.contact.p, s->drv->errmsg(s->db));
}

/*
 * Write the pending entries of the batch in one transaction. When a value
 * is refused (ST_EDATA) the transaction is rolled back and the entries go
 * one by one, so that only the refused ones are dropped. ST_OK when every
 * entry is done or dropped, ST_ERETRY when the rest must wait.
 */
static int apply(pl_store *s, st_entry **batch, uint8_t *state, size_t n, uint64_t *dropped)
{
    const st_driver *d = s->drv;
    bool pipe = d->pipeline_begin && d->pipeline_begin(s->db) == ST_OK;
    int rc = d->script(s->db, "BEGIN");
    for (size_t i = 0; rc == ST_OK && i < n; i++)
        if (state[i] == E_PENDING)
            rc = exec_entry(s, batch[i]);
    if (rc == ST_OK)
        rc = d->script(s->db, "COMMIT");
    if (pipe) {
        int end = d->pipeline_end(s->db);
        if (rc == ST_OK)
            rc = end;
    }
    if (rc == ST_OK) {
        for (size_t i = 0; i < n; i++)
            if (state[i] == E_PENDING)
                state[i] = E_DONE;
        return ST_OK;
    }
    d->script(s->db, "ROLLBACK");
    if (rc == ST_ERETRY)
        return ST_ERETRY;
    for (size_t i = 0; i < n; i++) {
        if (state[i] != E_PENDING)
            continue;
        rc = exec_entry(s, batch[i]); /* its own transaction */
        if (rc == ST_ERETRY)
            return ST_ERETRY;
        if (rc == ST_EDATA) {
            log_dropped(s, batch[i]);
            (*dropped)++;
        }
        state[i] = rc == ST_OK ? E_DONE : E_DROPPED;
    }
    return ST_OK;
}

/* Sleep until `until` (monotonic ms) or closing (`lock` held). */
static void pause_until(pl_store *s, int64_t until)
{
    bool was = s->stopping;
    while (s->stopping == was && st_mono_ms() < until) {
        struct timespec ts = mono_ts(until);
        pthread_cond_timedwait(&s->wake, &s->lock, &ts);
    }
}

/*
 * Write one batch, retrying until it is written, or until closing's
 * deadline. Called and returns with `lock` held. False when given up.
 */
static bool write_batch(pl_store *s, st_entry **batch, uint8_t *state, size_t n)
{
    int64_t pause = PAUSE_FIRST_MS;
    uint64_t dropped = 0;
    for (int attempt = 0;; attempt++) {
        pthread_mutex_unlock(&s->lock);
        pthread_mutex_lock(&s->conn);
        if (attempt > 0)
            s->drv->reconnect(s->db);
        int rc = apply(s, batch, state, n, &dropped);
        pthread_mutex_unlock(&s->conn);
        pthread_mutex_lock(&s->lock);
        s->errors += dropped;
        dropped = 0;
        if (rc == ST_OK) {
            s->connected = true;
            if (s->outage) {
                s->outage = false;
                s->catching_up = true;
                st_log(s, PL_PROXY_LOG_WARN,
                       "store: the database is back after %.1f s; %zu writes to catch up",
                       (double)(st_mono_ms() - s->outage_since) / 1000.0, queued(s));
            }
            return true;
        }
        s->errors++;
        s->connected = false;
        if (!s->outage) {
            s->outage = true;
            s->outage_since = st_mono_ms();
            s->written_at_outage = s->written;
            st_log(s, PL_PROXY_LOG_ERROR,
                   "store: cannot write to the database (%s); %zu writes wait, retrying",
                   s->drv->errmsg(s->db), queued(s));
        }
        int64_t now = st_mono_ms();
        if (s->stopping && now >= s->deadline)
            return false;
        int64_t until = now + pause;
        if (s->stopping && until > s->deadline)
            until = s->deadline;
        pause_until(s, until);
        pause = pause * 2 > PAUSE_MAX_MS ? PAUSE_MAX_MS : pause * 2;
    }
}

/*
 * Unlink up to BATCH due entries, oldest first (`lock` held). A dialog put
 * taken counts as a row from now on: a delete that comes while it is on
 * its way must be written, not cancel a later put.
 */
static size_t take_batch(pl_store *s, st_entry **batch)
{
    size_t n = 0;
    s->inflight_min = UINT64_MAX;
    while (n < BATCH && s->bq.head) {
        st_entry *e = s->bq.head;
        st_list_unlink(&s->bq, e);
        st_keys_remove(&s->keys, e);
        batch[n++] = e;
        if (e->seq < s->inflight_min)
            s->inflight_min = e->seq;
    }
    while (n < BATCH && s->dq.head && s->dq.head->seq <= s->due_upto) {
        st_entry *e = s->dq.head;
        st_list_unlink(&s->dq, e);
        st_keys_remove(&s->keys, e);
        batch[n++] = e;
        if (e->seq < s->inflight_min)
            s->inflight_min = e->seq;
        if (e->kind == ST_K_DLG_PUT)
            st_idset_add(&s->in_db, e->id);
    }
    s->inflight = n;
    return n;
}

/* After a batch: SAVED callbacks (outside the lock), then the counters and the id set, then
 * the drainers are told (so that a drain returns after the callbacks), then memory. */
static void batch_done(pl_store *s, st_entry **batch, const uint8_t *state, size_t n)
{
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < n; i++)
        if (state[i] == E_DONE && st_entry_is_dialog(batch[i]) && s->cfg.on_saved)
            s->cfg.on_saved(batch[i]->id, batch[i]->kind == ST_K_DLG_DEL, s->cfg.user);
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < n; i++) {
        if (state[i] != E_DONE)
            continue;
        s->written++;
        if (batch[i]->kind == ST_K_DLG_DEL)
            st_idset_del(&s->in_db, batch[i]->id);
    }
    s->inflight = 0;
    s->inflight_min = UINT64_MAX;
    pthread_cond_broadcast(&s->progress);
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < n; i++)
        free(batch[i]);
    pthread_mutex_lock(&s->lock);
}

static void *store_main(void *arg)
{
    pl_store *s = arg;
    st_entry *batch[BATCH];
    uint8_t state[BATCH];
    pthread_mutex_lock(&s->lock);
    for (;;) {
        int64_t now = st_mono_ms();
        if (s->cfg.mode == PL_STORE_DELAYED && now >= s->next_flush) {
            s->due_upto = s->seq > s->due_upto ? s->seq : s->due_upto;
            s->next_flush = now + s->cfg.flush_ms;
        }
        if (s->stopping && now >= s->deadline && (s->bq.n || s->dq.n))
            break;
        if (s->cfg.mode == PL_STORE_REALTIME && !s->stopping && s->dq.n && s->dq.n < BATCH &&
            !s->catching_up) {
            /* Let the writes of the next few milliseconds join this batch. */
            s->gathering = true;
            struct timespec ts = mono_ts(now + GATHER_MS);
            while (!s->stopping && s->dq.n < BATCH &&
                   pthread_cond_timedwait(&s->wake, &s->lock, &ts) == 0)
                ;
            s->gathering = false;
        }
        size_t n = take_batch(s, batch);
        if (n) {
            memset(state, E_PENDING, n);
            if (!write_batch(s, batch, state, n)) {
                st_log(s, PL_PROXY_LOG_ERROR,
                       "store: closing with the database unreachable: %zu writes lost", queued(s));
                s->gave_up = true;
                batch_done(s, batch, state, n);
                break;
            }
            batch_done(s, batch, state, n);
            continue;
        }
        if (s->catching_up) {
            s->catching_up = false;
            st_log(s, PL_PROXY_LOG_WARN, "store: caught up: %llu writes since the outage began",
                   (unsigned long long)(s->written - s->written_at_outage));
        }
        if (s->stopping)
            break;
        if (s->cfg.mode == PL_STORE_DELAYED) {
            struct timespec ts = mono_ts(s->next_flush);
            pthread_cond_timedwait(&s->wake, &s->lock, &ts);
        } else {
            pthread_cond_wait(&s->wake, &s->lock);
        }
    }
    s->stopped = true;
    pthread_cond_broadcast(&s->progress);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- queueing (any thread) */

static bool dialogs_due_now(const pl_store *s)
{
    return s->cfg.mode == PL_STORE_REALTIME || s->stopping;
}

/* Link e (`lock` held); the write it replaced, to free, or NULL. */
static st_entry *enqueue(pl_store *s, st_entry *e)
{
    e->seq = ++s->seq;
    st_entry *old = st_keys_find(&s->keys, e);
    if (old) {
        st_keys_remove(&s->keys, old);
        st_list_unlink(st_entry_is_dialog(old) ? &s->dq : &s->bq, old);
        s->coalesced++;
    }
    st_keys_add(&s->keys, e); /* without memory the write only misses coalescing */
    if (st_entry_is_dialog(e)) {
        st_list_append(&s->dq, e);
    } else {
        st_list_append(&s->bq, e);
    }
    if ((!st_entry_is_dialog(e) || dialogs_due_now(s)) && !s->gathering)
        pthread_cond_signal(&s->wake);
    return old;
}

int pl_store_dialog_put(pl_store *s, const pl_dlg_record *rec)
{
    if (s->cfg.mode == PL_STORE_NONE)
        return PL_OK;
    st_entry *e = st_entry_dialog_put(rec, st_unix_ms());
    if (!e)
        return PL_ENOMEM;
    pthread_mutex_lock(&s->lock);
    st_entry *old = enqueue(s, e);
    pthread_mutex_unlock(&s->lock);
    free(old);
    return PL_OK;
}

int pl_store_dialog_del(pl_store *s, uint64_t id)
{
    if (s->cfg.mode == PL_STORE_NONE)
        return PL_OK;
    st_entry *e = st_entry_dialog_del(id);
    if (!e)
        return PL_ENOMEM;
    pthread_mutex_lock(&s->lock);
    st_entry *pending = st_keys_find(&s->keys, e);
    st_entry *drop = NULL;
    if (pending && pending->kind == ST_K_DLG_PUT && !st_idset_has(&s->in_db, id)) {
        /* Its row was never written: the put and the delete both vanish. */
        st_keys_remove(&s->keys, pending);
        st_list_unlink(&s->dq, pending);
        s->coalesced++;
        drop = pending;
        free(e);
    } else if (!pending && s->cfg.mode == PL_STORE_SHUTDOWN && !s->stopping) {
        free(e); /* the table was emptied when loaded: nothing to delete */
    } else {
        drop = enqueue(s, e);
    }
    pthread_mutex_unlock(&s->lock);
    free(drop);
    return PL_OK;
}

bool pl_store_dialog_deleting(pl_store *s, uint64_t id)
{
    st_entry *probe = st_entry_dialog_del(id);
    if (!probe)
        return false;
    pthread_mutex_lock(&s->lock);
    st_entry *pending = st_keys_find(&s->keys, probe);
    bool del = pending && pending->kind == ST_K_DLG_DEL;
    pthread_mutex_unlock(&s->lock);
    free(probe);
    return del;
}

int pl_store_binding_put(pl_store *s, const char *aor, const pl_binding *b,
                         uint64_t expires_unix_ms)
{
    int64_t exp = expires_unix_ms > INT64_MAX ? INT64_MAX : (int64_t)expires_unix_ms;
    st_entry *e = st_entry_binding_put(aor, b, exp, st_unix_ms());
    if (!e)
        return PL_ENOMEM;
    pthread_mutex_lock(&s->lock);
    st_entry *old = enqueue(s, e);
    pthread_mutex_unlock(&s->lock);
    free(old);
    return PL_OK;
}

int pl_store_binding_del(pl_store *s, const char *aor, pl_str contact)
{
    st_entry *e = st_entry_binding_del(aor, contact);
    if (!e)
        return PL_ENOMEM;
    pthread_mutex_lock(&s->lock);
    st_entry *old = enqueue(s, e);
    pthread_mutex_unlock(&s->lock);
    free(old);
    return PL_OK;
}

/* ---- waiting */

/* Is a write numbered <= upto still to be written (`lock` held)? */
static bool pending_upto(const pl_store *s, uint64_t upto)
{
    if (s->inflight && s->inflight_min <= upto)
        return true;
    if (s->bq.head && s->bq.head->seq <= upto)
        return true;
    if (s->cfg.mode != PL_STORE_SHUTDOWN && s->dq.head && s->dq.head->seq <= upto)
        return true;
    return false;
}

int pl_store_drain(pl_store *s, uint32_t timeout_ms)
{
    int64_t deadline = st_mono_ms() + timeout_ms;
    pthread_mutex_lock(&s->lock);
    uint64_t upto = s->seq;
    if (s->cfg.mode == PL_STORE_DELAYED && s->due_upto < upto) {
        s->due_upto = upto; /* a flush now */
        pthread_cond_signal(&s->wake);
    }
    int rc = PL_OK;
    while (pending_upto(s, upto) && !s->stopped) {
        if (st_mono_ms() >= deadline) {
            rc = PL_ELIMIT;
            break;
        }
        struct timespec ts = mono_ts(deadline);
        pthread_cond_timedwait(&s->progress, &s->lock, &ts);
    }
    if (rc == PL_OK && pending_upto(s, upto))
        rc = PL_ELIMIT;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void pl_store_get_stats(pl_store *s, pl_store_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = (pl_store_stats){
        .queued = queued(s),
        .written = s->written,
        .errors = s->errors,
        .coalesced = s->coalesced,
        .connected = s->connected,
    };
    pthread_mutex_unlock(&s->lock);
}

/* ---- reading (the caller's thread, blocking) */

/* Run a query with `conn` held, reconnecting once when it fails before any row came. */
static int read_rows(pl_store *s, st_stmt stmt, const st_val *v, int n,
                     void (*fn)(const st_row *row, void *arg), void *arg, const long *rows)
{
    int rc = s->drv->query(s->db, stmt, v, n, fn, arg);
    if (rc == ST_ERETRY && *rows == 0 && s->drv->reconnect(s->db) == ST_OK)
        rc = s->drv->query(s->db, stmt, v, n, fn, arg);
    if (rc != ST_OK)
        st_log(s, PL_PROXY_LOG_ERROR, "store: reading %s failed: %s",
               stmt == ST_DIALOG_LOAD ? "dialogs" : "bindings", s->drv->errmsg(s->db));
    return rc;
}

typedef struct dialog_load {
    pl_store *s;
    void (*fn)(const pl_dlg_record *rec, void *arg);
    void *arg;
    int64_t now;
    long rows, bad;
} dialog_load;

static void dialog_row(const st_row *row, void *arg)
{
    dialog_load *l = arg;
    pl_dlg_record rec;
    if (!st_dialog_row(l->s->drv, row, l->now, &rec)) {
        l->bad++;
        return;
    }
    l->rows++;
    pthread_mutex_lock(&l->s->lock);
    st_idset_add(&l->s->in_db, rec.id);
    pthread_mutex_unlock(&l->s->lock);
    l->fn(&rec, l->arg);
}

long pl_store_dialog_load(pl_store *s, void (*fn)(const pl_dlg_record *rec, void *arg), void *arg)
{
    if (s->cfg.mode == PL_STORE_NONE)
        return 0;
    dialog_load l = {s, fn, arg, st_unix_ms(), 0, 0};
    pthread_mutex_lock(&s->conn);
    int rc = read_rows(s, ST_DIALOG_LOAD, NULL, 0, dialog_row, &l, &l.rows);
    if (rc == ST_OK && s->cfg.mode == PL_STORE_SHUTDOWN) {
        /* The dialogs live in memory now; they are written again at the next close. */
        rc = s->drv->exec(s->db, ST_DIALOG_TRUNCATE, NULL, 0);
        if (rc != ST_OK)
            st_log(s, PL_PROXY_LOG_ERROR, "store: emptying the dialogs table failed: %s",
                   s->drv->errmsg(s->db));
    }
    pthread_mutex_unlock(&s->conn);
    if (s->cfg.mode == PL_STORE_SHUTDOWN && rc == ST_OK) {
        pthread_mutex_lock(&s->lock);
        st_idset_clear(&s->in_db);
        pthread_mutex_unlock(&s->lock);
    }
    if (l.bad)
        st_log(s, PL_PROXY_LOG_ERROR, "store: %ld malformed dialog rows skipped", l.bad);
    return rc == ST_OK ? l.rows : PL_ESTATE;
}

int pl_store_dialog_truncate(pl_store *s)
{
    if (s->cfg.mode == PL_STORE_NONE)
        return PL_OK;
    if (pl_store_drain(s, 30000) != PL_OK)
        return PL_ELIMIT;
    pthread_mutex_lock(&s->conn);
    int rc = s->drv->exec(s->db, ST_DIALOG_TRUNCATE, NULL, 0);
    if (rc == ST_ERETRY && s->drv->reconnect(s->db) == ST_OK)
        rc = s->drv->exec(s->db, ST_DIALOG_TRUNCATE, NULL, 0);
    if (rc != ST_OK)
        st_log(s, PL_PROXY_LOG_ERROR, "store: emptying the dialogs table failed: %s",
               s->drv->errmsg(s->db));
    pthread_mutex_unlock(&s->conn);
    if (rc != ST_OK)
        return PL_ESTATE;
    pthread_mutex_lock(&s->lock);
    st_idset_clear(&s->in_db);
    pthread_mutex_unlock(&s->lock);
    return PL_OK;
}

typedef struct binding_load {
    pl_store *s;
    void (*fn)(const char *aor, const pl_binding *b, uint64_t expires_unix_ms, void *arg);
    void *arg;
    long rows, bad;
} binding_load;

static void binding_row(const st_row *row, void *arg)
{
    binding_load *l = arg;
    char aor[1024];
    pl_binding b;
    int64_t expires;
    if (!st_binding_row(l->s->drv, row, aor, sizeof(aor), &b, &expires) || expires < 0) {
        l->bad++;
        return;
    }
    l->rows++;
    l->fn(aor, &b, (uint64_t)expires, l->arg);
}

long pl_store_binding_load(pl_store *s,
                           void (*fn)(const char *aor, const pl_binding *b,
                                      uint64_t expires_unix_ms, void *arg),
                           void *arg)
{
    binding_load l = {s, fn, arg, 0, 0};
    st_val now = {.type = ST_INT, .i = st_unix_ms()};
    pthread_mutex_lock(&s->conn);
    /* Bindings that expired while nobody was running go first. */
    int rc = s->drv->exec(s->db, ST_BINDING_PURGE, &now, 1);
    if (rc == ST_ERETRY && s->drv->reconnect(s->db) == ST_OK)
        rc = s->drv->exec(s->db, ST_BINDING_PURGE, &now, 1);
    if (rc == ST_OK)
        rc = read_rows(s, ST_BINDING_LOAD, &now, 1, binding_row, &l, &l.rows);
    pthread_mutex_unlock(&s->conn);
    if (l.bad)
        st_log(s, PL_PROXY_LOG_ERROR, "store: %ld malformed binding rows skipped", l.bad);
    return rc == ST_OK ? l.rows : PL_ESTATE;
}

/* ---- opening and closing */

/* The driver and its target for url, or NULL. */
static const st_driver *driver_for(const char *url, const char **target)
{
    if (strncmp(url, "sqlite:", 7) == 0) {
        *target = url + 7;
        if (strncmp(*target, "//", 2) == 0)
            *target += 2; /* sqlite:///abs/path, sqlite://relative/path */
        return **target ? &st_sqlite_driver : NULL;
    }
    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
        *target = url;
        return &st_pg_driver;
    }
    return NULL;
}

static pl_store *fail(pl_error *err, int code, const char *why)
{
    if (err)
        *err = (pl_error){.code = code, .offset = 0, .reason = why};
    return NULL;
}

static void init_sync(pl_store *s)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_cond_init(&s->progress, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->conn, NULL);
}

static void free_store(pl_store *s)
{
    st_list *lists[] = {&s->dq, &s->bq};
    for (int i = 0; i < 2; i++)
        while (lists[i]->head) {
            st_entry *e = lists[i]->head;
            st_list_unlink(lists[i], e);
            free(e);
        }
    st_keys_free(&s->keys);
    st_idset_clear(&s->in_db);
    if (s->db)
        s->drv->close(s->db);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->progress);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->conn);
    free(s);
}

pl_store *pl_store_open(const pl_store_config *cfg, pl_error *err)
{
    const char *target = NULL;
    const st_driver *drv = cfg && cfg->url ? driver_for(cfg->url, &target) : NULL;
    if (!drv)
        return fail(err, PL_EINVAL, "unknown store URL: sqlite:PATH or postgresql://... expected");
    if ((unsigned)cfg->mode > PL_STORE_SHUTDOWN)
        return fail(err, PL_EINVAL, "unknown store mode");
    pl_store *s = calloc(1, sizeof(*s));
    if (!s)
        return fail(err, PL_ENOMEM, "out of memory");
    s->cfg = *cfg;
    s->cfg.url = NULL; /* the caller's string: not kept */
    if (!s->cfg.flush_ms)
        s->cfg.flush_ms = 60000;
    s->drv = drv;
    init_sync(s);
    s->inflight_min = UINT64_MAX;
    s->due_upto = s->cfg.mode == PL_STORE_REALTIME ? UINT64_MAX : 0;
    s->next_flush = st_mono_ms() + s->cfg.flush_ms;
    const char *why = NULL;
    s->db = drv->open(target, s, &why);
    if (!s->db) {
        free_store(s);
        return fail(err, PL_EINVAL, why);
    }
    if (st_schema_init(drv, s->db, s, &why) != ST_OK) {
        free_store(s);
        return fail(err, PL_EINVAL, why);
    }
    if (drv->prepare(s->db) != ST_OK) {
        st_log(s, PL_PROXY_LOG_ERROR, "store: preparing the statements failed: %s",
               drv->errmsg(s->db));
        free_store(s);
        return fail(err, PL_EINVAL, "cannot prepare the store's statements");
    }
    s->connected = true;
    if (pthread_create(&s->thread, NULL, store_main, s) != 0) {
        free_store(s);
        return fail(err, PL_ENOMEM, "cannot start the store thread");
    }
    return s;
}

void pl_store_close(pl_store *s, uint32_t timeout_ms)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    s->due_upto = UINT64_MAX; /* everything is due now, SHUTDOWN's dialogs too */
    s->deadline = st_mono_ms() + timeout_ms;
    pthread_cond_signal(&s->wake);
    /* The thread keeps to the deadline itself; the grace covers a database call in progress. */
    int64_t limit = s->deadline + CLOSE_GRACE_MS;
    while (!s->stopped && st_mono_ms() < limit) {
        struct timespec ts = mono_ts(limit);
        pthread_cond_timedwait(&s->progress, &s->lock, &ts);
    }
    bool stopped = s->stopped;
    size_t left = s->gave_up ? 0 : s->dq.n + s->bq.n; /* else told already */
    pthread_mutex_unlock(&s->lock);
    if (!stopped) {
        /* Stuck in a database call: leave it (and the store's memory) to the exit. */
        st_log(s, PL_PROXY_LOG_ERROR, "store: the store thread did not stop in time");
        pthread_detach(s->thread);
        return;
    }
    pthread_join(s->thread, NULL);
    if (left)
        st_log(s, PL_PROXY_LOG_ERROR, "store: closed with %zu writes lost", left);
    free_store(s);
}
