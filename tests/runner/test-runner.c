/*
 * Tests of the runner with real processes: output capture, outcomes,
 * timeouts that kill whole process trees, port leases, locks, temp dirs,
 * the environment, scheduling order, cancellation, bounded memory.
 * Nothing here sleeps: every wait is on a pidfd, a FIFO or the runner; a
 * job that must wait for the test reads a FIFO (gates, GATE_READ).
 */
#define _GNU_SOURCE 1
#include "base/buf.h"
#include "base/common.h"
#include "base/str.h"
#include "os/clock.h"
#include "os/file.h"
#include "os/proc.h"
#include "runner/runner-internal.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "testjob.h"

static struct pt_runner_config cfg(unsigned jobs)
{
	struct pt_runner_config c;

	pt_runner_config_init(&c);
	c.jobs = jobs;
	c.tmp_root = pt_test_tmpdir();
	c.io_log_dir = pt_test_tmpdir();
	/* The machine's lease namespace (pt_runner_port_lock_dir): ports are
	 * a machine-wide resource, and other test programs and proctor
	 * processes lease from the same range at the same time; a private
	 * lock directory would let them hand out the same block. */
	c.port_lock_dir = NULL;
	c.session_id = "sess-1";
	c.seed = 42;
	c.grace = 0.3;
	return c;
}

static struct pt_runner *mkrunner(unsigned jobs)
{
	struct pt_runner_config c = cfg(jobs);
	struct pt_runner *r = NULL;

	PT_ASSERT_OK(pt_runner_new(&c, &r));
	return r;
}

static void submit(struct pt_runner *r, const struct pt_job *j, uint64_t order,
		   double est)
{
	struct pt_run_request q = {
		.job = j, .order = order, .estimate = est, .attempt = 1
	};

	PT_ASSERT_OK(pt_runner_submit(r, &q));
}

/* One completion, waiting at most 20 s. Copies what the test needs. */
struct res {
	const struct pt_job *job;
	enum pt_outcome outcome;
	int rc;
	bool started, timed_out;
	char comments[512];
	char io_log[512];
	char tmpdir[512];
	unsigned port_base;
	int64_t started_ns;
	double duration;
	uint64_t out_bytes;
};

static struct res next(struct pt_runner *r)
{
	struct pt_run_done d;
	struct res x;

	memset(&x, 0, sizeof(x));
	PT_ASSERT_INT_EQ(pt_runner_step(r, 20000, &d), 1);
	x.job = d.job;
	x.outcome = d.result.outcome;
	x.rc = d.result.return_code;
	x.started = d.started;
	x.timed_out = d.timed_out;
	snprintf(x.comments, sizeof(x.comments), "%s",
		 d.result.comments ? d.result.comments : "");
	snprintf(x.io_log, sizeof(x.io_log), "%s",
		 d.result.io_log ? d.result.io_log : "");
	snprintf(x.tmpdir, sizeof(x.tmpdir), "%s", d.tmpdir ? d.tmpdir : "");
	x.port_base = d.port_base;
	x.started_ns = d.result.started_ns;
	x.duration = d.result.duration;
	x.out_bytes = d.out_bytes;
	return x;
}

static struct res run1(const struct pt_job *j)
{
	struct pt_runner *r = mkrunner(1);
	struct res x;

	submit(r, j, 0, -1);
	x = next(r);
	PT_ASSERT_INT_EQ(pt_runner_step(r, 0, &(struct pt_run_done){ 0 }), 0);
	pt_runner_free(r);
	return x;
}

static char *stream_of(const char *log, unsigned mask, size_t *len)
{
	char *s = NULL;

	PT_ASSERT_OK(pt_runner_iolog_read(log[0] ? log : NULL, mask, 1 << 20,
					  &s, len, NULL));
	return s;
}

/*
 * Gates: a job that must take a while, or wait for the test, reads a line
 * from a FIFO instead of sleeping: GATE_READ (opening the FIFO read-write
 * never blocks; the 60 s only bound a job that a failed test left behind).
 * The test keeps the FIFO open from the start and writes the line.
 */
#define GATE_READ "read -t 60 x <> "

static int gate_new(char *path, size_t size, const char *name)
{
	int fd;

	snprintf(path, size, "%s", pt_test_path(name));
	PT_ASSERT_INT_EQ(mkfifo(path, 0600), 0);
	fd = open(path, O_RDWR | O_CLOEXEC);
	PT_ASSERT_INT_GE(fd, 0);
	return fd;
}

static void gate_release(int fd)
{
	PT_ASSERT_INT_EQ(write(fd, "go\n", 3), 3);
}

static int64_t mono_ns(void)
{
	struct timespec t;

	PT_ASSERT_INT_EQ(clock_gettime(CLOCK_MONOTONIC, &t), 0);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Lines read from a FIFO, not yet taken (one FIFO per test). */
static char line_buf[256];
static size_t line_len;

static bool line_ready(void)
{
	return memchr(line_buf, '\n', line_len) != NULL;
}

/* The next line of fd (a FIFO opened O_RDWR | O_NONBLOCK) as a number. */
static long next_number(int fd)
{
	char *nl;
	long v;

	while (!(nl = memchr(line_buf, '\n', line_len))) {
		ssize_t got;

		PT_ASSERT(line_len < sizeof(line_buf));
		PT_ASSERT(pt_test_wait_fd(fd, POLLIN, 20000));
		got = read(fd, line_buf + line_len,
			   sizeof(line_buf) - line_len);
		PT_ASSERT_INT_GT(got, 0);
		line_len += (size_t)got;
	}
	*nl = 0;
	v = strtol(line_buf, NULL, 10);
	line_len -= (size_t)(nl + 1 - line_buf);
	memmove(line_buf, nl + 1, line_len);
	return v;
}

/* Reads job numbers (lines) from fd into up[] until want jobs are up. */
static void read_started(int fd, bool *up, size_t n, size_t *nup, size_t want)
{
	while (*nup < want) {
		long id = next_number(fd);

		PT_ASSERT(id >= 0 && (size_t)id < n && !up[id]);
		up[id] = true;
		++*nup;
	}
}

PT_TEST(captures_exact_bytes_per_stream)
{
	struct pt_job *j = mkjob("cap", "printf 'a\\000b\\n'; printf err >&2; "
					"printf c");
	struct res x = run1(j);
	size_t n;
	char *out, *err;

	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_PASS);
	PT_ASSERT_INT_EQ(x.rc, 0);
	PT_ASSERT_STR_EQ(x.comments, "");
	out = stream_of(x.io_log, PT_STREAM_STDOUT, &n);
	PT_ASSERT_UINT_EQ(n, 5);
	PT_ASSERT_MEM_EQ(out, "a\0b\nc", 5);
	err = stream_of(x.io_log, PT_STREAM_STDERR, &n);
	PT_ASSERT_STR_EQ(err, "err");
	PT_ASSERT_UINT_EQ(x.out_bytes, 5);
	pt__free(out);
	pt__free(err);
	pt__free(j);
}

/*
 * The job prints "one", waits for the test, prints "two": the offsets of
 * the two records are at least the time the test held the job apart.
 */
