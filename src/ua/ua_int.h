/*
 * ua_int.h - the user-agent layer's private structures, shared by its files:
 * profile.c (profiles and their fall-back chain), handles.c (generation
 * checked ids), ua.c (the UA object, transports, handler registry, logs),
 * client.c (requests the application sends), auth.c (401/407 answers),
 * server.c (requests the application answers) and refer.c (REFER's
 * implicit subscription, both sides).
 */
#ifndef PARLEY_UA_INT_H
#define PARLEY_UA_INT_H

#include <parley/dns.h>
#include <parley/ua.h>

/* ------------------------------------------------------------ profiles */

typedef struct ua_list {
    char **v;
    size_t n;
    bool set;
} ua_list;

typedef struct ua_cred {
    char *realm; /* NULL: any realm */
    char *user;
    char *password; /* or NULL, then ha1 */
    char *ha1;
    pl_digest_alg alg; /* of ha1 */
} ua_cred;

struct pl_ua_profile {
    const pl_ua_profile *parent;
    char *aor, *display, *outbound_proxy, *user_agent;
    ua_list routes, methods, tags, mimes, encodings, languages;
    ua_cred *creds;
    size_t ncreds;
    uint16_t default_code;
    uint32_t default_after_ms;
    int follow_redirects; /* -1: unset */
    int check_ctype;      /* -1: unset */
};

const char *pl__ua_prof_aor(const pl_ua_profile *p);
const char *pl__ua_prof_display(const pl_ua_profile *p);
const char *pl__ua_prof_outbound(const pl_ua_profile *p);
const char *pl__ua_prof_user_agent(const pl_ua_profile *p);
const ua_list *pl__ua_prof_routes(const pl_ua_profile *p);
const ua_list *pl__ua_prof_methods(const pl_ua_profile *p);
const ua_list *pl__ua_prof_tags(const pl_ua_profile *p);
const ua_list *pl__ua_prof_mimes(const pl_ua_profile *p);
const ua_list *pl__ua_prof_encodings(const pl_ua_profile *p);
const ua_list *pl__ua_prof_languages(const pl_ua_profile *p);
/* The credential for realm: an exact realm match first, then a wildcard, walking the chain. */
const ua_cred *pl__ua_prof_cred(const pl_ua_profile *p, pl_str realm);
void pl__ua_prof_default_answer(const pl_ua_profile *p, uint16_t *code, uint32_t *after_ms);
bool pl__ua_prof_follow(const pl_ua_profile *p);
bool pl__ua_prof_check_ctype(const pl_ua_profile *p);
/* "a, b, c" of a list into out (cap bytes); false when it does not fit. */
bool pl__ua_list_join(const ua_list *l, char *out, size_t cap, size_t *len);

/* ------------------------------------------------------------ handles */

typedef struct ua_slot {
    void *obj;
    uint32_t gen;
    uint32_t next_free;
} ua_slot;

typedef struct ua_handles {
    ua_slot *slots;
    uint32_t n, cap;
    uint32_t free_head; /* index + 1; 0: none */
    size_t live;
} ua_handles;

uint64_t pl__ua_handle_add(ua_handles *h, void *obj);
void *pl__ua_handle_get(const ua_handles *h, uint64_t id);
void pl__ua_handle_del(ua_handles *h, uint64_t id);
void pl__ua_handles_free(ua_handles *h);

/* ------------------------------------------------------------ the UA */

typedef struct ua_handler {
    char *method;
    size_t len;
    pl_ua_handler h;
    void *user;
} ua_handler;

typedef struct ua_client ua_client;
typedef struct ua_server ua_server;
typedef struct ua_watch ua_watch;

struct pl_ua {
    pl_ua_config cfg;
    pl_net *net; /* real mode */
    pl_dns *dns;
    pl_wheel *wheel;
    pl_sender *sender;
    pl_target local; /* virtual mode */
    pl_txn_layer *layer;
    ua_handler *handlers;
    size_t nhandlers;
    ua_handles clients, servers;
    ua_client *client_list; /* every live client, for pl_ua_free */
    ua_server *server_list;
    ua_watch *watches; /* REFERs sent, awaiting NOTIFYs */
    pl_ua_stats stats;
    bool closing;
    /* "host:port" toward each family and transport, when it does not depend
     * on the destination (the listener has a specific address). */
    struct {
        char hp[64];
        bool valid;
    } local_cache[2][PL_TP_COUNT_];
};

