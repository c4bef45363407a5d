/*
 * test_script.c - routing scripts (parley/script.h) driving a real
 * pl_proxy on a virtual clock.
 *
 * The proxy (10.0.0.10:5060, alias example.com) sends through an
 * in-memory sender (simnet.h) that logs every message with its
 * destination. The peers are scripted: the test injects a request from the
 * caller (10.0.0.1), reads what the proxy sent to a callee (10.0.0.2 or
 * 10.0.0.3), builds the callee's response to it and injects that. The
 * scripts are tests/data/scripts/features.lua (one behaviour per
 * Request-URI user part), tests/data/scripts/dialogs.lua (the dialog
 * module) and the shipped etc/parley.lua. The dialog tests give the
 * script a dialog table (parley/dialog.h) on the same proxy.
 */
#include "testutil.h"
#include "simnet.h"

#include <parley/dialog.h>
#include <parley/proxy.h>
#include <parley/script.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEATURES PARLEY_TESTDATA "/scripts/features.lua"
#define DEFAULT  PARLEY_TESTDATA "/../../etc/parley.lua"
#define DIALOGS  PARLEY_TESTDATA "/scripts/dialogs.lua"

/* ------------------------------------------------------------------ logs */

typedef struct log_line {
    pl_proxy_log_level level;
    char call_id[128];
    char text[1100];
} log_line;

#define MAX_LOGS 256
static log_line LOGS[MAX_LOGS];
static size_t NLOGS;

static void on_log(pl_proxy_log_level level, pl_str call_id, const char *line, void *user)
{
    (void)user;
    if (NLOGS == MAX_LOGS)
        return;
    log_line *l = &LOGS[NLOGS++];
    l->level = level;
    snprintf(l->call_id, sizeof(l->call_id), "%.*s", (int)call_id.len, call_id.p ? call_id.p : "");
    snprintf(l->text, sizeof(l->text), "%s", line);
}

/* The first log line holding text (and with that Call-ID when call_id is not NULL). */
static const log_line *find_log(const char *text, const char *call_id)
{
    for (size_t i = 0; i < NLOGS; i++)
        if (strstr(LOGS[i].text, text) && (!call_id || strcmp(LOGS[i].call_id, call_id) == 0))
            return &LOGS[i];
    return NULL;
}

/* ------------------------------------------------------------------ fixture */

static struct {
    pl_wheel wheel;
    sim_ep net; /* the proxy's way out: everything it sends is logged here */
    pl_target uac, uas1, uas2;
    pl_location *loc;
    pl_proxy *proxy;
    pl_script *script;
    pl_dlg_module *dlgm; /* the dialog tests only */
    pl_dlg_table *dlgs;
    unsigned seq;
} F;

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof(F));
    NLOGS = 0;
    pl_wheel_init(&F.wheel, 1000);
    sim_ep_init(&F.net, &F.wheel, "udp:10.0.0.10:5060");
    assert_int_equal(pl_target_parse(&F.uac, "udp:10.0.0.1:5060"), PL_OK);
    assert_int_equal(pl_target_parse(&F.uas1, "udp:10.0.0.2:5060"), PL_OK);
    assert_int_equal(pl_target_parse(&F.uas2, "udp:10.0.0.3:5060"), PL_OK);
    F.loc = pl_location_new(NULL);
    assert_non_null(F.loc);

    pl_proxy_config c;
    memset(&c, 0, sizeof(c));
    c.wheel = &F.wheel;
    c.sender = &F.net.sender;
    c.location = F.loc;
    c.locals[0].target = F.net.self;
    c.n_locals = 1;
    snprintf(c.aliases[0], sizeof(c.aliases[0]), "example.com");
    c.n_aliases = 1;
    c.log = on_log;
    c.log_level = PL_PROXY_LOG_DEBUG;
    F.proxy = pl_proxy_new(&c);
    assert_non_null(F.proxy);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pl_dlg_table_free(F.dlgs); /* before its proxy */
    pl_proxy_free(F.proxy);
    pl_script_free(F.script);
    pl_dlg_module_free(F.dlgm);
    pl_location_free(F.loc);
    sim_ep_free(&F.net);
    tu_free_all();
    return 0;
}

/* Load path (limits may be NULL) and make it the router. */
static void use_script(const char *path, const pl_script_limits *limits)
{
    pl_error err = {0};
    F.script = pl_script_new_limits(F.proxy, path, limits, &err);
    if (!F.script)
        fail_msg("cannot load %s: %s", path, err.reason);
    pl_script_attach(F.script);
}

/* A dialog module and the proxy's table; cfg may be NULL (defaults). */
static void use_dialogs(const pl_dlg_config *cfg)
{
    pl_dlg_config c;
    memset(&c, 0, sizeof(c));
    if (cfg)
        c = *cfg;
    c.n_tables = 1;
    c.log = on_log;
    c.log_level = PL_PROXY_LOG_DEBUG;
    F.dlgm = pl_dlg_module_new(&c);
    assert_non_null(F.dlgm);
    F.dlgs = pl_dlg_table_new(F.dlgm, 0, F.proxy);
    assert_non_null(F.dlgs);
}

/* Load path with the dialog table (if any) and vars, and make it the router. */
static void use_script_cfg(const char *path, const char *const *vars)
{
    pl_error err = {0};
    pl_script_config cfg = {.dialogs = F.dlgs, .vars = vars};
    F.script = pl_script_new_config(F.proxy, path, &cfg, &err);
    if (!F.script)
        fail_msg("cannot load %s: %s", path, err.reason);
    pl_script_attach(F.script);
}

/* Let timers that are due run (nothing here waits on real time). */
static void settle(void)
{
    pl_wheel_advance(&F.wheel, F.wheel.now + 1);
}

/* ------------------------------------------------------------------ messages */

/*
 * A request from the caller (From user from, tag "a<seq>") to ruri (also
 * its To). extra: more header lines ("" for none, each ending in \n); the
 * caller's Contact unless extra has one. Writes its Call-ID into call_id
 * (64 bytes) when not NULL.
 */
static void send_request_from(const char *from, const char *method, const char *ruri,
                              const char *extra, char *call_id)
{
    char cid[64], text[4096];
    snprintf(cid, sizeof(cid), "call-%u@test", ++F.seq);
    snprintf(text, sizeof(text),
             "%s %s SIP/2.0\n"
             "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-t%u\n"
             "Max-Forwards: 70\n"
             "From: <sip:%s@example.com>;tag=a%u\n"
             "To: <%s>\n"
             "Call-ID: %s\n"
             "CSeq: 1 %s\n"
             "%s"
             "%s"
             "Content-Length: 0\n"
             "\n",
             method, ruri, F.seq, from, F.seq, ruri, cid, method,
             strstr(extra, "Contact:") ? "" : "Contact: <sip:alice@10.0.0.1:5060>\n", extra);
    if (call_id)
        snprintf(call_id, 64, "%s", cid);
    size_t len;
    char *buf = tu_crlf(text, &len);
    pl_proxy_receive(F.proxy, buf, len, &F.uac, PL_FRAMING_DGRAM);
    settle();
}

static void send_request(const char *method, const char *ruri, const char *extra, char *call_id)
{
    send_request_from("alice", method, ruri, extra, call_id);
}

/* The i-th message (0-based) the proxy sent to dst from log index from on, or NULL. */
static pl_msg *sent_to(const pl_target *dst, size_t from, bool request, size_t nth)
{
    for (size_t i = from; i < F.net.n; i++) {
        const sim_pkt *p = &F.net.log[i];
        if (p->failed || !pl_target_eq(&p->dst, dst))
            continue;
        pl_msg *m = sim_parse(p);
        if (m->is_request != request)
            continue;
        if (nth-- == 0)
            return m;
    }
    return NULL;
}

