/*
 * weft/fuzz.h: turn a weft test body into a fuzz target.
 *
 * NAME
 *     WEFT_FUZZ_TARGET, WEFT_FUZZ_TARGET_ARG, WEFT_FUZZ_TARGET_CONFIG,
 *     weft_fuzz_main - schedule fuzzing of concurrent code with libFuzzer
 *     or AFL++
 *
 * SYNOPSIS
 *     #include <weft.h>
 *     #include <weft/fuzz.h>
 *
 *     static void body(void *arg) { ... threads, locks, weft_assert ... }
 *     WEFT_FUZZ_TARGET(body)
 *
 *     WEFT_FUZZ_TARGET_ARG(body, arg)
 *     WEFT_FUZZ_TARGET_CONFIG(body, arg, configure)
 *         void configure(weft_config_t *cfg);
 *
 *     int weft_fuzz_main(int argc, char **argv, const weft_config_t *cfg,
 *                        weft_body_fn *body, void *arg, unsigned flags);
 *
 * DESCRIPTION
 *     A weft fuzz input is the schedule of one execution of the body: every
 *     choice weft makes (which ready thread runs next, a weft_choose()
 *     value) reads the next byte of the input (two or four bytes when there
 *     are more than 256 options), and the byte counts, modulo the number
 *     of options, from the default option: the running thread (at a
 *     weft_yield, the next ready one; after a block or an exit, the first
 *     ready one; 0 for a value). A zero byte lets the running thread go
 *     on, another byte switches to another ready thread, and once the
 *     input runs out every choice takes its default: an empty or all-zero
 *     input is the non-preemptive schedule. A coverage-guided fuzzer
 *     mutating inputs thereby searches interleavings. Under libFuzzer,
 *     weft also reports each execution's interleaving features (which
 *     source lines met at each context switch) as extra coverage, so an
 *     input that makes threads meet in a new way is kept even when the
 *     code's own coverage does not change (see weft_fuzz_driven).

 *     WEFT_FUZZ_TARGET(body) defines LLVMFuzzerTestOneInput(), the entry
 *     point of libFuzzer (and of AFL++'s and honggfuzz's libFuzzer
 *     drivers). It runs body(NULL) once under weft_fuzz_one() with the
 *     input as schedule. A finding (an assertion, deadlock, lock misuse,
 *     crash in a thread, ...) prints weft's report on stderr and calls
 *     abort(), so the fuzzer saves the input as a crash file. The WEFT_*
 *     environment applies as in weft_explore (WEFT_MAX_STEPS,
 *     WEFT_SCHEDULE_OUT, WEFT_PERFETTO, WEFT_QUIET, ...); the strategy,
 *     seed and iteration settings have no effect: the input is all of it.
 *     WEFT_FUZZ_TARGET_ARG(body, arg) passes arg, an expression evaluated
 *     at each input, to the body. WEFT_FUZZ_TARGET_CONFIG(body, arg,
 *     configure) also calls configure (a function, or NULL) once on the
 *     defaults before the first input; the test name defaults to the
 *     body's name. Use one of them once per program.
 *
 *     Unless WEFT_FUZZ_LIBFUZZER or WEFT_FUZZ_NO_MAIN is defined, the macro
 *     also defines main() (weak, so a fuzzer's own main, linked in whole
 *     by -fsanitize=fuzzer, takes precedence). It calls weft_fuzz_main(),
 *     which runs each file named on the command line once, standard input
 *     when there is none (or for "-"): a crash file replays with a plain
 *     build that needs no fuzzer, and prints the same report. --weft-NAME=
 *     VALUE options set WEFT_* variables (weft_args); other options are
 *     ignored with a warning. It returns 0 if every input passed, 1 if one
 *     had a finding, 2 if one could not be read or run. With flags
 *     WEFT_FUZZ_ABORT it calls abort() at the first finding instead: the
 *     macro passes it when compiled by AFL++ (__AFL_COMPILER), whose
 *     afl-fuzz counts a signal, not an exit status, as a crash. Compiled
 *     by afl-clang-fast, main() runs in AFL++'s persistent mode: one
 *     process reads and runs up to 10000 inputs in turn (a plain run of
 *     that binary still runs its files once).
 *
 * BUILDING AND RUNNING
 *     libFuzzer (clang; Debian's libclang-rt-14-dev provides it):
 *
 *         clang -g -O1 -fsanitize=fuzzer -DWEFT_FUZZ_LIBFUZZER \
 *             target.c -lweft -pthread -o target-fuzz
 *         mkdir -p corpus
 *         ./target-fuzz -len_control=0 -max_len=256 -max_total_time=60 corpus
 *         # a finding: weft's report, then "Test unit written to crash-<sha1>"
 *         ./target-fuzz crash-<sha1>          # replays it, same report
 *
 *     -len_control=0 -max_len=N: by default libFuzzer starts from 4-byte
 *     inputs and lengthens them slowly, while a choice past the end of an
 *     input takes its default, so a bug needing a switch at the 30th
 *     choice waits for inputs of 30 bytes. Give N above the number of
 *     choices of an execution (a report's "input:" line counts them). On
 *     examples/fuzz/lost_update_fuzz.c this takes libFuzzer from about
 *     5600 inputs to the bug to about 600.
 *
 *     Add -fsanitize=address to catch memory errors as well. The crash
 *     file replays with a plain build of the same target, no fuzzer:
 *
 *         cc -g target.c -lweft -pthread -o target
 *         ./target crash-<sha1>               # report, exit status 1
 *
 *     AFL++ (Debian's afl++ package; file or standard-input mode, run in
 *     persistent mode; AFL++ sees the code's coverage, not weft's
 *     interleaving features):
 *
 *         afl-clang-fast -g -O1 target.c -lweft -pthread -o target-afl
 *         mkdir -p in && printf '\0' > in/empty
 *         afl-fuzz -i in -o out -- ./target-afl @@   # or without @@: stdin
 *         ./target out/default/crashes/id:000000*    # plain build as well
 *
 *     Inputs longer than the choices of an execution are fine (the rest
 *     is unread) and so is any byte string: every input is a valid
 *     schedule. libFuzzer's -minimize_crash=1 and afl-tmin shrink a crash
 *     file; it stays a replay. With WEFT_SCHEDULE_OUT=path the failing
 *     execution's schedule is also written, and WEFT_REPLAY=path replays
 *     it in a weft_explore test of the same body.
 *
 * NOTES
 *     The body must be deterministic apart from weft's choices, as for
 *     weft_explore: the same input then is the same execution, bit for
 *     bit (same trace hash). Each input is one execution, about a
 *     microsecond for a small body (40 steps): weft keeps its run
 *     structures and crash handlers between inputs. The interleaving
 *     features need the counters in the program itself: they work with
 *     libweft.a and libweft.so alike, on Linux with GCC or clang.
 */
