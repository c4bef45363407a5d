/*
 * fuzz_ua.c - the user-agent library fed fuzzed messages.
 *
 * A UA in virtual mode (no sockets) with handlers for MESSAGE, REFER and
 * NOTIFY and wildcard credentials sends a MESSAGE and a REFER, then takes
 * the input, split at "\n--\n" into up to 16 messages, each handed to
 * pl_ua_receive with the clock moved on between them. So that responses
 * can match, the words BRANCH, CALLID and FTAG in a piece are replaced by
 * the branch, Call-ID and From tag of the last request the UA sent: a
 * fuzzed 401 then reaches the digest code, a fuzzed NOTIFY the REFER
 * watch. At the end the clock runs ten minutes on; every request must have
 * ended (each with exactly one final callback) and nothing may crash, leak
 * or loop.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parley/ua.h>

static pl_wheel wheel;
static char last_branch[64], last_callid[128], last_ftag[64];
static size_t finals, made;
static uint8_t answer_byte;

/* Remember the ids of the last request sent, for the substitutions. */
static void grab(const char *buf, size_t len, const char *key, char stop, char *out, size_t cap)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i + klen < len; i++) {
        if (memcmp(buf + i, key, klen) != 0)
            continue;
        size_t j = i + klen, n = 0;
        while (j < len && buf[j] != stop && buf[j] != '\r' && buf[j] != ';' && n + 1 < cap)
            out[n++] = buf[j++];
        out[n] = '\0';
        return;
    }
}

static int sim_send(pl_sender *s, const pl_target *dst, const char *buf, size_t len)
{
    (void)s;
    (void)dst;
    if (len > 4 && memcmp(buf, "SIP/", 4) != 0) {
        grab(buf, len, "branch=", ';', last_branch, sizeof(last_branch));
        grab(buf, len, "\nCall-ID: ", '\r', last_callid, sizeof(last_callid));
        grab(buf, len, "\nFrom: ", '\r', last_ftag, sizeof(last_ftag));
        grab(buf, len, ";tag=", '\r', last_ftag, sizeof(last_ftag));
    }
    return len > 60000 ? PL_EINVAL : PL_OK;
}

static pl_sender sender = {sim_send};

static void on_final(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app)
{
    (void)ua;
    (void)req;
    (void)app;
    if (!resp || resp->is_request || resp->status < 200)
        abort();
    finals++;
}

static void on_request(pl_ua *ua, pl_ua_server srv, const pl_msg *req, void *app)
{
    (void)app;
    switch (answer_byte % 6) {
    case 0:
        pl_ua_server_accept(ua, srv, req->method_id == PL_METHOD_REFER ? 202 : 200);
        if (req->method_id == PL_METHOD_REFER)
            pl_ua_server_refer_notify(ua, srv, 180, NULL);
        break;
    case 1:
        pl_ua_server_reject(ua, srv, 486, "Busy");
        break;
    case 2:
        pl_ua_server_provisional(ua, srv, 183, NULL);
        break;
    case 3: {
        pl_msg *resp;
        if (pl_ua_server_response(ua, srv, 200, NULL, &resp) == PL_OK) {
            pl_msg_hdr_append(resp, PL_STR_LIT("X-Fuzz"), PL_STR_LIT("1"));
            pl_ua_server_send(ua, srv, resp);
        }
        break;
    }
    case 4:
        pl_ua_server_answer_options(ua, srv);
        break;
    default:
        break; /* silent: the default answer */
    }
}

static void send_one(pl_ua *ua, const char *method)
{
    pl_ua_client c;
    if (pl_ua_request_new(ua, NULL, method, "sip:bob@127.0.0.1:5070", NULL, NULL, &c) != PL_OK)
        abort();
    made++;
    if (method[0] == 'R')
        pl_msg_hdr_append(pl_ua_request_msg(ua, c), PL_STR_LIT("Refer-To"),
                          PL_STR_LIT("<sip:c@127.0.0.1>"));
    pl_ua_request_send(ua, c);
}

/* piece with BRANCH, CALLID, FTAG replaced, into out. */
static size_t substitute(const uint8_t *p, size_t n, char *out, size_t cap)
{
    static const char *const words[] = {"BRANCH", "CALLID", "FTAG"};
    const char *vals[] = {last_branch, last_callid, last_ftag};
    size_t o = 0;
    for (size_t i = 0; i < n && o < cap;) {
        bool done = false;
        for (int w = 0; w < 3 && !done; w++) {
            size_t wl = strlen(words[w]), vl = strlen(vals[w]);
            if (i + wl <= n && memcmp(p + i, words[w], wl) == 0 && o + vl <= cap) {
                memcpy(out + o, vals[w], vl);
                o += vl;
                i += wl;
                done = true;
            }
        }
        if (!done)
            out[o++] = (char)p[i++];
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    pl_wheel_init(&wheel, 1000);
    finals = made = 0;
    last_branch[0] = last_callid[0] = last_ftag[0] = '\0';
    answer_byte = data[1];
    pl_ua_profile *p = pl_ua_profile_new(NULL);
    pl_ua_profile_set_aor(p, "sip:alice@127.0.0.1");
    pl_ua_profile_add_credential(p, NULL, "alice", "secret");
    pl_ua_profile_set_follow_redirects(p, data[0] & 1);
    pl_ua_config cfg = {0};
    cfg.master = p;
    cfg.wheel = &wheel;
    cfg.sender = &sender;
    cfg.local = "udp:127.0.0.1:5060";
    cfg.log_level = PL_UA_LOG_ERROR;
    cfg.log = NULL;
    pl_ua *ua = pl_ua_new(&cfg);
    if (!ua)
        abort();
    pl_ua_handler h = {on_request, NULL, on_final, on_final, NULL};
    pl_ua_set_handler(ua, "MESSAGE", &h, NULL);
    pl_ua_set_handler(ua, "REFER", &h, NULL);
    pl_ua_set_handler(ua, "NOTIFY", &h, NULL);
    send_one(ua, (data[0] & 2) ? "REFER" : "MESSAGE");
    pl_target src;
    pl_target_parse(&src, (data[0] & 4) ? "tcp:127.0.0.1:5070" : "udp:127.0.0.1:5070");

    static char piece[70000];
    const uint8_t *q = data + 2, *end = data + size;
    for (int n = 0; n < 16 && q < end; n++) {
        const uint8_t *sep = NULL;
        for (const uint8_t *s = q; s + 4 <= end; s++)
            if (memcmp(s, "\n--\n", 4) == 0) {
                sep = s;
                break;
            }
        const uint8_t *stop = sep ? sep : end;
        size_t len = substitute(q, (size_t)(stop - q), piece, sizeof(piece));
        pl_ua_receive(ua, piece, len, &src, (data[0] & 4) ? PL_FRAMING_STREAM : PL_FRAMING_DGRAM);
        pl_wheel_advance(&wheel, wheel.now + (stop < end ? (uint64_t)(*stop) * 37u : 10u));
        q = sep ? sep + 4 : end;
    }
    for (int i = 0; i < 600; i++)
        pl_wheel_advance(&wheel, wheel.now + 1000);
    pl_ua_stats st;
    pl_ua_get_stats(ua, &st);
    /* Every request ended, each with one final outcome; nothing left pending. */
    if (st.clients != 0 || st.servers != 0 || finals != made)
        abort();
    pl_ua_free(ua);
    pl_ua_profile_free(p);
    pl_wheel_clear(&wheel);
    return 0;
}
