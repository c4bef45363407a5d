/*
 * parley/base.h - the pieces every layer of Parley stands on.
 *
 * A pl_str is a pointer and a length into someone else's bytes: nothing in
 * Parley relies on a terminating NUL. An arena hands out memory from one
 * block the caller owns (and grows only when a limit allows it), so a parse
 * costs no heap allocation when the block is reused. Every integer read off
 * the wire goes through pl_str_to_u32() / pl_str_to_u64(), the one checked
 * converter.
 */
#ifndef PARLEY_BASE_H
#define PARLEY_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes: 0 is success, the rest are negative. */
typedef enum pl_err {
    PL_OK = 0,
    PL_ENEEDMORE = -1, /* incomplete input: give me more bytes */
    PL_EPARSE = -2,    /* malformed input */
    PL_ELIMIT = -3,    /* a configured limit was hit */
    PL_ENOSPC = -4,    /* the output buffer is too small */
    PL_ENOMEM = -5,    /* an arena or malloc ran out */
    PL_EINVAL = -6,    /* a bad argument from the caller */
    PL_ENOTFOUND = -7, /* no such element */
    PL_ENOTSUP = -8,   /* well-formed, but something this stack does not do */
    PL_ESTALE = -9,    /* a handle whose object is gone */
    PL_ESTATE = -10,   /* not allowed in the object's current state */
} pl_err;

/* A short, static description of an error code. */
const char *pl_err_str(int err);

/*
 * Where and why input was refused: code is a pl_err, offset the byte offset
 * into the input that the parse started from, reason a static English phrase
 * fit for a log line and for the reason phrase of a 400 response.
 */
typedef struct pl_error {
    int code;
    size_t offset;
    const char *reason;
} pl_error;

/* A byte string that does not own its bytes. p may be NULL only when len is 0. */
typedef struct pl_str {
    const char *p;
    size_t len;
} pl_str;

#define PL_STR_NULL ((pl_str){NULL, 0})
/* A pl_str from a string literal, without strlen. */
#define PL_STR_LIT(s) ((pl_str){(s), sizeof(s) - 1})

/* A pl_str over a NUL-terminated C string (NULL gives the empty string). */
pl_str pl_str_c(const char *s);
/* True when both hold the same bytes. */
bool pl_str_eq(pl_str a, pl_str b);
/* True when both hold the same bytes, ASCII letters compared without case. */
bool pl_str_case_eq(pl_str a, pl_str b);
/* pl_str_case_eq against a C string literal or constant. */
bool pl_str_case_eq_c(pl_str a, const char *c);
/* Trim SP, HTAB, CR and LF (folding whitespace) from both ends. */
pl_str pl_str_trim(pl_str s);

/*
 * The checked integer converter. Accepts 1*DIGIT only (no sign, no spaces,
 * no empty string) whose value is at most max. Leading zeros are accepted.
 * Returns PL_OK and stores *out, or PL_EPARSE (not digits) or PL_ELIMIT
 * (more than max, including any overflow of the 64-bit range).
 */
int pl_str_to_u64(pl_str s, uint64_t max, uint64_t *out);
int pl_str_to_u32(pl_str s, uint32_t max, uint32_t *out);
/* v in decimal into out (at least 10 bytes, not NUL-terminated); returns the length. */
size_t pl_u32_print(uint32_t v, char *out);

/*
 * A string builder over a caller's buffer, with no printf: an append that
 * does not fit sets over and writes nothing more (check over at the end).
 * pl_sbuf b = {buf, 0, sizeof(buf), false};
 */
typedef struct pl_sbuf {
    char *p;
    size_t len, cap;
    bool over;
} pl_sbuf;

static inline void pl_sbuf_put(pl_sbuf *b, pl_str s)
{
    if (b->over || s.len > b->cap - b->len) {
        b->over = true;
        return;
    }
    if (s.len)
        memcpy(b->p + b->len, s.p, s.len);
    b->len += s.len;
}

static inline void pl_sbuf_puts(pl_sbuf *b, const char *s)
{
    pl_sbuf_put(b, pl_str_c(s));
}

static inline void pl_sbuf_u32(pl_sbuf *b, uint32_t v)
{
    char num[12];
    pl_sbuf_put(b, (pl_str){num, pl_u32_print(v, num)});
}

/*
 * Arena: bump allocation from a block the caller gives (or none). When the
 * block is full, the arena mallocs further chunks unless max_bytes would be
 * exceeded. pl_arena_reset() keeps the caller's block and frees the chunks.
 */
typedef struct pl_arena_chunk pl_arena_chunk;
typedef struct pl_arena {
    char *block; /* the caller's first block, or NULL */
    size_t block_size;
    size_t used; /* bytes used in the current block or chunk */
    char *cur;   /* the current block or chunk */
    size_t cur_size;
    pl_arena_chunk *chunks; /* chunks malloc'd beyond the caller's block */
    size_t total;           /* all bytes handed out, for limits */
    size_t max_bytes;       /* 0: no limit */
    size_t mallocs;         /* chunks malloc'd so far (for benchmarks) */
} pl_arena;

/* Set up an arena over block (may be NULL, size 0), limited to max_bytes (0: none). */
void pl_arena_init(pl_arena *a, void *block, size_t size, size_t max_bytes);
/* Memory for n bytes aligned for any scalar type, or NULL when out of room. */
void *pl_arena_alloc(pl_arena *a, size_t n);
/* A copy of s in the arena; on failure the result has p == NULL. */
pl_str pl_arena_strdup(pl_arena *a, pl_str s);
/* Forget every allocation; frees the chunks but keeps the caller's block. */
void pl_arena_reset(pl_arena *a);
/* Free every chunk; the arena may be reused after pl_arena_init(). */
void pl_arena_free(pl_arena *a);

/*
 * Randomness for tags, branches and Call-IDs: a per-thread generator seeded
 * from the kernel. pl_random_token() fills out with n characters drawn from
 * the 62 alphanumerics (safe in a token, a tag or a branch).
 */
uint64_t pl_random_u64(void);
void pl_random_token(char *out, size_t n);

#ifdef __cplusplus
}
#endif
#endif
