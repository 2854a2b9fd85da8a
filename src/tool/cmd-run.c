/*
 * tool/cmd-run.c - `proctor run` and `proctor resume`: options and
 * printing around the session run of the library (include/proctor/run.h,
 * docs/run.md). SIGINT/SIGTERM arrive through a signalfd (no handler
 * runs) that the run polls: the first stops the run (running jobs are
 * terminated and stay without a result, the command exits 130 and
 * `proctor resume` continues), a second ends the jobs at once.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "run-ui.h"

struct strv {
	char **v;
	size_t n, cap;
};

static int strv_add(struct strv *s, const char *x)
{
	if (s->n + 1 >= s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		char **v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n] = strdup(x);
	if (!s->v[s->n])
		return -ENOMEM;
	s->v[++s->n] = NULL;
	return 0;
}

static void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Options of run and resume. */
struct opts {
	struct strv paths;
	const char *plan;
	const char *ns; /* namespace of unit files given directly */
	struct strv include, exclude;
	unsigned jobs;
	double timeout;
	bool keep_tmp;
	unsigned repeat;
	bool until_fail;
	bool shuffle;
	uint64_t seed;
	bool seed_given;
	bool fail_fast;
	unsigned retries;
	bool non_interactive;
	struct strv reports; /* "FORMAT:PATH" */
	bool rerun_failed;
	bool accept_changed;
	int ports; /* TCP ports per job; -1: the runner's default */
	double budget_time;
	uint64_t budget_memory;
	bool budget_fail;
	double slow_factor; /* --slow-factor; 0: the default */
	const char *chaos;
	char chaos_rt[4096];
	const char *launcher_path;    /* --launcher FILE */
	const char *normal_user;      /* --normal-user USER */
	struct pt_launcher *launcher; /* parsed; owned */
	struct strv job_env;	      /* the launcher's [environment] */
	struct strv manifest_answers; /* the launcher's [manifest] */
	bool silent;		      /* the launcher's [ui] type = silent */
	const char *manifest;	      /* --manifest FILE */
	const struct pt_executor_ops *executor; /* NULL: the default */
	char exec_opt[300];			/* "partition=NAME" */
	const char *exec_opts[2];
};

/* ---- options */

enum {
	OPT_TIMEOUT = 1000,
	OPT_KEEP_TMP,
	OPT_REPEAT,
	OPT_UNTIL_FAIL,
	OPT_SHUFFLE,
	OPT_FAIL_FAST,
	OPT_RETRIES,
	OPT_NONINTERACTIVE,
	OPT_REPORT,
	OPT_RERUN_FAILED,
	OPT_ACCEPT_CHANGED,
	OPT_SEED,
	OPT_PORTS,
	OPT_BUDGET,
	OPT_CHAOS,
	OPT_BUDGET_FAIL,
	OPT_SLOW_FACTOR,
	OPT_LAUNCHER,
	OPT_NORMAL_USER,
	OPT_MANIFEST,
	OPT_EXECUTOR,
};

