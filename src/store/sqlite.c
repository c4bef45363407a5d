/*
 * sqlite.c - the store's SQLite driver: one connection to a file, in WAL
 * mode (readers never wait for the writer, and a commit is one append to
 * the log), synchronous=NORMAL (a commit survives the process being
 * killed; only a power cut can lose the last ones), a busy timeout so that
 * another process holding the file (sqlite3 on the command line) makes us
 * wait, not fail.
 *
 * The folder of the file is created when missing. The statements are
 * prepared once and reused; a reconnect closes and opens the file again.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_int.h"

#define BUSY_TIMEOUT_MS 5000

struct st_db {
    pl_store *s;
    char *path;
    sqlite3 *db;
    sqlite3_stmt *stmt[ST_STMT_COUNT_];
    char err[256];
};

struct st_row {
    sqlite3_stmt *st;
};

/* Create every missing folder above path (mkdir -p of its dirname). */
static int make_parents(const char *path)
{
    char *d = strdup(path);
    if (!d)
        return -1;
    char *slash = strrchr(d, '/');
    if (!slash || slash == d) {
        free(d);
        return 0;
    }
    *slash = '\0';
    for (char *p = d + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(d, 0750) != 0 && errno != EEXIST) {
                free(d);
                return -1;
            }
            *p = c;
            if (!c)
                break;
        }
    }
    free(d);
    return 0;
}

static void keep_err(st_db *db)
{
    snprintf(db->err, sizeof(db->err), "%s", db->db ? sqlite3_errmsg(db->db) : "no connection");
}

/* What an SQLite result code means for the write: retry it (the file is busy, locked,
 * unreadable, full...) or give it up (the values themselves are refused). */
static int classify(st_db *db, int rc)
{
    keep_err(db);
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
        return ST_EDATA;
    default:
        return ST_ERETRY;
    }
}

static void finalize_all(st_db *db)
{
    for (int i = 0; i < ST_STMT_COUNT_; i++) {
        sqlite3_finalize(db->stmt[i]);
        db->stmt[i] = NULL;
    }
}