PT_TEST(records_have_increasing_offsets)
{
	struct pt_runner *r = mkrunner(1);
	char gate[512], cmd[700], log[600];
	struct pt_job *j;
	struct pt_run_done d;
	struct res x;
	struct pt_runner_iolog *rd = NULL;
	struct pt_runner_iolog_rec rec;
	int64_t last = -1, first = -1, t0, t1;
	int n = 0, fd = gate_new(gate, sizeof(gate), "gate");

	snprintf(cmd, sizeof(cmd), "echo one; " GATE_READ "%s; echo two >&2",
		 gate);
	snprintf(log, sizeof(log), "%s", pt_test_path("rec.log"));
	j = mkjob("rec", cmd);
	PT_ASSERT_OK(
		pt_runner_submit(r, &(struct pt_run_request){ .job = j,
							      .attempt = 1,
							      .estimate = -1,
							      .io_log = log }));
	/* The runner has read "one" once it opened the job's io log. */
	while (access(log, F_OK) != 0) {
		PT_ASSERT_INT_EQ(pt_runner_step(r, 0, &d), 0);
		if (access(log, F_OK) != 0)
			PT_ASSERT(pt_test_wait_fd(pt_runner_fd(r), POLLIN,
						  20000));
	}
	t0 = mono_ns();
	/* The runner waits 30 ms with nothing to do: the job waits too. */
	PT_ASSERT_INT_EQ(pt_runner_step(r, 30, &d), 0);
	t1 = mono_ns();
	gate_release(fd);
	x = next(r);
	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_PASS);
	PT_ASSERT_INT_EQ(pt_runner_step(r, 0, &d), 0);

	PT_ASSERT_OK(pt_runner_iolog_open(x.io_log, &rd));
	while (pt_runner_iolog_next(rd, &rec) > 0) {
		PT_ASSERT_INT_GE(rec.offset_ns, last);
		last = rec.offset_ns;
		if (n == 0) {
			PT_ASSERT_INT_EQ(rec.stream, PT_STREAM_STDOUT);
			PT_ASSERT_UINT_EQ(rec.len, 4);
			PT_ASSERT_MEM_EQ(rec.data, "one\n", 4);
			first = rec.offset_ns;
		} else {
			PT_ASSERT_INT_EQ(rec.stream, PT_STREAM_STDERR);
			PT_ASSERT_MEM_EQ(rec.data, "two\n", 4);
			PT_ASSERT_INT_GE(rec.offset_ns - first, t1 - t0);
		}
		n++;
	}
	PT_ASSERT_INT_EQ(n, 2);
	PT_ASSERT_INT_GE(t1 - t0, 30000000);
	pt_runner_iolog_close(rd);
	pt_runner_free(r);
	pt__free(j);
	close(fd);
}

PT_TEST(silent_job_writes_no_io_log)
{
	struct pt_job *j = mkjob("quiet", "true");
	struct res x = run1(j);

	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_PASS);
	PT_ASSERT_STR_EQ(x.io_log, "");
	PT_ASSERT_INT_GE(x.duration, 0);
	PT_ASSERT_INT_GT(x.started_ns, 0);
	pt__free(j);
}

PT_TEST(exit_code_is_fail)
{
	struct pt_job *j = mkjob("f", "exit 3");
	struct res x = run1(j);

	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_FAIL);
	PT_ASSERT_INT_EQ(x.rc, 3);
	PT_ASSERT_STR_EQ(x.comments, "");
	pt__free(j);
}

PT_TEST(signal_is_crash)
{
	struct pt_job *j = mkjob("c", "kill -SEGV $$");
	struct res x = run1(j);

	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_CRASH);
	PT_ASSERT_INT_EQ(x.rc, -SIGSEGV);
	PT_ASSERT_STR_EQ(x.comments,
			 "killed by signal 11 (Segmentation fault)");
	pt__free(j);
}

PT_TEST(no_command_fails_without_starting)
{
	struct pt_job *j = mkjob("nc", NULL);
	struct res x = run1(j);

	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_FAIL);
	PT_ASSERT_STR_EQ(x.comments, "job has no command");
	pt__free(j);
}

PT_TEST(missing_shell_fails_with_reason)
{
	struct pt_job *j = mkjob("ns", "true");
	struct res x;

	j->shell = "no-such-shell-xyz";
	x = run1(j);
	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_FAIL);
	PT_ASSERT_STR_EQ(x.comments,
			 "cannot start: shell 'no-such-shell-xyz' not found");
	pt__free(j);
}

PT_TEST(shell_field_selects_interpreter)
{
	struct pt_job *j = mkjob("sh", "echo \"$0\"");
	struct res x;
	char *out;

	j->shell = "/bin/sh";
	x = run1(j);
	out = stream_of(x.io_log, PT_STREAM_STDOUT, NULL);
	PT_ASSERT_STR_EQ(out, "/bin/sh\n");
	pt__free(out);
	pt__free(j);
}

/*
 * Waits (on a pidfd, at most 5 s) until pid has died. We are the
 * subreaper, so an orphan is our zombie and cannot be recycled; a process
 * whose own parent reaped it before dying is simply gone (ESRCH). Returns
 * the signal that killed it, or SIGKILL when it is already gone (its
 * killer did not wait for anything else).
 */
static int wait_dead(pid_t pid)
{
	int fd = pt__pidfd_open(pid), st = 0;

	if (fd == -ESRCH)
		return SIGKILL;
	PT_ASSERT_INT_GE(fd, 0);
	PT_ASSERT(pt_test_wait_fd(fd, POLLIN, 5000));
	close(fd);
	if (waitpid(pid, &st, 0) != pid)
		return SIGKILL; /* reaped by its dying parent */
	PT_ASSERT(WIFSIGNALED(st));
	return WTERMSIG(st);
}

static int read_pids(const char *path, pid_t *pids, int max)
{
	char *s = NULL, *p;
	size_t len;
	int n = 0;

	PT_ASSERT_OK(pt__read_file(path, 4096, &s, &len));
	for (p = s; *p && n < max;) {
		pids[n++] = (pid_t)strtol(p, &p, 10);
		while (*p == '\n')
			p++;
	}
	pt__free(s);
	return n;
}

PT_TEST(timeout_kills_the_whole_tree_with_sigkill)
{
	struct pt_buf cmd = PT_BUF_INIT;
	struct pt_job *j;
	struct res x;
	pid_t pids[4];
	int n;

	/* Orphaned grandchildren become ours, so we can wait for them. */
	PT_ASSERT_INT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	PT_ASSERT_OK(pt__buf_addf(
		&cmd,
		"trap '' TERM; sleep 1000 & echo $! > %s; "
		"bash -c 'sleep 1000 & echo $! >> %s; wait' & wait",
		pt_test_path("pids"), pt_test_path("pids")));
	j = mkjob("to", cmd.s);
	j->timeout = 0.3;
	x = run1(j);
	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_TIMEOUT);
	PT_ASSERT(x.timed_out);
	PT_ASSERT_INT_EQ(x.rc, -SIGKILL);
	PT_ASSERT_STR_EQ(x.comments,
			 "timed out after 0.3 s: SIGTERM to its process group, "
			 "SIGKILL after 0.3 s of grace");
	PT_ASSERT_INT_GE(x.duration, 0.6);
	n = read_pids(pt_test_path("pids"), pids, 4);
	PT_ASSERT_INT_EQ(n, 2);
	for (int i = 0; i < n; i++) {
		PT_ASSERT_INT_EQ(wait_dead(pids[i]), SIGKILL);
	}
	pt__buf_release(&cmd);
	pt__free(j);
}

