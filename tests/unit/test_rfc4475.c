/*
 * test_rfc4475.c - the 49 SIP torture messages of RFC 4475.
 *
 * tests/data/rfc4475/expected.tsv gives each file's verdict from the RFC's
 * text (see EXPECTED.md there): "parse" messages must parse and pass
 * pl_msg_check with the readings listed; "reject" ones must be refused by the
 * parser; "parse-then-reject" ones parse, and the layer above refuses them
 * with the RFC's response code. Then the readings the RFC spells out for the
 * valid messages are checked one by one.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct row {
    char file[64], verdict[32], code[16], kind[16], method_or_status[128], call_id[256];
    char cseq[160], via_count[16], body_len[16];
} row;

static int split_tsv(char *line, char **cols, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        cols[n++] = p;
        char *t = strchr(p, '\t');
        if (!t)
            break;
        *t = 0;
        p = t + 1;
    }
    char *nl = strchr(cols[n - 1], '\n');
    if (nl)
        *nl = 0;
    return n;
}

static size_t load_rows(row *rows, size_t max)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/rfc4475/expected.tsv", PARLEY_TESTDATA);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[2048];
    size_t n = 0;
    while (fgets(line, sizeof(line), f) && n < max) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char *c[9];
        assert_int_equal(split_tsv(line, c, 9), 9);
        row *r = &rows[n++];
        snprintf(r->file, sizeof(r->file), "%s", c[0]);
        snprintf(r->verdict, sizeof(r->verdict), "%s", c[1]);
        snprintf(r->code, sizeof(r->code), "%s", c[2]);
        snprintf(r->kind, sizeof(r->kind), "%s", c[3]);
        snprintf(r->method_or_status, sizeof(r->method_or_status), "%s", c[4]);
        snprintf(r->call_id, sizeof(r->call_id), "%s", c[5]);
        snprintf(r->cseq, sizeof(r->cseq), "%s", c[6]);
        snprintf(r->via_count, sizeof(r->via_count), "%s", c[7]);
        snprintf(r->body_len, sizeof(r->body_len), "%s", c[8]);
    }
    fclose(f);
    return n;
}

static int parse_file(const char *name, pl_msg *m, pl_error *err)
{
    char path[128];
    size_t n;
    snprintf(path, sizeof(path), "rfc4475/%s", name);
    char *b = tu_read_file(path, &n);
    memset(err, 0, sizeof(*err));
    return pl_msg_parse(m, b, n, tu_arena(), NULL, err);
}

static void check_readings(const row *r, const pl_msg *m)
{
    if (strcmp(r->kind, "request") == 0) {
        assert_true(m->is_request);
        if (strcmp(r->method_or_status, "-") != 0)
            assert_str(m->method, r->method_or_status);
    } else {
        assert_false(m->is_request);
        if (strcmp(r->method_or_status, "-") != 0)
            assert_int_equal(m->status, atoi(r->method_or_status));
    }
    if (strcmp(r->call_id, "-") != 0)
        assert_str(m->call_id, r->call_id);
    if (strcmp(r->cseq, "-") != 0) {
        char want[160];
        snprintf(want, sizeof(want), "%u %.*s", m->cseq.num, (int)m->cseq.method.len,
                 m->cseq.method.p);
        if (strcmp(want, r->cseq) != 0)
            fail_msg("%s: CSeq %s, want %s", r->file, want, r->cseq);
    }
    if (strcmp(r->via_count, "-") != 0)
        assert_int_equal(m->via_count, atoi(r->via_count));
    if (strcmp(r->body_len, "-") != 0)
        assert_int_equal(m->body.len, strtoul(r->body_len, NULL, 10));
}

/* Every file, by its verdict. */
static void test_verdicts(void **state)
{
    (void)state;
    static row rows[64];
    size_t n = load_rows(rows, 64);
    assert_int_equal(n, 49);
    static const char *const supported[] = {"100rel", "timer", "replaces", "path", NULL};
    int parsed = 0, rejected = 0, refused = 0;
    for (size_t i = 0; i < n; i++) {
        const row *r = &rows[i];
        pl_msg m;
        pl_error err;
        int rc = parse_file(r->file, &m, &err);
        if (strcmp(r->verdict, "reject") == 0) {
            if (rc == PL_OK)
                fail_msg("%s: parsed, but RFC 4475 calls it invalid", r->file);
            assert_non_null(err.reason);
            rejected++;
        } else {
            if (rc != PL_OK)
                fail_msg("%s: refused (%s at %zu), but it must parse", r->file,
                         err.reason ? err.reason : "?", err.offset);
            check_readings(r, &m);
            uint16_t code = 999;
            pl_error cerr = {0};
            int crc = pl_msg_check(&m, &code, &cerr);
            if (strcmp(r->verdict, "parse") == 0) {
                if (crc != PL_OK)
                    fail_msg("%s: pl_msg_check refused it: %s", r->file, cerr.reason);
                parsed++;
            } else if (strcmp(r->code, "420") == 0) {
                /* Extensions are the element's choice: nothing in the list is known. */
                assert_int_equal(crc, PL_OK);
                pl_str tag;
                assert_true(pl_msg_unsupported(&m, PL_HDR_REQUIRE, supported, &tag));
                assert_true(pl_msg_unsupported(&m, PL_HDR_PROXY_REQUIRE, supported, &tag));
                refused++;
            } else {
                if (crc == PL_OK)
                    fail_msg("%s: pl_msg_check accepted it, want %s", r->file, r->code);
                int want = strcmp(r->code, "drop") == 0 ? 0 : atoi(r->code);
                if (code != want)
                    fail_msg("%s: pl_msg_check gave %u, want %d", r->file, code, want);
                refused++;
            }
        }
        tu_free_all();
    }
    print_message("rfc4475: %d parse, %d reject, %d parse-then-reject\n", parsed, rejected,
                  refused);
    assert_int_equal(parsed + rejected + refused, 49);
}

