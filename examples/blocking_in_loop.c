/*
 * blocking_in_loop.c: future.result() inside the event loop, the classic
 * deadlock.
 *
 * Scenario: on one loop, the server's main coroutine starts a handler
 * coroutine, which starts a fetcher coroutine for a reply and then calls
 * the thread-blocking weft_future_wait on the reply's future. The fetcher
 * would complete that future after one await, but it is a coroutine of
 * the same loop: while the handler blocks, the loop's thread is blocked
 * with it, so the fetcher never runs again. In asyncio this is
 * `future.result()` or `loop.run_until_complete()` inside a coroutine:
 * the program just hangs.
 *
 * What weft shows, three times over the same story:
 *   1. default policy (WEFT_BLOCKING_ERROR): the very first execution fails
 *      at the call site of weft_future_wait, naming the coroutine and loop
 *      (finding "blocking call inside a loop");
 *   2. c.blocking = WEFT_BLOCKING_WARN: the wait blocks the loop's thread
 *      for real and the hang is reported as an explained deadlock that
 *      names the loop, the blocked coroutine, the future it waits for, and
 *      the call site (reports go to stderr);
 *   3. the fix, weft_await (only the coroutine suspends), passes 500
 *      executions.
 *
 * Run: make demo, or ./build/examples/blocking_in_loop
 * (exits 0 when weft behaves as described).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <weft.h>

static int wait_line; /* the line of the blocking call, for the check */

static void *fetcher(void *arg)
{
    weft_future_t *reply = arg;
    weft_await_sleep_for(5 * WEFT_MSEC); /* the "network" */
    weft_future_set_result(reply, (void *)(uintptr_t)42);
    return NULL;
}

static void *handler(void *arg)
{
    bool fixed = *(const bool *)arg;
    weft_future_t *reply = weft_future_new();
    weft_future_t *job = weft_spawn("fetcher", fetcher, reply);
    void *v = NULL;
    int rc;
    if (fixed) {
        rc = weft_await(reply, &v); /* the fix: only this coroutine waits */
    } else {
        wait_line = __LINE__ + 1;
        rc = weft_future_wait(reply, &v, WEFT_FOREVER); /* the bug */
    }
    weft_assert(rc == 0 && (uintptr_t)v == 42, "reply %d", rc);
    weft_await(job, NULL);
    return NULL;
}

static void *server(void *arg)
{
    weft_future_t *h = weft_spawn("handler", handler, arg);
    int rc = weft_await(h, NULL);
    weft_assert(rc == 0, "handler ended with %d", rc);
    return NULL;
}

static void body(void *arg)
{
    void *ret;
    int rc = weft_run(server, arg, &ret);
    weft_assert(rc == 0, "loop ended with %d", rc);
}

static bool contains(const char *s, const char *what)
{
    return s != NULL && strstr(s, what) != NULL;
}

int main(void)
{
    weft_config_t c;
    weft_result_t err, warn, fix;
    bool fixed = false, ok = true;
    char site[64];

    printf("blocking_in_loop: a coroutine calls weft_future_wait on a "
           "future that\nanother coroutine of its own loop completes.\n");

    weft_config_init(&c);
    c.seed = 1;
    c.iterations = 500;
    c.name = "blocking_in_loop (default policy)";
    fflush(stdout); /* the story, then weft's report on stderr */
    int rc = weft_explore(&c, body, &fixed, &err);
    snprintf(site, sizeof site, "blocking_in_loop.c:%d", wait_line);
    bool found = rc == 1 && err.finding == WEFT_FINDING_BLOCKING_IN_LOOP &&
                 contains(err.message, site);
    printf("  1. default policy, execution %llu: %s\n     %s\n",
           (unsigned long long)err.executions,
           found ? "reported at the call" : "UNEXPECTED", err.message);
    ok = ok && found;

    weft_config_init(&c);
    c.seed = 1;
    c.iterations = 500;
    c.blocking = WEFT_BLOCKING_WARN;
    c.name = "blocking_in_loop (WEFT_BLOCKING_WARN)";
    fflush(stdout);
    rc = weft_explore(&c, body, &fixed, &warn);
    /* The report names the coroutine, the loop, the future it waits for
     * and the blocking call's site. */
    bool explained =
        rc == 1 && warn.finding == WEFT_FINDING_DEADLOCK &&
        contains(warn.report, "\"handler\" made a blocking call inside "
                              "loop L") &&
        contains(warn.report, "waits for future F") &&
        contains(warn.report, site);
    printf("  2. WEFT_BLOCKING_WARN, execution %llu: %s\n     %s\n",
           (unsigned long long)warn.executions,
           explained ? "the loop really hangs, and weft explains it"
                     : "UNEXPECTED",
           warn.message);
    ok = ok && explained;

    fixed = true;
    weft_config_init(&c);
    c.seed = 1;
    c.iterations = 500;
    c.name = "blocking_in_loop (weft_await)";
    rc = weft_explore(&c, body, &fixed, &fix);
    printf("  3. with weft_await: %llu executions, virtual time %lld ms, %s\n",
           (unsigned long long)fix.executions,
           (long long)(fix.time / WEFT_MSEC),
           rc == 0 ? "no failure" : fix.message);
    ok = ok && rc == 0;

    weft_result_destroy(&err);
    weft_result_destroy(&warn);
    weft_result_destroy(&fix);
    printf("  %s\n",
           ok ? "weft behaved as described." : "UNEXPECTED: see above");
    return ok ? 0 : 1;
}
