/*
 * lockstep/trace.c - trace files: format, parse (with limits), show.
 *
 * The format (docs/lockstep.md) is line-oriented text:
 *
 *	lockstep-trace 1
 *	test counter
 *	seed 0
 *	...            key value lines, any order, each at most once
 *	steps 3
 *	1 1 start 0    step number, registration index, operation, argument
 *	2 1 spawn 0
 *	3 2 start 0
 *	end
 */
#include "base/common.h"

#include "base/buf.h"
#include "base/str.h"
#include "lockstep/internal.h"
#include "os/file.h"

#define LINE_MAX_LEN 4096
#define TEXT_MAX     1024
#define IDX_MAX	     1000000u

struct pt_ls_trace *pt_ls_trace_free(struct pt_ls_trace *t)
{
	if (!t)
		return NULL;
	pt__free(t->test);
	pt__free(t->binary);
	pt__free(t->strategy);
	pt__free(t->reason);
	pt__free(t->choices);
	pt__free(t->steps);
	for (size_t i = 0; i < t->nnames; i++)
		pt__free(t->names[i]);
	pt__free(t->names);
	pt__free(t->program);
	for (size_t i = 0; i < t->nargs; i++)
		pt__free(t->args[i]);
	pt__free(t->args);
	if (t->locs)
		for (size_t i = 0; i < t->nsteps; i++)
			pt__free(t->locs[i]);
	pt__free(t->locs);
	pt__free(t);
	return NULL;
}

const char *pt__ls_trace_name(const struct pt_ls_trace *t, uint32_t idx)
{
	if (!t || idx == 0 || idx > t->nnames)
		return NULL;
	return t->names[idx - 1];
}

/* Sets the name of idx (copied; at most PT_LS_NAME_MAX bytes). */
static int set_name(struct pt_ls_trace *t, uint32_t idx, const char *name)
{
	if (idx > t->nnames) {
		char **v = pt__realloc_array(t->names, idx, sizeof(*v));

		if (!v)
			return -ENOMEM;
		memset(v + t->nnames, 0, (idx - t->nnames) * sizeof(*v));
		t->names = v;
		t->nnames = idx;
	}
	pt__free(t->names[idx - 1]);
	t->names[idx - 1] = pt__strndup(name, strnlen(name, PT_LS_NAME_MAX));
	return t->names[idx - 1] ? 0 : -ENOMEM;
}

int pt__ls_trace_set_name(struct pt_ls_trace *t, uint32_t idx, const char *name)
{
	return idx ? set_name(t, idx, name) : -EINVAL;
}

size_t pt_ls_trace_steps(const struct pt_ls_trace *t)
{
	return t ? t->nsteps : 0;
}

unsigned pt_ls_trace_choice(const struct pt_ls_trace *t, size_t i)
{
	return t && i < t->nsteps ? t->choices[i] : 0;
}

const char *pt_ls_trace_test(const struct pt_ls_trace *t)
{
	return t && t->test ? t->test : "";
}

const char *pt_ls_trace_binary(const struct pt_ls_trace *t)
{
	return t ? t->binary : NULL;
}

const char *pt_ls_trace_program(const struct pt_ls_trace *t)
{
	return t ? t->program : NULL;
}

const char *pt_ls_trace_arg(const struct pt_ls_trace *t, size_t i)
{
	return t && i < t->nargs ? t->args[i] : NULL;
}

unsigned pt_ls_trace_spurious(const struct pt_ls_trace *t)
{
	return t ? t->spurious : 0;
}

unsigned pt_ls_trace_preemptions(const struct pt_ls_trace *t)
{
	return t ? t->preemptions : 0;
}

enum pt_ls_kind pt_ls_trace_kind(const struct pt_ls_trace *t)
{
	return t ? t->kind : PT_LS_PASS;
}

/* ---- format ------------------------------------------------------------- */

/* A text value on one line: control characters become spaces. */
static int add_text(struct pt_buf *b, const char *key, const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	if (pt__buf_addf(b, "%s ", key) < 0)
		return -ENOMEM;
	for (; *s && n < TEXT_MAX; s++, n++)
		if (pt__buf_addch(b, (unsigned char)*s < 0x20 ? ' ' : *s) < 0)
			return -ENOMEM;
	return pt__buf_addch(b, '\n');
}

