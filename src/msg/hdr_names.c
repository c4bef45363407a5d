/*
 * hdr_names.c - header field names: long and compact forms (RFC 3261
 * section 7.3.3 and the extensions that define compact forms), canonical
 * spellings, and which headers hold comma-separated lists (section 7.3.1).
 *
 * Lookup is by length first, then a case-insensitive compare against the few
 * names of that length: no hashing, no allocation, and no reliance on a
 * terminating NUL in the message.
 */
#include <parley/msg.h>

#include <string.h>

#include "chars.h"

typedef struct hdr_def {
    const char *name;
    pl_hdr_id id;
    bool list;
} hdr_def;

static const hdr_def defs[PL_HDR_COUNT_] = {
    [PL_HDR_OTHER] = {NULL, PL_HDR_OTHER, false},
    [PL_HDR_ACCEPT] = {"Accept", PL_HDR_ACCEPT, true},
    [PL_HDR_ACCEPT_CONTACT] = {"Accept-Contact", PL_HDR_ACCEPT_CONTACT, true},
    [PL_HDR_ACCEPT_ENCODING] = {"Accept-Encoding", PL_HDR_ACCEPT_ENCODING, true},
    [PL_HDR_ACCEPT_LANGUAGE] = {"Accept-Language", PL_HDR_ACCEPT_LANGUAGE, true},
    [PL_HDR_ALERT_INFO] = {"Alert-Info", PL_HDR_ALERT_INFO, true},
    [PL_HDR_ALLOW] = {"Allow", PL_HDR_ALLOW, true},
    [PL_HDR_ALLOW_EVENTS] = {"Allow-Events", PL_HDR_ALLOW_EVENTS, true},
    [PL_HDR_AUTHENTICATION_INFO] = {"Authentication-Info", PL_HDR_AUTHENTICATION_INFO, false},
    [PL_HDR_AUTHORIZATION] = {"Authorization", PL_HDR_AUTHORIZATION, false},
    [PL_HDR_CALL_ID] = {"Call-ID", PL_HDR_CALL_ID, false},
    [PL_HDR_CALL_INFO] = {"Call-Info", PL_HDR_CALL_INFO, true},
    [PL_HDR_CONTACT] = {"Contact", PL_HDR_CONTACT, true},
    [PL_HDR_CONTENT_DISPOSITION] = {"Content-Disposition", PL_HDR_CONTENT_DISPOSITION, false},
    [PL_HDR_CONTENT_ENCODING] = {"Content-Encoding", PL_HDR_CONTENT_ENCODING, true},
    [PL_HDR_CONTENT_LANGUAGE] = {"Content-Language", PL_HDR_CONTENT_LANGUAGE, true},
    [PL_HDR_CONTENT_LENGTH] = {"Content-Length", PL_HDR_CONTENT_LENGTH, false},
    [PL_HDR_CONTENT_TYPE] = {"Content-Type", PL_HDR_CONTENT_TYPE, false},
    [PL_HDR_CSEQ] = {"CSeq", PL_HDR_CSEQ, false},
    [PL_HDR_DATE] = {"Date", PL_HDR_DATE, false},
    [PL_HDR_ERROR_INFO] = {"Error-Info", PL_HDR_ERROR_INFO, true},
    [PL_HDR_EVENT] = {"Event", PL_HDR_EVENT, false},
    [PL_HDR_EXPIRES] = {"Expires", PL_HDR_EXPIRES, false},
    [PL_HDR_FROM] = {"From", PL_HDR_FROM, false},
    [PL_HDR_IDENTITY] = {"Identity", PL_HDR_IDENTITY, false},
    [PL_HDR_IDENTITY_INFO] = {"Identity-Info", PL_HDR_IDENTITY_INFO, false},
    [PL_HDR_IN_REPLY_TO] = {"In-Reply-To", PL_HDR_IN_REPLY_TO, true},
    [PL_HDR_MAX_FORWARDS] = {"Max-Forwards", PL_HDR_MAX_FORWARDS, false},
    [PL_HDR_MIME_VERSION] = {"MIME-Version", PL_HDR_MIME_VERSION, false},
    [PL_HDR_MIN_EXPIRES] = {"Min-Expires", PL_HDR_MIN_EXPIRES, false},
    [PL_HDR_MIN_SE] = {"Min-SE", PL_HDR_MIN_SE, false},
    [PL_HDR_ORGANIZATION] = {"Organization", PL_HDR_ORGANIZATION, false},
    [PL_HDR_P_ASSERTED_IDENTITY] = {"P-Asserted-Identity", PL_HDR_P_ASSERTED_IDENTITY, true},
    [PL_HDR_P_PREFERRED_IDENTITY] = {"P-Preferred-Identity", PL_HDR_P_PREFERRED_IDENTITY, true},
    [PL_HDR_PATH] = {"Path", PL_HDR_PATH, true},
    [PL_HDR_PRIORITY] = {"Priority", PL_HDR_PRIORITY, false},
    [PL_HDR_PRIVACY] = {"Privacy", PL_HDR_PRIVACY, false},
    [PL_HDR_PROXY_AUTHENTICATE] = {"Proxy-Authenticate", PL_HDR_PROXY_AUTHENTICATE, false},
    [PL_HDR_PROXY_AUTHORIZATION] = {"Proxy-Authorization", PL_HDR_PROXY_AUTHORIZATION, false},
    [PL_HDR_PROXY_REQUIRE] = {"Proxy-Require", PL_HDR_PROXY_REQUIRE, true},
    [PL_HDR_RACK] = {"RAck", PL_HDR_RACK, false},
    [PL_HDR_REASON] = {"Reason", PL_HDR_REASON, true},
    [PL_HDR_RECORD_ROUTE] = {"Record-Route", PL_HDR_RECORD_ROUTE, true},
    [PL_HDR_REFER_SUB] = {"Refer-Sub", PL_HDR_REFER_SUB, false},
    [PL_HDR_REFER_TO] = {"Refer-To", PL_HDR_REFER_TO, false},
    [PL_HDR_REFERRED_BY] = {"Referred-By", PL_HDR_REFERRED_BY, false},
    [PL_HDR_REJECT_CONTACT] = {"Reject-Contact", PL_HDR_REJECT_CONTACT, true},
    [PL_HDR_REPLACES] = {"Replaces", PL_HDR_REPLACES, false},
    [PL_HDR_REPLY_TO] = {"Reply-To", PL_HDR_REPLY_TO, false},
    [PL_HDR_REQUEST_DISPOSITION] = {"Request-Disposition", PL_HDR_REQUEST_DISPOSITION, true},
    [PL_HDR_REQUIRE] = {"Require", PL_HDR_REQUIRE, true},
    [PL_HDR_RETRY_AFTER] = {"Retry-After", PL_HDR_RETRY_AFTER, false},
    [PL_HDR_ROUTE] = {"Route", PL_HDR_ROUTE, true},
    [PL_HDR_RSEQ] = {"RSeq", PL_HDR_RSEQ, false},
    [PL_HDR_SERVER] = {"Server", PL_HDR_SERVER, false},
    [PL_HDR_SERVICE_ROUTE] = {"Service-Route", PL_HDR_SERVICE_ROUTE, true},
    [PL_HDR_SESSION_EXPIRES] = {"Session-Expires", PL_HDR_SESSION_EXPIRES, false},
    [PL_HDR_SIP_ETAG] = {"SIP-ETag", PL_HDR_SIP_ETAG, false},
    [PL_HDR_SIP_IF_MATCH] = {"SIP-If-Match", PL_HDR_SIP_IF_MATCH, false},
    [PL_HDR_SUBJECT] = {"Subject", PL_HDR_SUBJECT, false},
    [PL_HDR_SUBSCRIPTION_STATE] = {"Subscription-State", PL_HDR_SUBSCRIPTION_STATE, false},
    [PL_HDR_SUPPORTED] = {"Supported", PL_HDR_SUPPORTED, true},
    [PL_HDR_TIMESTAMP] = {"Timestamp", PL_HDR_TIMESTAMP, false},
    [PL_HDR_TO] = {"To", PL_HDR_TO, false},
    [PL_HDR_UNSUPPORTED] = {"Unsupported", PL_HDR_UNSUPPORTED, true},
    [PL_HDR_USER_AGENT] = {"User-Agent", PL_HDR_USER_AGENT, false},
    [PL_HDR_VIA] = {"Via", PL_HDR_VIA, true},
    [PL_HDR_WARNING] = {"Warning", PL_HDR_WARNING, true},
    [PL_HDR_WWW_AUTHENTICATE] = {"WWW-Authenticate", PL_HDR_WWW_AUTHENTICATE, false},
};