/* The last final response the proxy sent to the caller since log index from. */
static pl_msg *final_to_caller(size_t from)
{
    pl_msg *last = NULL;
    for (size_t i = 0;; i++) {
        pl_msg *m = sent_to(&F.uac, from, false, i);
        if (!m)
            break;
        if (m->status >= 200)
            last = m;
    }
    if (!last)
        fail_msg("no final response went to the caller");
    return last;
}

/* A header's first value in m as a C string in the test arena, or NULL. */
static const char *hdr(const pl_msg *m, const char *name)
{
    int32_t i = pl_msg_hdr_find_name(m, pl_str_c(name), 0);
    if (i < 0)
        return NULL;
    pl_str v = m->hdrs[i].value;
    char *s = pl_arena_alloc(tu_arena(), v.len + 1);
    assert_non_null(s);
    memcpy(s, v.p, v.len);
    s[v.len] = '\0';
    return s;
}

/* The callee at from answers req (as the proxy sent it) with code; extra: header pairs. */
static void respond(const pl_target *from, const pl_msg *req, uint16_t code, const char *tag,
                    const char *extra_name, const char *extra_value)
{
    pl_msg resp;
    assert_int_equal(
        pl_msg_build_response(&resp, tu_arena(), req, code, PL_STR_NULL, pl_str_c(tag), NULL),
        PL_OK);
    if (extra_name)
        assert_int_equal(pl_msg_hdr_append(&resp, pl_str_c(extra_name), pl_str_c(extra_value)),
                         PL_OK);
    size_t len;
    char *buf = sim_print(&resp, &len);
    pl_proxy_receive(F.proxy, buf, len, from, PL_FRAMING_DGRAM);
    settle();
}

static void assert_ruri(const pl_msg *m, const char *uri)
{
    assert_non_null(m);
    assert_str(m->ruri_raw, uri);
}

/* ------------------------------------------------------------------ forwarding */

static void test_forward_with_edits(void **state)
{
    (void)state;
    use_script(FEATURES, NULL);
    size_t mark = F.net.n;
    send_request("INVITE", "sip:edit@example.com",
                 "Subject: original\nX-Remove: a\nX-Remove: b\nX-Twice: 0\n", NULL);

    pl_msg *fwd = sent_to(&F.uas1, mark, true, 0);
    assert_ruri(fwd, "sip:edited@10.0.0.2:5060");
    assert_string_equal(hdr(fwd, "X-Added"), "yes");
    assert_string_equal(hdr(fwd, "Subject"), "replaced");
    assert_null(hdr(fwd, "X-Remove"));
    /* set_header replaced every X-Twice with one */
    assert_string_equal(hdr(fwd, "X-Twice"), "3");
    int32_t first = pl_msg_hdr_find_name(fwd, PL_STR_LIT("X-Twice"), 0);
    assert_int_equal(pl_msg_hdr_find_name(fwd, PL_STR_LIT("X-Twice"), (uint32_t)first + 1), -1);
    /* record_route with its parameters */
    assert_int_equal(fwd->record_route_count, 1);
    assert_true(fwd->record_route->uri.lr);
    assert_str(fwd->record_route->uri.host, "10.0.0.10");
    assert_non_null(strstr(hdr(fwd, "Record-Route"), ";tag=t1"));
    /* req:log went through the proxy's log */
    assert_non_null(find_log("removed\t2", NULL));

    /* the 200 goes back up, with the Record-Route */
    respond(&F.uas1, fwd, 200, "b1", NULL, NULL);
    pl_msg *ok = final_to_caller(mark);
    assert_int_equal(ok->status, 200);
    assert_int_equal(ok->record_route_count, 1);
}

static void test_reply_with_headers(void **state)
{
    (void)state;
    use_script(FEATURES, NULL);
    size_t mark = F.net.n;
    send_request("INVITE", "sip:replyhdr@example.com", "", NULL);
    pl_msg *r = final_to_caller(mark);
    assert_int_equal(r->status, 486);
    assert_str(r->reason, "Busy Here");
    assert_string_equal(hdr(r, "X-Reason"), "testing");
    assert_string_equal(hdr(r, "Warning"), "399 proxy \"busy\"");
    int32_t a = pl_msg_hdr_find_name(r, PL_STR_LIT("X-Multi"), 0);
    assert_true(a >= 0);
    assert_str(r->hdrs[a].value, "one");
    int32_t b = pl_msg_hdr_find_name(r, PL_STR_LIT("X-Multi"), (uint32_t)a + 1);
    assert_true(b > a);
    assert_str(r->hdrs[b].value, "two");
    /* nothing was forwarded */
    assert_null(sent_to(&F.uas1, mark, true, 0));
}

static void test_request_fields(void **state)
{
    (void)state;
    use_script(FEATURES, NULL);
    size_t mark = F.net.n;
    char cid[64];
    send_request("MESSAGE", "sip:fields@example.com:5070",
                 "Subject: hello\nX-Many: 1\nx-many: 2\nX-MANY: 3\n", cid);
    pl_msg *r = final_to_caller(mark);
    assert_int_equal(r->status, 200);
    assert_string_equal(hdr(r, "X-Method"), "MESSAGE");
    assert_string_equal(hdr(r, "X-From-Tag"), "a1");
    assert_string_equal(hdr(r, "X-To-Tag"), "nil");
    assert_string_equal(hdr(r, "X-From-Uri"), "sip:alice@example.com");
    assert_string_equal(hdr(r, "X-To-Uri"), "sip:fields@example.com:5070");
    assert_string_equal(hdr(r, "X-Host"), "example.com");
    assert_string_equal(hdr(r, "X-Port"), "5070");
    assert_string_equal(hdr(r, "X-CSeq"), "1");
    /* as received: the proxy decrements Max-Forwards in each branch's copy */
    assert_string_equal(hdr(r, "X-MF"), "70");
    assert_string_equal(hdr(r, "X-Src"), "10.0.0.1:5060");
    assert_string_equal(hdr(r, "X-Transport"), "udp");
    assert_string_equal(hdr(r, "X-Body"), "");
    assert_string_equal(hdr(r, "X-Call-Id"), cid);
    assert_string_equal(hdr(r, "X-Header"), "hello");
    assert_string_equal(hdr(r, "X-Compact"), "hello");
    assert_string_equal(hdr(r, "X-Headers"), "1,2,3");
    assert_string_equal(hdr(r, "X-Missing"), "nil");
    assert_string_equal(hdr(r, "X-Dialog"), "false");
    assert_string_equal(hdr(r, "X-Requests"), "1");

    /* globals live on between requests */
    mark = F.net.n;
    send_request("MESSAGE", "sip:fields@example.com", "", NULL);
    assert_string_equal(hdr(final_to_caller(mark), "X-Requests"), "2");
}

static void test_sandbox(void **state)
{
    (void)state;
    use_script(FEATURES, NULL);
    size_t mark = F.net.n;
    send_request("OPTIONS", "sip:sandbox@example.com", "", NULL);
    pl_msg *r = final_to_caller(mark);
    assert_int_equal(r->status, 200);
    assert_string_equal(hdr(r, "X-Io"), "nil");
    assert_string_equal(hdr(r, "X-Exec"), "nil");
    assert_string_equal(hdr(r, "X-Getenv"), "nil");
    assert_string_equal(hdr(r, "X-Dofile"), "nil");
    assert_string_equal(hdr(r, "X-Loadfile"), "nil");
    assert_string_equal(hdr(r, "X-Require"), "nil");
    assert_string_equal(hdr(r, "X-Debug"), "nil");
    assert_string_equal(hdr(r, "X-Time"), "number");
    assert_string_equal(hdr(r, "X-Load"), "42");
    /* a binary chunk is refused */
    assert_string_equal(hdr(r, "X-Binary"), "true");
}

static void test_protected_headers(void **state)
{
    (void)state;
    use_script(FEATURES, NULL);
    size_t mark = F.net.n;
    send_request("OPTIONS", "sip:protected@example.com", "", NULL);
    pl_msg *r = final_to_caller(mark);
    assert_int_equal(r->status, 403);
    assert_string_equal(hdr(r, "X-Err"), "belongs to the proxy");
}

