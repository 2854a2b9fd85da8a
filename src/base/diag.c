/* base/diag.c - diagnostic lists. */
#include "base/common.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/vec.h"

struct pt_diags {
	PT_VEC(struct pt_diag) v;
	struct pt_arena arena;
	size_t errors;
	size_t dropped;
};

int pt_diags_new(struct pt_diags **ret)
{
	struct pt_diags *d;

	if (!ret)
		return -EINVAL;
	d = pt__calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	*ret = d;
	return 0;
}

struct pt_diags *pt_diags_free(struct pt_diags *d)
{
	if (!d)
		return NULL;
	pt_vec_release(&d->v);
	pt__arena_release(&d->arena);
	pt__free(d);
	return NULL;
}

size_t pt_diags_count(const struct pt_diags *d)
{
	return d ? d->v.n : 0;
}

const struct pt_diag *pt_diags_get(const struct pt_diags *d, size_t i)
{
	if (!d || i >= d->v.n)
		return NULL;
	return &d->v.v[i];
}

size_t pt_diags_errors(const struct pt_diags *d)
{
	return d ? d->errors : 0;
}

size_t pt__diags_dropped(const struct pt_diags *d)
{
	return d ? d->dropped : 0;
}

int pt__diags_vadd(struct pt_diags *d, enum pt_severity sev, int code,
		   const char *file, unsigned line, const char *field,
		   const char *fmt, va_list ap)
{
	struct pt_buf msg = PT_BUF_INIT;
	struct pt_diag x;
	int r;

	if (sev == PT_SEV_ERROR)
		d->errors++;
	if (d->v.n >= PT_DIAGS_MAX) {
		d->dropped++;
		return 0;
	}
	r = pt__buf_vaddf(&msg, fmt, ap);
	if (r < 0)
		goto out;
	r = -ENOMEM;
	x.severity = sev;
	x.code = code;
	x.line = line;
	x.file = pt__arena_strdup(&d->arena, file ? file : "<input>");
	x.field = field ? pt__arena_strdup(&d->arena, field) : NULL;
	x.message = pt__arena_strndup(&d->arena, msg.s, msg.len);
	if (!x.file || (field && !x.field) || !x.message)
		goto out;
	r = pt_vec_push(&d->v, x);
out:
	pt__buf_release(&msg);
	if (r < 0 && sev == PT_SEV_ERROR)
		d->errors--;
	return r;
}

int pt__diags_add(struct pt_diags *d, enum pt_severity sev, int code,
		  const char *file, unsigned line, const char *field,
		  const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = pt__diags_vadd(d, sev, code, file, line, field, fmt, ap);
	va_end(ap);
	return r;
}

/* Stable insertion sort by (file, line): lists are small and mostly sorted. */
int pt__diags_sort(struct pt_diags *d)
{
	for (size_t i = 1; i < d->v.n; i++) {
		struct pt_diag x = d->v.v[i];
		size_t j = i;

		while (j > 0) {
			const struct pt_diag *p = &d->v.v[j - 1];
			int c = strcmp(p->file, x.file);

			if (c < 0 || (c == 0 && p->line <= x.line))
				break;
			d->v.v[j] = d->v.v[j - 1];
			j--;
		}
		d->v.v[j] = x;
	}
	return 0;
}
