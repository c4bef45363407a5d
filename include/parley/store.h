/*
 * parley/store.h - persistence of dialogs and registrations: one
 * interface, two backends (SQLite, the embedded default; PostgreSQL
 * through libpq), a store thread of its own.
 *
 * Writes never block the caller: pl_store_dialog_put() and friends copy
 * what they are given into a queue and return; a store thread applies the
 * queue in order, in batches of up to 256 writes, one transaction each. A
 * slow or unreachable database only makes the queue wait: the thread
 * keeps its batch, reconnects and retries (the pause doubles from 100 ms
 * to 5 s), logs the outage once and the catching up, and writes
 * everything, in order, when the database is back. The queue keeps only
 * the latest pending write per key (a dialog id, an AOR+contact), so it
 * never holds more than one entry per live object (plus the batch on its
 * way), whatever the outage. A dialog deleted before its row was ever
 * written cancels its pending put: neither reaches the database. A write
 * the database refuses for its values (not for its connection) is logged,
 * counted in errors and dropped alone.
 *
 * Modes (for dialogs; registrations are always written through):
 *   NONE      nothing is written or read;
 *   REALTIME  every put/delete is queued at once (the default);
 *   DELAYED   puts and deletes wait in the queue until the next flush
 *             (every flush_ms, or pl_store_drain(), or pl_store_close()):
 *             a dialog created and deleted between two flushes never
 *             reaches the database;
 *   SHUTDOWN  nothing is written at run time: puts are kept in the queue
 *             (the latest per dialog; a delete drops the kept put) and
 *             pl_store_close() writes them, so the caller may put every
 *             live dialog just before closing, or on every change;
 *             pl_store_dialog_load() reads the table then empties it (the
 *             dialogs are in memory again).
 *
 * The schema is created and migrated by pl_store_open() (a schema_version
 * table; a database of a newer version than this code is refused).
 * docs/store.md has the tables and their columns.
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
    /* "sqlite:///abs/path.db", "sqlite:relative/path.db" (the file's
     * folder is created when missing) or "postgresql://user:pw@host:port/db?..."
     * (any libpq URI, "postgres://" too; connect_timeout defaults to 5 s). */
    const char *url;
    pl_store_mode mode;
    uint32_t flush_ms; /* DELAYED: the flush period, default 60000 */
    /* After each dialog row is written or deleted (committed), from the
     * store thread, before a pl_store_drain() that covers the write
     * returns (the owner posts SAVED to its dialog). Not for writes
     * that were replaced or cancelled in the queue. May be NULL. */
    void (*on_saved)(uint64_t dialog_id, bool deleted, void *user);
    /* Log lines (errors, outages, catching up); level as the proxy's. */
    pl_proxy_log_cb log;
    void *user;
} pl_store_config;

/*
 * Connect, create or migrate the schema, start the store thread. NULL on
 * failure with err->code (PL_EINVAL, PL_ENOMEM) and err->reason (a bad
 * URL, a database that cannot be opened at start, a schema of a newer
 * version; the details go to the log). At start the database must be
 * reachable; later outages are waited out.
 */
pl_store *pl_store_open(const pl_store_config *cfg, pl_error *err);
/*
 * Write what is queued, SHUTDOWN's and DELAYED's dialogs included (a
 * bounded wait: at most timeout_ms, then what is left is logged and
 * dropped), stop the thread, disconnect. No other call may run on s
 * meanwhile or after. A thread stuck in a database call past the wait is
 * left behind with the store's memory (logged).
 */
void pl_store_close(pl_store *s, uint32_t timeout_ms);
pl_store_mode pl_store_get_mode(const pl_store *s);

/* ---- dialogs (rows keyed by the dialog id) */

/* Queue an insert-or-update of rec (copied). PL_OK, PL_ENOMEM. Thread-safe. */
int pl_store_dialog_put(pl_store *s, const pl_dlg_record *rec);
/* Queue the deletion of the row of id. Thread-safe. */
int pl_store_dialog_del(pl_store *s, uint64_t id);
/*
 * Read every dialog row (blocking; at start, or for a sync): fn gets each
 * record (its strings valid during the call; lifetime_left_ms is what is
 * left of the stored absolute expiry now, 0 when it has passed). Rows
 * that do not make a record are skipped and logged. In SHUTDOWN mode the
 * table is emptied after it is read. fn runs with the connection held: it
 * may put and delete, not load, truncate, drain or close. Returns how
 * many, 0 in NONE mode, or PL_ESTATE (the database cannot be read; logged).
 */
long pl_store_dialog_load(pl_store *s, void (*fn)(const pl_dlg_record *rec, void *arg), void *arg);
/*
 * Delete every dialog row now (blocking; after the queue is written, as
 * pl_store_drain() with 30 s): a restore rewrites them. PL_OK, PL_ELIMIT
 * (the queue could not be written), PL_ESTATE (the delete failed).
 */
int pl_store_dialog_truncate(pl_store *s);
/* Is a deletion of id's row queued and not yet written? (A sync skips such
 * rows: that call ended while the table was read.) Thread-safe. */
bool pl_store_dialog_deleting(pl_store *s, uint64_t id);

/* ---- registrations (rows keyed by AOR and contact) */

/*
 * A binding as stored: expires as Unix time in milliseconds (the caller
 * converts; b->expires_ms is not used). Keyed by aor and b->contact as
 * written (the location hook gives the stored text).
 */
int pl_store_binding_put(pl_store *s, const char *aor, const pl_binding *b,
                         uint64_t expires_unix_ms);
/* contact empty: every binding of aor. */
int pl_store_binding_del(pl_store *s, const char *aor, pl_str contact);
/*
 * Read the bindings that have not expired (blocking; rows that expired
 * while nobody ran are deleted first): fn gets each (strings valid during
 * the call; b->expires_ms is expires_unix_ms too), for
 * pl_location_restore(). Returns how many, or PL_ESTATE.
 */
long pl_store_binding_load(pl_store *s,
                           void (*fn)(const char *aor, const pl_binding *b,
                                      uint64_t expires_unix_ms, void *arg),
                           void *arg);

/* ---- state */

typedef struct pl_store_stats {
    uint64_t queued;    /* writes waiting now */
    uint64_t written;   /* rows written or deleted since open */
    uint64_t errors;    /* failed attempts (each retried), and writes refused and dropped */
    uint64_t coalesced; /* writes replaced by a later one for the same key before being applied */
    bool connected;     /* the last attempt reached the database */
} pl_store_stats;
void pl_store_get_stats(pl_store *s, pl_store_stats *out);

/*
 * Wait (at most timeout_ms) until every write queued before the call is
 * applied, and its on_saved called; PL_OK or PL_ELIMIT. For tests and
 * shutdown. In DELAYED mode it flushes first; in SHUTDOWN mode the kept
 * dialogs stay for pl_store_close() (the registrations are waited for).
 */
int pl_store_drain(pl_store *s, uint32_t timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
