/*
 * tests/slurm/test-slurm.c - the Slurm pieces: squeue and status parsing
 * (no cluster needed), the batch wrapper and the clients against the
 * one-node cluster.
 */
#include "base/common.h"
#include "slurm/slurm.h"

#include "base/buf.h"
#include "base/str.h"
#include "os/file.h"
#include "os/runos.h"

#include <sys/stat.h>

#include "cluster.h"

struct rows {
	unsigned n;
	char text[2048];
};

static int collect(void *ctx, const struct pt_slurm_row *row)
{
	struct rows *r = ctx;
	size_t l = strlen(r->text);

	snprintf(r->text + l, sizeof(r->text) - l,
		 "%u:%" PRIu64 "/%d/%s/%s/%s\n", row->line, row->id,
		 (int)row->state, row->state_name, row->reason, row->tag);
	r->n++;
	return 0;
}

static int parse_q(const char *in, struct rows *r, char *err, size_t es)
{
	char *t = pt__strdup(in);
	int rc;

	memset(r, 0, sizeof(*r));
	rc = pt__slurm_parse_queue(t, strlen(t), collect, r, err, es);
	pt__free(t);
	return rc;
}

PT_TEST(queue_rows_parse_exactly)
{
	struct rows r;
	char err[256] = "";

	PT_ASSERT_INT_EQ(parse_q("12|RUNNING|None|pt-a\n\n"
				 "13|TIMEOUT|TimeLimit|pt|b|c\r\n"
				 "14|CANCELLED|None|x\n"
				 "15|WEIRD_NEW|Because|y",
				 &r, err, sizeof(err)),
			 0);
	PT_ASSERT_UINT_EQ(r.n, 4);
	PT_ASSERT_STR_EQ(r.text, "1:12/3/RUNNING/None/pt-a\n"
				 "3:13/17/TIMEOUT/TimeLimit/pt|b|c\n"
				 "4:14/15/CANCELLED/None/x\n"
				 "5:15/0/WEIRD_NEW/Because/y\n");
	PT_ASSERT(pt__slurm_state_final(PT_SLURM_TIMEOUT));
	PT_ASSERT(pt__slurm_state_final(PT_SLURM_NODE_FAIL));
	PT_ASSERT(!pt__slurm_state_final(PT_SLURM_COMPLETING));
	PT_ASSERT(!pt__slurm_state_final(PT_SLURM_UNKNOWN));
}

PT_TEST(queue_bad_lines_name_the_line)
{
	struct rows r;
	char err[256];
	static const struct {
		const char *in, *err;
	} cases[] = {
		{ "12|RUNNING\n", "line 1: expected id|state|reason|comment" },
		{ "1|PENDING|None|a\n12_3|RUNNING|None|a\n",
		  "line 2: job id '12_3'" },
		{ "0|RUNNING|None|a\n", "line 1: job id '0'" },
		{ "99999999999999999999|RUNNING|None|a\n",
		  "line 1: job id '99999999999999999999'" },
		{ "5||None|a\n", "line 1: empty state" },
	};

	for (size_t i = 0; i < PT_ARRAY_SIZE(cases); i++) {
		err[0] = '\0';
		PT_ASSERT_INT_EQ(parse_q(cases[i].in, &r, err, sizeof(err)),
				 PT_EPARSE);
		PT_ASSERT_STR_EQ(err, cases[i].err);
	}
}

PT_TEST(queue_long_line_and_nul_are_refused)
{
	struct pt_buf b = PT_BUF_INIT;
	struct rows r = { 0 };
	char err[256], nul[] = "1|RUNNING|None|a\0b\n";

	PT_ASSERT_INT_EQ(pt__buf_adds(&b, "1|RUNNING|None|"), 0);
	for (int i = 0; i < PT_SLURM_LINE_MAX; i++)
		PT_ASSERT_INT_EQ(pt__buf_addch(&b, 'n'), 0);
	PT_ASSERT_INT_EQ(pt__slurm_parse_queue(b.s, b.len, collect, &r, err,
					       sizeof(err)),
			 PT_EPARSE);
	PT_ASSERT_STR_EQ(err, "line 1: longer than 4096 bytes");
	PT_ASSERT_INT_EQ(pt__slurm_parse_queue(nul, sizeof(nul) - 1, collect,
					       &r, err, sizeof(err)),
			 PT_EPARSE);
	PT_ASSERT_STR_EQ(err, "line 1: NUL byte");
	pt__buf_release(&b);
}

