/*
 * session/expr.h - resource programs: the `requires` and `template-filter`
 * fields (docs/plainbox.md §5, design note docs/expr.md).
 *
 * A program is one expression per non-empty line; every expression must
 * hold. An expression is a small, whitelisted subset of Python: names,
 * attribute access, str/int/float/True/False/None constants, comparisons
 * (chained, in, not in, is, is not), and/or/not, lists, tuples, and calls
 * of len/bool/int/float. Every bare name is a resource alias; an
 * expression holds when some tuple of the cartesian product of its
 * resources' record lists makes it true.
 *
 * Parse once (pt__expr_prog_new), evaluate many times (pt__expr_prog_eval):
 * evaluation allocates nothing and reads the resource map through a
 * callback, so the session engine keeps its own storage.
 *
 * Typical use by the session engine:
 *
 *	struct pt_expr_imports *imps = NULL;
 *	struct pt_expr_prog *prog = NULL;
 *	struct pt_expr_error err;
 *	if (pt__expr_imports_parse(imports_text, &imps, &err) < 0) ...
 *	struct pt_expr_opts o = { .mode = PT_EXPR_COMPAT, .ns = "com.x",
 *				  .imports = imps };
 *	if (pt__expr_prog_new(requires_text, &o, &prog, &err) < 0)
 *		report(err.line, err.column, err.message);
 *	struct pt_expr_result r;
 *	pt__expr_prog_eval(prog, lookup, session, &r);
 *	switch (r.status) {
 *	case PT_EXPR_PASS: no inhibitor.
 *	case PT_EXPR_CANNOT_EVALUATE: PENDING_RESOURCE for the ids of
 *		expression r.expr (pt__expr_prog_ids) whose job did not pass.
 *	case PT_EXPR_FAIL:
 *	case PT_EXPR_ERROR: FAILED_RESOURCE for each id of expression r.expr.
 *	}
 *
 * template-filter is the same program evaluated per record:
 * pt__expr_prog_eval_one().
 *
 * Thread-safety: a program is immutable after pt__expr_prog_new; any
 * number of threads may evaluate it at once.
 */
#ifndef PT_SESSION_EXPR_H
#define PT_SESSION_EXPR_H

#include <stdbool.h>
#include <stddef.h>

/* Limits; exceeding one is an error of kind PT_EXPR_ERR_LIMIT. */
#define PT_EXPR_MAX_TEXT      (64 * 1024) /* bytes of a whole program */
#define PT_EXPR_MAX_LINE      4096	  /* bytes of one expression */
#define PT_EXPR_MAX_LINES     256	  /* expressions per program */
#define PT_EXPR_MAX_DEPTH     64	  /* nesting: ( [ { calls not unary */
#define PT_EXPR_MAX_NODES     1024	  /* syntax nodes per expression */
#define PT_EXPR_MAX_RESOURCES 16	  /* distinct aliases per expression */
/* Evaluation: tuples of the cartesian product tried before giving up. */
#define PT_EXPR_MAX_PRODUCT (1u << 24)

/*
 * How the program is evaluated. Chosen per program.
 *
 * PT_EXPR_COMPAT (default) reproduces PlainBox: an expression whose text
 * has no "(" and contains " or " (else " and ") is cut textually at the
 * last occurrence and each half is evaluated on its own, each over ANY
 * record (docs/plainbox.md §5.3); names used only inside call arguments are not
 * resources (so `int(cpuinfo.count) > 1` alone is NoResourcesReferenced).
 * A half that does not parse (`p.name == 'this or that'`) makes the
 * evaluation return PT_EXPR_ERROR, as PlainBox raises at that point.
 *
 * PT_EXPR_STRICT: plain per-record boolean semantics, every name counts.
 */
enum pt_expr_mode {
	PT_EXPR_COMPAT = 0,
	PT_EXPR_STRICT = 1,
};

