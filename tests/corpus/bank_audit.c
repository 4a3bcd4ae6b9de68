/* Pattern 7, bank account with deposit, withdraw and audit: each
 * operation changes the balance in one critical section and records the
 * movement in the ledger in another. The auditor, running between the
 * two, finds balance != initial + deposits - withdrawals. Every access
 * holds the mutex: no data race. Depth 1. Verdict: assertion (abort).
 * -DFIXED: balance and ledger change in one critical section. */
#include <assert.h>
#include <pthread.h>

#define INITIAL 100

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static long balance = INITIAL, deposited, withdrawn;

static void move(long amount)
{
    pthread_mutex_lock(&m);
    balance += amount;
#ifndef FIXED
    pthread_mutex_unlock(&m);
    pthread_mutex_lock(&m);
#endif
    if (amount > 0)
        deposited += amount;
    else
        withdrawn -= amount;
    pthread_mutex_unlock(&m);
}

static void *depositor(void *arg)
{
    (void)arg;
    move(30);
    move(20);
    return NULL;
}

static void *withdrawer(void *arg)
{
    (void)arg;
    move(-40);
    return NULL;
}

static void *auditor(void *arg)
{
    (void)arg;
    for (int k = 0; k < 2; k++) {
        pthread_mutex_lock(&m);
        assert(balance == INITIAL + deposited - withdrawn &&
               "the books do not balance");
        pthread_mutex_unlock(&m);
    }
    return NULL;
}

int main(void)
{
    pthread_t d, w, a;
    pthread_create(&d, NULL, depositor, NULL);
    pthread_create(&w, NULL, withdrawer, NULL);
    pthread_create(&a, NULL, auditor, NULL);
    pthread_join(d, NULL);
    pthread_join(w, NULL);
    pthread_join(a, NULL);
    assert(balance == 110);
    return 0;
}
