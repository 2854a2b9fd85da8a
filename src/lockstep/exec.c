/*
 * lockstep/exec.c - `proctor lockstep exec`: the controller side
 * (docs/lockstep.md, "Real C programs").
 *
 * The program starts once with the runtime preloaded and the option block
 * in its environment; the runtime becomes a fork server before main. For
 * each iteration the controller writes the iteration's parameters to the
 * shared memory (strategy, seed, PCT horizon, replay or DFS prefix), sends
 * one command, reads the child's pid, then its wait status (killing it at
 * the wall-time budget). The child wrote its schedule step by step and,
 * when the runtime ended it (deadlock, budget, divergence), its outcome.
 *
 * Search: the strategies of strategy.c run inside the child; PCT's change
 * points are drawn over the longest run observed so far. DFS runs here:
 * each schedule is a prefix of choices followed by non-preemptive
 * scheduling; after a run, the deepest step with an untried alternative
 * whose cost keeps the preemptions (or delays) within the bound becomes the
 * next prefix; when none is left, every schedule within the bound ran.
 */
#include "base/common.h"

#include "base/buf.h"
#include "base/str.h"
#include "base/vec.h"
#include "lockstep/exec.h"
#include "lockstep/internal.h"
#include "os/clock.h"
#include "os/fd.h"
#include "os/file.h"
#include "os/lsos.h"
#include "os/proc.h"

#define DEFAULT_ITERATIONS 1000
#define DEFAULT_MAX_STEPS  100000
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_VTIME_MS   3600000u
#define REPORT_MAX_STEPS   200
#define RT_NAME		   "libproctor-lockstep-rt.so"
#define SHRINK_MAX_RUNS	   5000

#ifndef PT_LSX_RT_INSTALLED
# define PT_LSX_RT_INSTALLED "/usr/local/lib/proctor/" RT_NAME
#endif

/* A fork server and its shared memory. */
struct server {
	struct pt__lsx_shm *h;
	size_t size;
	int shm, ctl[2], st[2], out, err;
	pid_t pid, child;
	int pidfd;
	char prog[4096];
};

/* One iteration's outcome. */
struct outcome {
	enum pt_ls_kind kind;
	char reason[2048];
	int status;
	bool killed; /* by us, at the wall-time budget */
};

static int find_runtime(const char *want, char *buf, size_t len)
{
	const char *env = getenv("PROCTOR_LOCKSTEP_RT");
	char dir[2048];

	if (want && *want) {
		snprintf(buf, len, "%s", want);
		return pt__lsos_readable(buf) < 0 ? -ENOENT : 0;
	}
	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return pt__lsos_readable(buf) < 0 ? -ENOENT : 0;
	}
	if (pt__lsos_self_dir(dir, sizeof(dir)) == 0) {
		/* Next to the binary, or the build tree's src/lockstep. */
		snprintf(buf, len, "%s/%s", dir, RT_NAME);
		if (pt__lsos_readable(buf) == 0)
			return 0;
		snprintf(buf, len, "%s/../lockstep/%s", dir, RT_NAME);
		if (pt__lsos_readable(buf) == 0)
			return 0;
		snprintf(buf, len, "%s/../src/lockstep/%s", dir, RT_NAME);
		if (pt__lsos_readable(buf) == 0)
			return 0;
	}
	snprintf(buf, len, "%s", PT_LSX_RT_INSTALLED);
	return pt__lsos_readable(buf) < 0 ? -ENOENT : 0;
}

static void server_stop(struct server *s)
{
	int status;

	if (s->ctl[1] >= 0)
		pt__close(s->ctl[1]); /* the server exits at the end of input */
	s->ctl[1] = -1;
	if (s->child > 0)
		pt__lsos_kill(s->child);
	if (s->pid > 0) {
		if (pt__proc_wait(s->pid, s->pidfd, 5000, &status) < 0) {
			pt__lsos_kill(s->pid);
			pt__proc_wait(s->pid, s->pidfd, -1, &status);
		}
	}
	if (s->pidfd >= 0)
		pt__close(s->pidfd);
	for (int i = 0; i < 2; i++) {
		if (s->ctl[i] >= 0)
			pt__close(s->ctl[i]);
		if (s->st[i] >= 0)
			pt__close(s->st[i]);
	}
	if (s->err >= 0)
		pt__close(s->err);
	pt__lsos_shm_free(s->shm, s->h, s->size);
	memset(s, 0, sizeof(*s));
	s->shm = s->err = s->out = s->pidfd = -1;
	s->ctl[0] = s->ctl[1] = s->st[0] = s->st[1] = -1;
}

extern char **environ;

