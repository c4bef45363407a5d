/*
 * parley/ua.h - the user-agent library: profiles and out-of-dialog requests
 * through a dialog usage manager.
 *
 * A pl_ua owns a transaction layer and (in real mode) a pl_net on libuv. It
 * sends requests of any method that the application builds from a profile
 * and edits, answers 401/407 challenges from the profile's credentials,
 * follows 3xx when the profile says so, and reports exactly one final
 * outcome per request: on_success for a 2xx, on_failure for anything else
 * (408 and 503 included, always with a message, synthesized when the
 * network gave none). On the receiving side it runs every request through
 * the RFC 3261 8.2 checks, hands it to the method's handler as a server
 * handle, and answers whatever nobody answers: OPTIONS from the profile,
 * 405 with Allow for a known method with no handler, 501 for an unknown
 * one, 481 for a stray in-dialog request, and the profile's default final
 * response when the application stays silent too long.
 *
 * Threads: single-threaded by contract. Every call is made from the loop's
 * thread, except pl_ua_post(), which any thread may call. Callbacks run
 * from the loop only, never from inside the API call that caused them, and
 * no callback runs after pl_ua_free() returns.
 *
 * Handles: pl_ua_client and pl_ua_server are ids, not pointers. An id whose
 * object is gone is detected: calls return PL_ESTALE (or NULL), never crash.
 * A client id is valid from pl_ua_request_new() until its final callback
 * returns (or pl_ua_request_abandon()); a server id until its final
 * response is sent (for a REFER with an implicit subscription, until its
 * last NOTIFY).
 */
#ifndef PARLEY_UA_H
#define PARLEY_UA_H

#include <parley/auth.h>
#include <parley/msg.h>
#include <parley/transport.h>
#include <parley/txn.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pl_ua pl_ua;
typedef struct pl_ua_profile pl_ua_profile;
typedef uint64_t pl_ua_client; /* a request the application sends; 0 is never a valid id */
typedef uint64_t pl_ua_server; /* a request the application answers; 0 is never a valid id */

/* ------------------------------------------------------------ profiles */
/*
 * A profile holds an identity and capabilities. A profile made with a
 * parent (a user profile over the master) falls back to the parent for
 * every setting it does not set itself; a list set on the child replaces
 * the parent's list. The application owns profiles: free them after the
 * UA, or after no request uses them any more.
 */
pl_ua_profile *pl_ua_profile_new(const pl_ua_profile *parent);
void pl_ua_profile_free(pl_ua_profile *p);

/* The address of record, "sip:alice@example.com": From of every request. */
int pl_ua_profile_set_aor(pl_ua_profile *p, const char *uri);
int pl_ua_profile_set_display_name(pl_ua_profile *p, const char *name);
/* Credentials for realm (NULL or "*": any realm). */
int pl_ua_profile_add_credential(pl_ua_profile *p, const char *realm, const char *user,
                                 const char *password);
/* Credentials as a precomputed H(user:realm:password) for one algorithm (hex). */
int pl_ua_profile_add_credential_ha1(pl_ua_profile *p, const char *realm, const char *user,
                                     pl_digest_alg alg, const char *ha1);
/* Every out-of-dialog request goes through this proxy: a loose route (RFC 3261 8.1.2). */
int pl_ua_profile_set_outbound_proxy(pl_ua_profile *p, const char *uri);
/* The initial route set, in order (after the outbound proxy). */
int pl_ua_profile_add_route(pl_ua_profile *p, const char *uri);
/* User-Agent on requests, Server on responses. */
int pl_ua_profile_set_user_agent(pl_ua_profile *p, const char *text);
/* Methods to advertise in Allow besides those that have handlers. */
int pl_ua_profile_add_method(pl_ua_profile *p, const char *method);
/* Option tags for Supported (and the Require check, RFC 3261 8.2.2.3). */
int pl_ua_profile_add_option_tag(pl_ua_profile *p, const char *tag);
/* Accept, Accept-Encoding and Accept-Language of the OPTIONS answer. */
int pl_ua_profile_add_mime_type(pl_ua_profile *p, const char *type);
int pl_ua_profile_add_encoding(pl_ua_profile *p, const char *encoding);
int pl_ua_profile_add_language(pl_ua_profile *p, const char *language);
/* Refuse request bodies of types not added above with 415 (RFC 3261 8.2.3). Default: off. */
int pl_ua_profile_set_check_content_type(pl_ua_profile *p, bool on);
/*
 * The answer to a request the application has not answered after after_ms:
 * default 480 after 16000 ms (32*T1: inside the client's Timer F).
 */
