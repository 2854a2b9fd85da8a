/*
 * tests/session/helpers.h - hand-built jobs and a small resource-program
 * stand-in for the session engine's tests.
 *
 *	tj_make(&set, "A depends=B,C after=D group=g plugin=resource");
 *
 * Fields: depends= after= before= salvages= (comma lists), requires=
 * (expressions separated by ';'), group=, plugin=resource, flags=
 * fail-on-resource, checksum=. Ids are used as written.
 *
 * The stand-in requires language (installed with tj_install_req): an
 * expression is "ID.KEY=VALUE" or alternatives "a.k=v|b.k=w"; it is true
 * when some record of the named resource has KEY equal to VALUE (a missing
 * key reads as ""). Its resource ids are the IDs, in first-seen order.
 * Evaluation follows docs/plainbox.md §5.2: first any expression with a
 * resource missing from the map -> PENDING, else the first false expression ->
 * FALSE.
 */
#ifndef PT_TESTS_SESSION_HELPERS_H
#define PT_TESTS_SESSION_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "session/session-internal.h"

#include "tap.h"

#define TJ_MAX_JOBS 200000

struct tj_set {
	struct pt_job *jobs[TJ_MAX_JOBS];
	size_t n;
};

PT_UNUSED static char *tj_strndup(const char *s, size_t n)
{
	char *p = pt__malloc(n + 1);

	PT_ASSERT_NOT_NULL(p);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

PT_UNUSED static struct pt_strlist tj_list(const char *v, char sep)
{
	struct pt_strlist l = { 0, NULL };
	const char **out;
	size_t n = 1;

	if (!*v)
		return l;
	for (const char *p = v; *p; p++)
		n += *p == sep;
	out = pt__calloc(n, sizeof(*out));
	PT_ASSERT_NOT_NULL(out);
	n = 0;
	for (const char *p = v;;) {
		const char *e = strchr(p, sep);
		size_t len = e ? (size_t)(e - p) : strlen(p);

		out[n++] = tj_strndup(p, len);
		if (!e)
			break;
		p = e + 1;
	}
	l.n = n;
	l.v = out;
	return l;
}

PT_UNUSED static struct tj_set *tj_set_new(void)
{
	struct tj_set *set = pt__calloc(1, sizeof(*set));

	PT_ASSERT_NOT_NULL(set);
	return set;
}

/* Makes a job from "ID key=value ..." and adds it to set. */
PT_UNUSED static struct pt_job *tj_make(struct tj_set *set, const char *spec)
{
	struct pt_job *j = pt__calloc(1, sizeof(*j));
	const char *p = spec;

	PT_ASSERT_NOT_NULL(j);
	PT_ASSERT(set->n < TJ_MAX_JOBS);
	j->shell = "bash";
	j->ns = "";
	j->category_id = "com.canonical.plainbox::uncategorised";
	j->certification_status = "non-blocker";
	j->auto_retry = "unspecified";
	j->estimated_duration = -1;
	j->timeout = -1;
	j->file = "<test>";
	while (*p) {
		const char *e = strchr(p, ' ');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char *tok = tj_strndup(p, len);
		char *eq = strchr(tok, '=');

		if (!j->id) {
			j->id = tok;
			j->partial_id = tok;
		} else {
			PT_ASSERT_NOT_NULL(eq);
			*eq = 0;
			if (!strcmp(tok, "depends"))
				j->depends = tj_list(eq + 1, ',');
			else if (!strcmp(tok, "after"))
				j->after = tj_list(eq + 1, ',');
			else if (!strcmp(tok, "before"))
				j->before = tj_list(eq + 1, ',');
			else if (!strcmp(tok, "salvages"))
				j->salvages = tj_list(eq + 1, ',');
			else if (!strcmp(tok, "requires"))
			j->requires = eq + 1;
			else if (!strcmp(tok, "group")) j->group = eq + 1;
			else if (!strcmp(tok, "plugin")) j->plugin =
				!strcmp(eq + 1, "resource") ? PT_PLUGIN_RESOURCE
							    : PT_PLUGIN_SHELL;
			else if (!strcmp(tok, "flags")) j->flags |=
				!strcmp(eq + 1, "fail-on-resource")
					? PT_JOB_FAIL_ON_RESOURCE
					: 0;
			else if (!strcmp(tok, "checksum")) snprintf(
				j->checksum, sizeof(j->checksum), "%s", eq + 1);
			else PT_FAIL("bad job field '%s'", tok);
			if (strcmp(tok, "requires") && strcmp(tok, "group"))
				pt__free(tok);
		}
		p += len;
		while (*p == ' ')
			p++;
	}
	set->jobs[set->n++] = j;
	return j;
}

PT_UNUSED static void tj_list_free(struct pt_strlist l)
{
	for (size_t i = 0; i < l.n; i++)
		pt__free_const(l.v[i]);
	pt__free_const(l.v);
}

PT_UNUSED static void tj_free(struct tj_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		struct pt_job *j = set->jobs[i];
		/* id, requires, group and plugin values share the token. */
		tj_list_free(j->depends);
		tj_list_free(j->after);
		tj_list_free(j->before);
		tj_list_free(j->salvages);
		pt__free_const(j->id);
		if (j->requires)
			pt__free_const(j->requires - strlen("requires="));
		if (j->group)
			pt__free_const(j->group - strlen("group="));
		pt__free(j);
	}
	pt__free(set);
}

