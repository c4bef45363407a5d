/*
 * test_ua_loop.c - the user-agent library on a real libuv loop and real
 * loopback sockets: the thread-safe post, an application's own loop
 * driving the UA through pl_net_fd / pl_net_timeout_ms / pl_net_process,
 * and pl_ua_free with requests pending on both sides (no callback after
 * it, every destructor run once).
 */
#include "testutil.h"

#include <parley/ua.h>

#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

static struct {
    pl_ua *ua;
    pl_ua_profile *prof;
    char self[64];
    pthread_t loop_thread;
    bool posted_on_loop;
    int successes, failures, requests, frees;
    uint16_t status;
} T;

static void on_success(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app)
{
    (void)req;
    (void)app;
    T.successes++;
    T.status = resp->status;
    pl_ua_stop(ua);
}

static void on_failure(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app)
{
    (void)req;
    (void)app;
    T.failures++;
    T.status = resp->status;
    pl_ua_stop(ua);
}

static void on_silent_request(pl_ua *ua, pl_ua_server srv, const pl_msg *req, void *app)
{
    (void)ua;
    (void)srv;
    (void)req;
    (void)app;
    T.requests++;
}

static void ctx_free(void *app)
{
    (void)app;
    T.frees++;
}

static void send_to_self(const char *method)
{
    pl_ua_client c;
    assert_int_equal(pl_ua_request_new(T.ua, NULL, method, T.self, &T, ctx_free, &c), PL_OK);
    assert_int_equal(pl_ua_request_send(T.ua, c), PL_OK);
}

static int setup(void **state)
{
    (void)state;
    memset(&T, 0, sizeof(T));
    T.prof = pl_ua_profile_new(NULL);
    pl_ua_profile_set_aor(T.prof, "sip:loop@127.0.0.1");
    pl_ua_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.master = T.prof;
    cfg.log_level = PL_UA_LOG_ERROR;
    T.ua = pl_ua_new(&cfg);
    assert_non_null(T.ua);
    assert_int_equal(pl_ua_listen(T.ua, "udp:127.0.0.1:0"), PL_OK);
    pl_target t;
    assert_int_equal(pl_net_listen_target(pl_ua_net(T.ua), 0, &t), PL_OK);
    snprintf(T.self, sizeof(T.self), "sip:me@127.0.0.1:%u", (unsigned)pl_target_port(&t));
    pl_ua_handler h = {on_silent_request, NULL, on_success, on_failure, NULL};
    assert_int_equal(pl_ua_set_handler(T.ua, "OPTIONS",
                                       &(pl_ua_handler){NULL, NULL, on_success, on_failure, NULL},
                                       NULL),
                     PL_OK);
    assert_int_equal(pl_ua_set_handler(T.ua, "MESSAGE", &h, NULL), PL_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pl_ua_free(T.ua);
    pl_ua_profile_free(T.prof);
    tu_free_all();
    return 0;
}

/* ---- post from another thread */

static void posted(void *arg)
{
    (void)arg;
    T.posted_on_loop = pthread_equal(pthread_self(), T.loop_thread);
    send_to_self("OPTIONS");
}

static void *poster(void *arg)
{
    (void)arg;
    assert_int_equal(pl_ua_post(T.ua, posted, NULL), PL_OK);
    return NULL;
}

static void test_post_from_thread(void **state)
{
    (void)state;
    T.loop_thread = pthread_self();
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, poster, NULL), 0);
    /* The async handle keeps the loop alive until the post arrives. */
    pl_ua_run(T.ua);
    pthread_join(th, NULL);
    assert_true(T.posted_on_loop);
    assert_int_equal(T.successes, 1);
    assert_int_equal(T.status, 200); /* answered by the UA itself, from the profile */
    assert_int_equal(T.frees, 1);
}

/* ---- the application's own loop */

static void test_own_loop(void **state)
{
    (void)state;
    pl_net *net = pl_ua_net(T.ua);
    int fd = pl_net_fd(net);
    assert_true(fd >= 0);
    send_to_self("OPTIONS");
    /* Bounded, so a bug fails instead of hanging; no timing is asserted. */
    for (int i = 0; i < 2000 && T.successes + T.failures == 0; i++) {
        struct pollfd p = {fd, POLLIN, 0};
        int t = pl_net_timeout_ms(net);
        poll(&p, 1, t < 0 || t > 10 ? 10 : t);
        pl_net_process(net);
    }
    assert_int_equal(T.successes, 1);
    assert_int_equal(T.status, 200);
}

