/*
 * parley/msg.h - SIP messages: parse, inspect, edit, print, build.
 *
 * pl_msg_parse() indexes a message in place (RFC 3261 sections 7, 20, 25):
 * the start line and every header become (pointer, length) pairs into the
 * caller's buffer, and the headers that every layer acts on are parsed at
 * once (Via, From, To, Call-ID, CSeq, Max-Forwards, Route, Record-Route,
 * Contact, Content-Length, Content-Type, Expires, Require, Proxy-Require,
 * Supported). Every other header is kept byte for byte, in order, and parsed
 * on first use by the typed accessors below. The only memory a parse takes is
 * from the arena the caller passes; with a reused block that is no heap
 * allocation at all.
 *
 * The buffer must outlive the message. Edits keep the original bytes and
 * store new text in the arena; pl_msg_print() writes the message back, byte
 * for byte what was received when nothing was changed.
 */
#ifndef PARLEY_MSG_H
#define PARLEY_MSG_H

#include <parley/base.h>
#include <parley/uri.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Methods that Parley knows by name; any other token is PL_METHOD_OTHER. */
typedef enum pl_method {
    PL_METHOD_OTHER = 0,
    PL_METHOD_INVITE,
    PL_METHOD_ACK,
    PL_METHOD_BYE,
    PL_METHOD_CANCEL,
    PL_METHOD_OPTIONS,
    PL_METHOD_REGISTER,
    PL_METHOD_PRACK,
    PL_METHOD_SUBSCRIBE,
    PL_METHOD_NOTIFY,
    PL_METHOD_PUBLISH,
    PL_METHOD_INFO,
    PL_METHOD_REFER,
    PL_METHOD_MESSAGE,
    PL_METHOD_UPDATE,
    PL_METHOD_COUNT_
} pl_method;

/* The method named by s (case-sensitive, RFC 3261 section 7.1). */
pl_method pl_method_from_str(pl_str s);
/* The name of a known method, or NULL for PL_METHOD_OTHER. */
const char *pl_method_name(pl_method m);

/* Header fields that Parley knows by name (long or compact form). */
typedef enum pl_hdr_id {
    PL_HDR_OTHER = 0,
    PL_HDR_ACCEPT,
    PL_HDR_ACCEPT_CONTACT,
    PL_HDR_ACCEPT_ENCODING,
    PL_HDR_ACCEPT_LANGUAGE,
    PL_HDR_ALERT_INFO,
    PL_HDR_ALLOW,
    PL_HDR_ALLOW_EVENTS,
    PL_HDR_AUTHENTICATION_INFO,
    PL_HDR_AUTHORIZATION,
    PL_HDR_CALL_ID,
    PL_HDR_CALL_INFO,
    PL_HDR_CONTACT,
    PL_HDR_CONTENT_DISPOSITION,
    PL_HDR_CONTENT_ENCODING,
    PL_HDR_CONTENT_LANGUAGE,
    PL_HDR_CONTENT_LENGTH,
    PL_HDR_CONTENT_TYPE,
    PL_HDR_CSEQ,
    PL_HDR_DATE,
    PL_HDR_ERROR_INFO,
    PL_HDR_EVENT,
    PL_HDR_EXPIRES,
    PL_HDR_FROM,
    PL_HDR_IDENTITY,
    PL_HDR_IDENTITY_INFO,
    PL_HDR_IN_REPLY_TO,
    PL_HDR_MAX_FORWARDS,
    PL_HDR_MIME_VERSION,
    PL_HDR_MIN_EXPIRES,
    PL_HDR_MIN_SE,
    PL_HDR_ORGANIZATION,
    PL_HDR_P_ASSERTED_IDENTITY,
    PL_HDR_P_PREFERRED_IDENTITY,
    PL_HDR_PATH,
    PL_HDR_PRIORITY,
    PL_HDR_PRIVACY,
    PL_HDR_PROXY_AUTHENTICATE,
    PL_HDR_PROXY_AUTHORIZATION,
    PL_HDR_PROXY_REQUIRE,
    PL_HDR_RACK,
    PL_HDR_REASON,
    PL_HDR_RECORD_ROUTE,
    PL_HDR_REFER_SUB,
    PL_HDR_REFER_TO,
    PL_HDR_REFERRED_BY,
    PL_HDR_REJECT_CONTACT,
    PL_HDR_REPLACES,
    PL_HDR_REPLY_TO,
    PL_HDR_REQUEST_DISPOSITION,
    PL_HDR_REQUIRE,
    PL_HDR_RETRY_AFTER,
    PL_HDR_ROUTE,
    PL_HDR_RSEQ,
    PL_HDR_SERVER,
    PL_HDR_SERVICE_ROUTE,
    PL_HDR_SESSION_EXPIRES,
    PL_HDR_SIP_ETAG,
    PL_HDR_SIP_IF_MATCH,
    PL_HDR_SUBJECT,
    PL_HDR_SUBSCRIPTION_STATE,
    PL_HDR_SUPPORTED,
    PL_HDR_TIMESTAMP,
    PL_HDR_TO,
    PL_HDR_UNSUPPORTED,
    PL_HDR_USER_AGENT,
    PL_HDR_VIA,
    PL_HDR_WARNING,
    PL_HDR_WWW_AUTHENTICATE,
    PL_HDR_COUNT_
} pl_hdr_id;