static int parse_opts(const char *cmd, int argc, char **argv, struct opts *o,
		      bool resume)
{
	static const struct option longopts[] = {
		{ "plan", required_argument, NULL, 'p' },
		{ "include", required_argument, NULL, 'i' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "keep-tmp", no_argument, NULL, OPT_KEEP_TMP },
		{ "repeat", required_argument, NULL, OPT_REPEAT },
		{ "until-fail", no_argument, NULL, OPT_UNTIL_FAIL },
		{ "shuffle", optional_argument, NULL, OPT_SHUFFLE },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "fail-fast", no_argument, NULL, OPT_FAIL_FAST },
		{ "retries", required_argument, NULL, OPT_RETRIES },
		{ "non-interactive", no_argument, NULL, OPT_NONINTERACTIVE },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "rerun-failed", no_argument, NULL, OPT_RERUN_FAILED },
		{ "accept-changed", no_argument, NULL, OPT_ACCEPT_CHANGED },
		{ "ports", required_argument, NULL, OPT_PORTS },
		{ "budget", required_argument, NULL, OPT_BUDGET },
		{ "budget-fail", no_argument, NULL, OPT_BUDGET_FAIL },
		{ "slow-factor", required_argument, NULL, OPT_SLOW_FACTOR },
		{ "chaos", required_argument, NULL, OPT_CHAOS },
		{ "launcher", required_argument, NULL, OPT_LAUNCHER },
		{ "normal-user", required_argument, NULL, OPT_NORMAL_USER },
		{ "manifest", required_argument, NULL, OPT_MANIFEST },
		{ "executor", required_argument, NULL, OPT_EXECUTOR },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, r;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":p:i:x:n:j:h", longopts, NULL)) !=
	       -1) {
		switch (ch) {
		case 'h':
			(resume ? pt_ui_usage_resume : pt_ui_usage_run)(stdout);
			return -1;
		case 'p':
			if (resume)
				goto bad;
			o->plan = optarg;
			break;
		case 'n':
			if (resume)
				goto bad;
			o->ns = optarg;
			break;
		case 'i':
		case 'x':
			if (resume)
				goto bad;
			if (strv_add(ch == 'i' ? &o->include : &o->exclude,
				     optarg) < 0)
				return PT_EXIT_FAILURES;
			break;
		case 'j':
			if ((r = pt_ui_parse_uint(cmd, "-j", optarg, 4096,
						  &o->jobs)))
				return r;
			if (!o->jobs)
				return pt_tool_usage_err(
					cmd, "-j: must be at least 1");
			break;
		case OPT_TIMEOUT: {
			char *end;
			o->timeout = strtod(optarg, &end);
			if (*end || !(o->timeout > 0) || o->timeout > 1e7)
				return pt_tool_usage_err(
					cmd, "--timeout: bad duration '%s'",
					optarg);
			break;
		}
		case OPT_KEEP_TMP:
			o->keep_tmp = true;
			break;
		case OPT_REPEAT:
			if ((r = pt_ui_parse_uint(cmd, "--repeat", optarg,
						  100000, &o->repeat)))
				return r;
			break;
		case OPT_UNTIL_FAIL:
			o->until_fail = true;
			break;
		case OPT_SHUFFLE:
			o->shuffle = true;
			if (optarg) {
				if ((r = pt_ui_parse_seed(cmd, optarg,
							  &o->seed)))
					return r;
				o->seed_given = true;
			}
			break;
		case OPT_SEED:
			if ((r = pt_ui_parse_seed(cmd, optarg, &o->seed)))
				return r;
			o->seed_given = true;
			break;
		case OPT_MANIFEST:
			if (resume)
				goto bad;
			o->manifest = optarg;
			break;
		case OPT_PORTS: {
			unsigned n = 0;
			if ((r = pt_ui_parse_uint(cmd, "--ports", optarg, 1000,
						  &n)))
				return r;
			o->ports = (int)n;
			break;
		}
		case OPT_EXECUTOR:
			if (!strcmp(optarg, "local")) {
				o->executor = pt_executor_local();
			} else if (!strcmp(optarg, "slurm")) {
				o->executor = pt_executor_slurm();
			} else if (!strncmp(optarg, "slurm:", 6) && optarg[6] &&
				   strlen(optarg) < 256) {
				o->executor = pt_executor_slurm();
				snprintf(o->exec_opt, sizeof(o->exec_opt),
					 "partition=%s", optarg + 6);
				o->exec_opts[0] = o->exec_opt;
			} else {
				return pt_tool_usage_err(
					cmd,
					"--executor: '%s' (local, slurm or "
					"slurm:PARTITION)",
					optarg);
			}
			break;
		case OPT_FAIL_FAST:
			o->fail_fast = true;
			break;
		case OPT_BUDGET:
			if (pt_parse_budget(optarg, &o->budget_time,
					    &o->budget_memory) < 0)
				return pt_tool_usage_err(
					cmd,
					"--budget: bad budget '%s' (e.g. "
					"'2s', '64M', '500ms 1G')",
					optarg);
			break;
		case OPT_BUDGET_FAIL:
			o->budget_fail = true;
			break;
		case OPT_SLOW_FACTOR:
			if ((r = pt_ui_parse_slow_factor(cmd, optarg,
							 &o->slow_factor)))
				return r;
			break;
		case OPT_CHAOS:
			o->chaos = optarg;
			if (strcmp(optarg, "off") &&
			    pt_ls_runtime_path(NULL, o->chaos_rt,
					       sizeof(o->chaos_rt)) < 0) {
				pt_tool_err(cmd,
					    "--chaos: the fault runtime "
					    "libproctor-lockstep-rt.so is not "
					    "found (set PROCTOR_LOCKSTEP_RT)");
				return PT_EXIT_USAGE;
			}
			break;
		case OPT_LAUNCHER:
			if (resume)
				goto bad;
			o->launcher_path = optarg;
			break;
		case OPT_NORMAL_USER:
			if (!*optarg)
				return pt_tool_usage_err(
					cmd, "--normal-user: empty user name");
			o->normal_user = optarg;
			break;
		case OPT_RETRIES:
			if ((r = pt_ui_parse_uint(cmd, "--retries", optarg,
						  1000, &o->retries)))
				return r;
			break;
		case OPT_NONINTERACTIVE:
			o->non_interactive = true;
			break;
		case OPT_REPORT: {
			const char *colon = strchr(optarg, ':');
			char f[16];
			enum pt_report_format fmt;

			if (!colon || colon == optarg || !colon[1] ||
			    (size_t)(colon - optarg) >= sizeof(f))
				return pt_tool_usage_err(
					cmd,
					"--report: expected FORMAT:PATH, "
					"got '%s'",
					optarg);
			memcpy(f, optarg, (size_t)(colon - optarg));
			f[colon - optarg] = 0;
			if (strcmp(f, "checkbox") &&
			    strcmp(f, "checkbox-json") &&
			    strcmp(f, "checkbox-junit") &&
			    strcmp(f, "checkbox-html") &&
			    pt_report_format_parse(f, &fmt) < 0)
				return pt_tool_usage_err(
					cmd,
					"--report: unknown format '%s' "
					"(junit, tap, tap13, json, html, "
					"checkbox, checkbox-json, "
					"checkbox-junit, checkbox-html)",
					f);
			if (!strcmp(f, "checkbox") && !strcmp(colon + 1, "-"))
				return pt_tool_usage_err(
					cmd, "--report: the checkbox tarball "
					     "needs a file, not '-'");
			if (strv_add(&o->reports, optarg) < 0)
				return PT_EXIT_FAILURES;
			break;
		}
		case OPT_RERUN_FAILED:
			if (!resume)
				goto bad;
			o->rerun_failed = true;
			break;
		case OPT_ACCEPT_CHANGED:
			if (!resume)
				goto bad;
			o->accept_changed = true;
			break;
		case ':':
			return pt_tool_usage_err(cmd,
						 "option '%s' needs a value",
						 argv[optind - 1]);
		default:
			return pt_tool_usage_err(cmd, "unknown option '%s'",
						 argv[optind - 1]);
		}
		continue;
bad:
		/* A real option of the other command (argv[optind - 1] may
		 * be its value, so name the option itself). */
		if (ch < 256)
			return pt_tool_usage_err(cmd,
						 "option '-%c' is not "
						 "accepted here",
						 ch);
		for (const struct option *lo = longopts; lo->name; lo++)
			if (lo->val == ch)
				return pt_tool_usage_err(
					cmd,
					"option '--%s' is not accepted here",
					lo->name);
		return pt_tool_usage_err(cmd, "unknown option '%s'",
					 argv[optind - 1]);
	}
	if (o->until_fail && o->repeat < 2)
		return pt_tool_usage_err(cmd, "--until-fail needs --repeat N "
					      "(N >= 2)");
	if (o->repeat > 1 && o->retries)
		return pt_tool_usage_err(cmd, "--repeat and --retries cannot "
					      "be combined");
	return 0;
}

