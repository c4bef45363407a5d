/*
 * bench-parse: parse a corpus of SIP messages with Parley, libosip2 and
 * sofia-sip in the same run and compare speed and heap allocations.
 *
 *   bench-parse [options] [CORPUS_DIR]
 *
 * See --help and docs/benchmarks.md. Progress goes to stderr, results to
 * stdout; the last two lines are the speedups of Parley's full parse over
 * sofia-sip's and libosip2's.
 */
#include "bench_parse.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

volatile uint64_t bench_sink;

void bench_copy(char *out, size_t cap, const char *p, size_t n)
{
    if (cap == 0)
        return;
    if (p == NULL)
        n = 0;
    if (n > cap - 1)
        n = cap - 1;
    if (n > 0)
        memcpy(out, p, n);
    out[n] = '\0';
}

/* ------------------------------------------------------------------ parsers */

typedef struct parser {
    const char *key;   /* the --only name */
    const char *label; /* for the tables */
    const char *mode_label;
    bench_parse_fn parse;
    bench_mode mode;
    int (*setup)(void);
} parser;

enum { P_PARLEY, P_PARLEY_PROXY, P_OSIP, P_SOFIA, P_COUNT };

static const parser parsers[P_COUNT] = {
    [P_PARLEY] = {"parley", "Parley", "full parse", parley_parse, BENCH_FULL, parley_setup},
    [P_PARLEY_PROXY] = {"parley-proxy", "Parley", "proxy path", parley_parse, BENCH_PROXY,
                        parley_setup},
    [P_OSIP] = {"osip", "libosip2", "full parse", osip_parse, BENCH_FULL, osip_setup},
    [P_SOFIA] = {"sofia", "sofia-sip", "full parse", sofia_parse, BENCH_FULL, sofia_setup},
};

/* ------------------------------------------------------------------ corpus */

#define MAX_MSGS 256

static bench_msg msgs[MAX_MSGS];
static size_t n_msgs;
static size_t corpus_bytes;

static void die(const char *what)
{
    fprintf(stderr, "bench-parse: %s\n", what);
    exit(1);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(((const bench_msg *)a)->name, ((const bench_msg *)b)->name);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The corpus: argv, else ./bench/parse/corpus (make bench runs from the repo
 * root), else next to this source file, else relative to the executable. */
static const char *find_corpus(const char *arg, char *buf, size_t cap)
{
    if (arg != NULL)
        return arg;
    if (is_dir("bench/parse/corpus"))
        return "bench/parse/corpus";

    const char *src = __FILE__;
    const char *slash = strrchr(src, '/');
    if (slash != NULL) {
        int w = snprintf(buf, cap, "%.*s/corpus", (int)(slash - src), src);
        if (w > 0 && (size_t)w < cap && is_dir(buf))
            return buf;
    }

    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *d = strrchr(exe, '/');
        if (d != NULL) {
            *d = '\0';
            int w = snprintf(buf, cap, "%s/../../bench/parse/corpus", exe);
            if (w > 0 && (size_t)w < cap && is_dir(buf))
                return buf;
        }
    }
    return "bench/parse/corpus";
}

/* Check a corpus file independently of the parsers: CRLF line ends in the
 * head and a Content-Length that equals the body's length. */
