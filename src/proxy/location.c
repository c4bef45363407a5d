/*
 * location.c - the registrar's location table (RFC 3261 10.3): addresses
 * of record and their bindings, shared by every worker.
 *
 * The table is split into shards by a hash of the address of record, each
 * with its own mutex, so that workers rarely meet. Bindings expire lazily
 * (a lookup skips and drops dead ones) and by pl_location_expire().
 *
 * Every change of a binding goes through bind_set() or bind_remove(),
 * which tell the configured on_change hook (a store writing the table
 * through) with the shard still locked, so that its calls for one AOR come
 * in the order of the changes.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_int.h"

#define SHARDS 64

typedef struct bind_rec {
    char *contact;
    char *path;
    char *call_id;
    char *user_agent;
    uint32_t cseq;
    uint16_t q;
    uint64_t expires_ms;
    pl_target source;
} bind_rec;

typedef struct aor_rec {
    char *aor;
    uint32_t hash;
    bind_rec *b;
    uint32_t n;
    struct aor_rec *next;
} aor_rec;

typedef struct shard {
    pthread_mutex_t lock;
    aor_rec **buckets;
    size_t nbuckets;
    size_t count;
} shard;

struct pl_location {
    pl_location_config cfg;
    atomic_size_t aors;
    shard shards[SHARDS];
};

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

pl_location *pl_location_new(const pl_location_config *cfg)
{
    pl_location *loc = calloc(1, sizeof(*loc));
    if (!loc)
        return NULL;
    if (cfg)
        loc->cfg = *cfg;
    if (!loc->cfg.min_expires)
        loc->cfg.min_expires = 60;
    if (!loc->cfg.max_expires)
        loc->cfg.max_expires = 86400;
    if (!loc->cfg.default_expires)
        loc->cfg.default_expires = 3600;
    if (!loc->cfg.max_contacts)
        loc->cfg.max_contacts = 16;
    if (!loc->cfg.max_aors)
        loc->cfg.max_aors = 1000000;
    for (int i = 0; i < SHARDS; i++)
        pthread_mutex_init(&loc->shards[i].lock, NULL);
    return loc;
}

static void bind_free(bind_rec *b)
{
    free(b->contact);
    free(b->path);
    free(b->call_id);
    free(b->user_agent);
}

static void aor_free(aor_rec *a)
{
    for (uint32_t i = 0; i < a->n; i++)
        bind_free(&a->b[i]);
    free(a->b);
    free(a->aor);
    free(a);
}

void pl_location_free(pl_location *loc)
{
    if (!loc)
        return;
    for (int i = 0; i < SHARDS; i++) {
        shard *s = &loc->shards[i];
        for (size_t k = 0; k < s->nbuckets; k++)
            for (aor_rec *a = s->buckets[k], *next; a; a = next) {
                next = a->next;
                aor_free(a);
            }
        free(s->buckets);
        pthread_mutex_destroy(&s->lock);
    }
    free(loc);
}

int pl_location_aor(const pl_uri *uri, char *out, size_t cap)
{
    if (uri->scheme != PL_URI_SIP && uri->scheme != PL_URI_SIPS)
        return PL_EINVAL;
    size_t o = 0;
    const char *scheme = uri->scheme == PL_URI_SIPS ? "sips:" : "sip:";
    size_t sl = strlen(scheme);
    if (sl >= cap)
        return PL_ENOSPC;
    memcpy(out, scheme, sl);
    o = sl;
    if (uri->user.len) {
        size_t n;
        if (pl_uri_unescape(uri->user, out + o, cap - o - 1, &n) != PL_OK)
            return PL_ENOSPC;
        o += n;
        if (o + 1 >= cap)
            return PL_ENOSPC;
        out[o++] = '@';
    }
    if (o + uri->host.len + 7 >= cap)
        return PL_ENOSPC;
    for (size_t i = 0; i < uri->host.len; i++) {
        char c = uri->host.p[i];
        out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    if (uri->port) {
        out[o++] = ':';
        o += pl_u32_print(uri->port, out + o);
    }
    out[o] = '\0';
    return PL_OK;
}

/* ---- finding an AOR (the shard's lock held) */

