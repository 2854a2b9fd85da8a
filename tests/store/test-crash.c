/*
 * The crash test: a real writer process (crash-writer) runs a session of
 * 200 jobs and is killed with SIGKILL at >= 50 points chosen by the seed:
 * inside SQLite commits (at its Nth write(2)), right after a running mark,
 * right after a result commit (before it is reported), and from outside
 * at whatever point it has reached. After every kill the test checks the
 * storage, and the next writer resumes from it. At the end the results
 * must be those of an uninterrupted run, except the jobs that were
 * running at a kill, which the running-job rule marks crash (or pass for
 * noreturn jobs).
 */
#include "base/buf.h"
#include "base/common.h"
#include "base/rng.h"
#include "store/store-internal.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#define NJOBS	  200
#define MIN_KILLS 50

enum { M_NONE, M_WRITE, M_RUNNING, M_COMMITTED, M_EXTERNAL, M_COUNT };
/* M_EXTERNAL: the writer holds after a few more reports (run_writer) */
static const char *const mode_names[] = { "none", "write", "running",
					  "committed", "hold" };

struct round {
	char id[PT_STORE_ID_LEN + 1];
	bool reported[NJOBS];
	int crash_reported; /* job index from an X line, or -1 */
	char crash_outcome[32];
	int status;
};

static const char *repo(void)
{
	return pt_test_path("repo");
}

static int job_index(const char *id)
{
	int i;

	if (sscanf(id, "ns::job-%d", &i) != 1 || i < 0 || i >= NJOBS)
		PT_FAIL("bad job id '%s'", id);
	return i;
}

static void handle_line(struct round *rd, const char *line)
{
	char a[64] = { 0 }, b[64] = { 0 };

	if (line[0] == 'S' && sscanf(line, "S %16s", rd->id) == 1)
		return;
	if (line[0] == 'R' && sscanf(line, "R %63s", a) == 1) {
		int i = job_index(a);
		PT_ASSERT(!rd->reported[i]);
		rd->reported[i] = true;
		return;
	}
	if (line[0] == 'X' && sscanf(line, "X %63s %31s", a, b) == 2) {
		rd->crash_reported = job_index(a);
		snprintf(rd->crash_outcome, sizeof(rd->crash_outcome), "%s", b);
		return;
	}
	PT_FAIL("bad report line '%s'", line);
}

/*
 * Runs the writer once; with M_EXTERNAL, kills it after `arg` reports.
 * Returns the number of R lines read.
 */
