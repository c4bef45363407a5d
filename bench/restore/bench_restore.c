/*
 * bench-restore - how long parleyd takes to bring its dialogs back after a
 * restart: N confirmed dialogs are written into a store (as parleyd's
 * realtime mode leaves them), then parleyd is started on that store and
 * its own log line ("N dialog(s) restored from the store in T ms") is
 * read; the wall time from exec to "running" is measured too. Then
 * parleyd is stopped (SIGTERM) and its exit status checked.
 *
 *   bench-restore [--count N]... [--url URL] [--parleyd PATH] [--workers N]
 *
 * Defaults: --count 1000 --count 100000, a SQLite file in a temp folder,
 * build/bin/parleyd next to this program, 2 workers. A postgresql:// URL
 * measures PostgreSQL (the database must exist; its dialogs table is
 * emptied first). Prints one progress line per step and a table.
 * Exit status: 0 done, 1 a failure (parleyd did not restore them all),
 * 2 usage.
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <parley/dialog.h>
#include <parley/store.h>

extern char **environ;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void quiet(pl_proxy_log_level l, pl_str c, const char *line, void *u)
{
    (void)c;
    (void)u;
    if (l <= PL_PROXY_LOG_WARN)
        fprintf(stderr, "store: %s\n", line);
}

/* Write n confirmed dialogs into url (emptied first). */
static int fill(const char *url, long n)
{
    pl_error err = {0, 0, NULL};
    pl_store *s = pl_store_open(&(pl_store_config){.url = url, .log = quiet}, &err);
    if (!s) {
        fprintf(stderr, "bench-restore: %s: %s\n", url, err.reason ? err.reason : "cannot open");
        return -1;
    }
    pl_store_dialog_truncate(s);
    for (long i = 0; i < n; i++) {
        char cid[64], ftag[32], ttag[32], prof[64];
        int cl = snprintf(cid, sizeof(cid), "bench-restore-%ld@127.0.0.1", i);
        snprintf(ftag, sizeof(ftag), "f%ld", i);
        snprintf(ttag, sizeof(ttag), "t%ld", i);
        int pl = snprintf(prof, sizeof(prof), "caller#u%ld|", i % 500);
        pl_str call_id = {cid, (size_t)cl};
        pl_dlg_record r;
        memset(&r, 0, sizeof(r));
        r.id = (uint64_t)pl_dlg_hash(call_id) << 32 | (uint64_t)(i + 1);
        r.state = PL_DLG_CONFIRMED;
        r.flags = PL_DLG_F_BYE_ON_TIMEOUT;
        r.call_id = call_id;
        r.from_uri = PL_STR_LIT("sip:alice@127.0.0.1");
        r.to_uri = PL_STR_LIT("sip:bob@127.0.0.1");
        r.leg[0].tag = pl_str_c(ftag);
        r.leg[0].contact = PL_STR_LIT("sip:alice@127.0.0.1:9");
        r.leg[0].cseq_from = r.leg[0].inv_cseq = 1;
        r.leg[1].tag = pl_str_c(ttag);
        r.leg[1].contact = PL_STR_LIT("sip:bob@127.0.0.1:9");
        r.leg[1].cseq_to = 1;
        r.lifetime_left_ms = 3600000;
        r.ping_interval_s = 30;
        r.values = PL_STR_LIT("created_at#1#bench|");
        r.profiles = (pl_str){prof, (size_t)pl};
        if (pl_store_dialog_put(s, &r) != PL_OK) {
            pl_store_close(s, 1000);
            return -1;
        }
    }
    int rc = pl_store_drain(s, 600000);
    pl_store_close(s, 60000);
    return rc == PL_OK ? 0 : -1;
}

typedef struct result {
    long restored;
    long ms;
    double to_running;
    int exit_status;
} result;

