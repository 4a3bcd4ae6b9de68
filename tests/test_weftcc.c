/*
 * test_weftcc.c: weft-cc on unmodified pthread and C11-threads programs.
 *
 * Builds every program of tests/corpus/ twice with scripts/weft-cc (the
 * bug, and its correct twin with -DFIXED; separate compile and link steps
 * for one of them), runs the bug with a pinned seed and a budget and
 * checks its exit status, the finding kind in the report and the replay
 * line, then runs each twin over 2000 isolated executions and checks it
 * stays clean. The runs go in parallel (they are separate processes).
 * Missing build tools are a failure with a message, never a skip.
 */
#include "weftcc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct prog {
    const char *name;
    const char *kinds[3]; /* any of these in the report is right */
    const char *env;      /* extra VAR=value for the bug run, or NULL */
};

/* Budgets: the bug must show within 1000 executions from seed 1.
 * One program per shape of ../shared/bug-patterns.md that plain pthreads
 * or C11 threads can express (the number is the pattern's); the header
 * comment of each file says what goes wrong and what -DFIXED changes.
 * Kinds: assert() aborts, which weft reports as a crash with SIGABRT; a
 * racy program may show its data race first (weft-cc's default TSan
 * instrumentation), so both are accepted there. Pattern 8 (atomic blocks)
 * has no plain-C form: token_pass holds one global mutex across each
 * block instead, which gives the same interleavings. */
static const struct prog corpus[] = {
    /* A. atomicity violations */
    /* 1 */ { "lost_update", { "data race", "crash", "SIGABRT" }, NULL },
    /* 1, 3 (locked) */ { "c11_counter", { "crash", "SIGABRT" }, NULL },
    /* 2 */ { "two_stage", { "crash", "SIGABRT" }, NULL },
    /* 3, C11 */ { "toctou_slots", { "crash", "SIGABRT" }, NULL },
    /* 4 */ { "reorder", { "data race", "crash", "SIGABRT" }, NULL },
    /* 5 */ { "stack_check", { "crash", "SIGABRT" }, NULL },
    /* 6 */ { "queue_flag", { "crash", "SIGABRT" }, NULL },
    /* 7 */ { "bank_audit", { "crash", "SIGABRT" }, NULL },
    /* 8, C11 */ { "token_pass", { "crash", "SIGABRT" }, NULL },
    /* B. ordering violations */
    /* 9, C11 */ { "use_before_init", { "crash", "SIGABRT" }, NULL },
    /* 10 */ { "check_before_join", { "crash", "SIGABRT" }, NULL },
    /* 11 */ { "last_writer", { "crash", "SIGABRT" }, NULL },
    /* 12 */ { "loop_index", { "data race", "crash", "SIGABRT" }, NULL },
    /* 13 */ { "lazy_init", { "crash", "SIGABRT" }, NULL },
    /* 14 */ { "dcl", { "data race", "crash", "SIGABRT" }, NULL },
    /* C. blocking and deadlock */
    /* with the lock-order detector off, the deadlock itself */
    /* 15 */ { "abba", { "deadlock" }, "WEFT_LOCK_ORDER=0" },
    /* with it on (default), the inversion is reported first */
    /* 16 */ { "bank", { "lock-order inversion", "deadlock" }, NULL },
    /* 17 */ { "philosophers", { "deadlock" }, "WEFT_LOCK_ORDER=0" },
    /* 18 */ { "relock", { "lock misuse", "deadlock" }, NULL },
    /* 19 */ { "lost_wakeup", { "deadlock" }, NULL },
    /* 20 */ { "if_while", { "crash", "SIGABRT" }, NULL },
    /* the lock-order detector would flag the light switch first */
    /* 21 */ { "foreign_unlock", { "lock misuse" }, "WEFT_LOCK_ORDER=0" },
    /* 22 (a) */ { "barrier_reuse", { "crash", "SIGABRT" }, NULL },
    /* 22c */ { "barrier_early", { "data race", "crash", "SIGABRT" }, NULL },
    /* D. shared data structures and protocols */
    /* 23, C11 */ { "ring_buffer", { "crash", "SIGABRT" }, NULL },
    /* 24 */ { "rwlock_flags", { "data race", "crash", "SIGABRT" }, NULL },
    /* 25 */ { "peterson", { "data race", "crash", "SIGABRT" }, NULL },
    /* 26, depth 3 */ { "aba", { "crash", "SIGABRT" }, NULL },
    /* 27 */ { "ws_deque", { "crash", "SIGABRT" }, NULL },
    /* 28 */ { "stop_io", { "crash", "SIGABRT" }, NULL },
    /* 29 */
    { "use_after_free", { "data race", "lock misuse", "crash" }, NULL },
    /* virtual time: a too-short timed wait */
    { "timeout", { "crash", "SIGABRT" }, NULL },
};
#define NPROG           (sizeof corpus / sizeof corpus[0])
#define TWIN_EXECUTIONS "2000"

