/*
 * parley - send SIP requests and answer them, from the command line.
 *
 *   parley send [options] METHOD URI     one out-of-dialog request, its responses
 *   parley listen [--handle M=CODE] ADDRESS...   answer requests, print each
 *
 * Both are thin programs over the user-agent library (parley/ua.h): send
 * makes the request from a profile (--profile, or --user/--password and
 * --from), edits it (-H, --body) and prints what comes back; the UA
 * answers 401/407 from the credentials. listen installs a handler per
 * --handle rule and lets the UA answer the rest (OPTIONS from the
 * profile, 405, 501, 481).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <parley/dns.h>
#include <parley/transport.h>
#include <parley/ua.h>

#define VERSION "0.1.0"

static const char *prog = "parley";

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: parley send [options] METHOD URI\n"
        "       parley listen [--handle METHOD=CODE]... [--register URI --aor URI] ADDRESS...\n"
        "       parley --help | --version\n"
        "\n"
        "send: send one request of any method through the UA library and print\n"
        "each response's status line (the whole message with -v).\n"
        "  --transport udp|tcp|tls  transport (default: the URI's transport parameter,\n"
        "                        else tls for sips:, else udp)\n"
        "  -H 'Name: value'      add a header (repeatable)\n"
        "  --body FILE           body from FILE ('-' for stdin)\n"
        "  --type TYPE           Content-Type of the body (default application/sdp)\n"
        "  --from URI            From address (default sip:parley@127.0.0.1, or the profile's)\n"
        "  --user NAME --password PW   answer 401/407 challenges (digest MD5, SHA-256,\n"
        "                        SHA-512-256) with these credentials, for any realm\n"
        "  --profile FILE        a UA profile (key = value lines: aor, display_name, user,\n"
        "                        password, realm, outbound_proxy, route, user_agent...;\n"
        "                        see docs/ua.md)\n"
        "  -v, --verbose         print every response in full\n"
        "  --tls-ca FILE         trust these CAs and verify the server (tls, sips:)\n"
        "  --tls-cert FILE, --tls-key FILE   a client certificate (PEM)\n"
        "  exit status: 0 for a 2xx final response, 1 for any other final response,\n"
        "  2 for a timeout or transport failure, 3 for a usage or input error.\n"
        "\n"
        "listen: answer requests on each ADDRESS (udp:127.0.0.1:5060, tcp:[::1]:5060,\n"
        "tls:127.0.0.1:5061) and print one line per request on stdout:\n"
        "'SOURCE METHOD REQUEST-URI Call-ID: ID -> CODE'. Runs until interrupted.\n"
        "  --handle METHOD=CODE  answer METHOD with CODE (200-699; repeatable)\n"
        "  Without a rule: OPTIONS 200 with Allow, Accept and Supported; BYE, PRACK and\n"
        "  UPDATE 481; other known methods 405 with Allow; unknown methods 501.\n"
        "  --tls-cert FILE, --tls-key FILE   certificate and key for tls: addresses (PEM)\n"
        "  --tls-ca FILE --verify-client     require client certificates from these CAs\n"
        "  --register URI        register this listener's contact at the registrar URI\n"
        "                        (sip:127.0.0.1:5060, ;transport=tcp for TCP) on start,\n"
        "                        refresh it before it expires and remove it on exit;\n"
        "                        prints 'registered AOR at URI: STATUS (expires N)'\n"
        "  --aor URI             the address of record to register (with --register)\n"
        "  --expires SECONDS     the expiry to ask for (default 600)\n"
        "  --user NAME --password PW   answer the registrar's 401/407 challenges\n");
}

/* ---- TLS options, for both commands */

typedef struct tls_opts {
    const char *cert, *key, *ca;
    bool verify_client;
} tls_opts;

/* Takes argv[*i] (and its value) when it is a TLS option; true if taken. */
static bool tls_option(int argc, char **argv, int *i, tls_opts *t)
{
    const char *o = argv[*i];
    if (strcmp(o, "--verify-client") == 0) {
        t->verify_client = true;
        return true;
    }
    if (*i + 1 >= argc)
        return false;
    const char **slot = strcmp(o, "--tls-cert") == 0  ? &t->cert
                        : strcmp(o, "--tls-key") == 0 ? &t->key
                        : strcmp(o, "--tls-ca") == 0  ? &t->ca
                                                      : NULL;
    if (!slot)
        return false;
    *slot = argv[++*i];
    return true;
}

