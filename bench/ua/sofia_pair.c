/*
 * sofia_pair.c - the sofia-sip roles, on its user-agent API (nua), as an
 * application would write them.
 *
 * Both sides: su_init(), su_root_create(), and nua_create() with
 * NUTAG_URL bound to a UDP port on 127.0.0.1 (the port the kernel picks,
 * read back with nua_get_params: NTATAG_CONTACT). nua runs its stack as
 * nua_create() sets it up by default (on this build, in a thread of its
 * own: su_root threading is on), and getrusage(RUSAGE_SELF) counts every
 * thread of the process.
 *
 * The sender makes a handle for each request (nua_handle with the target in
 * NUTAG_URL and SIPTAG_TO_STR) and sends nua_message(nh,
 * SIPTAG_CONTENT_TYPE_STR("text/plain"), SIPTAG_PAYLOAD_STR(...)); on the
 * final response (nua_r_message, status >= 200) it destroys the handle,
 * counts, and sends the next. The receiver is created with
 * NUTAG_APPL_METHOD("MESSAGE"), so that the application answers: on
 * nua_i_message it calls nua_respond(nh, 200, "OK", NUTAG_WITH_THIS(nua))
 * and destroys the handle.
 *
 * sofia's logs are silenced: SOFIA_DEBUG and the per-module variables are
 * set to 0 before nua_create(), and every module log's level is set to 0.
 */
#include "bench_ua.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/sofia_features.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/su_tagarg.h>
#include <sofia-sip/su_wait.h>

/* The module logs sofia-sip exports (not declared in its public headers). */
extern su_log_t nua_log[], nta_log[], tport_log[], soa_log[], nea_log[], sresolv_log[],
    iptsec_log[], stun_log[];

const char *sofia_version(void)
{
    return SOFIA_SIP_VERSION;
}

static void quiet_sofia(void)
{
    static const char *const vars[] = {"SOFIA_DEBUG", "NUA_DEBUG", "NTA_DEBUG",     "TPORT_DEBUG",
                                       "SOA_DEBUG",   "NEA_DEBUG", "SRESOLV_DEBUG", "IPTSEC_DEBUG",
                                       "STUN_DEBUG",  "SU_DEBUG"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        setenv(vars[i], "0", 1);
    su_log_t *logs[] = {su_log_default, nua_log,     nta_log,    tport_log, soa_log,
                        nea_log,        sresolv_log, iptsec_log, stun_log};
    for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++)
        su_log_set_level(logs[i], 0);
}

typedef struct side {
    const char *role;
    const role_opts *o;
    su_root_t *root;
    nua_t *nua;
    uint16_t port; /* ours, from nua_r_get_params */
    bool got_params;
} side;

/* su_init, the root and the nua; then wait for nua_r_get_params to learn the port. */
static void side_init(side *s, nua_callback_f cb, bool receiver)
{
    quiet_sofia();
    if (su_init() != 0)
        s->root = NULL;
    else
        s->root = su_root_create(s);
    if (!s->root)
        bench_fail(s->role, "su_init / su_root_create failed");
    s->nua = receiver ? nua_create(s->root, cb, s, NUTAG_URL("sip:127.0.0.1:*;transport=udp"),
                                   NUTAG_APPL_METHOD("MESSAGE"), TAG_END())
                      : nua_create(s->root, cb, s, NUTAG_URL("sip:127.0.0.1:*;transport=udp"),
                                   SIPTAG_FROM_STR("<sip:bench@127.0.0.1>"), TAG_END());
    if (!s->nua)
        bench_fail(s->role, "nua_create failed (cannot bind 127.0.0.1 UDP?)");
    nua_get_params(s->nua, TAG_ANY(), TAG_END());
    for (int i = 0; i < 500 && !s->got_params; i++)
        su_root_step(s->root, 10);
    if (!s->port)
        bench_fail(s->role, "nua_get_params gave no contact port");
}