static void test_logging(void **state)
{
    (void)state;
    use_script(FEATURES, NULL);
    size_t mark = F.net.n;
    char cid[64];
    send_request("OPTIONS", "sip:printer@example.com", "", cid);
    pl_msg *r = final_to_caller(mark);
    assert_int_equal(r->status, 200);
    assert_str(r->reason, "0.1.0");
    const log_line *l = find_log("printed\t42", cid);
    assert_non_null(l);
    assert_int_equal(l->level, PL_PROXY_LOG_INFO);
    l = find_log("from parley.log", "");
    assert_non_null(l);
    assert_int_equal(l->level, PL_PROXY_LOG_WARN);
    l = find_log("from req:log", cid);
    assert_non_null(l);
    assert_int_equal(l->level, PL_PROXY_LOG_DEBUG);
}

/* ------------------------------------------------------------------ the default script */

static void test_default_register_then_invite(void **state)
{
    (void)state;
    use_script(DEFAULT, NULL);
    size_t mark = F.net.n;
    char text[512];
    snprintf(text, sizeof(text), "Contact: <sip:bob@10.0.0.2:5060>\nExpires: 600\n");
    /* REGISTER's To is the address of record: send_request puts the R-URI there */
    send_request("REGISTER", "sip:bob@example.com", text, NULL);
    pl_msg *ok = final_to_caller(mark);
    assert_int_equal(ok->status, 200);
    assert_int_equal(ok->contact_count, 1);

    mark = F.net.n;
    send_request("INVITE", "sip:bob@example.com", "", NULL);
    pl_msg *fwd = sent_to(&F.uas1, mark, true, 0);
    assert_ruri(fwd, "sip:bob@10.0.0.2:5060");
    assert_int_equal(fwd->record_route_count, 1);
    assert_str(fwd->record_route->uri.host, "10.0.0.10");
    respond(&F.uas1, fwd, 200, "bob1", NULL, NULL);
    assert_int_equal(final_to_caller(mark)->status, 200);
}

static void test_default_unknown_user_404(void **state)
{
    (void)state;
    use_script(DEFAULT, NULL);
    size_t mark = F.net.n;
    send_request("INVITE", "sip:nobody@example.com", "", NULL);
    pl_msg *r = final_to_caller(mark);
    assert_int_equal(r->status, 404);
    assert_str(r->reason, "Not Found");
    assert_null(sent_to(&F.uas1, mark, true, 0));
}

static void test_default_options_to_proxy(void **state)
{
    (void)state;
    use_script(DEFAULT, NULL);
    size_t mark = F.net.n;
    send_request("OPTIONS", "sip:10.0.0.10:5060", "", NULL);
    assert_int_equal(final_to_caller(mark)->status, 200);
}

static void test_default_foreign_domain(void **state)
{
    (void)state;
    use_script(DEFAULT, NULL);
    size_t mark = F.net.n;
    /* not ours, nobody registered: on to the Request-URI */
    send_request("MESSAGE", "sip:carol@10.0.0.3:5060", "", NULL);
    pl_msg *fwd = sent_to(&F.uas2, mark, true, 0);
    assert_ruri(fwd, "sip:carol@10.0.0.3:5060");
    respond(&F.uas2, fwd, 202, "c1", NULL, NULL);
    assert_int_equal(final_to_caller(mark)->status, 202);
}

static void test_default_in_dialog_route(void **state)
{
    (void)state;
    use_script(DEFAULT, NULL);
    /* a BYE that comes back along our Record-Route (a To tag: in a dialog) */
    size_t mark = F.net.n;
    char text[1024];
    size_t len;
    snprintf(text, sizeof(text),
             "BYE sip:bob@10.0.0.2:5060 SIP/2.0\n"
             "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-dlg1\n"
             "Max-Forwards: 70\n"
             "Route: <sip:10.0.0.10:5060;lr>\n"
             "From: <sip:alice@example.com>;tag=a-dlg\n"
             "To: <sip:bob@example.com>;tag=b-dlg\n"
             "Call-ID: dialog-1@test\n"
             "CSeq: 2 BYE\n"
             "Content-Length: 0\n"
             "\n");
    char *buf = tu_crlf(text, &len);
    pl_proxy_receive(F.proxy, buf, len, &F.uac, PL_FRAMING_DGRAM);
    settle();
    pl_msg *fwd = sent_to(&F.uas1, mark, true, 0);
    assert_ruri(fwd, "sip:bob@10.0.0.2:5060");
    assert_int_equal(fwd->route_count, 0); /* our own Route entry is gone */
    assert_int_equal(fwd->record_route_count, 0);
    respond(&F.uas1, fwd, 200, "b-dlg", NULL, NULL);
    assert_int_equal(final_to_caller(mark)->status, 200);
}

/* An in-dialog request (To tag) of Call-ID cid from the caller; route: a Route line or "". */
static void send_in_dialog(const char *method, const char *ruri, const char *route, const char *cid)
{
    char text[1024];
    size_t len;
    snprintf(text, sizeof(text),
             "%s %s SIP/2.0\n"
             "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-%s-%s\n"
             "Max-Forwards: 70\n"
             "%s"
             "From: <sip:alice@example.com>;tag=a-dlg\n"
             "To: <sip:bob@example.com>;tag=b-dlg\n"
             "Call-ID: %s\n"
             "CSeq: 2 %s\n"
             "Content-Length: 0\n"
             "\n",
             method, ruri, method, cid, route, cid, method);
    char *buf = tu_crlf(text, &len);
    pl_proxy_receive(F.proxy, buf, len, &F.uac, PL_FRAMING_DGRAM);
    settle();
}

static void test_default_ack_along_route(void **state)
{
    (void)state;
    use_script(DEFAULT, NULL);
    size_t mark = F.net.n;
    send_in_dialog("ACK", "sip:bob@10.0.0.2:5060", "Route: <sip:10.0.0.10:5060;lr>\n", "ack-1");
    pl_msg *ack = sent_to(&F.uas1, mark, true, 0);
    assert_non_null(ack);
    assert_str(ack->method, "ACK");
    assert_int_equal(ack->route_count, 0);
    assert_null(sent_to(&F.uac, mark, false, 0)); /* nothing answered */
}

static void test_default_in_dialog_for_me(void **state)
{
    (void)state;
    use_script(DEFAULT, NULL);
    /* in a dialog, no Route, and the Request-URI names the proxy: nobody here */
    size_t mark = F.net.n;
    send_in_dialog("BYE", "sip:bob@10.0.0.10:5060", "", "dlg-me");
    pl_msg *r = final_to_caller(mark);
    assert_int_equal(r->status, 404);
    assert_str(r->reason, "Not Here");
    /* the ACK of such a dialog is dropped: nothing sent at all */
    mark = F.net.n;
    send_in_dialog("ACK", "sip:bob@10.0.0.10:5060", "", "dlg-me-ack");
    assert_int_equal(F.net.n, mark);
}

static void test_ack_cannot_be_answered(void **state)
{
    (void)state;
    use_script(FEATURES, NULL);
    size_t mark = F.net.n;
    send_in_dialog("ACK", "sip:bob@10.0.0.2:5060", "", "ack-2");
    assert_non_null(find_log("ack reply\tfalse\treply: an ACK cannot be answered", "ack-2"));
    assert_int_equal(F.net.n, mark);
}

/* ------------------------------------------------------------------ errors */

static void test_runtime_error_500(void **state)
{
    (void)state;
    use_script(FEATURES, NULL);
    size_t mark = F.net.n;
    char cid[64];
    send_request("INVITE", "sip:error@example.com", "", cid);
    pl_msg *r = final_to_caller(mark);
    assert_int_equal(r->status, 500);
    assert_str(r->reason, "Script Error");
    const log_line *l = find_log("traceback", cid);
    assert_non_null(l);
    assert_int_equal(l->level, PL_PROXY_LOG_ERROR);
    assert_non_null(strstr(l->text, "features.lua:"));
    assert_non_null(strstr(l->text, "on_request"));
    assert_null(strchr(l->text, '\n')); /* one line */
}