int pl_ua_profile_set_default_answer(pl_ua_profile *p, uint16_t code, uint32_t after_ms);
/* Follow 3xx responses (to the best Contact, at most 5 times). Default: off. */
int pl_ua_profile_set_follow_redirects(pl_ua_profile *p, bool on);
/*
 * Read settings from a file of "key = value" lines ('#' starts a comment):
 * aor, display_name, user, password, realm, outbound_proxy, route,
 * user_agent, method, option_tag, mime_type, encoding, language,
 * default_answer (code [after_ms]), follow_redirects (yes|no). Returns
 * PL_OK, or PL_EPARSE with err->offset the line number and err->reason.
 */
int pl_ua_profile_load(pl_ua_profile *p, const char *path, pl_error *err);
/* The address of record in effect (the profile's, else its parent's), or NULL. */
const char *pl_ua_profile_aor(const pl_ua_profile *p);

/* ------------------------------------------------------------ handlers */

/* A new request for the application, answer it through srv. req is
 * valid until the callback returns, even once answered; after that,
 * pl_ua_server_request() gives it while the handle lives. */
typedef void (*pl_ua_request_cb)(pl_ua *ua, pl_ua_server srv, const pl_msg *req, void *app);
/* A response to a request the application sent (on_provisional: every 1xx, 100 included). */
typedef void (*pl_ua_response_cb)(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app);

/*
 * What the application does for one method. on_request NULL: the method is
 * not served here (405 with Allow). on_success and on_failure are the
 * final outcome of requests of this method that the application sends;
 * on_provisional is optional. In every callback, app is the request's own
 * context when it has one, else the handler's user pointer.
 */
typedef struct pl_ua_handler {
    pl_ua_request_cb on_request;
    pl_ua_response_cb on_provisional;
    pl_ua_response_cb on_success;
    pl_ua_response_cb on_failure;
    /* A CANCEL ended the server request (an INVITE; 487 was sent). Optional. */
    void (*on_cancelled)(pl_ua *ua, pl_ua_server srv, void *app);
} pl_ua_handler;

/*
 * The application's context for a new incoming request (the application
 * dialog set factory): set *app and *app_free (run when the server handle
 * ends). Called only for methods with a handler, never for the OPTIONS
 * the UA answers by itself.
 */
typedef void (*pl_ua_new_server_cb)(pl_ua *ua, const pl_msg *req, void **app,
                                    void (**app_free)(void *app), void *user);
/* The profile that serves an incoming request (NULL: the master). */
typedef const pl_ua_profile *(*pl_ua_select_profile_cb)(pl_ua *ua, const pl_msg *req, void *user);

/* Log levels; 0 in pl_ua_config.log_level means the default (warnings). */
typedef enum pl_ua_log_level {
    PL_UA_LOG_ERROR = 1,
    PL_UA_LOG_WARN,
    PL_UA_LOG_INFO,
    PL_UA_LOG_DEBUG
} pl_ua_log_level;
/* A log line; call_id may be empty. */
typedef void (*pl_ua_log_cb)(pl_ua_log_level level, pl_str call_id, const char *line, void *user);

