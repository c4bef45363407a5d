/*
 * pg.c - the store's PostgreSQL driver, on libpq.
 *
 * The URL goes to libpq as it is (any libpq URI or connection string),
 * after a default connect_timeout of 5 s that the URL may override, so
 * that a reconnect to a host that does not answer cannot hold the store
 * thread for minutes. A reconnect is a new connection. Statements are
 * prepared once per session (again after each reconnect); integers go as
 * text, strings and bytes in binary (no quoting, no escaping), results
 * come back in binary and are read row by row (single-row mode), so a
 * load of 100,000 dialogs never holds them all. A batch is sent in
 * pipeline mode: BEGIN, every statement and COMMIT in one go, then the
 * answers, so a batch costs one round trip instead of one per row.
 *
 * A failure is a connection problem (retry, reconnecting) unless the
 * server says the values themselves are refused: SQLSTATE class 22 (data
 * exception) or 23 (integrity constraint).
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

struct st_db {
    pl_store *s;
    char *target;
    PGconn *conn;
    bool pipe; /* between pipeline_begin and pipeline_end */
    bool utf8; /* the server checks that text is UTF-8 */
    char err[256];
};

struct st_row {
    PGresult *res;
};

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg; /* notices ("table exists, skipping") are not worth a log line */
}

static void keep_err(st_db *db, const char *msg)
{
    snprintf(db->err, sizeof(db->err), "%s",
             msg && *msg ? msg
             : db->conn  ? PQerrorMessage(db->conn)
                         : "no connection");
    size_t n = strlen(db->err);
    while (n && (db->err[n - 1] == '\n' || db->err[n - 1] == ' '))
        db->err[--n] = '\0';
}

/* Is res a success, a refusal of the values, or anything else (retry)? Clears res. */
static int result_rc(st_db *db, PGresult *res)
{
    ExecStatusType t = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK || t == PGRES_SINGLE_TUPLE) {
        PQclear(res);
        return ST_OK;
    }
    keep_err(db, res ? PQresultErrorMessage(res) : NULL);
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int rc = ST_ERETRY;
    if (PQstatus(db->conn) == CONNECTION_OK && state &&
        (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0))
        rc = ST_EDATA;
    PQclear(res);
    return rc;
}

static void session_setup(st_db *db)
{
    PQsetNoticeProcessor(db->conn, quiet, NULL);
    const char *enc = PQparameterStatus(db->conn, "server_encoding");
    db->utf8 = enc && strcmp(enc, "UTF8") == 0;
}

static int connect_now(st_db *db)
{
    PQfinish(db->conn);
    db->pipe = false;
    /* Keywords are applied in order: the URL, expanded from dbname, overrides the default. */
    const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *const vals[] = {"5", db->target, NULL};
    db->conn = PQconnectdbParams(keys, vals, 1);
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
        keep_err(db, db->conn ? NULL : "out of memory");
        return ST_ERETRY;
    }
    session_setup(db);
    return ST_OK;
}

static st_db *pg_open(const char *target, pl_store *s, const char **why)
{
    st_db *db = calloc(1, sizeof(*db));
    if (!db || !(db->target = strdup(target))) {
        free(db);
        *why = "out of memory";
        return NULL;
    }
    db->s = s;
    if (connect_now(db) != ST_OK) {
        st_log(s, PL_PROXY_LOG_ERROR, "store: cannot connect to PostgreSQL: %s", db->err);
        *why = "cannot connect to the PostgreSQL database";
        PQfinish(db->conn);
        free(db->target);
        free(db);
        return NULL;
    }
    return db;
}

static void pg_close(st_db *db)
{
    if (!db)
        return;
    PQfinish(db->conn);
    free(db->target);
    free(db);
}

static int pg_prepare(st_db *db)
{
    for (int i = 0; i < ST_STMT_COUNT_; i++) {
        char name[16];
        snprintf(name, sizeof(name), "pl_s%d", i);
        int rc = result_rc(db, PQprepare(db->conn, name, st_sql[i], 0, NULL));
        if (rc != ST_OK)
            return rc;
    }
    return ST_OK;
}

