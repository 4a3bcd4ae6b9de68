/*
 * main.c: weft-cc's takeover of an unmodified program's main.
 *
 * The program is linked with -Wl,--wrap=main, so the C runtime calls
 * __wrap_main, which explores a body that calls the program's own main
 * (__real_main) once per execution, and exits 0 (no finding), 1 (a
 * finding) or 2 (bad settings, or an exploration that could not run). A
 * program that never creates a thread has nothing to explore: it runs
 * once, and weft-cc answers with its output and status alone (configure
 * probes, --help).
 *
 * WEFT_ISOLATE picks how executions are kept apart:
 *   snapshot (default) every execution in this process, from a snapshot
 *            taken at main's entry and put back before each one
 *            (snapshot.c), by the same explorer as a weft.h test: every
 *            strategy, shrinking, jobs, shards, JSON. A failure is
 *            confirmed by replaying its schedule in a fresh process before
 *            it is reported; an execution that does what the snapshot
 *            cannot undo makes the rest of the exploration go on in
 *            forked processes.
 *   fork     one forked child per execution (a fork server): globals start
 *            fresh and a crash or a hang ends one execution; no shrinking,
 *            and no dfs (one path per process).
 *   none     every execution in this process, nothing put back: for
 *            programs without global state.
 * (1 and 0 are the old names of fork and none.)
 *
 * Returning from main ends the process, its other threads with it: a
 * visible operation, so they may run before it, or never. exit() from any
 * thread does the same. A status other than 0 is a finding (kind exit).
 */
#include "weftcc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

int __real_main(int argc, char **argv);
int __wrap_main(int argc, char **argv);

struct weftcc_shared *weftcc_sh;
struct weftcc_result *weftcc_child;

enum { ISOLATE_SNAPSHOT, ISOLATE_FORK, ISOLATE_NONE };
static const char *const isolate_names[] = { "snapshot", "fork", "none" };
static int isolate = ISOLATE_SNAPSHOT;
static unsigned hang_timeout = 10;
static int prog_argc;
static char **prog_argv;
static char cmd[4096];      /* the command, shell-quoted */
static char settings[1200]; /* weft-cc's settings for a replay line */
static char hint[10000];    /* the replay line's tail: mode, settings, cmd */
static bool rerunning;      /* a report's shrinking and replay under way */

/* ---------------------------------------------------------- the program */

static void make_hint(void);
static bool points_jobs; /* race points learnt by WEFT_JOBS workers */

/* The race points each failure the search keeps ran with (its report
 * re-runs it at the end of the search, when more may have been learnt). */
#define FOUND_MAX 16
static struct {
    uint64_t seed;
    char points[WEFTCC_POINTS_TEXT];
} found_points[FOUND_MAX];
static unsigned nfound_points;

static void found_hook(uint64_t seed)
{
    if (nfound_points == FOUND_MAX)
        return;
    found_points[nfound_points].seed = seed;
    weftcc_points_text(found_points[nfound_points].points,
                       sizeof found_points[nfound_points].points);
    nfound_points++;
}

/* At an execution's start: the race points it schedules by. What the
 * executions before learnt, except while a report re-runs a failing
 * execution (it replays with what that one knew). With workers, each
 * learns on its own and records its execution's seed and points in the
 * shared page; the parent's re-run of a worker's failure (by its seed)
 * takes that worker's points. */
static void points_sync(void)
{
    struct weft__run *r = weft__current;
    if (rerunning) {
        char err[8];
        for (unsigned k = 0; k < nfound_points; k++)
            if (found_points[k].seed == r->seed) {
                (void)weftcc_points_set(found_points[k].points, err,
                                        sizeof err); /* weft's own text */
                make_hint();
                return;
            }
        for (unsigned k = 0;
             points_jobs && k < weftcc_sh->nrec && k < WEFTCC_MAX_JOBS; k++)
            if (weftcc_sh->rec[k].pid != 0 &&
                weftcc_sh->rec[k].seed == r->seed) {
                (void)weftcc_points_set(weftcc_sh->rec[k].points, err,
                                        sizeof err); /* weft's own text */
                make_hint();
                break;
            }
        return;
    }
    bool changed = weftcc_points_promote();
    if (changed)
        make_hint();
    if (!points_jobs)
        return;
    static int pid;
    static struct weftcc_points_rec *me;
    if (pid != getpid()) { /* this worker's first execution */
        pid = getpid();
        unsigned k = __atomic_fetch_add(&weftcc_sh->nrec, 1, __ATOMIC_RELAXED);
        me = k < WEFTCC_MAX_JOBS ? &weftcc_sh->rec[k] : NULL;
        changed = true;
        if (me != NULL)
            me->pid = pid;
    }
    if (me == NULL)
        return;
    me->seed = r->seed;
    if (changed)
        weftcc_points_text(me->points, sizeof me->points);
}

static void body(void *arg)
{
    (void)arg;
    weftcc_execution_start();
    points_sync();
    if (isolate == ISOLATE_SNAPSHOT)
        weftcc_snapshot_restore();
    int rc = __real_main(prog_argc, prog_argv);
    weftcc_leave(rc, WEFTCC_MAIN_RETURNS, NULL);
}

