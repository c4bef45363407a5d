/*
 * mgmt_test_server - a management server (parley/mgmt.h) that answers
 * every method of docs/mgmt.md with fixed sample data, for testing
 * parleyctl without a parleyd (tests/integration/parleyctl.sh).
 *
 *   mgmt_test_server [--listen ADDR] [--token T] --port-file F --record F
 *
 * It listens on ADDR (default 127.0.0.1:0), writes the port it got to the
 * port file once it serves, and appends one line per call to the record
 * file: "METHOD PARAMS" with the params as compact JSON, keys sorted
 * ("null" when absent). SIGTERM or SIGINT stop it.
 *
 * Sample data: two dialogs (00a1b2c3d4e5f601 confirmed, 00a1b2c3d4e5f602
 * early), profiles "caller" (with values) and "calls", two bindings. The
 * id ffffffffffffffff, the Call-ID "nosuch", the profile "nosuch" and the
 * AOR sip:nosuch@example.com are unknown (-32004). The extra method
 * test.fail_next {"method", "code", "message"} makes the next call of
 * that method fail so (script.reload's failure, for one).
 */
#include <parley/mgmt.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNKNOWN_ID "ffffffffffffffff"

static FILE *record;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char fail_method[64];
static int fail_code;
static char fail_message[256];

/* Record the call; true (with the error set) when test.fail_next armed it. */
static bool record_call(const char *method, json_t *params, int *code, const char **message,
                        bool *owned)
{
    char *p = params ? json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    pthread_mutex_lock(&lock);
    fprintf(record, "%s %s\n", method, p ? p : "null");
    fflush(record);
    bool fail = strcmp(fail_method, method) == 0;
    if (fail) {
        fail_method[0] = '\0';
        *code = fail_code;
        *message = strdup(fail_message);
        *owned = true;
    }
    pthread_mutex_unlock(&lock);
    free(p);
    return fail;
}

static json_t *err(int *code, const char **message, int c, const char *m)
{
    *code = c;
    *message = m;
    return NULL;
}

static const char *str(json_t *params, const char *key)
{
    return json_string_value(json_object_get(params, key));
}

/* ------------------------------------------------------------ sample data */

static json_t *dialog(int which, bool ctx)
{
    json_t *d;
    if (which == 1) {
        d = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:[s], s:i, "
                      "s:i, s:n, s:i}",
                      "id", "00a1b2c3d4e5f601", "state", 4, "state_name", "confirmed", "callid",
                      "a84b4c76e66710@pc33.example.com", "from_uri", "sip:alice@example.com",
                      "to_uri", "sip:bob@example.com", "caller_tag", "1928301774", "callee_tag",
                      "a6c85cf", "caller_contact", "sip:alice@192.0.2.10:5060", "callee_contact",
                      "sip:bob@192.0.2.20:5060", "caller_cseq", 314159, "callee_cseq", 0, "flags",
                      "bye-on-timeout", "age_s", 125, "lifetime_left_s", 3475, "end_reason",
                      "worker", 1);
        if (ctx) {
            json_object_set_new(d, "values",
                                json_pack("{s:i, s:s}", "billing_id", 42, "route", "gw1"));
            json_object_set_new(d, "profiles",
                                json_pack("[{s:s, s:s}, {s:s, s:n}]", "name", "caller", "value",
                                          "alice", "name", "calls", "value"));
            json_object_set_new(d, "context", json_pack("{s:s}", "codec", "opus"));
        }
    } else {
        d = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:i, s:i, s:[], s:i, "
                      "s:n, s:n, s:i}",
                      "id", "00a1b2c3d4e5f602", "state", 2, "state_name", "early", "callid",
                      "b2@host.example.org", "from_uri", "sip:carol@example.com", "to_uri",
                      "sip:dave@example.com", "caller_tag", "c1", "callee_tag", "d2",
                      "caller_contact", "sip:carol@192.0.2.30", "callee_contact", "caller_cseq", 1,
                      "callee_cseq", 0, "flags", "age_s", 3, "lifetime_left_s", "end_reason",
                      "worker", 0);
        if (ctx) {
            json_object_set_new(d, "values", json_object());
            json_object_set_new(d, "profiles", json_pack("[{s:s, s:n}]", "name", "calls", "value"));
            json_object_set_new(d, "context", json_object());
        }
    }
    return d;
}

