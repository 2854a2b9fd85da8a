/*
 * proctor/unit.h - unit files (RFC822 "pxu"): jobs, templates, test plans,
 * categories, manifest entries; providers; template instantiation and
 * test-plan selection. Semantics: spec/plainbox.md §2.
 *
 * CONTRACT NOTE (shared by src/unit and src/session): struct pt_job is a
 * plain, read-only view that the session engine consumes. Its fields are
 * fixed here; src/unit fills them, src/session reads them, and tests may
 * build them by hand. Add functions freely; change the struct only with
 * both sides updated.
 *
 * Ownership: a struct pt_units owns every unit, job, string and list it
 * hands out; they stay valid until pt_units_free() (adding units never
 * moves existing ones).
 */
#ifndef PROCTOR_UNIT_H
#define PROCTOR_UNIT_H

#include <proctor/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A borrowed list of strings. */
struct pt_strlist {
	size_t n;
	const char *const *v;
};

enum pt_plugin {
	PT_PLUGIN_SHELL = 0,
	PT_PLUGIN_RESOURCE,
	PT_PLUGIN_ATTACHMENT,
	PT_PLUGIN_MANUAL,
	PT_PLUGIN_USER_INTERACT,
	PT_PLUGIN_USER_VERIFY,
	PT_PLUGIN_USER_INTERACT_VERIFY,
};

/* Job flags (the `flags:` field); unknown flags are kept in flag_list. */
enum pt_job_flag {
	PT_JOB_NORETURN = 1u << 0,
	PT_JOB_AUTORESTART = 1u << 1,
	PT_JOB_PRESERVE_LOCALE = 1u << 2,
	PT_JOB_RESET_LOCALE = 1u << 3,
	PT_JOB_PRESERVE_CWD = 1u << 4,
	PT_JOB_HAS_LEFTOVERS = 1u << 5,
	PT_JOB_SIMPLE = 1u << 6,
	PT_JOB_FAIL_ON_RESOURCE = 1u << 7,
	PT_JOB_ALSO_AFTER_SUSPEND = 1u << 8,
	PT_JOB_ALSO_AFTER_SUSPEND_MANUAL = 1u << 9,
	PT_JOB_CACHABLE = 1u << 10,
	PT_JOB_EXPLICIT_FAIL = 1u << 11,
	PT_JOB_USE_CHUNKED_IO = 1u << 12,
};

struct pt_unit;

/* A job definition (also the jobs generated from templates and siblings). */
struct pt_job {
	const char *id;          /* qualified "ns::partial" (or as written) */
	const char *partial_id;  /* the id as written in the unit */
	const char *ns;          /* provider namespace, "" when none */
	const char *summary;     /* NULL when absent */
	const char *description; /* NULL when absent (or synthesised) */
	const char *command;     /* NULL when none */
	const char *shell;       /* "bash" unless set */
	const char *user;        /* NULL or "root" */
	enum pt_plugin plugin;
	unsigned flags;          /* enum pt_job_flag bits */
	struct pt_strlist flag_list;  /* every flag as written */
	struct pt_strlist depends;    /* qualified ids, in written order */
	struct pt_strlist after;
	struct pt_strlist before;
	struct pt_strlist salvages;
	struct pt_strlist environ;    /* variable names */
	struct pt_strlist locks;      /* proctor: mutual-exclusion names */
	const char *requires;    /* resource program text; NULL when none */
	const char *imports;     /* the imports field text; NULL when none */
	const char *group;       /* NULL when none */
	const char *category_id; /* default com.canonical.plainbox::uncategorised */
	const char *certification_status; /* "non-blocker" unless set */
	const char *auto_retry;  /* "unspecified" unless set */
	double estimated_duration; /* seconds; < 0 when unknown */
	double timeout;          /* proctor: seconds; < 0 when unset */
	const char *template_id; /* the template it came from, or NULL */
	const char *file;        /* origin file */
	unsigned line;           /* origin line of the unit's first field */
	char checksum[65];       /* sha256 hex, as upstream (spec §2.3) */
	const struct pt_unit *unit; /* the raw unit; NULL for hand-built jobs */
};

/* The qualified id of a job depends on the namespace (spec §2.2). */

#ifdef __cplusplus
}
#endif

#endif
