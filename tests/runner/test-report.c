/*
 * Tests of the reports: exact JUnit/TAP/JSON output for a small session,
 * the JUnit schema (xmllint), prove accepting the TAP, jansson parsing the
 * JSON, and hostile bytes in outputs.
 */
#include "base/buf.h"
#include "base/common.h"
#include "base/str.h"
#include "os/file.h"
#include "os/proc.h"
#include "runner/runner-internal.h"

#include <fcntl.h>
#include <jansson.h>
#include <proctor/report.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "tap.h"

/* Writes an io log with the given records (stream, text) pairs. */
static void write_log(const char *path, const char *out, const char *err)
{
	struct pt_iolog_w w;
	unsigned char buf[PT_IOLOG_HDR + 256 + PT_IOLOG_TAIL];

	PT_ASSERT_OK(pt__iolog_w_init(&w, path));
	if (out) {
		memcpy(buf + PT_IOLOG_HDR, out, strlen(out));
		PT_ASSERT_OK(pt__iolog_w_add(&w, 1000, PT_STREAM_STDOUT,
					     buf + PT_IOLOG_HDR, strlen(out)));
	}
	if (err) {
		memcpy(buf + PT_IOLOG_HDR, err, strlen(err));
		PT_ASSERT_OK(pt__iolog_w_add(&w, 2000, PT_STREAM_STDERR,
					     buf + PT_IOLOG_HDR, strlen(err)));
	}
	PT_ASSERT_OK(pt__iolog_w_close(&w));
	pt__iolog_w_release(&w);
}

static const struct pt_report_session sess = {
	.id = "s-123",
	.title = "demo",
	.seed = 7,
	.started_ns =
		INT64_C(1764088771) * 1000000000, /* 2025-11-25T16:39:31 */
	.duration = 2.5,
	.hostname = "box",
};

static size_t mkjobs(struct pt_report_job *j)
{
	write_log(pt_test_path("a.log"), "built\n", NULL);
	write_log(pt_test_path("b.log"), NULL,
		  "src/foo.c:12: bad <ws> & \"q\"\n");
	memset(j, 0, 6 * sizeof(*j));
	j[0] = (struct pt_report_job){
		.id = "ex::build",
		.summary = "Build",
		.result = { .outcome = PT_OUTCOME_PASS,
			    .duration = 0.25,
			    .attempt = 1,
			    .started_ns = sess.started_ns,
			    .io_log = "io/a.log" },
		.io_log_path = pt_test_path("a.log"),
	};
	j[1] = (struct pt_report_job){
		.id = "ex::lint",
		.result = { .outcome = PT_OUTCOME_FAIL,
			    .return_code = 1,
			    .duration = 0.5,
			    .attempt = 2,
			    .started_ns = sess.started_ns },
		.io_log_path = pt_test_path("b.log"),
	};
	j[2] = (struct pt_report_job){
		.id = "ex::notes",
		.result = { .outcome = PT_OUTCOME_SKIPPED_DEPENDENCY,
			    .comments = "required dependency 'ex::lint' has "
					"failed",
			    .duration = -1 },
	};
	j[3] = (struct pt_report_job){
		.id = "ex::slow",
		.result = { .outcome = PT_OUTCOME_TIMEOUT,
			    .return_code = -15,
			    .duration = 2,
			    .comments = "timed out after 2 s: SIGTERM to its "
					"process group",
			    .attempt = 1 },
	};
	j[4] = (struct pt_report_job){
		.id = "ex::boom",
		.result = { .outcome = PT_OUTCOME_CRASH,
			    .return_code = -11,
			    .duration = 0.125,
			    .attempt = 1,
			    .comments = "killed by signal 11 (Segmentation "
					"fault)" },
	};
	j[5] = (struct pt_report_job){
		.id = "plain#id",
		.result = { .outcome = PT_OUTCOME_NONE, .duration = -1 },
	};
	return 6;
}

static char *render(enum pt_report_format f, const struct pt_report_job *j,
		    size_t n)
{
	char *s = NULL;
	size_t len = 0;

	PT_ASSERT_OK(pt_report_render(f, &sess, j, n, 0, &s, &len));
	PT_ASSERT_UINT_EQ(len, strlen(s));
	return s;
}