static bool matches(json_t *d, json_t *params, int which)
{
    json_t *state = json_object_get(params, "state");
    if (state && json_integer_value(state) != json_integer_value(json_object_get(d, "state")))
        return false;
    const char *callid = str(params, "callid");
    if (callid && strcmp(callid, str(d, "callid")) != 0)
        return false;
    const char *profile = str(params, "profile");
    const char *value = str(params, "value");
    if (profile && strcmp(profile, "calls") == 0)
        return !value;
    if (profile) /* "caller": dialog 1 only, value alice */
        return which == 1 && strcmp(profile, "caller") == 0 && (!value || !strcmp(value, "alice"));
    return true;
}

static json_t *list(json_t *params, int *code, const char **message, bool *owned, bool ctx)
{
    if (record_call(ctx ? "dlg.list_ctx" : "dlg.list", params, code, message, owned))
        return NULL;
    json_t *limit = json_object_get(params, "limit");
    json_t *out = json_array();
    size_t matched = 0;
    for (int which = 1; which <= 2; which++) {
        json_t *d = dialog(which, ctx);
        if (!matches(d, params, which)) {
            json_decref(d);
            continue;
        }
        matched++;
        if (limit && json_array_size(out) >= (size_t)json_integer_value(limit))
            json_decref(d);
        else
            json_array_append_new(out, d);
    }
    return json_pack("{s:I, s:o}", "count", (json_int_t)matched, "dialogs", out);
}

/* ------------------------------------------------------------ methods */

#define METHOD(fn)                                                                                 \
    static json_t *fn(json_t *params, int *code, const char **message, bool *owned, void *arg)

METHOD(m_version)
{
    if (record_call(arg, params, code, message, owned))
        return NULL;
    return json_pack("{s:s, s:i, s:s}", "version", "0.1.0", "uptime_s", 3725, "started",
                     "2026-11-23T17:00:00Z");
}

METHOD(m_stats)
{
    if (record_call(arg, params, code, message, owned))
        return NULL;
    return json_pack("{s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i}, s:{s:i, s:i}, s:{s:i, s:i, s:i}, "
                     "s:{s:s, s:i, s:i, s:i, s:b}, s:[{s:i, s:i, s:i, s:i}, {s:i, s:i, s:i, s:i}]}",
                     "dialogs", "live", 2, "active", 1, "early", 1, "processed", 57, "expired", 3,
                     "failed", 4, "terminated", 48, "profiles", "caller", 1, "calls", 2, "proxy",
                     "requests_in", 1200, "responses_in", 1100, "transactions", 12, "store", "mode",
                     "realtime", "queued", 0, "written", 40, "errors", 0, "connected", 1, "workers",
                     "index", 0, "received", 600, "handed_out", 10, "handed_in", 12, "index", 1,
                     "received", 610, "handed_out", 12, "handed_in", 10);
}

METHOD(m_list)
{
    (void)arg;
    return list(params, code, message, owned, false);
}

METHOD(m_list_ctx)
{
    (void)arg;
    return list(params, code, message, owned, true);
}

/* The dialog named by params' id: 1, 2, or 0 (and the error set). */
static int find_dialog(json_t *params, int *code, const char **message)
{
    const char *id = str(params, "id");
    if (!id) {
        err(code, message, PL_MGMT_E_PARAMS, "id: a dialog id is needed");
        return 0;
    }
    if (strcmp(id, "00a1b2c3d4e5f601") == 0)
        return 1;
    if (strcmp(id, "00a1b2c3d4e5f602") == 0)
        return 2;
    err(code, message, PL_MGMT_E_NOT_FOUND, "no such dialog");
    return 0;
}

METHOD(m_show)
{
    if (record_call(arg, params, code, message, owned))
        return NULL;
    int which = find_dialog(params, code, message);
    return which ? dialog(which, true) : NULL;
}

METHOD(m_end)
{
    if (record_call(arg, params, code, message, owned))
        return NULL;
    const char *callid = str(params, "callid");
    if (callid) {
        if (strcmp(callid, "a84b4c76e66710@pc33.example.com") == 0)
            return json_pack("{s:s}", "ended", "00a1b2c3d4e5f601");
        return err(code, message, PL_MGMT_E_NOT_FOUND, "no such dialog");
    }
    int which = find_dialog(params, code, message);
    if (which == 2)
        return err(code, message, PL_MGMT_E_STATE, "the dialog is ending already");
    return which ? json_pack("{s:s}", "ended", str(params, "id")) : NULL;
}

