/*
 * slurm/executor.c - the Slurm executor behind the executor seam
 * (proctor/slurm.h, docs/slurm.md).
 *
 * Each job gets a directory <dir>/<name> (made exclusively) holding its
 * spec; the wrapper adds "started", the output files and "status". The
 * executor learns that a job ended from its status file (an inotify
 * watch on the job's directory wakes it) and, for the jobs that end
 * without one (time limit, scancel, node failure), from squeue, asked
 * every poll_ms for every job of the session at once (one job name per
 * session, the directory name as the job's comment).
 */
#include "base/common.h"
#include "slurm/slurm.h"

#include <proctor/executor.h>
#include <proctor/slurm.h>

#include "base/buf.h"
#include "base/chaos.h"
#include "base/str.h"
#include "os/clock.h"
#include "os/fd.h"
#include "os/file.h"
#include "os/muxos.h"
#include "os/proc.h"
#include "os/runos.h"
#include "runner/runner-internal.h"

#define DEFAULT_POLL_MS 500
#define IO_CHUNK	(64u << 10)

struct sjob {
	struct pt_exec_spec spec; /* borrowed strings */
	char *name;		  /* directory name, also the Slurm comment */
	char *dir;		  /* <root>/<name> */
	uint64_t id;		  /* Slurm job id; 0 before sbatch */
	unsigned lane;
	bool has_lane; /* lane is taken by it */
	bool attached;
	enum pt_slurm_state state; /* as squeue last said */
	char state_name[32];
	char reason[96];
	bool listed; /* in the last squeue answer */
	int64_t since_ns;
};

struct sx {
	struct pt_exec_host host;
	struct pt_exec_iolog_ops log; /* the host's sink, copied */
	struct pt_slurm_client client;
	unsigned jobs;
	double timeout;
	uint64_t seed;
	int ports;
	bool keep_tmp;
	char *session, *root, *wrapper, *cwd, *partition, *jobname;
	char **env; /* cfg->env copied (the --chaos preload); NULL: none */
	struct pt_chaos chaos; /* cfg->chaos parsed: its process faults */
	bool chaos_on;	       /* cfg->chaos given: the jobs' fields too */
	char *chaos_log;       /* cfg->chaos_log; NULL: none */
	int poll_ms;
	struct sjob **queue; /* given, not submitted */
	size_t nq;
	struct sjob **flight; /* submitted or attached */
	size_t nf;
	struct sjob **done; /* ended, to be returned by step */
	struct pt_exec_done *dres;
	char **dcomments;
	size_t nd;
	size_t cap;
	bool *lane_busy;
	int watch; /* inotify fd, -1 none */
	int64_t next_poll_ns;
	bool cancelled, woke;
	uint64_t seq;
	/* what the last step returned points here */
	char *ret_comments, *ret_iolog, *ret_handle;
	struct sjob *ret_job;
};

static void sjob_free(struct sjob *j)
{
	if (!j)
		return;
	pt__free(j->name);
	pt__free(j->dir);
	pt__free(j);
}

static int push(struct sjob ***v, size_t *n, size_t cap, struct sjob *j)
{
	if (*n >= cap)
		return -ENOMEM;
	(*v)[(*n)++] = j;
	return 0;
}

static void remove_at(struct sjob **v, size_t *n, size_t i)
{
	memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
	(*n)--;
}

