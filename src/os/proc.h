/*
 * os/proc.h - starting and watching child processes.
 *
 * Children are started with posix_spawn (vfork-fast, no code runs between
 * fork and exec), optionally in a new session so that the whole process
 * tree can be signalled as a group. Exit is observed through a pidfd,
 * which can be polled together with pipes and never races with pid reuse.
 */
#ifndef PT_OS_PROC_H
#define PT_OS_PROC_H

#include <spawn.h>
#include <stdbool.h>
#include <sys/types.h>

struct pt_spawn {
	const char *const *argv; /* argv[0]: a path, or a name with search */
	const char *const *envp; /* NULL: the current environment */
	const char *cwd;         /* NULL: the current directory */
	int fd_in;               /* -1: /dev/null */
	int fd_out;              /* -1: /dev/null; -2: inherit */
	int fd_err;              /* -1: /dev/null; -2: inherit */
	bool new_session;        /* setsid(): own session and process group */
	bool search;             /* look argv[0] up in PATH */
	bool close_fds;          /* close every fd >= 3 in the child */
};

/*
 * Starts a child. *ret_pid gets its pid and, when ret_pidfd is not NULL,
 * *ret_pidfd a pidfd (O_CLOEXEC) for it. The fds named in s stay open in
 * the parent. Returns 0 or -errno (ENOENT for a missing program is
 * reported by spawn itself, before the child exists).
 */
int pt__spawn(const struct pt_spawn *s, pid_t *ret_pid, int *ret_pidfd);

/*
 * A spawn prepared once and reused: posix_spawn's file actions and
 * attributes, kept while the fds, directory and flags of the calls stay
 * the same (building them costs glibc a getrlimit per fd and an
 * allocation per action: ~3 us a job for the runner, whose pipe fds and
 * slot directory repeat). Zero-initialise; release with
 * pt__spawn_prep_release(). Not shared between threads.
 */
struct pt_spawn_prep {
	bool valid;
	bool new_session, close_fds;
	int fd_in, fd_out, fd_err;
	char *cwd; /* owned */
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
};

/* pt__spawn, reusing (or rebuilding) p. */
int pt__spawn_with(struct pt_spawn_prep *p, const struct pt_spawn *s,
		   pid_t *ret_pid, int *ret_pidfd);
void pt__spawn_prep_release(struct pt_spawn_prep *p);

/* pidfd_open(2); the fd is close-on-exec. -errno on failure. */
int pt__pidfd_open(pid_t pid);

/*
 * Waits until the child exits or timeout_ms passes (-1: no limit), then
 * reaps it. Returns 0 with the wait status in *ret_status, -ETIMEDOUT
 * (child still running, not reaped) or -errno. pidfd may be -1.
 */
int pt__proc_wait(pid_t pid, int pidfd, int timeout_ms, int *ret_status);

/* kill(-pgid, sig); 0 also when the group is already gone. */
int pt__proc_kill_group(pid_t pgid, int sig);

/*
 * A live member of a process group (pt__proc_group): its pid, start time
 * (clock ticks after boot, /proc/PID/stat field 22) and program name
 * (the kernel's comm, at most 15 bytes).
 */
struct pt_proc_member {
	pid_t pid;
	unsigned long long start;
	char name[16];
};

/*
 * The live processes (zombies left out) of process group pgid, read
 * from /proc, in creation order: by start time, then pid. At most max
 * go to out (the first /proc lists: the lowest pids); returns how many
 * there are (more than max when out was too small) or -errno (no /proc).
 */
int pt__proc_group(pid_t pgid, struct pt_proc_member *out, size_t max);

/*
 * Sends sig to process pid only if it is still a member of process
 * group pgid (checked through a pidfd, so a pid reused in between is
 * never signalled). 0; -ESRCH when it is gone or left the group.
 */
int pt__proc_kill_member(pid_t pgid, pid_t pid, int sig);

/* "exit 3", "signal 9 (Killed)"-style text of a wait status into buf. */
const char *pt__proc_status_str(int status, char *buf, size_t size);

/*
 * Runs a program to its end and captures what it prints (a cluster
 * client: sbatch, squeue, scancel). stdin is /dev/null, every other fd is
 * closed in the child, which runs in a session of its own: a Ctrl-C at
 * the terminal reaches the caller, who decides (an sbatch interrupted
 * after Slurm took the job would lose its id, and the job would run
 * unseen and uncancelled). Each stream keeps at most `limit` bytes (the rest
 * is read and dropped; *ret_truncated says so) and is NUL-terminated.
 * After timeout_ms (-1: none) the child gets SIGKILL and the call fails
 * with -ETIMEDOUT. On success (0) *ret_out and *ret_err are heap strings
 * (pt__free) and *ret_status the wait status; -errno otherwise (ENOENT:
 * no such program in PATH).
 */
int pt__run_capture(const char *const *argv, const char *const *envp,
		    size_t limit, int timeout_ms, int *ret_status,
		    char **ret_out, char **ret_err, bool *ret_truncated);

/* This process's id and effective user id. */
pid_t pt__getpid(void);
uid_t pt__geteuid(void);

#endif
