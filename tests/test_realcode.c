/*
 * test_realcode.c: weft-cc on the shapes real projects are made of
 * (the programs of tests/realcode/): lock-free idioms, spin locks, thread-local
 * storage, shims, probes, early exits. Each case builds a program with
 * scripts/weft-cc, runs it with pinned settings and checks the exit status
 * and what the report must (and must not) say: no false race, no false
 * hang, no false step bound, builds that work, reports naming the
 * program's own lines. The runs go in parallel (separate processes).
 */
#include "weftcc.h"

#include <sys/stat.h>

#define RUNS "300"

struct rc_case {
    const char *name;   /* unique: the binary is <tmp>/<name> */
    const char *src;    /* under tests/realcode/ */
    const char *cflags; /* extra flags for weft-cc, or NULL */
    /* a build of its own instead (sh, in <tmp>, with $WEFTCC and $SRC
     * set; it must make ./<name>), or NULL */
    const char *build;
    const char *arg;      /* the program's argument, or NULL */
    const char *env[4];   /* extra VAR=value settings */
    int status;           /* expected exit status */
    const char *want[4];  /* each must be in stderr */
    const char *never[3]; /* none may be */
};

#define OK_RUNS "OK: " RUNS " executions"

static const struct rc_case cases[] = {
    /* an MCS lock: the waiter spins on a volatile flag in a node on its
     * own stack (it hung), synchronizing through fences (a false race) */
    { .name = "mcs",
      .src = "mcs_lock.c",
      .want = { OK_RUNS },
      .never = { "data race", "hang" } },
    { .name = "mcs_pct",
      .src = "mcs_lock.c",
      .env = { "WEFT_STRATEGY=pct" },
      .want = { OK_RUNS },
      .never = { "data race", "hang" } },
    { .name = "mcs_dfs",
      .src = "mcs_lock.c",
      .env = { "WEFT_STRATEGY=dfs" },
      .want = { OK_RUNS },
      .never = { "data race", "hang" } },
    /* its fences removed: the counter it protects is raced on */
    { .name = "mcs_nofence",
      .src = "mcs_lock.c",
      .cflags = "-DNO_FENCES",
      .status = 1,
      .want = { "kind:      data race", "global 'counter'" } },
    /* a correct busy wait on an atomic flag: pct and dfs hit the step
     * bound before spins were recognised */
    { .name = "busy_pct",
      .src = "busy_wait.c",
      .env = { "WEFT_STRATEGY=pct" },
      .want = { OK_RUNS },
      .never = { "step bound" } },
    { .name = "busy_pct1",
      .src = "busy_wait.c",
      .env = { "WEFT_STRATEGY=pct", "WEFT_PCT_DEPTH=1" },
      .want = { OK_RUNS },
      .never = { "step bound" } },
    { .name = "busy_dfs",
      .src = "busy_wait.c",
      .env = { "WEFT_STRATEGY=dfs" },
      .want = { "the search is exhausted" },
      .never = { "step bound" } },
    /* thread-local storage and errno per thread */
    { .name = "tls",
      .src = "tls.c",
      .arg = "tls",
      .want = { OK_RUNS },
      .never = { "data race", "tls:" } },
    { .name = "tls_pct",
      .src = "tls.c",
      .arg = "tls",
      .env = { "WEFT_STRATEGY=pct" },
      .want = { OK_RUNS },
      .never = { "data race", "tls:" } },
    { .name = "tls_inproc",
      .src = "tls.c",
      .arg = "tls",
      .env = { "WEFT_ISOLATE=0" },
      .want = { OK_RUNS },
      .never = { "data race", "tls:" } },
    /* WEFT_TLS=0 shares the initial thread's, as weft-cc did before: the
     * program's own checks fail (this is what the separation fixes) */
    { .name = "tls_shared",
      .src = "tls.c",
      .arg = "tls",
      .env = { "WEFT_TLS=0", "WEFT_RACE=off" },
      .status = 1,
      .want = { "SIGABRT", "tls: " } },
    { .name = "tls_handed",
      .src = "tls.c",
      .arg = "tls_handed",
      .status = 1,
      .want = { "kind:      data race",
                "thread-local variable 'counter' of task 1 \"owner\"" } },
    { .name = "tls_bad",
      .src = "tls.c",
      .arg = "tls",
      .env = { "WEFT_TLS=yes" },
      .status = 2,
      .want = { "WEFT_TLS must be 0 or 1" } },
    /* a program's own C11 thread functions (a shim over pthreads): it did
     * not link ("multiple definition of thrd_yield") */
    { .name = "shim",
      .src = "c11_shim.c",
      .want = { OK_RUNS },
      .never = { "data race" } },
    { .name = "shim_racy",
      .src = "c11_shim.c",
      .cflags = "-DRACY",
      .status = 1,
      .want = { "kind:      data race", "global 'counter'", "c11_shim.c:" } },
    /* debug flags with ASan and UBSan: it did not compile
     * ("-fsanitize=thread is incompatible with -fsanitize=address") */
    { .name = "asan_flags",
      .src = "mcs_lock.c",
      .cflags = "-fsanitize=address,undefined",
      .want = { OK_RUNS },
      .never = { "data race" } },
    /* a shared library built with weft-cc: its code was <program>+0x0 in
     * reports, and it linked the real ThreadSanitizer runtime */
    { .name = "shlib",
      .src = "shared_lib.c",
      .build = "\"$WEFTCC\" -O1 -DLIB -shared -fPIC -o libcount.so "
               "\"$SRC/shared_lib.c\" && \"$WEFTCC\" -O1 -o shlib "
               "\"$SRC/shared_lib.c\" -L. -lcount -Wl,-rpath,\"$PWD\" && "
               "! ldd shlib libcount.so | grep libtsan",
      .status = 1,
      .want = { "kind:      data race", "shared_lib.c:20 (bump)",
                "shared_lib.c:32 (worker)" },
      .never = { "<program>" } },
    { .name = "shlib_locked",
      .src = "shared_lib.c",
      .build = "\"$WEFTCC\" -O1 -DLIB -DLOCKED -shared -fPIC -o "
               "libcount2.so \"$SRC/shared_lib.c\" && \"$WEFTCC\" -O1 -o "
               "shlib_locked \"$SRC/shared_lib.c\" -L. -lcount2 "
               "-Wl,-rpath,\"$PWD\"",
      .want = { OK_RUNS },
      .never = { "data race" } },
    /* a race in a header's inline function: named in the header (gcc 12's
     * DWARF 5 made it the .c file), with the caller it was inlined into */
    /* a configure probe: no thread, so it runs once, as itself */
    { .name = "probe",
      .src = "probe.c",
      .status = 3,
      .want = { "probe: sizeof(long) is" },
      .never = { "weft:", "is 8\nprobe" } },
    /* no thread, 400,000 atomics, a step bound of 1000: it runs as
     * itself (the step bound cut single-threaded unit tests short) */
    { .name = "lone_atomics",
      .src = "lone_atomics.c",
      .env = { "WEFT_MAX_STEPS=1000" },
      .want = { "lone: sum 19999900000" },
      .never = { "weft:", "step bound" } },
    /* exit(3) from a thread: an exit finding at the thread's line */
    { .name = "exit_thread",
      .src = "exit_thread.c",
      .status = 1,
      .want = { "kind:      exit", "the program exited with status 3",
                "task 1 \"worker\" at tests/realcode/exit_thread.c:21" } },
    { .name = "exit_underscore",
      .src = "exit_thread.c",
      .arg = "_exit",
      .status = 1,
      .want = { "the program exited with status 5: task 1 \"quick\" called "
                "_exit",
                "task 1 \"quick\" at tests/realcode/exit_thread.c:26" } },
    { .name = "exit_returns",
      .src = "exit_thread.c",
      .arg = "returns",
      .status = 1,
      .want = { "the program exited with status 4: main returned it",
                "exit               tests/realcode/exit_thread.c:30 (quiet)" },
      .never = { "exit               tests/realcode/exit_thread.c:43" } },
    /* main returns under a detached worker: the worker's schedules run */
    { .name = "main_returns",
      .src = "main_returns.c",
      .status = 1,
      .want = { "kind:      data race", "tests/realcode/main_returns.c:15" } },
    { .name = "main_returns_norace",
      .src = "main_returns.c",
      .env = { "WEFT_RACE=off" },
      .status = 1,
      .want = { "SIGABRT (abort) at tests/realcode/main_returns.c:16 "
                "(worker)" } },
    /* a spin lock in inline assembly: a warning naming the function */
    { .name = "asm_lock",
      .src = "asm_lock.c",
      .status = 1, /* the lock it cannot see leaves a race */
      .want = { "weft: warning: atomic instructions in assembly (",
                " in worker)" } },
    /* alarm() in virtual time: a watchdog fires at virtual 2 s */
    { .name = "alarm_watchdog",
      .src = "alarm.c",
      .arg = "watchdog",
      .status = 1,
      .want = { "SIGALRM (alarm clock): the alarm set at "
                "tests/realcode/alarm.c:",
                "went off at virtual time 2.000000000s" } },
    { .name = "alarm_handler",
      .src = "alarm.c",
      .arg = "handler",
      .want = { OK_RUNS },
      .never = { "alarm:", "step bound" } },
    /* weft.h's assertions and choices inside a weft-cc program */
    { .name = "weft_api_ok",
      .src = "weft_api.c",
      .cflags = "-DWEFT_API_OK",
      .env = { "WEFT_STRATEGY=dfs" },
      .want = { "the search is exhausted" } },
    { .name = "header_O0",
      .src = "header_race.c",
      .cflags = "-O0",
      .status = 1,
      .want = { "header_race.h:9 (count_hit)",
                "#1 tests/realcode/header_race.c:14 (worker)" },
      .never = { "header_race.c:9" } },
    { .name = "header_O1",
      .src = "header_race.c",
      .cflags = "-O1",
      .status = 1,
      .want = { "header_race.h:9 (count_hit), inlined into tests/realcode/"
                "header_race.c:14 (worker)" },
      .never = { "header_race.c:9" } },
};
#define NCASES (sizeof cases / sizeof cases[0])

