/*
 * Parley: pl_msg_parse over a reused arena block, then (full parse) every
 * remaining header through the typed parsers.
 *
 * The proxy path is pl_msg_parse() alone: it indexes every header and parses
 * at once the ones every layer acts on (Via, From, To, Call-ID, CSeq,
 * Max-Forwards, Route, Record-Route, Contact, Content-Length, Content-Type,
 * Expires, Require, Proxy-Require, Supported).
 *
 * The full parse then turns the value of every other header into structure
 * with the typed parsers of <parley/msg.h>, one list element at a time:
 * name-addrs (P-Asserted-Identity, Refer-To, Path, Call-Info...) through
 * pl_nameaddr_parse, media types (Accept) through pl_media_type_parse,
 * tokens with parameters (Allow, Supported, Event, Session-Expires,
 * Reason...) through pl_token_params_parse, integers through
 * pl_hdr_uint_parse, and the authentication headers into a scheme and a
 * list of name=value pairs. Free text (Subject, User-Agent, Server, Date,
 * Organization...) and unknown headers stay a string, as in libosip2 and
 * sofia-sip. No parser here touches the body.
 *
 * The arena works from one 64 KiB static block and is reset before every
 * message: no heap allocation is expected, and any the arena needs shows up
 * in the allocation count and in parley_arena_mallocs().
 */
#include "bench_parse.h"

#include <stdio.h>
#include <string.h>

#include <parley/base.h>
#include <parley/msg.h>
#include <parley/uri.h>

#define ARENA_BLOCK_SIZE (64u * 1024u)

static _Alignas(max_align_t) char arena_block[ARENA_BLOCK_SIZE];
static pl_arena arena;
static const pl_parse_opts parse_opts = {PL_FRAMING_DGRAM, NULL};

int parley_setup(void)
{
    pl_arena_init(&arena, arena_block, sizeof arena_block, 0);
    return 0;
}

size_t parley_arena_mallocs(void)
{
    return arena.mallocs;
}

/* How a header's value (or each element of a list header) is parsed. */
typedef enum value_kind {
    KIND_EAGER,     /* already parsed by pl_msg_parse() */
    KIND_TEXT,      /* free text or an opaque value: the string is the value */
    KIND_NAMEADDR,  /* name-addr / addr-spec with header parameters */
    KIND_MEDIA,     /* media-range (Accept) */
    KIND_TOKEN,     /* token *(;param): Allow, Event, Reason, Priority... */
    KIND_DELTA,     /* delta-seconds *(;param): Session-Expires, Min-SE */
    KIND_UINT,      /* one integer: Min-Expires, RSeq */
    KIND_AUTH,      /* auth-scheme and a comma-separated auth-param list */
    KIND_AUTH_INFO, /* a comma-separated auth-param list (Authentication-Info) */
    KIND_RACK,      /* response-num CSeq-num Method */
} value_kind;

static value_kind kind_of(pl_hdr_id id)
{
    switch (id) {
    case PL_HDR_VIA:
    case PL_HDR_FROM:
    case PL_HDR_TO:
    case PL_HDR_CALL_ID:
    case PL_HDR_CSEQ:
    case PL_HDR_MAX_FORWARDS:
    case PL_HDR_ROUTE:
    case PL_HDR_RECORD_ROUTE:
    case PL_HDR_CONTACT:
    case PL_HDR_CONTENT_LENGTH:
    case PL_HDR_CONTENT_TYPE:
    case PL_HDR_EXPIRES:
    case PL_HDR_REQUIRE:
    case PL_HDR_PROXY_REQUIRE:
    case PL_HDR_SUPPORTED:
        return KIND_EAGER;

    case PL_HDR_P_ASSERTED_IDENTITY:
    case PL_HDR_P_PREFERRED_IDENTITY:
    case PL_HDR_REFER_TO:
    case PL_HDR_REFERRED_BY:
    case PL_HDR_REPLY_TO:
    case PL_HDR_PATH:
    case PL_HDR_SERVICE_ROUTE:
    case PL_HDR_CALL_INFO:
    case PL_HDR_ALERT_INFO:
    case PL_HDR_ERROR_INFO:
    case PL_HDR_IDENTITY_INFO:
        return KIND_NAMEADDR;

    case PL_HDR_ACCEPT:
        return KIND_MEDIA;

    case PL_HDR_ALLOW:
    case PL_HDR_ALLOW_EVENTS:
    case PL_HDR_UNSUPPORTED:
    case PL_HDR_ACCEPT_ENCODING:
    case PL_HDR_ACCEPT_LANGUAGE:
    case PL_HDR_CONTENT_ENCODING:
    case PL_HDR_CONTENT_LANGUAGE:
    case PL_HDR_CONTENT_DISPOSITION:
    case PL_HDR_EVENT:
    case PL_HDR_SUBSCRIPTION_STATE:
    case PL_HDR_REASON:
    case PL_HDR_PRIORITY:
    case PL_HDR_PRIVACY:
    case PL_HDR_REFER_SUB:
    case PL_HDR_REQUEST_DISPOSITION:
    case PL_HDR_ACCEPT_CONTACT:
    case PL_HDR_REJECT_CONTACT:
        return KIND_TOKEN;

    case PL_HDR_SESSION_EXPIRES:
    case PL_HDR_MIN_SE:
        return KIND_DELTA;

    case PL_HDR_MIN_EXPIRES:
    case PL_HDR_RSEQ:
        return KIND_UINT;

    case PL_HDR_AUTHORIZATION:
    case PL_HDR_PROXY_AUTHORIZATION:
    case PL_HDR_WWW_AUTHENTICATE:
    case PL_HDR_PROXY_AUTHENTICATE:
        return KIND_AUTH;
    case PL_HDR_AUTHENTICATION_INFO:
        return KIND_AUTH_INFO;

    case PL_HDR_RACK:
        return KIND_RACK;

    default:
        /* Date, Subject, Organization, Server, User-Agent, MIME-Version,
         * Timestamp, Warning, Retry-After, In-Reply-To, Replaces, SIP-ETag,
         * SIP-If-Match, Identity and unknown headers. */
        return KIND_TEXT;
    }
}

