/*
 * dialog_module - a C module on the dialog API, the way the reference
 * text's example uses it, inside a small stateful proxy.
 *
 *   example-dialog_module LISTEN NEXT_HOP
 *   example-dialog_module udp:127.0.0.1:5070 sip:127.0.0.1:5080
 *
 * The proxy listens on LISTEN, tracks every initial INVITE as a dialog
 * and forwards each new request to NEXT_HOP (in-dialog requests follow
 * their Route). The module:
 *   - at start, asks to hear of every dialog created (global CREATED);
 *   - on created: registers CONFIRMED and REQ_WITHIN callbacks on the
 *     dialog and stores its creation time as a value "created_at";
 *   - on confirmed: fetches "created_at" and logs it;
 *   - on a sequential request: an OPTIONS from the callee (upstream) ends
 *     the dialog, with BYE both ways and a reason.
 * It prints one line per event to stdout and stops on SIGINT or SIGTERM.
 * Exit status: 0 after a clean stop, 1 on a runtime failure, 2 on usage.
 */
#include <parley/dialog.h>
#include <parley/transport.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct {
    pl_net *net;
    pl_proxy *proxy;
    pl_dlg_module *dlg;
    pl_dlg_table *table;
    const char *next_hop;
    uv_signal_t sigint, sigterm;
} P;

/* ---- the module: the reference's example, with Parley's names */

static void dialog_confirmed_cb(pl_dlg *d, uint32_t type, const pl_dlg_cb_params *params)
{
    (void)type;
    (void)params;
    char created[64];
    size_t len;
    if (pl_dlg_value_fetch(d, PL_STR_LIT("created_at"), created, sizeof(created), &len) != PL_OK) {
        printf("failed to fetch our created_at value\n");
        return;
    }
    pl_str cid = pl_dlg_call_id(d);
    printf("dialog %.*s was created at %s and is now established\n", (int)cid.len, cid.p, created);
    fflush(stdout);
}

static void dialog_sequential_cb(pl_dlg *d, uint32_t type, const pl_dlg_cb_params *params)
{
    (void)type;
    const pl_msg *msg = params->msg;
    if (msg && msg->method_id == PL_METHOD_OPTIONS && params->dir == PL_DLG_DIR_UPSTREAM) {
        pl_str reason = PL_STR_LIT("we HATE options from callee");
        printf("OPTIONS from the callee: terminating the dialog because %.*s\n", (int)reason.len,
               reason.p);
        fflush(stdout);
        if (pl_dlg_terminate(d, reason, PL_STR_NULL) != PL_OK)
            printf("failed to terminate the dialog\n");
    }
}

static void dialog_ended_cb(pl_dlg *d, uint32_t type, const pl_dlg_cb_params *params)
{
    (void)params;
    pl_str cid = pl_dlg_call_id(d), why = pl_dlg_end_reason(d);
    printf("dialog %.*s %s: %.*s\n", (int)cid.len, cid.p,
           type == PL_DLGCB_FAILED ? "failed" : "ended", (int)why.len, why.p);
    fflush(stdout);
}

static void new_created_dialog_cb(pl_dlg *d, uint32_t type, const pl_dlg_cb_params *params)
{
    (void)type;
    (void)params;
    printf("dialog was created\n");
    if (pl_dlg_register_cb(P.dlg, d, PL_DLGCB_CONFIRMED, dialog_confirmed_cb, NULL, NULL) !=
        PL_OK) {
        printf("failed to register the callback for dialog establishment\n");
        return;
    }
    if (pl_dlg_register_cb(P.dlg, d, PL_DLGCB_REQ_WITHIN, dialog_sequential_cb, NULL, NULL) !=
        PL_OK) {
        printf("failed to register the callback for sequential requests\n");
        return;
    }
    pl_dlg_register_cb(P.dlg, d, PL_DLGCB_TERMINATED | PL_DLGCB_FAILED | PL_DLGCB_EXPIRED,
                       dialog_ended_cb, NULL, NULL);
    time_t now = time(NULL);
    char created[32];
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    if (pl_dlg_value_set_str(d, PL_STR_LIT("created_at"), pl_str_c(created)) != PL_OK)
        printf("failed to store our created_at value\n");
    fflush(stdout);
}

static int module_init(void)
{
    /* Be told of every dialog created from now on. */
    if (pl_dlg_register_cb(P.dlg, NULL, PL_DLGCB_CREATED, new_created_dialog_cb, NULL, NULL) !=
        PL_OK) {
        fprintf(stderr, "failed to register the created-dialog callback\n");
        return -1;
    }
    return 0;
}

