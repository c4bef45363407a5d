/*
 * refer_ood - an out-of-dialog REFER (RFC 3515): ask TARGET to call
 * REFER_TO, with Referred-By (RFC 3892) naming us.
 *
 *   example-refer_ood sip:bob@10.0.0.2 sip:carol@10.0.0.3 [--no-sub]
 *
 * Shows: a request made from a user profile over the master (the user
 * profile sets the identity, the master the User-Agent), edited before it
 * is sent (Refer-To, Referred-By, and with --no-sub "Refer-Sub: false"
 * with "Require: norefersub", RFC 4488), and the NOTIFYs of the implicit
 * subscription: a NOTIFY handler prints each sipfrag status and answers.
 * Exit status: 0 when the REFER was accepted (and, with a subscription,
 * the final NOTIFY reported a 2xx), 1 otherwise, 2 on set-up errors.
 */
#include <parley/ua.h>

#include <stdio.h>
#include <string.h>

static struct {
    bool want_sub, accepted, final_seen, final_ok;
} R;

static void on_refer_success(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app)
{
    (void)req;
    (void)app;
    printf("REFER accepted: %u %.*s\n", resp->status, (int)resp->reason.len, resp->reason.p);
    R.accepted = true;
    /* The recipient may refuse the subscription too (Refer-Sub: false in the 2xx). */
    int32_t i = pl_msg_hdr_find(resp, PL_HDR_REFER_SUB, 0);
    if (!R.want_sub || (i >= 0 && pl_str_case_eq_c(pl_str_trim(resp->hdrs[i].value), "false")))
        pl_ua_stop(ua);
}

static void on_refer_failure(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app)
{
    (void)req;
    (void)app;
    printf("REFER failed: %u %.*s\n", resp->status, (int)resp->reason.len, resp->reason.p);
    pl_ua_stop(ua);
}

static void on_notify(pl_ua *ua, pl_ua_server srv, const pl_msg *req, void *app)
{
    (void)app;
    /* The body is a message/sipfrag: "SIP/2.0 180 Ringing". */
    pl_str frag = req->body;
    const char *eol = memchr(frag.p, '\r', frag.len);
    int n = eol ? (int)(eol - frag.p) : (int)frag.len;
    printf("NOTIFY: %.*s\n", n, frag.p);
    pl_ua_server_accept(ua, srv, 200);
    int32_t i = pl_msg_hdr_find(req, PL_HDR_SUBSCRIPTION_STATE, 0);
    if (i >= 0 && pl_str_case_eq_c((pl_str){req->hdrs[i].value.p, 10}, "terminated")) {
        R.final_seen = true;
        R.final_ok = frag.len > 12 && frag.p[8] == '2';
        pl_ua_stop(ua);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: example-refer_ood TARGET-URI REFER-TO-URI [--no-sub]\n");
        return 2;
    }
    R.want_sub = !(argc > 3 && strcmp(argv[3], "--no-sub") == 0);
    pl_ua_profile *master = pl_ua_profile_new(NULL);
    pl_ua_profile_set_aor(master, "sip:pbx@localhost");
    pl_ua_profile_set_user_agent(master, "parley-refer-example");
    pl_ua_profile *alice = pl_ua_profile_new(master);
    pl_ua_profile_set_aor(alice, "sip:alice@localhost");
    pl_ua_profile_set_display_name(alice, "Alice");
    pl_ua_config cfg = {0};
    cfg.master = master;
    pl_ua *ua = pl_ua_new(&cfg);
    if (!ua || pl_ua_listen(ua, "udp:0.0.0.0:0") != PL_OK) {
        fprintf(stderr, "refer_ood: cannot start the UA\n");
        return 2;
    }
    pl_ua_handler refer = {.on_success = on_refer_success, .on_failure = on_refer_failure};
    pl_ua_handler notify = {.on_request = on_notify};
    pl_ua_set_handler(ua, "REFER", &refer, NULL);
    pl_ua_set_handler(ua, "NOTIFY", &notify, NULL);

    pl_ua_client c;
    if (pl_ua_request_new(ua, alice, "REFER", argv[1], NULL, NULL, &c) != PL_OK) {
        fprintf(stderr, "refer_ood: bad target %s\n", argv[1]);
        return 2;
    }
    pl_msg *m = pl_ua_request_msg(ua, c);
    char refer_to[512];
    snprintf(refer_to, sizeof(refer_to), "<%s>", argv[2]);
    pl_msg_hdr_append(m, PL_STR_LIT("Refer-To"), pl_str_c(refer_to));
    pl_msg_hdr_append(m, PL_STR_LIT("Referred-By"), PL_STR_LIT("<sip:alice@localhost>"));
    if (!R.want_sub) {
        pl_msg_hdr_append(m, PL_STR_LIT("Refer-Sub"), PL_STR_LIT("false"));
        pl_msg_hdr_append(m, PL_STR_LIT("Require"), PL_STR_LIT("norefersub"));
    }
    pl_ua_request_send(ua, c);
    pl_ua_run(ua);
    pl_ua_free(ua);
    pl_ua_profile_free(alice);
    pl_ua_profile_free(master);
    if (!R.accepted)
        return 1;
    return !R.want_sub || (R.final_seen && R.final_ok) ? 0 : 1;
}
