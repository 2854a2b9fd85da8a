/*
 * proctor/unit.h - unit files (RFC822 "pxu"): jobs, templates, test plans,
 * categories, manifest entries; providers; template instantiation and
 * test-plan selection. Semantics: docs/plainbox.md §2.
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
	char checksum[65];       /* sha256 hex, as upstream (§2.3) */
	const struct pt_unit *unit; /* the raw unit; NULL for hand-built jobs */
	/* --- fields added by src/unit (after the contract fields) --- */
	const struct pt_job *sibling_of; /* parent of a sibling / after-suspend
					    job, NULL otherwise */
	size_t index;            /* position in pt_units_job() order */
	/* proctor: the budget field (pt_parse_budget); 0: none */
	double budget_time;      /* seconds */
	uint64_t budget_memory;  /* bytes of peak resident memory */
	/* proctor: the chaos field: "off" (no faults under --chaos), a
	 * fault plan of its own, or NULL (the run's) */
	const char *chaos;
};

/* ------------------------------------------------------------------ */
/* RFC822 records (docs/plainbox.md §2.1)                              */
/* ------------------------------------------------------------------ */

/* One "key: value" of a record. Strings are owned by the record list. */
struct pt_rfc822_field {
	const char *key;   /* as written, "_summary" keeps its underscore */
	const char *value; /* normalised: dot lines, dedent, strip */
	unsigned line;     /* line where the value starts (upstream offset) */
	/*
	 * YAML units: the value as Python's json.dumps writes it (lists,
	 * dicts, numbers, booleans; "null" for None, whose field reads as
	 * absent), the checksum's input. NULL for text values (all of pxu).
	 */
	const char *json;
};

/* A record: the fields in written order, with its origin. */
struct pt_rfc822_record {
	const char *file;     /* origin file name, "<input>" when unnamed */
	unsigned line_start;  /* line of the first key */
	unsigned line_end;    /* last line of the last value */
	size_t n;             /* number of fields */
	const struct pt_rfc822_field *fields;
};

/* Limits of the parser; a zero member means its default. */
struct pt_rfc822_limits {
	size_t max_line;    /* bytes per line (default 1 MiB) */
	size_t max_record;  /* bytes per record (default 16 MiB) */
	size_t max_records; /* records per input (default 10,000,000) */
};

#define PT_RFC822_MAX_LINE    ((size_t)1 << 20)
#define PT_RFC822_MAX_RECORD  ((size_t)16 << 20)
#define PT_RFC822_MAX_RECORDS ((size_t)10000000)

/* An ordered list of records (owns them). */
struct pt_records;

/*
 * Parses RFC822 text (the whole buffer). *ret always receives the list
 * when the function returns >= 0, even on a syntax error: the records
 * before the error are kept, and pt_records_error() tells the error (with
 * its line). When diags is not NULL the error is also added there as
 * "file:line: message". Returns the number of records, or -ENOMEM.
 * file may be NULL ("<input>"); lim may be NULL (defaults).
 */
PT_API int pt_rfc822_parse(const char *text, size_t len, const char *file,
			   const struct pt_rfc822_limits *lim,
			   struct pt_diags *diags, struct pt_records **ret);

/* Incremental parsing over arbitrary chunk boundaries. */
struct pt_rfc822_parser;

PT_API int pt_rfc822_parser_new(const char *file,
				const struct pt_rfc822_limits *lim,
				struct pt_rfc822_parser **ret);
/*
 * Feeds the next chunk. Returns 0, or the (sticky) error: PT_EPARSE,
 * PT_ETOOBIG or -ENOMEM; after an error further input is ignored.
 */
PT_API int pt_rfc822_feed(struct pt_rfc822_parser *p, const char *data,
			  size_t len);
/*
 * Ends the input (a last line without '\n' counts) and hands over the
 * records (same contract as pt_rfc822_parse). The parser is then spent.
 */
PT_API int pt_rfc822_finish(struct pt_rfc822_parser *p, struct pt_diags *diags,
			    struct pt_records **ret);
PT_API struct pt_rfc822_parser *
pt_rfc822_parser_free(struct pt_rfc822_parser *p);

PT_API size_t pt_records_count(const struct pt_records *r);
/* Borrowed; NULL when out of range. */
PT_API const struct pt_rfc822_record *pt_records_get(const struct pt_records *r,
						     size_t i);
