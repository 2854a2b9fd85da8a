/*
 * runner/report.c - JUnit XML, TAP 14 and JSON reports (proctor/report.h).
 *
 * Everything is written into one growable buffer; the only input read from
 * disk is the io log excerpt of each job (bounded by excerpt_limit per
 * stream), so memory is O(jobs * excerpt_limit) at worst and usually far
 * less. JSON is written by hand (not jansson) so that its layout is fixed
 * and every allocation goes through the allocator seam.
 */
#include "runner/runner-internal.h"

#include <time.h>

#include <proctor/report.h>

#include "base/buf.h"
#include "os/file.h"

static const char *const format_names[] = {
	[PT_REPORT_JUNIT] = "junit",
	[PT_REPORT_TAP] = "tap",
	[PT_REPORT_TAP13] = "tap13",
	[PT_REPORT_JSON] = "json",
};

PT_API int pt_report_format_parse(const char *name, enum pt_report_format *ret)
{
	for (size_t i = 0; name && i < PT_ARRAY_SIZE(format_names); i++) {
		if (!strcmp(name, format_names[i])) {
			*ret = (enum pt_report_format)i;
			return 0;
		}
	}
	return PT_EPARSE;
}

PT_API const char *pt_report_format_name(enum pt_report_format f)
{
	return (unsigned)f < PT_ARRAY_SIZE(format_names) ? format_names[f]
							 : "unknown";
}

/* ---- text hygiene */

/*
 * Length of the valid UTF-8 sequence at s (1-4), or 0 when invalid
 * (overlong forms, surrogates and values above U+10FFFF are invalid).
 */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

enum esc { ESC_XML_TEXT, ESC_XML_ATTR, ESC_JSON, ESC_TAP_DESC };

/* Appends s[0..n) escaped for its destination. */
static int add_escaped(struct pt_buf *b, const char *str, size_t n,
		       enum esc how)
{
	const unsigned char *s = (const unsigned char *)str;
	int r = 0;

	for (size_t i = 0; i < n && !r;) {
		uint32_t c = 0;
		size_t l = utf8_len(s + i, n - i, &c);

		if (!l) {
			r = pt__buf_adds(b, "\xef\xbf\xbd"); /* U+FFFD */
			i++;
			continue;
		}
		switch (how) {
		case ESC_XML_TEXT:
		case ESC_XML_ATTR:
			if (c == '&')
				r = pt__buf_adds(b, "&amp;");
			else if (c == '<')
				r = pt__buf_adds(b, "&lt;");
			else if (c == '>')
				r = pt__buf_adds(b, "&gt;");
			else if (c == '"' && how == ESC_XML_ATTR)
				r = pt__buf_adds(b, "&quot;");
			else if ((c == '\n' || c == '\t' || c == '\r') &&
				 how == ESC_XML_ATTR)
				r = pt__buf_addf(b, "&#%u;", (unsigned)c);
			else if (c == '\r')
				r = pt__buf_adds(b, "&#13;");
			else if ((c < 0x20 && c != '\n' && c != '\t') ||
				 c == 0xfffe || c == 0xffff)
				r = pt__buf_adds(b, "\xef\xbf\xbd");
			else
				r = pt__buf_add(b, s + i, l);
			break;
		case ESC_JSON:
			if (c == '"' || c == '\\')
				r = pt__buf_addf(b, "\\%c", (char)c);
			else if (c == '\n')
				r = pt__buf_adds(b, "\\n");
			else if (c == '\t')
				r = pt__buf_adds(b, "\\t");
			else if (c == '\r')
				r = pt__buf_adds(b, "\\r");
			else if (c < 0x20 || c == 0x7f)
				r = pt__buf_addf(b, "\\u%04x", (unsigned)c);
			else
				r = pt__buf_add(b, s + i, l);
			break;
		case ESC_TAP_DESC:
			/* one line; '#' would start a directive */
			if (c == '#' || c == '\\')
				r = pt__buf_addf(b, "\\%c", (char)c);
			else if (c < 0x20 || c == 0x7f)
				r = pt__buf_addch(b, ' ');
			else
				r = pt__buf_add(b, s + i, l);
			break;
		}
		i += l;
	}
	return r;
}

static int adds_esc(struct pt_buf *b, const char *s, enum esc how)
{
	return s ? add_escaped(b, s, strlen(s), how) : 0;
}

