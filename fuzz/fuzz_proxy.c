/*
 * fuzz_proxy.c - the proxy core fed fuzzed messages.
 *
 * The input is split at "\n--\n" markers into up to 16 messages, each
 * received from the caller's side or the callee's side (a bit of the
 * first byte per piece). The router's behaviour comes from the second
 * byte: forward to the Request-URI, fork to two targets in parallel or by
 * q, answer, record-route, use the registrar (save, lookup). After each
 * piece the "callee" answers the last request the proxy sent with a code
 * chosen by the input, so that response processing (best response,
 * CANCEL, 2xx forwarding) is reached. At the end the clock runs ten
 * minutes on (past Timer C) and no request context may be left. Nothing
 * may crash, leak or loop.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parley/dialog.h>
#include <parley/proxy.h>

static pl_wheel wheel;
static char last[65536];
static size_t last_len;
static uint8_t mode;
static uint8_t dmode; /* dialog tracking: bit 0 on, bits 1-3 create flags, 4-7 what to do */
static pl_dlg_table *dlgs;
static pl_dlg_profile *prof;

static int sim_send(pl_sender *s, const pl_target *dst, const char *buf, size_t len)
{
    (void)s;
    (void)dst;
    if (len > 60000)
        return PL_EINVAL; /* huge ones fail: the 503 path */
    if (len >= 4 && memcmp(buf, "SIP/", 4) != 0) {
        memcpy(last, buf, len);
        last_len = len;
    }
    return PL_OK;
}

static pl_sender sender = {sim_send};

static void on_request(pl_proxy *p, pl_preq *r, void *arg)
{
    (void)p;
    (void)arg;
    pl_msg *m = pl_preq_msg(r);
    if (dlgs) {
        pl_dlg *d = pl_dlg_current(dlgs, r);
        if (!d && m->method_id == PL_METHOD_INVITE &&
            pl_dlg_create(dlgs, r, (dmode >> 1) & 7, &d) == PL_OK && d) {
            pl_dlg_profile_set(d, prof, m->from ? m->from->uri.user : PL_STR_LIT("x"),
                               dmode & 0x10);
            pl_dlg_value_set_int(d, PL_STR_LIT("n"), (int64_t)m->cseq.num);
        } else if (d) {
            if (dmode & 0x20)
                pl_dlg_validate(d, r);
            if (dmode & 0x40)
                pl_dlg_fix_route(d, r);
            if ((dmode & 0x80) && m->method_id == PL_METHOD_INFO)
                pl_dlg_terminate(d, PL_STR_LIT("fuzz"), PL_STR_LIT("Reason: x\r\n"));
        }
    }
    switch (mode % 8) {
    case 0:
        pl_preq_forward(r);
        break;
    case 1:
        pl_preq_record_route(r, PL_STR_LIT(";did=1"));
        pl_preq_add_target(r, PL_STR_LIT("sip:a@127.0.0.1:5080"), PL_STR_NULL, 1000, NULL);
        pl_preq_add_target(r, PL_STR_LIT("sip:b@127.0.0.1:5081"), PL_STR_NULL, 1000, NULL);
        pl_preq_forward(r);
        break;
    case 2:
        pl_preq_add_target(r, PL_STR_LIT("sip:a@127.0.0.1:5080"), PL_STR_NULL, 1000, NULL);
        pl_preq_add_target(r, PL_STR_LIT("sip:b@127.0.0.1:5081"),
                           PL_STR_LIT("<sip:127.0.0.1:5090;lr>"), 500, NULL);
        pl_preq_forward(r);
        break;
    case 3:
        pl_preq_reply(r, 180, PL_STR_NULL, NULL, 0);
        pl_preq_reply(r, 486, PL_STR_LIT("Busy"), NULL, 0);
        break;
    case 4:
        if (m->method_id == PL_METHOD_REGISTER)
            pl_preq_save(r);
        else if (pl_preq_lookup(r) > 0)
            pl_preq_forward(r);
        else
            pl_preq_reply(r, 404, PL_STR_NULL, NULL, 0);
        break;
    case 5:
        break; /* never decides: Timer C answers */
    default:
        pl_preq_record_route(r, PL_STR_NULL);
        if (pl_preq_loose_route(r) || !pl_preq_ruri_local(r))
            pl_preq_forward(r);
        else
            pl_preq_reply(r, 404, PL_STR_NULL, NULL, 0);
        break;
    }
}

static void on_failure(pl_proxy *p, pl_preq *r, const pl_msg *best, void *arg)
{
    (void)p;
    (void)best;
    (void)arg;
    if ((mode & 0x10) && pl_preq_branches(r) < 3) {
        pl_preq_add_target(r, PL_STR_LIT("sip:c@127.0.0.1:5082"), PL_STR_NULL, 1000, NULL);
        pl_preq_forward(r);
    }
}

static void on_reply(pl_proxy *p, pl_preq *r, uint32_t branch, pl_msg *resp, void *arg)
{
    (void)p;
    (void)r;
    (void)branch;
    (void)arg;
    if (mode & 0x20)
        pl_msg_hdr_append(resp, PL_STR_LIT("X-Seen"), PL_STR_LIT("1"));
}