/*
 * 0 when the whole input parsed, else PT_EPARSE / PT_ETOOBIG / -ENOMEM;
 * the line and message go to *ret_line / *ret_message when not NULL.
 */
PT_API int pt_records_error(const struct pt_records *r, unsigned *ret_line,
			    const char **ret_message);
PT_API struct pt_records *pt_records_free(struct pt_records *r);

/* The field named exactly key, or NULL. */
PT_API const struct pt_rfc822_field *
pt_rfc822_field(const struct pt_rfc822_record *rec, const char *key);
/* Upstream get_record_value: "_name" first, then "name"; NULL if absent. */
PT_API const char *pt_rfc822_value(const struct pt_rfc822_record *rec,
				   const char *name);

/* ------------------------------------------------------------------ */
/* Units and providers (docs/plainbox.md §2.1-2.7)                     */
/* ------------------------------------------------------------------ */

enum pt_unit_type {
	PT_UNIT_JOB = 0,
	PT_UNIT_TEMPLATE,
	PT_UNIT_TEST_PLAN,
	PT_UNIT_CATEGORY,
	PT_UNIT_MANIFEST_ENTRY,
	PT_UNIT_PACKAGING_META_DATA, /* parsed, otherwise ignored */
	PT_UNIT_EXPORTER,            /* parsed, otherwise ignored */
	PT_UNIT_SETUP_JOB, /* "setup job": listed as such, loaded as a job */
};

/* "job", "template", "test plan", ... */
PT_API const char *pt_unit_type_name(enum pt_unit_type t);
/* 0 and *ret, or PT_ENOTFOUND for an unknown name. */
PT_API int pt_unit_type_parse(const char *name, enum pt_unit_type *ret);

/* A unit as loaded. Owned by struct pt_units. */
struct pt_unit {
	enum pt_unit_type type;
	const char *id;         /* qualified id; NULL when the unit has none */
	const char *partial_id; /* id as written; NULL when none */
	const char *ns;         /* namespace, "" when none */
	const char *file;
	unsigned line;
	const struct pt_rfc822_record *record; /* the fields */
	const struct pt_job *job; /* PT_UNIT_JOB: its job; NULL otherwise */
	/* Template-generated units: the template and the parameters. */
	const struct pt_unit *template_unit;
	const struct pt_rfc822_record *params; /* with "__index__" */
	/* Generated units: the unrendered fields (the checksum's input);
	 * record holds the rendered values. NULL otherwise. */
	const struct pt_rfc822_record *raw_data;
};

/* Upstream get_record_value ("_name", then "name"); NULL when absent. */
PT_API const char *pt_unit_value(const struct pt_unit *u, const char *name);
/* Line of field name ("_name" or "name"), else the unit's line. */
PT_API unsigned pt_unit_field_line(const struct pt_unit *u, const char *name);

/* A collection of units from any number of files and providers. */
struct pt_units;

PT_API int pt_units_new(struct pt_units **ret);
PT_API struct pt_units *pt_units_free(struct pt_units *u);

/* Options of a load; NULL means all defaults. */
struct pt_load_options {
	/* Namespace of the units; NULL: the provider's manage.py, else none. */
	const char *ns;
	struct pt_rfc822_limits limits;
	size_t max_file;  /* bytes per file (default 64 MiB) */
	size_t max_units; /* units per collection (default 10,000,000) */
};

/*
 * Loads a unit file (*.pxu, *.txt, ...) or a provider directory (its
 * units/ and jobs/ trees, namespace from manage.py). Never stops at a bad
 * file: every problem goes to diags as file:line: message (diags may be
 * NULL). Returns the number of units added, or -ENOMEM.
 */
PT_API int pt_units_load_path(struct pt_units *u, const char *path,
			      const struct pt_load_options *opt,
			      struct pt_diags *diags);
/* The same for several paths (what `proctor validate/units/plan` take). */
PT_API int pt_units_load_paths(struct pt_units *u, size_t n,
			       const char *const *paths,
			       const struct pt_load_options *opt,
			       struct pt_diags *diags);
/*
 * Loads text as if it were a file named file: YAML when the name ends in
 * .yaml or .yml, RFC822 otherwise.
 */
PT_API int pt_units_load_buffer(struct pt_units *u, const char *text,
				size_t len, const char *file,
				const struct pt_load_options *opt,
				struct pt_diags *diags);

