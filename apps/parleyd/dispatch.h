/*
 * dispatch.h - which worker owns a message: the one its Call-ID hashes to
 * (32-bit FNV-1a of the Call-ID's bytes, modulo the number of workers).
 * Every message of a call (requests, CANCEL, ACK, responses) carries the
 * same Call-ID, so one worker sees all of them and keeps the call's
 * transactions to itself.
 */
#ifndef PARLEYD_DISPATCH_H
#define PARLEYD_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include <parley/base.h>

/*
 * The Call-ID of the raw message buf (a request or a response), found
 * with a scan of the header section, not a parse: the "Call-ID" or
 * compact "i" header, its value with the blanks and folds around it
 * trimmed. Returns false when there is none (the owner is then whoever
 * received it, and the parse will refuse the message).
 */
bool pd_call_id(const char *buf, size_t len, pl_str *out);

uint32_t pd_call_id_hash(pl_str call_id);

/* The owner of buf among n workers, or -1 when it has no Call-ID. */
int pd_owner(const char *buf, size_t len, unsigned n);

#endif
