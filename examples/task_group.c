/*
 * task_group.c: structured concurrency: one child fails, its siblings are
 * cancelled cleanly, the parent gets the error.
 *
 * Scenario: a request fans out to three coroutines in a task group: "disk"
 * reads a block, "net" and "cache" each take a buffer from a shared pool
 * and then wait for their answers (a few awaits, tens of milliseconds).
 * The disk read fails with -EIO (weft_task_fail) after 0 to 3 ms, a delay
 * the exploration chooses (weft_choose). The group cancels the siblings:
 * their next await returns -ECANCELED, they give their buffer back and
 * end. weft_group_wait returns -EIO only once every child has ended. The
 * loop shuffles its ready coroutines (WEFT_LOOP_SHUFFLE), so the
 * exploration also varies the order they run in.
 *
 * What weft shows: 500 executions with no finding at all: wait returns
 * -EIO every time, both siblings saw -ECANCELED, no buffer is left taken,
 * no child outlives the group (that would be a task-leak finding) and the
 * failed child's error is not "unobserved" (the group took it).
 *
 * Run: make demo, or ./build/examples/task_group
 * (exits 0 when weft behaves as described).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <weft.h>

struct request {
    int buffers_taken; /* from the shared pool */
    int cancelled;     /* siblings that saw -ECANCELED */
};

static void *disk(void *arg)
{
    (void)arg;
    weft_await_sleep_for((int64_t)weft_choose(4) * WEFT_MSEC);
    weft_task_fail(-EIO); /* the read failed */
}

/* net and cache: hold a buffer across several awaits, release it on any
 * way out. */
static void *holder(void *arg)
{
    struct request *req = arg;
    int rc = 0;
    req->buffers_taken++;
    for (int i = 0; i < 5 && rc == 0; i++)
        rc = weft_await_sleep_for(10 * WEFT_MSEC);
    req->buffers_taken--;
    if (rc == -ECANCELED)
        req->cancelled++;
    weft_assert(rc == -ECANCELED, "finished with %d after disk failed", rc);
    return NULL;
}

static void *handle(void *arg)
{
    struct request *req = arg;
    weft_group_t g;
    weft_group_init(&g);
    weft_group_spawn(&g, "disk", disk, req);
    weft_group_spawn(&g, "net", holder, req);
    weft_group_spawn(&g, "cache", holder, req);
    int rc = weft_group_wait(&g);
    weft_group_destroy(&g);
    weft_assert(rc == -EIO, "group wait returned %d, expected -EIO", rc);
    weft_assert(req->cancelled == 2, "%d siblings saw -ECANCELED",
                req->cancelled);
    weft_assert(req->buffers_taken == 0, "%d buffers never given back",
                req->buffers_taken);
    return NULL;
}

static void body(void *arg)
{
    (void)arg;
    struct request req = { 0, 0 };
    weft_loop_t loop = WEFT_LOOP_INITIALIZER(WEFT_LOOP_SHUFFLE);
    int rc = weft_loop_run(&loop, handle, &req, NULL);
    weft_assert(rc == 0, "handler ended with %d", rc);
}

int main(void)
{
    weft_config_t c;
    weft_result_t res;

    printf("task_group: disk, net and cache run in a task group; disk "
           "fails with -EIO\nafter 0-3 ms while net and cache hold "
           "buffers across their awaits.\n");

    weft_config_init(&c);
    c.seed = 1;
    c.iterations = 500;
    c.name = "task_group";
    fflush(stdout); /* the story, then weft's summary on stderr */
    int rc = weft_explore(&c, body, NULL, &res);
    printf("  %llu executions (%llu distinct): %s\n",
           (unsigned long long)res.executions, (unsigned long long)res.distinct,
           rc == 0 ? "no finding" : res.message);
    if (rc == 0)
        printf("  in every one: weft_group_wait returned -EIO (%s), net and "
               "cache saw -ECANCELED\n  and gave their buffers back, no "
               "child outlived the group\n",
               weft_strerror(-EIO));
    bool ok = rc == 0;
    weft_result_destroy(&res);
    printf("  %s\n", ok ? "one failure, clean cancellation, one error for "
                          "the parent."
                        : "UNEXPECTED: see above");
    return ok ? 0 : 1;
}
