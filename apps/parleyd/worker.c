/*
 * worker.c - a parleyd worker: the wiring of pl_net, pl_dns, pl_proxy and
 * the script on one loop (as src/ua/ua.c wires a UA), plus the hand-overs
 * between workers.
 *
 * Received messages: each worker's UDP socket and TCP listener share the
 * configured address (SO_REUSEPORT), so the kernel picks the worker that
 * reads a datagram or accepts a connection. The message then goes to the
 * owner of its Call-ID: straight into this worker's proxy when that is
 * us, else copied into an item on the owner's queue.
 *
 * Sends: the proxy sends through a sender of ours. UDP goes out of our
 * own socket (same address as every worker's). A stream send goes on our
 * own connection to the peer when we hold one, else to the worker that
 * holds one (the registry), else on a new connection of ours.
 */
#include "worker.h"

#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <parley/dns.h>
#include <parley/mpsc.h>
#include <parley/script.h>
#include <parley/transport.h>

#include "dispatch.h"
#include "log.h"

/* How often worker 0 drops expired registrations from the location table. */
#define EXPIRE_EVERY_MS 10000

typedef enum item_kind {
    ITEM_RECEIVED, /* a message for our proxy, received by another worker */
    ITEM_SEND,     /* bytes to send on a stream connection we hold */
    ITEM_UNREACH,  /* another worker's transport found peer unreachable */
    ITEM_JOB,      /* a function to run here (the dialog module's) */
} item_kind;

typedef struct item {
    pl_mpsc_node node; /* first: the node is the item */
    item_kind kind;
    pl_framing framing;
    void (*fn)(void *arg);   /* ITEM_JOB */
    void (*drop)(void *arg); /* ITEM_JOB never run (stopping): instead of fn */
    void *arg;
    pl_target peer; /* source of a received message, destination of a send */
    size_t len;
    char data[];
} item;

struct pd_worker {
    pd_shared *sh;
    unsigned index;
    uv_loop_t loop;
    bool loop_ready;
    pl_net *net;
    pl_dns *dns;
    pl_proxy *proxy;
    pl_dlg_table *dlg;
    pl_script *script;
    pl_sender sender;
    pl_mpsc queue;
    uv_async_t wake;
    bool wake_ready;
    uv_timer_t expire;
    bool expire_ready;
    uv_timer_t sample;
    bool sample_ready;
    atomic_bool stop;
    pthread_t thread;
    bool started;
    pd_worker_stats stats;
};

/* ---- message counters */

const char *const pd_method_names[PD_NMETHODS] = {
    "INVITE", "ACK",     "BYE",  "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE",
    "NOTIFY", "PUBLISH", "INFO", "REFER",  "MESSAGE", "UPDATE",   "other"};

static int method_index(const char *p, size_t n)
{
    for (int i = 0; i < PD_NMETHODS - 1; i++)
        if (strlen(pd_method_names[i]) == n && memcmp(pd_method_names[i], p, n) == 0)
            return i;
    return PD_NMETHODS - 1;
}

/* A response's CSeq method, by a scan of its header lines (the parse comes later). */
static int cseq_method(const char *buf, size_t len)
{
    const char *end = buf + len, *p = buf;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        p = nl + 1;
        if (p < end && (*p == '\r' || *p == '\n'))
            break; /* the end of the headers */
        if (end - p > 5 && strncasecmp(p, "cseq", 4) == 0) {
            const char *q = p + 4;
            while (q < end && (*q == ' ' || *q == '\t'))
                q++;
            if (q >= end || *q != ':')
                continue;
            q++;
            while (q < end && (*q == ' ' || *q == '\t' || (*q >= '0' && *q <= '9')))
                q++;
            const char *m = q;
            while (q<end && * q> ' ')
                q++;
            return method_index(m, (size_t)(q - m));
        }
    }
    return PD_NMETHODS - 1;
}

