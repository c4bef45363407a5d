/*
 * control.c - parleyd's management methods (docs/mgmt.md) and metrics, on
 * the JSON-RPC server of src/mgmt.
 *
 * Methods run on the server's thread. What lives in a worker (its dialog
 * table, its proxy's counters, its script) is read or changed by a call
 * on that worker (pd_worker_call), so the worker's data stays
 * single-threaded; profiles, the location table and the store are
 * thread-safe and used directly. A dialog is found on the worker its id
 * (or Call-ID) hashes to.
 */
#include "control.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include <parley/mgmt.h>
#include <parley/script.h>

#include "log.h"

#define CALL_MS 5000 /* how long a method waits for a busy worker */

typedef struct bound_method {
    pl_mgmt_method_fn fn;
    struct pd_control *c;
} bound_method;

#define N_METHODS 19

struct pd_control {
    bound_method bound[N_METHODS];
    pd_shared *sh;
    const pd_config *cfg;
    pd_persist *persist;
    pl_mgmt *mgmt;
    time_t started;
    uint64_t started_mono;
};

static const pl_str NO_CALL = {NULL, 0};

static uint64_t mono_ms(void)
{
    return uv_hrtime() / 1000000u;
}

/* ---- parameters */

static const char *param_str(json_t *params, const char *key)
{
    json_t *v = json_is_object(params) ? json_object_get(params, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool param_has(json_t *params, const char *key)
{
    return json_is_object(params) && json_object_get(params, key) != NULL;
}

/* An optional string member: false when it is there with another type (a
 * wrong type must never widen a destructive call to "all"). */
static bool param_opt_str(json_t *params, const char *key, const char **out)
{
    json_t *v = json_is_object(params) ? json_object_get(params, key) : NULL;
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v))
        return false;
    *out = json_string_value(v);
    return true;
}

/* Every optional string member in keys must be a string when present. */
static bool params_strings(json_t *params, const char *const *keys)
{
    const char *ignored;
    for (; *keys; keys++)
        if (!param_opt_str(params, *keys, &ignored))
            return false;
    return true;
}

/* (value is checked where it is used: dlg.push_value takes an integer too.) */
static const char *const STRING_PARAMS[] = {"contact", "callid", "reason", "headers", "profile",
                                            "name",    "aor",    "id",     NULL};

#define FAIL(c, m)                                                                                 \
    do {                                                                                           \
        *code = (c);                                                                               \
        *message = (m);                                                                            \
        return NULL;                                                                               \
    } while (0)

static bool parse_id(json_t *params, uint64_t *id)
{
    const char *s = param_str(params, "id");
    return s && pl_dlg_id_parse(pl_str_c(s), id) == PL_OK && strlen(s) == 16;
}

static unsigned owner_of_id(const pd_control *c, uint64_t id)
{
    return (unsigned)((id >> 32) % c->sh->n);
}

/* ---- a dialog as JSON */

static json_t *jstr(pl_str s)
{
    return s.p ? json_stringn(s.p, s.len) : json_string("");
}

static void add_value(pl_str name, const pl_dlg_value *v, void *arg)
{
    json_t *o = arg;
    char key[256];
    snprintf(key, sizeof(key), "%.*s", (int)name.len, name.p);
    json_object_set_new(o, key,
                        v->type == PL_DLG_V_INT ? json_integer((json_int_t)v->i) : jstr(v->s));
}

static void add_membership(pl_dlg_profile *p, pl_str value, void *arg)
{
    json_t *a = arg;
    json_t *m = json_object();
    json_object_set_new(m, "name", jstr(pl_dlg_profile_name(p)));
    if (pl_dlg_profile_has_value(p))
        json_object_set_new(m, "value", jstr(value));
    json_array_append_new(a, m);
}

static void add_ctx(pl_str name, pl_str value, void *arg)
{
    json_t *o = arg;
    char key[256];
    snprintf(key, sizeof(key), "%.*s", (int)name.len, name.p);
    json_object_set_new(o, key, jstr(value));
}

static json_t *dialog_json(pl_dlg *d, unsigned worker, bool ctx)
{
    char hex[17];
    pl_dlg_id_print(pl_dlg_id(d), hex);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(hex));
    json_object_set_new(o, "state", json_integer(pl_dlg_state_of(d)));
    json_object_set_new(o, "state_name", json_string(pl_dlg_state_name(pl_dlg_state_of(d))));
    json_object_set_new(o, "callid", jstr(pl_dlg_call_id(d)));
    json_object_set_new(o, "from_uri", jstr(pl_dlg_from_uri(d)));
    json_object_set_new(o, "to_uri", jstr(pl_dlg_to_uri(d)));
    json_object_set_new(o, "caller_tag", jstr(pl_dlg_caller_tag(d)));
    pl_str ct = pl_dlg_callee_tag(d);
    json_object_set_new(o, "callee_tag", ct.len ? jstr(ct) : json_null());
    pl_dlg_record rec;
    char buf[8192];
    bool have = pl_dlg_export(d, &rec, buf, sizeof(buf)) == PL_OK;
    json_object_set_new(o, "caller_contact",
                        have && rec.leg[0].contact.len ? jstr(rec.leg[0].contact) : json_null());
    json_object_set_new(o, "callee_contact",
                        have && rec.leg[1].contact.len ? jstr(rec.leg[1].contact) : json_null());
    json_object_set_new(o, "caller_cseq", json_integer(have ? rec.leg[0].cseq_from : 0));
    json_object_set_new(o, "callee_cseq", json_integer(have ? rec.leg[1].cseq_from : 0));
    json_t *flags = json_array();
    uint32_t f = pl_dlg_flags(d);
    if (f & PL_DLG_F_BYE_ON_TIMEOUT)
        json_array_append_new(flags, json_string("bye-on-timeout"));
    if (f & PL_DLG_F_PING_CALLER)
        json_array_append_new(flags, json_string("ping-caller"));
    if (f & PL_DLG_F_PING_CALLEE)
        json_array_append_new(flags, json_string("ping-callee"));
    json_object_set_new(o, "flags", flags);
    uint64_t now = mono_ms();
    uint64_t created = pl_dlg_created_ms(d);
    json_object_set_new(o, "age_s",
                        json_integer(now > created ? (json_int_t)((now - created) / 1000) : 0));
    pl_dlg_state st = pl_dlg_state_of(d);
    json_object_set_new(o, "lifetime_left_s",
                        st == PL_DLG_CONFIRMED || st == PL_DLG_CONFIRMED_NA
                            ? json_integer(pl_dlg_lifetime_left(d))
                            : json_null());
    pl_str why = pl_dlg_end_reason(d);
    json_object_set_new(o, "end_reason", why.len ? jstr(why) : json_null());
    json_object_set_new(o, "worker", json_integer(worker));
    if (ctx) {
        json_t *vals = json_object();
        pl_dlg_value_each(d, add_value, vals);
        json_object_set_new(o, "values", vals);
        json_t *profs = json_array();
        pl_dlg_profile_memberships(d, add_membership, profs);
        json_object_set_new(o, "profiles", profs);
        json_t *cx = json_object();
        pl_dlg_mgmt_context(d, add_ctx, cx);
        json_object_set_new(o, "context", cx);
    }
    return o;
}

