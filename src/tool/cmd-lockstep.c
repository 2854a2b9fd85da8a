/*
 * tool/cmd-lockstep.c - `proctor lockstep exec [OPTIONS] -- PROGRAM [ARGS]`
 * and `proctor lockstep replay|shrink|show TRACE`.
 *
 * exec runs a pthread program under the controlled scheduler (the library's
 * pt_ls_exec); exit 0 no bug found (or every schedule within the DFS bound
 * ran), 1 a bug was found (the report on stdout, the trace written), 2
 * usage or the program cannot run. A trace of exec (it names a program)
 * is replayed and shrunk in this process through the library.
 *
 * A trace names the test binary that recorded it and the test: replay and
 * shrink execute that binary (or --binary=PATH) with the runner options
 * --run=TEST --lockstep-replay=TRACE (or --lockstep-shrink=TRACE), so its
 * exit code is ours: replay 0 = did not reproduce, 1 = reproduced,
 * 3 = diverged; shrink 0 = smaller trace written (TRACE.shrunk.lockstep),
 * 1 = the bug does not reproduce. show prints the trace readably.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <proctor/proctor.h>

#include "cmd.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: proctor lockstep exec [OPTIONS] -- PROGRAM [ARGS...]\n"
		"       proctor lockstep replay [--binary=PATH] "
		"[--fallback-random=SEED] TRACE\n"
		"       proctor lockstep shrink [--binary=PATH] TRACE\n"
		"       proctor lockstep show TRACE\n\n"
		"Replays, shrinks or shows a lockstep trace (a .lockstep file "
		"written when a\nlockstep test finds a bug). replay and shrink "
		"run the test binary named in\nthe trace (or PATH) as: BINARY "
		"--run=TEST --lockstep-replay=TRACE.\n\n"
		"exec runs an unmodified pthread program many times, each time in "
		"a fresh\nprocess under one controlled schedule (a preloaded "
		"runtime interposes threads,\nlocks, condition variables, "
		"semaphores, barriers, once, poll, sleeps and clocks;\nprograms built "
		"with -fsanitize=thread and linked against the runtime also\n"
		"schedule at every load and store). Options:\n"
		"  --strategy=pct|random|pos|fair_pct|idpct|dfs  (default pct)\n"
		"  --seed=N --iterations=N (1000) --max-steps=N (100000) "
		"--depth=N (3)\n"
		"  --bound=K (dfs: preemptions, or delays with --delay-bound)\n"
		"  --spurious=N   spurious condition wake-ups per thread "
		"(default 0)\n"
		"  --timeout-ms=N wall time per iteration (10000); --vtime-ms=N "
		"virtual time\n"
		"  --trace-dir=DIR --no-trace --show-output --runtime=PATH\n"
		"A trace written by exec is replayed and shrunk in this process "
		"(the trace\nnames the program and its arguments; --runtime, "
		"--timeout-ms apply).\n\n"
		"Exit codes: exec 0 no bug (or the DFS bound exhausted), 1 bug "
		"found; replay 0\nthe bug did not reproduce, 1 reproduced, 3 "
		"diverged; shrink 0 shrunk trace\nwritten to "
		"TRACE.shrunk.lockstep, 1 does not reproduce; 2 usage error, "
		"unreadable\ntrace or a program that cannot run.\n");
}

static int parse_uint(const char *v, unsigned *ret)
{
	char *end;
	unsigned long u;

	errno = 0;
	u = strtoul(v, &end, 10);
	if (!*v || *end || errno || u > 0xffffffffUL || v[0] == '-')
		return -1;
	*ret = (unsigned)u;
	return 0;
}

static int parse_strategy(const char *v, enum pt_ls_strategy *ret)
{
	for (int i = PT_LS_PCT; i <= PT_LS_DFS; i++) {
		if (i == PT_LS_REPLAY)
			continue;
		if (!strcmp(v, pt_ls_strategy_name((enum pt_ls_strategy)i))) {
			*ret = (enum pt_ls_strategy)i;
			return 0;
		}
	}
	return -1;
}

static int cmd_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "strategy", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "iterations", required_argument, NULL, 'i' },
		{ "max-steps", required_argument, NULL, 'm' },
		{ "depth", required_argument, NULL, 'd' },
		{ "bound", required_argument, NULL, 'b' },
		{ "delay-bound", no_argument, NULL, 'D' },
		{ "spurious", required_argument, NULL, 'p' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "vtime-ms", required_argument, NULL, 'v' },
		{ "trace-dir", required_argument, NULL, 'T' },
		{ "no-trace", no_argument, NULL, 'n' },
		{ "show-output", no_argument, NULL, 'o' },
		{ "runtime", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pt_ls_exec_opts o = { 0 };
	struct pt_ls_report *rep = NULL;
	char err[1024] = "", *end;
	unsigned u;
	int c, r, code;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_strategy(optarg, &o.strategy) < 0)
				return pt_tool_usage_err(
					"lockstep", "unknown strategy '%s'",
					optarg);
			break;
		case 'S':
			errno = 0;
			o.seed = strtoull(optarg, &end, 10);
			if (!*optarg || *end || errno || optarg[0] == '-')
				return pt_tool_usage_err(
					"lockstep",
					"--seed: not a number: '%s'", optarg);
			break;
		case 'h':
			usage(stdout);
			return PT_EXIT_OK;
		case 'D':
			o.delay_bounding = true;
			break;
		case 'n':
			o.no_trace_file = true;
			break;
		case 'o':
			o.show_output = true;
			break;
		case 'T':
			o.trace_dir = optarg;
			break;
		case 'r':
			o.runtime = optarg;
			break;
		case '?':
			return pt_tool_usage_err("lockstep", "bad option");
		default:
			if (parse_uint(optarg, &u) < 0 ||
			    (u == 0 && c != 'b' && c != 'p'))
				return pt_tool_usage_err(
					"lockstep",
					"--%s: expected a number%s, "
					"got '%s'",
					c == 'i'   ? "iterations"
					: c == 'm' ? "max-steps"
					: c == 'd' ? "depth"
					: c == 'b' ? "bound"
					: c == 'p' ? "spurious"
					: c == 't' ? "timeout-ms"
						   : "vtime-ms",
					c == 'b' || c == 'p' ? "" : " above 0",
					optarg);
			if (c == 'i')
				o.iterations = u;
			else if (c == 'm')
				o.max_steps = u;
			else if (c == 'd')
				o.depth = u;
			else if (c == 'b')
				o.bound = u;
			else if (c == 'p')
				o.spurious = u;
			else if (c == 't')
				o.timeout_ms = u;
			else
				o.vtime_ms = u;
		}
	}
	if (optind >= argc)
		return pt_tool_usage_err("lockstep",
					 "exec needs a PROGRAM (after --)");
	o.argv = (const char *const *)(argv + optind);
	o.err = err;
	o.errlen = sizeof(err);
	if ((r = pt_ls_exec(&o, &rep)) < 0) {
		pt_tool_err("lockstep", "%s", err[0] ? err : pt_strerror(r));
		return PT_EXIT_USAGE;
	}
	if (rep->kind != PT_LS_PASS) {
		fputs(rep->text, stdout);
		code = PT_EXIT_FAILURES;
	} else if (rep->exhausted) {
		printf("lockstep: all schedules up to %s bound %u explored "
		       "(%u schedules, %" PRIu64 " steps), no bug\n",
		       o.delay_bounding ? "delay" : "preemption", o.bound,
		       rep->iterations, rep->total_steps);
		code = PT_EXIT_OK;
	} else {
		printf("lockstep: no bug in %u iterations (%" PRIu64
		       " steps, %s)\n",
		       rep->iterations, rep->total_steps, rep->strategy);
		code = PT_EXIT_OK;
	}
	pt_ls_report_free(rep);
	return code;
}

/* replay or shrink of an exec trace, in this process. */
static int exec_trace(const char *sub, const char *path, struct pt_ls_trace *t,
		      const char *runtime, unsigned timeout_ms)
{
	struct pt_ls_exec_opts o = { 0 };
	struct pt_ls_report *rep = NULL;
	struct pt_ls_trace *s = NULL;
	const char **argv;
	char err[1024] = "", *out = NULL;
	size_t n = 0;
	int r, code = PT_EXIT_USAGE;

	while (pt_ls_trace_arg(t, n))
		n++;
	if (!(argv = calloc(n + 2, sizeof(*argv)))) {
		pt_tool_err("lockstep", "%s", strerror(ENOMEM));
		return PT_EXIT_FAILURES;
	}
	argv[0] = pt_ls_trace_program(t);
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = pt_ls_trace_arg(t, i);
	o.argv = argv;
	o.runtime = runtime;
	o.timeout_ms = timeout_ms;
	o.err = err;
	o.errlen = sizeof(err);
	if (!strcmp(sub, "replay")) {
		o.replay = t;
		if ((r = pt_ls_exec(&o, &rep)) < 0) {
			pt_tool_err("lockstep", "%s",
				    err[0] ? err : pt_strerror(r));
		} else if (rep->kind == PT_LS_PASS) {
			printf("replay of %s: the bug did not reproduce "
			       "(%" PRIu64 " steps, passed)\n",
			       path, rep->total_steps);
			code = PT_EXIT_OK;
		} else if (rep->kind == PT_LS_FAIL_DIVERGED) {
			printf("replay of %s: diverged: %s\n", path,
			       rep->reason);
			code = 3;
		} else {
			printf("replay of %s: reproduced (%s%s)\n%s", path,
			       pt_ls_kind_name(rep->kind),
			       rep->kind == pt_ls_trace_kind(t)
				       ? ""
				       : ", a different kind",
			       rep->text);
			code = PT_EXIT_FAILURES;
		}
		pt_ls_report_free(rep);
		free(argv);
		return code;
	}
	r = pt_ls_exec_shrink(&o, t, &s);
	if (r == PT_EFAILED) {
		printf("shrink of %s: the bug does not reproduce\n", path);
		code = PT_EXIT_FAILURES;
	} else if (r < 0) {
		pt_tool_err("lockstep", "%s", err[0] ? err : pt_strerror(r));
	} else {
		size_t len = strlen(path);

		if (len > 9 && !strcmp(path + len - 9, ".lockstep"))
			len -= 9;
		if (asprintf(&out, "%.*s.shrunk.lockstep", (int)len, path) <
			    0 ||
		    (r = pt_ls_trace_save(s, out)) < 0) {
			pt_tool_err("lockstep", "%s", pt_strerror(r));
			code = PT_EXIT_FAILURES;
		} else {
			printf("shrunk %s: %zu -> %zu steps, %u -> %u "
			       "preemptions, written to %s\n",
			       path, pt_ls_trace_steps(t), pt_ls_trace_steps(s),
			       pt_ls_trace_preemptions(t),
			       pt_ls_trace_preemptions(s), out);
			code = PT_EXIT_OK;
		}
	}
	free(out);
	pt_ls_trace_free(s);
	free(argv);
	return code;
}