/* The id of a header name, long or compact, any case; PL_HDR_OTHER if unknown. */
pl_hdr_id pl_hdr_id_from_name(pl_str name);
/* The canonical (long) name of a known header, or NULL for PL_HDR_OTHER. */
const char *pl_hdr_canonical_name(pl_hdr_id id);
/* True for headers whose value is a comma-separated list (RFC 3261 section 7.3.1). */
bool pl_hdr_is_list(pl_hdr_id id);

/* One header field line, folded continuation lines included. */
typedef struct pl_hdr {
    pl_str name;  /* as sent, e.g. "v" or "VIA" */
    pl_str value; /* from the first non-blank byte after the colon to the end of
                     the last line, CRLF excluded; may hold folds */
    pl_str line;  /* the whole field as it will be printed, CRLF included */
    pl_hdr_id id;
} pl_hdr;

/* A Via value (RFC 3261 section 20.42). */
typedef struct pl_via {
    pl_str raw;       /* the whole via-parm */
    pl_str protocol;  /* "SIP/2.0" */
    pl_str transport; /* "UDP", "TCP", "TLS", "SCTP", "WS", "WSS" or other token */
    pl_str host;      /* IPv6 references keep their brackets */
    pl_str port_str;
    uint16_t port; /* 0 when absent */
    pl_host_type host_type;
    pl_str params; /* ";branch=...;rport", as written */
    pl_str branch;
    pl_str received;
    pl_str maddr;
    pl_str ttl;
    pl_str rport_value; /* empty for a bare ";rport" */
    bool has_branch;
    bool has_received;
    bool has_rport;
    struct pl_via *next;
} pl_via;

/*
 * A name-addr or addr-spec with header parameters: From, To, Contact, Route,
 * Record-Route, Refer-To, Referred-By, P-Asserted-Identity, Reply-To, Path...
 */
typedef struct pl_nameaddr {
    pl_str raw;     /* the whole value */
    pl_str display; /* as written: a quoted-string keeps its quotes; may be empty */
    pl_str uri_raw; /* the URI, without the angle brackets */
    pl_uri uri;
    bool angle; /* name-addr form (<...>) */
    bool has_tag;
    bool has_expires;
    pl_str params;    /* header parameters after the URI, as written */
    pl_str tag;       /* From/To tag */
    pl_str q;         /* Contact q */
    uint32_t expires; /* Contact expires */
    struct pl_nameaddr *next;
} pl_nameaddr;

typedef struct pl_cseq {
    uint32_t num; /* 0 to 2^32-1 (20.16: a 32-bit unsigned integer; a UAC
                     starts below 2^31, 8.1.1.5, but a receiver takes any) */
    pl_str method;
    pl_method method_id;
} pl_cseq;

/* A media type: Content-Type, Accept values. */
typedef struct pl_media_type {
    pl_str type;
    pl_str subtype;
    pl_str params; /* ";charset=utf-8", as written */
} pl_media_type;