/* ---- dlg.list, dlg.list_ctx */

typedef struct list_arg {
    pd_control *c;
    json_t *params;
    bool ctx;
    int state;
    const char *callid;
    pl_dlg_profile *prof;
    const char *value;
    size_t limit;
    json_t *out; /* this worker's array */
    size_t matched;
    unsigned worker;
} list_arg;

static void list_one(pl_dlg *d, void *arg)
{
    list_arg *la = arg;
    if (la->state && (int)pl_dlg_state_of(d) != la->state)
        return;
    if (la->callid && !pl_str_eq(pl_dlg_call_id(d), pl_str_c(la->callid)))
        return;
    if (la->prof &&
        !pl_dlg_profile_is_in(d, la->prof, la->value ? pl_str_c(la->value) : (pl_str){NULL, 0}))
        return;
    la->matched++;
    /* (Read before: the context callbacks dialog_json runs may end d.) */
    json_int_t created = (json_int_t)pl_dlg_created_ms(d);
    json_t *o = dialog_json(d, la->worker, la->ctx);
    json_object_set_new(o, "created_ms_", json_integer(created));
    json_array_append_new(la->out, o);
}

static int by_creation(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "created_ms_"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "created_ms_"));
    return x < y ? -1 : x > y;
}

static void list_on_worker(pd_worker *w, void *arg)
{
    list_arg *la = arg;
    pl_dlg_table *t = pd_worker_dialogs(w);
    if (t)
        pl_dlg_table_walk(t, list_one, la);
}

static json_t *do_list(pd_control *c, json_t *params, bool ctx, int *code, const char **message)
{
    list_arg base = {c, params, ctx, 0, NULL, NULL, NULL, (size_t)-1, NULL, 0, 0};
    json_t *v;
    if ((v = json_is_object(params) ? json_object_get(params, "state") : NULL)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 5)
            FAIL(PL_MGMT_E_PARAMS, "state is 1 to 5");
        base.state = (int)json_integer_value(v);
    }
    if ((v = json_is_object(params) ? json_object_get(params, "limit") : NULL)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            FAIL(PL_MGMT_E_PARAMS, "limit is a positive integer");
        base.limit = (size_t)json_integer_value(v);
    }
    base.callid = param_str(params, "callid");
    const char *pname = param_str(params, "profile");
    if (pname) {
        base.prof = pl_dlg_profile_find(c->sh->dialogs, pl_str_c(pname));
        if (!base.prof)
            FAIL(PL_MGMT_E_NOT_FOUND, "no such profile");
    }
    base.value = param_str(params, "value");
    if (base.value && !pname)
        FAIL(PL_MGMT_E_PARAMS, "value goes with profile");
    size_t matched = 0, n = 0;
    json_t **items = NULL;
    for (unsigned w = 0; w < c->sh->n; w++) {
        list_arg la = base;
        la.out = json_array();
        la.worker = w;
        if (pd_worker_call(c->sh, w, list_on_worker, &la, CALL_MS) != PL_OK) {
            json_decref(la.out);
            for (size_t i = 0; i < n; i++)
                json_decref(items[i]);
            free(items);
            FAIL(PL_MGMT_E_UNAVAILABLE, "a worker did not answer");
        }
        matched += la.matched;
        json_t **grown = realloc(items, (n + json_array_size(la.out) + 1) * sizeof(*items));
        if (grown) {
            items = grown;
            size_t i;
            json_t *d;
            json_array_foreach(la.out, i, d) items[n++] = json_incref(d);
        }
        json_decref(la.out);
    }
    /* Oldest first, then cut to the limit. */
    if (n)
        qsort(items, n, sizeof(*items), by_creation);
    json_t *all = json_array();
    for (size_t i = 0; i < n; i++) {
        json_object_del(items[i], "created_ms_");
        if (i < base.limit)
            json_array_append(all, items[i]);
        json_decref(items[i]);
    }
    free(items);
    json_t *res = json_object();
    json_object_set_new(res, "count", json_integer((json_int_t)matched));
    json_object_set_new(res, "dialogs", all);
    return res;
}

static bool dialogs_on(pd_control *c)
{
    return c->sh->dialogs != NULL;
}

#define NEED_DIALOGS()                                                                             \
    do {                                                                                           \
        if (!dialogs_on(c))                                                                        \
            FAIL(PL_MGMT_E_UNAVAILABLE, "dialog tracking is off (dialogs = no)");                  \
    } while (0)

static json_t *m_dlg_list(json_t *params, int *code, const char **message, bool *owned, void *arg)
{
    (void)owned;
    pd_control *c = arg;
    NEED_DIALOGS();
    return do_list(c, params, false, code, message);
}

static json_t *m_dlg_list_ctx(json_t *params, int *code, const char **message, bool *owned,
                              void *arg)
{
    (void)owned;
    pd_control *c = arg;
    NEED_DIALOGS();
    return do_list(c, params, true, code, message);
}