PT_TEST(status_parses_exactly)
{
	static const char in[] =
		"proctor-slurm-status 1\nhow timeout\n"
		"code 9\nhost node-1\nstart 100.5\nend 102.25\n"
		"port_base 20004\nmessage 2 3\n"
		"chaos chaos: SIGKILL to its process group at 0.103 s\n";
	struct pt_slurm_status st;
	char err[256] = "";

	PT_ASSERT_INT_EQ(
		pt__slurm_parse_status(in, strlen(in), &st, err, sizeof(err)),
		0);
	PT_ASSERT_INT_EQ(st.how, PT_SLURM_HOW_TIMEOUT);
	PT_ASSERT_INT_EQ(st.code, 9);
	PT_ASSERT_STR_EQ(st.host, "node-1");
	PT_ASSERT(st.start == 100.5 && st.end == 102.25);
	PT_ASSERT_UINT_EQ(st.port_base, 20004);
	PT_ASSERT_STR_EQ(st.message, "2 3");
	PT_ASSERT_STR_EQ(st.chaos,
			 "chaos: SIGKILL to its process group at 0.103 s");
}

PT_TEST(status_bad_input_names_line_and_field)
{
	static const struct {
		const char *in, *err;
	} cases[] = {
		{ "", "line 0: empty" },
		{ "proctor-slurm-status 2\n",
		  "line 1: not a proctor Slurm status" },
		{ "proctor-slurm-status 1\nhow exit\n",
		  "line 2: no 'how' or 'code'" },
		{ "proctor-slurm-status 1\nhow exit\ncode 256\n",
		  "line 3: code: '256'" },
		{ "proctor-slurm-status 1\nhow exit\ncode -1\n",
		  "line 3: code: '-1'" },
		{ "proctor-slurm-status 1\nhow maybe\n",
		  "line 2: how: 'maybe'" },
		{ "proctor-slurm-status 1\nhow exit\ncode 0\nshoe 1\n",
		  "line 4: unknown key 'shoe'" },
		{ "proctor-slurm-status 1\nhow exit\ncode 0",
		  "line 3: no end of line" },
		{ "proctor-slurm-status 1\nhow exit\ncode 0\nstart 5\nend 4\n",
		  "line 5: ends before it starts" },
		{ "proctor-slurm-status 1\nnospace\n",
		  "line 2: expected 'key value'" },
	};
	struct pt_slurm_status st;
	char err[256];

	for (size_t i = 0; i < PT_ARRAY_SIZE(cases); i++) {
		err[0] = '\0';
		PT_ASSERT_INT_EQ(pt__slurm_parse_status(cases[i].in,
							strlen(cases[i].in),
							&st, err, sizeof(err)),
				 PT_EPARSE);
		PT_ASSERT_STR_EQ(err, cases[i].err);
	}
}

