/*
 * schema.c - the store's tables and statements, written once for both
 * databases, and the mapping between rows and Parley's records.
 *
 * Three tables: schema_version (one row: the version of what follows),
 * dialogs (one row per confirmed dialog, keyed by its 64-bit id) and
 * bindings (one row per registered contact, keyed by AOR and contact).
 * Times are Unix milliseconds, so that a row means the same after a
 * restart: a dialog's remaining lifetime is stored as its absolute expiry
 * and what is left of it is computed again when it is loaded (the time
 * spent down counts). Column types are the only difference between the
 * databases: 64-bit integers are INTEGER in SQLite (the dialog id is then
 * the rowid) and BIGINT in PostgreSQL; raw bytes BLOB and BYTEA.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* ---- statements */

#define DIALOG_COLS                                                                                \
    "id, call_id, from_uri, to_uri, state, flags, "                                                \
    "caller_tag, caller_contact, caller_route, caller_cseq_to, caller_cseq_from, "                 \
    "caller_inv_cseq, caller_src, "                                                                \
    "callee_tag, callee_contact, callee_route, callee_cseq_to, callee_cseq_from, "                 \
    "callee_inv_cseq, callee_src, "                                                                \
    "expires_at, ping_interval, vals, profiles, end_reason, updated_at"

#define BINDING_COLS "aor, contact, path, call_id, cseq, q, expires, source, user_agent, updated_at"

const char *const st_sql[ST_STMT_COUNT_] = {
    [ST_DIALOG_PUT] =
        "INSERT INTO dialogs (" DIALOG_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
        "$11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26) "
        "ON CONFLICT (id) DO UPDATE SET call_id = excluded.call_id, "
        "from_uri = excluded.from_uri, to_uri = excluded.to_uri, state = excluded.state, "
        "flags = excluded.flags, caller_tag = excluded.caller_tag, "
        "caller_contact = excluded.caller_contact, caller_route = excluded.caller_route, "
        "caller_cseq_to = excluded.caller_cseq_to, caller_cseq_from = excluded.caller_cseq_from, "
        "caller_inv_cseq = excluded.caller_inv_cseq, caller_src = excluded.caller_src, "
        "callee_tag = excluded.callee_tag, callee_contact = excluded.callee_contact, "
        "callee_route = excluded.callee_route, callee_cseq_to = excluded.callee_cseq_to, "
        "callee_cseq_from = excluded.callee_cseq_from, "
        "callee_inv_cseq = excluded.callee_inv_cseq, callee_src = excluded.callee_src, "
        "expires_at = excluded.expires_at, ping_interval = excluded.ping_interval, "
        "vals = excluded.vals, profiles = excluded.profiles, end_reason = excluded.end_reason, "
        "updated_at = excluded.updated_at",
    [ST_DIALOG_DEL] = "DELETE FROM dialogs WHERE id = $1",
    [ST_DIALOG_LOAD] = "SELECT " DIALOG_COLS " FROM dialogs",
    [ST_DIALOG_TRUNCATE] = "DELETE FROM dialogs",
    [ST_BINDING_PUT] =
        "INSERT INTO bindings (" BINDING_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
        "ON CONFLICT (aor, contact) DO UPDATE SET path = excluded.path, "
        "call_id = excluded.call_id, cseq = excluded.cseq, q = excluded.q, "
        "expires = excluded.expires, source = excluded.source, "
        "user_agent = excluded.user_agent, updated_at = excluded.updated_at",
    [ST_BINDING_DEL] = "DELETE FROM bindings WHERE aor = $1 AND contact = $2",
    [ST_BINDING_DEL_AOR] = "DELETE FROM bindings WHERE aor = $1",
    [ST_BINDING_PURGE] = "DELETE FROM bindings WHERE expires <= $1",
    [ST_BINDING_LOAD] = "SELECT " BINDING_COLS " FROM bindings WHERE expires > $1 "
                        "ORDER BY aor, updated_at",
};

/* ---- the tables, version 1 (@I: a 64-bit integer type, @B: raw bytes) */