static int pg_reconnect(st_db *db)
{
    if (connect_now(db) != ST_OK)
        return ST_ERETRY;
    int rc = pg_prepare(db);
    /* A refusal while preparing is not the values' fault: keep retrying. */
    return rc == ST_OK ? ST_OK : ST_ERETRY;
}

static int pg_script(st_db *db, const char *sql)
{
    if (db->pipe) {
        if (PQsendQueryParams(db->conn, sql, 0, NULL, NULL, NULL, NULL, 0))
            return ST_OK;
        keep_err(db, NULL);
        return ST_ERETRY;
    }
    return result_rc(db, PQexec(db->conn, sql));
}

static int pg_pipeline_begin(st_db *db)
{
    if (PQstatus(db->conn) != CONNECTION_OK || !PQenterPipelineMode(db->conn))
        return ST_ERETRY;
    db->pipe = true;
    return ST_OK;
}

/* Sync, then every answer: ST_OK, or the first failure. */
static int pg_pipeline_end(st_db *db)
{
    int rc = PQpipelineSync(db->conn) ? ST_OK : ST_ERETRY;
    if (rc != ST_OK)
        keep_err(db, NULL);
    bool after_null = false;
    while (rc != ST_ERETRY || PQstatus(db->conn) == CONNECTION_OK) {
        PGresult *r = PQgetResult(db->conn);
        if (!r) {
            /* One NULL ends each statement's answers; two in a row: nothing more will come. */
            if (after_null) {
                if (rc == ST_OK) {
                    keep_err(db, NULL);
                    rc = ST_ERETRY;
                }
                break;
            }
            after_null = true;
            continue;
        }
        after_null = false;
        ExecStatusType t = PQresultStatus(r);
        if (t == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (t == PGRES_PIPELINE_ABORTED) {
            PQclear(r); /* after the failure already counted */
            continue;
        }
        int one = result_rc(db, r);
        if (rc == ST_OK)
            rc = one;
    }
    if (!PQexitPipelineMode(db->conn) && rc == ST_OK) {
        keep_err(db, NULL);
        rc = ST_ERETRY;
    }
    db->pipe = false;
    return rc;
}

static int pg_query_int(st_db *db, const char *sql, int64_t *out, bool *found)
{
    *found = false;
    PGresult *res = PQexec(db->conn, sql);
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 &&
        !PQgetisnull(res, 0, 0)) {
        *out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *found = true;
    }
    return result_rc(db, res);
}

/* ---- values */

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if not valid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    unsigned cp = c & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* s with every byte that is not part of valid UTF-8 (and every NUL) made '?', into a copy
 * when one is needed (*copy, to free). A UTF-8 server refuses such text, and one bad byte
 * in a User-Agent must not cost the row. */
static pl_str utf8_clean(pl_str s, char **copy)
{
    const unsigned char *p = (const unsigned char *)s.p;
    size_t i = 0, l = 0;
    while (i < s.len && p[i] && (l = utf8_len(p + i, s.len - i)) > 0)
        i += l;
    if (i == s.len)
        return s;
    char *c = malloc(s.len ? s.len : 1);
    if (!c)
        return PL_STR_LIT("?");
    memcpy(c, s.p, s.len);
    while (i < s.len) {
        l = p[i] ? utf8_len(p + i, s.len - i) : 0;
        if (l == 0) {
            c[i] = '?';
            l = 1;
        }
        i += l;
    }
    *copy = c;
    return (pl_str){c, s.len};
}

#define MAX_VALS 32