static pl_msg parse_ok(const char *name)
{
    pl_msg m;
    pl_error err;
    int rc = parse_file(name, &m, &err);
    if (rc != PL_OK)
        fail_msg("%s: %s at %zu", name, err.reason, err.offset);
    return m;
}

static void assert_unescaped(pl_str s, const char *want, size_t want_len)
{
    char buf[512];
    size_t n;
    assert_int_equal(pl_uri_unescape(s, buf, sizeof(buf), &n), PL_OK);
    assert_int_equal(n, want_len);
    assert_memory_equal(buf, want, want_len);
}

static void test_wsinv(void **state)
{
    (void)state;
    pl_msg m = parse_ok("wsinv.dat");
    assert_str(m.ruri.params, ";unknownparam");
    assert_str(m.to->uri_raw, "sip:vivekg@chair-dnrc.example.com");
    assert_str(m.to->tag, "1918181833n");
    assert_str(m.from->display, "\"J Rosenberg \\\\\\\"\"");
    char dn[64];
    size_t n;
    assert_int_equal(pl_display_name_decode(m.from->display, dn, sizeof(dn), &n), PL_OK);
    assert_int_equal(n, strlen("J Rosenberg \\\""));
    assert_memory_equal(dn, "J Rosenberg \\\"", n);
    assert_str(m.from->tag, "98asjd8");
    assert_int_equal(m.max_forwards, 68);
    const pl_via *v = m.via;
    assert_str(v->transport, "UDP");
    assert_str(v->host, "192.0.2.2");
    assert_str(v->branch, "390skdjuw");
    v = v->next;
    assert_str(v->transport, "TCP");
    assert_str(v->host, "spindle.example.com");
    assert_str(v->branch, "z9hG4bK9ikj8");
    v = v->next;
    assert_str(v->host, "192.168.255.111");
    assert_str(v->branch, "z9hG4bK30239");
    assert_null(v->next);
    int32_t s = pl_msg_hdr_find(&m, PL_HDR_SUBJECT, 0);
    assert_true(s >= 0);
    assert_int_equal(m.hdrs[s].value.len, 0);
    int32_t u = pl_msg_hdr_find_name(&m, PL_STR_LIT("UnknownHeaderWithUnusualValue"), 0);
    assert_true(u >= 0);
    assert_str(m.hdrs[u].value, ";;,,;;,;");
    assert_int_equal(m.route_count, 1);
    assert_true(m.route->uri.lr);
    assert_int_equal(m.contact_count, 1);
    assert_int_equal(pl_display_name_decode(m.contact->display, dn, sizeof(dn), &n), PL_OK);
    assert_int_equal(n, strlen("Quoted string \"\""));
    assert_str(m.contact->q, "0.33");
    pl_str val;
    assert_true(pl_param_find(m.contact->params, "newparam", &val));
    assert_str(val, "newvalue");
    assert_true(pl_param_find(m.contact->params, "secondparam", &val));
    assert_int_equal(val.len, 0);
    assert_str(m.content_type.type, "application");
    assert_str(m.content_type.subtype, "sdp");
    tu_free_all();
}

