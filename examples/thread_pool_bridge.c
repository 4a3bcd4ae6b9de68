/*
 * thread_pool_bridge.c: one future type between a loop, its thread pool
 * and a plain thread.
 *
 * Scenario: a loop's main coroutine hashes three files. Hashing is blocking
 * CPU work, so each file goes to the loop's thread pool (weft_to_thread,
 * asyncio's to_thread); the pool has two workers (c.loop_workers = 2), so
 * the third job waits for a free worker, as with a real executor. Each job
 * takes 20 ms; the coroutine awaits all three futures. Meanwhile a plain
 * thread, outside the loop, submits a coroutine to it (weft_spawn_on,
 * asyncio's run_coroutine_threadsafe) and blocks on that coroutine's
 * future with weft_future_wait; then it completes a future of its own,
 * which the main coroutine awaits before it ends. Every future here has
 * the same type: awaited by a coroutine, waited on by a thread, completed
 * by whoever.
 *
 * What weft shows: both bridges work under exploration (500 executions, no
 * failure), and virtual time is exact: the plain thread gets its answer at
 * 10 ms, the hashes are all in at 40 ms (two rounds of 20 ms on two
 * workers), and each execution ends at 40 ms of virtual time, in
 * microseconds of wall time.
 *
 * Run: make demo, or ./build/examples/thread_pool_bridge
 * (exits 0 when weft behaves as described).
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <weft.h>

#define FILES 3

struct app {
    weft_loop_t loop;
    weft_future_t *thread_done; /* the plain thread completes it */
    int64_t hashed_at, answered_at;
};

/* On a pool worker: a thread, so it may block (and "compute" for 20 ms). */
static void *hash_file(void *arg)
{
    weft_sleep_for(20 * WEFT_MSEC);
    return (void *)((uintptr_t)arg * 7919);
}

/* Submitted from the plain thread; runs as a coroutine on the loop. */
static void *compute(void *arg)
{
    weft_await_sleep_for(10 * WEFT_MSEC);
    return (void *)((uintptr_t)arg + 1);
}

static void *main_coroutine(void *arg)
{
    struct app *a = arg;
    weft_future_t *jobs[FILES];
    for (uintptr_t i = 0; i < FILES; i++) {
        jobs[i] = weft_to_thread(hash_file, (void *)(i + 1));
        weft_assert(jobs[i] != NULL, "to_thread %lu", (unsigned long)i);
    }
    for (uintptr_t i = 0; i < FILES; i++) {
        void *h = NULL;
        int rc = weft_await(jobs[i], &h);
        weft_assert(rc == 0 && (uintptr_t)h == (i + 1) * 7919,
                    "hash %lu: rc %d", (unsigned long)i, rc);
    }
    a->hashed_at = weft_now();
    /* Keep the loop running until the thread is done with it. */
    int rc = weft_await(a->thread_done, NULL);
    weft_assert(rc == 0, "thread_done: %d", rc);
    return NULL;
}

static void *plain_thread(void *arg)
{
    struct app *a = arg;
    weft_future_t *f =
        weft_spawn_on(&a->loop, "compute", compute, (void *)(uintptr_t)41);
    weft_assert(f != NULL, "spawn_on failed");
    void *v = NULL;
    int rc = weft_future_wait(f, &v, WEFT_FOREVER); /* a thread: fine */
    weft_assert(rc == 0 && (uintptr_t)v == 42, "compute: rc %d", rc);
    a->answered_at = weft_now();
    weft_future_set_result(a->thread_done, NULL);
    return NULL;
}

static void body(void *arg)
{
    struct app *a = arg;
    weft_thread_t t;
    weft_loop_init(&a->loop, 0);
    a->thread_done = weft_future_new();
    weft_thread_spawn(&t, "plain thread", plain_thread, a);
    int rc = weft_loop_run(&a->loop, main_coroutine, a, NULL);
    weft_assert(rc == 0, "loop: %d", rc);
    weft_thread_join(t, NULL);
    weft_assert(a->answered_at == 10 * WEFT_MSEC, "answer at %lld ns",
                (long long)a->answered_at);
    weft_assert(a->hashed_at == 40 * WEFT_MSEC, "hashes at %lld ns",
                (long long)a->hashed_at);
}

int main(void)
{
    static struct app a;
    weft_config_t c;
    weft_result_t res;

    printf("thread_pool_bridge: a coroutine awaits %d thread-pool jobs "
           "(2 workers, 20 ms each);\na plain thread waits on a coroutine it "
           "submitted to the loop (10 ms).\n",
           FILES);

    weft_config_init(&c);
    c.seed = 1;
    c.iterations = 500;
    c.loop_workers = 2;
    c.name = "thread_pool_bridge";
    fflush(stdout); /* the story, then weft's summary on stderr */
    /* Wall time, for the printout only. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = weft_explore(&c, body, &a, &res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall_us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 +
                     (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
    printf("  %llu executions (%llu distinct), %llu steps: %s\n",
           (unsigned long long)res.executions, (unsigned long long)res.distinct,
           (unsigned long long)res.total_steps,
           rc == 0 ? "no failure" : res.message);
    printf("  virtual time: the thread got its answer at %lld ms, the hashes "
           "were in at %lld ms,\n  the execution ended at %lld ms, after "
           "%.0f us of wall time per execution\n",
           (long long)(a.answered_at / WEFT_MSEC),
           (long long)(a.hashed_at / WEFT_MSEC),
           (long long)(res.time / WEFT_MSEC),
           res.executions ? wall_us / (double)res.executions : 0.0);
    bool ok = rc == 0 && res.time == 40 * WEFT_MSEC;
    weft_result_destroy(&res);
    printf("  %s\n", ok ? "awaited, waited on and completed across loop, "
                          "pool and thread: one future type."
                        : "UNEXPECTED: see above");
    return ok ? 0 : 1;
}
