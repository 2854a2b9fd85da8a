/*
 * os/clock.h - the clock seam. All time reads of the library go through
 * these, so tests can substitute a fake clock (pt__clock_set_fake).
 */
#ifndef PT_OS_CLOCK_H
#define PT_OS_CLOCK_H

#include <stdint.h>

/* Monotonic nanoseconds (CLOCK_MONOTONIC). */
int64_t pt__now_ns(void);
/* Wall-clock nanoseconds since the epoch (CLOCK_REALTIME). */
int64_t pt__wall_ns(void);

/*
 * Replaces both clocks by fn (NULL restores the real ones). fn receives
 * ctx and 0 for the monotonic clock, 1 for the wall clock.
 */
void pt__clock_set_fake(int64_t (*fn)(void *ctx, int which), void *ctx);

#endif
