/*
 * arena.c - bump allocation for one message or one transaction.
 *
 * The first block is the caller's (a stack buffer, or one reused across
 * messages), so the common case allocates nothing. Beyond it the arena
 * mallocs chunks, each at least twice the last, up to max_bytes. Nothing is
 * freed on its own: pl_arena_reset() drops everything at once.
 */
#include <parley/base.h>

#include <stdlib.h>
#include <string.h>

struct pl_arena_chunk {
    pl_arena_chunk *next;
    size_t size;
    /* data follows, aligned */
};

#define PL_ALIGN  16u
#define CHUNK_HDR ((sizeof(pl_arena_chunk) + PL_ALIGN - 1) & ~(size_t)(PL_ALIGN - 1))

void pl_arena_init(pl_arena *a, void *block, size_t size, size_t max_bytes)
{
    memset(a, 0, sizeof(*a));
    a->block = block;
    a->block_size = block ? size : 0;
    a->cur = a->block;
    a->cur_size = a->block_size;
    a->max_bytes = max_bytes;
}

static size_t align_up(uintptr_t v)
{
    return (size_t)((v + PL_ALIGN - 1) & ~(uintptr_t)(PL_ALIGN - 1));
}

void *pl_arena_alloc(pl_arena *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / 4)
        return NULL;
    if (a->cur) {
        uintptr_t base = (uintptr_t)a->cur;
        size_t off = align_up(base + a->used) - base;
        if (off <= a->cur_size && n <= a->cur_size - off) {
            if (a->max_bytes && a->total + n > a->max_bytes)
                return NULL;
            a->used = off + n;
            a->total += n;
            return a->cur + off;
        }
    }
    if (a->max_bytes && a->total + n > a->max_bytes)
        return NULL;
    size_t size = a->cur_size ? a->cur_size * 2 : 4096;
    if (size < n + PL_ALIGN)
        size = n + PL_ALIGN;
    pl_arena_chunk *c = malloc(CHUNK_HDR + size);
    if (!c)
        return NULL;
    c->next = a->chunks;
    c->size = size;
    a->chunks = c;
    a->mallocs++;
    a->cur = (char *)c + CHUNK_HDR;
    a->cur_size = size;
    a->used = n;
    a->total += n;
    return a->cur;
}

pl_str pl_arena_strdup(pl_arena *a, pl_str s)
{
    pl_str r = {NULL, 0};
    char *p = pl_arena_alloc(a, s.len);
    if (!p)
        return r;
    if (s.len)
        memcpy(p, s.p, s.len);
    r.p = p;
    r.len = s.len;
    return r;
}

static void free_chunks(pl_arena *a)
{
    pl_arena_chunk *c = a->chunks;
    while (c) {
        pl_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->chunks = NULL;
}

void pl_arena_reset(pl_arena *a)
{
    free_chunks(a);
    a->cur = a->block;
    a->cur_size = a->block_size;
    a->used = 0;
    a->total = 0;
}

void pl_arena_free(pl_arena *a)
{
    free_chunks(a);
    memset(a, 0, sizeof(*a));
}
