/*
 * runner/runner.c - the job runner: a single-threaded event loop that
 * starts ready jobs as isolated process groups, captures their output
 * into io logs, enforces timeouts, and hands back results.
 *
 * Life of a job (one slot):
 *
 *   queued --start--> running --pidfd readable--> exited --pipes EOF--> done
 *                        |  deadline: SIGTERM to the group (timed_out)
 *                        |  deadline + grace: SIGKILL to the group
 *                        `- pt_runner_cancel(terminate): same, "interrupted"
 *
 * When the main process exits, its process group gets SIGKILL before the
 * zombie is reaped (so the group id cannot have been reused): a job leaves
 * no process behind. Output is read until both pipes reach EOF; if some
 * process outside the group (it called setsid) still holds a pipe, reading
 * stops one second after the exit.
 *
 * Memory does not grow with output: a single 64 KiB read buffer serves all
 * jobs and every read goes straight to the job's io log file.
 */
#include "runner/runner-internal.h"

#include <signal.h>
#include <sys/wait.h>

#include "base/buf.h"
#include "base/chaos.h"
#include "base/map.h"
#include "base/str.h"
#include "base/vec.h"
#include "os/clock.h"
#include "os/fd.h"
#include "os/file.h"
#include "os/proc.h"
#include "os/provos.h"
#include "os/runos.h"

#define READ_CHUNK (64 * 1024)
#define DRAIN_NS   INT64_C(1000000000)
#define NEVER_NS   INT64_MAX

enum { EV_PIDFD = 0, EV_OUT = 1, EV_ERR = 2, EV_DIRWATCH = 3 };

struct qent {
	struct pt_run_request req;
	char *io_log; /* owned: the path to use, or NULL */
	double est;   /* sort key (0 when unknown or with -j1) */
	uint64_t seq; /* submission order: the last tie-break */
};

struct slot {
	bool used;
	struct qent *q;
	pid_t pid;
	int pidfd;
	int fd[2]; /* stdout, stderr read ends; -1 once closed */
	int64_t start_ns, wall_ns, exit_ns;
	int64_t deadline_ns; /* timeout: SIGTERM */
	/* --chaos process faults: when to kill, stop, continue the group;
	 * what was done (s from the start; 0: not done). */
	int64_t ckill_ns, cstop_ns, ccont_ns, cone_ns;
	double ckill_at, cstop_at, cstop_len, cone_at;
	uint64_t cone_pick; /* kill-one: the seeded choice */
	pid_t cone_pid;	    /* kill-one: its victim (0: none yet) */
	char cone_name[16]; /* and the victim's program name */
	bool cone_none;	    /* kill-one: only the main process so far */
	int64_t cone_wait;  /* kill-one: the next look, after none */
	int64_t kill_ns;    /* SIGKILL after the grace period */
	int64_t drain_ns;   /* stop reading pipes after the exit */
	double timeout_s;
	bool exited, timed_out, cancelled, killed, drained;
	int status;
	uint64_t maxrss_kib; /* peak memory of the job (wait4) */
	int reap_err; /* waitpid failed (someone else reaped it): -errno */
	struct pt_iolog_w log; /* the runner's own io log file */
	void *ext_log;	       /* or the caller's (cfg.iolog) */
	char *ext_path;
	char *tmpdir;
	unsigned port_base;
	bool locked;
	uint64_t bytes[2];
};

/* What a slot keeps from one job to the next (struct slot is reset). */
struct slot_keep {
	unsigned gen; /* generation of its temp dir name */
	bool clean;   /* its dir exists and is empty */
	int wd;	      /* its dir's watch (dirwatch); -1 none */
	bool touched; /* an event came for wd since it was emptied */
	struct pt_spawn_prep spawn; /* the last spawn's file actions */
};

/* A completion waiting to be collected; owns its strings. */
struct done {
	struct pt_run_done d;
	char *comments;
	char *io_log;
	char *tmpdir;
};

struct pt_runner {
	struct pt_runner_config cfg; /* strings point into the copies below */
	struct pt_chaos chaos;	     /* cfg.chaos parsed: its process faults */
	bool chaos_on;		     /* cfg.chaos given: the jobs' fields too */
	char *session_id, *tmp_root, *io_log_dir, *cwd, *chaos_log;
	unsigned jobs;
	int64_t grace_ns;
	int ep;
	struct pt_ports ports;
	PT_VEC(char *) base_env; /* owned "NAME=value" strings */
	struct pt_map shells;	 /* shell name -> resolved path (owned) */
	struct pt_map locks;	 /* held lock names (borrowed from jobs) */
	PT_VEC(struct qent *) heap;
	PT_VEC(struct qent *) blocked; /* waiting for a lock */
	struct slot *slots;
	size_t running;
	PT_VEC(struct done) done;
	size_t done_head;
	struct done last; /* handed out by the last step; freed by the next */
	bool cancelled;
	uint64_t seq;
	unsigned char *rbuf; /* PT_IOLOG_HDR + READ_CHUNK + PT_IOLOG_TAIL */
	struct pt_runner_iolog_ops ops; /* cfg.iolog, or all NULL */
	char *work_dir; /* <tmp_root>/proctor-<session>-XXXXXX, lazily */
	struct slot_keep *keep; /* per slot */
	int dirwatch;  /* inotify fd on the slot dirs; -1 none yet, -2 none */
	int work_wd;   /* watch of work_dir's names; -1 none */
	uint64_t kept; /* kept temp dirs made (their names) */
};

PT_API void pt_runner_config_init(struct pt_runner_config *c)
{
	memset(c, 0, sizeof(*c));
	c->grace = 3.0;
	c->port_count = 4;
	c->port_min = 20000;
	c->port_max = 32000;
}

static void done_free(struct done *d)
{
	pt__freep(&d->comments);
	pt__freep(&d->io_log);
	pt__freep(&d->tmpdir);
}

static bool env_name_is(const char *kv, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(kv, name, n) && kv[n] == '=';
}

/*
 * A variable the runner sets for each job: a value inherited from a
 * parent proctor is stale. Others named PROCTOR_* (the repository, say)
 * are the user's and pass.
 */
static bool env_is_ours(const char *kv)
{
	static const char *const ours[] = {
		"PROCTOR_SESSION_ID", "PROCTOR_JOB_ID",
		"PROCTOR_TMPDIR",     "PROCTOR_PORT_BASE",
		"PROCTOR_PORT_COUNT", "PROCTOR_SEED",
		"PROCTOR_ATTEMPT",    "TMPDIR",
	};

	for (size_t i = 0; i < PT_ARRAY_SIZE(ours); i++) {
		if (env_name_is(kv, ours[i]))
			return true;
	}
	return false;
}

bool pt__runner_env_is_ours(const char *kv)
{
	return env_is_ours(kv);
}

static bool env_is_basic(const char *kv)
{
	static const char *const keep[] = { "PATH",	"HOME",	 "USER",
					    "LOGNAME",	"SHELL", "LANG",
					    "LANGUAGE", "TZ",	 "TERM" };

	if (pt__starts_with(kv, "LC_"))
		return true;
	for (size_t i = 0; i < PT_ARRAY_SIZE(keep); i++) {
		if (env_name_is(kv, keep[i]))
			return true;
	}
	return false;
}

static bool env_overridden(const char *const *extra, const char *kv)
{
	size_t n = strcspn(kv, "=");

	for (; extra && *extra; extra++) {
		if (!strncmp(*extra, kv, n) && (*extra)[n] == '=')
			return true;
	}
	return false;
}

