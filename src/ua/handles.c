/*
 * handles.c - ids for the objects an application holds (client and server
 * requests). An id is (generation << 32 | slot + 1): a slot is reused with
 * its generation bumped, so an id kept past its object's end finds a
 * different generation and is refused instead of reaching freed memory.
 */
#include <stdlib.h>

#include "ua_int.h"

uint64_t pl__ua_handle_add(ua_handles *h, void *obj)
{
    uint32_t idx;
    if (h->free_head) {
        idx = h->free_head - 1;
        h->free_head = h->slots[idx].next_free;
    } else {
        if (h->n == h->cap) {
            uint32_t cap = h->cap ? h->cap * 2 : 64;
            ua_slot *s = realloc(h->slots, cap * sizeof(*s));
            if (!s)
                return 0;
            h->slots = s;
            h->cap = cap;
        }
        idx = h->n++;
        h->slots[idx].gen = 0;
    }
    ua_slot *s = &h->slots[idx];
    s->gen++;
    if (s->gen == 0)
        s->gen = 1;
    s->obj = obj;
    s->next_free = 0;
    h->live++;
    return (uint64_t)s->gen << 32 | (uint64_t)(idx + 1);
}

void *pl__ua_handle_get(const ua_handles *h, uint64_t id)
{
    uint32_t idx = (uint32_t)(id & 0xffffffffu);
    if (idx == 0 || idx > h->n)
        return NULL;
    const ua_slot *s = &h->slots[idx - 1];
    return s->gen == (uint32_t)(id >> 32) ? s->obj : NULL;
}

void pl__ua_handle_del(ua_handles *h, uint64_t id)
{
    if (!pl__ua_handle_get(h, id))
        return;
    uint32_t idx = (uint32_t)(id & 0xffffffffu) - 1;
    ua_slot *s = &h->slots[idx];
    s->obj = NULL;
    s->gen++; /* the old id is stale from now on */
    s->next_free = h->free_head;
    h->free_head = idx + 1;
    h->live--;
}

void pl__ua_handles_free(ua_handles *h)
{
    free(h->slots);
    h->slots = NULL;
    h->n = h->cap = h->free_head = 0;
    h->live = 0;
}