/* nua_r_get_params: our contact, hence our port. */
static void side_params(side *s, tagi_t tags[])
{
    sip_contact_t const *m = NULL;
    tl_gets(tags, NTATAG_CONTACT_REF(m), TAG_END());
    if (m && m->m_url->url_port)
        s->port = (uint16_t)atoi(m->m_url->url_port);
    s->got_params = true;
}

/* ------------------------------------------------------------------ receiver */

typedef struct srecv {
    side s;
    su_wait_t stdin_wait;
    uint64_t requests, cpu0, csw0, flt0;
} srecv;

static srecv SR;

static void sr_callback(nua_event_t event, int status, char const *phrase, nua_t *nua,
                        nua_magic_t *magic, nua_handle_t *nh, nua_hmagic_t *hmagic,
                        sip_t const *sip, tagi_t tags[])
{
    (void)status;
    (void)phrase;
    (void)magic;
    (void)hmagic;
    (void)sip;
    switch (event) {
    case nua_r_get_params:
        side_params(&SR.s, tags);
        break;
    case nua_i_message:
        if (SR.requests++ == 0) {
            msg_t *m = nua_current_request(nua);
            bench_report("request %u", m ? (unsigned)msg_size(m) : 0u);
            if (m && getenv("BENCH_UA_DUMP")) {
                su_home_t home[1] = {SU_HOME_INIT(home)};
                size_t len = 0;
                char *text = msg_as_string(home, m, NULL, 0, &len);
                fprintf(stderr, "bench-ua sofia-receiver: the first request:\n%.*s\n", (int)len,
                        text ? text : "");
                su_home_deinit(home);
            }
        }
        nua_respond(nh, 200, "OK", NUTAG_WITH_THIS(nua), TAG_END());
        nua_handle_destroy(nh);
        break;
    default:
        /* Any other incoming request made a handle that is ours to destroy. */
        if (nh && nua_event_is_incoming_request(event))
            nua_handle_destroy(nh);
        break;
    }
}

static void sr_command(const char *cmd)
{
    if (strcmp(cmd, "stop") != 0)
        return;
    bench_report("stopped %llu %llu %llu 0 %llu %llu", (unsigned long long)SR.requests,
                 (unsigned long long)(bench_cpu_us() - SR.cpu0),
                 (unsigned long long)bench_maxrss_kb(), (unsigned long long)(bench_csw() - SR.csw0),
                 (unsigned long long)(bench_minflt() - SR.flt0));
    bench_exit(0);
}

static int sr_on_stdin(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void)magic;
    (void)w;
    (void)arg;
    bench_take_cmds(sr_command);
    return 0;
}

int sofia_receiver(const role_opts *o)
{
    SR.s.role = "sofia-receiver";
    SR.s.o = o;
    side_init(&SR.s, sr_callback, true);
    if (su_wait_create(&SR.stdin_wait, 0, SU_WAIT_IN) != 0 ||
        su_root_register(SR.s.root, &SR.stdin_wait, sr_on_stdin, NULL, 0) < 0)
        bench_fail(SR.s.role, "cannot watch stdin");
    SR.cpu0 = bench_cpu_us();
    SR.csw0 = bench_csw();
    SR.flt0 = bench_minflt();
    bench_report("ready %u", SR.s.port);
    su_root_run(SR.s.root);
    bench_fail(SR.s.role, "the loop ended before the stop command");
}

/* ------------------------------------------------------------------ sender */

typedef struct ssend {
    side s;
    char target[64];
    bool verifying;
    bench_loop loop; /* the timed requests */
    uint64_t cpu0, csw0, flt0;
    su_timer_t *guard, *tick;
} ssend;

static ssend SS;

static void ss_send_one(void)
{
    nua_handle_t *nh =
        nua_handle(SS.s.nua, NULL, NUTAG_URL(SS.target), SIPTAG_TO_STR(SS.target), TAG_END());
    if (!nh)
        bench_fail(SS.s.role, "nua_handle failed");
    nua_message(nh, SIPTAG_CONTENT_TYPE_STR("text/plain"), SIPTAG_PAYLOAD_STR(BU_BODY), TAG_END());
    bench_loop_sent(&SS.loop);
}