static int server_start(struct server *s, const struct pt_ls_exec_opts *o,
			unsigned cap, char *err, size_t errlen)
{
	char rt[4096], block[128];
	struct pt_buf pre = PT_BUF_INIT, asan = PT_BUF_INIT;
	const char **env = NULL;
	size_t n = 0;
	int r;

	memset(s, 0, sizeof(*s));
	s->shm = s->err = s->out = s->pidfd = -1;
	s->ctl[0] = s->ctl[1] = s->st[0] = s->st[1] = -1;
	if (!o->argv || !o->argv[0])
		return -EINVAL;
	if ((r = pt__lsos_realpath(o->argv[0], s->prog, sizeof(s->prog))) < 0) {
		snprintf(err, errlen, "%s: %s", o->argv[0], pt_strerror(r));
		return r;
	}
	if ((r = find_runtime(o->runtime, rt, sizeof(rt))) < 0) {
		snprintf(
			err, errlen,
			"the runtime %.300s is not there (give --runtime=PATH or "
			"PROCTOR_LOCKSTEP_RT)",
			rt);
		return r;
	}
	s->size = pt__lsx_size(cap);
	if ((r = pt__lsos_shm_new("lockstep", s->size, &s->shm,
				  (void **)&s->h)) < 0 ||
	    (r = pt__pipe(s->ctl, 0)) < 0 || (r = pt__pipe(s->st, 0)) < 0 ||
	    (!o->show_output && (r = pt__lsos_memfile("stderr", &s->err)) < 0))
		goto fail;
	memset(s->h, 0, sizeof(*s->h));
	s->h->magic = PT_LSX_MAGIC;
	s->h->size = s->size;
	s->h->cap = cap;
	snprintf(block, sizeof(block), "%s=mode=lockstep,ctl=%d,st=%d,shm=%d",
		 PT_LSX_ENV, s->ctl[0], s->st[1], s->shm);
	{
		const char *old = getenv("LD_PRELOAD"),
			   *aold = getenv("ASAN_OPTIONS");

		if (pt__buf_addf(&pre, "LD_PRELOAD=%s%s%s", rt,
				 old && *old ? ":" : "", old ? old : "") < 0 ||
		    pt__buf_addf(
			    &asan,
			    "ASAN_OPTIONS=%s%sverify_asan_link_order=0:detect_leaks=0",
			    aold ? aold : "", aold && *aold ? ":" : "") < 0) {
			r = -ENOMEM;
			goto fail;
		}
	}
	for (char **e = environ; *e; e++)
		n++;
	if (!(env = pt__calloc(n + 4, sizeof(*env)))) {
		r = -ENOMEM;
		goto fail;
	}
	n = 0;
	for (char **e = environ; *e; e++)
		if (!pt__starts_with(*e, "LD_PRELOAD=") &&
		    !pt__starts_with(*e, "ASAN_OPTIONS=") &&
		    !pt__starts_with(*e, PT_LSX_ENV "="))
			env[n++] = *e;
	env[n++] = pre.s;
	env[n++] = asan.s;
	env[n++] = block;
	{
		const char **argv = NULL;
		size_t na = 0;
		int keep[3] = { s->ctl[0], s->st[1], s->shm };

		while (o->argv[na])
			na++;
		if (!(argv = pt__calloc(na + 1, sizeof(*argv)))) {
			r = -ENOMEM;
			goto fail;
		}
		argv[0] = s->prog;
		for (size_t i = 1; i < na; i++)
			argv[i] = o->argv[i];
		r = pt__lsos_start(argv, env, keep, 3, o->show_output ? -2 : -1,
				   o->show_output ? -2 : s->err, &s->pid,
				   &s->pidfd);
		pt__free(argv);
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot start %.300s: %s", s->prog,
			 pt_strerror(r));
		goto fail;
	}
	pt__close(s->ctl[0]);
	pt__close(s->st[1]);
	s->ctl[0] = s->st[1] = -1;
	pt__free(env);
	pt__buf_release(&pre);
	pt__buf_release(&asan);
	return 0;
fail:
	pt__free(env);
	pt__buf_release(&pre);
	pt__buf_release(&asan);
	if (!err[0])
		snprintf(err, errlen, "%s", pt_strerror(r));
	server_stop(s);
	return r;
}

/* ---- one iteration
 * ----------------------------------------------------------- */

struct params {
	enum pt_ls_strategy strategy;
	unsigned depth, max_steps, horizon, iteration, spurious;
	uint64_t iter_seed;
	double resample;
	int64_t vtime_ns;
	const uint32_t *choices;
	const uint16_t *ops; /* strict replay */
	size_t nchoices;
	bool lenient;
	unsigned timeout_ms;
};

static const char *last_line(char *text)
{
	size_t n = strlen(text);

	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	while (n && text[n - 1] != '\n')
		n--;
	return text + n;
}

static int run_one(struct server *s, const struct params *p,
		   struct outcome *out, char *err, size_t errlen)
{
	struct pt__lsx_shm *h = s->h;
	int32_t msg[2];
	uint32_t cmd = 1;
	int64_t deadline;
	int r;

