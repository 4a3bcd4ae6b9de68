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
    const char *name;     /* unique: the binary is <tmp>/<name> */
    const char *src;      /* under tests/realcode/ */
    const char *cflags;   /* extra flags for weft-cc, or NULL */
    const char *arg;      /* the program's argument, or NULL */
    const char *env[4];   /* extra VAR=value settings */
    int status;           /* expected exit status */
    const char *want[4];  /* each must be in stderr */
    const char *never[3]; /* none may be */
};

static const struct rc_case cases[] = {
    /* an MCS lock: the waiter spins on a volatile flag in a node on its
     * own stack (it hung), synchronizing through fences (a false race) */
    { "mcs",
      "mcs_lock.c",
      NULL,
      NULL,
      {},
      0,
      { "OK: " RUNS " executions" },
      { "data race", "hang" } },
    { "mcs_pct",
      "mcs_lock.c",
      NULL,
      NULL,
      { "WEFT_STRATEGY=pct" },
      0,
      { "OK: " RUNS " executions" },
      { "data race", "hang" } },
    { "mcs_dfs",
      "mcs_lock.c",
      NULL,
      NULL,
      { "WEFT_STRATEGY=dfs" },
      0,
      { "OK: " RUNS " executions" },
      { "data race", "hang" } },
    /* its fences removed: the counter it protects is raced on */
    { "mcs_nofence",
      "mcs_lock.c",
      "-DNO_FENCES",
      NULL,
      {},
      1,
      { "kind:      data race", "global 'counter'" },
      {} },
    /* a correct busy wait on an atomic flag: pct and dfs hit the step
     * bound before spins were recognised */
    { "busy_pct",
      "busy_wait.c",
      NULL,
      NULL,
      { "WEFT_STRATEGY=pct" },
      0,
      { "OK: " RUNS " executions" },
      { "step bound" } },
    { "busy_pct1",
      "busy_wait.c",
      NULL,
      NULL,
      { "WEFT_STRATEGY=pct", "WEFT_PCT_DEPTH=1" },
      0,
      { "OK: " RUNS " executions" },
      { "step bound" } },
    { "busy_dfs",
      "busy_wait.c",
      NULL,
      NULL,
      { "WEFT_STRATEGY=dfs" },
      0,
      { "OK: " RUNS " executions" },
      { "step bound" } },
    /* thread-local storage and errno per thread */
    { "tls",
      "tls.c",
      NULL,
      "tls",
      {},
      0,
      { "OK: " RUNS " executions" },
      { "data race", "tls:" } },
    { "tls_pct",
      "tls.c",
      NULL,
      "tls",
      { "WEFT_STRATEGY=pct" },
      0,
      { "OK: " RUNS " executions" },
      { "data race", "tls:" } },
    { "tls_inproc",
      "tls.c",
      NULL,
      "tls",
      { "WEFT_ISOLATE=0" },
      0,
      { "OK: " RUNS " executions" },
      { "data race", "tls:" } },
    /* WEFT_TLS=0 shares the initial thread's, as weft-cc did before: the
     * program's own checks fail (this is what the separation fixes) */
    { "tls_shared",
      "tls.c",
      NULL,
      "tls",
      { "WEFT_TLS=0", "WEFT_RACE=off" },
      1,
      { "SIGABRT", "tls: " },
      {} },
    { "tls_handed",
      "tls.c",
      NULL,
      "tls_handed",
      {},
      1,
      { "kind:      data race",
        "thread-local variable 'counter' of task 1 \"owner\"" },
      {} },
    { "tls_bad",
      "tls.c",
      NULL,
      "tls",
      { "WEFT_TLS=yes" },
      2,
      { "WEFT_TLS must be 0 or 1" },
      {} },
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
        if (j < i) {
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
    };
    return cmocka_run_group_tests(tests, locate, cleanup);
}
