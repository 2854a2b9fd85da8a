/*
 * tool/run-ui.h - what `proctor run`, `resume`, `report` and `why` share:
 * the printing side of a session run (struct pt_run_events), the exit
 * code its messages imply, opening a session, writing a report.
 */
#ifndef PT_TOOL_RUN_UI_H
#define PT_TOOL_RUN_UI_H

#include <proctor/proctor.h>

#include "cmd.h"

struct pt_ui {
	const char *cmd;
	bool tty;	     /* status line on stderr */
	int64_t progress_ns; /* when the status line was last drawn */
	int exit;	     /* from the worst message so far; 0: none */
	int sfd;	     /* signalfd; -1: none */
};

/* Events that print as proctor does; ctx is ui. */
void pt_ui_events(struct pt_ui *ui, struct pt_run_events *ev);

/*
 * Opens a session by name (NULL: the last one): 0 and *ret, or an exit
 * code with the message printed.
 */
int pt_ui_open_store(struct pt_ui *ui, const char *name, bool write,
		     struct pt_store **ret);

/* Writes a report "FORMAT:PATH" (PATH "-": stdout). */
int pt_ui_write_report(const struct pt_run *run, const char *spec);

/* --help of `proctor run` / `proctor resume` (run-help.c). */
void pt_ui_usage_run(FILE *f);
void pt_ui_usage_resume(FILE *f);
/* The reports launcher l asks for (run-launcher.c): 0, or 1 when one
 * failed (said on stderr). */
int pt_ui_launcher_reports(struct pt_ui *ui, const struct pt_run *run,
			   const struct pt_launcher *l);

/* The port lease directory: a warning when the machine's shared one
 * cannot be used, an error when no safe one exists (ports 0: none
 * leased). 0 or the exit status. */
int pt_ui_check_port_dir(const char *cmd, int ports);

/* Option values of run and resume: 0, or the exit status of a usage
 * error (printed). */
int pt_ui_parse_uint(const char *cmd, const char *opt, const char *s,
		     unsigned max, unsigned *ret);
int pt_ui_parse_seed(const char *cmd, const char *s, uint64_t *ret);
/* --slow-factor: F >= 1, or 0 (never: *ret < 0). */
int pt_ui_parse_slow_factor(const char *cmd, const char *s, double *ret);
/* A seed for a run that names none: short enough to retype. */
uint64_t pt_ui_random_seed(void);

#endif