static const char junit_want[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<testsuites name=\"proctor\" tests=\"6\" failures=\"2\" errors=\"1\" "
	"skipped=\"2\" time=\"2.500\">\n"
	"  <testsuite name=\"demo\" tests=\"6\" failures=\"2\" errors=\"1\" "
	"skipped=\"2\" time=\"2.500\" timestamp=\"2025-11-25T16:39:31\" "
	"hostname=\"box\">\n"
	"    <properties>\n"
	"      <property name=\"session\" value=\"s-123\"/>\n"
	"      <property name=\"seed\" value=\"7\"/>\n"
	"    </properties>\n"
	"    <testcase name=\"build\" classname=\"ex\" time=\"0.250\">\n"
	"      <system-out>built\n</system-out>\n"
	"    </testcase>\n"
	"    <testcase name=\"lint\" classname=\"ex\" time=\"0.500\">\n"
	"      <failure message=\"exit code 1 (attempt 2)\" type=\"fail\"/>\n"
	"      <system-err>src/foo.c:12: bad &lt;ws&gt; &amp; \"q\"\n"
	"</system-err>\n"
	"    </testcase>\n"
	"    <testcase name=\"notes\" classname=\"ex\" time=\"0.000\">\n"
	"      <skipped message=\"skipped-dependency: required dependency "
	"'ex::lint' has failed\"/>\n"
	"    </testcase>\n"
	"    <testcase name=\"slow\" classname=\"ex\" time=\"2.000\">\n"
	"      <failure message=\"timed out\" type=\"timeout\">timed out after "
	"2 s: SIGTERM to its process group</failure>\n"
	"    </testcase>\n"
	"    <testcase name=\"boom\" classname=\"ex\" time=\"0.125\">\n"
	"      <error message=\"crashed (return code -11)\" type=\"crash\">"
	"killed by signal 11 (Segmentation fault)</error>\n"
	"    </testcase>\n"
	"    <testcase name=\"plain#id\" classname=\"proctor\" "
	"time=\"0.000\">\n"
	"      <skipped message=\"not run\"/>\n"
	"    </testcase>\n"
	"  </testsuite>\n"
	"</testsuites>\n";

static const char tap_want[] =
	"TAP version 14\n"
	"1..6\n"
	"# proctor session s-123 seed 7\n"
	"ok 1 - ex::build\n"
	"not ok 2 - ex::lint\n"
	"  ---\n"
	"  outcome: fail\n"
	"  return_code: 1\n"
	"  duration: 0.500\n"
	"  attempt: 2\n"
	"  stderr: \"src/foo.c:12: bad <ws> & \\\"q\\\"\\n\"\n"
	"  ...\n"
	"ok 3 - ex::notes # SKIP skipped-dependency: required dependency "
	"'ex::lint' has failed\n"
	"not ok 4 - ex::slow\n"
	"  ---\n"
	"  outcome: timeout\n"
	"  return_code: -15\n"
	"  duration: 2.000\n"
	"  attempt: 1\n"
	"  comments: \"timed out after 2 s: SIGTERM to its process group\"\n"
	"  ...\n"
	"not ok 5 - ex::boom\n"
	"  ---\n"
	"  outcome: crash\n"
	"  return_code: -11\n"
	"  duration: 0.125\n"
	"  attempt: 1\n"
	"  comments: \"killed by signal 11 (Segmentation fault)\"\n"
	"  ...\n"
	"ok 6 - plain\\#id # SKIP not run\n";

PT_TEST(junit_exact_output)
{
	struct pt_report_job j[6];
	size_t n = mkjobs(j);
	char *s = render(PT_REPORT_JUNIT, j, n);

	PT_ASSERT_STR_EQ(s, junit_want);
	pt__free(s);
}

PT_TEST(tap_exact_output)
{
	struct pt_report_job j[6];
	size_t n = mkjobs(j);
	char *s = render(PT_REPORT_TAP, j, n);
	char *s13 = render(PT_REPORT_TAP13, j, n);

	PT_ASSERT_STR_EQ(s, tap_want);
	/* tap13 differs in the version line only */
	PT_ASSERT(!strncmp(s13, "TAP version 13\n", 15));
	PT_ASSERT_STR_EQ(s13 + 15, s + 15);
	pt__free(s);
	pt__free(s13);
}

/* Runs argv with stdout/stderr to a file; returns the exit status. */
static int run(const char *const *argv, const char *outfile)
{
	struct pt_spawn sp = { .argv = argv, .fd_in = -1, .search = true };
	int fd, st = -1, pidfd = -1;
	pid_t pid;

	fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	PT_ASSERT_INT_GE(fd, 0);
	sp.fd_out = sp.fd_err = fd;
	if (pt__spawn(&sp, &pid, &pidfd) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	PT_ASSERT_OK(pt__proc_wait(pid, pidfd, 60000, &st));
	close(pidfd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void need(const char *prog)
{
	const char *argv[] = { "sh", "-c", NULL, NULL };
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s", prog);
	argv[2] = cmd;
	if (run(argv, pt_test_path("need.out")) != 0)
		pt_test_skip(prog);
}

static void write_str(const char *path, const char *s)
{
	PT_ASSERT_OK(pt__write_file_atomic(path, s, strlen(s), 0644));
}

static void show(const char *path)
{
	char *s = NULL;
	size_t n;

	if (pt__read_file(path, 1 << 16, &s, &n) == 0)
		fprintf(stderr, "%s", s);
	pt__free(s);
}

static void check_schema(const char *xml)
{
	char xsd[1024];
	const char *argv[] = {
		"xmllint", "--noout", "--schema", xsd, pt_test_path("r.xml"),
		NULL
	};
	int st;

	snprintf(xsd, sizeof(xsd), "%s/tests/runner/data/junit.xsd",
		 pt_test_srcdir());
	write_str(pt_test_path("r.xml"), xml);
	st = run(argv, pt_test_path("xmllint.out"));
	if (st != 0)
		show(pt_test_path("xmllint.out"));
	PT_ASSERT_INT_EQ(st, 0);
}

PT_TEST(junit_validates_against_schema)
{
	struct pt_report_job j[6];
	size_t n = mkjobs(j);
	char *s;

	need("xmllint");
	s = render(PT_REPORT_JUNIT, j, n);
	check_schema(s);
	pt__free(s);
	/* An empty session is valid too. */
	s = render(PT_REPORT_JUNIT, j, 0);
	check_schema(s);
	pt__free(s);
}

PT_TEST(hostile_output_stays_valid)
{
	struct pt_report_job j = {
		.id = "x::\x01weird\xff<id>",
		.result = { .outcome = PT_OUTCOME_FAIL,
			    .return_code = 2,
			    .comments = "bad \x1b[31m\xc3\x28 ]]> end" },
		.io_log_path = pt_test_path("h.log"),
	};
	char *s;
	json_error_t je;
	json_t *root;

	need("xmllint");
	write_log(pt_test_path("h.log"), "\x00\x01\x02\xfe\xed ok\xe2\x82\n",
		  "\xef\xbf\xbf\r\n");
	s = render(PT_REPORT_JUNIT, &j, 1);
	check_schema(s);
	PT_ASSERT_NOT_NULL(strstr(
		s,
		"name=\"\xef\xbf\xbdweird\xef\xbf\xbd&lt;id&gt;\" classname=\"x\""));
	pt__free(s);
	s = render(PT_REPORT_JSON, &j, 1);
	root = json_loads(s, 0, &je);
	if (!root)
		PT_FAIL("invalid JSON at %d: %s\n%s", je.position, je.text, s);
	PT_ASSERT_STR_EQ(
		json_string_value(json_object_get(
			json_array_get(json_object_get(root, "jobs"), 0),
			"comments")),
		"bad \x1b[31m\xef\xbf\xbd( ]]> end");
	json_decref(root);
	pt__free(s);
	s = render(PT_REPORT_TAP, &j, 1);
	PT_ASSERT(pt__starts_with(s, "TAP version 14\n1..1\n"));
	PT_ASSERT_NOT_NULL(strstr(s, "not ok 1 - x:: weird\xef\xbf\xbd<id>\n"));
	pt__free(s);
}

/* prove accepts the TAP 13 rendering of jobs and says PASS. */
static void prove_passes(const struct pt_report_job *j, size_t n)
{
	const char *argv[] = { "prove", "-e", "cat", pt_test_path("p.tap"),
			       NULL };
	char *s = render(PT_REPORT_TAP13, j, n);
	int st;

	write_str(pt_test_path("p.tap"), s);
	pt__free(s);
	st = run(argv, pt_test_path("prove.out"));
	if (st)
		show(pt_test_path("prove.out"));
	PT_ASSERT_INT_EQ(st, 0);
}

PT_TEST(prove_accepts_tap)
{
	struct pt_report_job j[6];
	size_t n = mkjobs(j);
	char *s;
	const char *argv[] = { "prove", "-e", "cat", pt_test_path("r.tap"),
			       NULL };
	char *out = NULL;
	size_t len;
	int st;

	need("prove");
	/* Only the passing and skipped jobs: prove must say PASS. */
	{
		struct pt_report_job ok[3] = { j[0], j[2], j[5] };
		s = render(PT_REPORT_TAP13, ok, 3);
		write_str(pt_test_path("r.tap"), s);
		pt__free(s);
		st = run(argv, pt_test_path("prove.out"));
		if (st)
			show(pt_test_path("prove.out"));
		PT_ASSERT_INT_EQ(st, 0);
	}
	/* The full session: parsed, with exactly tests 2, 4, 5 failing. */
	s = render(PT_REPORT_TAP13, j, n);
	write_str(pt_test_path("r.tap"), s);
	pt__free(s);
	st = run(argv, pt_test_path("prove.out"));
	PT_ASSERT_INT_EQ(st, 1);
	PT_ASSERT_OK(
		pt__read_file(pt_test_path("prove.out"), 1 << 16, &out, &len));
	if (!strstr(out, "Failed tests:  2, 4-5") ||
	    !strstr(out, "Tests: 6 Failed: 3") || strstr(out, "Parse errors"))
		PT_FAIL("unexpected prove output:\n%s", out);
	pt__free(out);
}

PT_TEST(json_has_every_field)
{
	struct pt_report_job j[6];
	size_t n = mkjobs(j);
	char *s = render(PT_REPORT_JSON, j, n);
	json_error_t je;
	json_t *root = json_loads(s, 0, &je), *jobs, *a, *b, *c;

	if (!root)
		PT_FAIL("invalid JSON at %d: %s\n%s", je.position, je.text, s);
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(root, "format")),
			 "proctor-report");
	c = json_object_get(root, "counts");
	PT_ASSERT_INT_EQ(json_integer_value(json_object_get(c, "total")), 6);
	PT_ASSERT_INT_EQ(json_integer_value(json_object_get(c, "fail")), 1);
	PT_ASSERT_INT_EQ(json_integer_value(json_object_get(c, "timeout")), 1);
	PT_ASSERT_INT_EQ(json_integer_value(json_object_get(c, "none")), 1);
	PT_ASSERT_INT_EQ(json_integer_value(json_object_get(
				 json_object_get(root, "session"), "seed")),
			 7);
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(
				 json_object_get(root, "session"), "started")),
			 "2025-11-25T16:39:31Z");
	jobs = json_object_get(root, "jobs");
	PT_ASSERT_UINT_EQ(json_array_size(jobs), 6);
	a = json_array_get(jobs, 0);
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(a, "id")),
			 "ex::build");
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(a, "summary")),
			 "Build");
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(a, "stdout")),
			 "built\n");
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(a, "io_log")),
			 "io/a.log");
	PT_ASSERT(json_is_false(json_object_get(a, "stdout_truncated")));
	b = json_array_get(jobs, 1);
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(b, "outcome")),
			 "fail");
	PT_ASSERT_INT_EQ(json_integer_value(json_object_get(b, "attempt")), 2);
	PT_ASSERT_INT_EQ(json_integer_value(json_object_get(b, "return_code")),
			 1);
	PT_ASSERT(json_real_value(json_object_get(b, "duration")) == 0.5);
	PT_ASSERT(json_is_null(json_object_get(b, "comments")));
	PT_ASSERT(json_is_null(
		json_object_get(json_array_get(jobs, 2), "started")));
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(
				 json_array_get(jobs, 3), "class")),
			 "fail");
	json_decref(root);
	pt__free(s);
}

