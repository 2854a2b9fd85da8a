/*
 * The provider environment of Checkbox jobs (pt_jobenv) and the user
 * that runs them (pt_users), through the runner with real processes:
 * the nest on PATH, the provider variables, the session share, the
 * launcher environment; as root, jobs of the normal user run as that
 * user; as a normal user, root jobs go through `sudo -n`, or fail with a
 * message when sudo would ask for a password.
 */
#define _GNU_SOURCE 1
#include "base/buf.h"
#include "base/common.h"
#include "base/str.h"
#include "os/file.h"

#include <grp.h>
#include <proctor/runner.h>
#include <proctor/unit.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"

static void put(const char *dir, const char *name, const char *text,
		unsigned mode)
{
	struct pt_buf p = PT_BUF_INIT;

	PT_ASSERT_OK(pt__buf_addf(&p, "%s/%s", dir, name));
	for (char *s = strchr(p.s + strlen(dir) + 1, '/'); s;
	     s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p.s, 0755);
		*s = '/';
	}
	PT_ASSERT_OK(pt__write_file_atomic(p.s, text, strlen(text), mode));
	pt__buf_release(&p);
}

/*
 * A directory of the test's own that everyone may use (tests that drop
 * root write there; the harness removes it as root).
 */
static const char *open_dir(const char *name)
{
	static char buf[4][4096];
	static int k;
	char *d = buf[k++ % 4];

	PT_ASSERT_INT_EQ(chmod(pt_test_tmpdir(), 0711), 0);
	snprintf(d, 4096, "%s/%s", pt_test_tmpdir(), name);
	PT_ASSERT_OK(pt__mkdir_p(d, 0777));
	PT_ASSERT_INT_EQ(chmod(d, 0777), 0);
	return d;
}

struct run {
	enum pt_outcome outcome;
	char comments[1024];
	char out[4096];
};

/* Runs job with env/run_as in a runner of its own; its stdout. */
static struct run run_job(const struct pt_job *j, const char *const *env,
			  const struct pt_run_as *as, const char *tmp)
{
	struct pt_runner_config c;
	struct pt_runner *r = NULL;
	struct pt_run_request q = {
		.job = j, .attempt = 1, .env = env, .run_as = as
	};
	struct pt_run_done d;
	struct run x;
	char *out = NULL;

	memset(&x, 0, sizeof(x));
	pt_runner_config_init(&c);
	c.jobs = 1;
	c.tmp_root = tmp;
	c.io_log_dir = tmp;
	c.port_count = 0;
	c.session_id = "s";
	PT_ASSERT_OK(pt_runner_new(&c, &r));
	PT_ASSERT_OK(pt_runner_submit(r, &q));
	PT_ASSERT_INT_EQ(pt_runner_step(r, 20000, &d), 1);
	x.outcome = d.result.outcome;
	snprintf(x.comments, sizeof(x.comments), "%s",
		 d.result.comments ? d.result.comments : "");
	PT_ASSERT_OK(pt_runner_iolog_read(d.result.io_log, PT_STREAM_STDOUT,
					  4000, &out, NULL, NULL));
	snprintf(x.out, sizeof(x.out), "%s", out);
	pt_free(out);
	pt_runner_free(r);
	return x;
}

static struct pt_units *two_providers(const char *root)
{
	struct pt_buf a = PT_BUF_INIT, b = PT_BUF_INIT;
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;
	const char *paths[2];