/* What went wrong while parsing (pt_expr_error.kind). */
enum pt_expr_errkind {
	PT_EXPR_ERR_SYNTAX = 1,	      /* not Python: ResourceSyntaxError */
	PT_EXPR_ERR_NOT_ALLOWED = 2,  /* valid Python, not whitelisted */
	PT_EXPR_ERR_NO_RESOURCES = 3, /* NoResourcesReferenced */
	PT_EXPR_ERR_LIMIT = 4,	      /* a PT_EXPR_MAX_* limit */
	PT_EXPR_ERR_IMPORTS = 5,      /* bad `imports` statement */
	PT_EXPR_ERR_NOMEM = 6,	      /* allocation failed */
};

/*
 * A parse error. line and column are 1-based and relative to the text
 * given (program text, or imports text); the caller adds the field's
 * position in its file. column counts bytes of the (unstripped) line; 0
 * when the error concerns the whole line. message names the construct,
 * without the location, e.g. "unary operator '-' is not allowed".
 */
struct pt_expr_error {
	enum pt_expr_errkind kind;
	int code; /* PT_EEXPR, PT_ETOOBIG or -ENOMEM (= return) */
	unsigned line;
	unsigned column;
	char message[192];
};

/*
 * The resource map, as the evaluator reads it. Keys and values are
 * NUL-terminated strings; an attribute missing from a record reads as "".
 * All borrowed: the evaluator keeps no pointer after pt__expr_prog_eval
 * returns.
 */
struct pt_expr_field {
	const char *key;
	const char *value;
};

struct pt_expr_record {
	const struct pt_expr_field *fields;
	size_t n_fields;
};

struct pt_expr_records {
	const struct pt_expr_record *v;
	size_t n; /* 0: resource known but empty; nothing can match */
};

/*
 * Returns the records of resource job id (qualified, "ns::partial"), or
 * NULL when id is not in the resource map (not run yet).
 */
typedef const struct pt_expr_records *pt_expr_lookup_fn(void *ctx,
							const char *id);

/*
 * Parsed `imports` field: lines "from NS import PARTIAL_ID [as ALIAS]"
 * (exactly 4 or 6 words; blank lines skipped). Owned by the caller;
 * free with pt__expr_imports_free (NULL-safe).
 */
struct pt_expr_imports;

/*
 * text may be NULL or empty (no imports). Returns 0, PT_EEXPR (kind
 * PT_EXPR_ERR_IMPORTS, err->line = line of the imports text) or -ENOMEM.
 * err may be NULL.
 */
int pt__expr_imports_parse(const char *text, struct pt_expr_imports **ret,
			   struct pt_expr_error *err);
struct pt_expr_imports *pt__expr_imports_free(struct pt_expr_imports *imps);

/*
 * Resolves alias (e.g. the template-resource field) to a resource id: the
 * imported id when an import names that alias, else alias itself,
 * qualified with ns when it has no "::". Returns a new string (free with
 * pt__free) or NULL on allocation failure. imps and ns may be NULL.
 */
char *pt__expr_resolve_id(const struct pt_expr_imports *imps, const char *ns,
			  const char *alias);

struct pt_expr_opts {
	enum pt_expr_mode mode;		       /* PT_EXPR_COMPAT when 0 */
	const char *ns;			       /* implicit namespace or NULL */
	const struct pt_expr_imports *imports; /* borrowed during the call */
};

/* A compiled program. Immutable; free with pt__expr_prog_free. */
struct pt_expr_prog;

/*
 * Parses text (a `requires` or `template-filter` value). opts may be NULL
 * (compat, no namespace, no imports). On success *ret owns a new program
 * and 0 is returned; an empty program (no expressions) always passes.
 * On failure returns PT_EEXPR, PT_ETOOBIG or -ENOMEM, fills *err (may be
 * NULL) for the first bad expression, and leaves *ret untouched.
 */
int pt__expr_prog_new(const char *text, const struct pt_expr_opts *opts,
		      struct pt_expr_prog **ret, struct pt_expr_error *err);
struct pt_expr_prog *pt__expr_prog_free(struct pt_expr_prog *prog);

/* Number of expressions (non-empty lines). */
size_t pt__expr_prog_count(const struct pt_expr_prog *prog);
/* Stripped text of expression i; borrowed from prog. */
const char *pt__expr_prog_text(const struct pt_expr_prog *prog, size_t i);
/* 1-based line of expression i within the program text. */
unsigned pt__expr_prog_line(const struct pt_expr_prog *prog, size_t i);
/*
 * Resource ids of expression i, one per alias in first-seen order (two
 * aliases imported as the same id give that id twice). Borrowed; *ret_n
 * receives the count.
 */