static tls_opts TLS;

/* ---- helpers */

static void print_msg(const pl_msg *m, bool full)
{
    if (!full) {
        printf("%.*s\n", (int)m->start_line.len, m->start_line.p);
        return;
    }
    size_t n = pl_msg_print_len(m);
    char *b = malloc(n);
    if (b && pl_msg_print(m, b, n, NULL) == PL_OK)
        fwrite(b, 1, n, stdout);
    free(b);
    fputs("\n", stdout);
}

static int local_ip_for(const pl_target *dst, char *ip, size_t cap)
{
    int fd = socket(dst->addr.ss_family, SOCK_DGRAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_storage me;
    socklen_t n = sizeof(me);
    int rc = connect(fd, (const struct sockaddr *)&dst->addr, dst->len);
    if (rc == 0)
        rc = getsockname(fd, (struct sockaddr *)&me, &n);
    close(fd);
    if (rc != 0)
        return -1;
    const void *a = me.ss_family == AF_INET6
                        ? (const void *)&((struct sockaddr_in6 *)&me)->sin6_addr
                        : (const void *)&((struct sockaddr_in *)&me)->sin_addr;
    return inet_ntop(me.ss_family, a, ip, (socklen_t)cap) ? 0 : -1;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        if (n == cap) {
            char *nb = cap < (1u << 24) ? realloc(b, cap *= 2) : NULL;
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (f != stdin)
        fclose(f);
    *len = n;
    return b;
}

typedef struct lookup {
    bool done;
    int status;
    pl_target first;
} lookup;

static void on_resolved(void *arg, int status, const pl_target *targets, size_t n)
{
    lookup *lk = arg;
    lk->done = true;
    lk->status = status;
    if (status == PL_OK && n)
        lk->first = targets[0];
}

/* The URI's target (RFC 3263 without NAPTR and SRV): the first address. */
static int resolve(const pl_uri *uri, pl_transport forced, pl_target *out)
{
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0)
        return PL_ENOMEM;
    pl_dns *dns = pl_dns_new(&loop);
    lookup lk = {false, PL_ENOTFOUND, {0}};
    int rc = dns ? pl_dns_resolve_uri(dns, uri, forced, on_resolved, &lk) : PL_ENOMEM;
    while (rc == PL_OK && !lk.done && uv_run(&loop, UV_RUN_ONCE))
        ;
    pl_dns_free(dns);
    uv_loop_close(&loop);
    if (rc != PL_OK)
        return rc;
    if (lk.status == PL_OK)
        *out = lk.first;
    return lk.status;
}

/* ---- send, through the UA library (parley/ua.h) */

static struct {
    bool verbose;
    int exit_code;
    pl_ua *ua;
} U;

static void ua_final(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app)
{
    (void)req;
    (void)app;
    print_msg(resp, U.verbose);
    fflush(stdout);
    if (resp->synthesized && (resp->status == 408 || resp->status == 503)) {
        fprintf(stderr, "%s: %s\n", prog,
                resp->status == 408 ? "no answer (timeout)" : "transport failure");
        U.exit_code = 2;
    } else {
        U.exit_code = resp->status < 300 ? 0 : 1;
    }
    pl_ua_stop(ua);
}

static void ua_provisional(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app)
{
    (void)ua;
    (void)req;
    (void)app;
    print_msg(resp, U.verbose);
    fflush(stdout);
}

static void ua_log(pl_ua_log_level level, pl_str call_id, const char *line, void *user)
{
    (void)user;
    static const char *names[] = {"?", "error", "warning", "info", "debug"};
    if (call_id.len)
        fprintf(stderr, "%s: %s: call-id %.*s: %s\n", prog, names[level], (int)call_id.len,
                call_id.p, line);
    else
        fprintf(stderr, "%s: %s: %s\n", prog, names[level], line);
}

/* Listen on an ephemeral UDP port of the address that reaches the target. */
static int listen_for(pl_ua *ua, const pl_uri *uri, pl_transport forced)
{
    pl_target dst;
    int rc = resolve(uri, forced, &dst);
    if (rc != PL_OK)
        return rc;
    char ip[64], addr[128];
    if (local_ip_for(&dst, ip, sizeof(ip)) != 0)
        return PL_ENOTFOUND;
    bool v6 = dst.addr.ss_family == AF_INET6;
    snprintf(addr, sizeof(addr), v6 ? "udp:[%s]:0" : "udp:%s:0", ip);
    return pl_ua_listen(ua, addr);
}

static int cmd_send(int argc, char **argv)
{
    const char *transport = NULL, *body_path = NULL, *type = "application/sdp", *from = NULL;
    const char *user = NULL, *password = NULL, *profile_path = NULL;
    const char *hdrs[32];
    size_t nh = 0;
    const char *pos[2];
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i];
        if (o[0] != '-' || !o[1]) {
            if (npos == 2) {
                usage(stderr);
                return 3;
            }
            pos[npos++] = o;
            continue;
        }
        if (tls_option(argc, argv, &i, &TLS)) {
            continue;
        } else if (strcmp(o, "-v") == 0 || strcmp(o, "--verbose") == 0) {
            U.verbose = true;
        } else if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (i + 1 < argc && strcmp(o, "--transport") == 0) {
            transport = argv[++i];
        } else if (i + 1 < argc && strcmp(o, "--body") == 0) {
            body_path = argv[++i];
        } else if (i + 1 < argc && strcmp(o, "--type") == 0) {
            type = argv[++i];
        } else if (i + 1 < argc && strcmp(o, "--from") == 0) {
            from = argv[++i];
        } else if (i + 1 < argc && strcmp(o, "--user") == 0) {
            user = argv[++i];
        } else if (i + 1 < argc && strcmp(o, "--password") == 0) {
            password = argv[++i];
        } else if (i + 1 < argc && strcmp(o, "--profile") == 0) {
            profile_path = argv[++i];
        } else if (i + 1 < argc && strcmp(o, "-H") == 0) {
            const char *h = argv[++i], *colon = strchr(h, ':');
            if (!colon || colon == h || nh == sizeof(hdrs) / sizeof(hdrs[0])) {
                fprintf(stderr, "%s: bad header '%s' (want 'Name: value')\n", prog, h);
                return 3;
            }
            hdrs[nh++] = h;
        } else {
            fprintf(stderr, "%s: unknown option %s (see parley --help)\n", prog, o);
            return 3;
        }
    }
    if (npos != 2) {
        usage(stderr);
        return 3;
    }
    if ((user == NULL) != (password == NULL)) {
        fprintf(stderr, "%s: --user and --password go together\n", prog);
        return 3;
    }
    const char *method = pos[0], *uri_s = pos[1];
    pl_uri uri;
    pl_error err = {0, 0, NULL};
    if (pl_uri_parse(&uri, pl_str_c(uri_s), &err) != PL_OK ||
        (uri.scheme != PL_URI_SIP && uri.scheme != PL_URI_SIPS)) {
        fprintf(stderr, "%s: bad SIP URI '%s': %s\n", prog, uri_s,
                err.reason ? err.reason : "not sip: or sips:");
        return 3;
    }
    pl_transport forced = PL_TP_COUNT_;
    if (transport && (!pl_transport_from_str(pl_str_c(transport), &forced) ||
                      (forced != PL_TP_UDP && forced != PL_TP_TCP && forced != PL_TP_TLS))) {
        fprintf(stderr, "%s: unknown transport %s (udp, tcp or tls)\n", prog, transport);
        return 3;
    }
    /* --transport becomes the URI's transport parameter, unless it names one. */
    char target[1024];
    if (forced != PL_TP_COUNT_ && !uri.transport.len && uri.scheme == PL_URI_SIP &&
        !uri.headers.len) {
        char tp[8];
        snprintf(tp, sizeof(tp), "%s", pl_transport_name(forced));
        for (char *c = tp; *c; c++)
            *c = (char)(*c | 0x20);
        /* Angle brackets: in an addr-spec, ";transport" would be a To parameter (20.10). */
        snprintf(target, sizeof(target), "<%s;transport=%s>", uri_s, tp);
    } else {
        snprintf(target, sizeof(target), "<%s>", uri_s); /* a URI, parameters and all */
    }
    pl_ua_profile *prof = pl_ua_profile_new(NULL);
    if (!prof)
        return 2;
    int rc = PL_OK;
    if (profile_path && (rc = pl_ua_profile_load(prof, profile_path, &err)) != PL_OK) {
        fprintf(stderr, "%s: %s:%zu: %s\n", prog, profile_path, err.offset,
                err.reason ? err.reason : "cannot read");
        pl_ua_profile_free(prof);
        return 3;
    }
    if (user && pl_ua_profile_add_credential(prof, NULL, user, password) != PL_OK) {
        fprintf(stderr, "%s: bad --user or --password\n", prog);
        pl_ua_profile_free(prof);
        return 3;
    }
    char aor[300];
    if (from || !pl_ua_profile_aor(prof)) {
        if (from) {
            pl_nameaddr na;
            if (pl_nameaddr_parse(&na, pl_str_c(from), 16, NULL) != PL_OK) {
                fprintf(stderr, "%s: bad --from '%s'\n", prog, from);
                pl_ua_profile_free(prof);
                return 3;
            }
            snprintf(aor, sizeof(aor), "%.*s", (int)na.uri_raw.len, na.uri_raw.p);
        } else {
            snprintf(aor, sizeof(aor), "sip:%s@%s", user ? user : "parley",
                     uri.host_type == PL_HOST_NAME ? "localhost" : "127.0.0.1");
        }
        if (pl_ua_profile_set_aor(prof, aor) != PL_OK) {
            fprintf(stderr, "%s: bad From address '%s'\n", prog, aor);
            pl_ua_profile_free(prof);
            return 3;
        }
    }
    pl_ua_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.master = prof;
    cfg.tls_cert = TLS.cert;
    cfg.tls_key = TLS.key;
    cfg.tls_ca = TLS.ca;
    cfg.log = ua_log;
    U.ua = pl_ua_new(&cfg);
    if (!U.ua) {
        pl_ua_profile_free(prof);
        return 2;
    }
    rc = listen_for(U.ua, &uri, forced);
    if (rc != PL_OK) {
        fprintf(stderr, "%s: cannot reach %.*s: %s\n", prog, (int)uri.host.len, uri.host.p,
                rc == PL_ENOTFOUND ? "no address found, or no route" : pl_err_str(rc));
        pl_ua_free(U.ua);
        pl_ua_profile_free(prof);
        return rc == PL_EINVAL ? 3 : 2;
    }
    pl_ua_handler h = {NULL, ua_provisional, ua_final, ua_final, NULL};
    pl_ua_set_handler(U.ua, method, &h, NULL);
    pl_ua_client c;
    rc = pl_ua_request_new(U.ua, NULL, method, target, NULL, NULL, &c);
    pl_msg *m = rc == PL_OK ? pl_ua_request_msg(U.ua, c) : NULL;
    for (size_t i = 0; m && rc == PL_OK && i < nh; i++) {
        const char *colon = strchr(hdrs[i], ':');
        rc = pl_msg_hdr_append(m, (pl_str){hdrs[i], (size_t)(colon - hdrs[i])},
                               pl_str_trim(pl_str_c(colon + 1)));
    }
    size_t body_len = 0;
    char *body = NULL;
    if (m && rc == PL_OK && body_path) {
        if (!(body = read_all(body_path, &body_len))) {
            fprintf(stderr, "%s: cannot read %s: %s\n", prog, body_path, strerror(errno));
            rc = PL_ENOTFOUND;
        } else {
            rc = pl_msg_set_body(m, pl_str_c(type), (pl_str){body, body_len});
        }
    }
    if (rc == PL_OK && m) {
        U.exit_code = 2;
        pl_ua_request_send(U.ua, c);
        pl_ua_run(U.ua);
    } else {
        if (rc != PL_ENOTFOUND)
            fprintf(stderr, "%s: cannot build the request: %s\n", prog,
                    rc == PL_EINVAL ? "invalid method, URI or header" : pl_err_str(rc));
        U.exit_code = 3;
    }
    free(body);
    pl_ua_free(U.ua);
    pl_ua_profile_free(prof);
    return U.exit_code;
}