void weftcc_leave(int status, int how, const void *ra)
{
    struct weft__run *r = weft__current;
    bool from_main = how == WEFTCC_MAIN_RETURNS;
    if (from_main) /* the process ends now, or after others ran a while */
        weft__visible(r, WEFT__OP_EXIT, NULL, "main returns", 0);
    if (how != WEFTCC__EXIT) /* _exit runs no handlers */
        weftcc_atexit_run(status);
    fflush(NULL);
    weftcc_sh->status = status;
    if (status != 0 && r->ntasks > 1) {
        if (from_main)
            weft__finding(r, WEFT_FINDING_EXIT, "main returns", 0,
                          "the program exited with status %d: main returned "
                          "it",
                          status);
        weft__finding(r, WEFT_FINDING_EXIT, weft__pc_site, weftcc_pc_line(ra),
                      "the program exited with status %d: %s called %s", status,
                      weft__task_name(r->cur),
                      how == WEFTCC__EXIT ? "_exit" : "exit");
    }
    weft__end(r);
}

/* ------------------------------------------------------------- settings */

/* The index in names[3] of the variable's value, dflt if it is unset or
 * empty (as the library treats an empty value); a message and exit 2 for
 * anything else. */
static int one_of(const char *var, const char *const names[3], const char *say,
                  int dflt)
{
    const char *s = getenv(var);
    if (s == NULL || s[0] == '\0')
        return dflt;
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    fprintf(stderr, "weft: %s must be %s, not '%s'\n", var, say, s);
    exit(2);
}

/* Take weft-cc's own options out of argv (weft_args rejects names it does
 * not know), then read weft-cc's variables. */
static void own_options(int *argc, char **argv)
{
    static const struct {
        const char *opt, *var;
    } opts[] = { { "--weft-isolate=", "WEFT_ISOLATE" },
                 { "--weft-hang-timeout=", "WEFT_HANG_TIMEOUT" },
                 { "--weft-granularity=", "WEFT_GRANULARITY" },
                 { "--weft-race=", "WEFT_RACE" },
                 { "--weft-tls=", "WEFT_TLS" } };
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            for (; i < *argc; i++)
                argv[out++] = argv[i];
            break;
        }
        bool mine = false;
        for (size_t k = 0; k < sizeof opts / sizeof opts[0] && !mine; k++)
            if (strncmp(a, opts[k].opt, strlen(opts[k].opt)) == 0) {
                setenv(opts[k].var, a + strlen(opts[k].opt), 1);
                mine = true;
            }
        if (!mine)
            argv[out++] = argv[i];
    }
    argv[out] = NULL;
    *argc = out;

    const char *s = getenv("WEFT_ISOLATE");
    if (s != NULL && s[0] != '\0') {
        if (strcmp(s, "1") == 0)
            isolate = ISOLATE_FORK;
        else if (strcmp(s, "0") == 0)
            isolate = ISOLATE_NONE;
        else
            isolate = one_of("WEFT_ISOLATE", isolate_names,
                             "snapshot, fork or none (or 1 for fork, 0 for "
                             "none)",
                             ISOLATE_SNAPSHOT);
    }
    s = getenv("WEFT_HANG_TIMEOUT");
    if (s != NULL && s[0] != '\0') {
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (*s < '0' || *s > '9' || *end != '\0' || v > 86400) {
            fprintf(stderr,
                    "weft: WEFT_HANG_TIMEOUT must be seconds (0 for none, "
                    "up to 86400), not '%s'\n",
                    s);
            exit(2);
        }
        hang_timeout = (unsigned)v;
    }
    static const char *const grans[] = { "sync", "atomics", "memory" };
    static const char *const races[] = { "off", "report", "fail" };
    weftcc_granularity = one_of("WEFT_GRANULARITY", grans,
                                "sync, atomics or memory", weftcc_granularity);
    weftcc_race_mode =
        one_of("WEFT_RACE", races, "fail, report or off", weftcc_race_mode);
    char err[600];
    if (weftcc_points_parse(getenv("WEFT_RACE_POINTS"), err, sizeof err) != 0) {
        fprintf(stderr, "weft: %s\n", err);
        exit(2);
    }
}

/* Append a to out (at *n of len), shell-quoted where needed. */
static void quote(char *out, size_t len, size_t *n, const char *a)
{
    bool plain = *a != '\0' && strspn(a, "abcdefghijklmnopqrstuvwxyz"
                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789-_./=:,+@%") == strlen(a);
    if (plain) {
        *n += (size_t)snprintf(out + *n, len - *n, "%s", a);
    } else {
        *n += (size_t)snprintf(out + *n, len - *n, "'");
        for (; *a && *n + 5 < len; a++)
            *n += (size_t)(*a == '\'' ? snprintf(out + *n, len - *n, "'\\''")
                                      : snprintf(out + *n, len - *n, "%c", *a));
        *n += (size_t)snprintf(out + *n, len - *n, "'");
    }
    if (*n >= len)
        *n = len - 1;
}

/* The command line, shell-quoted, for the replay line. */
static void command_line(char *out, size_t len, int argc, char **argv)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < argc && n + 4 < len; i++) {
        if (i > 0)
            n += (size_t)snprintf(out + n, len - n, " ");
        quote(out, len, &n, argv[i]);
    }
}

/* The WEFT_* settings in force that the explorer's replay line does not
 * carry itself (it gives the seed, the strategy and its parameters, the
 * step bound): weft-cc's own, and the checks'. Each VAR=value quoted. */
