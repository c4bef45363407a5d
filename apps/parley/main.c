/*
 * parley - send SIP requests and answer them, from the command line.
 *
 *   parley send [options] METHOD URI     one request in a client transaction
 *   parley listen ADDRESS...             answer OPTIONS with 200, the rest with 501
 *
 * Built on the whole stack: the message layer builds and parses, the
 * transaction layer retransmits and times out (RFC 3261 17), and the net
 * layer moves bytes over UDP or TCP on libuv.
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
#include <parley/txn.h>

#define VERSION "0.1.0"

static const char *prog = "parley";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: parley send [options] METHOD URI\n"
            "       parley listen ADDRESS...\n"
            "       parley --help | --version\n"
            "\n"
            "send: send one request in a client transaction (RFC 3261 17.1) and print\n"
            "each response's status line (the whole message with -v).\n"
            "  --transport udp|tcp|tls  transport (default: the URI's transport parameter,\n"
            "                        else tls for sips:, else udp)\n"
            "  -H 'Name: value'      add a header (repeatable)\n"
            "  --body FILE           body from FILE ('-' for stdin)\n"
            "  --type TYPE           Content-Type of the body (default application/sdp)\n"
            "  --from URI            From address (default sip:parley@<local address>)\n"
            "  -v, --verbose         print every response in full\n"
            "  --tls-ca FILE         trust these CAs and verify the server (tls, sips:)\n"
            "  --tls-cert FILE, --tls-key FILE   a client certificate (PEM)\n"
            "  exit status: 0 for a 2xx final response, 1 for any other final response,\n"
            "  2 for a timeout or transport failure, 3 for a usage or input error.\n"
            "\n"
            "listen: answer requests on each ADDRESS (udp:127.0.0.1:5060, tcp:[::1]:5060):\n"
            "OPTIONS with 200 (Allow, Accept, Supported), ACK with nothing, every other\n"
            "request with 501; one line per request on stdout. Runs until interrupted.\n"
            "  --tls-cert FILE, --tls-key FILE   certificate and key for tls: addresses (PEM)\n"
            "  --tls-ca FILE --verify-client     require client certificates from these CAs\n");
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

static void tls_apply(const tls_opts *t, pl_net_config *c)
{
    c->tls_cert = t->cert;
    c->tls_key = t->key;
    c->tls_ca = t->ca;
    c->tls_verify_client = t->verify_client;
}

static tls_opts TLS;

/* ---- send */

typedef struct send_state {
    pl_net *net;
    bool verbose;
    int exit_code;
    size_t received;
} send_state;

static send_state S;
static pl_txn_layer *layer;

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

static void on_response(pl_txn *ct, const pl_msg *resp, bool final, void *arg)
{
    (void)ct;
    (void)arg;
    print_msg(resp, S.verbose);
    fflush(stdout);
    if (!final)
        return;
    if (S.received == 0 && (resp->status == 408 || resp->status == 503)) {
        fprintf(stderr, "%s: %s\n", prog,
                resp->status == 408 ? "no answer (timeout)" : "transport failure");
        S.exit_code = 2;
    } else {
        S.exit_code = resp->status < 300 ? 0 : 1;
    }
    pl_net_stop(S.net);
}

static void on_net_message(pl_net *net, const char *buf, size_t len, const pl_target *src,
                           pl_framing framing, void *user)
{
    (void)net;
    (void)user;
    S.received++;
    pl_txn_receive(layer, buf, len, src, framing);
}

static void on_unreachable(pl_net *net, const pl_target *dst, void *user)
{
    (void)net;
    (void)user;
    pl_txn_transport_error(layer, dst);
}

static void on_stray(pl_txn_layer *l, const pl_msg *m, const pl_target *src, void *user)
{
    (void)l;
    (void)m;
    (void)src;
    (void)user;
}

static void on_send_request(pl_txn_layer *l, pl_txn *st, const pl_msg *req, const pl_target *src,
                            void *user)
{
    (void)src;
    (void)user;
    pl_arena *a = &(pl_arena){0};
    pl_arena_init(a, NULL, 0, 0);
    pl_msg resp;
    if (pl_msg_build_response(&resp, a, req, 501, PL_STR_NULL, PL_STR_NULL, NULL) == PL_OK)
        pl_txn_respond(st, &resp);
    pl_arena_free(a);
    (void)l;
}

/* The local address the kernel would use to reach dst. */
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

