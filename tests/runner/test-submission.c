/*
 * Checkbox's submission artefacts (proctor/submission.h) from a session
 * whose jobs really ran: submission.json (keys, value formats, category
 * names, resources, attachments, rejected jobs, the launcher),
 * submission.junit (exact text), and the .tar.xz, listed and extracted
 * with GNU tar (members, test_output/ and attachment_files/ bytes).
 */
#define _GNU_SOURCE 1
#include "base/buf.h"
#include "base/common.h"
#include "os/file.h"
#include "os/proc.h"

#include <jansson.h>
#include <proctor/runner.h>
#include <proctor/session.h>
#include <proctor/submission.h>
#include <proctor/unit.h>

#include "tap.h"

static const char units_text[] =
	"unit: category\nid: info\n_name: Informational tests\n\n"
	"id: cpuinfo\nplugin: resource\ncommand: printf 'count: 2\\n"
	"platform: x86_64\\n'\n\n"
	"id: info/hello\n_summary: Says hello\nplugin: shell\n"
	"category_id: info\ncommand: echo hello; echo oops >&2\n\n"
	"id: info/bad\nplugin: shell\ncertification_status: blocker\n"
	"command: echo broken; exit 3\n\n"
	"id: info/files\nplugin: attachment\ncategory_id: info\n"
	"command: printf 'attached\\001\\n'\n\n"
	"id: info/not-run\nplugin: shell\ncommand: true\n\n"
	"id: info/rejected\nplugin: shell\ncommand: true\n";

struct fixture {
	struct pt_units *u;
	struct pt_session *s;
	const char *dir;
};

/* Loads the units, runs every job but not-run, records the results. */
static struct fixture setup(void)
{
	struct fixture f = { .dir = pt_test_tmpdir() };
	struct pt_load_options opt = { .ns = "com.canonical.certification" };
	const struct pt_job *jobs[16];
	struct pt_runner_config c;
	struct pt_runner *r = NULL;
	size_t n;
	static const char *const rejected[] = {
		"com.canonical.certification::info/rejected"
	};

	PT_ASSERT_OK(pt_units_new(&f.u));
	PT_ASSERT_INT_GE(pt_units_load_buffer(f.u, units_text,
					      strlen(units_text), "t.pxu", &opt,
					      NULL),
			 0);
	n = pt_units_job_count(f.u);
	PT_ASSERT_UINT_EQ(n, 6);
	for (size_t i = 0; i < n; i++)
		jobs[i] = pt_units_job(f.u, i);
	PT_ASSERT_OK(pt_session_new(jobs, n, &f.s));
	PT_ASSERT_OK(pt_session_set_title(f.s, "trial"));
	PT_ASSERT_OK(pt_session_set_rejected(f.s, rejected, 1));
	pt_runner_config_init(&c);
	c.jobs = 1;
	c.tmp_root = f.dir;
	c.io_log_dir = f.dir;
	c.port_count = 0;
	PT_ASSERT_OK(pt_runner_new(&c, &r));
	for (size_t i = 0; i < 4; i++) {
		struct pt_run_request q = { .job = jobs[i], .order = i };
		PT_ASSERT_OK(pt_runner_submit(r, &q));
	}
	for (size_t i = 0; i < 4; i++) {
		struct pt_run_done d;
		char *out = NULL;
		size_t len = 0;

		PT_ASSERT_INT_EQ(pt_runner_step(r, 20000, &d), 1);
		d.result.duration = 1.5; /* fixed, for exact output */
		PT_ASSERT_OK(pt_runner_iolog_read(d.result.io_log,
						  PT_STREAM_STDOUT, 4096, &out,
						  &len, NULL));
		PT_ASSERT_OK(pt_session_set_result_output(
			f.s, pt_session_job_index(f.s, d.job->id), &d.result,
			out, len, NULL));
		pt_free(out);
	}
	pt_runner_free(r);
	return f;
}

static void teardown(struct fixture *f)
{
	pt_session_free(f->s);
	pt_units_free(f->u);
}

static struct pt_submission sub(const struct fixture *f)
{
	struct pt_submission s = {
		.session = f->s,
		.units = f->u,
		.session_dir = f->dir,
		.testplan_id = "com.canonical.certification::trial",
		.launcher_text = "[launcher]\napp_id = com.example:t\n"
				 "[test plan]\nunit = x::y\n",
		.mtime = 1700000000,
	};
	return s;
}

