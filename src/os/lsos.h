/*
 * os/lsos.h - the system calls `proctor lockstep exec` (src/lockstep/exec.c)
 * needs: a shared memory file mapped in both the controller and the
 * program, starting the program with a few inherited fds, reading a pipe
 * with a deadline, killing a process, and running a helper program
 * (addr2line) to capture its output. Kept apart so that src/lockstep calls
 * no OS function directly (fiber.c and the preloaded runtime excepted).
 */
#ifndef PT_OS_LSOS_H
#define PT_OS_LSOS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A memfd of size bytes (close-on-exec), mapped shared read-write. */
int pt__lsos_shm_new(const char *name, size_t size, int *ret_fd,
		     void **ret_map);
void pt__lsos_shm_free(int fd, void *map, size_t size);

/* An anonymous file (memfd, close-on-exec) for a child's output. */
int pt__lsos_memfile(const char *name, int *ret_fd);
/* Empties it (size 0, offset 0). */
int pt__lsos_memfile_reset(int fd);
/* Its last at most cap bytes into buf (NUL-terminated); the length. */
size_t pt__lsos_memfile_tail(int fd, char *buf, size_t cap);

/*
 * Starts argv with envp; the fds in keep[0..nkeep) are inherited (their
 * close-on-exec flag is cleared for the spawn only); fd_out and fd_err as
 * in struct pt_spawn (-1 /dev/null, -2 inherit). stdin is /dev/null.
 */
int pt__lsos_start(const char *const *argv, const char *const *envp,
		   const int *keep, size_t nkeep, int fd_out, int fd_err,
		   pid_t *ret_pid, int *ret_pidfd);

/*
 * Reads exactly len bytes from fd before deadline_ns (pt__now_ns clock):
 * 0, -ETIMEDOUT, -EPIPE at the end of input, or -errno.
 */
int pt__lsos_read_full(int fd, void *buf, size_t len, int64_t deadline_ns);

/* kill(pid, SIGKILL); 0 also when it is already gone. */
int pt__lsos_kill(pid_t pid);

/*
 * Runs argv (searched in PATH), stdin /dev/null, and returns what it
 * printed on stdout (at most cap bytes; free with pt__free) once it
 * exits, within timeout_ms.
 */
int pt__lsos_capture(const char *const *argv, size_t cap, int timeout_ms,
		     char **ret, size_t *ret_len);

/* realpath(3) into buf (PATH_MAX bytes or more). */
int pt__lsos_realpath(const char *path, char *buf, size_t len);

/* A wait status: 1 exited (code in *ret), 2 killed (signal in *ret). */
int pt__lsos_status(int status, int *ret);

/* fork(2): 0 in the child, the pid in the parent, or -errno. */
pid_t pt__lsos_fork(void);
/* _exit(2). */
__attribute__((noreturn)) void pt__lsos_exit(int code);

/* The directory of the running executable into buf. */
int pt__lsos_self_dir(char *buf, size_t len);
/* 0 when path is an existing regular file readable by us. */
int pt__lsos_readable(const char *path);

/*
 * A fiber stack of at least size bytes (rounded up to pages) with a guard
 * page below it; *ret_size is the usable size. 0 or -errno.
 */
int pt__lsos_stack_alloc(size_t size, void **ret_stack, size_t *ret_size);
/* Frees a stack from pt__lsos_stack_alloc (NULL: nothing). */
void pt__lsos_stack_free(void *stack, size_t size);

#endif
