/*
 * tests/mux/mux-test.h - helpers shared by the mux tests: the mock
 * renderer's path and JSON shortcuts.
 */
#ifndef PT_TESTS_MUX_TEST_H
#define PT_TESTS_MUX_TEST_H

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"

static inline const char *mock_path(void)
{
	static char path[4096];
	const char *b = getenv("PT_BUILDDIR");

	snprintf(path, sizeof(path), "%s/src/mux/proctor-mock-renderer",
		 b ? b : "build");
	return path;
}

/*
 * A gate for mock_block: a FIFO in the test's directory, held open by the
 * test (read-write, so the worker's open never waits). Each byte written
 * lets one mock_block go on; closing the fd lets all go on. Returns the
 * fd; the path goes to path (PATH_MAX bytes).
 */
static inline int gate_new(const char *name, char *path, size_t size)
{
	int fd;

	snprintf(path, size, "%s/%s", pt_test_tmpdir(), name);
	if (mkfifo(path, 0600) < 0)
		PT_FAIL("mkfifo %s failed", path);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		PT_FAIL("open %s failed", path);
	return fd;
}

static inline void gate_pass(int fd)
{
	if (write(fd, "x", 1) != 1)
		PT_FAIL("cannot write to the gate");
}

static inline json_t *J(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);

	if (!v)
		PT_FAIL("bad test JSON %s: %s", text, e.text);
	return v;
}

/* The string at key, "" when absent (so comparisons print something). */
static inline const char *S(const json_t *m, const char *key)
{
	const char *s = json_string_value(json_object_get(m, key));

	return s ? s : "";
}

/* Compact, sorted dump for exact comparisons; static rotation buffer. */
static inline const char *D(const json_t *v)
{
	static char bufs[4][8192];
	static int k;
	char *b = bufs[k++ & 3];
	size_t n =
		v ? json_dumpb(v, b, sizeof(bufs[0]) - 1,
			       JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)
		  : 0;

	b[n < sizeof(bufs[0]) ? n : sizeof(bufs[0]) - 1] = '\0';
	return v ? b : "(null)";
}

#endif
