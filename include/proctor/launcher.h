/*
 * proctor/launcher.h - Checkbox launcher files (`checkbox-cli launcher
 * FILE`, `proctor run --launcher FILE`): an INI file read with the rules
 * of Python's configparser as Checkbox configures it (keys keep their
 * case, only '=' separates, '#'/';' comment lines, indented
 * continuation lines, "%%" for '%').
 *
 * Understood (docs/checkbox.md has the table): [launcher]
 * launcher_version (1), app_id, app_version, stock_reports,
 * session_title, session_desc, local_submission; [test plan] unit,
 * forced, filter; [test selection] forced, exclude, match; [ui] type
 * (interactive or silent), output, verbosity, dont_suppress_output,
 * auto_retry, max_attempts, delay_before_retry; [agent] normal_user
 * ([daemon] is its old name); [environment] any NAME; [manifest] any id;
 * [transport:NAME] type (file or stream), path, stream; [exporter:NAME]
 * unit, options; [report:NAME] exporter, transport, forced; [features]
 * strict_template_expansion. List values are split as Checkbox splits
 * them: commas are spaces, then shell-like words.
 *
 * Everything else is an error naming file:line and the key, so that a
 * launcher never runs with part of it ignored: an unknown section or key,
 * a key proctor does not implement ([restart] strategy, [config],
 * systemd_based_job_runner, a submission-service transport, the
 * xlsx/tp-export exporters, [DEFAULT]), a bad boolean or number, a
 * report naming a transport or exporter that is not defined.
 */
#ifndef PROCTOR_LAUNCHER_H
#define PROCTOR_LAUNCHER_H

#include <proctor/common.h>
#include <proctor/unit.h>

#ifdef __cplusplus
extern "C" {
#endif

enum pt_launcher_ui {
	PT_LAUNCHER_UI_INTERACTIVE = 0,
	PT_LAUNCHER_UI_SILENT,
};

/* A [manifest] or [environment] entry. */
struct pt_launcher_kv {
	const char *key;
	const char *value;
	unsigned line;
};

/* A [report:NAME] with its exporter and transport resolved. */
struct pt_launcher_report {
	const char *name;
	const char *exporter;	    /* exporter unit id, qualified
				       ("com.canonical.plainbox::tar") */
	const char *transport_type; /* "file" or "stream" */
	const char *path;	    /* file: the path (as written) */
	const char *stream;	    /* stream: "stdout" or "stderr" */
	bool forced;
	unsigned line;
};

struct pt_launcher {
	const char *file;
	unsigned version;		 /* launcher_version */
	const char *app_id;		 /* default "checkbox-cli" */
	const char *app_version;	 /* default "" */
	const char *session_title;	 /* default "session title" */
	const char *session_desc;	 /* default "" */
	struct pt_strlist stock_reports; /* default text, certification,
					    submission_files */
	const char *test_plan;		 /* [test plan] unit; NULL when none */
	bool test_plan_forced;
	struct pt_strlist test_plan_filter; /* default "*" */
	bool selection_forced;
	struct pt_strlist exclude; /* [test selection] exclude: patterns */
	struct pt_strlist match;   /* [test selection] match: patterns */
	enum pt_launcher_ui ui;
	bool auto_retry;
	unsigned max_attempts;		/* default 3 */
	unsigned delay_before_retry;	/* s, default 1 */
	const char *normal_user;	/* [agent] normal_user; NULL: none */
	bool strict_template_expansion; /* default true */
	size_t n_environment;
	const struct pt_launcher_kv *environment;
	size_t n_manifest;
	const struct pt_launcher_kv *manifest;
	size_t n_reports;
	const struct pt_launcher_report *reports;
	const char *text; /* the whole file, as read (for the submission) */
};

/* Upper bound on a launcher file. */
#define PT_LAUNCHER_MAX ((size_t)1 << 20)

/*
 * Parses a launcher. Every problem goes to diags (file:line, the key as
 * the field). Returns 0 with *ret (free with pt_launcher_free), PT_EPARSE
 * when there were problems (*ret untouched), PT_ETOOBIG or -ENOMEM.
 */
PT_API int pt_launcher_parse(const char *text, size_t len, const char *file,
			     struct pt_diags *diags, struct pt_launcher **ret);
/* Reads and parses path; -errno when it cannot be read (also in diags). */
PT_API int pt_launcher_load(const char *path, struct pt_diags *diags,
			    struct pt_launcher **ret);
PT_API struct pt_launcher *pt_launcher_free(struct pt_launcher *l);

#ifdef __cplusplus
}
#endif

#endif