/* Count one message: a request by its method, a response by its CSeq's method and its class. */
static void count(uint64_t (*c)[7], const char *buf, size_t len)
{
    while (len >= 2 && buf[0] == '\r' && buf[1] == '\n') {
        buf += 2;
        len -= 2;
    }
    if (len >= 12 && memcmp(buf, "SIP/2.0 ", 8) == 0) {
        char k = buf[8];
        if (k >= '1' && k <= '6')
            c[cseq_method(buf, len)][k - '0']++;
        return;
    }
    size_t n = 0;
    while (n < len && n < 16 && buf[n] != ' ')
        n++;
    c[method_index(buf, n)][0]++;
}

/* ---- hand-overs */

/* Copy a message or a send into an item on worker index's queue and wake
 * it. Once the workers are stopping nothing is handed over: a worker
 * being freed may still send, and its peers may be gone already. */
static int hand_over(pd_shared *sh, unsigned index, item_kind kind, const pl_target *peer,
                     pl_framing framing, const char *buf, size_t len)
{
    if (atomic_load_explicit(&sh->stopping, memory_order_acquire))
        return PL_ESTATE;
    pd_worker *to = sh->workers[index];
    item *it = malloc(sizeof(*it) + len);
    if (!it)
        return PL_ENOMEM;
    it->kind = kind;
    it->framing = framing;
    it->fn = NULL;
    it->arg = NULL;
    it->peer = *peer;
    it->len = len;
    if (len)
        memcpy(it->data, buf, len);
    pl_mpsc_push(&to->queue, &it->node);
    uv_async_send(&to->wake);
    return PL_OK;
}

static void run_item(pd_worker *w, item *it)
{
    switch (it->kind) {
    case ITEM_RECEIVED:
        w->stats.handed_in++;
        pl_proxy_receive(w->proxy, it->data, it->len, &it->peer, it->framing);
        break;
    case ITEM_SEND: {
        w->stats.sends_in++;
        pl_sender *own = pl_net_sender(w->net);
        if (own->send(own, &it->peer, it->data, it->len) != PL_OK)
            pd_log(PL_PROXY_LOG_DEBUG, (int)w->index, (pl_str){NULL, 0},
                   "a send handed over by another worker failed");
        break;
    }
    case ITEM_UNREACH:
        pl_proxy_transport_error(w->proxy, &it->peer);
        break;
    case ITEM_JOB:
        it->fn(it->arg);
        break;
    }
}

/* A job on worker index; drop(arg) instead of fn(arg) when it cannot run. */
static void post_job(pd_shared *sh, unsigned index, void (*fn)(void *), void (*drop)(void *),
                     void *arg)
{
    if (atomic_load_explicit(&sh->stopping, memory_order_acquire) || index >= sh->n) {
        drop(arg);
        return;
    }
    pd_worker *to = sh->workers[index];
    item *it = malloc(sizeof(*it));
    if (!it) {
        drop(arg);
        return;
    }
    memset(it, 0, sizeof(*it));
    it->kind = ITEM_JOB;
    it->fn = fn;
    it->drop = drop;
    it->arg = arg;
    pl_mpsc_push(&to->queue, &it->node);
    uv_async_send(&to->wake);
}

void pd_worker_post(unsigned index, void (*fn)(void *arg), void *arg, void *user)
{
    post_job(user, index, fn, free, arg);
}

/* ---- calls from other threads that wait for the answer */

typedef enum call_state { CALL_QUEUED, CALL_RUNNING, CALL_DONE, CALL_ABANDONED } call_state;

typedef struct call {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int refs;
    call_state state;
    pd_shared *sh;
    unsigned index;
    void (*fn)(pd_worker *w, void *arg);
    void *arg;
} call;

static void call_unref(call *c)
{
    pthread_mutex_lock(&c->lock);
    int left = --c->refs;
    pthread_mutex_unlock(&c->lock);
    if (left == 0) {
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->cond);
        free(c);
    }
}

static void call_run(void *arg)
{
    call *c = arg;
    pthread_mutex_lock(&c->lock);
    bool go = c->state == CALL_QUEUED;
    if (go)
        c->state = CALL_RUNNING;
    pthread_mutex_unlock(&c->lock);
    if (go)
        c->fn(c->sh->workers[c->index], c->arg);
    pthread_mutex_lock(&c->lock);
    if (go)
        c->state = CALL_DONE;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    call_unref(c);
}