PT_TEST(excerpt_keeps_the_tail)
{
	struct pt_report_job j = {
		.id = "t",
		.result = { .outcome = PT_OUTCOME_PASS },
		.io_log_path = pt_test_path("t.log"),
	};
	char *s = NULL;

	write_log(pt_test_path("t.log"), "0123456789", "abc");
	PT_ASSERT_OK(
		pt_report_render(PT_REPORT_JSON, NULL, &j, 1, 4, &s, NULL));
	PT_ASSERT_NOT_NULL(strstr(s, "\"stdout\": \"6789\",\n"
				     "      \"stdout_truncated\": true,\n"
				     "      \"stderr\": \"abc\",\n"
				     "      \"stderr_truncated\": false\n"));
	pt__free(s);
}

PT_TEST(format_names_and_errors)
{
	enum pt_report_format f;
	char *s = NULL;
	struct pt_report_job noid = { 0 };

	PT_ASSERT_OK(pt_report_format_parse("junit", &f));
	PT_ASSERT_INT_EQ(f, PT_REPORT_JUNIT);
	PT_ASSERT_OK(pt_report_format_parse("tap13", &f));
	PT_ASSERT_INT_EQ(f, PT_REPORT_TAP13);
	PT_ASSERT_ERR(pt_report_format_parse("xml", &f), PT_EPARSE);
	PT_ASSERT_STR_EQ(pt_report_format_name(PT_REPORT_JSON), "json");
	PT_ASSERT_ERR(
		pt_report_render(PT_REPORT_JSON, NULL, &noid, 1, 0, &s, NULL),
		-EINVAL);
	PT_ASSERT_ERR(pt_report_render((enum pt_report_format)9, NULL, NULL, 0,
				       0, &s, NULL),
		      -EINVAL);
	PT_ASSERT_NULL(s);
}