static void test_bad_ruri_raises(void **state)
{
    (void)state;
    use_script(FEATURES, NULL);
    size_t mark = F.net.n;
    char cid[64];
    send_request("INVITE", "sip:badruri@example.com", "", cid);
    assert_int_equal(final_to_caller(mark)->status, 500);
    assert_non_null(find_log("bad URI 'not a uri'", cid));
}

static void test_refused_edits(void **state)
{
    (void)state;
    use_script(FEATURES, NULL);
    size_t mark = F.net.n;
    char cid[64];
    send_request("MESSAGE", "sip:badedits@example.com", "", cid);
    pl_msg *r = final_to_caller(mark);
    assert_int_equal(r->status, 200);
    assert_str(r->reason, "Edits");
    assert_null(hdr(r, "X-Injected"));
    assert_string_equal(hdr(r, "X-MF"), "70");
    assert_string_equal(hdr(r, "X-Count"), "6");
    assert_non_null(find_log("badedit\t1\t", cid));
    assert_non_null(find_log("badedit\t2\tset_header Max-Forwards: refused", cid));
    assert_non_null(find_log("badedit\t3\tadd_header Bad Name: refused", cid));
    assert_non_null(find_log("badedit\t4\tadd_header X-Bad: refused", cid));
    assert_non_null(find_log("badedit\t5\t", cid));
    assert_non_null(find_log("a status code is 100 to 699", cid));
    assert_non_null(find_log("q is a number from 0 to 1", cid));
}

static void test_endless_loop_stopped(void **state)
{
    (void)state;
    pl_script_limits lim = {.max_instructions = 1000000};
    use_script(FEATURES, &lim);
    size_t mark = F.net.n;
    char cid[64];
    send_request("INVITE", "sip:loop@example.com", "", cid);
    pl_msg *r = final_to_caller(mark);
    assert_int_equal(r->status, 500);
    assert_non_null(find_log("instruction limit exceeded", cid));

    /* a loop that catches the limit error is stopped too */
    mark = F.net.n;
    send_request("INVITE", "sip:loopcatch@example.com", "", cid);
    assert_int_equal(final_to_caller(mark)->status, 500);
    assert_non_null(find_log("instruction limit exceeded", cid));

    /* and the proxy goes on routing */
    mark = F.net.n;
    send_request("INVITE", "sip:replyhdr@example.com", "", NULL);
    assert_int_equal(final_to_caller(mark)->status, 486);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    pl_script_limits lim = {.max_memory = 4u * 1024u * 1024u};
    use_script(FEATURES, &lim);
    size_t mark = F.net.n;
    char cid[64];
    send_request("INVITE", "sip:oom@example.com", "", cid);
    pl_msg *r = final_to_caller(mark);
    assert_int_equal(r->status, 500);
    assert_non_null(find_log("not enough memory", cid));

    /* the garbage is collected: the next request runs normally */
    mark = F.net.n;
    send_request("INVITE", "sip:replyhdr@example.com", "", NULL);
    assert_int_equal(final_to_caller(mark)->status, 486);
}

static void test_stale_request(void **state)
{
    (void)state;
    use_script(FEATURES, NULL);
    size_t mark = F.net.n;
    send_request("OPTIONS", "sip:keep@example.com", "", NULL);
    assert_int_equal(final_to_caller(mark)->status, 200);

    /* touched in the next request's hook: a Lua error, answered 500 */
    mark = F.net.n;
    char cid[64];
    send_request("OPTIONS", "sip:stale@example.com", "", cid);
    assert_int_equal(final_to_caller(mark)->status, 500);
    assert_non_null(find_log("request no longer valid", cid));

    /* the error can be caught like any other */
    mark = F.net.n;
    send_request("OPTIONS", "sip:stalecatch@example.com", "", NULL);
    pl_msg *r = final_to_caller(mark);
    assert_int_equal(r->status, 200);
    assert_string_equal(hdr(r, "X-Err"), "no longer valid");
}

static void test_unrouted_request_500(void **state)
{
    (void)state;
    use_script(FEATURES, NULL);
    size_t mark = F.net.n;
    char cid[64];
    send_request("OPTIONS", "sip:silent@example.com", "", cid);
    pl_msg *r = final_to_caller(mark);
    assert_int_equal(r->status, 500);
    assert_str(r->reason, "Not Routed");
    assert_non_null(find_log("without forwarding or answering", cid));
}

static void test_error_after_forward_keeps_branch(void **state)
{
    (void)state;
    use_script(FEATURES, NULL);
    size_t mark = F.net.n;
    char cid[64];
    send_request("INVITE", "sip:afterfwd@example.com", "", cid);
    assert_non_null(find_log("after forwarding", cid));
    /* forwarded before the error: no 500, the callee's answer goes up */
    pl_msg *fwd = sent_to(&F.uas1, mark, true, 0);
    assert_ruri(fwd, "sip:afterfwd@10.0.0.2:5060");
    respond(&F.uas1, fwd, 200, "x1", NULL, NULL);
    assert_int_equal(final_to_caller(mark)->status, 200);
}

/* ------------------------------------------------------------------ on_failure, on_reply */

static void test_failover_on_failure(void **state)
{
    (void)state;
    use_script(FEATURES, NULL);
    size_t mark = F.net.n;
    char cid[64];
    send_request("INVITE", "sip:failover@example.com", "", cid);
    pl_msg *first = sent_to(&F.uas1, mark, true, 0);
    assert_ruri(first, "sip:first@10.0.0.2:5060");
    respond(&F.uas1, first, 486, "f1", NULL, NULL);
    assert_non_null(find_log("failing over after\t486\tBusy Here", cid));

    /* no 486 upstream: a second branch went to the second target */
    pl_msg *second = sent_to(&F.uas2, mark, true, 0);
    assert_ruri(second, "sip:second@10.0.0.3:5060");
    assert_int_equal(second->record_route_count, 1);
    for (size_t i = 0;; i++) {
        pl_msg *m = sent_to(&F.uac, mark, false, i);
        if (!m)
            break;
        assert_true(m->status < 200);
    }
    respond(&F.uas2, second, 200, "s1", NULL, NULL);
    pl_msg *ok = final_to_caller(mark);
    assert_int_equal(ok->status, 200);
    assert_non_null(strstr(hdr(ok, "To"), "tag=s1"));
}

/* Move the virtual clock on by ms, firing every timer on the way. */
static void run_for(uint64_t ms)
{
    uint64_t until = F.wheel.now + ms;
    while (F.wheel.now < until) {
        uint64_t next = pl_wheel_next_ms(&F.wheel);
        uint64_t step = next == UINT64_MAX || next > until - F.wheel.now ? until - F.wheel.now
                                                                         : (next ? next : 1);
        pl_wheel_advance(&F.wheel, F.wheel.now + step);
    }
}

/* Every branch timed out: on_failure sees the 408 and fails over. */
static void test_failover_after_timeout(void **state)
{
    (void)state;
    use_script(FEATURES, NULL);
    size_t mark = F.net.n;
    char cid[64];
    send_request("INVITE", "sip:failover@example.com", "", cid);
    assert_non_null(sent_to(&F.uas1, mark, true, 0));
    assert_null(sent_to(&F.uas2, mark, true, 0));
    run_for(40000); /* past Timer B: 64*T1 */
    assert_non_null(find_log("failing over after\t408", cid));
    pl_msg *second = sent_to(&F.uas2, mark, true, 0);
    assert_ruri(second, "sip:second@10.0.0.3:5060");
    respond(&F.uas2, second, 200, "s2", NULL, NULL);
    assert_int_equal(final_to_caller(mark)->status, 200);
}

/*
 * The callee rang, then Timer C ran out and even the CANCEL drew nothing:
 * no response to show, so on_failure sees the stand-in 408.
 */
