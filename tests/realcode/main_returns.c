/*
 * main_returns.c: main hands a value to a detached worker as its last act,
 * then clears it and returns without waiting. Natively the worker may run
 * before the process ends, or not: both are real schedules, and in the
 * ones where it runs it reads the value main is clearing (a data race;
 * with the race detector off, a wrong value and an abort). weft explores
 * them (main's return is a visible operation), so the bug is found.
 */
#include <pthread.h>
#include <stdlib.h>

static void *worker(void *arg)
{
    int *v = arg;
    if (*v != 42)
        abort();
    return NULL;
}

int main(void)
{
    static int value;
    pthread_t t;
    value = 42;
    pthread_create(&t, NULL, worker, &value);
    pthread_detach(t);
    value = 0; /* "cleaning up" under the worker's feet */
    return 0;
}