/* A report written over a symlink replaces the link; its target stays. */
PT_TEST(report_write_replaces_planted_symlink)
{
	const char *out = pt_test_path("report.tap");
	const char *victim = pt_test_path("victim");
	char buf[16] = { 0 };
	struct stat st;
	int fd;

	PT_ASSERT_OK(pt_report_write(victim, "keep", 4));
	PT_ASSERT_OK(symlink(victim, out));
	PT_ASSERT_OK(pt_report_write(out, "TAP version 14\n", 15));
	fd = open(victim, O_RDONLY);
	PT_ASSERT_INT_GE(fd, 0);
	PT_ASSERT_INT_EQ(read(fd, buf, sizeof(buf) - 1), 4);
	close(fd);
	PT_ASSERT_STR_EQ(buf, "keep");
	PT_ASSERT_OK(lstat(out, &st));
	PT_ASSERT(S_ISREG(st.st_mode));
	PT_ASSERT_INT_EQ(st.st_size, 15);
	PT_ASSERT_ERR(pt_report_write(NULL, "x", 1), -EINVAL);
}

/* A pass after failed attempts (--retries) is marked in every format. */
PT_TEST(flaky_pass_is_marked_in_every_format)
{
	struct pt_report_job j[2] = {
		{ .id = "ex::once",
		  .result = { .outcome = PT_OUTCOME_PASS,
			      .duration = 0.5,
			      .attempt = 1 } },
		{ .id = "ex::flaky",
		  .result = { .outcome = PT_OUTCOME_PASS,
			      .duration = 0.25,
			      .attempt = 3,
			      .lane = 1,
			      .flaky = true } },
	};
	json_error_t je;
	json_t *root, *jobs;
	char *s;

	need("xmllint");
	need("prove");
	s = render(PT_REPORT_TAP, j, 2);
	PT_ASSERT_STR_EQ(s, "TAP version 14\n1..2\n# proctor session s-123 "
			    "seed 7\nok 1 - ex::once\n"
			    "ok 2 - ex::flaky # flaky: passed on attempt 3\n"
			    "  ---\n  flaky: true\n  attempt: 3\n  ...\n");
	pt__free(s);
	s = render(PT_REPORT_JUNIT, j, 2);
	PT_ASSERT_NOT_NULL(strstr(s, "      <property name=\"flaky\" "
				     "value=\"1\"/>\n    </properties>\n"));
	PT_ASSERT_NOT_NULL(strstr(s, "<testcase name=\"once\" classname=\"ex\" "
				     "time=\"0.500\">\n"));
	PT_ASSERT_NOT_NULL(strstr(s, "<testcase name=\"flaky\" "
				     "classname=\"ex\" time=\"0.250\" "
				     "status=\"flaky\">\n"));
	check_schema(s);
	pt__free(s);
	s = render(PT_REPORT_JSON, j, 2);
	root = json_loads(s, 0, &je);
	if (!root)
		PT_FAIL("invalid JSON at %d: %s\n%s", je.position, je.text, s);
	jobs = json_object_get(root, "jobs");
	PT_ASSERT(json_is_false(
		json_object_get(json_array_get(jobs, 0), "flaky")));
	PT_ASSERT(json_is_true(
		json_object_get(json_array_get(jobs, 1), "flaky")));
	PT_ASSERT_INT_EQ(json_integer_value(json_object_get(
				 json_array_get(jobs, 1), "lane")),
			 1);
	PT_ASSERT_INT_EQ(json_integer_value(json_object_get(
				 json_object_get(root, "counts"), "flaky")),
			 1);
	json_decref(root);
	pt__free(s);
	prove_passes(j, 2);
}

