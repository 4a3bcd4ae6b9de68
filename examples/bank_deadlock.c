/*
 * bank_deadlock.c: two opposite transfers lock the same two accounts.
 *
 * Scenario: alice pays bob while bob pays alice. A transfer locks its
 * source account, then its destination. If each transfer takes its first
 * lock before the other takes its second, each waits for the lock the
 * other holds, forever: a lock-order inversion.
 *
 * What weft shows: a deadlock report listing every blocked task, which
 * mutex it waits for, who holds that mutex and since which line, and the
 * wait-for cycle (transfer -> mutex -> transfer -> mutex -> transfer).
 * The twin locks the two accounts in one global order (by account id)
 * and passes 2000 executions; the money always adds up.
 *
 * Run: make demo, or ./build/examples/bank_deadlock
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

struct transfer {
    struct account *from, *to;
    int amount;
    bool by_id; /* the twin: lock the lower account id first */
};

static void *transfer(void *arg)
{
    struct transfer *x = arg;
    struct account *first = x->from, *second = x->to;
    if (x->by_id && second->id < first->id) {
        first = x->to;
        second = x->from;
    }
    weft_mutex_lock(&first->lock);
    weft_mutex_lock(&second->lock);
    x->from->balance -= x->amount;
    x->to->balance += x->amount;
    weft_mutex_unlock(&second->lock);
    weft_mutex_unlock(&first->lock);
    return NULL;
}

static void body(void *arg)
{
    bool by_id = *(const bool *)arg;
    struct account alice = { 1, 100, WEFT_MUTEX_INITIALIZER };
    struct account bob = { 2, 100, WEFT_MUTEX_INITIALIZER };
    struct transfer pay_bob = { &alice, &bob, 30, by_id };
    struct transfer pay_alice = { &bob, &alice, 20, by_id };
    weft_thread_t a, b;
    weft_thread_spawn(&a, "alice pays bob", transfer, &pay_bob);
    weft_thread_spawn(&b, "bob pays alice", transfer, &pay_alice);
    weft_thread_join(a, NULL);
    weft_thread_join(b, NULL);
    weft_assert(alice.balance == 90 && bob.balance == 110,
                "balances %d and %d, expected 90 and 110", alice.balance,
                bob.balance);
}

/* Print the report line that names the wait-for cycle. */
static bool print_cycle(const char *report)
{
    const char *p = report ? strstr(report, "wait-for cycle:") : NULL;
    if (p == NULL)
        return false;
    printf("    %.*s\n", (int)strcspn(p, "\n"), p);
    return true;
}

int main(void)
{
    weft_config_t c;
    weft_result_t bug, twin;
    bool by_id = false;

    printf("bank_deadlock: alice pays bob while bob pays alice; each "
           "transfer locks source, then destination.\n");
    fflush(stdout); /* the story, then weft's report on stderr */

    weft_config_init(&c);
    c.seed = 1;
    c.iterations = 1000;
    c.name = "bank_deadlock (source first)";
    /* The deadlock itself: the lock-order detector would report the
     * potential deadlock at the first execution that takes both orders,
     * before any deadlocks (examples/lock_order.c shows that). */
    c.lock_order = 0;
    int rc = weft_explore(&c, body, &by_id, &bug);
    if (rc != 1 || bug.finding != WEFT_FINDING_DEADLOCK) {
        printf("  UNEXPECTED: weft did not report the deadlock (rc %d)\n", rc);
        weft_result_destroy(&bug);
        return 1;
    }
    printf("  source first: execution %llu (seed %llu) deadlocked:\n",
           (unsigned long long)bug.executions, (unsigned long long)bug.seed);
    bool cycle = print_cycle(bug.report);
    if (!cycle)
        printf("  UNEXPECTED: the report shows no wait-for cycle\n");

    by_id = true;
    weft_config_init(&c);
    c.seed = 1;
    c.iterations = 2000;
    c.quiet = true;
    c.name = "bank_deadlock (by account id)";
    rc = weft_explore(&c, body, &by_id, &twin);
    if (rc != 0) {
        printf("  UNEXPECTED: the twin failed (rc %d): %s\n", rc, twin.message);
        fputs(twin.report ? twin.report : "", stderr);
    } else
        printf("  lower account id first: %llu executions, no deadlock, "
               "balances always 90 and 110\n",
               (unsigned long long)twin.executions);

    weft_result_destroy(&bug);
    weft_result_destroy(&twin);
    return cycle && rc == 0 ? 0 : 1;
}
