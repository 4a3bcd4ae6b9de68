/*
 * exit_thread.c: how threads and the process end, as reports show them.
 *   exit      a worker calls exit(3) while main waits to join it: the
 *             process ends there with status 3, reported as an exit
 *             finding at the worker's line (not weft's interposer).
 *   _exit     the same with _exit(5): an exit finding too (no atexit
 *             handlers run), where _exit(0) would end the execution as
 *             passed.
 *   returns   a worker returns at once (no operation of its own); main
 *             joins it and returns 4: the trace shows the worker's exit
 *             at its own function, not at main's pthread_create line.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *worker(void *arg)
{
    (void)arg;
    exit(3);
}

static void *quick(void *arg)
{
    _exit(arg != NULL ? 5 : 0);
}

static void *quiet(void *arg)
{
    return arg;
}

int main(int argc, char **argv)
{
    pthread_t t;
    if (argc > 1 && strcmp(argv[1], "_exit") == 0) {
        pthread_create(&t, NULL, quick, argv[1]);
        pthread_join(t, NULL);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "returns") == 0) {
        pthread_create(&t, NULL, quiet, NULL);
        pthread_join(t, NULL);
        return 4;
    }
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, NULL);
    return 0;
}