static int build_base_env(struct pt_runner *r)
{
	char **env = pt__environ();
	const char *const *extra = r->cfg.env;

	for (size_t i = 0; env && env[i]; i++) {
		char *s;

		if (env_is_ours(env[i]) || env_overridden(extra, env[i]))
			continue;
		if (r->cfg.clean_env && !env_is_basic(env[i]))
			continue;
		s = pt__strdup(env[i]);
		if (!s || pt_vec_push(&r->base_env, s) < 0) {
			pt__free(s);
			return -ENOMEM;
		}
	}
	for (; extra && *extra; extra++) {
		char *s;

		if (!strchr(*extra, '='))
			return -EINVAL;
		s = pt__strdup(*extra);
		if (!s || pt_vec_push(&r->base_env, s) < 0) {
			pt__free(s);
			return -ENOMEM;
		}
	}
	return 0;
}

static int dupopt(const char *s, char **ret)
{
	*ret = NULL;
	if (!s)
		return 0;
	*ret = pt__strdup(s);
	return *ret ? 0 : -ENOMEM;
}

PT_API int pt_runner_port_lock_dir(const char *dir, char **ret,
				   char **ret_notice)
{
	char priv[64];

	if (!ret || !ret_notice)
		return -EINVAL;
	if (dir)
		return pt__ports_lock_dir(dir, NULL, ret, ret_notice);
	snprintf(priv, sizeof(priv), PT_PORTS_PRIVATE_FMT, pt__uid());
	return pt__ports_lock_dir(PT_PORTS_SHARED_DIR, priv, ret, ret_notice);
}

int pt_runner_new(const struct pt_runner_config *c, struct pt_runner **ret)
{
	struct pt_runner *r;
	int err;

	if (!c || !ret || c->grace < 0 || c->timeout != c->timeout)
		return -EINVAL;
	r = pt__calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->ep = r->dirwatch = r->work_wd = -1;
	r->cfg = *c;
	r->jobs = c->jobs ? c->jobs : pt__cpu_count();
	r->grace_ns = (int64_t)(c->grace * 1e9);
	err = dupopt(c->session_id ? c->session_id : "", &r->session_id);
	if (!err)
		err = dupopt(c->tmp_root ? c->tmp_root : pt__tmp_root(),
			     &r->tmp_root);
	if (!err)
		err = dupopt(c->io_log_dir, &r->io_log_dir);
	if (!err)
		err = dupopt(c->cwd, &r->cwd);
	if (!err)
		err = dupopt(c->chaos_log, &r->chaos_log);
	if (err)
		goto fail;
	r->cfg.session_id = r->session_id;
	r->cfg.tmp_root = r->tmp_root;
	r->cfg.io_log_dir = r->io_log_dir;
	r->cfg.cwd = r->cwd;
	r->cfg.chaos_log = r->chaos_log;
	r->cfg.port_lock_dir = NULL;
	r->cfg.chaos = NULL;
	if (c->chaos) {
		char cerr[256];

		if (pt__chaos_parse(c->chaos, &r->chaos, cerr, sizeof(cerr)) <
		    0) {
			err = -EINVAL;
			goto fail;
		}
		r->chaos_on = true;
	}
	r->cfg.env = NULL;
	if (c->port_count) {
		char *dir = NULL, *notice = NULL;

		err = pt_runner_port_lock_dir(c->port_lock_dir, &dir, &notice);
		pt__free(notice);
		if (!err)
			err = pt__ports_init(&r->ports, c->port_min,
					     c->port_max, c->port_count, dir);
		pt__free(dir);
		if (!err && r->ports.nblocks < r->jobs)
			err = -EINVAL; /* cannot give every job a block */
		if (err)
			goto fail;
	}
	r->cfg.env = c->env;
	err = build_base_env(r);
	r->cfg.env = NULL;
	if (err)
		goto fail;
	r->slots = pt__calloc(r->jobs, sizeof(*r->slots));
	r->keep = pt__calloc(r->jobs, sizeof(*r->keep));
	for (size_t i = 0; r->keep && i < r->jobs; i++)
		r->keep[i].wd = -1;
	r->rbuf = pt__malloc(PT_IOLOG_HDR + READ_CHUNK + PT_IOLOG_TAIL);
	if (c->iolog) {
		if (!c->iolog->open || !c->iolog->append || !c->iolog->close) {
			err = -EINVAL;
			goto fail;
		}
		r->ops = *c->iolog;
	}
	r->cfg.iolog = NULL;
	if (!r->slots || !r->keep || !r->rbuf) {
		err = -ENOMEM;
		goto fail;
	}
	r->ep = pt__ep_new();
	if (r->ep < 0) {
		err = r->ep;
		goto fail;
	}
	*ret = r;
	return 0;
fail:
	pt_runner_free(r);
	return err;
}

static void qent_free(struct qent *q)
{
	if (q) {
		pt__free(q->io_log);
		pt__free(q);
	}
}

/*
 * Closing an fd removes it from the epoll set: we hold the only reference
 * to these files (they are close-on-exec, and the spawned child closes
 * every fd above 2), so no EPOLL_CTL_DEL is needed (3 syscalls per job).
 */
static void slot_close_fds(struct slot *s)
{
	s->fd[0] = pt__close(s->fd[0]);
	s->fd[1] = pt__close(s->fd[1]);
	s->pidfd = pt__close(s->pidfd);
}

PT_API struct pt_runner *pt_runner_free(struct pt_runner *r)
{
	if (!r)
		return NULL;
	for (size_t i = 0; r->slots && i < r->jobs; i++) {
		struct slot *s = &r->slots[i];

		if (!s->used)
			continue;
		if (!s->exited) {
			int st;
			pt__proc_kill_group(s->pid, SIGKILL);
			pt__proc_wait(s->pid, -1, -1, &st);
		}
		slot_close_fds(s);
		pt__iolog_w_release(&s->log);
		if (s->ext_log)
			(void)r->ops.close(r->ops.ctx, s->ext_log);
		pt__free(s->ext_path);
		pt__free(s->tmpdir);
		qent_free(s->q);
	}
	if (r->work_dir && !r->cfg.keep_tmp)
		pt__rm_rf(r->work_dir);
	pt__free(r->work_dir);
	pt__close(r->dirwatch);
	for (size_t i = 0; r->keep && i < r->jobs; i++)
		pt__spawn_prep_release(&r->keep[i].spawn);
	pt__free(r->keep);
	pt__free(r->slots);
	pt_vec_foreach(&r->heap, i)
		qent_free(r->heap.v[i]);
	pt_vec_release(&r->heap);
	pt_vec_foreach(&r->blocked, i)
		qent_free(r->blocked.v[i]);
	pt_vec_release(&r->blocked);
	for (size_t i = r->done_head; i < r->done.n; i++)
		done_free(&r->done.v[i]);
	pt_vec_release(&r->done);
	done_free(&r->last);
	pt_vec_foreach(&r->base_env, i)
		pt__free(r->base_env.v[i]);
	pt_vec_release(&r->base_env);
	pt_map_foreach(&r->shells, sl) pt__free(sl->value);
	pt__map_release(&r->shells);
	pt__map_release(&r->locks);
	pt__ports_release_all(&r->ports);
	pt__close(r->ep);
	pt__free(r->rbuf);
	pt__free(r->session_id);
	pt__free(r->tmp_root);
	pt__free(r->io_log_dir);
	pt__free(r->cwd);
	pt__free(r->chaos_log);
	pt__free(r);
	return NULL;
}

/* ---- the queue: a binary heap ordered by (estimate desc, order, seq) */

static bool before(const struct qent *a, const struct qent *b)
{
	if (a->est != b->est)
		return a->est > b->est;
	if (a->req.order != b->req.order)
		return a->req.order < b->req.order;
	return a->seq < b->seq;
}

