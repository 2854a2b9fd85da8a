/* os/clock.c - the clock seam (see clock.h). */
#include "base/common.h"
#include "os/clock.h"

#include <time.h>

static int64_t (*fake_fn)(void *ctx, int which);
static void *fake_ctx;

void pt__clock_set_fake(int64_t (*fn)(void *ctx, int which), void *ctx)
{
	fake_fn = fn;
	fake_ctx = ctx;
}

static int64_t read_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t pt__now_ns(void)
{
	return fake_fn ? fake_fn(fake_ctx, 0) : read_clock(CLOCK_MONOTONIC);
}

int64_t pt__wall_ns(void)
{
	return fake_fn ? fake_fn(fake_ctx, 1) : read_clock(CLOCK_REALTIME);
}
