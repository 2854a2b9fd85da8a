/*
 * mux/io.c - writing a frame to a peer that may stop reading: the one
 * output loop of both sides (the pool's writes to its workers, and the
 * serve side's writes to its host when it has a write deadline).
 */
#include "base/common.h"
#include "mux/frame.h"
#include "os/fd.h"
#include "os/muxos.h"

int pt__mux_write(int fd, const char *p, size_t n, int stall_ms,
		  const bool *stop, int wake_fd, int exit_fd)
{
	int64_t deadline = -1;

	while (n) {
		struct pt_pollfd pf[3] = { { fd, PT_POLL_OUT, 0 },
					   { wake_fd, PT_POLL_IN, 0 },
					   { exit_fd, PT_POLL_IN, 0 } };
		unsigned npf = 1;
		int64_t left = -1;
		ssize_t w;
		int r;

		if (stop && __atomic_load_n(stop, __ATOMIC_ACQUIRE))
			return PT_EWORKER;
		w = pt__io_write(fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			deadline = -1; /* progress: the stall clock restarts */
			continue;
		}
		if (w != -EAGAIN)
			return w == 0 ? -EIO : (int)w;
		/* Full: wait for room, a stop, or the peer's exit. */
		if (stall_ms >= 0) {
			int64_t now = pt__cond_clock_ns();
			if (deadline < 0)
				deadline = now + (int64_t)stall_ms * 1000000;
			left = deadline - now;
			if (left <= 0)
				return -ETIMEDOUT;
		}
		if (wake_fd >= 0)
			pf[npf++] = pf[1];
		if (exit_fd >= 0)
			pf[npf++] = pf[2];
		r = pt__poll(pf, npf,
			     left < 0 ? -1 : (int)((left + 999999) / 1000000));
		if (r < 0)
			return r;
		for (unsigned i = 1; i < npf; i++) {
			if (pf[i].revents)
				return PT_EWORKER;
		}
	}
	return 0;
}