static int heap_push(struct pt_runner *r, struct qent *q)
{
	size_t i;

	if (pt_vec_push(&r->heap, q) < 0)
		return -ENOMEM;
	for (i = r->heap.n - 1; i > 0;) {
		size_t p = (i - 1) / 2;
		if (!before(r->heap.v[i], r->heap.v[p]))
			break;
		r->heap.v[i] = r->heap.v[p];
		r->heap.v[p] = q;
		i = p;
	}
	return 0;
}

static struct qent *heap_pop(struct pt_runner *r)
{
	struct qent *top, *last;
	size_t i = 0, n;

	if (!r->heap.n)
		return NULL;
	top = r->heap.v[0];
	last = r->heap.v[--r->heap.n];
	n = r->heap.n;
	if (!n)
		return top;
	r->heap.v[0] = last;
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && before(r->heap.v[l], r->heap.v[m]))
			m = l;
		if (l + 1 < n && before(r->heap.v[l + 1], r->heap.v[m]))
			m = l + 1;
		if (m == i)
			break;
		r->heap.v[i] = r->heap.v[m];
		r->heap.v[m] = last;
		i = m;
	}
	return top;
}

static void slug(struct pt_buf *b, const char *id, size_t max)
{
	for (size_t i = 0; id[i] && i < max; i++) {
		char c = id[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '-' ||
			  c == '_';
		(void)!pt__buf_addch(b, ok ? c : '_');
	}
}

PT_API int pt_runner_submit(struct pt_runner *r,
			    const struct pt_run_request *req)
{
	struct qent *q;
	const char *path = NULL;
	struct pt_buf b = PT_BUF_INIT;
	int err;

	if (!r || !req || !req->job || !req->job->id)
		return -EINVAL;
	if (r->cancelled)
		return PT_ESTATE;
	q = pt__calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->req = *req;
	if (!q->req.attempt)
		q->req.attempt = 1;
	q->est = r->jobs > 1 && req->estimate > 0 ? req->estimate : 0;
	q->seq = r->seq++;
	if (req->io_log) {
		path = req->io_log;
	} else if (r->io_log_dir && !r->ops.open) {
		/* slug + hash: readable, and distinct ids never collide */
		err = pt__buf_addf(&b, "%s/", r->io_log_dir);
		slug(&b, req->job->id, 80);
		if (!err)
			err = pt__buf_addf(
				&b, "-%08" PRIx32 ".%u.log",
				(uint32_t)pt__hash_bytes(req->job->id,
							 strlen(req->job->id)),
				q->req.attempt);
		if (err) {
			pt__buf_release(&b);
			qent_free(q);
			return err;
		}
		path = b.s;
	}
	if (path) {
		q->io_log = pt__strdup(path);
		pt__buf_release(&b);
		if (!q->io_log) {
			qent_free(q);
			return -ENOMEM;
		}
	}
	q->req.io_log = q->io_log;
	err = heap_push(r, q);
	if (err)
		qent_free(q);
	return err;
}

PT_API size_t pt_runner_running(const struct pt_runner *r)
{
	return r ? r->running : 0;
}

PT_API size_t pt_runner_queued(const struct pt_runner *r)
{
	return r ? r->heap.n + r->blocked.n : 0;
}

PT_API int pt_runner_fd(const struct pt_runner *r)
{
	return r ? r->ep : -1;
}

/* ---- completions */

static struct done *done_new(struct pt_runner *r)
{
	struct done *d;

	if (r->done_head == r->done.n) {
		r->done.n = r->done_head = 0;
	}
	if (pt_vec_reserve(&r->done, r->done.n + 1) < 0)
		return NULL;
	d = &r->done.v[r->done.n++];
	memset(d, 0, sizeof(*d));
	return d;
}

/* Records a job that ends without running (not started, or start error). */
static int done_unstarted(struct pt_runner *r, struct qent *q, bool started,
			  enum pt_outcome o, const char *comment)
{
	struct done *d = done_new(r);

	if (!d) {
		qent_free(q);
		return -ENOMEM;
	}
	d->d.job = q->req.job;
	d->d.udata = q->req.udata;
	d->d.order = q->req.order;
	d->d.attempt = q->req.attempt;
	d->d.started = started;
	d->d.result.outcome = o;
	d->d.result.duration = started ? 0 : -1;
	d->d.result.attempt = q->req.attempt;
	d->d.result.started_ns = started ? pt__wall_ns() : 0;
	if (comment) {
		d->comments = pt__strdup(comment);
		d->d.result.comments = d->comments;
	}
	qent_free(q);
	return 0;
}

/* ---- locks */

static bool locks_free(struct pt_runner *r, const struct pt_job *j)
{
	for (size_t i = 0; i < j->locks.n; i++) {
		if (pt__map_gets(&r->locks, j->locks.v[i]))
			return false;
	}
	return true;
}

static int locks_take(struct pt_runner *r, const struct pt_job *j)
{
	for (size_t i = 0; i < j->locks.n; i++) {
		const char *k = j->locks.v[i];
		int e = pt__map_put(&r->locks, k, strlen(k),
				    (void *)(uintptr_t)j, NULL);
		if (e < 0) {
			for (size_t u = 0; u < i; u++)
				pt__map_del(&r->locks, j->locks.v[u],
					    strlen(j->locks.v[u]), NULL);
			return e;
		}
	}
	return 0;
}

static void locks_drop(struct pt_runner *r, const struct pt_job *j)
{
	for (size_t i = 0; i < j->locks.n; i++) {
		const char *k = j->locks.v[i];
		void *holder = pt__map_get(&r->locks, k, strlen(k));
		if (holder == (const void *)j)
			pt__map_del(&r->locks, k, strlen(k), NULL);
	}
	/* Jobs waiting for a lock compete again. */
	pt_vec_foreach(&r->blocked, i) {
		if (heap_push(r, r->blocked.v[i]) < 0) {
			/* keep the rest blocked; retried at next release */
			memmove(r->blocked.v, r->blocked.v + i,
				(r->blocked.n - i) * sizeof(*r->blocked.v));
			r->blocked.n -= i;
			return;
		}
	}
	r->blocked.n = 0;
}

/* ---- starting a job */

static const char *resolve_shell(struct pt_runner *r, const char *shell)
{
	char *path = pt__map_gets(&r->shells, shell);
	struct pt_buf b = PT_BUF_INIT;
	char *key;

	if (path)
		return path;
	if (pt__which(shell, &b) < 0) {
		pt__buf_release(&b);
		return NULL;
	}
	/* The key lives in the same allocation as the path. */
	key = pt__malloc(b.len + 1 + strlen(shell) + 1);
	if (!key) {
		pt__buf_release(&b);
		return NULL;
	}
	memcpy(key, b.s, b.len + 1);
	memcpy(key + b.len + 1, shell, strlen(shell) + 1);
	pt__buf_release(&b);
	if (pt__map_put(&r->shells, key + strlen(key) + 1, strlen(shell), key,
			NULL) < 0) {
		pt__free(key);
		return NULL;
	}
	return key;
}

static bool locale_var(const char *kv)
{
	return pt__starts_with(kv, "LC_") || env_name_is(kv, "LANG") ||
	       env_name_is(kv, "LANGUAGE");
}

/*
 * envp for a job: the base environment, the job's environ: names (clean
 * mode), the locale reset, and the PROCTOR_* variables (in vars).
 */
struct cstrvec {
	const char **v;
	size_t n, cap;
};

/* Decimal digits of v in buf (24 bytes); returns the start. */
static const char *utoa(uint64_t v, char *buf)
{
	char *p = buf + 23;

	*p = 0;
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	return p;
}

/* Variables that name the user (set for the target of setpriv; sudo sets
 * them itself). */
static bool identity_var(const char *kv)
{
	return env_name_is(kv, "HOME") || env_name_is(kv, "USER") ||
	       env_name_is(kv, "LOGNAME");
}

static int build_env(struct pt_runner *r, struct slot *s, struct pt_buf *vars,
		     struct cstrvec *envp)
{
	const struct pt_job *j = s->q->req.job;
	const char *const *jenv = s->q->req.env;
	const struct pt_run_as *as = s->q->req.run_as;
	bool reset_locale = (j->flags & PT_JOB_RESET_LOCALE) != 0;
	bool setpriv = as && !as->sudo && !as->refused;
	size_t offs[16], nv = 0, nj = 0;
	int err = 0;

	while (jenv && jenv[nj])
		nj++;

		/*
		 * No printf here: these are built for every job, and vsnprintf
		 * was a third of the runner's own instructions per job.
		 */
#define ADDSTR(name, val)                                    \
 do {                                                        \
  offs[nv++] = vars->len;                                    \
  err = err ? err : pt__buf_adds(vars, name "=");            \
  err = err ? err : pt__buf_add(vars, val, strlen(val) + 1); \
 } while (0)
#define ADDNUM(name, val)                    \
 do {                                        \
  char num_[24];                             \
  ADDSTR(name, utoa((uint64_t)(val), num_)); \
 } while (0)

	ADDSTR("PROCTOR_SESSION_ID", r->session_id);
	ADDSTR("PROCTOR_JOB_ID", j->id);
	ADDSTR("PROCTOR_TMPDIR", s->tmpdir);
	ADDSTR("TMPDIR", s->tmpdir);
	ADDNUM("PROCTOR_PORT_BASE", s->port_base);
	ADDNUM("PROCTOR_PORT_COUNT", s->port_base ? r->ports.count : 0u);
	ADDNUM("PROCTOR_SEED", r->cfg.seed);
	ADDNUM("PROCTOR_ATTEMPT", s->q->req.attempt);
	if (reset_locale)
		ADDSTR("LANG", "C.UTF-8");
	if (setpriv) {
		ADDSTR("HOME", as->home ? as->home : "/");
		ADDSTR("USER", as->user);
		ADDSTR("LOGNAME", as->user);
	}
#undef ADDNUM
#undef ADDSTR
	if (err)
		return err;
	if (pt_vec_reserve(envp, r->base_env.n + nv + nj + j->environ.n + 1) <
	    0)
		return -ENOMEM;
	pt_vec_foreach(&r->base_env, i) {
		const char *kv = r->base_env.v[i];
		if (reset_locale && locale_var(kv))
			continue;
		if (nj && env_overridden(jenv, kv))
			continue;
		if (setpriv && identity_var(kv))
			continue;
		envp->v[envp->n++] = kv;
	}
	for (size_t i = 0; i < nj; i++)
		envp->v[envp->n++] = jenv[i];
	if (r->cfg.clean_env) {
		char **env = pt__environ();
		for (size_t k = 0; k < j->environ.n; k++) {
			const char *name = j->environ.v[k];
			for (size_t i = 0; env && env[i]; i++) {
				if (env_name_is(env[i], name) &&
				    !env_is_basic(env[i]) &&
				    !env_is_ours(env[i])) {
					envp->v[envp->n++] = env[i];
					break;
				}
			}
		}
	}
	for (size_t i = 0; i < nv; i++)
		envp->v[envp->n++] = vars->s + offs[i];
	envp->v[envp->n] = NULL;
	return 0;
}

static bool sudo_resets(const char *kv)
{
	return identity_var(kv) || env_name_is(kv, "SHELL") ||
	       env_name_is(kv, "MAIL");
}

/*
 * argv of a job: <shell> -c <command>, behind setpriv or sudo when it
 * runs as another user (struct pt_run_as). Returns 0, a negative error,
 * or 1 with the reason the job cannot start in msg.
 */
static int build_argv(struct pt_runner *r, const struct qent *q,
		      const char *shell_path, const struct cstrvec *envp,
		      const char *tmpdir, struct cstrvec *argv,
		      struct pt_buf *ids, struct pt_buf *msg)
{
	const struct pt_run_as *as = q->req.run_as;
	const char *tool = NULL, *envtool = NULL;
	int e;

	if (pt_vec_reserve(argv, 16 + (as && as->sudo ? envp->n : 0)) < 0)
		return -ENOMEM;
	if (as && as->refused)
		return pt__buf_adds(msg, as->refused) < 0 ? -ENOMEM : 1;
	if (as) {
		tool = resolve_shell(r, as->sudo ? "sudo" : "setpriv");
		envtool = as->sudo ? resolve_shell(r, "env") : "";
		if (!tool || !envtool)
			return pt__buf_addf(
				       msg, "cannot run as %s: '%s' not found",
				       as->user,
				       !tool ? (as->sudo ? "sudo" : "setpriv")
					     : "env") < 0
				       ? -ENOMEM
				       : 1;
	}
	if (as && !as->sudo) {
		/* both options in ids: "--reuid=U\0--regid=G" */
		size_t at;
		e = pt__buf_addf(ids, "--reuid=%u", as->uid);
		at = ids->len + 1;
		if (!e)
			e = pt__buf_addch(ids, '\0');
		if (!e)
			e = pt__buf_addf(ids, "--regid=%u", as->gid);
		if (e)
			return -ENOMEM;
		/* the job reaches its directory by its path ($TMPDIR) too */
		e = pt__lchown(tmpdir, as->uid, as->gid);
		if (e == 0 && r->work_dir &&
		    pt__starts_with(tmpdir, r->work_dir))
			e = pt__chmod(r->work_dir, 0711);
		if (e < 0) {
			return pt__buf_addf(msg, "cannot give %s to %s: %s",
					    tmpdir, as->user,
					    pt_strerror(e)) < 0
				       ? -ENOMEM
				       : 1;
		}
		argv->v[argv->n++] = tool;
		argv->v[argv->n++] = ids->s;
		argv->v[argv->n++] = ids->s + at;
		argv->v[argv->n++] = "--init-groups";
		argv->v[argv->n++] = "--";
	} else if (as) {
		argv->v[argv->n++] = tool;
		argv->v[argv->n++] = "-n";
		argv->v[argv->n++] = "-u";
		argv->v[argv->n++] = as->user;
		argv->v[argv->n++] = "--";
		argv->v[argv->n++] = envtool;
		for (size_t i = 0; i < envp->n; i++)
			if (!sudo_resets(envp->v[i]))
				argv->v[argv->n++] = envp->v[i];
	}
	argv->v[argv->n++] = shell_path;
	argv->v[argv->n++] = "-c";
	argv->v[argv->n++] = q->req.job->command;
	argv->v[argv->n] = NULL;
	return 0;
}

static double job_timeout(struct pt_runner *r, const struct qent *q)
{
	if (q->req.timeout > 0)
		return q->req.timeout;
	if (q->req.job->timeout > 0)
		return q->req.job->timeout;
	return r->cfg.timeout > 0 ? r->cfg.timeout : 0;
}

/*
 * Slot directories are watched (inotify, one fd in the epoll set): a job
 * that made nothing in its directory and left the directory itself alone
 * produced no event, and its slot is ready again without a syscall (a
 * check through the directory cost ~6 us a job). The work directory's
 * names are watched too: a job that removes, renames or replaces its
 * directory is seen there at once. Events are read in the step that sees
 * them, before any job of that step is finished; a job's own changes
 * come before its exit, so they are seen by then. A process of its group
 * still running at the exit may add a file just before the group is
 * killed: that event marks the slot, which is emptied after the next
 * job. Without inotify (or watches), the directory is checked.
 */
static void watch_dir(struct pt_runner *r, struct slot_keep *k,
		      const char *path)
{
	int wd;

	k->touched = false;
	k->wd = -1;
	if (r->dirwatch == -1) {
		r->dirwatch = pt__dirwatch_new();
		if (r->dirwatch >= 0 &&
		    (pt__ep_add(r->ep, r->dirwatch, EV_DIRWATCH) < 0 ||
		     (r->work_wd = pt__dirwatch_add(r->dirwatch, r->work_dir,
						    PT_DIRWATCH_NAMES)) < 0))
			r->dirwatch = pt__close(r->dirwatch);
		if (r->dirwatch < 0)
			r->dirwatch = -2; /* check directories instead */
	}
	if (r->dirwatch < 0)
		return;
	wd = pt__dirwatch_add(r->dirwatch, path, PT_DIRWATCH_CONTENT);
	k->wd = wd < 0 ? -1 : wd;
}

/* An event for watch wd (-1: events were lost): its slot is touched. */
static void on_dir_event(void *ctx, int wd)
{
	struct pt_runner *r = ctx;

	for (size_t i = 0; i < r->jobs; i++) {
		if (wd < 0 || wd == r->work_wd || r->keep[i].wd == wd)
			r->keep[i].touched = true;
	}
}

static void read_dir_events(struct pt_runner *r)
{
	if (r->dirwatch >= 0 &&
	    pt__dirwatch_read(r->dirwatch, on_dir_event, r) < 0) {
		/* Cannot tell any more: check every directory from now on. */
		for (size_t i = 0; i < r->jobs; i++)
			r->keep[i].wd = -1;
		pt__close(r->dirwatch);
		r->dirwatch = -2;
	}
}

/*
 * The job's private temp dir. Creating and deleting a directory per job
 * is the most expensive thing the runner does on ext4 (inode allocation
 * scans), so each slot reuses one directory, emptied when its job ends:
 * it is private because one slot runs one job at a time. A slot whose
 * directory cannot be emptied moves on to a new name. With keep_tmp,
 * every job gets a new directory that stays.
 */
static int make_tmpdir(struct pt_runner *r, struct slot *s, size_t idx,
		       struct pt_buf *path)
{
	const struct pt_job *j = s->q->req.job;
	struct slot_keep *k = &r->keep[idx];
	int e;

	if (!r->work_dir) {
		pt__buf_reset(path);
		e = pt__buf_addf(path, "%s/proctor-", r->tmp_root);
		slug(path, r->session_id, 24);
		e = e ? e : pt__buf_adds(path, "-XXXXXX");
		e = e ? e : pt__mkdtemp(path->s);
		if (e < 0)
			return e;
		r->work_dir = pt__buf_detach(path, NULL);
		if (!r->work_dir)
			return -ENOMEM;
	}
	pt__buf_reset(path);
	if (r->cfg.keep_tmp) {
		e = pt__buf_addf(path, "%s/", r->work_dir);
		slug(path, j->partial_id ? j->partial_id : j->id, 40);
		e = e ? e : pt__buf_addf(path, "-%" PRIu64, ++r->kept);
		return e ? e : pt__mkdir(path->s, 0700);
	}
	{
		char num[24];
		e = pt__buf_adds(path, r->work_dir);
		e = e ? e : pt__buf_adds(path, "/job-");
		e = e ? e : pt__buf_adds(path, utoa(idx, num));
		if (!e && k->gen) {
			e = pt__buf_addch(path, '.');
			e = e ? e : pt__buf_adds(path, utoa(k->gen, num));
		}
	}
	if (e)
		return e;
	/* Emptied when the last job ended: creating it is the rare case. */
	if (k->clean) {
		k->clean = false;
		return 0;
	}
	e = pt__mkdir(path->s, 0700);
	if (e < 0 && e != -EEXIST)
		return e;
	watch_dir(r, k, path->s);
	return 0;
}

/* Empties a slot's dir after its job (see make_tmpdir, watch_dir). */
static void clean_tmpdir(struct pt_runner *r, size_t idx, const char *path)
{
	struct slot_keep *k = &r->keep[idx];

	if (r->cfg.keep_tmp)
		return;
	/* Watched, and nothing made in it or done to it: as it was. */
	if (k->wd >= 0 && !k->touched) {
		k->clean = true;
		return;
	}
	/* Touched, or not watched: through the path (it may be another
	 * directory now). */
	if (pt__dir_make_empty(path) < 0) {
		(void)!pt__rm_rf(path);
		k->gen++;
		k->clean = false;
		k->wd = -1; /* the next name gets its own watch */
	} else {
		k->clean = true;
		/* The same directory keeps its wd; a new one gets one. */
		watch_dir(r, k, path);
	}
}

/* Undoes what start_job did before the spawn failed. */
static void unstart(struct pt_runner *r, struct slot *s)
{
	if (s->tmpdir) {
		clean_tmpdir(r, (size_t)(s - r->slots), s->tmpdir);
		pt__freep(&s->tmpdir);
	}
	if (s->port_base)
		pt__ports_return(&r->ports, s->port_base, true); /* not run */
	s->port_base = 0;
	if (s->locked)
		locks_drop(r, s->q->req.job);
	s->locked = false;
	pt__iolog_w_release(&s->log);
}

static void chaos_times(struct pt_runner *r, struct slot *s);

static int start_job(struct pt_runner *r, struct slot *s, struct qent *q)
{
	const struct pt_job *j = q->req.job;
	const char *shell = j->shell && *j->shell ? j->shell : "bash";
	const char *shell_path;
	struct cstrvec argv = PT_VEC_INIT;
	struct pt_buf tmp = PT_BUF_INIT, vars = PT_BUF_INIT, msg = PT_BUF_INIT;
	struct pt_buf ids = PT_BUF_INIT;
	struct cstrvec envp = PT_VEC_INIT;
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, e;
	size_t idx = (size_t)(s - r->slots);
	struct pt_spawn sp;

	memset(s, 0, sizeof(*s));
	s->q = q;
	s->pidfd = s->fd[0] = s->fd[1] = -1;
	s->log.fd = -1;
	if (!j->command) {
		return done_unstarted(r, q, true, PT_OUTCOME_FAIL,
				      "job has no command");
	}
	e = locks_take(r, j);
	if (e < 0)
		goto fail_sys;
	s->locked = true;
	e = pt__iolog_w_init(&s->log, r->ops.open ? NULL : q->io_log);
	if (e < 0)
		goto fail_sys;
	e = make_tmpdir(r, s, idx, &tmp);
	if (e < 0) {
		(void)!pt__buf_addf(&msg, "cannot create a temp dir in %s: %s",
				    r->tmp_root, pt_strerror(e));
		goto fail_msg;
	}
	s->tmpdir = pt__buf_detach(&tmp, NULL);
	if (!s->tmpdir) {
		e = -ENOMEM;
		goto fail_sys;
	}
	if (r->ports.count) {
		e = pt__ports_lease(&r->ports, &s->port_base);
		if (e < 0) {
			(void)!pt__buf_addf(&msg,
					    "cannot lease %u TCP ports: %s",
					    r->ports.count, pt_strerror(e));
			goto fail_msg;
		}
	}
	shell_path = resolve_shell(r, shell);
	if (!shell_path) {
		(void)!pt__buf_addf(&msg, "cannot start: shell '%s' not found",
				    shell);
		goto fail_msg;
	}
	e = build_env(r, s, &vars, &envp);
	if (e < 0)
		goto fail_sys;
	e = pt__pipe(out, 0);
	if (e == 0)
		e = pt__pipe(err, 0);
	if (e < 0)
		goto fail_sys;
	e = build_argv(r, q, shell_path, &envp, s->tmpdir, &argv, &ids, &msg);
	if (e < 0)
		goto fail_sys;
	if (e > 0)
		goto fail_msg;
	sp = (struct pt_spawn){
		.argv = argv.v,
		.envp = envp.v,
		.cwd = (j->flags & PT_JOB_PRESERVE_CWD) ? r->cwd : s->tmpdir,
		.fd_in = -1,
		.fd_out = out[1],
		.fd_err = err[1],
		.new_session = true,
		.close_fds = true,
	};
	if (r->cfg.on_start) {
		e = r->cfg.on_start(r->cfg.on_start_ctx, j, q->req.udata,
				    q->req.attempt);
		if (e < 0) {
			(void)!pt__buf_addf(&msg, "cannot record the start: %s",
					    pt_strerror(e));
			goto fail_msg;
		}
	}
	s->timeout_s = job_timeout(r, q);
	s->start_ns = pt__now_ns();
	s->wall_ns = pt__wall_ns();
	e = pt__spawn_with(&r->keep[idx].spawn, &sp, &s->pid, &s->pidfd);
	out[1] = pt__close(out[1]);
	err[1] = pt__close(err[1]);
	if (e < 0) {
		(void)!pt__buf_addf(&msg, "cannot start %s: %s", shell_path,
				    pt_strerror(e));
		goto fail_msg;
	}
	s->fd[0] = out[0];
	s->fd[1] = err[0];
	out[0] = err[0] = -1;
	e = pt__ep_add(r->ep, s->pidfd, idx << 2 | EV_PIDFD);
	if (!e)
		e = pt__ep_add(r->ep, s->fd[0], idx << 2 | EV_OUT);
	if (!e)
		e = pt__ep_add(r->ep, s->fd[1], idx << 2 | EV_ERR);
	if (e < 0) {
		/* Cannot watch it: it must not run unwatched. */
		int st;
		pt__proc_kill_group(s->pid, SIGKILL);
		pt__proc_wait(s->pid, -1, -1, &st);
		slot_close_fds(s);
		goto fail_sys;
	}
	s->deadline_ns = s->timeout_s > 0
				 ? s->start_ns + (int64_t)(s->timeout_s * 1e9)
				 : NEVER_NS;
	s->kill_ns = s->drain_ns = NEVER_NS;
	chaos_times(r, s);
	s->used = true;
	r->running++;
	pt_vec_release(&envp);
	pt_vec_release(&argv);
	pt__buf_release(&ids);
	pt__buf_release(&vars);
	return 0;

fail_sys:
	(void)!pt__buf_addf(&msg, "cannot start: %s", pt_strerror(e));
fail_msg:
	pt__close(out[0]);
	pt__close(out[1]);
	pt__close(err[0]);
	pt__close(err[1]);
	unstart(r, s);
	pt_vec_release(&envp);
	pt_vec_release(&argv);
	pt__buf_release(&ids);
	pt__buf_release(&vars);
	pt__buf_release(&tmp);
	e = done_unstarted(r, q, true, PT_OUTCOME_FAIL, msg.s);
	pt__buf_release(&msg);
	memset(s, 0, sizeof(*s));
	return e;
}

static void start_ready(struct pt_runner *r)
{
	while (!r->cancelled && r->running < r->jobs && r->heap.n) {
		struct qent *q = heap_pop(r);
		struct slot *s = NULL;

		if (!locks_free(r, q->req.job)) {
			if (pt_vec_push(&r->blocked, q) < 0) {
				(void)!heap_push(r, q); /* popped: room */
				return;
			}
			continue;
		}
		for (size_t i = 0; i < r->jobs; i++) {
			if (!r->slots[i].used) {
				s = &r->slots[i];
				break;
			}
		}
		if (PT_NEVER(!s)) {
			(void)!heap_push(r, q);
			return;
		}
		(void)!start_job(r, s, q); /* failures become completions */
	}
}

/* ---- running jobs */

/* Output to the caller's io log (opened at the first output). */
static void ext_log_add(struct pt_runner *r, struct slot *s, int which,
			const unsigned char *data, size_t n)
{
	int e;

	if (s->log.err)
		return;
	if (!s->ext_log) {
		const char *path = NULL;
		void *log = NULL;

		e = r->ops.open(r->ops.ctx, s->q->req.job, s->q->req.attempt,
				&log, &path);
		if (e < 0) {
			s->log.err = e;
			return;
		}
		s->ext_log = log;
		s->ext_path = path ? pt__strdup(path) : NULL;
	}
	e = r->ops.append(r->ops.ctx, s->ext_log, pt__now_ns() - s->start_ns,
			  which ? PT_STREAM_STDERR : PT_STREAM_STDOUT, data, n);
	if (e < 0)
		s->log.err = e;
}

static void on_output(struct pt_runner *r, struct slot *s, int which,
		      uint32_t events)
{
	unsigned char *data = r->rbuf + PT_IOLOG_HDR;
	ssize_t n;

	/* Hang-up without input: the pipe is empty and every writer gone. */
	if ((events & (PT_EP_HUP | PT_EP_IN)) == PT_EP_HUP) {
		s->fd[which] = pt__close(s->fd[which]); /* leaves the set */
		return;
	}
	n = pt__read_once(s->fd[which], data, READ_CHUNK);

	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		s->fd[which] = pt__close(s->fd[which]); /* leaves the set */
		return;
	}
	s->bytes[which] += (uint64_t)n;
	if (r->ops.open)
		ext_log_add(r, s, which, data, (size_t)n);
	else
		(void)pt__iolog_w_add(&s->log, pt__now_ns() - s->start_ns,
				      which ? PT_STREAM_STDERR
					    : PT_STREAM_STDOUT,
				      data, (size_t)n);
}