/* ---- run and resume */

static void opts_free(struct opts *o)
{
	strv_free(&o->paths);
	strv_free(&o->include);
	strv_free(&o->exclude);
	strv_free(&o->reports);
	strv_free(&o->job_env);
	strv_free(&o->manifest_answers);
	pt_launcher_free(o->launcher);
}

static int block_signals(struct pt_ui *ui)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	ui->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return ui->sfd < 0 ? -errno : 0;
}

/* The library's options from the command line's. */
static void lib_opts(const struct opts *o, struct pt_run_options *ro)
{
	pt_run_options_init(ro);
	ro->paths = (const char *const *)o->paths.v;
	ro->n_paths = o->paths.n;
	ro->plan = o->plan;
	ro->ns = o->ns;
	ro->include = (const char *const *)o->include.v;
	ro->n_include = o->include.n;
	ro->exclude = (const char *const *)o->exclude.v;
	ro->n_exclude = o->exclude.n;
	ro->jobs = o->jobs;
	ro->timeout = o->timeout;
	ro->keep_tmp = o->keep_tmp;
	ro->repeat = o->repeat;
	ro->until_fail = o->until_fail;
	ro->shuffle = o->shuffle;
	ro->seed = o->seed;
	ro->fail_fast = o->fail_fast;
	ro->retries = o->retries;
	ro->ports = o->ports;
	ro->budget_time = o->budget_time;
	ro->budget_memory = o->budget_memory;
	ro->budget_fail = o->budget_fail;
	ro->slow_factor = o->slow_factor;
	ro->chaos = o->chaos;
	ro->chaos_runtime = o->chaos_rt[0] ? o->chaos_rt : NULL;
	ro->executor = o->executor;
	ro->executor_options = o->exec_opts[0] ? o->exec_opts : NULL;
	ro->rerun_failed = o->rerun_failed;
	ro->accept_changed = o->accept_changed;
	ro->manifest = o->manifest;
	ro->no_operator = o->non_interactive	     ? "--non-interactive"
			  : o->silent		     ? "silent launcher"
			  : !isatty(0) || !isatty(2) ? "no terminal"
						     : NULL;
	ro->normal_user = o->normal_user;
	ro->job_env = o->job_env.n ? (const char *const *)o->job_env.v : NULL;
	ro->manifest_answers =
		o->manifest_answers.n
			? (const char *const *)o->manifest_answers.v
			: NULL;
	ro->launcher_text = o->launcher ? o->launcher->text : NULL;
}

