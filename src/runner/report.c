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
#include "base/utf8.h"
#include "os/fd.h"
#include "os/file.h"
#include "os/runos.h"

static const char *const format_names[] = {
	[PT_REPORT_JUNIT] = "junit", [PT_REPORT_TAP] = "tap",
	[PT_REPORT_TAP13] = "tap13", [PT_REPORT_JSON] = "json",
	[PT_REPORT_HTML] = "html",
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

enum esc { ESC_XML_TEXT, ESC_XML_ATTR, ESC_JSON, ESC_TAP_DESC };

/* Appends s[0..n) escaped for its destination. */
static int add_escaped(struct pt_buf *b, const char *str, size_t n,
		       enum esc how)
{
	const unsigned char *s = (const unsigned char *)str;
	int r = 0;

	for (size_t i = 0; i < n && !r;) {
		uint32_t c = 0;
		size_t l = pt__utf8_len(s + i, n - i, &c);

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
	size_t n, pass, fail, error, skipped, flaky;
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
		if (jobs[i].result.flaky)
			c->flaky++;
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
			     "value=\"%" PRIu64 "\"/>\n",
			     s->seed);
	/* Passes that came after failed attempts (--retries). */
	if (!r && c.flaky)
		r = pt__buf_addf(b,
				 "      <property name=\"flaky\" "
				 "value=\"%zu\"/>\n",
				 c.flaky);
	r = r ? r : pt__buf_adds(b, "    </properties>\n");
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
		      : pt__buf_addf(b, "\" time=\"%.3f\"%s>\n",
				     res->duration > 0 ? res->duration : 0,
				     res->flaky ? " status=\"flaky\"" : "");
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
		/* A pass has no element for its notes (chaos faults, over
		 * budget): they open its one <system-out> (CI tools read the
		 * first only), marked as proctor's, before the job's output. */
		bool notes = !strcmp(cls, "pass") && res->comments;
		if (!r && (out.len || notes)) {
			r = pt__buf_adds(b, "      <system-out>");
			if (!r && notes) {
				r = pt__buf_adds(b, "[proctor] ");
				r = r ? r
				      : adds_esc(b, res->comments,
						 ESC_XML_TEXT);
				r = r ? r : pt__buf_addch(b, '\n');
			}
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
			/* flaky: a comment (no directive); flaky, and the
			 * comments (chaos faults, over budget) in a YAML
			 * block, so a passing job's notes are in TAP too */
			if (!r && res->flaky)
				r = pt__buf_addf(b,
						 " # flaky: passed on attempt "
						 "%u",
						 res->attempt);
			if (!r && (res->flaky || res->comments))
				r = pt__buf_adds(b, "\n  ---\n");
			if (!r && res->flaky)
				r = pt__buf_addf(b,
						 "  flaky: true\n"
						 "  attempt: %u\n",
						 res->attempt);
			if (!r && res->comments)
				r = yaml_str(b, "comments", res->comments,
					     strlen(res->comments));
			if (!r && (res->flaky || res->comments))
				r = pt__buf_adds(b, "  ...");
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
	r = r ? r : pt__buf_addf(b, ",\n    \"flaky\": %zu", c.flaky);
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
				     "      \"flaky\": %s,\n"
				     "      \"lane\": %u,\n"
				     "      \"started\": ",
				     pt_outcome_name(res->outcome),
				     pt_outcome_class(res->outcome),
				     res->return_code,
				     res->duration > 0 ? res->duration : 0,
				     res->attempt,
				     res->flaky ? "true" : "false", res->lane);
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

/* ---- HTML */

/* Colours of the timeline's bars (used nowhere else on the page). */
#define BAR_PASS    "#2e7d32"
#define BAR_FAIL    "#d32f2f"
#define BAR_CRASH   "#8e24aa"
#define BAR_TIMEOUT "#ef6c00"

static const char html_head[] =
	"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
	"'none'; style-src 'unsafe-inline'; img-src data:\">\n"
	"<link rel=\"icon\" href=\"data:,\">\n"
	"<style>\n"
	"body{font:14px/1.4 sans-serif;margin:16px;color:#222}\n"
	"h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:20px 0 "
	"8px}\n"
	".meta{color:#555}\n"
	"table{border-collapse:collapse}td,th{border:1px solid #ccc;"
	"padding:2px 8px;text-align:left;vertical-align:top}\n"
	".o-pass{background:#e8f5e9}.o-fail{background:#ffebee}"
	".o-skip{background:#f5f5f5}.o-none{background:#fff8e1}\n"
	".flaky{background:#fff3e0;color:#e65100;padding:0 4px;"
	"border-radius:3px;font-size:12px}\n"
	"pre{background:#fafafa;border:1px solid #ddd;padding:6px;"
	"max-height:300px;overflow:auto;white-space:pre-wrap}\n"
	"svg text{font:11px sans-serif;fill:#333}\n"
	".track{fill:#f3f3f3}.bar-pass{fill:" BAR_PASS
	"}.bar-fail{fill:" BAR_FAIL "}.bar-crash{fill:" BAR_CRASH
	"}.bar-timeout{fill:" BAR_TIMEOUT "}\n"
	".mark{fill:" BAR_FAIL "}\n"
	"</style>\n";

/* Whether a job ran in a lane (a bar of the timeline). */
static bool on_timeline(const struct pt_result *res)
{
	return res->started_ns > 0 && res->duration >= 0 &&
	       (res->outcome == PT_OUTCOME_PASS ||
		res->outcome == PT_OUTCOME_FAIL ||
		res->outcome == PT_OUTCOME_CRASH ||
		res->outcome == PT_OUTCOME_TIMEOUT);
}

static const char *bar_class(enum pt_outcome o)
{
	return o == PT_OUTCOME_PASS	 ? "bar-pass"
	       : o == PT_OUTCOME_CRASH	 ? "bar-crash"
	       : o == PT_OUTCOME_TIMEOUT ? "bar-timeout"
					 : "bar-fail";
}

#define TL_LEFT	 64  /* lane labels */
#define TL_WIDTH 900 /* the plot */
#define TL_ROW	 24
#define TL_BAR	 16
#define TL_TOP	 22 /* the time axis */

/* One row per lane, each job that ran a bar; failures marked. */
static int timeline(struct pt_buf *b, const struct pt_report_job *jobs,
		    size_t n)
{
	int64_t t0 = INT64_MAX, t1 = INT64_MIN;
	unsigned lanes = 1;
	double span;
	int r;

	for (size_t i = 0; i < n; i++) {
		const struct pt_result *res = &jobs[i].result;
		int64_t end;

		if (!on_timeline(res))
			continue;
		end = res->started_ns + (int64_t)(res->duration * 1e9);
		t0 = res->started_ns < t0 ? res->started_ns : t0;
		t1 = end > t1 ? end : t1;
		if (res->lane + 1 > lanes && res->lane < 4096)
			lanes = res->lane + 1;
	}
	if (t0 == INT64_MAX) {
		t0 = 0;
		t1 = 0;
	}
	span = (double)(t1 - t0) / 1e9;
	if (span < 1e-3)
		span = 1e-3;
	r = pt__buf_addf(b,
			 "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/"
			 "svg\" width=\"%d\" height=\"%u\" role=\"img\" "
			 "aria-label=\"timeline: %u lanes, %.3f s\">\n"
			 "<text x=\"%d\" y=\"12\">0 s</text>"
			 "<text x=\"%d\" y=\"12\" text-anchor=\"end\">%.3f "
			 "s</text>\n",
			 TL_LEFT + TL_WIDTH + 8, TL_TOP + lanes * TL_ROW + 8,
			 lanes, span, TL_LEFT, TL_LEFT + TL_WIDTH, span);
	for (unsigned l = 0; l < lanes && !r; l++) {
		unsigned y = TL_TOP + l * TL_ROW;

		r = pt__buf_addf(b,
				 "<g class=\"lane\" id=\"lane-%u\">"
				 "<text x=\"4\" y=\"%u\">lane %u</text>"
				 "<rect class=\"track\" x=\"%d\" y=\"%u\" "
				 "width=\"%d\" height=\"%d\"/>\n",
				 l, y + 12, l + 1, TL_LEFT, y, TL_WIDTH,
				 TL_BAR);
		for (size_t i = 0; i < n && !r; i++) {
			const struct pt_result *res = &jobs[i].result;
			double x, w;

			if (!on_timeline(res) || res->lane != l)
				continue;
			x = (double)(res->started_ns - t0) / 1e9 / span *
			    TL_WIDTH;
			w = res->duration / span * TL_WIDTH;
			if (w < 2)
				w = 2;
			if (x + w > TL_WIDTH)
				x = TL_WIDTH - w;
			r = pt__buf_addf(b,
					 "<rect class=\"bar %s\" "
					 "data-job=\"%zu\" x=\"%.1f\" y=\"%u\" "
					 "width=\"%.1f\" height=\"%d\"><title>",
					 bar_class(res->outcome), i + 1,
					 TL_LEFT + x, y, w, TL_BAR);
			r = r ? r : adds_esc(b, jobs[i].id, ESC_XML_TEXT);
			r = r ? r
			      : pt__buf_addf(b, ": %s, %.3f s</title></rect>",
					     pt_outcome_name(res->outcome),
					     res->duration);
			/* A failure is marked below its bar too. */
			if (!r && res->outcome != PT_OUTCOME_PASS)
				r = pt__buf_addf(
					b,
					"<rect class=\"mark\" x=\"%.1f\" "
					"y=\"%u\" width=\"%.1f\" "
					"height=\"3\"/>",
					TL_LEFT + x, y + TL_BAR + 1, w);
			r = r ? r : pt__buf_addch(b, '\n');
		}
		r = r ? r : pt__buf_adds(b, "</g>\n");
	}
	return r ? r : pt__buf_adds(b, "</svg>\n");
}

/* At most limit bytes of the start of a file (an attachment). */
static int file_head(const char *path, size_t limit, struct excerpt *e)
{
	ssize_t n;
	int fd;

	memset(e, 0, sizeof(*e));
	e->s = pt__malloc(limit + 1);
	if (!e->s)
		return -ENOMEM;
	fd = pt__open_rd(path);
	if (fd < 0) {
		excerpt_free(e);
		return fd;
	}
	n = pt__read_full(fd, e->s, limit + 1);
	pt__close(fd);
	if (n < 0) {
		excerpt_free(e);
		return (int)n;
	}
	e->truncated = (size_t)n > limit;
	e->len = e->truncated ? limit : (size_t)n;
	return 0;
}

static int pre(struct pt_buf *b, const char *title, const struct excerpt *e)
{
	int r = pt__buf_adds(b, "<h4>");

	r = r ? r : adds_esc(b, title, ESC_XML_TEXT);
	r = r ? r
	      : pt__buf_addf(b, "%s</h4><pre>", e->truncated ? " (cut)" : "");
	r = r ? r : add_escaped(b, e->s, e->len, ESC_XML_TEXT);
	return r ? r : pt__buf_adds(b, "</pre>\n");
}

static int html(struct pt_buf *b, const struct pt_report_session *s,
		const struct pt_report_job *jobs, size_t n, size_t limit)
{
	size_t per[PT_OUTCOME_COUNT_] = { 0 };
	struct pt_buf msg = PT_BUF_INIT;
	const char *title = s->title ? s->title : s->id ? s->id : "proctor";
	struct counts c;
	char ts[32];
	int r;

	count(jobs, n, &c);
	for (size_t i = 0; i < n; i++) {
		unsigned o = (unsigned)jobs[i].result.outcome;
		per[o < PT_OUTCOME_COUNT_ ? o : 0]++;
	}
	iso_time(s->started_ns, ts, sizeof(ts));
	r = pt__buf_adds(b, html_head);
	r = r ? r : pt__buf_adds(b, "<title>proctor report: ");
	r = r ? r : adds_esc(b, title, ESC_XML_TEXT);
	r = r ? r : pt__buf_adds(b, "</title>\n</head>\n<body>\n<h1>");
	r = r ? r : adds_esc(b, title, ESC_XML_TEXT);
	r = r ? r : pt__buf_adds(b, "</h1>\n<p class=\"meta\">session <code>");
	r = r ? r : adds_esc(b, s->id ? s->id : "", ESC_XML_TEXT);
	r = r ? r
	      : pt__buf_addf(b,
			     "</code> &middot; seed %" PRIu64
			     " &middot; started %sZ &middot; %.3f s",
			     s->seed, ts, session_time(s, &c));
	if (!r && s->hostname) {
		r = pt__buf_adds(b, " &middot; host ");
		r = r ? r : adds_esc(b, s->hostname, ESC_XML_TEXT);
	}
	r = r ? r
	      : pt__buf_addf(b,
			     "</p>\n<h2>Summary</h2>\n<table id=\"summary\">"
			     "<tr><th>jobs</th><td>%zu</td></tr>",
			     n);
	for (int o = 1; o < PT_OUTCOME_COUNT_ && !r; o++)
		if (per[o])
			r = pt__buf_addf(b,
					 "<tr class=\"o-%s\"><th>%s</th>"
					 "<td>%zu</td></tr>",
					 pt_outcome_class((enum pt_outcome)o),
					 pt_outcome_name((enum pt_outcome)o),
					 per[o]);
	if (!r && per[PT_OUTCOME_NONE])
		r = pt__buf_addf(b,
				 "<tr class=\"o-none\"><th>not run</th>"
				 "<td>%zu</td></tr>",
				 per[PT_OUTCOME_NONE]);
	if (!r && c.flaky)
		r = pt__buf_addf(b,
				 "<tr><th><span class=\"flaky\">flaky</span>"
				 "</th><td>%zu</td></tr>",
				 c.flaky);
	r = r ? r : pt__buf_adds(b, "</table>\n<h2>Timeline</h2>\n");
	r = r ? r : timeline(b, jobs, n);
	r = r ? r
	      : pt__buf_adds(b, "<h2>Jobs</h2>\n<table id=\"jobs\"><tr>"
				"<th>#</th><th>job</th><th>outcome</th>"
				"<th>duration</th><th>attempt</th>"
				"<th>lane</th><th>reason</th></tr>\n");
	for (size_t i = 0; i < n && !r; i++) {
		const struct pt_report_job *j = &jobs[i];
		const struct pt_result *res = &j->result;

		r = pt__buf_addf(b,
				 "<tr class=\"o-%s\" id=\"job-%zu\"><td>%zu"
				 "</td><td><a href=\"#out-%zu\">",
				 pt_outcome_class(res->outcome), i + 1, i + 1,
				 i + 1);
		r = r ? r : adds_esc(b, j->id, ESC_XML_TEXT);
		r = r ? r : pt__buf_adds(b, "</a>");
		if (!r && j->summary) {
			r = pt__buf_adds(b, "<br><small>");
			r = r ? r : adds_esc(b, j->summary, ESC_XML_TEXT);
			r = r ? r : pt__buf_adds(b, "</small>");
		}
		r = r ? r
		      : pt__buf_addf(b, "</td><td>%s%s</td>",
				     res->outcome
					     ? pt_outcome_name(res->outcome)
					     : "not run",
				     res->flaky ? " <span class=\"flaky\">"
						  "flaky</span>"
						: "");
		if (!r && on_timeline(res))
			r = pt__buf_addf(b,
					 "<td>%.3f s</td><td>%u</td>"
					 "<td>%u</td><td>",
					 res->duration, res->attempt,
					 res->lane + 1);
		else if (!r)
			r = pt__buf_adds(b, "<td></td><td></td><td></td><td>");
		pt__buf_reset(&msg);
		if (res->outcome != PT_OUTCOME_PASS)
			outcome_message(res, &msg);
		if (!r && res->comments)
			r = adds_esc(b, res->comments, ESC_XML_TEXT);
		else if (!r && msg.len)
			r = adds_esc(b, msg.s, ESC_XML_TEXT);
		r = r ? r : pt__buf_adds(b, "</td></tr>\n");
	}
	r = r ? r : pt__buf_adds(b, "</table>\n<h2>Output</h2>\n");
	for (size_t i = 0; i < n && !r; i++) {
		const struct pt_report_job *j = &jobs[i];
		struct excerpt out, err;

		excerpt_read(j, PT_STREAM_STDOUT, limit, &out);
		excerpt_read(j, PT_STREAM_STDERR, limit, &err);
		if (out.len || err.len || j->n_attachments) {
			r = pt__buf_addf(b, "<details id=\"out-%zu\"><summary>",
					 i + 1);
			r = r ? r : adds_esc(b, j->id, ESC_XML_TEXT);
			r = r ? r : pt__buf_adds(b, "</summary>\n");
			if (!r && out.len)
				r = pre(b, "stdout", &out);
			if (!r && err.len)
				r = pre(b, "stderr", &err);
			for (size_t k = 0; k < j->n_attachments && !r; k++) {
				const struct pt_report_attachment *a =
					&j->attachments[k];
				struct excerpt at;

				pt__buf_reset(&msg);
				(void)!pt__buf_addf(&msg, "attachment %s",
						    a->name ? a->name : "");
				if (file_head(a->path, limit, &at) == 0) {
					r = pre(b, msg.s, &at);
					excerpt_free(&at);
				}
			}
			r = r ? r : pt__buf_adds(b, "</details>\n");
		}
		excerpt_free(&out);
		excerpt_free(&err);
	}
	r = r ? r : pt__buf_adds(b, "</body>\n</html>\n");
	pt__buf_release(&msg);
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
	case PT_REPORT_HTML:
		r = html(&b, s, jobs, n, excerpt_limit);
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