typedef struct pl_ua_config {
    pl_ua_profile *master; /* required */

    /* Real mode: the UA makes a pl_net on loop (NULL: a loop of its own). */
    uv_loop_t *loop;
    const char *tls_cert, *tls_key, *tls_ca;
    bool tls_verify_client;

    /* Virtual mode (tests, own transports): set wheel and sender; the UA
     * makes no pl_net; feed it with pl_ua_receive(). local is the address
     * put in Via and Contact ("udp:10.0.0.1:5060"). */
    pl_wheel *wheel;
    pl_sender *sender;
    const char *local;

    pl_txn_timers timers;
    pl_ua_new_server_cb on_new_server;      /* may be NULL */
    pl_ua_select_profile_cb select_profile; /* may be NULL */
    /* Told of every request the UA answered by itself (OPTIONS, 405, 481,
     * 501, 420, 415...), with the code; for logs and statistics. */
    void (*on_auto_answer)(pl_ua *ua, const pl_msg *req, const pl_target *src, uint16_t code,
                           void *user);
    pl_ua_log_cb log;          /* NULL: warnings and errors to stderr */
    pl_ua_log_level log_level; /* default PL_UA_LOG_WARN */
    void *user;
} pl_ua_config;

/* A UA, or NULL (no master profile; out of memory). */
pl_ua *pl_ua_new(const pl_ua_config *cfg);
/*
 * Answer every pending server request (503), abandon every client request,
 * run every app_free, close the transports and free. No callback runs.
 * Not from inside a callback of this UA: stop the loop, then free.
 */
void pl_ua_free(pl_ua *ua);

/* Real mode: listen on "udp:127.0.0.1:5060" etc. (see pl_net_listen). */
int pl_ua_listen(pl_ua *ua, const char *addr);
/* The pl_net (NULL in virtual mode): its fd, timeout and process calls, its run and stop. */
pl_net *pl_ua_net(pl_ua *ua);
/* Run the loop until pl_ua_stop(). */
int pl_ua_run(pl_ua *ua);
void pl_ua_stop(pl_ua *ua);
/* Run fn(arg) on the loop's thread soon: the one call any thread may make. */
int pl_ua_post(pl_ua *ua, void (*fn)(void *arg), void *arg);

/* Virtual mode: bytes from src (see pl_txn_receive); a transport failure toward dst. */
int pl_ua_receive(pl_ua *ua, const char *buf, size_t len, const pl_target *src, pl_framing framing);
void pl_ua_transport_error(pl_ua *ua, const pl_target *dst);

/*
 * Install (h non-NULL) or remove the handler for method (any token, case
 * sensitive as RFC 3261 7.1 says). Allow is derived from the handlers that
 * have on_request, plus OPTIONS, ACK, CANCEL and the profile's methods.
 */
int pl_ua_set_handler(pl_ua *ua, const char *method, const pl_ua_handler *h, void *user);

/* ------------------------------------------------------------ sending */
/*
 * A new out-of-dialog request of method to target ("sip:bob@example.com" or
 * "\"Bob\" <sip:bob@example.com>"), from profile (NULL: the master), with
 * the application's context app (app_free, if not NULL, runs once when the
 * request ends). The request gets Request-URI, To, From with a new tag,
 * Call-ID, CSeq 1, Max-Forwards 70, Contact, Route from the outbound proxy
 * and route set, Allow and Supported from the profile; the Via is added at
 * send time. The method needs a handler with on_success and on_failure
 * (PL_EINVAL otherwise: a response nobody would see). ACK and CANCEL are
 * refused (the UA sends them itself). An INVITE is sent as one request
 * too: the UA ACKs a non-2xx (its transaction) and a 2xx (RFC 3261
 * 13.2.2.4); the session that a 2xx makes is the application's until the
 * session layer exists. Returns PL_OK and *out, PL_EINVAL (bad method or
 * target), PL_ENOMEM.
 */