/* ---- listen, through the UA library */

typedef struct handle_rule {
    char method[32];
    uint16_t code;
} handle_rule;

static struct {
    pl_ua *ua;
    handle_rule rules[32];
    size_t nrules;
    /* --register: the registrar, the AOR, the expiry asked for, and the
     * state of the registration. */
    const char *registrar, *aor;
    uint32_t expires;
    uv_timer_t refresh;
    bool registered; /* a 2xx with a non-zero expiry is in force */
    bool unregistering;
    bool pending; /* a REGISTER awaits its final response */
    bool stopping;
} L;

static void print_request(const pl_msg *req, const pl_target *src, uint16_t code)
{
    char from[96] = "?";
    if (src)
        pl_target_print(src, from, sizeof(from));
    printf("%s %.*s %.*s Call-ID: %.*s -> %u\n", from, (int)req->method.len, req->method.p,
           (int)req->ruri_raw.len, req->ruri_raw.p, (int)req->call_id.len, req->call_id.p, code);
    fflush(stdout);
}

static void listen_request(pl_ua *ua, pl_ua_server srv, const pl_msg *req, void *app)
{
    handle_rule *r = app;
    print_request(req, pl_ua_server_source(ua, srv), r->code);
    if (req->method_id == PL_METHOD_OPTIONS && r->code == 200)
        pl_ua_server_answer_options(ua, srv);
    else if (r->code < 300)
        pl_ua_server_accept(ua, srv, r->code);
    else
        pl_ua_server_reject(ua, srv, r->code, NULL);
}

