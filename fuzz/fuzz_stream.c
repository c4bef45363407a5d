/*
 * fuzz_stream.c - the stream framer (pl_framer_init / pl_framer_next) as a
 * TCP reader drives it, and pl_msg_parse on every message it frames.
 *
 * Input: 8 bytes of PRNG seed, then the byte stream. The seed (mixed with
 * splitmix64, so a printable seed such as "SEED0001" works) picks the
 * framer's limits and the chunk sizes the stream arrives in.
 *
 * The stream is read three times, each like a transport would:
 *
 *   A  the whole stream in one chunk;
 *   B  chunks of 1..N bytes (N from the seed; a quarter of them 1 byte);
 *   C  other chunk sizes, and on PL_ENEEDMORE frame.skip is dropped only
 *      half the time (msg.h says it "may" be dropped).
 *
 * The reader keeps the unconsumed bytes in a buffer reallocated to exactly
 * their size on every change (ASan sees any read past the end, and a framer
 * that kept a pointer across calls reads freed memory). It appends a chunk,
 * calls pl_framer_next until PL_ENEEDMORE, drops skip + len after each
 * message, and stops at the first framing error as a transport closes the
 * connection.
 *
 * Checks: B and C frame the same messages (same bytes, same order) as A and
 * end in the same state (framing error or not); skip + len stays within the
 * buffer; and every framed message handed to pl_msg_parse (stream framing,
 * same limits) either fails cleanly or is exactly the frame: msg.len +
 * msg.skipped == frame.len, Content-Length present and equal to the body.
 *
 * With -DFUZZ_STRICT_PINGS, A and B must also count the same number of
 * double-CRLF keep-alives.
 */
#include "fuzz_util.h"

#include <parley/base.h>
#include <parley/msg.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static _Alignas(16) char g_block[64 * 1024];

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The messages one read of the stream framed. */
typedef struct frames {
    char *bytes; /* all framed messages, back to back */
    size_t bytes_len, bytes_cap;
    size_t *lens;
    size_t count, cap;
    bool error; /* stopped on a framing error */
    uint64_t pings;
} frames;

static void frames_add(frames *fr, const char *p, size_t n)
{
    if (fr->count == fr->cap) {
        fr->cap = fr->cap ? fr->cap * 2 : 16;
        fr->lens = realloc(fr->lens, fr->cap * sizeof *fr->lens);
        if (!fr->lens)
            abort();
    }
    if (fr->bytes_len + n > fr->bytes_cap) {
        fr->bytes_cap = (fr->bytes_len + n) * 2;
        fr->bytes = realloc(fr->bytes, fr->bytes_cap);
        if (!fr->bytes)
            abort();
    }
    memcpy(fr->bytes + fr->bytes_len, p, n);
    fr->bytes_len += n;
    fr->lens[fr->count++] = n;
}

static void frames_free(frames *fr)
{
    free(fr->bytes);
    free(fr->lens);
    memset(fr, 0, sizeof *fr);
}

/* The reader's buffer of unconsumed bytes, always exactly sized. */
typedef struct rbuf {
    char *p;
    size_t len;
} rbuf;

static void rbuf_append(rbuf *b, const uint8_t *p, size_t n)
{
    char *q = malloc(b->len + n ? b->len + n : 1);
    if (!q)
        abort();
    if (b->len)
        memcpy(q, b->p, b->len);
    memcpy(q + b->len, p, n);
    free(b->p);
    b->p = q;
    b->len += n;
}

static void rbuf_drop(rbuf *b, size_t n)
{
    FUZZ_CHECK(n <= b->len);
    if (n == 0)
        return;
    size_t left = b->len - n;
    char *q = malloc(left ? left : 1);
    if (!q)
        abort();
    if (left)
        memcpy(q, b->p + n, left);
    free(b->p);
    b->p = q;
    b->len = left;
}

/* One framed message through the parser. */
static void parse_frame(const char *p, size_t n, const pl_msg_limits *lim)
{
    char *copy = fuzz_dup(p, n);
    pl_arena arena;
    pl_arena_init(&arena, g_block, sizeof g_block, 64u << 20);
    pl_parse_opts opts = {PL_FRAMING_STREAM, lim};
    pl_msg msg;
    pl_error err;
    memset(&err, 0, sizeof err);
    int rc = pl_msg_parse(&msg, copy, n, &arena, &opts, &err);
    if (rc == PL_OK) {
        /* The parser's idea of the message is the framer's. */
        if (msg.skipped + msg.len != n)
            fprintf(stderr, "framer says %zu bytes, parser %zu + %zu skipped\n", n, msg.len,
                    msg.skipped);
        FUZZ_CHECK(msg.skipped + msg.len == n);
        FUZZ_CHECK(msg.trailing == 0);
        FUZZ_CHECK(msg.has_content_length && msg.content_length == msg.body.len);
        FUZZ_CHECK(pl_msg_print_len(&msg) == msg.len);
        fuzz_touch(msg.body);
        fuzz_touch(msg.call_id);
    } else {
        FUZZ_CHECK(err.reason != NULL && err.offset <= n);
    }
    pl_arena_reset(&arena);
    pl_arena_free(&arena);
    free(copy);
}