int pt_ls_trace_format(const struct pt_ls_trace *t, char **ret, size_t *ret_len)
{
	struct pt_buf b = PT_BUF_INIT;
	int r = -ENOMEM;

	if (!t || !ret)
		return -EINVAL;
	if (pt__buf_adds(&b, "lockstep-trace 1\n") < 0 ||
	    add_text(&b, "test", t->test) < 0 ||
	    add_text(&b, "binary", t->binary) < 0 ||
	    add_text(&b, "program", t->program) < 0 ||
	    pt__buf_addf(&b,
			 "seed %" PRIu64 "\niterations %u\niteration %u\n"
			 "iter-seed %" PRIu64 "\nstrategy %s\n",
			 t->seed, t->iterations, t->iteration, t->iter_seed,
			 pt_ls_strategy_name(t->strat)) < 0 ||
	    add_text(&b, "strategy-desc", t->strategy) < 0 ||
	    pt__buf_addf(&b, "max-steps %u\nkind %s\nfail-step %zu\n",
			 t->max_steps, pt_ls_kind_name(t->kind),
			 t->fail_step) < 0 ||
	    (t->program &&
	     pt__buf_addf(&b, "preemptions %u\n", t->preemptions) < 0) ||
	    (t->spurious &&
	     pt__buf_addf(&b, "spurious %u\n", t->spurious) < 0) ||
	    add_text(&b, "reason", t->reason) < 0)
		goto out;
	for (size_t i = 0; i < t->nargs; i++)
		if (add_text(&b, "arg", t->args[i]) < 0)
			goto out;
	for (size_t i = 0; i < t->nnames; i++) {
		if (!t->names[i])
			continue;
		if (pt__buf_addf(&b, "actor %zu ", i + 1) < 0)
			goto out;
		for (const char *c = t->names[i]; *c; c++)
			if (pt__buf_addch(&b, (unsigned char)*c <= 0x20
						      ? '_'
						      : *c) < 0)
				goto out;
		if (pt__buf_addch(&b, '\n') < 0)
			goto out;
	}
	if (pt__buf_addf(&b, "steps %zu\n", t->nsteps) < 0)
		goto out;
	for (size_t i = 0; i < t->nsteps; i++) {
		const struct pt__ls_step *s = &t->steps[i];

		if (pt__buf_addf(&b, "%zu %u %s %d", i + 1, s->idx,
				 s->op < PT_LS_OP__N ? pt__ls_op_names[s->op]
						     : "?",
				 s->arg) < 0 ||
		    (s->has_msg &&
		     pt__buf_addf(&b, " msg %d %" PRId64 " %" PRId64, s->mtype,
				  s->ma, s->mb) < 0) ||
		    (t->locs && t->locs[i] &&
		     pt__buf_addf(&b, " at %s", t->locs[i]) < 0) ||
		    pt__buf_addch(&b, '\n') < 0)
			goto out;
	}
	if (pt__buf_adds(&b, "end\n") < 0)
		goto out;
	if (ret_len)
		*ret_len = b.len;
	*ret = pt__buf_detach(&b, NULL);
	return *ret ? 0 : -ENOMEM;
out:
	pt__buf_release(&b);
	return r;
}

int pt_ls_trace_save(const struct pt_ls_trace *t, const char *path)
{
	char *s;
	size_t n;
	int r = pt_ls_trace_format(t, &s, &n);

	if (r < 0)
		return r;
	r = pt__write_file_atomic(path, s, n, 0644);
	pt__free(s);
	return r;
}

/* ---- parse --------------------------------------------------------------- */

struct parser {
	const char *p, *end;
	unsigned line;
	char *err;
	size_t errlen;
	char buf[LINE_MAX_LEN + 1];
};

static int perr(struct parser *ps, int code, const char *fmt, ...)
	PT_PRINTF(3, 4);