/* ---- free with work pending */

static void test_free_with_pending(void **state)
{
    (void)state;
    send_to_self("MESSAGE");
    pl_net *net = pl_ua_net(T.ua);
    for (int i = 0; i < 2000 && T.requests == 0; i++) {
        struct pollfd p = {pl_net_fd(net), POLLIN, 0};
        poll(&p, 1, 10);
        pl_net_process(net);
    }
    assert_int_equal(T.requests, 1);
    pl_ua_stats st;
    pl_ua_get_stats(T.ua, &st);
    assert_int_equal(st.clients, 1);
    assert_int_equal(st.servers, 1);
    pl_ua_free(T.ua);
    T.ua = NULL;
    /* No final callback ran, the context's destructor did, once. */
    assert_int_equal(T.successes + T.failures, 0);
    assert_int_equal(T.frees, 1);
}

/* ---- REFER with an implicit subscription, and the default answer, on real sockets */

static int notifies;
static bool notify_final;

static void on_refer(pl_ua *ua, pl_ua_server srv, const pl_msg *req, void *app)
{
    (void)req;
    (void)app;
    assert_int_equal(pl_ua_server_accept(ua, srv, 202), PL_OK);
    assert_int_equal(pl_ua_server_refer_notify(ua, srv, 200, NULL), PL_OK);
}

static void on_notify(pl_ua *ua, pl_ua_server srv, const pl_msg *req, void *app)
{
    (void)app;
    notifies++;
    int32_t i = pl_msg_hdr_find(req, PL_HDR_SUBSCRIPTION_STATE, 0);
    assert_true(i >= 0);
    if (pl_str_case_eq_c((pl_str){req->hdrs[i].value.p, 10}, "terminated")) {
        notify_final = true;
        assert_non_null(memmem(req->body.p, req->body.len, "SIP/2.0 200", 11));
        pl_ua_stop(ua);
    }
    assert_int_equal(pl_ua_server_accept(ua, srv, 200), PL_OK);
}

static void refer_done(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app)
{
    (void)ua;
    (void)req;
    (void)app;
    T.status = resp->status;
}

static void test_refer_subscription_real(void **state)
{
    (void)state;
    notifies = 0;
    notify_final = false;
    pl_ua_handler refer = {on_refer, NULL, refer_done, refer_done, NULL};
    pl_ua_handler notify = {on_notify, NULL, NULL, NULL, NULL};
    assert_int_equal(pl_ua_set_handler(T.ua, "REFER", &refer, NULL), PL_OK);
    assert_int_equal(pl_ua_set_handler(T.ua, "NOTIFY", &notify, NULL), PL_OK);
    pl_ua_client c;
    assert_int_equal(pl_ua_request_new(T.ua, NULL, "REFER", T.self, NULL, NULL, &c), PL_OK);
    assert_int_equal(pl_msg_hdr_append(pl_ua_request_msg(T.ua, c), PL_STR_LIT("Refer-To"),
                                       PL_STR_LIT("<sip:carol@127.0.0.1>")),
                     PL_OK);
    assert_int_equal(pl_ua_request_send(T.ua, c), PL_OK);
    pl_ua_run(T.ua); /* stops at the terminating NOTIFY */
    assert_int_equal(T.status, 202);
    assert_true(notify_final);
    assert_int_equal(notifies, 2); /* 100 Trying, then 200 OK */
}

static void test_default_answer_real(void **state)
{
    (void)state;
    assert_int_equal(pl_ua_profile_set_default_answer(T.prof, 486, 200), PL_OK);
    send_to_self("MESSAGE"); /* the MESSAGE handler never answers */
    pl_ua_run(T.ua);
    assert_int_equal(T.requests, 1);
    assert_int_equal(T.failures, 1);
    assert_int_equal(T.status, 486);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_post_from_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_with_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refer_subscription_real, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_answer_real, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
