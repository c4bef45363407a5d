/*
 * bench/parse - the parse benchmark: Parley against libosip2 and sofia-sip.
 *
 * Each parser module offers the same three calls: set up once, parse one
 * message (parse, inspect, free), and describe what it parsed so that the
 * three can be checked against each other before anything is timed.
 */
#ifndef BENCH_PARSE_H
#define BENCH_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One corpus message, read from bench/parse/corpus/<name>.sip. */
typedef struct bench_msg {
    char name[64];
    char *buf; /* len bytes, followed by a NUL that no parser is told about */
    size_t len;
} bench_msg;

/* What a parser found in a message: compared across parsers before timing. */
typedef struct bench_summary {
    bool is_request;
    int status;      /* responses */
    char method[16]; /* requests */
    uint32_t cseq;
    char cseq_method[16];
    uint32_t vias;
    uint32_t contacts;
    uint32_t routes;
    uint32_t record_routes;
    bool has_content_length;
    uint32_t content_length;
    size_t body_len;
    char call_id[128];
    char from_tag[64];
    /* Free text: why the parse failed, for the error report. */
    char error[160];
} bench_summary;

/* How much of the message to parse. */
typedef enum bench_mode {
    BENCH_FULL = 0,  /* every header's value turned into structure */
    BENCH_PROXY = 1, /* what a proxy needs (Parley's pl_msg_parse alone) */
} bench_mode;

/*
 * Parse m once and free everything the parse took. Returns 0 on success.
 * When sum is not NULL, fill it in (and sum->error on failure); timing calls
 * pass NULL. Every parser feeds bench_sink so that no work can be optimised
 * away.
 */
typedef int (*bench_parse_fn)(const bench_msg *m, bench_mode mode, bench_summary *sum);

extern volatile uint64_t bench_sink;

int parley_setup(void);
int parley_parse(const bench_msg *m, bench_mode mode, bench_summary *sum);
/* Heap chunks the Parley arena had to malloc since setup (0 is the target). */
size_t parley_arena_mallocs(void);

int osip_setup(void);
int osip_parse(const bench_msg *m, bench_mode mode, bench_summary *sum);

int sofia_setup(void);
int sofia_parse(const bench_msg *m, bench_mode mode, bench_summary *sum);

/* Copy at most cap-1 bytes of (p, n) into out, NUL-terminated. */
void bench_copy(char *out, size_t cap, const char *p, size_t n);

/* The allocation counter (alloc_count.c): malloc, calloc, realloc and the
 * aligned allocators of the whole process are routed through it. */
typedef struct alloc_counts {
    uint64_t allocs; /* malloc, calloc, realloc, posix_memalign... calls */
    uint64_t frees;  /* free calls with a non-NULL pointer */
    uint64_t bytes;  /* bytes requested by those allocations */
} alloc_counts;

/* False in sanitizer builds, where the counter is left out (counts stay 0). */
bool alloc_count_available(void);
void alloc_count_start(void);
alloc_counts alloc_count_stop(void);

/*
 * Point the shared libraries whose file names contain one of libs (a
 * NULL-terminated list) straight at glibc's allocator, so that their calls
 * no longer pass through the counter. Returns the number of GOT entries
 * changed, or -1 when it could not be done (then the counter stays in their
 * path). Allocations made afterwards by those libraries are not counted.
 */
int alloc_count_detach(const char *const *libs);

#endif