static const char schema_v1[] = "CREATE TABLE dialogs (\n"
                                "  id @I PRIMARY KEY,\n"
                                "  call_id TEXT NOT NULL,\n"
                                "  from_uri TEXT NOT NULL,\n"
                                "  to_uri TEXT NOT NULL,\n"
                                "  state INTEGER NOT NULL,\n"
                                "  flags @I NOT NULL,\n"
                                "  caller_tag TEXT NOT NULL,\n"
                                "  caller_contact TEXT NOT NULL,\n"
                                "  caller_route TEXT NOT NULL,\n"
                                "  caller_cseq_to @I NOT NULL,\n"
                                "  caller_cseq_from @I NOT NULL,\n"
                                "  caller_inv_cseq @I NOT NULL,\n"
                                "  caller_src TEXT,\n"
                                "  callee_tag TEXT NOT NULL,\n"
                                "  callee_contact TEXT NOT NULL,\n"
                                "  callee_route TEXT NOT NULL,\n"
                                "  callee_cseq_to @I NOT NULL,\n"
                                "  callee_cseq_from @I NOT NULL,\n"
                                "  callee_inv_cseq @I NOT NULL,\n"
                                "  callee_src TEXT,\n"
                                "  expires_at @I NOT NULL,\n"
                                "  ping_interval INTEGER NOT NULL,\n"
                                "  vals @B NOT NULL,\n"
                                "  profiles @B NOT NULL,\n"
                                "  end_reason TEXT NOT NULL,\n"
                                "  updated_at @I NOT NULL\n"
                                ");\n"
                                "CREATE TABLE bindings (\n"
                                "  aor TEXT NOT NULL,\n"
                                "  contact TEXT NOT NULL,\n"
                                "  path TEXT NOT NULL,\n"
                                "  call_id TEXT NOT NULL,\n"
                                "  cseq @I NOT NULL,\n"
                                "  q INTEGER NOT NULL,\n"
                                "  expires @I NOT NULL,\n"
                                "  source TEXT,\n"
                                "  user_agent TEXT NOT NULL,\n"
                                "  updated_at @I NOT NULL,\n"
                                "  PRIMARY KEY (aor, contact)\n"
                                ");\n"
                                "CREATE INDEX bindings_expires ON bindings (expires);\n";

/*
 * Migrations: migrations[v - 1] takes a database of version v to v + 1
 * (the same placeholders). None yet: version 1 is the first.
 */
static const char *const migrations[] = {NULL};

