/*
 * signal.c: catching crashes inside tasks.
 *
 * While an exploration runs, SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT
 * are handled on an alternate signal stack (a task that overflowed its own
 * stack cannot run a handler on it). A fault inside a task becomes a
 * finding of that execution: the handler records it, attributes it to the
 * running task (a fault in its guard page is a stack overflow) and
 * siglongjmps to the scheduler on the main stack, which reports it like
 * any other finding. A fault outside a task is not ours: the previous
 * handler is restored and the signal raised again.
 *
 * Two more kinds of signal are caught while an exploration runs. SIGINT
 * and SIGTERM (when nobody else handles them): the first sets
 * weft__interrupt, and the explorer stops at the next visible operation,
 * says how far it got and how to resume, then dies of the same signal; a
 * second one ends the process at once. The watchdog (hang.c) leaves a
 * hanging task through weft__escape, as a crash does.
 */
#include "core/core.h"

#include <execinfo.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_ASAN 1
#endif
#endif
#ifdef WEFT_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
#define NSIGS (sizeof sigs / sizeof sigs[0])

static WEFT__TLS struct sigaction old_act[NSIGS];
static WEFT__TLS stack_t old_alt;
static WEFT__TLS char *alt_mem;
static WEFT__TLS unsigned installed;
static const int stop_sigs[] = { SIGINT, SIGTERM };
#define NSTOP (sizeof stop_sigs / sizeof stop_sigs[0])
static struct sigaction old_stop[NSTOP];
static bool stop_caught[NSTOP];

volatile sig_atomic_t weft__interrupt;
pid_t weft__interrupt_parent;

static const char *signame(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV (invalid memory access)";
    case SIGBUS:
        return "SIGBUS (bus error)";
    case SIGFPE:
        return "SIGFPE (arithmetic exception)";
    case SIGILL:
        return "SIGILL (illegal instruction)";
    case SIGABRT:
        return "SIGABRT (abort)";
    default:
        return "a fatal signal";
    }
}

static const char *sig_short(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGBUS:
        return "SIGBUS";
    case SIGFPE:
        return "SIGFPE";
    case SIGILL:
        return "SIGILL";
    case SIGABRT:
        return "SIGABRT";
    default:
        return "a fatal signal";
    }
}

static void restore_and_raise(int sig)
{
    for (unsigned i = 0; i < NSIGS; i++)
        if (sigs[i] == sig)
            sigaction(sig, &old_act[i], NULL);
    raise(sig);
}

/* What the handler saw, for weft__crash_describe (formatting a site may
 * run a symbolizer: not in a signal handler). */
static WEFT__TLS int crash_sig;
static WEFT__TLS char *crash_addr;
static WEFT__TLS bool crash_overflow;
/* The stack at the signal, when a layer above can name the program's
 * frames in it (weft-cc): the crash is told where it happened (the
 * abort's caller, the faulting line), not at the task's last operation. */
int (*weft__crash_pc_line)(const void *pc);
#define CRASH_PCS 48
static WEFT__TLS void *crash_pcs[CRASH_PCS];
static WEFT__TLS int crash_npcs;

/* The program's frames of the stack at the signal, innermost first: their
 * pc lines (weft__pc_site), at most n. */
static int program_frames(int *lines, int n)
{
    int k = 0;
    for (int i = 0; i < crash_npcs && k < n; i++) {
        int line = weft__crash_pc_line(crash_pcs[i]);
        if (line != 0)
            lines[k++] = line;
    }
    return k;
}
static WEFT__TLS bool crash_sent; /* by kill/raise: si_addr is no address */
static WEFT__TLS long crash_sender;

void weft__crash_describe(struct weft__run *r)
{
    struct weft__task *t = r->tasks[r->finding.task];
    struct weft__finding *f = &r->finding;
    int sig = crash_sig;
    char *addr = crash_addr;
    bool overflow = crash_overflow;
    if (crash_sent)
        snprintf(f->message, sizeof f->message,
                 "crash in %s: %s sent by a process (kill or raise, pid %ld), "
                 "not a fault, after its operation at %s",
                 weft__task_name(t), sig_short(sig), crash_sender,
                 weft__site(t->file, t->line));
    else if (overflow)
        snprintf(f->message, sizeof f->message,
                 "stack overflow in %s (stack of %zu bytes; raise "
                 "WEFT_STACK_SIZE)",
                 weft__task_name(t), t->stack->size);
    else if (sig == SIGSEGV || sig == SIGBUS)
        snprintf(f->message, sizeof f->message,
                 "crash in %s: %s at address %p, after its operation at "
                 "%s",
                 weft__task_name(t), signame(sig), (void *)addr,
                 weft__site(t->file, t->line));
    else
        snprintf(f->message, sizeof f->message,
                 "crash in %s: %s, after its operation at %s",
                 weft__task_name(t), signame(sig),
                 weft__site(t->file, t->line));
    int lines[8], n = 0;
    if (!overflow && weft__crash_pc_line != NULL)
        n = program_frames(lines, 8);
    if (n == 0)
        return;
    /* where it happened, and the program's stack down to there */
    char at[300];
    snprintf(at, sizeof at, "%s", weft__site(weft__pc_site, lines[0]));
    if (crash_sent)
        snprintf(f->message, sizeof f->message,
                 "crash in %s: %s sent by a process (kill or raise, pid %ld), "
                 "not a fault, at %s",
                 weft__task_name(t), sig_short(sig), crash_sender, at);
    else if (sig == SIGSEGV || sig == SIGBUS)
        snprintf(f->message, sizeof f->message,
                 "crash in %s: %s at address %p, at %s", weft__task_name(t),
                 signame(sig), (void *)addr, at);
    else
        snprintf(f->message, sizeof f->message, "crash in %s: %s at %s",
                 weft__task_name(t), signame(sig), at);
    f->file = weft__pc_site;
    f->line = lines[0];
    weft__buf_printf(&f->detail, "  stack:\n");
    for (int i = 0; i < n; i++)
        weft__buf_printf(&f->detail, "      #%d %s\n", i,
                         weft__site(weft__pc_site, lines[i]));
}

