/*
 * header_race.c: a race inside a static inline function of a header
 * (header_race.h). The report names header_race.h (gcc 12's DWARF 5 made
 * binutils name this .c file instead) and, when it is inlined, the caller
 * it was inlined into.
 */
#include "header_race.h"

#include <pthread.h>

static void *worker(void *arg)
{
    (void)arg;
    count_hit();
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, worker, NULL);
    pthread_create(&b, NULL, worker, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    return 0;
}