static int cmd_send(int argc, char **argv)
{
    const char *transport = NULL, *body_path = NULL, *type = "application/sdp", *from = NULL;
    pl_str extra[64];
    size_t n_extra = 0;
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
            S.verbose = true;
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
        } else if (i + 1 < argc && strcmp(o, "-H") == 0) {
            const char *h = argv[++i], *colon = strchr(h, ':');
            if (!colon || colon == h || n_extra + 2 > sizeof(extra) / sizeof(extra[0])) {
                fprintf(stderr, "%s: bad header '%s' (want 'Name: value')\n", prog, h);
                return 3;
            }
            extra[n_extra++] = (pl_str){h, (size_t)(colon - h)};
            extra[n_extra++] = pl_str_trim(pl_str_c(colon + 1));
        } else {
            fprintf(stderr, "%s: unknown option %s (see parley --help)\n", prog, o);
            return 3;
        }
    }
    if (npos != 2) {
        usage(stderr);
        return 3;
    }
    const char *method = pos[0], *uri_s = pos[1];
    pl_uri uri;
    pl_error err;
    if (pl_uri_parse(&uri, pl_str_c(uri_s), &err) != PL_OK ||
        (uri.scheme != PL_URI_SIP && uri.scheme != PL_URI_SIPS)) {
        fprintf(stderr, "%s: bad SIP URI '%s': %s\n", prog, uri_s,
                err.reason ? err.reason : "not sip: or sips:");
        return 3;
    }
    pl_transport forced = PL_TP_COUNT_;
    if (transport && !pl_transport_from_str(pl_str_c(transport), &forced)) {
        fprintf(stderr, "%s: unknown transport %s\n", prog, transport);
        return 3;
    }
    pl_target dst;
    int drc = resolve(&uri, forced, &dst);
    if (drc != PL_OK) {
        fprintf(stderr, "%s: cannot resolve %.*s: %s\n", prog, (int)uri.host.len, uri.host.p,
                drc == PL_ENOTFOUND ? "no address found"
                : drc == PL_EINVAL  ? "no usable transport (udp, tcp or tls; sips: needs tls)"
                                    : pl_err_str(drc));
        return drc == PL_EINVAL ? 3 : 2;
    }
    if (dst.transport != PL_TP_UDP && dst.transport != PL_TP_TCP && dst.transport != PL_TP_TLS) {
        fprintf(stderr, "%s: transport %s: udp, tcp and tls only for now\n", prog,
                pl_transport_name(dst.transport));
        return 3;
    }
    char tp[8];
    snprintf(tp, sizeof(tp), "%s", pl_transport_name(dst.transport));
    for (char *c = tp; *c; c++)
        *c = (char)(*c | 0x20);
    char target_s[128];
    pl_target_print(&dst, target_s, sizeof(target_s));
    char ip[64];
    if (local_ip_for(&dst, ip, sizeof(ip)) != 0) {
        fprintf(stderr, "%s: no route to %s\n", prog, target_s);
        return 2;
    }
    pl_net_config ncfg = {0};
    tls_apply(&TLS, &ncfg);
    ncfg.on_message = on_net_message;
    ncfg.on_unreachable = on_unreachable;
    S.net = pl_net_new(&ncfg);
    if (!S.net)
        return 2;
    bool v6 = dst.addr.ss_family == AF_INET6;
    char listen_s[128];
    snprintf(listen_s, sizeof(listen_s), v6 ? "udp:[%s]:0" : "udp:%s:0", ip);
    pl_target local;
    if (pl_net_listen(S.net, listen_s) != PL_OK || pl_net_listen_target(S.net, 0, &local) != 0) {
        fprintf(stderr, "%s: cannot open a UDP socket on %s\n", prog, ip);
        pl_net_free(S.net);
        return 2;
    }
    pl_txn_config tcfg = {0};
    tcfg.wheel = pl_net_wheel(S.net);
    tcfg.sender = pl_net_sender(S.net);
    tcfg.on_request = on_send_request;
    tcfg.on_stray = on_stray;
    layer = pl_txn_layer_new(&tcfg);

    char sent_by[96], contact[160], from_buf[160];
    snprintf(sent_by, sizeof(sent_by), v6 ? "[%s]:%u" : "%s:%u", ip, pl_target_port(&local));
    snprintf(contact, sizeof(contact), "<sip:parley@%s;transport=%s>", sent_by, tp);
    snprintf(from_buf, sizeof(from_buf), "<sip:parley@%s>", v6 ? sent_by : ip);
    size_t body_len = 0;
    char *body = NULL;
    if (body_path && !(body = read_all(body_path, &body_len))) {
        fprintf(stderr, "%s: cannot read %s: %s\n", prog, body_path, strerror(errno));
        pl_txn_layer_free(layer);
        pl_net_free(S.net);
        return 3;
    }
    char via_tp[8];
    snprintf(via_tp, sizeof(via_tp), "%s", pl_transport_name(dst.transport));
    pl_request_spec spec = {0};
    spec.method = pl_str_c(method);
    spec.ruri = pl_str_c(uri_s);
    spec.from = from ? pl_str_c(from) : pl_str_c(from_buf);
    char to_buf[1024];
    snprintf(to_buf, sizeof(to_buf), "<%s>", uri_s); /* 20.10: ';' only inside <> */
    spec.to = pl_str_c(to_buf);
    spec.via_transport = pl_str_c(via_tp);
    spec.via_sent_by = pl_str_c(sent_by);
    spec.contact = pl_str_c(contact);
    spec.extra = extra;
    spec.n_extra = n_extra / 2;
    if (body) {
        spec.content_type = pl_str_c(type);
        spec.body = (pl_str){body, body_len};
    }
    pl_arena arena;
    pl_arena_init(&arena, NULL, 0, 0);
    pl_msg req;
    int rc = pl_msg_build_request(&req, &arena, &spec, &err);
    if (rc == PL_OK)
        rc = pl_txn_client_start(layer, &req, &dst, on_response, NULL, NULL);
    if (rc != PL_OK) {
        fprintf(stderr, "%s: cannot build the request: %s\n", prog,
                rc == PL_EINVAL ? "invalid method or header" : (err.reason ? err.reason : "?"));
        S.exit_code = 3;
    } else {
        S.exit_code = 2;
        pl_net_run(S.net);
    }
    pl_arena_free(&arena);
    free(body);
    pl_txn_layer_free(layer);
    pl_net_free(S.net);
    return S.exit_code;
}

