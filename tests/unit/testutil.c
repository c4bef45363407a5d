/* testutil.c - see testutil.h. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TU_MAX_ALLOCS 65536

static void *allocs[TU_MAX_ALLOCS];
static size_t n_allocs;
static char arena_block[65536];
static pl_arena arena;
static int arena_ready;

static void *track(void *p)
{
    if (!p)
        fail_msg("out of memory");
    if (n_allocs == TU_MAX_ALLOCS)
        fail_msg("too many test allocations");
    allocs[n_allocs++] = p;
    return p;
}

char *tu_dup(const void *p, size_t n)
{
    char *b = track(malloc(n ? n : 1));
    if (n)
        memcpy(b, p, n);
    return b;
}

char *tu_crlf(const char *s, size_t *len)
{
    size_t n = strlen(s), extra = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            extra++;
    char *tmp = malloc(n + extra + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            tmp[o++] = '\r';
        tmp[o++] = s[i];
    }
    char *b = tu_dup(tmp, o);
    free(tmp);
    *len = o;
    return b;
}

char *tu_read_file(const char *path, size_t *len)
{
    char full[4096];
    if (path[0] == '/')
        snprintf(full, sizeof(full), "%s", path);
    else
        snprintf(full, sizeof(full), "%s/%s", PARLEY_TESTDATA, path);
    FILE *f = fopen(full, "rb");
    if (!f)
        fail_msg("cannot open %s", full);
    char *tmp = malloc(1 << 20);
    size_t n = fread(tmp, 1, 1 << 20, f);
    fclose(f);
    char *b = tu_dup(tmp, n);
    free(tmp);
    *len = n;
    return b;
}

pl_arena *tu_arena(void)
{
    if (!arena_ready) {
        pl_arena_init(&arena, arena_block, sizeof(arena_block), 0);
        arena_ready = 1;
    }
    return &arena;
}

void tu_free_all(void)
{
    for (size_t i = 0; i < n_allocs; i++)
        free(allocs[i]);
    n_allocs = 0;
    if (arena_ready)
        pl_arena_reset(&arena);
}

int tu_parse_opts(const char *text, pl_msg *msg, const pl_parse_opts *opts, pl_error *err)
{
    size_t n;
    char *b = tu_crlf(text, &n);
    return pl_msg_parse(msg, b, n, tu_arena(), opts, err);
}

int tu_parse(const char *text, pl_msg *msg, pl_error *err)
{
    return tu_parse_opts(text, msg, NULL, err);
}