static void check_framing(const bench_msg *m)
{
    char why[256];
    const char *end = NULL;
    for (size_t i = 0; i + 3 < m->len; i++) {
        if (memcmp(m->buf + i, "\r\n\r\n", 4) == 0) {
            end = m->buf + i + 2; /* the CRLF that ends the last header */
            break;
        }
    }
    if (end == NULL) {
        snprintf(why, sizeof why, "corpus file %s: no CRLF CRLF after the headers", m->name);
        die(why);
    }
    const char *body = end + 2;
    size_t body_len = m->len - (size_t)(body - m->buf);
    long content_length = -1;

    for (const char *line = m->buf; line < end;) {
        const char *eol = line;
        while (eol < end && *eol != '\n')
            eol++;
        if (eol == line || eol[-1] != '\r') {
            snprintf(why, sizeof why, "corpus file %s: a line not ended by CRLF at byte %zu",
                     m->name, (size_t)(eol - m->buf));
            die(why);
        }
        size_t n = (size_t)(eol - 1 - line);
        const char *colon = memchr(line, ':', n);
        if (colon != NULL) {
            size_t name_len = (size_t)(colon - line);
            while (name_len > 0 && (line[name_len - 1] == ' ' || line[name_len - 1] == '\t'))
                name_len--;
            if ((name_len == 14 && strncasecmp(line, "Content-Length", 14) == 0) ||
                (name_len == 1 && (line[0] == 'l' || line[0] == 'L')))
                content_length = strtol(colon + 1, NULL, 10);
        }
        line = eol + 1;
    }
    if (content_length < 0) {
        snprintf(why, sizeof why, "corpus file %s: no Content-Length", m->name);
        die(why);
    }
    if ((size_t)content_length != body_len) {
        snprintf(why, sizeof why, "corpus file %s: Content-Length %ld but the body has %zu bytes",
                 m->name, content_length, body_len);
        die(why);
    }
}

static void load_corpus(const char *dir)
{
    char why[PATH_MAX + 128];
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(why, sizeof why, "cannot open corpus directory %s: %s (give it as an argument)",
                 dir, strerror(errno));
        die(why);
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t nl = strlen(e->d_name);
        if (nl < 5 || strcmp(e->d_name + nl - 4, ".sip") != 0)
            continue;
        if (n_msgs == MAX_MSGS)
            die("too many corpus files");
        char path[PATH_MAX];
        int w = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (w < 0 || (size_t)w >= sizeof path)
            die("corpus path too long");
        FILE *f = fopen(path, "rb");
        if (f == NULL) {
            snprintf(why, sizeof why, "cannot open %s: %s", path, strerror(errno));
            die(why);
        }
        if (fseek(f, 0, SEEK_END) != 0)
            die("fseek failed");
        long size = ftell(f);
        rewind(f);
        if (size <= 0 || size > 65535) {
            snprintf(why, sizeof why, "%s: size %ld is out of range", path, size);
            die(why);
        }
        bench_msg *m = &msgs[n_msgs++];
        bench_copy(m->name, sizeof m->name, e->d_name, nl - 4);
        m->len = (size_t)size;
        m->buf = malloc(m->len + 1);
        if (m->buf == NULL || fread(m->buf, 1, m->len, f) != m->len)
            die("cannot read a corpus file");
        m->buf[m->len] = '\0';
        fclose(f);
        check_framing(m);
        corpus_bytes += m->len;
    }
    closedir(d);
    if (n_msgs == 0) {
        snprintf(why, sizeof why, "no .sip files in %s", dir);
        die(why);
    }
    qsort(msgs, n_msgs, sizeof msgs[0], cmp_names);
}

/* ------------------------------------------------------------ verification */

static bench_summary summaries[P_COUNT][MAX_MSGS];

/* Parse every message once with p; abort on the first failure. */
static void verify_parser(int p)
{
    for (size_t i = 0; i < n_msgs; i++) {
        bench_summary *s = &summaries[p][i];
        memset(s, 0, sizeof *s);
        if (parsers[p].parse(&msgs[i], parsers[p].mode, s) != 0) {
            fprintf(stderr, "bench-parse: %s (%s) FAILED on corpus message %s: %s\n",
                    parsers[p].label, parsers[p].mode_label, msgs[i].name,
                    s->error[0] ? s->error : "(no detail)");
            exit(1);
        }
    }
}

#define CHECK_FIELD(fmt, field)                                                                    \
    do {                                                                                           \
        if (a->field != b->field) {                                                                \
            fprintf(stderr, "bench-parse: %s: %s says " #field " = " fmt ", %s says " fmt "\n",    \
                    name, pa, a->field, pb, b->field);                                             \
            bad = true;                                                                            \
        }                                                                                          \
    } while (0)