/* A passing job's notes (chaos faults, over budget) are in TAP too, in
 * the YAML block TAP allows after any test line (prove still passes),
 * and in JUnit at the start of its <system-out> (the schema holds). */
PT_TEST(passing_job_comments_in_tap_and_junit)
{
	struct pt_report_job j[2] = {
		{ .id = "ex::robust",
		  .result = { .outcome = PT_OUTCOME_PASS,
			      .duration = 0.5,
			      .attempt = 1,
			      .comments = "chaos: 2 faults: write ENOSPC at "
					  "call 1 (pid 12), read EINTR at call "
					  "4 (pid 12)" } },
		{ .id = "ex::flaky",
		  .result = { .outcome = PT_OUTCOME_PASS,
			      .duration = 0.25,
			      .attempt = 2,
			      .flaky = true,
			      .comments = "over budget: ran 250.0 ms, budget "
					  "100 ms" } },
	};
	char *s;

	s = render(PT_REPORT_TAP, j, 2);
	PT_ASSERT_STR_EQ(s,
			 "TAP version 14\n1..2\n# proctor session s-123 "
			 "seed 7\nok 1 - ex::robust\n"
			 "  ---\n  comments: \"chaos: 2 faults: write ENOSPC "
			 "at call 1 (pid 12), read EINTR at call 4 (pid 12)\"\n"
			 "  ...\n"
			 "ok 2 - ex::flaky # flaky: passed on attempt 2\n"
			 "  ---\n  flaky: true\n  attempt: 2\n"
			 "  comments: \"over budget: ran 250.0 ms, budget 100 "
			 "ms\"\n  ...\n");
	pt__free(s);
	s = render(PT_REPORT_JUNIT, j, 2);
	PT_ASSERT_NOT_NULL(strstr(
		s, "    <testcase name=\"robust\" classname=\"ex\" "
		   "time=\"0.500\">\n      <system-out>[proctor] chaos: 2 "
		   "faults: write ENOSPC at call 1 (pid 12), read EINTR at "
		   "call 4 (pid 12)\n</system-out>\n    </testcase>\n"));
	PT_ASSERT_NOT_NULL(strstr(
		s, "<system-out>[proctor] over budget: ran 250.0 ms, budget "
		   "100 ms\n</system-out>\n"));
	need("xmllint");
	check_schema(s);
	pt__free(s);
	need("prove");
	prove_passes(j, 2);
}

/* ---- HTML */

