/*
 * test_txn_table.c - the transaction layer's key table (src/txn/table.c):
 * open addressing with backward-shift deletion. Many keys in, a random
 * half out (clusters, wrap-around at the end of the array and growth
 * included), and every key must still be found exactly when present.
 */
#include "testutil.h"

#include "txn/txn_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 20000

static void test_add_remove_find(void **state)
{
    (void)state;
    pl_txn_layer l;
    memset(&l, 0, sizeof(l));
    static txn_key *keys[N];
    static pl_txn dummies[N]; /* only their addresses are used */
    char k[64];
    for (int i = 0; i < N; i++) {
        int n = snprintf(k, sizeof(k),
                         "z9hG4bK-%d\x01"
                         "10.0.0.1:5060\x01MESSAGE",
                         i * 7919);
        assert_int_equal(pl__txn_key_add(&l, &dummies[i], k, (size_t)n, &keys[i]), PL_OK);
    }
    assert_true(l.nbuckets >= 2 * (size_t)N);
    srand(7);
    static bool gone[N];
    for (int i = 0; i < N; i++)
        if (rand() & 1) {
            pl__txn_key_remove(&l, keys[i]);
            gone[i] = true;
        }
    size_t present = 0;
    for (int i = 0; i < N; i++) {
        int n = snprintf(k, sizeof(k),
                         "z9hG4bK-%d\x01"
                         "10.0.0.1:5060\x01MESSAGE",
                         i * 7919);
        pl_txn *t = pl__txn_key_find(&l, k, (size_t)n);
        if (gone[i]) {
            assert_null(t);
        } else {
            assert_ptr_equal(t, &dummies[i]);
            present++;
        }
    }
    assert_int_equal(l.nkeys, present);
    /* A key that was never added, and removing the rest empties the table. */
    assert_null(pl__txn_key_find(&l, "nope", 4));
    for (int i = 0; i < N; i++)
        if (!gone[i])
            pl__txn_key_remove(&l, keys[i]);
    assert_int_equal(l.nkeys, 0);
    for (size_t i = 0; i < l.nbuckets; i++)
        assert_null(l.buckets[i].key);
    free(l.buckets);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_remove_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
