/*
 * crash-writer - a small runner stand-in for the crash test (test-crash.c).
 *
 *	crash-writer REPO ID|new NJOBS MODE ARG
 *
 * Creates (ID "new") or resumes a session of NJOBS jobs "ns::job-NNN" and
 * runs the jobs that have no result: set the running job, sometimes spawn
 * `true`, commit a deterministic result, then report "R <job>\n" on fd 3.
 * A new session is announced as "S <id>\n" first. On resume the
 * running-job rule is applied first (reported as "X <job> <outcome>\n").
 * It kills itself with SIGKILL according to MODE:
 *	none      - never;
 *	write     - at the ARG-th write(2) SQLite makes (inside a commit);
 *	running   - right after the ARG-th running mark is committed;
 *	committed - right after the ARG-th result commit, before reporting;
 *	hold      - never, but after its ARG-th report it stops working and
 *	            waits to be killed (the test's kill from outside lands
 *	            at a point that depends on timing, yet the writer cannot
 *	            run to the end first: the number of kills a run makes
 *	            does not depend on the machine's load).
 * MODE "group-X" (X one of the above but running) runs like proctor run
 * at -jN instead: no running marks, results through the store's commit
 * group (pt_store_group_add), committed by five, reported only after
 * their group is committed; "committed" then counts group commits.
 * Exit 0 when every job has a result, 1 on any error (message on stderr).
 */
#include "base/common.h"
#include "store/store-internal.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum mode { M_NONE, M_WRITE, M_RUNNING, M_COMMITTED, M_HOLD };

static enum mode the_mode = M_NONE;
static long reports;

static long kill_at;
static long writes;

static int count_write(void *ctx, int fd, size_t len)
{
	(void)ctx;
	(void)fd;
	(void)len;
	if (++writes == kill_at)
		raise(SIGKILL);
	return 0;
}

static void report(const char *fmt, const char *a, const char *b)
{
	char line[256];
	int n = snprintf(line, sizeof(line), fmt, a, b);

	if (n < 0 || write(3, line, (size_t)n) != n)
		_exit(1);
	if (line[0] == 'R' && the_mode == M_HOLD && ++reports >= kill_at)
		for (;;)
			pause(); /* until the test's SIGKILL */
}

static void die(const char *what, int r)
{
	fprintf(stderr, "crash-writer: %s: %s\n", what, pt_strerror(r));
	_exit(1);
}

/* The result a job always gets when it runs to completion. */
static struct pt_result job_result(int i, char *comments, size_t size)
{
	struct pt_result r = { .outcome = PT_OUTCOME_PASS };

	if (i % 7 == 3) {
		r.outcome = PT_OUTCOME_FAIL;
		r.return_code = 1;
	} else if (i % 11 == 5) {
		r.outcome = PT_OUTCOME_SKIP;
	}
	r.duration = i * 0.001;
	snprintf(comments, size, "job %d", i);
	r.comments = comments;
	r.attempt = 1;
	r.started_ns = 1000 + i;
	return r;
}

static void spawn_true(void)
{
	static char name[] = "true";
	char *argv[] = { name, NULL };
	pid_t pid;
	int status;

	if (posix_spawnp(&pid, "true", NULL, NULL, argv, environ) != 0)
		die("spawn", -EIO);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid", -errno);
}

/* Commits the group, then reports its jobs. Returns 0 (none waiting). */
static int flush(struct pt_store *s, enum mode mode, long *commits,
		 const int *waiting, int n, char **ids)
{
	int r = pt_store_group_commit(s);

	if (r < 0)
		die("group commit", r);
	if (mode == M_COMMITTED && ++*commits == kill_at)
		raise(SIGKILL);
	for (int k = 0; k < n; k++)
		report("R %s\n", ids[waiting[k]], "");
	return 0;
}