int pt_cmd_lockstep(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "binary", required_argument, NULL, 'b' },
		{ "fallback-random", required_argument, NULL, 'f' },
		{ "runtime", required_argument, NULL, 'r' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub, *binary = NULL, *fallback = NULL, *path,
			 *runtime = NULL;
	unsigned timeout_ms = 0;
	struct pt_ls_trace *t = NULL;
	char err[512], *text, *run, *mode, *fb = NULL, *bin = NULL;
	int c, r;

	if (argc < 2) {
		usage(stderr);
		return PT_EXIT_USAGE;
	}
	sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		usage(stdout);
		return PT_EXIT_OK;
	}
	if (!strcmp(sub, "exec"))
		return cmd_exec(argc - 1, argv + 1);
	if (strcmp(sub, "replay") && strcmp(sub, "shrink") &&
	    strcmp(sub, "show"))
		return pt_tool_usage_err("lockstep", "unknown subcommand '%s'",
					 sub);
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "+h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'b':
			binary = optarg;
			break;
		case 'f':
			fallback = optarg;
			break;
		case 'r':
			runtime = optarg;
			break;
		case 't':
			if (parse_uint(optarg, &timeout_ms) < 0 || !timeout_ms)
				return pt_tool_usage_err(
					"lockstep", "--timeout-ms: expected a "
						    "number above 0");
			break;
		case 'h':
			usage(stdout);
			return PT_EXIT_OK;
		default:
			return pt_tool_usage_err("lockstep", "bad option");
		}
	}
	if (optind + 1 != argc - 1)
		return pt_tool_usage_err("lockstep", "%s needs one TRACE", sub);
	path = argv[optind + 1];
	if ((r = pt_ls_trace_load(path, &t, err, sizeof(err))) < 0) {
		pt_tool_err("lockstep", "%s", err);
		return PT_EXIT_USAGE;
	}
	if (!strcmp(sub, "show")) {
		if ((r = pt_ls_trace_show(t, &text)) < 0) {
			pt_tool_err("lockstep", "%s", pt_strerror(r));
			pt_ls_trace_free(t);
			return PT_EXIT_FAILURES;
		}
		fputs(text, stdout);
		pt_free(text);
		pt_ls_trace_free(t);
		return PT_EXIT_OK;
	}
	if (pt_ls_trace_program(t)) {
		r = exec_trace(sub, path, t, runtime, timeout_ms);
		pt_ls_trace_free(t);
		return r;
	}
	if (!binary)
		binary = pt_ls_trace_binary(t);
	if (!binary) {
		pt_ls_trace_free(t);
		pt_tool_err("lockstep",
			    "%s: the trace names no test binary; give "
			    "--binary=PATH",
			    path);
		return PT_EXIT_USAGE;
	}
	/* binary may point into t, freed before the exec. */
	if (!(bin = strdup(binary)) ||
	    asprintf(&run, "--run=%s", pt_ls_trace_test(t)) < 0 ||
	    asprintf(&mode, "--lockstep-%s=%s", sub, path) < 0 ||
	    (fallback && asprintf(&fb, "--fallback-random=%s", fallback) < 0)) {
		pt_ls_trace_free(t);
		pt_tool_err("lockstep", "%s", strerror(ENOMEM));
		return PT_EXIT_FAILURES;
	}
	pt_ls_trace_free(t);
	fflush(stdout);
	{
		char *args[] = { bin, run, mode, fb, NULL };

		execv(bin, args);
	}
	pt_tool_err("lockstep", "cannot run %s: %s", bin, strerror(errno));
	free(bin);
	free(run);
	free(mode);
	free(fb);
	return PT_EXIT_USAGE;
}
