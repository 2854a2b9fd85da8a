/*
 * bench/bench-expr.c - resource programs: parse time, and evaluation time
 * of typical expressions over a resource of 50 records (the matching
 * record is the last one, so every record is visited).
 *
 * Peer: PlainBox's strategy in CPython, measured in the same run when
 * python3 is present: a Resource class whose missing attributes read as
 * "", the expression compiled once as a lambda and called per record
 * (docs/plainbox.md §5.2), with the textual and/or split for compat.
 * Prints "metric NAME VALUE UNIT" lines.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os/clock.h"
#include "session/expr.h"

#define NREC 50

static struct pt_expr_field fields[NREC][10];
static struct pt_expr_record recs[NREC];
static char vals[NREC][10][32];
static struct pt_expr_records list = { recs, NREC };

static const char *const keys[10] = { "category", "driver",    "path",
				      "bus",	  "vendor_id", "product_id",
				      "name",	  "vendor",    "product",
				      "subsystem" };

static void make_records(void)
{
	for (int r = 0; r < NREC; r++) {
		for (int k = 0; k < 10; k++) {
			const char *v = "x";
			char buf[32];
			if (k == 0)
				v = r == NREC - 1 ? "AUDIO" : "NETWORK";
			else if (k == 1)
				v = r == NREC - 1 ? "snd_hda_intel" : "e1000e";
			else {
				snprintf(buf, sizeof(buf), "%s-%d", keys[k], r);
				v = buf;
			}
			snprintf(vals[r][k], sizeof(vals[r][k]), "%s", v);
			fields[r][k].key = keys[k];
			fields[r][k].value = vals[r][k];
		}
		recs[r].fields = fields[r];
		recs[r].n_fields = 10;
	}
}

static const struct pt_expr_records *lookup(void *ctx, const char *id)
{
	(void)ctx;
	return strcmp(id, "device") == 0 ? &list : NULL;
}

static const struct {
	const char *name;
	const char *text;
	enum pt_expr_mode mode;
} cases[] = {
	{ "and_split_compat",
	  "device.category == 'AUDIO' and device.driver == 'snd_hda_intel'",
	  PT_EXPR_COMPAT },
	{ "and_strict",
	  "device.category == 'AUDIO' and device.driver == 'snd_hda_intel'",
	  PT_EXPR_STRICT },
	{ "in_list", "device.category in ['AUDIO', 'VIDEO', 'CAPTURE']",
	  PT_EXPR_COMPAT },
	{ "substring", "'hda' in device.driver", PT_EXPR_COMPAT },
};

/* Runs the peer; returns ns per evaluation or < 0 when unavailable. */
static double python_peer(const char *text, bool split)
{
	char cmd[4096];
	FILE *f;
	double ns = -1;
	static const char *script =
		"import sys, time\n"
		"class R:\n"
		"  __slots__=('_d',)\n"
		"  def __init__(s,d): object.__setattr__(s,'_d',d)\n"
		"  def __getattr__(s,a):\n"
		"    return object.__getattribute__(s,'_d').get(a,'')\n"
		"keys=['category','driver','path','bus','vendor_id','product_id',"
		"'name','vendor','product','subsystem']\n"
		"recs=[]\n"
		"for r in range(50):\n"
		"  d={k:'%s-%d'%(k,r) for k in keys}\n"
		"  d['category']='AUDIO' if r==49 else 'NETWORK'\n"
		"  d['driver']='snd_hda_intel' if r==49 else 'e1000e'\n"
		"  recs.append(R(d))\n"
		"text=sys.argv[1]; split=sys.argv[2]=='1'\n"
		"def compile_(t):\n"
		"  if split and '(' not in t and ' or ' in t:\n"
		"    l,r=t.rsplit(' or ',1); a=compile_(l); b=compile_(r)\n"
		"    return lambda rs: a(rs) or b(rs)\n"
		"  if split and '(' not in t and ' and ' in t:\n"
		"    l,r=t.rsplit(' and ',1); a=compile_(l); b=compile_(r)\n"
		"    return lambda rs: a(rs) and b(rs)\n"
		"  f=eval('lambda device: '+t)\n"
		"  def ev(rs):\n"
		"    for x in rs:\n"
		"      try:\n"
		"        if f(x): return True\n"
		"      except Exception: pass\n"
		"    return False\n"
		"  return ev\n"
		"e=compile_(text)\n"
		"n=20000; best=1e9\n"
		"for rep in range(3):\n"
		"  t=time.perf_counter()\n"
		"  for i in range(n): e(recs)\n"
		"  best=min(best,(time.perf_counter()-t)/n)\n"
		"print(best*1e9)\n";
	FILE *s = fopen("/tmp/pt-bench-expr-peer.py", "w");

	if (!s)
		return -1;
	fputs(script, s);
	fclose(s);
	snprintf(cmd, sizeof(cmd),
		 "python3 /tmp/pt-bench-expr-peer.py \"%s\" %d 2>/dev/null",
		 text, split ? 1 : 0);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lf", &ns) != 1)
		ns = -1;
	pclose(f);
	remove("/tmp/pt-bench-expr-peer.py");
	return ns;
}

int main(void)
{
	make_records();

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct pt_expr_opts o = { .mode = cases[c].mode };
		struct pt_expr_prog *p = NULL;
		struct pt_expr_result r;
		int64_t t0, t1;
		const int nparse = 20000, neval = 200000;
		double best_eval = 1e18;

		t0 = pt__now_ns();
		for (int i = 0; i < nparse; i++) {
			if (pt__expr_prog_new(cases[c].text, &o, &p, NULL) < 0)
				return 1;
			if (i + 1 < nparse)
				p = pt__expr_prog_free(p);
		}
		t1 = pt__now_ns();
		printf("metric expr_parse_%s_us %.3f us\n", cases[c].name,
		       (double)(t1 - t0) / nparse / 1000.0);

		for (int rep = 0; rep < 3; rep++) {
			t0 = pt__now_ns();
			for (int i = 0; i < neval; i++)
				pt__expr_prog_eval(p, lookup, NULL, &r);
			t1 = pt__now_ns();
			double ns = (double)(t1 - t0) / neval;
			if (ns < best_eval)
				best_eval = ns;
		}
		if (r.status != PT_EXPR_PASS)
			return 1;
		printf("metric expr_eval50_%s_us %.3f us\n", cases[c].name,
		       best_eval / 1000.0);
		double peer = python_peer(cases[c].text,
					  cases[c].mode == PT_EXPR_COMPAT);
		if (peer > 0) {
			printf("metric expr_eval50_%s_python_us %.3f us\n",
			       cases[c].name, peer / 1000.0);
			printf("metric expr_eval50_%s_ratio %.1f x\n",
			       cases[c].name, peer / best_eval);
		} else {
			printf("# python3 peer unavailable\n");
		}
		pt__expr_prog_free(p);
	}
	return 0;
}
