/* Tests of src/os: files, atomic writes, the fault seam, processes. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "base/common.h"
#include "os/clock.h"
#include "os/fd.h"
#include "os/file.h"
#include "os/lock.h"
#include "os/proc.h"
#include "os/runos.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
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

/* A symlink planted where the old code put its temporary file (and the
 * file it points to) is left alone. */
PT_TEST(atomic_write_ignores_planted_symlink)
{
	const char *p = pt_test_path("h"), *victim = pt_test_path("victim");
	char *s = NULL, link[PATH_MAX];
	size_t n;
	ssize_t ln;

	PT_ASSERT_OK(pt__write_file_atomic(victim, "secret", 6, 0600));
	PT_ASSERT_OK(symlink(victim, pt_test_path("h.next")));
	PT_ASSERT_OK(pt__write_file_atomic(p, "new", 3, 0644));
	PT_ASSERT_OK(pt__read_file(victim, 100, &s, &n));
	PT_ASSERT_STR_EQ(s, "secret");
	pt__free(s);
	PT_ASSERT_OK(pt__read_file(p, 100, &s, &n));
	PT_ASSERT_STR_EQ(s, "new");
	pt__free(s);
	ln = readlink(pt_test_path("h.next"), link, sizeof(link) - 1);
	PT_ASSERT_INT_EQ(ln, (long)strlen(victim));
	link[ln] = '\0';
	PT_ASSERT_STR_EQ(link, victim);
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	PT_ASSERT(d != NULL);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* Without privileges (linkat through /proc, not AT_EMPTY_PATH), as the
 * tests run as root: a child that became nobody. */
PT_TEST(atomic_write_as_an_unprivileged_user)
{
	const char *dir = pt_test_path("unpriv");
	char path[PATH_MAX], *s = NULL;
	size_t n = 0;
	int st = 0;
	pid_t pid;

	if (geteuid() != 0)
		pt_test_skip("needs root to become another user");
	PT_ASSERT_OK(pt__mkdir_p(dir, 0700));
	PT_ASSERT_OK(chmod(dir, 0777));
	PT_ASSERT_OK(chmod(pt_test_tmpdir(), 0755));
	snprintf(path, sizeof(path), "%s/f", dir);
	pid = fork();
	PT_ASSERT_INT_GE(pid, 0);
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		if (access(dir, W_OK | X_OK) < 0)
			_exit(3); /* a parent of TMPDIR is closed to nobody */
		_exit(pt__write_file_atomic(path, "hi\n", 3, 0644) == 0 &&
				      pt__write_file_atomic(path, "new\n", 4,
							    0644) == 0
			      ? 0
			      : 1);
	}
	PT_ASSERT_INT_EQ(waitpid(pid, &st, 0), pid);
	PT_ASSERT(WIFEXITED(st));
	if (WEXITSTATUS(st) == 3)
		pt_test_skip("the test directory is not reachable by nobody");
	PT_ASSERT_INT_EQ(WEXITSTATUS(st), 0);
	PT_ASSERT_OK(pt__read_file(path, 100, &s, &n));
	PT_ASSERT_STR_EQ(s, "new\n");
	pt__free(s);
	PT_ASSERT_UINT_EQ(count_entries(dir), 1);
}

/* Two processes replacing one file: every read sees one writer's whole
 * content, every write succeeds and no temporary file is left behind. */