static void build_all(void)
{
    for (size_t i = 0; i < NCASES; i++) {
        const struct rc_case *c = &cases[i];
        /* cases sharing source and flags share one build */
        size_t j = 0;
        while (j < i && !(strcmp(cases[j].src, c->src) == 0 &&
                          strcmp(cases[j].cflags ? cases[j].cflags : "",
                                 c->cflags ? c->cflags : "") == 0))
            j++;
        if (c->build != NULL) {
            sh("build",
               "cd '%s' && WEFTCC='%s/scripts/weft-cc' "
               "SRC='%s/tests/realcode' && export WEFTCC SRC && %s",
               tmp, root, root, c->build);
            continue;
        }
        if (j < i && cases[j].build == NULL) {
            sh("ln", "ln -sf '%s/%s' '%s/%s'", tmp, cases[j].name, tmp,
               c->name);
            continue;
        }
        sh("weft-cc",
           "sh '%s/scripts/weft-cc' -O1 %s -o '%s/%s' "
           "'%s/tests/realcode/%s'",
           root, c->cflags ? c->cflags : "", tmp, c->name, root, c->src);
    }
}

static void test_cases(void **state)
{
    (void)state;
    build_all();
    pid_t pid[NCASES];
    char prog[PATH_MAX + 64], err[PATH_MAX + 64];
    for (size_t i = 0; i < NCASES; i++) {
        const struct rc_case *c = &cases[i];
        const char *env[7] = { "WEFT_SEED=1", "WEFT_ITERATIONS=" RUNS };
        for (int k = 0; k < 4 && c->env[k]; k++)
            env[2 + k] = c->env[k];
        snprintf(prog, sizeof prog, "%s/%s", tmp, c->name);
        snprintf(err, sizeof err, "%s/%s.err", tmp, c->name);
        pid[i] = start_arg(prog, c->arg, err, env);
    }
    int bad = 0;
    for (size_t i = 0; i < NCASES; i++) {
        const struct rc_case *c = &cases[i];
        int st;
        waitpid(pid[i], &st, 0);
        snprintf(err, sizeof err, "%s/%s.err", tmp, c->name);
        char *out = slurp(err);
        bool ok = WIFEXITED(st) && WEXITSTATUS(st) == c->status;
        for (int k = 0; k < 4 && c->want[k]; k++)
            ok = ok && strstr(out, c->want[k]) != NULL;
        for (int k = 0; k < 3 && c->never[k]; k++)
            ok = ok && strstr(out, c->never[k]) == NULL;
        if (!ok) {
            print_error("%s (%s %s): expected status %d with \"%s\"; got "
                        "%d:\n%s\n",
                        c->name, c->src, c->arg ? c->arg : "", c->status,
                        c->want[0] ? c->want[0] : "",
                        WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
            bad++;
        }
        free(out);
    }
    assert_int_equal(bad, 0);
}

/* weft.h's threads API in a weft-cc program: refused at link time, with
 * what to do instead (it would run unseen by the race detector). */
static void test_weft_api_refused(void **state)
{
    (void)state;
    char cmd[5 * PATH_MAX], log[PATH_MAX + 32];
    snprintf(log, sizeof log, "%s/weft_api.log", tmp);
    snprintf(cmd, sizeof cmd,
             "sh '%s/scripts/weft-cc' -O1 -o '%s/weft_api' "
             "'%s/tests/realcode/weft_api.c' 2>'%s'",
             root, tmp, root, log);
    int rc = system(cmd);
    char *out = slurp(log);
    if (rc == 0 || strstr(out, "weft-cc: the program calls weft.h's API: "
                               "weft_mutex_") == NULL)
        print_error("status %d:\n%s\n", rc, out);
    assert_true(rc != 0);
    assert_non_null(
        strstr(out, "weft-cc: the program calls weft.h's API: weft_mutex_"));
    assert_non_null(strstr(out, "(in worker)"));
    snprintf(cmd, sizeof cmd, "%s/weft_api", tmp);
    assert_int_not_equal(access(cmd, F_OK), 0); /* no program left */
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_weft_api_refused),
    };
    return cmocka_run_group_tests(tests, locate, cleanup);
}
