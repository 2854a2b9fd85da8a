/*
 * Tests of src/store: repository, ids, lock, metadata, snapshot, results,
 * resources, resume helpers, io logs, attachments and I/O faults.
 */
#include "base/common.h"
#include "base/diag.h"
#include "base/str.h"
#include "os/clock.h"
#include "os/fd.h"
#include "os/file.h"
#include "store/store-internal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

static const char *repo(void)
{
	return pt_test_path("repo");
}

static struct pt_store *create(const char *title)
{
	struct pt_store_meta m = { .title = title };
	struct pt_store *s = NULL;

	PT_ASSERT_OK(pt_store_create(repo(), &m, NULL, &s));
	return s;
}

static const char *diag_msg(struct pt_diags *d)
{
	const struct pt_diag *x = pt_diags_get(d, pt_diags_count(d) - 1);
	return x ? x->message : "(none)";
}

static struct pt_result res(enum pt_outcome o, unsigned attempt)
{
	struct pt_result r = { .outcome = o,
			       .return_code = 0,
			       .duration = 0.5,
			       .attempt = attempt,
			       .started_ns = 42 };
	return r;
}

PT_TEST(repository_path_from_environment)
{
	char *p = NULL;

	setenv("PROCTOR_SESSION_REPOSITORY", "/x/repo", 1);
	PT_ASSERT_OK(pt_store_repository(&p));
	PT_ASSERT_STR_EQ(p, "/x/repo");
	pt_free(p);
	unsetenv("PROCTOR_SESSION_REPOSITORY");
	setenv("XDG_CACHE_HOME", "/x/cache", 1);
	PT_ASSERT_OK(pt_store_repository(&p));
	PT_ASSERT_STR_EQ(p, "/x/cache/proctor/sessions");
	pt_free(p);
	unsetenv("XDG_CACHE_HOME");
	setenv("HOME", "/x/home", 1);
	PT_ASSERT_OK(pt_store_repository(&p));
	PT_ASSERT_STR_EQ(p, "/x/home/.cache/proctor/sessions");
	pt_free(p);
}

PT_TEST(absent_repository_lists_empty)
{
	struct pt_store_list *l = NULL;

	PT_ASSERT_OK(pt_store_list(pt_test_path("nope"), &l));
	PT_ASSERT_UINT_EQ(l->n, 0);
	pt_store_list_free(l);
	PT_ASSERT_INT_EQ(access(pt_test_path("nope"), F_OK), -1);
}

PT_TEST(create_makes_layout_and_last_session)
{
	struct pt_store *s = create("first");
	struct pt_buf p = PT_BUF_INIT;
	char *last = NULL, link[64];
	struct stat st;
	ssize_t n;

	PT_ASSERT(pt__store_id_valid(pt_store_id(s)));
	PT_ASSERT_OK(stat(repo(), &st));
	PT_ASSERT_INT_EQ(st.st_mode & 0777, 0700);
	PT_ASSERT_OK(stat(pt_store_dir(s), &st));
	PT_ASSERT_INT_EQ(st.st_mode & 0777, 0700);
	PT_ASSERT_OK(pt__buf_addf(&p, "%s/session.db", pt_store_dir(s)));
	PT_ASSERT_OK(access(p.s, F_OK));
	pt__buf_reset(&p);
	PT_ASSERT_OK(pt__buf_addf(&p, "%s/io-logs", pt_store_dir(s)));
	PT_ASSERT_OK(access(p.s, F_OK));
	pt__buf_reset(&p);
	PT_ASSERT_OK(pt__buf_addf(&p, "%s/attachments", pt_store_dir(s)));
	PT_ASSERT_OK(access(p.s, F_OK));
	n = readlink(pt_test_path("repo/last-session"), link, sizeof(link) - 1);
	PT_ASSERT_INT_EQ(n, PT_STORE_ID_LEN);
	link[n] = 0;
	PT_ASSERT_STR_EQ(link, pt_store_id(s));
	PT_ASSERT_OK(pt_store_last(repo(), &last));
	PT_ASSERT_STR_EQ(last, pt_store_id(s));
	pt_free(last);
	pt__buf_release(&p);
	pt_store_free(s);
}

