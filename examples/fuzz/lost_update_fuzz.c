/*
 * lost_update_fuzz.c: a fuzz target whose bug needs one preemption at one
 * place, late in the execution: libFuzzer or AFL++ find it by steering
 * weft's scheduler, and the crash file replays in a plain build.
 *
 * Scenario: a "saver" thread makes DEPOSITS deposits into an account,
 * each under the account's mutex, then adds a bonus, but in two critical
 * sections: read the balance; unlock; lock; write it back plus the bonus.
 * A "bank" thread charges one fee under the mutex. If the fee lands
 * between the bonus's read and its write, it is lost. Random scheduling
 * rarely keeps the bank out of the way for all the deposits and then lets
 * it in exactly there (7600 executions on average); PCT, with one
 * priority change point, needs about 30; libFuzzer, with weft's
 * interleaving features as extra coverage, about 600 inputs (a few
 * milliseconds), AFL++ about 15000 (two seconds).
 *
 * `make fuzz` builds it with clang -fsanitize=fuzzer into build/fuzz/,
 * fuzzes it, and replays the crash file with a plain build; by hand
 * (include/weft/fuzz.h has the AFL++ commands):
 *
 *     clang -g -O1 -fsanitize=fuzzer -DWEFT_FUZZ_LIBFUZZER -Iinclude \
 *         examples/fuzz/lost_update_fuzz.c build/libweft.a -pthread \
 *         -o lost_update_fuzz
 *     ./lost_update_fuzz -max_total_time=20 -len_control=0 -max_len=256
 *     cc -g -Iinclude examples/fuzz/lost_update_fuzz.c build/libweft.a \
 *         -pthread -o lost_update_replay
 *     ./lost_update_replay crash-<sha1>    # weft's report, exit status 1
 *
 * It lives in examples/fuzz/ because `make demo` runs every program of
 * examples/ itself, and without input this one runs a single schedule.
 */
#include <weft.h>
#include <weft/fuzz.h>

#ifndef DEPOSITS
#define DEPOSITS 12
#endif
#define AMOUNT 100
#define BONUS  5
#define FEE    1

struct account {
    weft_mutex_t lock;
    long balance;
};

static void *saver(void *arg)
{
    struct account *a = arg;
    for (int i = 0; i < DEPOSITS; i++) {
        weft_mutex_lock(&a->lock);
        a->balance += AMOUNT;
        weft_mutex_unlock(&a->lock);
    }
    /* The bonus: read, then write, but not in one critical section. */
    weft_mutex_lock(&a->lock);
    long b = a->balance;
    weft_mutex_unlock(&a->lock);
    weft_mutex_lock(&a->lock);
    a->balance = b + BONUS;
    weft_mutex_unlock(&a->lock);
    return NULL;
}

static void *bank(void *arg)
{
    struct account *a = arg;
    weft_mutex_lock(&a->lock);
    a->balance -= FEE;
    weft_mutex_unlock(&a->lock);
    return NULL;
}

static void body(void *arg)
{
    (void)arg;
    struct account a = { WEFT_MUTEX_INITIALIZER, 0 };
    weft_thread_t s, b;
    weft_thread_spawn(&s, "saver", saver, &a);
    weft_thread_spawn(&b, "bank", bank, &a);
    weft_thread_join(s, NULL);
    weft_thread_join(b, NULL);
    weft_assert(a.balance == DEPOSITS * AMOUNT + BONUS - FEE,
                "balance is %ld, expected %d: an update was lost", a.balance,
                DEPOSITS * AMOUNT + BONUS - FEE);
}

WEFT_FUZZ_TARGET(body)