static void call_drop(void *arg)
{
    call *c = arg;
    pthread_mutex_lock(&c->lock);
    if (c->state == CALL_QUEUED)
        c->state = CALL_ABANDONED;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    call_unref(c);
}

int pd_worker_call(pd_shared *sh, unsigned index, void (*fn)(pd_worker *w, void *arg), void *arg,
                   uint32_t timeout_ms)
{
    if (index >= sh->n)
        return PL_EINVAL;
    call *c = calloc(1, sizeof(*c));
    if (!c)
        return PL_ENOMEM;
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    c->refs = 2;
    c->state = CALL_QUEUED;
    c->sh = sh;
    c->index = index;
    c->fn = fn;
    c->arg = arg;
    post_job(sh, index, call_run, call_drop, c);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->lock);
    /* Once running, fn gets to finish: arg may live on the caller's stack. */
    while (c->state == CALL_QUEUED || c->state == CALL_RUNNING) {
        if (c->state == CALL_RUNNING) {
            pthread_cond_wait(&c->cond, &c->lock);
        } else if (pthread_cond_timedwait(&c->cond, &c->lock, &until) != 0 &&
                   c->state == CALL_QUEUED) {
            c->state = CALL_ABANDONED; /* timed out before it started: it never will */
        }
    }
    call_state st = c->state;
    pthread_mutex_unlock(&c->lock);
    call_unref(c);
    return st == CALL_DONE ? PL_OK : PL_ELIMIT;
}

pl_proxy *pd_worker_proxy(const pd_worker *w)
{
    return w->proxy;
}

/* The script's configuration: the worker's dialog table and config.* variables. */
static pl_script *load_script(pd_worker *w, pl_error *perr)
{
    const pd_config *c = w->sh->cfg;
    char limit[32];
    snprintf(limit, sizeof(limit), "caller_limit=%u", (unsigned)c->caller_limit);
    const char *const vars[] = {limit, NULL};
    pl_script_config scfg = {.dialogs = w->dlg, .vars = vars};
    return pl_script_new_config(w->proxy, c->script, &scfg, perr);
}

int pd_worker_reload_script(pd_worker *w, char *err, size_t cap)
{
    pl_error perr = {0, 0, NULL};
    pl_script *s = load_script(w, &perr);
    if (!s) {
        snprintf(err, cap, "%s: %s", w->sh->cfg->script,
                 perr.reason ? perr.reason : "cannot load the script");
        return -1;
    }
    pl_script_attach(s); /* requests in progress go on with the new router */
    pl_script_free(w->script);
    w->script = s;
    return 0;
}

pl_dlg_table *pd_worker_dialogs(const pd_worker *w)
{
    return w->dlg;
}

static void on_wake(uv_async_t *a)
{
    pd_worker *w = a->data;
    /* The proxy's timers run on the wheel: bring it to now first, as
     * pl_net does before each of its own callbacks. */
    uv_update_time(&w->loop);
    pl_wheel_advance(pl_net_wheel(w->net), uv_now(&w->loop));
    pl_mpsc_node *n;
    while ((n = pl_mpsc_pop(&w->queue))) {
        item *it = (item *)n;
        run_item(w, it);
        free(it);
    }
    if (atomic_load(&w->stop))
        pl_net_stop(w->net);
}

/* ---- transport callbacks */

/* At debug level: one line per message received, with its Call-ID. */
static void log_received(const pd_worker *w, const char *buf, size_t len, const pl_target *src,
                         int owner)
{
    pl_str id = {NULL, 0};
    pd_call_id(buf, len, &id);
    size_t n = 0;
    while (n < len && n < 120 && buf[n] != '\r' && buf[n] != '\n')
        n++;
    char from[96] = "?", to[32] = "";
    pl_target_print(src, from, sizeof(from));
    if (owner >= 0 && (unsigned)owner != w->index)
        snprintf(to, sizeof(to), ", to worker %d", owner);
    pd_log(PL_PROXY_LOG_DEBUG, (int)w->index, id, "%.*s from %s%s", (int)n, buf, from, to);
}