static int connect_file(st_db *db)
{
    if (make_parents(db->path) != 0) {
        snprintf(db->err, sizeof(db->err), "cannot create the folder of %s: %s", db->path,
                 strerror(errno));
        return ST_ERETRY;
    }
    int rc = sqlite3_open_v2(
        db->path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        keep_err(db);
        sqlite3_close(db->db);
        db->db = NULL;
        return ST_ERETRY;
    }
    sqlite3_busy_timeout(db->db, BUSY_TIMEOUT_MS);
    char *msg = NULL;
    rc = sqlite3_exec(db->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
                      &msg);
    if (rc != SQLITE_OK) {
        snprintf(db->err, sizeof(db->err), "%s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        sqlite3_close(db->db);
        db->db = NULL;
        return ST_ERETRY;
    }
    return ST_OK;
}

static st_db *sq_open(const char *target, pl_store *s, const char **why)
{
    st_db *db = calloc(1, sizeof(*db));
    if (!db || !(db->path = strdup(target))) {
        free(db);
        *why = "out of memory";
        return NULL;
    }
    db->s = s;
    if (connect_file(db) != ST_OK) {
        st_log(s, PL_PROXY_LOG_ERROR, "store: cannot open the SQLite database %s: %s", target,
               db->err);
        *why = "cannot open the SQLite database";
        free(db->path);
        free(db);
        return NULL;
    }
    return db;
}

static void sq_close(st_db *db)
{
    if (!db)
        return;
    finalize_all(db);
    sqlite3_close(db->db);
    free(db->path);
    free(db);
}

/* $N placeholders as ?N: the same numbering, SQLite's spelling. */
static char *sqlite_sql(const char *sql)
{
    char *out = strdup(sql);
    if (out)
        for (char *p = out; *p; p++)
            if (p[0] == '$' && p[1] >= '0' && p[1] <= '9')
                *p = '?';
    return out;
}

static int sq_prepare(st_db *db)
{
    finalize_all(db);
    for (int i = 0; i < ST_STMT_COUNT_; i++) {
        char *sql = sqlite_sql(st_sql[i]);
        if (!sql)
            return ST_ERETRY;
        int rc = sqlite3_prepare_v3(db->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &db->stmt[i], NULL);
        free(sql);
        if (rc != SQLITE_OK)
            return classify(db, rc);
    }
    return ST_OK;
}

static int sq_reconnect(st_db *db)
{
    finalize_all(db);
    sqlite3_close(db->db);
    db->db = NULL;
    int rc = connect_file(db);
    return rc == ST_OK ? sq_prepare(db) : rc;
}

static int sq_script(st_db *db, const char *sql)
{
    if (!db->db)
        return ST_ERETRY;
    char *msg = NULL;
    int rc = sqlite3_exec(db->db, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return ST_OK;
    snprintf(db->err, sizeof(db->err), "%s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return (rc & 0xff) == SQLITE_CONSTRAINT ? ST_EDATA : ST_ERETRY;
}

static int sq_query_int(st_db *db, const char *sql, int64_t *out, bool *found)
{
    sqlite3_stmt *st;
    *found = false;
    int rc = sqlite3_prepare_v2(db->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return classify(db, rc);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *out = sqlite3_column_int64(st, 0);
        *found = true;
    }
    int r = rc == SQLITE_ROW || rc == SQLITE_DONE ? ST_OK : classify(db, rc);
    sqlite3_finalize(st);
    return r;
}

static int bind_all(st_db *db, sqlite3_stmt *st, const st_val *v, int n)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    for (int i = 0; i < n; i++) {
        int rc;
        switch (v[i].type) {
        case ST_INT:
            rc = sqlite3_bind_int64(st, i + 1, v[i].i);
            break;
        case ST_TEXT:
            rc = sqlite3_bind_text64(st, i + 1, v[i].s.p, v[i].s.len, SQLITE_STATIC, SQLITE_UTF8);
            break;
        case ST_BLOB:
            rc = sqlite3_bind_blob64(st, i + 1, v[i].s.p, v[i].s.len, SQLITE_STATIC);
            break;
        default:
            rc = sqlite3_bind_null(st, i + 1);
            break;
        }
        if (rc != SQLITE_OK)
            return classify(db, rc);
    }
    return ST_OK;
}

static int sq_exec(st_db *db, st_stmt stmt, const st_val *v, int n)
{
    sqlite3_stmt *st = db->db ? db->stmt[stmt] : NULL;
    if (!st)
        return ST_ERETRY;
    int rc = bind_all(db, st, v, n);
    if (rc != ST_OK)
        return rc;
    int step = sqlite3_step(st);
    rc = step == SQLITE_DONE || step == SQLITE_ROW ? ST_OK : classify(db, step);
    sqlite3_reset(st);
    return rc;
}

static int sq_query(st_db *db, st_stmt stmt, const st_val *v, int n,
                    void (*fn)(const st_row *row, void *arg), void *arg)
{
    sqlite3_stmt *st = db->db ? db->stmt[stmt] : NULL;
    if (!st)
        return ST_ERETRY;
    int rc = bind_all(db, st, v, n);
    if (rc != ST_OK)
        return rc;
    st_row row = {st};
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        fn(&row, arg);
    rc = step == SQLITE_DONE ? ST_OK : classify(db, step);
    sqlite3_reset(st);
    return rc;
}

static bool sq_col_null(const st_row *row, int col)
{
    return sqlite3_column_type(row->st, col) == SQLITE_NULL;
}

static int64_t sq_col_int(const st_row *row, int col)
{
    return sqlite3_column_int64(row->st, col);
}

static pl_str sq_col_str(const st_row *row, int col)
{
    const char *p;
    if (sqlite3_column_type(row->st, col) == SQLITE_BLOB)
        p = sqlite3_column_blob(row->st, col);
    else
        p = (const char *)sqlite3_column_text(row->st, col);
    int n = sqlite3_column_bytes(row->st, col);
    if (!p || n <= 0)
        return PL_STR_LIT("");
    return (pl_str){p, (size_t)n};
}

static const char *sq_errmsg(st_db *db)
{
    return db->err;
}

const st_driver st_sqlite_driver = {
    .name = "sqlite",
    .blob_type = "BLOB",
    .open = sq_open,
    .close = sq_close,
    .reconnect = sq_reconnect,
    .prepare = sq_prepare,
    .script = sq_script,
    .query_int = sq_query_int,
    .exec = sq_exec,
    .query = sq_query,
    .col_null = sq_col_null,
    .col_int = sq_col_int,
    .col_str = sq_col_str,
    .errmsg = sq_errmsg,
};
