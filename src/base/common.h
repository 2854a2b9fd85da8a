/*
 * base/common.h - the first include of every .c file under src/.
 *
 * System headers in a fixed order, the project macros and banned.h. Files
 * that need Linux or GNU extensions define _GNU_SOURCE before including it
 * (only under src/os/, see HACKING.md).
 */
#ifndef PT_BASE_COMMON_H
#define PT_BASE_COMMON_H

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proctor/common.h>
#include <proctor/result.h>

#define PT_UNUSED       __attribute__((unused))
#define PT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define PT_LIKELY(x)    __builtin_expect(!!(x), 1)
#define PT_UNLIKELY(x)  __builtin_expect(!!(x), 0)
#define PT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PT_MIN(a, b)    ((a) < (b) ? (a) : (b))
#define PT_MAX(a, b)    ((a) > (b) ? (a) : (b))

/* container_of without typeof: ptr must point at member of type. */
#define pt_container_of(ptr, type, member)                                    \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/*
 * SQLite's ALWAYS/NEVER: conditions believed impossible but survivable.
 * Debug builds assert; the code path stays in release builds.
 */
#define PT_ALWAYS(x) ((x) ? 1 : (assert(0), 0))
#define PT_NEVER(x)  ((x) ? (assert(0), 1) : 0)

#include "base/alloc.h"
#include "base/banned.h"

#endif
