/*
 * tls.c: the cost of switching thread-local storage with the task, for
 * scripts/bench-weftcc.sh.
 *
 *   tls N
 *
 * Two threads hand a token back and forth N times with two semaphores
 * (ping waits for its turn, adds one to its own __thread counter, hands
 * the turn to pong, and so on), so that every hand-over blocks one
 * thread and runs the other: at least 2N context switches per execution,
 * exactly 2N plus a few at start and end when no preemption is chosen
 * (WEFT_STRATEGY=dfs WEFT_PREEMPTIONS=0, the script's setting). With
 * WEFT_TLS=1 (the default) each switch also makes the next thread's
 * thread-local storage current; with WEFT_TLS=0 the threads share the
 * host thread's. The script times one execution at N = 0 and at a large
 * N under both settings, from outside: the difference per switch is what
 * switching TLS costs.
 *
 * Exit status: 0, or 1 if a counter is wrong: with per-thread storage
 * each thread's counter ends at N (the check is made only when WEFT_TLS
 * is not 0: shared, the counter counts both threads' increments).
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static __thread unsigned long counter;
static sem_t turn[2];
static unsigned long rounds;
static int wrong;
static pthread_mutex_t wrong_m = PTHREAD_MUTEX_INITIALIZER;

static void *player(void *arg)
{
    int me = (int)(long)arg;
    for (unsigned long i = 0; i < rounds; i++) {
        sem_wait(&turn[me]);
        counter++;
        sem_post(&turn[1 - me]);
    }
    /* Shared storage: the other thread's last increment is not ordered
     * before this read (a data race): no check. */
    const char *tls = getenv("WEFT_TLS");
    bool shared = tls != NULL && strcmp(tls, "0") == 0;
    if (!shared && counter != rounds) {
        pthread_mutex_lock(&wrong_m);
        wrong = 1;
        pthread_mutex_unlock(&wrong_m);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    char *end;
    if (argc != 2 || *argv[1] == '\0' || *argv[1] == '-') {
        fprintf(stderr, "usage: tls N\n");
        return 2;
    }
    rounds = strtoul(argv[1], &end, 10);
    if (*end != '\0') {
        fprintf(stderr, "usage: tls N\n");
        return 2;
    }
    sem_init(&turn[0], 0, 1);
    sem_init(&turn[1], 0, 0);
    pthread_t a, b;
    if (pthread_create(&a, NULL, player, (void *)0L) != 0 ||
        pthread_create(&b, NULL, player, (void *)1L) != 0) {
        fprintf(stderr, "tls: pthread_create failed\n");
        return 1;
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    sem_destroy(&turn[0]);
    sem_destroy(&turn[1]);
    return wrong;
}