int main(int argc, char **argv)
{
	struct pt_store *s = NULL;
	struct pt_store_state *st = NULL;
	enum mode mode = M_NONE;
	long runs = 0, commits = 0;
	char **ids, buf[64];
	const char *mname;
	int njobs, r, waiting[5], nwait = 0;
	bool group;

	if (argc != 6)
		return 2;
	njobs = (int)strtol(argv[3], NULL, 10);
	if (njobs <= 0 || njobs > 100000)
		return 2;
	group = !strncmp(argv[4], "group-", 6);
	mname = argv[4] + (group ? 6 : 0);
	if (!strcmp(mname, "write"))
		mode = M_WRITE;
	else if (!strcmp(mname, "running") && !group)
		mode = M_RUNNING;
	else if (!strcmp(mname, "committed"))
		mode = M_COMMITTED;
	else if (!strcmp(mname, "hold"))
		mode = M_HOLD;
	kill_at = strtol(argv[5], NULL, 10);
	the_mode = mode; /* for report() */
	fcntl(3, F_SETFD, FD_CLOEXEC);

	ids = pt__calloc((size_t)njobs, sizeof(*ids));
	if (!ids)
		die("alloc", -ENOMEM);
	for (int i = 0; i < njobs; i++) {
		snprintf(buf, sizeof(buf), "ns::job-%03d", i);
		ids[i] = pt__strdup(buf);
	}

	if (!strcmp(argv[2], "new")) {
		struct pt_store_job *jobs =
			pt__calloc((size_t)njobs, sizeof(*jobs));
		const char *flags[] = { "incomplete" };
		struct pt_store_meta m = { .title = "crash",
					   .flags = flags,
					   .n_flags = 1 };

		r = pt_store_create(argv[1], &m, NULL, &s);
		if (r < 0)
			die("create", r);
		for (int i = 0; i < njobs; i++) {
			jobs[i].id = ids[i];
			jobs[i].checksum = "sum";
			jobs[i].flags =
				i % 37 == 36 ? PT_STORE_JOB_NORETURN : 0;
		}
		r = pt_store_begin(s);
		if (r == 0)
			r = pt_store_put_jobs(s, jobs, (size_t)njobs);
		if (r == 0)
			r = pt_store_set_desired(s, (const char *const *)ids,
						 (size_t)njobs);
		if (r == 0)
			r = pt_store_commit(s, PT_SYNC_FULL);
		if (r < 0)
			die("setup", r);
		pt__free(jobs);
		report("S %s\n", pt_store_id(s), "");
	} else {
		r = pt_store_open(argv[1], argv[2], PT_STORE_WRITE, NULL, &s);
		if (r < 0)
			die("open", r);
	}

	/* Faults are armed only now: setup is not what we test. */
	if (mode == M_WRITE) {
		struct pt_io_faults f = { .before_write = count_write };
		pt__store_set_faults(&f);
	}

	r = pt_store_load(s, &st);
	if (r < 0)
		die("load", r);
	{
		struct pt_result cr;
		const char *job = NULL;

		r = pt_store_running_rule(st, -1, &job, &cr);
		if (r < 0)
			die("rule", r);
		if (r == 1) {
			char j[64];
			snprintf(j, sizeof(j), "%s", job);
			r = pt_store_commit_result(s, j, &cr, PT_SYNC_NORMAL);
			if (r < 0)
				die("commit crash", r);
			report("X %s %s\n", j, pt_outcome_name(cr.outcome));
		}
	}
	/* The resume step PlainBox gets wrong: mandatory ++ saved. */
	{
		const char **next =
			pt__calloc(st->n_desired + 2, sizeof(*next));
		next[0] = ids[0];
		next[1] = ids[1];
		for (size_t i = 0; i < st->n_desired; i++)
			next[i + 2] = st->desired[i];
		r = pt_store_set_desired(s, next, st->n_desired + 2);
		if (r < 0)
			die("desired", r);
		pt__free(next);
	}

	for (int i = 0; i < njobs; i++) {
		bool done = false;
		struct pt_result res;
		char comments[32];

		for (size_t k = 0; k < st->n_results && !done; k++)
			done = !strcmp(st->results[k].job_id, ids[i]);
		/* A job the rule just marked has a result too. */
		if (!done && st->meta.running_job &&
		    !strcmp(st->meta.running_job, ids[i]))
			done = true;
		if (done)
			continue;
		if (group) {
			/* proctor run at -jN: grouped, reported once durable */
			if (i % 10 == 0)
				spawn_true();
			res = job_result(i, comments, sizeof(comments));
			r = pt_store_group_add(s, ids[i], &res);
			if (r < 0)
				die("group add", r);
			waiting[nwait++] = i;
			if (nwait == 5)
				nwait = flush(s, mode, &commits, waiting, nwait,
					      ids);
			continue;
		}
		r = pt_store_set_running(s, ids[i], 1, 1000 + i);
		if (r < 0)
			die("set running", r);
		if (mode == M_RUNNING && ++runs == kill_at)
			raise(SIGKILL);
		if (i % 10 == 0)
			spawn_true();
		res = job_result(i, comments, sizeof(comments));
		r = pt_store_commit_result(s, ids[i], &res, PT_SYNC_NORMAL);
		if (r < 0)
			die("commit", r);
		if (mode == M_COMMITTED && ++commits == kill_at)
			raise(SIGKILL);
		report("R %s\n", ids[i], "");
	}
	if (nwait)
		flush(s, mode, &commits, waiting, nwait, ids);
	r = pt_store_set_flag(s, "incomplete", false);
	if (r == 0)
		r = pt_store_begin(s);
	if (r == 0)
		r = pt_store_commit(s, PT_SYNC_FULL);
	if (r < 0)
		die("finish", r);
	pt_store_state_free(st);
	pt_store_free(s);
	for (int i = 0; i < njobs; i++)
		pt__free(ids[i]);
	pt__free(ids);
	return 0;
}
