/*
 * proctor as a Checkbox user runs it: a launcher, a provider with bin/
 * and data/ (tests/cli/data/cbprov), the session share, the normal user,
 * the submission tarball; a real automated plan of the corpus end to
 * end; bad input (unknown launcher keys, a user that does not exist)
 * refused before anything is written. Waits are on pidfds, never sleeps.
 */
#define _GNU_SOURCE 1
#include "base/buf.h"
#include "base/common.h"
#include "base/str.h"
#include "os/file.h"
#include "os/proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

static const char *proctor(void)
{
	static char path[1024];
	const char *b = getenv("PT_BUILDDIR");

	snprintf(path, sizeof(path), "%s/src/tool/proctor", b ? b : "build");
	return path;
}

static const char *fixture(void)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s/tests/cli/data/cbprov",
		 pt_test_srcdir());
	return path;
}

/* A directory of the test that other users may use too. */
static const char *open_dir(const char *name)
{
	static char b[4][4096];
	static int k;
	char *d = b[k++ % 4];

	PT_ASSERT_INT_EQ(chmod(pt_test_tmpdir(), 0711), 0);
	snprintf(d, sizeof(b[0]), "%s/%s", pt_test_tmpdir(), name);
	PT_ASSERT_OK(pt__mkdir_p(d, 0777));
	PT_ASSERT_INT_EQ(chmod(d, 0777), 0);
	return d;
}

static void setup_env(void)
{
	setenv("PROCTOR_SESSION_REPOSITORY", pt_test_path("repo"), 1);
	setenv("CI", "1", 1);
	setenv("TMPDIR", open_dir("tmp"), 1);
	unsetenv("PROCTOR_SESSION_ID");
	unsetenv("SUDO_USER");
	unsetenv("FROM_LAUNCHER");
}

static char *slurp(const char *path)
{
	char *s = NULL;
	size_t n;
	int r = pt__read_file(path, 16 << 20, &s, &n);

	if (r < 0)
		PT_FAIL("cannot read %s: %s", path, pt_strerror(r));
	return s;
}