/* ---- one dialog by id (or Call-ID), on its owner */

typedef enum one_op { OP_SHOW, OP_END, OP_SET_PROFILE, OP_UNSET_PROFILE, OP_PUSH } one_op;

typedef struct one_arg {
    one_op op;
    uint64_t id;
    const char *callid;
    const char *reason, *headers;
    pl_dlg_profile *prof;
    const char *value;
    bool has_value, clear;
    const char *name;
    json_t *push; /* the value to push */
    /* results */
    json_t *out;
    int rc;
    unsigned worker;
} one_arg;

static void one_on_worker(pd_worker *w, void *arg)
{
    one_arg *oa = arg;
    pl_dlg_table *t = pd_worker_dialogs(w);
    pl_dlg *d = NULL;
    if (t)
        d = oa->callid ? pl_dlg_lookup_callid(t, pl_str_c(oa->callid)) : pl_dlg_lookup(t, oa->id);
    if (!d) {
        oa->rc = PL_ENOTFOUND;
        return;
    }
    if (oa->op == OP_END && oa->callid) {
        /* Every live dialog of the Call-ID (a forked call, a loop): their
         * ids first, each ended in turn (an early one stays live until its
         * 487, so looking up "the first live one" again would stop). */
        uint64_t ids[64];
        size_t n = pl_dlg_lookup_callid_all(t, pl_str_c(oa->callid), ids, 64);
        pl_str reason = oa->reason ? pl_str_c(oa->reason) : PL_STR_LIT("Management Termination");
        pl_str hdrs = oa->headers ? pl_str_c(oa->headers) : (pl_str){NULL, 0};
        oa->rc = PL_ESTATE;
        for (size_t i = 0; i < n && i < 64; i++) {
            pl_dlg *e = pl_dlg_lookup(t, ids[i]);
            if (e && pl_dlg_terminate(e, reason, hdrs) == PL_OK)
                oa->rc = PL_OK;
        }
        if (oa->rc == PL_OK) {
            char hex[17];
            pl_dlg_id_print(ids[0], hex);
            oa->out = json_object();
            json_object_set_new(oa->out, "ended", json_string(hex));
        }
        return;
    }
    pl_str value = oa->has_value ? pl_str_c(oa->value) : (pl_str){NULL, 0};
    switch (oa->op) {
    case OP_SHOW:
        oa->out = dialog_json(d, oa->worker, true);
        oa->rc = PL_OK;
        break;
    case OP_END: {
        char hex[17];
        pl_dlg_id_print(pl_dlg_id(d), hex);
        oa->rc = pl_dlg_terminate(
            d, oa->reason ? pl_str_c(oa->reason) : PL_STR_LIT("Management Termination"),
            oa->headers ? pl_str_c(oa->headers) : (pl_str){NULL, 0});
        if (oa->rc == PL_OK) {
            oa->out = json_object();
            json_object_set_new(oa->out, "ended", json_string(hex));
        }
        break;
    }
    case OP_SET_PROFILE:
        oa->rc = pl_dlg_profile_set(d, oa->prof, value, oa->clear);
        break;
    case OP_UNSET_PROFILE:
        oa->rc = pl_dlg_profile_unset(d, oa->prof, value);
        break;
    case OP_PUSH:
        if (json_is_integer(oa->push))
            oa->rc =
                pl_dlg_value_set_int(d, pl_str_c(oa->name), (int64_t)json_integer_value(oa->push));
        else
            oa->rc =
                pl_dlg_value_set_str(d, pl_str_c(oa->name), pl_str_c(json_string_value(oa->push)));
        break;
    }
}

static json_t *run_one(pd_control *c, one_arg *oa, int *code, const char **message)
{
    unsigned w = oa->callid ? (unsigned)(pl_dlg_hash(pl_str_c(oa->callid)) % c->sh->n)
                            : owner_of_id(c, oa->id);
    oa->worker = w;
    oa->rc = PL_ENOTFOUND;
    if (pd_worker_call(c->sh, w, one_on_worker, oa, CALL_MS) != PL_OK)
        FAIL(PL_MGMT_E_UNAVAILABLE, "the dialog's worker did not answer");
    switch (oa->rc) {
    case PL_OK:
        break;
    case PL_ENOTFOUND:
        json_decref(oa->out);
        FAIL(PL_MGMT_E_NOT_FOUND,
             oa->op == OP_UNSET_PROFILE ? "the dialog is not in that profile" : "no such dialog");
    case PL_ESTATE:
        json_decref(oa->out);
        FAIL(PL_MGMT_E_STATE, "the dialog has ended");
    default:
        json_decref(oa->out);
        FAIL(PL_MGMT_E_INTERNAL, pl_err_str(oa->rc));
    }
    if (!oa->out) {
        oa->out = json_object();
        json_object_set_new(oa->out, "ok", json_true());
    }
    return oa->out;
}

static json_t *m_dlg_show(json_t *params, int *code, const char **message, bool *owned, void *arg)
{
    (void)owned;
    pd_control *c = arg;
    NEED_DIALOGS();
    one_arg oa = {.op = OP_SHOW};
    if (!parse_id(params, &oa.id))
        FAIL(PL_MGMT_E_PARAMS, "id: the dialog id, 16 hex digits");
    return run_one(c, &oa, code, message);
}

static json_t *m_dlg_end(json_t *params, int *code, const char **message, bool *owned, void *arg)
{
    (void)owned;
    pd_control *c = arg;
    NEED_DIALOGS();
    one_arg oa = {.op = OP_END};
    oa.callid = param_str(params, "callid");
    if (!oa.callid && !parse_id(params, &oa.id))
        FAIL(PL_MGMT_E_PARAMS, "id (16 hex digits) or callid");
    oa.reason = param_str(params, "reason");
    oa.headers = param_str(params, "headers");
    if (oa.callid && param_has(params, "id"))
        FAIL(PL_MGMT_E_PARAMS, "id or callid, not both");
    if (oa.headers) {
        /* Each line "Name: value", CRLF-ended (the last CRLF may be missing). */
        const char *l = oa.headers;
        while (*l) {
            const char *e = strstr(l, "\r\n");
            size_t n = e ? (size_t)(e - l) : strlen(l);
            const char *colon = memchr(l, ':', n);
            if (!n || !colon || colon == l || memchr(l, '\n', n) || memchr(l, '\r', n))
                FAIL(PL_MGMT_E_PARAMS, "headers: lines of \"Name: value\", each ending in CRLF");
            l += n + (e ? 2 : 0);
        }
    }
    return run_one(c, &oa, code, message);
}

