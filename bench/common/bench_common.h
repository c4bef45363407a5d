/*
 * bench_common.h - what bench-txn and bench-ua share (bench/common/,
 * compiled into both by bench/CMakeLists.txt; not a benchmark itself).
 *
 * Both are one program in several roles. The orchestrator (no --role) runs
 * each pair as two child processes (the program exec'd again with --role)
 * and talks to each over a pipe: the child writes one-line reports on its
 * stdout, the orchestrator writes commands to the receiving side's stdin
 * (bench-txn's server, bench-ua's receiver). Progress and errors for
 * people go to stderr. What the reports say is each benchmark's own
 * (bench/txn/bench_txn.h, bench/ua/bench_ua.h); this holds the rest:
 *
 *   role.c  (the roles' side) clocks and CPU accounting, the report pipe,
 *           commands on stdin, the role's set-up and how it ends
 *   orch.c  (the orchestrator's side) the options both take, the child
 *           processes and their pipes, the order of the runs, and the
 *           helpers the tables and the headline lines use
 *   echo.c  the UDP echo pair, the floor, with the reports left to the
 *           benchmark (bench_echo_reports)
 *   profile.sh  sourced by bench/<name>/profile.sh (perf record of one side)
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Who is running: each benchmark's main.c defines bench_prog. */
typedef struct bench_program {
    const char *name; /* "bench-txn": starts every message on stderr */
    int exit_usage;   /* exit status for a usage error */
    int exit_failed;  /* exit status when a pair failed or a child cannot start */
} bench_program;

extern const bench_program bench_prog;

/* What a role is told on its command line. */
typedef struct role_opts {
    const char *role;
    uint16_t port;     /* sending side: the receiving side's port */
    unsigned window;   /* sending side: requests (transactions) in flight */
    double seconds;    /* sending side: timed traffic this long (0: use count) */
    uint64_t count;    /* sending side: this many timed requests (0: use seconds; bench-txn) */
    unsigned tick_ms;  /* sending side: report a tick this often (0: never) */
    unsigned t1, t4;   /* Parley's timers (ms) */
    unsigned deadline; /* seconds: alarm() kills a role that outlives it */
} role_opts;

/* ================================================================ role.c */

uint64_t bench_now_ns(void);
/* User + system CPU of this process (every thread), microseconds. */
uint64_t bench_cpu_us(void);
/* Context switches of this process (voluntary + involuntary, every thread). */
uint64_t bench_csw(void);
/* Minor page faults of this process (pages touched for the first time, every thread). */
uint64_t bench_minflt(void);
/* Peak resident set of this process, KiB. */
uint64_t bench_maxrss_kb(void);

/* The counters a role reports as differences from its set-up. */
typedef struct bench_usage {
    uint64_t cpu_us, csw, minflt;
} bench_usage;

/* The counters now. */
void bench_usage_mark(bench_usage *u);

