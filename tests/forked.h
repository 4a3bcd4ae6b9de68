/*
 * forked.h: the helpers the event-loop tests share (test_loop, test_future,
 * test_cancel, test_group): a pinned configuration, explorations run in a
 * forked child (a crash or hang in weft fails one test, not the program)
 * with their outcome sent back, and checks made inside executions.
 * It includes <cmocka.h> itself.
 */
#ifndef WEFT_TESTS_FORKED_H
#define WEFT_TESTS_FORKED_H

#include "weft.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* ------------------------------------------------------------- helpers */

static char tmpdir[64];

/* A pinned configuration: no environment, no output, random strategy,
 * schedules written to a private folder. */
static inline void config(weft_config_t *c, uint64_t seed, uint64_t iterations)
{
    static char schedule[128];
    snprintf(schedule, sizeof schedule, "%s/failing.schedule", tmpdir);
    weft_config_init(c);
    c->use_env = false;
    c->quiet = true;
    c->progress = 0;
    c->strategy = "random";
    c->seed = seed;
    c->iterations = iterations;
    c->schedule_out = schedule;
}

/* What a child's exploration sends back. */
struct outcome {
    int rc;
    int finding;
    uint64_t executions;
    uint64_t trace_hash;
    uint64_t distinct;
    int64_t time;
    char message[512];
    char report[12288];
    int signal;    /* the signal that ended the child, or 0 */
    bool answered; /* the child sent everything */
};

struct region {
    void *p;
    size_t n;
};

/* Run fn(arg) in a forked child, which then sends the regions back into
 * the same addresses of this process. Returns the signal that ended the
 * child (0 if none); *complete says whether every byte arrived. */