	h->strategy = (uint32_t)p->strategy;
	h->depth = p->depth;
	h->max_steps = p->max_steps;
	h->horizon = p->horizon;
	h->iteration = p->iteration;
	h->iter_seed = p->iter_seed;
	h->resample = p->resample;
	h->vtime_budget_ns = p->vtime_ns;
	h->spurious = p->spurious;
	h->lenient = p->lenient;
	h->strict_ops = p->ops != NULL;
	h->nchoices = (uint32_t)PT_MIN(p->nchoices, h->cap);
	for (size_t i = 0; i < h->nchoices; i++) {
		pt__lsx_choices(h)[i] = p->choices[i];
		pt__lsx_ops(h)[i] = p->ops ? p->ops[i] : 0;
	}
	h->kind = PT_LS_PASS;
	h->nsteps = 0;
	h->ntasks = 0;
	h->reason[0] = '\0';
	if (s->err >= 0)
		pt__lsos_memfile_reset(s->err);
	memset(out, 0, sizeof(*out));
	if ((r = pt__write_all(s->ctl[1], &cmd, sizeof(cmd))) < 0 ||
	    (r = pt__lsos_read_full(s->st[0], msg, sizeof(msg),
				    pt__now_ns() + 10000000000)) < 0) {
		snprintf(err, errlen,
			 "the program did not start an iteration "
			 "(does it run at all?)");
		return r < 0 ? r : -EIO;
	}
	if (msg[0] < 0) {
		snprintf(err, errlen, "fork failed: %s", pt_strerror(msg[0]));
		return msg[0];
	}
	s->child = msg[0];
	deadline = pt__now_ns() + (int64_t)p->timeout_ms * 1000000;
	r = pt__lsos_read_full(s->st[0], msg, sizeof(msg), deadline);
	if (r == -ETIMEDOUT) {
		pt__lsos_kill(s->child);
		out->killed = true;
		r = pt__lsos_read_full(s->st[0], msg, sizeof(msg),
				       pt__now_ns() + 10000000000);
	}
	s->child = 0;
	if (r < 0) {
		snprintf(err, errlen, "lost the program's fork server: %s",
			 pt_strerror(r));
		return r;
	}
	out->status = msg[1];
	/* What ended it. */
	{
		char tail[1024], st[128];
		const char *line;
		int code, how = pt__lsos_status(out->status, &code);

		if (s->err >= 0)
			pt__lsos_memfile_tail(s->err, tail, sizeof(tail));
		else
			tail[0] = '\0';
		line = last_line(tail);
		pt__proc_status_str(out->status, st, sizeof(st));
		if (out->killed) {
			out->kind = PT_LS_FAIL_TIMEOUT;
			snprintf(out->reason, sizeof(out->reason),
				 "iteration exceeded its wall-time budget "
				 "(%u ms): a hang outside the scheduler",
				 p->timeout_ms);
		} else if (how == 1 && code == PT_LSX_RT_EXIT &&
			   h->kind != PT_LS_PASS) {
			out->kind = (enum pt_ls_kind)h->kind;
			snprintf(out->reason, sizeof(out->reason), "%s",
				 h->reason);
		} else if (how == 2) {
			out->kind = strstr(line, "Assertion") ||
						    strstr(line, "assert")
					    ? PT_LS_FAIL_ASSERT
					    : PT_LS_FAIL_CRASH;
			snprintf(out->reason, sizeof(out->reason), "%s%s%s", st,
				 *line ? ": " : "", line);
		} else if (code != 0) {
			out->kind = PT_LS_FAIL_EXIT;
			snprintf(out->reason, sizeof(out->reason), "%s%s%s", st,
				 *line ? ": " : "", line);
		} else {
			out->kind = PT_LS_PASS;
		}
	}
	return 0;
}

/* ---- symbolisation: addr2line over the modules the server recorded ------- */

struct sym {
	uint64_t pc;
	char func[64], loc[160]; /* "main", "lost.c:14" */
};

static int cmp_pc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Fills syms[0..n) (sorted, distinct pcs) using addr2line per module. */
static void symbolize(const struct pt__lsx_shm *h, struct sym *syms, size_t n)
{
	for (size_t i = 0; i < n; i++)
		snprintf(syms[i].loc, sizeof(syms[i].loc), "0x%" PRIx64,
			 syms[i].pc);
	for (uint32_t m = 0; m < h->nmods && m < PT_LSX_MAX_MODS; m++) {
		const struct pt__lsx_mod *md = &h->mods[m];
		const char *argv[4 + 256];
		char addrs[256][24], *outp = NULL, *line, *save = NULL;
		size_t idx[256], k = 0, len;

		argv[0] = "addr2line";
		argv[1] = "-f";
		argv[2] = "-e";
		argv[3] = md->path;
		for (size_t i = 0; i < n && k < 256; i++) {
			if (syms[i].pc < md->base || syms[i].pc >= md->end ||
			    !md->path[0])
				continue;
			snprintf(addrs[k], sizeof(addrs[k]), "0x%" PRIx64,
				 syms[i].pc - md->base);
			argv[4 + k] = addrs[k];
			idx[k++] = i;
		}
		if (!k)
			continue;
		argv[4 + k] = NULL;
		if (pt__lsos_capture(argv, 1 << 20, 5000, &outp, &len) < 0)
			continue;
		line = strtok_r(outp, "\n", &save);
		for (size_t j = 0; j < k && line; j++) {
			char *file = strtok_r(NULL, "\n", &save), *base;

			snprintf(syms[idx[j]].func, sizeof(syms[0].func), "%s",
				 line[0] == '?' ? "" : line);
			if (file && file[0] != '?') {
				char *sp = strchr(file, ' ');

				if (sp)
					*sp = '\0'; /* "(discriminator N)" */
				base = strrchr(file, '/');
				snprintf(syms[idx[j]].loc, sizeof(syms[0].loc),
					 "%s", base ? base + 1 : file);
			} else if (syms[idx[j]].func[0]) {
				snprintf(syms[idx[j]].loc, sizeof(syms[0].loc),
					 "%s", syms[idx[j]].func);
			}
			line = strtok_r(NULL, "\n", &save);
		}
		pt__free(outp);
	}
	for (size_t i = 0; i < n; i++)
		for (char *c = syms[i].loc; *c; c++)
			if ((unsigned char)*c <= ' ')
				*c = '_';
}

