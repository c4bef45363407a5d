/*
 * table.c - matching messages to transactions (RFC 3261 17.1.3, 17.2.3).
 *
 * A transaction is found by a key string: for a server transaction the top
 * Via's branch and sent-by and the method (ACK counts as INVITE, 17.2.3),
 * or, for an RFC 2543 request without the z9hG4bK cookie, the Request-URI,
 * From tag, Call-ID, CSeq and top Via; for a client transaction the branch
 * and the CSeq method (17.1.3). Keys live in one chained hash table that
 * doubles as it fills, so a lookup costs the same with ten transactions or
 * a million.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "txn_int.h"

/* A word-at-a-time multiplicative hash: keys are 40 to 120 bytes, and a
 * byte loop (FNV-1a) cost as much as the lookups' cache misses. */
static uint32_t key_hash(const char *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15u ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdu;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53u;
    h ^= h >> 29;
    return (uint32_t)h;
}

static void place(struct txn_slot *b, size_t n, uint32_t hash, txn_key *k)
{
    size_t i = hash & (n - 1);
    while (b[i].key)
        i = (i + 1) & (n - 1);
    b[i].hash = hash;
    b[i].key = k;
}

static int grow(pl_txn_layer *l)
{
    size_t n = l->nbuckets ? l->nbuckets * 2 : 1024;
    struct txn_slot *b = calloc(n, sizeof(*b));
    if (!b)
        return PL_ENOMEM;
    for (size_t i = 0; i < l->nbuckets; i++)
        if (l->buckets[i].key)
            place(b, n, l->buckets[i].hash, l->buckets[i].key);
    free(l->buckets);
    l->buckets = b;
    l->nbuckets = n;
    return PL_OK;
}

int pl__txn_key_add(pl_txn_layer *l, pl_txn *t, const char *key, size_t len, txn_key **out)
{
    if (2 * (l->nkeys + 1) > l->nbuckets && grow(l) != PL_OK)
        return PL_ENOMEM;
    txn_key *k = malloc(sizeof(*k) + len);
    if (!k)
        return PL_ENOMEM;
    memcpy(k->bytes, key, len);
    k->len = len;
    k->hash = key_hash(key, len);
    k->txn = t;
    place(l->buckets, l->nbuckets, k->hash, k);
    l->nkeys++;
    *out = k;
    return PL_OK;
}

void pl__txn_key_remove(pl_txn_layer *l, txn_key *k)
{
    if (!k)
        return;
    size_t mask = l->nbuckets - 1, i = k->hash & mask;
    while (l->buckets[i].key && l->buckets[i].key != k)
        i = (i + 1) & mask;
    if (l->buckets[i].key == k) {
        /* Backward-shift deletion: later entries of the run move up into
         * the hole unless their home slot lies after it (no tombstones). */
        size_t hole = i;
        for (size_t j = (hole + 1) & mask; l->buckets[j].key; j = (j + 1) & mask) {
            size_t home = l->buckets[j].hash & mask;
            bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
            if (movable) {
                l->buckets[hole] = l->buckets[j];
                hole = j;
            }
        }
        l->buckets[hole].key = NULL;
        l->buckets[hole].hash = 0;
    }
    l->nkeys--;
    free(k);
}

pl_txn *pl__txn_key_find(pl_txn_layer *l, const char *key, size_t len)
{
    if (!l->nbuckets)
        return NULL;
    uint32_t h = key_hash(key, len);
    size_t mask = l->nbuckets - 1;
    for (size_t i = h & mask; l->buckets[i].key; i = (i + 1) & mask) {
        const txn_key *k = l->buckets[i].key;
        if (l->buckets[i].hash == h && k->len == len && memcmp(k->bytes, key, len) == 0)
            return k->txn;
    }
    return NULL;
}

/* Appends parts separated by a byte that no part may hold unescaped (\x01). */
typedef struct kbuf {
    char *p;
    size_t len, cap;
    bool over;
} kbuf;

static void put(kbuf *k, pl_str s)
{
    if (k->over || s.len + 1 > k->cap - k->len) {
        k->over = true;
        return;
    }
    if (s.len)
        memcpy(k->p + k->len, s.p, s.len);
    k->len += s.len;
    k->p[k->len++] = '\x01';
}

static bool has_cookie(pl_str branch)
{
    return branch.len > 7 && memcmp(branch.p, "z9hG4bK", 7) == 0;
}

size_t pl__txn_server_key(const pl_msg *m, const char *method_class, char *out, size_t cap)
{
    const pl_via *v = m->via;
    if (!v)
        return 0;
    kbuf k = {out, 0, cap, false};
    if (v->has_branch && has_cookie(v->branch)) {
        put(&k, PL_STR_LIT("S"));
        put(&k, pl_str_c(method_class));
        put(&k, v->branch);
        put(&k, v->host);
        put(&k, v->port_str);
    } else {
        /* RFC 2543 (17.2.3): Request-URI, From tag, Call-ID, CSeq, top Via. */
        put(&k, PL_STR_LIT("2"));
        put(&k, pl_str_c(method_class));
        put(&k, m->ruri_raw);
        put(&k, m->from && m->from->has_tag ? m->from->tag : PL_STR_NULL);
        put(&k, m->call_id);
        char num[12];
        put(&k, (pl_str){num, pl_u32_print(m->cseq.num, num)});
        put(&k, v->raw);
    }
    return k.over ? 0 : k.len;
}

size_t pl__txn_client_key(pl_str branch, pl_str method, char *out, size_t cap)
{
    kbuf k = {out, 0, cap, false};
    put(&k, PL_STR_LIT("C"));
    put(&k, method);
    put(&k, branch);
    return k.over ? 0 : k.len;
}

size_t pl__txn_merge_key(const pl_msg *m, char *out, size_t cap)
{
    /* RFC 3261 8.2.2.2: no To tag, and From tag, Call-ID and CSeq as another's. */
    if (!m->from || !m->from->has_tag || (m->to && m->to->has_tag))
        return 0;
    kbuf k = {out, 0, cap, false};
    put(&k, PL_STR_LIT("M"));
    put(&k, m->from->tag);
    put(&k, m->call_id);
    char num[12];
    put(&k, (pl_str){num, pl_u32_print(m->cseq.num, num)});
    put(&k, m->cseq.method);
    return k.over ? 0 : k.len;
}