/* ---- the proxy around it */

static void route(pl_proxy *p, pl_preq *r, void *arg)
{
    (void)p;
    (void)arg;
    pl_msg *m = pl_preq_msg(r);
    if (pl_preq_loose_route(r) || (m->to && m->to->has_tag)) {
        pl_preq_forward(r); /* in-dialog: along its Route set */
        return;
    }
    if (m->method_id == PL_METHOD_INVITE && pl_dlg_create(P.table, r, 0, NULL) != PL_OK) {
        pl_preq_reply(r, 500, PL_STR_LIT("Dialog Not Created"), NULL, 0);
        return;
    }
    pl_preq_add_target(r, pl_str_c(P.next_hop), PL_STR_NULL, 1000, NULL);
    if (pl_preq_forward(r) != PL_OK)
        pl_preq_reply(r, 500, PL_STR_NULL, NULL, 0);
}

static void on_message(pl_net *net, const char *buf, size_t len, const pl_target *src,
                       pl_framing framing, void *user)
{
    (void)net;
    (void)user;
    pl_proxy_receive(P.proxy, buf, len, src, framing);
}

static void on_unreachable(pl_net *net, const pl_target *dst, void *user)
{
    (void)net;
    (void)user;
    pl_proxy_transport_error(P.proxy, dst);
}

static void on_signal(uv_signal_t *s, int sig)
{
    (void)s;
    printf("signal %d: stopping\n", sig);
    fflush(stdout);
    uv_signal_stop(&P.sigint);
    uv_signal_stop(&P.sigterm);
    pl_net_stop(P.net);
}

static void closed(uv_handle_t *h)
{
    (void)h;
}

int main(int argc, char **argv)
{
    if (argc != 3 || !strncmp(argv[1], "-h", 2) || !strcmp(argv[1], "--help")) {
        fprintf(stderr,
                "usage: %s LISTEN NEXT_HOP\n"
                "  e.g. %s udp:127.0.0.1:5070 sip:127.0.0.1:5080\n"
                "A proxy on LISTEN that tracks each call as a dialog, forwards new\n"
                "requests to NEXT_HOP, and runs the dialog API example module.\n",
                argv[0], argv[0]);
        return 2;
    }
    P.next_hop = argv[2];
    pl_uri u;
    if (pl_uri_parse(&u, pl_str_c(P.next_hop), NULL) != PL_OK) {
        fprintf(stderr, "%s: %s is not a SIP URI\n", argv[0], P.next_hop);
        return 2;
    }
    P.net =
        pl_net_new(&(pl_net_config){.on_message = on_message, .on_unreachable = on_unreachable});
    if (!P.net || pl_net_listen(P.net, argv[1]) != PL_OK) {
        fprintf(stderr, "%s: cannot listen on %s\n", argv[0], argv[1]);
        pl_net_free(P.net);
        return 1;
    }
    pl_proxy_config pc = {.wheel = pl_net_wheel(P.net),
                          .sender = pl_net_sender(P.net),
                          .router = {route, NULL, NULL, NULL}};
    pl_net_listen_target(P.net, 0, &pc.locals[0].target);
    pc.n_locals = 1;
    P.proxy = pl_proxy_new(&pc);
    P.dlg = pl_dlg_module_new(&(pl_dlg_config){.n_tables = 1});
    P.table = P.proxy && P.dlg ? pl_dlg_table_new(P.dlg, 0, P.proxy) : NULL;
    int status = 1;
    if (P.table && module_init() == 0) {
        char at[96];
        pl_target_print(&pc.locals[0].target, at, sizeof(at));
        printf("listening on %s, forwarding to %s\n", at, P.next_hop);
        fflush(stdout);
        uv_loop_t *loop = pl_net_loop(P.net);
        uv_signal_init(loop, &P.sigint);
        uv_signal_init(loop, &P.sigterm);
        uv_signal_start(&P.sigint, on_signal, SIGINT);
        uv_signal_start(&P.sigterm, on_signal, SIGTERM);
        pl_net_run(P.net);
        uv_close((uv_handle_t *)&P.sigint, closed);
        uv_close((uv_handle_t *)&P.sigterm, closed);
        status = 0;
    }
    pl_dlg_table_free(P.table);
    pl_proxy_free(P.proxy);
    pl_dlg_module_free(P.dlg);
    pl_net_free(P.net);
    return status;
}