/* Two lanes: a pass and a fail in lane 1, a flaky pass in lane 2. */
static size_t html_jobs(struct pt_report_job *j)
{
	static char log[1024], att_path[1024];
	static struct pt_report_attachment att = { "stdout", att_path };
	int64_t t = sess.started_ns;

	snprintf(log, sizeof(log), "%s", pt_test_path("h1.log"));
	snprintf(att_path, sizeof(att_path), "%s", pt_test_path("att.txt"));
	write_log(log, "hello <b>&\n", "warn\n");
	write_str(att_path, "attached <data>\n");
	memset(j, 0, 4 * sizeof(*j));
	j[0] = (struct pt_report_job){
		.id = "ex::build",
		.summary = "Build <it>",
		.result = { .outcome = PT_OUTCOME_PASS,
			    .duration = 1.0,
			    .attempt = 1,
			    .started_ns = t,
			    .lane = 0 },
		.io_log_path = log,
	};
	j[1] = (struct pt_report_job){
		.id = "ex::lint",
		.result = { .outcome = PT_OUTCOME_FAIL,
			    .return_code = 2,
			    .duration = 1.0,
			    .attempt = 1,
			    .started_ns = t + 1000000000,
			    .lane = 0 },
	};
	j[2] = (struct pt_report_job){
		.id = "ex::unit",
		.result = { .outcome = PT_OUTCOME_PASS,
			    .duration = 2.0,
			    .attempt = 2,
			    .started_ns = t,
			    .lane = 1,
			    .flaky = true },
		.attachments = &att,
		.n_attachments = 1,
	};
	j[3] = (struct pt_report_job){
		.id = "ex::docs",
		.result = { .outcome = PT_OUTCOME_SKIPPED_DEPENDENCY,
			    .comments = "required dependency 'ex::lint' has "
					"failed",
			    .duration = -1 },
	};
	return 4;
}

PT_TEST(html_has_summary_timeline_jobs_output)
{
	struct pt_report_job j[4];
	size_t n = html_jobs(j);
	char *s = render(PT_REPORT_HTML, j, n);

	PT_ASSERT(pt__starts_with(s, "<!DOCTYPE html>\n"));
	PT_ASSERT(pt__ends_with(s, "</body>\n</html>\n"));
	/* nothing to fetch: no URL, no script */
	PT_ASSERT_NOT_NULL(strstr(s, "xmlns=\"http://www.w3.org/2000/svg\""));
	PT_ASSERT_NULL(strstr(strstr(s, "://") + 3, "://")); /* only that */
	PT_ASSERT_NULL(strstr(s, "<script"));
	PT_ASSERT_NULL(strstr(s, "src="));
	PT_ASSERT_NOT_NULL(strstr(s, "content=\"default-src 'none'; "));
	PT_ASSERT_NOT_NULL(strstr(s, "<tr><th>jobs</th><td>4</td></tr>"
				     "<tr class=\"o-pass\"><th>pass</th><td>2"
				     "</td></tr><tr class=\"o-fail\"><th>fail"
				     "</th><td>1</td></tr>"));
	PT_ASSERT_NOT_NULL(strstr(s, "<th><span class=\"flaky\">flaky</span>"
				     "</th><td>1</td>"));
	/* 2 s from the first start to the last end, 900 px wide */
	PT_ASSERT_NOT_NULL(strstr(s, "aria-label=\"timeline: 2 lanes, 2.000 "
				     "s\""));
	PT_ASSERT_NOT_NULL(strstr(s, "<rect class=\"bar bar-pass\" "
				     "data-job=\"1\" x=\"64.0\" y=\"22\" "
				     "width=\"450.0\" height=\"16\"><title>"
				     "ex::build: pass, 1.000 s</title>"));
	PT_ASSERT_NOT_NULL(strstr(s, "<rect class=\"bar bar-fail\" "
				     "data-job=\"2\" x=\"514.0\" y=\"22\" "
				     "width=\"450.0\" height=\"16\">"));
	PT_ASSERT_NOT_NULL(strstr(s, "<rect class=\"mark\" x=\"514.0\" "
				     "y=\"39\" width=\"450.0\" "
				     "height=\"3\"/>"));
	PT_ASSERT_NOT_NULL(strstr(s, "<rect class=\"bar bar-pass\" "
				     "data-job=\"3\" x=\"64.0\" y=\"46\" "
				     "width=\"900.0\""));
	/* the skipped job has no bar, and its reason */
	PT_ASSERT_NULL(strstr(s, "data-job=\"4\""));
	PT_ASSERT_NOT_NULL(strstr(s, "<td>skipped-dependency</td><td></td>"
				     "<td></td><td></td><td>required "
				     "dependency 'ex::lint' has failed</td>"));
	PT_ASSERT_NOT_NULL(strstr(s, "<td>fail</td><td>1.000 s</td><td>1"
				     "</td><td>1</td><td>exit code 2</td>"));
	PT_ASSERT_NOT_NULL(strstr(s, "<td>pass <span class=\"flaky\">flaky"
				     "</span></td><td>2.000 s</td><td>2</td>"
				     "<td>2</td>"));
	/* escaped output and attachments */
	PT_ASSERT_NOT_NULL(strstr(s, "<small>Build &lt;it&gt;</small>"));
	PT_ASSERT_NOT_NULL(strstr(s, "<h4>stdout</h4><pre>hello &lt;b&gt;"
				     "&amp;\n</pre>\n<h4>stderr</h4><pre>"
				     "warn\n</pre>"));
	PT_ASSERT_NOT_NULL(strstr(s, "<h4>attachment stdout</h4><pre>"
				     "attached &lt;data&gt;\n</pre>"));
	pt__free(s);
}