METHOD(m_ok_dialog)
{
    if (record_call(arg, params, code, message, owned))
        return NULL;
    if (!find_dialog(params, code, message))
        return NULL;
    return json_pack("{s:b}", "ok", 1);
}

static bool known_profile(json_t *params, int *code, const char **message)
{
    const char *name = str(params, "name");
    if (name && (strcmp(name, "caller") == 0 || strcmp(name, "calls") == 0))
        return true;
    err(code, message, PL_MGMT_E_NOT_FOUND, "no such profile");
    return false;
}

METHOD(m_profile_size)
{
    if (record_call(arg, params, code, message, owned) || !known_profile(params, code, message))
        return NULL;
    bool caller = strcmp(str(params, "name"), "caller") == 0;
    const char *value = str(params, "value");
    int size = caller ? (value ? strcmp(value, "alice") == 0 : 1) : 2;
    return json_pack("{s:i}", "size", size);
}

METHOD(m_profile_list)
{
    if (record_call(arg, params, code, message, owned) || !known_profile(params, code, message))
        return NULL;
    if (strcmp(str(params, "name"), "caller") == 0)
        return json_pack("{s:[s]}", "dialogs", "00a1b2c3d4e5f601");
    return json_pack("{s:[s, s]}", "dialogs", "00a1b2c3d4e5f601", "00a1b2c3d4e5f602");
}

METHOD(m_profile_values)
{
    if (record_call(arg, params, code, message, owned) || !known_profile(params, code, message))
        return NULL;
    if (strcmp(str(params, "name"), "calls") == 0)
        return err(code, message, PL_MGMT_E_PARAMS, "profile calls has no values");
    return json_pack("{s:{s:i, s:i}}", "values", "bob", 0, "alice", 1);
}

METHOD(m_profile_all)
{
    if (record_call(arg, params, code, message, owned))
        return NULL;
    return json_pack("{s:[{s:s, s:b, s:i}, {s:s, s:b, s:i}]}", "profiles", "name", "caller",
                     "has_value", 1, "size", 1, "name", "calls", "has_value", 0, "size", 2);
}

METHOD(m_profile_end)
{
    if (record_call(arg, params, code, message, owned) || !known_profile(params, code, message))
        return NULL;
    return json_pack("{s:i}", "ended", strcmp(str(params, "name"), "caller") == 0 ? 1 : 2);
}

METHOD(m_reg_list)
{
    if (record_call(arg, params, code, message, owned))
        return NULL;
    const char *aor = str(params, "aor");
    json_t *all = json_pack(
        "[{s:s, s:s, s:i, s:f, s:n, s:s, s:i, s:s, s:s}, {s:s, s:s, s:i, s:f, s:s, s:s, s:i, "
        "s:s, s:s}]",
        "aor", "sip:alice@example.com", "contact", "<sip:alice@192.0.2.10:5060>", "expires_in_s",
        3599, "q", 1.0, "path", "call_id", "reg-a1@192.0.2.10", "cseq", 7, "user_agent", "baresip",
        "source", "udp:192.0.2.10:5060", "aor", "sip:bob@example.com", "contact",
        "<sip:bob@192.0.2.20:5062;transport=tcp>", "expires_in_s", 75, "q", 0.5, "path",
        "<sip:edge.example.com;lr>", "call_id", "reg-b1@192.0.2.20", "cseq", 2, "user_agent",
        "SIPp", "source", "tcp:192.0.2.20:40123");
    json_t *out = json_array();
    size_t i;
    json_t *b;
    json_array_foreach(all, i, b)
    {
        if (!aor || strcmp(aor, str(b, "aor")) == 0)
            json_array_append(out, b);
    }
    json_decref(all);
    return json_pack("{s:o}", "bindings", out);
}

METHOD(m_reg_remove)
{
    if (record_call(arg, params, code, message, owned))
        return NULL;
    const char *aor = str(params, "aor");
    if (!aor)
        return err(code, message, PL_MGMT_E_PARAMS, "aor: an address of record is needed");
    if (strcmp(aor, "sip:nosuch@example.com") == 0)
        return err(code, message, PL_MGMT_E_NOT_FOUND, "no such registration");
    return json_pack("{s:i}", "removed", str(params, "contact") ? 1 : 2);
}

