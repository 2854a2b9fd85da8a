/*
 * Checkbox launcher files: every key proctor implements, Checkbox's list
 * splitting, defaults, and a clear error (file:line, the key) for what
 * proctor does not implement or does not know.
 */
#include "base/buf.h"
#include "base/common.h"

#include <proctor/launcher.h>

#include "tap.h"

static const char trial[] =
	"[launcher]\n"
	"launcher_version = 1\n"
	"app_id = com.example:trial\n"
	"stock_reports = text, submission_files\n"
	"session_title = My 100%% run\n"
	"[test plan]\n"
	"unit = com.canonical.certification::info-attachment-cert-automated\n"
	"forced = yes\n"
	"[test selection]\n"
	"forced = yes\n"
	"exclude = .*manual.*, com\\.x::a\n"
	"   'a b'  \"c\\\"d\"\n"
	"   # a comment line inside the value\n"
	"[ui]\n"
	"type = silent\n"
	"auto_retry = True\n"
	"max_attempts = 5\n"
	"[agent]\n"
	"normal_user = ubuntu\n"
	"[environment]\n"
	"WIFI_SSID = lab\n"
	"[manifest]\n"
	"com.canonical.certification::has_usb = true\n"
	"[transport:local_file]\n"
	"type = file\n"
	"path = OUT.tar.xz\n"
	"[transport:out]\n"
	"type = stream\n"
	"[exporter:json]\n"
	"unit = com.canonical.plainbox::json\n"
	"[report:file]\n"
	"transport = local_file\n"
	"exporter = tar\n"
	"forced = yes\n"
	"[report:screen]\n"
	"transport = out\n"
	"exporter = json\n";

static char *join(struct pt_strlist l)
{
	static char buf[1024];
	size_t o = 0;

	buf[0] = 0;
	for (size_t i = 0; i < l.n; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s",
				      i ? "|" : "", l.v[i]);
	return buf;
}

PT_TEST(launcher_trial)
{
	struct pt_launcher *l = NULL;
	struct pt_diags *d = NULL;

	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_OK(
		pt_launcher_parse(trial, strlen(trial), "trial.conf", d, &l));
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	PT_ASSERT_STR_EQ(l->file, "trial.conf");
	PT_ASSERT_UINT_EQ(l->version, 1);
	PT_ASSERT_STR_EQ(l->app_id, "com.example:trial");
	PT_ASSERT_STR_EQ(l->session_title, "My 100% run");
	PT_ASSERT_STR_EQ(join(l->stock_reports), "text|submission_files");
	PT_ASSERT_STR_EQ(l->test_plan, "com.canonical.certification::"
				       "info-attachment-cert-automated");
	PT_ASSERT(l->test_plan_forced);
	PT_ASSERT(l->selection_forced);
	PT_ASSERT_STR_EQ(join(l->exclude), ".*manual.*|com.x::a|a b|c\"d");
	PT_ASSERT_UINT_EQ(l->match.n, 0);
	PT_ASSERT_INT_EQ(l->ui, PT_LAUNCHER_UI_SILENT);
	PT_ASSERT(l->auto_retry);
	PT_ASSERT_UINT_EQ(l->max_attempts, 5);
	PT_ASSERT_STR_EQ(l->normal_user, "ubuntu");
	PT_ASSERT_UINT_EQ(l->n_environment, 1);
	PT_ASSERT_STR_EQ(l->environment[0].key, "WIFI_SSID");
	PT_ASSERT_STR_EQ(l->environment[0].value, "lab");
	PT_ASSERT_UINT_EQ(l->n_manifest, 1);
	PT_ASSERT_STR_EQ(l->manifest[0].key,
			 "com.canonical.certification::has_usb");
	PT_ASSERT_STR_EQ(l->manifest[0].value, "true");
	PT_ASSERT_UINT_EQ(l->manifest[0].line, 23);
	PT_ASSERT_UINT_EQ(l->n_reports, 2);
	PT_ASSERT_STR_EQ(l->reports[0].name, "file");
	PT_ASSERT_STR_EQ(l->reports[0].exporter, "com.canonical.plainbox::tar");
	PT_ASSERT_STR_EQ(l->reports[0].transport_type, "file");
	PT_ASSERT_STR_EQ(l->reports[0].path, "OUT.tar.xz");
	PT_ASSERT(l->reports[0].forced);
	PT_ASSERT_STR_EQ(l->reports[1].exporter,
			 "com.canonical.plainbox::json");
	PT_ASSERT_STR_EQ(l->reports[1].transport_type, "stream");
	PT_ASSERT_STR_EQ(l->reports[1].stream, "stdout");
	PT_ASSERT(!l->reports[1].forced);
	PT_ASSERT_STR_EQ(l->text, trial);
	pt_launcher_free(l);
	pt_diags_free(d);
}

PT_TEST(launcher_defaults)
{
	struct pt_launcher *l = NULL;

	PT_ASSERT_OK(pt_launcher_parse("", 0, NULL, NULL, &l));
	PT_ASSERT_STR_EQ(l->file, "<input>");
	PT_ASSERT_STR_EQ(l->app_id, "checkbox-cli");
	PT_ASSERT_STR_EQ(l->session_title, "session title");
	PT_ASSERT_STR_EQ(join(l->stock_reports),
			 "text|certification|submission_files");
	PT_ASSERT_NULL(l->test_plan);
	PT_ASSERT_NULL(l->normal_user);
	PT_ASSERT_INT_EQ(l->ui, PT_LAUNCHER_UI_INTERACTIVE);
	PT_ASSERT_UINT_EQ(l->max_attempts, 3);
	PT_ASSERT(l->strict_template_expansion);
	PT_ASSERT_UINT_EQ(l->n_reports + l->n_environment + l->n_manifest, 0);
	pt_launcher_free(l);
}