/* An auth-param list "name=value, name="quoted", ...": each pair split. */
static int parse_auth_params(pl_str rest, uint64_t *acc)
{
    pl_str item;
    while (pl_list_next(&rest, &item)) {
        const char *eq = memchr(item.p, '=', item.len);
        if (eq == NULL || eq == item.p)
            return PL_EPARSE;
        pl_str name = pl_str_trim((pl_str){item.p, (size_t)(eq - item.p)});
        pl_str value = pl_str_trim((pl_str){eq + 1, item.len - (size_t)(eq + 1 - item.p)});
        if (name.len == 0)
            return PL_EPARSE;
        *acc += name.len + value.len;
    }
    return PL_OK;
}

/* One value (a list element for list headers, else the whole value). */
static int parse_value(value_kind kind, pl_str v, uint64_t *acc, pl_error *err)
{
    int rc = PL_OK;

    switch (kind) {
    case KIND_EAGER:
    case KIND_TEXT:
        *acc += v.len;
        break;
    case KIND_NAMEADDR: {
        pl_nameaddr na;
        rc = pl_nameaddr_parse(&na, v, PL_MSG_DEFAULT_MAX_PARAMS, err);
        if (rc == PL_OK)
            *acc += na.uri.host.len + na.params.len;
        break;
    }
    case KIND_MEDIA: {
        pl_media_type mt;
        rc = pl_media_type_parse(&mt, v, err);
        if (rc == PL_OK)
            *acc += mt.subtype.len;
        break;
    }
    case KIND_TOKEN: {
        pl_str token, params;
        rc = pl_token_params_parse(v, &token, &params, err);
        if (rc == PL_OK)
            *acc += token.len + params.len;
        break;
    }
    case KIND_DELTA: {
        pl_str token, params;
        uint32_t secs = 0;
        rc = pl_token_params_parse(v, &token, &params, err);
        if (rc == PL_OK)
            rc = pl_hdr_uint_parse(token, UINT32_MAX, &secs, err);
        if (rc == PL_OK)
            *acc += secs + params.len;
        break;
    }
    case KIND_UINT: {
        uint32_t n = 0;
        rc = pl_hdr_uint_parse(v, UINT32_MAX, &n, err);
        *acc += n;
        break;
    }
    case KIND_AUTH: {
        /* auth-scheme LWS auth-params */
        size_t i = 0;
        while (i < v.len && v.p[i] != ' ' && v.p[i] != '\t')
            i++;
        if (i == 0 || i == v.len)
            return PL_EPARSE;
        *acc += i;
        rc = parse_auth_params((pl_str){v.p + i, v.len - i}, acc);
        break;
    }
    case KIND_AUTH_INFO:
        rc = parse_auth_params(v, acc);
        break;
    case KIND_RACK: {
        /* response-num LWS CSeq-num LWS Method: the last two are a CSeq. */
        size_t i = 0;
        uint32_t rseq = 0;
        pl_cseq cseq;
        while (i < v.len && v.p[i] != ' ' && v.p[i] != '\t')
            i++;
        rc = pl_str_to_u32((pl_str){v.p, i}, UINT32_MAX, &rseq);
        if (rc == PL_OK)
            rc = pl_cseq_parse(&cseq, pl_str_trim((pl_str){v.p + i, v.len - i}), err);
        if (rc == PL_OK)
            *acc += rseq + cseq.num;
        break;
    }
    }
    return rc;
}

