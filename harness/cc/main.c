/*
 * main.c: weft-cc's takeover of an unmodified program's main.
 *
 * The program is linked with -Wl,--wrap=main, so the C runtime calls
 * __wrap_main, which explores a body that calls the program's own main
 * (__real_main) once per execution, prints the verdict and exits 0 (no
 * finding), 1 (a finding) or 2 (bad configuration).
 *
 * Isolation (the default, WEFT_ISOLATE=1): a fork server. The parent is
 * initialised once (options, configuration), then forks one child per
 * execution; the child runs that one execution (weft_explore with
 * iterations 1 and the execution's seed, seed + i * golden ratio, as weft
 * derives it) in a fresh copy of the initialised process, so the
 * program's globals start fresh and a crash, exit or hang ends one
 * execution. The child prints weft's report on stderr and tells the
 * parent what happened through a shared page; a child still running
 * after WEFT_HANG_TIMEOUT seconds of wall time is killed (SIGALRM) and
 * reported as a hang. The parent stops at the first failing execution and
 * prints its replay line.
 *
 * In-process (WEFT_ISOLATE=0): one weft_explore over all executions, with
 * the whole portfolio (shrinking, pct learning, dfs), but globals are not
 * reset between executions.
 */
#include "weft.h"
#include "weftcc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int __real_main(int argc, char **argv);
int __wrap_main(int argc, char **argv);

struct weftcc_shared *weftcc_child;

static int prog_argc;
static char **prog_argv;
static bool isolate = true;
static unsigned hang_timeout = 10;

static void body(void *arg)
{
    (void)arg;
    int rc = __real_main(prog_argc, prog_argv);
    if (rc != 0)
        weft_fail("main returned %d", rc);
    /* Returning from main ends the process, other threads included. */
    if (weftcc_child != NULL) {
        weftcc_child_pass();
    }
}

/* The index in names[3] of the variable's value, dflt if it is unset; a
 * message and exit 2 for anything else. */
static int one_of(const char *var, const char *const names[3], const char *say,
                  int dflt)
{
    const char *s = getenv(var);
    if (s == NULL)
        return dflt;
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    fprintf(stderr, "weft: %s must be %s, not '%s'\n", var, say, s);
    exit(2);
}

/* Take weft-cc's own options out of argv (weft_args rejects names it does
 * not know): --weft-isolate=0|1, --weft-hang-timeout=SECONDS. */
static void own_options(int *argc, char **argv)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            for (; i < *argc; i++)
                argv[out++] = argv[i];
            break;
        }
        if (strncmp(a, "--weft-isolate=", 15) == 0)
            setenv("WEFT_ISOLATE", a + 15, 1);
        else if (strncmp(a, "--weft-hang-timeout=", 20) == 0)
            setenv("WEFT_HANG_TIMEOUT", a + 20, 1);
        else if (strncmp(a, "--weft-granularity=", 19) == 0)
            setenv("WEFT_GRANULARITY", a + 19, 1);
        else if (strncmp(a, "--weft-race=", 12) == 0)
            setenv("WEFT_RACE", a + 12, 1);
        else
            argv[out++] = argv[i];
    }
    argv[out] = NULL;
    *argc = out;

    const char *s = getenv("WEFT_ISOLATE");
    if (s != NULL) {
        if (strcmp(s, "0") == 0 || strcmp(s, "1") == 0)
            isolate = s[0] == '1';
        else {
            fprintf(stderr, "weft: WEFT_ISOLATE must be 0 or 1, not '%s'\n", s);
            exit(2);
        }
    }
    s = getenv("WEFT_HANG_TIMEOUT");
    if (s != NULL) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (*s == '\0' || *end != '\0' || v == 0 || v > 86400) {
            fprintf(stderr,
                    "weft: WEFT_HANG_TIMEOUT must be seconds (1..86400), "
                    "not '%s'\n",
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
}

/* The command line, shell-quoted where needed, for the replay line. */
static void command_line(char *out, size_t len, int argc, char **argv)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < argc && n + 4 < len; i++) {
        const char *a = argv[i];
        bool plain =
            *a != '\0' && strspn(a, "abcdefghijklmnopqrstuvwxyz"
                                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789-_./=:,+@%") == strlen(a);
        n += (size_t)snprintf(out + n, len - n, i ? " " : "");
        if (plain) {
            n += (size_t)snprintf(out + n, len - n, "%s", a);
        } else {
            n += (size_t)snprintf(out + n, len - n, "'");
            for (; *a && n + 5 < len; a++)
                n +=
                    (size_t)(*a == '\'' ? snprintf(out + n, len - n, "'\\''")
                                        : snprintf(out + n, len - n, "%c", *a));
            n += (size_t)snprintf(out + n, len - n, "'");
        }
        if (n >= len)
            n = len - 1;
    }
}