static json_t *profile_op(pd_control *c, json_t *params, one_op op, int *code, const char **message)
{
    NEED_DIALOGS();
    one_arg oa = {.op = op};
    if (!parse_id(params, &oa.id))
        FAIL(PL_MGMT_E_PARAMS, "id: the dialog id, 16 hex digits");
    const char *name = param_str(params, "profile");
    if (!name)
        FAIL(PL_MGMT_E_PARAMS, "profile: a profile name");
    oa.prof = pl_dlg_profile_find(c->sh->dialogs, pl_str_c(name));
    if (!oa.prof)
        FAIL(PL_MGMT_E_NOT_FOUND, "no such profile");
    if (!param_opt_str(params, "value", &oa.value))
        FAIL(PL_MGMT_E_PARAMS, "value: a string");
    oa.has_value = oa.value != NULL;
    if (op == OP_SET_PROFILE && pl_dlg_profile_has_value(oa.prof) && !oa.has_value)
        FAIL(PL_MGMT_E_PARAMS, "value: that profile counts by value");
    json_t *cl = json_is_object(params) ? json_object_get(params, "clear") : NULL;
    oa.clear = json_is_true(cl);
    return run_one(c, &oa, code, message);
}

static json_t *m_dlg_set_profile(json_t *params, int *code, const char **message, bool *owned,
                                 void *arg)
{
    (void)owned;
    return profile_op(arg, params, OP_SET_PROFILE, code, message);
}

static json_t *m_dlg_unset_profile(json_t *params, int *code, const char **message, bool *owned,
                                   void *arg)
{
    (void)owned;
    return profile_op(arg, params, OP_UNSET_PROFILE, code, message);
}

static json_t *m_dlg_push_value(json_t *params, int *code, const char **message, bool *owned,
                                void *arg)
{
    (void)owned;
    pd_control *c = arg;
    NEED_DIALOGS();
    one_arg oa = {.op = OP_PUSH};
    if (!parse_id(params, &oa.id))
        FAIL(PL_MGMT_E_PARAMS, "id: the dialog id, 16 hex digits");
    oa.name = param_str(params, "name");
    if (!oa.name || !*oa.name)
        FAIL(PL_MGMT_E_PARAMS, "name: the value's name");
    oa.push = json_is_object(params) ? json_object_get(params, "value") : NULL;
    if (!json_is_string(oa.push) && !json_is_integer(oa.push))
        FAIL(PL_MGMT_E_PARAMS, "value: a string or an integer");
    return run_one(c, &oa, code, message);
}

/* ---- profiles (thread-safe: no worker call) */

/* The profile params name; a value param only for a profile with values. */
static pl_dlg_profile *need_profile(pd_control *c, json_t *params, int *code, const char **message)
{
    const char *name = param_str(params, "name");
    if (!name) {
        *code = PL_MGMT_E_PARAMS;
        *message = "name: a profile name";
        return NULL;
    }
    const char *value;
    if (!param_opt_str(params, "value", &value)) {
        *code = PL_MGMT_E_PARAMS;
        *message = "value: a string";
        return NULL;
    }
    pl_dlg_profile *p = pl_dlg_profile_find(c->sh->dialogs, pl_str_c(name));
    if (!p) {
        *code = PL_MGMT_E_NOT_FOUND;
        *message = "no such profile";
    } else if (value && !pl_dlg_profile_has_value(p)) {
        *code = PL_MGMT_E_PARAMS;
        *message = "that profile has no values";
        p = NULL;
    }
    return p;
}

static pl_str opt_value(json_t *params)
{
    const char *v = param_str(params, "value");
    return v ? pl_str_c(v) : (pl_str){NULL, 0};
}

static json_t *m_profile_size(json_t *params, int *code, const char **message, bool *owned,
                              void *arg)
{
    (void)owned;
    pd_control *c = arg;
    NEED_DIALOGS();
    pl_dlg_profile *p = need_profile(c, params, code, message);
    if (!p)
        return NULL;
    json_t *r = json_object();
    json_object_set_new(r, "size",
                        json_integer((json_int_t)pl_dlg_profile_size(p, opt_value(params))));
    return r;
}

static json_t *ids_json(const uint64_t *ids, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        char hex[17];
        pl_dlg_id_print(ids[i], hex);
        json_array_append_new(a, json_string(hex));
    }
    return a;
}

/* The ids of p (value as given), malloc'd; *n how many. */
static uint64_t *profile_ids(pl_dlg_profile *p, pl_str value, size_t *n)
{
    size_t cap = 64;
    for (;;) {
        uint64_t *ids = malloc(cap * sizeof(*ids));
        if (!ids)
            return NULL;
        size_t k = pl_dlg_profile_list(p, value, ids, cap);
        if (k <= cap) {
            *n = k;
            return ids;
        }
        free(ids);
        cap = k + 64; /* it grew meanwhile: again, larger */
    }
}

static json_t *m_profile_list(json_t *params, int *code, const char **message, bool *owned,
                              void *arg)
{
    (void)owned;
    pd_control *c = arg;
    NEED_DIALOGS();
    pl_dlg_profile *p = need_profile(c, params, code, message);
    if (!p)
        return NULL;
    size_t n;
    uint64_t *ids = profile_ids(p, opt_value(params), &n);
    if (!ids)
        FAIL(PL_MGMT_E_INTERNAL, "out of memory");
    json_t *r = json_object();
    json_object_set_new(r, "dialogs", ids_json(ids, n));
    free(ids);
    return r;
}

