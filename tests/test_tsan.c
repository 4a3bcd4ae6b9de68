/*
 * test_tsan.c: weft-cc's ThreadSanitizer hooks: the race detector (what it
 * reports and, as much, what it must not), the scheduling granularity, the
 * memory hooks, report mode, and bad settings. Builds
 * tests/weftcc/races.c with scripts/weft-cc (gcc and clang) and runs its
 * scenarios, each with a pinned seed and a budget, in parallel. Also
 * thread-specific data (tests/weftcc/keys.c), which per-thread state under
 * weft needs as much as the detector does.
 */
#include "weftcc.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define RUNS "300"

struct scenario {
    const char *name;     /* races NAME, or hb NAME for "hb:NAME" */
    const char *env[3];   /* extra VAR=value settings */
    int status;           /* expected exit status */
    const char *want[4];  /* each must be in stderr */
    const char *never[2]; /* none may be */
    const char *compiler; /* NULL: gcc */
};

static const struct scenario scenarios[] = {
    /* races, with both sites and stacks */
    { "counter",
      {},
      1,
      { "kind:      data race", "global 'counter'", "(bump)", "(racy_inc)" },
      {},
      NULL },
    { "publish_relaxed",
      {},
      1,
      { "kind:      data race", "global 'data'", "(producer)", "(publish)" },
      {},
      NULL },
    { "use_after_free",
      {},
      1,
      { "kind:      data race", "free by task 0", "(reader)",
        "(use_after_free)" },
      {},
      NULL },
    { "stack_escape",
      {},
      1,
      { "kind:      data race", "the stack of task 0", "(poke)" },
      {},
      NULL },
    { "rwlock_bad",
      {},
      1,
      { "kind:      data race", "(rw_reader)" },
      {},
      NULL },
    { "plain_rmw",
      {},
      1,
      { "kind:      data race", "global 'pcount'" },
      {},
      NULL },
    /* correct synchronization: no report */
    { "locked", {}, 0, { "OK: " RUNS " executions" }, { "data race" }, NULL },
    { "publish", {}, 0, { "OK: " RUNS " executions" }, { "data race" }, NULL },
    { "heap_reuse",
      {},
      0,
      { "OK: " RUNS " executions" },
      { "data race" },
      NULL },
    { "handoff", {}, 0, { "OK: " RUNS " executions" }, { "data race" }, NULL },
    { "rwlock", {}, 0, { "OK: " RUNS " executions" }, { "data race" }, NULL },
    /* granularity: an atomic read-modify-write split in two is a lost
     * update found at the atomics, never at sync granularity */
    { "atomic_rmw",
      {},
      1,
      { "kind:      crash", "SIGABRT" },
      { "data race" },
      NULL },
    { "atomic_rmw",
      { "WEFT_GRANULARITY=sync" },
      0,
      { "OK: " RUNS " executions" },
      {},
      NULL },
    /* a plain one, race detector off: only granularity memory splits it */
    { "plain_rmw",
      { "WEFT_RACE=off" },
      0,
      { "OK: " RUNS " executions" },
      {},
      NULL },
    { "plain_rmw",
      { "WEFT_RACE=off", "WEFT_GRANULARITY=memory" },
      1,
      { "SIGABRT", "WEFT_GRANULARITY=memory " },
      {},
      NULL },
    /* spins end: a volatile access is visible, a plain spin gets one */
    { "spin_plain", { "WEFT_RACE=off" }, 0, { "OK: " }, {}, NULL },
    { "spin_volatile", { "WEFT_RACE=off" }, 0, { "OK: " }, {}, NULL },
    /* report mode: each distinct race once, then a failing verdict */
    { "two_races",
      { "WEFT_RACE=report" },
      1,
      { "2 data races reported", "global 'counter'", "global 'pcount'" },
      {},
      NULL },
    /* in-process (globals are not reset: scenarios without global state):
     * the detector starts afresh in each execution */
    { "heap_reuse",
      { "WEFT_ISOLATE=0" },
      0,
      { "OK: " RUNS " executions" },
      { "data race" },
      NULL },
    { "rwlock",
      { "WEFT_ISOLATE=0" },
      0,
      { "OK: " RUNS " executions" },
      { "data race" },
      NULL },
    { "counter",
      { "WEFT_ISOLATE=0" },
      1,
      { "kind:      data race", "WEFT_ISOLATE=none" },
      {},
      NULL },
    /* clang's instrumentation */
    { "counter", {}, 1, { "kind:      data race", "(bump)" }, {}, "clang" },
    { "publish",
      {},
      0,
      { "OK: " RUNS " executions" },
      { "data race" },
      "clang" },
    { "atomic_rmw", {}, 1, { "SIGABRT" }, { "data race" }, "clang" },
    /* thread-handle calls with no meaning for a task; one not modelled */
    { "thread_misc", {}, 0, { "OK: " RUNS " executions" }, {}, NULL },
    { "cancel",
      {},
      1,
      { "pthread_cancel is not modelled by weft-cc", "races.c" },
      { "SIGSEGV" },
      NULL },
    /* the C11 happens-before rules (tests/weftcc/hb.c): synchronization
     * the detector must see, and orders that synchronize nothing */
    { "hb:refcount",
      {},
      0,
      { "OK: " RUNS " executions" },
      { "data race" },
      NULL },
    { "hb:refcount_fence",
      {},
      0,
      { "OK: " RUNS " executions" },
      { "data race" },
      NULL },
    { "hb:refcount_nofence",
      {},
      1,
      { "kind:      data race", "(user_nofence)" },
      {},
      NULL },
    { "hb:handoff",
      {},
      0,
      { "OK: " RUNS " executions" },
      { "data race" },
      NULL },
    { "hb:fence_mp",
      {},
      0,
      { "OK: " RUNS " executions" },
      { "data race" },
      NULL },
    { "hb:fence_mp_noacq",
      {},
      1,
      { "kind:      data race", "global 'data'", "(fence_reader)" },
      {},
      NULL },
    { "hb:fence_mp_norel",
      {},
      1,
      { "kind:      data race", "global 'data'", "(fence_writer)" },
      {},
      NULL },
    { "hb:rmw_continues",
      {},
      0,
      { "OK: " RUNS " executions" },
      { "data race" },
      NULL },
    { "hb:same_thread_store",
      {},
      0,
      { "OK: " RUNS " executions" },
      { "data race" },
      NULL },
    { "hb:other_thread_store",
      {},
      1,
      { "kind:      data race", "global 'data'", "(reader2)", "(publisher)" },
      {},
      NULL },
    { "hb:release_replaced",
      {},
      1,
      { "kind:      data race", "global 'data'", "(reader2)", "(publisher)" },
      {},
      NULL },
    { "hb:acqrel_chain",
      {},
      0,
      { "OK: " RUNS " executions" },
      { "data race" },
      NULL },
    { "hb:relaxed_rmw",
      {},
      1,
      { "kind:      data race", "global 'data'", "(relaxed_rmw_reader)" },
      {},
      NULL },
    { "hb:seq_cst",
      {},
      0,
      { "OK: " RUNS " executions" },
      { "data race" },
      NULL },
    { "hb:cas_lock",
      {},
      0,
      { "OK: " RUNS " executions" },
      { "data race" },
      NULL },
    { "hb:refcount",
      {},
      0,
      { "OK: " RUNS " executions" },
      { "data race" },
      "clang" },
    { "hb:fence_mp",
      {},
      0,
      { "OK: " RUNS " executions" },
      { "data race" },
      "clang" },
    /* bad settings: a message and status 2 */
    { "counter",
      { "WEFT_RACE=maybe" },
      2,
      { "WEFT_RACE must be fail, report or off" },
      {},
      NULL },
    { "counter",
      { "WEFT_GRANULARITY=bytes" },
      2,
      { "WEFT_GRANULARITY must be sync, atomics or memory" },
      {},
      NULL },
};
#define NSCEN (sizeof scenarios / sizeof scenarios[0])