static void on_message(pl_net *net, const char *buf, size_t len, const pl_target *src,
                       pl_framing framing, void *user)
{
    pd_worker *w = user;
    (void)net;
    w->stats.received++;
    count(w->stats.in_msgs, buf, len);
    int owner = pd_owner(buf, len, w->sh->n);
    if (pd_log_enabled(PL_PROXY_LOG_DEBUG))
        log_received(w, buf, len, src, owner);
    if (owner >= 0 && (unsigned)owner != w->index) {
        w->stats.handed_out++;
        hand_over(w->sh, (unsigned)owner, ITEM_RECEIVED, src, framing, buf, len);
        return;
    }
    pl_proxy_receive(w->proxy, buf, len, src, framing);
}

static void on_unreachable(pl_net *net, const pl_target *dst, void *user)
{
    pd_worker *w = user;
    (void)net;
    pl_proxy_transport_error(w->proxy, dst);
    /* We may have been sending for another worker: tell them all. */
    for (unsigned i = 0; i < w->sh->n; i++)
        if (i != w->index)
            hand_over(w->sh, i, ITEM_UNREACH, dst, PL_FRAMING_STREAM, NULL, 0);
}

static void on_connection(pl_net *net, const pl_target *peer, bool open, void *user)
{
    pd_worker *w = user;
    (void)net;
    if (w->sh->n < 2)
        return;
    if (open)
        pd_connreg_add(w->sh->conns, peer, w->index);
    else
        pd_connreg_remove(w->sh->conns, peer, w->index);
}

static int worker_send(pl_sender *s, const pl_target *dst, const char *buf, size_t len)
{
    pd_worker *w = (pd_worker *)(void *)((char *)s - offsetof(pd_worker, sender));
    pl_sender *own = pl_net_sender(w->net);
    count(w->stats.out_msgs, buf, len);
    if (w->sh->n < 2 || dst->transport == PL_TP_UDP || pl_net_connected(w->net, dst))
        return own->send(own, dst, buf, len);
    int holder = pd_connreg_find(w->sh->conns, dst, w->index);
    if (holder < 0)
        return own->send(own, dst, buf, len); /* a new connection, ours */
    w->stats.sends_out++;
    return hand_over(w->sh, (unsigned)holder, ITEM_SEND, dst, PL_FRAMING_STREAM, buf, len);
}

static void proxy_log(pl_proxy_log_level level, pl_str call_id, const char *line, void *user)
{
    pd_worker *w = user;
    pd_log_line(level, (int)w->index, call_id, line);
}

static void on_sample(uv_timer_t *t)
{
    pd_worker *w = t->data;
    pd_shared *sh = w->sh;
    if (!sh->dialogs)
        return;
    pl_dlg_stats ds;
    pl_dlg_get_stats(sh->dialogs, &ds);
    unsigned pos = (atomic_load(&sh->rate_pos) + 1) % 11;
    atomic_store(&sh->rate_processed[pos], ds.processed);
    atomic_store(&sh->rate_ms[pos], uv_now(&w->loop));
    atomic_store(&sh->rate_pos, pos);
}

double pd_calls_per_second(pd_shared *sh)
{
    unsigned pos = atomic_load(&sh->rate_pos);
    unsigned old = (pos + 1) % 11; /* the oldest of the 11 samples: 10 s before */
    uint64_t t1 = atomic_load(&sh->rate_ms[pos]), t0 = atomic_load(&sh->rate_ms[old]);
    uint64_t p1 = atomic_load(&sh->rate_processed[pos]), p0 = atomic_load(&sh->rate_processed[old]);
    if (!t0 || t1 <= t0 || p1 < p0)
        return 0.0;
    return (double)(p1 - p0) * 1000.0 / (double)(t1 - t0);
}

static void on_expire(uv_timer_t *t)
{
    pd_worker *w = t->data;
    size_t n = pl_location_expire(w->sh->location, uv_now(&w->loop));
    if (n)
        pd_log(PL_PROXY_LOG_DEBUG, (int)w->index, (pl_str){NULL, 0},
               "%zu expired registration(s) removed", n);
}