static void settings_line(char *out, size_t len)
{
    extern char **environ;
    static const char *const skip[] = {
        "WEFT_SEED=",         "WEFT_ITERATIONS=",   "WEFT_TIME_BUDGET=",
        "WEFT_JOBS=",         "WEFT_SHARD=",        "WEFT_PROGRESS=",
        "WEFT_KEEP_GOING=",   "WEFT_QUIET=",        "WEFT_CC=",
        "WEFT_CC_LIBDIR=",    "WEFT_HANG_TIMEOUT=", "WEFT_CC_INSTRUMENT=",
        "WEFT_BENCH_DIR=",    "WEFT_JSON=",         "WEFT_PERFETTO=",
        "WEFT_SCHEDULE_OUT=", "WEFT_FAILURE_DIR=",  "WEFT_REPLAY=",
        "WEFT_STRATEGY=",     "WEFT_PCT_DEPTH=",    "WEFT_PCT_STEPS=",
        "WEFT_MAX_STEPS=",    "WEFT_SHRINK=",       "WEFT_SPURIOUS=",
        "WEFT_STACK_SIZE=",   "WEFT_PREEMPTIONS=",  "WEFT_SYNC_COVERAGE=",
        "WEFT_SYNC_MEASURE=", "WEFT_TRACE=",        "WEFT__SKIP=",
        "WEFT_ISOLATE=",      "WEFT_RACE_POINTS="
    };
    size_t n = 0;
    out[0] = '\0';
    for (char **e = environ; *e != NULL; e++) {
        if (strncmp(*e, "WEFT_", 5) != 0)
            continue;
        bool skipped = false;
        for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
            skipped = skipped || strncmp(*e, skip[i], strlen(skip[i])) == 0;
        const char *eq = strchr(*e, '=');
        /* a name of other characters is no setting of ours (and would
         * run in a shell: env 'WEFT_$(cmd)=1') */
        if (skipped || eq == NULL || eq[1] == '\0' ||
            strspn(*e, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
                (size_t)(eq - *e))
            continue;
        char var[64];
        snprintf(var, sizeof var, "%.*s", (int)(eq - *e), *e);
        if (n + 80 >= len)
            break;
        n += (size_t)snprintf(out + n, len - n, "%s%s=", n ? " " : "", var);
        quote(out, len, &n, eq + 1);
    }
}

static double wall(void)
{
    struct timespec ts;
    weftcc_real_clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* "1 execution", "12 executions". */
static const char *plural(uint64_t n)
{
    return n == 1 ? "" : "s";
}

/* Executions per second as a person reads it: 3 digits, never "0". */
static void rate(char *out, size_t len, uint64_t n, double dt)
{
    double r = dt > 0 ? (double)n / dt : 0;
    if (dt <= 0)
        snprintf(out, len, "-");
    else if (r >= 100)
        snprintf(out, len, "%.0f", r);
    else if (r >= 1)
        snprintf(out, len, "%.1f", r);
    else
        snprintf(out, len, "%.3f", r);
}

/* -------------------------------------------------- a fresh process */

/* Run the program again, fresh, with these VAR=value settings added,
 * its output thrown away; its status (or -1 and why). */
static int fresh_process(const char *const env[], char *why, size_t len)
{
    const char *exe = weftcc_exe_path();
    if (exe == NULL || exe[0] == '\0') {
        snprintf(why, len, "the program's file is unknown");
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, len, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        for (int i = 0; env[i] != NULL; i++)
            putenv((char *)(uintptr_t)env[i]);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execv(exe, prog_argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            snprintf(why, len, "waitpid: %s", strerror(errno));
            return -1;
        }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
        snprintf(why, len, "cannot execute %s", exe);
        return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* weft__confirm: replay the schedule in a fresh process (no snapshot to
 * trust there: globals, heap and everything else as the program starts)
 * and read its JSON result. */
static bool confirm_fresh(const char *schedule, weft_finding_t kind,
                          uint64_t hash, char *note, size_t len)
{
    char json[256], why[300];
    const char *tmp = getenv("TMPDIR");
    snprintf(json, sizeof json, "%s/weft-confirm-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(json);
    if (fd < 0) {
        snprintf(note, len, "not checked (%s: %s)", json, strerror(errno));
        return true;
    }
    close(fd);
    char e1[1100], e2[300];
    static char e3[WEFTCC_POINTS_TEXT + 20];
    snprintf(e1, sizeof e1, "WEFT_REPLAY=%s", schedule);
    snprintf(e2, sizeof e2, "WEFT_JSON=%s", json);
    /* the race points the failing execution scheduled by */
    size_t n0 = (size_t)snprintf(e3, sizeof e3, "WEFT_RACE_POINTS=");
    weftcc_points_text(e3 + n0, sizeof e3 - n0);
    const char *env[] = { e1,
                          e2,
                          e3,
                          "WEFT_ISOLATE=none",
                          "WEFT_QUIET=1",
                          "WEFT_PROGRESS=0",
                          "WEFT_FAILURE_DIR=",
                          "WEFT_JOBS=1",
                          "WEFT_SHARD=1/1",
                          NULL };
    int st = fresh_process(env, why, sizeof why);
    FILE *f = fopen(json, "r");
    char buf[1 << 14];
    size_t n = f != NULL ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f != NULL)
        fclose(f);
    unlink(json);
    buf[n] = '\0';
    if (st < 0) {
        snprintf(note, len, "not checked (%s)", why);
        return true;
    }
    char want_kind[80], want_hash[40];
    snprintf(want_kind, sizeof want_kind, "\"kind\": \"%s\"",
             weft_finding_name(kind));
    snprintf(want_hash, sizeof want_hash, "\"trace_hash\": \"%016llx\"",
             (unsigned long long)hash);
    if (strstr(buf, want_kind) != NULL) {
        snprintf(note, len, "replayed in a fresh process: the same finding%s",
                 strstr(buf, want_hash) != NULL
                     ? ", by the same trace"
                     : " (by another trace: the program is not quite "
                       "deterministic, or an earlier execution left "
                       "something behind)");
        return true;
    }
    const char *k = strstr(buf, "\"kind\": \"");
    if (k != NULL && strncmp(k + 9, "nondeterminism", 14) == 0) {
        const char *m = strstr(k, "\"message\": \"");
        m = m != NULL ? m + 12 : "";
        snprintf(note, len, "it did not fail there (%.*s)",
                 (int)strcspn(m, "\""), m);
    } else if (k != NULL) {
        k += 9;
        snprintf(note, len, "it replayed as a different finding there (%.*s)",
                 (int)strcspn(k, "\""), k);
    } else if (strstr(buf, "\"finding\": null") != NULL) {
        snprintf(note, len, "the replay in a fresh process passed");
    } else {
        snprintf(note, len,
                 "the replay in a fresh process ended with status "
                 "%d and no result",
                 st);
    }
    return false;
}

/* ---------------------------------------------------- fork mode */

/* One execution in a forked child, which never returns: its verdict in
 * its slot, its report on stderr unless quiet. */
static _Noreturn void child(const weft_config_t *base, uint64_t index,
                            bool quiet)
{
    weft_config_t cfg = *base;
    cfg.seed = weft__exec_seed(base->seed, index);
    cfg.iterations = 1;
    cfg.jobs = 1;
    cfg.shard_index = 1;
    cfg.shard_count = 1;
    cfg.shrink = false; /* shrinking re-runs in this process: globals dirty */
    cfg.time_budget = 0;
    cfg.progress = 0;
    cfg.keep_going = false;
    cfg.use_env = false;
    cfg.quiet = quiet;
    cfg.json_out = NULL;
    /* The parent's alarm is this child's hang timeout: no watchdog of the
     * library's beside it. And it dies with the parent, whatever kills
     * that (timeout's SIGTERM reaches the parent alone). */
    cfg.hang_timeout = 0;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (hang_timeout)
        alarm(hang_timeout);
    weft__exec_offset = index;
    weft_result_t res;
    int rc = weft_explore(&cfg, body, NULL, &res);
    struct weftcc_result *me = weftcc_child;
    if (rc >= 0) {
        me->steps = res.total_steps;
        me->hash = res.trace_hash;
    }
    if (rc == 1) {
        me->finding = (int)res.finding;
        snprintf(me->message, sizeof me->message, "%s", res.message);
        me->state = WEFTCC_FINDING;
    } else if (rc == 0) {
        me->state = WEFTCC_PASS;
    }
    if (rc >= 0)
        weft_result_destroy(&res);
    fflush(NULL);
    weftcc_real_exit(rc == 0 ? 0 : rc == 1 ? 1 : 2);
}

struct running {
    pid_t pid;
    uint64_t index;
};

/* What a child's end says, for the parent's line; NULL: it passed. */
static const char *verdict(int st, const struct weftcc_result *res, char *buf,
                           size_t len)
{
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && res->state != WEFTCC_FINDING)
        return NULL;
    if (WIFEXITED(st) && res->state == WEFTCC_FINDING) {
        const char *k = weft_finding_name((weft_finding_t)res->finding);
        /* messages often start with their kind already */
        if (strncmp(res->message, k, strlen(k)) == 0)
            snprintf(buf, len, "%s", res->message);
        else
            snprintf(buf, len, "%s: %s", k, res->message);
    } else if (WIFEXITED(st) && WEXITSTATUS(st) == 2 &&
               res->state == WEFTCC_NONE) {
        snprintf(buf, len, "error: the execution could not run");
    } else if (WIFEXITED(st)) {
        snprintf(buf, len,
                 "exit: the execution ended with status %d outside weft's "
                 "control (_exit?)",
                 WEXITSTATUS(st));
    } else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) {
        snprintf(buf, len,
                 "hang: the execution was still running after %u s of wall "
                 "time (a blocking call weft does not serve, or a loop with "
                 "no visible operation); killed",
                 hang_timeout);
    } else {
        snprintf(buf, len,
                 "crash: the execution's process died of signal %d (%s) "
                 "outside weft's handlers",
                 WIFSIGNALED(st) ? WTERMSIG(st) : 0,
                 WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "?");
    }
    return buf;
}

static pid_t spawn(const weft_config_t *cfg, uint64_t index, unsigned slot,
                   bool quiet)
{
    struct weftcc_result *res = &weftcc_sh->slot[slot];
    memset(res, 0, sizeof *res);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        weftcc_child = res;
        child(cfg, index, quiet);
    }
    return pid;
}

static int wait_child(pid_t pid, int *st)
{
    while (waitpid(pid, st, 0) < 0)
        if (errno != EINTR) {
            perror("weft: waitpid");
            return -1;
        }
    return 0;
}

/* The replay line's tail for this mode: WEFT_ISOLATE, settings, the race
 * points the executions from now on schedule by, command. */
static void make_hint(void)
{
    static char points[WEFTCC_POINTS_TEXT];
    weftcc_points_text(points, sizeof points);
    snprintf(hint, sizeof hint, "%s%s%s%s%s%s%s",
             isolate == ISOLATE_NONE   ? "WEFT_ISOLATE=none "
             : isolate == ISOLATE_FORK ? "WEFT_ISOLATE=fork "
                                       : "",
             settings, settings[0] ? " " : "",
             points[0] ? "WEFT_RACE_POINTS=" : "", points, points[0] ? " " : "",
             cmd);
}

/* ", 3 race points learnt" for the summary ("" if none). */
static const char *learnt_note(void)
{
    static char b[80];
    unsigned n = weftcc_points_learnt();
    bool most = false;
    /* workers: the most one learnt (a worker's set includes the points
     * WEFT_RACE_POINTS gave) */
    for (unsigned k = 0;
         points_jobs && k < weftcc_sh->nrec && k < WEFTCC_MAX_JOBS; k++) {
        const char *t = weftcc_sh->rec[k].points;
        unsigned c = t[0] != '\0';
        for (; *t != '\0'; t++)
            c += *t == ',';
        unsigned given = weftcc_points_given();
        if (c > given && c - given > n) {
            n = c - given;
            most = true;
        }
    }
    b[0] = '\0';
    if (n > 0)
        snprintf(b, sizeof b, ", %u race point%s learnt%s", n,
                 n == 1 ? "" : "s", most ? " (the most by one worker)" : "");
    return b;
}

/* The exploration in forked children: executions [skip, ...) of this
 * shard, up to WEFT_JOBS at a time (the first `skip` ran in snapshot mode
 * before, and passed). Children are quiet; the failures to report are run
 * once more, in index order, to print their reports. */
static int run_forked(weft_config_t *cfg, uint64_t skip)
{
    isolate = ISOLATE_FORK;
    make_hint();
    cfg->replay_hint = hint;
    const char *strategy = cfg->strategy ? cfg->strategy : "random";
    if ((strcmp(strategy, "dfs") == 0 || strcmp(strategy, "dpor") == 0) &&
        cfg->replay_file == NULL) {
        fprintf(stderr,
                "weft: WEFT_STRATEGY=%s searches across executions: "
                "it needs WEFT_ISOLATE=snapshot (the default) or "
                "none, not fork\n",
                strategy);
        return 2;
    }
    /* Shrinking re-runs a failure many times in one process: a forked
     * child has no clean globals to do it on. Asked for, it is refused
     * aloud, never ignored. */
    const char *shrink = getenv("WEFT_SHRINK");
    if (shrink != NULL && shrink[0] != '\0' && strcmp(shrink, "0") != 0)
        fprintf(stderr, "weft: note: WEFT_SHRINK is not done in fork mode "
                        "(each execution is a process of its own): "
                        "failures are reported as found; snapshot mode "
                        "(the default) shrinks them\n");
    uint64_t first = cfg->shard_index - 1, stride = cfg->shard_count;
    uint64_t n = cfg->iterations;
    if (cfg->replay_file != NULL)
        first = 0, stride = 1, n = 1;
    unsigned jobs = cfg->jobs == 0 ? 1 : cfg->jobs;
    if (jobs > WEFTCC_MAX_JOBS)
        jobs = WEFTCC_MAX_JOBS;
    weft_config_t ccfg = *cfg;
    double t0 = wall();
    char buf[900];
    /* pct spreads its change points over the length of an execution,
     * learnt from execution 0 as the explorer does (whatever the shard
     * or the jobs): run it first, quietly. */
    if (strcmp(strategy, "pct") == 0 && cfg->pct_steps == 0 &&
        cfg->replay_file == NULL) {
        int st;
        pid_t pid = spawn(cfg, 0, 0, true);
        if (pid < 0 || wait_child(pid, &st) != 0)
            return 2;
        ccfg.pct_steps =
            weftcc_sh->slot[0].steps > 0 ? weftcc_sh->slot[0].steps : 1;
    }
    struct running run[WEFTCC_MAX_JOBS] = { { 0, 0 } };
    uint64_t fails[16], done = 0, m = skip, lowest = UINT64_MAX;
    unsigned nfails = 0, busy = 0;
    bool stop = false, out_of_time = false, exhausted = false;
    for (;;) {
        while (!stop && busy < jobs) {
            uint64_t i = first + m * stride;
            if (i >= n)
                break;
            if (cfg->time_budget > 0 && wall() - t0 >= cfg->time_budget) {
                out_of_time = stop = true;
                break;
            }
            unsigned k = 0;
            while (run[k].pid != 0)
                k++;
            run[k].pid = spawn(&ccfg, i, k, true);
            run[k].index = i;
            if (run[k].pid < 0) {
                perror("weft: fork");
                return 2;
            }
            busy++;
            m++;
        }
        if (busy == 0)
            break;
        int st;
        pid_t pid = wait(&st);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            perror("weft: wait");
            return 2;
        }
        unsigned k = 0;
        while (k < jobs && run[k].pid != pid)
            k++;
        if (k == jobs)
            continue;
        run[k].pid = 0;
        busy--;
        done++;
        const struct weftcc_result *res = &weftcc_sh->slot[k];
        const char *what = verdict(st, res, buf, sizeof buf);
        if (what != NULL && strncmp(what, "error:", 6) == 0) {
            fprintf(stderr, "weft: the execution could not run (see "
                            "above)\n");
            return 2;
        }
        if (what != NULL && nfails < 16) {
            fails[nfails++] = run[k].index;
            if (run[k].index < lowest)
                lowest = run[k].index;
            if (!cfg->keep_going)
                stop = true;
        }
        /* nothing to explore: no thread, no choice; run once */
        if (done == 1 && what == NULL && weftcc_sh->threads == 0 &&
            m == skip + 1) {
            exhausted = stop = true;
        }
    }
    double dt = wall() - t0;
    if (exhausted && nfails == 0 && weftcc_sh->threads == 0)
        return weftcc_sh->status; /* a program with no thread: itself */
    /* Reports, in index order (the lowest first without keep-going). */
    for (unsigned a = 0; a < nfails; a++)
        for (unsigned b = a + 1; b < nfails; b++)
            if (fails[b] < fails[a]) {
                uint64_t t = fails[a];
                fails[a] = fails[b];
                fails[b] = t;
            }
    unsigned shown = cfg->keep_going ? nfails : (nfails > 0 ? 1 : 0);
    for (unsigned f = 0; f < shown; f++) {
        int st;
        pid_t pid = spawn(&ccfg, fails[f], 0, cfg->quiet);
        if (pid < 0 || wait_child(pid, &st) != 0)
            return 2;
        const char *what = verdict(st, &weftcc_sh->slot[0], buf, sizeof buf);
        if (cfg->quiet)
            continue;
        fprintf(stderr,
                "weft: FAILED at execution %llu of %llu (fork, %.3f s): %s\n",
                (unsigned long long)fails[f] + 1, (unsigned long long)n, dt,
                what ? what
                     : "it passed when run again (the program is not "
                       "deterministic)");
        /* the child's report gave its replay line; one that died before
         * it could report gets it here */
        if (weftcc_sh->slot[0].state != WEFTCC_FINDING) {
            char strat[200] = "";
            if (strcmp(strategy, "pct") == 0)
                snprintf(strat, sizeof strat,
                         " WEFT_STRATEGY=pct WEFT_PCT_DEPTH=%u "
                         "WEFT_PCT_STEPS=%llu",
                         ccfg.pct_depth, (unsigned long long)ccfg.pct_steps);
            else if (strcmp(strategy, "random") != 0)
                snprintf(strat, sizeof strat, " WEFT_STRATEGY=%s", strategy);
            fprintf(stderr,
                    "  replay:    WEFT_SEED=%llu WEFT_ITERATIONS=1%s %s\n",
                    (unsigned long long)weft__exec_seed(cfg->seed, fails[f]),
                    strat, hint);
        }
    }
    if (cfg->json_out != NULL) {
        weft_result_t res;
        memset(&res, 0, sizeof res);
        res.executions = skip + done;
        res.failures = nfails;
        res.execution = nfails > 0 ? fails[0] + 1 : 0;
        res.exhausted = exhausted;
        res.preemption_level = -1;
        if (nfails > 0) {
            res.finding = (weft_finding_t)weftcc_sh->slot[0].finding;
            if (res.finding == WEFT_FINDING_NONE)
                res.finding = WEFT_FINDING_CRASH;
            res.seed = weft__exec_seed(cfg->seed, fails[0]);
            res.trace_hash = weftcc_sh->slot[0].hash;
            snprintf(res.message, sizeof res.message, "%s",
                     weftcc_sh->slot[0].message);
        }
        (void)weft__export_json(cfg->json_out, cfg, strategy, &res, 0,
                                NULL); /* it says why it could not */
    }
    unsigned races = weftcc_sh->races;
    char r[32];
    rate(r, sizeof r, done, dt);
    if (nfails > 0)
        return 1;
    uint64_t total = skip + done;
    if (races > 0) {
        fprintf(stderr,
                "weft: FAILED: %u data race%s reported (above), no other "
                "finding in %llu execution%s (fork, %.3f s)\n",
                races, races == 1 ? "" : "s", (unsigned long long)total,
                plural(total), dt);
        return 1;
    }
    char before[80] = "";
    if (skip > 0)
        snprintf(before, sizeof before, "; the first %llu in snapshot mode",
                 (unsigned long long)skip);
    if (!cfg->quiet)
        fprintf(stderr,
                "weft: OK: %llu execution%s, no finding (fork, %.3f s, %s "
                "executions/s%s%s%s)\n",
                (unsigned long long)total, plural(total), dt, r, before,
                out_of_time ? "; stopped by the time budget" : "",
                stride > 1 ? "; a shard" : "");
    return 0;
}

