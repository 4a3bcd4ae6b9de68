/*
 * hang.c: the watchdog. A step of an execution that makes no progress for
 * WEFT_HANG_TIMEOUT seconds of wall time ends it with a hang finding.
 *
 * Every task runs on one OS thread: a real blocking call (read on an empty
 * pipe, poll, accept) or a loop with no weft call stops it for good, and
 * nothing weft checks between steps ever runs again. So the watch is kept
 * by a thread of its own, for as long as an exploration runs (made at its
 * start, joined at its end: a process forked between explorations has no
 * second thread, which qemu-user cannot fork safely). Four times per
 * timeout, at most a second apart, it looks at the run's execution and
 * step. When the same step of the same execution is still under way after
 * the timeout, it reads what the exploring thread is doing
 * (/proc/self/task/<tid>/syscall: the system call and its file descriptor)
 * and sends that thread weft__hang_signo(): the handler leaves the task as
 * a crash does (signal.c, weft__escape), and the execution ends with a
 * hang finding, its report and its replay line. Nothing interrupts the
 * thread unless it hangs. If the signal cannot get through (a call that
 * cannot be interrupted, the signal blocked), the watchdog prints what it
 * knows and ends the process with status 1.
 *
 * Wall time decides only that a hang is reported, never what an
 * execution does. One watchdog per process: an exploration run by a
 * second OS thread at the same time goes unwatched. Forked workers have
 * none: their parent watches them (explore/workers.c).
 */
#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static struct {
    bool on;
    pid_t pid; /* the process that made the thread (a fork has none) */
    pthread_t thread;
    int stop; /* the thread is asked to end (and woken: a futex, as a
                 file descriptor would show in the program's numbering) */
    struct weft__run *r;
    pid_t tid; /* the exploring thread */
    unsigned seconds;
    struct sigaction old;
    /* the thread's own */
    uint64_t epoch, step; /* what it saw last ... */
    double since;         /* ... and since when */
    bool sent;            /* the signal is on its way */
    double sent_at;
} wd;

/* what the hanging thread was doing, for the handler and the message */
static volatile uint64_t hang_epoch, hang_step;
static volatile long hang_nr;  /* system call number, -1: none, -2: unknown */
static volatile long hang_arg; /* its first argument, or -1 */

int weft__hang_signo(void)
{
    return SIGRTMIN + 5;
}

/* ------------------------------------------- what the thread was doing */

/* What thread tid is doing, from /proc (it is blocked, or spinning):
 * the system call and its first argument, -1 when it runs its own code,
 * -2 when /proc cannot tell. */