#define CHECK_STR(field)                                                                           \
    do {                                                                                           \
        if (strcmp(a->field, b->field) != 0) {                                                     \
            fprintf(stderr, "bench-parse: %s: %s says " #field " = \"%s\", %s says \"%s\"\n",      \
                    name, pa, a->field, pb, b->field);                                             \
            bad = true;                                                                            \
        }                                                                                          \
    } while (0)

/* Two parsers must agree on what they found. */
static bool compare(const char *name, const char *pa, const bench_summary *a, const char *pb,
                    const bench_summary *b)
{
    bool bad = false;
    CHECK_FIELD("%d", is_request);
    CHECK_FIELD("%d", status);
    CHECK_STR(method);
    CHECK_FIELD("%u", cseq);
    CHECK_STR(cseq_method);
    CHECK_FIELD("%u", vias);
    CHECK_FIELD("%u", contacts);
    CHECK_FIELD("%u", routes);
    CHECK_FIELD("%u", record_routes);
    CHECK_FIELD("%d", has_content_length);
    CHECK_FIELD("%u", content_length);
    CHECK_FIELD("%zu", body_len);
    CHECK_STR(call_id);
    CHECK_STR(from_tag);
    return !bad;
}

static void verify(const bool *sel)
{
    int ref = -1;
    for (int p = 0; p < P_COUNT; p++) {
        if (!sel[p])
            continue;
        verify_parser(p);
        if (ref < 0) {
            ref = p;
            continue;
        }
        bool ok = true;
        for (size_t i = 0; i < n_msgs; i++)
            ok &= compare(msgs[i].name, parsers[ref].key, &summaries[ref][i], parsers[p].key,
                          &summaries[p][i]);
        if (!ok)
            die("the parsers disagree about the corpus (above): refusing to time them");
    }
    /* Every message's body must be exactly what Content-Length says. */
    for (size_t i = 0; ref >= 0 && i < n_msgs; i++) {
        const bench_summary *s = &summaries[ref][i];
        if (!s->has_content_length || s->content_length != s->body_len || s->vias == 0) {
            fprintf(stderr,
                    "bench-parse: %s: %s found Content-Length %u, a body of %zu bytes, "
                    "%u Via values\n",
                    msgs[i].name, parsers[ref].key, s->content_length, s->body_len, s->vias);
            die("corpus message is not what it should be");
        }
    }
}

/* ------------------------------------------------------------- allocations */

#define ALLOC_REPEAT 16

typedef struct alloc_result {
    double allocs[MAX_MSGS]; /* per parse of message i */
    double bytes[MAX_MSGS];
    double avg_allocs; /* per message, over the corpus */
    double avg_bytes;
    bool leak; /* more allocations than frees */
} alloc_result;

static void count_allocs(int p, alloc_result *r)
{
    double sa = 0, sb = 0;
    r->leak = false;
    for (size_t i = 0; i < n_msgs; i++) {
        (void)parsers[p].parse(&msgs[i], parsers[p].mode, NULL); /* warm up */
        alloc_count_start();
        for (int k = 0; k < ALLOC_REPEAT; k++)
            (void)parsers[p].parse(&msgs[i], parsers[p].mode, NULL);
        alloc_counts c = alloc_count_stop();
        r->allocs[i] = (double)c.allocs / ALLOC_REPEAT;
        r->bytes[i] = (double)c.bytes / ALLOC_REPEAT;
        if (c.frees < c.allocs)
            r->leak = true;
        sa += r->allocs[i];
        sb += r->bytes[i];
    }
    r->avg_allocs = sa / (double)n_msgs;
    r->avg_bytes = sb / (double)n_msgs;
}

/* Take the allocation counter out of libosip2's and sofia-sip's path (see
 * alloc_count.c) and check that it is out: true when it is. */
static bool detach_counter(const bool *sel)
{
    static const char *const libs[] = {"libosip", "libsofia-sip", NULL};
    if (alloc_count_detach(libs) < 0)
        return false;
    alloc_count_start();
    for (int p = P_OSIP; p <= P_SOFIA; p++)
        if (sel[p])
            (void)parsers[p].parse(&msgs[0], parsers[p].mode, NULL);
    alloc_counts c = alloc_count_stop();
    return c.allocs == 0 && c.frees == 0;
}

