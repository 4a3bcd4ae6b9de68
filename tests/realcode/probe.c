/*
 * probe.c: what a configure script compiles and runs at build time: no
 * thread, one line of output, an exit status it reads. Run under weft-cc
 * it must behave as itself: run once, print its line once, exit with its
 * own status, and weft says nothing.
 */
#include <stdio.h>

int main(void)
{
    fprintf(stderr, "probe: sizeof(long) is %zu\n", sizeof(long));
    return 3;
}