PT_TEST(timeout_sigterm_is_enough_for_polite_jobs)
{
	struct pt_job *j = mkjob("to2", "sleep 1000");
	struct res x;

	j->timeout = 0.2;
	x = run1(j);
	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_TIMEOUT);
	PT_ASSERT_INT_EQ(x.rc, -SIGTERM);
	PT_ASSERT_STR_EQ(x.comments, "timed out after 0.2 s: SIGTERM to its "
				     "process group");
	pt__free(j);
}

PT_TEST(default_timeout_applies_and_request_overrides)
{
	struct pt_runner_config c = cfg(2);
	struct pt_runner *r = NULL;
	struct pt_job *a = mkjob("a", "sleep 1000"),
		      *b = mkjob("b", "sleep 1000");
	struct pt_run_request q = { .job = b, .order = 1, .timeout = 0.1 };
	struct res x, y;

	c.timeout = 0.4;
	PT_ASSERT_OK(pt_runner_new(&c, &r));
	submit(r, a, 0, -1);
	PT_ASSERT_OK(pt_runner_submit(r, &q));
	x = next(r);
	y = next(r);
	PT_ASSERT(x.job == b);
	PT_ASSERT(y.job == a);
	PT_ASSERT_STR_EQ(x.comments, "timed out after 0.1 s: SIGTERM to its "
				     "process group");
	PT_ASSERT_STR_EQ(y.comments, "timed out after 0.4 s: SIGTERM to its "
				     "process group");
	pt_runner_free(r);
	pt__free(a);
	pt__free(b);
}

PT_TEST(leftover_processes_die_with_the_job)
{
	struct pt_buf cmd = PT_BUF_INIT;
	struct pt_job *j;
	struct res x;
	pid_t pid;

	PT_ASSERT_INT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	PT_ASSERT_OK(pt__buf_addf(&cmd, "sleep 1000 & echo $! > %s; exit 0",
				  pt_test_path("pid")));
	j = mkjob("left", cmd.s);
	x = run1(j);
	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_PASS);
	PT_ASSERT_STR_EQ(x.comments, "");
	PT_ASSERT_INT_EQ(read_pids(pt_test_path("pid"), &pid, 1), 1);
	PT_ASSERT_INT_EQ(wait_dead(pid), SIGKILL);
	pt__buf_release(&cmd);
	pt__free(j);
}

PT_TEST(tmpdir_is_cwd_and_removed)
{
	struct pt_job *j =
		mkjob("tmp", "mkdir d && touch d/y x && pwd && "
			     "test \"$PWD\" = \"$PROCTOR_TMPDIR\" && "
			     "test \"$TMPDIR\" = \"$PROCTOR_TMPDIR\"");
	struct res x = run1(j);
	char *out = stream_of(x.io_log, PT_STREAM_STDOUT, NULL);
	struct pt_buf want = PT_BUF_INIT;

	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_PASS);
	PT_ASSERT_OK(pt__buf_addf(&want, "%s\n", x.tmpdir));
	PT_ASSERT_STR_EQ(out, want.s);
	PT_ASSERT(pt__starts_with(x.tmpdir, pt_test_tmpdir()));
	PT_ASSERT_INT_EQ(access(x.tmpdir, F_OK), -1);
	pt__free(out);
	pt__buf_release(&want);
	pt__free(j);
}

PT_TEST(keep_tmp_keeps_the_dir)
{
	struct pt_runner_config c = cfg(1);
	struct pt_runner *r = NULL;
	struct pt_job *j = mkjob("keep", "echo hi > f");
	struct pt_buf f = PT_BUF_INIT;
	struct res x;

	c.keep_tmp = true;
	PT_ASSERT_OK(pt_runner_new(&c, &r));
	submit(r, j, 0, -1);
	x = next(r);
	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_PASS);
	PT_ASSERT_OK(pt__buf_addf(&f, "%s/f", x.tmpdir));
	PT_ASSERT_INT_EQ(access(f.s, F_OK), 0);
	pt_runner_free(r);
	pt__buf_release(&f);
	pt__free(j);
}

PT_TEST(preserve_cwd_runs_in_config_cwd)
{
	struct pt_runner_config c = cfg(1);
	struct pt_runner *r = NULL;
	struct pt_job *j = mkjob("pc", "pwd");
	struct pt_buf want = PT_BUF_INIT;
	struct res x;
	char *out;

	PT_ASSERT_OK(pt__mkdir_p(pt_test_path("here"), 0700));
	c.cwd = pt_test_path("here");
	j->flags = PT_JOB_PRESERVE_CWD;
	PT_ASSERT_OK(pt_runner_new(&c, &r));
	submit(r, j, 0, -1);
	x = next(r);
	out = stream_of(x.io_log, PT_STREAM_STDOUT, NULL);
	PT_ASSERT_OK(pt__buf_addf(&want, "%s\n", pt_test_path("here")));
	PT_ASSERT_STR_EQ(out, want.s);
	pt_runner_free(r);
	pt__free(out);
	pt__buf_release(&want);
	pt__free(j);
}

PT_TEST(environment_variables)
{
	struct pt_runner *r;
	struct pt_job *j =
		mkjob("ns::envjob", "env | grep '^PROCTOR_' | LC_ALL=C sort; "
				    "test -t 0 || cat");
	struct pt_run_request q = { .job = j, .attempt = 2 };
	struct pt_buf want = PT_BUF_INIT;
	struct res x;
	char *out;

	PT_ASSERT_INT_EQ(setenv("PROCTOR_JOB_ID", "stale", 1), 0);
	/* The user's own PROCTOR_* settings pass. */
	PT_ASSERT_INT_EQ(setenv("PROCTOR_SESSION_REPOSITORY", "/kept", 1), 0);
	r = mkrunner(1); /* the environment is read here */
	PT_ASSERT_OK(pt_runner_submit(r, &q));
	x = next(r);
	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_PASS);
	out = stream_of(x.io_log, PT_STREAM_STDOUT, NULL);
	PT_ASSERT_INT_GE(x.port_base, 20000);
	PT_ASSERT_OK(pt__buf_addf(&want,
				  "PROCTOR_ATTEMPT=2\n"
				  "PROCTOR_JOB_ID=ns::envjob\n"
				  "PROCTOR_PORT_BASE=%u\n"
				  "PROCTOR_PORT_COUNT=4\n"
				  "PROCTOR_SEED=42\n"
				  "PROCTOR_SESSION_ID=sess-1\n"
				  "PROCTOR_SESSION_REPOSITORY=/kept\n"
				  "PROCTOR_TMPDIR=%s\n",
				  x.port_base, x.tmpdir));
	/* stdin is /dev/null: cat adds nothing */
	PT_ASSERT_STR_EQ(out, want.s);
	pt_runner_free(r);
	pt__free(out);
	pt__buf_release(&want);
	pt__free(j);
}

