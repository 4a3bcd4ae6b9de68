/*
 * watchdog.c: a step that makes no progress for WEFT_HANG_TIMEOUT seconds
 * of wall time is a hang, reported like any finding.
 *
 * Everything in an execution runs on one OS thread: a real blocking call
 * (read on an empty pipe, poll, accept) or a loop with no weft call stops
 * it for good, and no budget is ever checked again. So the watch is kept
 * from outside that thread: a POSIX timer whose expirations glibc runs on
 * a thread of its own (SIGEV_THREAD: no pthread call of weft's, which
 * weft-cc would interpose) looks at the exploring run every quarter of
 * the timeout, up to a second. When the same step of the same execution
 * is still under way after the timeout, it reads what the thread is doing
 * (/proc/thread-self/syscall of that thread: the system call and its file
 * descriptor), and sends the thread weft__hang_signo(): the handler
 * (core/signal.c) leaves the task as a crash does, and the execution ends
 * with a hang finding, its report and its replay line. If the signal
 * cannot get through (a call that cannot be interrupted), the watchdog
 * prints what it knows and ends the process with status 1.
 *
 * Wall time decides only that a hang is reported, never what an
 * execution does. One watchdog per process: an exploration in a second
 * OS thread at the same time goes unwatched.
 */
#include "explore/explore.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static struct {
    bool on;
    pid_t pid;  /* the process that made the timer (a fork has none) */
    int active; /* ticks under way: stop waits for them */
    timer_t timer;
    struct weft__run *r; /* the run it watches */
    pid_t tid;           /* the thread running it */
    unsigned seconds;
    uint64_t epoch, step; /* what it saw last ... */
    double since;         /* ... and since when */
    bool sent;            /* the signal is on its way for (epoch, step) */
    double sent_at;
    char replay[1024]; /* the replay line's settings and command */
} wd;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------ what the thread does */

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
};

/* What thread tid of this process is doing, as a phrase, into out. Only
 * system calls and plain buffers: it runs beside a thread that may hold
 * any lock. */
static void describe(pid_t tid, char *out, size_t len)
{
    char path[64], text[256];
    snprintf(path, sizeof path, "/proc/self/task/%ld/syscall", (long)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0) {
        snprintf(out, len,
                 "no system call seen (busy in the program's own "
                 "code, or blocked where /proc cannot tell)");
        return;
    }
    text[n] = '\0';
    char *end;
    long nr = strtol(text, &end, 10);
    if (end == text || nr < 0) {
        snprintf(out, len,
                 "busy in the program's own code, in no system call: a loop "
                 "with no weft call?");
        return;
    }
    unsigned long long arg0 = strtoull(end, NULL, 16);
    const char *name = NULL;
    bool takes_fd = false;
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        if (calls[i].nr == nr) {
            name = calls[i].name;
            takes_fd = calls[i].fd;
        }
    char what[160] = "";
    if (takes_fd && arg0 < 1u << 20) {
        char link[64], target[120];
        snprintf(link, sizeof link, "/proc/self/fd/%llu", arg0);
        ssize_t k = readlink(link, target, sizeof target - 1);
        if (k > 0) {
            target[k] = '\0';
            snprintf(what, sizeof what, "fd %llu: %s", arg0, target);
        } else {
            snprintf(what, sizeof what, "fd %llu", arg0);
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

/* ------------------------------------------------------------- the watch */

/* The signal did not get through: say what is known, end the process.
 * Plain writes: the stuck thread may hold stdio's locks. */
static WEFT__NORETURN void give_up(struct weft__run *r)
{
    char msg[2048];
    struct weft__task *cur = __atomic_load_n(&r->cur, __ATOMIC_RELAXED);
    int n = snprintf(msg, sizeof msg,
                     "weft: FAILED: hang: task %u \"%s\" made no progress for "
                     "%u s after its operation at %s:%d, and the watchdog "
                     "could not interrupt it: %s\n"
                     "  kind:      hang\n"
                     "  replay:    WEFT_SEED=%llu WEFT_ITERATIONS=1%s\n",
                     cur->id, cur->name, wd.seconds,
                     cur->file ? cur->file : "?", cur->line, weft__hang_what,
                     (unsigned long long)r->seed, wd.replay);
    if (n > 0)
        (void)!write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg);
    _exit(1);
}

/* One look at r, from the timer's thread. */
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
        describe(wd.tid, weft__hang_what, sizeof weft__hang_what);
        weft__hang_seconds = wd.seconds;
        weft__hang_epoch = epoch;
        weft__hang_step = step;
        wd.sent = true;
        wd.sent_at = now;
        syscall(SYS_tgkill, (long)getpid(), (long)wd.tid,
                (long)weft__hang_signo());
        return;
    }
    if (now - wd.sent_at >= wd.seconds)
        give_up(r);
}

static void tick(union sigval v)
{
    (void)v;
    __atomic_fetch_add(&wd.active, 1, __ATOMIC_SEQ_CST);
    struct weft__run *r = __atomic_load_n(&wd.r, __ATOMIC_SEQ_CST);
    if (r != NULL)
        look(r);
    __atomic_fetch_sub(&wd.active, 1, __ATOMIC_SEQ_CST);
}

void weft__watchdog_start(struct weft__search *s, const char *replay)
{
    unsigned seconds = s->cfg->hang_timeout;
    if (wd.on && wd.pid != getpid())
        wd.on = false; /* a forked worker: the timer was the parent's */
    if (seconds == 0 || wd.on)
        return;
    wd.pid = getpid();
    wd.active = 0;
    wd.tid = (pid_t)syscall(SYS_gettid);
    wd.seconds = seconds;
    wd.epoch = wd.step = UINT64_MAX;
    wd.sent = false;
    snprintf(wd.replay, sizeof wd.replay, "%s%s", replay[0] ? " " : "", replay);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = tick;
    if (timer_create(CLOCK_MONOTONIC, &ev, &wd.timer) != 0)
        return; /* no watchdog: the exploration runs as before */
    /* a look every quarter of the timeout, at most a second apart */
    long ms = seconds >= 4 ? 1000 : (long)seconds * 250;
    struct itimerspec it = { { ms / 1000, ms % 1000 * 1000000L },
                             { ms / 1000, ms % 1000 * 1000000L } };
    __atomic_store_n(&wd.r, s->r, __ATOMIC_SEQ_CST);
    if (timer_settime(wd.timer, 0, &it, NULL) != 0) {
        wd.r = NULL;
        timer_delete(wd.timer);
        return;
    }
    wd.on = true;
}

void weft__watchdog_stop(void)
{
    if (!wd.on || wd.pid != getpid())
        return;
    timer_delete(wd.timer);
    /* A tick may be under way on glibc's thread: the run it looks at must
     * outlive it. */
    __atomic_store_n(&wd.r, NULL, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&wd.active, __ATOMIC_SEQ_CST) > 0) {
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
    wd.on = false;
}
