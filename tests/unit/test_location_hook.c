/*
 * test_location_hook.c - the location table's change hook (what a store
 * writes through) and pl_location_restore (what a restart puts back): the
 * hook sees every add, refresh and removal, whatever removed it (a
 * REGISTER, expiry in each call, pl_location_remove, "Contact: *"), with
 * the binding as stored; restore brings a binding back without a REGISTER
 * and without a hook call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include <parley/proxy.h>

typedef struct event {
    char aor[64];
    char contact[128];
    bool removed;
    uint64_t expires_ms;
    uint32_t cseq;
    uint16_t q;
    char path[128];
    char ua[64];
} event;

static event ev[32];
static int nev;
static pl_location *hook_loc; /* set while the hook must not be called */

static void copy(char *out, size_t cap, pl_str s)
{
    snprintf(out, cap, "%.*s", (int)s.len, s.p ? s.p : "");
}

static void on_change(const char *aor, const pl_binding *b, bool removed, void *user)
{
    assert_ptr_equal(user, &nev);
    assert_null(hook_loc);
    assert_true(nev < 32);
    event *e = &ev[nev++];
    snprintf(e->aor, sizeof(e->aor), "%s", aor);
    copy(e->contact, sizeof(e->contact), b->contact);
    copy(e->path, sizeof(e->path), b->path);
    copy(e->ua, sizeof(e->ua), b->user_agent);
    e->removed = removed;
    e->expires_ms = b->expires_ms;
    e->cseq = b->cseq;
    e->q = b->q;
}

static pl_location *new_loc(uint32_t max_contacts)
{
    nev = 0;
    hook_loc = NULL;
    return pl_location_new(&(pl_location_config){
        .min_expires = 60,
        .max_contacts = max_contacts,
        .on_change = on_change,
        .hook_user = &nev,
    });
}

static uint16_t reg(pl_location *loc, const char *contacts, const char *extra, uint32_t cseq,
                    uint64_t now)
{
    char t[2048];
    snprintf(t, sizeof(t),
             "REGISTER sip:example.com SIP/2.0\n"
             "Via: SIP/2.0/UDP 10.0.0.3:5060;branch=z9hG4bKreg%u\n"
             "Max-Forwards: 70\n"
             "From: <sip:bob@example.com>;tag=r1\n"
             "To: <sip:bob@example.com>\n"
             "Call-ID: reg-1\n"
             "CSeq: %u REGISTER\n"
             "User-Agent: phone \"1\"\n"
             "%s%s"
             "Content-Length: 0\n\n",
             cseq, cseq, contacts, extra ? extra : "");
    pl_msg m;
    pl_error err;
    assert_int_equal(tu_parse(t, &m, &err), PL_OK);
    pl_target src;
    assert_int_equal(pl_target_parse(&src, "udp:10.0.0.3:5060"), PL_OK);
    return pl_location_save(loc, &m, &src, now, NULL);
}

static void expect_event(int i, const char *contact, bool removed)
{
    assert_true(i < nev);
    assert_string_equal(ev[i].aor, "sip:bob@example.com");
    assert_string_equal(ev[i].contact, contact);
    assert_int_equal(ev[i].removed, removed);
}

