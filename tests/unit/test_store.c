/*
 * test_store.c - the store (parley/store.h) against real databases: every
 * test runs on SQLite (a file in a temporary folder) and, when
 * PARLEY_PG_URL names a server, on PostgreSQL too
 * (tests/integration/store_pg.sh starts one and sets it; with
 * PARLEY_PG_STOP and PARLEY_PG_START, shell commands that stop and start
 * that server, the outage test runs as well). PARLEY_STORE_SKIP_SQLITE=1
 * runs the PostgreSQL group only.
 *
 * The tests read the database behind the store's back (sqlite3, libpq) to
 * check what is really there, and what is not yet. The bulk tests print
 * their times (for the docs; nothing is asserted on them).
 */
#include <ftw.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include <parley/store.h>

/* ---- the database under test */

typedef struct backend {
    const char *name;
    bool pg;
    char dir[64];   /* SQLite: the temporary folder */
    char path[256]; /* SQLite: this test's file */
    char url[512];
    int n; /* tests so far, for file names */
} backend;

static backend B_SQLITE = {.name = "sqlite"};
static backend B_PG = {.name = "postgresql", .pg = true};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* Run SQL behind the store's back; the first column of the first row (or -1 when none). */
static long long raw(backend *b, const char *sql)
{
    long long out = -1;
    if (b->pg) {
        PGconn *c = PQconnectdb(b->url);
        assert_int_equal(PQstatus(c), CONNECTION_OK);
        PQsetNoticeProcessor(c, quiet, NULL);
        PGresult *r = PQexec(c, sql);
        int st = PQresultStatus(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
            fail_msg("%s: %s", sql, PQerrorMessage(c));
        if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
            out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        PQfinish(c);
        return out;
    }
    sqlite3 *db;
    assert_int_equal(sqlite3_open(b->path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        out = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

/* A fresh, empty database for this test; its URL. */
static const char *fresh(backend *b)
{
    if (b->pg) {
        raw(b, "DROP TABLE IF EXISTS dialogs, bindings, schema_version");
        return b->url;
    }
    /* A folder that does not exist yet: the store creates it. */
    snprintf(b->path, sizeof(b->path), "%s/t%d/sub/store.db", b->dir, ++b->n);
    snprintf(b->url, sizeof(b->url), "sqlite://%s", b->path);
    return b->url;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int setup_sqlite(void **state)
{
    strcpy(B_SQLITE.dir, "/tmp/parley-store-XXXXXX");
    if (!mkdtemp(B_SQLITE.dir))
        return -1;
    *state = &B_SQLITE;
    return 0;
}

static int teardown_sqlite(void **state)
{
    (void)state;
    nftw(B_SQLITE.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static int setup_pg(void **state)
{
    snprintf(B_PG.url, sizeof(B_PG.url), "%s", getenv("PARLEY_PG_URL"));
    *state = &B_PG;
    return 0;
}

/* ---- what the store calls back */

static atomic_int saved_puts, saved_dels;

static void on_saved(uint64_t id, bool deleted, void *user)
{
    (void)id;
    (void)user;
    atomic_fetch_add(deleted ? &saved_dels : &saved_puts, 1);
}

static char last_log[512];

static void on_log(pl_proxy_log_level level, pl_str call_id, const char *line, void *user)
{
    (void)call_id;
    (void)user;
    (void)level;
    snprintf(last_log, sizeof(last_log), "%s", line);
    if (getenv("PARLEY_STORE_VERBOSE"))
        fprintf(stderr, "  log: %s\n", line);
}

/* What a failed test leaves behind is released by its teardown, so that the next test does
 * not wait on a lock. */
static struct {
    pl_store *open[2];
    PGconn *lock_pg;
    sqlite3 *lock_sqlite;
} T;

static void unlock_all(void)
{
    if (T.lock_pg) {
        PQclear(PQexec(T.lock_pg, "COMMIT"));
        PQfinish(T.lock_pg);
        T.lock_pg = NULL;
    }
    if (T.lock_sqlite) {
        sqlite3_exec(T.lock_sqlite, "COMMIT", NULL, NULL, NULL);
        sqlite3_close(T.lock_sqlite);
        T.lock_sqlite = NULL;
    }
}

static void close_store(pl_store *s)
{
    for (int i = 0; i < 2; i++)
        if (T.open[i] == s)
            T.open[i] = NULL;
    pl_store_close(s, 5000);
}

static int teardown(void **state)
{
    (void)state;
    unlock_all();
    for (int i = 0; i < 2; i++)
        if (T.open[i]) {
            pl_store_close(T.open[i], 1000);
            T.open[i] = NULL;
        }
    tu_free_all();
    return 0;
}

static pl_store *open_mode(const char *url, pl_store_mode mode, uint32_t flush_ms)
{
    atomic_store(&saved_puts, 0);
    atomic_store(&saved_dels, 0);
    pl_error err = {0};
    pl_store *s = pl_store_open(
        &(pl_store_config){
            .url = url, .mode = mode, .flush_ms = flush_ms, .on_saved = on_saved, .log = on_log},
        &err);
    if (!s)
        fail_msg("open %s: %s (%s)", url, err.reason, last_log);
    for (int i = 0; i < 2; i++)
        if (!T.open[i]) {
            T.open[i] = s;
            break;
        }
    return s;
}

static pl_store_stats stats(pl_store *s)
{
    pl_store_stats st;
    pl_store_get_stats(s, &st);
    return st;
}

/* Wait (at most 10 s) until cond holds; false when it never did. */
#define POLL(cond)                                                                                 \
    ({                                                                                             \
        double _end = now_ms() + 10000;                                                            \
        while (!(cond) && now_ms() < _end)                                                         \
            usleep(2000);                                                                          \
        (cond);                                                                                    \
    })

/* ---- records */

#define BIG_ID 0xfedcba9876543210ULL /* above 2^63: negative as a signed 64-bit integer */

typedef struct recbuf {
    char call_id[64], from[96], to[96], tag0[32], tag1[32], c0[96], c1[96], r0[160], r1[160];
    char values[160], profiles[96], reason[64];
    pl_dlg_record rec;
} recbuf;

/* A full record: every field set, quotes and UTF-8 in the strings; version in several. */
static const pl_dlg_record *make_rec(recbuf *b, uint64_t id, int version)
{
    snprintf(b->call_id, sizeof(b->call_id), "call-%llu@host'\"x", (unsigned long long)id);
    snprintf(b->from, sizeof(b->from), "sip:alice@example.com;o='1'");
    snprintf(b->to, sizeof(b->to),
             "sip:b\xc3\xa9"
             "b@example.com");
    snprintf(b->tag0, sizeof(b->tag0), "ftag%d", version);
    snprintf(b->tag1, sizeof(b->tag1), "ttag-%llu", (unsigned long long)id);
    snprintf(b->c0, sizeof(b->c0), "sip:alice@10.0.0.2:5060;transport=tcp");
    snprintf(b->c1, sizeof(b->c1), "sip:bob@[2001:db8::7]:5070");
    snprintf(b->r0, sizeof(b->r0), "<sip:p1.example.com;lr>, <sip:p2.example.com;lr;x=\"q\">");
    b->r1[0] = '\0';
    snprintf(b->values, sizeof(b->values), "caller#1#alice \\#1\\|\xe2\x82\xac|n#2#%d|", version);
    snprintf(b->profiles, sizeof(b->profiles), "caller#alice|calls#|");
    if (version > 1)
        snprintf(b->reason, sizeof(b->reason), "Upd\"ated %d", version);
    else
        b->reason[0] = '\0';
    pl_dlg_record *r = &b->rec;
    memset(r, 0, sizeof(*r));
    r->id = id;
    r->state = version > 1 ? PL_DLG_CONFIRMED : PL_DLG_CONFIRMED_NA;
    r->flags = PL_DLG_F_BYE_ON_TIMEOUT | PL_DLG_F_PING_CALLEE | 0x80000000u;
    r->call_id = pl_str_c(b->call_id);
    r->from_uri = pl_str_c(b->from);
    r->to_uri = pl_str_c(b->to);
    r->leg[0] = (pl_dlg_leg_record){pl_str_c(b->tag0),
                                    pl_str_c(b->c0),
                                    pl_str_c(b->r0),
                                    4294967295u,
                                    7,
                                    (uint32_t)version,
                                    true,
                                    {0}};
    pl_target_parse(&r->leg[0].src, "tcp:10.0.0.2:40123");
    r->leg[1] = (pl_dlg_leg_record){pl_str_c(b->tag1),
                                    pl_str_c(b->c1),
                                    pl_str_c(b->r1),
                                    (uint32_t)(100 + version),
                                    0,
                                    1,
                                    false,
                                    {0}};
    r->lifetime_left_ms = 3600000;
    r->ping_interval_s = 30u + (uint32_t)version;
    r->values = pl_str_c(b->values);
    r->profiles = pl_str_c(b->profiles);
    r->end_reason = pl_str_c(b->reason);
    return r;
}

/* Loaded records, deep-copied. */
typedef struct loaded {
    int n, cap;
    pl_dlg_record *r;
    char **mem;
    uint64_t id_sum;
} loaded;

static pl_str keep(loaded *l, int i, pl_str s, char **at)
{
    (void)l;
    (void)i;
    memcpy(*at, s.p, s.len);
    pl_str out = {*at, s.len};
    *at += s.len;
    return out;
}

static void on_dialog(const pl_dlg_record *rec, void *arg)
{
    loaded *l = arg;
    l->id_sum += rec->id;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->r = realloc(l->r, sizeof(*l->r) * (size_t)l->cap);
        l->mem = realloc(l->mem, sizeof(*l->mem) * (size_t)l->cap);
    }
    size_t need = rec->call_id.len + rec->from_uri.len + rec->to_uri.len + rec->values.len +
                  rec->profiles.len + rec->end_reason.len + 1;
    for (int k = 0; k < 2; k++)
        need += rec->leg[k].tag.len + rec->leg[k].contact.len + rec->leg[k].route.len;
    char *m = malloc(need), *at = m;
    pl_dlg_record *r = &l->r[l->n];
    *r = *rec;
    r->call_id = keep(l, l->n, rec->call_id, &at);
    r->from_uri = keep(l, l->n, rec->from_uri, &at);
    r->to_uri = keep(l, l->n, rec->to_uri, &at);
    r->values = keep(l, l->n, rec->values, &at);
    r->profiles = keep(l, l->n, rec->profiles, &at);
    r->end_reason = keep(l, l->n, rec->end_reason, &at);
    for (int k = 0; k < 2; k++) {
        r->leg[k].tag = keep(l, l->n, rec->leg[k].tag, &at);
        r->leg[k].contact = keep(l, l->n, rec->leg[k].contact, &at);
        r->leg[k].route = keep(l, l->n, rec->leg[k].route, &at);
    }
    l->mem[l->n++] = m;
}

static void on_dialog_count(const pl_dlg_record *rec, void *arg)
{
    loaded *l = arg;
    l->n++;
    l->id_sum += rec->id;
}

static void loaded_free(loaded *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->mem[i]);
    free(l->mem);
    free(l->r);
    memset(l, 0, sizeof(*l));
}

static const pl_dlg_record *find(const loaded *l, uint64_t id)
{
    for (int i = 0; i < l->n; i++)
        if (l->r[i].id == id)
            return &l->r[i];
    return NULL;
}

static void assert_same_str(pl_str a, pl_str b, const char *what)
{
    if (!pl_str_eq(a, b))
        fail_msg("%s: \"%.*s\" != \"%.*s\"", what, (int)a.len, a.p ? a.p : "", (int)b.len,
                 b.p ? b.p : "");
}

/* Every field equal; the lifetime what was left minus the time since (at most). */
static void assert_same_rec(const pl_dlg_record *got, const pl_dlg_record *want,
                            uint64_t max_elapsed_ms)
{
    assert_true(got->id == want->id);
    assert_int_equal(got->state, want->state);
    assert_int_equal(got->flags, want->flags);
    assert_same_str(got->call_id, want->call_id, "call_id");
    assert_same_str(got->from_uri, want->from_uri, "from_uri");
    assert_same_str(got->to_uri, want->to_uri, "to_uri");
    for (int k = 0; k < 2; k++) {
        const pl_dlg_leg_record *g = &got->leg[k], *w = &want->leg[k];
        assert_same_str(g->tag, w->tag, "tag");
        assert_same_str(g->contact, w->contact, "contact");
        assert_same_str(g->route, w->route, "route");
        assert_int_equal(g->cseq_to, w->cseq_to);
        assert_int_equal(g->cseq_from, w->cseq_from);
        assert_int_equal(g->inv_cseq, w->inv_cseq);
        assert_int_equal(g->has_src, w->has_src);
        if (w->has_src)
            assert_true(pl_target_eq(&g->src, &w->src));
    }
    assert_true(got->lifetime_left_ms <= want->lifetime_left_ms);
    assert_true(got->lifetime_left_ms + max_elapsed_ms + 1 >= want->lifetime_left_ms);
    assert_int_equal(got->ping_interval_s, want->ping_interval_s);
    assert_same_str(got->values, want->values, "values");
    assert_same_str(got->profiles, want->profiles, "profiles");
    assert_same_str(got->end_reason, want->end_reason, "end_reason");
}

/* ---- schema */

static void test_schema(void **state)
{
    backend *b = *state;
    const char *url = fresh(b);
    pl_store *s = open_mode(url, PL_STORE_REALTIME, 0);
    close_store(s);
    assert_int_equal(raw(b, "SELECT version FROM schema_version"), 1);
    assert_int_equal(raw(b, "SELECT count(*) FROM schema_version"), 1);
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs"), 0);
    assert_int_equal(raw(b, "SELECT count(*) FROM bindings"), 0);

    /* Opened again: the tables are kept, the version row not doubled. */
    s = open_mode(url, PL_STORE_REALTIME, 0);
    close_store(s);
    assert_int_equal(raw(b, "SELECT count(*) FROM schema_version"), 1);

    /* A database of a newer version is refused, with the reason. */
    raw(b, "UPDATE schema_version SET version = 99");
    pl_error err = {0};
    last_log[0] = '\0';
    assert_null(pl_store_open(&(pl_store_config){.url = url, .log = on_log}, &err));
    assert_int_equal(err.code, PL_EINVAL);
    assert_non_null(strstr(err.reason, "newer"));
    assert_non_null(strstr(last_log, "99"));

    /* Bad URLs. */
    const char *bad[] = {"mysql://x", "sqlite:", "sqlite://", "", "/tmp/x.db"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = (pl_error){0};
        assert_null(pl_store_open(&(pl_store_config){.url = bad[i], .log = on_log}, &err));
        assert_int_equal(err.code, PL_EINVAL);
        assert_non_null(err.reason);
    }
    assert_null(pl_store_open(&(pl_store_config){.url = NULL, .log = on_log}, &err));
    if (!b->pg) {
        /* A relative path, both spellings, from the working directory. */
        char cwd[512];
        assert_non_null(getcwd(cwd, sizeof(cwd)));
        assert_int_equal(chdir(b->dir), 0);
        const char *rel[] = {"sqlite:rel/a.db", "sqlite://rel/b.db"};
        for (int i = 0; i < 2; i++) {
            pl_store *r = pl_store_open(&(pl_store_config){.url = rel[i], .log = on_log}, &err);
            if (r)
                pl_store_close(r, 5000);
            assert_non_null(r);
        }
        assert_int_equal(access("rel/a.db", F_OK), 0);
        assert_int_equal(access("rel/b.db", F_OK), 0);
        assert_int_equal(chdir(cwd), 0);
        /* A file that cannot be a database (a folder is in the way). */
        char url2[300];
        snprintf(url2, sizeof(url2), "sqlite:%s", b->dir);
        assert_null(pl_store_open(&(pl_store_config){.url = url2, .log = on_log}, &err));
    } else {
        assert_null(pl_store_open(
            &(pl_store_config){.url = "postgresql://127.0.0.1:1/none?connect_timeout=2",
                               .log = on_log},
            &err));
        assert_non_null(strstr(err.reason, "PostgreSQL"));
    }

    /* Modes by name. */
    pl_store_mode m;
    assert_true(pl_store_mode_parse("delayed", &m));
    assert_int_equal(m, PL_STORE_DELAYED);
    assert_true(pl_store_mode_parse("shutdown", &m));
    assert_int_equal(m, PL_STORE_SHUTDOWN);
    assert_false(pl_store_mode_parse("Realtime", &m));
    assert_string_equal(pl_store_mode_name(PL_STORE_NONE), "none");
}

/* ---- dialogs */

static void test_round_trip(void **state)
{
    backend *b = *state;
    pl_store *s = open_mode(fresh(b), PL_STORE_REALTIME, 0);
    assert_int_equal(pl_store_get_mode(s), PL_STORE_REALTIME);
    recbuf r1, r2, r3;
    const pl_dlg_record *a = make_rec(&r1, BIG_ID, 1);
    const pl_dlg_record *z = make_rec(&r2, 0, 1); /* id 0 is an id too */
    pl_dlg_record zero = *z;
    zero.lifetime_left_ms = 0;
    zero.values = PL_STR_NULL;
    zero.profiles = PL_STR_NULL;
    zero.leg[0].route = PL_STR_NULL;
    zero.leg[0].has_src = false;
    double t0 = now_ms();
    assert_int_equal(pl_store_dialog_put(s, a), PL_OK);
    assert_int_equal(pl_store_dialog_put(s, &zero), PL_OK);
    assert_int_equal(pl_store_drain(s, 10000), PL_OK);
    assert_int_equal(atomic_load(&saved_puts), 2);

    /* What is in the table: the id's bits as a signed integer, an absolute expiry. */
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM dialogs WHERE id = %lld", (long long)BIG_ID);
    assert_int_equal(raw(b, sql), 1);
    long long exp = raw(b, "SELECT expires_at FROM dialogs WHERE id < 0");
    int64_t now = unix_ms();
    assert_true(exp > now + 3600000 - 60000 && exp <= now + 3600000);
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs WHERE caller_src IS NULL"), 1);
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs WHERE callee_src IS NULL"), 2);

    loaded l = {0};
    assert_int_equal(pl_store_dialog_load(s, on_dialog, &l), 2);
    uint64_t elapsed = (uint64_t)(now_ms() - t0) + 1;
    assert_non_null(find(&l, BIG_ID));
    assert_same_rec(find(&l, BIG_ID), a, elapsed);
    assert_non_null(find(&l, 0));
    assert_same_rec(find(&l, 0), &zero, 0);
    loaded_free(&l);

    /* An update: the same row, the new values. */
    const pl_dlg_record *a2 = make_rec(&r3, BIG_ID, 2);
    assert_int_equal(pl_store_dialog_put(s, a2), PL_OK);
    assert_int_equal(pl_store_drain(s, 10000), PL_OK);
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs"), 2);
    t0 = now_ms();
    assert_int_equal(pl_store_dialog_load(s, on_dialog, &l), 2);
    assert_same_rec(find(&l, BIG_ID), a2, (uint64_t)(now_ms() - t0) + 1000);
    loaded_free(&l);

    /* The time down counts: a row whose expiry has passed loads with nothing left. */
    raw(b, "UPDATE dialogs SET expires_at = expires_at - 3600000 - 1000");
    assert_int_equal(pl_store_dialog_load(s, on_dialog, &l), 2);
    assert_int_equal(find(&l, BIG_ID)->lifetime_left_ms, 0);
    loaded_free(&l);
    /* A malformed row (a state out of range) is skipped and logged, not loaded. */
    raw(b, "UPDATE dialogs SET state = 9 WHERE id = 0");
    assert_int_equal(pl_store_dialog_load(s, on_dialog, &l), 1);
    assert_non_null(strstr(last_log, "malformed"));
    loaded_free(&l);
    pl_store_stats st = stats(s);
    assert_int_equal(st.written, 3);
    assert_int_equal(st.errors, 0);
    assert_int_equal(st.queued, 0);
    assert_true(st.connected);
    close_store(s);
}

static void test_delete_and_saved(void **state)
{
    backend *b = *state;
    pl_store *s = open_mode(fresh(b), PL_STORE_REALTIME, 0);
    recbuf r;
    for (uint64_t id = 1; id <= 3; id++)
        assert_int_equal(pl_store_dialog_put(s, make_rec(&r, id, 1)), PL_OK);
    assert_int_equal(pl_store_drain(s, 10000), PL_OK);
    assert_int_equal(pl_store_dialog_del(s, 2), PL_OK);
    assert_int_equal(pl_store_dialog_del(s, 99), PL_OK); /* no such row: harmless */
    assert_int_equal(pl_store_drain(s, 10000), PL_OK);
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs"), 2);
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs WHERE id = 2"), 0);
    /* SAVED once per applied write: three puts, two deletes. */
    assert_int_equal(atomic_load(&saved_puts), 3);
    assert_int_equal(atomic_load(&saved_dels), 2);
    loaded l = {0};
    assert_int_equal(pl_store_dialog_load(s, on_dialog_count, &l), 2);
    assert_true(l.id_sum == 4);

    /* Truncate: every row gone now. */
    assert_int_equal(pl_store_dialog_truncate(s), PL_OK);
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs"), 0);
    close_store(s);
}

/* ---- coalescing: the writer held by a lock on the database */

static void test_coalesce(void **state)
{
    backend *b = *state;
    pl_store *s = open_mode(fresh(b), PL_STORE_REALTIME, 0);
    recbuf r;
    /* Someone else holds the table: the store's first write waits for it. */
    if (b->pg) {
        T.lock_pg = PQconnectdb(b->url);
        PQclear(PQexec(T.lock_pg, "BEGIN"));
        PQclear(PQexec(T.lock_pg, "LOCK TABLE dialogs IN ACCESS EXCLUSIVE MODE"));
    } else {
        assert_int_equal(sqlite3_open(b->path, &T.lock_sqlite), SQLITE_OK);
        assert_int_equal(sqlite3_exec(T.lock_sqlite, "BEGIN EXCLUSIVE", NULL, NULL, NULL),
                         SQLITE_OK);
    }
    assert_int_equal(pl_store_dialog_put(s, make_rec(&r, 7, 1)), PL_OK);
    for (int v = 2; v <= 10; v++) {
        assert_int_equal(pl_store_dialog_put(s, make_rec(&r, 7, v)), PL_OK);
        assert_int_equal(pl_store_dialog_put(s, make_rec(&r, 8, v)), PL_OK);
    }
    pl_store_stats st = stats(s);
    /* Nothing can be written: each of the 19 puts was replaced, or waits (one per dialog,
     * plus what the thread took before the others came, now waiting on the lock). */
    assert_int_equal(st.written, 0);
    assert_int_equal(st.coalesced + st.queued, 19);
    assert_true(st.queued >= 2 && st.queued <= 4);
    /* A dialog put and deleted before its row exists: neither reaches the database. */
    assert_int_equal(pl_store_dialog_put(s, make_rec(&r, 9, 1)), PL_OK);
    assert_int_equal(pl_store_dialog_del(s, 9), PL_OK);
    assert_int_equal(stats(s).queued, st.queued);
    unlock_all();
    assert_int_equal(pl_store_drain(s, 20000), PL_OK);
    uint64_t want = st.queued;
    st = stats(s);
    assert_int_equal(st.written, want);
    assert_int_equal(atomic_load(&saved_puts), want);
    assert_int_equal(atomic_load(&saved_dels), 0);
    loaded l = {0};
    assert_int_equal(pl_store_dialog_load(s, on_dialog, &l), 2);
    assert_int_equal(find(&l, 7)->leg[0].inv_cseq, 10); /* the last write won */
    assert_int_equal(find(&l, 8)->leg[0].inv_cseq, 10);
    assert_null(find(&l, 9));
    loaded_free(&l);
    close_store(s);
}

/* A write the database refuses (a constraint of its own) is dropped alone, logged, counted;
 * the rest of its batch is written. */
static void test_refused(void **state)
{
    backend *b = *state;
    pl_store *s = open_mode(fresh(b), PL_STORE_DELAYED, 60000);
    if (b->pg)
        raw(b, "ALTER TABLE dialogs ADD CONSTRAINT no13 CHECK (id <> 13)");
    else
        raw(b, "CREATE TRIGGER no13 BEFORE INSERT ON dialogs WHEN NEW.id = 13 "
               "BEGIN SELECT RAISE(ABORT, 'no 13'); END");
    recbuf r;
    for (uint64_t id = 11; id <= 15; id++)
        assert_int_equal(pl_store_dialog_put(s, make_rec(&r, id, 1)), PL_OK);
    last_log[0] = '\0';
    assert_int_equal(pl_store_drain(s, 10000), PL_OK); /* one batch: the flush */
    pl_store_stats st = stats(s);
    assert_int_equal(st.written, 4);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.queued, 0);
    assert_int_equal(atomic_load(&saved_puts), 4);
    assert_non_null(strstr(last_log, "000000000000000d"));
    assert_non_null(strstr(last_log, "dropped"));
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs"), 4);
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs WHERE id = 13"), 0);
    /* The store goes on. */
    assert_int_equal(pl_store_dialog_put(s, make_rec(&r, 16, 1)), PL_OK);
    assert_int_equal(pl_store_drain(s, 10000), PL_OK);
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs"), 5);
    close_store(s);
}

/* ---- modes */

static void test_mode_none(void **state)
{
    backend *b = *state;
    pl_store *s = open_mode(fresh(b), PL_STORE_NONE, 0);
    recbuf r;
    assert_int_equal(pl_store_dialog_put(s, make_rec(&r, 1, 1)), PL_OK);
    assert_int_equal(pl_store_dialog_del(s, 1), PL_OK);
    /* Registrations are written in every mode. */
    pl_binding bd = {.contact = pl_str_c("sip:a@10.0.0.1"), .call_id = pl_str_c("c"), .q = 1000};
    assert_int_equal(pl_store_binding_put(s, "sip:a@example.com", &bd, (uint64_t)unix_ms() + 60000),
                     PL_OK);
    assert_int_equal(pl_store_drain(s, 10000), PL_OK);
    assert_int_equal(stats(s).written, 1);
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs"), 0);
    assert_int_equal(raw(b, "SELECT count(*) FROM bindings"), 1);
    loaded l = {0};
    assert_int_equal(pl_store_dialog_load(s, on_dialog_count, &l), 0);
    assert_int_equal(atomic_load(&saved_puts), 0);
    close_store(s);
}

static void test_mode_delayed(void **state)
{
    backend *b = *state;
    pl_store *s = open_mode(fresh(b), PL_STORE_DELAYED, 60000);
    recbuf r;
    assert_int_equal(pl_store_dialog_put(s, make_rec(&r, 1, 1)), PL_OK);
    assert_int_equal(pl_store_dialog_put(s, make_rec(&r, 2, 1)), PL_OK);
    assert_int_equal(pl_store_dialog_put(s, make_rec(&r, 1, 2)), PL_OK);
    assert_int_equal(pl_store_dialog_del(s, 2), PL_OK); /* started and ended between flushes */
    pl_binding bd = {.contact = pl_str_c("sip:a@10.0.0.1"), .call_id = pl_str_c("c"), .q = 1000};
    assert_int_equal(pl_store_binding_put(s, "sip:a@example.com", &bd, (uint64_t)unix_ms() + 60000),
                     PL_OK);
    /* The binding goes at once; the dialogs wait for the flush. */
    assert_true(POLL(stats(s).written == 1));
    assert_int_equal(raw(b, "SELECT count(*) FROM bindings"), 1);
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs"), 0);
    pl_store_stats st = stats(s);
    assert_int_equal(st.queued, 1);
    assert_int_equal(st.coalesced, 2);
    /* A drain is a flush: dialog 1 (its last version) is written; 2 never was. */
    assert_int_equal(pl_store_drain(s, 10000), PL_OK);
    assert_int_equal(stats(s).written, 2);
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs"), 1);
    assert_int_equal(raw(b, "SELECT caller_inv_cseq FROM dialogs WHERE id = 1"), 2);
    assert_int_equal(atomic_load(&saved_puts), 1);
    assert_int_equal(atomic_load(&saved_dels), 0);
    /* Now that 1 has a row, its delete is written at the next flush. */
    assert_int_equal(pl_store_dialog_del(s, 1), PL_OK);
    assert_int_equal(stats(s).queued, 1);
    close_store(s);
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs"), 0);

    /* The periodic flush, every 50 ms. */
    s = open_mode(b->url, PL_STORE_DELAYED, 50);
    assert_int_equal(pl_store_dialog_put(s, make_rec(&r, 3, 1)), PL_OK);
    assert_true(POLL(raw(b, "SELECT count(*) FROM dialogs") == 1));
    assert_true(POLL(atomic_load(&saved_puts) == 1));
    close_store(s);
}

static void test_mode_shutdown(void **state)
{
    backend *b = *state;
    const char *url = fresh(b);
    pl_store *s = open_mode(url, PL_STORE_SHUTDOWN, 0);
    recbuf r;
    assert_int_equal(pl_store_dialog_put(s, make_rec(&r, 1, 1)), PL_OK);
    assert_int_equal(pl_store_dialog_put(s, make_rec(&r, 2, 1)), PL_OK);
    assert_int_equal(pl_store_dialog_del(s, 2), PL_OK);
    assert_int_equal(pl_store_dialog_del(s, 5), PL_OK); /* nothing kept: dropped */
    assert_int_equal(pl_store_dialog_put(s, make_rec(&r, 1, 3)), PL_OK);
    pl_binding bd = {.contact = pl_str_c("sip:a@10.0.0.1"), .call_id = pl_str_c("c"), .q = 1000};
    assert_int_equal(pl_store_binding_put(s, "sip:a@example.com", &bd, (uint64_t)unix_ms() + 60000),
                     PL_OK);
    /* A drain writes the binding only: nothing of the dialogs at run time. */
    assert_int_equal(pl_store_drain(s, 10000), PL_OK);
    assert_int_equal(stats(s).written, 1);
    assert_int_equal(stats(s).queued, 1);
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs"), 0);
    /* Closing writes the dialogs kept. */
    close_store(s);
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs"), 1);
    assert_int_equal(raw(b, "SELECT caller_inv_cseq FROM dialogs WHERE id = 1"), 3);

    /* Opened again: the load reads the dialogs, then empties the table. */
    s = open_mode(url, PL_STORE_SHUTDOWN, 0);
    loaded l = {0};
    assert_int_equal(pl_store_dialog_load(s, on_dialog, &l), 1);
    assert_int_equal(l.r[0].leg[0].inv_cseq, 3);
    loaded_free(&l);
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs"), 0);
    /* It ends while up: nothing to delete, nothing written at the close. */
    assert_int_equal(pl_store_dialog_del(s, 1), PL_OK);
    close_store(s);
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs"), 0);
    s = open_mode(url, PL_STORE_REALTIME, 0);
    assert_int_equal(pl_store_dialog_load(s, on_dialog_count, &l), 0);
    close_store(s);
}

/* ---- registrations */

typedef struct bseen {
    int n;
    char aor[8][64], contact[8][96], path[8][96], call_id[8][64], ua[8][64];
    pl_binding b[8];
    uint64_t exp[8];
} bseen;

static void on_binding(const char *aor, const pl_binding *b, uint64_t exp, void *arg)
{
    bseen *s = arg;
    assert_true(s->n < 8);
    int i = s->n++;
    snprintf(s->aor[i], 64, "%s", aor);
    snprintf(s->contact[i], 96, "%.*s", (int)b->contact.len, b->contact.p);
    snprintf(s->path[i], 96, "%.*s", (int)b->path.len, b->path.p);
    snprintf(s->call_id[i], 64, "%.*s", (int)b->call_id.len, b->call_id.p);
    snprintf(s->ua[i], 64, "%.*s", (int)b->user_agent.len, b->user_agent.p);
    s->b[i] = *b;
    s->exp[i] = exp;
}

static int seen_find(const bseen *s, const char *aor, const char *contact)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->aor[i], aor) && !strcmp(s->contact[i], contact))
            return i;
    return -1;
}

static void test_bindings(void **state)
{
    backend *b = *state;
    pl_store *s = open_mode(fresh(b), PL_STORE_REALTIME, 0);
    uint64_t exp = (uint64_t)unix_ms() + 600000;
    pl_binding b1 = {
        .contact = pl_str_c("sip:bob@10.0.0.3:5070;transport=tcp"),
        .path = pl_str_c("<sip:edge.example.com;lr>, <sip:e2;lr>"),
        .call_id = pl_str_c("reg'1\"@x"),
        .cseq = 4294967295u,
        .q = 500,
        .user_agent = pl_str_c("phone \"caf\xc3\xa9\" 1.0"),
    };
    assert_int_equal(pl_target_parse(&b1.source, "tcp:[2001:db8::3]:40000"), PL_OK);
    pl_binding b2 = {.contact = pl_str_c("sip:bob@10.0.0.4"), .call_id = pl_str_c("c2"), .q = 1000};
    pl_binding b3 = {.contact = pl_str_c("sip:carol@10.0.0.5"), .call_id = pl_str_c("c3"), .q = 0};
    pl_binding b4 = {.contact = pl_str_c("sip:dave@10.0.0.6"), .call_id = pl_str_c("c4"), .q = 1};
    assert_int_equal(pl_store_binding_put(s, "sip:bob@example.com", &b1, exp), PL_OK);
    assert_int_equal(pl_store_binding_put(s, "sip:bob@example.com", &b2, exp + 1), PL_OK);
    assert_int_equal(pl_store_binding_put(s, "sip:carol@example.com", &b3, exp), PL_OK);
    assert_int_equal(pl_store_binding_put(s, "sip:carol@example.com", &b4, exp), PL_OK);
    /* Expired already: purged at the load. */
    assert_int_equal(pl_store_binding_put(s, "sip:old@example.com", &b2, (uint64_t)unix_ms() - 1),
                     PL_OK);
    /* A refresh of b2: one row, the new values. */
    b2.cseq = 9;
    assert_int_equal(pl_store_binding_put(s, "sip:bob@example.com", &b2, exp + 2), PL_OK);
    assert_int_equal(pl_store_drain(s, 10000), PL_OK);
    assert_int_equal(raw(b, "SELECT count(*) FROM bindings"), 5);
    /* Removal of one, then of a whole AOR. */
    assert_int_equal(pl_store_binding_del(s, "sip:carol@example.com", b4.contact), PL_OK);
    assert_int_equal(pl_store_drain(s, 10000), PL_OK);
    assert_int_equal(raw(b, "SELECT count(*) FROM bindings"), 4);
    bseen seen = {0};
    assert_int_equal(pl_store_binding_load(s, on_binding, &seen), 3);
    assert_int_equal(raw(b, "SELECT count(*) FROM bindings"), 3);
    int i = seen_find(&seen, "sip:bob@example.com", "sip:bob@10.0.0.3:5070;transport=tcp");
    assert_true(i >= 0);
    assert_string_equal(seen.path[i], "<sip:edge.example.com;lr>, <sip:e2;lr>");
    assert_string_equal(seen.call_id[i], "reg'1\"@x");
    assert_string_equal(seen.ua[i], "phone \"caf\xc3\xa9\" 1.0");
    assert_int_equal(seen.b[i].cseq, 4294967295u);
    assert_int_equal(seen.b[i].q, 500);
    assert_true(seen.exp[i] == exp);
    assert_true(pl_target_eq(&seen.b[i].source, &b1.source));
    i = seen_find(&seen, "sip:bob@example.com", "sip:bob@10.0.0.4");
    assert_true(i >= 0);
    assert_int_equal(seen.b[i].cseq, 9);
    assert_true(seen.exp[i] == exp + 2);
    assert_int_equal(seen.b[i].source.len, 0);
    assert_int_equal(seen.path[i][0], '\0');
    i = seen_find(&seen, "sip:carol@example.com", "sip:carol@10.0.0.5");
    assert_true(i >= 0);
    assert_int_equal(seen.b[i].q, 0);
    assert_int_equal(pl_store_binding_del(s, "sip:bob@example.com", PL_STR_NULL), PL_OK);
    assert_int_equal(pl_store_drain(s, 10000), PL_OK);
    assert_int_equal(raw(b, "SELECT count(*) FROM bindings"), 1);
    assert_int_equal(atomic_load(&saved_puts), 0); /* SAVED is for dialogs */
    close_store(s);
}

/* The registrar's table written through the store, and back after a "restart". */
static void hook(const char *aor, const pl_binding *b, bool removed, void *user)
{
    pl_store *s = user;
    /* This test's location clock is Unix time already. */
    if (removed)
        assert_int_equal(pl_store_binding_del(s, aor, b->contact), PL_OK);
    else
        assert_int_equal(pl_store_binding_put(s, aor, b, b->expires_ms), PL_OK);
}

static uint16_t do_register(pl_location *loc, const char *contact, const char *extra, uint32_t cseq)
{
    char t[1024];
    snprintf(t, sizeof(t),
             "REGISTER sip:example.com SIP/2.0\n"
             "Via: SIP/2.0/UDP 10.0.0.3:5060;branch=z9hG4bKs%u\n"
             "From: <sip:bob@example.com>;tag=1\n"
             "To: <sip:bob@example.com>\n"
             "Call-ID: loc-1\n"
             "CSeq: %u REGISTER\n"
             "Contact: %s\n"
             "%s"
             "Content-Length: 0\n\n",
             cseq, cseq, contact, extra);
    pl_msg m;
    pl_error err;
    assert_int_equal(tu_parse(t, &m, &err), PL_OK);
    pl_target src;
    pl_target_parse(&src, "udp:10.0.0.3:5060");
    return pl_location_save(loc, &m, &src, (uint64_t)unix_ms(), NULL);
}

static void restore_one(const char *aor, const pl_binding *b, uint64_t exp, void *arg)
{
    pl_binding c = *b;
    c.expires_ms = exp;
    assert_int_equal(pl_location_restore(arg, aor, &c), PL_OK);
}

static void test_location_write_through(void **state)
{
    backend *b = *state;
    const char *url = fresh(b);
    pl_store *s = open_mode(url, PL_STORE_REALTIME, 0);
    pl_location *loc = pl_location_new(&(pl_location_config){.on_change = hook, .hook_user = s});
    assert_int_equal(do_register(loc, "<sip:bob@10.0.0.3>;q=0.7, <sip:bob@10.0.0.4>",
                                 "Expires: 600\nPath: <sip:edge;lr>\n", 1),
                     200);
    assert_int_equal(do_register(loc, "<sip:bob@10.0.0.4>;expires=0", "", 2), 200);
    assert_int_equal(do_register(loc, "<sip:bob@10.0.0.5>", "Expires: 300\n", 3), 200);
    assert_int_equal(pl_store_drain(s, 10000), PL_OK);
    pl_binding before[4];
    assert_int_equal(
        pl_location_lookup(loc, "sip:bob@example.com", (uint64_t)unix_ms(), tu_arena(), before, 4),
        2);
    pl_location_free(loc);
    close_store(s);

    /* The restart: a new table filled from the store, the same bindings. */
    s = open_mode(url, PL_STORE_REALTIME, 0);
    loc = pl_location_new(&(pl_location_config){.on_change = hook, .hook_user = s});
    assert_int_equal(pl_store_binding_load(s, restore_one, loc), 2);
    pl_binding after[4];
    assert_int_equal(
        pl_location_lookup(loc, "sip:bob@example.com", (uint64_t)unix_ms(), tu_arena(), after, 4),
        2);
    for (int i = 0; i < 2; i++) {
        assert_true(pl_str_eq(before[i].contact, after[i].contact));
        assert_true(pl_str_eq(before[i].path, after[i].path));
        assert_true(pl_str_eq(before[i].call_id, after[i].call_id));
        assert_int_equal(before[i].cseq, after[i].cseq);
        assert_int_equal(before[i].q, after[i].q);
        assert_true(before[i].expires_ms == after[i].expires_ms);
        assert_true(pl_target_eq(&before[i].source, &after[i].source));
    }
    /* The restored table goes on writing through: an unregister removes the row. */
    assert_int_equal(do_register(loc, "*", "Expires: 0\n", 4), 200);
    assert_int_equal(pl_store_drain(s, 10000), PL_OK);
    assert_int_equal(raw(b, "SELECT count(*) FROM bindings"), 0);
    pl_location_free(loc);
    close_store(s);
    tu_free_all();
}

/* ---- many rows: times for the docs */

static void bulk(backend *b, int n)
{
    pl_store *s = open_mode(fresh(b), PL_STORE_REALTIME, 0);
    recbuf r;
    double t0 = now_ms();
    uint64_t sum = 0;
    for (int i = 1; i <= n; i++) {
        uint64_t id = ((uint64_t)i << 32) | (uint64_t)i;
        sum += id;
        assert_int_equal(pl_store_dialog_put(s, make_rec(&r, id, 1)), PL_OK);
    }
    double t1 = now_ms();
    assert_int_equal(pl_store_drain(s, 300000), PL_OK);
    double t2 = now_ms();
    assert_int_equal(stats(s).written, (uint64_t)n);
    assert_int_equal(atomic_load(&saved_puts), n);
    close_store(s);
    s = open_mode(b->url, PL_STORE_REALTIME, 0);
    loaded l = {0};
    double t3 = now_ms();
    assert_int_equal(pl_store_dialog_load(s, on_dialog_count, &l), n);
    double t4 = now_ms();
    assert_int_equal(l.n, n);
    assert_true(l.id_sum == sum);
    printf("store %s: %d dialogs: put %.0f ms (%.1f us each), written in %.0f ms (%.0f rows/s), "
           "loaded in %.0f ms (%.0f rows/s)\n",
           b->name, n, t1 - t0, (t1 - t0) * 1000.0 / n, t2 - t0, n / ((t2 - t0) / 1000.0), t4 - t3,
           n / ((t4 - t3) / 1000.0));
    assert_int_equal(pl_store_dialog_truncate(s), PL_OK);
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs"), 0);
    close_store(s);
}

static void test_bulk_1000(void **state)
{
    bulk(*state, 1000);
}

static void test_bulk_100000(void **state)
{
    bulk(*state, 100000);
}

/* ---- PostgreSQL stopped and started under writes */

static void test_outage(void **state)
{
    backend *b = *state;
    const char *stop = getenv("PARLEY_PG_STOP"), *start = getenv("PARLEY_PG_START");
    if (!b->pg || !stop || !start)
        skip();
    pl_store *s = open_mode(fresh(b), PL_STORE_REALTIME, 0);
    recbuf r;
    enum { N = 2000 };
    for (uint64_t id = 1; id <= N; id++)
        assert_int_equal(pl_store_dialog_put(s, make_rec(&r, id, 1)), PL_OK);
    pl_binding bd = {.contact = pl_str_c("sip:a@10.0.0.1"), .call_id = pl_str_c("c"), .q = 1000};
    assert_int_equal(
        pl_store_binding_put(s, "sip:a@example.com", &bd, (uint64_t)unix_ms() + 600000), PL_OK);
    /* Stopped while the first writes may still be on their way. */
    assert_int_equal(system(stop), 0);
    double t0 = now_ms();
    int puts = 0;
    for (int v = 2; v <= 4; v++)
        for (uint64_t id = 1; id <= N; id++, puts++)
            assert_int_equal(pl_store_dialog_put(s, make_rec(&r, id, v)), PL_OK);
    for (uint64_t id = 1; id <= N; id += 10, puts++)
        assert_int_equal(pl_store_dialog_del(s, id), PL_OK);
    bd.cseq = 5;
    assert_int_equal(
        pl_store_binding_put(s, "sip:a@example.com", &bd, (uint64_t)unix_ms() + 600000), PL_OK);
    double t1 = now_ms();
    printf("store %s: %d puts with the server down returned in %.1f ms (%.2f us each)\n", b->name,
           puts, t1 - t0, (t1 - t0) * 1000.0 / puts);
    assert_true(POLL(stats(s).errors > 0 && !stats(s).connected));
    pl_store_stats st = stats(s);
    assert_true(st.queued <= N + 1 + 256); /* one per key, plus the batch held */
    assert_true(st.coalesced > 0);
    assert_int_equal(system(start), 0);
    assert_int_equal(pl_store_drain(s, 60000), PL_OK);
    st = stats(s);
    assert_true(st.connected);
    printf("store %s: outage: %llu failed attempts, %llu writes coalesced, back in %.0f ms\n",
           b->name, (unsigned long long)st.errors, (unsigned long long)st.coalesced, now_ms() - t1);
    loaded l = {0};
    assert_int_equal(pl_store_dialog_load(s, on_dialog, &l), N - N / 10);
    for (uint64_t id = 1; id <= N; id++) {
        const pl_dlg_record *got = find(&l, id);
        if (id % 10 == 1) {
            assert_null(got);
        } else {
            assert_non_null(got);
            assert_int_equal(got->leg[0].inv_cseq, 4); /* the last version of each */
        }
    }
    loaded_free(&l);
    assert_int_equal(raw(b, "SELECT cseq FROM bindings"), 5);
    close_store(s);
}

/* Closing while the server is down: a bounded wait, then what is left is logged as lost. */
static void test_close_while_down(void **state)
{
    backend *b = *state;
    const char *stop = getenv("PARLEY_PG_STOP"), *start = getenv("PARLEY_PG_START");
    if (!b->pg || !stop || !start)
        skip();
    pl_store *s = open_mode(fresh(b), PL_STORE_REALTIME, 0);
    recbuf r;
    assert_int_equal(system(stop), 0);
    for (uint64_t id = 1; id <= 10; id++)
        assert_int_equal(pl_store_dialog_put(s, make_rec(&r, id, 1)), PL_OK);
    assert_true(POLL(stats(s).errors > 0));
    assert_int_equal(pl_store_drain(s, 200), PL_ELIMIT);
    last_log[0] = '\0';
    T.open[0] = T.open[1] = NULL;
    pl_store_close(s, 500); /* half a second, then it gives up */
    int started = system(start);
    assert_non_null(strstr(last_log, "lost"));
    assert_int_equal(started, 0);
    assert_int_equal(raw(b, "SELECT count(*) FROM dialogs"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_schema, teardown),
        cmocka_unit_test_teardown(test_round_trip, teardown),
        cmocka_unit_test_teardown(test_delete_and_saved, teardown),
        cmocka_unit_test_teardown(test_coalesce, teardown),
        cmocka_unit_test_teardown(test_refused, teardown),
        cmocka_unit_test_teardown(test_mode_none, teardown),
        cmocka_unit_test_teardown(test_mode_delayed, teardown),
        cmocka_unit_test_teardown(test_mode_shutdown, teardown),
        cmocka_unit_test_teardown(test_bindings, teardown),
        cmocka_unit_test_teardown(test_location_write_through, teardown),
        cmocka_unit_test_teardown(test_bulk_1000, teardown),
        cmocka_unit_test_teardown(test_bulk_100000, teardown),
        cmocka_unit_test_teardown(test_outage, teardown),
        cmocka_unit_test_teardown(test_close_while_down, teardown),
    };
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = 0;
    const char *skip_sqlite = getenv("PARLEY_STORE_SKIP_SQLITE");
    if (!skip_sqlite || strcmp(skip_sqlite, "1") != 0)
        rc |= cmocka_run_group_tests_name("store_sqlite", tests, setup_sqlite, teardown_sqlite);
    const char *pg = getenv("PARLEY_PG_URL");
    if (pg && *pg)
        rc |= cmocka_run_group_tests_name("store_postgresql", tests, setup_pg, NULL);
    else
        printf("store: PostgreSQL cases skipped (PARLEY_PG_URL is not set; "
               "tests/integration/store_pg.sh sets it)\n");
    return rc;
}