/* Leave the running task for the scheduler (sched.c's weft__run_one
 * gets `how`), from a signal handler on the alternate stack. */
void weft__escape(struct weft__run *r, int how)
{
#ifdef WEFT_ASAN
    /* Leaving the task's stack for good: tell AddressSanitizer, which the
     * scheduler's side completes after the jump (sched.c). */
    __asan_handle_no_return();
    __sanitizer_start_switch_fiber(NULL, r->main_lo, r->main_size);
#endif
    siglongjmp(r->escape, how);
}

/* SIGINT, SIGTERM: the first asks the explorer to stop, the second (or
 * the first outside an exploration's reach) ends the process. A worker
 * takes only the first: the rest are its parent's to act on. */
static void stop_handler(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    if (weft__interrupt != 0) {
        /* A worker leaves the second signal to its parent: the parent
         * passes the first on, a terminal's Ctrl-C reaches both, and a
         * parent that dies takes its workers with it (PDEATHSIG). */
        if (weft__interrupt_parent != 0)
            return;
        signal(sig, SIG_DFL);
        raise(sig); /* delivered when this handler returns */
        return;
    }
    weft__interrupt = sig;
}

void weft__interrupt_exit(int sig)
{
    fflush(NULL);
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig); /* it was blocked or ignored after all */
}

static void handler(int sig, siginfo_t *si, void *uc)
{
    struct weft__run *r = weft__current;
    (void)uc;
    if (r == NULL || r->cur == &r->sched || r->failed) {
        restore_and_raise(sig);
        return;
    }
    struct weft__task *t = r->cur;
    struct weft__finding *f = &r->finding;
    /* si_code <= 0: sent by kill, raise or sigqueue (abort too), and then
     * si_addr holds the sender's pid and uid, not a faulting address. */
    bool sent = si->si_code <= 0;
    char *addr = sent ? NULL : si->si_addr;
    bool overflow =
        !sent && (sig == SIGSEGV || sig == SIGBUS) && t->stack != NULL &&
        addr >= t->stack->lo - t->stack->guard && addr < t->stack->lo;
    f->kind = overflow ? WEFT_FINDING_STACK_OVERFLOW : WEFT_FINDING_CRASH;
    f->task = t->id;
    f->step = r->step;
    f->time = r->now;
    f->file = t->file;
    f->line = t->line;
    crash_sig = sig;
    crash_addr = addr;
    crash_overflow = overflow;
    crash_npcs = 0;
    if (weft__crash_pc_line != NULL && !overflow) {
        /* the unwinder calls pthread_once: outside the run, as glibc's */
        weft__current = NULL;
        crash_npcs = backtrace(crash_pcs, CRASH_PCS);
        weft__current = r;
    }
    /* abort() raises SIGABRT itself: it is described as an abort */
    crash_sent = sent && sig != SIGABRT;
    crash_sender = sent ? (long)si->si_pid : 0;
    r->failed = true;
    weft__escape(r, 1);
}

int weft__signals_install(void)
{
    if (installed++ > 0)
        return 0;
    if (weft__crash_pc_line != NULL) {
        /* the unwinder loads itself on first use (malloc, dlopen): here,
         * not in a signal handler */
        void *pc[2];
        backtrace(pc, 2);
    }
    size_t size = SIGSTKSZ > 65536 ? SIGSTKSZ : 65536;
    alt_mem = weft__alloc(size);
    if (alt_mem == NULL) {
        installed = 0;
        return -1;
    }
    stack_t ss = { .ss_sp = alt_mem, .ss_size = size, .ss_flags = 0 };
    sigaltstack(&ss, &old_alt);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (unsigned i = 0; i < NSIGS; i++)
        sigaction(sigs[i], &sa, &old_act[i]);
    /* SIGINT and SIGTERM, unless the program handles or ignores them */
    weft__interrupt = 0;
    sa.sa_sigaction = stop_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    for (unsigned i = 0; i < NSTOP; i++) {
        struct sigaction cur;
        stop_caught[i] = sigaction(stop_sigs[i], NULL, &cur) == 0 &&
                         !(cur.sa_flags & SA_SIGINFO) &&
                         cur.sa_handler == SIG_DFL &&
                         sigaction(stop_sigs[i], &sa, &old_stop[i]) == 0;
    }
    return 0;
}

void weft__signals_restore(void)
{
    if (installed == 0 || --installed > 0)
        return;
    for (unsigned i = 0; i < NSIGS; i++)
        sigaction(sigs[i], &old_act[i], NULL);
    for (unsigned i = 0; i < NSTOP; i++)
        if (stop_caught[i])
            sigaction(stop_sigs[i], &old_stop[i], NULL);
    /* Leave our alternate stack in place only if someone else's was. */
    if (old_alt.ss_flags & SS_DISABLE) {
        stack_t off = { .ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE };
        sigaltstack(&off, NULL);
    } else {
        sigaltstack(&old_alt, NULL);
    }
    weft__free(alt_mem);
    alt_mem = NULL;
}