/* Adds, refreshes, a removal by expires=0, an expiry in a REGISTER, and "Contact: *". */
static void test_hook_register(void **state)
{
    (void)state;
    pl_location *loc = new_loc(16);
    assert_int_equal(reg(loc, "Contact: <sip:bob@10.0.0.3>;q=0.5, <sip:bob@10.0.0.4>\n",
                         "Expires: 600\nPath: <sip:edge.example.com;lr>\n", 1, 1000),
                     200);
    assert_int_equal(nev, 2);
    expect_event(0, "sip:bob@10.0.0.3", false);
    expect_event(1, "sip:bob@10.0.0.4", false);
    assert_int_equal(ev[0].expires_ms, 1000 + 600000);
    assert_int_equal(ev[0].q, 500);
    assert_int_equal(ev[1].q, 1000);
    assert_int_equal(ev[0].cseq, 1);
    assert_string_equal(ev[0].path, "<sip:edge.example.com;lr>");
    assert_string_equal(ev[0].ua, "phone \"1\"");

    /* A refresh of one: one event with the new expiry. */
    nev = 0;
    assert_int_equal(reg(loc, "Contact: <sip:bob@10.0.0.3>;expires=120\n", NULL, 2, 2000), 200);
    assert_int_equal(nev, 1);
    expect_event(0, "sip:bob@10.0.0.3", false);
    assert_int_equal(ev[0].expires_ms, 2000 + 120000);
    assert_int_equal(ev[0].cseq, 2);

    /* Removed by expires=0, reported with the binding as stored. */
    nev = 0;
    assert_int_equal(reg(loc, "Contact: <sip:bob@10.0.0.4>;expires=0\n", NULL, 3, 3000), 200);
    assert_int_equal(nev, 1);
    expect_event(0, "sip:bob@10.0.0.4", true);

    /* A refused REGISTER (an old CSeq for a binding of that Call-ID, 10.3 step 7) changes
     * nothing and says nothing, not even for its other contact. */
    nev = 0;
    assert_int_equal(reg(loc, "Contact: <sip:bob@10.0.0.5>, <sip:bob@10.0.0.3>\n", NULL, 2, 3000),
                     500);
    assert_int_equal(nev, 0);

    /* The next REGISTER, after 10.0.0.3 expired: its removal, then the add. */
    nev = 0;
    assert_int_equal(reg(loc, "Contact: <sip:bob@10.0.0.6>\n", "Expires: 600\n", 4, 200000), 200);
    assert_int_equal(nev, 2);
    expect_event(0, "sip:bob@10.0.0.3", true);
    expect_event(1, "sip:bob@10.0.0.6", false);

    /* "Contact: *": every binding, removed. */
    assert_int_equal(reg(loc, "Contact: <sip:bob@10.0.0.7>\n", "Expires: 600\n", 5, 200000), 200);
    nev = 0;
    assert_int_equal(reg(loc, "Contact: *\n", "Expires: 0\n", 6, 200000), 200);
    assert_int_equal(nev, 2);
    expect_event(0, "sip:bob@10.0.0.6", true);
    expect_event(1, "sip:bob@10.0.0.7", true);
    pl_location_stats ls;
    pl_location_get_stats(loc, &ls);
    assert_int_equal(ls.bindings, 0);
    pl_location_free(loc);
    tu_free_all();
}

/* pl_location_remove (one contact by URI equality, or all), expiry by lookup and by expire. */
static void test_hook_remove_expire(void **state)
{
    (void)state;
    pl_location *loc = new_loc(16);
    assert_int_equal(reg(loc, "Contact: <sip:bob@10.0.0.3;transport=udp>, <sip:bob@10.0.0.4>\n",
                         "Expires: 600\n", 1, 0),
                     200);
    nev = 0;
    /* RFC 3261 19.1.4: the parameter order and the host's case do not matter. */
    assert_int_equal(
        pl_location_remove(loc, "sip:bob@example.com", pl_str_c("sip:bob@10.0.0.3;TRANSPORT=UDP")),
        PL_OK);
    assert_int_equal(nev, 1);
    expect_event(0, "sip:bob@10.0.0.3;transport=udp", true);
    nev = 0;
    assert_int_equal(pl_location_remove(loc, "sip:bob@example.com", pl_str_c("sip:nobody@x")),
                     PL_ENOTFOUND);
    assert_int_equal(nev, 0);
    assert_int_equal(pl_location_remove(loc, "sip:bob@example.com", PL_STR_NULL), PL_OK);
    assert_int_equal(nev, 1);
    expect_event(0, "sip:bob@10.0.0.4", true);

    /* Expiry found by a lookup. */
    assert_int_equal(reg(loc, "Contact: <sip:bob@10.0.0.5>;expires=60\n", NULL, 2, 0), 200);
    nev = 0;
    pl_binding out[4];
    assert_int_equal(pl_location_lookup(loc, "sip:bob@example.com", 60000, tu_arena(), out, 4), 0);
    assert_int_equal(nev, 1);
    expect_event(0, "sip:bob@10.0.0.5", true);

    /* Expiry by the sweep: only the expired one. */
    assert_int_equal(reg(loc, "Contact: <sip:bob@10.0.0.6>;expires=60, <sip:bob@10.0.0.7>\n",
                         "Expires: 600\n", 3, 100000),
                     200);
    nev = 0;
    assert_int_equal(pl_location_expire(loc, 100000 + 60000), 1);
    assert_int_equal(nev, 1);
    expect_event(0, "sip:bob@10.0.0.6", true);
    pl_location_free(loc);
    tu_free_all();
}