static struct sym *sym_find(struct sym *syms, size_t n, uint64_t pc)
{
	struct sym key = { .pc = pc };

	return n ? bsearch(&key, syms, n, sizeof(*syms), cmp_pc) : NULL;
}

/* ---- traces and reports
 * --------------------------------------------------------- */

static bool bit(uint64_t mask, uint32_t idx)
{
	return idx >= 1 && idx <= 64 && (mask >> (idx - 1)) & 1;
}

/* Step i switches away from a task that was ready and did not yield. */
static bool is_preemption(const struct pt__lsx_step *st, size_t i)
{
	return i > 0 && st[i].idx != st[i - 1].idx &&
	       bit(st[i].ready, st[i - 1].idx) &&
	       st[i - 1].op != PT_LS_OP_YIELD;
}

/* Preemptions of a recorded run: switches away from a ready task. */
static unsigned count_preemptions(const struct pt__lsx_step *st, size_t n)
{
	unsigned k = 0;

	for (size_t i = 1; i < n; i++)
		if (st[i].idx != st[i - 1].idx &&
		    bit(st[i].ready, st[i - 1].idx))
			k++;
	return k;
}

/* "; wait-for cycle: T2 (a) -> T3 (b) -> T2 (a)", when there is one. */
static void add_cycle(struct pt_buf *b, const struct pt__lsx_shm *h,
		      const struct pt_ls_trace *t)
{
	uint32_t n = PT_MIN(h->ntasks, PT_LSX_MAX_TASKS);

	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = i + 1, hops = 0, start;

		while (k && k <= n && h->tasks[k - 1].state == 1 &&
		       h->tasks[k - 1].wait_for && hops < n) {
			k = h->tasks[k - 1].wait_for;
			hops++;
		}
		if (hops < n || !k || k > n)
			continue;
		start = k;
		pt__buf_addf(b, "; wait-for cycle:");
		do {
			const char *nm = pt__ls_trace_name(t, k);

			pt__buf_addf(b, " T%u%s%s%s ->", k, nm ? " (" : "",
				     nm ? nm : "", nm ? ")" : "");
			k = h->tasks[k - 1].wait_for;
		} while (k != start && k && k <= n);
		{
			const char *nm = pt__ls_trace_name(t, k);

			pt__buf_addf(b, " T%u%s%s%s", k, nm ? " (" : "",
				     nm ? nm : "", nm ? ")" : "");
		}
		return;
	}
}