PT_TEST_TIMEOUT(submission_json, 60)
{
	struct fixture f = setup();
	struct pt_submission s = sub(&f);
	char *doc = NULL;
	size_t len = 0;
	json_t *j, *res, *e;
	json_error_t err;
	const char *keys[32];
	size_t nk = 0;
	const char *k;
	json_t *v;
	struct pt_buf got = PT_BUF_INIT;

	PT_ASSERT_OK(pt_submission_json(&s, &doc, &len));
	PT_ASSERT_UINT_EQ(strlen(doc), len);
	j = json_loads(doc, 0, &err);
	PT_ASSERT_NOT_NULL(j);
	json_object_foreach(j, k, v) keys[nk++] = k;
	for (size_t i = 0; i < nk; i++)
		pt__buf_addf(&got, "%s%s", i ? " " : "", keys[i]);
	PT_ASSERT_STR_EQ(got.s, "title origin testplan_id custom_joblist "
				"results attachment-results rejected-jobs "
				"category_map launcher system_information "
				"processor");
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(j, "title")),
			 "trial");
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(
				 json_object_get(j, "origin"), "name")),
			 "proctor");
	PT_ASSERT(json_is_false(json_object_get(j, "custom_joblist")));
	res = json_object_get(j, "results");
	PT_ASSERT_UINT_EQ(json_array_size(res), 3); /* sorted by full id */
	e = json_array_get(res, 0);
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(e, "full_id")),
			 "com.canonical.certification::cpuinfo");
	e = json_array_get(res, 1);
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(e, "id")),
			 "info/bad");
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(e, "status")),
			 "fail");
	PT_ASSERT_STR_EQ(
		json_string_value(json_object_get(e, "certification_status")),
		"blocker");
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(e, "category_id")),
			 "com.canonical.plainbox::uncategorised");
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(e, "category")), "");
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(e, "io_log")),
			 "broken\n");
	e = json_array_get(res, 2);
	{
		char one[2048];
		PT_ASSERT(json_dumpb(e, one, sizeof(one), JSON_COMPACT) <
			  sizeof(one));
		one[json_dumpb(e, NULL, 0, JSON_COMPACT)] = '\0';
		PT_ASSERT_STR_EQ(
			one,
			"{\"id\":\"info/hello\",\"full_id\":\"com.canonical."
			"certification::info/hello\",\"name\":\"Says hello\","
			"\"certification_status\":\"non-blocker\","
			"\"category\":\"Informational tests\",\"category_id\":"
			"\"com.canonical.certification::info\",\"status\":"
			"\"pass\",\"outcome\":\"pass\",\"skip_reason\":null,"
			"\"comments\":null,\"io_log\":\"hello\\noops\\n\","
			"\"type\":\"test\",\"project\":\"certification\","
			"\"duration\":1.5,\"plugin\":\"shell\",\"template_id\":"
			"null}");
	}
	res = json_object_get(j, "attachment-results");
	PT_ASSERT_UINT_EQ(json_array_size(res), 1);
	e = json_array_get(res, 0);
	/* stdout only, the control character removed */
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(e, "io_log")),
			 "attached\n");
	PT_ASSERT_NULL(json_object_get(e, "type"));
	res = json_object_get(j, "rejected-jobs");
	PT_ASSERT_UINT_EQ(json_array_size(res), 1);
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(
				 json_array_get(res, 0), "plugin")),
			 "shell");
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(
				 json_object_get(j, "category_map"),
				 "com.canonical.certification::info")),
			 "Informational tests");
	PT_ASSERT_UINT_EQ(json_object_size(json_object_get(j, "category_map")),
			  1);
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(
				 json_object_get(json_object_get(j, "launcher"),
						 "launcher"),
				 "app_id")),
			 "com.example:t");
	PT_ASSERT_STR_EQ(json_string_value(json_object_get(
				 json_object_get(j, "processor"), "count")),
			 "2");
	json_decref(j);
	pt_free(doc);
	pt__buf_release(&got);
	teardown(&f);
}