PT_TEST(atomic_write_concurrent_writers_do_not_corrupt)
{
	enum { LEN_A = 256 << 10, LEN_B = 96 << 10, ROUNDS = 60 };
	const char *dir = pt_test_path("cw");
	char path[PATH_MAX], *a = pt__malloc(LEN_A), *b = pt__malloc(LEN_B);
	pid_t pid[2];
	size_t reads = 0;
	int done = 0;

	PT_ASSERT(a && b);
	memset(a, 'a', LEN_A);
	memset(b, 'b', LEN_B);
	PT_ASSERT_OK(pt__mkdir_p(dir, 0700));
	snprintf(path, sizeof(path), "%s/f", dir);
	PT_ASSERT_OK(pt__write_file_atomic(path, a, LEN_A, 0644));
	for (int w = 0; w < 2; w++) {
		pid[w] = fork();
		PT_ASSERT_INT_GE(pid[w], 0);
		if (pid[w] == 0) {
			int bad = 0;

			for (int i = 0; i < ROUNDS && !bad; i++)
				bad = pt__write_file_atomic(path, w ? b : a,
							    w ? LEN_B : LEN_A,
							    0644) != 0;
			pt__free(a);
			pt__free(b);
			_exit(bad);
		}
	}
	while (done < 2) {
		char *s = NULL;
		size_t n = 0;
		int st;
		pid_t r;

		PT_ASSERT_OK(pt__read_file(path, LEN_A, &s, &n));
		if (n == LEN_A)
			PT_ASSERT(memcmp(s, a, n) == 0);
		else if (n == LEN_B)
			PT_ASSERT(memcmp(s, b, n) == 0);
		else
			PT_FAIL("read %zu bytes, neither writer's content", n);
		pt__free(s);
		reads++;
		while ((r = waitpid(-1, &st, WNOHANG)) > 0) {
			PT_ASSERT(WIFEXITED(st));
			PT_ASSERT_INT_EQ(WEXITSTATUS(st), 0);
			done++;
		}
	}
	PT_ASSERT_INT_GT(reads, 0);
	PT_ASSERT_UINT_EQ(count_entries(dir), 1);
	pt__free(a);
	pt__free(b);
}

/* rm -rf of a tree 4,000 directories deep (a job can make one in its
 * temporary directory) with a 256 KiB stack: no recursion, no crash. */
