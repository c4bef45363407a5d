/*
 * test_timer.c - the timing wheel on a virtual clock: every timer fires at
 * its exact millisecond, once, in deadline order, across every level
 * boundary; stops, restarts and callbacks that change other timers; the
 * next-deadline hint; a million armed timers.
 */
#include "testutil.h"

#include <parley/timer.h>

#include <stdlib.h>
#include <string.h>

typedef struct probe {
    pl_timer t;
    uint64_t want; /* the exact time it must fire at */
    uint64_t fired_at;
    int fired;
    pl_wheel *w;
} probe;

static uint64_t last_fire;
static int order_broken;

static void on_fire(pl_timer *t, void *arg)
{
    probe *p = arg;
    (void)t;
    p->fired++;
    p->fired_at = p->w->now;
    if (p->w->now < last_fire)
        order_broken = 1;
    last_fire = p->w->now;
}

static pl_wheel *new_wheel(uint64_t now)
{
    pl_wheel *w = malloc(sizeof(*w));
    assert_non_null(w);
    pl_wheel_init(w, now);
    return w;
}

/* One timer per delay, each alone on the wheel, fires at exactly now + delay. */
static void test_exact_deadlines(void **state)
{
    (void)state;
    static const uint64_t delays[] = {1,       2,        255,      256,      257,      511,
                                      512,     16383,    16384,    16385,    1048575,  1048576,
                                      1048577, 67108863, 67108864, 67108865, 43200000, 4294967295u};
    static const uint64_t starts[] = {0, 1, 255, 256, 1000003, 4294967296ull + 77};
    for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
        for (size_t i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
            pl_wheel *w = new_wheel(starts[s]);
            probe p = {.w = w};
            pl_timer_init(&p.t, on_fire, &p);
            pl_timer_start(w, &p.t, delays[i]);
            assert_true(pl_timer_running(&p.t));
            /* Not a millisecond early... */
            pl_wheel_advance(w, starts[s] + delays[i] - 1);
            assert_int_equal(p.fired, 0);
            /* ...and exactly on time, even when the clock jumps past it. */
            pl_wheel_advance(w, starts[s] + delays[i] + 5000);
            if (p.fired != 1 || p.fired_at != starts[s] + delays[i])
                fail_msg("start %llu delay %llu: fired %d at %llu", (unsigned long long)starts[s],
                         (unsigned long long)delays[i], p.fired, (unsigned long long)p.fired_at);
            assert_false(pl_timer_running(&p.t));
            assert_int_equal(w->armed, 0);
            free(w);
        }
    }
}

/* Beyond the horizon (2^32 - 1 ms) the deadline is clamped. */
static void test_horizon_clamp(void **state)
{
    (void)state;
    pl_wheel *w = new_wheel(5);
    probe p = {.w = w};
    pl_timer_init(&p.t, on_fire, &p);
    pl_timer_start(w, &p.t, UINT64_MAX);
    pl_wheel_advance(w, 5 + 4294967294ull);
    assert_int_equal(p.fired, 0);
    pl_wheel_advance(w, 5 + 4294967295ull);
    assert_int_equal(p.fired, 1);
    assert_int_equal(p.fired_at, 5 + 4294967295ull);
    free(w);
}