/* Drives the run, then the summary, the end in the store, the reports. */
static int drive(struct pt_ui *ui, struct pt_run *run, const struct opts *o)
{
	int r = pt_run_drive(run), rc = PT_EXIT_OK;
	const struct pt_run_options *ro = pt_run_get_options(run);
	struct pt_run_progress p;
	size_t n;

	if (ui->tty)
		fprintf(stderr, "\r\033[K");
	pt_run_progress(run, &p);
	if (r < 0 && !p.storage_error)
		pt_tool_err(ui->cmd, "%s", pt_strerror(r));
	n = p.total;
	printf("%zu jobs:", n);
	for (int k = 1; k < PT_OUTCOME_COUNT_; k++) {
		if (p.per_outcome[k])
			printf(" %zu %s,", p.per_outcome[k],
			       pt_outcome_name((enum pt_outcome)k));
	}
	if (p.per_outcome[PT_OUTCOME_NONE])
		printf(" %zu not run,", p.per_outcome[PT_OUTCOME_NONE]);
	if (p.flaky)
		printf(" %zu flaky,", p.flaky);
	if (p.over_budget)
		printf(" %zu over budget,", p.over_budget);
	if (p.slow)
		printf(" %zu slower than their history,", p.slow);
	printf(" seed %llu\n", (unsigned long long)ro->seed);
	if (ro->repeat > 1 && pt_run_history(run)) {
		printf("flake statistics (--repeat %u):\n", ro->repeat);
		(void)pt_tool_print_flakes(stdout, pt_run_history(run), true,
					   false);
	}
	pt_run_finish(run);
	pt_run_progress(run, &p);
	for (size_t i = 0; i < o->reports.n && !p.storage_error; i++) {
		int e = pt_ui_write_report(run, o->reports.v[i]);
		if (e < 0) {
			pt_tool_err(ui->cmd, "report '%s': %s", o->reports.v[i],
				    pt_strerror(e));
			rc = PT_EXIT_FAILURES;
		}
	}
	if (!p.storage_error && pt_ui_launcher_reports(ui, run, o->launcher))
		rc = PT_EXIT_FAILURES;
	if (p.storage_error)
		rc = PT_EXIT_STORAGE;
	else if (p.interrupted)
		rc = PT_EXIT_INTERRUPTED;
	else if (r < 0)
		rc = PT_EXIT_FAILURES;
	else if (p.failed || p.program_errors ||
		 p.per_outcome[PT_OUTCOME_FAIL] ||
		 p.per_outcome[PT_OUTCOME_CRASH] ||
		 p.per_outcome[PT_OUTCOME_TIMEOUT] || rc)
		rc = PT_EXIT_FAILURES;
	if (p.interrupted)
		printf("interrupted: continue with 'proctor resume %s'\n",
		       pt_store_id(pt_run_store(run)));
	fflush(stdout);
	return rc;
}

/*
 * A launcher's settings (docs/checkbox.md): -p, -x, -i, --normal-user
 * given on the command line win; a plan given both ways must agree.
 */
