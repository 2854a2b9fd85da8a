/*
 * fuzz/fuzz-expr.c - resource programs (src/session/expr.c): parse the
 * input in compat and in strict mode and evaluate both against a fixed
 * small resource map.
 *
 * Input: the program text up to the first NUL byte; what follows the NUL
 * (if anything) is the text of an `imports` field.
 *
 * Besides memory errors, it checks two properties and aborts when one
 * does not hold (docs/expr.md): when both modes parse, no expression takes
 * PlainBox's textual and/or split and both modes see the same resources,
 * compat and strict give the same result; and when the program says the
 * modes cannot differ (pt__expr_prog_may_differ() == 0) and it uses no
 * resource with an empty record list, they give the same result.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "session/expr.h"

#define F(k, v) \
 {              \
  k, v          \
 }

static const struct pt_expr_field p0[] = { F("name", "fwts"),
					   F("version", "1.2"),
					   F("count", "4") };
static const struct pt_expr_field p1[] = { F("name", "this or that"),
					   F("version", "10"),
					   F("count", "x") };
static const struct pt_expr_field q0[] = { F("a", ""), F("b", "s390x") };
static const struct pt_expr_field c0[] = { F("platform", "x86_64"),
					   F("count", " 8 "), F("f", "1e3") };

static const struct pt_expr_record p_recs[] = { { p0, 3 },
						{ p1, 3 },
						{ NULL, 0 } };
static const struct pt_expr_record q_recs[] = { { q0, 2 } };
static const struct pt_expr_record c_recs[] = { { c0, 3 }, { c0, 3 } };

static const struct {
	const char *id;
	struct pt_expr_records list;
} map[] = {
	{ "p", { p_recs, 3 } },	      { "q", { q_recs, 1 } },
	{ "cpuinfo", { c_recs, 2 } }, { "ns::package", { p_recs, 2 } },
	{ "empty", { NULL, 0 } },
};

static const struct pt_expr_records *lookup(void *ctx, const char *id)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].id, id) == 0)
			return &map[i].list;
	return NULL;
}

static bool same_ids(const struct pt_expr_prog *a, const struct pt_expr_prog *b)
{
	size_t n = pt__expr_prog_count(a);

	if (n != pt__expr_prog_count(b))
		return false;
	for (size_t i = 0; i < n; i++) {
		size_t na, nb;
		const char *const *ia = pt__expr_prog_ids(a, i, &na);
		const char *const *ib = pt__expr_prog_ids(b, i, &nb);
		if (na != nb)
			return false;
		for (size_t k = 0; k < na; k++)
			if (strcmp(ia[k], ib[k]) != 0)
				return false;
	}
	return true;
}

static bool uses_empty(const struct pt_expr_prog *p)
{
	size_t n;
	const char *const *ids = pt__expr_prog_all_ids(p, &n);

	for (size_t k = 0; k < n; k++)
		if (strcmp(ids[k], "empty") == 0 ||
		    strcmp(ids[k], "ns::empty") == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_expr_imports *imps = NULL;
	struct pt_expr_prog *progs[2] = { NULL, NULL };
	struct pt_expr_result res[2];
	struct pt_expr_error err;
	char *text = malloc(size + 1);
	const char *imports = NULL;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (strlen(text) < size)
		imports = text + strlen(text) + 1;
	if (imports && pt__expr_imports_parse(imports, &imps, &err) < 0)
		imps = NULL;

	for (int m = 0; m < 2; m++) {
		struct pt_expr_opts o = {
			.mode = m ? PT_EXPR_STRICT : PT_EXPR_COMPAT,
			.ns = imports ? "ns" : NULL,
			.imports = imps,
		};
		if (pt__expr_prog_new(text, &o, &progs[m], &err) < 0) {
			/* Errors must be located and explained. */
			if (!err.message[0] || err.code >= 0)
				abort();
			progs[m] = NULL;
			continue;
		}
		pt__expr_prog_eval(progs[m], lookup, NULL, &res[m]);
		if (res[m].status == PT_EXPR_FAIL ||
		    res[m].status == PT_EXPR_ERROR) {
			if (res[m].expr >= pt__expr_prog_count(progs[m]))
				abort();
		}
		if (res[m].status == PT_EXPR_ERROR && !res[m].error)
			abort();
		size_t n;
		(void)pt__expr_prog_all_ids(progs[m], &n);
		for (size_t i = 0; i < pt__expr_prog_count(progs[m]); i++)
			if (!pt__expr_prog_text(progs[m], i))
				abort();
	}
	if (progs[0] && progs[1] && pt__expr_prog_splits(progs[0]) == 0 &&
	    same_ids(progs[0], progs[1]) && res[0].status != res[1].status)
		abort();
	if (progs[0] && progs[1] && pt__expr_prog_may_differ(progs[0]) == 0 &&
	    pt__expr_prog_may_differ(progs[1]) == 0 && !uses_empty(progs[1]) &&
	    res[0].status != res[1].status)
		abort();
	pt__expr_prog_free(progs[0]);
	pt__expr_prog_free(progs[1]);
	pt__expr_imports_free(imps);
	free(text);
	return 0;
}