PT_TEST(clean_env_passes_only_environ_names)
{
	struct pt_runner_config c = cfg(1);
	struct pt_runner *r = NULL;
	struct pt_job *j = mkjob("ce", "echo \"${PT_A-unset} ${PT_B-unset} "
				       "${PT_X} ${PATH:+path}\"");
	const char *names[] = { "PT_A" };
	const char *extra[] = { "PT_X=extra", NULL };
	struct res x;
	char *out;

	PT_ASSERT_INT_EQ(setenv("PT_A", "a", 1), 0);
	PT_ASSERT_INT_EQ(setenv("PT_B", "b", 1), 0);
	c.clean_env = true;
	c.env = extra;
	j->environ.n = 1;
	j->environ.v = names;
	PT_ASSERT_OK(pt_runner_new(&c, &r));
	submit(r, j, 0, -1);
	x = next(r);
	out = stream_of(x.io_log, PT_STREAM_STDOUT, NULL);
	PT_ASSERT_STR_EQ(out, "a unset extra path\n");
	pt__free(out);
	pt_runner_free(r);
	pt__free(j);
}

PT_TEST(reset_locale_flag)
{
	struct pt_job *j = mkjob("loc", "echo \"$LANG ${LC_ALL-none}\"");
	struct res x;
	char *out;

	PT_ASSERT_INT_EQ(setenv("LC_ALL", "fr_FR.UTF-8", 1), 0);
	j->flags = PT_JOB_RESET_LOCALE;
	x = run1(j);
	out = stream_of(x.io_log, PT_STREAM_STDOUT, NULL);
	PT_ASSERT_STR_EQ(out, "C.UTF-8 none\n");
	pt__free(out);
	pt__free(j);
}

/* Fails the test with the job's stderr unless it passed. */
static void check_bind_job(const struct pt_run_done *d)
{
	if (d->result.outcome != PT_OUTCOME_PASS) {
		char *e = stream_of(d->result.io_log ? d->result.io_log : "",
				    PT_STREAM_STDERR, NULL);
		PT_FAIL("job failed: %s (code %d, %s) %s",
			pt_outcome_name(d->result.outcome),
			d->result.return_code,
			d->result.comments ? d->result.comments : "", e);
	}
	PT_ASSERT_INT_GE(d->port_base, 20000);
}

/* Waits until fd is readable; a job that ends meanwhile fails the test. */
static void wait_line_or_fail(int fd, struct pt_runner *const *r)
{
	while (!line_ready()) {
		struct pollfd p[3] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = pt_runner_fd(r[0]), .events = POLLIN },
			{ .fd = pt_runner_fd(r[1]), .events = POLLIN },
		};

		PT_ASSERT_INT_GT(poll(p, 3, 20000), 0);
		if (p[0].revents)
			return;
		for (int i = 0; i < 2; i++) {
			struct pt_run_done d;
			int s = pt_runner_step(r[i], 0, &d);

			PT_ASSERT_OK(s);
			if (s == 1) {
				check_bind_job(&d);
				PT_FAIL("a job ended before the test let it go");
			}
		}
	}
}

/*
 * Two runners (as two proctor processes would) share the machine's lock
 * dir; 24 jobs bind every port of their lease (tests/runner/bindports.c)
 * and hold them until the test lets one go. Each time, every running job
 * holds its ports (8 at once), their bases all differ, no bind fails.
 */
PT_TEST(port_leases_are_never_shared)
{
	struct pt_runner_config c = cfg(4);
	struct pt_runner *r[2] = { NULL, NULL };
	struct pt_job *jobs[24];
	char cmd[1700], bp[512], started[512], gate[512];
	long held[8];
	size_t nheld = 0, most = 0;
	ssize_t n = readlink("/proc/self/exe", bp, sizeof(bp) - 20);
	int ndone = 0, k, sfd, gfd;

	PT_ASSERT_INT_GT(n, 0);
	bp[n] = 0;
	snprintf(strrchr(bp, '/'), 20, "/bindports");
	snprintf(started, sizeof(started), "%s", pt_test_path("started"));
	snprintf(gate, sizeof(gate), "%s", pt_test_path("gate"));
	PT_ASSERT_INT_EQ(mkfifo(started, 0600), 0);
	PT_ASSERT_INT_EQ(mkfifo(gate, 0600), 0);
	/* read-write: the jobs' opens never block, nothing sees an EOF */
	sfd = open(started, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	gfd = open(gate, O_RDWR | O_CLOEXEC);
	PT_ASSERT(sfd >= 0 && gfd >= 0);
	snprintf(cmd, sizeof(cmd), "exec %s %s %s", bp, started, gate);
	c.port_count = 4;
	PT_ASSERT_OK(pt_runner_new(&c, &r[0]));
	PT_ASSERT_OK(pt_runner_new(&c, &r[1]));
	for (k = 0; k < 24; k++) {
		static char ids[24][16]; /* each job its own io log */

		snprintf(ids[k], sizeof(ids[k]), "bind%d", k);
		jobs[k] = mkjob(ids[k], cmd);
		submit(r[k % 2], jobs[k], (uint64_t)k, -1);
	}
	while (ndone < 24) {
		struct pt_run_done d;
		size_t running = 0;
		int got = 0;

		/* Starts what may start; a job that ends now has failed. */
		for (int i = 0; i < 2; i++) {
			int s = pt_runner_step(r[i], 0, &d);

			PT_ASSERT_OK(s);
			if (s == 1)
				check_bind_job(&d);
			running += pt_runner_running(r[i]);
		}
		/* Every running job binds its ports and says so. */
		while (nheld < running) {
			long b;

			wait_line_or_fail(sfd, r);
			b = next_number(sfd);
			for (size_t i = 0; i < nheld; i++)
				PT_ASSERT_INT_NE(held[i], b);
			PT_ASSERT_UINT_EQ(nheld < 8, 1);
			held[nheld++] = b;
		}
		PT_ASSERT_UINT_EQ(nheld, running);
		most = PT_MAX(most, nheld);
		/* One job (whichever reads the byte) lets its ports go. */
		PT_ASSERT_INT_EQ(write(gfd, "x", 1), 1);
		while (!got) {
			struct pollfd p[2] = {
				{ .fd = pt_runner_fd(r[0]), .events = POLLIN },
				{ .fd = pt_runner_fd(r[1]), .events = POLLIN },
			};

			PT_ASSERT_INT_GT(poll(p, 2, 20000), 0);
			for (int i = 0; i < 2 && !got; i++) {
				got = pt_runner_step(r[i], 0, &d);
				PT_ASSERT_OK(got);
			}
		}
		check_bind_job(&d);
		for (k = 0; k < (int)nheld && held[k] != (long)d.port_base; k++)
			;
		PT_ASSERT_INT_LT(k, (int)nheld);
		held[k] = held[--nheld];
		ndone++;
	}
	PT_ASSERT_UINT_EQ(most, 8);
	close(sfd);
	close(gfd);
	for (int i = 0; i < 2; i++)
		pt_runner_free(r[i]);
	for (k = 0; k < 24; k++)
		pt__free(jobs[k]);
}

PT_TEST(port_table_skips_busy_ports)
{
	struct pt_ports p;
	unsigned a = 0, b = 0;
	int fd, one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET };

	PT_ASSERT_OK(pt__ports_init(&p, 21000, 21012, 4, pt_test_path("pl")));
	PT_ASSERT_OK(pt__ports_lease(&p, &a));
	PT_ASSERT_INT_EQ(a, 21000);
	/* Someone else listens on 21005: block 21004 is skipped. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	PT_ASSERT_INT_GE(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_port = htons(21005);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 1) < 0) {
		close(fd);
		pt__ports_release_all(&p);
		pt_test_skip("port 21005 busy on this machine");
	}
	PT_ASSERT_OK(pt__ports_lease(&p, &b));
	PT_ASSERT_INT_EQ(b, 21008);
	PT_ASSERT_ERR(pt__ports_lease(&p, &b), PT_EFULL);
	pt__ports_return(&p, 21000, true);
	PT_ASSERT_OK(pt__ports_lease(&p, &b));
	PT_ASSERT_INT_EQ(b, 21000);
	close(fd);
	pt__ports_release_all(&p);
}

static int64_t later_ns;

static int64_t later_clock(void *ctx, int which)
{
	(void)ctx;
	(void)which;
	return later_ns;
}

/*
 * The fast path (a block leased again without the bind check) must not
 * hide a port that another program took between two leases, once the
 * census is read again: it is read at most every PT_PORTS_CENSUS_TTL_NS.
 */
PT_TEST(port_grabbed_between_leases_is_detected)
{
	struct pt_ports p;
	unsigned a = 0, b = 0;
	int fd, one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET };

	PT_ASSERT_OK(pt__ports_init(&p, 21100, 21112, 4, pt_test_path("pl")));
	later_ns = pt__now_ns();
	pt__clock_set_fake(later_clock, NULL);
	PT_ASSERT_OK(pt__ports_lease(&p, &a));
	PT_ASSERT_INT_EQ(a, 21100);
	PT_ASSERT_INT_EQ(p.probes, 1);
	PT_ASSERT_INT_EQ(p.census_reads, 1);
	pt__ports_return(&p, a, true);
	/* Within the TTL the census is not read again. */
	later_ns += PT_PORTS_CENSUS_TTL_NS - 1;
	PT_ASSERT_OK(pt__ports_lease(&p, &a));
	PT_ASSERT_INT_EQ(a, 21100);
	PT_ASSERT_INT_EQ(p.probes, 1);
	PT_ASSERT_INT_EQ(p.census_reads, 1);
	pt__ports_return(&p, a, true);
	/* Another program binds a port of the block, without listening. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	PT_ASSERT_INT_GE(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_port = htons(21102);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		pt__ports_release_all(&p);
		pt__clock_set_fake(NULL, NULL);
		pt_test_skip("port 21102 busy on this machine");
	}
	later_ns += 1;
	PT_ASSERT_OK(pt__ports_lease(&p, &b));
	PT_ASSERT_INT_EQ(p.census_reads, 2);
	PT_ASSERT_INT_EQ(b, 21104);
	pt__ports_return(&p, b, true);
	close(fd);
	/* After a job that did not end cleanly, the block is checked. */
	PT_ASSERT_OK(pt__ports_lease(&p, &a));
	PT_ASSERT_INT_EQ(a, 21100);
	{
		uint64_t before = p.probes;
		pt__ports_return(&p, a, false);
		PT_ASSERT_OK(pt__ports_lease(&p, &a));
		PT_ASSERT_INT_EQ(a, 21100);
		PT_ASSERT_INT_EQ(p.probes, before + 1);
	}
	pt__ports_return(&p, a, true);
	pt__clock_set_fake(NULL, NULL);
	pt__ports_release_all(&p);
}