static void value_count(pl_str value, size_t count, void *arg)
{
    char key[1024];
    snprintf(key, sizeof(key), "%.*s", (int)value.len, value.p);
    json_object_set_new(arg, key, json_integer((json_int_t)count));
}

static json_t *m_profile_values(json_t *params, int *code, const char **message, bool *owned,
                                void *arg)
{
    (void)owned;
    pd_control *c = arg;
    NEED_DIALOGS();
    pl_dlg_profile *p = need_profile(c, params, code, message);
    if (!p)
        return NULL;
    if (!pl_dlg_profile_has_value(p))
        FAIL(PL_MGMT_E_PARAMS, "that profile has no values");
    json_t *vals = json_object();
    pl_dlg_profile_values(p, value_count, vals);
    json_t *r = json_object();
    json_object_set_new(r, "values", vals);
    return r;
}

static void profile_entry(pl_dlg_profile *p, void *arg)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", jstr(pl_dlg_profile_name(p)));
    json_object_set_new(o, "has_value", json_boolean(pl_dlg_profile_has_value(p)));
    json_object_set_new(o, "size",
                        json_integer((json_int_t)pl_dlg_profile_size(p, (pl_str){NULL, 0})));
    json_array_append_new(arg, o);
}

static json_t *m_profile_list_all(json_t *params, int *code, const char **message, bool *owned,
                                  void *arg)
{
    (void)params;
    (void)owned;
    pd_control *c = arg;
    NEED_DIALOGS();
    json_t *a = json_array();
    pl_dlg_profile_each(c->sh->dialogs, profile_entry, a);
    /* By name (an insertion sort: a handful of profiles). */
    size_t n = json_array_size(a);
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0; k--) {
            json_t *x = json_array_get(a, k - 1), *y = json_array_get(a, k);
            if (strcmp(json_string_value(json_object_get(x, "name")),
                       json_string_value(json_object_get(y, "name"))) <= 0)
                break;
            json_incref(x);
            json_array_set(a, k - 1, y);
            json_array_set_new(a, k, x);
        }
    json_t *r = json_object();
    json_object_set_new(r, "profiles", a);
    return r;
}

static json_t *m_profile_end(json_t *params, int *code, const char **message, bool *owned,
                             void *arg)
{
    (void)owned;
    pd_control *c = arg;
    NEED_DIALOGS();
    pl_dlg_profile *p = need_profile(c, params, code, message);
    if (!p)
        return NULL;
    size_t n;
    uint64_t *ids = profile_ids(p, opt_value(params), &n);
    if (!ids)
        FAIL(PL_MGMT_E_INTERNAL, "out of memory");
    size_t ended = 0;
    for (size_t i = 0; i < n; i++)
        if (pl_dlg_module_terminate(c->sh->dialogs, ids[i], PL_STR_LIT("Management Termination"),
                                    (pl_str){NULL, 0}) == PL_OK)
            ended++;
    free(ids);
    json_t *r = json_object();
    json_object_set_new(r, "ended", json_integer((json_int_t)ended));
    return r;
}

/* ---- registrations */

typedef struct reg_arg {
    const char *aor;
    json_t *out;
    uint64_t now;
} reg_arg;

static void reg_one(const char *aor, const pl_binding *b, void *arg)
{
    reg_arg *ra = arg;
    if (ra->aor && strcmp(ra->aor, aor) != 0)
        return;
    json_t *o = json_object();
    json_object_set_new(o, "aor", json_string(aor));
    json_object_set_new(o, "contact", jstr(b->contact));
    json_object_set_new(o, "expires_in_s",
                        json_integer(b->expires_ms > ra->now
                                         ? (json_int_t)((b->expires_ms - ra->now + 999) / 1000)
                                         : 0));
    json_object_set_new(o, "q", json_real(b->q / 1000.0));
    json_object_set_new(o, "path", b->path.len ? jstr(b->path) : json_null());
    json_object_set_new(o, "call_id", jstr(b->call_id));
    json_object_set_new(o, "cseq", json_integer(b->cseq));
    json_object_set_new(o, "user_agent", b->user_agent.len ? jstr(b->user_agent) : json_null());
    char src[96] = "";
    pl_target_print(&b->source, src, sizeof(src));
    json_object_set_new(o, "source", json_string(src));
    json_array_append_new(ra->out, o);
}

static json_t *m_reg_list(json_t *params, int *code, const char **message, bool *owned, void *arg)
{
    (void)code;
    (void)message;
    (void)owned;
    pd_control *c = arg;
    reg_arg ra = {param_str(params, "aor"), json_array(), mono_ms()};
    pl_location_walk(c->sh->location, ra.now, reg_one, &ra);
    json_t *r = json_object();
    json_object_set_new(r, "bindings", ra.out);
    return r;
}

static json_t *m_reg_remove(json_t *params, int *code, const char **message, bool *owned, void *arg)
{
    (void)owned;
    pd_control *c = arg;
    const char *aor = param_str(params, "aor");
    if (!aor)
        FAIL(PL_MGMT_E_PARAMS, "aor: the address of record (sip:user@host)");
    const char *contact = param_str(params, "contact");
    reg_arg ra = {aor, json_array(), mono_ms()};
    pl_location_walk(c->sh->location, ra.now, reg_one, &ra);
    size_t n = 0, i;
    json_t *b;
    json_array_foreach(ra.out, i, b)
    {
        if (!contact || strcmp(json_string_value(json_object_get(b, "contact")), contact) == 0)
            n++;
    }
    json_decref(ra.out);
    int rc =
        pl_location_remove(c->sh->location, aor, contact ? pl_str_c(contact) : (pl_str){NULL, 0});
    if (rc == PL_ENOTFOUND || !n)
        FAIL(PL_MGMT_E_NOT_FOUND, "no such registration");
    json_t *r = json_object();
    json_object_set_new(r, "removed", json_integer((json_int_t)n));
    return r;
}

/* ---- the script */

typedef struct reload_arg {
    const pd_config *cfg;
    int rc;
    char err[512];
} reload_arg;