static int perr(struct parser *ps, int code, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ps->err && ps->errlen) {
		n = snprintf(ps->err, ps->errlen, "line %u: ", ps->line);
		if (n >= 0 && (size_t)n < ps->errlen) {
			va_start(ap, fmt);
			vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return code;
}

/* Next line into ps->buf (without its newline); 1, 0 at the end, or <0. */
static int next_line(struct parser *ps)
{
	const char *nl;
	size_t n;

	ps->line++; /* at the end: errors name the line after the last */
	if (ps->p >= ps->end)
		return 0;
	nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
	n = (size_t)((nl ? nl : ps->end) - ps->p);
	if (n > LINE_MAX_LEN)
		return perr(ps, PT_ETOOBIG, "line longer than %d bytes",
			    LINE_MAX_LEN);
	if (memchr(ps->p, '\0', n))
		return perr(ps, PT_EPARSE, "NUL byte in line");
	memcpy(ps->buf, ps->p, n);
	if (n && ps->buf[n - 1] == '\r')
		n--;
	/* One CR of a CRLF line end is dropped above; any other control
	 * byte could not survive a round trip through the text form. */
	for (size_t k = 0; k < n; k++)
		if ((unsigned char)ps->buf[k] < 0x20 && ps->buf[k] != '\t')
			return perr(ps, PT_EPARSE,
				    "control character 0x%02x in line",
				    (unsigned char)ps->buf[k]);
	ps->buf[n] = '\0';
	ps->p = nl ? nl + 1 : ps->end;
	return 1;
}

static int num(struct parser *ps, const char *field, const char *s,
	       uint64_t max, uint64_t *ret)
{
	uint64_t v;

	if (pt__parse_u64(s, &v) < 0 || v > max)
		return perr(ps, PT_EPARSE,
			    "%s: expected a number up to %" PRIu64 ", got '%s'",
			    field, max, s);
	*ret = v;
	return 0;
}

static int set_text(struct parser *ps, const char *field, char **dst,
		    const char *v)
{
	if (*dst)
		return perr(ps, PT_EPARSE, "%s: given twice", field);
	if (strlen(v) > TEXT_MAX)
		return perr(ps, PT_ETOOBIG, "%s: longer than %d bytes", field,
			    TEXT_MAX);
	if (!(*dst = pt__strdup(v)))
		return -ENOMEM;
	return 0;
}

static int parse_step(struct parser *ps, struct pt_ls_trace *t, size_t i)
{
	char *f[11];
	int nf = 0, op, at = 0;
	uint64_t k = 0, idx = 0;
	int64_t arg = 0, mt = 0, ma = 0, mb = 0;
	char line[LINE_MAX_LEN + 1], *s = ps->buf;

	memcpy(line, ps->buf, strlen(ps->buf) + 1);

	while (*s && nf < 11) {
		while (*s == ' ')
			*s++ = '\0';
		if (!*s)
			break;
		f[nf++] = s;
		while (*s && *s != ' ')
			s++;
	}
	while (*s == ' ')
		*s++ = '\0';
	if ((nf == 6 || nf == 10) && !strcmp(f[nf - 2], "at")) {
		at = nf - 1;
		nf -= 2;
	}
	if ((nf != 4 && (nf != 8 || strcmp(f[4], "msg"))) || *s)
		return perr(ps, PT_EPARSE,
			    "step: expected 'K INDEX OP ARG [msg TYPE A B] "
			    "[at PLACE]', got '%s'",
			    line);
	if (nf == 8 &&
	    (pt__parse_i64(f[5], &mt) < 0 || mt < INT32_MIN || mt > INT32_MAX ||
	     pt__parse_i64(f[6], &ma) < 0 || pt__parse_i64(f[7], &mb) < 0))
		return perr(ps, PT_EPARSE, "step message: invalid in '%s'",
			    line);
	if (num(ps, "step number", f[0], PT_LS_TRACE_MAX_STEPS, &k) < 0)
		return PT_EPARSE;
	if (k != i + 1)
		return perr(ps, PT_EPARSE, "step: expected step %zu, got %s",
			    i + 1, f[0]);
	if (num(ps, "step index", f[1], IDX_MAX, &idx) < 0)
		return PT_EPARSE;
	if (idx == 0)
		return perr(ps, PT_EPARSE, "step index: must be at least 1");
	if ((op = pt__ls_op_find(f[2], strlen(f[2]))) < 0)
		return perr(ps, PT_EPARSE, "step: unknown operation '%s'",
			    f[2]);
	if (pt__parse_i64(f[3], &arg) < 0 || arg < INT32_MIN || arg > INT32_MAX)
		return perr(ps, PT_EPARSE, "step argument: invalid '%s'", f[3]);
	t->choices[i] = (uint32_t)idx;
	t->steps[i].idx = (uint32_t)idx;
	t->steps[i].op = (uint16_t)op;
	t->steps[i].arg = (int32_t)arg;
	if (at) {
		if (!t->locs &&
		    !(t->locs = pt__calloc(t->nsteps, sizeof(*t->locs))))
			return -ENOMEM;
		if (!(t->locs[i] = pt__strdup(f[at])))
			return -ENOMEM;
	}
	t->steps[i].has_msg = nf == 8;
	t->steps[i].mtype = (int32_t)mt;
	t->steps[i].ma = ma;
	t->steps[i].mb = mb;
	return 0;
}

static int parse(struct parser *ps, struct pt_ls_trace *t)
{
	bool seen_steps = false, seen_num[9] = { false };
	uint64_t v = 0;
	int r;

	if ((r = next_line(ps)) <= 0)
		return r < 0 ? r : perr(ps, PT_EPARSE, "empty trace");
	if (strcmp(ps->buf, "lockstep-trace 1") != 0)
		return perr(ps, PT_EPARSE,
			    "expected 'lockstep-trace 1' (not a trace file?)");
	while (!seen_steps) {
		char *key, *val, *sp;

		if ((r = next_line(ps)) <= 0)
			return r < 0 ? r
				     : perr(ps, PT_EPARSE,
					    "missing 'steps' line");
		if (!ps->buf[0] || ps->buf[0] == '#')
			continue;
		key = ps->buf;
		sp = strchr(key, ' ');
		if (!sp)
			return perr(ps, PT_EPARSE,
				    "expected 'KEY VALUE', got '%s'", key);
		*sp = '\0';
		val = sp + 1;
		if (!strcmp(key, "test")) {
			r = set_text(ps, key, &t->test, val);
		} else if (!strcmp(key, "binary")) {
			r = set_text(ps, key, &t->binary, val);
		} else if (!strcmp(key, "program")) {
			r = set_text(ps, key, &t->program, val);
		} else if (!strcmp(key, "arg")) {
			char **av;

			if (t->nargs >= PT_LS_TRACE_MAX_ARGS)
				return perr(ps, PT_ETOOBIG, "arg: more than %d",
					    PT_LS_TRACE_MAX_ARGS);
			if (!(av = pt__realloc_array(t->args, t->nargs + 1,
						     sizeof(*av))))
				return -ENOMEM;
			t->args = av;
			t->args[t->nargs] = NULL;
			r = set_text(ps, key, &t->args[t->nargs], val);
			if (r == 0)
				t->nargs++;
		} else if (!strcmp(key, "strategy-desc")) {
			r = set_text(ps, key, &t->strategy, val);
		} else if (!strcmp(key, "reason")) {
			r = set_text(ps, key, &t->reason, val);
		} else if (!strcmp(key, "actor")) {
			char *nm = strchr(val, ' ');

			if (!nm || !nm[1] || strchr(nm + 1, ' '))
				return perr(ps, PT_EPARSE,
					    "actor: expected 'INDEX NAME', "
					    "got '%s'",
					    val);
			*nm++ = '\0';
			if (num(ps, "actor index", val, IDX_MAX, &v) < 0)
				return PT_EPARSE;
			if (v == 0 || v > 4096)
				return perr(ps, PT_EPARSE,
					    "actor index: must be 1..4096");
			if (pt__ls_trace_name(t, (uint32_t)v))
				return perr(ps, PT_EPARSE,
					    "actor %" PRIu64 ": given twice",
					    v);
			if (strlen(nm) > PT_LS_NAME_MAX)
				return perr(ps, PT_ETOOBIG,
					    "actor: name longer than %d bytes",
					    PT_LS_NAME_MAX);
			for (const char *c = nm; *c; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					return perr(ps, PT_EPARSE,
						    "actor: control character "
						    "in name");
			r = set_name(t, (uint32_t)v, nm);
		} else if (!strcmp(key, "strategy")) {
			size_t s;

			for (s = 0; s < PT_LS_STRATEGY__N; s++)
				if (!strcmp(val, pt__ls_strategy_names[s]))
					break;
			if (s == PT_LS_STRATEGY__N)
				return perr(ps, PT_EPARSE,
					    "strategy: unknown '%s'", val);
			t->strat = (enum pt_ls_strategy)s;
		} else if (!strcmp(key, "kind")) {
			size_t s;

			for (s = 0; s < PT_LS_KIND__N; s++)
				if (!strcmp(val, pt__ls_kind_names[s]))
					break;
			if (s == PT_LS_KIND__N)
				return perr(ps, PT_EPARSE, "kind: unknown '%s'",
					    val);
			t->kind = (enum pt_ls_kind)s;
		} else {
			static const char *const nums[] = {
				"seed",	     "iterations",  "iteration",
				"iter-seed", "max-steps",   "fail-step",
				"steps",     "preemptions", "spurious",
			};
			size_t k;

			for (k = 0; k < PT_ARRAY_SIZE(nums); k++)
				if (!strcmp(key, nums[k]))
					break;
			if (k == PT_ARRAY_SIZE(nums))
				return perr(ps, PT_EPARSE, "unknown key '%s'",
					    key);
			if (seen_num[k])
				return perr(ps, PT_EPARSE, "%s: given twice",
					    key);
			seen_num[k] = true;
			if (num(ps, key, val,
				k == 0 || k == 3 || k == 6 ? UINT64_MAX
							   : UINT32_MAX,
				&v) < 0)
				return PT_EPARSE;
			switch (k) {
			case 0:
				t->seed = v;
				break;
			case 1:
				t->iterations = (unsigned)v;
				break;
			case 2:
				t->iteration = (unsigned)v;
				break;
			case 3:
				t->iter_seed = v;
				break;
			case 4:
				t->max_steps = (unsigned)v;
				break;
			case 5:
				t->fail_step = (size_t)v;
				break;
			case 7:
				t->preemptions = (unsigned)v;
				break;
			case 8:
				t->spurious = (unsigned)v;
				break;
			default:
				if (v > PT_LS_TRACE_MAX_STEPS)
					return perr(ps, PT_ETOOBIG,
						    "steps: more than %u",
						    PT_LS_TRACE_MAX_STEPS);
				t->nsteps = (size_t)v;
				seen_steps = true;
			}
		}
		if (r < 0)
			return r;
	}
	if (!t->test)
		return perr(ps, PT_EPARSE, "missing 'test' line");
	if (t->fail_step > t->nsteps)
		return perr(ps, PT_EPARSE, "fail-step %zu beyond %zu steps",
			    t->fail_step, t->nsteps);
	/* Each step line takes at least 8 bytes: no huge allocation for
	 * nothing. */
	if (t->nsteps > (size_t)(ps->end - ps->p) / 8 + 1)
		return perr(ps, PT_EPARSE, "steps %zu: the file is too short",
			    t->nsteps);
	t->choices = pt__malloc_array(t->nsteps ? t->nsteps : 1,
				      sizeof(*t->choices));
	t->steps =
		pt__malloc_array(t->nsteps ? t->nsteps : 1, sizeof(*t->steps));
	if (!t->choices || !t->steps)
		return -ENOMEM;
	for (size_t i = 0; i < t->nsteps; i++) {
		if ((r = next_line(ps)) <= 0)
			return r < 0 ? r
				     : perr(ps, PT_EPARSE,
					    "expected step %zu, got the end",
					    i + 1);
		if ((r = parse_step(ps, t, i)) < 0)
			return r;
	}
	if ((r = next_line(ps)) <= 0 || strcmp(ps->buf, "end") != 0)
		return r < 0 ? r : perr(ps, PT_EPARSE, "expected 'end'");
	while ((r = next_line(ps)) > 0)
		if (ps->buf[0])
			return perr(ps, PT_EPARSE, "text after 'end'");
	return r;
}

int pt_ls_trace_parse(const char *data, size_t len, struct pt_ls_trace **ret,
		      char *err, size_t errlen)
{
	struct parser *ps;
	struct pt_ls_trace *t;
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (!data || !ret)
		return -EINVAL;
	if (len > PT_LS_TRACE_MAX_BYTES) {
		if (err && errlen)
			snprintf(err, errlen, "trace larger than %u bytes",
				 PT_LS_TRACE_MAX_BYTES);
		return PT_ETOOBIG;
	}
	ps = pt__calloc(1, sizeof(*ps));
	t = pt__calloc(1, sizeof(*t));
	if (!ps || !t) {
		pt__free(ps);
		pt__free(t);
		return -ENOMEM;
	}
	ps->p = data;
	ps->end = data + len;
	ps->err = err;
	ps->errlen = errlen;
	r = parse(ps, t);
	pt__free(ps);
	if (r < 0) {
		pt_ls_trace_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

int pt_ls_trace_load(const char *path, struct pt_ls_trace **ret, char *err,
		     size_t errlen)
{
	char *data, e[256];
	size_t len;
	int r;

	if (!path)
		return -EINVAL;
	r = pt__read_file(path, PT_LS_TRACE_MAX_BYTES, &data, &len);
	if (r < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, pt_strerror(r));
		return r;
	}
	r = pt_ls_trace_parse(data, len, ret, e, sizeof(e));
	if (r < 0 && err && errlen)
		snprintf(err, errlen, "%s:%s", path,
			 !strncmp(e, "line ", 5) ? e + 5 : e);
	pt__free(data);
	return r;
}

/* ---- show --------------------------------------------------------------- */

static int who(const struct pt_ls_trace *t, uint32_t idx, char *buf, size_t len)
{
	const char *n = pt__ls_trace_name(t, idx);
	char p = t && t->program ? 'T' : 'P';

	return n ? snprintf(buf, len, "%c%u (%s)", p, idx, n)
		 : snprintf(buf, len, "%c%u", p, idx);
}

/* "P2 send -> P3", "P1 sleep 10ms": one step, readable. */
int pt__ls_step_label(const struct pt_ls_trace *t, const struct pt__ls_step *s,
		      char *buf, size_t len)
{
	const char *op = s->op < PT_LS_OP__N ? pt__ls_op_names[s->op] : "?";
	char a[64], b[64], m[96] = "";
	int k;

	who(t, s->idx, a, sizeof(a));
	who(t, s->arg > 0 ? (uint32_t)s->arg : 0, b, sizeof(b));
	if (t && t->program) {
		size_t i = (size_t)(s - t->steps);
		const char *loc = t->locs && s >= t->steps && i < t->nsteps
					  ? t->locs[i]
					  : NULL;

		if (s->op == PT_LS_OP_WAKE)
			k = snprintf(buf, len, "%s woken by %s", a, b);
		else
			k = snprintf(buf, len, "%s %s", a, op);
		if (loc && k >= 0 && (size_t)k < len)
			k += snprintf(buf + k, len - (size_t)k, " at %s", loc);
		return k;
	}
	if (s->has_msg)
		snprintf(m, sizeof(m),
			 " {type %d, a %" PRId64 ", b %" PRId64 "}", s->mtype,
			 s->ma, s->mb);
	switch (s->op) {
	case PT_LS_OP_SEND:
	case PT_LS_OP_CALL:
	case PT_LS_OP_CAST:
	case PT_LS_OP_REPLY:
	case PT_LS_OP_SEND_AFTER:
		k = snprintf(buf, len, "%s %s -> %s%s", a, op, b, m);
		break;
	case PT_LS_OP_WAKE:
		k = snprintf(buf, len, "%s recv (woken by %s)%s", a, b, m);
		break;
	case PT_LS_OP_MONITOR:
	case PT_LS_OP_LINK:
	case PT_LS_OP_UNLINK:
	case PT_LS_OP_KILL:
	case PT_LS_OP_ALIVE:
		k = snprintf(buf, len, "%s %s %s", a, op, b);
		break;
	case PT_LS_OP_SLEEP:
		k = snprintf(buf, len, "%s sleep %dms", a, s->arg);
		break;
	case PT_LS_OP_EXIT:
		k = snprintf(buf, len, "%s exit (reason %d)", a, s->arg);
		break;
	default:
		k = snprintf(buf, len, "%s %s", a, op);
	}
	return k;
}

int pt_ls_trace_show(const struct pt_ls_trace *t, char **ret)
{
	struct pt_buf b = PT_BUF_INIT;
	char label[256];

	if (!t || !ret)
		return -EINVAL;
	pt__buf_addf(&b, "test:       %s\n", t->test ? t->test : "");
	if (t->binary)
		pt__buf_addf(&b, "binary:     %s\n", t->binary);
	pt__buf_addf(&b,
		     "seed:       %" PRIu64 "\niteration:  %u of %u\n"
		     "iter seed:  %" PRIu64 "\nstrategy:   %s\n"
		     "kind:       %s\n",
		     t->seed, t->iteration, t->iterations, t->iter_seed,
		     t->strategy ? t->strategy : pt_ls_strategy_name(t->strat),
		     pt_ls_kind_name(t->kind));
	if (t->reason)
		pt__buf_addf(&b, "reason:     %s\n", t->reason);
	pt__buf_addf(&b, "schedule:   %zu steps\n", t->nsteps);
	for (size_t i = 0; i < t->nsteps; i++) {
		pt__ls_step_label(t, &t->steps[i], label, sizeof(label));
		pt__buf_addf(&b, "  step %-4zu %s%s\n", i + 1, label,
			     i + 1 == t->fail_step ? "   <-- FAILED HERE" : "");
	}
	if (!b.len || b.s == pt__buf_empty) {
		pt__buf_release(&b);
		return -ENOMEM;
	}
	*ret = pt__buf_detach(&b, NULL);
	return *ret ? 0 : -ENOMEM;
}