/* Grows the three lists so that each can hold n jobs. */
static int reserve(struct sx *x, size_t n)
{
	size_t cap = x->cap ? x->cap : 64;
	struct sjob **q, **f, **d;
	struct pt_exec_done *dr;
	char **dc;

	if (n <= x->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	q = pt__realloc_array(x->queue, cap, sizeof(*q));
	if (q)
		x->queue = q;
	f = pt__realloc_array(x->flight, cap, sizeof(*f));
	if (f)
		x->flight = f;
	d = pt__realloc_array(x->done, cap, sizeof(*d));
	if (d)
		x->done = d;
	dr = pt__realloc_array(x->dres, cap, sizeof(*dr));
	if (dr)
		x->dres = dr;
	dc = pt__realloc_array(x->dcomments, cap, sizeof(*dc));
	if (dc)
		x->dcomments = dc;
	if (!q || !f || !d || !dr || !dc)
		return -ENOMEM;
	x->cap = cap;
	return 0;
}

/* ---- ending jobs ----------------------------------------------------- */

/*
 * Queues a completion. comments is copied; outcome etc. in res. The job
 * leaves flight/queue before this is called.
 */
static void finish(struct sx *x, struct sjob *j, bool started,
		   const struct pt_result *res, int wait_status, bool timed_out,
		   const char *comments)
{
	struct pt_exec_done *d = &x->dres[x->nd];

	*d = (struct pt_exec_done){
		.job = j->spec.job,
		.udata = j->spec.udata,
		.attempt = j->spec.attempt,
		.started = started,
		.timed_out = timed_out,
		.wait_status = wait_status,
		.lane = j->lane,
		.result = *res,
	};
	d->result.attempt = j->spec.attempt;
	x->dcomments[x->nd] = comments ? pt__strdup(comments) : NULL;
	x->done[x->nd++] = j;
	if (j->has_lane && j->lane < x->jobs)
		x->lane_busy[j->lane] = false;
	j->has_lane = false;
}

/*
 * A job that did not run: cancelled (outcome NONE, started false: no
 * result, a resume runs it), or failed before it could (no command,
 * refused by Slurm: started true, so that the failure is its result, as
 * the local runner's "cannot start").
 */
static void finish_unstarted(struct sx *x, struct sjob *j,
			     enum pt_outcome outcome, const char *comments)
{
	struct pt_result res = { .outcome = outcome, .duration = -1 };

	finish(x, j, outcome != PT_OUTCOME_NONE, &res, 0, false, comments);
}

/* Copies one output file into the io log; *log opened at the first byte. */
static int copy_output(struct sx *x, struct sjob *j, const char *file,
		       int stream, void **log, const char **path)
{
	const struct pt_exec_iolog_ops *io = x->host.iolog;
	char p[4096], *buf;
	int fd, r = 0;

	snprintf(p, sizeof(p), "%s/%s", j->dir, file);
	fd = pt__open_rd(p);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	buf = pt__malloc(IO_CHUNK);
	if (!buf) {
		pt__close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = pt__read_once(fd, buf, IO_CHUNK);

		if (n <= 0) {
			r = (int)n;
			break;
		}
		if (!*log) {
			r = io->open(io->ctx, j->spec.job, j->spec.attempt, log,
				     path);
			if (r < 0)
				break;
		}
		r = io->append(io->ctx, *log, 0, stream, buf, (size_t)n);
		if (r < 0)
			break;
	}
	pt__free(buf);
	pt__close(fd);
	return r;
}

/* The job's output files into the host's io log; the log's path or NULL. */
static char *collect_output(struct sx *x, struct sjob *j, struct pt_buf *msg)
{
	const struct pt_exec_iolog_ops *io = x->host.iolog;
	const char *path = NULL;
	char *ret = NULL;
	void *log = NULL;
	int r;

	if (!io)
		return NULL;
	r = copy_output(x, j, "out", PT_EXEC_STDOUT, &log, &path);
	if (r == 0)
		r = copy_output(x, j, "err", PT_EXEC_STDERR, &log, &path);
	if (r < 0)
		(void)pt__buf_addf(msg, "%sio log: %s", msg->len ? "; " : "",
				   pt_strerror(r));
	if (log) {
		if (path)
			ret = pt__strdup(path);
		(void)io->close(io->ctx, log);
	}
	return ret;
}

static bool has_file(const struct sjob *j, const char *name)
{
	char p[4096];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", j->dir, name);
	fd = pt__open_rd(p);
	if (fd < 0)
		return false;
	pt__close(fd);
	return true;
}

/* First line of the job's stderr file, for a comment ("" when none). */
static void first_err_line(const struct sjob *j, char *buf, size_t size)
{
	char p[4096], *t = NULL;
	size_t n = 0;

	buf[0] = '\0';
	snprintf(p, sizeof(p), "%s/err", j->dir);
	if (pt__read_file(p, 1 << 20, &t, &n) == 0) {
		snprintf(buf, size, "%.*s", (int)strcspn(t, "\n"), t);
		pt__free(t);
	}
}

/*
 * Ended by the scancel of proctor's own cancel (Ctrl-C): marked
 * "cancelled", and its status says SIGTERM or SIGKILL ended it. Slurm
 * signals every process of the job at once, so the wrapper can write that
 * status before proctor looks: the job was interrupted, not crashed, and
 * a resume runs it again.
 */
static bool killed_by_our_cancel(const struct sjob *j)
{
	struct pt_slurm_status st;
	char p[4096], err[64];
	char *t = NULL;
	size_t n = 0;
	bool ours = false;

	if (!has_file(j, "cancelled"))
		return false;
	snprintf(p, sizeof(p), "%s/status", j->dir);
	if (pt__read_file(p, PT_SLURM_STATUS_MAX, &t, &n) == 0 &&
	    pt__slurm_parse_status(t, n, &st, err, sizeof(err)) == 0)
		ours = st.how == PT_SLURM_HOW_SIGNAL &&
		       (st.code == 15 || st.code == 9);
	pt__free(t);
	return ours;
}

/* Ends job i of flight from its status file; 1 done, 0 no status yet. */
static int end_from_status(struct sx *x, size_t i)
{
	struct sjob *j = x->flight[i];
	struct pt_slurm_status st;
	struct pt_result res = { .duration = -1 };
	struct pt_buf msg = PT_BUF_INIT;
	char p[4096], err[256] = "", *t = NULL, sig[96];
	int ws = 0, r;
	size_t n = 0;
	bool to = false;

	snprintf(p, sizeof(p), "%s/status", j->dir);
	r = pt__read_file(p, PT_SLURM_STATUS_MAX, &t, &n);
	if (r == -ENOENT)
		return 0;
	if (r == 0)
		r = pt__slurm_parse_status(t, n, &st, err, sizeof(err));
	pt__free(t);
	remove_at(x->flight, &x->nf, i);
	if (r < 0) {
		res.outcome = PT_OUTCOME_CRASH;
		(void)pt__buf_addf(&msg, "Slurm job %" PRIu64 ": %s: %s", j->id,
				   p, err[0] ? err : pt_strerror(r));
	} else {
		res.duration = st.end - st.start;
		res.started_ns = (int64_t)(st.start * 1e9);
		switch (st.how) {
		case PT_SLURM_HOW_EXIT:
			res.outcome =
				st.code ? PT_OUTCOME_FAIL : PT_OUTCOME_PASS;
			res.return_code = st.code;
			ws = st.code << 8;
			break;
		case PT_SLURM_HOW_SIGNAL:
			res.outcome = PT_OUTCOME_CRASH;
			res.return_code = -st.code;
			ws = st.code;
			(void)pt__buf_addf(
				&msg, "killed by %s",
				pt__proc_status_str(ws, sig, sizeof(sig)));
			break;
		case PT_SLURM_HOW_TIMEOUT: {
			double lim = 0, grace = 0;

			if (sscanf(st.message, "%lf %lf", &lim, &grace) != 2)
				lim = grace = 0;
			res.outcome = PT_OUTCOME_TIMEOUT;
			res.return_code = -st.code;
			ws = st.code;
			to = true;
			(void)pt__buf_addf(&msg,
					   "timed out after %g s: SIGTERM to "
					   "its process group",
					   lim);
			if (st.code == 9)
				(void)pt__buf_addf(&msg,
						   ", SIGKILL after %g s of "
						   "grace",
						   grace);
			break;
		}
		case PT_SLURM_HOW_ERROR:
		default:
			res.outcome = PT_OUTCOME_FAIL;
			(void)pt__buf_adds(&msg, st.message);
			break;
		}
		if (st.host[0] && msg.len)
			(void)pt__buf_addf(&msg,
					   " (Slurm job %" PRIu64 " on %s)",
					   j->id, st.host);
		if (st.chaos[0])
			(void)pt__buf_addf(&msg, "%s%s", msg.len ? "; " : "",
					   st.chaos);
	}
	{
		char *log = collect_output(x, j, &msg);
		finish(x, j, true, &res, ws, to, msg.len ? msg.s : NULL);
		x->dres[x->nd - 1].result.io_log = log; /* freed on return */
	}
	pt__buf_release(&msg);
	return 1;
}

/* Ends job i of flight from Slurm's state (no status file). */
static void end_from_state(struct sx *x, size_t i)
{
	struct sjob *j = x->flight[i];
	bool ours = has_file(j, "cancelled");
	struct pt_slurm_end e = pt__slurm_end_of(j->state, ours);
	struct pt_result res = { .outcome = e.outcome, .duration = -1 };
	struct pt_buf msg = PT_BUF_INIT;
	char line[512], c[512];

	remove_at(x->flight, &x->nf, i);
	pt__slurm_end_comment(c, sizeof(c), j->id, j->listed, j->state,
			      j->state_name, j->reason, ours);
	(void)pt__buf_adds(&msg, c);
	first_err_line(j, line, sizeof(line));
	if (line[0])
		(void)pt__buf_addf(&msg, "; stderr: %s", line);
	{
		char *log = collect_output(x, j, &msg);
		finish(x, j, e.started, &res, 0, e.timed_out, msg.s);
		x->dres[x->nd - 1].result.io_log = log;
	}
	pt__buf_release(&msg);
}

/* ---- squeue ------------------------------------------------------------ */

static int on_row(void *ctx, const struct pt_slurm_row *row)
{
	struct sx *x = ctx;

	for (size_t i = 0; i < x->nf; i++) {
		struct sjob *j = x->flight[i];

		if (j->id == row->id ||
		    (j->id == 0 && !strcmp(j->name, row->tag))) {
			j->id = row->id;
			j->state = row->state;
			j->listed = true;
			snprintf(j->reason, sizeof(j->reason), "%s",
				 row->reason);
			snprintf(j->state_name, sizeof(j->state_name), "%s",
				 row->state_name);
		}
	}
	return 0;
}

/* Asks squeue; ends the jobs Slurm says ended without a status. */
static int poll_queue(struct sx *x)
{
	char msg[512] = "";
	int64_t now = pt__now_ns();
	int r;

	for (size_t i = 0; i < x->nf; i++)
		x->flight[i]->listed = false;
	r = pt__slurm_query(&x->client, x->jobname, on_row, x, msg,
			    sizeof(msg));
	x->next_poll_ns = pt__now_ns() + (int64_t)x->poll_ms * 1000000;
	if (r < 0)
		return r; /* a transient failure: asked again next time */
	for (size_t i = 0; i < x->nf;) {
		struct sjob *j = x->flight[i];
		bool gone = !j->listed && now - j->since_ns > 10000000000LL;

		if ((j->listed && pt__slurm_state_final(j->state)) || gone) {
			/* the status is written before the wrapper exits */
			if (end_from_status(x, i) == 0)
				end_from_state(x, i);
			continue;
		}
		i++;
	}
	return 0;
}

/* ---- submitting ----------------------------------------------------- */

static bool is_locale(const char *kv)
{
	return pt__starts_with(kv, "LC_") || pt__starts_with(kv, "LANG=") ||
	       pt__starts_with(kv, "LANGUAGE=");
}

/*
 * The job's environment, as the local runner gives it: the caller's
 * (sbatch's --export=ALL), the spec's extra variables, PROCTOR_*; the
 * wrapper adds TMPDIR, PROCTOR_TMPDIR and the port block on the node.
 */
static int job_env(struct sx *x, const struct sjob *j, struct pt_buf *vars,
		   const char ***ret)
{
	char **env = pt__environ();
	const struct pt_job *job = j->spec.job;
	bool reset = (job->flags & PT_JOB_RESET_LOCALE) != 0;
	size_t n = 0, cnt = 8;
	const char **v;
	size_t offs[8], no = 0;
	int r = 0;

	for (size_t i = 0; env && env[i]; i++)
		cnt++;
	for (size_t i = 0; x->env && x->env[i]; i++)
		cnt++;
	for (const char *const *e = j->spec.env; e && *e; e++)
		cnt++;
	v = pt__malloc_array(cnt + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
#define ADD(fmt, val)                       \
 do {                                       \
  offs[no++] = vars->len;                   \
  r = r ? r : pt__buf_addf(vars, fmt, val); \
  r = r ? r : pt__buf_addch(vars, '\0');    \
 } while (0)
	ADD("PROCTOR_SESSION_ID=%s", x->session);
	ADD("PROCTOR_JOB_ID=%s", job->id);
	ADD("PROCTOR_SEED=%" PRIu64, x->seed);
	ADD("PROCTOR_ATTEMPT=%u", j->spec.attempt ? j->spec.attempt : 1);
	if (reset)
		ADD("LANG=%s", "C.UTF-8");
#undef ADD
	if (r < 0) {
		pt__free(v);
		return r;
	}
	for (size_t i = 0; env && env[i]; i++) {
		if (pt__runner_env_is_ours(env[i]) ||
		    (reset && is_locale(env[i])))
			continue;
		v[n++] = env[i];
	}
	/* later wins in the wrapper: the run's, then the job's own */
	for (size_t i = 0; x->env && x->env[i]; i++)
		v[n++] = x->env[i];
	for (const char *const *e = j->spec.env; e && *e; e++)
		v[n++] = *e;
	for (size_t i = 0; i < no; i++)
		v[n++] = vars->s + offs[i];
	v[n] = NULL;
	*ret = v;
	return 0;
}

static double job_timeout(const struct sx *x, const struct sjob *j)
{
	if (j->spec.timeout > 0)
		return j->spec.timeout;
	if (j->spec.job->timeout > 0)
		return j->spec.job->timeout;
	return x->timeout > 0 ? x->timeout : 0;
}

/* A directory name: the job id's safe characters, attempt, a counter. */
static int make_dir(struct sx *x, struct sjob *j)
{
	struct pt_buf b = PT_BUF_INIT;
	const char *id = j->spec.job->id;
	int r = 0;

	for (int tries = 0; tries < 100; tries++) {
		pt__buf_reset(&b);
		for (size_t i = 0; id[i] && i < 40; i++) {
			char c = id[i];
			bool ok = (c >= 'a' && c <= 'z') ||
				  (c >= 'A' && c <= 'Z') ||
				  (c >= '0' && c <= '9') || c == '.' ||
				  c == '-' || c == '_';
			r = r ? r : pt__buf_addch(&b, ok ? c : '_');
		}
		r = r ? r
		      : pt__buf_addf(&b, "-a%u-%" PRIx64 "%04" PRIx64,
				     j->spec.attempt,
				     (uint64_t)pt__now_ns() & 0xffffffffu,
				     x->seq++ & 0xffff);
		if (r < 0)
			break;
		pt__free(j->name);
		pt__free(j->dir);
		j->name = pt__strdup(b.s);
		pt__buf_reset(&b);
		r = pt__buf_addf(&b, "%s/%s", x->root, j->name);
		j->dir = r ? NULL : pt__strdup(b.s);
		if (!j->name || !j->dir) {
			r = -ENOMEM;
			break;
		}
		r = pt__mkdir(j->dir, 0700);
		if (r != -EEXIST)
			break;
		r = 0;
	}
	pt__buf_release(&b);
	return r;
}

static int save(struct sx *x, struct sjob *j, uint64_t id)
{
	char h[600];

	if (!x->host.save_handle)
		return 0;
	if (id)
		snprintf(h, sizeof(h), "%" PRIu64 " %s", id, j->name);
	else
		snprintf(h, sizeof(h), "? %s", j->name);
	return x->host.save_handle(x->host.ctx, j->spec.job, j->spec.udata,
				   j->spec.attempt, h);
}

static unsigned free_lane(struct sx *x)
{
	for (unsigned i = 0; i < x->jobs; i++) {
		if (!x->lane_busy[i])
			return i;
	}
	return x->jobs; /* attached beyond -j: no lane of its own */
}

/* j is in Slurm: it takes a lane (if one is free) and is watched. */
static void to_flight(struct sx *x, struct sjob *j)
{
	j->since_ns = pt__now_ns();
	j->lane = free_lane(x);
	j->has_lane = j->lane < x->jobs;
	if (j->has_lane)
		x->lane_busy[j->lane] = true;
	else
		j->lane = 0;
	x->flight[x->nf++] = j;
	if (x->watch >= 0)
		(void)pt__dirwatch_add(x->watch, j->dir, PT_DIRWATCH_CONTENT);
}

/* Submits j (taken off the queue); it is in flight or done after. */
static void submit_one(struct sx *x, struct sjob *j)
{
	const struct pt_job *job = j->spec.job;
	struct pt_buf vars = PT_BUF_INIT, msg = PT_BUF_INIT;
	char p[4096], out[4096], err[4096], m[1024] = "";
	const char **env = NULL;
	double to = job_timeout(x, j);
	const char *cwd = j->spec.cwd;
	struct pt_slurm_spec sp;
	struct pt_chaos_times ct = { 0 };
	struct pt_slurm_submit sub;
	uint64_t id = 0;
	int r;

	if (x->host.on_start) {
		r = x->host.on_start(x->host.ctx, job, j->spec.udata,
				     j->spec.attempt);
		if (r < 0) {
			struct pt_result res = { .outcome = PT_OUTCOME_FAIL,
						 .duration = -1 };

			/* the seam's rule: refused by the host, not started */
			(void)pt__buf_addf(&msg, "cannot start: %s",
					   pt_strerror(r));
			finish(x, j, false, &res, 0, false, msg.s);
			pt__buf_release(&msg);
			return;
		}
	}
	if (!job->command) {
		finish_unstarted(x, j, PT_OUTCOME_FAIL, "job has no command");
		return;
	}
	if (!cwd && (job->flags & PT_JOB_PRESERVE_CWD))
		cwd = x->cwd;
	r = make_dir(x, j);
	if (r == 0)
		r = job_env(x, j, &vars, &env);
	/* the job's own chaos field only counts under --chaos */
	if (x->chaos_on)
		pt__chaos_times(&x->chaos, job->chaos, x->seed, job->id,
				j->spec.attempt ? j->spec.attempt : 1, &ct);
	if (r == 0) {
		sp = (struct pt_slurm_spec){
			.shell = job->shell ? job->shell : "bash",
			.command = job->command,
			.timeout = to,
			.grace = 3,
			.ports = x->ports < 0 ? 4 : (unsigned)x->ports,
			.cwd = cwd,
			.keep_tmp = x->keep_tmp,
			.env = env,
			.chaos = &ct,
			.chaos_log = x->chaos_log,
		};
		snprintf(p, sizeof(p), "%s/spec", j->dir);
		r = pt__slurm_write_spec(p, &sp);
	}
	pt__free(env);
	pt__buf_release(&vars);
	/* the handle before sbatch: a crash between sbatch and the save of
	 * the id leaves "? <name>", which resume finds by its comment */
	if (r == 0)
		r = save(x, j, 0);
	if (r < 0) {
		(void)pt__buf_addf(&msg, "cannot start: %s", pt_strerror(r));
		finish_unstarted(x, j, PT_OUTCOME_FAIL, msg.s);
		pt__buf_release(&msg);
		return;
	}
	snprintf(out, sizeof(out), "%s/out", j->dir);
	snprintf(err, sizeof(err), "%s/err", j->dir);
	sub = (struct pt_slurm_submit){
		.name = x->jobname,
		.comment = j->name,
		.wrapper = x->wrapper,
		.job_dir = j->dir,
		.out = out,
		.err = err,
		/* Slurm's limit, in minutes, only backs the wrapper's up */
		.time_min = to > 0 ? (unsigned)((to + 3) / 60) + 2 : 0,
	};
	r = pt__slurm_submit(&x->client, &sub, &id, m, sizeof(m));
	if (r < 0) {
		(void)pt__buf_addf(
			&msg, "cannot start: Slurm refused the job: %s", m);
		finish_unstarted(x, j, PT_OUTCOME_FAIL, msg.s);
		pt__buf_release(&msg);
		return;
	}
	j->id = id;
	to_flight(x, j);
	r = save(x, j, id);
	if (r < 0) {
		/* it would be lost: cancel it */
		(void)pt__slurm_cancel(&x->client, &id, 1, m, sizeof(m));
		x->nf--;
		(void)pt__buf_addf(&msg,
				   "cannot start: its Slurm job id could not "
				   "be recorded (%s); cancelled",
				   pt_strerror(r));
		finish_unstarted(x, j, PT_OUTCOME_FAIL, msg.s);
		pt__buf_release(&msg);
	}
}

static bool locks_free(const struct sx *x, const struct pt_job *job)
{
	for (size_t l = 0; l < job->locks.n; l++) {
		for (size_t i = 0; i < x->nf; i++) {
			const struct pt_job *o = x->flight[i]->spec.job;
			for (size_t k = 0; k < o->locks.n; k++) {
				if (!strcmp(o->locks.v[k], job->locks.v[l]))
					return false;
			}
		}
	}
	return true;
}

static void submit_ready(struct sx *x)
{
	for (size_t i = 0; i < x->nq && x->nf < x->jobs && !x->cancelled;) {
		struct sjob *j = x->queue[i];

		if (!locks_free(x, j->spec.job)) {
			i++;
			continue;
		}
		remove_at(x->queue, &x->nq, i);
		submit_one(x, j);
	}
}

/* ---- the ops ----------------------------------------------------------- */

static void s_release(void *ex)
{
	struct sx *x = ex;

	if (!x)
		return;
	for (size_t i = 0; i < x->nq; i++)
		sjob_free(x->queue[i]);
	for (size_t i = 0; i < x->nf; i++)
		sjob_free(x->flight[i]); /* jobs go on in Slurm */
	for (size_t i = 0; i < x->nd; i++) {
		sjob_free(x->done[i]);
		pt__free(x->dcomments[i]);
		pt__free((char *)(uintptr_t)x->dres[i].result.io_log);
	}
	sjob_free(x->ret_job);
	pt__free(x->ret_comments);
	pt__free(x->ret_iolog);
	pt__free(x->ret_handle);
	pt__free(x->queue);
	pt__free(x->flight);
	pt__free(x->done);
	pt__free(x->dres);
	pt__free(x->dcomments);
	pt__free(x->lane_busy);
	pt__close(x->watch);
	pt__free(x->session);
	pt__free(x->root);
	pt__free(x->wrapper);
	pt__free(x->cwd);
	pt__free(x->partition);
	pt__free(x->jobname);
	for (size_t i = 0; x->env && x->env[i]; i++)
		pt__free(x->env[i]);
	pt__free(x->env);
	pt__free(x->chaos_log);
	pt__free(x);
}

/*
 * The run's extra variables (cfg->env: LD_PRELOAD and PROCTOR_PRELOAD
 * of --chaos), copied; its process faults, for the wrapper to do at the
 * times the local runner would (docs/slurm.md).
 */
static int copy_env(struct sx *x, const struct pt_exec_config *cfg)
{
	size_t n = 0;

	if (cfg->chaos) {
		char err[256];

		if (pt__chaos_parse(cfg->chaos, &x->chaos, err, sizeof(err)) <
		    0)
			return -EINVAL;
		x->chaos_on = true;
	}
	if (cfg->chaos_log && !(x->chaos_log = pt__strdup(cfg->chaos_log)))
		return -ENOMEM;
	while (cfg->env && cfg->env[n])
		n++;
	if (!n)
		return 0;
	x->env = pt__calloc(n + 1, sizeof(*x->env));
	if (!x->env)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!(x->env[i] = pt__strdup(cfg->env[i])))
			return -ENOMEM;
	return 0;
}

static int s_bind(const struct pt_exec_config *cfg,
		  const struct pt_exec_host *host, void **ret)
{
	struct pt_buf b = PT_BUF_INIT;
	const char *dir = NULL;
	struct sx *x;
	int r = 0;

	if (!cfg || !ret || cfg->jobs == 0)
		return -EINVAL;
	x = pt__calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->watch = -1;
	x->poll_ms = DEFAULT_POLL_MS;
	for (const char *const *o = cfg->options; o && *o; o++) {
		if (pt__starts_with(*o, "partition=") && (*o)[10])
			x->partition = pt__strdup(*o + 10);
		else if (pt__starts_with(*o, "dir=") && (*o)[4] == '/')
			dir = *o + 4;
		else if (pt__starts_with(*o, "poll_ms=")) {
			int64_t v;
			if (pt__parse_i64(*o + 8, &v) < 0 || v < 1 ||
			    v > 60000) {
				r = -EINVAL;
				break;
			}
			x->poll_ms = (int)v;
		} else {
			r = -EINVAL;
			break;
		}
	}
	if (host)
		x->host = *host;
	if (x->host.iolog) {
		x->log = *x->host.iolog;
		x->host.iolog = &x->log;
	}
	if (r == 0)
		r = copy_env(x, cfg);
	x->jobs = cfg->jobs;
	x->timeout = cfg->timeout;
	x->seed = cfg->seed;
	x->ports = cfg->ports;
	x->keep_tmp = cfg->keep_tmp;
	x->session = pt__strdup(cfg->session_id ? cfg->session_id : "");
	x->cwd = cfg->cwd ? pt__strdup(cfg->cwd) : NULL;
	x->lane_busy = pt__calloc(cfg->jobs, sizeof(bool));
	if (r == 0 && (!x->session || !x->lane_busy || (cfg->cwd && !x->cwd)))
		r = -ENOMEM;
	if (r == 0 && dir)
		r = pt__buf_adds(&b, dir);
	else if (r == 0)
		r = pt__buf_addf(&b, "%s/proctor-slurm-%s", pt__tmp_root(),
				 x->session);
	if (r == 0 && !(x->root = pt__strdup(b.s)))
		r = -ENOMEM;
	pt__buf_reset(&b);
	if (r == 0)
		r = pt__mkdir_p(x->root, 0700);
	if (r == 0)
		r = pt__buf_addf(&b, "%s/wrapper.pl", x->root);
	if (r == 0 && !(x->wrapper = pt__strdup(b.s)))
		r = -ENOMEM;
	if (r == 0) {
		/* made once per directory, exclusively; a resumed run
		 * reuses the one it made */
		r = pt__slurm_write_wrapper(x->wrapper);
		if (r == -EEXIST)
			r = 0;
	}
	pt__buf_reset(&b);
	if (r == 0)
		r = pt__buf_addf(&b, "pt-%s", x->session);
	if (r == 0 && !(x->jobname = pt__strdup(b.s)))
		r = -ENOMEM;
	if (r == 0)
		r = reserve(x, 64);
	pt__buf_release(&b);
	if (r < 0) {
		s_release(x);
		return r;
	}
	x->client.partition = x->partition;
	x->watch = pt__dirwatch_new();
	if (x->watch < 0)
		x->watch = -1;
	*ret = x;
	return 0;
}

static struct sjob *new_job(struct sx *x, const struct pt_exec_spec *spec)
{
	struct sjob *j;

	if (reserve(x, x->nq + x->nf + x->nd + 1) < 0)
		return NULL;
	j = pt__calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->spec = *spec;
	if (!j->spec.attempt)
		j->spec.attempt = 1;
	return j;
}

static int s_start(void *ex, const struct pt_exec_spec *spec)
{
	struct sx *x = ex;
	struct sjob *j;

	if (!spec || !spec->job || spec->argv)
		return -EINVAL;
	if (x->cancelled)
		return PT_ESTATE;
	j = new_job(x, spec);
	if (!j)
		return -ENOMEM;
	return push(&x->queue, &x->nq, x->cap, j);
}

static int s_attach(void *ex, const struct pt_exec_spec *spec,
		    const char *handle)
{
	struct sx *x = ex;
	struct pt_buf b = PT_BUF_INIT;
	const char *sp = handle ? strchr(handle, ' ') : NULL;
	struct sjob *j;
	uint64_t id = 0;
	char num[32];
	int r;

	if (!spec || !spec->job || !sp ||
	    (size_t)(sp - handle) >= sizeof(num) || !sp[1] ||
	    strchr(sp + 1, '/'))
		return -EINVAL;
	memcpy(num, handle, (size_t)(sp - handle));
	num[sp - handle] = '\0';
	if (strcmp(num, "?") && (pt__parse_u64(num, &id) < 0 || id == 0))
		return -EINVAL;
	j = new_job(x, spec);
	if (!j)
		return -ENOMEM;
	j->id = id;
	j->attached = true;
	j->name = pt__strdup(sp + 1);
	r = j->name ? pt__buf_addf(&b, "%s/%s", x->root, j->name) : -ENOMEM;
	j->dir = r ? NULL : pt__strdup(b.s);
	pt__buf_release(&b);
	if (!j->dir) {
		sjob_free(j);
		return -ENOMEM;
	}
	/* cancelled by proctor (Ctrl-C) and never finished, or ended by that
	 * cancel: run it again */
	if (has_file(j, "cancelled") &&
	    (!has_file(j, "status") || killed_by_our_cancel(j))) {
		sjob_free(j);
		return PT_ENOTFOUND;
	}
	if (id == 0) {
		/* saved before sbatch only: whether Slurm took it, its
		 * comment (the directory name) says */
		x->flight[x->nf++] = j;
		r = pt__slurm_query(&x->client, x->jobname, on_row, x, NULL, 0);
		x->nf--;
		if (r < 0 && !has_file(j, "status")) {
			sjob_free(j);
			return r;
		}
		if (!j->id && !has_file(j, "started") &&
		    !has_file(j, "status")) {
			sjob_free(j);
			return PT_ENOTFOUND; /* never submitted */
		}
	}
	to_flight(x, j);
	x->next_poll_ns = 0; /* ask Slurm at the next step */
	return 0;
}

static void on_watch(void *ctx, int wd)
{
	(void)wd;
	((struct sx *)ctx)->woke = true;
}

/*
 * Reads what the watch fd holds (the caller may have polled it: it must
 * not stay readable) and sets the watches again after an event: each
 * ends with its first.
 */
static void drain_watch(struct sx *x)
{
	if (x->watch < 0)
		return;
	x->woke = false;
	(void)pt__dirwatch_read(x->watch, on_watch, x);
	if (!x->woke)
		return;
	for (size_t i = 0; i < x->nf; i++)
		(void)pt__dirwatch_add(x->watch, x->flight[i]->dir,
				       PT_DIRWATCH_CONTENT);
}

/* Pops the oldest completion into *ret; what it points to lives until the
 * next step or release. */
static int pop_done(struct sx *x, struct pt_exec_done *ret)
{
	struct sjob *j = x->done[0];
	char h[600];

	sjob_free(x->ret_job);
	pt__free(x->ret_comments);
	pt__free(x->ret_iolog);
	pt__free(x->ret_handle);
	x->ret_job = j;
	x->ret_comments = x->dcomments[0];
	x->ret_iolog = (char *)(uintptr_t)x->dres[0].result.io_log;
	x->ret_handle = NULL;
	*ret = x->dres[0];
	ret->result.comments = x->ret_comments;
	if (j->id) {
		snprintf(h, sizeof(h), "%" PRIu64 " %s", j->id, j->name);
		x->ret_handle = pt__strdup(h);
	}
	ret->handle = x->ret_handle;
	memmove(&x->done[0], &x->done[1], (x->nd - 1) * sizeof(*x->done));
	memmove(&x->dres[0], &x->dres[1], (x->nd - 1) * sizeof(*x->dres));
	memmove(&x->dcomments[0], &x->dcomments[1],
		(x->nd - 1) * sizeof(*x->dcomments));
	x->nd--;
	return 1;
}

static int s_step(void *ex, int timeout_ms, struct pt_exec_done *ret)
{
	struct sx *x = ex;
	int64_t deadline =
		timeout_ms < 0 ? INT64_MAX
			       : pt__now_ns() + (int64_t)timeout_ms * 1000000;

	for (;;) {
		int64_t now, wait_ns;
		struct pt_pollfd pf;

		drain_watch(x);
		submit_ready(x);
		for (size_t i = 0; i < x->nf;) {
			if (end_from_status(x, i) == 0)
				i++;
		}
		now = pt__now_ns();
		if (x->nf && now >= x->next_poll_ns)
			(void)poll_queue(x);
		if (x->nd)
			return pop_done(x, ret);
		if (x->nf == 0 && x->nq == 0)
			return 0;
		now = pt__now_ns();
		if (now >= deadline)
			return 0;
		wait_ns = PT_MIN(deadline, x->next_poll_ns) - now;
		if (wait_ns < 0)
			wait_ns = 0;
		if (x->watch >= 0) {
			pf = (struct pt_pollfd){ .fd = x->watch,
						 .events = PT_POLL_IN };
			(void)pt__poll(&pf, 1,
				       (int)((wait_ns + 999999) / 1000000));
		} else {
			(void)pt__poll(NULL, 0,
				       (int)((wait_ns + 999999) / 1000000));
		}
	}
}

static int s_fd(void *ex)
{
	return ((struct sx *)ex)->watch;
}

static int s_timeout(void *ex)
{
	struct sx *x = ex;
	int64_t left;

	if (x->nd || (x->nq && x->nf < x->jobs))
		return 0;
	if (!x->nf)
		return -1;
	left = x->next_poll_ns - pt__now_ns();
	return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

static size_t s_running(void *ex)
{
	return ((struct sx *)ex)->nf;
}

static size_t s_queued(void *ex)
{
	return ((struct sx *)ex)->nq;
}

static void s_cancel(void *ex, bool terminate)
{
	struct sx *x = ex;
	uint64_t *ids;
	size_t n = 0;

	x->cancelled = true;
	while (x->nq) {
		struct sjob *j = x->queue[0];

		remove_at(x->queue, &x->nq, 0);
		finish_unstarted(x, j, PT_OUTCOME_NONE, "not run: cancelled");
	}
	if (!terminate || !x->nf)
		return;
	ids = pt__malloc_array(x->nf, sizeof(*ids));
	for (size_t i = 0; i < x->nf; i++) {
		struct sjob *j = x->flight[i];
		char p[4096];
		int fd;

		/* mark first: a resume must not mistake it for a job
		 * someone else cancelled */
		snprintf(p, sizeof(p), "%s/cancelled", j->dir);
		fd = pt__open_excl(p, 0600);
		if (fd >= 0) {
			(void)pt__io_fsync(fd);
			pt__close(fd);
		}
		if (ids && j->id)
			ids[n++] = j->id;
	}
	if (ids)
		(void)pt__slurm_cancel(&x->client, ids, n, NULL, 0);
	pt__free(ids);
	/* they come back now, not run; one that finished meanwhile keeps
	 * its status, which a resume collects (unless the scancel ended it) */
	while (x->nf) {
		if (killed_by_our_cancel(x->flight[0]) ||
		    end_from_status(x, 0) == 0) {
			struct sjob *j = x->flight[0];
			char m[128];

			remove_at(x->flight, &x->nf, 0);
			snprintf(m, sizeof(m),
				 "interrupted: Slurm job %" PRIu64
				 " cancelled (scancel)",
				 j->id);
			{
				struct pt_result res = {
					.outcome = PT_OUTCOME_NONE,
					.duration = -1
				};
				finish(x, j, true, &res, 0, false, m);
			}
		}
	}
}

static const struct pt_executor_ops slurm_ops = {
	.name = "slurm",
	.flags = PT_EXEC_PERSISTENT | PT_EXEC_PROCESS_FAULTS,
	.bind = s_bind,
	.start = s_start,
	.attach = s_attach,
	.step = s_step,
	.fd = s_fd,
	.timeout = s_timeout,
	.running = s_running,
	.queued = s_queued,
	.cancel = s_cancel,
	.release = s_release,
};

PT_API const struct pt_executor_ops *pt_executor_slurm(void)
{
	return &slurm_ops;
}