/* However quiet the machine, a block is bind-checked again after 1 s. */
PT_TEST(port_block_is_rechecked_after_a_second)
{
	struct pt_ports p;
	unsigned a = 0;
	uint64_t before;

	PT_ASSERT_OK(pt__ports_init(&p, 21200, 21212, 4, pt_test_path("pl")));
	later_ns = pt__now_ns();
	pt__clock_set_fake(later_clock, NULL);
	PT_ASSERT_OK(pt__ports_lease(&p, &a));
	PT_ASSERT_INT_EQ(a, 21200);
	pt__ports_return(&p, a, true);
	before = p.probes;
	later_ns += PT_PORTS_RECHECK_NS;
	PT_ASSERT_OK(pt__ports_lease(&p, &a));
	pt__clock_set_fake(NULL, NULL);
	PT_ASSERT_INT_EQ(a, 21200);
	PT_ASSERT_INT_EQ(p.probes, before + 1);
	pt__ports_return(&p, a, true);
	pt__ports_release_all(&p);
}

/*
 * Jobs holding the lock "device" never run at the same time. Each job (8
 * locked, 2 free) says on a FIFO that it started, then waits on its own
 * gate: at each point the test knows every running job, checks that at
 * most one holds the lock, and releases them one at a time. An overlap
 * cannot hide in a short window.
 */
PT_TEST(locks_never_overlap)
{
	struct pt_runner *r = mkrunner(4);
	struct pt_job *jobs[10];
	const char *lk[] = { "device" };
	char cmds[10][2000], gates[10][512], started[512], *log = NULL;
	int gfd[10];
	bool up[10] = { false }, ended[10] = { false };
	size_t len, nup = 0, most = 0;
	int k, nfree = 0, sfd, ndone = 0;

	snprintf(started, sizeof(started), "%s", pt_test_path("started"));
	PT_ASSERT_INT_EQ(mkfifo(started, 0600), 0);
	/* read-write: never blocks, never sees end of file */
	sfd = open(started, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	PT_ASSERT_INT_GE(sfd, 0);
	for (k = 0; k < 10; k++) {
		char name[16];

		snprintf(name, sizeof(name), "gate%d", k);
		gfd[k] = gate_new(gates[k], sizeof(gates[k]), name);
		snprintf(cmds[k], sizeof(cmds[k]),
			 "echo start %d >> %s; echo %d 1<> %s; " GATE_READ
			 "%s; echo end %d >> %s",
			 k, pt_test_path("log"), k, started, gates[k], k,
			 pt_test_path("log"));
		jobs[k] = mkjob("lock", cmds[k]);
		if (k % 5 != 4) {
			jobs[k]->locks.n = 1;
			jobs[k]->locks.v = lk;
		} else {
			nfree++;
		}
		submit(r, jobs[k], (uint64_t)k, -1);
	}
	while (ndone < 10) {
		struct pt_run_done d;
		int locked = 0, next_k = -1;
		struct res x;

		/* Starts what may start; every job then waits for the test. */
		PT_ASSERT_INT_EQ(pt_runner_step(r, 0, &d), 0);
		read_started(sfd, up, 10, &nup, pt_runner_running(r));
		PT_ASSERT_UINT_EQ(nup, pt_runner_running(r));
		most = PT_MAX(most, nup);
		for (k = 0; k < 10; k++) {
			if (!up[k] || ended[k])
				continue;
			locked += k % 5 != 4;
			if (next_k < 0)
				next_k = k;
		}
		PT_ASSERT_INT_LE(locked, 1);
		PT_ASSERT_INT_GE(next_k, 0);
		gate_release(gfd[next_k]);
		x = next(r);
		PT_ASSERT(x.job == jobs[next_k]);
		PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_PASS);
		ended[next_k] = true;
		nup--;
		ndone++;
	}
	close(sfd);
	for (k = 0; k < 10; k++)
		close(gfd[k]);
	/* The free jobs ran next to a locked one: 3 jobs at once. */
	PT_ASSERT_UINT_EQ(most, 3);
	PT_ASSERT_OK(pt__read_file(pt_test_path("log"), 1 << 16, &log, &len));
	/* Among locked jobs, every start is followed by its own end. */
	{
		int open_job = -1, seen = 0;
		for (char *p = log; *p;) {
			int id;
			bool start = !strncmp(p, "start ", 6);

			id = (int)strtol(p + (start ? 6 : 4), &p, 10);
			p++;
			if (id % 5 == 4)
				continue;
			if (start) {
				PT_ASSERT_INT_EQ(open_job, -1);
				open_job = id;
			} else {
				PT_ASSERT_INT_EQ(open_job, id);
				open_job = -1;
				seen++;
			}
		}
		PT_ASSERT_INT_EQ(seen, 8);
	}
	PT_ASSERT_INT_EQ(nfree, 2);
	pt__free(log);
	pt_runner_free(r);
	for (k = 0; k < 10; k++)
		pt__free(jobs[k]);
}