/* ------------------------------------------------ in-process engines */

/* Give the rest of the exploration to forked children: the program run
 * again from its start, in fork mode, past what was done. */
static void switch_to_fork(uint64_t done, const weft_config_t *cfg)
{
    char skip[60], seed[40], its[40];
    snprintf(skip, sizeof skip, "%llu %u", (unsigned long long)done,
             weftcc_sh->races);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)cfg->seed);
    snprintf(its, sizeof its, "%llu", (unsigned long long)cfg->iterations);
    setenv("WEFT__SKIP", skip, 1);
    setenv("WEFT_SEED", seed, 1);
    setenv("WEFT_ITERATIONS", its, 1);
    setenv("WEFT_ISOLATE", "fork", 1);
    /* fork mode learns nothing: it goes on with what was learnt */
    weftcc_points_promote();
    static char points[WEFTCC_POINTS_TEXT];
    weftcc_points_text(points, sizeof points);
    setenv("WEFT_RACE_POINTS", points, 1);
    fflush(NULL);
    execv(weftcc_exe_path(), prog_argv);
    /* (qemu-user cannot exec a foreign binary, for one) */
    fprintf(stderr,
            "weft: note: cannot run %s again (%s): the executions fork from "
            "this process instead, its snapshot put back\n",
            weftcc_exe_path(), strerror(errno));
    unsetenv("WEFT__SKIP");
}

