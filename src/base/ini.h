/*
 * base/ini.h - INI files as Python's configparser reads Checkbox
 * launchers and provider definitions (.provider): sections "[name]",
 * "key = value" (only '=' separates; keys keep their case), full-line
 * comments starting with '#' or ';' (also when indented), values that
 * continue on lines indented deeper than their key (joined with '\n',
 * blank lines inside kept, trailing ones dropped), and "%%" / "%(key)s"
 * interpolation from the same section. A repeated section or key, a key
 * before any section, a line that is neither, and a bad '%' are errors.
 * No I/O: the caller reads the file.
 */
#ifndef PT_BASE_INI_H
#define PT_BASE_INI_H

#include "base/common.h"

/* One section header (key NULL) or one key of a section. */
struct pt__ini_entry {
	const char *section; /* never NULL */
	const char *key;     /* NULL: the header of section */
	const char *value;   /* interpolated; NULL for a header */
	unsigned line;	     /* 1-based line of the header or key */
};

struct pt__ini;

/* Limits; 0 members mean the defaults. */
struct pt__ini_limits {
	size_t max_len;	    /* bytes of input (default 1 MiB) */
	size_t max_entries; /* sections + keys (default 10,000) */
	size_t max_value;   /* bytes per value after interpolation (64 KiB) */
};

#define PT_INI_MAX_LEN	   ((size_t)1 << 20)
#define PT_INI_MAX_ENTRIES ((size_t)10000)
#define PT_INI_MAX_VALUE   ((size_t)64 << 10)

/*
 * Parses text[0..len) (file names diagnostics; NULL: "<input>"). Every
 * problem goes to d as file:line: message (d may be NULL). Returns 0 with
 * *ret set, PT_EPARSE (problems found; *ret untouched), PT_ETOOBIG or
 * -ENOMEM.
 */
int pt__ini_parse(const char *text, size_t len, const char *file,
		  const struct pt__ini_limits *lim, struct pt_diags *d,
		  struct pt__ini **ret);
struct pt__ini *pt__ini_free(struct pt__ini *ini);

/* Entries in file order (headers included). */
size_t pt__ini_count(const struct pt__ini *ini);
const struct pt__ini_entry *pt__ini_get(const struct pt__ini *ini, size_t i);
/* The key entry of section, or NULL. */
const struct pt__ini_entry *pt__ini_find(const struct pt__ini *ini,
					 const char *section, const char *key);

#endif
