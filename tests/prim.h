/*
 * prim.h: what the primitive tests share (test_thread, test_mutex,
 * test_cond, test_rwlock, test_sem, test_clock, test_atomic): a pinned
 * configuration, checks of an exploration's result, and explorations run
 * in a forked child so that weft itself crashing fails one test, not the
 * program. It includes <cmocka.h> itself.
 */
#ifndef WEFT_TESTS_PRIM_H
#define WEFT_TESTS_PRIM_H

#include "weft.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* A pinned configuration: no environment, no output, random strategy. */
static inline void config(weft_config_t *c, uint64_t seed, uint64_t iterations)
{
    weft_config_init(c);
    c->use_env = false;
    c->quiet = true;
    c->strategy = "random";
    c->seed = seed;
    c->iterations = iterations;
}

static inline int explore(weft_body_fn *body, void *arg, uint64_t seed,
                          uint64_t iterations, weft_result_t *res)
{
    weft_config_t c;
    config(&c, seed, iterations);
    return weft_explore(&c, body, arg, res);
}

/* Fail with weft's own report when an exploration that should pass did
 * not. */
#define assert_no_finding(rc, res)                                             \
    do {                                                                       \
        if ((rc) != 0)                                                         \
            fail_msg("weft_explore returned %d: %s\n%s", (rc), (res)->message, \
                     (res)->report ? (res)->report : "(no report)");           \
    } while (0)

#define assert_contains(haystack, needle)                                      \
    do {                                                                       \
        const char *h_ = (haystack);                                           \
        if (h_ == NULL || strstr(h_, (needle)) == NULL)                        \
            fail_msg("expected \"%s\" in:\n%s", (needle), h_ ? h_ : "(null)"); \
    } while (0)

/* Expect exactly one finding of this kind whose message names `word`. */
#define assert_finding(rc, res, kind, word)                                 \
    do {                                                                    \
        if ((rc) != 1)                                                      \
            fail_msg("expected a finding, weft_explore returned %d", (rc)); \
        if ((res)->finding != (kind))                                       \
            fail_msg("expected %s, got %s: %s", weft_finding_name(kind),    \
                     weft_finding_name((res)->finding), (res)->message);    \
        assert_contains((res)->message, (word));                            \
        assert_contains((res)->report, (word));                             \
    } while (0)

/* Expect exactly one finding of this kind whose report names `word`. */
#define assert_finding_in_report(rc, res, kind, word)                       \
    do {                                                                    \
        if ((rc) != 1)                                                      \
            fail_msg("expected a finding, weft_explore returned %d", (rc)); \
        if ((res)->finding != (kind))                                       \
            fail_msg("expected %s, got %s: %s", weft_finding_name(kind),    \
                     weft_finding_name((res)->finding), (res)->message);    \
        assert_contains((res)->report, (word));                             \
    } while (0)

/*
 * Run an exploration in a forked child, so that weft itself crashing
 * (heap corruption, say) fails the one test instead of killing the whole
 * program. The child sends back what weft_explore returned.
 */
struct child {
    int rc;       /* weft_explore's return value */
    int finding;  /* weft_finding_t */
    int64_t time; /* virtual time at the end */
    char message[512];
    int signal;    /* the signal that killed the child, or 0 */
    bool answered; /* the child sent its result */
};

static inline void explore_in_child(weft_body_fn *body, void *arg,
                                    uint64_t seed, uint64_t iterations,
                                    struct child *out)
{
    int fd[2];
    memset(out, 0, sizeof *out);
    if (pipe(fd) != 0)
        fail_msg("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        struct child c;
        weft_result_t r;
        memset(&c, 0, sizeof c);
        close(fd[0]);
        c.rc = explore(body, arg, seed, iterations, &r);
        c.finding = r.finding;
        c.time = r.time;
        snprintf(c.message, sizeof c.message, "%s", r.message);
        c.answered = true;
        weft_result_destroy(&r);
        ssize_t n = write(fd[1], &c, sizeof c);
        _exit(n == (ssize_t)sizeof c ? 0 : 1);
    }
    close(fd[1]);
    size_t got = 0;
    while (got < sizeof *out) {
        ssize_t n = read(fd[0], (char *)out + got, sizeof *out - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd[0]);
    if (got != sizeof *out)
        memset(out, 0, sizeof *out);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        out->signal = WTERMSIG(status);
}

#define assert_child_no_finding(c)                                           \
    do {                                                                     \
        if ((c)->signal != 0)                                                \
            fail_msg("the exploration died of signal %d (%s)", (c)->signal,  \
                     strsignal((c)->signal));                                \
        if (!(c)->answered)                                                  \
            fail_msg("the exploration's process died without an answer");    \
        if ((c)->rc != 0)                                                    \
            fail_msg("weft_explore returned %d: %s", (c)->rc, (c)->message); \
    } while (0)

#endif /* WEFT_TESTS_PRIM_H */