PT_TEST(j1_runs_in_run_list_order)
{
	struct pt_runner *r = mkrunner(1);
	struct pt_job *jobs[6];
	uint64_t orders[6] = { 4, 1, 5, 0, 3, 2 };

	for (int k = 0; k < 6; k++) {
		jobs[k] = mkjob("o", "true");
		/* estimates are ignored with -j1 */
		submit(r, jobs[k], orders[k], (double)k);
	}
	for (uint64_t want = 0; want < 6; want++) {
		struct pt_run_done d;
		PT_ASSERT_INT_EQ(pt_runner_step(r, 20000, &d), 1);
		PT_ASSERT_UINT_EQ(d.order, want);
	}
	pt_runner_free(r);
	for (int k = 0; k < 6; k++)
		pt__free(jobs[k]);
}

PT_TEST(jn_starts_longest_estimate_first)
{
	struct pt_runner *r = mkrunner(2);
	struct pt_job *jobs[5];
	double est[5] = { 1, 5, 3, -1, 3 };
	int64_t start[5];
	int idx[5];

	for (int k = 0; k < 5; k++) {
		jobs[k] = mkjob("e", "true");
		submit(r, jobs[k], (uint64_t)k, est[k]);
	}
	for (int k = 0; k < 5; k++) {
		struct pt_run_done d;
		PT_ASSERT_INT_EQ(pt_runner_step(r, 20000, &d), 1);
		start[d.order] = d.result.started_ns;
	}
	/* expected start order: 1 (5 s), 2 (3 s, order 2), 4 (3 s), 0, 3 */
	for (int k = 0; k < 5; k++)
		idx[k] = k;
	for (int a = 0; a < 5; a++) {
		for (int b = a + 1; b < 5; b++) {
			if (start[idx[b]] < start[idx[a]]) {
				int t = idx[a];
				idx[a] = idx[b];
				idx[b] = t;
			}
		}
	}
	PT_ASSERT_INT_EQ(idx[0], 1);
	PT_ASSERT_INT_EQ(idx[1], 2);
	PT_ASSERT_INT_EQ(idx[2], 4);
	PT_ASSERT_INT_EQ(idx[3], 0);
	PT_ASSERT_INT_EQ(idx[4], 3);
	pt_runner_free(r);
	for (int k = 0; k < 5; k++)
		pt__free(jobs[k]);
}

PT_TEST(cancel_terminates_running_and_returns_queued)
{
	struct pt_runner *r = mkrunner(2);
	struct pt_job *jobs[4];
	struct pt_run_done d;
	int unstarted = 0, interrupted = 0;

	for (int k = 0; k < 4; k++) {
		jobs[k] = mkjob("c", "sleep 1000");
		submit(r, jobs[k], (uint64_t)k, -1);
	}
	PT_ASSERT_INT_EQ(pt_runner_step(r, 0, &d), 0);
	PT_ASSERT_UINT_EQ(pt_runner_running(r), 2);
	PT_ASSERT_UINT_EQ(pt_runner_queued(r), 2);
	PT_ASSERT_INT_EQ(pt_runner_timeout(r), -1);
	pt_runner_cancel(r, true);
	PT_ASSERT_ERR(
		pt_runner_submit(r, &(struct pt_run_request){ .job = jobs[0] }),
		PT_ESTATE);
	for (int k = 0; k < 4; k++) {
		struct res x = next(r);
		PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_NONE);
		if (x.started) {
			PT_ASSERT_STR_EQ(x.comments,
					 "interrupted: the run was cancelled "
					 "while the job ran");
			PT_ASSERT_INT_EQ(x.rc, -SIGTERM);
			interrupted++;
		} else {
			PT_ASSERT_STR_EQ(x.comments,
					 "not run: the run was cancelled");
			unstarted++;
		}
	}
	PT_ASSERT_INT_EQ(unstarted, 2);
	PT_ASSERT_INT_EQ(interrupted, 2);
	PT_ASSERT_INT_EQ(pt_runner_step(r, 0, &d), 0);
	pt_runner_free(r);
	for (int k = 0; k < 4; k++)
		pt__free(jobs[k]);
}

PT_TEST(cancel_without_terminate_lets_jobs_finish)
{
	struct pt_runner *r = mkrunner(1);
	char gate[512], cmd[700];
	struct pt_job *a, *b = mkjob("b", "true");
	struct pt_run_done d;
	struct res x, y;
	/* a runs until the test lets it go, after the cancel */
	int fd = gate_new(gate, sizeof(gate), "gate");

	snprintf(cmd, sizeof(cmd), GATE_READ "%s; exit 4", gate);
	a = mkjob("a", cmd);
	submit(r, a, 0, -1);
	submit(r, b, 1, -1);
	PT_ASSERT_INT_EQ(pt_runner_step(r, 0, &d), 0);
	pt_runner_cancel(r, false);
	x = next(r);
	gate_release(fd);
	y = next(r);
	close(fd);
	PT_ASSERT(x.job == b && !x.started);
	PT_ASSERT(y.job == a && y.started);
	PT_ASSERT_INT_EQ(y.outcome, PT_OUTCOME_FAIL);
	PT_ASSERT_INT_EQ(y.rc, 4);
	pt_runner_free(r);
	pt__free(a);
	pt__free(b);
}

PT_TEST(pollable_fd_and_timeout)
{
	struct pt_runner *r = mkrunner(1);
	struct pt_job *j = mkjob("p", "echo x");
	struct pt_run_done d;
	int got = 0;

	submit(r, j, 0, -1);
	PT_ASSERT_INT_EQ(pt_runner_timeout(r), 0);
	PT_ASSERT_INT_GE(pt_runner_fd(r), 0);
	while (!got) {
		int t = pt_runner_timeout(r);
		PT_ASSERT(t == 0 ||
			  pt_test_wait_fd(pt_runner_fd(r), POLLIN, 20000));
		got = pt_runner_step(r, 0, &d);
		PT_ASSERT_OK(got);
	}
	PT_ASSERT_INT_EQ(d.result.outcome, PT_OUTCOME_PASS);
	pt_runner_free(r);
	pt__free(j);
}