/* All units in load order (generated ones at the end). */
PT_API size_t pt_units_count(const struct pt_units *u);
PT_API const struct pt_unit *pt_units_get(const struct pt_units *u, size_t i);
/*
 * Jobs, in load order: each job unit, followed by its siblings and
 * after-suspend jobs (§2.4); template-generated jobs are appended as they
 * are made. Ids are unique (a duplicate is a diagnostic and is dropped;
 * an identical duplicate is dropped silently, as upstream).
 */
PT_API size_t pt_units_job_count(const struct pt_units *u);
PT_API const struct pt_job *pt_units_job(const struct pt_units *u, size_t i);
PT_API const struct pt_job *pt_units_find_job(const struct pt_units *u,
					      const char *id);
/* A unit of type t by qualified id (test plans, templates, ...). */
PT_API const struct pt_unit *pt_units_find(const struct pt_units *u,
					   enum pt_unit_type t, const char *id);

/*
 * A test plan by qualified id, or by partial id when exactly one plan has
 * that partial id (what users type: `-p smoke`). NULL when none or when
 * the partial id is ambiguous.
 */
PT_API const struct pt_unit *pt_units_find_plan(const struct pt_units *u,
						const char *id);

/* Qualifies id with ns ("ns::id") unless it has "::" or ns is "". */
PT_API const char *pt_units_qualify(struct pt_units *u, const char *ns,
				    const char *id);

/*
 * Checksum of a unit's data as upstream (§2.3): sha256 of the sorted JSON
 * of the fields, plus "namespace", plus the parameters for generated
 * units. out gets 64 hex digits and a NUL.
 */
PT_API int pt_unit_checksum(const struct pt_unit *u, char out[65]);

/* Parses an estimated_duration / timeout value; -1 when unparsable. */
PT_API double pt_parse_duration(const char *text);

/*
 * Parses a budget ("2s 64M", "500ms", "1.5G"): white-space separated
 * words, at most one duration (a number with ms, s, m or h) and at most
 * one memory size (K, M, G or KiB, MiB, GiB: powers of 1024), each > 0.
 * *secs and *bytes get them (0 for the one absent); PT_EPARSE otherwise.
 */
PT_API int pt_parse_budget(const char *text, double *secs, uint64_t *bytes);

/* ------------------------------------------------------------------ */
/* Test plans (docs/plainbox.md §2.6)                                  */
/* ------------------------------------------------------------------ */

/* An override of a job field for the jobs a pattern matches. */
struct pt_plan_override {
	const char *pattern; /* anchored, qualified regex (PCRE2) */
	const char *field;   /* category_id, certification_status, auto_retry */
	const char *value;
};

/*
 * What a test plan selects among a list of jobs. Owned by the caller
 * (pt_plan_selection_free); the strings and arrays it points to live in
 * the struct pt_units and stay valid until pt_units_free(). Bootstrap and
 * setup ids are those of existing jobs only; desired excludes bootstrap
 * jobs (as upstream). The caller runs bootstrap jobs, instantiates
 * templates, then calls pt_plan_select() again over all jobs.
 */
struct pt_plan_selection {
	struct pt_strlist desired;   /* qualified ids, in selection order */
	struct pt_strlist mandatory; /* mandatory_include (+ nested parts) */
	struct pt_strlist bootstrap; /* bootstrap_include, in order */
	struct pt_strlist setup;     /* setup_include, in order */
	size_t n_overrides;          /* in application order: later wins */
	const struct pt_plan_override *overrides;
};

/*
 * Selects for test plan plan_id (qualified) among jobs[0..n) (NULL: every
 * job of u), with select_units' order (first including qualifier, then job
 * order; any exclude removes). Problems (bad patterns, unknown nested
 * parts, nesting cycles) go to diags. Returns 0, PT_ENOTFOUND (no such
 * plan) or -ENOMEM. Not thread-safe with other calls on the same u (it
 * interns strings into u).
 */
PT_API int pt_plan_select(const struct pt_units *u, const char *plan_id,
			  const struct pt_job *const *jobs, size_t n,
			  struct pt_diags *diags,
			  struct pt_plan_selection **ret);
PT_API struct pt_plan_selection *
pt_plan_selection_free(struct pt_plan_selection *s);
/*
 * The value of field (category_id, certification_status, auto_retry) for
 * job after the plan's overrides; the job's own value when none applies.
 */