static void reload_on_worker(pd_worker *w, void *arg)
{
    reload_arg *ra = arg;
    ra->rc = pd_worker_reload_script(w, ra->err, sizeof(ra->err));
}

static json_t *m_script_reload(json_t *params, int *code, const char **message, bool *owned,
                               void *arg)
{
    (void)params;
    pd_control *c = arg;
    /* Check first, so that no worker is left with a script the others do not run. */
    char err[512];
    if (pd_check_script(c->cfg, err, sizeof(err)) != 0) {
        *code = PL_MGMT_E_INTERNAL;
        *message = strdup(err);
        *owned = *message != NULL;
        if (!*owned)
            *message = "the script does not load";
        return NULL;
    }
    for (unsigned w = 0; w < c->sh->n; w++) {
        reload_arg ra = {c->cfg, 0, ""};
        if (pd_worker_call(c->sh, w, reload_on_worker, &ra, CALL_MS) != PL_OK)
            FAIL(PL_MGMT_E_UNAVAILABLE, "a worker did not answer");
        if (ra.rc != 0) {
            *code = PL_MGMT_E_INTERNAL;
            *message = strdup(ra.err);
            *owned = *message != NULL;
            if (!*owned)
                *message = "the script does not load";
            return NULL;
        }
    }
    pd_log(PL_PROXY_LOG_INFO, PD_MAIN, NO_CALL, "script %s reloaded on %u worker(s)",
           c->cfg->script, c->sh->n);
    json_t *r = json_object();
    json_object_set_new(r, "reloaded", json_true());
    json_object_set_new(r, "workers", json_integer(c->sh->n));
    return r;
}

/* ---- the store */

static json_t *m_store_sync(json_t *params, int *code, const char **message, bool *owned, void *arg)
{
    (void)params;
    (void)owned;
    pd_control *c = arg;
    NEED_DIALOGS();
    if (!pd_persist_store(c->persist))
        FAIL(PL_MGMT_E_UNAVAILABLE, "no store (store = none)");
    pl_store_drain(pd_persist_store(c->persist), 10000);
    size_t skipped = 0;
    long n = pd_persist_load_dialogs(c->persist, &skipped);
    if (n < 0)
        FAIL(PL_MGMT_E_UNAVAILABLE, "the store could not be read");
    json_t *r = json_object();
    json_object_set_new(r, "loaded", json_integer(n));
    return r;
}

static json_t *m_store_restore(json_t *params, int *code, const char **message, bool *owned,
                               void *arg)
{
    (void)params;
    (void)owned;
    pd_control *c = arg;
    NEED_DIALOGS();
    pl_store *s = pd_persist_store(c->persist);
    if (!s)
        FAIL(PL_MGMT_E_UNAVAILABLE, "no store (store = none)");
    if (pl_store_drain(s, 10000) != PL_OK || pl_store_dialog_truncate(s) != PL_OK)
        FAIL(PL_MGMT_E_UNAVAILABLE, "the store is not reachable");
    long n = pd_persist_write_all(c->persist);
    pl_store_drain(s, 30000);
    json_t *r = json_object();
    json_object_set_new(r, "written", json_integer(n));
    return r;
}

/* ---- statistics */

typedef struct wstats {
    pd_worker_stats ws;
    pl_proxy_stats ps;
    pl_txn_stats ts;
    uint64_t by_state[6]; /* dialogs in this worker's table by state */
} wstats;

static void count_state(pl_dlg *d, void *arg)
{
    ((uint64_t *)arg)[pl_dlg_state_of(d)]++;
}

static void stats_on_worker(pd_worker *w, void *arg)
{
    wstats *s = arg;
    pd_worker_get_stats(w, &s->ws);
    pl_proxy_get_stats(pd_worker_proxy(w), &s->ps);
    pl_txn_layer_stats(pl_proxy_txn_layer(pd_worker_proxy(w)), &s->ts);
    pl_dlg_table *t = pd_worker_dialogs(w);
    if (t)
        pl_dlg_table_walk(t, count_state, s->by_state);
}

static int gather(pd_control *c, wstats *out)
{
    for (unsigned w = 0; w < c->sh->n; w++)
        if (pd_worker_call(c->sh, w, stats_on_worker, &out[w], CALL_MS) != PL_OK)
            return -1;
    return 0;
}