PT_TEST_TIMEOUT(memory_stays_flat_with_100mb_of_output, 120)
{
	struct pt_job *j = mkjob("big", "head -c 100000000 /dev/zero; "
					"echo done >&2");
	struct rusage ru0, ru1;
	struct stat st;
	struct res x;
	char *err;

	PT_ASSERT_INT_EQ(getrusage(RUSAGE_SELF, &ru0), 0);
	x = run1(j);
	PT_ASSERT_INT_EQ(getrusage(RUSAGE_SELF, &ru1), 0);
	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_PASS);
	PT_ASSERT_UINT_EQ(x.out_bytes, 100000000);
	PT_ASSERT_INT_EQ(stat(x.io_log, &st), 0);
	PT_ASSERT_INT_GT(st.st_size, 100000000);
	err = stream_of(x.io_log, PT_STREAM_STDERR, NULL);
	PT_ASSERT_STR_EQ(err, "done\n");
	/* ru_maxrss is in KiB: the runner grew by less than 8 MiB. */
	PT_ASSERT_INT_LT(ru1.ru_maxrss - ru0.ru_maxrss, 8 * 1024);
	pt__free(err);
	pt__free(j);
}

PT_TEST(bad_config_is_rejected)
{
	struct pt_runner_config c = cfg(4);
	struct pt_runner *r = NULL;

	c.port_min = 30000;
	c.port_max = 30008; /* 2 blocks of 4 for 4 jobs */
	c.port_count = 4;
	PT_ASSERT_ERR(pt_runner_new(&c, &r), -EINVAL);
	c = cfg(1);
	c.env = (const char *[]){ "NOEQUALS", NULL };
	PT_ASSERT_ERR(pt_runner_new(&c, &r), -EINVAL);
	PT_ASSERT_NULL(r);
	PT_ASSERT_ERR(pt_runner_submit(NULL, NULL), -EINVAL);
	PT_ASSERT_NULL(pt_runner_free(NULL));
}

/* A caller-provided io log sink (what the store glue does). */
struct sink {
	int opens, closes;
	char path[64];
	struct pt_buf data;
};

static int sink_open(void *ctx, const struct pt_job *job, unsigned attempt,
		     void **ret, const char **ret_path)
{
	struct sink *k = ctx;

	k->opens++;
	snprintf(k->path, sizeof(k->path), "io-logs/%s.%u.log", job->id,
		 attempt);
	*ret = k;
	*ret_path = k->path;
	return 0;
}

static int sink_append(void *ctx, void *log, int64_t off, enum pt_stream stream,
		       const void *data, size_t len)
{
	struct sink *k = ctx;

	PT_ASSERT(log == ctx);
	PT_ASSERT_INT_GE(off, 0);
	PT_ASSERT_OK(pt__buf_addf(
		&k->data, "%c:", stream == PT_STREAM_STDOUT ? 'o' : 'e'));
	return pt__buf_add(&k->data, data, len);
}

static int sink_close(void *ctx, void *log)
{
	struct sink *k = ctx;

	(void)log;
	k->closes++;
	return 0;
}

PT_TEST(caller_iolog_ops_receive_the_output)
{
	struct sink k = { .data = PT_BUF_INIT };
	struct pt_runner_iolog_ops ops = { sink_open, sink_append, sink_close,
					   &k };
	struct pt_runner_config c = cfg(1);
	struct pt_runner *r = NULL;
	struct pt_job *a = mkjob("a", "echo hi; echo err >&2"),
		      *b = mkjob("b", "true");
	struct pt_run_request q = { .job = a, .attempt = 3 };
	struct res x, y;

	c.iolog = &ops;
	PT_ASSERT_OK(pt_runner_new(&c, &r));
	PT_ASSERT_OK(pt_runner_submit(r, &q));
	submit(r, b, 1, -1);
	x = next(r);
	y = next(r);
	PT_ASSERT_STR_EQ(x.io_log, "io-logs/a.3.log");
	PT_ASSERT_STR_EQ(y.io_log, "");
	PT_ASSERT_INT_EQ(k.opens, 1);
	PT_ASSERT_INT_EQ(k.closes, 1);
	/* two records, whatever the interleaving of the two pipes */
	PT_ASSERT(!strcmp(k.data.s, "o:hi\ne:err\n") ||
		  !strcmp(k.data.s, "e:err\no:hi\n"));
	pt_runner_free(r);
	pt__buf_release(&k.data);
	pt__free(a);
	pt__free(b);
}

PT_TEST(lost_exit_status_is_a_crash_not_a_pass)
{
	struct pt_runner *r = mkrunner(1);
	char gate[512], cmd[700];
	struct pt_job *j;
	struct pt_run_done d;
	struct res x;
	/* The job ends once the runner watches it, released by the test. */
	int fd = gate_new(gate, sizeof(gate), "gate");

	snprintf(cmd, sizeof(cmd), GATE_READ "%s; exit 0", gate);
	j = mkjob("ign", cmd);
	/* With SIGCHLD ignored the kernel reaps children itself. */
	PT_ASSERT(signal(SIGCHLD, SIG_IGN) != SIG_ERR);
	submit(r, j, 0, -1);
	PT_ASSERT_INT_EQ(pt_runner_step(r, 0, &d), 0);
	gate_release(fd);
	x = next(r);
	close(fd);
	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_CRASH);
	PT_ASSERT_STR_EQ(x.comments, "exit status lost: No child processes");
	PT_ASSERT_INT_EQ(pt_runner_step(r, 0, &d), 0);
	pt_runner_free(r);
	pt__free(j);
}

PT_TEST(next_job_gets_an_empty_dir_whatever_the_last_did)
{
	struct pt_runner *r = mkrunner(1);
	/* Each job checks that its dir is empty, mode 0700, then spoils it. */
	static const char check[] = "test -z \"$(ls -A)\" && "
				    "test \"$(stat -c %a .)\" = 700 && ";
	static const char *const spoil[] = {
		"mkdir -p d/e && touch d/e/f .hidden",
		"cd / && rm -rf \"$PROCTOR_TMPDIR\"",
		"chmod 500 .",
		/* renamed away, another one put in its place */
		"cd / && mv \"$PROCTOR_TMPDIR\" \"$PROCTOR_TMPDIR.away\" && "
		"mkdir \"$PROCTOR_TMPDIR\" && touch \"$PROCTOR_TMPDIR/x\"",
		"ln -s / link",
		"true",
	};
	struct pt_job *j[PT_ARRAY_SIZE(spoil)];
	/* mkjob borrows its strings */
	static char cmd[PT_ARRAY_SIZE(spoil)][512], id[PT_ARRAY_SIZE(spoil)][8];

	for (size_t i = 0; i < PT_ARRAY_SIZE(spoil); i++) {
		snprintf(id[i], sizeof(id[i]), "j%zu", i);
		snprintf(cmd[i], sizeof(cmd[i]), "%s%s", check, spoil[i]);
		j[i] = mkjob(id[i], cmd[i]);
		submit(r, j[i], i, -1);
	}
	for (size_t i = 0; i < PT_ARRAY_SIZE(spoil); i++) {
		struct res x = next(r);
		if (x.outcome != PT_OUTCOME_PASS)
			PT_FAIL("job %s: %s (rc %d) %s", x.job->id,
				pt_outcome_name(x.outcome), x.rc, x.comments);
	}
	pt_runner_free(r);
	for (size_t i = 0; i < PT_ARRAY_SIZE(spoil); i++)
		pt__free(j[i]);
}

