/*
 * run/chaos-notes.c - the call faults of each attempt, for its result's
 * comments ("chaos: 2 faults: write EIO at call 3 (pid 12), ..."), from
 * the session's chaos log (docs/chaos.md):
 *
 *	<job> TAB <attempt> TAB <pid> TAB <call> TAB <n> TAB <what> [TAB <time>]
 *
 * The log is read incrementally: each note reads only the bytes appended
 * since the last one, and keeps per attempt the lines of attempts not yet
 * noted (those of jobs still running). A run of N attempts thus reads the
 * log once, not N times, whatever its size. Process faults (kill,
 * kill-one, pause) are skipped: the runner puts them in its comment.
 *
 * Bounds: a line longer than PT_CHAOS_NOTES_LINE is skipped; at most
 * PT_CHAOS_NOTES_PENDING attempts are kept (the oldest go first: lines of
 * attempts already noted, written late by a process the job left behind).
 */
#include "run/run-internal.h"

#include "base/alloc.h"
#include "os/fd.h"
#include "os/runos.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PT_CHAOS_NOTES_LINE    4096
#define PT_CHAOS_NOTES_PENDING 4096
#define PT_CHAOS_NOTES_LISTED  5 /* faults named in a note */

struct pt__chaos_pending {
	char *job;
	unsigned attempt, n;
	struct pt_buf list; /* the first few, "write EIO at call 3 (pid 12)" */
};

static bool is_process_fault(const char *fault)
{
	return !strcmp(fault, "kill") || !strcmp(fault, "kill-one") ||
	       !strcmp(fault, "pause");
}

static struct pt__chaos_pending *pending_find(struct pt__chaos_notes *cn,
					      const char *job, size_t joblen,
					      unsigned attempt)
{
	for (size_t i = 0; i < cn->n; i++) {
		struct pt__chaos_pending *p = &cn->v[i];

		if (p->attempt == attempt && !strncmp(p->job, job, joblen) &&
		    !p->job[joblen])
			return p;
	}
	return NULL;
}

static void pending_drop(struct pt__chaos_notes *cn, size_t i)
{
	pt__free(cn->v[i].job);
	pt__buf_release(&cn->v[i].list);
	memmove(&cn->v[i], &cn->v[i + 1], (cn->n - i - 1) * sizeof(*cn->v));
	cn->n--;
}

/* One complete line of the log (NUL-terminated, no newline). */
static void take_line(struct pt__chaos_notes *cn, char *line)
{
	char *f[7];
	unsigned k = 0, attempt;
	struct pt__chaos_pending *p;
	char *end;

	for (char *q = line; k < 7;) {
		f[k++] = q;
		if (!(q = strchr(q, '\t')))
			break;
		*q++ = 0;
	}
	if (k < 6 || is_process_fault(f[3]))
		return;
	attempt = (unsigned)strtoul(f[1], &end, 10);
	if (*end || end == f[1])
		return;
	p = pending_find(cn, f[0], strlen(f[0]), attempt);
	if (!p) {
		if (cn->n == PT_CHAOS_NOTES_PENDING)
			pending_drop(cn, 0);
		if (cn->n == cn->cap) {
			size_t cap = cn->cap ? cn->cap * 2 : 16;
			void *v = pt__realloc(cn->v, cap * sizeof(*cn->v));

			if (!v)
				return; /* a note short of faults, no crash */
			cn->v = v;
			cn->cap = cap;
		}
		p = &cn->v[cn->n];
		*p = (struct pt__chaos_pending){ .job = pt__strdup(f[0]),
						 .attempt = attempt,
						 .list = PT_BUF_INIT };
		if (!p->job)
			return;
		cn->n++;
	}
	if (p->n < PT_CHAOS_NOTES_LISTED)
		(void)pt__buf_addf(&p->list, "%s%s %s at call %s (pid %s)",
				   p->n ? ", " : "", f[3], f[5], f[4], f[2]);
	p->n++;
}

/* Reads what was appended to the log since the last call. */
static void catch_up(struct pt__chaos_notes *cn, const char *path)
{
	char chunk[16384];

	if (!cn->open) {
		int fd = pt__open_rd(path);

		if (fd < 0)
			return; /* no fault yet: no log */
		cn->fd = fd;
		cn->open = true;
	}
	for (;;) {
		ssize_t got = pt__read_once(cn->fd, chunk, sizeof(chunk));
		const char *p = chunk, *end;

		if (got <= 0)
			return;
		end = chunk + got;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = (size_t)((nl ? nl : end) - p);

			if (cn->skip) {
				/* the rest of an over-long line */
			} else if (cn->tail.len + len > PT_CHAOS_NOTES_LINE) {
				cn->skip = true;
				pt__buf_reset(&cn->tail);
			} else if (pt__buf_add(&cn->tail, p, len) < 0) {
				cn->skip = true;
				pt__buf_reset(&cn->tail);
			}
			if (!nl)
				break;
			if (!cn->skip && cn->tail.len)
				take_line(cn, cn->tail.s);
			pt__buf_reset(&cn->tail);
			cn->skip = false;
			p = nl + 1;
		}
	}
}

void pt__chaos_notes_skip_existing(struct pt__chaos_notes *cn, const char *path)
{
	struct stat st;
	int fd;

	/* Each line is one O_APPEND write: the size is a line's end. */
	if (cn->open || (fd = pt__open_rd(path)) < 0)
		return; /* no log yet: nothing to skip */
	cn->fd = fd;
	cn->open = true;
	if (pt__fstat(fd, &st) == 0)
		(void)pt__seek(fd, st.st_size);
}

void pt__chaos_notes_get(struct pt__chaos_notes *cn, const char *path,
			 const char *job, unsigned attempt, char *buf,
			 size_t size)
{
	struct pt__chaos_pending *p;

	buf[0] = 0;
	catch_up(cn, path);
	p = pending_find(cn, job, strlen(job), attempt);
	if (!p)
		return;
	snprintf(buf, size, "chaos: %u fault%s: %s%s", p->n,
		 p->n == 1 ? "" : "s", p->list.s ? p->list.s : "",
		 p->n > PT_CHAOS_NOTES_LISTED ? ", ..." : "");
	pending_drop(cn, (size_t)(p - cn->v));
}

void pt__chaos_notes_release(struct pt__chaos_notes *cn)
{
	while (cn->n)
		pending_drop(cn, cn->n - 1);
	pt__free(cn->v);
	pt__buf_release(&cn->tail);
	if (cn->open)
		(void)pt__close(cn->fd);
	*cn = (struct pt__chaos_notes){ 0 };
}
