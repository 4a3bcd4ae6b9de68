/*
 * test_snapshot.c: weft-cc's snapshot executions (tests/weftcc/snap.c):
 * each execution starts from what main started with (globals, heap,
 * descriptors, umask, cwd, signals, mappings), what cannot be undone is
 * noticed and handed to fork mode, a failure only leftovers could cause
 * is flagged NOT CONFIRMED, dfs and dpor search across executions, JSON
 * describes a clean exploration, and shards and jobs split the executions
 * without losing or repeating one.
 */
#include "weftcc.h"

#define RUNS "300"

struct snap_case {
    const char *arg;      /* the scenario */
    const char *env[4];   /* extra VAR=value settings */
    int status;           /* expected exit status */
    const char *want[4];  /* each must be in stderr */
    const char *never[3]; /* none may be */
};

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define OK_RUNS "OK: " RUNS " executions"

static const struct snap_case cases[] = {
    /* everything an execution changes is put back */
    { "fresh",
      {},
      0,
      { OK_RUNS ", no finding (snapshot" },
      { "note:", "snap:" } },
    { "fresh",
      { "WEFT_ISOLATE=fork" },
      0,
      { OK_RUNS, "(fork" },
      { "snap:", "WEFT_SHRINK" } },
    /* shrinking asked for where it cannot be done: said, not ignored */
    { "fresh",
      { "WEFT_ISOLATE=fork", "WEFT_SHRINK=1" },
      0,
      { OK_RUNS, "note: WEFT_SHRINK is not done in fork mode" },
      { "snap:" } },
    /* ... which in-process mode does not do: the scenario can tell */
    { "fresh",
      { "WEFT_ISOLATE=none" },
      1,
      { "snap: a global kept the last execution's value" } },
    /* a bug that needs ten strictly alternating critical sections: the
     * systematic search finds it across executions (globals reset) */
    { "alternate",
      { "WEFT_STRATEGY=dfs", "WEFT_PREEMPTIONS=-1", "WEFT_ITERATIONS=1000000" },
      1,
      { "SIGABRT (abort) at tests/weftcc/snap.c:", "(alternate_worker)",
        "confirmed: replayed in a fresh process" },
      { "NOT CONFIRMED" } },
    { "alternate_fixed",
      { "WEFT_STRATEGY=dfs", "WEFT_PREEMPTIONS=2", "WEFT_ITERATIONS=1000000" },
      0,
      { "the search is exhausted: every execution with at most 2 "
        "preemptions" },
      { "snap:" } },
    /* dpor too: one execution per order of the ten sections, C(10, 5) */
    { "alternate",
      { "WEFT_STRATEGY=dpor", "WEFT_PREEMPTIONS=-1",
        "WEFT_ITERATIONS=1000000" },
      1,
      { "SIGABRT (abort) at tests/weftcc/snap.c:",
        "confirmed: replayed in a fresh process" },
      { "NOT CONFIRMED" } },
    { "alternate_fixed",
      { "WEFT_STRATEGY=dpor", "WEFT_PREEMPTIONS=-1",
        "WEFT_ITERATIONS=1000000" },
      0,
      { "OK: 252 executions, no finding, the search is exhausted: every "
        "interleaving of the visible operations" },
      { "snap:" } },
    /* what a snapshot cannot undo: said once, with the line, then the
     * executions go on in forked processes */
    { "leak_write",
      {},
      0,
      { "execution 1 did what a snapshot cannot undo (a write to a file "
        "descriptor open before main at tests/weftcc/snap.c:",
        "go on in forked processes", OK_RUNS, "the first 1 in snapshot mode" },
      { "warning" } },
    { "leak_shared",
      {},
      0,
      { "(mmap of a file or of shared memory at tests/weftcc/snap.c:",
        OK_RUNS } },
    /* ... which a dfs cannot do: it stops, saying so */
    { "leak_write",
      { "WEFT_STRATEGY=dfs" },
      2,
      { "a dfs search cannot go on in forked processes: stopped after 1 "
        "execution" } },
    /* 64 MiB mapped in every execution under a 4 GiB limit */
    { "mmap_private", {}, 0, { OK_RUNS }, { "snap:", "note:" } },
    /* a failure only kernel state an earlier execution left can cause */
    { "renamed",
      {},
      1,
      { "weft: NOT CONFIRMED", "replayed in a fresh process",
        "snap: the thread kept the name" } },
};
#define NCASES (sizeof cases / sizeof cases[0])

static char prog[PATH_MAX + 64];

