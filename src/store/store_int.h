/*
 * store_int.h - what the store's parts share: the two database drivers
 * (sqlite.c, pg.c) behind one small interface, the SQL and the row
 * mapping (schema.c), and the write queue (queue.c) that store.c's thread
 * empties.
 *
 * A driver knows how to connect, run a script, run one of the prepared
 * statements of schema.c with typed values, and read rows; it knows
 * nothing of dialogs or bindings. Every statement is written once, with
 * $1..$N placeholders (PostgreSQL's; the SQLite driver turns them into
 * ?1..?N), and the same schema serves both databases.
 */
#ifndef PARLEY_STORE_INT_H
#define PARLEY_STORE_INT_H

#include <pthread.h>

#include <parley/store.h>

/* ---- what a driver call can end with */

enum {
    ST_OK = 0,
    ST_ERETRY = -1, /* the database is unreachable or busy: try again later, reconnecting */
    ST_EDATA = -2,  /* this statement cannot succeed with these values: do not retry it */
};

/* ---- statements (schema.c) */

typedef enum st_stmt {
    ST_DIALOG_PUT,
    ST_DIALOG_DEL,
    ST_DIALOG_LOAD,
    ST_DIALOG_TRUNCATE,
    ST_BINDING_PUT,
    ST_BINDING_DEL,
    ST_BINDING_DEL_AOR,
    ST_BINDING_PURGE,
    ST_BINDING_LOAD,
    ST_STMT_COUNT_
} st_stmt;

extern const char *const st_sql[ST_STMT_COUNT_];

typedef enum st_type { ST_NULL, ST_INT, ST_TEXT, ST_BLOB } st_type;

/* One value bound to a placeholder. */
typedef struct st_val {
    st_type type;
    int64_t i;
    pl_str s;
} st_val;

/* ---- drivers */

typedef struct st_db st_db;   /* a driver's connection */
typedef struct st_row st_row; /* a driver's current row */

typedef struct st_driver {
    const char *name;      /* "sqlite", "postgresql" */
    const char *blob_type; /* the column type of raw bytes: BLOB, BYTEA */
    /* Connect to target (a file path, a libpq URI). NULL with *why (static) and a log line. */
    st_db *(*open)(const char *target, pl_store *s, const char **why);
    void (*close)(st_db *db);
    /* Reconnect after an ST_ERETRY and prepare the statements again. */
    int (*reconnect)(st_db *db);
    /* Prepare every statement of st_sql (after the schema exists). */
    int (*prepare)(st_db *db);
    /* Run SQL text without values (DDL, BEGIN, COMMIT, ROLLBACK; several statements). */
    int (*script)(st_db *db, const char *sql);
    /* The one integer a query without values returns; *found false when no row or NULL. */
    int (*query_int)(st_db *db, const char *sql, int64_t *out, bool *found);
    /* Run a prepared statement. */
    int (*exec)(st_db *db, st_stmt stmt, const st_val *v, int n);
    /*
     * Optional (NULL: not offered): from pipeline_begin() to pipeline_end(),
     * script() and exec() only send, and pipeline_end() waits for every
     * answer at once: one round trip for a whole batch. pipeline_end()
     * returns the first failure.
     */
    int (*pipeline_begin)(st_db *db);
    int (*pipeline_end)(st_db *db);
    /* Run a prepared query; fn gets each row (its values valid during the call). */
    int (*query)(st_db *db, st_stmt stmt, const st_val *v, int n,
                 void (*fn)(const st_row *row, void *arg), void *arg);
    bool (*col_null)(const st_row *row, int col);
    int64_t (*col_int)(const st_row *row, int col);
    pl_str (*col_str)(const st_row *row, int col); /* text or bytes, not NUL-terminated */
    /* The last error, for logs. */
    const char *(*errmsg)(st_db *db);
} st_driver;

extern const st_driver st_sqlite_driver;
extern const st_driver st_pg_driver;

/* ---- schema and rows (schema.c) */

#define ST_SCHEMA_VERSION 1

/* Create the tables, or check and migrate them. ST_OK, or an error with *why (static). */
int st_schema_init(const st_driver *drv, st_db *db, pl_store *s, const char **why);