static void ss_on_tick(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    (void)arg;
    bench_report("tick %llu %llu %llu",
                 (unsigned long long)((bench_now_ns() - SS.loop.t0) / 1000000u),
                 (unsigned long long)(SS.loop.ok + SS.loop.fail),
                 (unsigned long long)(bench_cpu_us() - SS.cpu0));
}

static void ss_on_guard(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    (void)arg;
    bench_fail(SS.s.role, "verification: no final response to the first MESSAGE in 5 s");
}

static void ss_end(void)
{
    const bench_loop *l = &SS.loop;
    uint64_t cpu = bench_cpu_us() - SS.cpu0;
    if (l->fail)
        bench_fail(SS.s.role, "%llu of %llu requests failed (first final status %d%s)",
                   (unsigned long long)l->fail, (unsigned long long)l->started, l->bad_status,
                   l->bad_status == 408 ? ": timeout" : "");
    bench_report("active %llu %llu %llu %llu %llu 0 %llu %llu", (unsigned long long)l->ok,
                 (unsigned long long)l->fail, (unsigned long long)(l->t_end - l->t0),
                 (unsigned long long)cpu, (unsigned long long)bench_maxrss_kb(),
                 (unsigned long long)(bench_csw() - SS.csw0),
                 (unsigned long long)(bench_minflt() - SS.flt0));
    bench_exit(0);
}

static void ss_final(nua_t *nua, int status, char const *phrase)
{
    if (SS.verifying) {
        SS.verifying = false;
        su_timer_reset(SS.guard);
        if (status != 200)
            bench_fail(SS.s.role, "verification: the MESSAGE got %d %s, not 200", status,
                       phrase ? phrase : "");
        msg_t *m = nua_current_request(nua); /* for a nua_r_ event: the response */
        bench_report("verified 0 %u", m ? (unsigned)msg_size(m) : 0u);
        bench_loop_begin(&SS.loop, SS.s.o);
        if (SS.s.o->tick_ms && SS.tick)
            su_timer_set_for_ever(SS.tick, ss_on_tick, NULL);
        for (unsigned i = 0; i < SS.s.o->window; i++)
            ss_send_one();
        return;
    }
    switch (bench_loop_final(&SS.loop, status == 200, status)) {
    case BENCH_LOOP_NEXT:
        ss_send_one();
        break;
    case BENCH_LOOP_END:
        ss_end();
        break;
    default:
        break;
    }
}

static void ss_callback(nua_event_t event, int status, char const *phrase, nua_t *nua,
                        nua_magic_t *magic, nua_handle_t *nh, nua_hmagic_t *hmagic,
                        sip_t const *sip, tagi_t tags[])
{
    (void)magic;
    (void)hmagic;
    (void)sip;
    switch (event) {
    case nua_r_get_params:
        side_params(&SS.s, tags);
        break;
    case nua_r_message:
        if (status < 200)
            break;
        ss_final(nua, status, phrase);
        nua_handle_destroy(nh);
        break;
    default:
        if (nh && nua_event_is_incoming_request(event))
            nua_handle_destroy(nh);
        break;
    }
}

int sofia_sender(const role_opts *o)
{
    SS.s.role = "sofia-sender";
    SS.s.o = o;
    side_init(&SS.s, ss_callback, false);
    snprintf(SS.target, sizeof(SS.target), "sip:bench@127.0.0.1:%u", o->port);
    SS.guard = su_timer_create(su_root_task(SS.s.root), 5000);
    SS.tick =
        o->tick_ms ? su_timer_create(su_root_task(SS.s.root), (su_duration_t)o->tick_ms) : NULL;
    if (!SS.guard || (o->tick_ms && !SS.tick))
        bench_fail(SS.s.role, "su_timer_create failed");
    SS.cpu0 = bench_cpu_us();
    SS.csw0 = bench_csw();
    SS.flt0 = bench_minflt();
    /* One request first: the pair must work before anything is timed. */
    SS.verifying = true;
    su_timer_set(SS.guard, ss_on_guard, NULL);
    ss_send_one();
    su_root_run(SS.s.root);
    bench_fail(SS.s.role, "the loop ended before the traffic did");
}
