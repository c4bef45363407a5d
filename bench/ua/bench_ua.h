/*
 * bench_ua.h - what the roles of bench-ua share.
 *
 * bench-ua is one program in several roles, built like bench-txn on
 * bench/common/ (bench_common.h). The orchestrator (no --role) starts a
 * receiver role and a sender role as two child processes (itself, exec'd
 * again) and talks to each over a pipe: the child writes one-line reports
 * on its stdout, the orchestrator writes commands to the receiver's stdin.
 * Progress and errors for people go to stderr. The reports below are
 * bench-ua's own.
 *
 * Reports (child -> orchestrator), one line each:
 *   ready PORT                         receiver: listening on 127.0.0.1:PORT
 *   request BYTES                      receiver (echo, sofia): the size of the
 *                                      first request
 *   verified REQ_BYTES RESP_BYTES      sender: one request got its 200 (REQ_BYTES
 *                                      0 when the sender cannot see it; Parley's
 *                                      sender gives parley_sample_request's size)
 *   tick T_MS DONE CPU_US              sender: every --tick-ms
 *   active OK FAIL NS CPU_US MAXRSS_KB LOGS CSW FLT
 *                                      sender: the last final response came
 *   stopped REQS CPU_US MAXRSS_KB LOGS CSW FLT
 *                                      receiver: answer to the stop command
 *   error MESSAGE                      either: then it exits with status 2
 * Commands (orchestrator -> receiver stdin): "stop". End of file on stdin
 * means the orchestrator is gone: the receiver exits at once.
 *
 * CPU_US is user + system time of the whole process (all its threads)
 * since the role finished setting up (getrusage(RUSAGE_SELF)); NS is the
 * wall time of the timed traffic. LOGS counts the log lines the stack
 * produced (Parley: lines handed to the pl_ua log callback; 0 for the
 * others), so that a stack that logs per request is seen. CSW counts the
 * context switches (voluntary and involuntary, every thread) since set-up,
 * FLT the minor page faults (each a page of memory touched for the first time).
 */
#ifndef BENCH_UA_H
#define BENCH_UA_H

#include "bench_common.h"

/* The text/plain body of every MESSAGE, for both stacks. */
#define BU_BODY "Watson, come here. I want to see you."

/* ---- the roles; each returns the process exit status */

int parley_receiver(const role_opts *o);
int parley_sender(const role_opts *o);
int sofia_receiver(const role_opts *o);
int sofia_sender(const role_opts *o);
int echo_receiver(const role_opts *o);
int echo_sender(const role_opts *o);

/*
 * The bytes the echo pair bounces: the MESSAGE the Parley sender sends to
 * 127.0.0.1:port, byte for byte (built by a pl_ua in virtual mode), so
 * that the floor moves datagrams of that size. *resp_len gets the size of
 * the 200 a Parley receiver answers it with. 0 on failure.
 */
size_t parley_sample_request(char *out, size_t cap, uint16_t port, size_t *resp_len);

/* sofia-sip's version string ("1.12.11devel"). */
const char *sofia_version(void);

#endif