/* The values of ST_DIALOG_PUT for rec, expiring at expires_ms (Unix ms); src holds the
 * printed leg targets (64 bytes each). Returns how many values. */
#define ST_DIALOG_COLS 26
int st_dialog_vals(const pl_dlg_record *rec, int64_t expires_ms, int64_t now_ms, char src[2][64],
                   st_val *v);
/* A row of ST_DIALOG_LOAD as a record (strings into the row); false when malformed. */
bool st_dialog_row(const st_driver *drv, const st_row *row, int64_t now_ms, pl_dlg_record *rec);

#define ST_BINDING_COLS 10
int st_binding_vals(const char *aor, const pl_binding *b, int64_t expires_ms, int64_t now_ms,
                    char src[64], st_val *v);
/* A row of ST_BINDING_LOAD: the AOR into aor (cap bytes, NUL-terminated), the binding with
 * strings into the row, its expiry. False when malformed. */
bool st_binding_row(const st_driver *drv, const st_row *row, char *aor, size_t cap, pl_binding *b,
                    int64_t *expires_ms);

/* ---- the store (store.c), for the drivers and schema.c */

/* A log line through the configured callback (or stderr). */
void st_log(pl_store *s, pl_proxy_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Unix time in milliseconds, and a monotonic clock in milliseconds. */
int64_t st_unix_ms(void);
int64_t st_mono_ms(void);

/* ---- the queue (queue.c) */

typedef enum st_kind { ST_K_DLG_PUT, ST_K_DLG_DEL, ST_K_BIND_PUT, ST_K_BIND_DEL } st_kind;

/* One write waiting: a copy of everything it needs, in one block. */
typedef struct st_entry {
    struct st_entry *next, *prev; /* in its list (dialogs or bindings) */
    struct st_entry *hnext;       /* in the table of pending keys */
    uint64_t seq;                 /* order of the puts (a replaced write's successor is later) */
    uint64_t hash;
    st_kind kind;
    uint64_t id;        /* dialogs */
    pl_dlg_record rec;  /* ST_K_DLG_PUT: strings in data */
    const char *aor;    /* bindings: the key is aor and b.contact */
    pl_binding b;       /* ST_K_BIND_PUT: strings in data; ST_K_BIND_DEL: contact only */
    int64_t expires_ms; /* Unix ms: the dialog's expiry, or the binding's */
    int64_t at_ms;      /* Unix ms of the put */
    char data[];
} st_entry;

st_entry *st_entry_dialog_put(const pl_dlg_record *rec, int64_t now_ms);
st_entry *st_entry_dialog_del(uint64_t id);
st_entry *st_entry_binding_put(const char *aor, const pl_binding *b, int64_t expires_ms,
                               int64_t now_ms);
st_entry *st_entry_binding_del(const char *aor, pl_str contact);
static inline bool st_entry_is_dialog(const st_entry *e)
{
    return e->kind == ST_K_DLG_PUT || e->kind == ST_K_DLG_DEL;
}

typedef struct st_list {
    st_entry *head, *tail;
    size_t n;
} st_list;

void st_list_append(st_list *l, st_entry *e);
void st_list_unlink(st_list *l, st_entry *e);

/* The pending writes by key: at most one per dialog id, per AOR and contact. */
typedef struct st_keys {
    st_entry **b;
    size_t nb, n;
} st_keys;

st_entry *st_keys_find(const st_keys *k, const st_entry *like);
int st_keys_add(st_keys *k, st_entry *e);
void st_keys_remove(st_keys *k, st_entry *e);
void st_keys_free(st_keys *k);

/* The dialog ids whose rows are in the database (written or loaded by this store). */
typedef struct st_idset {
    uint64_t *slot; /* 0 marks a free slot; the id 0 is has_zero */
    size_t cap, n;
    bool has_zero;
} st_idset;

bool st_idset_has(const st_idset *s, uint64_t id);
int st_idset_add(st_idset *s, uint64_t id);
void st_idset_del(st_idset *s, uint64_t id);
void st_idset_clear(st_idset *s);

#endif
