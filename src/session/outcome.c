/*
 * session/outcome.c - texts and small tables of the session engine:
 * dependency type and inhibitor cause names, upstream's str() of an
 * inhibitor (docs/plainbox.md §3.3), Python repr()/ascii() quoting for problem
 * messages, and determine_outcome_and_skip_reason (§3.9).
 */
#include "base/buf.h"
#include "base/common.h"
#include "session/session-internal.h"

const char *pt_dep_type_name(enum pt_dep_type t)
{
	switch (t) {
	case PT_DEP_AFTER:
		return "after";
	case PT_DEP_BEFORE:
		return "before";
	case PT_DEP_DEPENDS:
		return "depends";
	case PT_DEP_RESOURCE:
		return "resource";
	}
	return "?";
}

const char *pt_inhibitor_cause_name(enum pt_inhibitor_cause c)
{
	static const char *const names[] = {
		"UNDESIRED",	     "PENDING_DEP",	     "FAILED_DEP",
		"PENDING_RESOURCE",  "FAILED_RESOURCE",	     "NOT_FAILED_DEP",
		"REQUIRED_MANIFEST", "BAD_RESOURCE_PROGRAM",
	};

	if ((unsigned)c < PT_ARRAY_SIZE(names))
		return names[c];
	return "?";
}

/* Decodes one UTF-8 sequence; invalid bytes come back as themselves. */
static uint32_t utf8_next(const unsigned char **p)
{
	const unsigned char *s = *p;
	uint32_t c = s[0];
	int n = 0;

	if (c >= 0xf0 && c < 0xf8)
		n = 3, c &= 0x07;
	else if (c >= 0xe0)
		n = 2, c &= 0x0f;
	else if (c >= 0xc0)
		n = 1, c &= 0x1f;
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*p = s + 1;
			return s[0];
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	*p = s + 1 + n;
	return c;
}

/*
 * Python's repr(str) (ascii=false) or ascii(str) (ascii=true), for the
 * ids quoted in problem messages. Non-ASCII characters other than C1
 * controls are kept by repr (Python keeps the printable ones).
 */
int pt__pyrepr(struct pt_arena *a, const char *str, bool ascii, char **ret)
{
	struct pt_buf b = PT_BUF_INIT;
	char q = '\'';
	int r = 0;

	if (strchr(str, '\'') && !strchr(str, '"'))
		q = '"';
	r |= pt__buf_addch(&b, q);
	for (const unsigned char *p = (const unsigned char *)str; *p && !r;) {
		const unsigned char *start = p;
		uint32_t c = *p < 0x80 ? *p++ : utf8_next(&p);

		if (c == '\\' || c == (uint32_t)q)
			r |= pt__buf_addf(&b, "\\%c", (char)c);
		else if (c == '\n')
			r |= pt__buf_adds(&b, "\\n");
		else if (c == '\r')
			r |= pt__buf_adds(&b, "\\r");
		else if (c == '\t')
			r |= pt__buf_adds(&b, "\\t");
		else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0))
			r |= pt__buf_addf(&b, "\\x%02x", (unsigned)c);
		else if (c < 0x80 || !ascii)
			r |= pt__buf_add(&b, start, (size_t)(p - start));
		else if (c < 0x100)
			r |= pt__buf_addf(&b, "\\x%02x", (unsigned)c);
		else if (c < 0x10000)
			r |= pt__buf_addf(&b, "\\u%04x", (unsigned)c);
		else
			r |= pt__buf_addf(&b, "\\U%08x", (unsigned)c);
	}
	r |= pt__buf_addch(&b, q);
	if (!r)
		*ret = pt__arena_strndup(a, b.s, b.len);
	pt__buf_release(&b);
	if (r || !*ret)
		return -ENOMEM;
	return 0;
}

/* A repr() into a fixed buffer, for pt_inhibitor_format (no allocation). */
static int quote_into(char *buf, size_t size, const char *fmt, const char *val)
{
	struct pt_arena a = PT_ARENA_INIT;
	char *q = NULL;
	int n;

	if (pt__pyrepr(&a, val ? val : "", false, &q) < 0) {
		pt__arena_release(&a);
		return -ENOMEM;
	}
	n = snprintf(buf, size, fmt, q);
	pt__arena_release(&a);
	return n;
}

int pt_inhibitor_format(const struct pt_inhibitor *ib, char *buf, size_t size)
{
	switch (ib->cause) {
	case PT_INHIBIT_UNDESIRED:
		return snprintf(buf, size, "undesired");
	case PT_INHIBIT_PENDING_DEP:
		return quote_into(buf, size,
				  "required dependency %s did not run yet",
				  ib->related_id);
	case PT_INHIBIT_FAILED_DEP:
		return quote_into(buf, size,
				  "required dependency %s has failed",
				  ib->related_id);
	case PT_INHIBIT_PENDING_RESOURCE:
		return quote_into(buf, size,
				  "resource expression %s could not be "
				  "evaluated because the resource it depends "
				  "on did not run yet",
				  ib->related_expression);
	case PT_INHIBIT_FAILED_RESOURCE:
		return quote_into(buf, size,
				  "resource expression %s evaluates to false",
				  ib->related_expression);
	case PT_INHIBIT_NOT_FAILED_DEP:
		return quote_into(buf, size,
				  "required dependency %s did not fail",
				  ib->related_id);
	case PT_INHIBIT_REQUIRED_MANIFEST:
		return snprintf(buf, size, "manifest(s): %s unmet",
				ib->related_manifests ? ib->related_manifests
						      : "");
	case PT_INHIBIT_BAD_RESOURCE_PROGRAM:
		return snprintf(
			buf, size, "resource program does not compile: %s",
			ib->related_expression ? ib->related_expression : "?");
	}
	return snprintf(buf, size, "?");
}