static void test_failover_after_timer_c(void **state)
{
    (void)state;
    use_script(FEATURES, NULL);
    size_t mark = F.net.n;
    char cid[64];
    send_request("INVITE", "sip:failover@example.com", "", cid);
    pl_msg *first = sent_to(&F.uas1, mark, true, 0);
    respond(&F.uas1, first, 180, "f1", NULL, NULL);
    run_for(180000 + 40000);
    assert_non_null(find_log("failing over after\t408", cid));
    assert_non_null(sent_to(&F.uas2, mark, true, 0));
}

static void test_on_reply_edits_upstream(void **state)
{
    (void)state;
    use_script(FEATURES, NULL);
    size_t mark = F.net.n;
    char cid[64];
    send_request("INVITE", "sip:onreply@example.com", "", cid);
    pl_msg *fwd = sent_to(&F.uas1, mark, true, 0);
    assert_ruri(fwd, "sip:onreply@10.0.0.2:5060");
    respond(&F.uas1, fwd, 180, "r1", "X-Secret", "hidden");
    pl_msg *ring = NULL;
    for (size_t i = 0; (ring = sent_to(&F.uac, mark, false, i)) && ring->status != 180; i++)
        ;
    assert_non_null(ring);
    assert_string_equal(hdr(ring, "X-Seen"), "branch 1 status 180");
    assert_null(hdr(ring, "X-Secret"));
    assert_string_equal(hdr(ring, "X-Call"), cid);

    respond(&F.uas1, fwd, 200, "r1", "X-Secret", "hidden");
    pl_msg *ok = final_to_caller(mark);
    assert_int_equal(ok->status, 200);
    assert_string_equal(hdr(ok, "X-Seen"), "branch 1 status 200");
    assert_null(hdr(ok, "X-Secret"));
}

/* ------------------------------------------------------------------ loading */

static void test_syntax_error(void **state)
{
    (void)state;
    pl_error err = {0};
    assert_null(pl_script_new(F.proxy, PARLEY_TESTDATA "/scripts/syntax.lua", &err));
    assert_int_equal(err.code, PL_EPARSE);
    assert_non_null(err.reason);
    assert_non_null(strstr(err.reason, "syntax.lua:3:"));
}

static void test_missing_on_request(void **state)
{
    (void)state;
    pl_error err = {0};
    assert_null(pl_script_new(F.proxy, PARLEY_TESTDATA "/scripts/no_on_request.lua", &err));
    assert_non_null(strstr(err.reason, "no on_request"));
}

static void test_missing_file(void **state)
{
    (void)state;
    pl_error err = {0};
    assert_null(pl_script_new(F.proxy, PARLEY_TESTDATA "/scripts/no-such-file.lua", &err));
    assert_non_null(strstr(err.reason, "cannot open"));
    assert_non_null(strstr(err.reason, "no-such-file.lua"));
}

static void test_top_level_errors(void **state)
{
    (void)state;
    pl_error err = {0};
    assert_null(pl_script_new(F.proxy, PARLEY_TESTDATA "/scripts/top_error.lua", &err));
    assert_non_null(strstr(err.reason, "top_error.lua:3:"));
    assert_non_null(strstr(err.reason, "traceback"));

    pl_script_limits lim = {.max_instructions = 100000};
    assert_null(pl_script_new_limits(F.proxy, PARLEY_TESTDATA "/scripts/top_loop.lua", &lim, &err));
    assert_non_null(strstr(err.reason, "instruction limit exceeded"));
}

static void test_check(void **state)
{
    (void)state;
    pl_error err = {0};
    assert_int_equal(pl_script_check(DEFAULT, &err), PL_OK);
    assert_int_equal(pl_script_check(FEATURES, &err), PL_OK);
    assert_int_equal(pl_script_check(PARLEY_TESTDATA "/scripts/syntax.lua", &err), PL_EPARSE);
    assert_non_null(strstr(err.reason, "syntax.lua:3:"));
    assert_int_equal(pl_script_check(PARLEY_TESTDATA "/scripts/no_on_request.lua", &err),
                     PL_EPARSE);
    assert_non_null(strstr(err.reason, "no on_request"));
    assert_int_equal(pl_script_check(PARLEY_TESTDATA "/scripts/nothing.lua", &err), PL_EPARSE);
    assert_non_null(strstr(err.reason, "cannot open"));
}

/* ------------------------------------------------------------------ dialogs */

/* A call through the proxy, as the test's two ends see it. */
typedef struct call {
    char cid[64];
    char from_user[32];
    char ftag[16];    /* the caller's tag */
    char ttag[16];    /* the callee's tag */
    char rr[256];     /* the Record-Route value of the 200, the caller's Route */
    char cid_rr[256]; /* the Record-Route value the callee saw */
    char to[128];     /* the INVITE's To URI */
    char id[17];      /* the dialog's id */
    unsigned cseq;    /* the caller's last CSeq */
    unsigned ccseq;   /* the callee's last CSeq */
} call;

/* The last final response sent to dst since log index from. */
static pl_msg *final_to(const pl_target *dst, size_t from)
{
    pl_msg *last = NULL;
    for (size_t i = 0;; i++) {
        pl_msg *m = sent_to(dst, from, false, i);
        if (!m)
            break;
        if (m->status >= 200)
            last = m;
    }
    return last;
}

/* The dialog of c, looked up in C (NULL: gone). */
static pl_dlg *dlg_of(const call *c)
{
    return pl_dlg_lookup_sip(F.dlgs, pl_str_c(c->cid), pl_str_c(c->ftag), PL_STR_NULL);
}

/*
 * The caller (From user from) calls ruri_user@example.com through
 * dialogs.lua, which forwards to ruri_user@10.0.0.2. Returns the INVITE as
 * the callee got it (the call is not answered yet).
 */
static pl_msg *start_call(call *c, const char *from, const char *ruri_user)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->from_user, sizeof(c->from_user), "%s", from);
    snprintf(c->to, sizeof(c->to), "sip:%s@example.com", ruri_user);
    size_t mark = F.net.n;
    send_request_from(from, "INVITE", c->to, "", c->cid);
    snprintf(c->ftag, sizeof(c->ftag), "a%u", F.seq);
    c->cseq = 1;
    pl_msg *fwd = sent_to(&F.uas1, mark, true, 0);
    if (!fwd) {
        const pl_msg *r = final_to(&F.uac, mark);
        fail_msg("the INVITE was not forwarded (%d)", r ? (int)r->status : 0);
    }
    const char *rr = hdr(fwd, "Record-Route");
    assert_non_null(rr);
    snprintf(c->cid_rr, sizeof(c->cid_rr), "%s", rr);
    pl_dlg *d = dlg_of(c);
    assert_non_null(d);
    pl_dlg_id_print(pl_dlg_id(d), c->id);
    /* the id travels in our Record-Route */
    assert_non_null(strstr(rr, c->id));
    return fwd;
}

/* The callee answers 200 (tag ttag, with a Contact); the caller gets it. */
static void answer_call(call *c, const pl_msg *fwd, const char *ttag)
{
    snprintf(c->ttag, sizeof(c->ttag), "%s", ttag);
    size_t mark = F.net.n;
    respond(&F.uas1, fwd, 200, ttag, "Contact", "<sip:callee@10.0.0.2:5060>");
    pl_msg *ok = final_to(&F.uac, mark);
    assert_non_null(ok);
    assert_int_equal(ok->status, 200);
    const char *rr = hdr(ok, "Record-Route");
    assert_non_null(rr);
    snprintf(c->rr, sizeof(c->rr), "%s", rr);
}

/*
 * A request from the caller in the call: CSeq cseq (0: the next one; the
 * ACK: the INVITE's), Request-URI ruri (NULL: the callee's Contact), our
 * Record-Route as Route (plus extra_route when not NULL), extra header
 * lines.
 */