static void on_exit_ready(struct slot *s)
{
	int st = 0, e;

	/*
	 * The main process is a zombie now, so its pid (the group id) is
	 * still reserved: kill what is left of the group, then reap.
	 */
	pt__proc_kill_group(s->pid, SIGKILL);
	e = pt__reap(s->pid, &st, &s->maxrss_kib);
	if (e == 0)
		return; /* spurious */
	s->status = e > 0 ? st : 0;
	s->reap_err = e < 0 ? e : 0;
	s->exited = true;
	s->exit_ns = pt__now_ns();
	s->drain_ns = s->exit_ns + DRAIN_NS;
	s->pidfd = pt__close(s->pidfd);
}

/*
 * The seeded times of the --chaos process faults of the job in s: from
 * the seed, the job id and the attempt only, so a run with the same seed
 * schedules the same faults (where the job then is depends on timing).
 */
static void chaos_times(struct pt_runner *r, struct slot *s)
{
	const struct pt_job *j = s->q->req.job;
	struct pt_chaos_times t;

	s->ckill_ns = s->cstop_ns = s->ccont_ns = s->cone_ns = NEVER_NS;
	if (!r->chaos_on)
		return; /* a job's chaos field only counts under --chaos */
	pt__chaos_times(&r->chaos, j->chaos, r->cfg.seed, j->id,
			s->q->req.attempt, &t);
	if (t.kill > 0)
		s->ckill_ns = s->start_ns + (int64_t)(t.kill * 1e9);
	if (t.stop > 0) {
		s->cstop_ns = s->start_ns + (int64_t)(t.stop * 1e9);
		s->cstop_len = t.stop_len;
	}
	if (t.kill_one > 0) {
		s->cone_ns = s->start_ns + (int64_t)(t.kill_one * 1e9);
		s->cone_pick = t.pick;
	}
}