PT_TEST(wrapper_and_spec_are_created_exclusively)
{
	char path[600], dir[512];
	const char *env[] = { "A=1,2", NULL };
	struct pt_slurm_spec sp = { .shell = "bash",
				    .command = "true",
				    .env = env };

	snprintf(dir, sizeof(dir), "%s/x", pt_test_tmpdir());
	PT_ASSERT_INT_EQ(pt__mkdir_p(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/wrapper", dir);
	PT_ASSERT_INT_EQ(symlink("/tmp/nowhere-proctor", path), 0);
	PT_ASSERT_INT_EQ(pt__slurm_write_wrapper(path), -EEXIST);
	snprintf(path, sizeof(path), "%s/w2", dir);
	PT_ASSERT_INT_EQ(pt__slurm_write_wrapper(path), 0);
	PT_ASSERT_INT_EQ(pt__slurm_write_wrapper(path), -EEXIST);
	snprintf(path, sizeof(path), "%s/spec", dir);
	PT_ASSERT_INT_EQ(pt__slurm_write_spec(path, &sp), 0);
	PT_ASSERT_INT_EQ(pt__slurm_write_spec(path, &sp), -EEXIST);
	snprintf(path, sizeof(path), "%s/w2", dir);
	{
		const char *argv[] = { "perl", "-c", path, NULL };
		char *out = NULL, *err = NULL;
		int st = -1;

		PT_ASSERT_INT_EQ(pt__run_capture(argv, NULL, 4096, 20000, &st,
						 &out, &err, NULL),
				 0);
		PT_ASSERT_INT_EQ(st, 0);
		PT_ASSERT(pt__ends_with(err, "/w2 syntax OK\n"));
		pt__free(out);
		pt__free(err);
	}
}

/* A job directory with a wrapper and a spec for command. */
static void make_job(const char *name, const char *command, double timeout,
		     char *dir, size_t size, char *wrapper, size_t wsize)
{
	const char *env[] = { "PATH=/usr/bin:/bin", "COMMA=a,b", NULL };
	struct pt_slurm_spec sp = { .shell = "bash",
				    .command = command,
				    .timeout = timeout,
				    .grace = 1,
				    .ports = 4,
				    .env = env };
	char p[600];

	snprintf(wrapper, wsize, "%s/wrapper", pt_test_tmpdir());
	(void)pt__slurm_write_wrapper(wrapper); /* once per test */
	snprintf(dir, size, "%s/%s", pt_test_tmpdir(), name);
	PT_ASSERT_INT_EQ(pt__mkdir_p(dir, 0700), 0);
	snprintf(p, sizeof(p), "%s/spec", dir);
	PT_ASSERT_INT_EQ(pt__slurm_write_spec(p, &sp), 0);
}

static void ignore_event(void *ctx, int wd)
{
	(void)ctx;
	(void)wd;
}

/* Waits (inotify, no polling) until dir/name exists; false at deadline. */
static bool wait_file(const char *dir, const char *name, int timeout_ms)
{
	char p[600];
	struct stat st;
	int fd = pt__dirwatch_new();

	PT_ASSERT(fd >= 0);
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	for (int i = 0; i < 1000; i++) {
		PT_ASSERT(pt__dirwatch_add(fd, dir, PT_DIRWATCH_CONTENT) >= 0);
		if (stat(p, &st) == 0) {
			close(fd);
			return true;
		}
		if (!pt_test_wait_fd(fd, 1 /* POLLIN */, timeout_ms))
			break;
		while (pt__dirwatch_read(fd, ignore_event, NULL) > 0)
			;
	}
	close(fd);
	return stat(p, &st) == 0;
}

static void read_status(const char *dir, struct pt_slurm_status *st)
{
	char p[600], err[256] = "", *t;
	size_t n;

	snprintf(p, sizeof(p), "%s/status", dir);
	PT_ASSERT_INT_EQ(pt__read_file(p, PT_SLURM_STATUS_MAX, &t, &n), 0);
	if (pt__slurm_parse_status(t, n, st, err, sizeof(err)) < 0)
		PT_FAIL("%s: %s", p, err);
	pt__free(t);
}

static char *slurp(const char *dir, const char *name)
{
	char p[600], *t = NULL;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	PT_ASSERT_INT_EQ(pt__read_file(p, 1 << 20, &t, &n), 0);
	return t;
}

static uint64_t submit(const char *dir, const char *wrapper, const char *name)
{
	struct pt_slurm_client c = { 0 };
	char out[600], errp[600], msg[512] = "";
	struct pt_slurm_submit s = { .name = name,
				     .wrapper = wrapper,
				     .job_dir = dir,
				     .out = out,
				     .err = errp,
				     .time_min = 2 };
	uint64_t id = 0;

	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(errp, sizeof(errp), "%s/err", dir);
	if (pt__slurm_submit(&c, &s, &id, msg, sizeof(msg)) < 0)
		PT_FAIL("sbatch: %s", msg);
	return id;
}

PT_TEST_TIMEOUT(cluster_runs_a_job_under_the_wrapper, 60)
{
	char dir[512], w[512], *out;
	struct pt_slurm_status st;

	need_cluster();
	make_job("j1",
		 "echo \"$COMMA $PROCTOR_PORT_COUNT\"; "
		 "[ \"$PWD\" = \"$PROCTOR_TMPDIR\" ] && echo cwd-ok; "
		 "echo oops >&2; exit 3",
		 0, dir, sizeof(dir), w, sizeof(w));
	PT_ASSERT(submit(dir, w, "pt-test-j1") > 0);
	PT_ASSERT(wait_file(dir, "status", 30000));
	read_status(dir, &st);
	PT_ASSERT_INT_EQ(st.how, PT_SLURM_HOW_EXIT);
	PT_ASSERT_INT_EQ(st.code, 3);
	PT_ASSERT(st.port_base >= 20000 && st.port_base < 32000);
	out = slurp(dir, "out");
	PT_ASSERT_STR_EQ(out, "a,b 4\ncwd-ok\n");
	pt__free(out);
	out = slurp(dir, "err");
	PT_ASSERT_STR_EQ(out, "oops\n");
	pt__free(out);
}

PT_TEST_TIMEOUT(cluster_wrapper_times_out_and_sees_signals, 60)
{
	char d1[512], d2[512], w[512];
	struct pt_slurm_status st;

	need_cluster();
	make_job("t", "trap '' TERM; exec sleep 50", 1, d1, sizeof(d1), w,
		 sizeof(w));
	make_job("s", "kill -SEGV $$", 0, d2, sizeof(d2), w, sizeof(w));
	PT_ASSERT(submit(d1, w, "pt-test-t") > 0);
	PT_ASSERT(submit(d2, w, "pt-test-s") > 0);
	PT_ASSERT(wait_file(d2, "status", 30000));
	read_status(d2, &st);
	PT_ASSERT_INT_EQ(st.how, PT_SLURM_HOW_SIGNAL);
	PT_ASSERT_INT_EQ(st.code, 11);
	PT_ASSERT(wait_file(d1, "status", 30000));
	read_status(d1, &st);
	PT_ASSERT_INT_EQ(st.how, PT_SLURM_HOW_TIMEOUT);
	PT_ASSERT_INT_EQ(st.code, 9); /* TERM ignored: KILL after 1 s */
	PT_ASSERT_STR_EQ(st.message, "1 1");
}

/*
 * Waits for job id to end, through Slurm itself: a job that depends on it
 * (afterany) starts when it has ended; srun returns when that one is done.
 */
static void wait_job_end(uint64_t id)
{
	char dep[64];
	const char *argv[] = {
		"srun", "--time=1", "--quiet", dep, "true", NULL
	};
	char *out = NULL, *err = NULL;
	int st = -1;

	snprintf(dep, sizeof(dep), "--dependency=afterany:%" PRIu64, id);
	PT_ASSERT_INT_EQ(
		pt__run_capture(argv, NULL, 4096, 30000, &st, &out, &err, NULL),
		0);
	if (st != 0)
		PT_FAIL("srun %s: %s", dep, err);
	pt__free(out);
	pt__free(err);
}

struct find {
	uint64_t id;
	enum pt_slurm_state state;
	char reason[64];
};

static int find_row(void *ctx, const struct pt_slurm_row *row)
{
	struct find *f = ctx;

	if (row->id == f->id) {
		f->state = row->state;
		snprintf(f->reason, sizeof(f->reason), "%s", row->reason);
	}
	return 0;
}

PT_TEST_TIMEOUT(cluster_cancel_and_query_by_name, 60)
{
	struct pt_slurm_client c = { 0 };
	char dir[512], w[512], name[64], msg[512] = "";
	struct find f = { 0 };

	need_cluster();
	snprintf(name, sizeof(name), "pt-test-c-%d", (int)getpid());
	make_job("c", "echo started; exec sleep 60", 0, dir, sizeof(dir), w,
		 sizeof(w));
	f.id = submit(dir, w, name);
	PT_ASSERT(wait_file(dir, "started", 30000));
	PT_ASSERT_INT_EQ(pt__slurm_cancel(&c, &f.id, 1, msg, sizeof(msg)), 0);
	wait_job_end(f.id);
	PT_ASSERT_INT_EQ(
		pt__slurm_query(&c, name, find_row, &f, msg, sizeof(msg)), 0);
	PT_ASSERT_INT_EQ(f.state, PT_SLURM_CANCELLED);
}

PT_TEST_TIMEOUT(cluster_refuses_a_bad_partition_with_its_message, 60)
{
	struct pt_slurm_client c = { .partition = "no-such-partition" };
	char dir[512], w[512], out[600], msg[512] = "";
	struct pt_slurm_submit s = { .name = "pt-test-bad",
				     .out = out,
				     .err = out };
	uint64_t id = 0;

	need_cluster();
	make_job("b", "true", 0, dir, sizeof(dir), w, sizeof(w));
	snprintf(out, sizeof(out), "%s/out", dir);
	s.wrapper = w;
	s.job_dir = dir;
	PT_ASSERT_INT_EQ(pt__slurm_submit(&c, &s, &id, msg, sizeof(msg)),
			 PT_EFAILED);
	PT_ASSERT_STR_EQ(msg, "sbatch: error: invalid partition specified: "
			      "no-such-partition");
	PT_ASSERT_UINT_EQ(id, 0);
}

PT_TEST(slurm_states_map_to_outcomes_with_their_reason)
{
	static const struct {
		const char *state, *reason;
		bool ours, listed;
		enum pt_outcome outcome;
		bool started, timed_out;
		const char *comment;
	} cases[] = {
		{ "TIMEOUT", "TimeLimit", false, true, PT_OUTCOME_TIMEOUT, true,
		  true, "Slurm job 7: TIMEOUT, reason TimeLimit" },
		{ "DEADLINE", "None", false, true, PT_OUTCOME_TIMEOUT, true,
		  true, "Slurm job 7: DEADLINE" },
		{ "NODE_FAIL", "NodeDown", false, true, PT_OUTCOME_CRASH, true,
		  false, "Slurm job 7: NODE_FAIL, reason NodeDown" },
		{ "CANCELLED", "None", false, true, PT_OUTCOME_CRASH, true,
		  false, "Slurm job 7: CANCELLED (cancelled outside proctor)" },
		{ "CANCELLED", "None", true, true, PT_OUTCOME_NONE, false,
		  false,
		  "interrupted: cancelled by proctor; Slurm job 7: CANCELLED" },
		{ "FAILED", "JobLaunchFailure", false, true, PT_OUTCOME_FAIL,
		  true, false, "Slurm job 7: FAILED, reason JobLaunchFailure" },
		{ "OUT_OF_MEMORY", "None", false, true, PT_OUTCOME_CRASH, true,
		  false, "Slurm job 7: OUT_OF_MEMORY" },
		{ "COMPLETED", "None", false, true, PT_OUTCOME_CRASH, true,
		  false, "Slurm job 7: COMPLETED without a status" },
		{ "COMPLETED", "None", false, false, PT_OUTCOME_CRASH, true,
		  false,
		  "Slurm no longer knows job 7 and it left no status "
		  "(MinJobAge?)" },
	};

	for (size_t i = 0; i < PT_ARRAY_SIZE(cases); i++) {
		enum pt_slurm_state s =
			pt__slurm_state(cases[i].state, strlen(cases[i].state));
		struct pt_slurm_end e = pt__slurm_end_of(s, cases[i].ours);
		char c[512];

		PT_ASSERT(pt__slurm_state_final(s));
		PT_ASSERT_INT_EQ(e.outcome, cases[i].outcome);
		PT_ASSERT_INT_EQ(e.started, cases[i].started);
		PT_ASSERT_INT_EQ(e.timed_out, cases[i].timed_out);
		pt__slurm_end_comment(c, sizeof(c), 7, cases[i].listed, s,
				      cases[i].state, cases[i].reason,
				      cases[i].ours);
		PT_ASSERT_STR_EQ(c, cases[i].comment);
	}
}