#ifndef WEFT_FUZZ_H
#define WEFT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>

#ifdef __cplusplus
extern "C" {
#endif

/* weft_fuzz_main flags: abort() at the first finding (AFL++). */
#define WEFT_FUZZ_ABORT 1u

int weft_fuzz_main(int argc, char **argv, const weft_config_t *cfg,
                   weft_body_fn *body, void *arg, unsigned flags);

/*
 * Declare this thread's weft_fuzz_one calls driven by a fuzzer: nothing
 * else runs between them, so weft keeps its crash handlers installed
 * without checking per call that they are still its own (one system call
 * saved per input). Each execution also counts its interleaving features
 * in counters[0..n) (may be NULL): at every decision, the source line the
 * running thread is at, the line the chosen thread resumes from, and
 * whether that is a switch. WEFT_FUZZ_TARGET passes libFuzzer's extra
 * counters, so libFuzzer keeps an input that makes two code sites meet in
 * a new way even if the code's own coverage stays the same.
 */
void weft_fuzz_driven(uint8_t *counters, size_t n);

/* The fuzzer's entry point, defined by WEFT_FUZZ_TARGET. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef __cplusplus
}
#endif

#ifdef __AFL_COMPILER
#define WEFT__FUZZ_FLAGS WEFT_FUZZ_ABORT
#else
#define WEFT__FUZZ_FLAGS 0u
#endif

#if defined(__GNUC__)
#define WEFT__FUZZ_WEAK __attribute__((weak))
#else
#define WEFT__FUZZ_WEAK
#endif

/* libFuzzer reads the counters of this section as extra coverage. */
#ifndef WEFT_FUZZ_FEATURES
#define WEFT_FUZZ_FEATURES 4096
#endif
#if defined(__linux__) && defined(__GNUC__) && WEFT_FUZZ_FEATURES > 0
#define WEFT__FUZZ_COUNTERS()                                             \
    do {                                                                  \
        static uint8_t counters[WEFT_FUZZ_FEATURES]                       \
            __attribute__((section("__libfuzzer_extra_counters"), used)); \
        weft_fuzz_driven(counters, sizeof counters);                      \
    } while (0)
#else
#define WEFT__FUZZ_COUNTERS() weft_fuzz_driven(NULL, 0)
#endif

#if defined(WEFT_FUZZ_LIBFUZZER) || defined(WEFT_FUZZ_NO_MAIN)
#define WEFT__FUZZ_MAIN(body, arg)
#elif defined(__AFL_HAVE_MANUAL_CONTROL)
/* AFL++'s persistent mode: one process runs many inputs (read from the
 * file or standard input afresh each time), weft's structures warm. */
#define WEFT__FUZZ_MAIN(body, arg)                                           \
    WEFT__FUZZ_WEAK int main(int argc, char **argv)                          \
    {                                                                        \
        int status = 0;                                                      \
        while (__AFL_LOOP(10000))                                            \
            status = weft_fuzz_main(argc, argv, weft__fuzz_config(), (body), \
                                    (arg), WEFT__FUZZ_FLAGS);                \
        return status;                                                       \
    }
#else
#define WEFT__FUZZ_MAIN(body, arg)                                            \
    WEFT__FUZZ_WEAK int main(int argc, char **argv)                           \
    {                                                                         \
        return weft_fuzz_main(argc, argv, weft__fuzz_config(), (body), (arg), \
                              WEFT__FUZZ_FLAGS);                              \
    }
#endif

#define WEFT_FUZZ_TARGET(body)          WEFT_FUZZ_TARGET_CONFIG(body, NULL, NULL)
#define WEFT_FUZZ_TARGET_ARG(body, arg) WEFT_FUZZ_TARGET_CONFIG(body, arg, NULL)

#define WEFT_FUZZ_TARGET_CONFIG(body, arg, configure)                          \
    static const weft_config_t *weft__fuzz_config(void)                        \
    {                                                                          \
        static weft_config_t cfg;                                              \
        static int done;                                                       \
        if (!done) {                                                           \
            void (*fn)(weft_config_t *) = (configure);                         \
            weft_config_init(&cfg);                                            \
            cfg.name = #body;                                                  \
            if (fn != NULL)                                                    \
                fn(&cfg);                                                      \
            done = 1;                                                          \
        }                                                                      \
        return &cfg;                                                           \
    }                                                                          \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)               \
    {                                                                          \
        static int counting;                                                   \
        weft_result_t res;                                                     \
        if (!counting) {                                                       \
            WEFT__FUZZ_COUNTERS();                                             \
            counting = 1;                                                      \
        }                                                                      \
        int rc = weft_fuzz_one(weft__fuzz_config(), data, size, (body), (arg), \
                               &res);                                          \
        weft_result_destroy(&res);                                             \
        if (rc != 0) {                                                         \
            if (rc < 0)                                                        \
                fprintf(stderr, "weft: weft_fuzz_one: %s\n",                   \
                        weft_strerror(rc));                                    \
            fflush(stderr);                                                    \
            abort();                                                           \
        }                                                                      \
        return 0;                                                              \
    }                                                                          \
    WEFT__FUZZ_MAIN(body, arg)

#endif /* WEFT_FUZZ_H */