/* The WEFT_* settings in force, beyond the seed and the budget, for the
 * replay line (the strategy and its parameters, max steps, ...). */
static void settings(char *out, size_t len)
{
    extern char **environ;
    static const char *skip[] = {
        "WEFT_SEED=",       "WEFT_ITERATIONS=",    "WEFT_TIME_BUDGET=",
        "WEFT_JOBS=",       "WEFT_SHARD=",         "WEFT_PROGRESS=",
        "WEFT_KEEP_GOING=", "WEFT_QUIET=",         "WEFT_CC=",
        "WEFT_CC_LIBDIR=",  "WEFT_CC_INSTRUMENT=", "WEFT_HANG_TIMEOUT=",
        "WEFT_BENCH_DIR="
    };
    size_t n = 0;
    out[0] = '\0';
    for (char **e = environ; *e != NULL; e++) {
        if (strncmp(*e, "WEFT_", 5) != 0 || strchr(*e, '\'') != NULL)
            continue;
        bool skipped = false;
        for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
            skipped = skipped || strncmp(*e, skip[i], strlen(skip[i])) == 0;
        if (skipped)
            continue;
        const char *eq = strchr(*e, '=');
        int w = snprintf(out + n, len - n, " %.*s'%s'", (int)(eq - *e + 1), *e,
                         eq + 1);
        if (w < 0 || (size_t)w >= len - n)
            break;
        n += (size_t)w;
    }
}