/*
 * A process fault done, as a line of the session's chaos log (docs/
 * chaos.md): "<job>\t<attempt>\t<pid>\t<fault>\t<seconds>\t<what>\t<time>"
 * (time: the wall clock, seconds since the epoch).
 */
static void chaos_log(struct pt_runner *r, const struct slot *s, pid_t pid,
		      const char *fault, double at, const char *what)
{
	struct pt_buf b = PT_BUF_INIT;

	if (!r->cfg.chaos_log)
		return;
	int64_t now = pt__wall_ns();

	if (pt__buf_addf(&b, "%s\t%u\t%d\t%s\t%.3f\t%s\t%lld.%06lld\n",
			 s->q->req.job->id, s->q->req.attempt, (int)pid, fault,
			 at, what, (long long)(now / 1000000000),
			 (long long)(now % 1000000000 / 1000)) == 0)
		(void)pt__append(r->cfg.chaos_log, b.s, b.len);
	pt__buf_release(&b);
}

#define CHAOS_GROUP_MAX 256

/*
 * kill-one: SIGKILL to one live process of the job's group other than
 * its main one, the seeded pick among them in creation order. With none
 * yet, the runner looks again while the job runs: after 10 ms, then
 * twice as long each time up to 0.64 s (a scan of /proc costs about
 * 8 us per process on the machine).
 */