static void build_races(void)
{
    static bool built;
    if (built)
        return;
    /* -O0: the spin scenarios keep their loads in the loop */
    sh("weft-cc (gcc)",
       "WEFT_CC=gcc sh '%s/scripts/weft-cc' -O0 -o '%s/races-gcc' "
       "'%s/tests/weftcc/races.c'",
       root, tmp, root);
    sh("weft-cc (clang)",
       "WEFT_CC=clang sh '%s/scripts/weft-cc' -O1 -o '%s/races-clang' "
       "'%s/tests/weftcc/races.c'",
       root, tmp, root);
    sh("weft-cc (gcc, hb)",
       "WEFT_CC=gcc sh '%s/scripts/weft-cc' -O1 -o '%s/hb-gcc' "
       "'%s/tests/weftcc/hb.c'",
       root, tmp, root);
    sh("weft-cc (clang, hb)",
       "WEFT_CC=clang sh '%s/scripts/weft-cc' -O1 -o '%s/hb-clang' "
       "'%s/tests/weftcc/hb.c'",
       root, tmp, root);
    built = true;
}

static void test_scenarios(void **state)
{
    (void)state;
    build_races();
    pid_t pid[NSCEN];
    char prog[PATH_MAX + 64], err[PATH_MAX + 64];
    for (size_t i = 0; i < NSCEN; i++) {
        const struct scenario *s = &scenarios[i];
        const char *env[6] = { "WEFT_SEED=1", "WEFT_ITERATIONS=" RUNS };
        for (int k = 0; k < 3 && s->env[k]; k++)
            env[2 + k] = s->env[k];
        bool hb = strncmp(s->name, "hb:", 3) == 0;
        snprintf(prog, sizeof prog, "%s/%s-%s", tmp, hb ? "hb" : "races",
                 s->compiler ? s->compiler : "gcc");
        snprintf(err, sizeof err, "%s/scenario%zu.err", tmp, i);
        pid[i] = start_arg(prog, s->name + (hb ? 3 : 0), err, env);
    }
    int bad = 0;
    for (size_t i = 0; i < NSCEN; i++) {
        const struct scenario *s = &scenarios[i];
        int st;
        waitpid(pid[i], &st, 0);
        snprintf(err, sizeof err, "%s/scenario%zu.err", tmp, i);
        char *out = slurp(err);
        bool ok = WIFEXITED(st) && WEXITSTATUS(st) == s->status;
        for (int k = 0; k < 4 && s->want[k]; k++)
            ok = ok && strstr(out, s->want[k]) != NULL;
        for (int k = 0; k < 2 && s->never[k]; k++)
            ok = ok && strstr(out, s->never[k]) == NULL;
        if (!ok) {
            print_error("scenario %s (%s%s%s%s): expected status %d; got %d:"
                        "\n%s\n",
                        s->name, s->compiler ? s->compiler : "gcc",
                        s->env[0] ? ", " : "", s->env[0] ? s->env[0] : "",
                        s->env[1] ? " ..." : "", s->status,
                        WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
            bad++;
        }
        free(out);
    }
    assert_int_equal(bad, 0);
}

/* Report mode prints each distinct race once over all executions, and
 * the isolated children agree on which were printed. */
/* Each race of a report-mode run, told once, with a replay line that
 * shows that race again (by seed, or a schedule file for dfs; in fork
 * mode too). */
static void report_once(const char *const extra[])
{
    build_races();
    char prog[PATH_MAX + 64], err[PATH_MAX + 64];
    snprintf(prog, sizeof prog, "%s/races-gcc", tmp);
    snprintf(err, sizeof err, "%s/report.err", tmp);
    const char *env[6] = { "WEFT_SEED=1", "WEFT_ITERATIONS=200",
                           "WEFT_RACE=report" };
    for (int i = 0; extra[i] != NULL; i++)
        env[3 + i] = extra[i];
    int st;
    waitpid(start_arg(prog, "two_races", err, env), &st, 0);
    char *out = slurp(err);
    unsigned n = 0;
    for (const char *p = out; (p = strstr(p, "weft: data race:")) != NULL;
         p++) {
        n++;
        char head[600], line[PATH_MAX + 600];
        snprintf(head, sizeof head, "%.*s", (int)strcspn(p, "\n"), p);
        const char *r = strstr(p, "  replay:    ");
        const char *next = strstr(p + 1, "weft: data race:");
        if (r == NULL || (next != NULL && r > next)) {
            print_error("no replay line for: %s\n%s\n", head, out);
            fail();
        }
        r += strlen("  replay:    ");
        snprintf(line, sizeof line, "%.*s 2>'%s/report2.err' >/dev/null",
                 (int)strcspn(r, "\n"), r, tmp);
        int rc = system(line);
        char again[PATH_MAX + 64];
        snprintf(again, sizeof again, "%s/report2.err", tmp);
        char *out2 = slurp(again);
        if (!(WIFEXITED(rc) && WEXITSTATUS(rc) == 1) ||
            strstr(out2, head) == NULL)
            print_error("replay of '%s' (%s):\n%s\n", head, line, out2);
        assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 1);
        assert_non_null(strstr(out2, head));
        free(out2);
    }
    if (n != 2)
        print_error("%s\n", out);
    assert_int_equal(n, 2);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    free(out);
}