static int pg_exec_or_send(st_db *db, st_stmt stmt, const st_val *v, int n, bool send)
{
    const char *vals[MAX_VALS];
    int lens[MAX_VALS], fmts[MAX_VALS];
    char nums[MAX_VALS][24];
    char *copies[MAX_VALS] = {0};
    if (n > MAX_VALS)
        return ST_EDATA;
    for (int i = 0; i < n; i++) {
        lens[i] = 0;
        fmts[i] = 0;
        switch (v[i].type) {
        case ST_INT:
            snprintf(nums[i], sizeof(nums[i]), "%lld", (long long)v[i].i);
            vals[i] = nums[i];
            break;
        case ST_TEXT:
        case ST_BLOB: {
            pl_str s = v[i].s;
            if (v[i].type == ST_TEXT && db->utf8)
                s = utf8_clean(s, &copies[i]);
            vals[i] = s.len ? s.p : "";
            lens[i] = (int)s.len;
            fmts[i] = 1;
            break;
        }
        default:
            vals[i] = NULL;
            break;
        }
    }
    char name[16];
    snprintf(name, sizeof(name), "pl_s%d", (int)stmt);
    int rc;
    if (send || db->pipe)
        rc = PQsendQueryPrepared(db->conn, name, n, vals, lens, fmts, 1) ? ST_OK : ST_ERETRY;
    else
        rc = result_rc(db, PQexecPrepared(db->conn, name, n, vals, lens, fmts, 1));
    if ((send || db->pipe) && rc != ST_OK)
        keep_err(db, NULL);
    for (int i = 0; i < n; i++)
        free(copies[i]);
    return rc;
}

static int pg_exec(st_db *db, st_stmt stmt, const st_val *v, int n)
{
    return pg_exec_or_send(db, stmt, v, n, false);
}

static int pg_query(st_db *db, st_stmt stmt, const st_val *v, int n,
                    void (*fn)(const st_row *row, void *arg), void *arg)
{
    int rc = pg_exec_or_send(db, stmt, v, n, true);
    if (rc != ST_OK)
        return rc;
    PQsetSingleRowMode(db->conn);
    PGresult *res;
    rc = ST_OK;
    /* Every result up to the NULL that ends the query is read, even after an error. */
    while ((res = PQgetResult(db->conn))) {
        if (PQresultStatus(res) == PGRES_SINGLE_TUPLE) {
            st_row row = {res};
            fn(&row, arg);
            PQclear(res);
        } else if (rc == ST_OK) {
            rc = result_rc(db, res);
        } else {
            PQclear(res);
        }
    }
    if (rc == ST_OK && PQstatus(db->conn) != CONNECTION_OK) {
        keep_err(db, NULL);
        rc = ST_ERETRY;
    }
    return rc;
}

static bool pg_col_null(const st_row *row, int col)
{
    return PQgetisnull(row->res, 0, col);
}

static int64_t pg_col_int(const st_row *row, int col)
{
    if (PQgetisnull(row->res, 0, col))
        return 0;
    const unsigned char *p = (const unsigned char *)PQgetvalue(row->res, 0, col);
    int len = PQgetlength(row->res, 0, col);
    uint64_t u = 0;
    for (int i = 0; i < len && i < 8; i++)
        u = (u << 8) | p[i];
    /* Network order, two's complement: sign-extend 2- and 4-byte integers. */
    if (len == 2)
        return (int16_t)(uint16_t)u;
    if (len == 4)
        return (int32_t)(uint32_t)u;
    return (int64_t)u;
}

static pl_str pg_col_str(const st_row *row, int col)
{
    int len = PQgetlength(row->res, 0, col);
    if (PQgetisnull(row->res, 0, col) || len <= 0)
        return PL_STR_LIT("");
    return (pl_str){PQgetvalue(row->res, 0, col), (size_t)len};
}

static const char *pg_errmsg(st_db *db)
{
    return db->err;
}

const st_driver st_pg_driver = {
    .name = "postgresql",
    .blob_type = "BYTEA",
    .open = pg_open,
    .close = pg_close,
    .reconnect = pg_reconnect,
    .prepare = pg_prepare,
    .script = pg_script,
    .query_int = pg_query_int,
    .exec = pg_exec,
    .pipeline_begin = pg_pipeline_begin,
    .pipeline_end = pg_pipeline_end,
    .query = pg_query,
    .col_null = pg_col_null,
    .col_int = pg_col_int,
    .col_str = pg_col_str,
    .errmsg = pg_errmsg,
};