static int apply_launcher(struct opts *o)
{
	struct pt_diags *d = NULL;
	struct pt_launcher *l = NULL;
	int r;

	if (!o->launcher_path)
		return 0;
	if (pt_diags_new(&d) < 0)
		return PT_EXIT_FAILURES;
	r = pt_launcher_load(o->launcher_path, d, &l);
	pt_tool_print_diags(stderr, d, 0);
	pt_diags_free(d);
	if (r < 0) {
		if (r == -ENOMEM)
			return PT_EXIT_FAILURES;
		return pt_tool_usage_err("run",
					 "%s: the launcher cannot be "
					 "used",
					 o->launcher_path);
	}
	o->launcher = l;
	if (l->test_plan && o->plan && strcmp(o->plan, l->test_plan))
		return pt_tool_usage_err("run",
					 "-p %s and the launcher's test plan "
					 "%s differ",
					 o->plan, l->test_plan);
	if (!o->plan)
		o->plan = l->test_plan;
	/* Python re.match: anchored at the start only */
	for (size_t i = 0; i < l->exclude.n + l->match.n; i++) {
		bool ex = i < l->exclude.n;
		const char *p =
			ex ? l->exclude.v[i] : l->match.v[i - l->exclude.n];
		char *x = NULL;
		if (asprintf(&x, "(%s).*", p) < 0 ||
		    strv_add(ex ? &o->exclude : &o->include, x) < 0) {
			free(x);
			return PT_EXIT_FAILURES;
		}
		free(x);
	}
	if (l->ui == PT_LAUNCHER_UI_SILENT)
		o->silent = true;
	if (!o->normal_user)
		o->normal_user = l->normal_user;
	for (size_t i = 0; i < l->n_manifest; i++) {
		char *kv = NULL;
		if (asprintf(&kv, "%s=%s", l->manifest[i].key,
			     l->manifest[i].value) < 0 ||
		    strv_add(&o->manifest_answers, kv) < 0) {
			free(kv);
			return PT_EXIT_FAILURES;
		}
		free(kv);
	}
	for (size_t i = 0; i < l->n_environment; i++) {
		char *kv = NULL;
		if (asprintf(&kv, "%s=%s", l->environment[i].key,
			     l->environment[i].value) < 0 ||
		    strv_add(&o->job_env, kv) < 0) {
			free(kv);
			return PT_EXIT_FAILURES;
		}
		free(kv);
	}
	return 0;
}

/*
 * No PATH: the providers of $PROVIDERPATH, else of PlainBox's provider
 * directories, that exist.
 */
static int default_paths(struct opts *o)
{
	char **dirs = NULL;
	size_t n = 0;

	if (pt_providerpath_dirs(getenv("PROVIDERPATH"),
				 getenv("XDG_DATA_HOME"), getenv("HOME"), &dirs,
				 &n) < 0)
		return PT_EXIT_FAILURES;
	for (size_t i = 0; i < n; i++) {
		char *abs = realpath(dirs[i], NULL);
		int r = abs ? strv_add(&o->paths, abs) : 0;
		free(abs);
		if (r < 0) {
			pt_free(dirs);
			return PT_EXIT_FAILURES;
		}
	}
	pt_free(dirs);
	return 0;
}

