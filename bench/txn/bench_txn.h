/*
 * bench_txn.h - what the roles of bench-txn share.
 *
 * bench-txn is one program in several roles. The orchestrator (no --role)
 * starts a server role and a client role as two child processes (itself,
 * exec'd again) and talks to each over a pipe: the child writes one-line
 * reports on its stdout, the orchestrator writes commands to a server's
 * stdin. Progress and errors for people go to stderr.
 *
 * Reports (child -> orchestrator), one line each:
 *   ready PORT                         server: listening on 127.0.0.1:PORT
 *   verified REQ_BYTES RESP_BYTES      client: one transaction went through
 *   tick T_MS DONE CPU_US LIVE         client: every --tick-ms (--long)
 *   active OK FAIL NS CPU_US LIVE RETX client: the last final response came
 *   done CPU_US DRAIN_MS MAXRSS_KB     client: every transaction has ended
 *   tick REQS CPU_US LIVE              server: answer to the tick command
 *   stopped REQS CPU_US LIVE           server: answer to the stop command
 *   done REQS CPU_US DRAIN_MS MAXRSS_KB ABSORBED   server: all have ended
 *   error MESSAGE                      either: then it exits non-zero
 * Commands (orchestrator -> server stdin): "tick", "stop". End of file on
 * stdin means the orchestrator is gone: the server exits at once.
 *
 * CPU_US is user + system time since the role finished setting up
 * (getrusage(RUSAGE_SELF)); NS is the wall time of the timed traffic.
 */
#ifndef BENCH_TXN_H
#define BENCH_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a role is told on its command line. */
typedef struct role_opts {
    const char *role;
    uint16_t port;      /* client: the server's port */
    unsigned window;    /* client: transactions in flight */
    double seconds;     /* client: timed traffic this long (0: use count) */
    uint64_t count;     /* client: this many timed transactions (0: use seconds) */
    unsigned tick_ms;   /* client: report a tick this often (0: never) */
    unsigned t1, t4;    /* Parley timers (ms) */
    unsigned deadline;  /* seconds: alarm() kills a role that outlives it */
    unsigned msg_bytes; /* echo: datagram size */
} role_opts;

/* ---- common.c */

uint64_t bt_now_ns(void);
/* User + system CPU of this process, microseconds. */
uint64_t bt_cpu_us(void);
/* Peak resident set of this process, KiB. */
uint64_t bt_maxrss_kb(void);
/* Write one report line to stdout (the orchestrator's pipe), flushed. */
void bt_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report an error to the orchestrator and to stderr, then exit(2). */
_Noreturn void bt_fail(const char *role, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Commands on stdin, read without blocking: returns 1 and the command in
 * cmd ("tick", "stop") when a whole line is there, 0 when none is, -1 at end
 * of file (the orchestrator is gone).
 */
int bt_read_cmd(char *cmd, size_t cap);

/* Watchdog, parent-death signal; call first in every role. */
void bt_role_init(const role_opts *o);

/* ---- the roles; each returns the process exit status */

int parley_server(const role_opts *o);
int parley_client(const role_opts *o);
int libre_server(const role_opts *o);
int libre_client(const role_opts *o);
int echo_server(const role_opts *o);
int echo_client(const role_opts *o);

/* libre's version, as the library reports it ("1.1.0"). */
const char *libre_version(void);

/* The request bytes the echo pair bounces: a Parley-built OPTIONS as the
 * Parley client sends it, so that the floor moves datagrams of that size. */
size_t parley_sample_request(char *out, size_t cap, uint16_t port);

#endif