int pl_ua_request_new(pl_ua *ua, const pl_ua_profile *profile, const char *method,
                      const char *target, void *app, void (*app_free)(void *app),
                      pl_ua_client *out);
/*
 * The request, for edits (pl_msg_hdr_append, pl_msg_set_body...), until it
 * is sent; NULL for a stale id or a sent request. Do not change Call-ID or
 * the From tag.
 */
pl_msg *pl_ua_request_msg(pl_ua *ua, pl_ua_client req);
/*
 * Send it. Returns PL_OK (the outcome comes later, by callback, even for a
 * failure found at once), PL_ESTALE, or PL_ESTATE (already sent).
 */
int pl_ua_request_send(pl_ua *ua, pl_ua_client req);
/* Stop: no more callbacks; app_free runs now. The transaction runs out
 * locally (RFC 3261 9.1; no CANCEL is sent for an INVITE yet). PL_ESTATE
 * from inside the request's final callback (it ends when that returns). */
int pl_ua_request_abandon(pl_ua *ua, pl_ua_client req);
void *pl_ua_request_app(pl_ua *ua, pl_ua_client req);

/* ------------------------------------------------------------ answering */

/* The request (valid while the handle is). */
const pl_msg *pl_ua_server_request(pl_ua *ua, pl_ua_server srv);
void *pl_ua_server_app(pl_ua *ua, pl_ua_server srv);
/* Where the request came from (its transport, address and port). */
const pl_target *pl_ua_server_source(pl_ua *ua, pl_ua_server srv);
const pl_ua_profile *pl_ua_server_profile(pl_ua *ua, pl_ua_server srv);
/* 200 with Allow, Accept, Accept-Encoding, Accept-Language and Supported from the serving profile.
 */
int pl_ua_server_answer_options(pl_ua *ua, pl_ua_server srv);
/* A 2xx (code 0: 200; 202 suits a REFER). */
int pl_ua_server_accept(pl_ua *ua, pl_ua_server srv, uint16_t code);
/* A final 300-699 (reason NULL: the RFC's phrase). */
int pl_ua_server_reject(pl_ua *ua, pl_ua_server srv, uint16_t code, const char *reason);
/* A provisional 101-199. */
int pl_ua_server_provisional(pl_ua *ua, pl_ua_server srv, uint16_t code, const char *reason);
/*
 * Build a response for editing (To tag, Server, Contact on a 2xx filled in);
 * send it with pl_ua_server_send, which takes it (edited or not). The
 * response's memory belongs to the handle.
 */
int pl_ua_server_response(pl_ua *ua, pl_ua_server srv, uint16_t code, const char *reason,
                          pl_msg **out);
int pl_ua_server_send(pl_ua *ua, pl_ua_server srv, pl_msg *resp);
/*
 * REFER with an implicit subscription (RFC 3515): after the 2xx, report
 * the referred request's progress as a NOTIFY with a message/sipfrag body
 * ("SIP/2.0 <code> <reason>"); a final code (>= 200) ends the subscription
 * and the handle. The UA sends "100 Trying" itself right after the 2xx.
 * With "Refer-Sub: false" (RFC 4488) the 2xx carries "Refer-Sub: false",
 * no NOTIFY is sent and this returns PL_ESTATE.
 */
int pl_ua_server_refer_notify(pl_ua *ua, pl_ua_server srv, uint16_t code, const char *reason);

/* Counters, for tests and leak checks. */
typedef struct pl_ua_stats {
    size_t clients; /* client requests alive */
    size_t servers; /* server requests alive */
    uint64_t auth_retries;
    uint64_t redirects;
    uint64_t default_answers; /* requests the UA answered for a silent application */
    uint64_t auto_answers;    /* OPTIONS, 405, 481, 501... answered with no handler */
} pl_ua_stats;
void pl_ua_get_stats(const pl_ua *ua, pl_ua_stats *out);

#ifdef __cplusplus
}
#endif
#endif