/* Compact forms, indexed by the lower-case letter (RFC 3261 7.3.3, RFC 3265,
 * RFC 3515, RFC 3892, RFC 3841, RFC 4028, RFC 4474, RFC 3329 has none). */
static pl_hdr_id compact_id(unsigned char c)
{
    switch (c) {
    case 'a':
        return PL_HDR_ACCEPT_CONTACT;
    case 'b':
        return PL_HDR_REFERRED_BY;
    case 'c':
        return PL_HDR_CONTENT_TYPE;
    case 'd':
        return PL_HDR_REQUEST_DISPOSITION;
    case 'e':
        return PL_HDR_CONTENT_ENCODING;
    case 'f':
        return PL_HDR_FROM;
    case 'i':
        return PL_HDR_CALL_ID;
    case 'j':
        return PL_HDR_REJECT_CONTACT;
    case 'k':
        return PL_HDR_SUPPORTED;
    case 'l':
        return PL_HDR_CONTENT_LENGTH;
    case 'm':
        return PL_HDR_CONTACT;
    case 'n':
        return PL_HDR_IDENTITY_INFO;
    case 'o':
        return PL_HDR_EVENT;
    case 'r':
        return PL_HDR_REFER_TO;
    case 's':
        return PL_HDR_SUBJECT;
    case 't':
        return PL_HDR_TO;
    case 'u':
        return PL_HDR_ALLOW_EVENTS;
    case 'v':
        return PL_HDR_VIA;
    case 'x':
        return PL_HDR_SESSION_EXPIRES;
    case 'y':
        return PL_HDR_IDENTITY;
    default:
        return PL_HDR_OTHER;
    }
}

