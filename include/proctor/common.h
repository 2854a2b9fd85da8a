/*
 * proctor/common.h - what every part of libproctor shares: export macro,
 * error codes, the allocator seam, diagnostics and limits.
 *
 * Conventions (docs/architecture.md, HACKING.md):
 *  - a fallible function returns int: 0 (or a count) on success, -errno for
 *    system errors, or a PT_E* code (all below -1000) for our own errors;
 *  - out-parameters are named ret_* and are written only on success;
 *  - pt_x_new(..., struct pt_x **ret) / pt_x_free(x) (NULL-safe, returns
 *    NULL) for heap objects; the owner of every pointer is named here;
 *  - the library never prints, exits or aborts on bad input.
 */
#ifndef PROCTOR_COMMON_H
#define PROCTOR_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <proctor/proctor-version.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PT_BUILDING_LIBRARY)
# define PT_API __attribute__((visibility("default")))
#else
# define PT_API
#endif

/* Results of functions whose failure must never be ignored. */
#define PT_NODISCARD __attribute__((warn_unused_result))

/*
 * Project error codes. Each entry is NAME, value, message. Values are stable
 * (they may be stored or compared by callers); new codes go at the end.
 */
#define PT_ERROR_MAP(XX)                                                      \
	XX(EPARSE, -1001, "malformed input")                                  \
	XX(ETOOBIG, -1002, "input exceeds a configured limit")                \
	XX(ESTATE, -1003, "operation not valid in this state")                \
	XX(ECYCLE, -1004, "dependency cycle")                                 \
	XX(EMISSING, -1005, "missing dependency")                             \
	XX(EUNKNOWN, -1006, "unknown job")                                    \
	XX(EDUPLICATE, -1007, "duplicate job definition")                     \
	XX(EEXPR, -1008, "invalid resource expression")                       \
	XX(ENOTSUP, -1009, "not supported")                                   \
	XX(ETEMPLATE, -1010, "template cannot be instantiated")               \
	XX(ECORRUPT, -1011, "session is corrupt")                             \
	XX(EINCOMPAT, -1012, "incompatible session")                          \
	XX(ELOCKED, -1013, "session is locked")                               \
	XX(ECHANGED, -1014, "job definition has changed")                     \
	XX(ENOTFOUND, -1015, "not found")                                     \
	XX(EPROTO, -1016, "protocol error")                                   \
	XX(EWORKER, -1017, "worker exited")                                   \
	XX(EFULL, -1018, "capacity reached")                                  \
	XX(ENOMATCH, -1019, "no matching interaction")                        \
	XX(EDEADLOCK, -1020, "deadlock")                                      \
	XX(EDIVERGED, -1021, "replay diverged")                               \
	XX(EFAILED, -1022, "check failed")                                    \
	XX(EINTERRUPTED, -1023, "interrupted")                                \
	XX(ECANCELED, -1024, "canceled")

enum pt_error {
#define PT__ERR_ENUM(name, value, msg) PT_##name = (value),
	PT_ERROR_MAP(PT__ERR_ENUM)
#undef PT__ERR_ENUM
};

/*
 * Message for an error returned by any pt_ function: a PT_E* code or a
 * negative errno. Never NULL; the string is static.
 */
PT_API const char *pt_strerror(int err);

/* Symbolic name ("PT_EPARSE", "ENOENT") of an error code; never NULL. */
PT_API const char *pt_error_name(int err);

/* Version of the library at run time, "MAJOR.MINOR.PATCH". */
PT_API const char *pt_version(void);

/*
 * The allocator seam. Every allocation of libproctor goes through it, so
 * tests can fail the Nth allocation and check that every error path is
 * clean. Call before any other pt_ function; NULL restores malloc/free.
 * Not thread-safe with respect to allocations in progress.
 */
struct pt_allocator {
	void *(*malloc)(void *ctx, size_t size);
	void *(*realloc)(void *ctx, void *ptr, size_t size);
	void (*free)(void *ctx, void *ptr);
	void *ctx;
};

PT_API void pt_set_allocator(const struct pt_allocator *a);

/* Frees memory that a pt_ function returned with "free with pt_free()". */
PT_API void pt_free(void *p);

/*
 * A diagnostic: something wrong in some input, with its location. Strings
 * are owned by the list that holds the diagnostic.
 */
enum pt_severity {
	PT_SEV_ERROR = 0,
	PT_SEV_WARNING = 1,
	PT_SEV_NOTE = 2,
};

struct pt_diag {
	enum pt_severity severity;
	int code;            /* PT_E* code (or -errno) classifying it */
	const char *file;    /* origin file, or "<input>"; never NULL */
	unsigned line;       /* 1-based; 0 when unknown */
	const char *field;   /* the field concerned, or NULL */
	const char *message; /* human text, no location prefix; never NULL */
};

/* An ordered list of diagnostics. Opaque; owned by whoever created it. */
struct pt_diags;

PT_API int pt_diags_new(struct pt_diags **ret);
PT_API struct pt_diags *pt_diags_free(struct pt_diags *d);
PT_API size_t pt_diags_count(const struct pt_diags *d);
/* Borrowed; valid until the list is freed or grows. NULL when out of range. */
PT_API const struct pt_diag *pt_diags_get(const struct pt_diags *d, size_t i);
/* Number of diagnostics with severity PT_SEV_ERROR. */
PT_API size_t pt_diags_errors(const struct pt_diags *d);

#ifdef __cplusplus
}
#endif

#endif