/* ---- the stand-in resource programs ---- */

struct tj_alt {
	char *id, *key, *value;
};

struct tj_expr {
	char *text;
	size_t n_alts;
	struct tj_alt alts[8];
	size_t n_ids;
	const char *ids[8];
};

struct tj_prog {
	size_t n;
	struct tj_expr ex[8];
};

static int tj_compile(void *ctx, const struct pt_job *job, void **ret,
		      const char **ret_err)
{
	struct tj_prog *p;
	const char *s = job->requires;

	(void)ctx;
	(void)ret_err;
	*ret = NULL;
	if (!s || !*s)
		return 0;
	p = pt__calloc(1, sizeof(*p));
	PT_ASSERT_NOT_NULL(p);
	while (*s && p->n < 8) {
		const char *e = strchr(s, ';');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		struct tj_expr *x = &p->ex[p->n++];
		const char *a = s;

		x->text = tj_strndup(s, len);
		while (a < s + len && x->n_alts < 8) {
			const char *bar = memchr(a, '|', (size_t)(s + len - a));
			const char *end = bar ? bar : s + len;
			const char *dot = memchr(a, '.', (size_t)(end - a));
			const char *eq = memchr(a, '=', (size_t)(end - a));
			struct tj_alt *al = &x->alts[x->n_alts++];
			bool seen = false;

			PT_ASSERT(dot && eq && dot < eq);
			al->id = tj_strndup(a, (size_t)(dot - a));
			al->key = tj_strndup(dot + 1, (size_t)(eq - dot - 1));
			al->value = tj_strndup(eq + 1, (size_t)(end - eq - 1));
			for (size_t i = 0; i < x->n_ids; i++)
				seen |= !strcmp(x->ids[i], al->id);
			if (!seen)
				x->ids[x->n_ids++] = al->id;
			a = bar ? bar + 1 : end;
		}
		s += len;
		if (*s == ';')
			s++;
	}
	*ret = p;
	return 0;
}

static size_t tj_count(const void *prog)
{
	return ((const struct tj_prog *)prog)->n;
}

static void tj_expr(const void *prog, size_t i, struct pt__req_expr *ret)
{
	const struct tj_expr *x = &((const struct tj_prog *)prog)->ex[i];

	ret->text = x->text;
	ret->n_ids = x->n_ids;
	ret->ids = x->ids;
	ret->manifests = NULL;
}