static void read_syscall(pid_t tid)
{
    char path[64], text[256];
    hang_nr = -2;
    hang_arg = -1;
    snprintf(path, sizeof path, "/proc/self/task/%ld/syscall", (long)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return;
    text[n] = '\0';
    char *end;
    long nr = strtol(text, &end, 10);
    if (end == text || nr < 0) { /* "running", or -1: no system call */
        hang_nr = -1;
        return;
    }
    hang_nr = nr;
    hang_arg = (long)strtoull(end, NULL, 16);
}

static const struct {
    long nr;
    const char *name;
    bool fd; /* its first argument is a file descriptor */
} calls[] = {
#ifdef SYS_read
    { SYS_read, "read", true },
#endif
#ifdef SYS_write
    { SYS_write, "write", true },
#endif
#ifdef SYS_pread64
    { SYS_pread64, "pread", true },
#endif
#ifdef SYS_readv
    { SYS_readv, "readv", true },
#endif
#ifdef SYS_recvfrom
    { SYS_recvfrom, "recvfrom", true },
#endif
#ifdef SYS_recvmsg
    { SYS_recvmsg, "recvmsg", true },
#endif
#ifdef SYS_sendto
    { SYS_sendto, "sendto", true },
#endif
#ifdef SYS_accept
    { SYS_accept, "accept", true },
#endif
#ifdef SYS_accept4
    { SYS_accept4, "accept4", true },
#endif
#ifdef SYS_connect
    { SYS_connect, "connect", true },
#endif
#ifdef SYS_poll
    { SYS_poll, "poll", false },
#endif
#ifdef SYS_ppoll
    { SYS_ppoll, "ppoll", false },
#endif
#ifdef SYS_select
    { SYS_select, "select", false },
#endif
#ifdef SYS_pselect6
    { SYS_pselect6, "pselect6", false },
#endif
#ifdef SYS_epoll_wait
    { SYS_epoll_wait, "epoll_wait", true },
#endif
#ifdef SYS_epoll_pwait
    { SYS_epoll_pwait, "epoll_pwait", true },
#endif
#ifdef SYS_epoll_pwait2
    { SYS_epoll_pwait2, "epoll_pwait2", true },
#endif
#ifdef SYS_futex
    { SYS_futex, "futex (a real lock or condition variable)", false },
#endif
#ifdef SYS_nanosleep
    { SYS_nanosleep, "nanosleep", false },
#endif
#ifdef SYS_clock_nanosleep
    { SYS_clock_nanosleep, "clock_nanosleep", false },
#endif
#ifdef SYS_wait4
    { SYS_wait4, "wait4", false },
#endif
#ifdef SYS_waitid
    { SYS_waitid, "waitid", false },
#endif
#ifdef SYS_openat
    { SYS_openat, "openat", false },
#endif
#ifdef SYS_flock
    { SYS_flock, "flock", true },
#endif
#ifdef SYS_fcntl
    { SYS_fcntl, "fcntl", true },
#endif
#ifdef SYS_ioctl
    { SYS_ioctl, "ioctl", true },
#endif
#ifdef SYS_pause
    { SYS_pause, "pause", false },
#endif
#ifdef SYS_rt_sigsuspend
    { SYS_rt_sigsuspend, "sigsuspend", false },
#endif
#ifdef SYS_rt_sigtimedwait
    { SYS_rt_sigtimedwait, "sigtimedwait", false },
#endif
#ifdef SYS_restart_syscall
    { SYS_restart_syscall, "a restarted sleep or poll", false },
#endif
};

/* What the thread was doing, as a phrase (after the jump: not in the
 * handler). */
static void describe(char *out, size_t len)
{
    long nr = hang_nr, arg = hang_arg;
    if (nr == -1) {
        snprintf(out, len,
                 "busy in the program's own code, in no system call: a loop "
                 "with no weft call?");
        return;
    }
    if (nr == -2) {
        snprintf(out, len,
                 "blocked in a system call weft does not serve, or in a "
                 "loop with no weft call");
        return;
    }
    const char *name = NULL;
    bool takes_fd = false;
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        if (calls[i].nr == nr) {
            name = calls[i].name;
            takes_fd = calls[i].fd;
        }
    char what[200] = "";
    if (takes_fd && arg >= 0 && arg < 1 << 20) {
        char link[64], target[160];
        snprintf(link, sizeof link, "/proc/self/fd/%ld", arg);
        ssize_t k = readlink(link, target, sizeof target - 1);
        if (k > 0) {
            target[k] = '\0';
            snprintf(what, sizeof what, "fd %ld: %s", arg, target);
        } else {
            snprintf(what, sizeof what, "fd %ld", arg);
        }
    }
    if (name != NULL)
        snprintf(out, len,
                 "blocked in the system call %s(%s), which weft does not "
                 "serve",
                 name, what);
    else
        snprintf(out, len,
                 "blocked in system call %ld, which weft does not serve", nr);
}

void weft__hang_describe(struct weft__run *r)
{
    struct weft__task *t = r->tasks[r->finding.task];
    char what[320];
    describe(what, sizeof what);
    snprintf(r->finding.message, sizeof r->finding.message,
             "hang: %s made no progress for %u s after its operation at %s: "
             "%s",
             weft__task_name(t), wd.seconds, weft__site(t->file, t->line),
             what);
}

/* ------------------------------------------------------------ the watch */

/* The handler, in the exploring thread: if the step the watchdog saw is
 * still under way, end the execution with a hang. */
static void hang_handler(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)si;
    (void)ctx;
    struct weft__run *r = weft__current;
    if (r == NULL || r->cur == &r->sched || r->failed || r->cur->dying ||
        r->epoch != hang_epoch || r->step != hang_step)
        return; /* it moved on meanwhile */
    struct weft__task *t = r->cur;
    struct weft__finding *f = &r->finding;
    f->kind = WEFT_FINDING_HANG;
    f->task = t->id;
    f->step = r->step;
    f->time = r->now;
    f->file = t->file;
    f->line = t->line;
    r->failed = true;
    weft__escape(r, 2);
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The signal did not get through: say what is known and end the process.
 * Plain writes: the stuck thread may hold stdio's locks. */
static WEFT__NORETURN void give_up(struct weft__run *r)
{
    char what[320], msg[1024];
    describe(what, sizeof what);
    struct weft__task *cur = __atomic_load_n(&r->cur, __ATOMIC_RELAXED);
    int n =
        snprintf(msg, sizeof msg,
                 "weft: FAILED: hang: task %u \"%s\" made no progress for "
                 "%u s after its operation at %s:%d, and the watchdog "
                 "could not interrupt it: %s\n"
                 "  kind:      hang\n"
                 "  replay:    WEFT_SEED=%llu WEFT_ITERATIONS=1 (and the "
                 "settings of this run)\n",
                 cur->id, cur->name, wd.seconds, cur->file ? cur->file : "?",
                 cur->line, what, (unsigned long long)r->seed);
    if (n > 0)
        (void)!write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg);
    _exit(1);
}

