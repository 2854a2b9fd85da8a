/*
 * tool/cmd-lockstep.c - `proctor lockstep replay|shrink|show TRACE`.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <proctor/proctor.h>

#include "cmd.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: proctor lockstep replay [--binary=PATH] "
		"[--fallback-random=SEED] TRACE\n"
		"       proctor lockstep shrink [--binary=PATH] TRACE\n"
		"       proctor lockstep show TRACE\n\n"
		"Replays, shrinks or shows a lockstep trace (a .lockstep file "
		"written when a\nlockstep test finds a bug). replay and shrink "
		"run the test binary named in\nthe trace (or PATH) as: BINARY "
		"--run=TEST --lockstep-replay=TRACE.\n\n"
		"Exit codes: replay 0 the bug did not reproduce, 1 reproduced, "
		"3 diverged;\nshrink 0 shrunk trace written to "
		"TRACE.shrunk.lockstep, 1 does not reproduce;\n2 usage error "
		"or unreadable trace.\n");
}

int pt_cmd_lockstep(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "binary", required_argument, NULL, 'b' },
		{ "fallback-random", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub, *binary = NULL, *fallback = NULL, *path;
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