/*
 * Long names live in an open-addressing table keyed by a hash of the length
 * and the first and last bytes, built once before main: one probe and one
 * case-folding compare for a known name, a probe or two for an unknown one.
 * The hash ORs in 0x20 (cheap case folding; a false hit only costs a compare).
 */
#define SLOTS 512u
static uint8_t slot_id[SLOTS]; /* pl_hdr_id, 0 = empty */
static char folded[PL_HDR_COUNT_][24];
static uint8_t name_len[PL_HDR_COUNT_];

static unsigned name_hash(const char *p, size_t len)
{
    unsigned a = (unsigned char)(p[0] | 0x20), b = (unsigned char)(p[len - 1] | 0x20);
    return (a * 31u + b * 7u + (unsigned)len * 131u) & (SLOTS - 1);
}

/* Runs before main: the table is then read-only and safe from any thread. */
__attribute__((constructor)) static void build_index(void)
{
    for (int i = 1; i < PL_HDR_COUNT_; i++) {
        size_t n = strlen(defs[i].name);
        name_len[i] = (uint8_t)n;
        for (size_t k = 0; k < n; k++)
            folded[i][k] = (char)cc_lower((unsigned char)defs[i].name[k]);
        unsigned h = name_hash(defs[i].name, n);
        while (slot_id[h])
            h = (h + 1) & (SLOTS - 1);
        slot_id[h] = (uint8_t)i;
    }
}

pl_hdr_id pl_hdr_id_from_name(pl_str name)
{
    if (name.len == 1)
        return compact_id(cc_lower((unsigned char)name.p[0]));
    if (name.len == 0 || name.len >= sizeof(folded[0]))
        return PL_HDR_OTHER;
    for (unsigned h = name_hash(name.p, name.len);; h = (h + 1) & (SLOTS - 1)) {
        unsigned id = slot_id[h];
        if (!id)
            return PL_HDR_OTHER;
        if (name_len[id] != name.len)
            continue;
        /* Most names come in their canonical spelling: try that first. */
        if (memcmp(name.p, defs[id].name, name.len) == 0)
            return (pl_hdr_id)id;
        const char *f = folded[id];
        size_t k = 0;
        while (k < name.len && (char)cc_lower((unsigned char)name.p[k]) == f[k])
            k++;
        if (k == name.len)
            return (pl_hdr_id)id;
    }
}

const char *pl_hdr_canonical_name(pl_hdr_id id)
{
    if ((unsigned)id >= PL_HDR_COUNT_)
        return NULL;
    return defs[id].name;
}

bool pl_hdr_is_list(pl_hdr_id id)
{
    return (unsigned)id < PL_HDR_COUNT_ && defs[id].list;
}