PT_API const char *pt_plan_effective(const struct pt_plan_selection *s,
				     const struct pt_job *job,
				     const char *field);

/* One parsed include line (for tools and the fuzz target). */
struct pt_include_line {
	const char *pattern;   /* qualified: fixed id or anchored regex */
	bool is_regex;
	size_t n_overrides;
	const struct pt_plan_override *overrides;
};

/*
 * Parses one include line "PATTERN [field=value[, field=value]*]" ('#'
 * starts a comment) with namespace ns. Returns 1 (a pattern in *ret), 0
 * (a blank or comment line), or PT_EPARSE with *ret_error set to a static
 * message. Strings live in the arena of u (valid until pt_units_free).
 */
PT_API int pt_include_parse(struct pt_units *u, const char *line,
			    const char *ns, struct pt_include_line *ret,
			    const char **ret_error);

/* ------------------------------------------------------------------ */
/* Templates (docs/plainbox.md §2.5)                                   */
/* ------------------------------------------------------------------ */

/* The template-* fields of a template unit (qualified where ids). */
struct pt_template_info {
	const char *resource; /* template-resource, qualified via imports */
	const char *filter;   /* template-filter program text, or NULL */
	const char *unit;     /* template-unit, default "job" */
	const char *engine;   /* template-engine, default "default" */
	const char *id;       /* template-id (default: from the partial id) */
	const char *imports;  /* template-imports text, or NULL */
};

PT_API int pt_template_info(struct pt_units *u, const struct pt_unit *tpl,
			    struct pt_template_info *ret);

/*
 * The parameter names the template's fields reference (what upstream
 * keeps in a generated unit's parameters, besides __index__), in first
 * use order. Useful to make fake resources. Strings owned by u.
 */
PT_API int pt_template_params(struct pt_units *u, const struct pt_unit *tpl,
			      struct pt_strlist *ret);

/*
 * What jinja2 fields see besides the parameters (docs/plainbox.md §2.5):
 * __checkbox_env__ (launcher environment section), __system_env__
 * (os.environ) and __on_ubuntucore__. The library reads no environment
 * itself: by default both are empty and __on_ubuntucore__ is false.
 * Borrowed: env and its records must outlive u (or a later call).
 */
struct pt_jinja_env {
	const struct pt_rfc822_record *checkbox_env;
	const struct pt_rfc822_record *system_env;
	bool on_ubuntucore;
};

PT_API void pt_units_set_jinja_env(struct pt_units *u,
				   const struct pt_jinja_env *env);

/*
 * Instantiates template tpl once per record of recs[0..n) (the records
 * that passed template-filter, evaluated by the caller); indexes[i] is
 * the record's __index__ (NULL: i + 1). New units (and their jobs, with
 * template_id set and siblings) are appended to u. A record that cannot
 * be rendered is a diagnostic and is skipped. Engines: "default"
 * (str.format) and "jinja2" (the subset in docs/unit.md); an unknown
 * engine, a template-unit other than job or a jinja2 syntax error is one
 * diagnostic for the template (nothing generated). Returns the number of
 * jobs added (0 included), or -ENOMEM / -EINVAL only.
 */
PT_API int pt_template_instantiate(struct pt_units *u,
				   const struct pt_unit *tpl,
				   const struct pt_rfc822_record *const *recs,
				   const unsigned *indexes, size_t n,
				   struct pt_diags *diags);

/*
 * Renders text with the default engine (Python str.format with named
 * fields). Returns the string (arena of u) or NULL with *ret_error
 * naming the problem.
 */
PT_API const char *pt_template_format(struct pt_units *u, const char *text,
				      const struct pt_rfc822_record *params,
				      unsigned index, const char **ret_error);
/* ------------------------------------------------------------------ */
/* Providers                                                           */
/* ------------------------------------------------------------------ */

/*
 * A provider the loader met: a directory with units/ or jobs/ (its
 * manage.py gives name, namespace and gettext domain), or a definition
 * file "*.provider" (INI, section [PlainBox Provider]: name, namespace,
 * version, gettext_domain, location, units_dir, jobs_dir, data_dir,
 * bin_dir, locale_dir, relocatable). Directories are absolute; one that
 * does not exist is NULL (as PlainBox's effective_*_dir). Owned by the
 * struct pt_units.
 */
