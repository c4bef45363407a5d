/*
 * test_mpsc.c - the lock-free queue of parley/mpsc.h: empty, FIFO on one
 * thread, the stub node cycling through an emptied queue, and four
 * producer threads against a consumer popping at the same time: every
 * item arrives once, each producer's items in order.
 */
#include "testutil.h"

#include <parley/mpsc.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct item {
    pl_mpsc_node node; /* first: the node is the item */
    unsigned producer;
    unsigned seq;
} item;

static void test_empty(void **state)
{
    (void)state;
    pl_mpsc q;
    pl_mpsc_init(&q);
    assert_null(pl_mpsc_pop(&q));
    assert_null(pl_mpsc_pop(&q));
}

static void test_fifo_and_refill(void **state)
{
    (void)state;
    pl_mpsc q;
    pl_mpsc_init(&q);
    item it[5];
    for (int round = 0; round < 3; round++) {
        for (unsigned i = 0; i < 5; i++) {
            it[i].seq = i;
            pl_mpsc_push(&q, &it[i].node);
        }
        for (unsigned i = 0; i < 5; i++) {
            item *got = (item *)pl_mpsc_pop(&q);
            assert_non_null(got);
            assert_int_equal(got->seq, i);
        }
        assert_null(pl_mpsc_pop(&q));
    }
    /* One at a time: the stub goes back behind the only node each time. */
    for (unsigned i = 0; i < 5; i++) {
        pl_mpsc_push(&q, &it[i].node);
        assert_ptr_equal(pl_mpsc_pop(&q), &it[i].node);
        assert_null(pl_mpsc_pop(&q));
    }
}

#define PRODUCERS 4
#define PER       50000u

typedef struct prod {
    pl_mpsc *q;
    item *items;
    unsigned id;
} prod;

static void *producer(void *arg)
{
    prod *p = arg;
    for (unsigned i = 0; i < PER; i++) {
        p->items[i].producer = p->id;
        p->items[i].seq = i;
        pl_mpsc_push(p->q, &p->items[i].node);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pl_mpsc q;
    pl_mpsc_init(&q);
    item *items = calloc(PRODUCERS * PER, sizeof(*items));
    assert_non_null(items);
    prod ps[PRODUCERS];
    pthread_t th[PRODUCERS];
    for (unsigned i = 0; i < PRODUCERS; i++) {
        ps[i] = (prod){&q, items + i * PER, i};
        assert_int_equal(pthread_create(&th[i], NULL, producer, &ps[i]), 0);
    }
    unsigned next[PRODUCERS] = {0};
    size_t got = 0;
    unsigned long spins = 0;
    while (got < PRODUCERS * PER && spins < 2000000000ul) {
        item *it = (item *)pl_mpsc_pop(&q);
        if (!it) {
            spins++;
            continue;
        }
        assert_true(it->producer < PRODUCERS);
        if (it->seq != next[it->producer])
            fail_msg("producer %u: got item %u, want %u", it->producer, it->seq,
                     next[it->producer]);
        next[it->producer]++;
        got++;
    }
    for (unsigned i = 0; i < PRODUCERS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(got, PRODUCERS * PER);
    assert_null(pl_mpsc_pop(&q));
    free(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_fifo_and_refill),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
