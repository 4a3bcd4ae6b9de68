/*
 * asm_lock.c: a spin lock written in inline assembly (xchg on x86-64,
 * ldaxr/stxr on aarch64), as older lock-free libraries do. weft sees
 * neither the lock's atomic instructions nor its spinning: weft-cc warns
 * at startup, naming the functions, instead of letting the exploration
 * pass vacuously.
 */
#include <pthread.h>

static int lock_word;
static int counter;

static void spin_lock(int *l)
{
    int v = 1;
#if defined(__x86_64__)
    do
        __asm__ volatile("xchgl %0, %1" : "+r"(v), "+m"(*l) : : "memory");
    while (v != 0 && (v = 1));
#elif defined(__aarch64__)
    int tmp;
    __asm__ volatile("1: ldaxr %w0, [%2]\n"
                     "   cbnz %w0, 1b\n"
                     "   stxr %w1, %w3, [%2]\n"
                     "   cbnz %w1, 1b\n"
                     : "=&r"(v), "=&r"(tmp)
                     : "r"(l), "r"(1)
                     : "memory");
#else
    while (__atomic_exchange_n(l, v, __ATOMIC_ACQUIRE) != 0)
        ;
#endif
}

static void spin_unlock(int *l)
{
    __asm__ volatile("" ::: "memory");
    *(volatile int *)l = 0;
}

static void *worker(void *arg)
{
    (void)arg;
    spin_lock(&lock_word);
    counter++;
    spin_unlock(&lock_word);
    return arg;
}

int main(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    return counter == 2 ? 0 : 1;
}