struct pt_provider {
	const char *name;	    /* as written; NULL when manage.py has none */
	const char *ns;		    /* namespace, "" when none */
	const char *version;	    /* NULL when not given */
	const char *gettext_domain; /* NULL when not given */
	const char *base_dir;	    /* location (CHECKBOX_SHARE); NULL */
	const char *units_dir;
	const char *jobs_dir;
	const char *data_dir;
	const char *bin_dir;
	const char *locale_dir; /* locale/, else build/mo/ */
	const char *definition; /* the .provider file; NULL for a directory */
	bool manage_py;		/* the directory has a manage.py */
};

/* Providers in load order (a directory loaded twice counts once). */
PT_API size_t pt_units_provider_count(const struct pt_units *u);
PT_API const struct pt_provider *pt_units_provider(const struct pt_units *u,
						   size_t i);
/*
 * The provider whose units_dir or jobs_dir holds the job's file (jobs
 * generated from a template: the template's); NULL when none.
 */
PT_API const struct pt_provider *
pt_units_job_provider(const struct pt_units *u, const struct pt_job *job);

/*
 * Whether u holds Checkbox providers (a provider with a manage.py, or
 * one from a .provider file): their jobs were written to run one at a
 * time, so a run of them is serial unless asked otherwise.
 */
PT_API bool pt_units_have_checkbox_providers(const struct pt_units *u);

/*
 * The directories PlainBox searches for *.provider files: the entries of
 * providerpath (the value of $PROVIDERPATH, ':'-separated, empty entries
 * skipped) when it is not NULL; else /usr/local/share/plainbox-providers-1,
 * /usr/share/plainbox-providers-1, $XDG_DATA_HOME/plainbox-providers-1
 * (xdg_data_home NULL or "": home + "/.local/share") and
 * /var/tmp/checkbox-providers-develop. *ret is one heap block (free with
 * pt_free()) holding *ret_n strings and a NULL. 0 or -ENOMEM.
 */
PT_API int pt_providerpath_dirs(const char *providerpath,
				const char *xdg_data_home, const char *home,
				char ***ret, size_t *ret_n);

/* ------------------------------------------------------------------ */
/* Manifest (manifest entry units, the manifest resource)              */
/* ------------------------------------------------------------------ */

/*
 * Manifest answers: entry id ("ns::has_usb") -> value, as checkbox-cli
 * keeps them in its manifest file. Owned by the caller.
 */
struct pt_manifest;

PT_API int pt_manifest_new(struct pt_manifest **ret);
PT_API struct pt_manifest *pt_manifest_free(struct pt_manifest *m);
/*
 * Reads a manifest file as checkbox-cli writes it: a JSON object of entry
 * ids to true/false or a natural number. Entries add to (replace) what m
 * has. Errors are one diagnostic naming the file (and the line or the
 * entry): PT_EPARSE, a read error (-errno), PT_ETOOBIG (over 100,000
 * entries or 4 MiB), or -ENOMEM. m keeps the entries read before an error.
 */
PT_API int pt_manifest_load(struct pt_manifest *m, const char *path,
			    struct pt_diags *diags);
/*
 * Sets one answer from text, as a launcher's [manifest] section gives it:
 * true/yes/on, false/no/off (any case) or a natural number (for a bool
 * entry, 1 and 0 read as True and False). 0, PT_EPARSE (other text),
 * PT_ETOOBIG, -EINVAL or -ENOMEM.
 */
PT_API int pt_manifest_set(struct pt_manifest *m, const char *id,
			   const char *text);
/* The answer ("True", "False", "12"), or NULL when unset. */
PT_API const char *pt_manifest_get(const struct pt_manifest *m, const char *id);
PT_API size_t pt_manifest_count(const struct pt_manifest *m);
/*
 * What com.canonical.plainbox::manifest prints (plainbox-manifest-
 * resource) for the manifest entry units of u and the answers m (NULL:
 * none): one RFC822 record per namespace that has entries, "ns: NS" then
 * "resource-key: value" for each entry in load order, an unset entry
 * showing its default ("False" for bool, "0" for natural). *ret is the
 * caller's (pt_free); *ret_len may be NULL. 0, -EINVAL or -ENOMEM.
 */
PT_API int pt_manifest_resource(const struct pt_units *u,
				const struct pt_manifest *m, char **ret,
				size_t *ret_len);

#ifdef __cplusplus
}
#endif

#endif
