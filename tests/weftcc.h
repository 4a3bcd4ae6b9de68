/*
 * weftcc.h: what the weft-cc tests share (test_weftcc.c, test_tsan.c):
 * finding the repository, a scratch directory, building with
 * scripts/weft-cc, and running the programs it builds. Include after
 * <cmocka.h>.
 */
#ifndef TESTS_WEFTCC_H
#define TESTS_WEFTCC_H

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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char root[PATH_MAX], build[PATH_MAX], tmp[PATH_MAX];

/* A whole file as a string ("" if it cannot be read). */
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

/* Find the repository from this program's path (<root>/<build>/tests/x),
 * make a scratch directory, point weft-cc at <build>/cc. */
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
            fprintf(stderr, "cannot find scripts/weft-cc above %s\n", build);
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

/* Start `prog arg` (arg may be NULL) with VAR=value settings; stdout to
 * outfile (NULL: /dev/null), stderr to errfile. */
static pid_t start_io(const char *prog, const char *arg, const char *outfile,
                      const char *errfile, const char *const env[])
{
    pid_t p = fork();
    if (p != 0)
        return p;
    unsetenv("WEFT_QUIET");
    for (int i = 0; env[i] != NULL; i++)
        putenv((char *)(uintptr_t)env[i]);
    int o = outfile ? open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0644)
                    : open("/dev/null", O_WRONLY);
    int e = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o < 0 || e < 0)
        _exit(126);
    dup2(o, 1);
    dup2(e, 2);
    execl(prog, prog, arg, (char *)NULL);
    _exit(127);
}

static inline pid_t start_arg(const char *prog, const char *arg,
                              const char *errfile, const char *env[])
{
    return start_io(prog, arg, NULL, errfile, env);
}

static inline pid_t start(const char *prog, const char *errfile,
                          const char *env[])
{
    return start_arg(prog, NULL, errfile, env);
}

#endif /* TESTS_WEFTCC_H */
