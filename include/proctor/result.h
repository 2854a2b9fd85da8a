/*
 * proctor/result.h - job outcomes and results, shared by the session
 * engine, the store and the runner (docs/plainbox.md §3.9).
 */
#ifndef PROCTOR_RESULT_H
#define PROCTOR_RESULT_H

#include <proctor/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Outcomes; the string forms are PlainBox's (pt_outcome_name). */
enum pt_outcome {
	PT_OUTCOME_NONE = 0,           /* did not run (yet) */
	PT_OUTCOME_PASS,               /* "pass" */
	PT_OUTCOME_FAIL,               /* "fail" */
	PT_OUTCOME_SKIP,               /* "skip" (manual skip) */
	PT_OUTCOME_SKIPPED_DEPENDENCY, /* "skipped-dependency" */
	PT_OUTCOME_SKIPPED_RESOURCE,   /* "skipped-resource" */
	PT_OUTCOME_SKIPPED_MANIFEST,   /* "skipped-manifest" */
	PT_OUTCOME_NOT_SUPPORTED,      /* "not-supported" */
	PT_OUTCOME_NOT_IMPLEMENTED,    /* "not-implemented" */
	PT_OUTCOME_UNDECIDED,          /* "undecided" */
	PT_OUTCOME_CRASH,              /* "crash" */
	PT_OUTCOME_TIMEOUT,            /* "timeout": proctor's own (docs/) */
	PT_OUTCOME_COUNT_
};

/* "pass", "skipped-dependency", ...; "none" for PT_OUTCOME_NONE. */
PT_API const char *pt_outcome_name(enum pt_outcome o);
/* Inverse of pt_outcome_name; PT_EPARSE for an unknown name. */
PT_API int pt_outcome_parse(const char *name, enum pt_outcome *ret);
/* Hexr/CI mapping: "pass", "fail", "skip" or "none". */
PT_API const char *pt_outcome_class(enum pt_outcome o);

/*
 * A job's result. Strings are borrowed from whoever hands the struct out
 * (the store or the session); copy what must outlive it.
 */
struct pt_result {
	enum pt_outcome outcome;
	int return_code;         /* exit code; -signal when killed; 0 if none */
	double duration;         /* seconds of execution; < 0 when unknown */
	const char *comments;    /* NULL when none */
	const char *io_log;      /* path of the io log, relative to the session */
	unsigned attempt;        /* 1 for the first run, 2 for a retry ... */
	int64_t started_ns;      /* wall clock at start (ns since epoch), 0 */
	unsigned lane;           /* the executor lane (slot) it ran in, from
				    0; 0 when it did not run */
	bool flaky;              /* passed only after failed attempts
				    (--retries): reports mark it flaky */
};

#ifdef __cplusplus
}
#endif

#endif