/* Start parleyd on url, read its log until "running", stop it. */
static int run_parleyd(const char *parleyd, const char *url, const char *workers, const char *dir,
                       result *out)
{
    char conf[4096];
    snprintf(conf, sizeof(conf), "%s/parleyd.conf", dir);
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    fprintf(f,
            "listen = udp:127.0.0.1:0\nworkers = %s\nstate_dir = \"%s/state\"\n"
            "log_level = info\nstore = \"%s\"\nmgmt = \"off\"\ndialog_ping_interval = 1h\n",
            workers, dir, url);
    fclose(f);
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    posix_spawn_file_actions_addclose(&fa, pipefd[0]);
    char *argv[] = {(char *)parleyd, "-c", conf, NULL};
    /* The file says where the store is: no override from the environment. */
    unsetenv("PARLEYD_STORE");
    unsetenv("PARLEYD_MGMT");
    pid_t pid;
    double t0 = now_s();
    int rc = posix_spawn(&pid, parleyd, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (rc != 0) {
        fprintf(stderr, "bench-restore: %s: %s\n", parleyd, strerror(rc));
        close(pipefd[0]);
        return -1;
    }
    FILE *in = fdopen(pipefd[0], "r");
    char line[2048];
    out->restored = -1;
    out->ms = -1;
    bool running = false;
    while (!running && in && fgets(line, sizeof(line), in)) {
        const char *p = strstr(line, " dialog(s) restored from the store in ");
        if (p) {
            const char *q = p;
            while (q > line && q[-1] >= '0' && q[-1] <= '9')
                q--;
            out->restored = strtol(q, NULL, 10);
            out->ms = strtol(p + strlen(" dialog(s) restored from the store in "), NULL, 10);
        }
        if (strstr(line, " running, ")) {
            running = true;
            out->to_running = now_s() - t0;
        }
        if (strstr(line, " error "))
            fputs(line, stderr);
    }
    kill(pid, SIGTERM);
    while (in && fgets(line, sizeof(line), in))
        ;
    if (in)
        fclose(in);
    int st = 0;
    waitpid(pid, &st, 0);
    out->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return running ? 0 : -1;
}

int main(int argc, char **argv)
{
    long counts[8];
    int nc = 0;
    const char *url = NULL, *parleyd = NULL, *workers = "2";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--count") && i + 1 < argc && nc < 8)
            counts[nc++] = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--url") && i + 1 < argc)
            url = argv[++i];
        else if (!strcmp(argv[i], "--parleyd") && i + 1 < argc)
            parleyd = argv[++i];
        else if (!strcmp(argv[i], "--workers") && i + 1 < argc)
            workers = argv[++i];
        else {
            fprintf(stderr, "usage: bench-restore [--count N]... [--url URL] [--parleyd PATH] "
                            "[--workers N]\n"
                            "  how long parleyd takes to restore N stored dialogs at start\n"
                            "  (defaults: --count 1000 --count 100000, SQLite in a temp folder,\n"
                            "  the parleyd next to this program, 2 workers)\n");
            return !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") ? 0 : 2;
        }
    }
    if (!nc) {
        counts[nc++] = 1000;
        counts[nc++] = 100000;
    }
    char self[4096], pbuf[4200];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (!parleyd && sl > 0) {
        self[sl] = '\0';
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = '\0';
        snprintf(pbuf, sizeof(pbuf), "%s/parleyd", self);
        parleyd = pbuf;
    }
    char dir[] = "/tmp/bench-restore.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char dflt[256];
    snprintf(dflt, sizeof(dflt), "sqlite:%s/parley.db", dir);
    if (!url)
        url = dflt;
    printf("bench-restore: %s, parleyd %s, %s worker(s)\n", url, parleyd, workers);
    result res[8];
    int status = 0;
    for (int i = 0; i < nc; i++) {
        printf("  writing %ld dialogs into the store...\n", counts[i]);
        fflush(stdout);
        double t = now_s();
        if (fill(url, counts[i]) != 0) {
            status = 1;
            break;
        }
        printf("  written in %.2f s; starting parleyd on it...\n", now_s() - t);
        fflush(stdout);
        if (run_parleyd(parleyd, url, workers, dir, &res[i]) != 0 || res[i].restored != counts[i] ||
            res[i].exit_status != 0) {
            fprintf(stderr, "bench-restore: parleyd restored %ld of %ld (exit %d)\n",
                    res[i].restored, counts[i], res[i].exit_status);
            status = 1;
            break;
        }
    }
    if (!status) {
        printf("\n| dialogs stored | restored | parleyd's restore (ms) | start to running (s) |\n");
        printf("|---:|---:|---:|---:|\n");
        for (int i = 0; i < nc; i++)
            printf("| %ld | %ld | %ld | %.2f |\n", counts[i], res[i].restored, res[i].ms,
                   res[i].to_running);
    }
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        status = status ? status : 1;
    return status;
}
