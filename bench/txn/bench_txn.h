/*
 * bench_txn.h - what the roles of bench-txn share.
 *
 * bench-txn is one program in several roles. The orchestrator (no --role)
 * starts a server role and a client role as two child processes (itself,
 * exec'd again) and talks to each over a pipe: the child writes one-line
 * reports on its stdout, the orchestrator writes commands to a server's
 * stdin. Progress and errors for people go to stderr. The machinery is
 * bench/common/ (bench_common.h), shared with bench-ua; the reports below
 * are bench-txn's own.
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

#include "bench_common.h"

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