static json_t *m_stats(json_t *params, int *code, const char **message, bool *owned, void *arg)
{
    (void)params;
    (void)owned;
    pd_control *c = arg;
    wstats *ws = calloc(c->sh->n, sizeof(*ws));
    if (!ws)
        FAIL(PL_MGMT_E_INTERNAL, "out of memory");
    if (gather(c, ws) != 0) {
        free(ws);
        FAIL(PL_MGMT_E_UNAVAILABLE, "a worker did not answer");
    }
    json_t *r = json_object();
    if (c->sh->dialogs) {
        pl_dlg_stats ds;
        pl_dlg_get_stats(c->sh->dialogs, &ds);
        json_t *d = json_object();
        json_object_set_new(d, "live", json_integer((json_int_t)ds.live));
        json_object_set_new(d, "active", json_integer((json_int_t)ds.active));
        json_object_set_new(d, "early", json_integer((json_int_t)ds.early));
        json_object_set_new(d, "processed", json_integer((json_int_t)ds.processed));
        json_object_set_new(d, "expired", json_integer((json_int_t)ds.expired));
        json_object_set_new(d, "failed", json_integer((json_int_t)ds.failed));
        json_object_set_new(d, "terminated", json_integer((json_int_t)ds.terminated));
        json_object_set_new(r, "dialogs", d);
        json_t *p = json_object();
        json_t *tmp = json_array();
        pl_dlg_profile_each(c->sh->dialogs, profile_entry, tmp);
        size_t i;
        json_t *e;
        json_array_foreach(tmp, i, e)
        {
            json_object_set(p, json_string_value(json_object_get(e, "name")),
                            json_object_get(e, "size"));
        }
        json_decref(tmp);
        json_object_set_new(r, "profiles", p);
    }
    pl_proxy_stats tot = {0};
    json_t *workers = json_array();
    for (unsigned w = 0; w < c->sh->n; w++) {
        tot.requests += ws[w].ps.requests;
        tot.forwarded += ws[w].ps.forwarded;
        tot.stateless += ws[w].ps.stateless;
        tot.replied_local += ws[w].ps.replied_local;
        tot.replies_forwarded += ws[w].ps.replies_forwarded;
        tot.cancelled += ws[w].ps.cancelled;
        tot.timer_c += ws[w].ps.timer_c;
        tot.bad += ws[w].ps.bad;
        tot.live += ws[w].ps.live;
        json_t *o = json_object();
        json_object_set_new(o, "index", json_integer(w));
        json_object_set_new(o, "received", json_integer((json_int_t)ws[w].ws.received));
        json_object_set_new(o, "handed_out", json_integer((json_int_t)ws[w].ws.handed_out));
        json_object_set_new(o, "handed_in", json_integer((json_int_t)ws[w].ws.handed_in));
        json_object_set_new(o, "transactions", json_integer((json_int_t)ws[w].ts.live));
        json_array_append_new(workers, o);
    }
    json_t *p = json_object();
    json_object_set_new(p, "requests", json_integer((json_int_t)tot.requests));
    json_object_set_new(p, "forwarded", json_integer((json_int_t)tot.forwarded));
    json_object_set_new(p, "stateless", json_integer((json_int_t)tot.stateless));
    json_object_set_new(p, "replied_local", json_integer((json_int_t)tot.replied_local));
    json_object_set_new(p, "replies_forwarded", json_integer((json_int_t)tot.replies_forwarded));
    json_object_set_new(p, "cancelled", json_integer((json_int_t)tot.cancelled));
    json_object_set_new(p, "timer_c", json_integer((json_int_t)tot.timer_c));
    json_object_set_new(p, "bad", json_integer((json_int_t)tot.bad));
    json_object_set_new(p, "live", json_integer((json_int_t)tot.live));
    json_object_set_new(r, "proxy", p);
    json_t *st = json_object();
    pl_store *s = pd_persist_store(c->persist);
    json_object_set_new(st, "mode",
                        json_string(s ? pl_store_mode_name(pl_store_get_mode(s)) : "none"));
    if (s) {
        pl_store_stats ss;
        pl_store_get_stats(s, &ss);
        json_object_set_new(st, "queued", json_integer((json_int_t)ss.queued));
        json_object_set_new(st, "written", json_integer((json_int_t)ss.written));
        json_object_set_new(st, "errors", json_integer((json_int_t)ss.errors));
        json_object_set_new(st, "connected", json_boolean(ss.connected));
    }
    json_object_set_new(r, "store", st);
    json_object_set_new(r, "workers", workers);
    free(ws);
    return r;
}

static json_t *m_version(json_t *params, int *code, const char **message, bool *owned, void *arg)
{
    (void)params;
    (void)code;
    (void)message;
    (void)owned;
    pd_control *c = arg;
    char started[32];
    struct tm tm;
    gmtime_r(&c->started, &tm);
    strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *r = json_object();
    json_object_set_new(r, "version", json_string(PARLEYD_VERSION));
    json_object_set_new(r, "uptime_s",
                        json_integer((json_int_t)((mono_ms() - c->started_mono) / 1000)));
    json_object_set_new(r, "started", json_string(started));
    return r;
}

/* ---- metrics */

typedef struct mbuf {
    void (*emit)(const char *chunk, size_t len, void *ctx);
    void *ctx;
} mbuf;

__attribute__((format(printf, 2, 3))) static void mprintf(mbuf *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0)
        b->emit(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1, b->ctx);
}