enum pt_outcome pt_session_blocked_outcome(const struct pt_session *s,
					   size_t job)
{
	size_t n = pt_session_inhibitor_count(s, job);
	bool manifest = false, failed_dep = false, failed_res = false;

	for (size_t i = 0; i < n; i++) {
		const struct pt_inhibitor *ib = pt_session_inhibitor(s, job, i);

		switch (ib->cause) {
		case PT_INHIBIT_BAD_RESOURCE_PROGRAM:
			/* A provider error: it fails, whatever else. */
			return PT_OUTCOME_FAIL;
		case PT_INHIBIT_FAILED_DEP:
			if (ib->related_job != PT_SESSION_NO_JOB &&
			    pt_session_result(s, ib->related_job)->outcome ==
				    PT_OUTCOME_SKIP)
				return PT_OUTCOME_SKIP;
			failed_dep = true;
			break;
		case PT_INHIBIT_REQUIRED_MANIFEST:
			manifest = true;
			break;
		case PT_INHIBIT_FAILED_RESOURCE:
			failed_res = true;
			/* an expression that reads the manifest */
			if (ib->related_manifests)
				manifest = true;
			break;
		default:
			break;
		}
	}
	if (manifest)
		return PT_OUTCOME_SKIPPED_MANIFEST;
	if (failed_dep)
		return PT_OUTCOME_SKIPPED_DEPENDENCY;
	if (failed_res) {
		const struct pt_job *j = pt_session_job(s, job);

		return j && (j->flags & PT_JOB_FAIL_ON_RESOURCE)
			       ? PT_OUTCOME_FAIL
			       : PT_OUTCOME_SKIPPED_RESOURCE;
	}
	return PT_OUTCOME_NONE;
}

/* Appends "\n- " and each of the ", "-separated ids of list. */
static size_t add_items(char *buf, size_t size, size_t used, const char *list)
{
	const char *p = list;

	while (p && *p) {
		const char *e = strstr(p, ", ");
		size_t n = e ? (size_t)(e - p) : strlen(p);
		int k = snprintf(used < size ? buf + used : NULL,
				 used < size ? size - used : 0, "\n- %.*s",
				 (int)n, p);

		used += k > 0 ? (size_t)k : 0;
		p = e ? e + 2 : NULL;
	}
	return used;
}

int pt_session_skip_reason(const struct pt_session *s, size_t job, char *buf,
			   size_t size)
{
	static const char *const head[] = {
		"Job cannot be started because of unmet manifest:",
		"Job cannot be started because of failed dependency:",
		"Job cannot be started because of unmet resource:",
	};
	size_t n = pt_session_inhibitor_count(s, job), used = 0;
	int kind = -1;

	if (size)
		buf[0] = 0;
	/* upstream's precedence: manifest, dependency, resource */
	for (int want = 0; want < 3 && kind < 0; want++)
		for (size_t i = 0; i < n && kind < 0; i++) {
			const struct pt_inhibitor *ib =
				pt_session_inhibitor(s, job, i);
			bool m = ib->cause == PT_INHIBIT_REQUIRED_MANIFEST ||
				 (ib->cause == PT_INHIBIT_FAILED_RESOURCE &&
				  ib->related_manifests);

			if ((want == 0 && m) ||
			    (want == 1 && ib->cause == PT_INHIBIT_FAILED_DEP &&
			     pt_session_result(s, ib->related_job)->outcome !=
				     PT_OUTCOME_SKIP) ||
			    (want == 2 && !m &&
			     ib->cause == PT_INHIBIT_FAILED_RESOURCE))
				kind = want;
		}
	if (kind < 0)
		return 0;
	used = (size_t)snprintf(buf, size, "%s", head[kind]);
	for (size_t i = 0; i < n; i++) {
		const struct pt_inhibitor *ib = pt_session_inhibitor(s, job, i);
		bool m = ib->cause == PT_INHIBIT_REQUIRED_MANIFEST ||
			 (ib->cause == PT_INHIBIT_FAILED_RESOURCE &&
			  ib->related_manifests);

		if (kind == 0 && m)
			used = add_items(buf, size, used,
					 ib->related_manifests);
		else if (kind == 1 && ib->cause == PT_INHIBIT_FAILED_DEP &&
			 pt_session_result(s, ib->related_job)->outcome !=
				 PT_OUTCOME_SKIP)
			used = add_items(buf, size, used, ib->related_id);
		else if (kind == 2 && !m &&
			 ib->cause == PT_INHIBIT_FAILED_RESOURCE)
			used = add_items(buf, size, used,
					 ib->related_expression);
	}
	return (int)used;
}