static double wall(void)
{
    struct timespec ts;
    weftcc_real_clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *finding_name(int k)
{
    return weft_finding_name((weft_finding_t)k);
}

/* The child of execution `seed`: never returns. */
static _Noreturn void child(const weft_config_t *base, uint64_t seed,
                            const char *cmd)
{
    weft_config_t cfg = *base;
    cfg.seed = seed;
    cfg.iterations = 1;
    cfg.jobs = 1;
    cfg.shard_index = 1;
    cfg.shard_count = 1;
    cfg.shrink = false; /* shrinking re-runs in this process: globals dirty */
    cfg.time_budget = 0;
    cfg.progress = 0;
    cfg.keep_going = false;
    cfg.use_env = false;
    cfg.replay_hint = cmd;
    if (hang_timeout)
        alarm(hang_timeout);
    weft_result_t res;
    int rc = weft_explore(&cfg, body, NULL, &res);
    if (rc >= 0)
        weftcc_child->steps = res.total_steps;
    if (rc == 1) {
        weftcc_child->finding = (int)res.finding;
        snprintf(weftcc_child->message, sizeof weftcc_child->message, "%s",
                 res.message);
        weftcc_child->state = WEFTCC_FINDING;
    } else if (rc == 0) {
        weftcc_child->state = WEFTCC_PASS;
    }
    weft_result_destroy(&res);
    weftcc_real_exit(rc == 0 ? 0 : rc == 1 ? 1 : 2);
}

static int run_isolated(const weft_config_t *cfg, const char *cmd)
{
    struct weftcc_shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
                                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("weft: mmap");
        return 2;
    }
    uint64_t n = cfg->iterations;
    if (cfg->replay_file != NULL)
        n = 1;
    const char *strategy = cfg->strategy ? cfg->strategy : "random";
    if (strcmp(strategy, "dfs") == 0)
        fprintf(stderr, "weft: note: strategy dfs searches across "
                        "executions; with isolation each execution is a "
                        "fresh process, so it runs one path per seed "
                        "(use WEFT_ISOLATE=0 for a real search)\n");
    /* pct spreads its change points over the length of an execution,
     * which it learns from the executions it ran: across children, the
     * parent learns it (the longest so far) and hands it down. */
    bool learn = strcmp(strategy, "pct") == 0 && cfg->pct_steps == 0;
    uint64_t longest = 0;
    weft_config_t ccfg = *cfg;
    double t0 = wall();
    uint64_t i;
    for (i = 0; i < n; i++) {
        if (cfg->time_budget > 0 && wall() - t0 >= cfg->time_budget)
            break;
        uint64_t seed = cfg->seed + i * 0x9e3779b97f4a7c15ULL;
        sh->state = WEFTCC_NONE; /* races and pairs add up */
        sh->steps = 0;
        sh->finding = 0;
        sh->message[0] = '\0';
        if (learn && longest > 0)
            ccfg.pct_steps = longest;
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            perror("weft: fork");
            return 2;
        }
        if (pid == 0) {
            weftcc_child = sh;
            weft__exec_offset = i;
            child(&ccfg, seed, cmd);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0)
            if (errno != EINTR) {
                perror("weft: waitpid");
                return 2;
            }
        if (sh->steps > longest)
            longest = sh->steps;
        const char *what = NULL;
        char buf[640];
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
            sh->state != WEFTCC_FINDING)
            continue; /* passed (or _exit(0) without a word) */
        if (WIFEXITED(st) && sh->state == WEFTCC_FINDING) {
            snprintf(buf, sizeof buf, "%s: %s", finding_name(sh->finding),
                     sh->message);
            what = buf;
        } else if (WIFEXITED(st) && WEXITSTATUS(st) == 2 &&
                   sh->state == WEFTCC_NONE) {
            fprintf(stderr, "weft: the execution could not run (see above)\n");
            return 2;
        } else if (WIFEXITED(st)) {
            snprintf(buf, sizeof buf,
                     "exit: the execution ended with status %d outside "
                     "weft's control (_exit?)",
                     WEXITSTATUS(st));
            what = buf;
        } else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) {
            snprintf(buf, sizeof buf,
                     "hang: the execution was still running after %u s of "
                     "wall time (a blocking call weft does not serve, or a "
                     "loop with no visible operation); killed",
                     hang_timeout);
            what = buf;
        } else {
            snprintf(buf, sizeof buf,
                     "crash: the execution's process died of signal %d (%s) "
                     "outside weft's handlers",
                     WIFSIGNALED(st) ? WTERMSIG(st) : 0,
                     WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "?");
            what = buf;
        }
        double dt = wall() - t0;
        char set[1100];
        settings(set, sizeof set - 40);
        if (learn && ccfg.pct_steps > 0)
            snprintf(set + strlen(set), 40, " WEFT_PCT_STEPS=%llu",
                     (unsigned long long)ccfg.pct_steps);
        fprintf(stderr,
                "weft: FAILED at execution %llu of %llu (isolated, %.3f s): "
                "%s\n"
                "  replay:    WEFT_SEED=%llu WEFT_ITERATIONS=1%s %s\n",
                (unsigned long long)i + 1, (unsigned long long)n, dt, what,
                (unsigned long long)seed, set, cmd);
        munmap(sh, sizeof *sh);
        return 1;
    }
    double dt = wall() - t0;
    unsigned races = sh->races;
    munmap(sh, sizeof *sh);
    if (races > 0) {
        fprintf(stderr,
                "weft: FAILED: %u data race%s reported (above), no other "
                "finding in %llu executions (isolated, %.3f s)\n",
                races, races == 1 ? "" : "s", (unsigned long long)i, dt);
        return 1;
    }
    fprintf(stderr,
            "weft: OK: %llu executions, no finding (isolated, %.3f s, %.0f "
            "executions/s)\n",
            (unsigned long long)i, dt, dt > 0 ? (double)i / dt : 0.0);
    return 0;
}