	pt__buf_addf(&a, "%s/pa", root);
	pt__buf_addf(&b, "%s/pb", root);
	mkdir(a.s, 0755);
	mkdir(b.s, 0755);
	put(a.s, "manage.py",
	    "setup(name='p-a', namespace='com.example', "
	    "gettext_domain='dom-a')\n",
	    0644);
	put(a.s, "units/j.pxu",
	    "id: env\nplugin: shell\ncommand:\n tool\n"
	    " printf '%s\\n' \"$PLAINBOX_SESSION_SHARE\" "
	    "\"$PLAINBOX_PROVIDER_DATA\" \"$PLAINBOX_PROVIDER_UNITS\" "
	    "\"$CHECKBOX_SHARE\" \"$TEXTDOMAIN\" \"$FROM_LAUNCHER\" "
	    "\"$HOME_FROM_LAUNCHER\" \"$NORMAL_USER\"\n"
	    " echo x > \"$PLAINBOX_SESSION_SHARE\"/f\n\n"
	    "id: reset\nplugin: shell\nflags: reset-locale\n"
	    "command: echo \"[$TEXTDOMAIN][$LANG]\"; other\n",
	    0644);
	put(a.s, "bin/tool", "#!/bin/sh\necho tool-a\n", 0755);
	put(a.s, "bin/not-exec", "#!/bin/sh\necho no\n", 0644);
	put(a.s, "data/d.txt", "x\n", 0644);
	put(b.s, "manage.py", "setup(name='p-b', namespace='com.example')\n",
	    0644);
	put(b.s, "units/j.pxu", "id: b\nplugin: shell\ncommand: tool\n", 0644);
	put(b.s, "bin/tool", "#!/bin/sh\necho tool-b\n", 0755);
	put(b.s, "bin/other", "#!/bin/sh\necho other-b\n", 0755);
	paths[0] = a.s;
	paths[1] = b.s;
	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_INT_GE(pt_units_load_paths(u, 2, paths, NULL, d), 0);
	PT_ASSERT_UINT_EQ(pt_diags_count(d), 0);
	pt_diags_free(d);
	pt__buf_release(&a);
	pt__buf_release(&b);
	return u;
}

PT_TEST(jobenv_provider_environment)
{
	const char *root = pt_test_tmpdir();
	struct pt_units *u = two_providers(root);
	static const char *const launcher[] = { "FROM_LAUNCHER=yes",
						"HOME_FROM_LAUNCHER=l",
						"HOME=/not/taken", NULL };
	struct pt_jobenv_config c = {
		.units = u,
		.launcher_env = launcher,
		.normal_user = "someone",
	};
	struct pt_buf share = PT_BUF_INIT, want = PT_BUF_INIT;
	struct pt_jobenv *e = NULL;
	const char *const *env, *const *env2;
	const struct pt_provider *pa = pt_units_provider(u, 0);
	struct run x;
	char *f = NULL;
	size_t flen;

	pt__buf_addf(&share, "%s/session/session-share", root);
	c.session_share = share.s;
	/* the parent must exist; something planted there is refused */
	PT_ASSERT_ERR(pt_jobenv_new(&c, &e), -ENOENT);
	PT_ASSERT_OK(pt__mkdir_p(pt_test_path("session"), 0700));
	PT_ASSERT_INT_EQ(symlink("/etc", share.s), 0);
	PT_ASSERT_ERR(pt_jobenv_new(&c, &e), -EPERM);
	PT_ASSERT_INT_EQ(unlink(share.s), 0);
	PT_ASSERT_OK(pt_jobenv_new(&c, &e));
	PT_ASSERT_STR_EQ(pt_jobenv_share(e), share.s);
	PT_ASSERT_OK(pt_jobenv_get(e, pt_units_find_job(u, "com.example::env"),
				   &env));
	/* the same provider and locale mode share one list */
	PT_ASSERT_OK(pt_jobenv_get(e, pt_units_find_job(u, "com.example::env"),
				   &env2));
	PT_ASSERT(env == env2);
	x = run_job(pt_units_find_job(u, "com.example::env"), env, NULL, root);
	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_PASS);
	pt__buf_addf(&want, "tool-a\n%s\n%s\n%s\n%s\ndom-a\nyes\nl\nsomeone\n",
		     share.s, pa->data_dir, pa->units_dir, pa->base_dir);
	PT_ASSERT_STR_EQ(x.out, want.s);
	PT_ASSERT_OK(pt__read_file(pt_test_path("session/session-share/f"), 100,
				   &f, &flen));
	PT_ASSERT_STR_EQ(f, "x\n");
	pt__free(f);
	/* reset-locale: no gettext domain; executables of every provider
	 * of the namespace (not-exec is not one) */
	PT_ASSERT_OK(pt_jobenv_get(
		e, pt_units_find_job(u, "com.example::reset"), &env2));
	PT_ASSERT(env != env2);
	x = run_job(pt_units_find_job(u, "com.example::reset"), env2, NULL,
		    root);
	PT_ASSERT_STR_EQ(x.out, "[][C.UTF-8]\nother-b\n");
	/* the job of the second provider sees the same nest */
	PT_ASSERT_OK(pt_jobenv_get(e, pt_units_find_job(u, "com.example::b"),
				   &env2));
	x = run_job(pt_units_find_job(u, "com.example::b"), env2, NULL, root);
	PT_ASSERT_STR_EQ(x.out, "tool-a\n");
	pt_jobenv_free(e);
	pt_units_free(u);
	pt__buf_release(&share);
	pt__buf_release(&want);
}