int pt_cmd_run(int argc, char **argv)
{
	struct opts o = { .timeout = 0, .ports = -1 };
	struct pt_ui ui = { .cmd = "run", .sfd = -1 };
	struct pt_run_options ro;
	struct pt_run_events ev;
	struct pt_run *run = NULL;
	const struct pt_run_options *eff;
	int r, rc;

	r = parse_opts("run", argc, argv, &o, false);
	if (r) {
		opts_free(&o);
		return r < 0 ? PT_EXIT_OK : r;
	}
	for (int i = optind; i < argc; i++) {
		char *abs = realpath(argv[i], NULL);
		if (!abs) {
			rc = pt_tool_usage_err("run", "%s: %s", argv[i],
					       strerror(errno));
			opts_free(&o);
			return rc;
		}
		r = strv_add(&o.paths, abs);
		free(abs);
		if (r < 0) {
			opts_free(&o);
			return PT_EXIT_FAILURES;
		}
	}
	if (!o.paths.n && (rc = default_paths(&o))) {
		opts_free(&o);
		return rc;
	}
	if (!o.paths.n) {
		opts_free(&o);
		return pt_tool_usage_err("run",
					 "no PATH given, and no provider "
					 "directory in $PROVIDERPATH");
	}
	if ((rc = apply_launcher(&o))) {
		opts_free(&o);
		return rc;
	}
	/* as root, the user of jobs without user: root */
	if (!o.normal_user && geteuid() == 0 && getenv("SUDO_USER") &&
	    *getenv("SUDO_USER"))
		o.normal_user = getenv("SUDO_USER");
	if (!o.seed_given)
		o.seed = pt_ui_random_seed();
	ui.tty = pt_tool_isatty(2) && pt_tool_isatty(1);
	if ((rc = pt_ui_check_port_dir("run", o.ports))) {
		opts_free(&o);
		return rc;
	}
	lib_opts(&o, &ro);
	pt_ui_events(&ui, &ev);
	r = pt_run_new(&ro, &ev, &run);
	if (r < 0) {
		rc = ui.exit ? ui.exit : PT_EXIT_FAILURES;
		goto out;
	}
	eff = pt_run_get_options(run);
	printf("session %s, seed %llu, %zu jobs, -j%u\n",
	       pt_store_id(pt_run_store(run)), (unsigned long long)eff->seed,
	       pt_session_run_list_count(pt_run_session(run)), eff->jobs);
	fflush(stdout);
	if ((r = block_signals(&ui)) < 0) {
		pt_tool_err("run", "%s", pt_strerror(r));
		rc = PT_EXIT_FAILURES;
		goto out;
	}
	pt_ui_events(&ui, &ev); /* with the signalfd now */
	pt_run_set_events(run, &ev);
	rc = drive(&ui, run, &o);
out:
	pt_run_free(run);
	if (ui.sfd >= 0)
		close(ui.sfd);
	opts_free(&o);
	return rc;
}

int pt_cmd_resume(int argc, char **argv)
{
	struct opts o = { .ports = -1 };
	struct pt_ui ui = { .cmd = "resume", .sfd = -1 };
	struct pt_run_options ro;
	struct pt_run_events ev;
	struct pt_run *run = NULL;
	struct pt_store *st = NULL;
	const struct pt_run_options *eff;
	struct pt_run_progress p;
	const char *name = NULL;
	int r, rc;

	r = parse_opts("resume", argc, argv, &o, true);
	if (r) {
		opts_free(&o);
		return r < 0 ? PT_EXIT_OK : r;
	}
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc) {
		opts_free(&o);
		return pt_tool_usage_err("resume", "unexpected argument '%s'",
					 argv[optind]);
	}
	rc = pt_ui_open_store(&ui, name, true, &st);
	if (rc)
		goto out;
	ui.tty = pt_tool_isatty(2) && pt_tool_isatty(1);
	if ((rc = pt_ui_check_port_dir("resume", o.ports)))
		goto out;
	/* the session's --chaos plan, if it has one, needs the runtime */
	if (!o.chaos &&
	    pt_ls_runtime_path(NULL, o.chaos_rt, sizeof(o.chaos_rt)) < 0)
		o.chaos_rt[0] = 0;
	lib_opts(&o, &ro);
	pt_ui_events(&ui, &ev);
	r = pt_run_resume(st, &ro, &ev, &run);
	if (r < 0) {
		rc = ui.exit ? ui.exit : PT_EXIT_FAILURES;
		goto out;
	}
	eff = pt_run_get_options(run);
	/* the session's launcher: its reports at the end, as after run */
	if (eff->launcher_text &&
	    pt_launcher_parse(eff->launcher_text, strlen(eff->launcher_text),
			      "launcher", NULL, &o.launcher) < 0)
		o.launcher = NULL;
	pt_run_progress(run, &p);
	printf("session %s, seed %llu, %zu jobs, %zu done, -j%u\n",
	       pt_store_id(pt_run_store(run)), (unsigned long long)eff->seed,
	       p.total, p.done, eff->jobs);
	fflush(stdout);
	if ((r = pt_store_set_flag(pt_run_store(run),
				   PT_SESSION_FLAG_INCOMPLETE, true)) < 0 ||
	    (r = block_signals(&ui)) < 0) {
		pt_tool_err("resume", "%s", pt_strerror(r));
		rc = PT_EXIT_FAILURES;
		goto out;
	}
	pt_ui_events(&ui, &ev);
	pt_run_set_events(run, &ev);
	rc = drive(&ui, run, &o);
out:
	pt_run_free(run);
	if (ui.sfd >= 0)
		close(ui.sfd);
	opts_free(&o);
	return rc;
}