typedef struct read_plan {
    uint64_t rng;     /* chunk-size PRNG state */
    size_t max_chunk; /* 0: the whole stream in one chunk */
    bool lazy_skip;   /* drop skip on NEEDMORE only half the time */
} read_plan;

static size_t next_chunk(read_plan *pl, size_t left)
{
    if (pl->max_chunk == 0)
        return left;
    uint64_t r = splitmix64(&pl->rng);
    size_t c = (r & 3) == 0 ? 1 : 1 + (size_t)((r >> 2) % pl->max_chunk);
    return c < left ? c : left;
}

static void read_stream(const uint8_t *in, size_t n, const pl_msg_limits *lim, read_plan *plan,
                        frames *out)
{
    pl_framer f;
    pl_framer_init(&f, lim);
    rbuf b = {NULL, 0};
    size_t pos = 0;
    bool stop = false;
    while (pos < n && !stop) {
        size_t c = next_chunk(plan, n - pos);
        rbuf_append(&b, in + pos, c);
        pos += c;
        for (;;) {
            pl_frame fr;
            pl_error err;
            memset(&fr, 0, sizeof fr);
            memset(&err, 0, sizeof err);
            int rc = pl_framer_next(&f, b.p, b.len, &fr, &err);
            if (rc == PL_OK) {
                FUZZ_CHECK(fr.len > 0);
                FUZZ_CHECK(fr.skip <= b.len && fr.len <= b.len - fr.skip);
                out->pings += fr.pings;
                frames_add(out, b.p + fr.skip, fr.len);
                parse_frame(b.p + fr.skip, fr.len, lim);
                rbuf_drop(&b, fr.skip + fr.len);
                continue;
            }
            if (rc == PL_ENEEDMORE) {
                FUZZ_CHECK(fr.skip <= b.len);
                bool drop = true;
                if (plan->lazy_skip)
                    drop = (splitmix64(&plan->rng) & 1) != 0;
                if (drop) {
                    out->pings += fr.pings;
                    rbuf_drop(&b, fr.skip);
                }
                break;
            }
            FUZZ_CHECK(rc == PL_EPARSE || rc == PL_ELIMIT);
            FUZZ_CHECK(err.reason != NULL);
            out->error = true;
            stop = true;
            break;
        }
    }
    free(b.p);
}

static void same_frames(const frames *a, const frames *b, const char *what)
{
    bool same = a->count == b->count && a->bytes_len == b->bytes_len && a->error == b->error &&
                (a->bytes_len == 0 || memcmp(a->bytes, b->bytes, a->bytes_len) == 0);
    for (size_t i = 0; same && i < a->count; i++)
        same = a->lens[i] == b->lens[i];
    if (!same) {
        fprintf(stderr,
                "%s: one chunk framed %zu messages (%zu bytes, error %d), "
                "split reads framed %zu (%zu bytes, error %d)\n",
                what, a->count, a->bytes_len, (int)a->error, b->count, b->bytes_len, (int)b->error);
        for (size_t i = 0; i < a->count || i < b->count; i++)
            fprintf(stderr, "  #%zu: %zu vs %zu\n", i, i < a->count ? a->lens[i] : 0,
                    i < b->count ? b->lens[i] : 0);
    }
    FUZZ_CHECK(same);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t seed = 0;
    for (int i = 0; i < 8; i++)
        seed |= (uint64_t)data[i] << (8 * i);
    const uint8_t *in = data + 8;
    size_t n = size - 8;

    uint64_t s = seed;
    uint64_t r = splitmix64(&s);

    pl_msg_limits lim;
    memset(&lim, 0, sizeof lim);
    switch (r & 3) {
    case 1:
        lim.max_msg_size = 512;
        lim.max_headers = 16;
        break;
    case 2:
        lim.max_msg_size = 64 + (size_t)((r >> 8) % 512);
        lim.max_line = 64;
        break;
    default:
        break;
    }
    static const size_t max_chunks[] = {1, 2, 3, 4, 7, 16, 64, 300, 1500, 4096};
    size_t nmax = sizeof max_chunks / sizeof max_chunks[0];

    frames whole, split, lazy;
    memset(&whole, 0, sizeof whole);
    memset(&split, 0, sizeof split);
    memset(&lazy, 0, sizeof lazy);

    read_plan pa = {0, 0, false};
    read_stream(in, n, &lim, &pa, &whole);

    read_plan pb = {splitmix64(&s), max_chunks[(r >> 4) % nmax], false};
    read_stream(in, n, &lim, &pb, &split);
    same_frames(&whole, &split, "split reads");
#ifdef FUZZ_STRICT_PINGS
    if (whole.pings != split.pings)
        fprintf(stderr, "pings: %llu in one chunk, %llu split\n", (unsigned long long)whole.pings,
                (unsigned long long)split.pings);
    FUZZ_CHECK(whole.pings == split.pings);
#endif

    read_plan pc = {splitmix64(&s), max_chunks[(r >> 12) % nmax], true};
    read_stream(in, n, &lim, &pc, &lazy);
    same_frames(&whole, &lazy, "split reads, skip dropped lazily");

    frames_free(&whole);
    frames_free(&split);
    frames_free(&lazy);
    return 0;
}
