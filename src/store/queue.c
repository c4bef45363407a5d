/*
 * queue.c - the pieces of the store's write queue: an entry (a copy of one
 * write, in one heap block, made before the queue's lock is taken), the
 * ordered lists, the table of pending keys that lets a later write
 * replace a pending one, and the set of dialog ids whose rows exist.
 *
 * store.c holds the lock around every call here.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* ---- entries */

typedef struct packer {
    char *p;
    size_t used;
} packer;

/* Copy s into the block, NUL-terminated; the copy as a pl_str. */
static pl_str pack(packer *k, pl_str s)
{
    char *d = k->p + k->used;
    if (s.len)
        memcpy(d, s.p, s.len);
    d[s.len] = '\0';
    k->used += s.len + 1;
    return (pl_str){d, s.len};
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t hash_binding(const char *aor, pl_str contact)
{
    uint64_t h = 14695981039346656037ULL;
    for (const char *p = aor; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL; /* the separator: no AOR byte is 0xff after a NUL */
    for (size_t i = 0; i < contact.len; i++)
        h = (h ^ (unsigned char)contact.p[i]) * 1099511628211ULL;
    return h;
}

static size_t rec_strings(const pl_dlg_record *r)
{
    size_t n = r->call_id.len + r->from_uri.len + r->to_uri.len + r->values.len + r->profiles.len +
               r->end_reason.len + 6;
    for (int k = 0; k < 2; k++)
        n += r->leg[k].tag.len + r->leg[k].contact.len + r->leg[k].route.len + 3;
    return n;
}

st_entry *st_entry_dialog_put(const pl_dlg_record *rec, int64_t now_ms)
{
    st_entry *e = malloc(sizeof(*e) + rec_strings(rec));
    if (!e)
        return NULL;
    memset(e, 0, sizeof(*e));
    e->kind = ST_K_DLG_PUT;
    e->id = rec->id;
    e->hash = mix64(rec->id);
    e->rec = *rec;
    packer k = {e->data, 0};
    e->rec.call_id = pack(&k, rec->call_id);
    e->rec.from_uri = pack(&k, rec->from_uri);
    e->rec.to_uri = pack(&k, rec->to_uri);
    e->rec.values = pack(&k, rec->values);
    e->rec.profiles = pack(&k, rec->profiles);
    e->rec.end_reason = pack(&k, rec->end_reason);
    for (int i = 0; i < 2; i++) {
        e->rec.leg[i].tag = pack(&k, rec->leg[i].tag);
        e->rec.leg[i].contact = pack(&k, rec->leg[i].contact);
        e->rec.leg[i].route = pack(&k, rec->leg[i].route);
    }
    /* The remaining lifetime becomes an absolute time: a restart then counts the time down. */
    uint64_t left = rec->lifetime_left_ms;
    e->expires_ms = left > (uint64_t)(INT64_MAX - now_ms) ? INT64_MAX : now_ms + (int64_t)left;
    e->at_ms = now_ms;
    return e;
}

st_entry *st_entry_dialog_del(uint64_t id)
{
    st_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->kind = ST_K_DLG_DEL;
    e->id = id;
    e->hash = mix64(id);
    return e;
}

static st_entry *binding_entry(st_kind kind, const char *aor, const pl_binding *b, size_t extra)
{
    size_t alen = strlen(aor);
    st_entry *e = malloc(sizeof(*e) + alen + 1 + b->contact.len + 1 + extra);
    if (!e)
        return NULL;
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    packer k = {e->data, 0};
    e->aor = pack(&k, (pl_str){aor, alen}).p;
    e->b.contact = pack(&k, b->contact);
    e->hash = hash_binding(e->aor, e->b.contact);
    if (kind == ST_K_BIND_PUT) {
        e->b.path = pack(&k, b->path);
        e->b.call_id = pack(&k, b->call_id);
        e->b.user_agent = pack(&k, b->user_agent);
        e->b.cseq = b->cseq;
        e->b.q = b->q;
        e->b.source = b->source;
    }
    return e;
}

st_entry *st_entry_binding_put(const char *aor, const pl_binding *b, int64_t expires_ms,
                               int64_t now_ms)
{
    st_entry *e =
        binding_entry(ST_K_BIND_PUT, aor, b, b->path.len + b->call_id.len + b->user_agent.len + 3);
    if (e) {
        e->expires_ms = expires_ms;
        e->b.expires_ms = (uint64_t)expires_ms;
        e->at_ms = now_ms;
    }
    return e;
}

st_entry *st_entry_binding_del(const char *aor, pl_str contact)
{
    pl_binding b = {.contact = contact};
    return binding_entry(ST_K_BIND_DEL, aor, &b, 0);
}

/* ---- lists */

void st_list_append(st_list *l, st_entry *e)
{
    e->next = NULL;
    e->prev = l->tail;
    if (l->tail)
        l->tail->next = e;
    else
        l->head = e;
    l->tail = e;
    l->n++;
}

void st_list_unlink(st_list *l, st_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        l->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        l->tail = e->prev;
    e->next = e->prev = NULL;
    l->n--;
}

/* ---- pending keys */

static bool same_key(const st_entry *a, const st_entry *b)
{
    if (a->hash != b->hash || st_entry_is_dialog(a) != st_entry_is_dialog(b))
        return false;
    if (st_entry_is_dialog(a))
        return a->id == b->id;
    return strcmp(a->aor, b->aor) == 0 && pl_str_eq(a->b.contact, b->b.contact);
}

st_entry *st_keys_find(const st_keys *k, const st_entry *like)
{
    if (!k->nb)
        return NULL;
    for (st_entry *e = k->b[like->hash & (k->nb - 1)]; e; e = e->hnext)
        if (same_key(e, like))
            return e;
    return NULL;
}

static int keys_grow(st_keys *k)
{
    size_t nb = k->nb ? k->nb * 2 : 256;
    st_entry **b = calloc(nb, sizeof(*b));
    if (!b)
        return PL_ENOMEM;
    for (size_t i = 0; i < k->nb; i++)
        for (st_entry *e = k->b[i], *next; e; e = next) {
            next = e->hnext;
            e->hnext = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
        }
    free(k->b);
    k->b = b;
    k->nb = nb;
    return PL_OK;
}

int st_keys_add(st_keys *k, st_entry *e)
{
    if (k->n + 1 > k->nb && keys_grow(k) != PL_OK && !k->nb)
        return PL_ENOMEM;
    st_entry **head = &k->b[e->hash & (k->nb - 1)];
    e->hnext = *head;
    *head = e;
    k->n++;
    return PL_OK;
}

void st_keys_remove(st_keys *k, st_entry *e)
{
    if (!k->nb)
        return;
    for (st_entry **pp = &k->b[e->hash & (k->nb - 1)]; *pp; pp = &(*pp)->hnext)
        if (*pp == e) {
            *pp = e->hnext;
            e->hnext = NULL;
            k->n--;
            return;
        }
}

void st_keys_free(st_keys *k)
{
    free(k->b);
    memset(k, 0, sizeof(*k));
}

/* ---- the ids of rows in the database: open addressing, linear probing */

static size_t slot_of(const st_idset *s, uint64_t id)
{
    return (size_t)mix64(id) & (s->cap - 1);
}

bool st_idset_has(const st_idset *s, uint64_t id)
{
    if (id == 0)
        return s->has_zero;
    if (!s->cap)
        return false;
    for (size_t i = slot_of(s, id);; i = (i + 1) & (s->cap - 1)) {
        if (s->slot[i] == id)
            return true;
        if (s->slot[i] == 0)
            return false;
    }
}

static int idset_grow(st_idset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 1024;
    uint64_t *slot = calloc(cap, sizeof(*slot));
    if (!slot)
        return PL_ENOMEM;
    st_idset n = {slot, cap, 0, s->has_zero};
    for (size_t i = 0; i < s->cap; i++)
        if (s->slot[i]) {
            size_t j = slot_of(&n, s->slot[i]);
            while (slot[j])
                j = (j + 1) & (cap - 1);
            slot[j] = s->slot[i];
            n.n++;
        }
    free(s->slot);
    *s = n;
    return PL_OK;
}

int st_idset_add(st_idset *s, uint64_t id)
{
    if (id == 0) {
        s->has_zero = true;
        return PL_OK;
    }
    if ((s->n + 1) * 2 > s->cap && idset_grow(s) != PL_OK)
        return PL_ENOMEM;
    size_t i = slot_of(s, id);
    for (; s->slot[i]; i = (i + 1) & (s->cap - 1))
        if (s->slot[i] == id)
            return PL_OK;
    s->slot[i] = id;
    s->n++;
    return PL_OK;
}

void st_idset_del(st_idset *s, uint64_t id)
{
    if (id == 0) {
        s->has_zero = false;
        return;
    }
    if (!s->cap)
        return;
    size_t i = slot_of(s, id);
    while (s->slot[i] != id) {
        if (!s->slot[i])
            return;
        i = (i + 1) & (s->cap - 1);
    }
    /* Backward shift: move later entries of the run into the hole, so no tombstones. */
    size_t j = i;
    for (;;) {
        s->slot[i] = 0;
        for (;;) {
            j = (j + 1) & (s->cap - 1);
            if (!s->slot[j]) {
                s->n--;
                return;
            }
            size_t home = slot_of(s, s->slot[j]);
            /* The entry at j may fill i when its home is not cyclically in (i, j]. */
            bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays)
                break;
        }
        s->slot[i] = s->slot[j];
        i = j;
    }
}

void st_idset_clear(st_idset *s)
{
    free(s->slot);
    memset(s, 0, sizeof(*s));
}