/* ---- life cycle */

static int set_err(char *err, size_t cap, int *exit_code, int code, const char *what,
                   const char *why)
{
    snprintf(err, cap, "%s: %s", what, why);
    *exit_code = code;
    return -1;
}

static int make_net(pd_worker *w, const char (*addrs)[PD_ADDR_MAX], size_t n_addrs, char *err,
                    size_t errcap, int *exit_code)
{
    const pd_config *c = w->sh->cfg;
    pl_net_config nc;
    memset(&nc, 0, sizeof(nc));
    nc.loop = &w->loop;
    nc.on_message = on_message;
    nc.on_unreachable = on_unreachable;
    nc.on_connection = on_connection;
    nc.user = w;
    nc.max_msg_size = c->max_message_size;
    nc.udp_buffer = c->udp_buffer;
    nc.max_connections = c->max_connections;
    nc.max_connections_per_ip = c->max_connections_per_ip;
    nc.idle_ms = c->tcp_idle;
    nc.tls_cert = c->tls_cert[0] ? c->tls_cert : NULL;
    nc.tls_key = c->tls_key[0] ? c->tls_key : NULL;
    nc.tls_ca = c->tls_ca[0] ? c->tls_ca : NULL;
    /* Always: a second parleyd on the same address is found by main's probe. */
    nc.reuseport = true;
    w->net = pl_net_new(&nc);
    if (!w->net)
        return set_err(err, errcap, exit_code, 1, "worker", "cannot set up the transports");
    for (size_t i = 0; i < n_addrs; i++) {
        int rc = pl_net_listen(w->net, addrs[i]);
        if (rc != PL_OK) {
            char what[PD_ADDR_MAX + 32];
            snprintf(what, sizeof(what), "cannot listen on %s", addrs[i]);
            return set_err(err, errcap, exit_code, 1, what,
                           rc < -100 ? uv_strerror(rc)
                           : rc == PL_EINVAL && strncmp(addrs[i], "tls:", 4) == 0
                               ? "the TLS certificate or key could not be loaded"
                               : pl_err_str(rc));
        }
    }
    return 0;
}

static int make_proxy(pd_worker *w, char *err, size_t errcap, int *exit_code)
{
    const pd_config *c = w->sh->cfg;
    pl_proxy_config pc;
    memset(&pc, 0, sizeof(pc));
    w->sender.send = worker_send;
    pc.wheel = pl_net_wheel(w->net);
    pc.sender = &w->sender;
    pc.dns = w->dns;
    pc.location = w->sh->location;
    pc.timers.t1 = c->t1;
    pc.timers.t2 = c->t2;
    pc.timers.t4 = c->t4;
    pc.limits.max_msg_size = c->max_message_size;
    for (size_t i = 0; i < c->n_listen && i < PL_PROXY_MAX_LOCALS; i++) {
        pl_net_listen_target(w->net, i, &pc.locals[i].target);
        pc.n_locals++;
    }
    for (size_t i = 0; i < c->n_alias; i++)
        snprintf(pc.aliases[pc.n_aliases++], sizeof(pc.aliases[0]), "%s", c->alias[i]);
    pc.timer_c_ms = c->timer_c;
    pc.loop_detect = c->loop_detect;
    pc.server = c->server_header[0] ? c->server_header : NULL;
    pc.log = proxy_log;
    pc.log_level = c->log_level;
    pc.user = w;
    w->proxy = pl_proxy_new(&pc);
    if (!w->proxy)
        return set_err(err, errcap, exit_code, 1, "worker", "cannot make the proxy");
    if (w->sh->dialogs) {
        w->dlg = pl_dlg_table_new(w->sh->dialogs, w->index, w->proxy);
        if (!w->dlg)
            return set_err(err, errcap, exit_code, 1, "worker", "cannot make the dialog table");
    }
    pl_error perr = {0, 0, NULL};
    w->script = load_script(w, &perr);
    if (!w->script)
        return set_err(err, errcap, exit_code, 2, c->script,
                       perr.reason ? perr.reason : "cannot load the script");
    pl_script_attach(w->script);
    return 0;
}

