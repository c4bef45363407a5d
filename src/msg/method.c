/*
 * method.c - method names (RFC 3261 section 7.1 and extensions) and the
 * reason phrases of status codes (section 21 and extensions).
 */
#include <parley/msg.h>

#include <string.h>

static const char *const method_names[PL_METHOD_COUNT_] = {
    [PL_METHOD_OTHER] = NULL,
    [PL_METHOD_INVITE] = "INVITE",
    [PL_METHOD_ACK] = "ACK",
    [PL_METHOD_BYE] = "BYE",
    [PL_METHOD_CANCEL] = "CANCEL",
    [PL_METHOD_OPTIONS] = "OPTIONS",
    [PL_METHOD_REGISTER] = "REGISTER",
    [PL_METHOD_PRACK] = "PRACK",
    [PL_METHOD_SUBSCRIBE] = "SUBSCRIBE",
    [PL_METHOD_NOTIFY] = "NOTIFY",
    [PL_METHOD_PUBLISH] = "PUBLISH",
    [PL_METHOD_INFO] = "INFO",
    [PL_METHOD_REFER] = "REFER",
    [PL_METHOD_MESSAGE] = "MESSAGE",
    [PL_METHOD_UPDATE] = "UPDATE",
};

static bool is(pl_str s, const char *lit, size_t n)
{
    return s.len == n && memcmp(s.p, lit, n) == 0;
}

/* Methods are case-sensitive (RFC 3261 7.1): "invite" is an unknown method.
 * Dispatch on the first byte, then one compare. */
pl_method pl_method_from_str(pl_str s)
{
    if (s.len < 3 || s.len > 9)
        return PL_METHOD_OTHER;
    switch (s.p[0]) {
    case 'A':
        return is(s, "ACK", 3) ? PL_METHOD_ACK : PL_METHOD_OTHER;
    case 'B':
        return is(s, "BYE", 3) ? PL_METHOD_BYE : PL_METHOD_OTHER;
    case 'C':
        return is(s, "CANCEL", 6) ? PL_METHOD_CANCEL : PL_METHOD_OTHER;
    case 'I':
        return is(s, "INVITE", 6) ? PL_METHOD_INVITE
               : is(s, "INFO", 4) ? PL_METHOD_INFO
                                  : PL_METHOD_OTHER;
    case 'M':
        return is(s, "MESSAGE", 7) ? PL_METHOD_MESSAGE : PL_METHOD_OTHER;
    case 'N':
        return is(s, "NOTIFY", 6) ? PL_METHOD_NOTIFY : PL_METHOD_OTHER;
    case 'O':
        return is(s, "OPTIONS", 7) ? PL_METHOD_OPTIONS : PL_METHOD_OTHER;
    case 'P':
        return is(s, "PRACK", 5)     ? PL_METHOD_PRACK
               : is(s, "PUBLISH", 7) ? PL_METHOD_PUBLISH
                                     : PL_METHOD_OTHER;
    case 'R':
        return is(s, "REGISTER", 8) ? PL_METHOD_REGISTER
               : is(s, "REFER", 5)  ? PL_METHOD_REFER
                                    : PL_METHOD_OTHER;
    case 'S':
        return is(s, "SUBSCRIBE", 9) ? PL_METHOD_SUBSCRIBE : PL_METHOD_OTHER;
    case 'U':
        return is(s, "UPDATE", 6) ? PL_METHOD_UPDATE : PL_METHOD_OTHER;
    default:
        return PL_METHOD_OTHER;
    }
}

const char *pl_method_name(pl_method m)
{
    if ((unsigned)m >= PL_METHOD_COUNT_)
        return NULL;
    return method_names[m];
}

const char *pl_status_reason(uint16_t code)
{
    switch (code) {
    case 100:
        return "Trying";
    case 180:
        return "Ringing";
    case 181:
        return "Call Is Being Forwarded";
    case 182:
        return "Queued";
    case 183:
        return "Session Progress";
    case 199:
        return "Early Dialog Terminated";
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 204:
        return "No Notification";
    case 300:
        return "Multiple Choices";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Moved Temporarily";
    case 305:
        return "Use Proxy";
    case 380:
        return "Alternative Service";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 407:
        return "Proxy Authentication Required";
    case 408:
        return "Request Timeout";
    case 410:
        return "Gone";
    case 412:
        return "Conditional Request Failed";
    case 413:
        return "Request Entity Too Large";
    case 414:
        return "Request-URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Unsupported URI Scheme";
    case 417:
        return "Unknown Resource-Priority";
    case 420:
        return "Bad Extension";
    case 421:
        return "Extension Required";
    case 422:
        return "Session Interval Too Small";
    case 423:
        return "Interval Too Brief";
    case 428:
        return "Use Identity Header";
    case 429:
        return "Provide Referrer Identity";
    case 433:
        return "Anonymity Disallowed";
    case 436:
        return "Bad Identity-Info";
    case 437:
        return "Unsupported Certificate";
    case 438:
        return "Invalid Identity Header";
    case 439:
        return "First Hop Lacks Outbound Support";
    case 440:
        return "Max-Breadth Exceeded";
    case 469:
        return "Bad Info Package";
    case 470:
        return "Consent Needed";
    case 480:
        return "Temporarily Unavailable";
    case 481:
        return "Call/Transaction Does Not Exist";
    case 482:
        return "Loop Detected";
    case 483:
        return "Too Many Hops";
    case 484:
        return "Address Incomplete";
    case 485:
        return "Ambiguous";
    case 486:
        return "Busy Here";
    case 487:
        return "Request Terminated";
    case 488:
        return "Not Acceptable Here";
    case 489:
        return "Bad Event";
    case 491:
        return "Request Pending";
    case 493:
        return "Undecipherable";
    case 494:
        return "Security Agreement Required";
    case 500:
        return "Server Internal Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Server Time-out";
    case 505:
        return "Version Not Supported";
    case 513:
        return "Message Too Large";
    case 580:
        return "Precondition Failure";
    case 600:
        return "Busy Everywhere";
    case 603:
        return "Decline";
    case 604:
        return "Does Not Exist Anywhere";
    case 606:
        return "Not Acceptable";
    case 607:
        return "Unwanted";
    default:
        break;
    }
    /* RFC 3261 8.1.3.2: an unknown code is treated as the x00 of its class. */
    if (code >= 100 && code < 200)
        return "Trying";
    if (code >= 200 && code < 300)
        return "OK";
    if (code >= 300 && code < 400)
        return "Multiple Choices";
    if (code >= 400 && code < 500)
        return "Bad Request";
    if (code >= 500 && code < 600)
        return "Server Internal Error";
    if (code >= 600 && code < 700)
        return "Busy Everywhere";
    return "Unknown";
}