/* Write one report line to stdout (the orchestrator's pipe), flushed. */
void bench_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report an error to the orchestrator and to stderr, then leave with status 2. */
_Noreturn void bench_fail(const char *role, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Leave at once (no teardown of the stack: it may hold many transactions). */
_Noreturn void bench_exit(int status);

/*
 * Commands on stdin, read without blocking: returns 1 and the command in
 * cmd ("tick", "stop") when a whole line is there, 0 when none is, -1 at end
 * of file (the orchestrator is gone).
 */
int bench_read_cmd(char *cmd, size_t cap);
/* Hand every whole command waiting on stdin to on(cmd); at its end of file
 * (the orchestrator is gone), leave with status 3. For a role's loop. */
void bench_take_cmds(void (*on)(const char *cmd));

/*
 * The sending side's closed loop over the timed traffic: W requests in
 * flight, each final response starting the next until o->seconds have
 * passed (or o->count requests have started), then the last ones come in.
 */
typedef struct bench_loop {
    const role_opts *o;
    bool timing, ended;
    uint64_t started, ok, fail; /* timed requests only */
    int bad_status;             /* the final status of the first that failed */
    uint64_t t0, t_end, deadline_ns;
} bench_loop;

enum { BENCH_LOOP_WAIT, BENCH_LOOP_NEXT, BENCH_LOOP_END };

/* The timed traffic starts now. */
void bench_loop_begin(bench_loop *l, const role_opts *o);
/* Whether another request is to start. */
bool bench_loop_more(const bench_loop *l);
/* A request has been sent (counted when timed). */
void bench_loop_sent(bench_loop *l);
/*
 * A timed request got its final response (good: the 200 expected; status
 * its code): BENCH_LOOP_NEXT to start another, BENCH_LOOP_END once, when
 * the last is in (l->ended and l->t_end are then set), else BENCH_LOOP_WAIT.
 */
int bench_loop_final(bench_loop *l, bool good, int status);

/* A role of the program: needs_port for a sending side (it needs --port). */
typedef struct bench_role {
    const char *name;
    int (*fn)(const role_opts *);
    bool needs_port;
} bench_role;

/*
 * Runs the role o->role names: the watchdog (o->deadline) and the
 * parent-death signal first. Returns its exit status; a usage error for a
 * role that is not in roles[n].
 */
int bench_run_role(const role_opts *o, const bench_role *roles, size_t n);

/* ================================================================ echo.c */

/*
 * The echo pair's reports, in the benchmark's words. u0 holds the
 * counters at the role's set-up.
 */
typedef struct bench_echo_reports {
    /* receiving side: report "request BYTES" at the first datagram */
    bool first_size;
    /* receiving side: a command came on stdin, n datagrams so far; true
     * ends the role (status 0) */
    bool (*command)(const char *cmd, uint64_t n, const bench_usage *u0);
    /* sending side: every --tick-ms (NULL: no ticks) */
    void (*tick)(uint64_t t_ms, uint64_t done, const bench_usage *u0);
    /* sending side: the last echo came back (or the rest are lost) */
    void (*end)(uint64_t done, uint64_t lost, uint64_t ns, const bench_usage *u0);
} bench_echo_reports;

/*
 * The physical floor: a bare UDP echo over loopback, with no parsing, no
 * state and no event loop. The receiving side gets a datagram and sends it
 * straight back (recvfrom, sendto), and looks at its commands when idle
 * for 100 ms; it reports "ready PORT" first. The sending side checks one
 * round trip (the same bytes back; "verified LEN LEN"), then keeps
 * o->window copies of msg in flight (sendto, recv) for o->seconds or
 * o->count datagrams. Both use unconnected sockets like the SIP stacks do,
 * one system call per datagram each way (no recvmmsg/sendmmsg batching).
 */
int bench_echo_server(const char *role, const bench_echo_reports *rep);
int bench_echo_client(const char *role, const role_opts *o, const char *msg, size_t len,
                      const bench_echo_reports *rep);

/* ================================================================ orch.c */

#define BENCH_MAX_WINDOWS 8
#define BENCH_MAX_PAIRS   4

enum { BENCH_PIN_NONE, BENCH_PIN_APART, BENCH_PIN_SAME };

/* The options both benchmarks take. */
typedef struct bench_opts {
    role_opts role;
    bool only[BENCH_MAX_PAIRS];
    bool only_set;
    unsigned windows[BENCH_MAX_WINDOWS];
    size_t nwindows;
    int pin; /* BENCH_PIN_* */
    bool seconds_set;
} bench_opts;

/* A benchmark's own options, beside the shared ones. */
typedef struct bench_args {
    const char *const *pair_keys; /* the names --only takes */
    int npairs;
    void (*usage)(FILE *out); /* -h, --help: to stdout, then exit 0 */
    /* an option without a value; true when it was one (NULL: none) */
    bool (*flag)(const char *a, void *ctx);
    /* an option with the value v; true when it was one (NULL: none) */
    bool (*option)(const char *a, const char *v, void *ctx);
    void *ctx;
} bench_args;

/*
 * Parses the command line into o, which holds the defaults (see
 * bench_opts_init): --role --port --window --seconds --tick-ms --deadline
 * --t1 --t4 --windows --only --pin, then those of spec. Without --only
 * every pair is on. Errors are usage errors.
 */
void bench_opts_init(bench_opts *o, double seconds); /* W 1, --windows 1,64 */
void bench_parse_args(int argc, char **argv, bench_opts *o, const bench_args *spec);

/* Print "NAME: MESSAGE (see NAME --help)" to stderr, exit with exit_usage. */
_Noreturn void bench_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A whole number from min to max for the option opt, or a usage error. */
uint64_t bench_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max);

