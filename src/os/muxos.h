/*
 * os/muxos.h - the system calls the session pool (src/mux) needs beyond
 * fd.h and proc.h: polling a few fds, one read, a wake-up fd, the clock
 * its condition variables wait on, and what the worker programs built on
 * the serve side need. Kept apart so that src/mux calls no OS function
 * directly.
 */
#ifndef PT_OS_MUXOS_H
#define PT_OS_MUXOS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* An fd to poll, without <poll.h> in the caller. */
struct pt_pollfd {
	int fd;
	unsigned events;  /* PT_POLL_IN and/or PT_POLL_OUT */
	unsigned revents; /* those plus PT_POLL_HUP / PT_POLL_ERR */
};

enum {
	PT_POLL_IN = 1u << 0,
	PT_POLL_OUT = 1u << 1,
	PT_POLL_HUP = 1u << 2,
	PT_POLL_ERR = 1u << 3,
};

/*
 * poll(2) on n fds for up to timeout_ms (-1: no limit). Returns the count
 * of ready fds, 0 on timeout or when a signal interrupted the wait (the
 * caller checks its own deadline and calls again), or -errno.
 */
int pt__poll(struct pt_pollfd *fds, unsigned n, int timeout_ms);


/*
 * A wake-up fd (eventfd, non-blocking, close-on-exec): pt__wakefd_signal
 * makes it readable for good (it is never drained), so a thread polling
 * it with other fds returns at once. The fd or -errno.
 */
int pt__wakefd_new(void);
void pt__wakefd_signal(int fd);

/*
 * CLOCK_MONOTONIC in nanoseconds, never faked: the clock that condition
 * variables made with pthread_condattr_setclock(CLOCK_MONOTONIC) wait on,
 * so deadlines given to them must come from here, not from the os/clock.h
 * seam.
 */
int64_t pt__cond_clock_ns(void);

/* ---- For worker programs (never called by the library) -------------- */

/* Ignores SIGPIPE: a program whose host goes away sees EPIPE instead. */
void pt__ignore_sigpipe(void);
/* Opens path read-only (close-on-exec, no symlink followed); fd or -errno. */
int pt__open_read(const char *path);
/* _exit(2): ends the process at once (no atexit handlers, no flush). */
__attribute__((noreturn)) void pt__exit_now(int code);

#endif