/* The full parse: every header pl_msg_parse() left as text, into structure. */
static int parse_rest(const pl_msg *msg, pl_error *err, uint32_t *bad_hdr)
{
    uint64_t acc = 0;

    for (uint32_t i = 0; i < msg->hdr_count; i++) {
        const pl_hdr *h = &msg->hdrs[i];
        value_kind kind = kind_of(h->id);
        int rc = PL_OK;

        if (kind == KIND_EAGER)
            continue;
        if (pl_hdr_is_list(h->id)) {
            pl_str rest = h->value, item;
            while (rc == PL_OK && pl_list_next(&rest, &item))
                rc = parse_value(kind, item, &acc, err);
        } else {
            rc = parse_value(kind, h->value, &acc, err);
        }
        if (rc != PL_OK) {
            *bad_hdr = i;
            return rc;
        }
    }
    /* The option tags of Supported, Require and Proxy-Require were checked by
     * pl_msg_parse() but are kept as text: list them, as the other parsers
     * do. */
    static const pl_hdr_id option_hdrs[] = {PL_HDR_SUPPORTED, PL_HDR_REQUIRE, PL_HDR_PROXY_REQUIRE};
    for (size_t k = 0; k < sizeof option_hdrs / sizeof option_hdrs[0]; k++) {
        pl_value_iter it;
        pl_str tag;
        pl_value_iter_init(&it, msg, option_hdrs[k]);
        while (pl_value_iter_next(&it, &tag))
            acc += tag.len;
    }
    bench_sink += acc;
    return PL_OK;
}

static void summarise(const pl_msg *msg, bench_summary *sum)
{
    sum->is_request = msg->is_request;
    if (msg->is_request)
        bench_copy(sum->method, sizeof sum->method, msg->method.p, msg->method.len);
    else
        sum->status = msg->status;
    if (msg->has_cseq) {
        sum->cseq = msg->cseq.num;
        bench_copy(sum->cseq_method, sizeof sum->cseq_method, msg->cseq.method.p,
                   msg->cseq.method.len);
    }
    sum->vias = msg->via_count;
    sum->contacts = msg->contact_count;
    sum->routes = msg->route_count;
    sum->record_routes = msg->record_route_count;
    sum->has_content_length = msg->has_content_length;
    sum->content_length = msg->content_length;
    sum->body_len = msg->body.len;
    bench_copy(sum->call_id, sizeof sum->call_id, msg->call_id.p, msg->call_id.len);
    if (msg->from != NULL && msg->from->has_tag)
        bench_copy(sum->from_tag, sizeof sum->from_tag, msg->from->tag.p, msg->from->tag.len);
}

int parley_parse(const bench_msg *m, bench_mode mode, bench_summary *sum)
{
    pl_msg msg;
    pl_error err = {0, 0, NULL};

    pl_arena_reset(&arena);
    int rc = pl_msg_parse(&msg, m->buf, m->len, &arena, &parse_opts, &err);
    if (rc != PL_OK) {
        if (sum != NULL)
            snprintf(sum->error, sizeof sum->error, "pl_msg_parse: %s at offset %zu: %s",
                     pl_err_str(rc), err.offset, err.reason ? err.reason : "(no reason)");
        return -1;
    }
    if (mode == BENCH_FULL) {
        uint32_t bad = 0;
        rc = parse_rest(&msg, &err, &bad);
        if (rc != PL_OK) {
            if (sum != NULL) {
                const pl_hdr *h = &msg.hdrs[bad];
                snprintf(sum->error, sizeof sum->error, "header %.*s: %s: %s", (int)h->name.len,
                         h->name.p, pl_err_str(rc), err.reason ? err.reason : "(no reason)");
            }
            return -1;
        }
    }
    if (sum != NULL) {
        summarise(&msg, sum);
        if (msg.trailing != 0 || msg.skipped != 0) {
            snprintf(sum->error, sizeof sum->error,
                     "%zu bytes skipped before and %zu ignored after the message", msg.skipped,
                     msg.trailing);
            return -1;
        }
    }
    bench_sink += msg.via_count + msg.hdr_count;
    return 0;
}