/* A JSON string value, or null. */
static int json_str(struct pt_buf *b, const char *s, size_t n)
{
	int r;

	if (!s)
		return pt__buf_adds(b, "null");
	r = pt__buf_addch(b, '"');
	r = r ? r : add_escaped(b, s, n, ESC_JSON);
	return r ? r : pt__buf_addch(b, '"');
}

static int json_strs(struct pt_buf *b, const char *s)
{
	return json_str(b, s, s ? strlen(s) : 0);
}

/* "2026-11-25T16:39:31" (UTC; what the JUnit schema's pattern wants). */
static void iso_time(int64_t ns, char *out, size_t size)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (ns <= 0 || !gmtime_r(&t, &tm)) {
		snprintf(out, size, "1970-01-01T00:00:00");
		return;
	}
	strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
}

/* ---- shared pieces */

struct excerpt {
	char *s;
	size_t len;
	bool truncated;
};

static void excerpt_read(const struct pt_report_job *j, unsigned stream,
			 size_t limit, struct excerpt *e)
{
	memset(e, 0, sizeof(*e));
	if (!j->io_log_path)
		return;
	if (pt_runner_iolog_read(j->io_log_path, stream, limit, &e->s, &e->len,
				 &e->truncated) < 0)
		memset(e, 0, sizeof(*e));
}

static void excerpt_free(struct excerpt *e)
{
	pt__freep(&e->s);
}

struct counts {
	size_t n, pass, fail, error, skipped;
	double time;
};

static void count(const struct pt_report_job *jobs, size_t n, struct counts *c)
{
	memset(c, 0, sizeof(*c));
	c->n = n;
	for (size_t i = 0; i < n; i++) {
		enum pt_outcome o = jobs[i].result.outcome;

		if (o == PT_OUTCOME_PASS)
			c->pass++;
		else if (o == PT_OUTCOME_FAIL || o == PT_OUTCOME_TIMEOUT)
			c->fail++;
		else if (o == PT_OUTCOME_CRASH)
			c->error++;
		else
			c->skipped++;
		if (jobs[i].result.duration > 0)
			c->time += jobs[i].result.duration;
	}
}

/* Splits "ns::partial" at the last "::". */
static void split_id(const char *id, struct pt_buf *ns, const char **name)
{
	const char *p = id, *last = NULL;

	while ((p = strstr(p, "::"))) {
		last = p;
		p += 2;
	}
	if (last) {
		(void)!pt__buf_add(ns, id, (size_t)(last - id));
		*name = last + 2;
	} else {
		(void)!pt__buf_adds(ns, "proctor");
		*name = id;
	}
}

/* The default message of a non-passing outcome, without comments. */
static void outcome_message(const struct pt_result *res, struct pt_buf *b)
{
	switch (res->outcome) {
	case PT_OUTCOME_FAIL:
		(void)!pt__buf_addf(b, "exit code %d", res->return_code);
		break;
	case PT_OUTCOME_CRASH:
		(void)!pt__buf_addf(b, "crashed (return code %d)",
				    res->return_code);
		break;
	case PT_OUTCOME_TIMEOUT:
		(void)!pt__buf_adds(b, "timed out");
		break;
	case PT_OUTCOME_NONE:
		(void)!pt__buf_adds(b, "not run");
		break;
	default:
		(void)!pt__buf_adds(b, pt_outcome_name(res->outcome));
		break;
	}
}

static double session_time(const struct pt_report_session *s,
			   const struct counts *c)
{
	return s->duration >= 0 ? s->duration : c->time;
}

/* ---- JUnit */

