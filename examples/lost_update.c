/*
 * lost_update.c: two threads bump a shared counter and an update vanishes.
 *
 * Scenario: two workers each add 1 to a shared counter ROUNDS times, as
 * "read the counter; write it back plus one". Both steps are atomic, the
 * pair is not: if one worker reads, the other reads the same value, and
 * both write, one increment is lost and the final total is short.
 *
 * What weft shows: it finds the lost update within a few executions and
 * prints a report with the interleaving (shrunk to the fewest preemptions)
 * and a replay line; the twin that holds a mutex around read-and-write
 * passes 2000 executions. Then the failing seed is run again alone, and
 * both runs print the same trace hash: the same seed is the same
 * execution, bit for bit.
 *
 * Run: make demo, or ./build/examples/lost_update
 * (exits 0 when weft behaves as described). WEFT_SEED and the other
 * WEFT_* variables steer every run, except that the replay keeps the
 * failing seed and runs it once.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <weft.h>

#define WORKERS 2
#define ROUNDS  3

struct counter {
    weft_atomic32_t value;
    weft_mutex_t lock;
    bool locked; /* the twin: read and write under the lock */
};

static void *worker(void *arg)
{
    struct counter *c = arg;
    for (int i = 0; i < ROUNDS; i++) {
        if (c->locked)
            weft_mutex_lock(&c->lock);
        uint32_t v = weft_atomic32_load(&c->value);
        /* the other worker may run here: that is the bug */
        weft_atomic32_store(&c->value, v + 1);
        if (c->locked)
            weft_mutex_unlock(&c->lock);
    }
    return NULL;
}

static void body(void *arg)
{
    /* Everything lives on the body's stack: each execution starts fresh. */
    struct counter c = { WEFT_ATOMIC_INIT(0), WEFT_MUTEX_INITIALIZER,
                         *(const bool *)arg };
    static const char *const names[WORKERS] = { "worker 1", "worker 2" };
    weft_thread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        weft_thread_spawn(&t[i], names[i], worker, &c);
    for (int i = 0; i < WORKERS; i++)
        weft_thread_join(t[i], NULL);
    uint32_t total = weft_atomic32_load(&c.value);
    weft_assert(total == WORKERS * ROUNDS, "counter is %u, expected %d",
                (unsigned)total, WORKERS * ROUNDS);
}

int main(void)
{
    weft_config_t c, found;
    weft_result_t bug = { 0 }, twin = { 0 }, again = { 0 };
    bool locked = false, ok = false;

    printf("lost_update: %d workers add 1 to a shared counter %d times "
           "each, as load; store(v + 1).\n",
           WORKERS, ROUNDS);

    weft_config_init(&c);
    c.seed = 1;
    c.iterations = 1000;
    c.name = "lost_update (no lock)";
    found = c;
    fflush(stdout); /* the story, then weft's report on stderr */
    int rc = weft_explore(&c, body, &locked, &bug);
    if (rc != 1 || bug.finding != WEFT_FINDING_ASSERTION) {
        printf("  UNEXPECTED: weft did not find the lost update (rc %d)\n", rc);
        goto out;
    }
    printf("  without a lock: execution %llu (seed %llu) lost an update:\n"
           "    %s\n",
           (unsigned long long)bug.executions, (unsigned long long)bug.seed,
           bug.message);

    locked = true;
    weft_config_init(&c);
    c.seed = 1;
    c.iterations = 2000;
    c.quiet = true;
    c.name = "lost_update (mutex twin)";
    rc = weft_explore(&c, body, &locked, &twin);
    if (rc != 0) {
        printf("  UNEXPECTED: the mutex twin failed (rc %d): %s\n", rc,
               twin.message);
        fputs(twin.report ? twin.report : "", stderr);
        goto out;
    }
    printf("  with a mutex: %llu executions, %llu steps, no failure\n",
           (unsigned long long)twin.executions,
           (unsigned long long)twin.total_steps);

    /* The replay: the configuration that found the bug, environment
     * included (as weft_explore applied it), but only the failing seed,
     * once. Shrinking (on by default) is deterministic, so the replay
     * reports the very execution the first report showed. */
    locked = false;
    c = found;
    weft_config_from_env(&c, NULL, 0); /* checked by the first explore */
    c.use_env = false;
    if (c.replay_file != NULL ||
        (c.strategy != NULL && strcmp(c.strategy, "random") != 0 &&
         strcmp(c.strategy, "pct") != 0)) {
        printf("  (strategy %s: no seed names one execution; the report's "
               "WEFT_REPLAY line replays it)\n",
               c.replay_file ? "replay" : c.strategy);
        ok = true;
        goto out;
    }
    c.seed = bug.seed;
    c.iterations = 1;
    c.quiet = true;
    rc = weft_explore(&c, body, &locked, &again);
    printf("  replay of seed %llu alone: %s\n"
           "    trace hash of the reported execution: %016llx\n"
           "    trace hash of its replay:             %016llx\n",
           (unsigned long long)bug.seed, rc == 1 ? again.message : "no failure",
           (unsigned long long)bug.trace_hash,
           (unsigned long long)again.trace_hash);
    ok = rc == 1 && again.finding == bug.finding &&
         again.trace_hash == bug.trace_hash && again.steps == bug.steps;
    printf("  %s\n", ok ? "same seed, same execution: the bug replays."
                        : "UNEXPECTED: the replay differs");
out:
    weft_result_destroy(&bug);
    weft_result_destroy(&twin);
    weft_result_destroy(&again);
    return ok ? 0 : 1;
}