/* Runs a program (argv[0] NULL: proctor) to its end; its exit code. */
static int run(const char *const *args, char **out, char **err)
{
	const char *argv[32];
	struct pt_spawn sp = { .argv = argv, .fd_in = -1 };
	int fo, fe, n = 0, st = 0;
	pid_t pid;
	int pidfd;

	setup_env();
	argv[n++] = args[0] ? args[0] : proctor();
	for (int i = 1; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	sp.search = args[0] != NULL;
	fo = open(pt_test_path("out"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		  0644);
	fe = open(pt_test_path("err"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		  0644);
	PT_ASSERT(fo >= 0 && fe >= 0);
	sp.fd_out = fo;
	sp.fd_err = fe;
	PT_ASSERT_OK(pt__spawn(&sp, &pid, &pidfd));
	close(fo);
	close(fe);
	PT_ASSERT_OK(pt__proc_wait(pid, pidfd, 110000, &st));
	close(pidfd);
	PT_ASSERT(WIFEXITED(st));
	*out = slurp(pt_test_path("out"));
	*err = slurp(pt_test_path("err"));
	return WEXITSTATUS(st);
}

/* pt_test_path(name) in a buffer of its own (the harness rotates a few). */
static const char *tpath(const char *name)
{
	static char b[16][4096];
	static int k;
	char *r = b[k++ % 16];

	snprintf(r, 4096, "%s/%s", pt_test_tmpdir(), name);
	return r;
}

/* The 16-hex id of the session the output names. */
static void session_id(const char *out, char id[17])
{
	const char *p = strstr(out, "session ");

	PT_ASSERT_NOT_NULL(p);
	memcpy(id, p + 8, 16);
	id[16] = '\0';
}

static void write_text(const char *path, const char *text)
{
	PT_ASSERT_OK(pt__write_file_atomic(path, text, strlen(text), 0644));
}

/* Number of entries of dir (0 when it does not exist). */
static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

PT_TEST_TIMEOUT(checkbox_launcher_provider_environment_and_tarball, 100)
{
	struct pt_buf l = PT_BUF_INIT, want = PT_BUF_INIT, p = PT_BUF_INIT;
	const char *args[] = { NULL,	  "run", "--launcher", tpath("l.conf"),
			       fixture(), NULL };
	const char *rep[] = { NULL,	  "report", "--format",
			      "checkbox", "-o",	    tpath("again.tar.xz"),
			      NULL };
	char *out, *err, *f, id[17];
	bool root = geteuid() == 0;

	pt__buf_addf(&l,
		     "[launcher]\nlauncher_version = 1\n"
		     "stock_reports = text\n"
		     "[test plan]\nunit = com.example.cb::fixture\n"
		     "[ui]\ntype = silent\n"
		     "[environment]\nFROM_LAUNCHER = yes\n"
		     "[transport:out]\ntype = file\npath = %s\n"
		     "[report:tarball]\ntransport = out\nexporter = tar\n",
		     tpath("sub.tar.xz"));
	write_text(tpath("l.conf"), l.s);
	PT_ASSERT_INT_EQ(run(args, &out, &err), 0);
	PT_ASSERT_STR_EQ(err, "");
	session_id(out, id);
	/* serial without -j: a Checkbox provider */
	pt__buf_addf(
		&want,
		"session %s, seed %.*s, 7 jobs, -j1\n"
		"pass com.example.cb::share\n"
		"pass com.example.cb::reads-share\n"
		"pass com.example.cb::launcher-env\n"
		"pass com.example.cb::attach\n"
		"undecided com.example.cb::verify: needs an operator to "
		"decide (silent launcher); its command ended with exit code 0\n"
		"skip com.example.cb::interact: needs an operator: skipped "
		"(silent launcher)\n"
		"%s com.example.cb::as-root%s\n",
		id, (int)strcspn(strstr(out, "seed ") + 5, ","),
		strstr(out, "seed ") + 5, root ? "pass" : "fail",
		root ? "" : ": needs user 'root'");
	PT_ASSERT(pt__starts_with(out, want.s));
	PT_ASSERT_NOT_NULL(strstr(out, "report tarball: "));
	/* the share is the session's, and what a job wrote is there */
	pt__buf_addf(&p, "%s/%s/session-share/f", tpath("repo"), id);
	f = slurp(p.s);
	PT_ASSERT_STR_EQ(f, "x\n");
	pt__free(f);
	pt__free(out);
	pt__free(err);
	/* the tarball: its members and the share job's output */
	{
		const char *x[] = {
			"tar", "-C", open_dir("x"), "-xJf", tpath("sub.tar.xz"),
			NULL
		};
		PT_ASSERT_INT_EQ(run(x, &out, &err), 0);
		pt__free(out);
		pt__free(err);
	}
	f = slurp(tpath("x/test_output/com.example.cb__share"));
	PT_ASSERT_STR_EQ(f, "tool sees hello from data\nunits=units "
			    "share=cbprov\n");
	pt__free(f);
	f = slurp(tpath("x/test_output/com.example.cb__launcher-env"));
	PT_ASSERT_STR_EQ(f, "FROM_LAUNCHER=yes\n");
	pt__free(f);
	f = slurp(tpath("x/attachment_files/com.example.cb__attach"));
	PT_ASSERT_STR_EQ(f, "attached\n");
	pt__free(f);
	f = slurp(tpath("x/submission.json"));
	PT_ASSERT_NOT_NULL(
		strstr(f, "\"testplan_id\": \"com.example.cb::fixture\""));
	PT_ASSERT_NOT_NULL(strstr(f, "\"com.example.cb::fixture\": "
				     "\"Fixture jobs\""));
	PT_ASSERT_NOT_NULL(strstr(f, "\"FROM_LAUNCHER\": \"yes\""));
	pt__free(f);
	/* proctor report writes the same tarball later */
	PT_ASSERT_INT_EQ(run(rep, &out, &err), 0);
	PT_ASSERT_STR_EQ(err, "");
	PT_ASSERT_OK(pt__read_file(tpath("again.tar.xz"), 16 << 20, &f,
				   &(size_t){ 0 }));
	PT_ASSERT(pt__starts_with(f, "\xfd"
				     "7zXZ"));
	pt__free(f);
	pt__free(out);
	pt__free(err);
	pt__buf_release(&l);
	pt__buf_release(&want);
	pt__buf_release(&p);
}

PT_TEST_TIMEOUT(checkbox_root_runs_jobs_as_the_normal_user, 100)
{
	const char *args[] = { NULL,
			       "run",
			       "--normal-user",
			       "nobody",
			       "-p",
			       "com.example.cb::fixture",
			       "-x",
			       ".*(verify|interact|attach)",
			       fixture(),
			       NULL };
	struct pt_buf share = PT_BUF_INIT;
	char *out, *err, id[17];

	if (geteuid() != 0)
		pt_test_skip("needs root");
	PT_ASSERT_INT_EQ(run(args, &out, &err), 0);
	session_id(out, id);
	PT_ASSERT_NOT_NULL(strstr(out, "pass com.example.cb::share\n"));
	PT_ASSERT_NOT_NULL(strstr(out, "pass com.example.cb::reads-share\n"));
	PT_ASSERT_NOT_NULL(strstr(out, "pass com.example.cb::as-root\n"));
	/* nobody cannot reach root's repository: the share is in /var/tmp */
	pt__buf_addf(&share, "/var/tmp/proctor-share-%s", id);
	{
		struct stat st;
		char path[4200];
		snprintf(path, sizeof(path), "%s/f", share.s);
		PT_ASSERT_INT_EQ(stat(path, &st), 0);
		PT_ASSERT_UINT_EQ(st.st_uid, 65534); /* written by nobody */
	}
	PT_ASSERT_OK(pt__rm_rf(share.s));
	pt__free(out);
	pt__free(err);
	pt__buf_release(&share);
}

/* resume gives jobs the session's share and launcher environment */
PT_TEST_TIMEOUT(checkbox_resume_keeps_share_and_environment, 100)
{
	const char *args[] = { NULL,	     "run",
			       "--launcher", tpath("l.conf"),
			       "-i",	     "com.example.cb::again",
			       fixture(),    NULL };
	const char *again[] = { NULL, "resume", "--rerun-failed", NULL };
	const char *rep[] = { NULL,	  "report",
			      "--format", "checkbox-json",
			      "-o",	  tpath("r.json"),
			      NULL };
	char *out, *err, *f;

	write_text(tpath("l.conf"), "[environment]\nFROM_LAUNCHER = kept\n"
				    "[ui]\ntype = silent\n");
	PT_ASSERT_INT_EQ(run(args, &out, &err), 1);
	PT_ASSERT_NOT_NULL(
		strstr(out, "fail com.example.cb::again: exit code 1\n"));
	pt__free(out);
	pt__free(err);
	{
		/* kept with the session, on one line of show */
		const char *show[] = { NULL, "show", NULL };
		PT_ASSERT_INT_EQ(run(show, &out, &err), 0);
		PT_ASSERT_NOT_NULL(strstr(out, " job-env=FROM_LAUNCHER=kept "
					       "launcher=(54 bytes) "));
		pt__free(out);
		pt__free(err);
	}
	unsetenv("FROM_LAUNCHER");
	PT_ASSERT_INT_EQ(run(again, &out, &err), 0);
	PT_ASSERT_NOT_NULL(
		strstr(out, "pass com.example.cb::again (attempt 2)\n"));
	/* the launcher's reports again: its stock submission files */
	PT_ASSERT_NOT_NULL(strstr(out, "/submission.tar.xz\n"));
	pt__free(out);
	pt__free(err);
	PT_ASSERT_INT_EQ(run(rep, &out, &err), 0);
	f = slurp(tpath("r.json"));
	PT_ASSERT_NOT_NULL(strstr(f, "\"io_log\": \"FROM_LAUNCHER=kept\\n\""));
	pt__free(f);
	pt__free(out);
	pt__free(err);
}

/* -j N opts a Checkbox provider's run into parallel jobs */
PT_TEST(checkbox_jobs_option_opts_in_to_parallel)
{
	const char *args[] = {
		NULL,	   "run", "-j2", "-i", "com.example.cb::share",
		fixture(), NULL
	};
	char *out, *err;

	PT_ASSERT_INT_EQ(run(args, &out, &err), 0);
	PT_ASSERT_NOT_NULL(strstr(out, " 1 jobs, -j2\n"));
	pt__free(out);
	pt__free(err);
}

/* a launcher's [manifest] answers: checked, and kept with the session */
PT_TEST(checkbox_launcher_manifest_answers)
{
	const char *args[] = { NULL,	     "run",
			       "--launcher", tpath("m.conf"),
			       "-i",	     "com.example.cb::share",
			       fixture(),    NULL };
	const char *show[] = { NULL, "show", NULL };
	char *out, *err;

	write_text(tpath("m.conf"), "[manifest]\n"
				    "com.example.cb::has_thing = maybe\n");
	PT_ASSERT_INT_EQ(run(args, &out, &err), 2);
	PT_ASSERT(pt__starts_with(err, "proctor run: manifest answer "
				       "com.example.cb::has_thing: 'maybe' is "
				       "not true, false or a number\n"));
	PT_ASSERT_UINT_EQ(entries(tpath("repo")), 0);
	pt__free(out);
	pt__free(err);
	write_text(tpath("m.conf"), "[manifest]\n"
				    "com.example.cb::has_thing = yes\n");
	PT_ASSERT_INT_EQ(run(args, &out, &err), 0);
	pt__free(out);
	pt__free(err);
	PT_ASSERT_INT_EQ(run(show, &out, &err), 0);
	PT_ASSERT_NOT_NULL(
		strstr(out, " manifest-answer=com.example.cb::has_thing=yes "));
	pt__free(out);
	pt__free(err);
}

PT_TEST(checkbox_bad_input_writes_nothing)
{
	const char *unknown[] = { NULL,		"run",
				  "--launcher", tpath("bad.conf"),
				  fixture(),	NULL };
	const char *nouser[] = {
		NULL, "run", "--normal-user", "no-such-user-pt", fixture(), NULL
	};
	const char *nofile[] = { NULL,	       "run",
				 "--launcher", tpath("none.conf"),
				 fixture(),    NULL };
	struct pt_buf want = PT_BUF_INIT;
	char *out, *err;

	write_text(tpath("bad.conf"),
		   "[launcher]\nlauncher_version = 1\ncolour = blue\n"
		   "[test plan]\nunit = com.example.cb::fixture\n"
		   "[restart]\nstrategy = magic\n");
	PT_ASSERT_INT_EQ(run(unknown, &out, &err), 2);
	pt__buf_addf(&want,
		     "%s:3: unknown key 'colour' in [launcher]\n"
		     "%s:7: 'strategy' in [restart] is not supported by "
		     "proctor: proctor resumes with `proctor resume`\n"
		     "proctor run: %s: the launcher cannot be used\n",
		     tpath("bad.conf"), tpath("bad.conf"), tpath("bad.conf"));
	PT_ASSERT(pt__starts_with(err, want.s));
	PT_ASSERT_STR_EQ(out, "");
	pt__free(out);
	pt__free(err);
	PT_ASSERT_INT_EQ(run(nofile, &out, &err), 2);
	PT_ASSERT_NOT_NULL(strstr(err, "cannot read the launcher: No such "
				       "file or directory"));
	pt__free(out);
	pt__free(err);
	PT_ASSERT_INT_EQ(run(nouser, &out, &err), 2);
	PT_ASSERT(pt__starts_with(err, "proctor run: normal user "
				       "'no-such-user-pt': no such user\n"));
	PT_ASSERT_STR_EQ(out, "");
	pt__free(out);
	pt__free(err);
	/* no session was made by any of them */
	PT_ASSERT_UINT_EQ(entries(tpath("repo")), 0);
	pt__buf_release(&want);
}

/*
 * A real automated plan of the corpus, end to end, with checkbox-support
 * on PYTHONPATH: every job finds its script and its variables (no exit
 * 127, no "command not found", no unset provider variable), and the
 * submission tarball is written.
 */
PT_TEST_TIMEOUT(checkbox_corpus_automated_plan_end_to_end, 110)
{
	const char *c = getenv("PT_CORPUS");
	struct pt_buf prov = PT_BUF_INIT, builtin = PT_BUF_INIT,
		      py = PT_BUF_INIT;
	char *out, *err, *f;

	if (!c || !*c)
		pt_test_skip("PT_CORPUS not set");
	pt__buf_addf(&prov, "%s/providers", c);
	pt__buf_addf(&builtin, "%s/checkbox-ng/plainbox/impl/providers", c);
	pt__buf_addf(&py, "%s/checkbox-support", c);
	{
		struct stat st;
		if (stat(prov.s, &st) < 0)
			pt_test_skip("no corpus providers");
	}
	setenv("PYTHONPATH", py.s, 1);
	{
		const char *args[] = {
			NULL,
			"run",
			"-p",
			"com.canonical.certification::info-attachment-cert-"
			"automated",
			"--report",
			"checkbox:sub.tar.xz",
			"--report",
			"json:report.json",
			prov.s,
			builtin.s,
			NULL,
		};
		char sub[4096], rep[4096];
		snprintf(sub, sizeof(sub), "checkbox:%s", tpath("sub.tar.xz"));
		snprintf(rep, sizeof(rep), "json:%s", tpath("report.json"));
		args[5] = sub;
		args[7] = rep;
		/* jobs fail for reasons of this machine: exit 1 is fine */
		PT_ASSERT_INT_LE(run(args, &out, &err), 1);
	}
	PT_ASSERT_STR_EQ(err, "");
	PT_ASSERT(pt__starts_with(strchr(out, ','), ", seed "));
	PT_ASSERT_NOT_NULL(strstr(out, " jobs, -j1\n"));
	PT_ASSERT_NOT_NULL(strstr(out, " jobs: ")); /* the summary */
	PT_ASSERT_NULL(strstr(out, "exit code 127"));
	pt__free(out);
	pt__free(err);
	f = slurp(tpath("report.json"));
	PT_ASSERT_NULL(strstr(f, "command not found"));
	PT_ASSERT_NULL(strstr(f, "PLAINBOX_PROVIDER_DATA: unbound"));
	PT_ASSERT_NULL(strstr(f, "No such file or directory: '/"));
	PT_ASSERT_NOT_NULL(strstr(f, "\"com.canonical.certification::"
				     "cpuinfo_attachment\""));
	pt__free(f);
	{
		const char *x[] = { "tar", "-tJf", tpath("sub.tar.xz"), NULL };
		PT_ASSERT_INT_EQ(run(x, &out, &err), 0);
		PT_ASSERT(pt__starts_with(out, "submission.html\n"
					       "submission.json\n"
					       "submission.junit\n"));
		PT_ASSERT_NOT_NULL(strstr(out, "attachment_files/com.canonical."
					       "certification__"
					       "cpuinfo_attachment\n"));
		pt__free(out);
		pt__free(err);
	}
	pt__buf_release(&prov);
	pt__buf_release(&builtin);
	pt__buf_release(&py);
}