/* Limits on what a parse accepts. Zero fields take the defaults. */
typedef struct pl_msg_limits {
    size_t max_msg_size;  /* whole message, start line to end of body; default 65535 */
    uint32_t max_headers; /* header fields (lines); default 256 */
    uint32_t max_line;    /* one header field, folds included; default 8192 */
    uint32_t max_vias;    /* Via values; default 64 */
    uint32_t max_params;  /* parameters on one value; default 64 */
    uint32_t max_values;  /* values of one list header kind (Contact, Route...); default 256 */
} pl_msg_limits;

#define PL_MSG_DEFAULT_MAX_SIZE    65535u
#define PL_MSG_DEFAULT_MAX_HEADERS 256u
#define PL_MSG_DEFAULT_MAX_LINE    8192u
#define PL_MSG_DEFAULT_MAX_VIAS    64u
#define PL_MSG_DEFAULT_MAX_PARAMS  64u
#define PL_MSG_DEFAULT_MAX_VALUES  256u

/* How the message arrived, for Content-Length (RFC 3261 section 18.3). */
typedef enum pl_framing {
    PL_FRAMING_DGRAM = 0, /* UDP: no Content-Length means the rest of the datagram;
                             bytes past Content-Length are ignored */
    PL_FRAMING_STREAM,    /* TCP/TLS: Content-Length is required and exact */
} pl_framing;

typedef struct pl_parse_opts {
    pl_framing framing;
    const pl_msg_limits *limits; /* NULL: the defaults */
} pl_parse_opts;

typedef struct pl_msg {
    /* The message's bytes, from the start line to the end of the body. */
    const char *buf;
    size_t len;
    size_t skipped;  /* CRLFs before the start line that were ignored (RFC 3261 7.5) */
    size_t trailing; /* datagram bytes after the body that were ignored */

    bool is_request;
    pl_str start_line; /* without its CRLF */
    pl_str method;     /* request */
    pl_method method_id;
    pl_str ruri_raw;
    pl_uri ruri;
    pl_str version;  /* "SIP/2.0" */
    uint16_t status; /* response */
    pl_str reason;

    pl_hdr *hdrs; /* every header field, in order */
    uint32_t hdr_count;
    uint32_t hdr_cap;
    pl_str body;

    /* Parsed at once; NULL / false / empty when absent. */
    pl_via *via;
    uint32_t via_count;
    pl_nameaddr *from;
    pl_nameaddr *to;
    pl_str call_id;
    bool has_cseq;
    pl_cseq cseq;
    bool has_max_forwards;
    uint32_t max_forwards;
    pl_nameaddr *contact; /* list, in order */
    uint32_t contact_count;
    bool contact_star; /* "Contact: *" */
    pl_nameaddr *route;
    uint32_t route_count;
    pl_nameaddr *record_route;
    uint32_t record_route_count;
    bool has_content_length;
    uint32_t content_length;
    bool has_content_type;
    pl_media_type content_type;
    bool has_expires;
    uint32_t expires;

    /* Internal: the arena, the limits, list ends for appending, edit state.
     * (A pointer field added anywhere in pl_msg or its views must be moved
     * by pl_msg_copy, src/msg/copy.c.) */
    pl_arena *arena;
    pl_via *via_last_;
    pl_nameaddr *contact_last_;
    pl_nameaddr *route_last_;
    pl_nameaddr *record_route_last_;
    pl_msg_limits limits;
    bool edited_start;
    bool edited_body;

    /* A response made locally for the user (a 408 on timeout, a 503 on a
     * transport failure), not one received. */
    bool synthesized;
} pl_msg;

/*
 * Parse one message from buf (len bytes). For a datagram, buf is the whole
 * datagram; for a stream, buf is one message framed by pl_framer_next().
 * Memory for the header index comes from arena. Returns PL_OK, or an error
 * code with err->offset (from buf) and err->reason; err may be NULL.
 * Checks made here: the start line, every header's syntax, the eager
 * headers' grammar, a single value for single-instance headers (From, To,
 * Call-ID, CSeq, Max-Forwards, Content-Length, Content-Type, Expires), and
 * the limits. Semantic checks (a missing Call-ID, CSeq method against the
 * request method) are pl_msg_check()'s.
 */