/* weft__rerun_quiet: the program's output (fds 1 and 2) goes nowhere
 * while a report shrinks and replays its failure: it was seen once, when
 * the failure happened. */
static void rerun_quiet(bool on)
{
    static int saved[2] = { -1, -1 };
    rerunning = on;
    fflush(NULL);
    for (int fd = 1; fd <= 2; fd++) {
        if (on && saved[fd - 1] < 0) {
            int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
            if (null < 0)
                return;
            saved[fd - 1] = weftcc_fd_high(fcntl(fd, F_DUPFD_CLOEXEC, 0));
            if (saved[fd - 1] >= 0)
                dup2(null, fd);
            close(null);
        } else if (!on && saved[fd - 1] >= 0) {
            dup2(saved[fd - 1], fd);
            close(saved[fd - 1]);
            saved[fd - 1] = -1;
        }
    }
}

static int run_in_process(weft_config_t *cfg)
{
    /* Race points are learnt where the executions after run in the same
     * process, in order: here, or in each worker on its own (points_sync);
     * not in fork mode. Not by workers that collect every failure: a
     * worker's record is of its latest execution, and the parent's re-run
     * of an earlier failure with other points could pass. */
    weftcc_points_learn = weftcc_race_mode == WEFTCC_RACE_REPORT &&
                          !(cfg->jobs > 1 && cfg->keep_going);
    points_jobs = weftcc_points_learn && cfg->jobs > 1;
    if (weftcc_points_learn)
        weft__found_hook = found_hook;
    make_hint();
    cfg->use_env = false;
    cfg->replay_hint = hint;
    /* Without a snapshot, shrinking re-runs the program on the globals
     * earlier executions left: only when asked for. */
    if (isolate == ISOLATE_NONE && getenv("WEFT_SHRINK") == NULL)
        cfg->shrink = false;
    weft__quiet_pass = true;
    weft__once_if_unchosen = true;
    weft__rerun_quiet = rerun_quiet;
    if (isolate == ISOLATE_SNAPSHOT)
        weft__confirm = confirm_fresh;
    double t0 = wall();
    weft_result_t res;
    int rc = weft_explore(cfg, body, NULL, &res);
    double dt = wall() - t0;
    uint64_t done = rc >= 0 ? res.executions : 0;
    bool exhausted = rc >= 0 && res.exhausted;
    if (rc == 1 && !cfg->quiet && !weftcc_sh->tainted) {
        char of[40] = "";
        if (cfg->time_budget == 0 && cfg->replay_file == NULL)
            snprintf(of, sizeof of, " of %llu",
                     (unsigned long long)cfg->iterations);
        /* messages often start with their kind already */
        const char *k = weft_finding_name(res.finding);
        bool said = strncmp(res.message, k, strlen(k)) == 0;
        char at[80];
        if (res.execution == 0) /* before the search: a replay */
            snprintf(at, sizeof at, "%s",
                     cfg->replay_file ? "replaying its schedule"
                                      : "replaying a persisted failure");
        else
            snprintf(at, sizeof at, "at execution %llu%s",
                     (unsigned long long)res.execution, of);
        fprintf(stderr, "weft: FAILED %s (%s, %.3f s%s): %s%s%s\n", at,
                isolate_names[isolate], dt, learnt_note(), said ? "" : k,
                said ? "" : ": ", res.message);
    }
    if (rc >= 0)
        weft_result_destroy(&res);
    if (weftcc_sh->tainted && rc == 0) {
        const char *st = cfg->strategy ? cfg->strategy : "random";
        /* an exec abandons its execution, which is not counted */
        uint64_t at = done + (weftcc_sh->taint_abandons ? 1 : 0);
        fprintf(stderr,
                "weft: note: execution %llu did what a snapshot cannot undo "
                "(%s)",
                (unsigned long long)at, weftcc_sh->taint_what);
        if (strcmp(st, "dfs") == 0 || strcmp(st, "dpor") == 0 ||
            cfg->replay_file != NULL) {
            fprintf(stderr,
                    "; a %s search cannot go on in forked processes: "
                    "stopped after %llu execution%s\n",
                    cfg->replay_file ? "replayed" : st,
                    (unsigned long long)done, plural(done));
            return 2;
        }
        fprintf(stderr,
                ": the %s go on in forked processes "
                "(WEFT_ISOLATE=fork)\n",
                cfg->jobs > 1 ? "executions" : "remaining executions");
        uint64_t skip = cfg->jobs > 1 ? 0 : done;
        switch_to_fork(skip, cfg);
        weftcc_snapshot_restore();
        weftcc_snapshot_on = false;
        return run_forked(cfg, skip);
    }
    if (rc == 0 && weftcc_sh->threads == 0 && !weftcc_sh->tainted)
        return weftcc_sh->status; /* a program with no thread: itself */
    if (rc < 0)
        return 2;
    if (rc == 1)
        return 1;
    unsigned races = weftcc_sh->races;
    if (races > 0) {
        fprintf(stderr,
                "weft: FAILED: %u data race%s reported (above), no other "
                "finding in %llu execution%s (%s%s)\n",
                races, races == 1 ? "" : "s", (unsigned long long)done,
                plural(done), isolate_names[isolate], learnt_note());
        return 1;
    }
    char r[32];
    rate(r, sizeof r, done, dt);
    char all[200] = "";
    bool dpor = cfg->strategy != NULL && strcmp(cfg->strategy, "dpor") == 0;
    if (exhausted && dpor && cfg->preemption_bound < 0)
        snprintf(all, sizeof all,
                 ", the search is exhausted: every interleaving of the "
                 "visible operations, up to the order of independent ones");
    else if (exhausted && cfg->strategy != NULL &&
             (dpor || strcmp(cfg->strategy, "dfs") == 0) &&
             cfg->preemption_bound >= 0)
        snprintf(all, sizeof all,
                 ", the search is exhausted: every execution with at most %d "
                 "preemption%s",
                 cfg->preemption_bound, cfg->preemption_bound == 1 ? "" : "s");
    else if (exhausted && cfg->strategy != NULL &&
             strcmp(cfg->strategy, "dfs") == 0 &&
             cfg->preemption_bound == WEFT_PREEMPTIONS_ITERATE)
        snprintf(all, sizeof all,
                 ", the search is exhausted: preemption bounds iterated up "
                 "to %d, that is all of them",
                 res.preemption_level);
    else if (exhausted)
        snprintf(all, sizeof all,
                 ", the search is exhausted: that is all of them");
    bool budget = !exhausted && cfg->time_budget > 0 && done < cfg->iterations;
    if (!cfg->quiet)
        fprintf(stderr,
                "weft: OK: %llu execution%s, no finding%s (%s, %.3f s, %s "
                "executions/s%s)\n",
                (unsigned long long)done, plural(done), all,
                isolate_names[isolate], dt, r,
                budget ? "; stopped by the time budget" : "");
    return 0;
}

