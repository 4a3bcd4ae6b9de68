/*
 * racelib.c: the lost update of racepoints.c's counter scenario, its racy
 * increment in a shared library (test_tsan.c builds this file twice:
 * -DRACELIB_LIB as the library, else the program): race points in a
 * library are named by its file name (libracelib.so+0x...).
 */
#include <assert.h>
#include <pthread.h>

#ifdef RACELIB_LIB
int counter;

void *incr(void *arg)
{
    (void)arg;
    int tmp = counter;
    counter = tmp + 1;
    return NULL;
}
#else
extern int counter;
void *incr(void *arg);

int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, incr, NULL);
    pthread_create(&b, NULL, incr, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    assert(counter == 2);
    return 0;
}
#endif