int pl_msg_parse(pl_msg *msg, const char *buf, size_t len, pl_arena *arena,
                 const pl_parse_opts *opts, pl_error *err);

/*
 * The checks RFC 3261 section 8.2 (and 16.3) makes before a request is
 * handled, and that a response must pass before it is matched:
 * - the version is SIP/2.0 (505 otherwise);
 * - Via, From, To, Call-ID and CSeq are present (400); Max-Forwards is the
 *   caller's business (a UAS may accept a request without it);
 * - a request's URI scheme is sip, sips or tel (416), its Request-URI has no
 *   header component (400, RFC 3261 19.1.1 table 1), and its CSeq method is
 *   the request method (400; 501 when the method is unknown anyway);
 * - a response does not route to a broadcast or multicast address through
 *   its second Via (RFC 4475 bcast): dropped, *code 0.
 * Returns PL_OK, or PL_EPARSE with *code the response a request deserves
 * (0: drop it silently) and err->reason its reason phrase. code and err may
 * be NULL. Option tags are pl_msg_unsupported()'s.
 */
int pl_msg_check(const pl_msg *msg, uint16_t *code, pl_error *err);

/* Header lookup. Index of the first header with id at or after from, or -1. */
int32_t pl_msg_hdr_find(const pl_msg *msg, pl_hdr_id id, uint32_t from);
/* Index of the first header named name (any case, compact forms matched) at or after from. */
int32_t pl_msg_hdr_find_name(const pl_msg *msg, pl_str name, uint32_t from);

/*
 * Iterate over the values of every header with a given id (list headers are
 * split at top-level commas, honouring quotes and angle brackets; other
 * headers yield their whole value). Empty elements are skipped.
 */
typedef struct pl_value_iter {
    const pl_msg *msg;
    pl_hdr_id id;
    uint32_t next_hdr;
    pl_str rest;
} pl_value_iter;

void pl_value_iter_init(pl_value_iter *it, const pl_msg *msg, pl_hdr_id id);
bool pl_value_iter_next(pl_value_iter *it, pl_str *value);

/*
 * Split one list at top-level commas: *rest advances; returns false when
 * nothing is left. Empty elements are skipped; each item is trimmed.
 */
bool pl_list_next(pl_str *rest, pl_str *item);

/* True when option tag (e.g. "100rel") appears in any header with id (Supported, Require...). */
bool pl_msg_has_option(const pl_msg *msg, pl_hdr_id id, const char *tag);

/*
 * The first option tag of the headers with id (PL_HDR_REQUIRE or
 * PL_HDR_PROXY_REQUIRE) that is not in supported, a NULL-terminated list.
 * Returns true and sets *tag when there is one: a UAS answers 420 Bad
 * Extension naming it in Unsupported (RFC 3261 8.2.2.3), a proxy does the
 * same for Proxy-Require (16.3 step 5).
 */
bool pl_msg_unsupported(const pl_msg *msg, pl_hdr_id id, const char *const *supported, pl_str *tag);

/* Typed parsers for values on first use; every one checks the whole grammar. */
int pl_via_parse(pl_via *via, pl_str value, uint32_t max_params, pl_error *err);
/* allow_addr_spec_params: treat ";..." after a bare URI as header parameters (RFC 3261 20.10). */
int pl_nameaddr_parse(pl_nameaddr *na, pl_str value, uint32_t max_params, pl_error *err);
int pl_cseq_parse(pl_cseq *cseq, pl_str value, pl_error *err);
int pl_media_type_parse(pl_media_type *mt, pl_str value, pl_error *err);
/* A token followed by parameters (Event, Subscription-State, Content-Disposition...). */
int pl_token_params_parse(pl_str value, pl_str *token, pl_str *params, pl_error *err);
/* A header whose value is one integer (Expires, Min-Expires, RSeq, Max-Forwards...). */
int pl_hdr_uint_parse(pl_str value, uint32_t max, uint32_t *out, pl_error *err);

