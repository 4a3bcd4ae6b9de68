/*
 * nursery_server.c: trio's nursery idiom: a server whose handlers start
 * their own helpers into the server's one task group.
 *
 * Scenario: a client thread sends five requests through a channel and
 * closes its send end. The server coroutine opens a task group and starts
 * a "listener" in it, passing the group down. The listener starts one
 * "handler" per request into the same group and ends when the channel
 * says the client is gone; each handler starts a "fetch" helper (a few
 * milliseconds, chosen by the exploration) into the same group again. The
 * server just waits for the group. Request 4 is poisoned: its fetch fails
 * with -EIO, which cancels the whole group, listener and siblings alike.
 *
 * What weft shows: 300 executions with no finding. In every one the
 * group's wait returns -EIO only once every child has ended (those the
 * children started while the server already waited included), exactly
 * one error is recorded, naming the "fetch" that failed and its line,
 * every other child ended cancelled or with its value, and no child
 * outlives the group.
 *
 * Run: make demo, or ./build/examples/nursery_server
 * (exits 0 when weft behaves as described).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <weft.h>

#define REQUESTS 5
#define POISON   4

struct server {
    weft_chan_t chan;
    weft_chan_tx_t tx;
    weft_chan_rx_t rx;
    weft_group_t g;
    int fail_line; /* where the poisoned fetch fails */
};

static struct server *srv;

static void *fetch(void *arg)
{
    uintptr_t req = (uintptr_t)arg;
    int rc = weft_await_sleep_for((int64_t)(1 + weft_choose(3)) * WEFT_MSEC);
    if (rc == 0 && req == POISON) {
        srv->fail_line = __LINE__ + 1;
        weft_task_fail(-EIO);
    }
    return rc == 0 ? arg : NULL;
}

static void *handler(void *arg)
{
    /* A helper of its own, into the server's group: the nursery idiom.
     * Into a group being cancelled, it starts cancelled. */
    weft_group_spawn(&srv->g, "fetch", fetch, arg);
    return arg;
}

static void *listener(void *arg)
{
    weft_group_t *g = arg;
    void *req;
    /* -EPIPE once the client closed its end, -ECANCELED if the group is
     * cancelled first: either way the listener is done. */
    while (weft_chan_recv(&srv->rx, &req, WEFT_FOREVER) == 0)
        weft_group_spawn(g, "handler", handler, req);
    return NULL;
}

static void *client(void *arg)
{
    (void)arg;
    for (uintptr_t i = 1; i <= REQUESTS; i++)
        if (weft_chan_send(&srv->tx, (void *)i, WEFT_FOREVER) != 0)
            break; /* the server stopped listening */
    weft_chan_tx_close(&srv->tx);
    return NULL;
}

static void *serve(void *arg)
{
    (void)arg;
    weft_group_init(&srv->g);
    weft_group_spawn(&srv->g, "listener", listener, &srv->g);
    int rc = weft_group_wait(&srv->g);
    weft_chan_rx_close(&srv->rx); /* a client still sending gets -EPIPE */

    weft_assert(rc == -EIO, "the group's wait returned %d", rc);
    weft_outcome_t o;
    weft_assert(weft_group_error(&srv->g, 0, &o) == 0, "no error recorded");
    weft_assert(strcmp(o.name, "fetch") == 0 && o.err == -EIO &&
                    o.line == srv->fail_line,
                "error 0: %s %d at line %d", o.name, o.err, o.line);
    weft_assert(weft_group_error(&srv->g, 1, &o) == -ENOENT,
                "a second error: %s %d", o.name, o.err);
    for (size_t i = 0; weft_group_outcome(&srv->g, i, &o) == 0; i++)
        weft_assert(o.err == 0 || o.err == -ECANCELED || o.err == -EIO,
                    "%s ended with %d", o.name, o.err);
    return NULL;
}

static void body(void *arg)
{
    struct server s;
    weft_thread_t t;
    (void)arg;
    memset(&s, 0, sizeof s);
    srv = &s;
    weft_chan_open(&s.chan, 2, &s.tx, &s.rx);
    weft_thread_spawn(&t, "client", client, NULL);
    int rc = weft_run(serve, NULL, NULL);
    weft_thread_join(t, NULL);
    weft_assert(rc == 0, "the server ended with %d", rc);
}

int main(void)
{
    weft_config_t c;
    weft_result_t res;

    printf("nursery_server: a listener and its handlers start their helpers "
           "into the server's\none task group while the server waits; "
           "request %d's fetch fails with -EIO.\n",
           POISON);
    weft_config_init(&c);
    c.seed = 1;
    c.iterations = 300;
    c.name = "nursery_server";
    fflush(stdout); /* the story, then weft's summary on stderr */
    int rc = weft_explore(&c, body, NULL, &res);
    printf("  %llu executions (%llu distinct): %s\n",
           (unsigned long long)res.executions, (unsigned long long)res.distinct,
           rc == 0 ? "no finding" : res.message);
    if (rc == 0)
        printf("  in every one: the wait returned -EIO after the last child, "
               "one error recorded\n  (\"fetch\", -EIO, its line), the rest "
               "cancelled or done, nothing leaked\n");
    weft_result_destroy(&res);
    printf("  %s\n", rc == 0 ? "children started siblings; one failure "
                               "brought the nursery down cleanly."
                             : "UNEXPECTED: see above");
    return rc == 0 ? 0 : 1;
}
