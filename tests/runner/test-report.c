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
	PT_ASSERT_OK(pt__proc_wait(pid, pidfd, 20000, &st));
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
