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

#include <cmocka.h>

struct prog {
    const char *name;
    const char *kinds[3]; /* any of these in the report is right */
    const char *env;      /* extra VAR=value for the bug run, or NULL */
};

/* Budgets: the bug must show within 1000 executions from seed 1. */
static const struct prog corpus[] = {
    /* with the lock-order detector off, the deadlock itself */
    { "abba", { "deadlock" }, "WEFT_LOCK_ORDER=0" },
    /* with it on (default), the inversion is reported first */
    { "bank", { "lock-order inversion", "deadlock" }, NULL },
    { "philosophers", { "deadlock" }, "WEFT_LOCK_ORDER=0" },
    { "lost_wakeup", { "deadlock" }, NULL },
    /* assert() aborts: weft reports the SIGABRT as a crash */
    { "if_while", { "crash", "SIGABRT" }, NULL },
    { "lazy_init", { "crash", "SIGABRT" }, NULL },
    { "two_stage", { "crash", "SIGABRT" }, NULL },
    { "timeout", { "crash", "SIGABRT" }, NULL },
    { "c11_counter", { "crash", "SIGABRT" }, NULL },
};
#define NPROG           (sizeof corpus / sizeof corpus[0])
#define TWIN_EXECUTIONS "2000"

static char root[PATH_MAX], build[PATH_MAX], tmp[PATH_MAX];

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return strdup("");
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    size_t k;
    while (s != NULL && (k = fread(s + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (n + 1 == cap) {
            char *t = realloc(s, cap *= 2);
            if (t == NULL)
                break;
            s = t;
        }
    }
    fclose(f);
    if (s != NULL)
        s[n] = '\0';
    return s;
}

/* Find the repository from this program's path: <root>/<build>/tests/x. */
static int locate(void **state)
{
    (void)state;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0'; /* <build>/tests */
    *strrchr(exe, '/') = '\0'; /* <build> */
    snprintf(build, sizeof build, "%s", exe);
    snprintf(root, sizeof root, "%s", exe);
    for (;;) {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/scripts/weft-cc", root);
        if (access(p, R_OK) == 0)
            break;
        char *slash = strrchr(root, '/');
        if (slash == NULL || slash == root) {
            fprintf(stderr,
                    "test_weftcc: cannot find scripts/weft-cc above %s\n",
                    build);
            return -1;
        }
        *slash = '\0';
    }
    const char *t = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/weftcc-test-XXXXXX", t ? t : "/tmp");
    if (mkdtemp(tmp) == NULL)
        return -1;
    strncat(build, "/cc", sizeof build - strlen(build) - 1);
    setenv("WEFT_CC_LIBDIR", build, 1);
    return 0;
}

static int cleanup(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

/* Run a shell command; on failure show its output and fail. */
static void sh(const char *what, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sh(const char *what, const char *fmt, ...)
{
    char cmd[3 * PATH_MAX], log[PATH_MAX + 16];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(log, sizeof log, "%s/build.log", tmp);
    char full[5 * PATH_MAX];
    snprintf(full, sizeof full, "( %s ) > '%s' 2>&1", cmd, log);
    int rc = system(full);
    if (rc != 0) {
        char *out = slurp(log);
        print_error("%s failed (status %d): %s\n%s\n"
                    "(is a C compiler installed, and was `make weft-cc` "
                    "run? build tools are required, this test never "
                    "skips)\n",
                    what, rc, cmd, out);
        free(out);
        fail();
    }
}

/* Start `prog` with VAR=value settings; stderr to errfile. */
static pid_t start(const char *prog, const char *errfile, const char *env[])
{
    pid_t p = fork();
    if (p != 0)
        return p;
    unsetenv("WEFT_QUIET");
    for (int i = 0; env[i] != NULL; i++)
        putenv((char *)(uintptr_t)env[i]);
    int o = open("/dev/null", O_WRONLY);
    int e = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o < 0 || e < 0)
        _exit(126);
    dup2(o, 1);
    dup2(e, 2);
    execl(prog, prog, (char *)NULL);
    _exit(127);
}

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
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_passthrough),
    };
    return cmocka_run_group_tests(tests, locate, cleanup);
}
