/*
 * profile.c - dialog profiles: named sets of dialogs, with or without a
 * value per membership, counted exactly across every worker.
 *
 * A profile is split in shards, each with its own lock: a value's
 * memberships live in the shard of the value's hash (a profile without
 * values spreads its members by dialog id). A membership (plink) belongs
 * to its dialog and is linked in its entry's member list; linking and
 * unlinking, and the counts, change together under the shard's lock, so
 * a count is never negative and always equals the members one can list.
 */
#include <stdlib.h>
#include <string.h>

#include "dialog_int.h"

struct prof_entry {
    pl_str value; /* in the same block */
    uint32_t hash;
    size_t count;
    plink *members;
    prof_entry *next;
};

static uint32_t hash_str(pl_str s)
{
    return pl_dlg_hash(s);
}

static bool valid_name(pl_str n)
{
    if (!n.len || n.len > 64)
        return false;
    for (size_t i = 0; i < n.len; i++) {
        char c = n.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

pl_dlg_profile *pl_dlg_profile_find(pl_dlg_module *m, pl_str name)
{
    size_t n = atomic_load(&m->nprofiles);
    for (size_t i = 0; i < n; i++) {
        pl_dlg_profile *p = atomic_load(&m->profiles[i]);
        if (p && p->name_len == name.len && memcmp(p->name, name.p, name.len) == 0)
            return p;
    }
    return NULL;
}

static int define_one(pl_dlg_module *m, pl_str name, bool has_value)
{
    if (!valid_name(name))
        return PL_EINVAL;
    pthread_mutex_lock(&m->prof_lock);
    int rc = PL_OK;
    pl_dlg_profile *p = pl_dlg_profile_find(m, name);
    if (p) {
        rc = p->has_value == has_value ? PL_OK : PL_EINVAL;
    } else if (atomic_load(&m->nprofiles) == MAX_PROFILES) {
        rc = PL_ELIMIT;
    } else if (!(p = calloc(1, sizeof(*p))) || !(p->name = malloc(name.len + 1))) {
        free(p);
        rc = PL_ENOMEM;
    } else {
        memcpy(p->name, name.p, name.len);
        p->name[name.len] = '\0';
        p->name_len = name.len;
        p->has_value = has_value;
        atomic_init(&p->total, 0);
        for (int i = 0; i < PROF_SHARDS; i++)
            pthread_mutex_init(&p->shards[i].lock, NULL);
        size_t n = atomic_load(&m->nprofiles);
        atomic_store(&m->profiles[n], p);
        atomic_store(&m->nprofiles, n + 1);
    }
    pthread_mutex_unlock(&m->prof_lock);
    return rc;
}

int pl_dlg_profile_define(pl_dlg_module *m, const char *names, bool has_value)
{
    if (!names)
        return PL_EINVAL;
    const char *s = names;
    int seen = 0;
    for (;;) {
        const char *e = strchr(s, ';');
        pl_str n = pl_str_trim((pl_str){s, e ? (size_t)(e - s) : strlen(s)});
        if (n.len) {
            int rc = define_one(m, n, has_value);
            if (rc != PL_OK)
                return rc;
            seen++;
        }
        if (!e)
            break;
        s = e + 1;
    }
    return seen ? PL_OK : PL_EINVAL;
}

pl_str pl_dlg_profile_name(const pl_dlg_profile *p)
{
    return (pl_str){p->name, p->name_len};
}

bool pl_dlg_profile_has_value(const pl_dlg_profile *p)
{
    return p->has_value;
}

void pl_dlg_profile_each(pl_dlg_module *m, void (*fn)(pl_dlg_profile *p, void *arg), void *arg)
{
    size_t n = atomic_load(&m->nprofiles);
    for (size_t i = 0; i < n; i++)
        fn(atomic_load(&m->profiles[i]), arg);
}

/* ---- shards */

static prof_shard *shard_for(pl_dlg_profile *p, uint32_t h)
{
    return &p->shards[h % PROF_SHARDS];
}

/* The entry of value (hash h) in s, or NULL; s locked. */
static prof_entry *entry_find(prof_shard *s, pl_str value, uint32_t h)
{
    if (!s->nbuckets)
        return NULL;
    for (prof_entry *e = s->buckets[(h / PROF_SHARDS) & (s->nbuckets - 1)]; e; e = e->next)
        if (e->hash == h && pl_str_eq(e->value, value))
            return e;
    return NULL;
}

static void entry_put(prof_shard *s, prof_entry *e)
{
    size_t b = (e->hash / PROF_SHARDS) & (s->nbuckets - 1);
    e->next = s->buckets[b];
    s->buckets[b] = e;
}

static bool shard_grow(prof_shard *s)
{
    if (s->nbuckets && s->nentries < 2 * s->nbuckets)
        return true;
    size_t n = s->nbuckets ? s->nbuckets * 2 : 16;
    prof_entry **nb = calloc(n, sizeof(*nb));
    if (!nb)
        return s->nbuckets > 0;
    prof_entry **old = s->buckets;
    size_t on = s->nbuckets;
    s->buckets = nb;
    s->nbuckets = n;
    for (size_t i = 0; i < on; i++) {
        prof_entry *e = old[i];
        while (e) {
            prof_entry *next = e->next;
            entry_put(s, e);
            e = next;
        }
    }
    free(old);
    return true;
}

static void entry_remove(prof_shard *s, prof_entry *e)
{
    prof_entry **pp = &s->buckets[(e->hash / PROF_SHARDS) & (s->nbuckets - 1)];
    while (*pp && *pp != e)
        pp = &(*pp)->next;
    if (*pp)
        *pp = e->next;
    s->nentries--;
    free(e);
}

static uint32_t link_hash(const pl_dlg_profile *p, pl_str value, uint64_t id)
{
    /* Without values, one entry per shard: the dialog id picks the shard. */
    return p->has_value ? hash_str(value) : (uint32_t)((id ^ (id >> 32)) % PROF_SHARDS);
}

/* ---- memberships */

int pl_dlg_profile_set(pl_dlg *d, pl_dlg_profile *p, pl_str value, bool clear)
{
    if (!p)
        return PL_EINVAL;
    if (d->state == PL_DLG_DELETED)
        return PL_ESTATE;
    if (!p->has_value)
        value = PL_STR_NULL;
    else if (!value.p)
        return PL_EINVAL;
    if (clear && p->has_value)
        pl_dlg_profile_unset(d, p, PL_STR_NULL);
    plink *l = calloc(1, sizeof(*l));
    if (!l)
        return PL_ENOMEM;
    l->p = p;
    l->id = d->id;
    uint32_t h = link_hash(p, value, d->id);
    prof_shard *s = shard_for(p, h);
    pthread_mutex_lock(&s->lock);
    prof_entry *e = entry_find(s, value, h);
    if (!e) {
        if (!shard_grow(s) || !(e = calloc(1, sizeof(*e) + value.len))) {
            pthread_mutex_unlock(&s->lock);
            free(l);
            return PL_ENOMEM;
        }
        char *v = (char *)(e + 1);
        if (value.len)
            memcpy(v, value.p, value.len);
        e->value = (pl_str){v, value.len};
        e->hash = h;
        entry_put(s, e);
        s->nentries++;
    }
    l->e = e;
    l->enext = e->members;
    if (e->members)
        e->members->eprev = l;
    e->members = l;
    e->count++;
    atomic_fetch_add(&p->total, 1);
    pthread_mutex_unlock(&s->lock);
    l->next = d->links;
    d->links = l;
    pl__dlg_changed(d, PL_DLG_CHANGE_UPDATED);
    return PL_OK;
}

/* Take l out of its profile (l stays in the dialog's list: the caller unlinks it). */
static void link_drop(plink *l)
{
    pl_dlg_profile *p = l->p;
    prof_entry *e = l->e;
    prof_shard *s = shard_for(p, e->hash);
    pthread_mutex_lock(&s->lock);
    if (l->eprev)
        l->eprev->enext = l->enext;
    else
        e->members = l->enext;
    if (l->enext)
        l->enext->eprev = l->eprev;
    e->count--;
    atomic_fetch_sub(&p->total, 1);
    if (!e->count)
        entry_remove(s, e);
    pthread_mutex_unlock(&s->lock);
}

int pl_dlg_profile_unset(pl_dlg *d, pl_dlg_profile *p, pl_str value)
{
    if (!p)
        return PL_EINVAL;
    bool all = p->has_value && !value.p;
    int found = 0;
    for (plink **pp = &d->links; *pp;) {
        plink *l = *pp;
        if (l->p == p && (all || !p->has_value || pl_str_eq(l->e->value, value))) {
            *pp = l->next;
            link_drop(l);
            free(l);
            found++;
            if (!all)
                break;
            continue;
        }
        pp = &l->next;
    }
    if (found)
        pl__dlg_changed(d, PL_DLG_CHANGE_UPDATED);
    return found ? PL_OK : PL_ENOTFOUND;
}

bool pl_dlg_profile_is_in(const pl_dlg *d, const pl_dlg_profile *p, pl_str value)
{
    for (const plink *l = d->links; l; l = l->next)
        if (l->p == p && (!p->has_value || !value.p || pl_str_eq(l->e->value, value)))
            return true;
    return false;
}

void pl__dlg_profiles_drop(pl_dlg *d)
{
    while (d->links) {
        plink *l = d->links;
        d->links = l->next;
        link_drop(l);
        free(l);
    }
}

void pl_dlg_profile_memberships(const pl_dlg *d,
                                void (*fn)(pl_dlg_profile *p, pl_str value, void *arg), void *arg)
{
    for (const plink *l = d->links; l; l = l->next)
        fn(l->p, l->e->value, arg);
}

/* ---- counting and listing (any thread) */

size_t pl_dlg_profile_size(pl_dlg_profile *p, pl_str value)
{
    if (!p)
        return 0;
    if (!p->has_value || !value.p)
        return atomic_load(&p->total);
    uint32_t h = hash_str(value);
    prof_shard *s = shard_for(p, h);
    pthread_mutex_lock(&s->lock);
    prof_entry *e = entry_find(s, value, h);
    size_t n = e ? e->count : 0;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static size_t list_entry(const prof_entry *e, uint64_t *ids, size_t cap, size_t n)
{
    for (const plink *l = e->members; l; l = l->enext) {
        if (n < cap)
            ids[n] = l->id;
        n++;
    }
    return n;
}

size_t pl_dlg_profile_list(pl_dlg_profile *p, pl_str value, uint64_t *ids, size_t cap)
{
    if (!p)
        return 0;
    size_t n = 0;
    if (p->has_value && value.p) {
        uint32_t h = hash_str(value);
        prof_shard *s = shard_for(p, h);
        pthread_mutex_lock(&s->lock);
        prof_entry *e = entry_find(s, value, h);
        if (e)
            n = list_entry(e, ids, cap, n);
        pthread_mutex_unlock(&s->lock);
        return n;
    }
    for (int i = 0; i < PROF_SHARDS; i++) {
        prof_shard *s = &p->shards[i];
        pthread_mutex_lock(&s->lock);
        for (size_t b = 0; b < s->nbuckets; b++)
            for (prof_entry *e = s->buckets[b]; e; e = e->next)
                n = list_entry(e, ids, cap, n);
        pthread_mutex_unlock(&s->lock);
    }
    return n;
}

void pl_dlg_profile_values(pl_dlg_profile *p, void (*fn)(pl_str value, size_t count, void *arg),
                           void *arg)
{
    if (!p || !p->has_value)
        return;
    for (int i = 0; i < PROF_SHARDS; i++) {
        prof_shard *s = &p->shards[i];
        pthread_mutex_lock(&s->lock);
        for (size_t b = 0; b < s->nbuckets; b++)
            for (prof_entry *e = s->buckets[b]; e; e = e->next)
                fn(e->value, e->count, arg);
        pthread_mutex_unlock(&s->lock);
    }
}

void pl__dlg_profiles_free(pl_dlg_module *m)
{
    size_t n = atomic_load(&m->nprofiles);
    for (size_t i = 0; i < n; i++) {
        pl_dlg_profile *p = atomic_load(&m->profiles[i]);
        for (int k = 0; k < PROF_SHARDS; k++) {
            prof_shard *s = &p->shards[k];
            for (size_t b = 0; b < s->nbuckets; b++) {
                prof_entry *e = s->buckets[b];
                while (e) {
                    prof_entry *next = e->next;
                    free(e);
                    e = next;
                }
            }
            free(s->buckets);
            pthread_mutex_destroy(&s->lock);
        }
        free(p->name);
        free(p);
    }
}