static void test_report_once(void **state)
{
    (void)state;
    report_once((const char *const[]){ NULL });
    report_once((const char *const[]){ "WEFT_STRATEGY=dfs", NULL });
    report_once((const char *const[]){ "WEFT_ISOLATE=fork", NULL });
}

/* The replay line of a failure, pasted into a shell, replays it: the same
 * kind, the same trace. With pct the line carries the step count the
 * isolated children learnt (WEFT_PCT_STEPS). */
static void replay_case(const char *scenario, const char *extra,
                        const char *kind, const char *must)
{
    build_races();
    char prog[PATH_MAX + 64], err[PATH_MAX + 64];
    snprintf(prog, sizeof prog, "%s/races-gcc", tmp);
    snprintf(err, sizeof err, "%s/replay1.err", tmp);
    const char *env[] = { "WEFT_SEED=7", "WEFT_ITERATIONS=300", extra, NULL };
    int st;
    waitpid(start_arg(prog, scenario, err, env), &st, 0);
    char *out = slurp(err);
    const char *f = strstr(out, "weft: FAILED at execution");
    assert_non_null(f);
    const char *r = strstr(out, "  replay:");
    assert_non_null(r);
    r += strlen("  replay:");
    r += strspn(r, " ");
    char line[PATH_MAX + 512];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(r, "\n"), r);
    if (must != NULL)
        assert_non_null(strstr(line, must));
    const char *h = strstr(out, "trace hash: ");
    assert_non_null(h);
    char hash[32];
    snprintf(hash, sizeof hash, "%.*s", (int)strcspn(h, "\n"), h);

    snprintf(err, sizeof err, "%s/replay2.err", tmp);
    char cmd[2 * PATH_MAX + 600];
    snprintf(cmd, sizeof cmd, "%s 2>'%s' >/dev/null", line, err);
    int rc = system(cmd);
    char *out2 = slurp(err);
    if (!(WIFEXITED(rc) && WEXITSTATUS(rc) == 1) || !strstr(out2, kind) ||
        !strstr(out2, hash))
        print_error("replay of %s: %s\n%s\n", scenario, line, out2);
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 1);
    assert_non_null(strstr(out2, kind));
    assert_non_null(strstr(out2, hash));
    free(out);
    free(out2);
}