/* What the UA answers by itself (OPTIONS, 405, 501...) is printed too. */
static void listen_auto(pl_ua *ua, const pl_msg *req, const pl_target *src, uint16_t code,
                        void *user)
{
    (void)ua;
    (void)user;
    print_request(req, src, code);
}

/* ---- listen --register: REGISTER through the UA (RFC 3261 10.2) */

static int send_register(uint32_t expires);

static void on_refresh(uv_timer_t *t)
{
    (void)t;
    if (!L.pending)
        send_register(L.expires);
}

/*
 * The expiry the registrar granted (RFC 3261 10.2.4): the expires
 * parameter of the Contacts it lists (the shortest, so that no binding of
 * ours lapses), else its Expires header, else what we asked for.
 */
static uint32_t granted(const pl_msg *resp)
{
    uint32_t best = UINT32_MAX;
    for (const pl_nameaddr *c = resp->contact; c; c = c->next)
        if (c->has_expires && c->expires < best)
            best = c->expires;
    if (best == UINT32_MAX)
        best = resp->has_expires ? resp->expires : L.expires;
    return best;
}

static void register_done(pl_ua *ua, pl_ua_client req, const pl_msg *resp, void *app)
{
    (void)req;
    (void)app;
    L.pending = false;
    if (L.unregistering) {
        printf("unregistered %s at %s: %.*s\n", L.aor, L.registrar, (int)resp->start_line.len - 8,
               resp->start_line.p + 8);
        fflush(stdout);
        L.registered = false;
        pl_ua_stop(ua);
        return;
    }
    if (resp->status == 423) {
        /* Interval Too Brief: ask again with the registrar's minimum (10.2.8). */
        int32_t i = pl_msg_hdr_find_name(resp, pl_str_c("Min-Expires"), 0);
        uint32_t min = 0;
        if (i >= 0 && pl_hdr_uint_parse(resp->hdrs[i].value, UINT32_MAX, &min, NULL) == PL_OK &&
            min > L.expires) {
            printf("registrar wants expires >= %u: asking again\n", min);
            fflush(stdout);
            L.expires = min;
            send_register(L.expires);
            return;
        }
    }
    if (resp->status >= 200 && resp->status < 300) {
        uint32_t e = granted(resp);
        printf("registered %s at %s: %.*s (expires %u)\n", L.aor, L.registrar,
               (int)resp->start_line.len - 8, resp->start_line.p + 8, e);
        L.registered = e > 0;
        /* Refresh at half the granted time: well before it lapses, even
         * over a slow path. */
        if (e > 0)
            uv_timer_start(&L.refresh, on_refresh, (uint64_t)e * 500u, 0);
    } else {
        printf("registration of %s at %s failed: %.*s\n", L.aor, L.registrar,
               (int)resp->start_line.len - 8, resp->start_line.p + 8);
        /* Try again in a while: the registrar may come back. */
        uv_timer_start(&L.refresh, on_refresh, 30000, 0);
    }
    fflush(stdout);
}

