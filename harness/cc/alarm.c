/*
 * alarm.c: alarm(), ualarm(), setitimer() and getitimer() on ITIMER_REAL,
 * in virtual time.
 *
 * A program's alarm is a timer of the execution: SIGALRM goes off at a
 * virtual instant, never on the wall clock (which would interrupt some
 * task at a moment no schedule chose, or kill the explorer). While an
 * alarm is set, a task of its own ("SIGALRM") sleeps until it is due,
 * woken early through a semaphore when the program sets it again or
 * cancels it; when due it runs the program's handler, as a signal
 * handler would run between two operations of the program. SIG_IGN drops
 * it; the default action ends the process, which weft reports as a crash
 * at the virtual instant the alarm went off (a test's own watchdog, as it
 * would fire natively). A periodic timer (it_interval) is set again after
 * each delivery.
 *
 * The state belongs to one execution: it starts over in the next (its
 * epoch), whatever the isolation mode. weft's own hang alarm (fork mode)
 * is glibc's: calls from weft's code pass through.
 *
 * Not modelled: a SIGALRM blocked with sigprocmask (it is delivered
 * anyway), ITIMER_VIRTUAL and ITIMER_PROF (CPU time: passed to the
 * kernel), POSIX timers (timer_create).
 */
#include "weft.h"
#include "weftcc.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static struct {
    uint64_t epoch; /* of the execution the state below belongs to */
    bool armed;
    bool helper; /* the SIGALRM task is live */
    int64_t deadline, interval;
    int line; /* pc line of the call that set it */
    weft_sem_t wake;
} A;

/* The state of this execution (zeroed when it is a new one). */
static void current(void)
{
    uint64_t e = weft__current->epoch;
    if (A.epoch != e) {
        memset(&A, 0, sizeof A);
        A.epoch = e;
        weft_sem_init(&A.wake, 0);
    }
}

static void deliver(void)
{
    struct sigaction sa;
    weftcc_real_sigaction(SIGALRM, NULL, &sa);
    if (sa.sa_handler == SIG_IGN)
        return;
    if (sa.sa_handler == SIG_DFL) {
        struct weft__run *r = weft__current;
        char at[40];
        snprintf(at, sizeof at, "%lld.%09llds",
                 (long long)(weft_now() / WEFT_SEC),
                 (long long)(weft_now() % WEFT_SEC));
        weft__finding(r, WEFT_FINDING_CRASH, weft__pc_site, A.line,
                      "SIGALRM (alarm clock): the alarm set at %s went off "
                      "at virtual time %s, and its default action ends the "
                      "process",
                      weft__site(weft__pc_site, A.line), at);
    }
    if (sa.sa_flags & SA_SIGINFO) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        si.si_signo = SIGALRM;
        si.si_code = SI_KERNEL;
        sa.sa_sigaction(SIGALRM, &si, NULL);
    } else {
        sa.sa_handler(SIGALRM);
    }
}

static void *alarm_task(void *arg)
{
    (void)arg;
    current();
    while (A.armed) {
        int64_t d = A.deadline;
        if (weft_now() < d) {
            weft_sem_timedwait_at(&A.wake, d, weft__pc_site, A.line);
            continue; /* due, or set again: look again */
        }
        if (A.interval > 0)
            A.deadline = d + A.interval;
        else
            A.armed = false;
        deliver();
    }
    A.helper = false;
    return NULL;
}

/* Set the alarm `value` ns from now (0: cancel), every `interval` ns after
 * that (0: once); the time that was left of the old one. */
static int64_t arm(int64_t value, int64_t interval, int64_t *old_interval,
                   const void *ra)
{
    current();
    int64_t now = weft_now();
    int64_t left = A.armed ? A.deadline - now : 0;
    if (old_interval != NULL)
        *old_interval = A.armed ? A.interval : 0;
    A.armed = value > 0;
    if (value > 0) {
        A.deadline = value > INT64_MAX - 1 - now ? INT64_MAX - 1 : now + value;
        A.interval = interval;
        A.line = weftcc_pc_line(ra);
    }
    if (A.helper) {
        weft_sem_post_at(&A.wake, weft__pc_site, weftcc_pc_line(ra));
    } else if (A.armed) {
        weft_thread_t t;
        if (weft_thread_spawn_at(&t, "SIGALRM", alarm_task, NULL, weft__pc_site,
                                 weftcc_pc_line(ra)) == 0) {
            weft_thread_detach_at(t, weft__pc_site, weftcc_pc_line(ra));
            A.helper = true;
        }
    }
    return left > 0 ? left : 0;
}

#define RA __builtin_return_address(0)

/* Called by the program in an execution (not by weft itself). */
static bool virtual_here(const void *ra)
{
    return weft_running() && !weftcc_own_code(ra);
}

static void ns_to_tv(int64_t ns, struct timeval *tv)
{
    tv->tv_sec = (time_t)(ns / WEFT_SEC);
    tv->tv_usec = (suseconds_t)(ns % WEFT_SEC / 1000);
}

static int64_t tv_to_ns(const struct timeval *tv)
{
    if (tv->tv_sec > INT64_MAX / WEFT_SEC - 1)
        return INT64_MAX / 2;
    return (int64_t)tv->tv_sec * WEFT_SEC + (int64_t)tv->tv_usec * 1000;
}

unsigned int alarm(unsigned int s)
{
    if (!virtual_here(RA))
        PASS(alarm, s);
    int64_t left = arm((int64_t)s * WEFT_SEC, 0, NULL, RA);
    /* glibc: whole seconds, rounded to the nearest, at least 1 */
    unsigned r = (unsigned)((left + WEFT_SEC / 2) / WEFT_SEC);
    return left > 0 && r == 0 ? 1 : r;
}

useconds_t ualarm(useconds_t value, useconds_t interval)
{
    if (!virtual_here(RA))
        PASS(ualarm, value, interval);
    int64_t left =
        arm((int64_t)value * 1000, (int64_t)interval * 1000, NULL, RA);
    return (useconds_t)(left / 1000);
}

int setitimer(__itimer_which_t which, const struct itimerval *nv,
              struct itimerval *old)
{
    if (which != ITIMER_REAL || !virtual_here(RA))
        PASS(setitimer, which, nv, old);
    if (nv == NULL || nv->it_value.tv_usec < 0 ||
        nv->it_value.tv_usec >= 1000000 || nv->it_interval.tv_usec < 0 ||
        nv->it_interval.tv_usec >= 1000000) {
        errno = EINVAL;
        return -1;
    }
    int64_t old_interval;
    int64_t left = arm(tv_to_ns(&nv->it_value), tv_to_ns(&nv->it_interval),
                       &old_interval, RA);
    if (old != NULL) {
        ns_to_tv(left, &old->it_value);
        ns_to_tv(old_interval, &old->it_interval);
    }
    return 0;
}

int getitimer(__itimer_which_t which, struct itimerval *cur)
{
    if (which != ITIMER_REAL || !virtual_here(RA))
        PASS(getitimer, which, cur);
    current();
    int64_t left = A.armed ? A.deadline - weft_now() : 0;
    ns_to_tv(left > 0 ? left : 0, &cur->it_value);
    ns_to_tv(A.armed ? A.interval : 0, &cur->it_interval);
    return 0;
}