static bool tj_alt_true(const struct pt_session *s, const struct tj_alt *a)
{
	size_t n = 0;

	if (!pt_session_resources(s, a->id, &n))
		return false;
	for (size_t r = 0; r < n; r++) {
		const struct pt_resource_record *rec =
			pt_session_resource(s, a->id, r);
		const char *v = "";

		for (size_t k = 0; k < rec->n; k++)
			if (!strcmp(rec->keys[k], a->key))
				v = rec->values[k];
		if (!strcmp(v, a->value))
			return true;
	}
	return false;
}

static enum pt__req_status tj_eval(void *ctx, const void *prog,
				   const struct pt_session *s,
				   size_t *ret_index)
{
	const struct tj_prog *p = prog;

	(void)ctx;
	for (size_t i = 0; i < p->n; i++)
		for (size_t k = 0; k < p->ex[i].n_ids; k++)
			if (!pt_session_resources(s, p->ex[i].ids[k], NULL)) {
				*ret_index = i;
				return PT__REQ_PENDING;
			}
	for (size_t i = 0; i < p->n; i++) {
		bool ok = false;

		for (size_t a = 0; a < p->ex[i].n_alts; a++)
			ok |= tj_alt_true(s, &p->ex[i].alts[a]);
		if (!ok) {
			*ret_index = i;
			return PT__REQ_FALSE;
		}
	}
	return PT__REQ_TRUE;
}

static void tj_release(void *ctx, void *prog)
{
	struct tj_prog *p = prog;

	(void)ctx;
	for (size_t i = 0; i < p->n; i++) {
		pt__free(p->ex[i].text);
		for (size_t a = 0; a < p->ex[i].n_alts; a++) {
			pt__free(p->ex[i].alts[a].id);
			pt__free(p->ex[i].alts[a].key);
			pt__free(p->ex[i].alts[a].value);
		}
	}
	pt__free(p);
}

static const struct pt__req_ops tj_req_ops = {
	.compile = tj_compile,
	.count = tj_count,
	.expr = tj_expr,
	.eval = tj_eval,
	.release = tj_release,
	.ctx = NULL,
};

/* A session over the set, with the stand-in requires language. */
PT_UNUSED static struct pt_session *tj_session(struct tj_set *set)
{
	struct pt_session *s = NULL;

	PT_ASSERT_OK(pt_session_new((const struct pt_job *const *)set->jobs,
				    set->n, &s));
	pt__session_set_req_ops(s, &tj_req_ops);
	return s;
}

/* Solves desired ids given as one space-separated string. */
PT_UNUSED static int tj_desire(struct pt_session *s, const char *ids)
{
	struct pt_strlist l = tj_list(ids, ' ');
	int r = pt_session_set_desired(s, l.v, l.n, true);

	tj_list_free(l);
	return r;
}

/* The run list as "A B C". */
PT_UNUSED static const char *tj_run_list(const struct pt_session *s)
{
	static char buf[1 << 16];
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < pt_session_run_list_count(s); i++) {
		const struct pt_job *j =
			pt_session_job(s, pt_session_run_list_get(s, i));

		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
					i ? " " : "", j->id);
	}
	return buf;
}

/* The problems' messages joined with " | ". */
PT_UNUSED static const char *tj_problems(const struct pt_session *s)
{
	static char buf[1 << 16];
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < pt_session_problem_count(s); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
					i ? " | " : "",
					pt_session_problem(s, i)->message);
	return buf;
}

/* A job's inhibitors, str()'d and joined with " | ". */
PT_UNUSED static const char *tj_inhibitors(const struct pt_session *s,
					   const char *id)
{
	static char buf[1 << 14];
	size_t job = pt_session_job_index(s, id), off = 0;

	PT_ASSERT(job != PT_SESSION_NO_JOB);
	buf[0] = 0;
	for (size_t i = 0; i < pt_session_inhibitor_count(s, job); i++) {
		if (i)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off,
						" | ");
		off += (size_t)pt_inhibitor_format(
			pt_session_inhibitor(s, job, i), buf + off,
			sizeof(buf) - off);
	}
	return buf;
}

#endif
