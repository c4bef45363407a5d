/*
 * options_ping - ping a SIP URI with OPTIONS every second, the way a phone
 * checks that its proxy is alive (RFC 3261 11.1).
 *
 *   example-options_ping sip:proxy.example.com [COUNT]
 *
 * Shows: a master profile, a client-only handler (success and failure, no
 * on_request), requests made and sent from a libuv timer, the context
 * pointer each request carries, and the one final outcome per request
 * (a timeout is a 408 the stack made: resp->synthesized).
 * Exit status: 0 if every ping got a 2xx, 1 otherwise, 2 on set-up errors.
 */
#include <parley/ua.h>

#include <stdio.h>
#include <stdlib.h>

static struct {
    const char *target;
    unsigned left, sent, ok, pending;
    uv_timer_t tick;
    pl_ua *ua;
} P;

/* One request's context: its sequence number and when it went out. */
typedef struct ping {
    unsigned seq;
    uint64_t sent_ms;
} ping;

static void done(pl_ua *ua, const pl_msg *resp, void *app)
{
    ping *p = app;
    uint64_t rtt = uv_now(pl_net_loop(pl_ua_net(ua))) - p->sent_ms;
    printf("ping %u: %u %.*s%s after %llu ms\n", p->seq, resp->status, (int)resp->reason.len,
           resp->reason.p, resp->synthesized ? " (local)" : "", (unsigned long long)rtt);
    if (resp->status < 300)
        P.ok++;
    if (--P.pending == 0 && P.left == 0)
        pl_ua_stop(ua);
}

static void on_success(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app)
{
    (void)req;
    done(ua, resp, app);
}

static void on_failure(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app)
{
    (void)req;
    done(ua, resp, app);
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
    if (P.left == 0)
        return;
    ping *p = malloc(sizeof(*p));
    if (!p)
        return;
    p->seq = ++P.sent;
    p->sent_ms = uv_now(pl_net_loop(pl_ua_net(P.ua)));
    P.left--;
    pl_ua_client c;
    /* free() is the context's destructor: it runs when the request ends. */
    if (pl_ua_request_new(P.ua, NULL, "OPTIONS", P.target, p, free, &c) != PL_OK) {
        fprintf(stderr, "options_ping: bad target %s\n", P.target);
        free(p);
        pl_ua_stop(P.ua);
        return;
    }
    P.pending++;
    pl_ua_request_send(P.ua, c);
    if (P.left == 0)
        uv_timer_stop(&P.tick);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: example-options_ping SIP-URI [COUNT]\n");
        return argc < 2 ? 2 : 0;
    }
    P.target = argv[1];
    P.left = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 3;
    unsigned total = P.left;
    pl_ua_profile *master = pl_ua_profile_new(NULL);
    pl_ua_profile_set_aor(master, "sip:pinger@localhost");
    pl_ua_profile_set_user_agent(master, "parley-options-ping");
    pl_ua_config cfg = {0};
    cfg.master = master;
    P.ua = pl_ua_new(&cfg);
    if (!P.ua || pl_ua_listen(P.ua, "udp:0.0.0.0:0") != PL_OK) {
        fprintf(stderr, "options_ping: cannot start the UA\n");
        return 2;
    }
    pl_ua_handler h = {.on_success = on_success, .on_failure = on_failure};
    pl_ua_set_handler(P.ua, "OPTIONS", &h, NULL);
    uv_timer_init(pl_net_loop(pl_ua_net(P.ua)), &P.tick);
    uv_timer_start(&P.tick, on_tick, 0, 1000);
    pl_ua_run(P.ua);
    uv_close((uv_handle_t *)&P.tick, NULL);
    pl_ua_free(P.ua);
    pl_ua_profile_free(master);
    printf("%u of %u pings answered with 2xx\n", P.ok, total);
    return P.ok == total ? 0 : 1;
}