static int make_trace(struct server *s, const struct pt_ls_exec_opts *o,
		      const char *strat_desc, enum pt_ls_strategy sk,
		      unsigned iteration, uint64_t iter_seed,
		      const struct outcome *out, struct pt_ls_trace **ret)
{
	struct pt__lsx_shm *h = s->h;
	struct pt__lsx_step *st = pt__lsx_steps(h);
	size_t n = PT_MIN(h->nsteps, h->cap), nsyms = 0, na = 0;
	struct pt_ls_trace *t = pt__calloc(1, sizeof(*t));
	struct sym *syms = NULL;
	uint64_t *pcs = NULL;
	const char *base;
	int r = -ENOMEM;

	if (!t)
		return -ENOMEM;
	base = strrchr(s->prog, '/');
	t->test = pt__strdup(base ? base + 1 : s->prog);
	t->program = pt__strdup(s->prog);
	t->strategy = pt__strdup(strat_desc);
	t->reason = pt__strdup(out->reason);
	t->seed = o->seed;
	t->iterations = o->iterations ? o->iterations : DEFAULT_ITERATIONS;
	t->iteration = iteration;
	t->iter_seed = iter_seed;
	t->strat = sk;
	t->max_steps = h->max_steps;
	t->kind = out->kind;
	t->nsteps = n;
	t->fail_step = n;
	t->preemptions = count_preemptions(st, n);
	t->spurious = h->spurious;
	t->choices = pt__malloc_array(n ? n : 1, sizeof(*t->choices));
	t->steps = pt__calloc(n ? n : 1, sizeof(*t->steps));
	t->locs = pt__calloc(n ? n : 1, sizeof(*t->locs));
	while (o->argv[na + 1])
		na++;
	t->args = pt__calloc(na ? na : 1, sizeof(*t->args));
	pcs = pt__malloc_array(n + PT_LSX_MAX_TASKS * 2 + 1, sizeof(*pcs));
	if (!t->test || !t->program || !t->strategy || !t->reason ||
	    !t->choices || !t->steps || !t->locs || !t->args || !pcs)
		goto out;
	for (size_t i = 0; i < na; i++) {
		if (!(t->args[i] = pt__strdup(o->argv[i + 1])))
			goto out;
		t->nargs = i + 1;
	}
	/* The call sites (one byte back: inside the call), start routines. */
	for (size_t i = 0; i < n; i++)
		if (st[i].pc)
			pcs[nsyms++] = st[i].pc - 1;
	for (uint32_t i = 0; i < h->ntasks && i < PT_LSX_MAX_TASKS; i++) {
		if (h->start_pc[i])
			pcs[nsyms++] = h->start_pc[i];
		if (h->tasks[i].pc)
			pcs[nsyms++] = h->tasks[i].pc - 1;
	}
	qsort(pcs, nsyms, sizeof(*pcs), cmp_pc);
	{
		size_t u = 0;

		for (size_t i = 0; i < nsyms; i++)
			if (!u || pcs[u - 1] != pcs[i])
				pcs[u++] = pcs[i];
		nsyms = u;
	}
	if (!(syms = pt__calloc(nsyms ? nsyms : 1, sizeof(*syms))))
		goto out;
	for (size_t i = 0; i < nsyms; i++)
		syms[i].pc = pcs[i];
	symbolize(h, syms, nsyms);
	for (size_t i = 0; i < n; i++) {
		struct sym *y =
			st[i].pc ? sym_find(syms, nsyms, st[i].pc - 1) : NULL;

		t->choices[i] = st[i].idx;
		t->steps[i].idx = st[i].idx;
		t->steps[i].op = st[i].op;
		t->steps[i].arg = st[i].arg;
		if (y && !(t->locs[i] = pt__strdup(y->loc)))
			goto out;
	}
	for (uint32_t i = 0; i < h->ntasks && i < PT_LSX_MAX_TASKS; i++) {
		struct sym *y = h->start_pc[i]
					? sym_find(syms, nsyms, h->start_pc[i])
					: NULL;
		const char *nm = i == 0		   ? "main"
				 : y && y->func[0] ? y->func
						   : NULL;

		if (nm && (r = pt__ls_trace_set_name(t, i + 1, nm)) < 0)
			goto out;
	}
	/* A deadlock: who waits in what, for whom, where. */
	if (out->kind == PT_LS_FAIL_DEADLOCK) {
		struct pt_buf b = PT_BUF_INIT;

		for (uint32_t i = 0; i < h->ntasks && i < PT_LSX_MAX_TASKS;
		     i++) {
			const struct pt__lsx_task *k = &h->tasks[i];
			struct sym *y =
				k->pc ? sym_find(syms, nsyms, k->pc - 1) : NULL;
			const char *nm = pt__ls_trace_name(t, i + 1);

			if (k->state != 1 /* PT_LS_TASK_BLOCKED */)
				continue;
			pt__buf_addf(&b, "%sT%u%s%s%s waits in %s",
				     b.len ? "; " : "", i + 1, nm ? " (" : "",
				     nm ? nm : "", nm ? ")" : "",
				     k->wait_op < PT_LS_OP__N
					     ? pt__ls_op_names[k->wait_op]
					     : "?");
			if (k->obj && k->wait_op != PT_LS_OP_T_JOIN)
				pt__buf_addf(&b, " on 0x%" PRIx64, k->obj);
			if (k->wait_for) {
				const char *wn =
					pt__ls_trace_name(t, k->wait_for);

				pt__buf_addf(&b, " %s T%u%s%s%s",
					     k->wait_op == PT_LS_OP_T_JOIN
						     ? "for"
						     : "held by",
					     k->wait_for, wn ? " (" : "",
					     wn ? wn : "", wn ? ")" : "");
			}
			if (y)
				pt__buf_addf(&b, " at %s", y->loc);
		}
		add_cycle(&b, h, t);
		if (b.s != pt__buf_empty) {
			pt__free(t->reason);
			t->reason = pt__buf_detach(&b, NULL);
			if (!t->reason)
				goto out;
		}
	}
	*ret = t;
	t = NULL;
	r = 0;
out:
	pt__free(pcs);
	pt__free(syms);
	pt_ls_trace_free(t);
	return r;
}

static int exec_report(struct pt_ls_report *rep,
		       const struct pt_ls_exec_opts *o)
{
	struct pt_buf b = PT_BUF_INIT;
	const struct pt_ls_trace *t = rep->trace;

	pt__buf_addf(&b,
		     "Lockstep found a concurrency bug on iteration %u.\n"
		     "  program:     %s\n"
		     "  seed:        %" PRIu64 "\n"
		     "  iter seed:   %" PRIu64 "\n"
		     "  strategy:    %s\n"
		     "  preemptions: %u\n"
		     "  trace path:  %s\n\n"
		     "Reason: %s: %s\n\nThreads:\n",
		     rep->iteration, t->program, rep->seed, rep->iter_seed,
		     rep->strategy, t->preemptions,
		     rep->trace_path ? rep->trace_path : "(not written)",
		     pt_ls_kind_name(rep->kind), t->reason);
	for (size_t i = 0; i < t->nnames; i++)
		pt__buf_addf(&b, "  T%zu %s\n", i + 1,
			     t->names[i] ? t->names[i] : "?");
	pt__buf_addf(&b, "\nSchedule:\n");
	pt__ls_add_schedule(&b, t, rep->fail_step, "LAST STEP");
	if (rep->trace_path)
		pt__buf_addf(&b, "\nReplay: proctor lockstep replay %s\n",
			     rep->trace_path);
	(void)o;
	if (b.s == pt__buf_empty)
		return -ENOMEM;
	rep->text = pt__buf_detach(&b, NULL);
	return rep->text ? 0 : -ENOMEM;
}

/* ---- DFS
 * ------------------------------------------------------------------------ */

/*
 * The DFS view of step i of a run: the ready set in round-robin order
 * from the non-preemptive default (the rule of the child,
 * pt__ls_strat_default), the position of the actual choice in it, and
 * whether the previous task had to give way (it yielded, or spun).
 */
struct dfs_step {
	uint32_t order[64];
	size_t n, pos;
	bool prev_ready;
};

