/*
 * keys.h: thread-specific data (pthread_key_*, C11 tss_*) per weft thread,
 * served by keys.c. Not installed, not part of libweft.
 */
#ifndef WEFTCC_KEYS_H
#define WEFTCC_KEYS_H

/* The calling weft thread is ending (its start function returned, or it
 * called pthread_exit or thrd_exit): run the destructors of its non-NULL
 * values, in this thread, up to PTHREAD_DESTRUCTOR_ITERATIONS rounds, then
 * drop its values. Call it before weft_thread_exit / returning from the
 * task, but not when main returns (exit() runs no key destructors). Does
 * nothing outside an exploration. A destructor may block (then other
 * threads run) and may use keys itself. */
void weftcc_keys_thread_exit(void);

#endif /* WEFTCC_KEYS_H */