static inline int in_child(void (*fn)(void *), void *arg,
                           const struct region *rs, size_t nr, bool *complete)
{
    int fd[2];
    *complete = false;
    if (pipe(fd) != 0)
        fail_msg("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        close(fd[0]);
        alarm(60); /* a hang ends as SIGALRM, not as a stuck test */
        fn(arg);
        for (size_t i = 0; i < nr; i++) {
            const char *p = rs[i].p;
            size_t left = rs[i].n;
            while (left > 0) {
                ssize_t w = write(fd[1], p, left);
                if (w <= 0)
                    _exit(3);
                p += w;
                left -= (size_t)w;
            }
        }
        _exit(0);
    }
    close(fd[1]);
    bool ok = true;
    for (size_t i = 0; i < nr && ok; i++) {
        char *p = rs[i].p;
        size_t left = rs[i].n;
        while (left > 0) {
            ssize_t n = read(fd[0], p, left);
            if (n <= 0) {
                ok = false;
                break;
            }
            p += n;
            left -= (size_t)n;
        }
    }
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    *complete = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

struct xjob {
    const weft_config_t *cfg;
    weft_body_fn *body;
    void *arg;
    struct outcome out;
};

static inline void explore_job(void *p)
{
    struct xjob *x = p;
    weft_result_t r;
    memset(&r, 0, sizeof r);
    memset(&x->out, 0, sizeof x->out);
    x->out.rc = weft_explore(x->cfg, x->body, x->arg, &r);
    x->out.finding = r.finding;
    x->out.executions = r.executions;
    x->out.trace_hash = r.trace_hash;
    x->out.distinct = r.distinct;
    x->out.time = r.time;
    snprintf(x->out.message, sizeof x->out.message, "%s", r.message);
    snprintf(x->out.report, sizeof x->out.report, "%s",
             r.report ? r.report : "");
    x->out.answered = true;
    weft_result_destroy(&r);
}

/* weft_explore(cfg, body, st) in a child; st (size bytes) comes back. */
static inline void explore_cfg(const weft_config_t *cfg, weft_body_fn *body,
                               void *st, size_t size, struct outcome *o)
{
    struct xjob x = { cfg, body, st, { 0 } };
    struct region rs[2] = { { &x.out, sizeof x.out }, { st, size } };
    bool complete;
    int sig = in_child(explore_job, &x, rs, st != NULL ? 2 : 1, &complete);
    *o = x.out;
    o->signal = sig;
    o->answered = complete && x.out.answered;
}

struct ejob {
    struct xjob x;
    char *err;
    size_t n;
};

static inline void explore_stderr_job(void *p)
{
    struct ejob *e = p;
    char path[96];
    snprintf(path, sizeof path, "%s/stderr-XXXXXX", tmpdir);
    int fd = mkstemp(path);
    if (fd < 0 || dup2(fd, 2) < 0)
        _exit(4);
    explore_job(&e->x);
    fflush(stderr);
    ssize_t got = pread(fd, e->err, e->n - 1, 0);
    e->err[got > 0 ? got : 0] = '\0';
    close(fd);
    unlink(path);
}

/* explore_cfg, and what weft wrote on stderr besides (warnings), into
 * err (n bytes, NUL-terminated). */
static inline void explore_cfg_stderr(const weft_config_t *cfg,
                                      weft_body_fn *body, void *st, size_t size,
                                      struct outcome *o, char *err, size_t n)
{
    struct ejob e = { { cfg, body, st, { 0 } }, err, n };
    struct region rs[3] = { { &e.x.out, sizeof e.x.out },
                            { err, n },
                            { st, size } };
    bool complete;
    err[0] = '\0';
    int sig =
        in_child(explore_stderr_job, &e, rs, st != NULL ? 3 : 2, &complete);
    *o = e.x.out;
    o->signal = sig;
    o->answered = complete && e.x.out.answered;
}

static inline void explore(weft_body_fn *body, void *st, size_t size,
                           uint64_t seed, uint64_t iterations,
                           struct outcome *o)
{
    weft_config_t c;
    config(&c, seed, iterations);
    explore_cfg(&c, body, st, size, o);
}

#define assert_ran(o)                                                       \
    do {                                                                    \
        if ((o)->signal != 0)                                               \
            fail_msg("the exploration died of signal %d (%s)", (o)->signal, \
                     strsignal((o)->signal));                               \
        if (!(o)->answered)                                                 \
            fail_msg("the exploration's process ended without an answer");  \
    } while (0)

/* Checks run in every execution (at the end of the body, as a weft
 * assertion) and again by the cmocka test on the last execution's state:
 * a check function returns NULL, or its first mismatch as text. */
static char why_buf[320];

#define EXPECT_EQ(got, want)                                                 \
    do {                                                                     \
        long long g_ = (long long)(got), w_ = (long long)(want);             \
        if (g_ != w_) {                                                      \
            snprintf(why_buf, sizeof why_buf,                                \
                     "%s is %lld, expected %s (%lld)", #got, g_, #want, w_); \
            return why_buf;                                                  \
        }                                                                    \
    } while (0)

#define EXPECT_PTR(got, want)                                               \
    do {                                                                    \
        const void *g_ = (got), *w_ = (want);                               \
        if (g_ != w_) {                                                     \
            snprintf(why_buf, sizeof why_buf, "%s is %p, expected %s (%p)", \
                     #got, g_, #want, w_);                                  \
            return why_buf;                                                 \
        }                                                                   \
    } while (0)

#define EXPECT(cond)                                                 \
    do {                                                             \
        if (!(cond)) {                                               \
            snprintf(why_buf, sizeof why_buf, "expected %s", #cond); \
            return why_buf;                                          \
        }                                                            \
    } while (0)

/* In a body: end the execution with the first mismatch. */
#define CHECK_IN_BODY(why)       \
    do {                         \
        const char *w_ = (why);  \
        if (w_ != NULL)          \
            weft_fail("%s", w_); \
    } while (0)

/* In a cmocka test, on the state the last execution left. */
#define CHECK_AFTER(why)        \
    do {                        \
        const char *w_ = (why); \
        if (w_ != NULL)         \
            fail_msg("%s", w_); \
    } while (0)

/* cmocka's messages are short: long texts go to stderr first. */
static inline void show(const char *what, const char *text)
{
    fflush(stdout);
    fprintf(stderr, "---- %s ----\n%s\n---- end of %s ----\n", what,
            text != NULL && text[0] != '\0' ? text : "(empty)", what);
}

#define assert_no_finding(o)                                                 \
    do {                                                                     \
        assert_ran(o);                                                       \
        if ((o)->rc != 0) {                                                  \
            show("weft report", (o)->report);                                \
            fail_msg("weft_explore returned %d: %s", (o)->rc, (o)->message); \
        }                                                                    \
    } while (0)

#define assert_finding(o, kind)                                       \
    do {                                                              \
        assert_ran(o);                                                \
        if ((o)->rc != 1 || (o)->finding != (kind)) {                 \
            show("weft report", (o)->report);                         \
            fail_msg("expected finding %s, got rc %d, %s: %s",        \
                     weft_finding_name(kind), (o)->rc,                \
                     weft_finding_name((weft_finding_t)(o)->finding), \
                     (o)->message);                                   \
        }                                                             \
    } while (0)

#define assert_contains(haystack, needle)                            \
    do {                                                             \
        const char *h_ = (haystack);                                 \
        if (h_ == NULL || strstr(h_, (needle)) == NULL) {            \
            show("text", h_);                                        \
            fail_msg("expected \"%s\" in the text above", (needle)); \
        }                                                            \
    } while (0)

#endif /* WEFT_TESTS_FORKED_H */