PT_TEST_TIMEOUT(submission_junit, 60)
{
	struct fixture f = setup();
	struct pt_submission s = sub(&f);
	char *doc = NULL;

	PT_ASSERT_OK(pt_submission_junit(&s, &doc, NULL));
	PT_ASSERT_STR_EQ(
		doc,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"  <testsuites failures=\"1\" name=\"\" tests=\"2\" "
		"skipped=\"0\" errors=\"0\">\n"
		"    <testcase classname=\"com.canonical.certification::"
		"cpuinfo\" name=\"com.canonical.certification::cpuinfo\" "
		"time=\"1.5\">\n    </testcase>\n"
		"    <testcase classname=\"com.canonical.certification::info/"
		"bad\" name=\"com.canonical.certification::info/bad\" "
		"time=\"1.5\"><failure type=\"\">\n      broken\n\n"
		"      </failure>\n    </testcase>\n"
		"    <testcase classname=\"com.canonical.certification::info/"
		"hello\" name=\"com.canonical.certification::info/hello\" "
		"time=\"1.5\">\n    </testcase>\n  </testsuites>\n");
	pt_free(doc);
	teardown(&f);
}

static int run(const char *const *argv, int out)
{
	pid_t pid;
	int st = -1;

	PT_ASSERT_OK(pt__spawn(&(struct pt_spawn){ .argv = argv,
						   .fd_in = -1,
						   .fd_out = out,
						   .fd_err = -2,
						   .search = true },
			       &pid, NULL));
	PT_ASSERT_OK(pt__proc_wait(pid, -1, 20000, &st));
	return st;
}

PT_TEST_TIMEOUT(submission_tarball, 60)
{
	struct fixture f = setup();
	struct pt_submission s = sub(&f);
	struct pt_buf tarball = PT_BUF_INIT, x = PT_BUF_INIT;
	char *list = NULL, *got = NULL;
	size_t len;

	pt__buf_addf(&tarball, "%s/sub.tar.xz", f.dir);
	pt__buf_addf(&x, "%s/x", f.dir);
	PT_ASSERT_OK(pt__mkdir_p(x.s, 0755));
	PT_ASSERT_OK(pt_submission_write(&s, tarball.s));
	{
		const char *argv[] = {
			"sh", "-c",	 "tar -tJf \"$1\" > \"$2\"",
			"sh", tarball.s, pt_test_path("list"),
			NULL
		};
		PT_ASSERT_INT_EQ(run(argv, -1), 0);
	}
	PT_ASSERT_OK(pt__read_file(pt_test_path("list"), 4096, &list, &len));
	PT_ASSERT_STR_EQ(list,
			 "submission.html\nsubmission.json\nsubmission.junit\n"
			 "test_output/com.canonical.certification__cpuinfo\n"
			 "test_output/com.canonical.certification__info_hello\n"
			 "test_output/com.canonical.certification__info_hello."
			 "stderr\n"
			 "test_output/com.canonical.certification__info_bad\n"
			 "attachment_files/com.canonical.certification__info_"
			 "files\n");
	{
		const char *argv[] = {
			"tar", "-C", x.s, "-xJf", tarball.s, NULL
		};
		PT_ASSERT_INT_EQ(run(argv, -1), 0);
	}
	pt__buf_addf(&x, "/attachment_files/com.canonical.certification__"
			 "info_files");
	PT_ASSERT_OK(pt__read_file(x.s, 100, &got, &len));
	PT_ASSERT_STR_EQ(got, "attached\001\n"); /* the bytes as printed */
	pt__free(got);
	pt__free(list);
	pt__buf_release(&tarball);
	pt__buf_release(&x);
	teardown(&f);
}

PT_TEST(submission_write_fails_cleanly)
{
	struct fixture f = { 0 };
	struct pt_submission s = { 0 };

	PT_ASSERT_ERR(pt_submission_write(&s, "x"), -EINVAL);
	(void)f;
	{
		const struct pt_job *none[1];
		struct pt_session *ss = NULL;
		PT_ASSERT_OK(pt_session_new(none, 0, &ss));
		s.session = ss;
		/* a directory that does not exist: nothing is written */
		PT_ASSERT_ERR(
			pt_submission_write(&s, pt_test_path("no/x.tar.xz")),
			-ENOENT);
		pt_session_free(ss);
	}
}