static int run_writer(const char *id, int mode, long arg, struct round *rd,
		      bool group)
{
	char mname[32];
	const char *exe = getenv("PT_CRASH_WRITER");
	char njobs[16], karg[24];
	struct pt_buf line = PT_BUF_INIT;
	int fds[2], nrep = 0;
	bool killed = false;
	pid_t pid;

	PT_ASSERT_NOT_NULL(exe);
	snprintf(njobs, sizeof(njobs), "%d", NJOBS);
	/* external: killed after arg reports; the writer goes on for up to
	 * 8 more (how far depends on timing), then waits for the kill */
	snprintf(karg, sizeof(karg), "%ld",
		 mode == M_EXTERNAL ? arg + 1 + arg % 8 : arg);
	snprintf(mname, sizeof(mname), "%s%s", group ? "group-" : "",
		 mode_names[mode]);
	PT_ASSERT_OK(pipe(fds));
	pid = fork();
	PT_ASSERT_INT_GE(pid, 0);
	if (pid == 0) {
		if (dup2(fds[1], 3) < 0)
			_exit(127);
		execl(exe, exe, repo(), id, njobs, mname, karg, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	rd->crash_reported = -1;
	if (mode == M_EXTERNAL && arg == 0) {
		kill(pid, SIGKILL);
		killed = true;
	}
	for (;;) {
		char buf[512];
		ssize_t n;

		PT_ASSERT(pt_test_wait_fd(fds[0], POLLIN, 20000));
		n = read(fds[0], buf, sizeof(buf));
		PT_ASSERT_INT_GE(n, 0);
		if (n == 0)
			break;
		PT_ASSERT_OK(pt__buf_add(&line, buf, (size_t)n));
		for (char *nl; (nl = memchr(line.s, '\n', line.len));) {
			size_t len = (size_t)(nl - line.s) + 1;
			*nl = '\0';
			handle_line(rd, line.s);
			if (line.s[0] == 'R')
				nrep++;
			memmove(line.s, line.s + len, line.len - len);
			pt__buf_truncate(&line, line.len - len);
		}
		if (mode == M_EXTERNAL && !killed && nrep >= arg) {
			kill(pid, SIGKILL);
			killed = true;
		}
	}
	/* A partial line means the writer died mid-report: not counted. */
	close(fds[0]);
	PT_ASSERT_INT_EQ(waitpid(pid, &rd->status, 0), pid);
	pt__buf_release(&line);
	return nrep;
}

static bool integrity_ok(const char *dir)
{
	struct pt_buf p = PT_BUF_INIT;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	bool ok = false;

	pt__buf_addf(&p, "%s/session.db", dir);
	if (sqlite3_open_v2(p.s, &db, SQLITE_OPEN_READONLY, NULL) ==
		    SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		ok = !strcmp((const char *)sqlite3_column_text(st, 0), "ok");
	if (!ok)
		fprintf(stderr, "integrity_check: %s\n",
			st ? (const char *)sqlite3_column_text(st, 0) : "?");
	sqlite3_finalize(st);
	sqlite3_close(db);
	pt__buf_release(&p);
	return ok;
}

/* Loads the session read-only (a reader, like `proctor show`). */
static struct pt_store_state *load(const char *id, struct pt_store **ret)
{
	struct pt_store_state *st = NULL;
	struct pt_store *s = NULL;

	PT_ASSERT_OK(pt_store_open(repo(), id, PT_STORE_READ, NULL, &s));
	PT_ASSERT(integrity_ok(pt_store_dir(s)));
	PT_ASSERT_OK(pt_store_load(s, &st));
	*ret = s;
	return st;
}

struct expect {
	struct pt_result r;
	char comments[64];
	bool set;
};

static void same_result(const struct pt_result *a, const struct expect *e,
			int job)
{
	if (a->outcome != e->r.outcome || a->return_code != e->r.return_code ||
	    a->duration != e->r.duration || a->attempt != e->r.attempt ||
	    a->started_ns != e->r.started_ns ||
	    strcmp(a->comments ? a->comments : "", e->comments) != 0)
		PT_FAIL("job %d: got %s rc %d dur %g att %u start %" PRId64
			" '%s', expected %s rc %d dur %g att %u start %" PRId64
			" '%s'",
			job, pt_outcome_name(a->outcome), a->return_code,
			a->duration, a->attempt, a->started_ns,
			a->comments ? a->comments : "",
			pt_outcome_name(e->r.outcome), e->r.return_code,
			e->r.duration, e->r.attempt, e->r.started_ns,
			e->comments);
}

/*
 * Kills the writer at min_kills points or more, then checks the final
 * state. group: the writer commits as proctor run does at -jN (results
 * grouped, reported once their group is committed; no running marks).
 */
static void crash_rounds(bool group, int min_kills)
{
	static struct round rd;
	static struct expect ref[NJOBS];
	static bool ever_reported[NJOBS], crashed[NJOBS];
	struct pt_store_state *st;
	struct pt_store *s;
	struct pt_rng rng;
	char id[PT_STORE_ID_LEN + 1];
	int kills = 0, by_mode[M_COUNT] = { 0 }, rounds = 0, pending = -1;
	bool finished = false;

	pt__rng_seed(&rng, pt_test_seed());

	/* The reference: one uninterrupted run. */
	memset(ref, 0, sizeof(ref));
	memset(ever_reported, 0, sizeof(ever_reported));
	memset(crashed, 0, sizeof(crashed));
	memset(&rd, 0, sizeof(rd));
	run_writer("new", M_NONE, 0, &rd, group);
	PT_ASSERT(WIFEXITED(rd.status) && WEXITSTATUS(rd.status) == 0);
	st = load(rd.id, &s);
	PT_ASSERT_UINT_EQ(st->n_results, NJOBS);
	for (size_t k = 0; k < st->n_results; k++) {
		int i = job_index(st->results[k].job_id);
		PT_ASSERT(!ref[i].set);
		ref[i].set = true;
		ref[i].r = st->results[k].r;
		snprintf(ref[i].comments, sizeof(ref[i].comments), "%s",
			 st->results[k].r.comments);
	}
	pt_store_state_free(st);
	pt_store_free(s);

	/* The interrupted session. */
	snprintf(id, sizeof(id), "new");
	while (!finished) {
		/* Kill points until the session completes (a point beyond
		 * the remaining work lets the writer finish). */
		int mode = rounds >= 400 ? M_NONE : 1 + rounds % (M_COUNT - 1);
		long arg = 0;

		if (group && mode == M_RUNNING)
			mode = M_EXTERNAL; /* no running marks to kill after */
		switch (mode) {
		case M_WRITE:
			arg = 1 + (long)pt__rng_below(&rng, 30);
			break;
		case M_RUNNING:
		case M_COMMITTED:
			arg = 1 + (long)pt__rng_below(&rng, 4);
			break;
		case M_EXTERNAL:
			arg = (long)pt__rng_below(&rng, 4);
			break;
		}
		memset(&rd, 0, sizeof(rd));
		run_writer(id, mode, arg, &rd, group);
		rounds++;
		PT_ASSERT(rounds < 500);
		if (!strcmp(id, "new")) {
			if (!rd.id[0]) {
				/* Killed before the session was announced. */
				PT_ASSERT(WIFSIGNALED(rd.status));
				continue;
			}
			snprintf(id, sizeof(id), "%s", rd.id);
		}
		if (WIFSIGNALED(rd.status)) {
			PT_ASSERT_INT_EQ(WTERMSIG(rd.status), SIGKILL);
			kills++;
			by_mode[mode]++;
		} else {
			PT_ASSERT(WIFEXITED(rd.status));
			PT_ASSERT_INT_EQ(WEXITSTATUS(rd.status), 0);
			finished = true;
		}
		/* The rule was applied to the job we saw running. */
		if (rd.crash_reported >= 0) {
			PT_ASSERT_INT_EQ(rd.crash_reported, pending);
			PT_ASSERT_STR_EQ(rd.crash_outcome,
					 pending % 37 == 36 ? "pass" : "crash");
		}
		for (int i = 0; i < NJOBS; i++) {
			/* A job is reported once in the whole session. */
			if (rd.reported[i])
				PT_ASSERT(!ever_reported[i]);
			ever_reported[i] |= rd.reported[i];
		}

		/* Check the storage the writer left behind. */
		st = load(id, &s);
		{
			static int count[NJOBS];
			memset(count, 0, sizeof(count));
			for (size_t k = 0; k < st->n_results; k++)
				count[job_index(st->results[k].job_id)]++;
			for (int i = 0; i < NJOBS; i++) {
				/* No duplicate. */
				PT_ASSERT_INT_LE(count[i], 1);
				/* No committed (reported) result lost. */
				if (ever_reported[i])
					PT_ASSERT_INT_EQ(count[i], 1);
			}
			pending = -1;
			if (st->meta.running_job) {
				int i = job_index(st->meta.running_job);
				if (!count[i]) {
					pending = i;
					crashed[i] = true;
				}
			}
		}
		PT_ASSERT_UINT_EQ(st->n_desired, NJOBS);
		pt_store_state_free(st);
		pt_store_free(s);
	}
	PT_ASSERT_INT_GE(kills, min_kills);
	for (int m = M_WRITE; m < M_COUNT; m++)
		PT_ASSERT_INT_GT(by_mode[m], group && m == M_RUNNING ? -1 : 0);

	/* Final state: the reference, except the crashed jobs. */
	st = load(id, &s);
	PT_ASSERT_UINT_EQ(st->n_results, NJOBS);
	PT_ASSERT_UINT_EQ(st->n_desired, NJOBS);
	PT_ASSERT_NULL(st->meta.running_job);
	PT_ASSERT_UINT_EQ(st->meta.n_flags, 0);
	{
		int ncrash = 0;
		for (size_t k = 0; k < st->n_results; k++) {
			int i = job_index(st->results[k].job_id);
			struct expect e = ref[i];

			if (crashed[i]) {
				bool nr = i % 37 == 36;
				ncrash++;
				e.r.outcome =
					nr ? PT_OUTCOME_PASS : PT_OUTCOME_CRASH;
				e.r.return_code = 0;
				e.r.duration = -1;
				snprintf(e.comments, sizeof(e.comments),
					 "%s after resuming execution",
					 nr ? "Passed" : "Crashed");
			}
			same_result(&st->results[k].r, &e, i);
		}
		/* Grouped results are never marked: they run again. */
		if (group)
			PT_ASSERT_INT_EQ(ncrash, 0);
		else
			PT_ASSERT_INT_GT(ncrash, 0);
		fprintf(stderr,
			"# %s: %d rounds, %d kills (write %d, running %d, "
			"committed %d, external %d), %d jobs marked by the "
			"running-job rule\n",
			group ? "grouped" : "one commit per result", rounds,
			kills, by_mode[M_WRITE], by_mode[M_RUNNING],
			by_mode[M_COMMITTED], by_mode[M_EXTERNAL], ncrash);
	}
	pt_store_state_free(st);
	pt_store_free(s);
}

PT_TEST_TIMEOUT(crash_kill9_at_50_points_and_resume, 120)
{
	crash_rounds(false, MIN_KILLS);
}

/*
 * The same with grouped commits: whatever point the writer dies at, no
 * reported result is lost or doubled, and the jobs of a group that was
 * not committed run again (the final results equal the reference).
 */
PT_TEST_TIMEOUT(crash_kill9_with_group_commit_and_resume, 120)
{
	crash_rounds(true, 15);
}