PT_TEST_TIMEOUT(rm_rf_deep_tree_without_recursion, 30)
{
	const char *top = pt_test_path("deep");
	struct rlimit nofile;
	int st = 0;
	pid_t pid;

	PT_ASSERT_OK(mkdir(top, 0700));
	{
		int fd = open(top, O_RDONLY | O_DIRECTORY);

		PT_ASSERT_INT_GE(fd, 0);
		for (int i = 0; i < 4000; i++) {
			int sub;

			PT_ASSERT_OK(mkdirat(fd, "d", 0700));
			sub = openat(fd, "d", O_RDONLY | O_DIRECTORY);
			PT_ASSERT_INT_GE(sub, 0);
			close(fd);
			fd = sub;
		}
		PT_ASSERT_INT_GE(openat(fd, "f", O_CREAT | O_WRONLY, 0600), 0);
		close(fd);
	}
	PT_ASSERT_OK(getrlimit(RLIMIT_NOFILE, &nofile));
	if (nofile.rlim_max != RLIM_INFINITY && nofile.rlim_max < 4100)
		pt_test_skip("needs 4100 open files");
	pid = fork();
	PT_ASSERT_INT_GE(pid, 0);
	if (pid == 0) {
		struct rlimit stack = { 256 << 10, 256 << 10 };

		nofile.rlim_cur = 4100;
		if (setrlimit(RLIMIT_NOFILE, &nofile) < 0 ||
		    setrlimit(RLIMIT_STACK, &stack) < 0)
			_exit(2);
		_exit(pt__rm_rf(top) == 0 ? 0 : 1);
	}
	PT_ASSERT_INT_EQ(waitpid(pid, &st, 0), pid);
	PT_ASSERT(WIFEXITED(st));
	PT_ASSERT_INT_EQ(WEXITSTATUS(st), 0);
	PT_ASSERT_INT_EQ(access(top, F_OK), -1);
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
	struct pt_spawn s = { .argv = argv,
			      .fd_in = -1,
			      .fd_err = -1,
			      .search = true,
			      .new_session = true };
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

/*
 * The members of a process group, in creation order, and a signal to one
 * of them only while it still belongs to the group (--chaos kill-one).
 */
PT_TEST(proc_group_lists_members_and_kills_one)
{
	const char *argv[] = { "sh", "-c",
			       "exec 3<&0; cat <&3 & echo $!; wait $!", NULL };
	struct pt_spawn s = {
		.argv = argv, .fd_err = -1, .search = true, .new_session = true
	};
	struct pt_proc_member m[4];
	int in[2], out[2], pidfd = -1, status = 0;
	char buf[32];
	ssize_t n;
	pid_t pid, child;

	PT_ASSERT_OK(pt__pipe(in, 0));
	PT_ASSERT_OK(pt__pipe(out, 0));
	s.fd_in = in[0];
	s.fd_out = out[1];
	PT_ASSERT_OK(pt__spawn(&s, &pid, &pidfd));
	close(in[0]);
	close(out[1]);
	PT_ASSERT(pt_test_wait_fd(out[0], POLLIN, 20000));
	n = read(out[0], buf, sizeof(buf) - 1);
	PT_ASSERT_INT_GT(n, 1);
	buf[n] = 0;
	child = (pid_t)strtol(buf, NULL, 10);
	PT_ASSERT_INT_EQ(pt__proc_group(pid, m, 4), 2);
	PT_ASSERT_INT_EQ(m[0].pid, pid);
	PT_ASSERT_STR_EQ(m[0].name, "sh");
	PT_ASSERT_INT_EQ(m[1].pid, child);
	PT_ASSERT(m[0].start <= m[1].start);
	/* a room for one: the count says two */
	PT_ASSERT_INT_EQ(pt__proc_group(pid, m, 1), 2);
	PT_ASSERT_INT_EQ(m[0].pid, pid);
	/* not of that group: refused */
	PT_ASSERT_ERR(pt__proc_kill_member(pid, pt__getpid(), SIGKILL), -ESRCH);
	PT_ASSERT_OK(pt__proc_kill_member(pid, child, SIGKILL));
	/* the shell's wait ends with its child: it exits 137 */
	PT_ASSERT_OK(pt__proc_wait(pid, pidfd, 10000, &status));
	PT_ASSERT(WIFEXITED(status));
	PT_ASSERT_INT_EQ(WEXITSTATUS(status), 137);
	PT_ASSERT_INT_EQ(pt__proc_group(pid, m, 4), 0);
	PT_ASSERT_ERR(pt__proc_kill_member(pid, pid, 0), -ESRCH);
	close(in[1]);
	close(out[0]);
	close(pidfd);
}

/* pt__append: lines add up; a planted symlink is refused. */
PT_TEST(append_adds_lines_and_refuses_a_symlink)
{
	char *text = NULL;
	size_t len = 0;

	PT_ASSERT_OK(pt__append(pt_test_path("log"), "a\n", 2));
	PT_ASSERT_OK(pt__append(pt_test_path("log"), "b\n", 2));
	PT_ASSERT_OK(pt__read_file(pt_test_path("log"), 64, &text, &len));
	PT_ASSERT_STR_EQ(text, "a\nb\n");
	pt__free(text);
	PT_ASSERT_INT_EQ(symlink(pt_test_path("log"), pt_test_path("ln")), 0);
	PT_ASSERT_ERR(pt__append(pt_test_path("ln"), "c\n", 2), -ELOOP);
}

/* Runs argv with a prepared spawn, stdout to a pipe; returns its output. */
static void spawn_prep_output(struct pt_spawn_prep *p, const char *cwd,
			      const char *script, char *buf, size_t size)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	struct pt_spawn s = { .argv = argv,
			      .fd_in = -1,
			      .fd_err = -1,
			      .search = true,
			      .new_session = true,
			      .close_fds = true,
			      .cwd = cwd };
	int fds[2], status = -1;
	ssize_t n;
	pid_t pid;

	PT_ASSERT_OK(pt__pipe(fds, 0));
	s.fd_out = fds[1];
	PT_ASSERT_OK(pt__spawn_with(p, &s, &pid, NULL));
	close(fds[1]);
	n = pt__read_full(fds[0], buf, size - 1);
	PT_ASSERT_INT_GE(n, 0);
	buf[n] = 0;
	close(fds[0]);
	PT_ASSERT_OK(pt__proc_wait(pid, -1, -1, &status));
	PT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A prepared spawn is rebuilt whenever an fd, the directory or a flag changes.
 */
PT_TEST(prepared_spawn_follows_changed_fds_and_directory)
{
	struct pt_spawn_prep p = { 0 };
	char buf[PATH_MAX + 64], want[PATH_MAX + 2], a[PATH_MAX], b[PATH_MAX];
	int spare;

	PT_ASSERT_OK(pt__mkdir_p(pt_test_path("a"), 0700));
	PT_ASSERT_OK(pt__mkdir_p(pt_test_path("b"), 0700));
	PT_ASSERT_NOT_NULL(realpath(pt_test_path("a"), a));
	PT_ASSERT_NOT_NULL(realpath(pt_test_path("b"), b));
	spawn_prep_output(&p, a, "pwd -P", buf, sizeof(buf));
	PT_ASSERT(p.valid);
	snprintf(want, sizeof(want), "%s\n", a);
	PT_ASSERT_STR_EQ(buf, want);
	/* Same directory again: reused, same result. */
	spawn_prep_output(&p, a, "pwd -P", buf, sizeof(buf));
	PT_ASSERT_STR_EQ(buf, want);
	/* Another directory. */
	spawn_prep_output(&p, b, "pwd -P", buf, sizeof(buf));
	snprintf(want, sizeof(want), "%s\n", b);
	PT_ASSERT_STR_EQ(buf, want);
	/* Another pipe fd number (one is held open meanwhile). */
	spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	PT_ASSERT_INT_GE(spare, 0);
	spawn_prep_output(&p, b, "echo moved", buf, sizeof(buf));
	PT_ASSERT_STR_EQ(buf, "moved\n");
	PT_ASSERT_INT_GT(p.fd_out, spare); /* rebuilt for the new fd */
	close(spare);
	spawn_prep_output(&p, NULL, "echo none", buf, sizeof(buf));
	PT_ASSERT_STR_EQ(buf, "none\n");
	pt__spawn_prep_release(&p);
	PT_ASSERT(!p.valid);
	PT_ASSERT_NULL(p.cwd);
	pt__spawn_prep_release(&p); /* twice is fine */
}

/* Emptying a reused directory, whatever was done to it. */
PT_TEST(dir_make_empty_repairs_what_a_job_did)
{
	char d[PATH_MAX];
	struct stat st, again;
	int f;

	/* pt_test_path's buffers rotate: keep a copy. */
	snprintf(d, sizeof(d), "%s", pt_test_path("slot"));
	/* Missing: made. */
	PT_ASSERT_OK(pt__dir_make_empty(d));
	PT_ASSERT_OK(stat(d, &st));
	PT_ASSERT(S_ISDIR(st.st_mode));
	PT_ASSERT_INT_EQ(st.st_mode & 07777, 0700);
	/* Empty: kept as it is. */
	PT_ASSERT_OK(pt__dir_make_empty(d));
	PT_ASSERT_OK(stat(d, &again));
	PT_ASSERT_INT_EQ(again.st_ino, st.st_ino);
	/* Files and a tree inside, a symlink out: removed, not followed. */
	PT_ASSERT_OK(pt__mkdir_p(pt_test_path("slot/x/y"), 0700));
	f = open(pt_test_path("slot/file"), O_CREAT | O_WRONLY, 0600);
	PT_ASSERT_INT_GE(f, 0);
	close(f);
	PT_ASSERT_OK(pt__mkdir_p(pt_test_path("outside"), 0700));
	f = open(pt_test_path("outside/keep"), O_CREAT | O_WRONLY, 0600);
	PT_ASSERT_INT_GE(f, 0);
	close(f);
	PT_ASSERT_OK(
		symlink(pt_test_path("outside"), pt_test_path("slot/link")));
	PT_ASSERT_OK(pt__dir_make_empty(d));
	PT_ASSERT_INT_EQ(access(pt_test_path("slot/file"), F_OK), -1);
	PT_ASSERT_INT_EQ(access(pt_test_path("slot/x"), F_OK), -1);
	PT_ASSERT_INT_EQ(access(pt_test_path("slot/link"), F_OK), -1);
	PT_ASSERT_OK(access(pt_test_path("outside/keep"), F_OK));
	/* Empty but its mode changed: restored. */
	PT_ASSERT_OK(chmod(d, 0500));
	PT_ASSERT_OK(pt__dir_make_empty(d));
	PT_ASSERT_OK(stat(d, &st));
	PT_ASSERT_INT_EQ(st.st_mode & 07777, 0700);
	/* Not a directory at the path: an error, and it is left alone. */
	PT_ASSERT_OK(pt__rm_rf(d));
	f = open(d, O_CREAT | O_WRONLY, 0600);
	PT_ASSERT_INT_GE(f, 0);
	close(f);
	PT_ASSERT_ERR(pt__dir_make_empty(d), -ENOTDIR);
	PT_ASSERT_OK(stat(d, &st));
	PT_ASSERT(S_ISREG(st.st_mode));
}

PT_TEST(spawn_missing_program_fails_cleanly)
{
	const char *argv[] = { "/nonexistent/prog", NULL };
	struct pt_spawn s = {
		.argv = argv, .fd_in = -1, .fd_out = -1, .fd_err = -1
	};
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
	struct pt_spawn s = { .argv = argv,
			      .fd_in = -1,
			      .fd_out = -1,
			      .fd_err = -1,
			      .search = true,
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

/* The one lock-file helper: exclusive, shared, owner, no symlinks. */
PT_TEST(lock_files_exclude_record_their_owner_and_refuse_symlinks)
{
	const char *path = pt_test_path("x.lock");
	int a, b, c;

	a = pt__lock_take(path);
	PT_ASSERT_INT_GE(a, 0);
	/* another open file description of the same file is excluded */
	PT_ASSERT_ERR(pt__lock_take(path), -EWOULDBLOCK);
	b = pt__lock_open(path, false);
	PT_ASSERT_INT_GE(b, 0);
	PT_ASSERT_ERR(pt__lock(b, PT_LOCK_SH | PT_LOCK_NB), -EWOULDBLOCK);
	PT_ASSERT_INT_EQ(pt__lock_owner(b), 0);
	PT_ASSERT_OK(pt__lock_set_owner(a));
	PT_ASSERT_INT_EQ(pt__lock_owner(b), (int)getpid());
	PT_ASSERT(pt__pid_alive(pt__lock_owner(b)));
	PT_ASSERT(!pt__pid_alive(0));
	PT_ASSERT_OK(pt__lock(a, PT_LOCK_UN));
	PT_ASSERT_OK(pt__lock(b, PT_LOCK_SH | PT_LOCK_NB));
	c = pt__lock_take(path); /* a shared holder excludes it too */
	PT_ASSERT_ERR(c, -EWOULDBLOCK);
	PT_ASSERT_OK(pt__lock(b, PT_LOCK_UN));
	c = pt__lock_take(path);
	PT_ASSERT_INT_GE(c, 0);
	pt__close(a);
	pt__close(b);
	pt__close(c);
	/* a planted symlink is not followed */
	PT_ASSERT_INT_EQ(symlink(path, pt_test_path("planted.lock")), 0);
	PT_ASSERT_ERR(pt__lock_take(pt_test_path("planted.lock")), -ELOOP);
	PT_ASSERT_ERR(pt__lock_open(pt_test_path("planted.lock"), false),
		      -ELOOP);
}

/* A captured command (sbatch, squeue) runs in a session of its own, so a
 * Ctrl-C at the terminal reaches proctor only: its pid is its process
 * group and its session, neither is ours. */
PT_TEST(run_capture_child_has_its_own_session)
{
	const char *argv[] = { "sh", "-c",
			       "read -r a b c d pgid sid rest < /proc/$$/stat; "
			       "echo $$ $pgid $sid",
			       NULL };
	char *out = NULL, *err = NULL, want[64];
	long pid = 0, pgid = 0, sid = 0;
	int st = 0;

	PT_ASSERT_OK(pt__run_capture(argv, NULL, 4096, 20000, &st, &out, &err,
				     NULL));
	PT_ASSERT_INT_EQ(st, 0);
	PT_ASSERT_STR_EQ(err, "");
	PT_ASSERT_INT_EQ(sscanf(out, "%ld %ld %ld", &pid, &pgid, &sid), 3);
	snprintf(want, sizeof(want), "%ld %ld %ld\n", pid, pid, pid);
	PT_ASSERT_STR_EQ(out, want);
	PT_ASSERT_INT_NE(pgid, (long)getpgrp());
	PT_ASSERT_INT_NE(sid, (long)getsid(0));
	pt__free(out);
	pt__free(err);
}
