/*
 * base/diag.h - building diagnostic lists (the public reading side is in
 * proctor/common.h). Strings are copied into the list's arena.
 */
#ifndef PT_BASE_DIAG_H
#define PT_BASE_DIAG_H

#include "base/common.h"

/* Upper bound on diagnostics kept per list; the rest are counted only. */
#define PT_DIAGS_MAX 100000

/*
 * Appends a diagnostic. file may be NULL ("<input>"), field may be NULL.
 * Returns 0 or -ENOMEM. Past PT_DIAGS_MAX entries, only counts.
 */
int pt__diags_add(struct pt_diags *d, enum pt_severity sev, int code,
		  const char *file, unsigned line, const char *field,
		  const char *fmt, ...) __attribute__((format(printf, 7, 8)));
int pt__diags_vadd(struct pt_diags *d, enum pt_severity sev, int code,
		   const char *file, unsigned line, const char *field,
		   const char *fmt, va_list ap)
	__attribute__((format(printf, 7, 0)));
/* Number dropped beyond PT_DIAGS_MAX. */
size_t pt__diags_dropped(const struct pt_diags *d);
/* Sorts by (file, line) keeping insertion order among equals. */
int pt__diags_sort(struct pt_diags *d);

#endif