/*
 * Decode a display name: a quoted-string loses its quotes and quoted-pairs
 * are resolved; a token sequence is returned as written. Writes at most cap
 * bytes. Returns PL_OK, PL_EPARSE or PL_ENOSPC.
 */
int pl_display_name_decode(pl_str display, char *out, size_t cap, size_t *out_len);

/* ---- Edits. Each keeps the parsed view in step and takes memory from msg->arena. */

/* Append a header field "name: value" after the last header. */
int pl_msg_hdr_append(pl_msg *msg, pl_str name, pl_str value);
/* Insert a header field before index pos (pos == hdr_count appends). */
int pl_msg_hdr_insert(pl_msg *msg, uint32_t pos, pl_str name, pl_str value);
/* Remove the header field at index idx. */
int pl_msg_hdr_remove(pl_msg *msg, uint32_t idx);
/* Remove every header field with this id; returns the count removed or an error. */
int pl_msg_hdr_remove_id(pl_msg *msg, pl_hdr_id id);
/* Replace the value of the header field at idx (the name is kept as sent). */
int pl_msg_hdr_replace(pl_msg *msg, uint32_t idx, pl_str value);
/* Add a Via value on top (a new first Via header field). */
int pl_msg_via_prepend(pl_msg *msg, pl_str value);
/* Remove the topmost Via value (a proxy's response path, RFC 3261 16.7 step 3). */
int pl_msg_via_remove_top(pl_msg *msg);
/* Remove the topmost Route value (RFC 3261 16.4 / 16.12). */
int pl_msg_route_pop(pl_msg *msg);
/* Set the Request-URI of a request. */
int pl_msg_set_ruri(pl_msg *msg, pl_str uri);
/* Set the body; Content-Length follows, Content-Type is set (or removed if type is empty). */
int pl_msg_set_body(pl_msg *msg, pl_str type, pl_str body);

/* ---- Printing. */

/* The exact number of bytes pl_msg_print() writes. */
size_t pl_msg_print_len(const pl_msg *msg);
/* Print the message into out. Returns PL_OK and *written, or PL_ENOSPC without writing past cap. */
int pl_msg_print(const pl_msg *msg, char *out, size_t cap, size_t *written);

/*
 * Copy msg into buf (cap bytes, at least pl_msg_print_len(msg)) as a
 * parsed message dst whose every view points into buf or into arena, with
 * no parse: the printed pieces are known, so the views are moved onto
 * them. dst prints exactly as msg does and needs neither msg, its buffer
 * nor its arena afterwards. Returns PL_OK, PL_ENOSPC or PL_ENOMEM. (A view
 * found outside the message's pieces, never expected, makes it parse the
 * printed bytes instead.)
 */
int pl_msg_copy(pl_msg *dst, const pl_msg *msg, char *buf, size_t cap, pl_arena *arena);
/* The arena bytes pl_msg_copy takes for msg's views: give the arena a block
 * this large and the copy makes no other allocation. */
size_t pl_msg_copy_views_size(const pl_msg *msg);

/* ---- Building. */

/* A request from scratch. Fields left empty are left out (or defaulted where noted). */
typedef struct pl_request_spec {
    pl_str method;         /* required: any token */
    pl_str ruri;           /* required */
    pl_str from;           /* name-addr, e.g. "\"Alice\" <sip:alice@example.com>" */
    pl_str from_tag;       /* empty: a random tag is made */
    pl_str to;             /* name-addr */
    pl_str to_tag;         /* in-dialog requests only */
    pl_str call_id;        /* empty: a random one is made */
    uint32_t cseq;         /* 0 means 1 */
    pl_str via_transport;  /* "UDP" when empty */
    pl_str via_sent_by;    /* required: "host[:port]" */
    pl_str branch;         /* empty: "z9hG4bK" + random */
    uint32_t max_forwards; /* 0 means 70 */
    pl_str contact;        /* name-addr or empty */
    const pl_str *extra;   /* pairs name, value: n_extra pairs */
    size_t n_extra;
    pl_str content_type;
    pl_str body;
} pl_request_spec;

/* Build (print and index) a request; memory from arena. */
int pl_msg_build_request(pl_msg *msg, pl_arena *arena, const pl_request_spec *spec, pl_error *err);

