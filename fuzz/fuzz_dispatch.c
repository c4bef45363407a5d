/*
 * fuzz_dispatch.c - parleyd's Call-ID scan (apps/parleyd/dispatch.c),
 * which reads every received message before any parse, fed fuzzed bytes.
 *
 * Checks: the scan never reads outside the message (ASan), the Call-ID it
 * finds lies inside the message, the owner is in range, and whenever the
 * message parses (as a datagram or as a stream message), the scan found
 * exactly the Call-ID the parser found, so that every message of a call
 * reaches the same worker.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "fuzz_util.h"

#include <parley/msg.h>

static char block[65536];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = fuzz_dup(data, size);
    pl_str cid;
    bool found = pd_call_id(buf, size, &cid);
    if (found) {
        FUZZ_CHECK(cid.p >= buf && cid.p + cid.len <= buf + size);
        fuzz_touch(cid);
    }
    for (unsigned n = 1; n <= 4; n++) {
        int owner = pd_owner(buf, size, n);
        FUZZ_CHECK(owner >= -1 && owner < (int)n);
        if (n > 1) /* one worker owns everything: -1, "whoever read it" */
            FUZZ_CHECK((owner == -1) == !found);
    }
    for (int f = 0; f < 2; f++) {
        pl_arena a;
        pl_arena_init(&a, block, sizeof(block), 0);
        pl_msg m;
        pl_parse_opts o = {f ? PL_FRAMING_STREAM : PL_FRAMING_DGRAM, NULL};
        if (pl_msg_parse(&m, buf, size, &a, &o, NULL) == PL_OK && m.call_id.len) {
            FUZZ_CHECK(found);
            FUZZ_CHECK(pl_str_eq(m.call_id, cid));
        }
        pl_arena_free(&a);
    }
    free(buf);
    return 0;
}
