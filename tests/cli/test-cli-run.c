/*
 * End-to-end tests of `proctor run`, `resume`, `report` and `why` with the
 * fixture provider tests/cli/data/provider: exact outputs, resume after
 * kill -9 of the runner, Ctrl-C (SIGINT) and resume, a locked session,
 * bad command-line use. Waits are on pidfds and a FIFO, never sleeps.
 */
#define _GNU_SOURCE 1
#include "base/buf.h"
#include "base/common.h"
#include "base/str.h"
#include "os/file.h"
#include "os/proc.h"
#include "os/runos.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <proctor/store.h>

#include "store/store-internal.h"

#include "tap.h"

static const char *proctor(void)
{
	static char path[1024];
	const char *b = getenv("PT_BUILDDIR");

	snprintf(path, sizeof(path), "%s/src/tool/proctor", b ? b : "build");
	return path;
}

static const char *fixture(void)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s/tests/cli/data/provider",
		 pt_test_srcdir());
	return path;
}

/*
 * The job history (<repo>/history) is removed before each proctor a test
 * starts, unless the test is about it (keep_history): with 3 earlier
 * attempts of a job, an attempt that a loaded machine slows down by 40 ms
 * gets "slower than its history" in its comments, and the exact outputs
 * of tests that run a job again and again would depend on the load.
 */
static bool keep_history;

/* The environment every proctor of a test gets. */
static void setup_env(void)
{
	setenv("PROCTOR_SESSION_REPOSITORY", pt_test_path("repo"), 1);
	setenv("PT_CLI_MARK", pt_test_path("mark"), 1);
	setenv("PT_CLI_PGID", pt_test_path("pgid"), 1);
	setenv("PT_CLI_FIFO", pt_test_path("fifo"), 1);
	setenv("CI", "1", 1);
	unsetenv("PROCTOR_SESSION_ID");
	/* Job temp dirs inside the test's dir: a killed runner leaves one. */
	(void)pt__mkdir_p(pt_test_path("tmp"), 0700);
	setenv("TMPDIR", pt_test_path("tmp"), 1);
	if (!keep_history) {
		char h[4200]; /* not pt_test_path: the callers hold 2 of its 8
			       */

		snprintf(h, sizeof(h), "%s/repo/history", pt_test_tmpdir());
		(void)unlink(h);
	}
}

struct proc {
	pid_t pid;
	int pidfd;
};