/* Restore: the binding comes back whole, replaces one with the same contact, no hook call,
 * limits kept. */
static void test_restore(void **state)
{
    (void)state;
    pl_location *loc = new_loc(2);
    hook_loc = loc; /* the hook must not run from here on */
    pl_binding b = {
        .contact = pl_str_c("sip:bob@10.0.0.3:5070;transport=tcp"),
        .path = pl_str_c("<sip:edge.example.com;lr>"),
        .call_id = pl_str_c("reg-9"),
        .cseq = 77,
        .q = 300,
        .expires_ms = 500000,
        .user_agent = pl_str_c("phone \xc3\xa9"),
    };
    assert_int_equal(pl_target_parse(&b.source, "tcp:10.0.0.3:40000"), PL_OK);
    assert_int_equal(pl_location_restore(loc, "sip:bob@example.com", &b), PL_OK);
    pl_binding out[4];
    assert_int_equal(pl_location_lookup(loc, "sip:bob@example.com", 1000, tu_arena(), out, 4), 1);
    assert_str(out[0].contact, "sip:bob@10.0.0.3:5070;transport=tcp");
    assert_str(out[0].path, "<sip:edge.example.com;lr>");
    assert_str(out[0].call_id, "reg-9");
    assert_str(out[0].user_agent, "phone \xc3\xa9");
    assert_int_equal(out[0].cseq, 77);
    assert_int_equal(out[0].q, 300);
    assert_int_equal(out[0].expires_ms, 500000);
    assert_true(pl_target_eq(&out[0].source, &b.source));

    /* The same contact again (equal as URIs): replaced, not added. */
    b.contact = pl_str_c("sip:bob@10.0.0.3:5070;TRANSPORT=TCP");
    b.cseq = 78;
    b.path = PL_STR_NULL;
    assert_int_equal(pl_location_restore(loc, "sip:bob@example.com", &b), PL_OK);
    assert_int_equal(pl_location_lookup(loc, "sip:bob@example.com", 1000, tu_arena(), out, 4), 1);
    assert_int_equal(out[0].cseq, 78);
    assert_int_equal(out[0].path.len, 0);

    /* max_contacts (2): a third contact is refused; a contact that does not parse too. */
    b.contact = pl_str_c("sip:bob@10.0.0.4");
    assert_int_equal(pl_location_restore(loc, "sip:bob@example.com", &b), PL_OK);
    b.contact = pl_str_c("sip:bob@10.0.0.5");
    assert_int_equal(pl_location_restore(loc, "sip:bob@example.com", &b), PL_ELIMIT);
    b.contact = pl_str_c("not a uri <");
    assert_int_equal(pl_location_restore(loc, "sip:alice@example.com", &b), PL_EINVAL);
    b.contact = PL_STR_NULL;
    assert_int_equal(pl_location_restore(loc, "sip:alice@example.com", &b), PL_EINVAL);
    pl_location_stats ls;
    pl_location_get_stats(loc, &ls);
    assert_int_equal(ls.aors, 1);
    assert_int_equal(ls.bindings, 2);
    assert_int_equal(nev, 0);

    /* A REGISTER after a restore refreshes the restored binding (and is told). */
    hook_loc = NULL;
    assert_int_equal(reg(loc, "Contact: <sip:bob@10.0.0.4>\n", "Expires: 600\n", 1, 2000), 200);
    assert_int_equal(nev, 1);
    expect_event(0, "sip:bob@10.0.0.4", false);
    pl_location_get_stats(loc, &ls);
    assert_int_equal(ls.bindings, 2);
    pl_location_free(loc);
    tu_free_all();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hook_register),
        cmocka_unit_test(test_hook_remove_expire),
        cmocka_unit_test(test_restore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