PT_TEST(concurrent_creations_get_distinct_ids)
{
	enum { PROCS = 8, EACH = 25 };
	struct pt_store_list *l = NULL;
	char ids[PROCS * EACH][PT_STORE_ID_LEN + 1];
	int fds[2];
	size_t got = 0;

	PT_ASSERT_OK(pipe(fds));
	for (int p = 0; p < PROCS; p++) {
		pid_t pid = fork();
		PT_ASSERT_INT_GE(pid, 0);
		if (pid == 0) {
			close(fds[0]);
			for (int i = 0; i < EACH; i++) {
				struct pt_store *s = NULL;
				if (pt_store_create(repo(), NULL, NULL, &s) < 0)
					_exit(1);
				if (write(fds[1], pt_store_id(s),
					  PT_STORE_ID_LEN) != PT_STORE_ID_LEN)
					_exit(1);
				pt_store_free(s);
			}
			_exit(0);
		}
	}
	close(fds[1]);
	while (got < PROCS * EACH) {
		ssize_t n;
		PT_ASSERT(pt_test_wait_fd(fds[0], POLLIN, 20000));
		n = read(fds[0], ids[got], PT_STORE_ID_LEN);
		PT_ASSERT_INT_EQ(n, PT_STORE_ID_LEN);
		ids[got][PT_STORE_ID_LEN] = 0;
		got++;
	}
	close(fds[0]);
	for (int p = 0; p < PROCS; p++) {
		int status;
		PT_ASSERT_INT_GT(wait(&status), 0);
		PT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	for (size_t i = 0; i < got; i++)
		for (size_t j = i + 1; j < got; j++)
			PT_ASSERT(strcmp(ids[i], ids[j]) != 0);
	PT_ASSERT_OK(pt_store_list(repo(), &l));
	PT_ASSERT_UINT_EQ(l->n, PROCS * EACH);
	for (size_t i = 0; i < l->n; i++)
		PT_ASSERT_INT_EQ(l->v[i].error, 0);
	pt_store_list_free(l);
}

PT_TEST(second_writer_is_refused_with_pid)
{
	struct pt_store *s = create("locked"), *t = NULL;
	struct pt_diags *d = NULL;
	struct pt_buf id = PT_BUF_INIT;
	char want[64];

	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_ERR(
		pt_store_open(repo(), pt_store_id(s), PT_STORE_WRITE, d, &t),
		PT_ELOCKED);
	PT_ASSERT_NULL(t);
	snprintf(want, sizeof(want), "session is locked by pid %d",
		 (int)getpid());
	PT_ASSERT_STR_EQ(diag_msg(d), want);
	/* A reader is fine, and peek reports the owner. */
	PT_ASSERT_OK(
		pt_store_open(repo(), pt_store_id(s), PT_STORE_READ, d, &t));
	PT_ASSERT_ERR(pt_store_set_flag(t, "x", true), PT_ESTATE);
	pt_store_free(t);
	{
		struct pt_store_info *info = NULL;
		PT_ASSERT_OK(pt_store_peek(repo(), NULL, d, &info));
		PT_ASSERT_INT_EQ(info->lock_pid, getpid());
		PT_ASSERT_STR_EQ(info->meta.title, "locked");
		pt_store_info_free(info);
	}
	/* After the writer is gone, a new writer gets in. */
	PT_ASSERT_OK(pt__buf_adds(&id, pt_store_id(s)));
	PT_ASSERT_NULL(pt_store_free(s));
	PT_ASSERT_OK(pt_store_open(repo(), id.s, PT_STORE_WRITE, d, &t));
	pt_store_free(t);
	pt__buf_release(&id);
	pt_diags_free(d);
}

PT_TEST(dead_writer_leaves_no_lock)
{
	struct pt_store *t = NULL;
	char id[PT_STORE_ID_LEN + 1] = { 0 };
	int fds[2], status;
	pid_t pid;

	PT_ASSERT_OK(pipe(fds));
	pid = fork();
	if (pid == 0) {
		struct pt_store *s = NULL;
		if (pt_store_create(repo(), NULL, NULL, &s) < 0)
			_exit(1);
		if (write(fds[1], pt_store_id(s), PT_STORE_ID_LEN) < 0)
			_exit(1);
		raise(SIGKILL);
	}
	PT_ASSERT_INT_EQ(waitpid(pid, &status, 0), pid);
	PT_ASSERT(WIFSIGNALED(status));
	PT_ASSERT_INT_EQ(read(fds[0], id, PT_STORE_ID_LEN), PT_STORE_ID_LEN);
	PT_ASSERT_OK(pt_store_open(repo(), id, PT_STORE_WRITE, NULL, &t));
	PT_ASSERT_INT_EQ(pt_store_break_lock(repo(), id, NULL), PT_ELOCKED);
	pt_store_free(t);
	PT_ASSERT_INT_EQ(pt_store_break_lock(repo(), id, NULL), 0);
	close(fds[0]);
	close(fds[1]);
}

PT_TEST(break_lock_only_when_owner_dead)
{
	char id[PT_STORE_ID_LEN + 1] = { 0 };
	int ids[2], hold[2], status;
	struct pt_store *t = NULL;
	struct pt_diags *d = NULL;
	pid_t a, b = 0; /* b: the grandchild, for the record */

	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_OK(pipe(ids));
	PT_ASSERT_OK(pipe(hold));
	a = fork();
	if (a == 0) {
		/* A creates, forks B that inherits the lock, and dies. */
		struct pt_store *s = NULL;
		pid_t bb;
		if (pt_store_create(repo(), NULL, NULL, &s) < 0)
			_exit(1);
		bb = fork();
		if (bb == 0) {
			char c;
			close(hold[1]);
			(void)!read(hold[0], &c, 1); /* until the test ends */
			_exit(0);
		}
		if (write(ids[1], pt_store_id(s), PT_STORE_ID_LEN) < 0 ||
		    write(ids[1], &bb, sizeof(bb)) < 0)
			_exit(1);
		_exit(0);
	}
	close(hold[0]);
	PT_ASSERT_INT_EQ(waitpid(a, &status, 0), a);
	PT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	PT_ASSERT_INT_EQ(read(ids[0], id, PT_STORE_ID_LEN), PT_STORE_ID_LEN);
	PT_ASSERT_INT_EQ(read(ids[0], &b, sizeof(b)), sizeof(b));
	/* Still locked (B holds the descriptor), by a dead pid: stale. */
	PT_ASSERT_ERR(pt_store_open(repo(), id, PT_STORE_WRITE, d, &t),
		      PT_ELOCKED);
	PT_ASSERT_INT_EQ(pt_store_break_lock(repo(), id, d), 1);
	PT_ASSERT_OK(pt_store_open(repo(), id, PT_STORE_WRITE, d, &t));
	/* Now the owner (us) is alive: breaking is refused. */
	PT_ASSERT_ERR(pt_store_break_lock(repo(), id, d), PT_ELOCKED);
	pt_store_free(t);
	close(hold[1]); /* B (not our child) exits on EOF */
	close(ids[0]);
	close(ids[1]);
	pt_diags_free(d);
}

PT_TEST(metadata_roundtrip_and_peek)
{
	const char *flags[] = { "incomplete", "bootstrapping", "incomplete" };
	const char *rejected[] = { "r1", "r2" };
	const struct pt_store_kv plan[] = { { "path", "/p/a" },
					    { "path", "/p/b" },
					    { "test-plan", "ns::tp" } };
	struct pt_store_meta m = {
		.title = "T",
		.flags = flags,
		.n_flags = 3,
		.running_job = "j1",
		.running_attempt = 2,
		.app_id = "app",
		.app_blob = "\0blob",
		.app_blob_len = 5,
		.custom_joblist = true,
		.rejected = rejected,
		.n_rejected = 2,
		.last_job_start_ns = 7,
		.started_ns = 11,
		.total_jobs = 9,
		.plan = plan,
		.n_plan = 3,
	};
	struct pt_store *s = NULL;
	struct pt_store_info *info = NULL;
	const struct pt_store_meta *g;

	PT_ASSERT_OK(pt_store_create(repo(), &m, NULL, &s));
	PT_ASSERT_OK(pt_store_peek(repo(), pt_store_id(s), NULL, &info));
	g = &info->meta;
	PT_ASSERT_STR_EQ(info->id, pt_store_id(s));
	PT_ASSERT_STR_EQ(g->title, "T");
	PT_ASSERT_UINT_EQ(g->n_flags, 2);
	PT_ASSERT_STR_EQ(g->flags[0], "bootstrapping");
	PT_ASSERT_STR_EQ(g->flags[1], "incomplete");
	PT_ASSERT_STR_EQ(g->running_job, "j1");
	PT_ASSERT_UINT_EQ(g->running_attempt, 2);
	PT_ASSERT_STR_EQ(g->app_id, "app");
	PT_ASSERT_UINT_EQ(g->app_blob_len, 5);
	PT_ASSERT_MEM_EQ(g->app_blob, "\0blob", 5);
	PT_ASSERT(g->custom_joblist);
	PT_ASSERT_UINT_EQ(g->n_rejected, 2);
	PT_ASSERT_STR_EQ(g->rejected[1], "r2");
	PT_ASSERT_INT_EQ(g->last_job_start_ns, 7);
	PT_ASSERT_INT_EQ(g->started_ns, 11);
	PT_ASSERT_UINT_EQ(g->n_plan, 3);
	PT_ASSERT_STR_EQ(g->plan[1].value, "/p/b");
	PT_ASSERT_STR_EQ(g->plan[2].key, "test-plan");
	PT_ASSERT_UINT_EQ(info->n_total, 9);
	PT_ASSERT_UINT_EQ(info->n_done, 0);
	pt_store_info_free(info);
	/* Flags and running job change one at a time. */
	PT_ASSERT_OK(pt_store_set_flag(s, "submitted", true));
	PT_ASSERT_OK(pt_store_set_flag(s, "incomplete", false));
	PT_ASSERT_OK(pt_store_set_running(s, NULL, 0, 0));
	PT_ASSERT_OK(pt_store_peek(repo(), NULL, NULL, &info));
	PT_ASSERT_UINT_EQ(info->meta.n_flags, 2);
	PT_ASSERT_STR_EQ(info->meta.flags[1], "submitted");
	PT_ASSERT_NULL(info->meta.running_job);
	PT_ASSERT_INT_EQ(info->meta.last_job_start_ns, 7);
	pt_store_info_free(info);
	pt_store_free(s);
}

PT_TEST(snapshot_results_resources_roundtrip)
{
	struct pt_store *s = create("rt"), *r2 = NULL;
	const struct pt_store_job jobs[] = {
		{ "b", "c1", 0, "u.pxu:1", "id: b\n" },
		{ "a", "c2", PT_STORE_JOB_NORETURN, NULL, NULL },
		{ "res", "c3", PT_STORE_JOB_RESOURCE, "u.pxu:9", NULL },
	};
	const struct pt_store_job gen = { "a", "c2b", PT_STORE_JOB_GENERATED,
					  "t.pxu:3", NULL };
	const char *desired[] = { "a", "b" };
	const struct pt_store_kv r0[] = { { "name", "x" }, { "v", "1" } };
	const struct pt_store_kv r1[] = { { "name", "y" } };
	const struct pt_store_record recs[] = { { 2, r0 }, { 1, r1 } };
	struct pt_result x = res(PT_OUTCOME_FAIL, 1);
	struct pt_store_state *st = NULL;
	char *text = NULL;

	PT_ASSERT_OK(pt_store_put_jobs(s, jobs, 3));
	PT_ASSERT_OK(pt_store_put_jobs(s, &gen, 1));
	PT_ASSERT_OK(pt_store_set_desired(s, desired, 2));
	x.comments = "boom";
	x.io_log = "io-logs/b.1.log";
	x.return_code = 3;
	PT_ASSERT_OK(pt_store_commit_result(s, "b", &x, PT_SYNC_NORMAL));
	x = res(PT_OUTCOME_PASS, 2);
	PT_ASSERT_OK(pt_store_commit_result(s, "b", &x, PT_SYNC_FULL));
	PT_ASSERT_OK(pt_store_begin(s));
	x = res(PT_OUTCOME_PASS, 1);
	PT_ASSERT_OK(pt_store_commit_result(s, "res", &x, PT_SYNC_NORMAL));
	PT_ASSERT_OK(pt_store_put_resource(s, "res", recs, 2));
	PT_ASSERT_OK(pt_store_commit(s, PT_SYNC_NORMAL));

	/* Another handle (reader) sees everything. */
	PT_ASSERT_OK(pt_store_open(repo(), pt_store_id(s), PT_STORE_READ, NULL,
				   &r2));
	PT_ASSERT_OK(pt_store_load(r2, &st));
	PT_ASSERT_UINT_EQ(st->n_jobs, 3);
	PT_ASSERT_STR_EQ(st->jobs[0].id, "b");
	PT_ASSERT_STR_EQ(st->jobs[0].origin, "u.pxu:1");
	PT_ASSERT_NULL(st->jobs[0].text);
	PT_ASSERT_STR_EQ(st->jobs[1].id, "a");
	PT_ASSERT_STR_EQ(st->jobs[1].checksum, "c2b");
	PT_ASSERT_UINT_EQ(st->jobs[1].flags, PT_STORE_JOB_GENERATED);
	PT_ASSERT_UINT_EQ(st->n_desired, 2);
	PT_ASSERT_STR_EQ(st->desired[0], "a");
	PT_ASSERT_UINT_EQ(st->n_results, 3);
	PT_ASSERT_STR_EQ(st->results[0].job_id, "b");
	PT_ASSERT_INT_EQ(st->results[0].r.outcome, PT_OUTCOME_FAIL);
	PT_ASSERT_INT_EQ(st->results[0].r.return_code, 3);
	PT_ASSERT_STR_EQ(st->results[0].r.comments, "boom");
	PT_ASSERT_STR_EQ(st->results[0].r.io_log, "io-logs/b.1.log");
	PT_ASSERT(st->results[0].r.duration == 0.5);
	PT_ASSERT_INT_EQ(st->results[0].r.started_ns, 42);
	PT_ASSERT_UINT_EQ(st->results[1].r.attempt, 2);
	PT_ASSERT_NULL(st->results[1].r.comments);
	PT_ASSERT_STR_EQ(st->results[2].job_id, "res");
	PT_ASSERT_UINT_EQ(st->n_resources, 1);
	PT_ASSERT_STR_EQ(st->resources[0].job_id, "res");
	PT_ASSERT_UINT_EQ(st->resources[0].n_records, 2);
	PT_ASSERT_UINT_EQ(st->resources[0].records[0].n, 2);
	PT_ASSERT_STR_EQ(st->resources[0].records[0].kv[1].key, "v");
	PT_ASSERT_STR_EQ(st->resources[0].records[1].kv[0].value, "y");
	pt_store_state_free(st);
	PT_ASSERT_OK(pt_store_job_text(r2, "b", &text));
	PT_ASSERT_STR_EQ(text, "id: b\n");
	pt_free(text);
	PT_ASSERT_ERR(pt_store_job_text(r2, "a", &text), PT_ENOTFOUND);
	pt_store_free(r2);

	/* A resource replaced by fewer records. */
	PT_ASSERT_OK(pt_store_put_resource(s, "res", recs + 1, 1));
	PT_ASSERT_OK(pt_store_load(s, &st));
	PT_ASSERT_UINT_EQ(st->resources[0].n_records, 1);
	PT_ASSERT_STR_EQ(st->resources[0].records[0].kv[0].value, "y");
	pt_store_state_free(st);
	pt_store_free(s);
}

PT_TEST(readers_do_not_block_writer_and_see_only_commits)
{
	struct pt_store *s = create("wal"), *r = NULL;
	struct pt_store_state *st = NULL;
	struct pt_store_info *info = NULL;
	struct pt_result x = res(PT_OUTCOME_PASS, 1);

	PT_ASSERT_OK(pt_store_commit_result(s, "one", &x, PT_SYNC_NORMAL));
	PT_ASSERT_OK(pt_store_open(repo(), NULL, PT_STORE_READ, NULL, &r));
	PT_ASSERT_OK(pt_store_begin(s));
	PT_ASSERT_OK(pt_store_commit_result(s, "two", &x, PT_SYNC_NORMAL));
	/* Writer mid-transaction: the reader reads the last commit. */
	PT_ASSERT_OK(pt_store_load(r, &st));
	PT_ASSERT_UINT_EQ(st->n_results, 1);
	pt_store_state_free(st);
	PT_ASSERT_OK(pt_store_peek(repo(), NULL, NULL, &info));
	PT_ASSERT_UINT_EQ(info->n_done, 1);
	pt_store_info_free(info);
	/* A reader holding a read transaction does not block the commit. */
	PT_ASSERT_OK(pt__store_exec(r, "BEGIN; SELECT count(*) FROM results"));
	PT_ASSERT_OK(pt_store_commit(s, PT_SYNC_NORMAL));
	x = res(PT_OUTCOME_FAIL, 1);
	PT_ASSERT_OK(pt_store_commit_result(s, "three", &x, PT_SYNC_FULL));
	PT_ASSERT_OK(pt__store_exec(r, "COMMIT"));
	PT_ASSERT_OK(pt_store_load(r, &st));
	PT_ASSERT_UINT_EQ(st->n_results, 3);
	pt_store_state_free(st);
	pt_store_free(r);
	pt_store_free(s);
}

/* Result ids of a store as read by a reader, "a,b,c". */
static void read_ids(struct pt_store *r, char *buf, size_t size)
{
	struct pt_store_state *st = NULL;
	size_t used = 0;

	buf[0] = 0;
	PT_ASSERT_OK(pt_store_load(r, &st));
	for (size_t k = 0; k < st->n_results; k++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s",
					 k ? "," : "", st->results[k].job_id);
	pt_store_state_free(st);
}

PT_TEST(group_results_are_durable_only_once_committed)
{
	struct pt_store *s = create("group"), *r = NULL;
	struct pt_store_state *st = NULL;
	struct pt_store_info *info = NULL;
	struct pt_result x = res(PT_OUTCOME_PASS, 1), y = x;
	char comments[] = "note", io[] = "io-logs/b.1", ids[64];

	PT_ASSERT_OK(pt_store_open(repo(), NULL, PT_STORE_READ, NULL, &r));
	PT_ASSERT_INT_EQ(pt_store_group_due_ns(s), -1);
	PT_ASSERT_INT_EQ(pt_store_group_add(s, "a", &x), 1);
	y.comments = comments;
	y.io_log = io;
	y.attempt = 2;
	PT_ASSERT_INT_EQ(pt_store_group_add(s, "b", &y), 2);
	/* The store keeps its own copies. */
	comments[0] = io[0] = 'X';
	PT_ASSERT_UINT_EQ(pt_store_group_pending(s), 2);
	read_ids(r, ids, sizeof(ids));
	PT_ASSERT_STR_EQ(ids, "");
	PT_ASSERT_OK(pt_store_peek(repo(), NULL, NULL, &info));
	PT_ASSERT_UINT_EQ(info->n_done, 0);
	pt_store_info_free(info);
	PT_ASSERT_OK(pt_store_group_commit(s));
	PT_ASSERT_UINT_EQ(pt_store_group_pending(s), 0);
	PT_ASSERT_INT_EQ(pt_store_group_due_ns(s), -1);
	PT_ASSERT_OK(pt_store_group_commit(s)); /* nothing waits: no-op */
	PT_ASSERT_OK(pt_store_load(r, &st));
	PT_ASSERT_UINT_EQ(st->n_results, 2);
	PT_ASSERT_STR_EQ(st->results[0].job_id, "a");
	PT_ASSERT_NULL(st->results[0].r.comments);
	PT_ASSERT_STR_EQ(st->results[1].job_id, "b");
	PT_ASSERT_STR_EQ(st->results[1].r.comments, "note");
	PT_ASSERT_STR_EQ(st->results[1].r.io_log, "io-logs/b.1");
	PT_ASSERT_UINT_EQ(st->results[1].r.attempt, 2);
	PT_ASSERT(st->results[1].r.duration == 0.5);
	PT_ASSERT_INT_EQ(st->results[1].r.started_ns, 42);
	pt_store_state_free(st);
	PT_ASSERT_OK(pt_store_peek(repo(), NULL, NULL, &info));
	PT_ASSERT_UINT_EQ(info->n_done, 2);
	pt_store_info_free(info);
	/* A group never committed is lost with the writer. */
	PT_ASSERT_INT_EQ(pt_store_group_add(s, "c", &x), 1);
	pt_store_free(s);
	read_ids(r, ids, sizeof(ids));
	PT_ASSERT_STR_EQ(ids, "a,b");
	pt_store_free(r);
}

PT_TEST(group_is_committed_before_any_other_write)
{
	struct pt_store *s = create("group-order"), *r = NULL;
	struct pt_store_state *st = NULL;
	struct pt_result x = res(PT_OUTCOME_PASS, 1);
	char ids[64];

	PT_ASSERT_OK(pt_store_open(repo(), NULL, PT_STORE_READ, NULL, &r));
	PT_ASSERT_INT_EQ(pt_store_group_add(s, "a", &x), 1);
	PT_ASSERT_OK(pt_store_set_running(s, "z", 1, 7));
	read_ids(r, ids, sizeof(ids));
	PT_ASSERT_STR_EQ(ids, "a");
	/* Results keep the order they came in. */
	PT_ASSERT_INT_EQ(pt_store_group_add(s, "c", &x), 1);
	PT_ASSERT_OK(pt_store_commit_result(s, "d", &x, PT_SYNC_NORMAL));
	PT_ASSERT_UINT_EQ(pt_store_group_pending(s), 0);
	read_ids(r, ids, sizeof(ids));
	PT_ASSERT_STR_EQ(ids, "a,c,d");
	/* begin commits the group; inside begin/commit, add joins it. */
	PT_ASSERT_INT_EQ(pt_store_group_add(s, "e", &x), 1);
	PT_ASSERT_OK(pt_store_begin(s));
	PT_ASSERT_INT_EQ(pt_store_group_add(s, "f", &x), 0);
	PT_ASSERT_UINT_EQ(pt_store_group_pending(s), 0);
	PT_ASSERT_OK(pt_store_rollback(s));
	read_ids(r, ids, sizeof(ids));
	PT_ASSERT_STR_EQ(ids, "a,c,d,e");
	/* The running mark survived; a result of z clears it. */
	PT_ASSERT_OK(pt_store_load(r, &st));
	PT_ASSERT_STR_EQ(st->meta.running_job, "z");
	pt_store_state_free(st);
	PT_ASSERT_OK(pt_store_commit_result(s, "z", &x, PT_SYNC_NORMAL));
	PT_ASSERT_OK(pt_store_load(r, &st));
	PT_ASSERT_NULL(st->meta.running_job);
	pt_store_state_free(st);
	/* A checkpoint commits it too. */
	PT_ASSERT_INT_EQ(pt_store_group_add(s, "g", &x), 1);
	PT_ASSERT_OK(pt_store_checkpoint(s, PT_SYNC_FULL));
	read_ids(r, ids, sizeof(ids));
	PT_ASSERT_STR_EQ(ids, "a,c,d,e,z,g");
	pt_store_free(r);
	pt_store_free(s);
}

static int64_t fake_mono;

static int64_t mono_clock(void *ctx, int which)
{
	(void)ctx;
	return which ? 1 : fake_mono;
}

PT_TEST(group_due_time_and_size)
{
	struct pt_store *s = create("group-due"), *r = NULL;
	struct pt_result x = res(PT_OUTCOME_PASS, 1);
	struct pt_store_state *st = NULL;
	char id[16];

	fake_mono = 1000;
	pt__clock_set_fake(mono_clock, NULL);
	PT_ASSERT_INT_EQ(pt_store_group_add(s, "j0", &x), 1);
	PT_ASSERT_INT_EQ(pt_store_group_due_ns(s),
			 1000 + PT_STORE_GROUP_WINDOW_NS);
	/* Due counts from the first result of the group. */
	for (int i = 1; i < PT_STORE_GROUP_MAX - 1; i++) {
		fake_mono += 100;
		snprintf(id, sizeof(id), "j%d", i);
		PT_ASSERT_INT_EQ(pt_store_group_add(s, id, &x), i + 1);
	}
	PT_ASSERT_INT_EQ(pt_store_group_due_ns(s),
			 1000 + PT_STORE_GROUP_WINDOW_NS);
	/* Full: due at once. */
	PT_ASSERT_INT_EQ(pt_store_group_add(s, "full", &x), PT_STORE_GROUP_MAX);
	PT_ASSERT_INT_EQ(pt_store_group_due_ns(s), 1000);
	/* One more commits the full group first and opens a new one. */
	fake_mono = 5000;
	PT_ASSERT_INT_EQ(pt_store_group_add(s, "next", &x), 1);
	PT_ASSERT_INT_EQ(pt_store_group_due_ns(s),
			 5000 + PT_STORE_GROUP_WINDOW_NS);
	pt__clock_set_fake(NULL, NULL);
	PT_ASSERT_OK(pt_store_open(repo(), NULL, PT_STORE_READ, NULL, &r));
	PT_ASSERT_OK(pt_store_load(r, &st));
	PT_ASSERT_UINT_EQ(st->n_results, PT_STORE_GROUP_MAX);
	PT_ASSERT_STR_EQ(st->results[PT_STORE_GROUP_MAX - 1].job_id, "full");
	pt_store_state_free(st);
	pt_store_free(r);
	pt_store_free(s);
}

PT_TEST(group_may_wait_rule_and_bad_input)
{
	struct pt_store *s = create("group-rule"), *r = NULL;
	struct pt_result x = res(PT_OUTCOME_PASS, 1);

	x.duration = 0.05;
	PT_ASSERT(pt_store_group_may_wait(&x));
	x.duration = PT_STORE_GROUP_SHORT_S;
	PT_ASSERT(!pt_store_group_may_wait(&x));
	x.duration = -1;
	PT_ASSERT(!pt_store_group_may_wait(&x));
	x = res(PT_OUTCOME_FAIL, 1);
	x.duration = 0.01;
	PT_ASSERT(!pt_store_group_may_wait(&x));
	x.outcome = PT_OUTCOME_SKIP;
	PT_ASSERT(!pt_store_group_may_wait(&x));
	PT_ASSERT(!pt_store_group_may_wait(NULL));
	x = res(PT_OUTCOME_PASS, 1);
	PT_ASSERT_INT_EQ(pt_store_group_add(s, "", &x), -EINVAL);
	PT_ASSERT_INT_EQ(pt_store_group_add(s, "a", NULL), -EINVAL);
	x.outcome = PT_OUTCOME_COUNT_;
	PT_ASSERT_INT_EQ(pt_store_group_add(s, "a", &x), -EINVAL);
	PT_ASSERT_UINT_EQ(pt_store_group_pending(s), 0);
	PT_ASSERT_OK(pt_store_open(repo(), NULL, PT_STORE_READ, NULL, &r));
	x.outcome = PT_OUTCOME_PASS;
	PT_ASSERT_INT_EQ(pt_store_group_add(r, "a", &x), PT_ESTATE);
	PT_ASSERT_INT_EQ(pt_store_group_commit(r), PT_ESTATE);
	PT_ASSERT_UINT_EQ(pt_store_group_pending(NULL), 0);
	pt_store_free(r);
	pt_store_free(s);
}

PT_TEST(desired_list_never_grows_on_resume)
{
	struct pt_store *s = create("d");
	const char *mandatory[] = { "m1", "m2" };
	const char *first[] = { "m1", "m2", "a", "b", "a" };
	struct pt_store_state *st = NULL;

	PT_ASSERT_OK(pt_store_set_desired(s, first, 5));
	pt_store_free(s);
	for (int round = 0; round < 5; round++) {
		const char *next[16];
		size_t n = 0;

		PT_ASSERT_OK(
			pt_store_open(repo(), NULL, PT_STORE_WRITE, NULL, &s));
		PT_ASSERT_OK(pt_store_load(s, &st));
		PT_ASSERT_UINT_EQ(st->n_desired, 4);
		PT_ASSERT_STR_EQ(st->desired[0], "m1");
		PT_ASSERT_STR_EQ(st->desired[3], "b");
		/* What PlainBox does on resume: mandatory ++ saved. */
		next[n++] = mandatory[0];
		next[n++] = mandatory[1];
		for (size_t i = 0; i < st->n_desired; i++)
			next[n++] = st->desired[i];
		PT_ASSERT_OK(pt_store_set_desired(s, next, n));
		pt_store_state_free(st);
		pt_store_free(s);
	}
}

PT_TEST(running_job_rule)
{
	struct pt_store *s = create("rr");
	const struct pt_store_job jobs[] = {
		{ "j", "c", 0, NULL, NULL },
		{ "nr", "c", PT_STORE_JOB_NORETURN, NULL, NULL },
	};
	struct pt_store_state *st = NULL;
	struct pt_result x = res(PT_OUTCOME_PASS, 1), out;
	const char *job = NULL;

	PT_ASSERT_INT_EQ(pt_store_running_outcome(false, false),
			 PT_OUTCOME_CRASH);
	PT_ASSERT_INT_EQ(pt_store_running_outcome(false, true),
			 PT_OUTCOME_PASS);
	PT_ASSERT_INT_EQ(pt_store_running_outcome(true, false),
			 PT_OUTCOME_NONE);
	PT_ASSERT_OK(pt_store_put_jobs(s, jobs, 2));
	/* Nothing running. */
	PT_ASSERT_OK(pt_store_load(s, &st));
	PT_ASSERT_INT_EQ(pt_store_running_rule(st, -1, &job, &out), 0);
	pt_store_state_free(st);
	/* j running, no result: crash. */
	PT_ASSERT_OK(pt_store_set_running(s, "j", 1, 1234));
	PT_ASSERT_OK(pt_store_load(s, &st));
	PT_ASSERT_INT_EQ(pt_store_running_rule(st, -1, &job, &out), 1);
	PT_ASSERT_STR_EQ(job, "j");
	PT_ASSERT_INT_EQ(out.outcome, PT_OUTCOME_CRASH);
	PT_ASSERT_STR_EQ(out.comments, "Crashed after resuming execution");
	PT_ASSERT_INT_EQ(out.started_ns, 1234);
	PT_ASSERT_UINT_EQ(out.attempt, 1);
	/* The caller's noreturn flag wins over the snapshot. */
	PT_ASSERT_INT_EQ(pt_store_running_rule(st, 1, &job, &out), 1);
	PT_ASSERT_INT_EQ(out.outcome, PT_OUTCOME_PASS);
	pt_store_state_free(st);
	/* Committing clears it. */
	PT_ASSERT_OK(pt_store_commit_result(s, "j", &x, PT_SYNC_NORMAL));
	PT_ASSERT_OK(pt_store_load(s, &st));
	PT_ASSERT_NULL(st->meta.running_job);
	pt_store_state_free(st);
	/* noreturn job running: pass, from the snapshot flag. */
	PT_ASSERT_OK(pt_store_set_running(s, "nr", 1, 99));
	PT_ASSERT_OK(pt_store_load(s, &st));
	PT_ASSERT_INT_EQ(pt_store_running_rule(st, -1, &job, &out), 1);
	PT_ASSERT_STR_EQ(job, "nr");
	PT_ASSERT_INT_EQ(out.outcome, PT_OUTCOME_PASS);
	PT_ASSERT_STR_EQ(out.comments, "Passed after resuming execution");
	pt_store_state_free(st);
	/* Died after the result of attempt 2 was committed but with the
	 * running mark restored (set again, e.g. by an old writer): kept. */
	PT_ASSERT_OK(pt_store_set_running(s, "j", 2, 5));
	x.attempt = 2;
	PT_ASSERT_OK(pt_store_begin(s));
	PT_ASSERT_OK(pt_store_commit_result(s, "j", &x, PT_SYNC_NORMAL));
	PT_ASSERT_OK(pt_store_set_running(s, "j", 2, 5));
	PT_ASSERT_OK(pt_store_commit(s, PT_SYNC_NORMAL));
	PT_ASSERT_OK(pt_store_load(s, &st));
	PT_ASSERT_INT_EQ(pt_store_running_rule(st, -1, &job, &out), 0);
	pt_store_state_free(st);
	pt_store_free(s);
}

PT_TEST(changed_jobs_listed)
{
	struct pt_store *s = create("ch");
	const struct pt_store_job was[] = {
		{ "a", "1", 0, NULL, NULL },
		{ "b", "2", 0, NULL, NULL },
		{ "c", "3", 0, NULL, NULL },
	};
	const struct pt_store_job now[] = {
		{ "c", "3", 0, NULL, NULL },
		{ "a", "1x", 0, NULL, NULL },
		{ "d", "4", 0, NULL, NULL },
	};
	struct pt_store_state *st = NULL;
	const char **ids = NULL;

	PT_ASSERT_OK(pt_store_put_jobs(s, was, 3));
	PT_ASSERT_OK(pt_store_load(s, &st));
	PT_ASSERT_INT_EQ(pt_store_changed_jobs(st, was, 3, NULL), 0);
	PT_ASSERT_INT_EQ(pt_store_changed_jobs(st, now, 3, &ids), 2);
	PT_ASSERT_STR_EQ(ids[0], "a");
	PT_ASSERT_STR_EQ(ids[1], "b"); /* gone counts as changed */
	PT_ASSERT_NULL(ids[2]);
	pt_free(ids);
	pt_store_state_free(st);
	pt_store_free(s);
}

static int nsync;

static int count_fsync(void *ctx, int fd)
{
	(void)ctx;
	(void)fd;
	nsync++;
	return 0;
}

PT_TEST(sync_levels_reach_fsync_only_when_full)
{
	struct pt_store *s = create("sync");
	struct pt_io_faults f = { .before_fsync = count_fsync };
	struct pt_result x = res(PT_OUTCOME_PASS, 1);

	pt__store_set_faults(&f);
	nsync = 0;
	for (int i = 0; i < 20; i++)
		PT_ASSERT_OK(
			pt_store_commit_result(s, "n", &x, PT_SYNC_NORMAL));
	PT_ASSERT_INT_EQ(nsync, 0);
	PT_ASSERT_OK(pt_store_commit_result(s, "f", &x, PT_SYNC_FULL));
	PT_ASSERT_INT_GE(nsync, 1);
	pt__store_set_faults(NULL);
	pt_store_free(s);
}

static int fail_after;

static int fail_write(void *ctx, int fd, size_t len)
{
	(void)fd;
	(void)len;
	if (fail_after-- > 0)
		return 0;
	return *(int *)ctx;
}

static int fail_fsync(void *ctx, int fd)
{
	(void)fd;
	return *(int *)ctx;
}

static int integrity_ok(const char *dir)
{
	struct pt_buf p = PT_BUF_INIT;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int ok = 0;

	pt__buf_addf(&p, "%s/session.db", dir);
	if (sqlite3_open_v2(p.s, &db, SQLITE_OPEN_READONLY, NULL) ==
		    SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		ok = !strcmp((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(db);
	pt__buf_release(&p);
	return ok;
}

static void check_fault(int err, bool on_fsync)
{
	struct pt_store *s = create("fault");
	struct pt_io_faults f = { .ctx = &err };
	struct pt_result x = res(PT_OUTCOME_PASS, 1);
	struct pt_store_state *st = NULL;
	char *id = pt__strdup(pt_store_id(s));
	int r;

	for (int i = 0; i < 10; i++)
		PT_ASSERT_OK(pt_store_commit_result(s, "before", &x,
						    PT_SYNC_NORMAL));
	PT_ASSERT_OK(pt_store_set_running(s, "victim", 1, 5));
	if (on_fsync)
		f.before_fsync = fail_fsync;
	else
		f.before_write = fail_write;
	fail_after = 0;
	pt__store_set_faults(&f);
	r = pt_store_commit_result(s, "victim", &x,
				   on_fsync ? PT_SYNC_FULL : PT_SYNC_NORMAL);
	pt__store_set_faults(NULL);
	PT_ASSERT_ERR(r, err);
	/* The handle still works after the error... */
	PT_ASSERT_OK(pt_store_load(s, &st));
	PT_ASSERT_INT_GE(st->n_results, 10);
	pt_store_state_free(st);
	pt_store_free(s);
	/* ...and the session resumes: nothing committed before is lost, the
	 * victim is either absent (then still running) or complete. */
	PT_ASSERT_OK(pt_store_open(repo(), id, PT_STORE_WRITE, NULL, &s));
	PT_ASSERT(integrity_ok(pt_store_dir(s)));
	PT_ASSERT_OK(pt_store_load(s, &st));
	PT_ASSERT_INT_GE(st->n_results, 10);
	PT_ASSERT_INT_LE(st->n_results, 11);
	for (size_t i = 0; i < 10; i++)
		PT_ASSERT_STR_EQ(st->results[i].job_id, "before");
	if (st->n_results == 10)
		PT_ASSERT_STR_EQ(st->meta.running_job, "victim");
	else
		PT_ASSERT_NULL(st->meta.running_job);
	pt_store_state_free(st);
	PT_ASSERT_OK(pt_store_commit_result(s, "victim", &x, PT_SYNC_FULL));
	pt_store_free(s);
	pt__free(id);
}

PT_TEST(enospc_on_write_is_reported_and_session_resumes)
{
	check_fault(-ENOSPC, false);
}

PT_TEST(eio_on_write_is_reported_and_session_resumes)
{
	check_fault(-EIO, false);
}

PT_TEST(eio_on_fsync_is_reported_and_session_resumes)
{
	check_fault(-EIO, true);
}

static int os_fail_write(void *ctx, int fd, size_t len)
{
	(void)ctx;
	(void)fd;
	(void)len;
	return -ENOSPC;
}

struct collect {
	struct pt_buf out;
	int n;
	int64_t last;
};

static int collect_rec(void *ctx, const struct pt_iolog_record *rec)
{
	struct collect *c = ctx;

	c->n++;
	c->last = rec->offset_ns;
	pt__buf_addf(&c->out,
		     "%c:", rec->stream == PT_STREAM_STDOUT ? 'o' : 'e');
	pt__buf_add(&c->out, rec->data, rec->len);
	pt__buf_addch(&c->out, '|');
	return 0;
}

PT_TEST(iolog_roundtrip_torn_tail_and_damage)
{
	struct pt_store *s = create("io");
	struct pt_iolog *w = NULL, *w2 = NULL;
	struct collect c = { PT_BUF_INIT, 0, 0 };
	struct pt_io_faults f = { .before_write = os_fail_write };
	struct pt_diags *d = NULL;
	struct pt_buf abs = PT_BUF_INIT;
	int fd;

	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_OK(pt_store_iolog_open(s, "ns::job/1", 1, &w));
	PT_ASSERT_OK(pt_store_iolog_open(s, "ns::job_1", 1, &w2));
	PT_ASSERT(strcmp(pt_iolog_path(w), pt_iolog_path(w2)) != 0);
	PT_ASSERT(pt__starts_with(pt_iolog_path(w), "io-logs/ns__job_1."));
	PT_ASSERT_OK(pt_iolog_append(w, 10, PT_STREAM_STDOUT, "hello\n", 6));
	PT_ASSERT_OK(pt_iolog_append(w, 20, PT_STREAM_STDERR, "warn\n", 5));
	PT_ASSERT_OK(pt_iolog_append(w, 30, PT_STREAM_STDOUT, "", 0));
	pt__io_set_faults(&f);
	PT_ASSERT_ERR(pt_iolog_append(w, 40, PT_STREAM_STDOUT, "x", 1),
		      -ENOSPC);
	pt__io_set_faults(NULL);
	PT_ASSERT_OK(pt_iolog_sync(w, PT_SYNC_FULL));
	PT_ASSERT_OK(
		pt_store_iolog_read(s, pt_iolog_path(w), collect_rec, &c, d));
	PT_ASSERT_STR_EQ(c.out.s, "o:hello\n|e:warn\n|o:|");
	PT_ASSERT_INT_EQ(c.last, 30);
	/* A torn tail is ignored. */
	PT_ASSERT_OK(
		pt__buf_addf(&abs, "%s/%s", pt_store_dir(s), pt_iolog_path(w)));
	fd = open(abs.s, O_WRONLY | O_APPEND);
	PT_ASSERT_INT_GE(fd, 0);
	PT_ASSERT_INT_EQ(write(fd, "\1\0\0\0\x10\0\0\0abc", 11), 11);
	close(fd);
	pt__buf_reset(&c.out);
	PT_ASSERT_OK(
		pt_store_iolog_read(s, pt_iolog_path(w), collect_rec, &c, d));
	PT_ASSERT_STR_EQ(c.out.s, "o:hello\n|e:warn\n|o:|");
	/* Damage in the middle is reported with its offset. */
	fd = open(abs.s, O_WRONLY);
	PT_ASSERT_INT_EQ(pwrite(fd, "X", 1, 8 + 16 + 2), 1);
	close(fd);
	PT_ASSERT_ERR(
		pt_store_iolog_read(s, pt_iolog_path(w), collect_rec, &c, d),
		PT_ECORRUPT);
	PT_ASSERT_STR_EQ(diag_msg(d), "byte 8: record checksum mismatch");
	PT_ASSERT_ERR(
		pt_store_iolog_read(s, "../etc/passwd", collect_rec, &c, d),
		-EINVAL);
	pt_iolog_free(w);
	pt_iolog_free(w2);
	pt__buf_release(&abs);
	pt__buf_release(&c.out);
	pt_diags_free(d);
	pt_store_free(s);
}

PT_TEST(attachment_written_atomically)
{
	struct pt_store *s = create("att");
	struct pt_buf abs = PT_BUF_INIT;
	char *path = NULL, *data = NULL;
	size_t n = 0;

	PT_ASSERT_OK(pt_store_attach(s, "j", "dmesg.txt", "abc", 3, &path));
	PT_ASSERT(pt__starts_with(path, "attachments/j."));
	PT_ASSERT(pt__ends_with(path, ".dmesg.txt"));
	PT_ASSERT_OK(pt__buf_addf(&abs, "%s/%s", pt_store_dir(s), path));
	PT_ASSERT_OK(pt__read_file(abs.s, 100, &data, &n));
	PT_ASSERT_STR_EQ(data, "abc");
	pt_free(data);
	pt_free(path);
	pt__buf_release(&abs);
	pt_store_free(s);
}

PT_TEST(remove_refuses_locked_and_clears_last)
{
	struct pt_store *s = create("rm");
	char *id = pt__strdup(pt_store_id(s)), *last = NULL;
	struct pt_store_list *l = NULL;

	PT_ASSERT_ERR(pt_store_remove(repo(), id, NULL), PT_ELOCKED);
	pt_store_free(s);
	PT_ASSERT_OK(pt_store_remove(repo(), id, NULL));
	PT_ASSERT_ERR(pt_store_last(repo(), &last), PT_ENOTFOUND);
	PT_ASSERT_ERR(pt_store_remove(repo(), id, NULL), PT_ENOTFOUND);
	PT_ASSERT_ERR(pt_store_open(repo(), id, PT_STORE_READ, NULL, &s),
		      PT_ENOTFOUND);
	PT_ASSERT_OK(pt_store_list(repo(), &l));
	PT_ASSERT_UINT_EQ(l->n, 0);
	pt_store_list_free(l);
	pt__free(id);
}

PT_TEST(foreign_and_future_databases_are_refused)
{
	struct pt_store *s = create("v"), *t = NULL;
	char *id = pt__strdup(pt_store_id(s));
	struct pt_diags *d = NULL;
	struct pt_buf p = PT_BUF_INIT;

	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_OK(pt__store_exec(s, "PRAGMA user_version = 99"));
	pt_store_free(s);
	PT_ASSERT_ERR(pt_store_open(repo(), id, PT_STORE_READ, d, &t),
		      PT_EINCOMPAT);
	PT_ASSERT_STR_EQ(diag_msg(d), "session schema version 99 is not "
				      "supported (this proctor reads 1 to 2)");
	PT_ASSERT_OK(pt__buf_addf(&p, "%s/%s/session.db", repo(), id));
	PT_ASSERT_OK(unlink(p.s));
	PT_ASSERT_OK(pt__write_file_atomic(p.s, "garbage garbage garbage", 23,
					   0600));
	PT_ASSERT_ERR(pt_store_open(repo(), id, PT_STORE_WRITE, d, &t),
		      PT_ECORRUPT);
	pt__buf_release(&p);
	pt_diags_free(d);
	pt__free(id);
}

/*
 * A session of schema version 1 (before lanes, flaky marks and executor
 * handles): readers read it as it is, the first writer migrates it.
 */
PT_TEST(schema_1_session_is_read_then_migrated_by_a_writer)
{
	struct pt_store *s = create("old"), *t = NULL;
	char *id = pt__strdup(pt_store_id(s));
	struct pt_result x = res(PT_OUTCOME_PASS, 1);
	struct pt_store_state *st = NULL;
	char dst[4096];

	PT_ASSERT_OK(pt_store_commit_result(s, "a", &x, PT_SYNC_NORMAL));
	/* Back to version 1's tables. */
	PT_ASSERT_OK(pt__store_exec(s, "DROP TABLE handles;"
				       "ALTER TABLE results DROP COLUMN lane;"
				       "ALTER TABLE results DROP COLUMN flaky;"
				       "PRAGMA user_version = 1"));
	pt_store_free(s);

	PT_ASSERT_OK(pt_store_open(repo(), id, PT_STORE_READ, NULL, &t));
	PT_ASSERT_OK(pt_store_load(t, &st));
	PT_ASSERT_UINT_EQ(st->n_results, 1);
	PT_ASSERT_UINT_EQ(st->results[0].r.lane, 0);
	PT_ASSERT(!st->results[0].r.flaky);
	PT_ASSERT_UINT_EQ(st->n_handles, 0);
	pt_store_state_free(st);
	PT_ASSERT_INT_EQ(t->schema, 1);
	pt_store_free(t);

	PT_ASSERT_OK(pt_store_open(repo(), id, PT_STORE_WRITE, NULL, &t));
	PT_ASSERT_INT_EQ(t->schema, 2);
	x = res(PT_OUTCOME_PASS, 2);
	x.lane = 3;
	x.flaky = true;
	PT_ASSERT_OK(pt_store_commit_result(t, "b", &x, PT_SYNC_NORMAL));
	PT_ASSERT_OK(
		pt_store_set_handle(t, "b", 2, "slurm:4711", PT_SYNC_FULL));
	PT_ASSERT_OK(
		pt_store_set_handle(t, "c", 1, "slurm:4712", PT_SYNC_NORMAL));
	PT_ASSERT_OK(pt_store_set_handle(t, "c", 1, NULL, PT_SYNC_NORMAL));
	PT_ASSERT_ERR(pt_store_set_handle(t, "c", 1, "", PT_SYNC_NORMAL),
		      -EINVAL);
	pt_store_free(t);

	PT_ASSERT_OK(pt_store_open(repo(), id, PT_STORE_READ, NULL, &t));
	PT_ASSERT_OK(pt_store_load(t, &st));
	PT_ASSERT_UINT_EQ(st->n_results, 2);
	PT_ASSERT_STR_EQ(st->results[0].job_id, "a");
	PT_ASSERT_UINT_EQ(st->results[0].r.lane, 0);
	PT_ASSERT_UINT_EQ(st->results[1].r.lane, 3);
	PT_ASSERT(st->results[1].r.flaky);
	PT_ASSERT_UINT_EQ(st->n_handles, 1);
	PT_ASSERT_STR_EQ(st->handles[0].job_id, "b");
	PT_ASSERT_UINT_EQ(st->handles[0].attempt, 2);
	PT_ASSERT_STR_EQ(st->handles[0].handle, "slurm:4711");
	pt_store_state_free(st);

	/* Lanes, flaky marks and handles travel in an export. */
	snprintf(dst, sizeof(dst), "%s/old.proctor.gz", pt_test_tmpdir());
	PT_ASSERT_OK(pt_store_export(t, dst, NULL));
	pt_store_free(t);
	{
		char *nid = NULL;
		const char *r2 = pt_test_path("repo2");

		PT_ASSERT_OK(pt_store_import(r2, dst, NULL, &nid));
		PT_ASSERT_OK(pt_store_open(r2, nid, PT_STORE_READ, NULL, &t));
		PT_ASSERT_OK(pt_store_load(t, &st));
		PT_ASSERT_UINT_EQ(st->n_results, 2);
		PT_ASSERT_UINT_EQ(st->results[1].r.lane, 3);
		PT_ASSERT(st->results[1].r.flaky);
		PT_ASSERT(!st->results[0].r.flaky);
		PT_ASSERT_UINT_EQ(st->n_handles, 1);
		PT_ASSERT_STR_EQ(st->handles[0].handle, "slurm:4711");
		pt_store_state_free(st);
		pt_store_free(t);
		pt_free(nid);
	}
	pt__free(id);
}

PT_TEST(create_with_state_and_checkpoint)
{
	struct pt_store *s = NULL, *t = NULL;
	struct pt_store_state *st = NULL, *st2 = NULL;
	const struct pt_store_job jobs[] = { { "a", "1", 0, NULL, "id: a" },
					     { "b", "2", 0, NULL, NULL } };
	const char *desired[] = { "b", "a" };
	struct pt_result x = res(PT_OUTCOME_PASS, 1);
	const struct pt_store_kv kv[] = { { "k", "v" } };
	const struct pt_store_record rec = { 1, kv };
	struct pt_io_faults f = { .before_fsync = count_fsync };
	char *text = NULL;

	/* A source session, loaded, then copied with create_with_state. */
	s = create("src");
	PT_ASSERT_OK(pt_store_put_jobs(s, jobs, 2));
	PT_ASSERT_OK(pt_store_set_desired(s, desired, 2));
	PT_ASSERT_OK(pt_store_commit_result(s, "a", &x, PT_SYNC_NORMAL));
	PT_ASSERT_OK(pt_store_put_resource(s, "a", &rec, 1));
	PT_ASSERT_OK(pt_store_set_running(s, "b", 1, 3));
	PT_ASSERT_OK(pt_store_load(s, &st));
	PT_ASSERT_OK(pt_store_create_with_state(repo(), st, NULL, &t));
	PT_ASSERT(strcmp(pt_store_id(s), pt_store_id(t)) != 0);
	PT_ASSERT_OK(pt_store_load(t, &st2));
	PT_ASSERT_STR_EQ(st2->meta.title, "src");
	PT_ASSERT_STR_EQ(st2->meta.running_job, "b");
	PT_ASSERT_UINT_EQ(st2->n_jobs, 2);
	PT_ASSERT_STR_EQ(st2->desired[0], "b");
	PT_ASSERT_UINT_EQ(st2->n_results, 1);
	PT_ASSERT_STR_EQ(st2->resources[0].records[0].kv[0].value, "v");
	/* Texts are not part of a loaded state. */
	PT_ASSERT_ERR(pt_store_job_text(t, "a", &text), PT_ENOTFOUND);
	pt_store_state_free(st2);
	/* checkpoint: FULL syncs, NORMAL does not, neither inside a tx. */
	pt__store_set_faults(&f);
	nsync = 0;
	PT_ASSERT_OK(pt_store_checkpoint(t, PT_SYNC_NORMAL));
	PT_ASSERT_INT_EQ(nsync, 0);
	PT_ASSERT_OK(pt_store_checkpoint(t, PT_SYNC_FULL));
	PT_ASSERT_INT_EQ(nsync, 1);
	pt__store_set_faults(NULL);
	PT_ASSERT_OK(pt_store_begin(t));
	PT_ASSERT_ERR(pt_store_checkpoint(t, PT_SYNC_FULL), PT_ESTATE);
	PT_ASSERT_OK(pt_store_rollback(t));
	pt_store_state_free(st);
	pt_store_free(s);
	pt_store_free(t);
}

/* ---- learned durations ----------------------------------------------------
 */

static int64_t fake_wall;

static int64_t fake_clock(void *ctx, int which)
{
	(void)ctx;
	return which ? fake_wall : 1000;
}

static double dur_of(const struct pt_store_durations *d, const char *id)
{
	const struct pt_store_duration *x = pt_store_durations_find(d, id);

	return x ? x->duration : -1;
}

/* Exact comparison of doubles, both printed on failure. */
#define ASSERT_DBL_EQ(a, b)                             \
 do {                                                   \
  double a_ = (a), b_ = (b);                            \
  if (!(a_ == b_))                                      \
   PT_FAIL("%s == %s: %.17g != %.17g", #a, #b, a_, b_); \
 } while (0)

PT_TEST(durations_absent_file_is_an_empty_set)
{
	struct pt_store_durations *d = NULL;

	PT_ASSERT_OK(pt_store_durations_load(pt_test_path("nope"), NULL, &d));
	PT_ASSERT_UINT_EQ(pt_store_durations_count(d), 0);
	PT_ASSERT_NULL(pt_store_durations_find(d, "x"));
	PT_ASSERT_NULL(pt_store_durations_get(d, 0));
	pt_store_durations_free(d);
	PT_ASSERT_INT_EQ(access(pt_test_path("nope"), F_OK), -1);
}

PT_TEST(durations_are_read_back_exactly_and_merged)
{
	const struct pt_store_duration v1[] = {
		{ .job_id = "ns::a", .duration = 1.25 },
		{ .job_id = "ns::b", .duration = 0.1 },
		{ .job_id = "ns::c with spaces", .duration = 12.345678901 },
	};
	const struct pt_store_duration v2[] = {
		{ .job_id = "ns::a", .duration = 2.5 },
	};
	struct pt_store_durations *d = NULL;
	char *text = NULL, path[1024];
	size_t len;

	pt__clock_set_fake(fake_clock, NULL);
	fake_wall = 100;
	PT_ASSERT_OK(pt_store_durations_record(repo(), v1, 3, NULL));
	fake_wall = 200;
	PT_ASSERT_OK(pt_store_durations_record(repo(), v2, 1, NULL));
	pt__clock_set_fake(NULL, NULL);
	PT_ASSERT_OK(pt_store_durations_load(repo(), NULL, &d));
	PT_ASSERT_UINT_EQ(pt_store_durations_count(d), 3);
	ASSERT_DBL_EQ(dur_of(d, "ns::a"), 2.5);
	ASSERT_DBL_EQ(dur_of(d, "ns::b"), 0.1);
	ASSERT_DBL_EQ(dur_of(d, "ns::c with spaces"), 12.345678901);
	PT_ASSERT_INT_EQ(pt_store_durations_find(d, "ns::a")->updated_ns, 200);
	PT_ASSERT_INT_EQ(pt_store_durations_find(d, "ns::b")->updated_ns, 100);
	PT_ASSERT_STR_EQ(pt_store_durations_get(d, 0)->job_id, "ns::a");
	PT_ASSERT_NULL(pt_store_durations_find(d, "ns::"));
	pt_store_durations_free(d);
	/* Newest first, integers only (no locale). */
	snprintf(path, sizeof(path), "%s/durations", repo());
	PT_ASSERT_OK(pt__read_file(path, 1 << 20, &text, &len));
	PT_ASSERT_STR_EQ(text, "proctor-durations 1\n"
			       "2500000000 200 ns::a\n"
			       "100000000 100 ns::b\n"
			       "12345678901 100 ns::c with spaces\n");
	pt__free(text);
	/* Bad input is refused before anything is written. */
	{
		const struct pt_store_duration bad[] = {
			{ .job_id = "x\ny", .duration = 1 },
			{ .job_id = "", .duration = 1 },
			{ .job_id = "z", .duration = -1 },
		};
		for (size_t i = 0; i < PT_ARRAY_SIZE(bad); i++)
			PT_ASSERT_ERR(pt_store_durations_record(repo(), &bad[i],
								1, NULL),
				      -EINVAL);
	}
}

PT_TEST(durations_learned_from_a_session)
{
	struct pt_store *s = create("learn");
	struct pt_store_durations *d = NULL;
	struct pt_result r;

	r = res(PT_OUTCOME_PASS, 1);
	r.duration = 0.75;
	PT_ASSERT_OK(pt_store_commit_result(s, "x", &r, PT_SYNC_NORMAL));
	r = res(PT_OUTCOME_FAIL, 2);
	r.duration = 1.5; /* the last measured run wins */
	PT_ASSERT_OK(pt_store_commit_result(s, "x", &r, PT_SYNC_NORMAL));
	r = res(PT_OUTCOME_TIMEOUT, 1);
	r.duration = 30; /* measures the timeout, not the job */
	PT_ASSERT_OK(pt_store_commit_result(s, "y", &r, PT_SYNC_NORMAL));
	r = res(PT_OUTCOME_CRASH, 1);
	PT_ASSERT_OK(pt_store_commit_result(s, "z", &r, PT_SYNC_NORMAL));
	r = res(PT_OUTCOME_SKIP, 1);
	r.duration = 0;
	PT_ASSERT_OK(pt_store_commit_result(s, "w", &r, PT_SYNC_NORMAL));
	r = res(PT_OUTCOME_PASS, 1);
	r.duration = 0.003141592;
	PT_ASSERT_OK(pt_store_commit_result(s, "v", &r, PT_SYNC_NORMAL));
	PT_ASSERT_INT_EQ(pt_store_learn_durations(s, NULL), 2);
	pt_store_free(s);
	PT_ASSERT_OK(pt_store_durations_load(repo(), NULL, &d));
	PT_ASSERT_UINT_EQ(pt_store_durations_count(d), 2);
	ASSERT_DBL_EQ(dur_of(d, "x"), 1.5);
	ASSERT_DBL_EQ(dur_of(d, "v"), 0.003141592);
	PT_ASSERT_NULL(pt_store_durations_find(d, "y"));
	PT_ASSERT_NULL(pt_store_durations_find(d, "z"));
	PT_ASSERT_NULL(pt_store_durations_find(d, "w"));
	pt_store_durations_free(d);
	/* The file is not a session: listing ignores it. */
	{
		struct pt_store_list *l = NULL;
		PT_ASSERT_OK(pt_store_list(repo(), &l));
		PT_ASSERT_UINT_EQ(l->n, 1);
		PT_ASSERT_INT_EQ(l->v[0].error, 0);
		pt_store_list_free(l);
	}
}

PT_TEST(durations_are_bounded_oldest_dropped)
{
	size_t n = PT_STORE_DURATIONS_MAX_JOBS;
	struct pt_store_duration *v = pt__calloc(n, sizeof(*v));
	char(*ids)[16] = pt__calloc(n, sizeof(*ids));
	struct pt_store_durations *d = NULL;
	const struct pt_store_duration old[] = {
		{ .job_id = "old-1", .duration = 1 },
		{ .job_id = "old-2", .duration = 2 },
	};

	PT_ASSERT(v && ids);
	pt__clock_set_fake(fake_clock, NULL);
	fake_wall = 1;
	PT_ASSERT_OK(pt_store_durations_record(repo(), old, 2, NULL));
	for (size_t i = 0; i < n; i++) {
		snprintf(ids[i], sizeof(ids[i]), "new-%zu", i);
		v[i].job_id = ids[i];
		v[i].duration = (double)(i + 1) / 1000;
	}
	fake_wall = 2;
	PT_ASSERT_OK(pt_store_durations_record(repo(), v, n, NULL));
	PT_ASSERT_OK(pt_store_durations_load(repo(), NULL, &d));
	PT_ASSERT_UINT_EQ(pt_store_durations_count(d), n);
	PT_ASSERT_NULL(pt_store_durations_find(d, "old-1"));
	PT_ASSERT_NULL(pt_store_durations_find(d, "old-2"));
	ASSERT_DBL_EQ(dur_of(d, "new-0"), 0.001);
	ASSERT_DBL_EQ(dur_of(d, "new-65535"), 65.536);
	pt_store_durations_free(d);
	/* Long ids: the byte bound keeps the file readable. */
	for (size_t i = 0; i < 2200; i++) {
		char *id = pt__malloc(PT_STORE_MAX_JOB_ID + 1);
		PT_ASSERT_NOT_NULL(id);
		memset(id, 'a' + (char)(i % 26), PT_STORE_MAX_JOB_ID);
		id[PT_STORE_MAX_JOB_ID] = 0;
		memcpy(id, ids[i], strlen(ids[i]));
		v[i].job_id = id;
	}
	fake_wall = 3;
	PT_ASSERT_OK(pt_store_durations_record(repo(), v, 2200, NULL));
	pt__clock_set_fake(NULL, NULL);
	PT_ASSERT_OK(pt_store_durations_load(repo(), NULL, &d));
	/* Half the read limit: about 2040 lines of 4 KiB; newest kept, ties
	 * by id. */
	{
		struct stat sb;
		size_t k = pt_store_durations_count(d);
		char path[1024];

		snprintf(path, sizeof(path), "%s/durations", repo());
		PT_ASSERT_INT_EQ(stat(path, &sb), 0);
		PT_ASSERT_INT_LE(sb.st_size, PT_STORE_DURATIONS_MAX_BYTES / 2);
		PT_ASSERT_INT_GT(sb.st_size, PT_STORE_DURATIONS_MAX_BYTES / 2 -
						     2 * PT_STORE_MAX_JOB_ID);
		PT_ASSERT(k > 2000 && k < 2100);
		for (size_t i = 0; i < k; i++)
			PT_ASSERT_INT_EQ(
				pt_store_durations_get(d, i)->updated_ns, 3);
	}
	pt_store_durations_free(d);
	for (size_t i = 0; i < 2200; i++)
		pt__free((void *)(uintptr_t)v[i].job_id);
	pt__free(v);
	pt__free(ids);
}

static void write_text(const char *path, const char *s)
{
	PT_ASSERT_OK(pt__write_file_atomic(path, s, strlen(s), 0600));
}

PT_TEST(damaged_durations_are_reported_then_replaced)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *msg;
	} cases[] = {
		{ "", 1,
		  "not a durations file (expected 'proctor-durations "
		  "1')" },
		{ "proctor-durations 2\n", 1,
		  "not a durations file (expected 'proctor-durations 1')" },
		{ "proctor-durations 1\n5 1 a\nabc 1 x\n", 3,
		  "expected '<duration_ns> <updated_ns> <job id>'" },
		{ "proctor-durations 1\n-5 1 x\n", 2,
		  "expected '<duration_ns> <updated_ns> <job id>'" },
		{ "proctor-durations 1\n5 1 \n", 2, "bad job id" },
		{ "proctor-durations 1\n5 1 x", 2, "truncated line" },
		{ "proctor-durations 1\n99999999999999999999 1 x\n", 2,
		  "expected '<duration_ns> <updated_ns> <job id>'" },
	};
	char path[1024];
	const struct pt_store_duration one = { .job_id = "ok", .duration = 2 };

	PT_ASSERT_OK(pt__mkdir_p(repo(), 0700));
	snprintf(path, sizeof(path), "%s/durations", repo());
	for (size_t i = 0; i < PT_ARRAY_SIZE(cases); i++) {
		struct pt_store_durations *d = NULL;
		struct pt_diags *g = NULL;
		const struct pt_diag *x;

		write_text(path, cases[i].text);
		PT_ASSERT_OK(pt_diags_new(&g));
		PT_ASSERT_ERR(pt_store_durations_load(repo(), g, &d),
			      PT_ECORRUPT);
		PT_ASSERT_NULL(d);
		x = pt_diags_get(g, 0);
		PT_ASSERT_NOT_NULL(x);
		PT_ASSERT_STR_EQ(x->file, path);
		PT_ASSERT_UINT_EQ(x->line, cases[i].line);
		PT_ASSERT_STR_EQ(x->message, cases[i].msg);
		pt_diags_free(g);
		/* The next record starts it again, with a warning. */
		PT_ASSERT_OK(pt_diags_new(&g));
		PT_ASSERT_OK(pt_store_durations_record(repo(), &one, 1, g));
		PT_ASSERT_STR_EQ(diag_msg(g), "damaged; starting it again");
		pt_diags_free(g);
		PT_ASSERT_OK(pt_store_durations_load(repo(), NULL, &d));
		PT_ASSERT_UINT_EQ(pt_store_durations_count(d), 1);
		ASSERT_DBL_EQ(dur_of(d, "ok"), 2);
		pt_store_durations_free(d);
	}
}

PT_TEST(concurrent_durations_writers_lose_nothing)
{
	enum { PROCS = 4, PER = 12 };
	pid_t pids[PROCS];
	struct pt_store_durations *d = NULL;

	for (int p = 0; p < PROCS; p++) {
		pids[p] = fork();
		PT_ASSERT_INT_GE(pids[p], 0);
		if (pids[p] == 0) {
			for (int i = 0; i < PER; i++) {
				char id[32];
				struct pt_store_duration v = { id, 1 + i, 0 };
				snprintf(id, sizeof(id), "p%d-%d", p, i);
				if (pt_store_durations_record(repo(), &v, 1,
							      NULL) < 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int p = 0; p < PROCS; p++) {
		int st = 0;
		PT_ASSERT_INT_EQ(waitpid(pids[p], &st, 0), pids[p]);
		PT_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	PT_ASSERT_OK(pt_store_durations_load(repo(), NULL, &d));
	PT_ASSERT_UINT_EQ(pt_store_durations_count(d), PROCS * PER);
	ASSERT_DBL_EQ(dur_of(d, "p3-11"), 12);
	pt_store_durations_free(d);
}

PT_TEST(rejected_list_replaced_without_duplicates)
{
	struct pt_store *s = create("rejected");
	struct pt_store_state *st = NULL;
	const char *ids[] = { "b", "a", "b", "c" };

	PT_ASSERT_OK(pt_store_set_rejected(s, ids, 4));
	PT_ASSERT_OK(pt_store_load(s, &st));
	PT_ASSERT_UINT_EQ(st->meta.n_rejected, 3);
	PT_ASSERT_STR_EQ(st->meta.rejected[0], "b");
	PT_ASSERT_STR_EQ(st->meta.rejected[1], "a");
	PT_ASSERT_STR_EQ(st->meta.rejected[2], "c");
	pt_store_state_free(st);
	PT_ASSERT_OK(pt_store_set_rejected(s, ids + 3, 1));
	PT_ASSERT_OK(pt_store_load(s, &st));
	PT_ASSERT_UINT_EQ(st->meta.n_rejected, 1);
	PT_ASSERT_STR_EQ(st->meta.rejected[0], "c");
	pt_store_state_free(st);
	PT_ASSERT_ERR(pt_store_set_rejected(s, NULL, 1), -EINVAL);
	pt_store_free(s);
}

/*
 * The shim joins a WAL frame header with its page into one write; the
 * bytes on disk must be those of the separate writes, whatever comes
 * between (a read, a write elsewhere, a sync, a close).
 */
PT_TEST(vfs_joins_wal_frames_without_changing_bytes)
{
	sqlite3_vfs *vfs;
	sqlite3_file *f;
	unsigned char hdr[24], page[512], got[24 + 512], want[2048];
	char *data = NULL;
	size_t len = 0;
	int out = 0;
	const char *path = pt_test_path("x.db-wal");

	/* SQLite opens a WAL next to its database (it copies its mode) */
	PT_ASSERT_OK(pt__write_file_atomic(pt_test_path("x.db"), "", 0, 0600));
	PT_ASSERT_OK(pt__store_vfs_register());
	vfs = sqlite3_vfs_find(PT_STORE_VFS);
	PT_ASSERT_NOT_NULL(vfs);
	f = sqlite3_malloc(vfs->szOsFile);
	PT_ASSERT_NOT_NULL(f);
	memset(f, 0, (size_t)vfs->szOsFile);
	PT_ASSERT_INT_EQ(vfs->xOpen(vfs, path, f,
				    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
					    SQLITE_OPEN_WAL,
				    &out),
			 SQLITE_OK);
	memset(want, 0, sizeof(want));
	for (int i = 0; i < 24; i++)
		hdr[i] = (unsigned char)(0xa0 + i);
	for (int i = 0; i < 512; i++)
		page[i] = (unsigned char)i;
	/* header + adjacent page: one frame */
	PT_ASSERT_INT_EQ(f->pMethods->xWrite(f, hdr, 24, 32), SQLITE_OK);
	PT_ASSERT_INT_EQ(f->pMethods->xWrite(f, page, 512, 56), SQLITE_OK);
	memcpy(want + 32, hdr, 24);
	memcpy(want + 56, page, 512);
	/* a held header is visible to a read */
	PT_ASSERT_INT_EQ(f->pMethods->xWrite(f, hdr, 24, 568), SQLITE_OK);
	memcpy(want + 568, hdr, 24);
	PT_ASSERT_INT_EQ(f->pMethods->xRead(f, got, 24, 568), SQLITE_OK);
	PT_ASSERT_MEM_EQ(got, hdr, 24);
	/* a held header followed by a write elsewhere is written first */
	PT_ASSERT_INT_EQ(f->pMethods->xWrite(f, hdr, 24, 1200), SQLITE_OK);
	PT_ASSERT_INT_EQ(f->pMethods->xWrite(f, page, 512, 600), SQLITE_OK);
	memcpy(want + 1200, hdr, 24);
	memcpy(want + 600, page, 512);
	/* and one left held at close is not lost */
	PT_ASSERT_INT_EQ(f->pMethods->xWrite(f, hdr, 24, 1300), SQLITE_OK);
	memcpy(want + 1300, hdr, 24);
	PT_ASSERT_INT_EQ(f->pMethods->xClose(f), SQLITE_OK);
	sqlite3_free(f);
	PT_ASSERT_OK(pt__read_file(path, 1 << 16, &data, &len));
	PT_ASSERT_UINT_EQ(len, 1324);
	PT_ASSERT_MEM_EQ(data, want, 1324);
	pt__free(data);
}
