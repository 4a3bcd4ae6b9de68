/*
 * empty.c: the smallest program weft-cc explores, for
 * scripts/bench-weftcc.sh: main starts two threads that do nothing and
 * joins them.
 *
 *   empty
 *
 * Its executions per second (WEFT_ISOLATE=snapshot, fork, none) are what
 * an execution costs weft itself: starting the execution (putting the
 * snapshot back, or forking), making and ending three tasks, a handful of
 * scheduling points, and the end of the execution. Nothing the program
 * does adds to it.
 */
#include <pthread.h>
#include <stdio.h>

static void *nothing(void *arg)
{
    return arg;
}

int main(void)
{
    pthread_t a, b;
    if (pthread_create(&a, NULL, nothing, NULL) != 0 ||
        pthread_create(&b, NULL, nothing, NULL) != 0) {
        fprintf(stderr, "empty: pthread_create failed\n");
        return 1;
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    return 0;
}
