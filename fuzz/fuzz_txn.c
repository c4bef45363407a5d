/*
 * fuzz_txn.c - the transaction layer fed fuzzed messages.
 *
 * The input is split at "\n--\n" markers into up to 16 messages. A client
 * transaction (INVITE or OPTIONS, chosen by the first byte) is started, then
 * each piece goes into pl_txn_receive (as a datagram or a stream message),
 * with the virtual clock moved on between pieces by an amount taken from
 * the input; the user answers every new request with a response chosen by
 * the input. At the end the clock runs two minutes on so that every timer
 * fires, and the layer must be empty. Nothing may crash, leak or loop.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parley/txn.h>

static pl_wheel wheel;
static size_t sends;

static int sim_send(pl_sender *s, const pl_target *dst, const char *buf, size_t len)
{
    (void)s;
    (void)dst;
    (void)buf;
    sends++;
    return len > 60000 ? PL_EINVAL : PL_OK; /* huge ones fail: the 503 path */
}

static pl_sender sender = {sim_send};
static uint8_t answer_byte;

static void on_request(pl_txn_layer *l, pl_txn *st, const pl_msg *req, const pl_target *src,
                       void *user)
{
    (void)l;
    (void)src;
    (void)user;
    static const uint16_t codes[] = {100, 180, 200, 202, 404, 486, 487, 500, 603, 0};
    uint16_t code = codes[answer_byte % 10];
    if (!code)
        return; /* the user never answers */
    char block[8192];
    pl_arena a;
    pl_arena_init(&a, block, sizeof(block), 0);
    pl_msg resp;
    if (pl_msg_build_response(&resp, &a, req, code, PL_STR_NULL, PL_STR_NULL, NULL) == PL_OK) {
        pl_txn_respond(st, &resp);
        if (code < 200)
            pl_txn_respond(st, &resp);
    }
    pl_arena_free(&a);
}

static void on_stray(pl_txn_layer *l, const pl_msg *m, const pl_target *src, void *user)
{
    (void)l;
    (void)m;
    (void)src;
    (void)user;
}

static size_t responses;
static bool got_provisional, got_final;
static void on_response(pl_txn *ct, const pl_msg *resp, bool final, void *arg)
{
    (void)ct;
    (void)arg;
    if (!resp || resp->is_request)
        abort();
    responses++;
    if (final)
        got_final = true;
    else
        got_provisional = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    pl_wheel_init(&wheel, 1000);
    pl_txn_config cfg = {0};
    cfg.wheel = &wheel;
    cfg.sender = &sender;
    cfg.on_request = on_request;
    cfg.on_stray = on_stray;
    cfg.detect_merged = data[0] & 1;
    cfg.timers.invite_answer_ms = 90000; /* the user below may never answer */
    pl_txn_layer *l = pl_txn_layer_new(&cfg);
    if (!l)
        abort();
    pl_target src, dst;
    pl_target_parse(&src, (data[0] & 2) ? "tcp:127.0.0.1:5070" : "udp:127.0.0.1:5070");
    pl_target_parse(&dst, "udp:127.0.0.1:5060");
    answer_byte = data[1];
    got_provisional = got_final = false;

    /* A client transaction for the responses to match. */
    char block[8192];
    pl_arena a;
    pl_arena_init(&a, block, sizeof(block), 0);
    pl_request_spec spec = {0};
    spec.method = (data[0] & 4) ? PL_STR_LIT("INVITE") : PL_STR_LIT("OPTIONS");
    spec.ruri = PL_STR_LIT("sip:b@127.0.0.1");
    spec.from = PL_STR_LIT("<sip:a@127.0.0.1>");
    spec.from_tag = PL_STR_LIT("ft");
    spec.to = PL_STR_LIT("<sip:b@127.0.0.1>");
    spec.call_id = PL_STR_LIT("fuzz-call");
    spec.via_sent_by = PL_STR_LIT("127.0.0.1:5060");
    spec.branch = PL_STR_LIT("z9hG4bKfuzz1");
    pl_msg req;
    if (pl_msg_build_request(&req, &a, &spec, NULL) == PL_OK)
        pl_txn_client_start(l, &req, &dst, on_response, NULL, NULL);
    pl_arena_free(&a);

    const uint8_t *p = data + 2, *end = data + size;
    for (int n = 0; n < 16 && p < end; n++) {
        const uint8_t *sep = NULL;
        for (const uint8_t *q = p; q + 4 <= end; q++) {
            if (memcmp(q, "\n--\n", 4) == 0) {
                sep = q;
                break;
            }
        }
        const uint8_t *stop = sep ? sep : end;
        size_t len = (size_t)(stop - p);
        char *copy = malloc(len ? len : 1); /* exact size: ASan sees over-reads */
        if (!copy)
            abort();
        memcpy(copy, p, len);
        pl_txn_receive(l, copy, len, &src, (len & 1) ? PL_FRAMING_STREAM : PL_FRAMING_DGRAM);
        free(copy);
        pl_wheel_advance(&wheel, wheel.now + (uint64_t)(len % 7) * 977);
        p = sep ? sep + 4 : end;
    }
    pl_wheel_advance(&wheel, wheel.now + 600000);
    pl_txn_stats st;
    pl_txn_layer_stats(l, &st);
    /* Every transaction is over, but for a client INVITE that saw a 1xx and
     * no final response: RFC 3261 gives it no timer (its user CANCELs). */
    size_t may_live = (data[0] & 4) && got_provisional && !got_final ? 1 : 0;
    if (st.live != may_live) {
        fprintf(stderr, "fuzz_txn: %zu transactions left after every timer ran out\n", st.live);
        abort();
    }
    pl_txn_layer_free(l);
    return 0;
}
