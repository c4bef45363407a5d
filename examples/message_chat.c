/*
 * message_chat - send and receive SIP MESSAGE (RFC 3428) text.
 *
 *   example-message_chat listen udp:127.0.0.1:5070      print what arrives, answer 200
 *   example-message_chat send sip:bob@127.0.0.1:5070 'hello'
 *
 * Shows: the receiving side's handler (on_request gets a server handle and
 * answers with accept or reject), an application context made for each
 * incoming request by the factory (with its destructor), and the sending
 * side's request with a text/plain body. A MESSAGE without a text body is
 * refused 415 by the profile's content check before the handler runs.
 * Exit status: send: 0 on a 2xx, 1 otherwise; both: 2 on set-up errors.
 */
#include <parley/ua.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned received;

/* The factory: a context per incoming request; here a counter snapshot. */
static void new_server(pl_ua *ua, const pl_msg *req, void **app, void (**app_free)(void *),
                       void *user)
{
    (void)ua;
    (void)req;
    (void)user;
    unsigned *n = malloc(sizeof(*n));
    if (n)
        *n = ++received;
    *app = n;
    *app_free = free;
}

static void on_message(pl_ua *ua, pl_ua_server srv, const pl_msg *req, void *app)
{
    unsigned *n = app;
    printf("#%u from %.*s: %.*s\n", n ? *n : 0, (int)req->from->uri_raw.len, req->from->uri_raw.p,
           (int)req->body.len, req->body.p);
    fflush(stdout);
    if (req->body.len == 0)
        pl_ua_server_reject(ua, srv, 400, "Empty Message");
    else
        pl_ua_server_accept(ua, srv, 200);
}

static int exit_code = 1;

static void on_done(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app)
{
    (void)req;
    (void)app;
    printf("%u %.*s\n", resp->status, (int)resp->reason.len, resp->reason.p);
    exit_code = resp->status < 300 ? 0 : 1;
    pl_ua_stop(ua);
}

static pl_ua *UA;

/* Signals arrive through the loop (libuv), so stopping is an ordinary call. */
static void on_signal(uv_signal_t *h, int sig)
{
    (void)sig;
    uv_signal_stop(h);
    pl_ua_stop(UA);
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "listen") && strcmp(argv[1], "send")) ||
        (!strcmp(argv[1], "send") && argc < 4)) {
        fprintf(stderr, "usage: example-message_chat listen ADDRESS\n"
                        "       example-message_chat send URI TEXT\n");
        return 2;
    }
    pl_ua_profile *master = pl_ua_profile_new(NULL);
    pl_ua_profile_set_aor(master, "sip:chat@localhost");
    pl_ua_profile_add_mime_type(master, "text/plain");
    pl_ua_profile_set_check_content_type(master, true);
    pl_ua_config cfg = {0};
    cfg.master = master;
    cfg.on_new_server = new_server;
    UA = pl_ua_new(&cfg);
    if (!UA)
        return 2;
    pl_ua_handler h = {.on_request = on_message, .on_success = on_done, .on_failure = on_done};
    pl_ua_set_handler(UA, "MESSAGE", &h, NULL);
    bool listen = strcmp(argv[1], "listen") == 0;
    if (pl_ua_listen(UA, listen ? argv[2] : "udp:0.0.0.0:0") != PL_OK) {
        fprintf(stderr, "message_chat: cannot listen on %s\n", listen ? argv[2] : "udp");
        return 2;
    }
    if (listen) {
        uv_signal_t sig;
        uv_signal_init(pl_net_loop(pl_ua_net(UA)), &sig);
        uv_signal_start(&sig, on_signal, SIGINT);
        printf("listening on %s\n", argv[2]);
        fflush(stdout);
        pl_ua_run(UA);
        uv_close((uv_handle_t *)&sig, NULL);
        exit_code = 0;
    } else {
        pl_ua_client c;
        if (pl_ua_request_new(UA, NULL, "MESSAGE", argv[2], NULL, NULL, &c) != PL_OK) {
            fprintf(stderr, "message_chat: bad URI %s\n", argv[2]);
            return 2;
        }
        pl_msg_set_body(pl_ua_request_msg(UA, c), PL_STR_LIT("text/plain"), pl_str_c(argv[3]));
        pl_ua_request_send(UA, c);
        pl_ua_run(UA);
    }
    pl_ua_free(UA);
    pl_ua_profile_free(master);
    return exit_code;
}