/* One look at the run. */
static void look(struct weft__run *r)
{
    struct weft__task *cur = __atomic_load_n(&r->cur, __ATOMIC_RELAXED);
    uint64_t epoch = __atomic_load_n(&r->epoch, __ATOMIC_RELAXED);
    uint64_t step = __atomic_load_n(&r->step, __ATOMIC_RELAXED);
    double now = mono();
    if (cur == &r->sched || cur == NULL || epoch != wd.epoch ||
        step != wd.step) {
        wd.epoch = epoch;
        wd.step = step;
        wd.since = now;
        wd.sent = false;
        return;
    }
    if (now - wd.since < wd.seconds)
        return;
    if (!wd.sent) {
        read_syscall(wd.tid);
        hang_epoch = epoch;
        hang_step = step;
        wd.sent = true;
        wd.sent_at = now;
        syscall(SYS_tgkill, (long)wd.pid, (long)wd.tid,
                (long)weft__hang_signo());
        return;
    }
    if (now - wd.sent_at >= wd.seconds)
        give_up(r);
}

static void *watch(void *arg)
{
    (void)arg;
    /* a look four times per timeout, at most a second apart; the end of
     * the exploration wakes it at once */
    int ms = wd.seconds >= 4 ? 1000 : (int)wd.seconds * 250;
    /* not this thread's to take: the process's signals go elsewhere */
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    struct timespec nap = { ms / 1000, ms % 1000 * 1000000L };
    while (!__atomic_load_n(&wd.stop, __ATOMIC_ACQUIRE)) {
        syscall(SYS_futex, &wd.stop, FUTEX_WAIT_PRIVATE, 0, &nap, NULL, 0);
        if (!__atomic_load_n(&wd.stop, __ATOMIC_ACQUIRE))
            look(wd.r);
    }
    return NULL;
}

void weft__hang_start(struct weft__run *r, unsigned seconds)
{
    if (wd.on && wd.pid != getpid())
        wd.on = false; /* a forked worker: the thread was its parent's */
    if (seconds == 0 || wd.on)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = hang_handler;
    /* SA_NODEFER: the handler leaves by siglongjmp without restoring the
     * signal mask (weft__run_one saves none), so a deferred signal would
     * stay blocked and the next hang of the process go uncaught (a
     * keep-going search, or the full re-run of a hang found lean). The
     * watchdog sends one signal per step, so it is never re-entered. */
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(weft__hang_signo(), &sa, &wd.old) != 0)
        return;
    wd.r = r;
    wd.pid = getpid();
    wd.tid = (pid_t)syscall(SYS_gettid);
    wd.seconds = seconds;
    wd.epoch = wd.step = UINT64_MAX;
    wd.sent = false;
    wd.stop = 0;
    hang_epoch = UINT64_MAX;
    if (pthread_create(&wd.thread, NULL, watch, NULL) != 0) {
        sigaction(weft__hang_signo(), &wd.old, NULL);
        return; /* no watchdog: the exploration runs as before */
    }
    wd.on = true;
}

void weft__hang_stop(void)
{
    if (!wd.on || wd.pid != getpid())
        return;
    __atomic_store_n(&wd.stop, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, &wd.stop, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    pthread_join(wd.thread, NULL);
    /* a signal it sent may still be pending: take it before the handler
     * goes */
    int sig = weft__hang_signo();
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_BLOCK, &set, &old);
    struct timespec zero = { 0, 0 };
    while (sigtimedwait(&set, NULL, &zero) == sig)
        ;
    sigaction(sig, &wd.old, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    wd.on = false;
}
