/*
 * registrar.c - REGISTER answered from the location table (RFC 3261 10.3),
 * and the lookup that turns an address of record into targets.
 */
#include <stdio.h>
#include <string.h>

#include "proxy_int.h"

#define MAX_LISTED 64

int pl_preq_save(pl_preq *r)
{
    pl_proxy *p = r->p;
    if (!p->cfg.location || r->msg.method_id != PL_METHOD_REGISTER)
        return PL_EINVAL;
    uint64_t now = p->cfg.wheel->now;
    uint32_t min = 0;
    uint16_t code = pl_location_save(p->cfg.location, &r->msg, &r->src, now, &min);
    pl_str extra[2 * (MAX_LISTED + 2)];
    size_t n = 0;
    char blk[8192];
    pl_arena a;
    pl_arena_init(&a, blk, sizeof(blk), 0);
    if (code == 423) {
        char *num = pl_arena_alloc(&a, 12);
        if (num)
            extra[n++] = PL_STR_LIT("Min-Expires"),
            extra[n++] = (pl_str){num, pl_u32_print(min, num)};
    }
    if (code == 200) {
        /* 10.3 step 8: the 200 lists every current binding with its expiry. */
        char aor[512];
        pl_binding b[MAX_LISTED];
        size_t k = 0;
        if (pl_location_aor(&r->msg.to->uri, aor, sizeof(aor)) == PL_OK)
            k = pl_location_lookup(p->cfg.location, aor, now, &a, b, MAX_LISTED);
        if (k > MAX_LISTED)
            k = MAX_LISTED;
        for (size_t i = 0; i < k; i++) {
            size_t cap = b[i].contact.len + 32;
            char *v = pl_arena_alloc(&a, cap);
            if (!v)
                break;
            int len = snprintf(v, cap, "<%.*s>;expires=%llu", (int)b[i].contact.len, b[i].contact.p,
                               (unsigned long long)((b[i].expires_ms - now + 999) / 1000));
            extra[n++] = PL_STR_LIT("Contact");
            extra[n++] = (pl_str){v, (size_t)len};
        }
        /* RFC 3327 5.3: the Path goes back to a UA that supports it. */
        int32_t pi = pl_msg_hdr_find(&r->msg, PL_HDR_PATH, 0);
        if (pi >= 0 && pl_msg_has_option(&r->msg, PL_HDR_SUPPORTED, "path")) {
            char *ub = pl_arena_alloc(&a, r->msg.hdrs[pi].value.len + 1);
            if (ub) {
                extra[n++] = PL_STR_LIT("Path");
                extra[n++] =
                    pl__proxy_unfold(r->msg.hdrs[pi].value, ub, r->msg.hdrs[pi].value.len + 1);
            }
        }
    }
    if (code != 200)
        pl__proxy_logf(p, PL_PROXY_LOG_INFO, r->msg.call_id, "REGISTER refused: %u", code);
    int rc = pl_preq_reply(r, code, PL_STR_NULL, extra, n / 2);
    pl_arena_free(&a);
    return rc;
}

int pl_preq_lookup(pl_preq *r)
{
    pl_proxy *p = r->p;
    if (!p->cfg.location)
        return PL_EINVAL;
    char aor[512];
    if (pl_location_aor(&r->msg.ruri, aor, sizeof(aor)) != PL_OK)
        return 0;
    char blk[8192];
    pl_arena a;
    pl_arena_init(&a, blk, sizeof(blk), 0);
    pl_binding b[MAX_LISTED];
    size_t k = pl_location_lookup(p->cfg.location, aor, p->cfg.wheel->now, &a, b, MAX_LISTED);
    if (k > MAX_LISTED)
        k = MAX_LISTED;
    int added = 0;
    for (size_t i = 0; i < k; i++)
        if (pl_preq_add_target(r, b[i].contact, b[i].path, b[i].q, NULL) == PL_OK)
            added++;
    pl_arena_free(&a);
    return added;
}