/*
 * Build the response a UAS sends to req (RFC 3261 section 8.2.6): status
 * line, every Via (same values, same order), From, To (with to_tag added when
 * it has none and code is above 100; a random tag when to_tag is empty),
 * Call-ID, CSeq, Timestamp on a 100 (8.2.6.1), Record-Route on a 101-299
 * to INVITE, SUBSCRIBE, REFER or NOTIFY (a response that may establish a
 * dialog, 12.1.1), Content-Length: 0. reason empty: the RFC's phrase for code.
 */
int pl_msg_build_response(pl_msg *resp, pl_arena *arena, const pl_msg *req, uint16_t code,
                          pl_str reason, pl_str to_tag, pl_error *err);

/*
 * A request of an INVITE's own transaction, printed: the ACK for a non-2xx
 * final response (RFC 3261 17.1.1.3: to is the response's To) or a CANCEL
 * (9.1: to is the INVITE's). Request-URI, the top Via alone, every Route
 * line, Max-Forwards: 70, From, To, Call-ID, CSeq with the INVITE's number
 * and method, Content-Length: 0. pl_msg_hop_request_len() is room enough
 * (0 when invite lacks a Via, From or Call-ID); pl_msg_print_hop_request()
 * writes it into out, *written its exact length (PL_ENOSPC when cap is
 * short, PL_EINVAL for such an invite).
 */
size_t pl_msg_hop_request_len(const pl_msg *invite, pl_str method, pl_str to);
int pl_msg_print_hop_request(const pl_msg *invite, pl_str method, pl_str to, char *out, size_t cap,
                             size_t *written);

/*
 * The answer to a request that did not parse, built from its raw bytes
 * (buf, len): "SIP/2.0 <code> <phrase> (<reason>)", its Via, From, To (with
 * a tag added if it has none), Call-ID and CSeq lines copied as they came,
 * Content-Length: 0. Only for what reads as a request line (not ACK) with
 * all five headers, free of control bytes: PL_EINVAL otherwise (stay
 * silent), PL_ENOSPC when cap is short. The lines are copied even when one
 * of them is what failed (RFC 4475 3.1.2.1 answers a mangled Via with 400).
 * code is 300-699 (400 for syntax).
 */
int pl_msg_reject_raw(const char *buf, size_t len, uint16_t code, const char *reason, char *out,
                      size_t cap, size_t *written);

/* The reason phrase RFC 3261 (and its extensions) give a status code. */
const char *pl_status_reason(uint16_t code);

/* ---- Stream framing (TCP, TLS; RFC 3261 section 18.3). */

typedef struct pl_framer {
    size_t scanned; /* how far into the message the end-of-headers search got */
    size_t total;   /* the message's length once its headers are whole, else 0 */
    bool crlf_odd;  /* a keep-alive CRLF whose pair has not come yet */
    pl_msg_limits limits;
} pl_framer;

typedef struct pl_frame {
    size_t skip;    /* CRLF keep-alive bytes before the message, to drop */
    size_t len;     /* the message's length from buf + skip (PL_OK only) */
    uint32_t pings; /* double-CRLF keep-alives seen (RFC 5626 3.5.1: answer each with CRLF) */
} pl_frame;

void pl_framer_init(pl_framer *f, const pl_msg_limits *limits);
/*
 * Look for the next whole message at the start of buf (the unconsumed bytes
 * of the stream, len of them). Keep-alive CRLFs before it are consumed:
 * frame->skip says how many bytes, and the caller drops them whatever the
 * result (the framer counts each ping once, split or not). Returns PL_OK
 * with frame->len the message's length from buf + skip: the caller hands
 * those bytes to pl_msg_parse() (PL_FRAMING_STREAM), drops skip + len, and
 * calls again. PL_ENEEDMORE: wait for more bytes. PL_EPARSE or PL_ELIMIT
 * with err set: the stream cannot be framed (no or bad Content-Length, too
 * large): close the connection.
 */
int pl_framer_next(pl_framer *f, const char *buf, size_t len, pl_frame *frame, pl_error *err);

#ifdef __cplusplus
}
#endif
#endif