static void test_race_replay(void **state)
{
    (void)state;
    replay_case("rwlock_bad", NULL, "kind:      data race", NULL);
    replay_case("rwlock_bad", "WEFT_ISOLATE=fork", "kind:      data race",
                "WEFT_ISOLATE=fork");
    replay_case("rwlock_bad", "WEFT_ISOLATE=none", "kind:      data race",
                "WEFT_ISOLATE=none");
    replay_case("atomic_rmw", "WEFT_STRATEGY=pct", "SIGABRT",
                "WEFT_PCT_STEPS=");
}

/* Race-directed exploration (WEFT_RACE=report): the sites of a reported
 * race become scheduling points for the executions after it, so the
 * race's consequence, reachable only by a switch between two plain
 * accesses, is found too (at granularity atomics, the default, it is
 * not); the replay line carries the points (WEFT_RACE_POINTS) and
 * replays the failure. */
static void racepoints_case(const char *scenario, const char *assertion,
                            const char *jobs)
{
    static bool built;
    char prog[PATH_MAX + 64], err[PATH_MAX + 64];
    snprintf(prog, sizeof prog, "%s/racepoints", tmp);
    if (!built)
        sh("weft-cc (racepoints)",
           "WEFT_CC=gcc sh '%s/scripts/weft-cc' -O1 -o '%s' "
           "'%s/tests/weftcc/racepoints.c'",
           root, prog, root);
    built = true;
    int st;
    /* default settings: the race is the finding, and nothing else */
    snprintf(err, sizeof err, "%s/rp0.err", tmp);
    const char *env0[] = { "WEFT_SEED=1", "WEFT_ITERATIONS=200", NULL };
    waitpid(start_arg(prog, scenario, err, env0), &st, 0);
    char *out = slurp(err);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 1) ||
        !strstr(out, "kind:      data race") || strstr(out, assertion))
        print_error("%s, default settings:\n%s\n", scenario, out);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    assert_null(strstr(out, assertion));
    free(out);
    /* report mode: the race, then its consequence, within 50 executions
     * (with workers, each learns on its own, and the failing one's points
     * are in the replay line) */
    snprintf(err, sizeof err, "%s/rp2.err", tmp);
    const char *env2[] = { "WEFT_SEED=1", "WEFT_ITERATIONS=200",
                           "WEFT_RACE=report", jobs, NULL };
    waitpid(start_arg(prog, scenario, err, env2), &st, 0);
    out = slurp(err);
    const char *f = strstr(out, "weft: FAILED at execution ");
    unsigned at =
        f ? (unsigned)atoi(f + strlen("weft: FAILED at execution ")) : 0;
    const char *r = strstr(out, "  replay:    WEFT_SEED=");
    const char *d = strstr(out, "weft: data race:");
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 1) || d == NULL || f == NULL ||
        at == 0 || at > 50 || !strstr(out, assertion) ||
        !strstr(out, "race points learnt") || r == NULL ||
        (r = strstr(d, "weft: FAILED: crash")) == NULL ||
        (r = strstr(r, "  replay:    ")) == NULL ||
        !strstr(r, "WEFT_RACE_POINTS=exe+0x"))
        print_error("%s, report mode (%s):\n%s\n", scenario,
                    jobs ? jobs : "one job", out);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    assert_non_null(r);
    assert_true(at >= 1 && at <= 50);
    r += strlen("  replay:    ");
    const char *h = strstr(out, "trace hash: ");
    assert_non_null(h);
    char hash[32], line[4 * PATH_MAX + 2000];
    snprintf(hash, sizeof hash, "%.*s", (int)strcspn(h, "\n"), h);
    snprintf(line, sizeof line, "%.*s 2>'%s/rp3.err' >/dev/null",
             (int)strcspn(r, "\n"), r, tmp);
    int rc = system(line);
    snprintf(err, sizeof err, "%s/rp3.err", tmp);
    char *out2 = slurp(err);
    if (!(WIFEXITED(rc) && WEXITSTATUS(rc) == 1) ||
        !strstr(out2, "weft: FAILED at execution 1 of 1") ||
        !strstr(out2, assertion) || !strstr(out2, hash))
        print_error("replay (%s):\n%s\n", line, out2);
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 1);
    assert_non_null(strstr(out2, assertion));
    assert_non_null(strstr(out2, hash));
    free(out2);
    /* its schedule file records the points too: it replays alone */
    const char *o = strstr(r, "  or:        WEFT_REPLAY=");
    assert_non_null(o);
    o += strlen("  or:        WEFT_REPLAY=");
    snprintf(line, sizeof line,
             "WEFT_REPLAY=%.*s WEFT_RACE=report '%s' %s 2>'%s/rp3.err' "
             ">/dev/null",
             (int)strcspn(o, " \n"), o, prog, scenario, tmp);
    rc = system(line);
    out2 = slurp(err);
    if (!(WIFEXITED(rc) && WEXITSTATUS(rc) == 1) || !strstr(out2, assertion) ||
        !strstr(out2, hash))
        print_error("replay of the schedule file (%s):\n%s\n", line, out2);
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 1);
    assert_non_null(strstr(out2, hash));
    free(out2);
    free(out);
}