static void build_all(void)
{
    for (size_t i = 0; i < NPROG; i++) {
        const char *n = corpus[i].name;
        /* one program through separate compile and link steps */
        if (i == 0) {
            sh("weft-cc compile",
               "sh '%s/scripts/weft-cc' -O1 -c -o '%s/%s.o' "
               "'%s/tests/corpus/%s.c'",
               root, tmp, n, root, n);
            sh("weft-cc link", "sh '%s/scripts/weft-cc' -o '%s/%s' '%s/%s.o'",
               root, tmp, n, tmp, n);
        } else {
            sh("weft-cc",
               "sh '%s/scripts/weft-cc' -O1 -o '%s/%s' "
               "'%s/tests/corpus/%s.c'",
               root, tmp, n, root, n);
        }
        sh("weft-cc -DFIXED",
           "sh '%s/scripts/weft-cc' -O1 -DFIXED -o "
           "'%s/%s_fixed' '%s/tests/corpus/%s.c'",
           root, tmp, n, root, n);
    }
}

static void test_corpus(void **state)
{
    (void)state;
    build_all();

    pid_t bug[NPROG], twin[NPROG];
    char path[PATH_MAX + 64], err[PATH_MAX + 64];
    for (size_t i = 0; i < NPROG; i++) {
        const char *n = corpus[i].name;
        const char *env[] = { "WEFT_SEED=1", "WEFT_ITERATIONS=1000",
                              corpus[i].env, NULL };
        snprintf(path, sizeof path, "%s/%s", tmp, n);
        snprintf(err, sizeof err, "%s/%s.err", tmp, n);
        bug[i] = start(path, err, env);
        const char *tenv[] = { "WEFT_SEED=1",
                               "WEFT_ITERATIONS=" TWIN_EXECUTIONS, NULL };
        snprintf(path, sizeof path, "%s/%s_fixed", tmp, n);
        snprintf(err, sizeof err, "%s/%s_fixed.err", tmp, n);
        twin[i] = start(path, err, tenv);
    }

    int bad = 0;
    for (size_t i = 0; i < NPROG; i++) {
        const char *n = corpus[i].name;
        int st;
        waitpid(bug[i], &st, 0);
        snprintf(err, sizeof err, "%s/%s.err", tmp, n);
        char *out = slurp(err);
        bool kind = false;
        for (int k = 0; k < 3 && corpus[i].kinds[k]; k++)
            kind = kind || strstr(out, corpus[i].kinds[k]) != NULL;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 1 || !kind ||
            strstr(out, "replay:") == NULL) {
            print_error("%s: expected exit 1, a %s finding and a replay "
                        "line; got status %d:\n%s\n",
                        n, corpus[i].kinds[0], st, out);
            bad++;
        } else {
            const char *f = strstr(out, "weft: FAILED at execution");
            print_message("%s: %.*s\n", n, f ? (int)strcspn(f, "\n") : 0,
                          f ? f : "");
        }
        free(out);

        waitpid(twin[i], &st, 0);
        snprintf(err, sizeof err, "%s/%s_fixed.err", tmp, n);
        out = slurp(err);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
            strstr(out, "weft: OK: " TWIN_EXECUTIONS " executions") == NULL) {
            print_error("%s_fixed: expected exit 0 after %s clean "
                        "executions; got status %d:\n%s\n",
                        n, TWIN_EXECUTIONS, st, out);
            bad++;
        } else {
            print_message("%s_fixed: %.*s", n, (int)strcspn(out, "\n") + 1,
                          out);
        }
        free(out);
    }
    assert_int_equal(bad, 0);
}

/* The systematic search on every corpus program, executions starting from
 * the snapshot: each bug found (within 2 preemptions; two need 3), each twin's
 * bounded space exhausted, or 100,000 executions of it passed, without a
 * finding. */
static bool needs_three(const char *name)
{
    return strcmp(name, "aba") == 0 || strcmp(name, "ws_deque") == 0;
}

