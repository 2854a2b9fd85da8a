/*
 * tool/cmd.h - the proctor command-line tool: command table and helpers
 * shared by the commands. The tool is a client of include/proctor only.
 *
 * Exit codes (documented in proctor(1)):
 */
#ifndef PT_TOOL_CMD_H
#define PT_TOOL_CMD_H

#include <stdbool.h>
#include <stdio.h>

enum {
	PT_EXIT_OK = 0,          /* everything passed / succeeded */
	PT_EXIT_FAILURES = 1,    /* some job failed, or validation errors */
	PT_EXIT_USAGE = 2,       /* wrong command-line use */
	PT_EXIT_INVALID = 3,     /* the plan cannot be built */
	PT_EXIT_STORAGE = 4,     /* session storage locked or corrupt */
	PT_EXIT_INTERRUPTED = 130,
};

/* A command: argv[0] is the command name; returns an exit code. */
struct pt_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

#define PT_CMD(name, summary) int pt_cmd_##name(int argc, char **argv);
#include "commands.def"
#undef PT_CMD

/* The program name for messages ("proctor"). */
extern const char *pt_progname;

/* "proctor CMD: message\n" on stderr. */
void pt_tool_err(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Usage error: message, then "try 'proctor CMD --help'"; returns 2. */
int pt_tool_usage_err(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Prints diagnostics from index `from` on, one per line, as
 * "file:line: [warning: |note: ]message" (no line: "file: message").
 */
struct pt_diags;
void pt_tool_print_diags(FILE *out, const struct pt_diags *d, size_t from);

/*
 * The flake table of a history (`proctor flakes`, `run --repeat`): rate,
 * fails/runs, sessions, job; with evidence, the newest failed attempts
 * under each job. Returns the number of jobs listed or an error.
 */
struct pt_store_history;
int pt_tool_print_flakes(FILE *out, const struct pt_store_history *h, bool all,
			 bool evidence);

/* True when fd is a terminal and $CI is not set (progress lines). */
bool pt_tool_isatty(int fd);

#endif
