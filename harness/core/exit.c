/*
 * exit.c: exit(), _exit() and _Exit() called by a task.
 *
 * A test body that ends the process ends the exploration with it: no
 * report, and exit(0) reads as a pass. weft defines these three functions
 * (weakly: a program's or weft-cc's own definition wins) so that a call
 * made by a task of a running execution becomes a finding of that
 * execution, with the task, the site of its last operation and the replay
 * line; the exploration goes on like after any finding. Everywhere else
 * (outside an exploration, in a process the program forked, in weft's
 * scheduler) they are glibc's: exit is found with dlsym(RTLD_NEXT), the
 * other two are the exit_group system call they are.
 */
#include "core/core.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Is a task of this process's exploration calling? */
static struct weft__run *in_task(void)
{
    struct weft__run *r = weft__current;
    if (r == NULL || r->cur == &r->sched || r->failed || r->cur->dying ||
        r->pid != getpid())
        return NULL;
    return r;
}

static WEFT__NORETURN void finding(struct weft__run *r, const char *fn,
                                   int status)
{
    struct weft__task *t = r->cur;
    weft__finding(r, WEFT_FINDING_EXIT, t->file, t->line,
                  "exit: %s called %s(%d) after its operation at %s: a test "
                  "body must return, not end the process",
                  weft__task_name(t), fn, status, weft__site(t->file, t->line));
}

static WEFT__NORETURN void exit_group(int status)
{
    for (;;)
        syscall(SYS_exit_group, status);
}

__attribute__((weak)) void exit(int status)
{
    struct weft__run *r = in_task();
    if (r != NULL)
        finding(r, "exit", status);
    static void (*real)(int);
    if (real == NULL)
        real = (void (*)(int))dlsym(RTLD_NEXT, "exit");
    if (real != NULL)
        real(status);
    /* linked statically, without a libc to ask: flush and leave */
    fflush(NULL);
    exit_group(status);
}

__attribute__((weak)) void _exit(int status)
{
    struct weft__run *r = in_task();
    if (r != NULL)
        finding(r, "_exit", status);
    exit_group(status);
}

__attribute__((weak)) void _Exit(int status)
{
    struct weft__run *r = in_task();
    if (r != NULL)
        finding(r, "_Exit", status);
    exit_group(status);
}