PT_TEST(jobenv_bad_config)
{
	static const char *const bad[] = { "NOEQUALS", NULL };
	struct pt_jobenv_config c = { .session_share = pt_test_tmpdir(),
				      .launcher_env = bad };
	struct pt_jobenv *e = NULL;

	PT_ASSERT_ERR(pt_jobenv_new(&c, &e), -EINVAL);
	c.session_share = NULL;
	c.launcher_env = NULL;
	PT_ASSERT_ERR(pt_jobenv_new(&c, &e), -EINVAL);
	PT_ASSERT_NULL(e);
}

PT_TEST(users_unknown_normal_user)
{
	struct pt_users *u = NULL;
	const char *why = NULL;

	PT_ASSERT_ERR(pt_users_new("no-such-user-pt", &u, &why), PT_ENOTFOUND);
	PT_ASSERT_STR_EQ(why, "no such user");
	PT_ASSERT_NULL(u);
}

static struct pt_job mkjob(const char *cmd, const char *user)
{
	struct pt_job j = { .id = "t::j",
			    .partial_id = "j",
			    .ns = "t",
			    .command = cmd,
			    .shell = "bash",
			    .user = user,
			    .estimated_duration = -1,
			    .timeout = -1 };
	return j;
}

PT_TEST(users_root_runs_normal_jobs_as_the_normal_user)
{
	struct pt_job j = mkjob("id -un; echo \"$HOME $USER $LOGNAME\"; "
				"touch here && pwd",
				NULL);
	struct pt_job rj = mkjob("id -un", "root");
	const char *tmp;
	const struct pt_run_as *as = NULL;
	struct pt_users *u = NULL;
	struct run x;

	if (geteuid() != 0) {
		pt_test_skip("needs root");
		return;
	}
	tmp = open_dir("root");
	PT_ASSERT_OK(pt_users_new("nobody", &u, NULL));
	PT_ASSERT_STR_EQ(pt_users_normal(u), "nobody");
	PT_ASSERT_OK(pt_users_run_as(u, &j, &as));
	PT_ASSERT_NOT_NULL(as);
	PT_ASSERT_STR_EQ(as->user, "nobody");
	PT_ASSERT(!as->sudo);
	PT_ASSERT_NULL(as->refused);
	x = run_job(&j, NULL, as, tmp);
	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_PASS);
	PT_ASSERT(
		pt__starts_with(x.out, "nobody\n/nonexistent nobody nobody\n"));
	/* root jobs stay root */
	PT_ASSERT_OK(pt_users_run_as(u, &rj, &as));
	PT_ASSERT_NULL(as);
	x = run_job(&rj, NULL, NULL, tmp);
	PT_ASSERT_STR_EQ(x.out, "root\n");
	/* a job naming a user that does not exist fails, with the reason */
	rj.user = "no-such-user-pt";
	PT_ASSERT_OK(pt_users_run_as(u, &rj, &as));
	PT_ASSERT_STR_EQ(as->refused,
			 "cannot run as user 'no-such-user-pt': no such user");
	x = run_job(&rj, NULL, as, tmp);
	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_FAIL);
	PT_ASSERT_STR_EQ(x.comments,
			 "cannot run as user 'no-such-user-pt': no such user");
	pt_users_free(u);
	/* without a normal user, root runs everything itself */
	PT_ASSERT_OK(pt_users_new(NULL, &u, NULL));
	PT_ASSERT_OK(pt_users_run_as(u, &j, &as));
	PT_ASSERT_NULL(as);
	PT_ASSERT_STR_EQ(pt_users_normal(u), "root");
	pt_users_free(u);
}

