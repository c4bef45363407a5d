/*
 * parley/uri.h - SIP, SIPS and tel URIs (RFC 3261 section 19.1, RFC 3966),
 * and the parameter lists that URIs and header fields share.
 *
 * pl_uri_parse() indexes a URI in place: every field is a pl_str into the
 * caller's bytes, still escaped as written. pl_uri_unescape() decodes a field
 * when the caller needs its value; pl_uri_equal() compares two URIs by the
 * rules of RFC 3261 section 19.1.4. Other schemes (urn:, http:, ...) parse as
 * opaque URIs: the scheme and the rest.
 */
#ifndef PARLEY_URI_H
#define PARLEY_URI_H

#include <parley/base.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pl_uri_scheme {
    PL_URI_OTHER = 0, /* any other absoluteURI: only scheme and opaque are set */
    PL_URI_SIP,
    PL_URI_SIPS,
    PL_URI_TEL,
} pl_uri_scheme;

typedef enum pl_host_type {
    PL_HOST_NONE = 0,
    PL_HOST_NAME, /* a hostname (domain name) */
    PL_HOST_IPV4, /* a dotted IPv4 address */
    PL_HOST_IPV6, /* an IPv6 reference; host includes the brackets */
} pl_host_type;

typedef struct pl_uri {
    pl_uri_scheme scheme;
    pl_host_type host_type;
    pl_str scheme_str; /* as written, without the colon */
    pl_str user;       /* sip/sips: userinfo user (escaped); tel: the number */
    pl_str password;   /* escaped; has_password tells an empty one from none */
    pl_str host;       /* IPv6 references keep their brackets */
    pl_str port_str;   /* digits as written; empty when absent */
    uint16_t port;     /* 0 when absent */
    bool has_password;
    bool lr;        /* the lr parameter is present */
    pl_str params;  /* ";name=value;name" with the leading ';', as written */
    pl_str headers; /* "name=value&name=value" after the '?', as written */
    pl_str opaque;  /* PL_URI_OTHER: everything after the colon */
    /* Parameters that routing acts on, as written (escaped); empty when absent. */
    pl_str transport;
    pl_str maddr;
    pl_str user_param;
    pl_str method;
    pl_str ttl;
} pl_uri;

/*
 * Parse s as a URI. Returns PL_OK, or PL_EPARSE with err->offset relative to
 * s.p and err->reason saying what is wrong. err may be NULL.
 */
int pl_uri_parse(pl_uri *uri, pl_str s, pl_error *err);

/*
 * RFC 3261 section 19.1.4 equality: scheme, user and password compared
 * case-sensitively after unescaping, host case-insensitively, port present
 * or absent alike, user/ttl/method/maddr/transport parameters that appear in
 * either URI must appear in both and match, other parameters are compared
 * only where both have them, and header components must all match.
 * tel URIs compare by number (visual separators ignored) and parameters.
 * Two URIs of other schemes are equal when they are byte-identical but for
 * the case of the scheme.
 */
bool pl_uri_equal(const pl_uri *a, const pl_uri *b);

/* Which characters a URI component may carry unescaped (RFC 3261 section 25.1). */
typedef enum pl_uri_part {
    PL_URI_PART_USER,
    PL_URI_PART_PASSWORD,
    PL_URI_PART_PARAM,
    PL_URI_PART_HEADER,
} pl_uri_part;

/*
 * Decode %HH escapes of in into out (cap bytes). Returns PL_OK and *out_len,
 * PL_EPARSE on a truncated or non-hex escape, PL_ENOSPC when out is short.
 * out may equal in.p (decoding never grows).
 */
int pl_uri_unescape(pl_str in, char *out, size_t cap, size_t *out_len);

/*
 * Escape in for use as the given component: every byte that the component's
 * grammar does not allow bare is written as %HH. Returns PL_OK and *out_len,
 * or PL_ENOSPC.
 */
int pl_uri_escape(pl_str in, pl_uri_part part, char *out, size_t cap, size_t *out_len);

/* A parameter: ";name=value" or ";name". */
typedef struct pl_param {
    pl_str name;
    pl_str value; /* as written; a quoted-string keeps its quotes */
    bool has_value;
} pl_param;

/*
 * Iterate over a parameter list such as pl_uri.params or a header field's
 * params: *rest is advanced past each parameter. sep is ';' for parameters,
 * '&' for URI headers. Leading separators and whitespace around names,
 * values and '=' are skipped; quoted-string values are kept whole. Returns
 * true and fills *param while parameters remain.
 */
bool pl_param_next(pl_str *rest, char sep, pl_param *param);

/*
 * Find parameter name (case-insensitive) in a ';' list. Returns true and sets
 * *value (empty for a parameter without value) when present.
 */
bool pl_param_find(pl_str params, const char *name, pl_str *value);

#ifdef __cplusplus
}
#endif
#endif
