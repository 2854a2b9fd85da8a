/* tool/main.c - proctor's entry point: dispatches to a command. */
#define _GNU_SOURCE 1
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <proctor/proctor.h>

#include "cmd.h"

const char *pt_progname = "proctor";

static const struct pt_cmd commands[] = {
#define PT_CMD(name, summary) { #name, pt_cmd_##name, summary },
#include "commands.def"
#undef PT_CMD
};

void pt_tool_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s%s%s: ", pt_progname, cmd ? " " : "",
		cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int pt_tool_usage_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s%s%s: ", pt_progname, cmd ? " " : "",
		cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s %s%s--help' for more information.\n",
		pt_progname, cmd ? cmd : "", cmd ? " " : "");
	return PT_EXIT_USAGE;
}

void pt_tool_print_diags(FILE *out, const struct pt_diags *d, size_t from)
{
	for (size_t i = from; d && i < pt_diags_count(d); i++) {
		const struct pt_diag *g = pt_diags_get(d, i);
		const char *sev = g->severity == PT_SEV_ERROR	  ? ""
				  : g->severity == PT_SEV_WARNING ? "warning: "
								  : "note: ";
		if (g->line)
			fprintf(out, "%s:%u: %s%s\n", g->file, g->line, sev,
				g->message);
		else
			fprintf(out, "%s: %s%s\n", g->file, sev, g->message);
	}
}

bool pt_tool_isatty(int fd)
{
	const char *ci = getenv("CI");

	return isatty(fd) && !(ci && *ci);
}

int pt_cmd_version(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: proctor version\n\nPrints the version of "
		       "proctor and of libproctor.\n");
		return PT_EXIT_OK;
	}
	if (argc > 1)
		return pt_tool_usage_err("version", "unexpected argument '%s'",
					 argv[1]);
	printf("proctor %s (libproctor %s)\n", PT_VERSION_STRING,
	       pt_version());
	return PT_EXIT_OK;
}

/* Table names spell '-' as '_' (commands.def): "break_lock" = "break-lock". */
static bool cmd_is(const char *table, const char *arg)
{
	for (; *table && *arg; table++, arg++)
		if (*table != *arg && !(*table == '_' && *arg == '-'))
			return false;
	return *table == *arg;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: proctor COMMAND [ARGS...]\n"
		   "       proctor COMMAND --help\n\n"
		   "Runs test sessions: unit files, plans, durable resumable "
		   "runs, reports.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char name[32];
		size_t k;

		for (k = 0; commands[i].name[k] && k + 1 < sizeof(name); k++)
			name[k] = commands[i].name[k] == '_'
					  ? '-'
					  : commands[i].name[k];
		name[k] = '\0';
		fprintf(f, "  %-12s %s\n", name, commands[i].summary);
	}
	fprintf(f, "\nExit codes: 0 success, 1 failures, 2 usage error, "
		   "3 invalid plan,\n4 storage locked or corrupt, 130 "
		   "interrupted. See proctor(1).\n");
}

int main(int argc, char **argv)
{
	const char *name;

	if (argc < 2) {
		usage(stderr);
		return PT_EXIT_USAGE;
	}
	name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h") ||
	    !strcmp(name, "help")) {
		usage(stdout);
		return PT_EXIT_OK;
	}
	if (!strcmp(name, "--version"))
		name = "version";
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (cmd_is(commands[i].name, name))
			return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "%s: unknown command '%s'\n", pt_progname, name);
	fprintf(stderr, "Try '%s --help' for the list of commands.\n",
		pt_progname);
	return PT_EXIT_USAGE;
}
