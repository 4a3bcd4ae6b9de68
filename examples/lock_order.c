/*
 * lock_order.c: a deadlock that never happens in the test, found anyway.
 *
 * Scenario: a bank's transfer locks the account it takes money from, then
 * the account it pays into. The test pays bob from alice, waits for that
 * to finish, then pays alice from bob. The two transfers never overlap, so
 * no execution of this test can deadlock, and a deadlock detector alone
 * stays silent: yet in production two opposite transfers do overlap, and
 * each holds the lock the other waits for.
 *
 * What weft shows: a lock-order inversion (a potential deadlock) in the
 * very first execution: alice's lock then bob's in one transfer, bob's
 * then alice's in the other, with the line of each of the four locks.
 * The twin locks the lower account id first, whichever way the money
 * goes, and passes 1000 executions.
 *
 * Run: make demo, or ./build/examples/lock_order
 * (exits 0 when weft behaves as described).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <weft.h>

struct account {
    int id;
    int balance;
    weft_mutex_t lock;
};

static bool by_id; /* the twin: lock the lower account id first */

static void transfer(struct account *from, struct account *to, int amount)
{
    struct account *first = from, *second = to;
    if (by_id && to->id < from->id) {
        first = to;
        second = from;
    }
    weft_mutex_lock(&first->lock);
    weft_mutex_lock(&second->lock);
    from->balance -= amount;
    to->balance += amount;
    weft_mutex_unlock(&second->lock);
    weft_mutex_unlock(&first->lock);
}

static struct account alice = { 1, 100, WEFT_MUTEX_INITIALIZER };
static struct account bob = { 2, 100, WEFT_MUTEX_INITIALIZER };

static void *alice_pays_bob(void *arg)
{
    transfer(&alice, &bob, *(int *)arg);
    return NULL;
}

static void *bob_pays_alice(void *arg)
{
    transfer(&bob, &alice, *(int *)arg);
    return NULL;
}

static void body(void *arg)
{
    (void)arg;
    int thirty = 30, twenty = 20;
    alice.balance = bob.balance = 100;
    weft_thread_t t;
    weft_thread_spawn(&t, "alice pays bob", alice_pays_bob, &thirty);
    weft_thread_join(t, NULL); /* done before the next transfer starts */
    weft_thread_spawn(&t, "bob pays alice", bob_pays_alice, &twenty);
    weft_thread_join(t, NULL);
    weft_assert(alice.balance == 90 && bob.balance == 110, "balances %d and %d",
                alice.balance, bob.balance);
}

int main(void)
{
    weft_config_t c;
    weft_result_t bug, twin;

    printf("lock_order: alice pays bob, then bob pays alice; a transfer "
           "locks source, then destination.\n");
    fflush(stdout); /* the story, then weft's report on stderr */

    weft_config_init(&c);
    c.seed = 1;
    c.iterations = 1000;
    c.name = "lock_order (source first)";
    int rc = weft_explore(&c, body, NULL, &bug);
    bool found = rc == 1 && bug.finding == WEFT_FINDING_LOCK_ORDER;
    if (found)
        printf("  source first: execution %llu, which did not deadlock, "
               "shows the potential deadlock:\n    %s\n",
               (unsigned long long)bug.executions, bug.message);
    else
        printf("  UNEXPECTED: no lock-order inversion (rc %d): %s\n", rc,
               bug.message);

    by_id = true;
    weft_config_init(&c);
    c.seed = 1;
    c.iterations = 1000;
    c.quiet = true;
    c.name = "lock_order (by account id)";
    rc = weft_explore(&c, body, NULL, &twin);
    if (rc == 0)
        printf("  lower account id first: %llu executions, one lock "
               "order, nothing to report\n",
               (unsigned long long)twin.executions);
    else
        printf("  UNEXPECTED: the twin failed (rc %d): %s\n", rc, twin.message);

    weft_result_destroy(&bug);
    weft_result_destroy(&twin);
    return found && rc == 0 ? 0 : 1;
}
