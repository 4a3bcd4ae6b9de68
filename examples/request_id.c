/*
 * request_id.c: a per-request id in thread-local storage, shared by every
 * coroutine of the loop.
 *
 * Scenario: a server keeps the id of the request being handled in a
 * thread-local, so that logging deep down can tag its lines without an id
 * parameter, a habit from thread-per-request servers. Requests now run as
 * coroutines on one loop, and every coroutine of a loop runs on the loop's
 * thread: the thread-local is one variable for all of them. Request 1
 * sets it, awaits its database query, and logs "done" with whatever id is
 * there by then. Request 2 arrives 2 ms after request 1; a query takes
 * 1 to 3 ms (chosen by the exploration, weft_choose), so request 2 may
 * or may not have overwritten the id before request 1 reads it back.
 *
 * What weft shows: with the thread-local, it finds an interleaving where
 * request 2 overwrote the id while request 1 was suspended in its await,
 * and reports it with a replay line (stderr). The twin keeps the id in a
 * task-local (weft_local_t, context-variable semantics: each coroutine
 * has its own value, and a child starts with a copy of its parent's, as
 * the audit coroutine each request spawns checks); it passes 1000
 * executions.
 *
 * Run: make demo, or ./build/examples/request_id
 * (exits 0 when weft behaves as described).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <weft.h>

#define REQUESTS 2

/* One per OS thread, and the loop's coroutines all share its thread. */
static _Thread_local uintptr_t thread_request_id;
static weft_local_t task_request_id = WEFT_LOCAL_INIT("request id");
static bool use_task_local;

static void set_request_id(uintptr_t id)
{
    if (use_task_local)
        weft_local_set(&task_request_id, (void *)id);
    else
        thread_request_id = id;
}

static uintptr_t request_id(void) /* what the logger reads */
{
    return use_task_local ? (uintptr_t)weft_local_get(&task_request_id)
                          : thread_request_id;
}

static void *audit(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    weft_assert(request_id() == id, "audit of request %lu sees id %lu",
                (unsigned long)id, (unsigned long)request_id());
    return NULL;
}

static void *handle_request(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    weft_await_sleep_for((int64_t)(id - 1) * 2 * WEFT_MSEC); /* arrival */
    set_request_id(id);
    /* the database query: 1 to 3 ms */
    weft_await_sleep_for((int64_t)(1 + weft_choose(3)) * WEFT_MSEC);
    weft_assert(request_id() == id,
                "request %lu logs \"done\" under request id %lu",
                (unsigned long)id, (unsigned long)request_id());
    if (use_task_local) /* a child starts with a copy of the id */
        weft_await(weft_spawn("audit", audit, (void *)id), NULL);
    return NULL;
}

static void *server(void *arg)
{
    (void)arg;
    static const char *const names[REQUESTS] = { "request 1", "request 2" };
    weft_future_t *req[REQUESTS];
    for (uintptr_t i = 0; i < REQUESTS; i++)
        req[i] = weft_spawn(names[i], handle_request, (void *)(i + 1));
    for (int i = 0; i < REQUESTS; i++)
        weft_await(req[i], NULL);
    return NULL;
}

static void body(void *arg)
{
    (void)arg;
    thread_request_id = 0;
    int rc = weft_run(server, NULL, NULL);
    weft_assert(rc == 0, "server ended with %d", rc);
}

int main(void)
{
    weft_config_t c;
    weft_result_t bug, twin;

    printf("request_id: %d requests on one loop keep their id in a "
           "thread-local;\neach sets it, awaits a 1-3 ms query, then logs "
           "under it.\n",
           REQUESTS);

    use_task_local = false;
    weft_config_init(&c);
    c.seed = 1;
    c.iterations = 1000;
    c.name = "request_id (thread-local)";
    fflush(stdout); /* the story, then weft's report on stderr */
    int rc = weft_explore(&c, body, NULL, &bug);
    bool found = rc == 1 && bug.finding == WEFT_FINDING_ASSERTION;
    printf("  thread-local: %s (execution %llu, seed %llu):\n    %s\n",
           found ? "weft found the interleaving" : "UNEXPECTED: no failure",
           (unsigned long long)bug.executions, (unsigned long long)bug.seed,
           bug.message);

    use_task_local = true;
    weft_config_init(&c);
    c.seed = 1;
    c.iterations = 1000;
    c.name = "request_id (task-local)";
    rc = weft_explore(&c, body, NULL, &twin);
    printf("  task-local (weft_local_t): %llu executions (%llu distinct), "
           "%s\n",
           (unsigned long long)twin.executions,
           (unsigned long long)twin.distinct,
           rc == 0 ? "no failure" : twin.message);
    bool ok = found && rc == 0;
    weft_result_destroy(&bug);
    weft_result_destroy(&twin);
    printf("  %s\n", ok ? "a thread-local is per thread, and coroutines "
                          "share one: keep request state per task."
                        : "UNEXPECTED: see above");
    return ok ? 0 : 1;
}