static void chaos_kill_one(struct pt_runner *r, struct slot *s, int64_t now)
{
	struct pt_proc_member m[CHAOS_GROUP_MAX];
	size_t n = 0, k = 0;
	int got = pt__proc_group(s->pid, m, CHAOS_GROUP_MAX);
	char what[64];

	for (int i = 0; i < PT_MIN(got, CHAOS_GROUP_MAX); i++)
		if (m[i].pid != s->pid)
			m[n++] = m[i];
	for (; n; n--) {
		k = (size_t)(s->cone_pick % n);
		if (pt__proc_kill_member(s->pid, m[k].pid, SIGKILL) == 0)
			break;
		/* gone in between: the pick among the others */
		memmove(&m[k], &m[k + 1], (n - k - 1) * sizeof(m[0]));
	}
	if (!n) {
		s->cone_none = true;
		s->cone_wait = s->cone_wait ? PT_MIN(s->cone_wait * 2,
						     INT64_C(640000000))
					    : INT64_C(10000000);
		s->cone_ns = now + s->cone_wait;
		return;
	}
	s->cone_ns = NEVER_NS;
	s->cone_none = false;
	s->cone_pid = m[k].pid;
	s->cone_at = (double)(now - s->start_ns) / 1e9;
	snprintf(s->cone_name, sizeof(s->cone_name), "%s", m[k].name);
	snprintf(what, sizeof(what), "SIGKILL to %s", m[k].name);
	chaos_log(r, s, m[k].pid, "kill-one", s->cone_at, what);
}