static int send_register(uint32_t expires)
{
    pl_ua_client c;
    /* To and From are the AOR; the Request-URI is the registrar (10.2). */
    int rc = pl_ua_request_new(L.ua, NULL, "REGISTER", L.aor, NULL, NULL, &c);
    pl_msg *m = rc == PL_OK ? pl_ua_request_msg(L.ua, c) : NULL;
    char ev[16];
    snprintf(ev, sizeof(ev), "%u", expires);
    if (m && (rc = pl_msg_set_ruri(m, pl_str_c(L.registrar))) == PL_OK &&
        (rc = pl_msg_hdr_append(m, pl_str_c("Expires"), pl_str_c(ev))) == PL_OK)
        rc = pl_ua_request_send(L.ua, c);
    else if (m)
        pl_ua_request_abandon(L.ua, c);
    if (rc != PL_OK) {
        fprintf(stderr, "%s: cannot send REGISTER to %s: %s\n", prog, L.registrar, pl_err_str(rc));
        return rc;
    }
    L.pending = true;
    return PL_OK;
}

/* On exit: remove our binding (Expires: 0), waiting at most a few seconds. */
static void on_unregister_timeout(uv_timer_t *t)
{
    (void)t;
    printf("unregister of %s: no answer\n", L.aor);
    fflush(stdout);
    pl_ua_stop(L.ua);
}