static void log_nothing(pl_proxy_log_level l, pl_str c, const char *line, void *u)
{
    (void)l;
    (void)c;
    (void)line;
    (void)u;
}

/* The callee answers the last request the proxy sent. */
static void answer_last(pl_proxy *p, uint8_t how, const pl_target *from)
{
    static const uint16_t codes[] = {100, 180, 183, 200, 302, 401, 404, 486, 503, 603};
    if (!last_len)
        return;
    char block[16384];
    pl_arena a;
    pl_arena_init(&a, block, sizeof(block), 0);
    pl_msg req, resp;
    pl_parse_opts opts = {PL_FRAMING_STREAM, NULL};
    char *copy = malloc(last_len);
    if (!copy)
        abort();
    memcpy(copy, last, last_len);
    if (pl_msg_parse(&req, copy, last_len, &a, &opts, NULL) == PL_OK && req.is_request &&
        req.method_id != PL_METHOD_ACK &&
        pl_msg_build_response(&resp, &a, &req, codes[how % 10], PL_STR_NULL, PL_STR_LIT("tt"),
                              NULL) == PL_OK) {
        size_t n = pl_msg_print_len(&resp);
        char *out = malloc(n ? n : 1);
        if (!out)
            abort();
        pl_msg_print(&resp, out, n, NULL);
        pl_proxy_receive(p, out, n, from, PL_FRAMING_DGRAM);
        free(out);
    }
    free(copy);
    pl_arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    pl_wheel_init(&wheel, 1000);
    last_len = 0;
    mode = data[1];
    dmode = (uint8_t)(data[0] >> 2 | (data[2] & 0xc0));
    pl_location *loc = pl_location_new(NULL);
    pl_proxy_config cfg = {0};
    cfg.wheel = &wheel;
    cfg.sender = &sender;
    cfg.location = loc;
    cfg.loop_detect = data[0] & 1;
    cfg.router = (pl_proxy_router){on_request, on_reply, on_failure, NULL};
    cfg.log = log_nothing;
    pl_target_parse(&cfg.locals[0].target, "udp:127.0.0.1:5060");
    pl_target_parse(&cfg.locals[1].target, "tcp:127.0.0.1:5060");
    cfg.n_locals = 2;
    pl_proxy *p = pl_proxy_new(&cfg);
    if (!p || !loc)
        abort();
    pl_dlg_module *dm = NULL;
    dlgs = NULL;
    if (dmode & 1) {
        dm = pl_dlg_module_new(
            &(pl_dlg_config){.default_lifetime_s = 60, .ping_interval_s = 20, .log = log_nothing});
        if (!dm || pl_dlg_profile_define(dm, "caller", true) != PL_OK)
            abort();
        prof = pl_dlg_profile_find(dm, PL_STR_LIT("caller"));
        dlgs = pl_dlg_table_new(dm, 0, p);
        if (!dlgs)
            abort();
    }
    pl_target up, down;
    pl_target_parse(&up, (data[0] & 2) ? "tcp:127.0.0.1:5070" : "udp:127.0.0.1:5070");
    pl_target_parse(&down, "udp:127.0.0.1:5080");

    const uint8_t *q = data + 3, *end = data + size;
    for (int n = 0; n < 16 && q < end; n++) {
        const uint8_t *sep = NULL;
        for (const uint8_t *k = q; k + 4 <= end; k++)
            if (memcmp(k, "\n--\n", 4) == 0) {
                sep = k;
                break;
            }
        const uint8_t *stop = sep ? sep : end;
        size_t len = (size_t)(stop - q);
        char *copy = malloc(len ? len : 1); /* exact size: ASan sees over-reads */
        if (!copy)
            abort();
        memcpy(copy, q, len);
        const pl_target *src = ((data[2] >> (n % 8)) & 1) ? &down : &up;
        pl_proxy_receive(p, copy, len, src,
                         src->transport == PL_TP_UDP ? PL_FRAMING_DGRAM : PL_FRAMING_STREAM);
        free(copy);
        answer_last(p, (uint8_t)(len + (size_t)n), &down);
        pl_wheel_advance(&wheel, wheel.now + (uint64_t)(len % 7) * 977);
        q = sep ? sep + 4 : end;
    }
    pl_wheel_advance(&wheel, wheel.now + 600000);
    pl_wheel_advance(&wheel, wheel.now + 100000);
    if (dm) {
        pl_dlg_stats ds;
        pl_dlg_get_stats(dm, &ds);
        if (ds.live || ds.active || ds.early || pl_dlg_profile_size(prof, PL_STR_NULL)) {
            fprintf(stderr, "fuzz_proxy: dialogs left: live %llu active %llu early %llu\n",
                    (unsigned long long)ds.live, (unsigned long long)ds.active,
                    (unsigned long long)ds.early);
            abort();
        }
    }
    pl_proxy_stats st;
    pl_proxy_get_stats(p, &st);
    if (st.live != 0) {
        fprintf(stderr, "fuzz_proxy: %zu request contexts left after every timer ran out\n",
                st.live);
        abort();
    }
    pl_dlg_table_free(dlgs);
    dlgs = NULL;
    pl_proxy_free(p);
    pl_dlg_module_free(dm);
    pl_location_free(loc);
    return 0;
}