static void caller_sends(call *c, const char *method, unsigned cseq, const char *ruri,
                         const char *extra_route, const char *extra)
{
    if (strcmp(method, "ACK") == 0)
        cseq = 1;
    else if (cseq == 0)
        cseq = c->cseq + 1;
    if (cseq > c->cseq)
        c->cseq = cseq;
    char text[2048];
    snprintf(text, sizeof(text),
             "%s %s SIP/2.0\n"
             "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-%s-%u-%s\n"
             "Max-Forwards: 70\n"
             "Route: %s%s%s\n"
             "From: <sip:%s@example.com>;tag=%s\n"
             "To: <%s>;tag=%s\n"
             "Call-ID: %s\n"
             "CSeq: %u %s\n"
             "Contact: <sip:%s@10.0.0.1:5060>\n"
             "%s"
             "Content-Length: 0\n"
             "\n",
             method, ruri ? ruri : "sip:callee@10.0.0.2:5060", method, cseq, c->ftag, c->rr,
             extra_route ? ", " : "", extra_route ? extra_route : "", c->from_user, c->ftag, c->to,
             c->ttag, c->cid, cseq, method, c->from_user, extra ? extra : "");
    size_t len;
    char *buf = tu_crlf(text, &len);
    pl_proxy_receive(F.proxy, buf, len, &F.uac, PL_FRAMING_DGRAM);
    settle();
}

/* The callee sends BYE toward the caller, along the route it saw. */
static void callee_sends_bye(call *c)
{
    char text[2048];
    c->ccseq++;
    snprintf(text, sizeof(text),
             "BYE sip:%s@10.0.0.1:5060 SIP/2.0\n"
             "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-cbye-%u-%s\n"
             "Max-Forwards: 70\n"
             "Route: %s\n"
             "From: <%s>;tag=%s\n"
             "To: <sip:%s@example.com>;tag=%s\n"
             "Call-ID: %s\n"
             "CSeq: %u BYE\n"
             "Content-Length: 0\n"
             "\n",
             c->from_user, c->ccseq, c->ttag, c->cid_rr, c->to, c->ttag, c->from_user, c->ftag,
             c->cid, c->ccseq);
    size_t len;
    char *buf = tu_crlf(text, &len);
    pl_proxy_receive(F.proxy, buf, len, &F.uas1, PL_FRAMING_DGRAM);
    settle();
}

/* An INVITE answered and acknowledged: the dialog is confirmed (state 4). */
static void confirmed_call(call *c, const char *from, const char *ruri_user)
{
    pl_msg *fwd = start_call(c, from, ruri_user);
    answer_call(c, fwd, "b1");
    caller_sends(c, "ACK", 0, NULL, NULL, NULL);
    pl_dlg *d = dlg_of(c);
    assert_non_null(d);
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_CONFIRMED);
}

/* A MESSAGE about c's dialog to the script (user names the action); returns the answer. */
static pl_msg *ask_script(const call *c, const char *user)
{
    char ruri[64], extra[64];
    snprintf(ruri, sizeof(ruri), "sip:%s@example.com", user);
    snprintf(extra, sizeof(extra), "X-Dialog: %s\n", c ? c->id : "0000000000000000");
    size_t mark = F.net.n;
    send_request("MESSAGE", ruri, extra, NULL);
    pl_msg *r = final_to(&F.uac, mark);
    assert_non_null(r);
    return r;
}

/* The script's "in-dialog" log line for a request of Call-ID cid and method, or NULL. */
static const char *in_dialog_log(const char *cid, const char *method)
{
    char key[64];
    snprintf(key, sizeof(key), "in-dialog\t%s\t", method);
    const log_line *l = NULL;
    for (size_t i = 0; i < NLOGS; i++)
        if (strstr(LOGS[i].text, key) && strcmp(LOGS[i].call_id, cid) == 0)
            l = &LOGS[i];
    return l ? l->text : NULL;
}

static void assert_no_script_error(void)
{
    const log_line *l = find_log("script error", NULL);
    if (l)
        fail_msg("%s", l->text);
}

static void test_dialog_create_and_state(void **state)
{
    (void)state;
    use_dialogs(NULL);
    use_script_cfg(DIALOGS, NULL);
    call c;
    pl_msg *fwd = start_call(&c, "alice", "create");
    assert_no_script_error();
    pl_dlg *d = dlg_of(&c);
    assert_int_equal(pl_dlg_state_of(d), PL_DLG_UNCONFIRMED);
    assert_int_equal(pl_dlg_flags(d), PL_DLG_F_BYE_ON_TIMEOUT);

    pl_msg *r = ask_script(&c, "peek");
    assert_string_equal(hdr(r, "X-State"), "1");
    assert_string_equal(hdr(r, "X-To-Tag"), "nil");
    assert_string_equal(hdr(r, "X-Value"), "7");
    assert_string_equal(hdr(r, "X-In"), "true");

    respond(&F.uas1, fwd, 180, "b1", NULL, NULL);
    r = ask_script(&c, "peek");
    assert_string_equal(hdr(r, "X-State"), "2");
    /* on_reply finds the dialog of the response's request */
    char line_180[64];
    snprintf(line_180, sizeof(line_180), "reply\t180\t%s", c.id);
    assert_non_null(find_log(line_180, c.cid));

    answer_call(&c, fwd, "b1");
    r = ask_script(&c, "peek");
    assert_string_equal(hdr(r, "X-State"), "3");
    assert_string_equal(hdr(r, "X-To-Tag"), "b1");

    /* the ACK is matched, goes downstream, and confirms the dialog */
    caller_sends(&c, "ACK", 0, NULL, NULL, NULL);
    const char *line = in_dialog_log(c.cid, "ACK");
    assert_non_null(line);
    assert_non_null(strstr(line, "\tdownstream\t"));
    assert_non_null(strstr(line, c.id));
    r = ask_script(&c, "peek");
    assert_string_equal(hdr(r, "X-State"), "4");
    assert_string_equal(hdr(r, "X-End-Reason"), "nil");

    /* a BYE from the callee goes upstream and ends it */
    size_t mark = F.net.n;
    callee_sends_bye(&c);
    line = in_dialog_log(c.cid, "BYE");
    assert_non_null(line);
    assert_non_null(strstr(line, "\tupstream\t"));
    pl_msg *bye = sent_to(&F.uac, mark, true, 0);
    assert_non_null(bye);
    respond(&F.uac, bye, 200, c.ftag, NULL, NULL);
    r = ask_script(&c, "peek");
    if (!hdr(r, "X-Gone")) {
        assert_string_equal(hdr(r, "X-State"), "5");
        assert_string_equal(hdr(r, "X-End-Reason"), "Upstream BYE");
    }
    assert_no_script_error();
}

static void test_dialog_create_refused(void **state)
{
    (void)state;
    pl_dlg_config cfg = {.max_dialogs = 1};
    use_dialogs(&cfg);
    use_script_cfg(DIALOGS, NULL);
    pl_msg *r = ask_script(NULL, "notinvite");
    assert_non_null(strstr(hdr(r, "X-Err"), "not an initial INVITE"));

    call c;
    start_call(&c, "alice", "plain");
    size_t mark = F.net.n;
    send_request("INVITE", "sip:plain@example.com", "", NULL);
    r = final_to(&F.uac, mark);
    assert_int_equal(r->status, 503);
    assert_non_null(strstr(hdr(r, "X-Err"), "too many dialogs"));
}