static void unregister(void)
{
    if (!L.registered || L.pending)
        return;
    uv_timer_stop(&L.refresh);
    L.unregistering = true;
    if (send_register(0) != PL_OK)
        return;
    uv_timer_start(&L.refresh, on_unregister_timeout, 4000, 0);
    pl_ua_run(L.ua);
}

static void on_signal(uv_signal_t *h, int sig)
{
    (void)sig;
    uv_signal_stop(h);
    L.stopping = true;
    pl_ua_stop(L.ua);
}

static int cmd_listen(int argc, char **argv)
{
    const char *addrs[16];
    int naddr = 0;
    const char *user = NULL, *password = NULL;
    L.expires = 600;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (tls_option(argc, argv, &i, &TLS))
            continue;
        if (i + 1 < argc &&
            (strcmp(argv[i], "--register") == 0 || strcmp(argv[i], "--aor") == 0 ||
             strcmp(argv[i], "--user") == 0 || strcmp(argv[i], "--password") == 0)) {
            const char **slot = strcmp(argv[i], "--register") == 0 ? &L.registrar
                                : strcmp(argv[i], "--aor") == 0    ? &L.aor
                                : strcmp(argv[i], "--user") == 0   ? &user
                                                                   : &password;
            *slot = argv[++i];
            continue;
        }
        if (strcmp(argv[i], "--expires") == 0 && i + 1 < argc) {
            char *end = NULL;
            unsigned long e = strtoul(argv[++i], &end, 10);
            if (!end || *end || e < 1 || e > 86400 * 365) {
                fprintf(stderr, "%s: bad --expires '%s' (seconds, 1 or more)\n", prog, argv[i]);
                return 3;
            }
            L.expires = (uint32_t)e;
            continue;
        }
        if (strcmp(argv[i], "--handle") == 0 && i + 1 < argc) {
            const char *r = argv[++i], *eq = strchr(r, '=');
            char *end = NULL;
            unsigned long code = eq ? strtoul(eq + 1, &end, 10) : 0;
            if (!eq || eq == r || (size_t)(eq - r) >= sizeof(L.rules[0].method) || !end || *end ||
                code < 200 || code > 699 || L.nrules == 32) {
                fprintf(stderr, "%s: bad --handle '%s' (want METHOD=CODE, CODE 200-699)\n", prog,
                        r);
                return 3;
            }
            handle_rule *h = &L.rules[L.nrules++];
            memcpy(h->method, r, (size_t)(eq - r));
            h->method[eq - r] = '\0';
            h->code = (uint16_t)code;
            continue;
        }
        if (argv[i][0] == '-' || naddr == 16) {
            fprintf(stderr, "%s: unknown option or too many addresses: %s\n", prog, argv[i]);
            return 3;
        }
        addrs[naddr++] = argv[i];
    }
    if (naddr < 1) {
        usage(stderr);
        return 3;
    }
    if ((L.registrar == NULL) != (L.aor == NULL) || (user == NULL) != (password == NULL)) {
        fprintf(stderr,
                "%s: --register and --aor go together, and so do --user and "
                "--password\n",
                prog);
        return 3;
    }
    pl_uri ru;
    if (L.registrar && (pl_uri_parse(&ru, pl_str_c(L.registrar), NULL) != PL_OK ||
                        (ru.scheme != PL_URI_SIP && ru.scheme != PL_URI_SIPS))) {
        fprintf(stderr, "%s: bad --register URI '%s'\n", prog, L.registrar);
        return 3;
    }
    pl_ua_profile *prof = pl_ua_profile_new(NULL);
    if (!prof)
        return 2;
    if (L.aor && pl_ua_profile_set_aor(prof, L.aor) != PL_OK) {
        fprintf(stderr, "%s: bad --aor '%s'\n", prog, L.aor);
        pl_ua_profile_free(prof);
        return 3;
    }
    if (user && pl_ua_profile_add_credential(prof, NULL, user, password) != PL_OK) {
        fprintf(stderr, "%s: bad --user or --password\n", prog);
        pl_ua_profile_free(prof);
        return 3;
    }
    if (!L.aor)
        pl_ua_profile_set_aor(prof, "sip:parley@localhost");
    pl_ua_profile_set_user_agent(prof, "parley/" VERSION);
    pl_ua_profile_add_mime_type(prof, "application/sdp");
    pl_ua_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.master = prof;
    cfg.tls_cert = TLS.cert;
    cfg.tls_key = TLS.key;
    cfg.tls_ca = TLS.ca;
    cfg.tls_verify_client = TLS.verify_client;
    cfg.log = ua_log;
    cfg.on_auto_answer = listen_auto;
    L.ua = pl_ua_new(&cfg);
    if (!L.ua) {
        pl_ua_profile_free(prof);
        return 2;
    }
    for (size_t i = 0; i < L.nrules; i++) {
        pl_ua_handler h = {listen_request, NULL, NULL, NULL, NULL};
        if (pl_ua_set_handler(L.ua, L.rules[i].method, &h, &L.rules[i]) != PL_OK) {
            fprintf(stderr, "%s: bad method in --handle: %s\n", prog, L.rules[i].method);
            pl_ua_free(L.ua);
            pl_ua_profile_free(prof);
            return 3;
        }
    }
    pl_net *net = pl_ua_net(L.ua);
    for (int i = 0; i < naddr; i++) {
        int rc = pl_ua_listen(L.ua, addrs[i]);
        if (rc != PL_OK) {
            fprintf(stderr, "%s: cannot listen on %s: %s\n", prog, addrs[i],
                    rc < -100 ? uv_strerror(rc)
                              : "bad address (udp:IP:PORT, tcp:IP:PORT, or tls:IP:PORT with "
                                "--tls-cert and --tls-key)");
            pl_ua_free(L.ua);
            pl_ua_profile_free(prof);
            return 2;
        }
        pl_target t;
        char s[96];
        pl_net_listen_target(net, (size_t)i, &t);
        pl_target_print(&t, s, sizeof(s));
        printf("listening on %s\n", s);
    }
    fflush(stdout);
    uv_signal_t sigint, sigterm;
    uv_signal_init(pl_net_loop(net), &sigint);
    uv_signal_init(pl_net_loop(net), &sigterm);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_timer_init(pl_net_loop(net), &L.refresh);
    int status = 0;
    if (L.registrar) {
        pl_ua_handler h = {NULL, NULL, register_done, register_done, NULL};
        if (pl_ua_set_handler(L.ua, "REGISTER", &h, NULL) != PL_OK ||
            send_register(L.expires) != PL_OK)
            status = 2;
    }
    if (status == 0) {
        pl_ua_run(L.ua);
        if (L.stopping)
            unregister();
    }
    uv_close((uv_handle_t *)&L.refresh, NULL);
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_close((uv_handle_t *)&sigterm, NULL);
    pl_ua_free(L.ua);
    pl_ua_profile_free(prof);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 3;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("parley %s\n", VERSION);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN); /* a closed peer is an error, not a death */
    if (strcmp(argv[1], "send") == 0)
        return cmd_send(argc - 2, argv + 2);
    if (strcmp(argv[1], "listen") == 0)
        return cmd_listen(argc - 2, argv + 2);
    fprintf(stderr, "%s: unknown command '%s' (see parley --help)\n", prog, argv[1]);
    return 3;
}