/* Starts proctor with args (NULL-terminated); output to out/err files. */
static struct proc start(const char *const *args, const char *out,
			 const char *err)
{
	const char *argv[32];
	struct pt_spawn sp = { .argv = argv, .fd_in = -1 };
	struct proc p;
	int fo, fe, n = 0;

	setup_env();
	argv[n++] = proctor();
	for (int i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	fo = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	fe = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	PT_ASSERT(fo >= 0 && fe >= 0);
	sp.fd_out = fo;
	sp.fd_err = fe;
	PT_ASSERT_OK(pt__spawn(&sp, &p.pid, &p.pidfd));
	close(fo);
	close(fe);
	return p;
}

static int wait_exit(struct proc p)
{
	int st = 0;

	PT_ASSERT_OK(pt__proc_wait(p.pid, p.pidfd, 60000, &st));
	close(p.pidfd);
	if (!WIFEXITED(st))
		PT_FAIL("proctor ended with wait status %#x", (unsigned)st);
	return WEXITSTATUS(st);
}

static char *slurp(const char *path)
{
	char *s = NULL;
	size_t n;

	PT_ASSERT_OK(pt__read_file(path, 1 << 20, &s, &n));
	return s;
}

/* Replaces every occurrence of the 16-hex session id by "ID". */
static char *mask(char *s)
{
	char *p = strstr(s, "session ");
	char id[17];
	struct pt_buf b = PT_BUF_INIT;

	if (!p || strlen(p) < 8 + 16)
		return s;
	memcpy(id, p + 8, 16);
	id[16] = 0;
	for (char *q = s; *q;) {
		char *m = strstr(q, id);
		if (!m) {
			PT_ASSERT_OK(pt__buf_adds(&b, q));
			break;
		}
		PT_ASSERT_OK(pt__buf_add(&b, q, (size_t)(m - q)));
		PT_ASSERT_OK(pt__buf_adds(&b, "ID"));
		q = m + 16;
	}
	pt__free(s);
	return pt__buf_detach(&b, NULL);
}

/* Runs proctor to completion: exit code, masked stdout and stderr. */
static int run(const char *const *args, char **out, char **err)
{
	struct proc p = start(args, pt_test_path("out"), pt_test_path("err"));
	int rc = wait_exit(p);

	*out = mask(slurp(pt_test_path("out")));
	*err = slurp(pt_test_path("err"));
	return rc;
}

static struct pt_store_state *load_last(void);
static int report_of(const char *fmt, const char *session, char **out);
static const struct pt_result *last_result(const struct pt_store_state *st,
					   const char *id);
static size_t count_lines(const char *s, const char *name);
static char *last_chaos_log(void);

static const char all_out[] =
	"session ID, seed 7, 8 jobs, -j1\n"
	"pass t::res\n"
	"pass t::first\n"
	"pass t::second\n"
	"fail t::bad: exit code 3\n"
	"skipped-dependency t::needs-bad: required dependency 't::bad' has "
	"failed\n"
	"timeout t::slow: timed out after 0.3 s: SIGTERM to its process group\n"
	"pass t::att\n"
	"skip t::ask: needs an operator: skipped (--non-interactive)\n"
	"pass t::gen-a\n"
	"pass t::gen-b\n"
	"10 jobs: 6 pass, 1 fail, 1 skip, 1 skipped-dependency, 1 timeout, "
	"seed 7\n";

PT_TEST(run_fixture_exact_output_and_reports)
{
	char junit[600], json[600];
	const char *args[] = { "run",
			       fixture(),
			       "-p",
			       "t::all",
			       "-j1",
			       "--seed=7",
			       "--non-interactive",
			       "--report",
			       junit,
			       "--report",
			       json,
			       NULL };
	char *out, *err, *rep;

	snprintf(junit, sizeof(junit), "junit:%s", pt_test_path("j.xml"));
	snprintf(json, sizeof(json), "json:%s", pt_test_path("r.json"));
	PT_ASSERT_INT_EQ(run(args, &out, &err), 1);
	PT_ASSERT_STR_EQ(out, all_out);
	PT_ASSERT_STR_EQ(err, "");
	rep = slurp(pt_test_path("j.xml"));
	PT_ASSERT_NOT_NULL(strstr(rep,
				  "<testsuite name=\"t::all\" tests=\"10\" "
				  "failures=\"2\" errors=\"0\" "
				  "skipped=\"2\""));
	PT_ASSERT_NOT_NULL(strstr(rep, "<system-err>second\n</system-err>"));
	pt__free(rep);
	rep = slurp(pt_test_path("r.json"));
	PT_ASSERT_NOT_NULL(strstr(rep,
				  "\"id\": \"t::gen-b\",\n"
				  "      \"summary\": \"Generated for b\",\n"
				  "      \"outcome\": \"pass\""));
	pt__free(rep);
	pt__free(out);
	pt__free(err);
}

/* Lines "  duration: N" vary: they become "  duration: X". */
static void mask_durations(char *s)
{
	for (char *p = s; (p = strstr(p, "  duration: "));) {
		char *e = strchr(p, '\n');
		p += 12;
		if (!e)
			break;
		memmove(p + 1, e, strlen(e) + 1);
		*p = 'X';
	}
}

static const char tap_want[] =
	"TAP version 14\n"
	"1..10\n"
	"# proctor session ID seed 9\n"
	"ok 1 - t::res\n"
	"ok 2 - t::first\n"
	"ok 3 - t::second\n"
	"not ok 4 - t::bad\n"
	"  ---\n"
	"  outcome: fail\n"
	"  return_code: 3\n"
	"  duration: X\n"
	"  attempt: 1\n"
	"  ...\n"
	"ok 5 - t::needs-bad # SKIP skipped-dependency: required dependency "
	"'t::bad' has failed\n"
	"not ok 6 - t::slow\n"
	"  ---\n"
	"  outcome: timeout\n"
	"  return_code: -15\n"
	"  duration: X\n"
	"  attempt: 1\n"
	"  comments: \"timed out after 0.3 s: SIGTERM to its process group\"\n"
	"  ...\n"
	"ok 7 - t::att\n"
	"ok 8 - t::ask # SKIP skip: needs an operator: skipped "
	"(--non-interactive)\n"
	"ok 9 - t::gen-a\n"
	"ok 10 - t::gen-b\n";

PT_TEST(report_and_why_read_the_session)
{
	const char *args[] = {
		"run",	    fixture(),		 "-p", "t::all", "-j2",
		"--seed=9", "--non-interactive", NULL
	};
	const char *rep[] = { "report", "--format", "tap", NULL };
	const char *why1[] = { "why", "needs-bad", NULL };
	const char *why2[] = { "why", "t::slow", NULL };
	char *out, *err;

	PT_ASSERT_INT_EQ(run(args, &out, &err), 1);
	pt__free(out);
	pt__free(err);
	PT_ASSERT_INT_EQ(run(rep, &out, &err), 0);
	mask_durations(out);
	PT_ASSERT_STR_EQ(out, tap_want);
	pt__free(out);
	pt__free(err);
	PT_ASSERT_INT_EQ(run(why1, &out, &err), 0);
	PT_ASSERT_STR_EQ(out, "t::needs-bad: skipped-dependency: required "
			      "dependency 't::bad' has failed\n");
	pt__free(out);
	pt__free(err);
	PT_ASSERT_INT_EQ(run(why2, &out, &err), 0);
	PT_ASSERT_STR_EQ(out, "t::slow: timeout: timed out after 0.3 s: "
			      "SIGTERM to its process group\n");
	pt__free(out);
	pt__free(err);
}

/* Waits until the blocking fixture job has started (it writes the FIFO). */
static int open_fifo(void)
{
	int fd;

	PT_ASSERT_INT_EQ(mkfifo(pt_test_path("fifo"), 0600), 0);
	fd = open(pt_test_path("fifo"), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	PT_ASSERT_INT_GE(fd, 0);
	return fd;
}

static void wait_started(int fifo)
{
	char buf[16];
	ssize_t n;

	PT_ASSERT(pt_test_wait_fd(fifo, POLLIN, 20000));
	n = read(fifo, buf, sizeof(buf));
	PT_ASSERT_INT_EQ(n, 8);
	PT_ASSERT(!memcmp(buf, "started\n", 8));
}

static pid_t job_pgid(void)
{
	char *s = slurp(pt_test_path("pgid"));
	pid_t p = (pid_t)strtol(s, NULL, 10);

	pt__free(s);
	return p;
}

/*
 * Starts proctor with args (output to out1, err1) and returns once one of
 * its jobs reports on the FIFO (*fifo; close it at the end) that it runs.
 */
static struct proc start_until_a_job_runs(const char *const *args, int *fifo)
{
	struct proc p;

	*fifo = open_fifo();
	p = start(args, pt_test_path("out1"), pt_test_path("err1"));
	wait_started(*fifo);
	return p;
}

/*
 * Runs proctor to completion (exit code, masked stdout and stderr) while
 * one of its jobs is held for a known time, without a sleep in the job:
 * the job reports on the FIFO that it started, then reads a line from the
 * FIFO $PT_CLI_MARK.hold, which the test writes hold_ms after the report
 * (proctor must still run then). *held: the seconds from the report to the
 * release, measured here; the job ran at least that long.
 */
static int run_held(const char *const *args, int hold_ms, double *held,
		    char **out, char **err)
{
	struct timespec t0, t1;
	struct proc p;
	int fifo, gate, rc;

	(void)unlink(pt_test_path("fifo"));
	(void)unlink(pt_test_path("mark.hold"));
	PT_ASSERT_INT_EQ(mkfifo(pt_test_path("mark.hold"), 0600), 0);
	p = start_until_a_job_runs(args, &fifo);
	close(fifo);
	PT_ASSERT_INT_EQ(clock_gettime(CLOCK_MONOTONIC, &t0), 0);
	PT_ASSERT(!pt_test_wait_fd(p.pidfd, POLLIN, hold_ms));
	/* The job opens the FIFO for reading right after its report. */
	gate = open(pt_test_path("mark.hold"), O_WRONLY | O_CLOEXEC);
	PT_ASSERT_INT_GE(gate, 0);
	PT_ASSERT_INT_EQ(clock_gettime(CLOCK_MONOTONIC, &t1), 0);
	PT_ASSERT_INT_EQ(write(gate, "go\n", 3), 3);
	close(gate);
	*held = (double)(t1.tv_sec - t0.tv_sec) +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	PT_ASSERT(*held * 1000 >= hold_ms);
	rc = wait_exit(p);
	*out = mask(slurp(pt_test_path("out1")));
	*err = slurp(pt_test_path("err1"));
	return rc;
}

/*
 * Starts proctor with args (output to out1, err1), waits until a job
 * reports on the FIFO that it started, then kills proctor with SIGKILL
 * and that job's process group, and reaps them all: the test is the
 * subreaper of the orphaned jobs, so nothing of the run is left.
 */
static void run_then_kill_9(const char *const *args)
{
	struct proc p;
	pid_t job;
	int fifo, st;

	PT_ASSERT_INT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	p = start_until_a_job_runs(args, &fifo);
	PT_ASSERT_INT_EQ(kill(p.pid, SIGKILL), 0);
	PT_ASSERT_OK(pt__proc_wait(p.pid, p.pidfd, 20000, &st));
	close(p.pidfd);
	PT_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	job = job_pgid();
	PT_ASSERT_INT_EQ(kill(-job, SIGKILL), 0);
	PT_ASSERT_INT_EQ(waitpid(job, &st, 0), job);
	/* Every other orphaned job too: none appends to a log any more. */
	while (waitpid(-1, &st, 0) > 0)
		;
	close(fifo);
}

PT_TEST(resume_after_kill_9)
{
	const char *args[] = { "run", fixture(),  "-p", "t::block",
			       "-j1", "--seed=3", NULL };
	const char *res[] = { "resume", NULL };
	const char *why[] = { "why", "wait", NULL };
	char *out, *err;

	run_then_kill_9(args);
	out = mask(slurp(pt_test_path("out1")));
	PT_ASSERT_STR_EQ(out, "session ID, seed 3, 2 jobs, -j1\n");
	pt__free(out);
	/* The job that was running is a crash; the rest runs. */
	PT_ASSERT_INT_EQ(run(res, &out, &err), 1);
	PT_ASSERT_STR_EQ(out, "crash t::wait: Crashed after resuming "
			      "execution\n"
			      "session ID, seed 3, 2 jobs, 1 done, -j1\n"
			      "pass t::after-wait\n"
			      "2 jobs: 1 pass, 1 crash, seed 3\n");
	PT_ASSERT_STR_EQ(err, "");
	pt__free(out);
	pt__free(err);
	PT_ASSERT_INT_EQ(run(why, &out, &err), 0);
	PT_ASSERT_STR_EQ(out, "t::wait: crash: Crashed after resuming "
			      "execution\n");
	pt__free(out);
	pt__free(err);
}

PT_TEST(ctrl_c_then_resume)
{
	const char *args[] = { "run", fixture(),  "-p", "t::block",
			       "-j1", "--seed=5", NULL };
	const char *res[] = { "resume", NULL };
	struct proc p;
	int fifo;
	char *out, *err;

	p = start_until_a_job_runs(args, &fifo);
	PT_ASSERT_INT_EQ(kill(p.pid, SIGINT), 0);
	PT_ASSERT_INT_EQ(wait_exit(p), 130);
	out = mask(slurp(pt_test_path("out1")));
	PT_ASSERT_STR_EQ(out, "session ID, seed 5, 2 jobs, -j1\n"
			      "2 jobs: 2 not run, seed 5\n"
			      "interrupted: continue with 'proctor resume "
			      "ID'\n");
	pt__free(out);
	err = slurp(pt_test_path("err1"));
	PT_ASSERT_STR_EQ(err, "proctor: Interrupt: stopping; running jobs "
			      "are terminated and recorded as not run\n");
	pt__free(err);
	/* The job was terminated: no process of its group is left. */
	PT_ASSERT_INT_EQ(kill(-job_pgid(), 0), -1);
	PT_ASSERT_INT_EQ(errno, ESRCH);
	/* Resume runs both (the job sees its mark and passes at once). */
	PT_ASSERT_INT_EQ(run(res, &out, &err), 0);
	PT_ASSERT_STR_EQ(out, "session ID, seed 5, 2 jobs, 0 done, -j1\n"
			      "pass t::wait\n"
			      "pass t::after-wait\n"
			      "2 jobs: 2 pass, seed 5\n");
	pt__free(out);
	pt__free(err);
	close(fifo);
}

PT_TEST(a_running_session_is_locked)
{
	const char *args[] = {
		"run", fixture(), "-p", "t::block", "-j1", NULL
	};
	const char *res[] = { "resume", NULL };
	struct proc p;
	int fifo;
	char *out, *err;

	p = start_until_a_job_runs(args, &fifo);
	PT_ASSERT_INT_EQ(run(res, &out, &err), 4);
	PT_ASSERT_NOT_NULL(strstr(err, "locked"));
	pt__free(out);
	pt__free(err);
	PT_ASSERT_INT_EQ(kill(p.pid, SIGTERM), 0);
	PT_ASSERT_INT_EQ(wait_exit(p), 130);
	close(fifo);
}

struct bad {
	const char *args[8];
	int rc;
	const char *err; /* the first line of stderr */
};

PT_TEST(bad_command_line_use)
{
	const struct bad cases[] = {
		{ { "run", NULL },
		  2,
		  "proctor run: no PATH given, and no provider directory in "
		  "$PROVIDERPATH" },
		{ { "run", "--bogus", NULL },
		  2,
		  "proctor run: unknown option '--bogus'" },
		{ { "run", ".", "-j", "0", NULL },
		  2,
		  "proctor run: -j: must be at least 1" },
		{ { "run", ".", "-j", "x", NULL },
		  2,
		  "proctor run: -j: bad number 'x'" },
		{ { "run", ".", "--timeout", "-1", NULL },
		  2,
		  "proctor run: --timeout: bad duration '-1'" },
		{ { "run", ".", "--report", "xml:f", NULL },
		  2,
		  "proctor run: --report: unknown format 'xml' (junit, tap, "
		  "tap13, json, html, checkbox, checkbox-json, checkbox-junit, "
		  "checkbox-html)" },
		{ { "run", ".", "--report", "junit", NULL },
		  2,
		  "proctor run: --report: expected FORMAT:PATH, got 'junit'" },
		{ { "run", ".", "--until-fail", NULL },
		  2,
		  "proctor run: --until-fail needs --repeat N (N >= 2)" },
		{ { "run", ".", "-i", "(", NULL }, 2, NULL },
		{ { "run", "/no/such/dir", NULL },
		  2,
		  "proctor run: /no/such/dir: No such file or directory" },
		{ { "run", NULL, "-p", "t::nope", NULL },
		  3,
		  "proctor run: no test plan 't::nope'" },
		{ { "resume", "0123456789abcdef", NULL },
		  1,
		  "proctor resume: no session '0123456789abcdef'" },
		{ { "report", NULL },
		  2,
		  "proctor report: --format is required" },
		{ { "report", "--format", "xml", NULL },
		  2,
		  "proctor report: unknown format 'xml' (junit, tap, tap13, "
		  "json, html, checkbox)" },
		{ { "why", NULL }, 2, "proctor why: no JOB given" },
		{ { "resume", "-n", "x", NULL },
		  2,
		  "proctor resume: option '-n' is not accepted here" },
		{ { "run", ".", "--rerun-failed", NULL },
		  2,
		  "proctor run: option '--rerun-failed' is not accepted here" },
	};

	/* no PATH: no provider directory to fall back on */
	PT_ASSERT_INT_EQ(setenv("PROVIDERPATH", "", 1), 0);
	for (size_t i = 0; i < PT_ARRAY_SIZE(cases); i++) {
		const char *args[8];
		char *out, *err;
		int rc;

		memcpy(args, cases[i].args, sizeof(args));
		if (i == 10)
			args[1] = fixture();
		rc = run(args, &out, &err);
		if (rc != cases[i].rc)
			PT_FAIL("case %zu (%s %s): exit %d, expected %d; "
				"stderr: %s",
				i, args[0], args[1] ? args[1] : "", rc,
				cases[i].rc, err);
		if (cases[i].err) {
			size_t n = strcspn(err, "\n");
			err[n] = 0;
			PT_ASSERT_STR_EQ(err, cases[i].err);
		}
		pt__free(out);
		pt__free(err);
	}
}

PT_TEST(help_everywhere)
{
	const char *cmds[] = { "run", "resume", "report", "why", "flakes" };

	for (size_t i = 0; i < PT_ARRAY_SIZE(cmds); i++) {
		const char *args[] = { cmds[i], "--help", NULL };
		char *out, *err, want[64];

		PT_ASSERT_INT_EQ(run(args, &out, &err), 0);
		snprintf(want, sizeof(want), "usage: proctor %s ", cmds[i]);
		PT_ASSERT(pt__starts_with(out, want));
		pt__free(out);
		pt__free(err);
	}
}

PT_TEST(retries_repeat_until_fail)
{
	const char *retry[] = { "run",	     fixture(), "-p",
				"t::flaky",  "-j1",	"--seed=1",
				"--retries", "2",	NULL };
	const char *repeat[] = { "run",	     fixture(), "-p",
				 "t::flaky", "-j1",	"--seed=1",
				 "--repeat", "3",	NULL };
	const char *until[] = { "run",	    fixture(), "-p",
				"t::flaky", "-j1",     "--seed=1",
				"--repeat", "3",       "--until-fail",
				NULL };
	char *out, *err;

	/* A pass after a failed attempt is flaky, in every report. */
	PT_ASSERT_INT_EQ(run(retry, &out, &err), 0);
	PT_ASSERT_STR_EQ(out, "session ID, seed 1, 1 jobs, -j1\n"
			      "pass t::flaky (attempt 2, flaky)\n"
			      "1 jobs: 1 pass, 1 flaky, seed 1\n");
	pt__free(out);
	pt__free(err);
	PT_ASSERT_INT_EQ(report_of("tap", NULL, &out), 0);
	PT_ASSERT_STR_EQ(out, "TAP version 14\n1..1\n"
			      "# proctor session ID seed 1\n"
			      "ok 1 - t::flaky # flaky: passed on attempt 2\n"
			      "  ---\n  flaky: true\n  attempt: 2\n  ...\n");
	pt__free(out);
	PT_ASSERT_INT_EQ(report_of("junit", NULL, &out), 0);
	PT_ASSERT_NOT_NULL(strstr(out, "<property name=\"flaky\" "
				       "value=\"1\"/>"));
	PT_ASSERT_NOT_NULL(strstr(out, "<testcase name=\"flaky\" "
				       "classname=\"t\" time=\""));
	PT_ASSERT_NOT_NULL(strstr(out, "\" status=\"flaky\">"));
	pt__free(out);
	PT_ASSERT_INT_EQ(report_of("json", NULL, &out), 0);
	PT_ASSERT_NOT_NULL(strstr(out, "\"attempt\": 2,\n"
				       "      \"flaky\": true,"));
	PT_ASSERT_NOT_NULL(strstr(out, "\"flaky\": 1\n  },"));
	pt__free(out);
	PT_ASSERT_INT_EQ(unlink(pt_test_path("mark.flaky")), 0);
	/* Each run its own repository: no history, so no "slower than its
	 * history" note when a loaded machine makes one attempt slow. */
	setenv("PROCTOR_SESSION_REPOSITORY", pt_test_path("repo-repeat"), 1);
	PT_ASSERT_INT_EQ(run(repeat, &out, &err), 1);
	PT_ASSERT_STR_EQ(out, "session ID, seed 1, 1 jobs, -j1\n"
			      "fail t::flaky (attempt 3): flaky: failed 1 of "
			      "3 runs\n"
			      "1 jobs: 1 fail, seed 1\n"
			      "flake statistics (--repeat 3):\n"
			      " RATE  FAILS/RUNS   SESSIONS  JOB\n"
			      "  33%  1/3          1         t::flaky\n");
	pt__free(out);
	pt__free(err);
	PT_ASSERT_INT_EQ(unlink(pt_test_path("mark.flaky")), 0);
	setenv("PROCTOR_SESSION_REPOSITORY", pt_test_path("repo-until"), 1);
	PT_ASSERT_INT_EQ(run(until, &out, &err), 1);
	PT_ASSERT_STR_EQ(out, "session ID, seed 1, 1 jobs, -j1\n"
			      "fail t::flaky: exit code 1\n"
			      "1 jobs: 1 fail, seed 1\n"
			      "flake statistics (--repeat 3):\n"
			      " RATE  FAILS/RUNS   SESSIONS  JOB\n"
			      " 100%  1/1          1         t::flaky\n");
	pt__free(out);
	pt__free(err);
}

/* Every 16-hex-digit word (a session id) becomes "ID". */
static char *mask_ids(char *s)
{
	struct pt_buf b = PT_BUF_INIT;
	size_t i = 0, n = strlen(s);

	while (i < n) {
		size_t k = 0;
		while (i + k < n && strchr("0123456789abcdef", s[i + k]) &&
		       s[i + k])
			k++;
		if (k == 16 && (i == 0 || s[i - 1] == ' ')) {
			PT_ASSERT_OK(pt__buf_adds(&b, "ID"));
			i += k;
		} else {
			PT_ASSERT_OK(pt__buf_add(&b, s + i, k ? k : 1));
			i += k ? k : 1;
		}
	}
	pt__free(s);
	return pt__buf_detach(&b, NULL);
}

PT_TEST(flakes_across_sessions_with_their_seeds)
{
	const char *retry[] = { "run",	     fixture(), "-p",
				"t::flaky",  "-j1",	"--seed=7",
				"--retries", "1",	NULL };
	const char *twice[] = { "run",	    fixture(),	"-p", "t::flaky", "-j1",
				"--seed=8", "--repeat", "2",  NULL };
	const char *flakes[] = { "flakes", NULL };
	const char *all[] = { "flakes", "--all", NULL };
	char *out, *err;

	keep_history = true;
	/* Nothing yet: no flaky job, exit 0. */
	PT_ASSERT_INT_EQ(run(flakes, &out, &err), 0);
	PT_ASSERT_STR_EQ(out, " RATE  FAILS/RUNS   SESSIONS  JOB\n");
	pt__free(out);
	pt__free(err);
	PT_ASSERT_INT_EQ(run(retry, &out, &err), 0);
	pt__free(out);
	pt__free(err);
	PT_ASSERT_INT_EQ(unlink(pt_test_path("mark.flaky")), 0);
	PT_ASSERT_INT_EQ(run(twice, &out, &err), 1);
	pt__free(out);
	pt__free(err);
	PT_ASSERT_INT_EQ(run(flakes, &out, &err), 1);
	out = mask_ids(out);
	PT_ASSERT_STR_EQ(out, " RATE  FAILS/RUNS   SESSIONS  JOB\n"
			      "  50%  2/4          2         t::flaky\n"
			      "       fail: session ID, seed 8, attempt 1\n"
			      "       fail: session ID, seed 7, attempt 1\n");
	PT_ASSERT_STR_EQ(err, "");
	pt__free(out);
	pt__free(err);
	PT_ASSERT_INT_EQ(run(all, &out, &err), 1);
	PT_ASSERT_NOT_NULL(strstr(out, "  50%  2/4 "));
	pt__free(out);
	pt__free(err);
}

static void put_file(const char *path, const char *text)
{
	PT_ASSERT_OK(pt__write_file_atomic(path, text, strlen(text), 0600));
}

PT_TEST(budgets_are_noted_and_fail_with_budget_fail)
{
	const char *const units = "id: small\nplugin: shell\nbudget: 30s 1K\n"
				  "command: true\n\n"
				  "id: roomy\nplugin: shell\nbudget: 30s 1G\n"
				  "command: true\n\n"
				  "id: bad\nplugin: shell\nbudget: 2x\n"
				  "command: true\n";
	char path[1024];
	const char *args[] = { "run", path,	  "-n", "t",
			       "-j1", "--seed=1", "-i", "t::(small|roomy)",
			       NULL };
	const char *strict[] = { "run",		  path,	      "-n",  "t",
				 "-j1",		  "--seed=1", "-i",  "t::roomy",
				 "--budget-fail", "--budget", "30s", NULL };
	const char *bad[] = {
		"run", path, "-n", "t", "--budget", "2s 3s", NULL
	};
	char *out, *err, *p;

	snprintf(path, sizeof(path), "%s", pt_test_path("b.pxu"));
	put_file(path, units);
	/* Peak memory is above 1 KiB for any process: a note, exit 0. */
	PT_ASSERT_INT_EQ(run(args, &out, &err), 0);
	p = strstr(out, "pass t::small: over budget: peak memory ");
	PT_ASSERT_NOT_NULL(p);
	PT_ASSERT_NOT_NULL(strstr(p,
				  " MiB, budget 1 KiB\n"
				  "pass t::roomy\n"
				  "2 jobs: 2 pass, 1 over budget, seed 1\n"));
	/* The unparsable field is an error naming file, line and field. */
	PT_ASSERT_NOT_NULL(strstr(err, "b.pxu:13: field 'budget', cannot "
				       "parse '2x'"));
	pt__free(out);
	pt__free(err);
	/* The job's own budget wins over --budget; within it: a pass. */
	PT_ASSERT_INT_EQ(run(strict, &out, &err), 0);
	PT_ASSERT_STR_EQ(out, "session ID, seed 1, 1 jobs, -j1\n"
			      "pass t::roomy\n"
			      "1 jobs: 1 pass, seed 1\n");
	pt__free(out);
	pt__free(err);
	strict[7] = "t::small";
	PT_ASSERT_INT_EQ(run(strict, &out, &err), 1);
	PT_ASSERT(pt__starts_with(strstr(out, "\n") + 1,
				  "fail t::small: over budget: peak memory "));
	PT_ASSERT_NOT_NULL(strstr(out, "1 jobs: 1 fail, 1 over budget, "
				       "seed 1\n"));
	pt__free(out);
	pt__free(err);
	/* a bad plan is refused before anything changes */
	PT_ASSERT_INT_EQ(run(bad, &out, &err), 2);
	PT_ASSERT_STR_EQ(out, "");
	PT_ASSERT_STR_EQ(out, "");
	PT_ASSERT(pt__starts_with(err, "proctor run: --budget: bad budget "
				       "'2s 3s'"));
	pt__free(out);
	pt__free(err);
}

/* A history of three attempts of t::s, 1 ms each. */
static const char three_of_1ms[] = "proctor-history 1\n"
				   "3 pass 1 1000000 0 1 a t::s\n"
				   "2 fail 1 1000000 0 1 b t::s\n"
				   "1 pass 1 1000000 0 1 c t::s\n";

PT_TEST(slower_than_its_history_is_flagged)
{
	char path[1024], hist[1024];
	const char *args[] = {
		"run", path, "-n", "t", "-j1", "--seed=1", "--slow-factor=3",
		NULL
	};
	char *out, *err;
	double held;

	keep_history = true;
	snprintf(path, sizeof(path), "%s", pt_test_path("s.pxu"));
	/* The job is held 60 ms (3x the median and 40 ms more: over 43). */
	put_file(path, "id: s\nplugin: shell\ncommand: echo started > "
		       "\"$PT_CLI_FIFO\"; read x < \"$PT_CLI_MARK.hold\"\n");
	/* Two earlier attempts are not enough to judge. */
	PT_ASSERT_OK(pt__mkdir_p(pt_test_path("repo"), 0700));
	snprintf(hist, sizeof(hist), "%s/history", pt_test_path("repo"));
	put_file(hist, "proctor-history 1\n"
		       "3 pass 1 1000000 0 1 a t::s\n"
		       "2 fail 1 1000000 0 1 b t::s\n");
	PT_ASSERT_INT_EQ(run_held(args, 60, &held, &out, &err), 0);
	PT_ASSERT_STR_EQ(out, "session ID, seed 1, 1 jobs, -j1\n"
			      "pass t::s\n1 jobs: 1 pass, seed 1\n");
	pt__free(out);
	pt__free(err);
	/* Three of 1 ms each (the run above added a fourth, over 60 ms: the
	 * median of 1, 1, 1, 60 is 1 ms). */
	put_file(hist, three_of_1ms);
	PT_ASSERT_INT_EQ(run_held(args, 60, &held, &out, &err), 0);
	PT_ASSERT(pt__starts_with(out, "session ID, seed 1, 1 jobs, -j1\n"
				       "pass t::s: slower than its history: "
				       "ran "));
	PT_ASSERT_NOT_NULL(strstr(out, " ms, more than 3x its median 1 ms\n"
				       "1 jobs: 1 pass, 1 slower than their "
				       "history, seed 1\n"));
	pt__free(out);
	pt__free(err);
	/* --slow-factor 0: never noted, whatever the history. */
	args[6] = "--slow-factor=0";
	put_file(hist, three_of_1ms);
	PT_ASSERT_INT_EQ(run_held(args, 60, &held, &out, &err), 0);
	PT_ASSERT_STR_EQ(out, "session ID, seed 1, 1 jobs, -j1\n"
			      "pass t::s\n1 jobs: 1 pass, seed 1\n");
	pt__free(out);
	pt__free(err);
	/* Another factor is named in the note; below 1 is refused. */
	args[6] = "--slow-factor=2";
	put_file(hist, three_of_1ms);
	PT_ASSERT_INT_EQ(run_held(args, 60, &held, &out, &err), 0);
	PT_ASSERT_NOT_NULL(strstr(out, " ms, more than 2x its median 1 ms\n"));
	pt__free(out);
	pt__free(err);
	args[6] = "--slow-factor=0.5";
	PT_ASSERT_INT_EQ(run(args, &out, &err), 2);
	PT_ASSERT_STR_EQ(err, "proctor run: --slow-factor: 0.5 is below 1: "
			      "every attempt would be 'slower'\n"
			      "Try 'proctor run --help' for more "
			      "information.\n");
	pt__free(out);
	pt__free(err);
}

/* A program built next to this test (PT_BUILDDIR/tests/cli/NAME). */
static const char *built(const char *name)
{
	static char path[1024];
	const char *b = getenv("PT_BUILDDIR");

	snprintf(path, sizeof(path), "%s/tests/cli/%s", b ? b : "build", name);
	return path;
}

/* "(pid 123)" -> "(pid P)" everywhere. */
static char *mask_pids(char *s)
{
	struct pt_buf b = PT_BUF_INIT;

	for (char *p = s; *p;) {
		char *m = strstr(p, "(pid ");
		if (!m) {
			PT_ASSERT_OK(pt__buf_adds(&b, p));
			break;
		}
		PT_ASSERT_OK(pt__buf_add(&b, p, (size_t)(m - p)));
		PT_ASSERT_OK(pt__buf_adds(&b, "(pid P"));
		p = m + 5;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	pt__free(s);
	return pt__buf_detach(&b, NULL);
}

PT_TEST(chaos_every_call_kind_is_injected)
{
	char path[1024], units[4096], probe_out[1024];
	const char *args[] = {
		"run",
		path,
		"-n",
		"t",
		"-j1",
		"--seed=1",
		"--chaos",
		"open:EACCES:1@/dev/zero,write:ENOSPC:1@/dev/null,read:short:1,"
		"fsync:EIO:1,send:ECONNRESET:1,recv:EINTR:1,accept:EMFILE:1,"
		"connect:ETIMEDOUT:1@127.0.0.1:1",
		NULL
	};
	const char *bad[] = { "run",	 path,		"-n", "t",
			      "--chaos", "write:EWHAT", NULL };
	char *out, *err, *text;

	snprintf(path, sizeof(path), "%s", pt_test_path("p.pxu"));
	snprintf(probe_out, sizeof(probe_out), "%s", pt_test_path("probe"));
	snprintf(units, sizeof(units),
		 "id: probe\nplugin: shell\n"
		 "command: exec '%s' > '%s'\n",
		 built("chaos-probe"), probe_out);
	put_file(path, units);
	PT_ASSERT_INT_EQ(run(args, &out, &err), 0);
	out = mask_pids(out);
	PT_ASSERT_STR_EQ(out, "session ID, seed 1, 1 jobs, -j1\n"
			      "pass t::probe: chaos: 8 faults: write ENOSPC at "
			      "call 1 (pid P), open EACCES at call 1 (pid P), "
			      "read short at call 1 (pid P), fsync EIO at "
			      "call 1 (pid P), send ECONNRESET at call 1 (pid "
			      "P), ...\n"
			      "1 jobs: 1 pass, seed 1\n");
	pt__free(out);
	pt__free(err);
	text = slurp(probe_out);
	PT_ASSERT_STR_EQ(text, "open /dev/null 0 ok\n"
			       "write /dev/null -1 ENOSPC\n"
			       "open /dev/zero -1 EACCES\n"
			       "socketpair 0 ok\n"
			       "write socket 4 ok\n"
			       "read socket 2 ok\n"
			       "fsync -1 EIO\n"
			       "send -1 ECONNRESET\n"
			       "recv -1 EINTR\n"
			       "accept -1 EMFILE\n"
			       "connect -1 ETIMEDOUT\n");
	pt__free(text);
	/* The session keeps every fault: its chaos log. */
	{
		text = last_chaos_log();
		PT_ASSERT_INT_EQ((long)(strchr(text, '\t') - text), 8);
		PT_ASSERT(pt__starts_with(text, "t::probe\t1\t"));
		PT_ASSERT_NOT_NULL(strstr(text, "\tconnect\t1\tETIMEDOUT\n"));
		pt__free(text);
	}
	/* a bad plan is refused before anything changes */
	PT_ASSERT_INT_EQ(run(bad, &out, &err), 2);
	PT_ASSERT_STR_EQ(out, "");
	PT_ASSERT(pt__starts_with(err, "proctor run: --chaos: 'write:EWHAT': "
				       "unknown or impossible error"));
	pt__free(out);
	pt__free(err);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Writes to path one shell job per name running the probe (with its mode,
 * "" for none) into out[i] = <probe>.<name>, with a chaos field when
 * fields[i] is not "".
 */
static void probe_units(const char *path, int n, const char *const *names,
			const char *const *fields, const char *const *modes,
			char (*o)[1024])
{
	char units[8192];
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		snprintf(o[i], sizeof(o[i]), "%s.%s", pt_test_path("probe"),
			 names[i]);
		len += (size_t)snprintf(units + len, sizeof(units) - len,
					"id: %s\nplugin: shell\n%s%s%s"
					"command: exec '%s' %s > '%s'\n\n",
					names[i], *fields[i] ? "chaos: " : "",
					fields[i], *fields[i] ? "\n" : "",
					built("chaos-probe"), modes[i], o[i]);
		PT_ASSERT(len < sizeof(units));
	}
	put_file(path, units);
}

PT_TEST(chaos_field_opts_a_job_out_or_gives_its_own_plan)
{
	char path[1024], o[3][1024];
	const char *args[] = { "run",	   path,      "-n",	     "t", "-j1",
			       "--seed=1", "--chaos", "fsync:EIO:1", NULL };
	const char *names[3] = { "plain", "quiet", "own" };
	const char *fields[3] = { "", "off", "write:ENOSPC:1@/dev/null" };
	const char *modes[3] = { "", "", "" };
	char *out, *err, *text;

	snprintf(path, sizeof(path), "%s", pt_test_path("c.pxu"));
	probe_units(path, 3, names, fields, modes, o);
	PT_ASSERT_INT_EQ(run(args, &out, &err), 0);
	pt__free(out);
	pt__free(err);
	text = slurp(o[0]);
	PT_ASSERT_NOT_NULL(strstr(text, "write /dev/null 4 ok\n"));
	PT_ASSERT_NOT_NULL(strstr(text, "fsync -1 EIO\n"));
	pt__free(text);
	text = slurp(o[1]);
	/* fsync of /dev/null is EINVAL by itself */
	PT_ASSERT_NOT_NULL(strstr(text, "write /dev/null 4 ok\n"));
	PT_ASSERT_NOT_NULL(strstr(text, "fsync -1 EINVAL\n"));
	pt__free(text);
	text = slurp(o[2]);
	PT_ASSERT_NOT_NULL(strstr(text, "write /dev/null -1 ENOSPC\n"));
	PT_ASSERT_NOT_NULL(strstr(text, "fsync -1 EINVAL\n"));
	pt__free(text);
}

/* Every "N.NNN s" becomes "T s" (times of process faults). */
static char *mask_times(char *s)
{
	struct pt_buf b = PT_BUF_INIT;

	for (char *p = s; *p;) {
		char *q = p;
		while (*q >= '0' && *q <= '9')
			q++;
		if (q > p && *q == '.' && q[1] >= '0' && q[1] <= '9') {
			q++;
			while (*q >= '0' && *q <= '9')
				q++;
			PT_ASSERT_OK(pt__buf_adds(&b, "T"));
			p = q;
		} else {
			PT_ASSERT_OK(pt__buf_add(&b, p,
						 q > p ? (size_t)(q - p) : 1));
			p = q > p ? q : p + 1;
		}
	}
	pt__free(s);
	return pt__buf_detach(&b, NULL);
}

/*
 * The last session's chaos log (pt__free it), each line's last field,
 * the time of the fault, checked and removed: the kernel's realtime
 * clock to the microsecond, within the last ten minutes (so not the
 * program's faulted clock, which a clock:jump moves by an hour).
 */
static char *last_chaos_log(void)
{
	char log[1024], *text, *w;
	time_t now = time(NULL);

	snprintf(log, sizeof(log), "%s/last-session/chaos.log",
		 pt_test_path("repo"));
	text = slurp(log);
	w = text;
	for (char *l = text; *l;) {
		char *nl = strchr(l, '\n'), *tab, *end;
		double t;

		PT_ASSERT_NOT_NULL(nl);
		*nl = 0;
		tab = strrchr(l, '\t');
		PT_ASSERT_NOT_NULL(tab);
		t = strtod(tab + 1, &end);
		if (end != nl || nl - tab != 1 + 10 + 1 + 6 ||
		    t < (double)now - 600 || t > (double)now + 5)
			PT_FAIL("chaos log line without its time: '%s'", l);
		memmove(w, l, (size_t)(tab - l));
		w += tab - l;
		*w++ = '\n';
		l = nl + 1;
	}
	*w = 0;
	return text;
}

PT_TEST(chaos_process_faults_pause_then_kill_the_group)
{
	char path[1024];
	const char *args[] = { "run",	  path,
			       "-n",	  "t",
			       "-j1",	  "--seed=1",
			       "--chaos", "pause@0.05:0.05,kill@0.3",
			       NULL };
	char *out, *err;

	snprintf(path, sizeof(path), "%s", pt_test_path("k.pxu"));
	/* The job would run 60 s; only the injected SIGKILL ends it. */
	put_file(path, "id: long\nplugin: shell\ncommand: exec sleep 60\n\n"
		       "id: spared\nplugin: shell\nchaos: off\n"
		       "command: true\n");
	PT_ASSERT_INT_EQ(run(args, &out, &err), 1);
	out = mask_times(out);
	PT_ASSERT_STR_EQ(out, "session ID, seed 1, 2 jobs, -j1\n"
			      "crash t::long: killed by signal 9 (Killed); "
			      "chaos: paused (SIGSTOP) at T s for T s; chaos: "
			      "SIGKILL to its process group at T s\n"
			      "pass t::spared\n"
			      "2 jobs: 1 pass, 1 crash, seed 1\n");
	pt__free(out);
	pt__free(err);
	/* The session's chaos log has both, with the group's id. */
	{
		char want[256], *text = last_chaos_log();
		int pg;

		PT_ASSERT(pt__starts_with(text, "t::long\t1\t"));
		pg = (int)strtol(text + 10, NULL, 10);
		text = mask_times(text);
		snprintf(want, sizeof(want),
			 "t::long\t1\t%d\tpause\tT\tSIGSTOP to the group\n"
			 "t::long\t1\t%d\tkill\tT\tSIGKILL to the group\n",
			 pg, pg);
		PT_ASSERT_STR_EQ(text, want);
		pt__free(text);
	}
}

/*
 * kill-one: a job starts two children, alpha and beta (cat under two
 * names, blocked reading a FIFO the job holds open), and waits for the
 * first to end; then it closes the FIFOs so that the other ends too, and
 * reports both. The seed picks the victim among the two (and the time,
 * about 0.2 s in, long after both started): seed 7 alpha, seed 13 beta.
 * The job itself survives and passes.
 */
PT_TEST(chaos_kill_one_kills_the_seeded_child_and_the_job_goes_on)
{
	char path[1024], units[4096], seed[2][16] = { "--seed=7", "--seed=13" };
	const char *victim[2] = { "alpha", "beta" };
	const char *report[2] = { "alpha 137, then beta 0\n",
				  "beta 137, then alpha 0\n" };
	char cat[1024];
	struct pt_buf b = PT_BUF_INIT;

	PT_ASSERT_OK(pt__which("cat", &b));
	snprintf(cat, sizeof(cat), "%s", b.s);
	pt__buf_release(&b);
	PT_ASSERT_INT_EQ(symlink(cat, pt_test_path("alpha")), 0);
	PT_ASSERT_INT_EQ(symlink(cat, pt_test_path("beta")), 0);
	PT_ASSERT_INT_EQ(mkfifo(pt_test_path("a"), 0600), 0);
	PT_ASSERT_INT_EQ(mkfifo(pt_test_path("b"), 0600), 0);
	snprintf(path, sizeof(path), "%s", pt_test_path("k1.pxu"));
	snprintf(units, sizeof(units),
		 "id: pair\nplugin: shell\ncommand:\n"
		 " cd '%s'\n"
		 " ./alpha < a > /dev/null & a=$!\n"
		 " ./beta < b > /dev/null & b=$!\n"
		 " exec 3> a 4> b\n"
		 " wait -n -p who $a $b; st=$?\n"
		 " exec 3>&- 4>&-\n"
		 " if [ $who = $a ]; then o=$b n=alpha m=beta;\n"
		 " else o=$a n=beta m=alpha; fi\n"
		 " wait $o; echo \"$n $st, then $m $?\" > report\n",
		 pt_test_path(""));
	put_file(path, units);
	for (int i = 0; i < 2; i++) {
		const char *args[] = { "run",	  path,		  "-n",
				       "t",	  "-j1",	  seed[i],
				       "--chaos", "kill-one@0.4", NULL };
		char want[512], *out, *err, *text, *l;
		int pid;

		PT_ASSERT_INT_EQ(run(args, &out, &err), 0);
		text = last_chaos_log();
		/* one line: the victim's pid, its name */
		PT_ASSERT(pt__starts_with(text, "t::pair\t1\t"));
		pid = (int)strtol(text + 10, NULL, 10);
		PT_ASSERT_INT_GT(pid, 0);
		l = mask_times(text);
		snprintf(want, sizeof(want),
			 "t::pair\t1\t%d\tkill-one\tT\tSIGKILL to %s\n", pid,
			 victim[i]);
		PT_ASSERT_STR_EQ(l, want);
		pt__free(l);
		out = mask_times(out);
		snprintf(want, sizeof(want),
			 "session ID, seed %s, 1 jobs, -j1\n"
			 "pass t::pair: chaos: SIGKILL to pid %d (%s) of its "
			 "group at T s\n"
			 "1 jobs: 1 pass, seed %s\n",
			 seed[i] + 7, pid, victim[i], seed[i] + 7);
		PT_ASSERT_STR_EQ(out, want);
		pt__free(out);
		pt__free(err);
		text = slurp(pt_test_path("report"));
		PT_ASSERT_STR_EQ(text, report[i]);
		pt__free(text);
	}
}

/*
 * kill-one with no process but the main one: it looks again until the
 * job ends (here by the kill@ of seed 1, at 0.28 s, long after the
 * kill-one time, at most 0.05 s) and says that it found none.
 */
PT_TEST(chaos_kill_one_without_children_says_so)
{
	char path[1024], *out, *err, *text;
	const char *args[] = { "run",	  path,
			       "-n",	  "t",
			       "-j1",	  "--seed=1",
			       "--chaos", "kill-one@0.05,kill@0.3",
			       NULL };

	snprintf(path, sizeof(path), "%s", pt_test_path("a.pxu"));
	put_file(path, "id: alone\nplugin: shell\ncommand: exec sleep 60\n");
	PT_ASSERT_INT_EQ(run(args, &out, &err), 1);
	out = mask_times(out);
	PT_ASSERT_STR_EQ(out, "session ID, seed 1, 1 jobs, -j1\n"
			      "crash t::alone: killed by signal 9 (Killed); "
			      "chaos: SIGKILL to its process group at T s; "
			      "chaos: kill-one found no process of its group "
			      "besides the main one\n"
			      "1 jobs: 1 crash, seed 1\n");
	pt__free(out);
	pt__free(err);
	text = mask_times(last_chaos_log());
	PT_ASSERT(pt__starts_with(text, "t::alone\t1\t"));
	PT_ASSERT(pt__ends_with(text, "\tkill\tT\tSIGKILL to the group\n"));
	PT_ASSERT(strchr(text, '\n') + 1 == text + strlen(text)); /* one line */
	pt__free(text);
}

/* The fault lines of the last session's chaos log, pids dropped, sorted. */
static char *faults_of_last(void)
{
	char *text, *lines[4096], *save;
	size_t n = 0;
	struct pt_buf b = PT_BUF_INIT;

	text = last_chaos_log();
	for (char *l = strtok_r(text, "\n", &save); l && n < 4096;
	     l = strtok_r(NULL, "\n", &save)) {
		char *f[6];
		unsigned k = 0;

		for (char *q = l; k < 6 && q; k++) {
			f[k] = q;
			if ((q = strchr(q, '\t')))
				*q++ = 0;
		}
		PT_ASSERT_UINT_EQ(k, 6);
		/* job, attempt, call, count, error (the pid differs) */
		PT_ASSERT_OK(pt__buf_addf(&b, "%s %s %s %s %s", f[0], f[1],
					  f[3], f[4], f[5]));
		lines[n++] = pt__buf_detach(&b, NULL);
	}
	qsort(lines, n, sizeof(lines[0]), cmp_str);
	for (size_t i = 0; i < n; i++) {
		PT_ASSERT_OK(pt__buf_addf(&b, "%s\n", lines[i]));
		pt__free(lines[i]);
	}
	pt__free(text);
	return pt__buf_detach(&b, NULL);
}

/*
 * Units for the resume tests: "wait" blocks until the test kills the run
 * (its first time; it passes once its mark exists), "probe" runs under
 * the run's plan, "doomed" (with_doomed) has a plan of its own that
 * kills it.
 */
static void chaos_resume_units(const char *path, bool with_doomed)
{
	char units[4096];

	snprintf(units, sizeof(units),
		 "id: wait\nplugin: shell\nchaos: off\ncommand:\n"
		 " if [ -e \"$PT_CLI_MARK\" ]; then exit 0; fi\n"
		 " touch \"$PT_CLI_MARK\"\n"
		 " echo $$ > \"$PT_CLI_PGID\"\n"
		 " echo started > \"$PT_CLI_FIFO\"\n"
		 " exec sleep 1000\n\n"
		 "id: probe\nplugin: shell\nafter: wait\n"
		 "command: exec '%s' > '%s'\n\n%s",
		 built("chaos-probe"), pt_test_path("probe"),
		 with_doomed ? "id: doomed\nplugin: shell\nafter: probe\n"
			       "chaos: kill@0.05\ncommand: exec sleep 1000\n"
			     : "");
	put_file(path, units);
}

/*
 * The session keeps its --chaos plan: after kill -9, resume injects the
 * same faults into the jobs it runs (call faults and the process fault
 * of a job's own plan) as a run that was not interrupted.
 */
PT_TEST(chaos_resume_injects_the_sessions_plan)
{
	char path[1024];
	const char *args[] = { "run",
			       path,
			       "-n",
			       "t",
			       "-j1",
			       "--seed=3",
			       "--chaos",
			       "write:ENOSPC:1@/dev/null,open:"
			       "EACCES:1@/dev/zero,exe=chaos-probe",
			       NULL };
	const char *res[] = { "resume", NULL };
	const char *want_out =
		"session ID, seed 3, 3 jobs, 1 done, -j1\n"
		"pass t::probe: chaos: 2 faults: write ENOSPC at call 1 (pid "
		"P), open EACCES at call 1 (pid P)\n"
		"crash t::doomed: killed by signal 9 (Killed); chaos: SIGKILL "
		"to its process group at T s\n"
		"3 jobs: 1 pass, 2 crash, seed 3\n";
	const char *want_faults = "t::doomed 1 kill T SIGKILL to the group\n"
				  "t::probe 1 open 1 EACCES\n"
				  "t::probe 1 write 1 ENOSPC\n";
	char *out, *err, *resumed, *whole;

	snprintf(path, sizeof(path), "%s", pt_test_path("r.pxu"));
	chaos_resume_units(path, true);
	run_then_kill_9(args);
	PT_ASSERT_INT_EQ(run(res, &out, &err), 1);
	out = mask_times(mask_pids(out));
	PT_ASSERT(pt__starts_with(out, "crash t::wait: Crashed after "
				       "resuming execution\n"));
	PT_ASSERT_STR_EQ(strchr(out, '\n') + 1, want_out);
	PT_ASSERT_STR_EQ(err, "");
	pt__free(out);
	pt__free(err);
	resumed = mask_times(faults_of_last());
	PT_ASSERT_STR_EQ(resumed, want_faults);
	/* The same run, not interrupted ("wait" passes now): the same. */
	PT_ASSERT_INT_EQ(run(args, &out, &err), 1);
	pt__free(out);
	pt__free(err);
	whole = mask_times(faults_of_last());
	PT_ASSERT_STR_EQ(whole, resumed);
	pt__free(whole);
	pt__free(resumed);
}

/*
 * Resumes the session "wait" left (its crash, then "probe"): probe's
 * result line and what its write did (fsync is EINVAL by itself).
 */
static void resume_probe(const char *const *res, const char *probe_line,
			 const char *write_did)
{
	char *out, *err, *text, want[512];

	PT_ASSERT_INT_EQ(run(res, &out, &err), 1);
	out = mask_pids(out);
	snprintf(want, sizeof(want),
		 "crash t::wait: Crashed after resuming execution\n"
		 "session ID, seed 3, 2 jobs, 1 done, -j1\n%s"
		 "2 jobs: 1 pass, 1 crash, seed 3\n",
		 probe_line);
	PT_ASSERT_STR_EQ(out, want);
	pt__free(out);
	pt__free(err);
	text = slurp(pt_test_path("probe"));
	PT_ASSERT_NOT_NULL(strstr(text, write_did));
	PT_ASSERT_NOT_NULL(strstr(text, "fsync -1 EINVAL\n"));
	pt__free(text);
}

/* resume --chaos SPEC replaces the session's plan, --chaos off drops it. */
PT_TEST(chaos_resume_with_another_plan_or_off)
{
	char path[1024], *out, *err;
	const char *args[] = { "run",	   path,      "-n",	     "t", "-j1",
			       "--seed=3", "--chaos", "fsync:EIO:1", NULL };
	const char *other[] = { "resume", "--chaos", "write:EIO:1@/dev/null",
				NULL };
	const char *off[] = { "resume", "--chaos", "off", NULL };
	const char *bad[] = { "resume", "--chaos", "write:EWHAT", NULL };

	snprintf(path, sizeof(path), "%s", pt_test_path("o.pxu"));
	chaos_resume_units(path, false);
	run_then_kill_9(args);
	/* a bad plan is refused before anything changes */
	PT_ASSERT_INT_EQ(run(bad, &out, &err), 2);
	PT_ASSERT_STR_EQ(out, "");
	PT_ASSERT_STR_EQ(err, "proctor resume: --chaos: 'write:EWHAT': "
			      "unknown or impossible error\n"
			      "Try 'proctor resume --help' for more "
			      "information.\n");
	pt__free(out);
	pt__free(err);
	resume_probe(other,
		     "pass t::probe: chaos: 1 fault: write EIO at call 1 (pid "
		     "P)\n",
		     "write /dev/null -1 EIO\n");
	/* again, with the faults off */
	PT_ASSERT_INT_EQ(unlink(pt_test_path("mark")), 0);
	PT_ASSERT_INT_EQ(unlink(pt_test_path("fifo")), 0);
	run_then_kill_9(args);
	resume_probe(off, "pass t::probe\n", "write /dev/null 4 ok\n");
}

PT_TEST(chaos_finds_the_fragile_twin_with_the_same_faults_per_seed)
{
	char path[1024];
	const char *spec = "write:short:0.2,read:EINTR:0.2,read:short:0.1,"
			   "accept:EAGAIN:0.5,connect:ECONNREFUSED:0.5";
	const char *args[] = { "run",	   path,      "-n", "chaos", "-j1",
			       "--seed=1", "--chaos", spec, NULL };
	char *out, *err, *first, *second;

	snprintf(path, sizeof(path), "%s/examples/chaos/units.pxu",
		 pt_test_srcdir());
	setenv("ECHO_PAIR", built("echo-pair"), 1);
	/* Budget: one seeded run (under a second here) finds the twin. */
	PT_ASSERT_INT_EQ(run(args, &out, &err), 1);
	PT_ASSERT(pt__starts_with(out, "session ID, seed 1, 2 jobs, -j1\n"
				       "pass chaos::robust: chaos: "));
	out = mask_pids(out);
	PT_ASSERT_NOT_NULL(strstr(out, "fail chaos::fragile: chaos: 1 fault: "
				       "connect ECONNREFUSED at call 1 (pid "
				       "P)\n"
				       "2 jobs: 1 pass, 1 fail, seed 1\n"));
	pt__free(out);
	pt__free(err);
	first = faults_of_last();
	/* The same seed: the same faults at the same call counts. */
	PT_ASSERT_INT_EQ(run(args, &out, &err), 1);
	pt__free(out);
	pt__free(err);
	second = faults_of_last();
	PT_ASSERT_STR_EQ(second, first);
	PT_ASSERT(strlen(first) > 100);
	pt__free(second);
	/* Another seed: other faults. */
	args[5] = "--seed=2";
	PT_ASSERT_INT_EQ(run(args, &out, &err), 1);
	pt__free(out);
	pt__free(err);
	second = faults_of_last();
	PT_ASSERT(strcmp(second, first) != 0);
	pt__free(second);
	pt__free(first);
	unsetenv("ECHO_PAIR");
}

/* The probe's report of one job under --chaos SPEC --seed SEED; the
 * run's output in *out (pids masked). */
static char *probe_run(const char *mode, const char *spec, const char *seed,
		       int *rc, char **out)
{
	char path[1024], o[1][1024], seedopt[32];
	const char *args[] = { "run",	path,	   "-n", "t", "-j1",
			       seedopt, "--chaos", spec, NULL };
	const char *names[1] = { "probe" }, *fields[1] = { "" };
	char *err;

	snprintf(path, sizeof(path), "%s", pt_test_path("m.pxu"));
	snprintf(seedopt, sizeof(seedopt), "--seed=%s", seed);
	probe_units(path, 1, names, fields, &mode, o);
	*rc = run(args, out, &err);
	*out = mask_pids(*out);
	pt__free(err);
	return slurp(o[0]);
}

PT_TEST(chaos_malloc_returns_null_at_the_same_calls_per_seed)
{
	const char *spec = "malloc:ENOMEM:0.5@>=1M";
	char *out, *text, *first;
	int rc;

	/* 1 MiB allocations by each entry point, in call order 1-19; the
	 * program's smaller ones (stdio's buffer, 1000 of 16 bytes) are
	 * below the rule's size and never fail. */
	text = probe_run("malloc", spec, "1", &rc, &out);
	PT_ASSERT_INT_EQ(rc, 0);
	PT_ASSERT_STR_EQ(out, "session ID, seed 1, 1 jobs, -j1\n"
			      "pass t::probe: chaos: 12 faults: malloc "
			      "ENOMEM at call 1 (pid P), malloc ENOMEM at "
			      "call 2 (pid P), malloc ENOMEM at call 4 (pid "
			      "P), malloc ENOMEM at call 5 (pid P), malloc "
			      "ENOMEM at call 8 (pid P), ...\n"
			      "1 jobs: 1 pass, seed 1\n");
	PT_ASSERT_STR_EQ(text, "malloc xx.xx..x\n"
			       "calloc xxx.\n"
			       "realloc xx.x\n"
			       "posix_memalign .\n"
			       "aligned_alloc .\n"
			       "valloc x\n"
			       "small ok\n");
	pt__free(out);
	pt__free(text);
	first = faults_of_last();
	PT_ASSERT_STR_EQ(first, "t::probe 1 malloc 1 ENOMEM\n"
				"t::probe 1 malloc 10 ENOMEM\n"
				"t::probe 1 malloc 11 ENOMEM\n"
				"t::probe 1 malloc 13 ENOMEM\n"
				"t::probe 1 malloc 14 ENOMEM\n"
				"t::probe 1 malloc 16 ENOMEM\n"
				"t::probe 1 malloc 19 ENOMEM\n"
				"t::probe 1 malloc 2 ENOMEM\n"
				"t::probe 1 malloc 4 ENOMEM\n"
				"t::probe 1 malloc 5 ENOMEM\n"
				"t::probe 1 malloc 8 ENOMEM\n"
				"t::probe 1 malloc 9 ENOMEM\n");
	/* The same seed again: the same calls. */
	text = probe_run("malloc", spec, "1", &rc, &out);
	pt__free(out);
	pt__free(text);
	text = faults_of_last();
	PT_ASSERT_STR_EQ(text, first);
	pt__free(text);
	pt__free(first);
	/* Another seed, other calls; every call with rate 1. */
	text = probe_run("malloc", spec, "2", &rc, &out);
	PT_ASSERT_INT_EQ(rc, 0);
	PT_ASSERT_STR_EQ(text, "malloc xxx.xx.x\n"
			       "calloc .xxx\n"
			       "realloc .xxx\n"
			       "posix_memalign x\n"
			       "aligned_alloc .\n"
			       "valloc .\n"
			       "small ok\n");
	pt__free(out);
	pt__free(text);
	text = probe_run("malloc", "malloc:ENOMEM:1@>=1M", "2", &rc, &out);
	PT_ASSERT_STR_EQ(text, "malloc xxxxxxxx\n"
			       "calloc xxxx\n"
			       "realloc xxxx\n"
			       "posix_memalign x\n"
			       "aligned_alloc x\n"
			       "valloc x\n"
			       "small ok\n");
	PT_ASSERT(pt__starts_with(out, "session ID, seed 2, 1 jobs, -j1\n"
				       "pass t::probe: chaos: 19 faults: "));
	pt__free(out);
	pt__free(text);
	/* Every allocation of the program fails (stdio's too: its output is
	 * unbuffered then), but not the job's shell, which runs the probe. */
	text = probe_run("malloc", "malloc:ENOMEM:1", "1", &rc, &out);
	PT_ASSERT_INT_EQ(rc, 0);
	PT_ASSERT_STR_EQ(text, "malloc xxxxxxxx\n"
			       "calloc xxxx\n"
			       "realloc xxxx\n"
			       "posix_memalign x\n"
			       "aligned_alloc x\n"
			       "valloc x\n"
			       "small NULL\n");
	PT_ASSERT(pt__starts_with(out, "session ID, seed 1, 1 jobs, -j1\n"
				       "pass t::probe: chaos: "));
	pt__free(out);
	pt__free(text);
	/* exe= names another program: nothing fails. */
	text = probe_run("malloc", "malloc:ENOMEM:1,exe=other", "1", &rc, &out);
	PT_ASSERT_INT_EQ(rc, 0);
	PT_ASSERT_STR_EQ(text, "malloc ........\n"
			       "calloc ....\n"
			       "realloc ....\n"
			       "posix_memalign .\n"
			       "aligned_alloc .\n"
			       "valloc .\n"
			       "small ok\n");
	PT_ASSERT_STR_EQ(out, "session ID, seed 1, 1 jobs, -j1\n"
			      "pass t::probe\n"
			      "1 jobs: 1 pass, seed 1\n");
	pt__free(out);
	pt__free(text);
}

PT_TEST(chaos_clock_jumps_and_runs_fast_as_the_program_sees_it)
{
	char path[1024], o[4][1024], json[1024];
	const char *args[] = {
		"run",	   path,	   "-n",       "t",  "-j1", "--seed=1",
		"--chaos", "clock:fast:2", "--report", json, NULL
	};
	const char *names[4] = { "ahead", "back", "fast", "when" };
	const char *modes[4] = { "offsets", "offsets", "rates", "reads" };
	const char *fields[4] = { "clock:jump:3600@1", "clock:jump:-3600@1",
				  "clock:fast:10", "clock:jump:60@50" };
	char *out, *err, *text;

	snprintf(path, sizeof(path), "%s", pt_test_path("k.pxu"));
	snprintf(json, sizeof(json), "json:%s", pt_test_path("r.json"));
	probe_units(path, 4, names, fields, modes, o);
	PT_ASSERT_INT_EQ(run(args, &out, &err), 0);
	out = mask_pids(out);
	/* The reports have them too (JSON: the comments). */
	text = mask_pids(slurp(pt_test_path("r.json")));
	PT_ASSERT_NOT_NULL(strstr(text, "\"comments\": \"chaos: 1 fault: "
					"clock fast x10 at call 1 (pid P)\""));
	pt__free(text);
	PT_ASSERT_STR_EQ(out, "session ID, seed 1, 4 jobs, -j1\n"
			      "pass t::ahead: chaos: 1 fault: clock jump "
			      "+3600 s at call 1 (pid P)\n"
			      "pass t::back: chaos: 1 fault: clock jump -3600 "
			      "s at call 1 (pid P)\n"
			      "pass t::fast: chaos: 1 fault: clock fast x10 "
			      "at call 1 (pid P)\n"
			      "pass t::when: chaos: 1 fault: clock jump +60 s "
			      "at call 21 (pid P)\n"
			      "4 jobs: 4 pass, seed 1\n");
	pt__free(out);
	pt__free(err);
	/* Every clock jumps forward, from the first read; each value is
	 * bracketed by two kernel readings (the probe), so exact. */
	text = slurp(o[0]);
	PT_ASSERT_STR_EQ(text, "realtime +3600.00 s, never backwards\n"
			       "realtime_coarse +3600.00 s, never backwards\n"
			       "monotonic +3600.00 s, never backwards\n"
			       "monotonic_coarse +3600.00 s, never "
			       "backwards\n"
			       "monotonic_raw +3600.00 s, never backwards\n"
			       "boottime +3600.00 s, never backwards\n"
			       "gettimeofday +3600.00 s, never backwards\n"
			       "time +3600.00 s, never backwards\n");
	pt__free(text);
	/* Backwards: the realtime clock only; the others stay monotonic. */
	text = slurp(o[1]);
	PT_ASSERT_STR_EQ(text, "realtime -3600.00 s, never backwards\n"
			       "realtime_coarse -3600.00 s, never backwards\n"
			       "monotonic +0.00 s, never backwards\n"
			       "monotonic_coarse +0.00 s, never backwards\n"
			       "monotonic_raw +0.00 s, never backwards\n"
			       "boottime +0.00 s, never backwards\n"
			       "gettimeofday -3600.00 s, never backwards\n"
			       "time -3600.00 s, never backwards\n");
	pt__free(text);
	/* Ten times as fast, over 20 ms of busy kernel time: within 0.5%
	 * (printed to 0.1; the brackets' error is at most 0.2%). */
	text = slurp(o[2]);
	PT_ASSERT_STR_EQ(text, "realtime x10.0, never backwards\n"
			       "monotonic x10.0, never backwards\n"
			       "monotonic_raw x10.0, never backwards\n"
			       "boottime x10.0, never backwards\n"
			       "gettimeofday x10.0, never backwards\n");
	pt__free(text);
	/* The seeded read in [1, 50]: the same as the log's count. */
	text = slurp(o[3]);
	PT_ASSERT_STR_EQ(text, "monotonic jumped at read 21\n");
	pt__free(text);
	/* A bad clock or malloc fault: refused before anything runs. */
	args[7] = "clock:jump:0";
	PT_ASSERT_INT_EQ(run(args, &out, &err), 2);
	PT_ASSERT(pt__starts_with(err, "proctor run: --chaos: 'clock:jump:0': "
				       "expected clock:jump:SECONDS[@READS] "
				       "or clock:fast:FACTOR"));
	pt__free(out);
	pt__free(err);
	args[7] = "malloc:ENOMEM@>=1X";
	PT_ASSERT_INT_EQ(run(args, &out, &err), 2);
	PT_ASSERT(pt__starts_with(err, "proctor run: --chaos: "
				       "'malloc:ENOMEM@>=1X': a malloc filter "
				       "is @>=SIZE (bytes, or K, M, G; at most "
				       "1T)\n"));
	pt__free(out);
	pt__free(err);
}

PT_TEST(fail_fast_stops_starting_jobs)
{
	const char *args[] = { "run",	      fixture(),
			       "-p",	      "t::all",
			       "-j1",	      "--seed=2",
			       "--fail-fast", "--non-interactive",
			       NULL };
	char *out, *err;

	PT_ASSERT_INT_EQ(run(args, &out, &err), 1);
	PT_ASSERT_STR_EQ(out, "session ID, seed 2, 8 jobs, -j1\n"
			      "pass t::res\n"
			      "pass t::first\n"
			      "pass t::second\n"
			      "fail t::bad: exit code 3\n"
			      "10 jobs: 3 pass, 1 fail, 6 not run, seed 2\n");
	pt__free(out);
	pt__free(err);
}

PT_TEST(shuffle_keeps_dependencies_and_prints_its_seed)
{
	const char *args[] = { "run",
			       fixture(),
			       "-p",
			       "t::all",
			       "-j1",
			       "--shuffle=1234",
			       "--non-interactive",
			       NULL };
	char *out, *err, *first, *second;

	PT_ASSERT_INT_EQ(run(args, &out, &err), 1);
	PT_ASSERT(pt__starts_with(out, "session ID, seed 1234, 8 jobs, -j1\n"));
	PT_ASSERT_NOT_NULL(strstr(out, "10 jobs: 6 pass, 1 fail, 1 skip, 1 "
				       "skipped-dependency, 1 timeout, seed "
				       "1234\n"));
	first = strstr(out, "pass t::first\n");
	second = strstr(out, "pass t::second\n");
	PT_ASSERT(first && second && first < second);
	pt__free(out);
	pt__free(err);
}

PT_TEST(the_example_provider_runs)
{
	char ex[1024];
	const char *args[] = { "run",
			       ex,
			       "-p",
			       "com.example::demo",
			       "-j2",
			       "--seed=11",
			       "--non-interactive",
			       NULL };
	char *out, *err;

	snprintf(ex, sizeof(ex), "%s/examples/provider", pt_test_srcdir());
	if (access(ex, F_OK) != 0)
		pt_test_skip("no examples/provider");
	PT_ASSERT_INT_EQ(run(args, &out, &err), 1);
	PT_ASSERT_NOT_NULL(
		strstr(out, "fail com.example::lint: exit code 1\n"));
	PT_ASSERT_NOT_NULL(strstr(out, "skipped-dependency "
				       "com.example::release-notes: required "
				       "dependency 'com.example::lint' has "
				       "failed\n"));
	PT_ASSERT_NOT_NULL(strstr(out, "timeout com.example::slow-service: "
				       "timed out after 2 s"));
	PT_ASSERT_NOT_NULL(strstr(out, "pass com.example::disk/check-vdb\n"));
	PT_ASSERT_NOT_NULL(strstr(out, "9 jobs: 6 pass, 1 fail, 1 "
				       "skipped-dependency, 1 timeout, seed "
				       "11\n"));
	pt__free(out);
	pt__free(err);
}

/* --namespace qualifies a unit file given directly, and resume keeps it. */
PT_TEST(namespace_of_a_unit_file_given_directly)
{
	char file[4096];
	const char *run_args[] = { "run", file,	      "-n", "demo",
				   "-j1", "--seed=3", NULL };
	const char *resume_args[] = { "resume", NULL };
	static const char text[] = "id: a\nplugin: shell\ncommand: true\n\n"
				   "id: b\nplugin: shell\ndepends: a\n"
				   "command: true\n";
	char *out, *err;

	/* pt_test_path's buffers rotate: keep a copy. */
	snprintf(file, sizeof(file), "%s", pt_test_path("ns.pxu"));
	setup_env();
	PT_ASSERT_OK(pt__write_file_atomic(file, text, sizeof(text) - 1, 0644));
	PT_ASSERT_INT_EQ(run(run_args, &out, &err), 0);
	PT_ASSERT_STR_EQ(out, "session ID, seed 3, 2 jobs, -j1\n"
			      "pass demo::a\n"
			      "pass demo::b\n"
			      "2 jobs: 2 pass, seed 3\n");
	pt__free(out);
	pt__free(err);
	/* Reloaded with the stored namespace, both results still count. */
	PT_ASSERT_INT_EQ(run(resume_args, &out, &err), 0);
	PT_ASSERT_STR_EQ(out, "session ID, seed 3, 2 jobs, 2 done, -j1\n"
			      "2 jobs: 2 pass, seed 3\n");
	pt__free(out);
	pt__free(err);
}

/*
 * At -j2 the results of short passing jobs wait in the store's commit
 * group. None may be reported, nor release a dependent, before it is
 * committed: the dependent reads the session from another process and
 * must find all 20 results there. "hold" keeps the other slot busy until
 * then, so no slot is idle when the last result comes (the group is not
 * committed for that reason).
 */
PT_TEST(grouped_results_are_committed_before_anything_depends_on_them)
{
	char file[4096], want[256];
	const char *args[] = {
		"run", file, "-n", "g", "-j2", "--seed=9", NULL
	};
	const char *rep[] = { "report", "--format", "json", NULL };
	struct pt_buf text = PT_BUF_INIT;
	struct pt_store_state *st;
	char *out, *err;

	snprintf(file, sizeof(file), "%s", pt_test_path("group.pxu"));
	setup_env();
	setenv("PT_PROCTOR", proctor(), 1);
	/* hold waits for check on a FIFO (its timeout is the deadline) */
	PT_ASSERT_INT_EQ(mkfifo(pt_test_path("mark.checked"), 0600), 0);
	PT_ASSERT_OK(pt__buf_adds(
		&text, "id: hold\nplugin: shell\ntimeout: 60\n"
		       "command: read x < \"$PT_CLI_MARK.checked\"\n\n"));
	for (int i = 0; i < 20; i++)
		PT_ASSERT_OK(pt__buf_addf(&text,
					  "id: q%02d\nplugin: shell\n"
					  "command: echo out-q%02d\n\n",
					  i, i));
	PT_ASSERT_OK(pt__buf_adds(&text, "id: check\nplugin: shell\ndepends:"));
	for (int i = 0; i < 20; i++)
		PT_ASSERT_OK(pt__buf_addf(&text, " q%02d", i));
	PT_ASSERT_OK(pt__buf_adds(
		&text,
		"\ncommand: \"$PT_PROCTOR\" show \"$PROCTOR_SESSION_ID\""
		" | grep '^progress'; echo done > \"$PT_CLI_MARK.checked\"\n"));
	PT_ASSERT_OK(pt__write_file_atomic(file, text.s, text.len, 0644));
	pt__buf_release(&text);
	PT_ASSERT_INT_EQ(run(args, &out, &err), 0);
	PT_ASSERT_INT_EQ(count_lines(out, "pass g::check"), 1);
	PT_ASSERT_INT_EQ(count_lines(out, "pass g::hold"), 1);
	for (int i = 0; i < 20; i++) {
		snprintf(want, sizeof(want), "pass g::q%02d", i);
		PT_ASSERT_INT_EQ(count_lines(out, want), 1);
	}
	PT_ASSERT_NOT_NULL(strstr(out, "22 jobs: 22 pass, seed 9\n"));
	pt__free(out);
	pt__free(err);
	st = load_last();
	PT_ASSERT_UINT_EQ(st->n_results, 22);
	/* Grouped results keep their io logs. */
	PT_ASSERT_NOT_NULL(last_result(st, "g::q05")->io_log);
	pt_store_state_free(st);
	/* What check saw (its stdout, in the report): all 20 q results. */
	PT_ASSERT_INT_EQ(run(rep, &out, &err), 0);
	PT_ASSERT_NOT_NULL(
		strstr(out, "progress  20 results, 22 jobs planned"));
	PT_ASSERT_NOT_NULL(strstr(out, "\"stdout\": \"out-q05\\n\""));
	pt__free(out);
	pt__free(err);
}

PT_TEST(ports_option_sets_the_lease)
{
	const char *two[] = { "run",	 fixture(), "-i",	"t::ports2",
			      "--ports", "2",	    "--seed=4", NULL };
	const char *none[] = { "run",	  fixture(), "-i",	 "t::ports2",
			       "--ports", "0",	     "--seed=4", NULL };
	char *out, *err;

	PT_ASSERT_INT_EQ(run(two, &out, &err), 0);
	PT_ASSERT_NOT_NULL(strstr(out, "pass t::ports2\n"));
	pt__free(out);
	pt__free(err);
	PT_ASSERT_INT_EQ(run(none, &out, &err), 1);
	PT_ASSERT_NOT_NULL(strstr(out, "fail t::ports2: exit code 1\n"));
	pt__free(out);
	pt__free(err);
}

PT_TEST(rerun_failed_and_attachments)
{
	const char *args[] = { "run", fixture(),  "-p", "t::flaky",
			       "-j1", "--seed=6", NULL };
	const char *att[] = {
		"run", fixture(), "-i", "t::att", "--seed=6", NULL
	};
	const char *res[] = { "resume", "--rerun-failed", NULL };
	char *out, *err, *s, path[1024];

	PT_ASSERT_INT_EQ(run(args, &out, &err), 1);
	PT_ASSERT_NOT_NULL(strstr(out, "fail t::flaky: exit code 1\n"));
	pt__free(out);
	pt__free(err);
	/* The failed job runs again (and passes: its mark exists now). */
	PT_ASSERT_INT_EQ(run(res, &out, &err), 0);
	PT_ASSERT_STR_EQ(out, "session ID, seed 6, 1 jobs, 0 done, -j1\n"
			      "pass t::flaky (attempt 2)\n"
			      "1 jobs: 1 pass, seed 6\n");
	pt__free(out);
	pt__free(err);
	/* An attachment job's stdout is stored in the session. */
	PT_ASSERT_INT_EQ(run(att, &out, &err), 0);
	pt__free(out);
	pt__free(err);
	snprintf(path, sizeof(path),
		 "%s/last-session/attachments/"
		 "t__att.0058fe56.stdout",
		 pt_test_path("repo"));
	s = slurp(path);
	PT_ASSERT_STR_EQ(s, "attached\n");
	pt__free(s);
}

/* Reads the pty until want appears (at most 20 s); the text so far. */
/* Starts proctor with argv on a new pseudo-terminal; *master reads it. */
static struct proc start_on_pty(const char *const *argv, int *master)
{
	struct pt_spawn sp = { .argv = argv, .new_session = true };
	struct proc p;
	int slave;

	setup_env();
	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	PT_ASSERT_INT_GE(*master, 0);
	PT_ASSERT_INT_EQ(grantpt(*master), 0);
	PT_ASSERT_INT_EQ(unlockpt(*master), 0);
	slave = open(ptsname(*master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	PT_ASSERT_INT_GE(slave, 0);
	sp.fd_in = sp.fd_out = sp.fd_err = slave;
	PT_ASSERT_OK(pt__spawn(&sp, &p.pid, &p.pidfd));
	close(slave);
	return p;
}

/*
 * Reads the terminal until want appears at or after *pos; *pos moves past
 * it (a prompt asked twice is found twice).
 */
static void expect_next(int master, struct pt_buf *seen, size_t *pos,
			const char *want)
{
	const char *at;

	while (!(at = strstr(seen->s + *pos, want))) {
		char buf[512];
		ssize_t n;

		if (!pt_test_wait_fd(master, POLLIN, 20000))
			PT_FAIL("no '%s' on the terminal; got:\n%s", want,
				seen->s + *pos);
		n = read(master, buf, sizeof(buf));
		if (n <= 0)
			PT_FAIL("terminal closed before '%s'; got:\n%s", want,
				seen->s + *pos);
		PT_ASSERT_OK(pt__buf_add(seen, buf, (size_t)n));
	}
	*pos = (size_t)(at - seen->s) + strlen(want);
}

static void type(int master, const char *s)
{
	PT_ASSERT_INT_EQ(write(master, s, strlen(s)), (ssize_t)strlen(s));
}

/* A turn of a conversation on the terminal: wait for want, then type say. */
struct turn {
	const char *want, *say; /* say NULL: nothing to type */
};

/* Runs proctor with argv on a terminal through the turns; its exit code. */
static int converse(const char *const *argv, const struct turn *t, size_t n)
{
	struct pt_buf seen = PT_BUF_INIT;
	struct proc p;
	size_t pos = 0;
	int master, code;

	p = start_on_pty(argv, &master);
	for (size_t i = 0; i < n; i++) {
		expect_next(master, &seen, &pos, t[i].want);
		if (t[i].say)
			type(master, t[i].say);
	}
	code = wait_exit(p);
	close(master);
	pt__buf_release(&seen);
	return code;
}

PT_TEST(manual_job_asks_the_operator_on_a_terminal)
{
	const char *argv[] = { proctor(), "run",      fixture(), "-i",
			       "t::ask",  "--seed=8", NULL };
	static const struct turn t[] = {
		{ "== t::ask: A manual job", NULL },
		{ "outcome? [p]ass, [f]ail, [s]kip: ", "f\n" },
		{ "comment (optional): ", "broken screen\n" },
		{ "fail t::ask: broken screen", NULL },
		{ "1 jobs: 1 fail, seed 8", NULL },
	};

	PT_ASSERT_INT_EQ(converse(argv, t, PT_ARRAY_SIZE(t)), 1);
}

/*
 * user-interact: Enter before the command, its outcome is the command's.
 * user-verify: the command runs first (it fails here), the operator sees
 * how it ended and its output, and decides. user-interact-verify: both.
 */
PT_TEST(user_interact_and_verify_jobs_on_a_terminal)
{
	const char *argv[] = { proctor(), "run", fixture(),  "-i",
			       "t::u.*",  "-j1", "--seed=8", NULL };
	static const struct turn t[] = {
		/* run-list order: uint, uver, uiv */
		{ "== t::uint: ", NULL },
		{ "press Enter to start: ", "\n" },
		{ "pass t::uint", NULL },
		{ "== t::uver: Check what it printed", NULL },
		{ "-- the command ended: fail: exit code 2", NULL },
		{ "-- its output:", NULL },
		{ "shown", NULL },
		{ "outcome? [p]ass, [f]ail, [s]kip: ", "x\n" },
		/* not an answer: asked again */
		{ "outcome? [p]ass, [f]ail, [s]kip: ", "p\n" },
		{ "comment (optional): ", "\n" },
		{ "pass t::uver", NULL },
		{ "== t::uiv: ", NULL },
		{ "PURPOSE:", NULL },
		{ "press Enter to start: ", "\n" },
		{ "-- the command passed", NULL },
		{ "ok", NULL },
		{ "outcome? [p]ass, [f]ail, [s]kip: ", "s\n" },
		{ "comment (optional): ", "later\n" },
		{ "skip t::uiv: later", NULL },
		{ "3 jobs: 2 pass, 1 skip, seed 8", NULL },
	};

	PT_ASSERT_INT_EQ(converse(argv, t, PT_ARRAY_SIZE(t)), 0);
}

/*
 * Without a terminal, or with --non-interactive, they are skipped, but
 * for user-verify jobs: as in checkbox-cli's silent mode, their command
 * runs and the outcome stays undecided.
 */
PT_TEST(operator_jobs_are_skipped_without_an_operator)
{
	const char *plain[] = { "run", fixture(),  "-i", "t::u.*|t::ask",
				"-j1", "--seed=8", NULL };
	const char *nonint[] = { "run",	   fixture(),		"-i",
				 "t::uiv", "--non-interactive", "--seed=8",
				 NULL };
	char *out, *err;

	PT_ASSERT_INT_EQ(run(plain, &out, &err), 0);
	PT_ASSERT_STR_EQ(
		out, "session ID, seed 8, 4 jobs, -j1\n"
		     "skip t::ask: needs an operator: skipped (no terminal)\n"
		     "skip t::uint: needs an operator: skipped (no terminal)\n"
		     "undecided t::uver: needs an operator to decide (no "
		     "terminal); its command ended with exit code 2\n"
		     "skip t::uiv: needs an operator: skipped (no terminal)\n"
		     "4 jobs: 3 skip, 1 undecided, seed 8\n");
	pt__free(out);
	pt__free(err);
	PT_ASSERT_INT_EQ(run(nonint, &out, &err), 0);
	PT_ASSERT_NOT_NULL(strstr(out,
				  "skip t::uiv: needs an operator: skipped "
				  "(--non-interactive)\n"));
	pt__free(out);
	pt__free(err);
}

/* ---- the session as stored (read with the store's API) */

static struct pt_store_state *load_last(void)
{
	struct pt_store *s = NULL;
	struct pt_store_state *st = NULL;

	PT_ASSERT_OK(pt_store_open(pt_test_path("repo"), NULL, PT_STORE_READ,
				   NULL, &s));
	PT_ASSERT_OK(pt_store_load(s, &st));
	pt_store_free(s);
	return st;
}

/* The last result of a job in the session, or NULL. */
static const struct pt_result *last_result(const struct pt_store_state *st,
					   const char *id)
{
	const struct pt_result *r = NULL;

	for (size_t i = 0; i < st->n_results; i++)
		if (!strcmp(st->results[i].job_id, id))
			r = &st->results[i].r;
	return r;
}

static size_t n_results_of(const struct pt_store_state *st, const char *id)
{
	size_t n = 0;

	for (size_t i = 0; i < st->n_results; i++)
		n += !strcmp(st->results[i].job_id, id);
	return n;
}

static const struct pt_store_job *snap_job(const struct pt_store_state *st,
					   const char *id)
{
	for (size_t i = 0; i < st->n_jobs; i++)
		if (!strcmp(st->jobs[i].id, id))
			return &st->jobs[i];
	return NULL;
}

/* started_ns of a job's last result (must exist). */
static int64_t started(const struct pt_store_state *st, const char *id)
{
	const struct pt_result *r = last_result(st, id);

	if (!r)
		PT_FAIL("no result for %s", id);
	return r->started_ns;
}

PT_TEST(learned_durations_come_from_earlier_sessions)
{
	const char *args[] = { "run", fixture(),  "-p", "t::lpt",
			       "-j1", "--seed=1", NULL };
	struct pt_store_durations *d = NULL;
	const struct pt_store_duration *lx;
	struct pt_store_state *st;
	char *out, *err;
	double held;

	PT_ASSERT_INT_EQ(run_held(args, 50, &held, &out, &err), 0);
	PT_ASSERT_STR_EQ(out, "session ID, seed 1, 2 jobs, -j1\n"
			      "pass t::lpt-short\n"
			      "pass t::lpt-long\n"
			      "2 jobs: 2 pass, seed 1\n");
	PT_ASSERT_STR_EQ(err, "");
	pt__free(out);
	pt__free(err);
	/* The learned durations are the session's, exactly. */
	st = load_last();
	PT_ASSERT_OK(pt_store_durations_load(pt_test_path("repo"), NULL, &d));
	PT_ASSERT_UINT_EQ(pt_store_durations_count(d), 2);
	for (size_t i = 0; i < 2; i++) {
		const char *id = i ? "t::lpt-long" : "t::lpt-short";
		const struct pt_store_duration *x =
			pt_store_durations_find(d, id);
		const struct pt_result *r = last_result(st, id);

		PT_ASSERT_NOT_NULL(x);
		PT_ASSERT_NOT_NULL(r);
		if (!(r->duration > 0 && x->duration == r->duration))
			PT_FAIL("%s: learned %.17g, measured %.17g", id,
				x->duration, r->duration);
	}
	/* The long job ran at least as long as the test held it. */
	lx = pt_store_durations_find(d, "t::lpt-long");
	if (!(lx->duration >= held))
		PT_FAIL("learned %.17g s, held %.17g s", lx->duration, held);
	pt_store_durations_free(d);
	pt_store_state_free(st);
}

PT_TEST(learned_durations_start_the_longest_first_at_j2_only)
{
	const struct pt_store_duration learned[] = {
		{ .job_id = "t::lpt-short", .duration = 0.001 },
		{ .job_id = "t::lpt-long", .duration = 0.3 },
	};
	const char *j2[] = { "run", fixture(),	"-p", "t::lpt",
			     "-j2", "--seed=2", NULL };
	const char *j1[] = { "run", fixture(),	"-p", "t::lpt",
			     "-j1", "--seed=3", NULL };
	struct pt_store_state *st;
	char *out, *err;

	/* Without learned durations, -j2 starts in run-list order. */
	PT_ASSERT_INT_EQ(run(j2, &out, &err), 0);
	pt__free(out);
	pt__free(err);
	st = load_last();
	PT_ASSERT_INT_LT(started(st, "t::lpt-short"),
			 started(st, "t::lpt-long"));
	pt_store_state_free(st);
	PT_ASSERT_INT_EQ(unlink(pt_test_path("repo/durations")), 0);
	/* Durations as an earlier session learns them (measuring them:
	 * learned_durations_come_from_earlier_sessions)... */
	PT_ASSERT_OK(pt_store_durations_record(pt_test_path("repo"), learned,
					       PT_ARRAY_SIZE(learned), NULL));
	/* ... then -j2 starts the long one first, */
	PT_ASSERT_INT_EQ(run(j2, &out, &err), 0);
	pt__free(out);
	pt__free(err);
	st = load_last();
	PT_ASSERT_INT_LT(started(st, "t::lpt-long"),
			 started(st, "t::lpt-short"));
	pt_store_state_free(st);
	/* and -j1 keeps exactly the run-list order. */
	PT_ASSERT_INT_EQ(run(j1, &out, &err), 0);
	PT_ASSERT_STR_EQ(out, "session ID, seed 3, 2 jobs, -j1\n"
			      "pass t::lpt-short\n"
			      "pass t::lpt-long\n"
			      "2 jobs: 2 pass, seed 3\n");
	pt__free(out);
	pt__free(err);
	st = load_last();
	PT_ASSERT_INT_LT(started(st, "t::lpt-short"),
			 started(st, "t::lpt-long"));
	pt_store_state_free(st);
}

/* What every stored state of the kill tests has: the desired list, the
 * rejected (excluded) generated job, the generated jobs in the snapshot,
 * one result of the resource job. */
static void check_kill_state(const struct pt_store_state *st)
{
	static const char *const desired[] = { "t::kres", "t::kgen-one",
					       "t::kgen-two", "t::kafter" };
	const struct pt_store_job *j;

	PT_ASSERT_UINT_EQ(st->n_desired, PT_ARRAY_SIZE(desired));
	for (size_t i = 0; i < PT_ARRAY_SIZE(desired); i++)
		PT_ASSERT_STR_EQ(st->desired[i], desired[i]);
	PT_ASSERT_UINT_EQ(st->meta.n_rejected, 1);
	PT_ASSERT_STR_EQ(st->meta.rejected[0], "t::kgen-three");
	PT_ASSERT_UINT_EQ(n_results_of(st, "t::kgen-three"), 0);
	for (size_t i = 0; i < 3; i++) {
		const char *id = i == 0	  ? "t::kgen-one"
				 : i == 1 ? "t::kgen-two"
					  : "t::kgen-three";
		j = snap_job(st, id);
		PT_ASSERT_NOT_NULL(j);
		PT_ASSERT_UINT_EQ(j->flags, PT_STORE_JOB_GENERATED);
	}
	j = snap_job(st, "t::kres");
	PT_ASSERT_NOT_NULL(j);
	PT_ASSERT_UINT_EQ(j->flags, PT_STORE_JOB_RESOURCE);
	PT_ASSERT_UINT_EQ(n_results_of(st, "t::kres"), 1);
}

PT_TEST(kill_9_with_generated_and_rejected_jobs_then_resume)
{
	const char *args[] = { "run",	  fixture(),  "-p",
			       "t::kill", "-x",	      "t::kgen-three",
			       "-j1",	  "--seed=3", NULL };
	const char *res[] = { "resume", NULL };
	const char *rerun[] = { "resume", "--rerun-failed", NULL };
	struct pt_store_state *st;
	char *out, *err, *ran;

	/* kgen-two runs (a generated job): the runner dies. */
	run_then_kill_9(args);
	out = mask(slurp(pt_test_path("out1")));
	PT_ASSERT_STR_EQ(out, "session ID, seed 3, 2 jobs, -j1\n"
			      "pass t::kres\n"
			      "pass t::kgen-one\n");
	pt__free(out);
	st = load_last();
	check_kill_state(st);
	PT_ASSERT_UINT_EQ(n_results_of(st, "t::kgen-one"), 1);
	PT_ASSERT_STR_EQ(st->meta.running_job, "t::kgen-two");
	PT_ASSERT_UINT_EQ(n_results_of(st, "t::kgen-two"), 0);
	pt_store_state_free(st);

	/* Resume: the generated job that was running is a crash; nothing
	 * with a committed result runs again; the rejected job stays out. */
	PT_ASSERT_INT_EQ(run(res, &out, &err), 1);
	PT_ASSERT_STR_EQ(out, "crash t::kgen-two: Crashed after resuming "
			      "execution\n"
			      "session ID, seed 3, 4 jobs, 3 done, -j1\n"
			      "pass t::kafter\n"
			      "4 jobs: 3 pass, 1 crash, seed 3\n");
	PT_ASSERT_STR_EQ(err, "");
	pt__free(out);
	pt__free(err);
	ran = slurp(pt_test_path("mark.ran"));
	PT_ASSERT_STR_EQ(ran, "kres\nkgen-one\nkgen-two\nkafter\n");
	pt__free(ran);
	st = load_last();
	check_kill_state(st);
	PT_ASSERT_UINT_EQ(n_results_of(st, "t::kgen-one"), 1);
	PT_ASSERT_NULL(st->meta.running_job);
	PT_ASSERT_INT_EQ(last_result(st, "t::kgen-two")->outcome,
			 PT_OUTCOME_CRASH);
	PT_ASSERT_INT_EQ(last_result(st, "t::kafter")->outcome,
			 PT_OUTCOME_PASS);
	pt_store_state_free(st);

	/* A generated job runs again on request (and passes now)... */
	PT_ASSERT_INT_EQ(run(rerun, &out, &err), 0);
	PT_ASSERT_STR_EQ(out, "session ID, seed 3, 4 jobs, 3 done, -j1\n"
			      "pass t::kgen-two (attempt 2)\n"
			      "4 jobs: 4 pass, seed 3\n");
	PT_ASSERT_STR_EQ(err, "");
	pt__free(out);
	pt__free(err);
	/* ... and a resume of the finished session runs nothing. */
	PT_ASSERT_INT_EQ(run(res, &out, &err), 0);
	PT_ASSERT_STR_EQ(out, "session ID, seed 3, 4 jobs, 4 done, -j1\n"
			      "4 jobs: 4 pass, seed 3\n");
	pt__free(out);
	pt__free(err);
	ran = slurp(pt_test_path("mark.ran"));
	PT_ASSERT_STR_EQ(ran, "kres\nkgen-one\nkgen-two\nkafter\nkgen-two\n");
	pt__free(ran);
	st = load_last();
	check_kill_state(st);
	PT_ASSERT_UINT_EQ(n_results_of(st, "t::kgen-two"), 2);
	PT_ASSERT_UINT_EQ(n_results_of(st, "t::kafter"), 1);
	pt_store_state_free(st);
	/* The report has the generated jobs with their results. */
	{
		const char *rep[] = { "report", "--format", "tap", NULL };
		PT_ASSERT_INT_EQ(run(rep, &out, &err), 0);
		PT_ASSERT_STR_EQ(out, "TAP version 14\n"
				      "1..4\n"
				      "# proctor session ID seed 3\n"
				      "ok 1 - t::kres\n"
				      "ok 2 - t::kgen-one\n"
				      "ok 3 - t::kgen-two\n"
				      "ok 4 - t::kafter\n");
		pt__free(out);
		pt__free(err);
	}
}

PT_TEST(damaged_learned_durations_are_reported_and_replaced)
{
	const char *args[] = { "run", fixture(),  "-p", "t::lpt",
			       "-j2", "--seed=4", NULL };
	struct pt_store_durations *d = NULL;
	char *out, *err, want[1200];

	PT_ASSERT_OK(pt__mkdir_p(pt_test_path("repo"), 0700));
	PT_ASSERT_OK(pt__write_file_atomic(pt_test_path("repo/durations"),
					   "garbage\n", 8, 0600));
	PT_ASSERT_INT_EQ(run(args, &out, &err), 0);
	snprintf(want, sizeof(want),
		 "%s:1: not a durations file (expected 'proctor-durations "
		 "1')\nproctor run: warning: learned durations ignored\n",
		 pt_test_path("repo/durations"));
	PT_ASSERT_STR_EQ(err, want);
	PT_ASSERT_NOT_NULL(strstr(out, "2 jobs: 2 pass, seed 4\n"));
	pt__free(out);
	pt__free(err);
	/* Learned again at the end of the run. */
	PT_ASSERT_OK(pt_store_durations_load(pt_test_path("repo"), NULL, &d));
	PT_ASSERT_UINT_EQ(pt_store_durations_count(d), 2);
	PT_ASSERT_NOT_NULL(pt_store_durations_find(d, "t::lpt-long"));
	pt_store_durations_free(d);
}

/* Occurrences of the line "name\n" in s. */
static size_t count_lines(const char *s, const char *name)
{
	size_t n = 0, len = strlen(name);

	for (const char *p = s; *p;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		n += l == len && !memcmp(p, name, len);
		p += l + (e ? 1 : 0);
	}
	return n;
}

PT_TEST(kill_9_at_j2_reruns_only_what_has_no_result)
{
	const char *args[] = { "run",	  fixture(),  "-p",
			       "t::kill", "-x",	      "t::kgen-three",
			       "-j2",	  "--seed=5", NULL };
	const char *res[] = { "resume", NULL };
	static const char *const jobs[] = { "kres", "kgen-one", "kgen-two",
					    "kafter" };
	bool had[PT_ARRAY_SIZE(jobs)];
	struct pt_store_state *st;
	char *out, *err, *ran, id[64];

	run_then_kill_9(args);
	st = load_last();
	check_kill_state(st);
	PT_ASSERT_NULL(st->meta.running_job); /* not recorded at -jN */
	PT_ASSERT_UINT_EQ(n_results_of(st, "t::kgen-two"), 0);
	for (size_t i = 0; i < PT_ARRAY_SIZE(jobs); i++) {
		snprintf(id, sizeof(id), "t::%s", jobs[i]);
		had[i] = n_results_of(st, id) > 0;
	}
	pt_store_state_free(st);

	/* At -jN the killed job has no result: it runs again, and passes. */
	PT_ASSERT_INT_EQ(run(res, &out, &err), 0);
	PT_ASSERT_NOT_NULL(strstr(out, "pass t::kgen-two\n"));
	PT_ASSERT_NOT_NULL(strstr(out, "4 jobs: 4 pass, seed 5\n"));
	pt__free(out);
	pt__free(err);
	PT_ASSERT_INT_EQ(run(res, &out, &err), 0);
	PT_ASSERT_STR_EQ(out, "session ID, seed 5, 4 jobs, 4 done, -j2\n"
			      "4 jobs: 4 pass, seed 5\n");
	pt__free(out);
	pt__free(err);
	ran = slurp(pt_test_path("mark.ran"));
	st = load_last();
	check_kill_state(st);
	for (size_t i = 0; i < PT_ARRAY_SIZE(jobs); i++) {
		size_t n = count_lines(ran, jobs[i]);

		snprintf(id, sizeof(id), "t::%s", jobs[i]);
		/* One committed result each, whatever happened. */
		PT_ASSERT_UINT_EQ(n_results_of(st, id), 1);
		PT_ASSERT_INT_EQ(last_result(st, id)->outcome, PT_OUTCOME_PASS);
		/* A job with a result before the kill never ran again. */
		if (had[i] && n != 1)
			PT_FAIL("%s had a result but ran %zu times:\n%s",
				jobs[i], n, ran);
		if (!had[i] && (n < 1 || n > 2))
			PT_FAIL("%s ran %zu times:\n%s", jobs[i], n, ran);
	}
	PT_ASSERT(had[0]); /* the resource job came before the others */
	PT_ASSERT(!had[2]);
	PT_ASSERT_UINT_EQ(count_lines(ran, "kgen-two"), 2);
	PT_ASSERT_UINT_EQ(count_lines(ran, "kgen-three"), 0);
	pt__free(ran);
	pt_store_state_free(st);
}

/*
 * A Jinja expression 20,000 parentheses deep in a template fed by a
 * resource job, and a requires that does not compile: run finishes (the
 * template is an error, the job fails without running and says why), and
 * report, why and resume read the session (its resource result committed)
 * without crashing.
 */
PT_TEST(template_filter_that_does_not_compile_fails_the_run)
{
	char file[4096];
	const char *args[] = { "run", file, "-j1", "--seed=1", NULL };
	char *out, *err;

	snprintf(file, sizeof(file), "%s", pt_test_path("badfilter.pxu"));
	PT_ASSERT_OK(pt__write_file_atomic(
		file,
		"id: res\nplugin: resource\ncommand: echo a: 1\n\n"
		"unit: template\ntemplate-resource: res\n"
		"template-filter: res.a == '1\nid: gen-{a}\n"
		"plugin: shell\ncommand: true\n",
		strlen("id: res\nplugin: resource\ncommand: echo a: 1\n\n"
		       "unit: template\ntemplate-resource: res\n"
		       "template-filter: res.a == '1\nid: gen-{a}\n"
		       "plugin: shell\ncommand: true\n"),
		0644));
	/* the resource job passes, the template generates nothing, and the
	 * run says why and does not end as if all passed */
	PT_ASSERT_INT_EQ(run(args, &out, &err), 1);
	PT_ASSERT_STR_EQ(out, "session ID, seed 1, 1 jobs, -j1\n"
			      "pass res\n"
			      "1 jobs: 1 pass, seed 1\n");
	PT_ASSERT(strstr(err, "template-filter of template 'gen-{a}' does "
			      "not compile: ") != NULL);
	pt__free(out);
	pt__free(err);
}

PT_TEST(hostile_programs_do_not_crash_or_run)
{
	char file[4096], ran[4096];
	const char *args[] = { "run", file, "-j1", "--seed=1", NULL };
	const char *rep[] = { "report", "--format", "tap", NULL };
	const char *why[] = { "why", "bad", NULL };
	const char *resume[] = { "resume", NULL };
	struct pt_buf b = PT_BUF_INIT, want = PT_BUF_INIT;
	char *out, *err, *why_msg;

	/* pt_test_path's buffers are reused: keep copies. */
	snprintf(file, sizeof(file), "%s", pt_test_path("deep.pxu"));
	snprintf(ran, sizeof(ran), "%s", pt_test_path("ran"));

	PT_ASSERT_OK(pt__buf_adds(&b, "id: res\nplugin: resource\n"
				      "command: echo a: 1\n\n"
				      "unit: template\ntemplate-resource: res\n"
				      "template-engine: jinja2\nid: gen-{{ "));
	for (int i = 0; i < 20000; i++)
		PT_ASSERT_OK(pt__buf_addch(&b, '('));
	PT_ASSERT_OK(pt__buf_adds(&b, "a"));
	for (int i = 0; i < 20000; i++)
		PT_ASSERT_OK(pt__buf_addch(&b, ')'));
	PT_ASSERT_OK(pt__buf_addf(&b,
				  " }}\nplugin: shell\ncommand: true\n\n"
				  "id: bad\nplugin: shell\n"
				  "command: touch %s\n"
				  "requires: res.a == '1\n",
				  ran));
	PT_ASSERT_OK(pt__write_file_atomic(file, b.s, b.len, 0644));
	pt__buf_release(&b);
	PT_ASSERT_OK(pt__buf_addf(&want,
				  "resource program does not compile: %s:15: "
				  "unterminated string literal (column 10)",
				  file));
	why_msg = want.s;

	PT_ASSERT_INT_EQ(run(args, &out, &err), 1);
	PT_ASSERT_OK(pt__buf_addf(&b,
				  "session ID, seed 1, 2 jobs, -j1\n"
				  "pass res\nfail bad: %s\n"
				  "2 jobs: 1 pass, 1 fail, seed 1\n",
				  why_msg));
	PT_ASSERT_STR_EQ(out, b.s);
	pt__buf_reset(&b);
	PT_ASSERT(strstr(err, "field 'id': expression nested deeper than 64") !=
		  NULL);
	PT_ASSERT_INT_EQ(access(ran, F_OK), -1);
	pt__free(out);
	pt__free(err);

	PT_ASSERT_INT_EQ(run(rep, &out, &err), 0);
	PT_ASSERT_OK(pt__buf_addf(&b, "  comments: \"%s\"\n", why_msg));
	PT_ASSERT(strstr(out, "ok 1 - res\nnot ok 2 - bad\n") != NULL);
	PT_ASSERT(strstr(out, b.s) != NULL);
	pt__buf_reset(&b);
	pt__free(out);
	pt__free(err);

	PT_ASSERT_INT_EQ(run(why, &out, &err), 0);
	/* The result as recorded; the problem from the session rebuilt from
	 * the store, whose job texts give other line numbers. */
	PT_ASSERT_OK(pt__buf_addf(&b,
				  "bad: fail: %s\n  problem: requires of "
				  "job 'bad' does not compile: %s:",
				  why_msg, file));
	PT_ASSERT(pt__starts_with(out, b.s));
	PT_ASSERT(pt__ends_with(out, ": unterminated string literal (column "
				     "10)\n"));
	{
		size_t nl = 0;

		for (const char *p = out; *p; p++)
			nl += *p == '\n';
		PT_ASSERT_UINT_EQ(nl, 2); /* the result and the problem */
	}
	pt__buf_reset(&b);
	pt__free(out);
	pt__free(err);

	PT_ASSERT_INT_EQ(run(resume, &out, &err), 1);
	PT_ASSERT_STR_EQ(out, "session ID, seed 1, 2 jobs, 2 done, -j1\n"
			      "2 jobs: 1 pass, 1 fail, seed 1\n");
	PT_ASSERT_INT_EQ(access(ran, F_OK), -1);
	pt__free(out);
	pt__free(err);
	pt__buf_release(&b);
	pt__buf_release(&want);
}

/* ---- a session is self-contained (issue 13) */

/* Runs `proctor report --format FMT [SESSION]`: exit code, output. */
static int report_of(const char *fmt, const char *session, char **out)
{
	const char *args[] = { "report", "--format", fmt, session, NULL };
	char *err;
	int rc = run(args, out, &err);

	pt__free(err);
	return rc;
}

/* Copies the fixture provider to DIR (so that it can be moved away). */
static void copy_fixture(const char *dir)
{
	const char *argv[] = { "/bin/cp", "-R", fixture(), dir, NULL };
	struct pt_spawn sp = {
		.argv = argv, .fd_in = -1, .fd_out = -1, .fd_err = -1
	};
	pid_t pid;
	int pidfd, st = 0;

	PT_ASSERT_OK(pt__spawn(&sp, &pid, &pidfd));
	PT_ASSERT_OK(pt__proc_wait(pid, pidfd, 20000, &st));
	close(pidfd);
	PT_ASSERT_INT_EQ(st, 0);
}

static const char *const formats[] = { "junit", "tap", "tap13", "json",
				       "html" };
#define N_FORMATS PT_ARRAY_SIZE(formats)

/*
 * Copies the fixture provider to prov, runs its plan t::all from there
 * (exit 1: it fails on purpose) and, with before, makes the report in
 * every format (pt__free each).
 */
static void run_copy(char *prov, size_t size, char **before)
{
	const char *args[] = { "run",
			       prov,
			       "-p",
			       "t::all",
			       "-j2",
			       "--seed=9",
			       "--non-interactive",
			       NULL };
	char *out, *err;

	snprintf(prov, size, "%s", pt_test_path("prov"));
	copy_fixture(prov);
	PT_ASSERT_INT_EQ(run(args, &out, &err), 1);
	pt__free(out);
	pt__free(err);
	for (size_t i = 0; before && i < N_FORMATS; i++)
		PT_ASSERT_INT_EQ(report_of(formats[i], NULL, &before[i]), 0);
}

/* Every format, now, is what it was (before, freed). */
static void reports_unchanged(const char *session, char **before)
{
	char *out;

	for (size_t i = 0; i < N_FORMATS; i++) {
		PT_ASSERT_INT_EQ(report_of(formats[i], session, &out), 0);
		PT_ASSERT_STR_EQ(out, before[i]);
		pt__free(out);
		pt__free(before[i]);
	}
}

/*
 * report and why give the same answers after the provider is deleted:
 * the session keeps the jobs' definitions as run (generated jobs too).
 */
PT_TEST(report_and_why_after_the_provider_is_gone)
{
	char prov[1024], gone[1024];
	const char *why[] = { "why", "needs-bad", NULL };
	char *before[N_FORMATS], *out, *err;

	snprintf(gone, sizeof(gone), "%s", pt_test_path("gone"));
	run_copy(prov, sizeof(prov), before);
	PT_ASSERT_INT_EQ(rename(prov, gone), 0);
	mask_durations(out = pt__strdup(before[1]));
	PT_ASSERT_STR_EQ(out, tap_want);
	pt__free(out);
	reports_unchanged(NULL, before);
	PT_ASSERT_INT_EQ(run(why, &out, &err), 0);
	PT_ASSERT_STR_EQ(out, "t::needs-bad: skipped-dependency: required "
			      "dependency 't::bad' has failed\n");
	pt__free(out);
	pt__free(err);
}

/*
 * An export imported into a fresh repository (the old one and the
 * provider deleted: another machine) reports as the original.
 */
PT_TEST(an_imported_session_reports_as_the_original)
{
	char prov[1024], env[1024];
	const char *exp[] = { "export", "-o", env, NULL };
	const char *imp[] = { "import", env, NULL };
	char *before[N_FORMATS], *out, *err, *id = NULL;

	snprintf(env, sizeof(env), "%s", pt_test_path("s.proctor.gz"));
	run_copy(prov, sizeof(prov), before);
	PT_ASSERT_INT_EQ(run(exp, &out, &err), 0);
	pt__free(out);
	pt__free(err);
	PT_ASSERT_OK(pt_store_last(pt_test_path("repo"), &id));
	PT_ASSERT_OK(pt__rm_rf(prov));
	PT_ASSERT_OK(pt__rm_rf(pt_test_path("repo")));
	PT_ASSERT_INT_EQ(run(imp, &out, &err), 0);
	pt__free(out);
	pt__free(err);
	reports_unchanged(id, before);
	pt_free(id);
}

/*
 * A session made before the store kept the jobs' definitions, whose
 * provider is gone: report refuses (exit 1) rather than print an empty
 * report of a session that holds results.
 */
PT_TEST(report_without_definitions_or_provider_fails)
{
	char prov[1024];
	struct pt_store *s = NULL;
	char *out, *err;

	run_copy(prov, sizeof(prov), NULL);
	PT_ASSERT_OK(pt_store_open(pt_test_path("repo"), NULL, PT_STORE_WRITE,
				   NULL, &s));
	PT_ASSERT_OK(pt__store_exec(s, "DELETE FROM job_text"));
	pt_store_free(s);
	PT_ASSERT_OK(pt__rm_rf(prov));
	for (size_t i = 0; i < N_FORMATS; i++) {
		const char *a[] = { "report", "--format", formats[i], NULL };

		PT_ASSERT_INT_EQ(run(a, &out, &err), 1);
		PT_ASSERT_STR_EQ(out, "");
		PT_ASSERT_NOT_NULL(strstr(err, "proctor report: session "));
		PT_ASSERT_NOT_NULL(strstr(err, " results belong to jobs whose "
					       "definitions are neither in the "
					       "session nor in its providers"));
		pt__free(out);
		pt__free(err);
	}
}