static void dfs_view(const struct pt__lsx_step *st, size_t i, unsigned run,
		     struct dfs_step *v)
{
	uint32_t idx[64], last = i ? st[i - 1].idx : 0, def;
	size_t n = 0, start = 0;
	bool gives_way =
		i && (st[i - 1].op == PT_LS_OP_YIELD || run >= PT_LS_DFS_FAIR);

	v->prev_ready = i && bit(st[i].ready, last) && !gives_way;
	for (uint32_t k = 1; k <= 64; k++)
		if (bit(st[i].ready, k))
			idx[n++] = k;
	def = n ? pt__ls_strat_default(last, gives_way, idx, n) : 0;
	for (size_t k = 0; k < n; k++)
		if (idx[k] == def)
			start = k;
	for (size_t k = 0; k < n; k++)
		v->order[k] = idx[(start + k) % n];
	v->n = n;
	for (v->pos = 0; v->pos < n && v->order[v->pos] != st[i].idx; v->pos++)
		;
}

/* The cost of position p: a preemption, or p delays. */
static unsigned cost(bool delays, const struct dfs_step *v, size_t p)
{
	if (delays)
		return (unsigned)p;
	return p > 0 && v->prev_ready ? 1 : 0;
}

/*
 * The next DFS prefix after a run of steps st[0..n): true and
 * prefix[0..*len) when there is one within the bound.
 */
static bool dfs_next(const struct pt__lsx_step *st, size_t n, bool delays,
		     unsigned bound, uint32_t *prefix, size_t *len)
{
	unsigned *acc, *run;
	bool found = false;

	if (!n)
		return false;
	acc = pt__malloc_array(n + 1, sizeof(*acc));
	run = pt__malloc_array(n + 1, sizeof(*run));
	if (!acc || !run) {
		pt__free(acc);
		pt__free(run);
		return false;
	}
	acc[0] = 0;
	run[0] = 0;
	for (size_t i = 0; i < n; i++) {
		struct dfs_step v;

		dfs_view(st, i, run[i], &v);
		acc[i + 1] = acc[i] + cost(delays, &v, v.pos);
		run[i + 1] = i && st[i].idx == st[i - 1].idx ? run[i] + 1 : 1;
	}
	for (size_t i = n; i-- > 0;) {
		struct dfs_step v;

		dfs_view(st, i, run[i], &v);
		if (v.pos + 1 < v.n &&
		    acc[i] + cost(delays, &v, v.pos + 1) <= bound) {
			for (size_t j = 0; j < i; j++)
				prefix[j] = st[j].idx;
			prefix[i] = v.order[v.pos + 1];
			*len = i + 1;
			found = true;
			break;
		}
	}
	pt__free(acc);
	pt__free(run);
	return found;
}

/* ---- the run
 * ------------------------------------------------------------------------ */

static void describe(const struct pt_ls_exec_opts *o, enum pt_ls_strategy sk,
		     unsigned max_steps, char *buf, size_t len)
{
	switch (sk) {
	case PT_LS_DFS:
		snprintf(buf, len, "dfs %s-bound=%u max_steps=%u",
			 o->delay_bounding ? "delay" : "preemption", o->bound,
			 max_steps);
		break;
	case PT_LS_PCT:
		snprintf(buf, len, "pct depth=%u max_steps=%u",
			 o->depth ? o->depth : 3, max_steps);
		break;
	case PT_LS_POS:
		snprintf(buf, len, "pos resample_prob=%g max_steps=%u",
			 o->resample_set ? o->resample_prob : 0.5, max_steps);
		break;
	default:
		snprintf(buf, len, "%s max_steps=%u", pt_ls_strategy_name(sk),
			 max_steps);
	}
}

