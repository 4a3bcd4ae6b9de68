/* Pattern 17, dining philosophers: N philosophers, N fork mutexes, each
 * takes its left fork, then its right one. Verdict: deadlock when every
 * philosopher holds its left fork. -DFIXED: forks are taken in a global
 * order (lower number first), so the last philosopher starts right. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define N 3
static pthread_mutex_t fork_m[N];
static int meals[N];

static void *philosopher(void *arg)
{
    int i = (int)(intptr_t)arg;
    int left = i, right = (i + 1) % N;
#ifdef FIXED
    if (left > right) {
        int t = left;
        left = right;
        right = t;
    }
#endif
    for (int k = 0; k < 2; k++) {
        pthread_mutex_lock(&fork_m[left]);
        pthread_mutex_lock(&fork_m[right]);
        meals[i]++;
        pthread_mutex_unlock(&fork_m[right]);
        pthread_mutex_unlock(&fork_m[left]);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[N];
    for (int i = 0; i < N; i++)
        pthread_mutex_init(&fork_m[i], NULL);
    for (int i = 0; i < N; i++)
        pthread_create(&t[i], NULL, philosopher, (void *)(intptr_t)i);
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < N; i++)
        if (meals[i] != 2)
            return 1;
    return 0;
}