/* ---- listen */

static pl_net *listen_net;

static void on_listen_message(pl_net *net, const char *buf, size_t len, const pl_target *src,
                              pl_framing framing, void *user)
{
    (void)net;
    (void)user;
    pl_txn_receive(layer, buf, len, src, framing);
}

static void on_listen_request(pl_txn_layer *l, pl_txn *st, const pl_msg *req, const pl_target *src,
                              void *user)
{
    (void)l;
    (void)user;
    char from[96];
    pl_target_print(src, from, sizeof(from));
    uint16_t code =
        req->method_id == PL_METHOD_OPTIONS || req->method_id == PL_METHOD_CANCEL ? 200 : 501;
    printf("%s %.*s %.*s Call-ID: %.*s -> %u\n", from, (int)req->method.len, req->method.p,
           (int)req->ruri_raw.len, req->ruri_raw.p, (int)req->call_id.len, req->call_id.p, code);
    fflush(stdout);
    pl_arena arena;
    pl_arena_init(&arena, NULL, 0, 0);
    pl_msg resp;
    if (pl_msg_build_response(&resp, &arena, req, code, PL_STR_NULL, PL_STR_NULL, NULL) == PL_OK) {
        if (req->method_id == PL_METHOD_OPTIONS) {
            /* RFC 3261 11.2: what this UA can do. */
            int32_t cl = pl_msg_hdr_find(&resp, PL_HDR_CONTENT_LENGTH, 0);
            uint32_t at = cl < 0 ? resp.hdr_count : (uint32_t)cl;
            pl_msg_hdr_insert(&resp, at++, PL_STR_LIT("Allow"), PL_STR_LIT("OPTIONS, ACK, CANCEL"));
            pl_msg_hdr_insert(&resp, at++, PL_STR_LIT("Accept"), PL_STR_LIT("application/sdp"));
            pl_msg_hdr_insert(&resp, at, PL_STR_LIT("Supported"), PL_STR_LIT(""));
        }
        pl_txn_respond(st, &resp);
    }
    pl_arena_free(&arena);
}

static void on_listen_stray(pl_txn_layer *l, const pl_msg *m, const pl_target *src, void *user)
{
    (void)l;
    (void)src;
    (void)user;
    (void)m; /* ACKs for 2xx and stray responses: nothing to do */
}

static void on_signal(uv_signal_t *h, int sig)
{
    (void)sig;
    uv_signal_stop(h);
    pl_net_stop(listen_net);
}

static int cmd_listen(int argc, char **argv)
{
    const char *addrs[16];
    int naddr = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (tls_option(argc, argv, &i, &TLS))
            continue;
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
    pl_net_config ncfg = {0};
    tls_apply(&TLS, &ncfg);
    ncfg.on_message = on_listen_message;
    listen_net = pl_net_new(&ncfg);
    if (!listen_net)
        return 2;
    for (int i = 0; i < naddr; i++) {
        int rc = pl_net_listen(listen_net, addrs[i]);
        if (rc != PL_OK) {
            fprintf(stderr, "%s: cannot listen on %s: %s\n", prog, addrs[i],
                    rc < -100 ? uv_strerror(rc)
                              : "bad address (udp:IP:PORT, tcp:IP:PORT, or tls:IP:PORT with "
                                "--tls-cert and --tls-key)");
            pl_net_free(listen_net);
            return 2;
        }
        pl_target t;
        char s[96];
        pl_net_listen_target(listen_net, (size_t)i, &t);
        pl_target_print(&t, s, sizeof(s));
        printf("listening on %s\n", s);
    }
    fflush(stdout);
    pl_txn_config tcfg = {0};
    tcfg.wheel = pl_net_wheel(listen_net);
    tcfg.sender = pl_net_sender(listen_net);
    tcfg.on_request = on_listen_request;
    tcfg.on_stray = on_listen_stray;
    tcfg.detect_merged = true;
    layer = pl_txn_layer_new(&tcfg);
    uv_signal_t sigint, sigterm;
    uv_signal_init(pl_net_loop(listen_net), &sigint);
    uv_signal_init(pl_net_loop(listen_net), &sigterm);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    pl_net_run(listen_net);
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_close((uv_handle_t *)&sigterm, NULL);
    pl_txn_layer_free(layer);
    pl_net_free(listen_net);
    return 0;
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
