/*
 * connreg.c - the connection registry: (peer, worker) pairs in shards
 * chosen by a hash of the peer. Two workers may hold connections to the
 * same peer (both connected out at once), so a pair, not a peer, is
 * what is added and removed.
 */
#include "connreg.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS 64

typedef struct entry {
    pl_target peer;
    unsigned worker;
} entry;

typedef struct shard {
    pthread_mutex_t lock;
    entry *e;
    size_t n, cap;
} shard;

struct pd_connreg {
    shard shards[SHARDS];
};

static uint32_t peer_hash(const pl_target *t)
{
    const unsigned char *p;
    size_t n;
    uint16_t port;
    if (t->addr.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&t->addr;
        p = (const unsigned char *)&a->sin6_addr;
        n = 16;
        port = a->sin6_port;
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&t->addr;
        p = (const unsigned char *)&a->sin_addr;
        n = 4;
        port = a->sin_port;
    }
    uint32_t h = 2166136261u ^ (uint32_t)t->transport;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    h = (h ^ (port & 0xffu)) * 16777619u;
    h = (h ^ (uint32_t)(port >> 8)) * 16777619u;
    return h;
}

pd_connreg *pd_connreg_new(void)
{
    pd_connreg *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    for (size_t i = 0; i < SHARDS; i++)
        pthread_mutex_init(&r->shards[i].lock, NULL);
    return r;
}

void pd_connreg_free(pd_connreg *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < SHARDS; i++) {
        pthread_mutex_destroy(&r->shards[i].lock);
        free(r->shards[i].e);
    }
    free(r);
}

int pd_connreg_add(pd_connreg *r, const pl_target *peer, unsigned w)
{
    shard *s = &r->shards[peer_hash(peer) % SHARDS];
    int rc = PL_OK;
    pthread_mutex_lock(&s->lock);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        entry *e = realloc(s->e, cap * sizeof(*e));
        if (e) {
            s->e = e;
            s->cap = cap;
        }
    }
    if (s->n < s->cap)
        s->e[s->n++] = (entry){*peer, w};
    else
        rc = PL_ENOMEM;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void pd_connreg_remove(pd_connreg *r, const pl_target *peer, unsigned w)
{
    shard *s = &r->shards[peer_hash(peer) % SHARDS];
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n; i++) {
        if (s->e[i].worker == w && pl_target_eq(&s->e[i].peer, peer)) {
            s->e[i] = s->e[--s->n];
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
}

int pd_connreg_find(pd_connreg *r, const pl_target *peer, unsigned self)
{
    shard *s = &r->shards[peer_hash(peer) % SHARDS];
    int found = -1;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n && found < 0; i++)
        if (s->e[i].worker != self && pl_target_eq(&s->e[i].peer, peer))
            found = (int)s->e[i].worker;
    pthread_mutex_unlock(&s->lock);
    return found;
}