/* ---- HTML in a real browser (Debian's chromium, headless) */

static const char *chromium(void)
{
	static const char *const c[] = { "/usr/bin/chromium",
					 "/usr/bin/chromium-browser" };

	for (size_t i = 0; i < PT_ARRAY_SIZE(c); i++)
		if (access(c[i], X_OK) == 0)
			return c[i];
	pt_test_skip("chromium is not installed (scripts/install-deps.sh)");
}

/*
 * Loads file:// page in headless chromium with extra (--dump-dom or
 * --screenshot=...); its output (DOM, log) goes to out.
 */
static void browse(const char *page, const char *extra, const char *out)
{
	char url[1200], ud[1100];
	const char *argv[] = { chromium(),
			       "--headless",
			       "--no-sandbox",
			       "--disable-gpu",
			       "--disable-quic",
			       "--no-first-run",
			       "--disable-background-networking",
			       "--disable-component-update",
			       "--disable-sync",
			       ud,
			       "--enable-logging=stderr",
			       "--v=0",
			       "--window-size=1100,700",
			       extra,
			       url,
			       NULL };
	static int seq;
	int st;

	snprintf(url, sizeof(url), "file://%s", page);
	snprintf(ud, sizeof(ud), "--user-data-dir=%s/chromium-%d",
		 pt_test_tmpdir(), seq++);
	st = run(argv, out);
	if (st != 0)
		show(out);
	PT_ASSERT_INT_EQ(st, 0);
}

/* Console messages (errors, failed loads, CSP violations) in a log. */
static size_t console_lines(const char *log)
{
	size_t n = 0;

	for (const char *p = log; (p = strstr(p, ":CONSOLE")); p++)
		n++;
	return n;
}

/* The detector sees a console error (so that its silence means none). */
PT_TEST_TIMEOUT(browser_console_errors_are_seen, 120)
{
	char *log = NULL;
	size_t len;

	write_str(pt_test_path("bad.html"),
		  "<!DOCTYPE html><html><head><link rel=\"icon\" "
		  "href=\"data:,\"></head><body><script>console.error("
		  "'boom-x')</script></body></html>");
	browse(pt_test_path("bad.html"), "--dump-dom", pt_test_path("b.out"));
	PT_ASSERT_OK(pt__read_file(pt_test_path("b.out"), 1 << 22, &log, &len));
	PT_ASSERT_UINT_EQ(console_lines(log), 1);
	PT_ASSERT_NOT_NULL(strstr(log, "\"boom-x\""));
	pt__free(log);
}

PT_TEST_TIMEOUT(html_loads_in_chromium_without_console_errors, 120)
{
	struct pt_report_job j[4];
	size_t n = html_jobs(j);
	char *s = render(PT_REPORT_HTML, j, n), *dom = NULL;
	size_t len, bars = 0, lanes = 0;

	write_str(pt_test_path("r.html"), s);
	pt__free(s);
	browse(pt_test_path("r.html"), "--dump-dom", pt_test_path("d.out"));
	PT_ASSERT_OK(pt__read_file(pt_test_path("d.out"), 1 << 22, &dom, &len));
	if (console_lines(dom))
		PT_FAIL("console messages:\n%s", dom);
	/* The DOM chromium built: the timeline with its lanes and bars. */
	PT_ASSERT_NOT_NULL(strstr(dom, "<svg id=\"timeline\""));
	for (const char *p = dom; (p = strstr(p, "<g class=\"lane\"")); p++)
		lanes++;
	for (const char *p = dom; (p = strstr(p, "<rect class=\"bar ")); p++)
		bars++;
	PT_ASSERT_UINT_EQ(lanes, 2);
	PT_ASSERT_UINT_EQ(bars, 3);
	PT_ASSERT_NOT_NULL(strstr(dom, "<table id=\"jobs\">"));
	pt__free(dom);
}

/* A decoded 8-bit RGB(A) PNG, as chromium writes its screenshots. */
struct image {
	unsigned w, h, bpp;
	unsigned char *px; /* w * h * bpp */
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);

	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