pd_worker *pd_worker_new(pd_shared *sh, unsigned index, const char (*addrs)[PD_ADDR_MAX],
                         size_t n_addrs, char *err, size_t errcap, int *exit_code)
{
    pd_worker *w = calloc(1, sizeof(*w));
    if (!w) {
        set_err(err, errcap, exit_code, 1, "worker", "out of memory");
        return NULL;
    }
    w->sh = sh;
    w->index = index;
    pl_mpsc_init(&w->queue);
    if (uv_loop_init(&w->loop) != 0) {
        set_err(err, errcap, exit_code, 1, "worker", "cannot make an event loop");
        free(w);
        return NULL;
    }
    w->loop_ready = true;
    uv_async_init(&w->loop, &w->wake, on_wake);
    w->wake.data = w;
    w->wake_ready = true;
    if (make_net(w, addrs, n_addrs, err, errcap, exit_code) != 0)
        goto fail;
    w->dns = pl_dns_new(&w->loop);
    if (!w->dns) {
        set_err(err, errcap, exit_code, 1, "worker", "cannot set up DNS");
        goto fail;
    }
    if (make_proxy(w, err, errcap, exit_code) != 0)
        goto fail;
    if (index == 0) {
        uv_timer_init(&w->loop, &w->expire);
        w->expire.data = w;
        uv_timer_start(&w->expire, on_expire, EXPIRE_EVERY_MS, EXPIRE_EVERY_MS);
        w->expire_ready = true;
        uv_timer_init(&w->loop, &w->sample);
        w->sample.data = w;
        uv_timer_start(&w->sample, on_sample, 1000, 1000);
        w->sample_ready = true;
    }
    return w;
fail:
    pd_worker_free(w);
    return NULL;
}

int pd_worker_listen_addr(const pd_worker *w, size_t i, char *out, size_t cap)
{
    pl_target t;
    int rc = pl_net_listen_target(w->net, i, &t);
    return rc == PL_OK ? pl_target_print(&t, out, cap) : rc;
}

static void *worker_main(void *arg)
{
    pd_worker *w = arg;
    pd_log(PL_PROXY_LOG_DEBUG, (int)w->index, (pl_str){NULL, 0}, "running");
    pl_net_run(w->net);
    return NULL;
}

int pd_worker_start(pd_worker *w)
{
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return PL_ENOMEM;
    w->started = true;
    return PL_OK;
}

void pd_worker_stop(pd_worker *w)
{
    atomic_store(&w->stop, true);
    uv_async_send(&w->wake);
}

void pd_worker_join(pd_worker *w)
{
    if (w->started)
        pthread_join(w->thread, NULL);
    w->started = false;
}

void pd_worker_get_stats(const pd_worker *w, pd_worker_stats *out)
{
    *out = w->stats;
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

void pd_worker_free(pd_worker *w)
{
    if (!w)
        return;
    /* The dialog table before the proxy it watches; the proxy before the
     * script (the script keeps nothing of it once it is gone). */
    pl_dlg_table_free(w->dlg);
    pl_proxy_free(w->proxy);
    pl_script_free(w->script);
    pl_dns_free(w->dns);
    if (w->expire_ready)
        uv_close((uv_handle_t *)&w->expire, on_closed);
    if (w->sample_ready)
        uv_close((uv_handle_t *)&w->sample, on_closed);
    if (w->wake_ready)
        uv_close((uv_handle_t *)&w->wake, on_closed);
    pl_net_free(w->net); /* runs the loop until every handle has closed */
    if (w->loop_ready) {
        while (uv_run(&w->loop, UV_RUN_NOWAIT))
            ;
        uv_loop_close(&w->loop);
    }
    pl_mpsc_node *n;
    while ((n = pl_mpsc_pop(&w->queue))) {
        item *it = (item *)n;
        if (it->kind == ITEM_JOB)
            it->drop(it->arg); /* a job never run */
        free(it);
    }
    free(w);
}