/* sql with @I and @B replaced by the driver's types; malloc'd. */
static char *typed(const st_driver *drv, const char *sql)
{
    const char *int64 = strcmp(drv->name, "sqlite") == 0 ? "INTEGER" : "BIGINT";
    size_t n = strlen(sql) * 4 + 64; /* "@I" (2 bytes) becomes at most 7 */
    char *out = malloc(n);
    if (!out)
        return NULL;
    size_t o = 0;
    for (const char *p = sql; *p; p++) {
        const char *rep = NULL;
        if (p[0] == '@' && p[1] == 'I')
            rep = int64;
        else if (p[0] == '@' && p[1] == 'B')
            rep = drv->blob_type;
        if (rep) {
            size_t l = strlen(rep);
            memcpy(out + o, rep, l);
            o += l;
            p++;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
    return out;
}

/* Run BEGIN; body; the version row; COMMIT. */
static int run_versioned(const st_driver *drv, st_db *db, const char *body, int version,
                         bool insert)
{
    char *sql = typed(drv, body);
    if (!sql)
        return ST_EDATA;
    char tail[96];
    snprintf(tail, sizeof(tail),
             insert ? "INSERT INTO schema_version (version) VALUES (%d)"
                    : "UPDATE schema_version SET version = %d",
             version);
    int rc = drv->script(db, "BEGIN");
    if (rc == ST_OK)
        rc = drv->script(db, sql);
    if (rc == ST_OK)
        rc = drv->script(db, tail);
    if (rc == ST_OK)
        rc = drv->script(db, "COMMIT");
    else
        drv->script(db, "ROLLBACK");
    free(sql);
    return rc;
}

int st_schema_init(const st_driver *drv, st_db *db, pl_store *s, const char **why)
{
    int rc = drv->script(db, "CREATE TABLE IF NOT EXISTS schema_version "
                             "(version INTEGER NOT NULL)");
    int64_t version = 0;
    bool found = false;
    if (rc == ST_OK)
        rc = drv->query_int(db, "SELECT max(version) FROM schema_version", &version, &found);
    if (rc != ST_OK) {
        st_log(s, PL_PROXY_LOG_ERROR, "store: cannot read the schema version: %s", drv->errmsg(db));
        *why = "cannot read the store's schema version";
        return rc;
    }
    if (!found) {
        rc = run_versioned(drv, db, schema_v1, ST_SCHEMA_VERSION, true);
        if (rc != ST_OK) {
            st_log(s, PL_PROXY_LOG_ERROR, "store: cannot create the tables: %s", drv->errmsg(db));
            *why = "cannot create the store's tables";
            return rc;
        }
        st_log(s, PL_PROXY_LOG_INFO, "store: created the tables (schema version %d)",
               ST_SCHEMA_VERSION);
        return ST_OK;
    }
    if (version > ST_SCHEMA_VERSION) {
        st_log(s, PL_PROXY_LOG_ERROR,
               "store: the database has schema version %lld, newer than this Parley's %d: "
               "refusing to use it",
               (long long)version, ST_SCHEMA_VERSION);
        *why = "the store's schema version is newer than this Parley's";
        return ST_EDATA;
    }
    if (version < 1) {
        *why = "the store's schema version is not valid";
        return ST_EDATA;
    }
    for (int64_t v = version; v < ST_SCHEMA_VERSION; v++) {
        rc = run_versioned(drv, db, migrations[v - 1], (int)v + 1, false);
        if (rc != ST_OK) {
            st_log(s, PL_PROXY_LOG_ERROR, "store: migrating schema version %lld failed: %s",
                   (long long)v, drv->errmsg(db));
            *why = "cannot migrate the store's schema";
            return rc;
        }
        st_log(s, PL_PROXY_LOG_INFO, "store: migrated the schema to version %lld",
               (long long)v + 1);
    }
    return ST_OK;
}

/* ---- rows and records */

static st_val v_int(int64_t i)
{
    return (st_val){.type = ST_INT, .i = i};
}

static st_val v_text(pl_str s)
{
    return (st_val){.type = ST_TEXT, .s = s.p ? s : PL_STR_LIT("")};
}

static st_val v_blob(pl_str s)
{
    return (st_val){.type = ST_BLOB, .s = s.p ? s : PL_STR_LIT("")};
}

static st_val v_target(bool has, const pl_target *t, char *buf)
{
    if (!has || !t->len || pl_target_print(t, buf, 64) != PL_OK)
        return (st_val){.type = ST_NULL};
    return v_text(pl_str_c(buf));
}

int st_dialog_vals(const pl_dlg_record *rec, int64_t expires_ms, int64_t now_ms, char src[2][64],
                   st_val *v)
{
    int n = 0;
    v[n++] = v_int((int64_t)rec->id); /* the id's bits, as a signed 64-bit integer */
    v[n++] = v_text(rec->call_id);
    v[n++] = v_text(rec->from_uri);
    v[n++] = v_text(rec->to_uri);
    v[n++] = v_int(rec->state);
    v[n++] = v_int(rec->flags);
    for (int k = 0; k < 2; k++) {
        const pl_dlg_leg_record *l = &rec->leg[k];
        v[n++] = v_text(l->tag);
        v[n++] = v_text(l->contact);
        v[n++] = v_text(l->route);
        v[n++] = v_int(l->cseq_to);
        v[n++] = v_int(l->cseq_from);
        v[n++] = v_int(l->inv_cseq);
        v[n++] = v_target(l->has_src, &l->src, src[k]);
    }
    v[n++] = v_int(expires_ms);
    v[n++] = v_int(rec->ping_interval_s);
    v[n++] = v_blob(rec->values);
    v[n++] = v_blob(rec->profiles);
    v[n++] = v_text(rec->end_reason);
    v[n++] = v_int(now_ms);
    return n;
}

static bool col_u32(const st_driver *drv, const st_row *row, int col, uint32_t *out)
{
    int64_t i = drv->col_int(row, col);
    if (i < 0 || i > (int64_t)UINT32_MAX)
        return false;
    *out = (uint32_t)i;
    return true;
}

/* A "udp:1.2.3.4:5060" column into t; NULL: *has false. */
static bool col_target(const st_driver *drv, const st_row *row, int col, bool *has, pl_target *t)
{
    memset(t, 0, sizeof(*t));
    *has = false;
    if (drv->col_null(row, col))
        return true;
    pl_str s = drv->col_str(row, col);
    char buf[80];
    if (s.len >= sizeof(buf))
        return false;
    memcpy(buf, s.p, s.len);
    buf[s.len] = '\0';
    if (pl_target_parse(t, buf) != PL_OK)
        return false;
    *has = true;
    return true;
}

bool st_dialog_row(const st_driver *drv, const st_row *row, int64_t now_ms, pl_dlg_record *rec)
{
    memset(rec, 0, sizeof(*rec));
    int c = 0;
    rec->id = (uint64_t)drv->col_int(row, c++);
    rec->call_id = drv->col_str(row, c++);
    rec->from_uri = drv->col_str(row, c++);
    rec->to_uri = drv->col_str(row, c++);
    int64_t state = drv->col_int(row, c++);
    if (state < PL_DLG_UNCONFIRMED || state > PL_DLG_DELETED)
        return false;
    rec->state = (pl_dlg_state)state;
    if (!col_u32(drv, row, c++, &rec->flags))
        return false;
    for (int k = 0; k < 2; k++) {
        pl_dlg_leg_record *l = &rec->leg[k];
        l->tag = drv->col_str(row, c++);
        l->contact = drv->col_str(row, c++);
        l->route = drv->col_str(row, c++);
        if (!col_u32(drv, row, c++, &l->cseq_to) || !col_u32(drv, row, c++, &l->cseq_from) ||
            !col_u32(drv, row, c++, &l->inv_cseq) ||
            !col_target(drv, row, c++, &l->has_src, &l->src))
            return false;
    }
    int64_t expires = drv->col_int(row, c++);
    rec->lifetime_left_ms = expires > now_ms ? (uint64_t)(expires - now_ms) : 0;
    if (!col_u32(drv, row, c++, &rec->ping_interval_s))
        return false;
    rec->values = drv->col_str(row, c++);
    rec->profiles = drv->col_str(row, c++);
    rec->end_reason = drv->col_str(row, c++);
    return true;
}

int st_binding_vals(const char *aor, const pl_binding *b, int64_t expires_ms, int64_t now_ms,
                    char src[64], st_val *v)
{
    int n = 0;
    v[n++] = v_text(pl_str_c(aor));
    v[n++] = v_text(b->contact);
    v[n++] = v_text(b->path);
    v[n++] = v_text(b->call_id);
    v[n++] = v_int(b->cseq);
    v[n++] = v_int(b->q);
    v[n++] = v_int(expires_ms);
    v[n++] = v_target(b->source.len > 0, &b->source, src);
    v[n++] = v_text(b->user_agent);
    v[n++] = v_int(now_ms);
    return n;
}

bool st_binding_row(const st_driver *drv, const st_row *row, char *aor, size_t cap, pl_binding *b,
                    int64_t *expires_ms)
{
    memset(b, 0, sizeof(*b));
    pl_str a = drv->col_str(row, 0);
    if (a.len >= cap)
        return false;
    memcpy(aor, a.p, a.len);
    aor[a.len] = '\0';
    b->contact = drv->col_str(row, 1);
    b->path = drv->col_str(row, 2);
    b->call_id = drv->col_str(row, 3);
    uint32_t q;
    if (!col_u32(drv, row, 4, &b->cseq) || !col_u32(drv, row, 5, &q) || q > 1000)
        return false;
    b->q = (uint16_t)q;
    *expires_ms = drv->col_int(row, 6);
    bool has;
    if (!col_target(drv, row, 7, &has, &b->source))
        return false;
    b->user_agent = drv->col_str(row, 8);
    b->expires_ms = (uint64_t)*expires_ms;
    return true;
}