static void png_decode(const unsigned char *d, size_t n, struct image *im)
{
	struct pt_buf z = PT_BUF_INIT;
	unsigned char *raw;
	uLongf rawlen;
	size_t off = 8, stride;

	PT_ASSERT(n > 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8));
	memset(im, 0, sizeof(*im));
	while (off + 12 <= n) {
		uint32_t len = be32(d + off);
		const unsigned char *type = d + off + 4, *data = d + off + 8;

		PT_ASSERT(off + 12 + (size_t)len <= n);
		if (!memcmp(type, "IHDR", 4)) {
			im->w = be32(data);
			im->h = be32(data + 4);
			PT_ASSERT_INT_EQ(data[8], 8); /* bit depth */
			PT_ASSERT(data[9] == 2 || data[9] == 6);
			PT_ASSERT_INT_EQ(data[12], 0); /* not interlaced */
			im->bpp = data[9] == 6 ? 4 : 3;
		} else if (!memcmp(type, "IDAT", 4)) {
			PT_ASSERT_OK(pt__buf_add(&z, data, len));
		}
		off += 12 + (size_t)len;
	}
	PT_ASSERT(im->w && im->h && im->w < 10000 && im->h < 10000);
	stride = (size_t)im->w * im->bpp;
	rawlen = (uLongf)((stride + 1) * im->h);
	raw = pt__malloc(rawlen);
	im->px = pt__malloc(stride * im->h);
	PT_ASSERT(raw && im->px);
	PT_ASSERT_INT_EQ(uncompress(raw, &rawlen, (const Bytef *)z.s, z.len),
			 Z_OK);
	PT_ASSERT_UINT_EQ(rawlen, (stride + 1) * im->h);
	for (unsigned y = 0; y < im->h; y++) {
		const unsigned char *in = raw + y * (stride + 1) + 1;
		unsigned char *out = im->px + y * stride;
		const unsigned char *up = y ? out - stride : NULL;
		unsigned f = in[-1];

		for (size_t x = 0; x < stride; x++) {
			int a = x >= im->bpp ? out[x - im->bpp] : 0;
			int b = up ? up[x] : 0;
			int c = up && x >= im->bpp ? up[x - im->bpp] : 0;
			int v = in[x];

			PT_ASSERT(f <= 4);
			v += f == 1   ? a
			     : f == 2 ? b
			     : f == 3 ? (a + b) / 2
			     : f == 4 ? paeth(a, b, c)
				      : 0;
			out[x] = (unsigned char)v;
		}
	}
	pt__free(raw);
	pt__buf_release(&z);
}

/* Pixels of colour rgb, and the rows they span. */
static size_t count_colour(const struct image *im, uint32_t rgb, unsigned *ymin,
			   unsigned *ymax)
{
	size_t n = 0;

	*ymin = UINT32_MAX;
	*ymax = 0;
	for (unsigned y = 0; y < im->h; y++)
		for (unsigned x = 0; x < im->w; x++) {
			const unsigned char *p =
				im->px + ((size_t)y * im->w + x) * im->bpp;
			if (((uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 |
			     p[2]) != rgb)
				continue;
			n++;
			*ymin = y < *ymin ? y : *ymin;
			*ymax = y > *ymax ? y : *ymax;
		}
	return n;
}

PT_TEST_TIMEOUT(html_screenshot_shows_the_timeline, 120)
{
	struct pt_report_job j[4];
	size_t n = html_jobs(j);
	char *s = render(PT_REPORT_HTML, j, n), *png = NULL, arg[1100];
	struct image im;
	unsigned a, b, c, d;
	size_t len, pass, fail;

	write_str(pt_test_path("r.html"), s);
	pt__free(s);
	snprintf(arg, sizeof(arg), "--screenshot=%s", pt_test_path("r.png"));
	browse(pt_test_path("r.html"), arg, pt_test_path("s.out"));
	PT_ASSERT_OK(pt__read_file(pt_test_path("r.png"), 1 << 24, &png, &len));
	png_decode((const unsigned char *)png, len, &im);
	PT_ASSERT_UINT_EQ(im.w, 1100);
	PT_ASSERT_UINT_EQ(im.h, 700);
	/*
	 * The bar colours are used nowhere else on the page: the passes
	 * (ex::build 450x16 in lane 1, ex::unit 900x16 in lane 2) and the
	 * failure (450x16, and its 450x3 mark) are drawn, the failure in
	 * the first lane's row only, the passes in both rows.
	 */
	pass = count_colour(&im, 0x2e7d32, &a, &b);
	fail = count_colour(&im, 0xd32f2f, &c, &d);
	PT_ASSERT_INT_GE((long long)pass, (450 + 900) * 16 * 9 / 10);
	PT_ASSERT_INT_LE((long long)pass, (450 + 900) * 16 * 11 / 10);
	PT_ASSERT_INT_GE((long long)fail, 450 * 19 * 9 / 10);
	PT_ASSERT_INT_LE((long long)fail, 450 * 19 * 11 / 10);
	PT_ASSERT_UINT_EQ(b - a + 1, 24 + 16);
	PT_ASSERT_UINT_EQ(d - c + 1, 16 + 1 + 3);
	PT_ASSERT_UINT_EQ(c, a); /* the failure is in the first lane */
	pt__free(im.px);
	pt__free(png);
}
