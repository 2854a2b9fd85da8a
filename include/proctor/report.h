/*
 * proctor/report.h - session reports for CI systems: JUnit XML, TAP 14
 * and JSON, rendered from a list of job results (docs/runner.md).
 *
 * JUnit follows the common Jenkins/Ant schema (one <testsuites> holding
 * one <testsuite> per session): fail and timeout are <failure>, crash is
 * <error>, every skip outcome and "not run" is <skipped>. Test cases are
 * named by the partial id, classed by the namespace.
 *
 * TAP 14: one test point per job in the given order; pass is "ok", fail,
 * crash and timeout are "not ok" with a YAML block (outcome, return code,
 * duration, attempt, comments, output excerpts), skips and jobs that did
 * not run are "ok ... # SKIP <outcome>[: comments]". PT_REPORT_TAP13 is
 * the same document with a "TAP version 13" line, for harnesses that do
 * not know 14 yet (prove 3.44 of Debian 12 rejects "version 14").
 *
 * HTML is one page with nothing to fetch (inline style, no script, a
 * Content-Security-Policy that forbids any load): the summary, a timeline
 * (an SVG with one row per lane, each job that ran a bar from its start
 * for its duration, failures in red and marked), and per job its outcome,
 * duration, attempt, lane, reason (comments or inhibitors), output
 * excerpts and attachments.
 *
 * JSON carries every field: session (id, title, seed, start, duration,
 * hostname), counts per outcome, and per job id, summary, outcome, class,
 * return code, duration, attempt, comments, start, io log path, and the
 * stdout/stderr excerpts with their truncation flags.
 *
 * Output excerpts are read from each job's io log (pt_iolog_read): the
 * last `excerpt_limit` bytes per stream. Bytes that are not valid UTF-8
 * (and, in XML, characters XML 1.0 forbids) become U+FFFD.
 */
#ifndef PROCTOR_REPORT_H
#define PROCTOR_REPORT_H

#include <proctor/common.h>
#include <proctor/result.h>

#ifdef __cplusplus
extern "C" {
#endif

enum pt_report_format {
	PT_REPORT_JUNIT = 0,
	PT_REPORT_TAP,	 /* TAP version 14 */
	PT_REPORT_TAP13, /* the same with "TAP version 13" */
	PT_REPORT_JSON,
	PT_REPORT_HTML, /* one self-contained page (docs/run.md) */
};

/* "junit", "tap", "tap13", "json", "html" -> format; PT_EPARSE otherwise. */
PT_API int pt_report_format_parse(const char *name, enum pt_report_format *ret);
PT_API const char *pt_report_format_name(enum pt_report_format f);

/* What the report says about the session. Strings may be NULL. */
struct pt_report_session {
	const char *id;
	const char *title;
	uint64_t seed;
	int64_t started_ns; /* wall clock, ns since the epoch; 0: unknown */
	double duration;    /* seconds; < 0: sum of the jobs' durations */
	const char *hostname;
};

/* A file a job attached (HTML shows its first excerpt_limit bytes). */
struct pt_report_attachment {
	const char *name; /* "stdout" */
	const char *path; /* the file */
};

/* One job. Strings are borrowed for the call. */
struct pt_report_job {
	const char *id;		 /* qualified id ("ns::partial") */
	const char *summary;	 /* NULL when none */
	struct pt_result result; /* outcome NONE: did not run */
	const char *io_log_path; /* file to read excerpts from; NULL: none */
	const struct pt_report_attachment *attachments; /* may be NULL */
	size_t n_attachments;
	const char *category; /* category id; NULL when none */
};

/* Default bytes kept per stream and job. */
#define PT_REPORT_EXCERPT_DEFAULT (64 * 1024)

/*
 * Renders a report into a NUL-terminated heap string (free with
 * pt_free()). excerpt_limit 0 means PT_REPORT_EXCERPT_DEFAULT. A missing
 * or damaged io log gives no excerpt (the report is still written).
 * Returns 0, -EINVAL or -ENOMEM.
 */
PT_API int pt_report_render(enum pt_report_format f,
			    const struct pt_report_session *s,
			    const struct pt_report_job *jobs, size_t n,
			    size_t excerpt_limit, char **ret, size_t *ret_len);

/*
 * Writes a rendered report to path (mode 0644 before the umask),
 * atomically: a reader sees the old file or the whole new one, and a
 * symlink planted at path or beside it is replaced, never followed.
 * Returns 0 or -errno.
 */
PT_API int pt_report_write(const char *path, const char *text, size_t len);

#ifdef __cplusplus
}
#endif

#endif