static const struct {
	const char *name, *in, *diags;
} bad[] = {
	{ "unknown_key", "[launcher]\nlauncher_version = 1\nfoo = 1\n",
	  "3:foo:unknown key 'foo' in [launcher]" },
	{ "unknown_section", "[nonsense]\nk = 1\n",
	  "2:k:unknown section [nonsense]" },
	{ "restart", "[restart]\nstrategy = x\n",
	  "2:strategy:'strategy' in [restart] is not supported by proctor: "
	  "proctor resumes with `proctor resume`" },
	{ "bad_bool", "[test plan]\nforced = perhaps\n",
	  "2:forced:'forced' in [test plan] is not a boolean (yes, no, true "
	  "or false): 'perhaps'" },
	{ "bad_number", "[ui]\nmax_attempts = many\n",
	  "2:max_attempts:'max_attempts' in [ui] is not a number (0 to "
	  "1000000): 'many'" },
	{ "ui_type", "[ui]\ntype = converged\n",
	  "2:type:[ui] type 'converged' is not supported (interactive or "
	  "silent)" },
	{ "stock_unknown", "[launcher]\nstock_reports = text, fancy\n",
	  "2:stock_reports:stock report 'fancy' is not supported by "
	  "proctor (text, submission_files or none)" },
	{ "stock_certification", "[launcher]\nstock_reports = certification\n",
	  "2:stock_reports:stock report 'certification' uploads to the "
	  "certification site, which proctor does not do (allowed in a "
	  "silent launcher, where checkbox-cli skips it)" },
	{ "tar_to_stream",
	  "[transport:o]\ntype = stream\n[report:r]\n"
	  "transport = o\nexporter = tar\n",
	  "4:transport:[report:r] writes the tar exporter's archive to a "
	  "stream; give it a file transport" },
	{ "upload", "[transport:c3]\ntype = submission-service\n",
	  "2:type:transport type 'submission-service' is not supported by "
	  "proctor (file or stream)" },
	{ "xlsx",
	  "[transport:f]\ntype = file\npath = x\n[report:r]\n"
	  "transport = f\nexporter = xlsx\n",
	  "6:exporter:exporter 'com.canonical.plainbox::xlsx' is not "
	  "supported by proctor (tar, json, junit, html or text)" },
	{ "no_transport", "[report:r]\ntransport = nowhere\nexporter = tar\n",
	  "2:transport:[report:r] names transport 'nowhere', which has no "
	  "[transport:nowhere] section" },
	{ "file_without_path",
	  "[transport:f]\ntype = file\n[report:r]\n"
	  "transport = f\nexporter = tar\n",
	  "2:path:[transport:f] of type file has no path" },
	{ "version", "[launcher]\nlauncher_version = 2\n",
	  "2:launcher_version:launcher_version 2 is not supported (only 1)" },
	{ "quote", "[test selection]\nexclude = 'open\n",
	  "2:exclude:no closing quotation in the value of 'exclude'" },
	{ "default_section", "[DEFAULT]\nx = 1\n",
	  "1:(null):[DEFAULT] section is not supported" },
	{ "ini_syntax", "[launcher]\nno equals sign\n",
	  "2:(null):not a [section] nor a 'key = value' line" },
};

PT_TEST(launcher_errors)
{
	for (size_t i = 0; i < PT_ARRAY_SIZE(bad); i++) {
		struct pt_launcher *l = NULL;
		struct pt_diags *d = NULL;
		struct pt_buf got = PT_BUF_INIT;

		PT_ASSERT_OK(pt_diags_new(&d));
		PT_ASSERT_ERR(pt_launcher_parse(bad[i].in, strlen(bad[i].in),
						"l.conf", d, &l),
			      PT_EPARSE);
		PT_ASSERT_NULL(l);
		for (size_t k = 0; k < pt_diags_count(d); k++) {
			const struct pt_diag *g = pt_diags_get(d, k);
			PT_ASSERT_STR_EQ(g->file, "l.conf");
			pt__buf_addf(&got, "%s%u:%s:%s", k ? "\n" : "", g->line,
				     g->field ? g->field : "(null)",
				     g->message);
		}
		if (strcmp(got.s, bad[i].diags))
			PT_FAIL("case %s: got '%s', want '%s'", bad[i].name,
				got.s, bad[i].diags);
		pt__buf_release(&got);
		pt_diags_free(d);
	}
}

PT_TEST(launcher_silent_allows_the_certification_stock_report)
{
	static const char t[] = "[launcher]\nstock_reports = text, "
				"certification, submission_files\n"
				"[ui]\ntype = silent\n";
	struct pt_launcher *l = NULL;

	PT_ASSERT_OK(pt_launcher_parse(t, strlen(t), "l", NULL, &l));
	PT_ASSERT_STR_EQ(join(l->stock_reports),
			 "text|certification|submission_files");
	pt_launcher_free(l);
}

PT_TEST(launcher_missing_file)
{
	struct pt_launcher *l = NULL;
	struct pt_diags *d = NULL;

	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_ERR(pt_launcher_load(pt_test_path("none.conf"), d, &l),
		      -ENOENT);
	PT_ASSERT_NULL(l);
	PT_ASSERT_STR_EQ(pt_diags_get(d, 0)->message,
			 "cannot read the launcher: No such file or directory");
	pt_diags_free(d);
}