static void handle_deadlines(struct pt_runner *r, int64_t now)
{
	for (size_t i = 0; i < r->jobs; i++) {
		struct slot *s = &r->slots[i];

		if (!s->used)
			continue;
		/* --chaos process faults (docs/chaos.md) */
		if (!s->exited && s->cstop_ns <= now) {
			s->cstop_ns = NEVER_NS;
			s->cstop_at = (double)(now - s->start_ns) / 1e9;
			pt__proc_kill_group(s->pid, SIGSTOP);
			s->ccont_ns = now + (int64_t)(s->cstop_len * 1e9);
			chaos_log(r, s, s->pid, "pause", s->cstop_at,
				  "SIGSTOP to the group");
		}
		if (!s->exited && s->ccont_ns <= now) {
			s->ccont_ns = NEVER_NS;
			pt__proc_kill_group(s->pid, SIGCONT);
		}
		if (!s->exited && s->ckill_ns <= now) {
			s->ckill_ns = NEVER_NS;
			s->ckill_at = (double)(now - s->start_ns) / 1e9;
			pt__proc_kill_group(s->pid, SIGKILL);
			chaos_log(r, s, s->pid, "kill", s->ckill_at,
				  "SIGKILL to the group");
		}
		if (!s->exited && s->cone_ns <= now)
			chaos_kill_one(r, s, now);
		if (!s->exited && s->deadline_ns <= now) {
			s->timed_out = !s->cancelled;
			s->deadline_ns = NEVER_NS;
			pt__proc_kill_group(s->pid, SIGTERM);
			s->kill_ns = now + r->grace_ns;
		}
		if (!s->exited && s->kill_ns <= now) {
			s->kill_ns = NEVER_NS;
			s->killed = true;
			pt__proc_kill_group(s->pid, SIGKILL);
		}
		if (s->exited && s->drain_ns <= now &&
		    (s->fd[0] >= 0 || s->fd[1] >= 0)) {
			/* A process outside the group holds the pipe. */
			s->drained = true;
			slot_close_fds(s);
		}
	}
}

static int64_t next_deadline(const struct pt_runner *r)
{
	int64_t t = NEVER_NS;

	for (size_t i = 0; i < r->jobs; i++) {
		const struct slot *s = &r->slots[i];

		if (!s->used)
			continue;
		if (!s->exited) {
			t = PT_MIN(t, s->deadline_ns);
			t = PT_MIN(t, s->kill_ns);
			t = PT_MIN(t, s->ckill_ns);
			t = PT_MIN(t, s->cstop_ns);
			t = PT_MIN(t, s->ccont_ns);
			t = PT_MIN(t, s->cone_ns);
		} else {
			t = PT_MIN(t, s->drain_ns);
		}
	}
	return t;
}

static bool can_start(const struct pt_runner *r)
{
	return !r->cancelled && r->running < r->jobs && r->heap.n > 0;
}

PT_API int pt_runner_timeout(const struct pt_runner *r)
{
	int64_t t, now;

	if (!r)
		return -1;
	if (can_start(r) || r->done_head < r->done.n)
		return 0;
	t = next_deadline(r);
	if (t == NEVER_NS)
		return -1;
	now = pt__now_ns();
	if (t <= now)
		return 0;
	return (int)PT_MIN((t - now + 999999) / 1000000, INT_MAX);
}

static void fmt_secs(struct pt_buf *b, double s)
{
	(void)!pt__buf_addf(b, "%.3g s", s);
}