static shard *shard_of(pl_location *loc, uint32_t h)
{
    return &loc->shards[h % SHARDS];
}

static aor_rec **find_slot(shard *s, const char *aor, uint32_t h)
{
    if (!s->nbuckets)
        return NULL;
    aor_rec **pp = &s->buckets[(h / SHARDS) & (s->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->hash == h && strcmp((*pp)->aor, aor) == 0)
            return pp;
    return NULL;
}

static int grow(shard *s)
{
    size_t nb = s->nbuckets ? s->nbuckets * 2 : 64;
    aor_rec **b = calloc(nb, sizeof(*b));
    if (!b)
        return PL_ENOMEM;
    for (size_t k = 0; k < s->nbuckets; k++)
        for (aor_rec *a = s->buckets[k], *next; a; a = next) {
            next = a->next;
            aor_rec **head = &b[(a->hash / SHARDS) & (nb - 1)];
            a->next = *head;
            *head = a;
        }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = nb;
    return PL_OK;
}

static aor_rec *aor_get(pl_location *loc, shard *s, const char *aor, uint32_t h, bool create)
{
    aor_rec **pp = find_slot(s, aor, h);
    if (pp)
        return *pp;
    if (!create || atomic_load(&loc->aors) >= loc->cfg.max_aors)
        return NULL;
    if (s->count + 1 > s->nbuckets && grow(s) != PL_OK)
        return NULL;
    aor_rec *a = calloc(1, sizeof(*a));
    if (!a || !(a->aor = strdup(aor))) {
        free(a);
        return NULL;
    }
    a->hash = h;
    aor_rec **head = &s->buckets[(h / SHARDS) & (s->nbuckets - 1)];
    a->next = *head;
    *head = a;
    s->count++;
    atomic_fetch_add(&loc->aors, 1);
    return a;
}

/* ---- changes, told to the hook (the shard's lock held) */

static pl_binding binding_view(const bind_rec *b)
{
    return (pl_binding){
        .contact = pl_str_c(b->contact),
        .path = pl_str_c(b->path),
        .call_id = pl_str_c(b->call_id),
        .cseq = b->cseq,
        .q = b->q,
        .expires_ms = b->expires_ms,
        .source = b->source,
        .user_agent = pl_str_c(b->user_agent),
    };
}

static void notify(const pl_location *loc, const aor_rec *a, const bind_rec *b, bool removed)
{
    if (!loc->cfg.on_change)
        return;
    pl_binding v = binding_view(b);
    loc->cfg.on_change(a->aor, &v, removed, loc->cfg.hook_user);
}

static void bind_remove(pl_location *loc, aor_rec *a, uint32_t i)
{
    notify(loc, a, &a->b[i], true);
    bind_free(&a->b[i]);
    memmove(&a->b[i], &a->b[i + 1], sizeof(bind_rec) * (a->n - i - 1));
    a->n--;
}

static void aor_drop(pl_location *loc, shard *s, aor_rec *a)
{
    aor_rec **pp = find_slot(s, a->aor, a->hash);
    if (!pp)
        return;
    for (uint32_t i = 0; i < a->n; i++)
        notify(loc, a, &a->b[i], true);
    *pp = a->next;
    s->count--;
    atomic_fetch_sub(&loc->aors, 1);
    aor_free(a);
}

static void drop_expired(pl_location *loc, aor_rec *a, uint64_t now)
{
    for (uint32_t i = 0; i < a->n;)
        if (a->b[i].expires_ms <= now)
            bind_remove(loc, a, i);
        else
            i++;
}

static int32_t bind_find(const aor_rec *a, const pl_uri *uri)
{
    for (uint32_t i = 0; a && i < a->n; i++) {
        pl_uri u;
        if (pl_uri_parse(&u, pl_str_c(a->b[i].contact), NULL) == PL_OK && pl_uri_equal(&u, uri))
            return (int32_t)i;
    }
    return -1;
}

static char *dup_str(pl_str s)
{
    char *c = malloc(s.len + 1);
    if (c) {
        if (s.len)
            memcpy(c, s.p, s.len);
        c[s.len] = '\0';
    }
    return c;
}

/* ---- REGISTER (10.3) */

static uint16_t q_of(const pl_nameaddr *na)
{
    if (!na->q.len)
        return 1000;
    /* qvalue: "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ] (RFC 3261 25.1). */
    uint32_t v = 0;
    size_t i = 0;
    if (na->q.p[0] == '1')
        return 1000;
    if (na->q.p[0] != '0')
        return 1000;
    i = 1;
    uint32_t scale = 100;
    if (i < na->q.len && na->q.p[i] == '.')
        for (i++; i < na->q.len && scale; i++, scale /= 10)
            if (na->q.p[i] >= '0' && na->q.p[i] <= '9')
                v += (uint32_t)(na->q.p[i] - '0') * scale;
    return (uint16_t)v;
}

static int join_values(const pl_msg *m, pl_hdr_id id, char **out)
{
    *out = NULL;
    size_t len = 0;
    pl_value_iter it;
    pl_str v;
    pl_value_iter_init(&it, m, id);
    while (pl_value_iter_next(&it, &v))
        len += v.len + 2;
    if (!len)
        return PL_OK;
    char *b = malloc(len + 1);
    if (!b)
        return PL_ENOMEM;
    size_t o = 0;
    pl_value_iter_init(&it, m, id);
    while (pl_value_iter_next(&it, &v)) {
        if (o) {
            memcpy(b + o, ", ", 2);
            o += 2;
        }
        memcpy(b + o, v.p, v.len);
        o += v.len;
    }
    b[o] = '\0';
    *out = b;
    return PL_OK;
}

static uint32_t contact_expires(const pl_location *loc, const pl_msg *reg, const pl_nameaddr *c)
{
    uint32_t e = c->has_expires     ? c->expires
                 : reg->has_expires ? reg->expires
                                    : loc->cfg.default_expires;
    return e > loc->cfg.max_expires ? loc->cfg.max_expires : e;
}

uint16_t pl_location_save(pl_location *loc, const pl_msg *reg, const pl_target *src,
                          uint64_t now_ms, uint32_t *min_expires)
{
    char aor[512];
    if (!reg->to || pl_location_aor(&reg->to->uri, aor, sizeof(aor)) != PL_OK)
        return 400;
    uint32_t h = hash_str(aor);
    shard *s = shard_of(loc, h);
    if (reg->contact_star) {
        /* "Contact: *" removes every binding, with Expires: 0 only (10.2.2). */
        if (reg->contact_count || !reg->has_expires || reg->expires != 0)
            return 400;
        pthread_mutex_lock(&s->lock);
        aor_rec *a = aor_get(loc, s, aor, h, false);
        if (a)
            aor_drop(loc, s, a);
        pthread_mutex_unlock(&s->lock);
        return 200;
    }
    for (const pl_nameaddr *c = reg->contact; c; c = c->next) {
        uint32_t e = contact_expires(loc, reg, c);
        if (e && e < loc->cfg.min_expires) {
            if (min_expires)
                *min_expires = loc->cfg.min_expires;
            return 423;
        }
        if (c->uri.scheme == PL_URI_OTHER && c->uri.opaque.len == 0)
            return 400;
    }
    char *path = NULL;
    if (join_values(reg, PL_HDR_PATH, &path) != PL_OK)
        return 500;
    pl_str ua = PL_STR_NULL;
    int32_t uai = pl_msg_hdr_find(reg, PL_HDR_USER_AGENT, 0);
    if (uai >= 0)
        ua = reg->hdrs[uai].value;
    uint16_t status = 200;
    pthread_mutex_lock(&s->lock);
    aor_rec *a = aor_get(loc, s, aor, h, reg->contact_count > 0);
    if (!a) {
        pthread_mutex_unlock(&s->lock);
        free(path);
        return reg->contact_count ? 403 : 200;
    }
    drop_expired(loc, a, now_ms);
    /* Step 7, first pass: an old CSeq on the same Call-ID aborts it all;
     * count what the table will hold. */
    uint32_t after = a->n;
    for (const pl_nameaddr *c = reg->contact; c; c = c->next) {
        int32_t i = bind_find(a, &c->uri);
        uint32_t e = contact_expires(loc, reg, c);
        if (i >= 0) {
            const bind_rec *b = &a->b[i];
            if (pl_str_eq(pl_str_c(b->call_id), reg->call_id) && reg->cseq.num <= b->cseq) {
                status = 500;
                break;
            }
            if (!e)
                after--;
        } else if (e) {
            after++;
        }
    }
    if (status == 200 && after > loc->cfg.max_contacts)
        status = 500;
    for (const pl_nameaddr *c = reg->contact; status == 200 && c; c = c->next) {
        int32_t i = bind_find(a, &c->uri);
        uint32_t e = contact_expires(loc, reg, c);
        if (!e) {
            if (i >= 0)
                bind_remove(loc, a, (uint32_t)i);
            continue;
        }
        if (i < 0) {
            bind_rec *nb = realloc(a->b, sizeof(bind_rec) * (a->n + 1));
            if (!nb) {
                status = 500;
                break;
            }
            a->b = nb;
            i = (int32_t)a->n++;
            memset(&a->b[i], 0, sizeof(bind_rec));
        }
        bind_rec *b = &a->b[i];
        bind_free(b);
        b->contact = dup_str(c->uri_raw);
        b->path = path ? strdup(path) : NULL;
        b->call_id = dup_str(reg->call_id);
        b->user_agent = dup_str(ua);
        b->cseq = reg->cseq.num;
        b->q = q_of(c);
        b->expires_ms = now_ms + (uint64_t)e * 1000;
        b->source = *src;
        if (!b->contact || !b->call_id || !b->user_agent) {
            bind_remove(loc, a, (uint32_t)i);
            status = 500;
        } else {
            notify(loc, a, b, false);
        }
    }
    if (a->n == 0)
        aor_drop(loc, s, a);
    pthread_mutex_unlock(&s->lock);
    free(path);
    return status;
}

/* ---- restoring from a store */

static char *dup_or_null(pl_str s)
{
    return s.len ? dup_str(s) : NULL;
}

int pl_location_restore(pl_location *loc, const char *aor, const pl_binding *b)
{
    pl_uri uri;
    if (!b->contact.len || pl_uri_parse(&uri, b->contact, NULL) != PL_OK)
        return PL_EINVAL;
    uint32_t h = hash_str(aor);
    shard *s = shard_of(loc, h);
    int rc = PL_OK;
    pthread_mutex_lock(&s->lock);
    aor_rec *a = aor_get(loc, s, aor, h, true);
    if (!a) {
        pthread_mutex_unlock(&s->lock);
        return PL_ELIMIT;
    }
    int32_t i = bind_find(a, &uri);
    if (i < 0 && a->n >= loc->cfg.max_contacts) {
        rc = PL_ELIMIT;
    } else if (i < 0) {
        bind_rec *nb = realloc(a->b, sizeof(bind_rec) * (a->n + 1));
        if (nb) {
            a->b = nb;
            i = (int32_t)a->n++;
            memset(&a->b[i], 0, sizeof(bind_rec));
        } else {
            rc = PL_ENOMEM;
        }
    }
    if (rc == PL_OK) {
        bind_rec *r = &a->b[i];
        bind_free(r);
        r->contact = dup_str(b->contact);
        r->path = dup_or_null(b->path);
        r->call_id = dup_str(b->call_id);
        r->user_agent = dup_str(b->user_agent);
        r->cseq = b->cseq;
        r->q = b->q;
        r->expires_ms = b->expires_ms;
        r->source = b->source;
        if (!r->contact || !r->call_id || !r->user_agent || (b->path.len && !r->path)) {
            bind_free(r);
            memmove(r, r + 1, sizeof(bind_rec) * (a->n - (uint32_t)i - 1));
            a->n--;
            rc = PL_ENOMEM;
        }
    }
    if (a->n == 0)
        aor_drop(loc, s, a);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- lookup and the rest */

static pl_str arena_dup(pl_arena *arena, const char *s)
{
    return s ? pl_arena_strdup(arena, pl_str_c(s)) : PL_STR_NULL;
}

size_t pl_location_lookup(pl_location *loc, const char *aor, uint64_t now_ms, pl_arena *arena,
                          pl_binding *out, size_t cap)
{
    uint32_t h = hash_str(aor);
    shard *s = shard_of(loc, h);
    pthread_mutex_lock(&s->lock);
    aor_rec *a = aor_get(loc, s, aor, h, false);
    size_t n = 0;
    if (a) {
        drop_expired(loc, a, now_ms);
        n = a->n;
        for (uint32_t i = 0; i < a->n && i < cap; i++) {
            const bind_rec *b = &a->b[i];
            out[i] = (pl_binding){
                .contact = arena_dup(arena, b->contact),
                .path = arena_dup(arena, b->path),
                .call_id = arena_dup(arena, b->call_id),
                .cseq = b->cseq,
                .q = b->q,
                .expires_ms = b->expires_ms,
                .source = b->source,
                .user_agent = arena_dup(arena, b->user_agent),
            };
        }
        if (a->n == 0)
            aor_drop(loc, s, a);
    }
    pthread_mutex_unlock(&s->lock);
    size_t k = n < cap ? n : cap;
    /* Best q first; equal q keep their order (insertion sort, n is small). */
    for (size_t i = 1; i < k; i++) {
        pl_binding t = out[i];
        size_t j = i;
        for (; j > 0 && out[j - 1].q < t.q; j--)
            out[j] = out[j - 1];
        out[j] = t;
    }
    return n;
}

int pl_location_remove(pl_location *loc, const char *aor, pl_str contact)
{
    uint32_t h = hash_str(aor);
    shard *s = shard_of(loc, h);
    int rc = PL_ENOTFOUND;
    pthread_mutex_lock(&s->lock);
    aor_rec *a = aor_get(loc, s, aor, h, false);
    if (a && !contact.len) {
        aor_drop(loc, s, a);
        rc = PL_OK;
    } else if (a) {
        pl_uri u;
        int32_t i = pl_uri_parse(&u, contact, NULL) == PL_OK ? bind_find(a, &u) : -1;
        if (i >= 0) {
            bind_remove(loc, a, (uint32_t)i);
            rc = PL_OK;
        }
        if (a->n == 0)
            aor_drop(loc, s, a);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

size_t pl_location_expire(pl_location *loc, uint64_t now_ms)
{
    size_t dropped = 0;
    for (int i = 0; i < SHARDS; i++) {
        shard *s = &loc->shards[i];
        pthread_mutex_lock(&s->lock);
        for (size_t k = 0; k < s->nbuckets; k++)
            for (aor_rec *a = s->buckets[k], *next; a; a = next) {
                next = a->next;
                uint32_t before = a->n;
                drop_expired(loc, a, now_ms);
                dropped += before - a->n;
                if (a->n == 0)
                    aor_drop(loc, s, a);
            }
        pthread_mutex_unlock(&s->lock);
    }
    return dropped;
}

void pl_location_walk(pl_location *loc, uint64_t now_ms,
                      void (*fn)(const char *aor, const pl_binding *b, void *arg), void *arg)
{
    for (int i = 0; i < SHARDS; i++) {
        shard *s = &loc->shards[i];
        pthread_mutex_lock(&s->lock);
        for (size_t k = 0; k < s->nbuckets; k++)
            for (aor_rec *a = s->buckets[k]; a; a = a->next)
                for (uint32_t j = 0; j < a->n; j++) {
                    const bind_rec *b = &a->b[j];
                    if (b->expires_ms <= now_ms)
                        continue;
                    pl_binding out = binding_view(b);
                    fn(a->aor, &out, arg);
                }
        pthread_mutex_unlock(&s->lock);
    }
}

void pl_location_get_stats(pl_location *loc, pl_location_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < SHARDS; i++) {
        shard *s = &loc->shards[i];
        pthread_mutex_lock(&s->lock);
        out->aors += s->count;
        for (size_t k = 0; k < s->nbuckets; k++)
            for (aor_rec *a = s->buckets[k]; a; a = a->next)
                out->bindings += a->n;
        pthread_mutex_unlock(&s->lock);
    }
}