const char *const *pt__expr_prog_ids(const struct pt_expr_prog *prog, size_t i,
				     size_t *ret_n);
/*
 * Manifest entries expression i reads (`manifest.X`, as PlainBox's
 * manifest_id_list: X qualified with the implicit namespace, each once,
 * not inside call arguments). Borrowed; *ret_n receives the count.
 */
const char *const *pt__expr_prog_manifest_ids(const struct pt_expr_prog *prog,
					      size_t i, size_t *ret_n);
/* The same joined with ", " (borrowed), or NULL when none. */
const char *pt__expr_prog_manifest_text(const struct pt_expr_prog *prog,
					size_t i);
/*
 * All resource ids of the program, without duplicates, in first-seen
 * order (the solver's resource dependencies). Borrowed.
 */
const char *const *pt__expr_prog_all_ids(const struct pt_expr_prog *prog,
					 size_t *ret_n);

/*
 * Number of expressions whose text takes PlainBox's textual and/or split
 * (no "(" and contains " or " / " and "). When 0, compat and strict modes
 * give the same result for every resource map (except for names used only
 * in call arguments, which compat rejects at parse time). Independent of
 * the mode the program was built with. For warnings prefer
 * pt__expr_prog_may_differ(), which is finer.
 */
size_t pt__expr_prog_splits(const struct pt_expr_prog *prog);
/* Whether expression i takes the split. */
bool pt__expr_prog_expr_splits(const struct pt_expr_prog *prog, size_t i);

/*
 * Number of expressions for which compat and strict CAN give different
 * results (a finer, still conservative, test than the split): the split
 * is taken and some half does not parse, or some half may raise, or the
 * two sides of an "and" share a resource (issue #665), or the text has a
 * comment; or a name is used only inside call arguments. Assumes
 * non-empty record lists (a resource job without output gives [{}]).
 * When 0, both modes agree. The warning of `proctor validate` should use
 * this one. Independent of the mode the program was built with.
 */
size_t pt__expr_prog_may_differ(const struct pt_expr_prog *prog);
bool pt__expr_prog_expr_may_differ(const struct pt_expr_prog *prog, size_t i);

enum pt_expr_status {
	PT_EXPR_PASS = 0,	     /* every expression holds */
	PT_EXPR_FAIL = 1,	     /* expression .expr is false */
	PT_EXPR_CANNOT_EVALUATE = 2, /* .missing is not in the resource map */
	PT_EXPR_ERROR = 3,	     /* expression .expr raised (compat split
				      * gave an unparsable half, or the
				      * product exceeds PT_EXPR_MAX_PRODUCT) */
};

struct pt_expr_result {
	enum pt_expr_status status;
	size_t expr;	     /* expression concerned; 0 for PT_EXPR_PASS */
	const char *missing; /* CANNOT_EVALUATE: first missing id (borrowed
			      * from prog); NULL otherwise */
	const char *error;   /* ERROR: static/borrowed text; NULL otherwise */
};

/*
 * Evaluates like PlainBox's evaluate_or_raise: first every id of every
 * expression must be in the map (else CANNOT_EVALUATE naming the first
 * expression with a missing id), then expressions are evaluated in order
 * and the first false one is reported. Never allocates; never fails.
 */
void pt__expr_prog_eval(const struct pt_expr_prog *prog,
			pt_expr_lookup_fn *lookup, void *ctx,
			struct pt_expr_result *ret);

/*
 * template-filter (§2.5): evaluates with a resource map that holds
 * only id -> [rec], as PlainBox does per record of the template's
 * resource. PT_EXPR_PASS means "instantiate"; anything else means skip
 * the record (a filter naming another resource is CANNOT_EVALUATE).
 */
void pt__expr_prog_eval_one(const struct pt_expr_prog *prog, const char *id,
			    const struct pt_expr_record *rec,
			    struct pt_expr_result *ret);

/* "pass", "fail", "cannot-evaluate", "error". */
const char *pt__expr_status_name(enum pt_expr_status s);

#endif