/* Turns a finished slot into a completion. */
static int finish(struct pt_runner *r, struct slot *s)
{
	struct done *d = done_new(r);
	struct pt_buf c = PT_BUF_INIT;
	struct pt_result *res;
	int st = s->status, e;

	if (!d)
		return -ENOMEM;
	slot_close_fds(s);
	e = pt__iolog_w_close(&s->log);
	if (s->ext_log) {
		int e2 = r->ops.close(r->ops.ctx, s->ext_log);
		s->ext_log = NULL;
		e = e ? e : e2;
	}
	res = &d->d.result;
	d->d.job = s->q->req.job;
	d->d.udata = s->q->req.udata;
	d->d.order = s->q->req.order;
	d->d.attempt = s->q->req.attempt;
	d->d.started = true;
	d->d.timed_out = s->timed_out;
	d->d.wait_status = st;
	d->d.port_base = s->port_base;
	d->d.port_count = s->port_base ? r->ports.count : 0;
	d->d.out_bytes = s->bytes[0];
	d->d.err_bytes = s->bytes[1];
	d->d.maxrss_kib = s->maxrss_kib;
	d->d.lane = (unsigned)(s - r->slots);
	res->attempt = s->q->req.attempt;
	res->started_ns = s->wall_ns;
	res->duration = (double)(s->exit_ns - s->start_ns) / 1e9;
	if (WIFEXITED(st))
		res->return_code = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		res->return_code = -WTERMSIG(st);
	if (s->cancelled) {
		res->outcome = PT_OUTCOME_NONE;
		(void)!pt__buf_adds(&c, "interrupted: the run was cancelled "
					"while the job ran");
	} else if (s->reap_err) {
		/* e.g. the program ignores SIGCHLD: children reap themselves */
		res->outcome = PT_OUTCOME_CRASH;
		(void)!pt__buf_addf(&c, "exit status lost: %s",
				    pt_strerror(s->reap_err));
	} else if (s->timed_out) {
		res->outcome = PT_OUTCOME_TIMEOUT;
		(void)!pt__buf_adds(&c, "timed out after ");
		fmt_secs(&c, s->timeout_s);
		(void)!pt__buf_adds(&c, ": SIGTERM to its process group");
		if (s->killed) {
			(void)!pt__buf_adds(&c, ", SIGKILL after ");
			fmt_secs(&c, (double)r->grace_ns / 1e9);
			(void)!pt__buf_adds(&c, " of grace");
		}
	} else if (WIFEXITED(st)) {
		res->outcome = WEXITSTATUS(st) == 0 ? PT_OUTCOME_PASS
						    : PT_OUTCOME_FAIL;
	} else {
		char sb[64];
		res->outcome = PT_OUTCOME_CRASH;
		(void)!pt__buf_addf(&c, "killed by %s",
				    pt__proc_status_str(st, sb, sizeof(sb)));
	}
	if (s->drained)
		(void)!pt__buf_addf(&c,
				    "%soutput cut: a process outside the "
				    "job's group kept its pipe open",
				    c.len ? "; " : "");
	if (e < 0)
		(void)!pt__buf_addf(&c, "%sio log incomplete: %s",
				    c.len ? "; " : "", pt_strerror(e));
	if (s->cstop_at > 0)
		(void)!pt__buf_addf(&c,
				    "%schaos: paused (SIGSTOP) at %.3f s for "
				    "%.3f s",
				    c.len ? "; " : "", s->cstop_at,
				    s->cstop_len);
	if (s->ckill_at > 0)
		(void)!pt__buf_addf(&c,
				    "%schaos: SIGKILL to its process group at "
				    "%.3f s",
				    c.len ? "; " : "", s->ckill_at);
	if (s->cone_pid)
		(void)!pt__buf_addf(&c,
				    "%schaos: SIGKILL to pid %d (%s) of its "
				    "group at %.3f s",
				    c.len ? "; " : "", (int)s->cone_pid,
				    s->cone_name, s->cone_at);
	else if (s->cone_none)
		(void)!pt__buf_addf(&c,
				    "%schaos: kill-one found no process of its "
				    "group besides the main one",
				    c.len ? "; " : "");
	if (c.len) {
		d->comments = pt__buf_detach(&c, NULL);
		res->comments = d->comments;
	}
	pt__buf_release(&c);
	if (r->ops.open) {
		d->io_log = s->ext_path;
		s->ext_path = NULL;
	} else {
		d->io_log = s->log.path; /* NULL when no file was written */
		s->log.path = NULL;
	}
	res->io_log = d->io_log;
	if (s->tmpdir)
		clean_tmpdir(r, (size_t)(s - r->slots), s->tmpdir);
	d->tmpdir = s->tmpdir;
	s->tmpdir = NULL;
	d->d.tmpdir = d->tmpdir;
	if (s->port_base)
		pt__ports_return(&r->ports, s->port_base,
				 !s->timed_out && !s->cancelled && !s->killed &&
					 !s->drained);
	if (s->locked)
		locks_drop(r, s->q->req.job);
	qent_free(s->q);
	memset(s, 0, sizeof(*s));
	r->running--;
	return 0;
}

static void reap_finished(struct pt_runner *r)
{
	for (size_t i = 0; i < r->jobs; i++) {
		struct slot *s = &r->slots[i];

		if (s->used && s->exited && s->fd[0] < 0 && s->fd[1] < 0)
			(void)!finish(r, s);
	}
}

static int hand_out(struct pt_runner *r, struct pt_run_done *ret)
{
	done_free(&r->last);
	r->last = r->done.v[r->done_head++];
	*ret = r->last.d;
	return 1;
}

PT_API int pt_runner_step(struct pt_runner *r, int timeout_ms,
			  struct pt_run_done *ret)
{
	int64_t until;

	if (!r || !ret)
		return -EINVAL;
	done_free(&r->last);
	until = timeout_ms < 0 ? NEVER_NS
			       : pt__now_ns() + (int64_t)timeout_ms * 1000000;
	for (;;) {
		struct pt_ep_event ev[16];
		int64_t now, t;
		int n, wait_ms;
		bool dir_events;

		if (r->done_head < r->done.n)
			return hand_out(r, ret);
		start_ready(r);
		if (r->done_head < r->done.n)
			return hand_out(r, ret);
		if (!r->running)
			return 0;
		now = pt__now_ns();
		t = PT_MIN(until, next_deadline(r));
		if (t == NEVER_NS)
			wait_ms = -1;
		else if (t <= now)
			wait_ms = 0;
		else
			wait_ms = (int)PT_MIN((t - now + 999999) / 1000000,
					      INT_MAX);
		n = pt__ep_wait(r->ep, ev, (int)PT_ARRAY_SIZE(ev), wait_ms);
		if (n < 0)
			return n;
		/* A full batch may have left the watch fd out: read it. */
		dir_events = n == (int)PT_ARRAY_SIZE(ev);
		for (int i = 0; i < n; i++) {
			struct slot *s = &r->slots[ev[i].data >> 2];
			int kind = (int)(ev[i].data & 3);

			if (kind == EV_DIRWATCH) {
				dir_events = true;
				continue;
			}
			if (!s->used)
				continue;
			if (kind == EV_PIDFD) {
				if (s->pidfd >= 0)
					on_exit_ready(s);
			} else if (s->fd[kind - 1] >= 0) {
				on_output(r, s, kind - 1, ev[i].events);
			}
		}
		/* Before any job is finished (see watch_dir). */
		if (dir_events)
			read_dir_events(r);
		handle_deadlines(r, pt__now_ns());
		reap_finished(r);
		if (r->done_head < r->done.n)
			return hand_out(r, ret);
		if (until != NEVER_NS && pt__now_ns() >= until)
			return 0;
	}
}

PT_API void pt_runner_cancel(struct pt_runner *r, bool terminate)
{
	struct qent *q;
	int64_t now;

	if (!r)
		return;
	r->cancelled = true;
	/* Queued jobs come back unstarted, in start order. */
	pt_vec_foreach(&r->blocked, i)
		(void)!heap_push(r, r->blocked.v[i]);
	r->blocked.n = 0;
	while ((q = heap_pop(r)))
		(void)!done_unstarted(r, q, false, PT_OUTCOME_NONE,
				      "not run: the run was cancelled");
	if (!terminate)
		return;
	now = pt__now_ns();
	for (size_t i = 0; i < r->jobs; i++) {
		struct slot *s = &r->slots[i];

		if (!s->used || s->exited || s->cancelled)
			continue;
		s->cancelled = true;
		s->timed_out = false;
		s->deadline_ns = NEVER_NS;
		pt__proc_kill_group(s->pid, SIGTERM);
		s->kill_ns = PT_MIN(s->kill_ns, now + r->grace_ns);
	}
}