static void test_intmeth(void **state)
{
    (void)state;
    pl_msg m = parse_ok("intmeth.dat");
    assert_int_equal(m.method_id, PL_METHOD_OTHER);
    assert_str(m.ruri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    assert_str(m.ruri.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    assert_str(m.ruri.host, "example.com");
    char dn[64];
    size_t n;
    assert_int_equal(pl_display_name_decode(m.to->display, dn, sizeof(dn), &n), PL_OK);
    assert_int_equal(n, 17);
    assert_memory_equal(dn, "BEL:\x07 NUL:\0 DEL:\x7f", 17);
    assert_str(m.from->display, "token1~` token2'+_ token3*%!.-");
    assert_str(m.from->tag, "_token~1'+`*%!-.");
    assert_str(m.via->branch, "z9hG4bK-.!%66*_+`'~");
    assert_int_equal(m.max_forwards, 255);
    tu_free_all();
}

static void test_escapes(void **state)
{
    (void)state;
    pl_msg m = parse_ok("esc01.dat");
    assert_unescaped(m.ruri.user, "sips:user@example.com", 21);
    assert_unescaped(m.to->uri.user, "user", 4);
    assert_unescaped(m.from->uri.user, "I have spaces", 13);
    assert_unescaped(m.contact->uri.user, "caller", 6);
    pl_str it = m.contact->uri.params, lr, name;
    pl_param p;
    assert_true(pl_param_next(&it, ';', &p));
    lr = p.name;
    assert_unescaped(lr, "lr", 2);
    assert_true(pl_param_next(&it, ';', &p));
    name = p.name;
    assert_unescaped(name, "name", 4);
    assert_unescaped(p.value, "value%41", 8);
    tu_free_all();

    m = parse_ok("escnull.dat");
    assert_unescaped(m.to->uri.user, "null-\0-null", 11);
    assert_int_equal(m.contact_count, 2);
    assert_unescaped(m.contact->uri.user, "\0", 1);
    assert_unescaped(m.contact->next->uri.user, "\0\0", 2);
    assert_false(pl_uri_equal(&m.contact->uri, &m.contact->next->uri));
    tu_free_all();

    m = parse_ok("esc02.dat");
    assert_int_equal(m.method_id, PL_METHOD_OTHER);
    assert_str(m.to->display, "\"%Z%45\"");
    assert_str(m.via->branch, "z9hG4bK209%fzsnel234");
    assert_int_equal(m.contact_count, 2); /* C%6Fntact is an extension header */
    assert_true(pl_msg_hdr_find_name(&m, PL_STR_LIT("C%6Fntact"), 0) >= 0);
    tu_free_all();
}

static void test_valid_misc(void **state)
{
    (void)state;
    pl_msg m = parse_ok("lwsdisp.dat");
    assert_str(m.from->display, "caller");
    assert_str(m.from->tag, "323");
    tu_free_all();

    m = parse_ok("longreq.dat");
    assert_int_equal(m.len, 3515);
    assert_int_equal(m.to->uri.port, 6000);
    assert_int_equal(m.from->uri.user.len, 115);
    assert_int_equal(m.from->tag.len, 155);
    assert_int_equal(m.call_id.len, 141);
    const pl_via *v = m.via;
    while (v->next)
        v = v->next;
    assert_str(v->received, "192.0.2.5");
    assert_int_equal(v->branch.len, 215);
    tu_free_all();

    m = parse_ok("dblreq.dat");
    assert_int_equal(m.len, 300);
    assert_int_equal(m.trailing, 450);
    tu_free_all();

    m = parse_ok("semiuri.dat");
    assert_str(m.ruri.user, "user;par=u%40example.net");
    assert_int_equal(m.ruri.params.len, 0);
    pl_value_iter it;
    pl_str val;
    int accepts = 0;
    pl_value_iter_init(&it, &m, PL_HDR_ACCEPT);
    while (pl_value_iter_next(&it, &val))
        accepts++;
    assert_int_equal(accepts, 6);
    tu_free_all();

    m = parse_ok("transports.dat");
    static const char *const tr[] = {"UDP", "SCTP", "TLS", "UNKNOWN", "TCP"};
    v = m.via;
    for (int i = 0; i < 5; i++, v = v->next)
        assert_str(v->transport, tr[i]);
    tu_free_all();

    m = parse_ok("mpart01.dat");
    assert_true(m.via->has_rport);
    assert_int_equal(m.via->rport_value.len, 0);
    assert_str(m.content_type.subtype, "mixed");
    assert_int_equal(m.trailing, 0);
    tu_free_all();

    m = parse_ok("unreason.dat");
    assert_int_equal(m.reason.len, 74);
    tu_free_all();

    m = parse_ok("noreason.dat");
    assert_int_equal(m.status, 100);
    assert_int_equal(m.reason.len, 0);
    tu_free_all();

    m = parse_ok("cparam01.dat");
    assert_int_equal(m.contact->uri.params.len, 0);
    assert_true(pl_param_find(m.contact->params, "unknownparam", NULL));
    tu_free_all();

    m = parse_ok("cparam02.dat");
    assert_true(pl_param_find(m.contact->uri.params, "unknownparam", NULL));
    assert_int_equal(m.contact->params.len, 0);
    tu_free_all();

    m = parse_ok("regescrt.dat");
    assert_str(m.contact->uri.headers, "Route=%3Csip:sip.example.com%3E");
    tu_free_all();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),   cmocka_unit_test(test_wsinv),
        cmocka_unit_test(test_intmeth),    cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_valid_misc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