static int junit(struct pt_buf *b, const struct pt_report_session *s,
		 const struct pt_report_job *jobs, size_t n, size_t limit)
{
	struct counts c;
	char ts[32];
	struct pt_buf ns = PT_BUF_INIT, msg = PT_BUF_INIT;
	int r;

	count(jobs, n, &c);
	iso_time(s->started_ns, ts, sizeof(ts));
	r = pt__buf_addf(b,
			 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			 "<testsuites name=\"proctor\" tests=\"%zu\" "
			 "failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" "
			 "time=\"%.3f\">\n"
			 "  <testsuite name=\"",
			 c.n, c.fail, c.error, c.skipped, session_time(s, &c));
	r = r ? r
	      : adds_esc(b,
			 s->title ? s->title
			 : s->id  ? s->id
				  : "proctor",
			 ESC_XML_ATTR);
	r = r ? r
	      : pt__buf_addf(b,
			     "\" tests=\"%zu\" failures=\"%zu\" "
			     "errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\" "
			     "timestamp=\"%s\" hostname=\"",
			     c.n, c.fail, c.error, c.skipped,
			     session_time(s, &c), ts);
	r = r ? r
	      : adds_esc(b, s->hostname ? s->hostname : "localhost",
			 ESC_XML_ATTR);
	r = r ? r
	      : pt__buf_adds(b, "\">\n    <properties>\n"
				"      <property name=\"session\" value=\"");
	r = r ? r : adds_esc(b, s->id ? s->id : "", ESC_XML_ATTR);
	r = r ? r
	      : pt__buf_addf(b,
			     "\"/>\n      <property name=\"seed\" "
			     "value=\"%" PRIu64 "\"/>\n    </properties>\n",
			     s->seed);
	for (size_t i = 0; i < n && !r; i++) {
		const struct pt_report_job *j = &jobs[i];
		const struct pt_result *res = &j->result;
		const char *name, *cls = pt_outcome_class(res->outcome);
		struct excerpt out, err;

		pt__buf_reset(&ns);
		pt__buf_reset(&msg);
		split_id(j->id ? j->id : "", &ns, &name);
		r = pt__buf_adds(b, "    <testcase name=\"");
		r = r ? r : adds_esc(b, name, ESC_XML_ATTR);
		r = r ? r : pt__buf_adds(b, "\" classname=\"");
		r = r ? r : adds_esc(b, ns.s, ESC_XML_ATTR);
		r = r ? r
		      : pt__buf_addf(b, "\" time=\"%.3f\">\n",
				     res->duration > 0 ? res->duration : 0);
		if (r)
			break;
		outcome_message(res, &msg);
		if (res->attempt > 1)
			(void)!pt__buf_addf(&msg, " (attempt %u)",
					    res->attempt);
		if (!strcmp(cls, "fail") || !strcmp(cls, "skip") ||
		    !strcmp(cls, "none")) {
			const char *el = res->outcome == PT_OUTCOME_CRASH
						 ? "error"
					 : !strcmp(cls, "fail") ? "failure"
								: "skipped";
			bool is_skip = !strcmp(el, "skipped");

			r = pt__buf_addf(b, "      <%s message=\"", el);
			r = r ? r : adds_esc(b, msg.s, ESC_XML_ATTR);
			if (!r && is_skip && res->comments) {
				r = pt__buf_adds(b, ": ");
				r = r ? r
				      : adds_esc(b, res->comments,
						 ESC_XML_ATTR);
			}
			if (!r && !is_skip)
				r = pt__buf_addf(b, "\" type=\"%s",
						 pt_outcome_name(res->outcome));
			if (!r && !is_skip && res->comments) {
				r = pt__buf_adds(b, "\">");
				r = r ? r
				      : adds_esc(b, res->comments,
						 ESC_XML_TEXT);
				r = r ? r : pt__buf_addf(b, "</%s>\n", el);
			} else if (!r) {
				r = pt__buf_adds(b, "\"/>\n");
			}
		}
		excerpt_read(j, PT_STREAM_STDOUT, limit, &out);
		excerpt_read(j, PT_STREAM_STDERR, limit, &err);
		if (!r && out.len) {
			r = pt__buf_adds(b, "      <system-out>");
			r = r ? r
			      : add_escaped(b, out.s, out.len, ESC_XML_TEXT);
			r = r ? r : pt__buf_adds(b, "</system-out>\n");
		}
		if (!r && err.len) {
			r = pt__buf_adds(b, "      <system-err>");
			r = r ? r
			      : add_escaped(b, err.s, err.len, ESC_XML_TEXT);
			r = r ? r : pt__buf_adds(b, "</system-err>\n");
		}
		excerpt_free(&out);
		excerpt_free(&err);
		r = r ? r : pt__buf_adds(b, "    </testcase>\n");
	}
	r = r ? r : pt__buf_adds(b, "  </testsuite>\n</testsuites>\n");
	pt__buf_release(&ns);
	pt__buf_release(&msg);
	return r;
}

/* ---- TAP */

static int yaml_str(struct pt_buf *b, const char *key, const char *s, size_t n)
{
	int r = pt__buf_addf(b, "  %s: ", key);

	r = r ? r : json_str(b, s, n); /* a JSON string is YAML too */
	return r ? r : pt__buf_addch(b, '\n');
}