int __wrap_main(int argc, char **argv)
{
    /* Each thread its own __thread variables and errno, as outside weft:
     * blocks made from the program's TLS images, switched with the task
     * (platform/tls.c); the main thread's starts as the initial thread's
     * is now. Where that cannot be done, say so and share. */
    const char *tls = getenv("WEFT_TLS");
    if (tls != NULL && strcmp(tls, "0") != 0 && strcmp(tls, "1") != 0) {
        fprintf(stderr, "weft: WEFT_TLS must be 0 or 1, not '%s'\n", tls);
        return 2;
    }
    const char *why = tls != NULL && tls[0] == '0' ? NULL : weft__tls_init();
    if (tls != NULL && tls[0] == '0')
        ; /* asked for: every thread shares the initial thread's */
    else if (why == NULL)
        weft__per_task_tls = true;
    else
        fprintf(stderr,
                "weft: note: threads share one thread-local storage here "
                "(%s): __thread variables and errno are not per thread\n",
                why);
    own_options(&argc, argv);
    weftcc_symbolizer_install();
    /* A report comes from the execution that failed: replaying it would
     * run the program again in a process whose globals are no longer
     * fresh (an isolated child's, or the in-process exploration's). */
    weft__report_first_run = true;
    weft_args(&argc, argv);
    prog_argc = argc;
    prog_argv = argv;
    static char cmd[4096];
    command_line(cmd, sizeof cmd, argc, argv);

    weft_config_t cfg;
    weft_config_init(&cfg);
    char err[512];
    if (weft_config_from_env(&cfg, err, sizeof err) != 0) {
        fprintf(stderr, "weft: %s\n", err);
        return 2;
    }
    if (cfg.name == NULL)
        cfg.name = argv[0];
    /* Real programs run stress loops of many thousand iterations: the
     * library's default bound (sized for small tests) would end them. Ten
     * million steps take a second or two here, so a livelock is still
     * caught quickly; every access a step (granularity memory) needs ten
     * times more. WEFT_MAX_STEPS still decides. */
    if (getenv("WEFT_MAX_STEPS") == NULL)
        cfg.max_steps = weftcc_granularity == WEFTCC_GRAN_MEMORY
                            ? WEFTCC_MAX_STEPS * 10
                            : WEFTCC_MAX_STEPS;
    fflush(NULL);
    if (isolate)
        return run_isolated(&cfg, cmd);

    /* A seed replays an in-process execution only from fresh globals:
     * say how it ran. */
    static char hint[4200];
    /* weft's replay line has its own settings; add weft-cc's. */
    const char *g = getenv("WEFT_GRANULARITY"), *rm = getenv("WEFT_RACE");
    snprintf(hint, sizeof hint, "WEFT_ISOLATE=0%s%s%s%s %s",
             g ? " WEFT_GRANULARITY=" : "", g ? g : "", rm ? " WEFT_RACE=" : "",
             rm ? rm : "", cmd);
    cfg.use_env = false;
    cfg.replay_hint = hint;
    /* Shrinking re-runs the program on the globals earlier executions
     * left: only when asked for. */
    if (getenv("WEFT_SHRINK") == NULL)
        cfg.shrink = false;
    weft_result_t res;
    int rc = weft_explore(&cfg, body, NULL, &res);
    if (rc == 0 && weftcc_races_reported > 0) {
        fprintf(stderr,
                "weft: FAILED: %u data race%s reported (above), no other "
                "finding in %llu executions (in-process)\n",
                weftcc_races_reported, weftcc_races_reported == 1 ? "" : "s",
                (unsigned long long)res.executions);
        rc = 1;
    } else if (rc == 0)
        fprintf(stderr, "weft: OK: %llu executions, no finding (in-process)\n",
                (unsigned long long)res.executions);
    if (rc >= 0)
        weft_result_destroy(&res);
    return rc == 0 ? 0 : rc == 1 ? 1 : 2;
}
