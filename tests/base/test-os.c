/* Tests of src/os: files, atomic writes, the fault seam, processes. */
#include "base/common.h"
#include "os/clock.h"
#include "os/fd.h"
#include "os/file.h"
#include "os/proc.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

PT_TEST(read_file_respects_limit)
{
	const char *p = pt_test_path("f");
	char *s = NULL;
	size_t n = 0;

	PT_ASSERT_OK(pt__write_file_atomic(p, "hello\n", 6, 0644));
	PT_ASSERT_OK(pt__read_file(p, 6, &s, &n));
	PT_ASSERT_STR_EQ(s, "hello\n");
	PT_ASSERT_UINT_EQ(n, 6);
	pt__free(s);
	PT_ASSERT_ERR(pt__read_file(p, 5, &s, &n), PT_ETOOBIG);
	PT_ASSERT_ERR(pt__read_file(pt_test_path("nope"), 5, &s, &n), -ENOENT);
	PT_ASSERT_ERR(pt__read_file(pt_test_tmpdir(), 5, &s, &n), -EISDIR);
}

static int fail_fsync(void *ctx, int fd)
{
	(void)ctx;
	(void)fd;
	return -EIO;
}

PT_TEST(atomic_write_keeps_old_content_on_fsync_error)
{
	const char *p = pt_test_path("g");
	struct pt_io_faults f = { .before_fsync = fail_fsync };
	char *s = NULL;
	size_t n;

	PT_ASSERT_OK(pt__write_file_atomic(p, "old", 3, 0644));
	pt__io_set_faults(&f);
	PT_ASSERT_ERR(pt__write_file_atomic(p, "new", 3, 0644), -EIO);
	pt__io_set_faults(NULL);
	PT_ASSERT_OK(pt__read_file(p, 100, &s, &n));
	PT_ASSERT_STR_EQ(s, "old");
	PT_ASSERT_INT_EQ(access(pt_test_path("g.next"), F_OK), -1);
	pt__free(s);
}

PT_TEST(mkdir_p_and_rm_rf)
{
	const char *d = pt_test_path("a/b/c");
	int fd;

	PT_ASSERT_OK(pt__mkdir_p(d, 0700));
	PT_ASSERT_OK(pt__mkdir_p(d, 0700));
	fd = open(pt_test_path("a/b/c/x"), O_CREAT | O_WRONLY, 0600);
	PT_ASSERT_INT_GE(fd, 0);
	close(fd);
	PT_ASSERT_OK(symlink("/", pt_test_path("a/link")));
	PT_ASSERT_OK(pt__rm_rf(pt_test_path("a")));
	PT_ASSERT_INT_EQ(access(pt_test_path("a"), F_OK), -1);
	PT_ASSERT_OK(pt__rm_rf(pt_test_path("a")));
}

PT_TEST(spawn_captures_output_and_status)
{
	int p[2], pidfd = -1, status = 0;
	const char *argv[] = { "sh", "-c", "echo out; exit 3", NULL };
	struct pt_spawn s = { .argv = argv, .fd_in = -1, .fd_err = -1,
			      .search = true, .new_session = true };
	char buf[64];
	ssize_t n;
	pid_t pid;

	PT_ASSERT_OK(pt__pipe(p, 0));
	s.fd_out = p[1];
	PT_ASSERT_OK(pt__spawn(&s, &pid, &pidfd));
	close(p[1]);
	n = pt__read_full(p[0], buf, sizeof(buf) - 1);
	PT_ASSERT_INT_EQ(n, 4);
	buf[n] = 0;
	PT_ASSERT_STR_EQ(buf, "out\n");
	PT_ASSERT_OK(pt__proc_wait(pid, pidfd, 10000, &status));
	PT_ASSERT(WIFEXITED(status));
	PT_ASSERT_INT_EQ(WEXITSTATUS(status), 3);
	close(p[0]);
	close(pidfd);
}

PT_TEST(spawn_missing_program_fails_cleanly)
{
	const char *argv[] = { "/nonexistent/prog", NULL };
	struct pt_spawn s = { .argv = argv, .fd_in = -1, .fd_out = -1,
			      .fd_err = -1 };
	int r, status;
	pid_t pid;

	/*
	 * glibc reports exec failure from posix_spawn itself; where spawn
	 * falls back to fork (valgrind), POSIX allows exit status 127.
	 */
	r = pt__spawn(&s, &pid, NULL);
	if (r == 0) {
		PT_ASSERT_OK(pt__proc_wait(pid, -1, -1, &status));
		PT_ASSERT(WIFEXITED(status));
		PT_ASSERT_INT_EQ(WEXITSTATUS(status), 127);
	} else {
		PT_ASSERT_ERR(r, -ENOENT);
	}
}

PT_TEST(wait_times_out_then_group_kill_reaps)
{
	const char *argv[] = { "sh", "-c", "sleep 30 & sleep 30", NULL };
	struct pt_spawn s = { .argv = argv, .fd_in = -1, .fd_out = -1,
			      .fd_err = -1, .search = true,
			      .new_session = true };
	int pidfd, status;
	int64_t t0;
	pid_t pid;
	char buf[64];

	PT_ASSERT_OK(pt__spawn(&s, &pid, &pidfd));
	t0 = pt__now_ns();
	PT_ASSERT_ERR(pt__proc_wait(pid, pidfd, 50, &status), -ETIMEDOUT);
	PT_ASSERT_INT_GE(pt__now_ns() - t0, 50 * 1000000LL);
	PT_ASSERT_OK(pt__proc_kill_group(pid, SIGKILL));
	PT_ASSERT_OK(pt__proc_wait(pid, pidfd, 10000, &status));
	PT_ASSERT(WIFSIGNALED(status));
	PT_ASSERT_STR_EQ(pt__proc_status_str(status, buf, sizeof(buf)),
			 "signal 9 (Killed)");
	close(pidfd);
}