/* Drops this test process to nobody (the harness forks each test). */
static void become_nobody(void)
{
	struct passwd *pw = getpwnam("nobody");

	PT_ASSERT_NOT_NULL(pw);
	PT_ASSERT_INT_EQ(setgroups(0, NULL), 0);
	PT_ASSERT_INT_EQ(setgid(pw->pw_gid), 0);
	PT_ASSERT_INT_EQ(setuid(pw->pw_uid), 0);
}

PT_TEST(users_normal_user_root_job_refused_without_sudo)
{
	struct pt_job j = mkjob("id -un", "root");
	const struct pt_run_as *as = NULL;
	struct pt_users *u = NULL;
	const char *tmp;
	struct run x;
	static const char want[] =
		"needs user 'root': 'sudo -n' is not allowed for nobody "
		"(sudo asks for a password, or is not installed); run "
		"proctor as root, or allow nobody passwordless sudo";

	if (geteuid() != 0) {
		pt_test_skip("needs root to become another user");
		return;
	}
	tmp = open_dir("refused");
	become_nobody();
	PT_ASSERT_OK(pt_users_new(NULL, &u, NULL));
	PT_ASSERT_STR_EQ(pt_users_normal(u), "nobody");
	PT_ASSERT_OK(pt_users_run_as(u, &j, &as));
	PT_ASSERT_NOT_NULL(as);
	PT_ASSERT(as->sudo);
	PT_ASSERT_STR_EQ(as->refused, want);
	x = run_job(&j, NULL, as, tmp);
	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_FAIL);
	PT_ASSERT_STR_EQ(x.comments, want);
	/* jobs without user: run as nobody itself */
	j.user = NULL;
	PT_ASSERT_OK(pt_users_run_as(u, &j, &as));
	PT_ASSERT_NULL(as);
	pt_users_free(u);
}

PT_TEST(users_normal_user_root_job_through_sudo)
{
	struct pt_job j = mkjob("echo \"job $PROCTOR_JOB_ID $EXTRA\"", "root");
	static const char *const env[] = { "EXTRA=from-jobenv", NULL };
	const struct pt_run_as *as = NULL;
	struct pt_users *u = NULL;
	struct pt_buf path = PT_BUF_INIT;
	const char *tmp, *bin;
	struct run x;

	if (geteuid() != 0) {
		pt_test_skip("needs root to become another user");
		return;
	}
	tmp = open_dir("sudo");
	bin = open_dir("sudo-bin");
	/* a sudo that allows everything and shows how it was called */
	put(bin, "sudo",
	    "#!/bin/sh\n[ \"$2\" = true ] && exit 0\n"
	    "echo \"sudo $1 $2 $3 $4 $5\"\nshift 4\nexec \"$@\"\n",
	    0755);
	pt__buf_addf(&path, "%s:%s", bin, getenv("PATH"));
	PT_ASSERT_INT_EQ(setenv("PATH", path.s, 1), 0);
	become_nobody();
	PT_ASSERT_OK(pt_users_new(NULL, &u, NULL));
	PT_ASSERT_OK(pt_users_run_as(u, &j, &as));
	PT_ASSERT_NOT_NULL(as);
	PT_ASSERT(as->sudo);
	PT_ASSERT_NULL(as->refused);
	x = run_job(&j, env, as, tmp);
	PT_ASSERT_INT_EQ(x.outcome, PT_OUTCOME_PASS);
	PT_ASSERT(pt__starts_with(x.out, "sudo -n -u root -- "));
	PT_ASSERT(pt__ends_with(x.out, "\njob t::j from-jobenv\n"));
	pt_users_free(u);
	pt__buf_release(&path);
}