static void test_corpus_dfs(void **state)
{
    (void)state;
    char path[PATH_MAX + 64], err[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/if_while", tmp);
    if (access(path, X_OK) != 0)
        build_all();
    int bad = 0;
    for (size_t i = 0; i < NPROG; i++) {
        const char *n = corpus[i].name;
        const char *env[] = { "WEFT_STRATEGY=dfs", "WEFT_ITERATIONS=100000",
                              needs_three(n) ? "WEFT_PREEMPTIONS=3"
                                             : "WEFT_PREEMPTIONS=2",
                              corpus[i].env, NULL };
        snprintf(path, sizeof path, "%s/%s", tmp, n);
        snprintf(err, sizeof err, "%s/%s.dfs.err", tmp, n);
        pid_t bug = start(path, err, env);
        const char *tenv[] = { "WEFT_STRATEGY=dfs", "WEFT_ITERATIONS=100000",
                               "WEFT_PREEMPTIONS=2", NULL };
        snprintf(path, sizeof path, "%s/%s_fixed", tmp, n);
        snprintf(err, sizeof err, "%s/%s_fixed.dfs.err", tmp, n);
        pid_t twin = start(path, err, tenv);

        int st;
        waitpid(bug, &st, 0);
        snprintf(err, sizeof err, "%s/%s.dfs.err", tmp, n);
        char *out = slurp(err);
        bool kind = false;
        for (int k = 0; k < 3 && corpus[i].kinds[k]; k++)
            kind = kind || strstr(out, corpus[i].kinds[k]) != NULL;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 1 || !kind ||
            strstr(out, "confirmed: replayed in a fresh process: the same "
                        "finding, by the same trace") == NULL) {
            print_error("%s (dfs): expected exit 1 and a confirmed %s "
                        "finding; got status %d:\n%s\n",
                        n, corpus[i].kinds[0], st, out);
            bad++;
        }
        free(out);
        waitpid(twin, &st, 0);
        snprintf(err, sizeof err, "%s/%s_fixed.dfs.err", tmp, n);
        out = slurp(err);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
            (strstr(out, "the search is exhausted: every execution with at "
                         "most 2 preemptions") == NULL &&
             strstr(out, "weft: OK: 100000 executions") == NULL)) {
            print_error("%s_fixed (dfs): expected exit 0, exhausted or "
                        "100000 clean executions; got status %d:\n%s\n",
                        n, st, out);
            bad++;
        } else {
            print_message("%s_fixed (dfs): %.*s", n,
                          (int)strcspn(out, "\n") + 1, out);
        }
        free(out);
    }
    assert_int_equal(bad, 0);
}

/* The replay line of a failure replays it: same finding, one execution. */
static void test_replay(void **state)
{
    (void)state;
    char path[PATH_MAX + 64], err[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/if_while", tmp);
    if (access(path, X_OK) != 0)
        build_all();
    snprintf(err, sizeof err, "%s/replay1.err", tmp);
    const char *env[] = { "WEFT_SEED=1", "WEFT_ITERATIONS=1000", NULL };
    int st;
    waitpid(start(path, err, env), &st, 0);
    char *out = slurp(err);
    const char *r = strstr(out, "weft: FAILED at execution");
    assert_non_null(r);
    r = strstr(out, "  replay:    WEFT_SEED=");
    assert_non_null(r);
    r = strstr(r, "WEFT_SEED=");
    assert_non_null(r);
    char seed[64];
    snprintf(seed, sizeof seed, "WEFT_SEED=%.*s", (int)strcspn(r + 10, " "),
             r + 10);
    free(out);

    snprintf(err, sizeof err, "%s/replay2.err", tmp);
    const char *env2[] = { seed, "WEFT_ITERATIONS=1", NULL };
    waitpid(start(path, err, env2), &st, 0);
    out = slurp(err);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    assert_non_null(strstr(out, "weft: FAILED at execution 1 of 1"));
    assert_non_null(strstr(out, "SIGABRT"));
    free(out);
}

/* Outside an exploration the interposers pass through to glibc: a
 * program's constructor can take a real mutex and start a real thread. */
static void test_passthrough(void **state)
{
    (void)state;
    char src[PATH_MAX + 64], path[PATH_MAX + 64], err[PATH_MAX + 64];
    snprintf(src, sizeof src, "%s/ctor.c", tmp);
    FILE *f = fopen(src, "w");
    assert_non_null(f);
    fputs("#include <pthread.h>\n#include <time.h>\n"
          "static int v;\n"
          "static void *t(void *a) { (void)a; v = 1; return NULL; }\n"
          "__attribute__((constructor)) static void ctor(void) {\n"
          "  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;\n"
          "  pthread_mutex_lock(&m); pthread_mutex_unlock(&m);\n"
          "  pthread_t th; pthread_create(&th, NULL, t, NULL);\n"
          "  pthread_join(th, NULL);\n"
          "  if (time(NULL) < 1600000000 || v != 1) __builtin_trap();\n"
          "}\n"
          "int main(void) {\n"
          "  struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts);\n"
          "  return ts.tv_sec == 1700000000 ? 0 : 3;\n"
          "}\n",
          f);
    fclose(f);
    snprintf(path, sizeof path, "%s/ctor", tmp);
    sh("weft-cc", "sh '%s/scripts/weft-cc' -o '%s' '%s'", root, path, src);
    snprintf(err, sizeof err, "%s/ctor.err", tmp);
    const char *env[] = { "WEFT_ITERATIONS=50", NULL };
    int st;
    waitpid(start(path, err, env), &st, 0);
    char *out = slurp(err);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        print_error("%s\n", out);
    free(out);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_corpus_dfs),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_passthrough),
    };
    return cmocka_run_group_tests(tests, locate, cleanup);
}
