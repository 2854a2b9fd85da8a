/*
 * bench/plainbox-peer.h - runs PlainBox itself as a benchmark's peer.
 *
 * PROCTOR_PLAINBOX_SRC names a checkbox-ng source directory (the one
 * holding the plainbox package), PROCTOR_PLAINBOX_PYTHON a Python that
 * imports it (default python3), PROCTOR_BENCH_DIR the directory of the
 * bench scripts (default ./bench). A script prints "NAME VALUE" lines;
 * they are collected here. Without PROCTOR_PLAINBOX_SRC nothing runs and
 * the benchmark says it skipped the peer (no figure is copied from a
 * document). Header-only: each bench program is one file.
 */
#ifndef PT_BENCH_PLAINBOX_PEER_H
#define PT_BENCH_PLAINBOX_PEER_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define PEER_MAX 32

struct peer_figures {
	size_t n;
	char name[PEER_MAX][64];
	double value[PEER_MAX];
	char why[256]; /* why there are none */
};

/* s single-quoted for sh (a ' becomes '\''). */
static void peer_quote(char *out, size_t size, const char *s)
{
	size_t o = 0;

	if (size < 3)
		return;
	out[o++] = '\'';
	for (; *s && o + 6 < size; s++) {
		if (*s == '\'') {
			memcpy(out + o, "'\\''", 4);
			o += 4;
		} else {
			out[o++] = *s;
		}
	}
	out[o++] = '\'';
	out[o] = 0;
}

/*
 * Runs bench/SCRIPT with args under PlainBox's Python; true when it ran
 * and exited 0 (its figures in f), else false with f->why set.
 */
static bool peer_run(const char *script, const char *const *args, size_t nargs,
		     struct peer_figures *f)
{
	const char *src = getenv("PROCTOR_PLAINBOX_SRC");
	const char *py = getenv("PROCTOR_PLAINBOX_PYTHON");
	const char *here = getenv("PROCTOR_BENCH_DIR");
	char cmd[8192], q[4200], path[4200], line[256];
	size_t o;
	FILE *p;
	int st;

	memset(f, 0, sizeof(*f));
	if (!src || !*src) {
		snprintf(f->why, sizeof(f->why),
			 "PROCTOR_PLAINBOX_SRC not set, bench/README.md");
		return false;
	}
	peer_quote(q, sizeof(q), src);
	o = (size_t)snprintf(cmd, sizeof(cmd), "PYTHONPATH=%s ", q);
	peer_quote(q, sizeof(q), py && *py ? py : "python3");
	o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, "%s ", q);
	snprintf(path, sizeof(path), "%s/%s", here && *here ? here : "bench",
		 script);
	peer_quote(q, sizeof(q), path);
	o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, "%s", q);
	for (size_t i = 0; i < nargs && o < sizeof(cmd); i++) {
		peer_quote(q, sizeof(q), args[i]);
		o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, " %s", q);
	}
	if (o >= sizeof(cmd)) {
		snprintf(f->why, sizeof(f->why), "command too long");
		return false;
	}
	fflush(NULL);
	if (!(p = popen(cmd, "r"))) {
		snprintf(f->why, sizeof(f->why), "popen failed");
		return false;
	}
	while (fgets(line, sizeof(line), p)) {
		if (f->n < PEER_MAX && sscanf(line, "%63s %lf", f->name[f->n],
					      &f->value[f->n]) == 2)
			f->n++;
	}
	st = pclose(p);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(f->why, sizeof(f->why), "%.200s failed (status %d)",
			 script, st);
		f->n = 0;
		return false;
	}
	return true;
}

/* The figure named name, or -1 when the script did not print it. */
static double peer_get(const struct peer_figures *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->name[i], name))
			return f->value[i];
	return -1;
}

#endif