static void build_snap(void)
{
    static bool built;
    if (built)
        return;
    snprintf(prog, sizeof prog, "%s/snap", tmp);
    sh("weft-cc",
       "sh '%s/scripts/weft-cc' -O1 -o '%s' '%s/tests/weftcc/snap.c'", root,
       prog, root);
    built = true;
}

static void test_cases(void **state)
{
    (void)state;
    build_snap();
    int bad = 0;
    char err[PATH_MAX + 64];
    /* two at a time: the machine's cores */
    for (size_t i = 0; i < NCASES; i += 2) {
        pid_t pid[2] = { 0, 0 };
        for (size_t j = i; j < i + 2 && j < NCASES; j++) {
            const struct snap_case *c = &cases[j];
            const char *env[7] = { "WEFT_SEED=1", "WEFT_ITERATIONS=" RUNS };
            for (int k = 0; k < 4 && c->env[k]; k++)
                env[2 + k] = c->env[k];
            snprintf(err, sizeof err, "%s/case%zu.err", tmp, j);
            pid[j - i] = start_arg(prog, c->arg, err, env);
        }
        for (size_t j = i; j < i + 2 && j < NCASES; j++) {
            const struct snap_case *c = &cases[j];
            int st;
            waitpid(pid[j - i], &st, 0);
            snprintf(err, sizeof err, "%s/case%zu.err", tmp, j);
            char *out = slurp(err);
            bool ok = WIFEXITED(st) && WEXITSTATUS(st) == c->status;
            for (int k = 0; k < 4 && c->want[k]; k++)
                ok = ok && strstr(out, c->want[k]) != NULL;
            for (int k = 0; k < 3 && c->never[k]; k++)
                ok = ok && strstr(out, c->never[k]) == NULL;
            if (!ok) {
                print_error("snap %s (%s %s): expected status %d with \"%s\"; "
                            "got %d:\n%s\n",
                            c->arg, c->env[0] ? c->env[0] : "",
                            c->env[1] ? c->env[1] : "", c->status,
                            c->want[0] ? c->want[0] : "",
                            WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
                bad++;
            }
            free(out);
        }
    }
    assert_int_equal(bad, 0);
}

/* Run the program with settings; stdout into outfile, stderr into
 * errfile; the exit status. */
static int run_capture(const char *arg, const char *const env[],
                       const char *outfile, const char *errfile)
{
    int st;
    waitpid(start_io(prog, arg, outfile, errfile, env), &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* WEFT_JSON describes the whole exploration, a clean one too. */
static void test_json(void **state)
{
    (void)state;
    build_snap();
    char json[PATH_MAX + 64], json_env[PATH_MAX + 80], out[PATH_MAX + 64],
        err[PATH_MAX + 64];
    snprintf(json, sizeof json, "%s/clean.json", tmp);
    snprintf(json_env, sizeof json_env, "WEFT_JSON=%s", json);
    snprintf(out, sizeof out, "%s/json.out", tmp);
    snprintf(err, sizeof err, "%s/json.err", tmp);
    const char *env[] = { "WEFT_ITERATIONS=" RUNS, json_env, NULL };
    assert_int_equal(run_capture("fresh", env, out, err), 0);
    char *j = slurp(json);
    if (strstr(j, "\"finding\": null") == NULL)
        print_error("%s\n", j);
    assert_non_null(strstr(j, "\"finding\": null"));
    assert_non_null(strstr(j, "\"executions\": " RUNS ","));
    assert_non_null(strstr(j, "\"exhausted\": false"));
    free(j);

    const char *dfs[] = { "WEFT_ITERATIONS=100000", "WEFT_STRATEGY=dfs",
                          "WEFT_PREEMPTIONS=2", json_env, NULL };
    assert_int_equal(run_capture("alternate_fixed", dfs, out, err), 0);
    j = slurp(json);
    assert_non_null(strstr(j, "\"finding\": null"));
    assert_non_null(strstr(j, "\"exhausted\": true"));
    free(j);

    const char *bug[] = { "WEFT_ITERATIONS=100000", json_env, NULL };
    assert_int_equal(run_capture("alternate", bug, out, err), 1);
    j = slurp(json);
    assert_non_null(strstr(j, "\"kind\": \"crash\""));
    assert_non_null(strstr(j, "\"execution\": "));
    free(j);
}

/* Synchronization coverage of a weft-cc program names its source lines
 * (symbolized), not code addresses. */
static void test_sync_coverage(void **state)
{
    (void)state;
    build_snap();
    char info[PATH_MAX + 64], env_cov[PATH_MAX + 96], out[PATH_MAX + 64],
        err[PATH_MAX + 64];
    snprintf(info, sizeof info, "%s/sync.info", tmp);
    snprintf(env_cov, sizeof env_cov, "WEFT_SYNC_COVERAGE=%s", info);
    snprintf(out, sizeof out, "%s/cov.out", tmp);
    snprintf(err, sizeof err, "%s/cov.err", tmp);
    const char *env[] = { "WEFT_ITERATIONS=50", env_cov, NULL };
    assert_int_equal(run_capture("order", env, out, err), 0);
    char *c = slurp(info);
    if (strstr(c, "tests/weftcc/snap.c\n") == NULL)
        print_error("%s\n", c);
    assert_non_null(strstr(c, "SF:"));
    assert_non_null(strstr(c, "tests/weftcc/snap.c\nDA:"));
    assert_null(strstr(c, "<pc>"));
    free(c);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of a file, sorted, joined: a multiset to compare. */
static char *sorted_lines(const char *path, unsigned *n)
{
    char *s = slurp(path);
    char *lines[4096];
    *n = 0;
    for (char *p = strtok(s, "\n"); p != NULL && *n < 4096;
         p = strtok(NULL, "\n"))
        lines[(*n)++] = p;
    qsort(lines, *n, sizeof lines[0], cmp_str);
    size_t len = 0;
    for (unsigned i = 0; i < *n; i++)
        len += strlen(lines[i]) + 1;
    char *out = malloc(len + 1), *w = out;
    for (unsigned i = 0; i < *n; i++)
        w += sprintf(w, "%s\n", lines[i]);
    *w = '\0';
    free(s);
    return out;
}

/* Shards and jobs: each execution once, whoever runs it. The program
 * prints one line per execution (the order three threads took a lock):
 * the shards' lines together are the unsharded run's, as multisets. */
static void test_shards(void **state)
{
    (void)state;
    build_snap();
    char out[PATH_MAX + 64], err[PATH_MAX + 64], all[PATH_MAX + 64];
    snprintf(all, sizeof all, "%s/all.out", tmp);
    snprintf(err, sizeof err, "%s/shard.err", tmp);
    const char *env[] = { "WEFT_ITERATIONS=240", NULL };
    assert_int_equal(run_capture("order", env, all, err), 0);
    unsigned n;
    char *want = sorted_lines(all, &n);
    assert_int_equal(n, 240);

    char cat[PATH_MAX * 3 + 64];
    snprintf(cat, sizeof cat, "%s/shards.out", tmp);
    FILE *f = fopen(cat, "w");
    assert_non_null(f);
    for (int k = 1; k <= 3; k++) {
        char shard[40];
        snprintf(shard, sizeof shard, "WEFT_SHARD=%d/3", k);
        snprintf(out, sizeof out, "%s/shard%d.out", tmp, k);
        const char *senv[] = { "WEFT_ITERATIONS=240", shard, NULL };
        assert_int_equal(run_capture("order", senv, out, err), 0);
        char *e = slurp(err);
        assert_non_null(strstr(e, "OK: 80 executions"));
        free(e);
        char *o = slurp(out);
        fputs(o, f);
        free(o);
    }
    fclose(f);
    char *got = sorted_lines(cat, &n);
    assert_int_equal(n, 240);
    assert_string_equal(got, want);
    free(got);

    snprintf(out, sizeof out, "%s/jobs.out", tmp);
    const char *jenv[] = { "WEFT_ITERATIONS=240", "WEFT_JOBS=2", NULL };
    assert_int_equal(run_capture("order", jenv, out, err), 0);
    got = sorted_lines(out, &n);
    assert_int_equal(n, 240);
    assert_string_equal(got, want);
    free(got);
    free(want);
}

/* A schedule recorded where the program failed, replayed where it passes
 * (another input): a divergence, in every mode, never a pass. */
static void test_divergence(void **state)
{
    (void)state;
    build_snap();
    char sched[PATH_MAX + 64], out_env[PATH_MAX + 96], rep_env[PATH_MAX + 96],
        out[PATH_MAX + 64], err[PATH_MAX + 64];
    snprintf(sched, sizeof sched, "%s/input.schedule", tmp);
    snprintf(out_env, sizeof out_env, "WEFT_SCHEDULE_OUT=%s", sched);
    snprintf(rep_env, sizeof rep_env, "WEFT_REPLAY=%s", sched);
    snprintf(out, sizeof out, "%s/input.out", tmp);
    snprintf(err, sizeof err, "%s/input.err", tmp);
    const char *rec[] = { "SNAP_FAIL=1", "WEFT_ISOLATE=none", out_env, NULL };
    assert_int_equal(run_capture("input", rec, out, err), 1);
    const char *const modes[] = { "WEFT_ISOLATE=snapshot", "WEFT_ISOLATE=fork",
                                  "WEFT_ISOLATE=none" };
    for (int m = 0; m < 3; m++) {
        const char *env[] = { rep_env, modes[m], NULL };
        int rc = run_capture("input", env, out, err);
        char *e = slurp(err);
        if (rc != 1 || strstr(e, "the recorded execution ended with a "
                                 "crash, this one passed") == NULL)
            print_error("%s: status %d\n%s\n", modes[m], rc, e);
        assert_int_equal(rc, 1);
        assert_non_null(strstr(e, "kind:      nondeterminism"));
        assert_non_null(strstr(e, "the recorded execution ended with a "
                                  "crash, this one passed"));
        free(e);
    }
    /* with the same input it replays the failure */
    const char *same[] = { rep_env, "SNAP_FAIL=1", NULL };
    assert_int_equal(run_capture("input", same, out, err), 1);
    char *e = slurp(err);
    assert_non_null(strstr(e, "kind:      crash"));
    free(e);
}

/* Persisted failures and WEFT_KEEP_GOING in a weft-cc program: the
 * failure is written under WEFT_FAILURE_DIR/<program>/, the next run
 * replays it first ("still fails"), a fixed build's run says it "passes
 * now" and goes on; keep-going runs every execution after the failure. */
static void test_persisted_and_keep_going(void **state)
{
    (void)state;
    build_snap();
    char dir[PATH_MAX + 64], dir_env[PATH_MAX + 96], json[PATH_MAX + 64],
        json_env[PATH_MAX + 96], out[PATH_MAX + 64], err[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/failures", tmp);
    snprintf(dir_env, sizeof dir_env, "WEFT_FAILURE_DIR=%s", dir);
    snprintf(json, sizeof json, "%s/keep.json", tmp);
    snprintf(json_env, sizeof json_env, "WEFT_JSON=%s", json);
    snprintf(out, sizeof out, "%s/persist.out", tmp);
    snprintf(err, sizeof err, "%s/persist.err", tmp);
    const char *bug[] = { "WEFT_SEED=1", "WEFT_ITERATIONS=100000", dir_env,
                          NULL };
    assert_int_equal(run_capture("alternate", bug, out, err), 1);
    char *e = slurp(err);
    char *p = strstr(e, "WEFT_REPLAY=");
    if (p == NULL || strstr(p, "/failures/snap/crash-") == NULL)
        print_error("no persisted schedule named:\n%s\n", e);
    assert_non_null(p);
    free(e);

    assert_int_equal(run_capture("alternate", bug, out, err), 1);
    e = slurp(err);
    if (strstr(e, "still fails") == NULL)
        print_error("%s\n", e);
    assert_non_null(strstr(e, "weft: snap: persisted failure "));
    assert_non_null(strstr(e, "still fails"));
    assert_non_null(strstr(e, "FAILED replaying a persisted failure"));
    free(e);

    const char *fixed[] = { "WEFT_SEED=1", "WEFT_ITERATIONS=" RUNS, dir_env,
                            NULL };
    assert_int_equal(run_capture("alternate_fixed", fixed, out, err), 0);
    e = slurp(err);
    assert_non_null(strstr(e, "passes now"));
    assert_non_null(strstr(e, "OK: " RUNS " executions"));
    free(e);

    const char *keep[] = { "WEFT_SEED=1", "WEFT_ITERATIONS=3000",
                           "WEFT_KEEP_GOING=1", json_env, NULL };
    assert_int_equal(run_capture("alternate", keep, out, err), 1);
    char *j = slurp(json);
    if (strstr(j, "\"executions\": 3000,") == NULL)
        print_error("%s\n", j);
    assert_non_null(strstr(j, "\"executions\": 3000,"));
    assert_non_null(strstr(j, "\"failures\": 1"));
    assert_non_null(strstr(j, "\"kind\": \"crash\""));
    free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_shards),
        cmocka_unit_test(test_divergence),
        cmocka_unit_test(test_sync_coverage),
        cmocka_unit_test(test_persisted_and_keep_going),
    };
    return cmocka_run_group_tests(tests, locate, cleanup);
}