static void test_dialog_profiles(void **state)
{
    (void)state;
    use_dialogs(NULL);
    use_script_cfg(DIALOGS, NULL);
    call a1, a2, b1;
    pl_msg *f1 = start_call(&a1, "alice", "profiles");
    start_call(&a2, "alice", "profiles");
    start_call(&b1, "bob", "profiles");
    assert_no_script_error();
    /* what the script saw when it set the third */
    assert_non_null(find_log("profiles\tbob\t1\t3\t3", b1.cid));
    assert_non_null(find_log("values\talice=2,bob=1", b1.cid));

    pl_dlg_profile *caller = pl_dlg_profile_find(F.dlgm, PL_STR_LIT("caller"));
    pl_dlg_profile *all = pl_dlg_profile_find(F.dlgm, PL_STR_LIT("all"));
    assert_non_null(caller);
    assert_non_null(all);
    assert_true(pl_dlg_profile_has_value(caller));
    assert_false(pl_dlg_profile_has_value(all));
    assert_int_equal(pl_dlg_profile_size(caller, PL_STR_LIT("alice")), 2);
    assert_int_equal(pl_dlg_profile_size(caller, PL_STR_LIT("bob")), 1);
    assert_int_equal(pl_dlg_profile_size(caller, PL_STR_LIT("temp")), 0);
    assert_int_equal(pl_dlg_profile_size(all, PL_STR_NULL), 3);

    /* a call that fails leaves its profiles */
    respond(&F.uas1, f1, 486, "x1", NULL, NULL);
    assert_int_equal(pl_dlg_profile_size(caller, PL_STR_LIT("alice")), 1);
    assert_int_equal(pl_dlg_profile_size(all, PL_STR_NULL), 2);
}

static void test_dialog_values(void **state)
{
    (void)state;
    use_dialogs(NULL);
    use_script_cfg(DIALOGS, NULL);
    call c;
    start_call(&c, "alice", "values");
    assert_no_script_error();
    pl_dlg *d = dlg_of(&c);
    pl_dlg_value v;
    assert_int_equal(pl_dlg_value_get(d, PL_STR_LIT("s"), &v), PL_OK);
    assert_int_equal(v.type, PL_DLG_V_STR);
    assert_str(v.s, "replaced");
    assert_int_equal(pl_dlg_value_get(d, PL_STR_LIT("f"), &v), PL_OK);
    assert_int_equal(v.type, PL_DLG_V_INT);
    assert_int_equal(v.i, 3);
    /* the last set_value("i", 7) of on_request replaced 42 */
    assert_int_equal(pl_dlg_value_get(d, PL_STR_LIT("i"), &v), PL_OK);
    assert_int_equal(v.i, 7);
    assert_int_equal(pl_dlg_value_get(d, PL_STR_LIT("n"), &v), PL_ENOTFOUND);
}

/* Run the clock on until c's dialog is freed (bounded). */
static void until_freed(const call *c)
{
    for (int i = 0; i < 600 && dlg_of(c); i++)
        run_for(1000);
    assert_null(dlg_of(c));
}

/* The BYE the proxy sent to dst since mark, or a test failure. */
static pl_msg *bye_to(const pl_target *dst, size_t mark)
{
    for (size_t i = 0;; i++) {
        pl_msg *m = sent_to(dst, mark, true, i);
        if (!m)
            fail_msg("no BYE was sent");
        if (m->method_id == PL_METHOD_BYE)
            return m;
    }
}

static void test_dialog_terminate(void **state)
{
    (void)state;
    use_dialogs(NULL);
    use_script_cfg(DIALOGS, NULL);
    call c;
    confirmed_call(&c, "alice", "plain");
    size_t mark = F.net.n;
    pl_msg *r = ask_script(&c, "kill");
    assert_int_equal(r->status, 200);
    assert_no_script_error();
    assert_true(strncmp(hdr(r, "X-Again"), "true", 4) != 0);

    /* a BYE each way, in the dialog, with the extra header */
    pl_msg *up = bye_to(&F.uac, mark);
    pl_msg *down = bye_to(&F.uas1, mark);
    assert_str(up->call_id, c.cid);
    assert_str(down->call_id, c.cid);
    assert_str(up->to->tag, c.ftag);
    assert_str(down->to->tag, c.ttag);
    assert_string_equal(hdr(up, "Reason"), "Q.850;cause=16");
    assert_string_equal(hdr(down, "Reason"), "Q.850;cause=16");
    assert_ruri(down, "sip:callee@10.0.0.2:5060");
    pl_dlg *d = dlg_of(&c);
    if (d) {
        assert_int_equal(pl_dlg_state_of(d), PL_DLG_DELETED);
        assert_str(pl_dlg_end_reason(d), "Killed By Test");
    }
    respond(&F.uac, up, 200, c.ftag, NULL, NULL);
    respond(&F.uas1, down, 200, c.ttag, NULL, NULL);
    until_freed(&c);
}

static void test_dialog_terminate_by_id(void **state)
{
    (void)state;
    use_dialogs(NULL);
    use_script_cfg(DIALOGS, NULL);
    call c;
    confirmed_call(&c, "alice", "plain");
    size_t mark = F.net.n;
    pl_msg *r = ask_script(&c, "killid");
    assert_int_equal(r->status, 200);
    assert_no_script_error();
    /* queued for the table's loop: nothing is sent before it runs */
    pl_dlg_table_run(F.dlgs);
    settle();
    pl_msg *up = bye_to(&F.uac, mark);
    pl_msg *down = bye_to(&F.uas1, mark);
    assert_string_equal(hdr(up, "X-Why"), "test");
    assert_string_equal(hdr(down, "X-Who"), "script");
    pl_dlg *d = dlg_of(&c);
    if (d)
        assert_str(pl_dlg_end_reason(d), "Killed By Id");
}

static void test_dialog_validate(void **state)
{
    (void)state;
    use_dialogs(NULL);
    use_script_cfg(DIALOGS, NULL);
    call c;
    confirmed_call(&c, "alice", "plain");

    /* a CSeq that is not above the INVITE's */
    caller_sends(&c, "INFO", 1, NULL, NULL, NULL);
    const char *line = in_dialog_log(c.cid, "INFO");
    assert_non_null(line);
    assert_non_null(strstr(line, "\t-1\tbad cseq"));

    /* a Request-URI that is not the callee's Contact */
    size_t mark = F.net.n;
    caller_sends(&c, "INFO", 0, "sip:other@10.0.0.3:5060", NULL, NULL);
    assert_non_null(strstr(in_dialog_log(c.cid, "INFO"), "\t-2\tbad target"));
    assert_non_null(sent_to(&F.uas2, mark, true, 0)); /* routed as it came */

    /* the same, repaired: it goes to the stored target */
    mark = F.net.n;
    caller_sends(&c, "INFO", 0, "sip:other@10.0.0.3:5060", NULL, "X-Fix: yes\n");
    assert_non_null(strstr(in_dialog_log(c.cid, "INFO"), "\t-2\tbad target"));
    assert_null(sent_to(&F.uas2, mark, true, 0));
    assert_ruri(sent_to(&F.uas1, mark, true, 0), "sip:callee@10.0.0.2:5060");

    /* a Route set that is not the stored one */
    caller_sends(&c, "INFO", 0, NULL, "<sip:10.0.0.9:5060;lr>", NULL);
    assert_non_null(strstr(in_dialog_log(c.cid, "INFO"), "\t-3\tbad route"));

    /* a good one */
    caller_sends(&c, "INFO", 0, NULL, NULL, "X-Match: sip\n");
    assert_non_null(strstr(in_dialog_log(c.cid, "INFO"), "\t1\tok"));
    char matched[64];
    snprintf(matched, sizeof(matched), "matched\t%s", c.id);
    assert_non_null(find_log(matched, c.cid));
    assert_no_script_error();
}

static void test_dialog_stale_object(void **state)
{
    (void)state;
    use_dialogs(NULL);
    use_script_cfg(DIALOGS, NULL);
    call c;
    confirmed_call(&c, "alice", "plain");
    assert_int_equal(ask_script(&c, "keep")->status, 200);

    size_t mark = F.net.n;
    caller_sends(&c, "BYE", 0, NULL, NULL, NULL);
    pl_msg *bye = sent_to(&F.uas1, mark, true, 0);
    assert_non_null(bye);
    respond(&F.uas1, bye, 200, c.ttag, NULL, NULL);
    until_freed(&c);

    pl_msg *r = ask_script(&c, "stale");
    assert_int_equal(r->status, 200);
    char want[64];
    snprintf(want, sizeof(want), "dialog %s no longer exists", c.id);
    assert_non_null(strstr(hdr(r, "X-Err"), want));
    snprintf(want, sizeof(want), "dialog %s (gone)", c.id);
    assert_string_equal(hdr(r, "X-String"), want);
    assert_non_null(hdr(ask_script(&c, "peek"), "X-Gone"));
}

