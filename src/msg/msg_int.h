/*
 * msg_int.h - what the files of src/msg share and nobody else sees.
 */
#ifndef PARLEY_MSG_INT_H
#define PARLEY_MSG_INT_H

#include <parley/msg.h>

/* Scan a host (hostname, IPv4 address or IPv6 reference) at p. Returns the
 * byte after it and sets *type, or NULL with *why set. */
const char *pl__host_scan(const char *p, const char *end, pl_host_type *type, const char **why);

/* Record a parse error at 'at' (offset from base); returns code. */
int pl__fail(pl_error *err, int code, const char *base, const char *at, const char *why);

/*
 * One header parameter, "SEMI generic-param" with the LWS RFC 3261 allows
 * around ';' and '='. Returns 1 and advances *pp past it, 0 when the next
 * non-blank byte is not ';' (*pp unchanged), or a negative error.
 */
int pl__hparam_next(const char **pp, const char *end, pl_param *out, const char *base,
                    pl_error *err);

/* A header parameter's meaning, for the value it belongs to. */
typedef int (*pl__hparam_fn)(void *ctx, const pl_param *prm, const char *base, pl_error *err);

/*
 * Every "SEMI generic-param" at *pp, at most max of them (PL_ELIMIT past
 * it, with what), each handed to fn (may be NULL). *span gets their bytes
 * and *pp moves past them. Returns PL_OK or the error (err set). Inline, so
 * that each caller's fn is called directly on this hot path.
 */
static inline int pl__hparams_scan(const char **pp, const char *end, uint32_t max, const char *what,
                                   pl__hparam_fn fn, void *ctx, const char *base, pl_error *err,
                                   pl_str *span)
{
    const char *p = *pp;
    uint32_t count = 0;
    pl_param prm;
    int rc;
    while ((rc = pl__hparam_next(&p, end, &prm, base, err)) == 1) {
        if (++count > max)
            return pl__fail(err, PL_ELIMIT, base, prm.name.p, what);
        if (fn && (rc = fn(ctx, &prm, base, err)) != PL_OK)
            return rc;
    }
    if (rc < 0)
        return rc;
    span->p = *pp;
    span->len = (size_t)(p - *pp);
    *pp = p;
    return PL_OK;
}

/* One via-parm at p; returns the byte after it or NULL (err set). */
const char *pl__via_scan(pl_via *via, const char *p, const char *end, uint32_t max_params,
                         const char *base, pl_error *err);

/* One name-addr or addr-spec with its parameters at p. in_list: a bare URI
 * also ends at ','. Returns the byte after it or NULL (err set). */
const char *pl__nameaddr_scan(pl_nameaddr *na, const char *p, const char *end, bool in_list,
                              uint32_t max_params, const char *base, pl_error *err);

/* pl_media_type_parse() with a limit on its parameters. */
int pl__media_type_parse(pl_media_type *mt, pl_str value, uint32_t max_params, pl_error *err);

/* After a list element: end of value (returns end), a comma (returns the
 * byte after it and the following LWS), or NULL for anything else. */
const char *pl__list_sep(const char *p, const char *end);

/* Re-derive the parsed view of every header with this id after an edit. */
int pl__msg_reindex(pl_msg *msg, pl_hdr_id id, pl_error *err);

/* Parse header hdrs[i] into the eager fields of msg (called per header by
 * pl_msg_parse and by edits). */
int pl__msg_parse_eager(pl_msg *msg, uint32_t i, pl_error *err);

/* Room for a header array of n entries (keeps existing entries). */
int pl__msg_hdrs_reserve(pl_msg *msg, uint32_t n);

/* Copies that fell back to a parse (copy.c): always 0 unless a view was missed. */
extern _Thread_local size_t pl__msg_copy_fallbacks;

#endif
