/*
 * unit/internal.h - what the files of src/unit share.
 */
#ifndef PT_UNIT_INTERNAL_H
#define PT_UNIT_INTERNAL_H

#include <proctor/unit.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/map.h"
#include "base/vec.h"

/* Python's str.isspace() for ASCII (includes \x1c-\x1f). */
bool pt__py_space(int c);
/* normalize_rfc822_value of s[0..n) into out (n + 1 bytes); the length. */
size_t pt__rfc822_normalize(const char *s, size_t n, char *out);

struct pt_units {
	struct pt_arena arena;           /* units, jobs, lists, strings */
	PT_VEC(struct pt_records *) files; /* the records of each input */
	PT_VEC(struct pt_unit *) units;
	PT_VEC(struct pt_job *) jobs;
	struct pt_map job_by_id;         /* id -> struct pt_job * */
	struct pt_map plan_by_id;        /* id -> struct pt_unit * */
	struct pt_map template_by_id;    /* id -> struct pt_unit * */
	struct pt_map intern;            /* string -> the same string */
	size_t max_units;
	struct pt_jinja_env jenv;        /* for jinja2 fields */
	PT_VEC(struct pt__provider *) providers; /* unit/provider.c */
};

/*
 * Renders a jinja2 text (the subset of unit/jinja.c). With out == NULL,
 * only reports the undeclared names through name_cb. 0, or PT_ETEMPLATE
 * with the message in err.
 */
int pt__jinja_render(struct pt_units *u, const char *text,
		     const struct pt_jinja_env *env,
		     const struct pt_rfc822_record *params, const char *index,
		     struct pt_buf *out, struct pt_buf *err,
		     void (*name_cb)(void *, const char *, size_t),
		     void *cb_ctx);

/* The interned copy of s[0..n); NULL on allocation failure. */
const char *pt__units_intern(struct pt_units *u, const char *s, size_t n);

/*
 * Adds a job unit made from rec (owned by u's arena or a file's records)
 * with namespace ns; also its siblings. tpl/params/raw: template origin
 * (raw: the unrendered fields, for the checksum). Returns the number of
 * jobs added (0 when dropped as duplicate) or -ENOMEM.
 */
int pt__units_add_job_unit(struct pt_units *u,
			   const struct pt_rfc822_record *rec,
			   const struct pt_rfc822_record *raw, const char *ns,
			   const struct pt_unit *tpl,
			   const struct pt_rfc822_record *params,
			   struct pt_diags *d);

/* A record copy in u's arena with n fields (filled by the caller). */
struct pt_rfc822_record *pt__units_new_record(struct pt_units *u,
					      const struct pt_rfc822_record *like,
					      size_t n,
					      struct pt_rfc822_field **ret_f);

/*
 * Renders each field of raw with the default engine and params; 0, or
 * PT_ETEMPLATE with the field in *ret_field and the message in err.
 */
int pt__render_record(struct pt_units *u, const struct pt_rfc822_record *raw,
		      const struct pt_rfc822_record *params,
		      struct pt_rfc822_record **ret, const char **ret_field,
		      struct pt_buf *err);

/* A provider and the directory prefixes its unit files are loaded with. */
struct pt__provider {
	struct pt_provider pub;
	const char *match[2]; /* units and jobs dirs as loaded; NULL: none */
};

/*
 * Records the provider of source directory dir (as given to the loader)
 * with namespace ns. 0 or -ENOMEM.
 */
int pt__units_add_provider(struct pt_units *u, const char *dir,
			   const char *ns);
/*
 * Reads a unit or definition file (at most limit bytes): 1 and the text,
 * 0 when it cannot be read (a diagnostic "cannot read: ..." in d), or
 * -ENOMEM.
 */
int pt__units_read(const char *path, size_t limit, struct pt_diags *d,
		   char **ret, size_t *ret_len);
/* manage.py's setup() keyword key (a quoted string) in dir; NULL if none. */
char *pt__manage_py_value(const char *dir, const char *key);
/* Loads a *.provider definition file and the units it names. */
int pt__units_load_provider_file(struct pt_units *u, const char *path,
				 const struct pt_load_options *opt,
				 struct pt_diags *d);
/*
 * Loads the unit trees units_dir (modern) and jobs_dir (legacy); NULLs
 * are skipped. The number of units added or -ENOMEM.
 */
int pt__units_load_trees(struct pt_units *u, const char *units_dir,
			 const char *jobs_dir, const char *ns,
			 const struct pt_load_options *opt, struct pt_diags *d);

/*
 * Appends s as Python's json.dumps(ensure_ascii=True) writes a string.
 * 0 or -ENOMEM.
 */
int pt__py_json_str(struct pt_buf *b, const char *s);

/* A YAML null field (None upstream): present for the checksum only. */
static inline bool pt__field_null(const struct pt_rfc822_field *f)
{
	return f->json && f->json[0] == 'n';
}

/*
 * Parses YAML unit text (unit/yaml.c): one record per document, in u's
 * arena, to *ret / *ret_n. An error is one diagnostic (file:line) and
 * PT_EPARSE: nothing of the file is kept. -ENOMEM.
 */
int pt__yaml_records(struct pt_units *u, const char *text, size_t len,
		     const char *file, const struct pt_rfc822_limits *lim,
		     struct pt_diags *d, const struct pt_rfc822_record **ret,
		     size_t *ret_n);

/*
 * Splits a list of words (whitespace/comma separated, "quoted" words).
 * With qualify (id lists: upstream's WordList), the words are qualified
 * with ns, '#' starts a comment that runs to the end of the line, '='
 * separates, and an unterminated quote ends the list; without (flags,
 * environ: re.split), every other character belongs to a word.
 */
int pt__wordlist(struct pt_units *u, const char *text, const char *ns,
		 bool qualify, struct pt_strlist *ret);

#endif