int pt_ls_exec(const struct pt_ls_exec_opts *opts, struct pt_ls_report **ret)
{
	struct pt_ls_exec_opts o;
	const struct pt_ls_trace *rt;
	struct server s;
	struct pt_ls_report *rep = NULL;
	struct params p = { 0 };
	struct outcome out;
	uint32_t *prefix = NULL;
	uint16_t *ops = NULL;
	size_t plen = 0;
	uint64_t state;
	unsigned n, max_steps;
	char err[512] = "", desc[160];
	int r;

	if (!opts || !ret || !opts->argv || !opts->argv[0])
		return -EINVAL;
	o = *opts;
	rt = o.replay;
	max_steps = o.max_steps ? o.max_steps : DEFAULT_MAX_STEPS;
	if (rt && rt->max_steps && !o.max_steps)
		max_steps = rt->max_steps;
	if (rt && rt->nsteps > max_steps)
		max_steps = (unsigned)rt->nsteps;
	if (max_steps > PT_LS_TRACE_MAX_STEPS)
		max_steps = PT_LS_TRACE_MAX_STEPS;
	if (rt) {
		o.seed = rt->seed;
		o.no_trace_file = true;
	}
	n = rt ? 1 : o.iterations ? o.iterations : DEFAULT_ITERATIONS;
	if (!(rep = pt__calloc(1, sizeof(*rep))))
		return -ENOMEM;
	if ((r = server_start(&s, &o, max_steps, err, sizeof(err))) < 0) {
		if (o.err && o.errlen)
			snprintf(o.err, o.errlen, "%s",
				 err[0] ? err : pt_strerror(r));
		pt_ls_report_free(rep);
		return r;
	}
	prefix = pt__malloc_array(max_steps, sizeof(*prefix));
	ops = pt__malloc_array(max_steps, sizeof(*ops));
	rep->test = pt__strdup(strrchr(s.prog, '/') ? strrchr(s.prog, '/') + 1
						    : s.prog);
	if (!prefix || !ops || !rep->test) {
		r = -ENOMEM;
		goto fail;
	}
	p.strategy = rt ? PT_LS_REPLAY : o.strategy;
	p.depth = o.depth ? o.depth : 3;
	p.max_steps = max_steps;
	p.resample = o.resample_set ? o.resample_prob : 0.5;
	p.vtime_ns =
		(int64_t)(o.vtime_ms ? o.vtime_ms : DEFAULT_VTIME_MS) * 1000000;
	p.spurious = o.spurious ? o.spurious : rt ? rt->spurious : 0;
	p.timeout_ms = o.timeout_ms ? o.timeout_ms : DEFAULT_TIMEOUT_MS;
	if (rt) {
		for (size_t i = 0; i < rt->nsteps && i < max_steps; i++) {
			prefix[i] = rt->choices[i];
			ops[i] = rt->steps[i].op;
		}
		p.choices = prefix;
		p.ops = ops;
		p.nchoices = PT_MIN(rt->nsteps, max_steps);
	} else if (o.strategy == PT_LS_DFS) {
		p.choices = prefix;
		p.nchoices = 0;
	}
	describe(&o, rt ? rt->strat : o.strategy, max_steps, desc,
		 sizeof(desc));
	state = o.seed;
	rep->seed = o.seed;
	for (unsigned i = 1; i <= n; i++) {
		p.iteration = rt ? rt->iteration : i;
		p.iter_seed = rt ? rt->iter_seed : pt__splitmix64(&state);
		if ((r = run_one(&s, &p, &out, err, sizeof(err))) < 0)
			goto fail;
		rep->iterations = i;
		rep->total_steps += s.h->nsteps;
		if (s.h->nsteps > p.horizon)
			p.horizon = s.h->nsteps;
		if (out.kind == PT_LS_PASS) {
			if (o.strategy == PT_LS_DFS && !rt) {
				if (!dfs_next(pt__lsx_steps(s.h),
					      PT_MIN(s.h->nsteps, s.h->cap),
					      o.delay_bounding, o.bound, prefix,
					      &plen)) {
					rep->exhausted = true;
					break;
				}
				p.nchoices = plen;
			}
			continue;
		}
		rep->kind = out.kind;
		rep->iteration = p.iteration;
		rep->iter_seed = p.iter_seed;
		rep->fail_step = PT_MIN(s.h->nsteps, s.h->cap);
		if ((r = make_trace(&s, &o,
				    rt && rt->strategy ? rt->strategy : desc,
				    rt ? rt->strat : o.strategy, p.iteration,
				    p.iter_seed, &out, &rep->trace)) < 0)
			goto fail;
		if (!(rep->strategy = pt__strdup(rep->trace->strategy)) ||
		    !(rep->reason = pt__strdup(rep->trace->reason))) {
			r = -ENOMEM;
			goto fail;
		}
		if (!o.no_trace_file &&
		    (r = pt__ls_write_trace(rep, o.trace_dir)) < 0)
			goto fail;
		if ((r = exec_report(rep, &o)) < 0)
			goto fail;
		break;
	}
	if (!rep->strategy && !(rep->strategy = pt__strdup(desc))) {
		r = -ENOMEM;
		goto fail;
	}
	server_stop(&s);
	pt__free(prefix);
	pt__free(ops);
	*ret = rep;
	return 0;
fail:
	if (o.err && o.errlen)
		snprintf(o.err, o.errlen, "%s", err[0] ? err : pt_strerror(r));
	server_stop(&s);
	pt__free(prefix);
	pt__free(ops);
	pt_ls_report_free(rep);
	return r;
}

/* ---- shrink
 * ---------------------------------------------------------------------- */

struct shrink {
	struct server s;
	struct params p;
	enum pt_ls_kind kind;
	unsigned runs;
	struct pt__lsx_step *best; /* the best failing run so far */
	size_t nbest;
	unsigned best_pre;
	uint32_t *cand;
};

/* Runs cand[0..len) leniently; 1 and best updated when it fails alike. */
static int try_cand(struct shrink *sh, size_t len, char *err, size_t errlen)
{
	struct outcome out;
	size_t n;
	unsigned pre;
	int r;

	if (sh->runs >= SHRINK_MAX_RUNS)
		return 0;
	sh->runs++;
	sh->p.choices = sh->cand;
	sh->p.nchoices = len;
	if ((r = run_one(&sh->s, &sh->p, &out, err, errlen)) < 0)
		return r;
	n = PT_MIN(sh->s.h->nsteps, sh->s.h->cap);
	pre = count_preemptions(pt__lsx_steps(sh->s.h), n);
	if (out.kind != sh->kind ||
	    (sh->nbest &&
	     (pre > sh->best_pre || (pre == sh->best_pre && n >= sh->nbest))))
		return 0;
	memcpy(sh->best, pt__lsx_steps(sh->s.h), n * sizeof(*sh->best));
	sh->nbest = n;
	sh->best_pre = pre;
	return 1;
}

