/*
 * virtual_hour.c: a session that expires after one idle hour, tested in
 * microseconds.
 *
 * Scenario: a session thread waits for user activity on a condition
 * variable with a deadline one hour after login. The user logs in, walks
 * away for two hours (weft_sleep_for), and comes back to find the session
 * expired. On a real clock this test takes two hours.
 *
 * What weft shows: time is virtual. It jumps to the next deadline when no
 * task can run, so the session's timed wait returns -ETIMEDOUT at exactly
 * 3600 s of virtual time (checked inside with weft_now()), the user wakes
 * at exactly 7200 s, and the whole exploration takes microseconds of wall
 * time. The wall clock (CLOCK_MONOTONIC) is read only around
 * weft_explore, for the printout; it never reaches a decision.
 *
 * Run: make demo, or ./build/examples/virtual_hour
 * (exits 0 when weft behaves as described).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <weft.h>

#define HOUR (3600 * WEFT_SEC)

struct session {
    weft_mutex_t m;
    weft_cond_t activity;
    bool active;  /* the user did something since the last check */
    bool expired; /* set by the session thread at its deadline */
};

static void *session(void *arg)
{
    struct session *s = arg;
    int64_t deadline = weft_now() + HOUR;
    int rc = 0;
    weft_mutex_lock(&s->m);
    while (!s->active && rc != -ETIMEDOUT)
        rc = weft_cond_timedwait(&s->activity, &s->m, deadline);
    weft_assert(rc == -ETIMEDOUT, "the idle session did not time out: %s",
                weft_strerror(rc));
    weft_assert(weft_now() == HOUR, "expired at %lld ns, not at one hour",
                (long long)weft_now());
    s->expired = true;
    weft_mutex_unlock(&s->m);
    return NULL;
}

static void *user(void *arg)
{
    struct session *s = arg;
    weft_sleep_for(2 * HOUR); /* lunch, a meeting, ... */
    weft_assert(weft_now() == 2 * HOUR, "woke at %lld ns, not at two hours",
                (long long)weft_now());
    weft_mutex_lock(&s->m);
    weft_assert(s->expired, "the session is still open after two hours");
    weft_mutex_unlock(&s->m);
    return NULL;
}

static void body(void *arg)
{
    (void)arg;
    struct session s = { WEFT_MUTEX_INITIALIZER, WEFT_COND_INITIALIZER, false,
                         false };
    weft_thread_t t, u;
    weft_thread_spawn(&t, "session", session, &s);
    weft_thread_spawn(&u, "user", user, &s);
    weft_thread_join(t, NULL);
    weft_thread_join(u, NULL);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
    weft_config_t c;
    weft_result_t r;

    printf("virtual_hour: a session expires after one idle hour; the user "
           "comes back after two.\n");
    fflush(stdout); /* the story, then any weft report on stderr */

    weft_config_init(&c);
    c.seed = 1;
    c.iterations = 100;
    c.name = "virtual_hour";
    double t0 = seconds();
    int rc = weft_explore(&c, body, NULL, &r);
    double wall = seconds() - t0;
    if (rc != 0) {
        printf("  UNEXPECTED: %s\n", rc == 1 ? r.message : weft_strerror(rc));
        weft_result_destroy(&r);
        return 1;
    }
    double per = wall / (double)r.executions;
    printf("  the session expired at exactly 3600 s of virtual time, the "
           "user found it closed at 7200 s\n"
           "  %llu executions of two virtual hours each in %.0f µs of wall "
           "time\n"
           "  one virtual hour in %.2f µs\n",
           (unsigned long long)r.executions, wall * 1e6, per * 1e6 / 2);
    bool ok = r.time == 2 * HOUR;
    if (!ok)
        printf("  UNEXPECTED: the last execution ended at %lld ns\n",
               (long long)r.time);
    weft_result_destroy(&r);
    return ok ? 0 : 1;
}