/* ------------------------------------------------------------------ timing */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Parse the whole corpus iters times with p; the elapsed nanoseconds. */
static double run(int p, uint64_t iters)
{
    bench_parse_fn fn = parsers[p].parse;
    bench_mode mode = parsers[p].mode;
    unsigned failures = 0;
    double t0 = now_ns();
    for (uint64_t it = 0; it < iters; it++)
        for (size_t i = 0; i < n_msgs; i++)
            failures += fn(&msgs[i], mode, NULL) != 0;
    double t = now_ns() - t0;
    if (failures != 0) {
        fprintf(stderr, "bench-parse: %s (%s) failed %u times while timed\n", parsers[p].label,
                parsers[p].mode_label, failures);
        exit(1);
    }
    return t;
}

/* Iterations over the corpus that take about seconds. */
static uint64_t calibrate(int p, double seconds)
{
    uint64_t iters = 1;
    for (;;) {
        double t = run(p, iters);
        if (t >= 0.2e9 || iters >= (UINT64_C(1) << 40)) {
            double want = (double)iters * seconds * 1e9 / t;
            return want < 1 ? 1 : (uint64_t)want;
        }
        iters *= t < 0.02e9 ? 10 : 2;
    }
}

/* -------------------------------------------------------------------- main */

static void usage(FILE *out)
{
    fprintf(out, "usage: bench-parse [options] [CORPUS_DIR]\n"
                 "\n"
                 "Parse every message of CORPUS_DIR/*.sip with Parley, libosip2 and sofia-sip,\n"
                 "check that all three parse every message and agree on what they found, count\n"
                 "heap allocations per message, then time each parser: iterations calibrated\n"
                 "to --seconds per measurement, best of --reps. Progress goes to stderr.\n"
                 "The last two lines of stdout are\n"
                 "  parse speedup vs sofia-sip: <X>x\n"
                 "  parse speedup vs libosip2: <X>x\n"
                 "(full parse, ns/message of the other parser over Parley's).\n"
                 "\n"
                 "CORPUS_DIR defaults to bench/parse/corpus under the current directory (make\n"
                 "bench runs from the repository root), then to the corpus next to the source.\n"
                 "\n"
                 "options:\n"
                 "  --only P       use parser P only: parley (full parse), parley-proxy\n"
                 "                 (pl_msg_parse alone), osip or sofia\n"
                 "  --once N       parse each corpus message N times with the --only parser\n"
                 "                 (default parley), print nothing else and exit: for\n"
                 "                 valgrind --tool=callgrind (see bench/parse/callgrind.sh);\n"
                 "                 N = 0 gives the baseline (load, set up, verify)\n"
                 "  --seconds S    target time of one measurement (default 1.5)\n"
                 "  --reps R       measurements per parser, the best is kept (default 3)\n"
                 "  --help         this text\n");
}

static int parser_by_key(const char *key)
{
    for (int p = 0; p < P_COUNT; p++)
        if (strcmp(parsers[p].key, key) == 0)
            return p;
    return -1;
}