int pt_ls_exec_shrink(const struct pt_ls_exec_opts *opts,
		      const struct pt_ls_trace *t, struct pt_ls_trace **ret)
{
	struct pt_ls_exec_opts o;
	struct shrink sh;
	struct outcome out;
	unsigned cap;
	bool changed = true;
	char err[512] = "";
	int r;

	if (!opts || !t || !ret || !opts->argv || !opts->argv[0])
		return -EINVAL;
	o = *opts;
	memset(&sh, 0, sizeof(sh));
	cap = o.max_steps    ? o.max_steps
	      : t->max_steps ? t->max_steps
			     : DEFAULT_MAX_STEPS;
	if (cap < t->nsteps)
		cap = (unsigned)t->nsteps;
	if (cap > PT_LS_TRACE_MAX_STEPS)
		cap = PT_LS_TRACE_MAX_STEPS;
	if ((r = server_start(&sh.s, &o, cap, err, sizeof(err))) < 0)
		goto out;
	sh.kind = t->kind;
	sh.p.strategy = PT_LS_DFS;
	sh.p.horizon = 0;
	sh.p.lenient = true;
	sh.p.depth = 3;
	sh.p.max_steps = cap;
	sh.p.vtime_ns =
		(int64_t)(o.vtime_ms ? o.vtime_ms : DEFAULT_VTIME_MS) * 1000000;
	sh.p.spurious = o.spurious ? o.spurious : t->spurious;
	sh.p.timeout_ms = o.timeout_ms ? o.timeout_ms : DEFAULT_TIMEOUT_MS;
	sh.p.iteration = t->iteration;
	sh.p.iter_seed = t->iter_seed;
	sh.best = pt__malloc_array(cap, sizeof(*sh.best));
	sh.cand = pt__malloc_array(cap, sizeof(*sh.cand));
	if (!sh.best || !sh.cand) {
		r = -ENOMEM;
		goto out;
	}
	/* It must reproduce first (strictly: the same ops). */
	{
		uint16_t *ops = pt__malloc_array(cap, sizeof(*ops));

		if (!ops) {
			r = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < t->nsteps; i++) {
			sh.cand[i] = t->choices[i];
			ops[i] = t->steps[i].op;
		}
		sh.p.ops = ops;
		sh.p.lenient = false;
		r = try_cand(&sh, t->nsteps, err, sizeof(err));
		sh.p.ops = NULL;
		sh.p.lenient = true;
		pt__free(ops);
		if (r < 0)
			goto out;
		if (r == 0) {
			r = PT_EFAILED;
			goto out;
		}
	}
	while (changed) {
		changed = false;
		/* 1. cut at a preemption: non-preemptive from there on */
		for (size_t i = 1; i < sh.nbest && !changed; i++) {
			if (!is_preemption(sh.best, i))
				continue;
			for (size_t j = 0; j < i; j++)
				sh.cand[j] = sh.best[j].idx;
			if ((r = try_cand(&sh, i, err, sizeof(err))) < 0)
				goto out;
			changed = r > 0;
		}
		/* 2. drop one preemption, keep the choices after it */
		for (size_t i = sh.nbest; i-- > 1 && !changed;) {
			if (!is_preemption(sh.best, i))
				continue;
			for (size_t j = 0; j < sh.nbest; j++)
				sh.cand[j] = sh.best[j].idx;
			sh.cand[i] = sh.best[i - 1].idx;
			if ((r = try_cand(&sh, sh.nbest, err, sizeof(err))) < 0)
				goto out;
			changed = r > 0;
		}
	}
	/*
	 * 3. systematic: the schedules with fewer preemptions, by DFS with
	 * bounds 0, 1, ... below the best so far (a few hundred runs each).
	 */
	for (unsigned b = 0; b < sh.best_pre && sh.runs < SHRINK_MAX_RUNS;
	     b++) {
		size_t len = 0;

		for (unsigned k = 0; k < 500; k++) {
			if ((r = try_cand(&sh, len, err, sizeof(err))) < 0)
				goto out;
			if (r > 0 || sh.runs >= SHRINK_MAX_RUNS)
				break;
			if (!dfs_next(pt__lsx_steps(sh.s.h),
				      PT_MIN(sh.s.h->nsteps, sh.s.h->cap),
				      false, b, sh.cand, &len))
				break;
		}
		if (r > 0)
			break;
	}
	/* Run the result once more for its trace. */
	for (size_t j = 0; j < sh.nbest; j++)
		sh.cand[j] = sh.best[j].idx;
	sh.p.choices = sh.cand;
	sh.p.nchoices = sh.nbest;
	if ((r = run_one(&sh.s, &sh.p, &out, err, sizeof(err))) < 0)
		goto out;
	if (out.kind != sh.kind) {
		r = PT_EFAILED;
		goto out;
	}
	o.seed = t->seed;
	o.iterations = t->iterations;
	r = make_trace(&sh.s, &o, t->strategy ? t->strategy : "shrunk",
		       t->strat, t->iteration, t->iter_seed, &out, ret);
out:
	if (r < 0 && r != PT_EFAILED && o.err && o.errlen)
		snprintf(o.err, o.errlen, "%s", err[0] ? err : pt_strerror(r));
	if (sh.s.h)
		server_stop(&sh.s);
	pt__free(sh.best);
	pt__free(sh.cand);
	return r;
}