void pl__ua_log(const pl_ua *ua, pl_ua_log_level level, pl_str call_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const ua_handler *pl__ua_handler_find(const pl_ua *ua, pl_str method);
/* Allow: OPTIONS, ACK, CANCEL, every method with on_request, the profile's. */
bool pl__ua_allow(const pl_ua *ua, const pl_ua_profile *p, char *out, size_t cap, size_t *len);
/* The local address a message to dst leaves from: "host:port" for Via and Contact. */
int pl__ua_local_for(pl_ua *ua, const pl_target *dst, char *hostport, size_t cap);

/* ------------------------------------------------------------ clients */

typedef void (*ua_client_done)(pl_ua *ua, ua_client *c, const pl_msg *resp);

/* A cached challenge: its realm and what the next answer needs. */
typedef struct ua_auth {
    bool proxy;   /* Proxy-Authenticate (407) */
    pl_str value; /* the challenge as received, copied */
    pl_digest_challenge ch;
    uint32_t nc;
    bool answered; /* an answer with this nonce was sent */
} ua_auth;

#define UA_MAX_AUTH 8

struct ua_client {
    pl_ua *ua;
    uint64_t id;
    ua_client *next, *prev;
    const pl_ua_profile *profile;
    ua_handler h; /* a copy: removing a handler later does not orphan the request */
    void *app;
    void (*app_free)(void *app);
    ua_client_done internal; /* the UA's own requests (NOTIFY): no handler */
    void *internal_arg;
    pl_arena arena;
    char block[3072]; /* the arena's first block: a request and its edits fit */
    pl_msg msg;
    enum { UC_NEW, UC_RESOLVING, UC_SENT } state;
    pl_txn *txn;
    pl_str contact_auto;  /* the Contact value the UA put in, to correct at send time */
    char contact_hp[128]; /* the host:port and transport it was made for */
    pl_transport contact_tp;
    pl_target dst;
    ua_auth auth[UA_MAX_AUTH];
    unsigned nauth, auth_rounds, redirects;
    pl_timer later; /* a synthesized failure, delivered from the loop */
    uint16_t fail_code;
    const char *fail_reason;
    bool is_refer;
    bool delivering; /* inside its final callback: the UA frees it after */
};

int pl__ua_client_transmit(ua_client *c);
void pl__ua_client_free(ua_client *c);
/* Authorization headers for the cached challenges (auth.c). */
int pl__ua_auth_apply(ua_client *c);
/* Take the challenges of a 401/407; PL_OK when a retry makes sense. */
int pl__ua_auth_learn(ua_client *c, const pl_msg *resp);
/* A client for the UA's own use (an in-dialog NOTIFY): built from spec, sent to its route. */
int pl__ua_client_internal(pl_ua *ua, const pl_request_spec *spec, const pl_ua_profile *p,
                           ua_client_done done, void *arg);

/* ------------------------------------------------------------ servers */

typedef struct ua_sub ua_sub; /* a REFER's implicit subscription (refer.c) */

struct ua_server {
    pl_ua *ua;
    uint64_t id;
    ua_server *next, *prev;
    pl_txn *st;
    const pl_msg *req;
    pl_target src;
    const pl_ua_profile *profile;
    ua_handler h;
    void *app;
    void (*app_free)(void *app);
    char to_tag[12];
    pl_arena arena; /* the response being built for the application */
    pl_msg resp;
    bool resp_built;
    pl_timer timer; /* 100 Trying (RFC 4320), then the default answer */
    bool trying_sent, final_sent;
    ua_sub *sub;
};

void pl__ua_server_request(pl_ua *ua, pl_txn *st, const pl_msg *req, const pl_target *src);
void pl__ua_server_done(pl_ua *ua, pl_txn *st);
void pl__ua_server_free(ua_server *s);
/* Build a response to req in arena with the UA's additions (Server, Allow on 405...). */
int pl__ua_build_response(pl_ua *ua, const pl_ua_profile *p, const pl_msg *req,
                          const pl_target *peer, uint16_t code, const char *reason, pl_str to_tag,
                          pl_arena *arena, pl_msg *out);
/* Answer a server transaction that no handle owns, and count it. */
void pl__ua_auto_answer(pl_ua *ua, pl_txn *st, const pl_msg *req, const pl_target *peer,
                        const pl_ua_profile *p, uint16_t code, const char *reason);

/* ------------------------------------------------------------ REFER (refer.c) */

/* Before a 2xx to a REFER: keep what the implicit subscription needs (and
 * the request itself, as s->req) unless it said Refer-Sub: false (PL_ENOTFOUND). */
int pl__ua_refer_keep(ua_server *s);
/* After the 2xx: the first NOTIFY, and the expiry timer. */
int pl__ua_refer_start(ua_server *s);
int pl__ua_refer_notify(ua_server *s, uint16_t code, const char *reason);
void pl__ua_sub_free(ua_sub *sub);
/* A REFER was sent: watch for its NOTIFYs. */
void pl__ua_watch_add(pl_ua *ua, const pl_msg *refer);
/* Is this in-dialog NOTIFY for a REFER we sent? (A terminated one ends the watch.) */
bool pl__ua_watch_notify(pl_ua *ua, const pl_msg *req);
void pl__ua_watch_drop(pl_ua *ua, pl_str call_id, pl_str tag);
void pl__ua_watches_free(pl_ua *ua);

#endif