static int tap(struct pt_buf *b, const struct pt_report_session *s,
	       const struct pt_report_job *jobs, size_t n, size_t limit,
	       int version)
{
	struct pt_buf msg = PT_BUF_INIT;
	int r;

	r = pt__buf_addf(b, "TAP version %d\n1..%zu\n", version, n);
	r = r ? r : pt__buf_adds(b, "# proctor session ");
	r = r ? r : adds_esc(b, s->id ? s->id : "", ESC_TAP_DESC);
	r = r ? r : pt__buf_addf(b, " seed %" PRIu64 "\n", s->seed);
	for (size_t i = 0; i < n && !r; i++) {
		const struct pt_report_job *j = &jobs[i];
		const struct pt_result *res = &j->result;
		const char *cls = pt_outcome_class(res->outcome);
		struct excerpt out, err;

		if (!strcmp(cls, "pass")) {
			r = pt__buf_addf(b, "ok %zu - ", i + 1);
			r = r ? r : adds_esc(b, j->id, ESC_TAP_DESC);
			r = r ? r : pt__buf_addch(b, '\n');
			continue;
		}
		if (strcmp(cls, "fail")) {
			/* skipped or not run: a SKIP directive, one line */
			pt__buf_reset(&msg);
			outcome_message(res, &msg);
			r = pt__buf_addf(b, "ok %zu - ", i + 1);
			r = r ? r : adds_esc(b, j->id, ESC_TAP_DESC);
			r = r ? r : pt__buf_adds(b, " # SKIP ");
			r = r ? r : adds_esc(b, msg.s, ESC_TAP_DESC);
			if (!r && res->comments) {
				r = pt__buf_adds(b, ": ");
				r = r ? r
				      : adds_esc(b, res->comments,
						 ESC_TAP_DESC);
			}
			r = r ? r : pt__buf_addch(b, '\n');
			continue;
		}
		r = pt__buf_addf(b, "not ok %zu - ", i + 1);
		r = r ? r : adds_esc(b, j->id, ESC_TAP_DESC);
		r = r ? r
		      : pt__buf_addf(b,
				     "\n  ---\n  outcome: %s\n"
				     "  return_code: %d\n"
				     "  duration: %.3f\n  attempt: %u\n",
				     pt_outcome_name(res->outcome),
				     res->return_code,
				     res->duration > 0 ? res->duration : 0,
				     res->attempt ? res->attempt : 1);
		if (!r && res->comments)
			r = yaml_str(b, "comments", res->comments,
				     strlen(res->comments));
		excerpt_read(j, PT_STREAM_STDOUT, limit, &out);
		excerpt_read(j, PT_STREAM_STDERR, limit, &err);
		if (!r && out.len)
			r = yaml_str(b, "stdout", out.s, out.len);
		if (!r && err.len)
			r = yaml_str(b, "stderr", err.s, err.len);
		excerpt_free(&out);
		excerpt_free(&err);
		r = r ? r : pt__buf_adds(b, "  ...\n");
	}
	pt__buf_release(&msg);
	return r;
}

/* ---- JSON */