/* A delay of 0 fires at the next millisecond, not in the current advance. */
static void test_zero_delay(void **state)
{
    (void)state;
    pl_wheel *w = new_wheel(100);
    probe p = {.w = w};
    pl_timer_init(&p.t, on_fire, &p);
    pl_timer_start(w, &p.t, 0);
    assert_int_equal(pl_wheel_advance(w, 100), 0);
    assert_int_equal(pl_wheel_advance(w, 101), 1);
    assert_int_equal(p.fired_at, 101);
    free(w);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Thousands of timers, random deadlines over every level, random steps of
 * the clock: each fires once, exactly on time, in order. */
static void test_random_many(void **state)
{
    (void)state;
    enum { N = 20000 };
    probe *ps = calloc(N, sizeof(*ps));
    assert_non_null(ps);
    pl_wheel *w = new_wheel(123456);
    last_fire = 0;
    order_broken = 0;
    uint64_t max_deadline = 0;
    for (int i = 0; i < N; i++) {
        ps[i].w = w;
        pl_timer_init(&ps[i].t, on_fire, &ps[i]);
        uint64_t d = 1 + next_rand() % ((i % 4 == 0) ? (1ull << 27) : (i % 4 == 1) ? 70000 : 300);
        ps[i].want = w->now + d;
        if (ps[i].want > max_deadline)
            max_deadline = ps[i].want;
        pl_timer_start(w, &ps[i].t, d);
    }
    assert_int_equal(w->armed, N);
    size_t fired = 0;
    while (w->now < max_deadline) {
        uint64_t hint = pl_wheel_next_ms(w);
        /* The hint is never later than the earliest pending deadline. */
        uint64_t earliest = UINT64_MAX;
        for (int i = 0; i < N; i += 97) /* a sample keeps this test fast */
            if (!ps[i].fired && ps[i].want < earliest)
                earliest = ps[i].want;
        if (earliest != UINT64_MAX)
            assert_true(w->now + hint <= earliest);
        uint64_t step = 1 + next_rand() % ((next_rand() & 1) ? 50 : 3000000);
        fired += pl_wheel_advance(w, w->now + step);
    }
    assert_int_equal(fired, N);
    assert_int_equal(w->armed, 0);
    assert_false(order_broken);
    for (int i = 0; i < N; i++) {
        if (ps[i].fired != 1 || ps[i].fired_at != ps[i].want)
            fail_msg("timer %d: fired %d at %llu, want %llu", i, ps[i].fired,
                     (unsigned long long)ps[i].fired_at, (unsigned long long)ps[i].want);
    }
    free(ps);
    free(w);
}

/* Stopped timers never fire; restarting moves the deadline. */
static void test_stop_and_restart(void **state)
{
    (void)state;
    pl_wheel *w = new_wheel(0);
    probe a = {.w = w}, b = {.w = w};
    pl_timer_init(&a.t, on_fire, &a);
    pl_timer_init(&b.t, on_fire, &b);
    pl_timer_start(w, &a.t, 500);
    pl_timer_start(w, &b.t, 70000);
    pl_timer_stop(w, &a.t);
    pl_timer_stop(w, &a.t); /* twice is harmless */
    assert_false(pl_timer_running(&a.t));
    pl_timer_start(w, &b.t, 10); /* re-arm earlier */
    assert_int_equal(w->armed, 1);
    pl_wheel_advance(w, 100000);
    assert_int_equal(a.fired, 0);
    assert_int_equal(b.fired, 1);
    assert_int_equal(b.fired_at, 10);
    free(w);
}

/* Callbacks that stop a timer due in the same millisecond, and a periodic
 * timer that re-arms itself. */
typedef struct pair {
    pl_timer first, second, periodic;
    int first_n, second_n, periodic_n;
    uint64_t periodic_at[8];
    pl_wheel *w;
} pair;

static void first_cb(pl_timer *t, void *arg)
{
    pair *p = arg;
    (void)t;
    p->first_n++;
    pl_timer_stop(p->w, &p->second);
}

static void second_cb(pl_timer *t, void *arg)
{
    pair *p = arg;
    (void)t;
    p->second_n++;
}

static void periodic_cb(pl_timer *t, void *arg)
{
    pair *p = arg;
    if (p->periodic_n < 8)
        p->periodic_at[p->periodic_n] = p->w->now;
    if (++p->periodic_n < 8)
        pl_timer_start(p->w, t, 300);
}

static void test_callbacks_change_timers(void **state)
{
    (void)state;
    pl_wheel *w = new_wheel(1000);
    pair p;
    memset(&p, 0, sizeof(p));
    p.w = w;
    pl_timer_init(&p.first, first_cb, &p);
    pl_timer_init(&p.second, second_cb, &p);
    pl_timer_init(&p.periodic, periodic_cb, &p);
    pl_timer_start(w, &p.first, 40);
    pl_timer_start(w, &p.second, 40);
    pl_timer_start(w, &p.periodic, 300);
    pl_wheel_advance(w, 10000);
    assert_int_equal(p.first_n, 1);
    assert_int_equal(p.second_n, 0);
    assert_int_equal(p.periodic_n, 8);
    for (int i = 0; i < 8; i++)
        assert_int_equal(p.periodic_at[i], 1000 + 300 * (uint64_t)(i + 1));
    assert_int_equal(w->armed, 0);
    assert_int_equal(pl_wheel_next_ms(w), UINT64_MAX);
    free(w);
}

/* A million armed timers: start and stop each, and the wheel is empty after. */
static void test_million_timers(void **state)
{
    (void)state;
    enum { N = 1000000 };
    pl_timer *ts = calloc(N, sizeof(*ts));
    assert_non_null(ts);
    pl_wheel *w = new_wheel(0);
    probe sink = {.w = w};
    for (int i = 0; i < N; i++) {
        pl_timer_init(&ts[i], on_fire, &sink);
        pl_timer_start(w, &ts[i], 32000 + (uint64_t)(i % 5000));
    }
    assert_int_equal(w->armed, N);
    /* Idle: advancing to just before the first deadline fires nothing. */
    assert_int_equal(pl_wheel_advance(w, 31999), 0);
    for (int i = 0; i < N; i += 2)
        pl_timer_stop(w, &ts[i]);
    assert_int_equal(w->armed, N / 2);
    assert_int_equal(pl_wheel_advance(w, 40000), N / 2);
    assert_int_equal(sink.fired, N / 2);
    assert_int_equal(w->armed, 0);
    free(ts);
    free(w);
}

/* pl_wheel_clear stops everything without firing. */
static void test_clear(void **state)
{
    (void)state;
    pl_wheel *w = new_wheel(0);
    probe a = {.w = w};
    pl_timer_init(&a.t, on_fire, &a);
    pl_timer_start(w, &a.t, 5);
    pl_wheel_clear(w);
    assert_false(pl_timer_running(&a.t));
    assert_int_equal(pl_wheel_advance(w, 100), 0);
    assert_int_equal(a.fired, 0);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_deadlines),  cmocka_unit_test(test_horizon_clamp),
        cmocka_unit_test(test_zero_delay),       cmocka_unit_test(test_random_many),
        cmocka_unit_test(test_stop_and_restart), cmocka_unit_test(test_callbacks_change_timers),
        cmocka_unit_test(test_million_timers),   cmocka_unit_test(test_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