static void test_dialog_stats(void **state)
{
    (void)state;
    use_dialogs(NULL);
    use_script_cfg(DIALOGS, NULL);
    call c, e;
    confirmed_call(&c, "alice", "plain");
    pl_msg *fwd = start_call(&e, "bob", "plain");
    respond(&F.uas1, fwd, 180, "r1", NULL, NULL);
    pl_msg *r = ask_script(NULL, "stats");
    assert_string_equal(hdr(r, "X-Stats"),
                        "active=1 early=1 processed=2 expired=0 failed=0 terminated=0 live=2");
}

static void test_dialog_tracking_off(void **state)
{
    (void)state;
    use_script_cfg(DIALOGS, NULL); /* no dialog table */
    pl_msg *r = ask_script(NULL, "off");
    assert_int_equal(r->status, 200);
    assert_non_null(strstr(hdr(r, "X-Err"), "dialog.create: dialog tracking is off"));
    assert_non_null(strstr(hdr(r, "X-Err2"), "dialog.profile_size: dialog tracking is off"));
}

static void test_config_table(void **state)
{
    (void)state;
    static const char *const vars[] = {
        "caller_limit=2", "name=parley", "neg=-5", "big=99999999999999999999", "empty=", "noequals",
        "=nameless",      "name=last",   NULL,
    };
    use_script_cfg(DIALOGS, vars);
    pl_msg *r = ask_script(NULL, "config");
    assert_int_equal(r->status, 200);
    assert_string_equal(hdr(r, "X-Limit"), "integer 2");
    assert_string_equal(hdr(r, "X-Name"), "string last");
    assert_string_equal(hdr(r, "X-Neg"), "integer -5");
    assert_string_equal(hdr(r, "X-Big"), "string 99999999999999999999");
    assert_string_equal(hdr(r, "X-Empty"), "string []");
    assert_string_equal(hdr(r, "X-Missing"), "nil");
    assert_string_equal(hdr(r, "X-Count"), "5");
    assert_non_null(strstr(hdr(r, "X-Err"), "config is read-only"));
}

/* ---- the default script's caller limit */

/* bob registers at 10.0.0.2 (through the default script). */
static void register_bob(void)
{
    size_t mark = F.net.n;
    send_request("REGISTER", "sip:bob@example.com",
                 "Contact: <sip:bob@10.0.0.2:5060>\nExpires: 600\n", NULL);
    assert_int_equal(final_to(&F.uac, mark)->status, 200);
}

/* from calls bob: the INVITE as bob got it, or NULL with *status the caller's answer. */
static pl_msg *call_bob(call *c, const char *from, int *status)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->from_user, sizeof(c->from_user), "%s", from);
    snprintf(c->to, sizeof(c->to), "sip:bob@example.com");
    size_t mark = F.net.n;
    send_request_from(from, "INVITE", c->to, "", c->cid);
    snprintf(c->ftag, sizeof(c->ftag), "a%u", F.seq);
    c->cseq = 1;
    pl_msg *fwd = sent_to(&F.uas1, mark, true, 0);
    const pl_msg *r = final_to(&F.uac, mark);
    *status = r ? r->status : 0;
    if (fwd) {
        const char *rr = hdr(fwd, "Record-Route");
        assert_non_null(rr);
        snprintf(c->cid_rr, sizeof(c->cid_rr), "%s", rr);
    }
    return fwd;
}

static void test_default_caller_limit(void **state)
{
    (void)state;
    static const char *const vars[] = {"caller_limit=2", NULL};
    use_dialogs(NULL);
    use_script_cfg(DEFAULT, vars);
    register_bob();
    pl_dlg_profile *caller = pl_dlg_profile_find(F.dlgm, PL_STR_LIT("caller"));
    assert_non_null(caller);

    call a1, a2, a3, c1, a4;
    int status;
    pl_msg *f1 = call_bob(&a1, "alice", &status);
    assert_non_null(f1);
    assert_non_null(call_bob(&a2, "alice", &status));
    assert_int_equal(pl_dlg_profile_size(caller, PL_STR_LIT("alice")), 2);

    /* the third at once: busy, and said in the log */
    assert_null(call_bob(&a3, "alice", &status));
    assert_int_equal(status, 486);
    const log_line *l = find_log("caller alice has 2 calls, the limit is 2: 486", a3.cid);
    assert_non_null(l);
    assert_int_equal(pl_dlg_profile_size(caller, PL_STR_LIT("alice")), 2);

    /* someone else is not limited */
    assert_non_null(call_bob(&c1, "carol", &status));
    assert_int_equal(pl_dlg_profile_size(caller, PL_STR_LIT("carol")), 1);

    /* the first call is answered, acknowledged and hung up by alice */
    answer_call(&a1, f1, "bob1");
    caller_sends(&a1, "ACK", 0, NULL, NULL, NULL);
    size_t mark = F.net.n;
    caller_sends(&a1, "BYE", 0, NULL, NULL, NULL);
    pl_msg *bye = sent_to(&F.uas1, mark, true, 0);
    assert_non_null(bye);
    respond(&F.uas1, bye, 200, a1.ttag, NULL, NULL);
    assert_int_equal(final_to(&F.uac, mark)->status, 200);
    assert_int_equal(pl_dlg_profile_size(caller, PL_STR_LIT("alice")), 1);

    /* and alice may call again */
    assert_non_null(call_bob(&a4, "alice", &status));
    assert_int_equal(pl_dlg_profile_size(caller, PL_STR_LIT("alice")), 2);
    assert_null(find_log("script error", NULL));
}

/* Without a dialog table the default script routes as before (no limit). */
static void test_default_without_dialogs(void **state)
{
    (void)state;
    static const char *const vars[] = {"caller_limit=1", NULL};
    use_script_cfg(DEFAULT, vars);
    register_bob();
    call a1, a2;
    int status;
    assert_non_null(call_bob(&a1, "alice", &status));
    assert_non_null(call_bob(&a2, "alice", &status));
}

/* A caller_limit that is not a whole number stops the load, saying why. */
static void test_default_bad_caller_limit(void **state)
{
    (void)state;
    static const char *const vars[] = {"caller_limit=ten", NULL};
    pl_script_config cfg = {.vars = vars};
    pl_error err = {0};
    assert_null(pl_script_new_config(F.proxy, DEFAULT, &cfg, &err));
    assert_non_null(strstr(err.reason, "caller_limit must be a whole number"));
    assert_int_equal(pl_script_check_config(DEFAULT, &cfg, &err), PL_EPARSE);
    static const char *const good[] = {"caller_limit=0", NULL};
    cfg.vars = good;
    assert_int_equal(pl_script_check_config(DEFAULT, &cfg, &err), PL_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_forward_with_edits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_with_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sandbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protected_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_register_then_invite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_unknown_user_404, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_options_to_proxy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_foreign_domain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_in_dialog_route, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_ack_along_route, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_in_dialog_for_me, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_cannot_be_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runtime_error_500, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_ruri_raises, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_edits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_endless_loop_stopped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unrouted_request_500, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_after_forward_keeps_branch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_on_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_after_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_after_timer_c, setup, teardown),
        cmocka_unit_test_setup_teardown(test_on_reply_edits_upstream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_on_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_top_level_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dialog_tracking_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_without_dialogs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_bad_caller_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dialog_create_and_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dialog_create_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dialog_profiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dialog_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dialog_terminate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dialog_terminate_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dialog_validate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dialog_stale_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dialog_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_caller_limit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