static int json(struct pt_buf *b, const struct pt_report_session *s,
		const struct pt_report_job *jobs, size_t n, size_t limit)
{
	size_t per[PT_OUTCOME_COUNT_] = { 0 };
	struct counts c;
	char ts[32];
	int r;
	bool first = true;

	count(jobs, n, &c);
	for (size_t i = 0; i < n; i++) {
		unsigned o = (unsigned)jobs[i].result.outcome;
		per[o < PT_OUTCOME_COUNT_ ? o : 0]++;
	}
	iso_time(s->started_ns, ts, sizeof(ts));
	r = pt__buf_adds(b,
			 "{\n  \"format\": \"proctor-report\",\n"
			 "  \"version\": 1,\n  \"session\": {\n    \"id\": ");
	r = r ? r : json_strs(b, s->id);
	r = r ? r : pt__buf_adds(b, ",\n    \"title\": ");
	r = r ? r : json_strs(b, s->title);
	r = r ? r
	      : pt__buf_addf(b,
			     ",\n    \"seed\": %" PRIu64
			     ",\n    \"started\": \"%sZ\",\n"
			     "    \"duration\": %.6f,\n    \"hostname\": ",
			     s->seed, ts, session_time(s, &c));
	r = r ? r : json_strs(b, s->hostname);
	r = r ? r
	      : pt__buf_addf(b,
			     "\n  },\n  \"counts\": {\n"
			     "    \"total\": %zu",
			     n);
	for (int o = 0; o < PT_OUTCOME_COUNT_ && !r; o++)
		r = pt__buf_addf(b, ",\n    \"%s\": %zu",
				 pt_outcome_name((enum pt_outcome)o), per[o]);
	r = r ? r : pt__buf_adds(b, "\n  },\n  \"jobs\": [");
	for (size_t i = 0; i < n && !r; i++) {
		const struct pt_report_job *j = &jobs[i];
		const struct pt_result *res = &j->result;
		struct excerpt out, err;

		iso_time(res->started_ns, ts, sizeof(ts));
		r = pt__buf_adds(b, first ? "\n    {\n      \"id\": "
					  : ",\n    {\n      \"id\": ");
		first = false;
		r = r ? r : json_strs(b, j->id);
		r = r ? r : pt__buf_adds(b, ",\n      \"summary\": ");
		r = r ? r : json_strs(b, j->summary);
		r = r ? r
		      : pt__buf_addf(b,
				     ",\n      \"outcome\": \"%s\",\n"
				     "      \"class\": \"%s\",\n"
				     "      \"return_code\": %d,\n"
				     "      \"duration\": %.6f,\n"
				     "      \"attempt\": %u,\n"
				     "      \"started\": ",
				     pt_outcome_name(res->outcome),
				     pt_outcome_class(res->outcome),
				     res->return_code,
				     res->duration > 0 ? res->duration : 0,
				     res->attempt);
		if (!r && res->started_ns > 0)
			r = pt__buf_addf(b, "\"%sZ\"", ts);
		else if (!r)
			r = pt__buf_adds(b, "null");
		r = r ? r : pt__buf_adds(b, ",\n      \"comments\": ");
		r = r ? r : json_strs(b, res->comments);
		r = r ? r : pt__buf_adds(b, ",\n      \"io_log\": ");
		r = r ? r : json_strs(b, res->io_log);
		excerpt_read(j, PT_STREAM_STDOUT, limit, &out);
		excerpt_read(j, PT_STREAM_STDERR, limit, &err);
		r = r ? r : pt__buf_adds(b, ",\n      \"stdout\": ");
		r = r ? r : json_str(b, out.s ? out.s : "", out.len);
		r = r ? r
		      : pt__buf_addf(b,
				     ",\n      \"stdout_truncated\": %s,\n"
				     "      \"stderr\": ",
				     out.truncated ? "true" : "false");
		r = r ? r : json_str(b, err.s ? err.s : "", err.len);
		r = r ? r
		      : pt__buf_addf(b,
				     ",\n      \"stderr_truncated\": %s\n"
				     "    }",
				     err.truncated ? "true" : "false");
		excerpt_free(&out);
		excerpt_free(&err);
	}
	r = r ? r : pt__buf_adds(b, n ? "\n  ]\n}\n" : "]\n}\n");
	return r;
}

PT_API int pt_report_render(enum pt_report_format f,
			    const struct pt_report_session *s,
			    const struct pt_report_job *jobs, size_t n,
			    size_t excerpt_limit, char **ret, size_t *ret_len)
{
	struct pt_buf b = PT_BUF_INIT;
	struct pt_report_session none = { .duration = -1 };
	int r;

	if (!ret || (n && !jobs))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!jobs[i].id)
			return -EINVAL;
	}
	if (!s)
		s = &none;
	if (!excerpt_limit)
		excerpt_limit = PT_REPORT_EXCERPT_DEFAULT;
	switch (f) {
	case PT_REPORT_JUNIT:
		r = junit(&b, s, jobs, n, excerpt_limit);
		break;
	case PT_REPORT_TAP:
		r = tap(&b, s, jobs, n, excerpt_limit, 14);
		break;
	case PT_REPORT_TAP13:
		r = tap(&b, s, jobs, n, excerpt_limit, 13);
		break;
	case PT_REPORT_JSON:
		r = json(&b, s, jobs, n, excerpt_limit);
		break;
	default:
		return -EINVAL;
	}
	if (r) {
		pt__buf_release(&b);
		return r < 0 ? r : -ENOMEM;
	}
	if (ret_len)
		*ret_len = b.len;
	*ret = pt__buf_detach(&b, NULL);
	return *ret ? 0 : -ENOMEM;
}

int pt_report_write(const char *path, const char *text, size_t len)
{
	if (!path || (!text && len))
		return -EINVAL;
	return pt__write_file_atomic(path, text ? text : "", len, 0644);
}