static void test_race_points(void **state)
{
    (void)state;
    racepoints_case("counter", "Assertion `counter == 2' failed", NULL);
    racepoints_case("publish", "Assertion `data == 42' failed", NULL);
    racepoints_case("publish", "Assertion `data == 42' failed", "WEFT_JOBS=2");
    /* keep going: two distinct failures, reported at the end of the
     * search, each with the points its own execution ran with (the first
     * found with fewer than were learnt by the end); each replays */
    {
        char prog[PATH_MAX + 64], err[PATH_MAX + 64];
        snprintf(prog, sizeof prog, "%s/racepoints", tmp);
        snprintf(err, sizeof err, "%s/rp5.err", tmp);
        const char *env[] = { "WEFT_SEED=1", "WEFT_ITERATIONS=300",
                              "WEFT_RACE=report", "WEFT_KEEP_GOING=1", NULL };
        int st;
        waitpid(start_arg(prog, "both", err, env), &st, 0);
        char *out = slurp(err);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
        unsigned n = 0;
        for (const char *p = out; (p = strstr(p, "weft: FAILED: crash")); p++) {
            const char *h = strstr(p, "trace hash: ");
            const char *r = strstr(p, "  replay:    ");
            assert_non_null(h);
            assert_non_null(r);
            char hash[32], line[4 * PATH_MAX + 2000];
            snprintf(hash, sizeof hash, "%.*s", (int)strcspn(h, "\n"), h);
            r += strlen("  replay:    ");
            snprintf(line, sizeof line, "%.*s 2>'%s/rp6.err' >/dev/null",
                     (int)strcspn(r, "\n"), r, tmp);
            int rc = system(line);
            char again[PATH_MAX + 64];
            snprintf(again, sizeof again, "%s/rp6.err", tmp);
            char *out2 = slurp(again);
            if (!(WIFEXITED(rc) && WEXITSTATUS(rc) == 1) || !strstr(out2, hash))
                print_error("replay (%s) of\n%s\ngave\n%s\n", line, out, out2);
            assert_non_null(strstr(out2, hash));
            free(out2);
            n++;
        }
        if (n != 2 || !strstr(out, "2 distinct failures"))
            print_error("%s\n", out);
        assert_int_equal(n, 2);
        free(out);
    }
    /* points in a shared library: named by its file name, replayed */
    {
        sh("weft-cc (racelib)",
           "cd '%s' && WEFT_CC=gcc sh '%s/scripts/weft-cc' -O1 -fPIC -shared "
           "-DRACELIB_LIB -o libracelib.so '%s/tests/weftcc/racelib.c' && "
           "WEFT_CC=gcc sh '%s/scripts/weft-cc' -O1 -o racelib "
           "'%s/tests/weftcc/racelib.c' -L. -lracelib -Wl,-rpath,'%s'",
           tmp, root, root, root, root, tmp);
        char prog[PATH_MAX + 64], err[PATH_MAX + 64];
        snprintf(prog, sizeof prog, "%s/racelib", tmp);
        snprintf(err, sizeof err, "%s/rp7.err", tmp);
        const char *env[] = { "WEFT_SEED=1", "WEFT_ITERATIONS=200",
                              "WEFT_RACE=report", NULL };
        int st;
        waitpid(start(prog, err, env), &st, 0);
        char *out = slurp(err);
        const char *c = strstr(out, "weft: FAILED: crash");
        const char *r = c ? strstr(c, "  replay:    ") : NULL;
        const char *h = c ? strstr(c, "trace hash: ") : NULL;
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 1) || r == NULL ||
            h == NULL || !strstr(r, "WEFT_RACE_POINTS=libracelib.so+0x"))
            print_error("racelib:\n%s\n", out);
        assert_non_null(r);
        assert_non_null(h);
        assert_non_null(strstr(r, "WEFT_RACE_POINTS=libracelib.so+0x"));
        char hash[32], line[4 * PATH_MAX + 2000];
        snprintf(hash, sizeof hash, "%.*s", (int)strcspn(h, "\n"), h);
        r += strlen("  replay:    ");
        snprintf(line, sizeof line, "cd '%s' && %.*s 2>rp8.err >/dev/null", tmp,
                 (int)strcspn(r, "\n"), r);
        int rc = system(line);
        snprintf(err, sizeof err, "%s/rp8.err", tmp);
        char *out2 = slurp(err);
        if (!(WIFEXITED(rc) && WEXITSTATUS(rc) == 1) || !strstr(out2, hash))
            print_error("replay (%s):\n%s\n", line, out2);
        assert_non_null(strstr(out2, hash));
        free(out2);
        free(out);
    }
    /* a bad WEFT_RACE_POINTS: a message, status 2 */
    static const char *const bad[] = { "WEFT_RACE_POINTS=exe+12",
                                       "WEFT_RACE_POINTS=exe+0x10,",
                                       "WEFT_RACE_POINTS=nolib.so+0x10",
                                       "WEFT_RACE_POINTS=exe+0x0" };
    char prog[PATH_MAX + 64], err[PATH_MAX + 64];
    snprintf(prog, sizeof prog, "%s/racepoints", tmp);
    snprintf(err, sizeof err, "%s/rp4.err", tmp);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *env[] = { "WEFT_RACE=report", bad[i], NULL };
        int st;
        waitpid(start_arg(prog, "counter", err, env), &st, 0);
        char *out = slurp(err);
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 2) ||
            !strstr(out, "weft: WEFT_RACE_POINTS "))
            print_error("%s: %s\n", bad[i], out);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
        assert_non_null(strstr(out, "weft: WEFT_RACE_POINTS "));
        free(out);
    }
}