/* One lease namespace per machine: the same lock directory with and
 * without XDG_RUNTIME_DIR, whatever TMPDIR says. */
PT_TEST(port_lock_dir_is_one_per_machine)
{
	char *a = NULL, *b = NULL, *na = NULL, *nb = NULL;
	const char *tmpdir = getenv("TMPDIR");
	char saved[4096] = "";
	int ra, rb;

	if (tmpdir)
		snprintf(saved, sizeof(saved), "%s", tmpdir);
	setenv("XDG_RUNTIME_DIR", pt_test_tmpdir(), 1);
	setenv("TMPDIR", pt_test_tmpdir(), 1);
	ra = pt_runner_port_lock_dir(NULL, &a, &na);
	unsetenv("XDG_RUNTIME_DIR");
	unsetenv("TMPDIR");
	rb = pt_runner_port_lock_dir(NULL, &b, &nb);
	if (saved[0])
		setenv("TMPDIR", saved, 1);
	PT_ASSERT_INT_EQ(ra, rb);
	if (ra == 0) {
		PT_ASSERT_STR_EQ(a, b);
		PT_ASSERT(!pt__starts_with(a, pt_test_tmpdir()));
	}
	PT_ASSERT((na == NULL) == (nb == NULL));
	if (na && nb)
		PT_ASSERT_STR_EQ(na, nb);
	pt_free(a);
	pt_free(b);
	pt_free(na);
	pt_free(nb);
}

/* pt__ports_lock_dir on test paths: made 1777, or refused with a notice
 * when another user owns it, it is a symlink or writable without the
 * sticky bit; the private fallback is checked the same way. */
PT_TEST(port_lock_dir_checks_owner_and_mode)
{
	char shared[1024], priv[1024], want[4096];
	char *dir = NULL, *note = NULL;
	struct stat st;

	if (geteuid() != 0)
		pt_test_skip("needs root to chown to another uid");
	snprintf(shared, sizeof(shared), "%s", pt_test_path("shared"));
	snprintf(priv, sizeof(priv), "%s", pt_test_path("private"));
	/* Missing: made, mode 1777 whatever the umask. */
	umask(077);
	PT_ASSERT_OK(pt__ports_lock_dir(shared, priv, &dir, &note));
	umask(022);
	PT_ASSERT_STR_EQ(dir, shared);
	PT_ASSERT(note == NULL);
	PT_ASSERT_OK(lstat(shared, &st));
	PT_ASSERT_INT_EQ(st.st_mode & 07777, 01777);
	pt__free(dir);
	/* Another user's: the private directory, with a notice. */
	PT_ASSERT_OK(chown(shared, 4321, 4321));
	PT_ASSERT_OK(pt__ports_lock_dir(shared, priv, &dir, &note));
	PT_ASSERT_STR_EQ(dir, priv);
	snprintf(want, sizeof(want),
		 "port leases: %s is owned by uid 4321; using %s, not shared "
		 "with other users' runs",
		 shared, priv);
	PT_ASSERT_STR_EQ(note, want);
	PT_ASSERT_OK(lstat(priv, &st));
	PT_ASSERT_INT_EQ(st.st_mode & 07777, 0700);
	pt__free(dir);
	pt__free(note);
	/* Ours but writable by everyone without the sticky bit. */
	PT_ASSERT_OK(chown(shared, 0, 0));
	PT_ASSERT_OK(chmod(shared, 0777));
	PT_ASSERT_OK(pt__ports_lock_dir(shared, priv, &dir, &note));
	PT_ASSERT_STR_EQ(dir, priv);
	snprintf(want, sizeof(want),
		 "port leases: %s is writable by others without the sticky "
		 "bit (mode 0777); using %s, not shared with other users' runs",
		 shared, priv);
	PT_ASSERT_STR_EQ(note, want);
	pt__free(dir);
	pt__free(note);
	/* A symlink (to a good directory) is not followed. */
	PT_ASSERT_OK(rmdir(shared));
	PT_ASSERT_OK(symlink(priv, shared));
	PT_ASSERT_OK(pt__ports_lock_dir(shared, priv, &dir, &note));
	PT_ASSERT_STR_EQ(dir, priv);
	PT_ASSERT(strstr(note, " is a symlink or not a directory; ") != NULL);
	pt__free(dir);
	pt__free(note);
	/* Neither is safe: refused, and said why. */
	PT_ASSERT_OK(chown(priv, 4321, 4321));
	PT_ASSERT_ERR(pt__ports_lock_dir(shared, priv, &dir, &note), -EPERM);
	PT_ASSERT(dir == NULL);
	snprintf(want, sizeof(want),
		 "port leases: %s is a symlink or not a directory, and %s is "
		 "owned by uid 4321: refusing to lease ports (remove it, or "
		 "run with --ports 0)",
		 shared, priv);
	PT_ASSERT_STR_EQ(note, want);
	pt__free(note);
	/* A runner refuses the same way. */
	{
		struct pt_runner_config c;
		struct pt_runner *r = NULL;

		pt_runner_config_init(&c);
		c.jobs = 1;
		c.port_lock_dir = priv;
		PT_ASSERT_ERR(pt_runner_new(&c, &r), -EPERM);
	}
}

/* A lock file that is a FIFO, a symlink or another user's is skipped,
 * never followed nor waited on. */
PT_TEST(port_lock_files_planted_are_skipped)
{
	struct pt_ports p;
	unsigned a = 0, b = 0, c = 0;
	char path[4096];
	struct stat st;
	int fd;

	PT_ASSERT_OK(pt__mkdir_p(pt_test_path("pf"), 0700));
	snprintf(path, sizeof(path), "%s/block-21300.lock", pt_test_path("pf"));
	PT_ASSERT_OK(mkfifo(path, 0600));
	snprintf(path, sizeof(path), "%s/block-21304.lock", pt_test_path("pf"));
	PT_ASSERT_OK(symlink(pt_test_path("victim"), path));
	snprintf(path, sizeof(path), "%s/block-21308.lock", pt_test_path("pf"));
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	PT_ASSERT_INT_GE(fd, 0);
	close(fd);
	if (geteuid() == 0)
		PT_ASSERT_OK(chown(path, 4321, 4321));
	PT_ASSERT_OK(pt__ports_init(&p, 21300, 21316, 4, pt_test_path("pf")));
	PT_ASSERT_OK(pt__ports_lease(&p, &a));
	PT_ASSERT_INT_EQ(a, 21308); /* another user's 0644 file: lockable */
	PT_ASSERT_OK(pt__ports_lease(&p, &b));
	PT_ASSERT_INT_EQ(b, 21312);
	PT_ASSERT_ERR(pt__ports_lease(&p, &c), PT_EFULL);
	PT_ASSERT_INT_EQ(lstat(pt_test_path("victim"), &st), -1);
	pt__ports_release_all(&p);
}
