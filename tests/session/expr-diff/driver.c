/*
 * tests/session/expr-diff/driver.c - the C side of the differential test
 * (run.sh): parses and evaluates each file in compat and in strict mode
 * against the fixed resource map that ref.py also uses, and prints
 * "FILE<TAB>COMPAT<TAB>STRICT" with the same result words as ref.py.
 */
#include <stdio.h>
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
	{ "p", { p_recs, 3 } },
	{ "q", { q_recs, 1 } },
	{ "cpuinfo", { c_recs, 2 } },
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

int main(int argc, char **argv)
{
	static char buf[1 << 16];

	for (int a = 1; a < argc; a++) {
		FILE *f = fopen(argv[a], "rb");
		size_t n;

		if (!f)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		printf("%s", argv[a]);
		for (int m = 0; m < 2; m++) {
			struct pt_expr_opts o = { .mode = m ? PT_EXPR_STRICT
							    : PT_EXPR_COMPAT };
			struct pt_expr_prog *p = NULL;
			struct pt_expr_error e;
			struct pt_expr_result r;

			if (pt__expr_prog_new(buf, &o, &p, &e) < 0) {
				printf("\tparse-error");
				continue;
			}
			pt__expr_prog_eval(p, lookup, NULL, &r);
			if (r.status == PT_EXPR_PASS)
				printf("\tpass");
			else if (r.status == PT_EXPR_FAIL)
				printf("\tfail %zu", r.expr);
			else if (r.status == PT_EXPR_ERROR)
				printf("\terror %zu", r.expr);
			else
				printf("\tcannot %s", r.missing);
			pt__expr_prog_free(p);
		}
		printf("\n");
	}
	return 0;
}
