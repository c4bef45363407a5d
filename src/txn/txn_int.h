/*
 * txn_int.h - the transaction layer's private structures, shared by its
 * files: the layer (table, timers, scratch arena), the transactions, and the
 * hash table that matches messages to them.
 */
#ifndef PARLEY_TXN_INT_H
#define PARLEY_TXN_INT_H

#include <parley/txn.h>

/* One key in the match table; a transaction has up to two (its match key
 * and, for a UAS, its merged-request key). */
typedef struct txn_key {
    pl_txn *txn;
    uint32_t hash;
    size_t len;
    char bytes[];
} txn_key;

struct pl_txn {
    pl_txn_layer *layer;
    pl_txn_kind kind;
    pl_txn_state state;
    pl_target peer; /* client: where the request goes; server: where responses go */
    bool reliable;
    bool final_sent;  /* server: a final response went out */
    bool final_seen;  /* client: a final response reached the user */
    bool abandoned;   /* client: the user wants no more callbacks */
    bool deliver_503; /* client: the transport refused the request */
    /* The request, owned: its bytes and its parse (rq, NULL once dropped:
     * a finished transaction keeps none of its 700-odd bytes). */
    char *req_buf;
    size_t req_len;
    struct txn_req {
        pl_msg msg;
        pl_arena arena;
        _Alignas(16) char block[]; /* the views of the copy, exactly (pl_msg_copy_views_size) */
    } * rq;
    /* Server: the last response sent. Client INVITE: the ACK for a non-2xx. */
    char *out_buf;
    size_t out_len;
    uint16_t out_status;
    txn_key *key;
    txn_key *merge_key;
    pl_timer t_retrans; /* A, E, G */
    pl_timer t_end;     /* B, F, H, D, K, I, J, L, M */
    pl_timer t_extra;   /* server INVITE: 100 Trying; client: deferred 503 */
    uint64_t interval;  /* the next retransmission interval */
    pl_txn_response_cb cb;
    void *cb_arg;
    pl_txn *cancelled; /* a CANCEL's INVITE transaction */
    pl_txn *canceller; /* an INVITE's CANCEL transaction */
    void *user;
    pl_txn *prev_all, *next_all;
};

struct pl_txn_layer {
    pl_txn_config cfg;
    pl_txn_stats stats;
    /* Open addressing with linear probing: each slot holds the key's hash
     * beside its pointer, so a probe that misses touches no key. */
    struct txn_slot {
        uint32_t hash;
        txn_key *key; /* NULL: empty */
    } * buckets;
    size_t nbuckets; /* a power of two, at most half full */
    size_t nkeys;
    pl_txn *all; /* every live transaction */
    /* The transaction whose new request the user is being handed: its
     * request stays whole until on_request returns, even if answered. */
    pl_txn *in_request;
    bool drop_after;
    pl_arena scratch;
    char scratch_block[65536];
};

/* Keys. */
int pl__txn_key_add(pl_txn_layer *l, pl_txn *t, const char *key, size_t len, txn_key **out);
void pl__txn_key_remove(pl_txn_layer *l, txn_key *k);
pl_txn *pl__txn_key_find(pl_txn_layer *l, const char *key, size_t len);

/* Key strings; each writes at most cap bytes and returns the length, 0 if
 * the message cannot be keyed (no Via). */
size_t pl__txn_server_key(const pl_msg *m, const char *method_class, char *out, size_t cap);
size_t pl__txn_client_key(pl_str branch, pl_str method, char *out, size_t cap);
size_t pl__txn_merge_key(const pl_msg *m, char *out, size_t cap);

/* Lifecycle. */
pl_txn *pl__txn_new(pl_txn_layer *l, pl_txn_kind kind, const pl_msg *req, const pl_target *peer);
void pl__txn_free(pl_txn *t);
/* Free the request's copy: a non-INVITE in Completed only absorbs retransmissions. */
void pl__txn_drop_request(pl_txn *t);
int pl__txn_send(pl_txn_layer *l, const pl_target *dst, const char *buf, size_t len);
uint64_t pl__txn_64t1(const pl_txn_layer *l);

/* Where responses to a request go (RFC 3261 18.2.2, RFC 3581 section 4). */
void pl__txn_response_target(const pl_msg *req, const pl_target *src, pl_target *out);

/* The client and server halves. */
void pl__txn_client_response(pl_txn *t, const pl_msg *resp, const pl_target *src);
void pl__txn_server_request(pl_txn *t, const pl_msg *req);
void pl__txn_server_timers_init(pl_txn *t);
void pl__txn_client_timers_init(pl_txn *t);

#endif