int main(int argc, char **argv)
{
    const char *corpus_arg = NULL;
    int only = -1;
    long long once = -1;
    double seconds = 1.5;
    int reps = 3;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--only") == 0 && i + 1 < argc) {
            only = parser_by_key(argv[++i]);
            if (only < 0) {
                fprintf(stderr,
                        "bench-parse: unknown parser '%s' (parley, parley-proxy, "
                        "osip, sofia)\n",
                        argv[i]);
                return 2;
            }
        } else if (strcmp(a, "--once") == 0 && i + 1 < argc) {
            char *end;
            once = strtoll(argv[++i], &end, 10);
            if (*end != '\0' || once < 0) {
                fprintf(stderr, "bench-parse: --once needs a count >= 0\n");
                return 2;
            }
        } else if (strcmp(a, "--seconds") == 0 && i + 1 < argc) {
            seconds = strtod(argv[++i], NULL);
            if (!(seconds > 0)) {
                fprintf(stderr, "bench-parse: --seconds needs a positive number\n");
                return 2;
            }
        } else if (strcmp(a, "--reps") == 0 && i + 1 < argc) {
            reps = atoi(argv[++i]);
            if (reps < 1) {
                fprintf(stderr, "bench-parse: --reps needs a count >= 1\n");
                return 2;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "bench-parse: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (corpus_arg == NULL) {
            corpus_arg = a;
        } else {
            usage(stderr);
            return 2;
        }
    }

    char dirbuf[PATH_MAX];
    const char *dir = find_corpus(corpus_arg, dirbuf, sizeof dirbuf);
    load_corpus(dir);

    bool sel[P_COUNT] = {false};
    if (once >= 0 && only < 0)
        only = P_PARLEY;
    for (int p = 0; p < P_COUNT; p++)
        sel[p] = only < 0 || only == p;

    /* Set up each library once (osip's parser_init() among them). */
    int (*done_setups[P_COUNT])(void);
    int n_done = 0;
    for (int p = 0; p < P_COUNT; p++) {
        if (!sel[p])
            continue;
        bool again = false;
        for (int k = 0; k < n_done; k++)
            again |= done_setups[k] == parsers[p].setup;
        if (again)
            continue;
        if (parsers[p].setup() != 0) {
            fprintf(stderr, "bench-parse: setting up %s failed\n", parsers[p].label);
            return 1;
        }
        done_setups[n_done++] = parsers[p].setup;
    }

    verify(sel);

    /* ---- callgrind mode: N parses of each message, nothing else. */
    if (once >= 0) {
        if (alloc_count_available() && !detach_counter(sel))
            fprintf(stderr, "bench-parse: note: the allocation counter stays in the "
                            "libraries' path (a few instructions per malloc/free)\n");
        for (long long k = 0; k < once; k++)
            for (size_t i = 0; i < n_msgs; i++)
                if (parsers[only].parse(&msgs[i], parsers[only].mode, NULL) != 0)
                    die("a parse failed in --once mode");
        printf("once: parser=%s n=%lld messages=%zu parses=%lld\n", parsers[only].key, once, n_msgs,
               once * (long long)n_msgs);
        return 0;
    }

    fprintf(stderr,
            "bench-parse: %zu messages from %s; every parser parsed every message and "
            "they agree\n",
            n_msgs, dir);

    printf("parse benchmark: %zu messages from %s, %zu bytes, %.0f bytes/message on average\n",
           n_msgs, dir, corpus_bytes, (double)corpus_bytes / (double)n_msgs);
    printf("verified: every selected parser parsed every message; they agree on start line, "
           "CSeq, Call-ID, From tag, Via/Contact/Route/Record-Route counts and body length\n");

    /* ---- heap allocations. */
    static alloc_result allocs[P_COUNT];
    for (int p = 0; p < P_COUNT; p++)
        if (sel[p])
            count_allocs(p, &allocs[p]);
    if (!alloc_count_available())
        fprintf(stderr, "bench-parse: warning: sanitizer build: malloc is not interposed, "
                        "allocation counts are not measured (shown as 0)\n");
    else if (sel[P_OSIP] && allocs[P_OSIP].avg_allocs == 0)
        fprintf(stderr, "bench-parse: warning: no allocation seen in libosip2: the malloc "
                        "interposer is not working, allocation counts are wrong\n");

    printf("\nheap allocations per message (malloc/calloc/realloc calls; bytes requested)\n");
    printf("  %-22s %6s", "message", "bytes");
    for (int p = 0; p < P_COUNT; p++)
        if (sel[p])
            printf("  %18s", parsers[p].key);
    printf("\n");
    for (size_t i = 0; i < n_msgs; i++) {
        printf("  %-22s %6zu", msgs[i].name, msgs[i].len);
        for (int p = 0; p < P_COUNT; p++)
            if (sel[p])
                printf("  %7.1f (%7.0f B)", allocs[p].allocs[i], allocs[p].bytes[i]);
        printf("\n");
    }
    printf("  %-22s %6.0f", "average", (double)corpus_bytes / (double)n_msgs);
    for (int p = 0; p < P_COUNT; p++)
        if (sel[p])
            printf("  %7.1f (%7.0f B)", allocs[p].avg_allocs, allocs[p].avg_bytes);
    printf("\n");
    for (int p = 0; p < P_COUNT; p++)
        if (sel[p] && allocs[p].leak)
            printf("  note: %s made more allocations than frees while counted\n", parsers[p].key);
    if (sel[P_PARLEY] || sel[P_PARLEY_PROXY])
        printf("  Parley arena: 64 KiB static block, reset per message; chunks malloc'd "
               "beyond it: %zu\n",
               parley_arena_mallocs());
    if (!alloc_count_available())
        printf("  note: sanitizer build: allocations were not counted (malloc is not "
               "interposed)\n");
    else if (detach_counter(sel))
        printf("  the counter is then taken out of libosip2's and sofia-sip's path "
               "(GOT entries pointed at glibc's malloc): it costs the timings below nothing\n");
    else
        printf("  note: the counter could not be taken out of libosip2's and sofia-sip's "
               "path: their timings below include about 1 ns per malloc/free\n");

    /* ---- timing. */
    uint64_t iters[P_COUNT] = {0};
    double best[P_COUNT];
    for (int p = 0; p < P_COUNT; p++) {
        best[p] = 0;
        if (!sel[p])
            continue;
        fprintf(stderr, "bench-parse: calibrating %s (%s)...\n", parsers[p].label,
                parsers[p].mode_label);
        iters[p] = calibrate(p, seconds);
    }
    for (int r = 0; r < reps; r++) {
        for (int p = 0; p < P_COUNT; p++) {
            if (!sel[p])
                continue;
            double t = run(p, iters[p]);
            double ns = t / ((double)iters[p] * (double)n_msgs);
            if (r == 0 || ns < best[p])
                best[p] = ns;
            fprintf(stderr, "bench-parse: run %d/%d  %-9s %-10s %8.0f ns/message  (%.2f s)\n",
                    r + 1, reps, parsers[p].label, parsers[p].mode_label, ns, t / 1e9);
        }
    }

    double avg_bytes = (double)corpus_bytes / (double)n_msgs;
    printf("\ntiming: best of %d runs of about %.1f s each; ns per message is averaged over "
           "the corpus\n",
           reps, seconds);
    printf("  %-10s %-11s %12s %14s %10s %13s\n", "parser", "mode", "ns/message", "messages/s",
           "MB/s", "allocs/msg");
    for (int p = 0; p < P_COUNT; p++) {
        if (sel[p]) {
            printf("  %-10s %-11s %12.0f %14.0f %10.1f %13.1f\n", parsers[p].label,
                   parsers[p].mode_label, best[p], 1e9 / best[p], avg_bytes * 1e3 / best[p],
                   allocs[p].avg_allocs);
        }
        if ((p == P_OSIP || p == P_SOFIA) && sel[p])
            printf("  %-10s %-11s %12s %14s %10s %13s\n", parsers[p].label, "proxy path", "n/a",
                   "n/a", "n/a", "n/a");
    }
    if (sel[P_OSIP] || sel[P_SOFIA])
        printf("  (libosip2 and sofia-sip have no lighter parse mode: their proxy path is "
               "their full parse)\n");

    if (sel[P_PARLEY] && sel[P_PARLEY_PROXY] && sel[P_OSIP] && sel[P_SOFIA]) {
        printf("proxy-path speedup vs libosip2: %.1fx, vs sofia-sip: %.1fx "
               "(Parley's pl_msg_parse against their full parse)\n",
               best[P_OSIP] / best[P_PARLEY_PROXY], best[P_SOFIA] / best[P_PARLEY_PROXY]);
        printf("parse speedup vs sofia-sip: %.1fx\n", best[P_SOFIA] / best[P_PARLEY]);
        printf("parse speedup vs libosip2: %.1fx\n", best[P_OSIP] / best[P_PARLEY]);
    }
    return 0;
}
