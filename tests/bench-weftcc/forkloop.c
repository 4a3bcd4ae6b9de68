/*
 * forkloop.c: the floor under an isolated weft-cc execution, for
 * scripts/bench-weftcc.sh.
 *
 *   forkloop N [PAGES]
 *
 * N times: fork(); the child writes one byte to each of PAGES pages
 * (default 0) that the parent touched beforehand, so each costs the child
 * a copy-on-write fault, then _exit(0)s; the parent waitpid()s. The
 * script times the whole process from outside (N = 0 and N large); PAGES
 * shows what each page an execution dirties adds to a fork.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: forkloop N [PAGES]\n");
        return 2;
    }
    long n = strtol(argv[1], NULL, 10);
    long pages = argc == 3 ? strtol(argv[2], NULL, 10) : 0;
    if (n < 0 || pages < 0 || pages > 1L << 20) {
        fprintf(stderr, "forkloop: bad N or PAGES\n");
        return 2;
    }
    volatile char *mem = NULL;
    if (pages > 0) {
        mem = aligned_alloc(PAGE, (size_t)pages * PAGE);
        if (mem == NULL) {
            perror("forkloop: aligned_alloc");
            return 1;
        }
        memset((char *)mem, 1, (size_t)pages * PAGE);
    }
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("forkloop: fork");
            return 1;
        }
        if (pid == 0) {
            for (long p = 0; p < pages; p++)
                mem[p * PAGE] = 2;
            _exit(0);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0)
            if (errno != EINTR) {
                perror("forkloop: waitpid");
                return 1;
            }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "forkloop: child ended with status %d\n", st);
            return 1;
        }
    }
    return 0;
}