/* pthread keys and C11 tss, destructors included: the program checks
 * itself, natively (so the checks are right) and under weft, isolated and
 * in-process. */
static void test_keys(void **state)
{
    (void)state;
    char src[PATH_MAX + 64], prog[PATH_MAX + 64], err[PATH_MAX + 64];
    snprintf(src, sizeof src, "%s/tests/weftcc/keys.c", root);
    sh("cc (native)",
       "cc -O1 -DCHECK_DESTRUCTORS -pthread -o '%s/keys-native' "
       "'%s'",
       tmp, src);
    sh("native run", "'%s/keys-native'", tmp);
    snprintf(prog, sizeof prog, "%s/keys", tmp);
    sh("weft-cc",
       "sh '%s/scripts/weft-cc' -O1 -DCHECK_DESTRUCTORS -o '%s' '%s'", root,
       prog, src);
    const char *iso[] = { "WEFT_SEED=1", "WEFT_ITERATIONS=200", NULL };
    const char *inproc[] = { "WEFT_SEED=1", "WEFT_ITERATIONS=50",
                             "WEFT_ISOLATE=0", NULL };
    const char **envs[] = { iso, inproc };
    for (int i = 0; i < 2; i++) {
        snprintf(err, sizeof err, "%s/keys%d.err", tmp, i);
        int st;
        waitpid(start_arg(prog, NULL, err, envs[i]), &st, 0);
        char *out = slurp(err);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            print_error("keys (%s): status %d\n%s\n",
                        i ? "in-process" : "isolated", st, out);
        free(out);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenarios),   cmocka_unit_test(test_report_once),
        cmocka_unit_test(test_race_replay), cmocka_unit_test(test_race_points),
        cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, locate, cleanup);
}
