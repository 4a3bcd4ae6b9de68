/*
 * ambient_loop.c: async work started five calls deep, with no loop passed
 * down.
 *
 * Scenario: a server's main coroutine handles three requests at once, each
 * in its own coroutine. A request goes handle_request -> route ->
 * authorize -> load_profile -> fetch_profile, and only the fifth call does
 * I/O: it starts a "db lookup" coroutine (weft_spawn) and awaits it
 * (weft_await). No function takes a loop argument: the current loop and
 * the current task are ambient, as in asyncio, so the deep code needs no
 * plumbing when it turns async. The loop shuffles its ready coroutines
 * (WEFT_LOOP_SHUFFLE), so the exploration varies which request runs when.
 *
 * What weft shows: deep in fetch_profile, weft_loop_current() is the very
 * loop the server runs on and weft_in_coroutine() is true, while the plain
 * thread that started the loop sees no current loop before and after it.
 * 500 executions explore the interleavings of the three requests and their
 * lookups with no failure: every request gets its own profile back.
 *
 * Run: make demo, or ./build/examples/ambient_loop
 * (exits 0 when weft behaves as described).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <weft.h>

#define REQUESTS 3

/* For the check only: the loop as the server saw it, and what the deep
 * code saw. Nothing below reads it to find the loop. */
static weft_loop_t *server_loop;
static long deep_calls, deep_same_loop;

static void *db_lookup(void *arg)
{
    uintptr_t user = (uintptr_t)arg;
    weft_await_sleep_for((int64_t)(1 + user % 2) * WEFT_MSEC); /* the I/O */
    return (void *)(user * 100); /* the "profile" */
}

/* Five calls down: start async work on whatever loop runs us, await it. */
static uintptr_t fetch_profile(uintptr_t user)
{
    deep_calls++;
    if (weft_loop_current() == server_loop && weft_in_coroutine())
        deep_same_loop++;
    weft_future_t *f = weft_spawn("db lookup", db_lookup, (void *)user);
    weft_assert(f != NULL, "no current loop five calls deep");
    void *profile = NULL;
    int rc = weft_await(f, &profile);
    weft_assert(rc == 0, "lookup of user %lu: %d", (unsigned long)user, rc);
    return (uintptr_t)profile;
}

static uintptr_t load_profile(uintptr_t user)
{
    return fetch_profile(user);
}

static uintptr_t authorize(uintptr_t user)
{
    weft_await_yield(); /* a check that lets the other requests run */
    return load_profile(user);
}

static uintptr_t route(uintptr_t user)
{
    return authorize(user);
}

static void *handle_request(void *arg)
{
    uintptr_t user = (uintptr_t)arg;
    uintptr_t profile = route(user);
    weft_assert(profile == user * 100, "user %lu got profile %lu",
                (unsigned long)user, (unsigned long)profile);
    return NULL;
}

static void *server(void *arg)
{
    (void)arg;
    weft_future_t *req[REQUESTS];
    server_loop = weft_loop_current();
    for (uintptr_t i = 0; i < REQUESTS; i++)
        req[i] = weft_spawn("request", handle_request, (void *)(i + 1));
    for (int i = 0; i < REQUESTS; i++)
        weft_assert(weft_await(req[i], NULL) == 0, "request %d failed", i);
    return NULL;
}

static void body(void *arg)
{
    bool *thread_saw_loop = arg;
    weft_loop_t loop = WEFT_LOOP_INITIALIZER(WEFT_LOOP_SHUFFLE);
    if (weft_loop_current() != NULL)
        *thread_saw_loop = true;
    int rc = weft_loop_run(&loop, server, NULL, NULL);
    weft_assert(rc == 0, "server ended with %d", rc);
    weft_assert(server_loop == &loop, "the server ran on another loop");
    if (weft_loop_current() != NULL)
        *thread_saw_loop = true;
}

int main(void)
{
    weft_config_t c;
    weft_result_t res;
    bool thread_saw_loop = false;

    printf("ambient_loop: %d requests, each handle_request -> route -> "
           "authorize ->\nload_profile -> fetch_profile, which spawns and "
           "awaits a db lookup.\n",
           REQUESTS);

    weft_config_init(&c);
    c.seed = 1;
    c.iterations = 500;
    c.name = "ambient_loop";
    fflush(stdout); /* the story, then weft's summary on stderr */
    int rc = weft_explore(&c, body, &thread_saw_loop, &res);
    bool ambient =
        deep_calls > 0 && deep_same_loop == deep_calls && !thread_saw_loop;
    printf("  five calls deep, weft_loop_current() was the server's loop "
           "in %ld of %ld calls\n  (and weft_in_coroutine() was true); the "
           "plain thread around the loop saw %s\n",
           deep_same_loop, deep_calls,
           thread_saw_loop ? "a loop: UNEXPECTED" : "no current loop");
    printf("  %llu executions (%llu distinct interleavings), virtual time "
           "%lld ms each: %s\n",
           (unsigned long long)res.executions, (unsigned long long)res.distinct,
           (long long)(res.time / WEFT_MSEC),
           rc == 0 ? "no failure" : res.message);
    bool ok = rc == 0 && ambient;
    weft_result_destroy(&res);
    printf("  %s\n", ok ? "no loop argument anywhere, and none needed."
                        : "UNEXPECTED: see above");
    return ok ? 0 : 1;
}
