/*
 * alarm.c: alarm() and setitimer() in virtual time.
 *   watchdog   a test arms alarm(2) as its own watchdog, then a worker
 *              waits for a flag nobody sets in time (it sleeps 5 s first):
 *              SIGALRM's default action ends the process at virtual 2 s,
 *              reported as the crash it is, in no wall time.
 *   handler    a handler sets a volatile flag that main polls while a
 *              worker works; alarm() answers the seconds left of an
 *              earlier alarm; setitimer delivers periodically. Correct.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t rang, ticks;

static void on_alarm(int sig)
{
    (void)sig;
    rang = 1;
    ticks++;
}

static void *slow(void *arg)
{
    (void)arg;
    sleep(5);
    return NULL;
}

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "alarm: %s\n", what);
        abort();
    }
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "handler";
    pthread_t t;
    if (strcmp(mode, "watchdog") == 0) {
        alarm(2);
        pthread_create(&t, NULL, slow, NULL);
        pthread_join(t, NULL);
        return 0;
    }
    struct timespec t0, ts;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    signal(SIGALRM, on_alarm);
    check(alarm(10) == 0, "no alarm was set before");
    sleep(3);
    check(alarm(4) == 7, "alarm answers the seconds left (7)");
    check(!rang, "an alarm went off early");
    pthread_create(&t, NULL, slow, NULL);
    while (!rang)
        sched_yield();
    clock_gettime(CLOCK_MONOTONIC, &ts);
    check(ts.tv_sec - t0.tv_sec == 7 && ts.tv_nsec == t0.tv_nsec,
          "the alarm went off at virtual 3 + 4 s");
    pthread_join(t, NULL);
    struct itimerval it = { { 0, 250000 }, { 0, 250000 } };
    ticks = 0;
    setitimer(ITIMER_REAL, &it, NULL);
    usleep(1100000);
    check(ticks == 4, "a 250 ms timer ticks 4 times in 1.1 s");
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    usleep(1000000);
    check(ticks == 4, "a cancelled timer ticked");
    return 0;
}