static void metric_head(mbuf *b, const char *name, const char *type, const char *help)
{
    mprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metrics(void (*emit)(const char *chunk, size_t len, void *ctx), void *ctx, void *arg)
{
    pd_control *c = arg;
    mbuf b = {emit, ctx};
    wstats *ws = calloc(c->sh->n, sizeof(*ws));
    bool have = ws && gather(c, ws) == 0;
    if (c->sh->dialogs) {
        pl_dlg_stats ds;
        pl_dlg_get_stats(c->sh->dialogs, &ds);
        if (have) {
            metric_head(&b, "parley_dialogs", "gauge", "Dialogs in memory, by state.");
            for (int st = PL_DLG_UNCONFIRMED; st <= PL_DLG_DELETED; st++) {
                uint64_t n = 0;
                for (unsigned w = 0; w < c->sh->n; w++)
                    n += ws[w].by_state[st];
                mprintf(&b, "parley_dialogs{state=\"%s\"} %llu\n",
                        pl_dlg_state_name((pl_dlg_state)st), (unsigned long long)n);
            }
        }
        metric_head(&b, "parley_dialogs_processed_total", "counter", "Dialogs created.");
        mprintf(&b, "parley_dialogs_processed_total %llu\n", (unsigned long long)ds.processed);
        metric_head(&b, "parley_dialogs_expired_total", "counter",
                    "Dialogs ended by their lifetime.");
        mprintf(&b, "parley_dialogs_expired_total %llu\n", (unsigned long long)ds.expired);
        metric_head(&b, "parley_dialogs_failed_total", "counter", "Dialogs never established.");
        mprintf(&b, "parley_dialogs_failed_total %llu\n", (unsigned long long)ds.failed);
        metric_head(&b, "parley_calls_per_second", "gauge",
                    "Dialogs created per second, averaged over the last 10 seconds.");
        mprintf(&b, "parley_calls_per_second %.3f\n", pd_calls_per_second(c->sh));
    }
    if (have) {
        static const char *const kinds[] = {"client_invite", "client_non_invite", "server_invite",
                                            "server_non_invite"};
        metric_head(&b, "parley_transactions", "gauge", "Live transactions, by kind.");
        for (int k = 0; k < 4; k++) {
            uint64_t n = 0;
            for (unsigned w = 0; w < c->sh->n; w++)
                n += ws[w].ts.live_by_kind[k];
            mprintf(&b, "parley_transactions{kind=\"%s\"} %llu\n", kinds[k], (unsigned long long)n);
        }
        for (int out = 0; out < 2; out++) {
            const char *name = out ? "parley_messages_out_total" : "parley_messages_in_total";
            metric_head(&b, name, "counter", out ? "SIP messages sent." : "SIP messages received.");
            for (int m = 0; m < PD_NMETHODS; m++)
                for (int k = 0; k < 7; k++) {
                    uint64_t n = 0;
                    for (unsigned w = 0; w < c->sh->n; w++)
                        n += out ? ws[w].ws.out_msgs[m][k] : ws[w].ws.in_msgs[m][k];
                    if (!n)
                        continue;
                    char cls[16];
                    if (k)
                        snprintf(cls, sizeof(cls), "%dxx", k);
                    else
                        snprintf(cls, sizeof(cls), "request");
                    mprintf(&b, "%s{method=\"%s\",class=\"%s\"} %llu\n", name, pd_method_names[m],
                            cls, (unsigned long long)n);
                }
        }
        uint64_t bad = 0;
        for (unsigned w = 0; w < c->sh->n; w++)
            bad += ws[w].ts.bad;
        metric_head(&b, "parley_parse_errors_total", "counter", "Messages refused by the parser.");
        mprintf(&b, "parley_parse_errors_total %llu\n", (unsigned long long)bad);
        metric_head(&b, "parley_worker_messages_total", "counter",
                    "Messages each worker processed (its load).");
        for (unsigned w = 0; w < c->sh->n; w++)
            mprintf(
                &b, "parley_worker_messages_total{worker=\"%u\"} %llu\n", w,
                (unsigned long long)(ws[w].ws.received - ws[w].ws.handed_out + ws[w].ws.handed_in));
    }
    pl_store *s = pd_persist_store(c->persist);
    if (s) {
        pl_store_stats ss;
        pl_store_get_stats(s, &ss);
        metric_head(&b, "parley_store_queue", "gauge", "Store writes queued and not yet done.");
        mprintf(&b, "parley_store_queue %llu\n", (unsigned long long)ss.queued);
        metric_head(&b, "parley_store_errors_total", "counter", "Store writes that failed.");
        mprintf(&b, "parley_store_errors_total %llu\n", (unsigned long long)ss.errors);
    }
    free(ws);
}

/* ---- the object */

typedef struct method_def {
    const char *name;
    pl_mgmt_method_fn fn;
} method_def;

static const method_def METHODS[N_METHODS] = {
    {"core.version", m_version},
    {"stats", m_stats},
    {"dlg.list", m_dlg_list},
    {"dlg.list_ctx", m_dlg_list_ctx},
    {"dlg.show", m_dlg_show},
    {"dlg.end", m_dlg_end},
    {"dlg.set_profile", m_dlg_set_profile},
    {"dlg.unset_profile", m_dlg_unset_profile},
    {"dlg.push_value", m_dlg_push_value},
    {"profile.size", m_profile_size},
    {"profile.list", m_profile_list},
    {"profile.values", m_profile_values},
    {"profile.list_all", m_profile_list_all},
    {"profile.end", m_profile_end},
    {"reg.list", m_reg_list},
    {"reg.remove", m_reg_remove},
    {"script.reload", m_script_reload},
    {"store.sync", m_store_sync},
    {"store.restore", m_store_restore},
};

/* Every method goes through here: params must be an object (or absent),
 * and each string member it may have must be a string. */
static json_t *checked(json_t *params, int *code, const char **message, bool *owned, void *arg)
{
    const bound_method *b = arg;
    if (params && !json_is_object(params)) {
        *code = PL_MGMT_E_PARAMS;
        *message = "params must be an object";
        return NULL;
    }
    if (!params_strings(params, STRING_PARAMS)) {
        *code = PL_MGMT_E_PARAMS;
        *message = "a parameter that must be a string is not one";
        return NULL;
    }
    return b->fn(params, code, message, owned, b->c);
}

static void mgmt_log(int level, const char *line, void *user)
{
    (void)user;
    pd_log_line((pl_proxy_log_level)level, PD_MAIN, NO_CALL, line);
}

pd_control *pd_control_start(pd_shared *sh, const pd_config *cfg, pd_persist *persist, char *err,
                             size_t cap)
{
    pd_control *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    c->sh = sh;
    c->cfg = cfg;
    c->persist = persist;
    c->started = time(NULL);
    c->started_mono = mono_ms();
    pl_mgmt_config mc = {
        .listen = cfg->mgmt,
        .token = cfg->mgmt_token[0] ? cfg->mgmt_token : NULL,
        .metrics = metrics,
        .metrics_arg = c,
        .log = mgmt_log,
    };
    c->mgmt = pl_mgmt_new(&mc);
    if (!c->mgmt) {
        snprintf(err, cap, "out of memory");
        pd_control_free(c);
        return NULL;
    }
    for (size_t i = 0; i < sizeof(METHODS) / sizeof(METHODS[0]); i++) {
        c->bound[i] = (bound_method){METHODS[i].fn, c};
        pl_mgmt_add(c->mgmt, METHODS[i].name, checked, &c->bound[i]);
    }
    pl_error e = {0, 0, NULL};
    if (pl_mgmt_start(c->mgmt, &e) != PL_OK) {
        snprintf(err, cap, "management interface on %s: %s", cfg->mgmt,
                 e.reason ? e.reason : "cannot listen");
        pd_control_free(c);
        return NULL;
    }
    pd_log(PL_PROXY_LOG_INFO, PD_MAIN, NO_CALL, "management interface on %s (port %u)%s", cfg->mgmt,
           pl_mgmt_port(c->mgmt), mc.token ? ", token required" : "");
    return c;
}

uint16_t pd_control_port(const pd_control *c)
{
    return c ? pl_mgmt_port(c->mgmt) : 0;
}

void pd_control_free(pd_control *c)
{
    if (!c)
        return;
    pl_mgmt_free(c->mgmt);
    free(c);
}