METHOD(m_reload)
{
    if (record_call(arg, params, code, message, owned))
        return NULL;
    return json_pack("{s:b, s:i}", "reloaded", 1, "workers", 2);
}

METHOD(m_store_sync)
{
    if (record_call(arg, params, code, message, owned))
        return NULL;
    return json_pack("{s:i}", "loaded", 2);
}

METHOD(m_store_restore)
{
    if (record_call(arg, params, code, message, owned))
        return NULL;
    return json_pack("{s:i}", "written", 4);
}

METHOD(m_fail_next)
{
    (void)arg, (void)owned;
    const char *method = str(params, "method");
    if (!method)
        return err(code, message, PL_MGMT_E_PARAMS, "method: a name is needed");
    pthread_mutex_lock(&lock);
    snprintf(fail_method, sizeof(fail_method), "%s", method);
    fail_code = (int)json_integer_value(json_object_get(params, "code"));
    snprintf(fail_message, sizeof(fail_message), "%s",
             str(params, "message") ? str(params, "message") : "failed");
    pthread_mutex_unlock(&lock);
    return json_true();
}

static const struct {
    const char *name;
    pl_mgmt_method_fn fn;
} METHODS[] = {
    {"core.version", m_version},
    {"stats", m_stats},
    {"dlg.list", m_list},
    {"dlg.list_ctx", m_list_ctx},
    {"dlg.show", m_show},
    {"dlg.end", m_end},
    {"dlg.set_profile", m_ok_dialog},
    {"dlg.unset_profile", m_ok_dialog},
    {"dlg.push_value", m_ok_dialog},
    {"profile.size", m_profile_size},
    {"profile.list", m_profile_list},
    {"profile.values", m_profile_values},
    {"profile.list_all", m_profile_all},
    {"profile.end", m_profile_end},
    {"reg.list", m_reg_list},
    {"reg.remove", m_reg_remove},
    {"script.reload", m_reload},
    {"store.sync", m_store_sync},
    {"store.restore", m_store_restore},
    {"test.fail_next", m_fail_next},
};

static void on_log(int level, const char *line, void *user)
{
    (void)user;
    fprintf(stderr, "%d %s\n", level, line);
}

int main(int argc, char **argv)
{
    const char *listen = "127.0.0.1:0", *token = NULL, *port_file = NULL, *record_file = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--listen") == 0)
            listen = argv[i + 1];
        else if (strcmp(argv[i], "--token") == 0)
            token = argv[i + 1];
        else if (strcmp(argv[i], "--port-file") == 0)
            port_file = argv[i + 1];
        else if (strcmp(argv[i], "--record") == 0)
            record_file = argv[i + 1];
    }
    if (!port_file || !record_file) {
        fprintf(stderr, "usage: mgmt_test_server [--listen ADDR] [--token T] --port-file F "
                        "--record F\n");
        return 2;
    }
    record = fopen(record_file, "a");
    if (!record) {
        perror(record_file);
        return 1;
    }
    /* Block the stop signals in every thread; main waits for them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    pl_mgmt *m = pl_mgmt_new(
        &(pl_mgmt_config){.listen = listen, .token = token, .log = on_log, .user = NULL});
    for (size_t i = 0; i < sizeof(METHODS) / sizeof(*METHODS); i++)
        pl_mgmt_add(m, METHODS[i].name, METHODS[i].fn, (void *)METHODS[i].name);
    pl_error e = {0};
    if (pl_mgmt_start(m, &e) != PL_OK) {
        fprintf(stderr, "mgmt_test_server: %s: %s\n", listen, e.reason);
        pl_mgmt_free(m);
        return 1;
    }
    /* The port file appears whole (rename), once the server serves. */
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
    FILE *pf = fopen(tmp, "w");
    if (!pf || fprintf(pf, "%u\n", pl_mgmt_port(m)) < 0 || fclose(pf) != 0 ||
        rename(tmp, port_file) != 0) {
        perror(port_file);
        pl_mgmt_free(m);
        return 1;
    }
    int sig;
    sigwait(&stop, &sig);
    pl_mgmt_free(m);
    fclose(record);
    return 0;
}
