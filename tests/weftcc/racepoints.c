/*
 * racepoints.c: plain-access races whose consequence (a failed assertion)
 * needs a switch between two plain accesses, so weft-cc's default
 * granularity (atomics) reports the race but never the assertion;
 * WEFT_RACE=report learns the racing sites as scheduling points
 * (test_tsan.c, scripts/bench-weftcc.sh). Scenario by argv[1]:
 *   counter  two threads do tmp = counter; counter = tmp + 1 (a lost
 *            update: the final counter is 1)
 *   publish  a writer sets the flag before the data it publishes; a
 *            reader that sees the flag reads the data
 *   busy     counter's lost update after 256 plain accesses of each
 *            thread to its own part of a global array (where granularity
 *            memory has many more scheduling points)
 *   both     counter and publish together: two distinct failures
 * A second argument: quiet (no assertion: for execution rates), or
 * locked (the increment under a mutex: no race).
 */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static int counter;

static void *incr(void *arg)
{
    (void)arg;
    int tmp = counter;
    counter = tmp + 1;
    return NULL;
}

static int work[2][256];
static int quiet, locked;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *busy(void *arg)
{
    int(*w)[256] = arg;
    for (int i = 0; i < 256; i++)
        (*w)[i] += i;
    if (locked)
        pthread_mutex_lock(&mu);
    int tmp = counter;
    counter = tmp + 1;
    if (locked)
        pthread_mutex_unlock(&mu);
    return NULL;
}

static int flag, data;

static void *writer(void *arg)
{
    (void)arg;
    flag = 1; /* the bug: published before the data */
    data = 42;
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
    if (flag)
        assert(data == 42);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : "counter";
    quiet = argc > 2 && strcmp(argv[2], "quiet") == 0;
    locked = argc > 2 && strcmp(argv[2], "locked") == 0;
    pthread_t a, b;
    if (strcmp(s, "counter") == 0) {
        pthread_create(&a, NULL, incr, NULL);
        pthread_create(&b, NULL, incr, NULL);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        assert(counter == 2);
    } else if (strcmp(s, "busy") == 0) {
        pthread_create(&a, NULL, busy, &work[0]);
        pthread_create(&b, NULL, busy, &work[1]);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        assert(quiet || counter == 2);
    } else if (strcmp(s, "both") == 0) {
        pthread_t c, d;
        pthread_create(&a, NULL, incr, NULL);
        pthread_create(&b, NULL, incr, NULL);
        pthread_create(&c, NULL, reader, NULL);
        pthread_create(&d, NULL, writer, NULL);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        pthread_join(c, NULL);
        pthread_join(d, NULL);
        assert(counter == 2);
    } else if (strcmp(s, "publish") == 0) {
        pthread_create(&a, NULL, reader, NULL);
        pthread_create(&b, NULL, writer, NULL);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
    } else {
        fprintf(stderr, "racepoints: no scenario '%s'\n", s);
        return 2;
    }
    return 0;
}
