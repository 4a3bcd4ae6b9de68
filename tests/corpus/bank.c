/* Pattern 16, bank transfer deadlock: each transfer locks the source
 * account, then the destination; two transfers in opposite directions.
 * Verdict: deadlock. -DFIXED: lock the account with the lower id first. */
#include <assert.h>
#include <pthread.h>

struct account {
    int id;
    long balance;
    pthread_mutex_t lock;
};

static struct account acct[2];

struct transfer {
    struct account *from, *to;
    long amount;
};

static void *transfer(void *arg)
{
    struct transfer *t = arg;
    struct account *first = t->from, *second = t->to;
#ifdef FIXED
    if (first->id > second->id) {
        first = t->to;
        second = t->from;
    }
#endif
    pthread_mutex_lock(&first->lock);
    pthread_mutex_lock(&second->lock);
    t->from->balance -= t->amount;
    t->to->balance += t->amount;
    pthread_mutex_unlock(&second->lock);
    pthread_mutex_unlock(&first->lock);
    return NULL;
}

int main(void)
{
    for (int i = 0; i < 2; i++) {
        acct[i].id = i;
        acct[i].balance = 100;
        pthread_mutex_init(&acct[i].lock, NULL);
    }
    struct transfer t1 = { &acct[0], &acct[1], 30 };
    struct transfer t2 = { &acct[1], &acct[0], 50 };
    pthread_t a, b;
    pthread_create(&a, NULL, transfer, &t1);
    pthread_create(&b, NULL, transfer, &t2);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    assert(acct[0].balance + acct[1].balance == 200);
    for (int i = 0; i < 2; i++)
        pthread_mutex_destroy(&acct[i].lock);
    return 0;
}