/* Linked in by scripts/weft-cc when the program's own code has atomic
 * instructions in assembly: which, in which functions. */
extern const char weftcc_asm_note[] __attribute__((weak));

int __wrap_main(int argc, char **argv)
{
    weftcc_sh = mmap(NULL, sizeof *weftcc_sh, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (weftcc_sh == MAP_FAILED) {
        perror("weft: mmap");
        return 2;
    }
    /* Each thread its own __thread variables and errno, as outside weft:
     * blocks made from the program's TLS images, switched with the task
     * (platform/tls.c); the main thread's starts as the initial thread's
     * is now. Where that cannot be done, say so and share. */
    const char *tls = getenv("WEFT_TLS");
    if (tls != NULL && tls[0] != '\0' && strcmp(tls, "0") != 0 &&
        strcmp(tls, "1") != 0) {
        fprintf(stderr, "weft: WEFT_TLS must be 0 or 1, not '%s'\n", tls);
        return 2;
    }
    if (tls == NULL || tls[0] != '0') {
        const char *why = weft__tls_init();
        if (why == NULL)
            weft__per_task_tls = true;
        else
            fprintf(stderr,
                    "weft: note: threads share one thread-local storage "
                    "here (%s): __thread variables and errno are not per "
                    "thread\n",
                    why);
    }
    weft__lone_task_unbounded = true;
    own_options(&argc, argv);
    /* schedule files record the race points (WEFT_REPLAY replays them) */
    weft__schedule_points_get = weftcc_points_text;
    weft__schedule_points_set = weftcc_points_set_given;
    if (weftcc_asm_note != NULL && getenv("WEFT_QUIET") == NULL)
        fprintf(stderr,
                "weft: warning: atomic instructions in assembly (%s): weft "
                "sees neither them nor the waiting built on them, so the "
                "interleavings there are not explored and the race detector "
                "does not know what they order; build the code with C11 "
                "atomics or __atomic builtins (many libraries have such a "
                "variant)\n",
                weftcc_asm_note);
    weftcc_symbolizer_install();
    /* A report comes from the execution that failed: with a snapshot it
     * could be replayed in place, but the finding is confirmed in a fresh
     * process anyway; without one the globals are no longer fresh. */
    weft__report_first_run = true;
    weft_args(&argc, argv);
    prog_argc = argc;
    prog_argv = argv;
    command_line(cmd, sizeof cmd, argc, argv);
    settings_line(settings, sizeof settings);

    /* Set by an exploration that went on in fork mode (switch_to_fork):
     * the executions it ran, and the races it reported. */
    uint64_t skip = 0;
    const char *sk = getenv("WEFT__SKIP");
    if (sk != NULL) {
        unsigned races = 0;
        unsigned long long k = 0;
        if (sscanf(sk, "%llu %u", &k, &races) >= 1) {
            skip = k;
            weftcc_sh->races = races;
        }
        unsetenv("WEFT__SKIP");
    }
    weft_config_t cfg;
    weft_config_init(&cfg);
    char err[512];
    if (weft_config_from_env(&cfg, err, sizeof err) != 0) {
        fprintf(stderr, "weft: %s\n", err);
        return 2;
    }
    if (cfg.name == NULL) { /* its name, for reports and failure dirs */
        const char *slash = strrchr(argv[0], '/');
        cfg.name = slash != NULL && slash[1] != '\0' ? slash + 1 : argv[0];
    }
    /* Real programs run stress loops of many thousand iterations: the
     * library's default bound (sized for small tests) would end them. Ten
     * million steps take a second or two here, so a livelock is still
     * caught quickly; every access a step (granularity memory) needs ten
     * times more. WEFT_MAX_STEPS still decides. */
    const char *ms = getenv("WEFT_MAX_STEPS");
    if (ms == NULL || ms[0] == '\0')
        cfg.max_steps = weftcc_granularity == WEFTCC_GRAN_MEMORY
                            ? WEFTCC_MAX_STEPS * 10
                            : WEFTCC_MAX_STEPS;
    fflush(NULL);
    if (isolate == ISOLATE_FORK)
        return run_forked(&cfg, skip);
    if (isolate == ISOLATE_SNAPSHOT) {
        char why[300];
        if (weftcc_snapshot_take(why, sizeof why) != 0) {
            fprintf(stderr,
                    "weft: note: no snapshot (%s): executions run in forked "
                    "processes (WEFT_ISOLATE=fork)\n",
                    why);
            isolate = ISOLATE_FORK;
            return run_forked(&cfg, 0);
        }
    }
    return run_in_process(&cfg);
}