/* The CPU a side is pinned to for --pin (-1: not pinned). */
int bench_pin_cpu(int pin, bool receiver);

/* Sets bench_self_exe, kills the children at exit and on signals. */
void bench_orch_init(const char *argv0);
extern char bench_self_exe[PATH_MAX]; /* argv[0] of every child */

/* One child process (a role) and its pipes. */
typedef struct bench_child {
    const char *name; /* "server", "receiver", ... */
    pid_t pid;
    int out_fd; /* its stdout: reports */
    int in_fd;  /* its stdin: commands (-1 for a sending side) */
    char buf[8192];
    size_t len;
    bool eof;
} bench_child;

/*
 * Starts bench_self_exe with argv as child slot (0 or 1) on CPU cpu (-1:
 * anywhere). with_stdin: a pipe for commands; without, /dev/null.
 */
void bench_spawn(bench_child *c, int slot, const char *name, char **argv, bool with_stdin, int cpu);
/* The next whole line from c, or false. */
bool bench_next_line(bench_child *c, char *line, size_t cap);
/* Read what c has written (after poll says so); sets c->eof at its end. */
void bench_fill(bench_child *c);
/* A command to c's stdin (nothing for a child without one). */
void bench_send_cmd(bench_child *c, const char *cmd);
uint64_t bench_mono_ms(void);
/* How c ended, once its pipe closed ("exited with status 1", ...). */
const char *bench_exit_text(bench_child *c);
/* Poll the pipes of both children (those still open) until something
 * comes, until the time until (ms, bench_mono_ms; now is the time now) or
 * for 1 s at most, and read what came. */
void bench_poll_children(bench_child *a, bench_child *b, uint64_t now, uint64_t until);
void bench_kill_children(void);

/*
 * A run of the pair label at window failed: "NAME: LABEL W=N FAILED: ..."
 * to stderr, the children killed, exit with exit_failed.
 */
_Noreturn void bench_run_failed(const char *label, unsigned window, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Wait (10 s at most) for c's "ready PORT"; returns PORT, or the run fails. */
unsigned bench_wait_ready(bench_child *c, const char *label, unsigned window);

/* One run of a pair: its two roles are KEY-RECV and KEY-SEND. */
typedef struct bench_pair_run {
    const char *key;   /* the pair's --only name: "parley" */
    const char *label; /* for messages: "Parley" */
    const char *recv;  /* the receiving side: "server", "receiver" */
    const char *send;  /* the sending side: "client", "sender" */
    role_opts role;    /* what the roles are told: window, seconds or count,
                        * tick_ms, t1, t4, deadline */
    int pin;           /* BENCH_PIN_* */
} bench_pair_run;

/*
 * Says "LABEL W=N: starting", starts the receiving side (slot 0, with
 * --deadline --t1 --t4 and a pipe for commands), waits for its ready
 * report, then starts the sending side (slot 1: --port --window --deadline
 * --t1 --t4 --tick-ms, and --count or --seconds).
 */
void bench_start_pair(const bench_pair_run *run, bench_child *recv, bench_child *send);
/* Both children have reported their last: wait 5 s at most for each to
 * exit, and fail the run unless both exited with status 0. */
void bench_reap_pair(bench_child *a, bench_child *b, const char *label, unsigned window);

/* The i-th run (each W of --windows in turn, each pair of --only within
 * it), or false past the last. */
bool bench_nth_run(const bench_opts *o, int npairs, size_t i, int *pair, unsigned *window);
/* The largest W that was run: the headline lines are at this one. */
unsigned bench_max_window(const bench_opts *o);

/* n per second over ns (0 when ns is 0). */
double bench_rate(uint64_t n, uint64_t ns);
/* us per item (0 when n is 0). */
double bench_per(uint64_t us, uint64_t n);
/* A headline line: "WHAT: <X>x" (one decimal), "WHAT: <P>%" (none). */
void bench_print_ratio(const char *what, double x);
void bench_print_percent(const char *what, double p);

#endif
