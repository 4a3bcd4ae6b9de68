/*
 * timeout_race.c: a 100 ms timeout against a server that takes exactly
 * 100 ms.
 *
 * Scenario: a caller coroutine awaits a reply inside a fail-after cancel
 * scope of 100 ms (weft_scope_enter with WEFT_SCOPE_FAIL: the await
 * returns -ECANCELED at the deadline and weft_scope_exit says -ETIMEDOUT).
 * The server coroutine takes exactly 100 ms to reply. On a real clock the
 * outcome depends on which timer the OS happens to service first, so a
 * test passes for months. On weft's virtual clock both timers are due at
 * the same instant, and which fires first is a scheduling choice.
 *
 * What weft shows:
 *   1. with a caller that copes with either outcome, 200 executions count
 *      both: sometimes the reply wins, sometimes the deadline does;
 *   2. with a caller that treats a timeout as fatal (weft_assert), weft
 *      finds the order where the deadline fires first and reports it with
 *      a replay line (stderr); replaying that seed alone times out again.
 *
 * Run: make demo, or ./build/examples/timeout_race
 * (exits 0 when weft behaves as described). WEFT_* variables steer both
 * explorations; the replay keeps the failing seed and runs it once.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <weft.h>

#define DEADLINE (100 * WEFT_MSEC)
#define SERVICE  (100 * WEFT_MSEC)

static long replies, timeouts; /* across executions, in part 1 */

static void *server(void *arg)
{
    weft_await_sleep_for(SERVICE);
    weft_future_set_result(arg, (void *)(uintptr_t)200);
    return NULL;
}

static void *caller(void *arg)
{
    bool fatal = *(const bool *)arg;
    weft_future_t *reply = weft_future_new();
    weft_future_t *srv = weft_spawn("server", server, reply);
    weft_scope_t scope;
    void *status = NULL;

    weft_scope_enter(&scope, weft_now() + DEADLINE, WEFT_SCOPE_FAIL);
    int rc = weft_await(reply, &status);
    int timed_out = weft_scope_exit(&scope) == -ETIMEDOUT;
    if (fatal)
        weft_assert(!timed_out, "no reply within %lld ms: giving up",
                    (long long)(DEADLINE / WEFT_MSEC));
    if (timed_out) {
        weft_assert(rc == -ECANCELED, "await after the deadline: %d", rc);
        timeouts++;
    } else {
        weft_assert(rc == 0 && (uintptr_t)status == 200, "reply: %d", rc);
        replies++;
    }
    weft_await(srv, NULL);
    return NULL;
}

static void body(void *arg)
{
    int rc = weft_run(caller, arg, NULL);
    weft_assert(rc == 0, "loop ended with %d", rc);
}

int main(void)
{
    weft_config_t c, applied;
    weft_result_t count, bug, again;
    bool fatal = false;

    printf("timeout_race: a caller awaits a reply under a %lld ms "
           "fail-after scope;\nthe server replies after exactly %lld ms.\n",
           (long long)(DEADLINE / WEFT_MSEC), (long long)(SERVICE / WEFT_MSEC));

    weft_config_init(&c);
    c.seed = 1;
    c.iterations = 200;
    c.name = "timeout_race (tolerant caller)";
    fflush(stdout); /* the story, then weft's reports on stderr */
    int rc = weft_explore(&c, body, &fatal, &count);
    printf("  1. tolerant caller, %llu executions: the reply won in %ld, "
           "the deadline in %ld\n",
           (unsigned long long)count.executions, replies, timeouts);
    /* The counts see only the executions run in this process: with
     * WEFT_ITERATIONS=1 (the replay line) or WEFT_JOBS > 1 (forked
     * workers) there may be too few to see both orders. */
    bool both = rc == 0 && replies > 0 && timeouts > 0;
    if (rc == 0 && replies + timeouts < 2) {
        printf("     (too few executions ran in this process to count "
               "both orders)\n");
        both = true;
    } else if (!both) {
        printf("     UNEXPECTED: only one outcome was ever seen\n");
    }

    fatal = true;
    c.name = "timeout_race (timeout is fatal)";
    applied = c;
    fflush(stdout);
    rc = weft_explore(&c, body, &fatal, &bug);
    bool found = rc == 1 && bug.finding == WEFT_FINDING_ASSERTION;
    printf("  2. fatal caller: %s\n     %s\n",
           found ? "weft found the order where the deadline fires first"
                 : "UNEXPECTED: no failure",
           bug.message);

    bool replays = false;
    weft_config_from_env(&applied, NULL, 0); /* checked above */
    applied.use_env = false;
    if (found &&
        (applied.replay_file != NULL ||
         (applied.strategy != NULL && strcmp(applied.strategy, "random") != 0 &&
          strcmp(applied.strategy, "pct") != 0))) {
        printf("     (no seed names one execution of this strategy: the "
               "report's WEFT_REPLAY line replays it)\n");
        replays = true;
    } else if (found) {
        applied.seed = bug.seed;
        applied.iterations = 1;
        applied.quiet = true;
        rc = weft_explore(&applied, body, &fatal, &again);
        replays = rc == 1 && again.trace_hash == bug.trace_hash;
        printf("     replay of seed %llu alone: %s\n",
               (unsigned long long)bug.seed,
               replays ? "the same timeout, the same trace"
                       : "UNEXPECTED: it differs");
        weft_result_destroy(&again);
    }

    bool ok = both && found && replays;
    weft_result_destroy(&count);
    weft_result_destroy(&bug);
    printf("  %s\n", ok ? "both orders explored; the one that breaks the "
                          "caller comes with a replay line."
                        : "UNEXPECTED: see above");
    return ok ? 0 : 1;
}
