/*
 * parley/store.h - persistence of dialogs and registrations: one
 * interface, two backends (SQLite, the embedded default; PostgreSQL
 * through libpq), a store thread of its own.
 *
 * Writes never block the caller: pl_store_dialog_put() and friends copy
 * what they are given into a queue and return; a store thread applies the
 * queue in order. A slow or unreachable database only makes the queue
 * wait: the thread retries (with a growing pause, at most a few seconds)
 * and catches up, in order, when the database is back. The queue keeps
 * only the latest pending write per key (a dialog id, an AOR+contact), so
 * it never holds more than one entry per live object, whatever the outage.
 *
 * Modes (for dialogs; registrations are always written through):
 *   NONE      nothing is written or read;
 *   REALTIME  every put/delete is queued at once (the default);
 *   DELAYED   puts and deletes wait in the queue until the next flush
 *             (every flush_ms): a dialog created and deleted between two
 *             flushes never reaches the database;
 *   SHUTDOWN  nothing is written at run time (puts and deletes are
 *             dropped); the caller puts every live dialog before
 *             pl_store_close(), which writes them; pl_store_open() reads
 *             the table then empties it (the dialogs are in memory again).
 *
 * The schema is created and migrated by pl_store_open() (a schema_version
 * table; a database of a newer version than this code is refused).
 */
#ifndef PARLEY_STORE_H
#define PARLEY_STORE_H

#include <parley/dialog.h>
#include <parley/proxy.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pl_store pl_store;

typedef enum pl_store_mode {
    PL_STORE_REALTIME = 0,
    PL_STORE_NONE,
    PL_STORE_DELAYED,
    PL_STORE_SHUTDOWN,
} pl_store_mode;

/* "none", "realtime", "delayed", "shutdown"; false when unknown. */
bool pl_store_mode_parse(const char *s, pl_store_mode *out);
const char *pl_store_mode_name(pl_store_mode m);

typedef struct pl_store_config {
    /* "sqlite:///abs/path.db", "sqlite:relative/path.db" or
     * "postgresql://user:pw@host:port/db?..." (any libpq URI). */
    const char *url;
    pl_store_mode mode;
    uint32_t flush_ms; /* DELAYED: the flush period, default 60000 */
    /* After each dialog row is written or deleted, from the store thread
     * (the owner posts SAVED to its dialog). May be NULL. */
    void (*on_saved)(uint64_t dialog_id, bool deleted, void *user);
    /* Log lines (errors, outages, catching up); level as the proxy's. */
    pl_proxy_log_cb log;
    void *user;
} pl_store_config;

/*
 * Connect, create or migrate the schema, start the store thread. NULL on
 * failure with err->reason (a bad URL, a database that cannot be opened
 * at start, a schema of a newer version). At start the database must be
 * reachable; later outages are waited out.
 */
pl_store *pl_store_open(const pl_store_config *cfg, pl_error *err);
/* Write what is queued (a bounded wait: at most timeout_ms), stop the thread, disconnect. */
void pl_store_close(pl_store *s, uint32_t timeout_ms);
pl_store_mode pl_store_get_mode(const pl_store *s);

/* ---- dialogs (rows keyed by the dialog id) */

/* Queue an insert-or-update of rec (copied). PL_OK, PL_ENOMEM. Thread-safe. */
int pl_store_dialog_put(pl_store *s, const pl_dlg_record *rec);
/* Queue the deletion of the row of id. Thread-safe. */
int pl_store_dialog_del(pl_store *s, uint64_t id);
/*
 * Read every dialog row (blocking; at start, or for a sync): fn gets each
 * record (its strings valid during the call). Returns how many, or a
 * negative error.
 */
long pl_store_dialog_load(pl_store *s, void (*fn)(const pl_dlg_record *rec, void *arg), void *arg);
/* Delete every dialog row now (blocking; after the queue is written): a restore rewrites them. */
int pl_store_dialog_truncate(pl_store *s);

/* ---- registrations (rows keyed by AOR and contact) */

/* A binding as stored: expires as Unix time in milliseconds (the caller converts). */
int pl_store_binding_put(pl_store *s, const char *aor, const pl_binding *b, uint64_t expires_unix_ms);
/* contact empty: every binding of aor. */
int pl_store_binding_del(pl_store *s, const char *aor, pl_str contact);
long pl_store_binding_load(pl_store *s,
                           void (*fn)(const char *aor, const pl_binding *b, uint64_t expires_unix_ms,
                                      void *arg),
                           void *arg);

/* ---- state */

typedef struct pl_store_stats {
    uint64_t queued;      /* writes waiting now */
    uint64_t written;     /* rows written or deleted since open */
    uint64_t errors;      /* failed attempts (each retried) */
    uint64_t coalesced;   /* writes replaced by a later one for the same key before being applied */
    bool connected;       /* the last attempt reached the database */
} pl_store_stats;
void pl_store_get_stats(pl_store *s, pl_store_stats *out);

/* Wait (at most timeout_ms) until the queue is empty; PL_OK or PL_ELIMIT. For tests and shutdown. */
int pl_store_drain(pl_store *s, uint32_t timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
