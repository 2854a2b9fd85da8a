/*
 * tool/run-ui.c - the printing side of a session run for `proctor run`,
 * `resume`, `report` and `why` (docs/run.md): result lines on stdout, a
 * status line and operator prompts on a terminal, messages on stderr.
 * The rules are in the library (include/proctor/run.h).
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "run-ui.h"

static void on_diags(void *ctx, const struct pt_diags *d, size_t from)
{
	(void)ctx;
	pt_tool_print_diags(stderr, d, from);
}

static void on_message(void *ctx, enum pt_run_msg kind, const char *text)
{
	struct pt_ui *ui = ctx;
	int exit = 0;

	switch (kind) {
	case PT_RUN_MSG_NOTE:
		fprintf(stderr, "%s: %s\n", ui->cmd, text);
		return;
	case PT_RUN_MSG_WARNING:
		pt_tool_err(ui->cmd, "warning: %s", text);
		return;
	case PT_RUN_MSG_USAGE:
		pt_tool_usage_err(ui->cmd, "%s", text);
		exit = PT_EXIT_USAGE;
		break;
	case PT_RUN_MSG_INVALID:
		pt_tool_err(ui->cmd, "%s", text);
		exit = PT_EXIT_INVALID;
		break;
	case PT_RUN_MSG_STORAGE:
		pt_tool_err(ui->cmd, "%s", text);
		exit = PT_EXIT_STORAGE;
		break;
	case PT_RUN_MSG_ERROR:
	default:
		pt_tool_err(ui->cmd, "%s", text);
		exit = PT_EXIT_FAILURES;
		break;
	}
	if (!ui->exit || ui->exit == PT_EXIT_FAILURES)
		ui->exit = exit;
}

/*
 * The status line. The ETA walks the run list, so the line is redrawn at
 * most every 100 ms: a 100k-job run does not pay O(N) per result.
 */
static void on_progress(void *ctx, struct pt_run *run)
{
	struct pt_ui *ui = ctx;
	struct pt_run_progress p;
	struct timespec now;
	int64_t now_ns;
	double eta;

	if (!ui->tty)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	if (ui->progress_ns && now_ns - ui->progress_ns < 100000000)
		return;
	ui->progress_ns = now_ns;
	pt_run_progress(run, &p);
	eta = pt_run_eta(run);
	fprintf(stderr, "\r\033[K[%zu/%zu] running %zu, failed %zu", p.done,
		p.total, p.running, p.failed);
	if (eta > 0)
		fprintf(stderr, ", ETA %.0fs", eta);
	fflush(stderr);
}

static void on_finished(void *ctx, const struct pt_job *j,
			const struct pt_result *res)
{
	struct pt_ui *ui = ctx;

	if (ui->tty)
		fprintf(stderr, "\r\033[K");
	printf("%s %s", pt_outcome_name(res->outcome), j->id);
	if (res->attempt > 1)
		printf(" (attempt %u%s)", res->attempt,
		       res->flaky ? ", flaky" : "");
	if (res->outcome == PT_OUTCOME_FAIL && !res->comments)
		printf(": exit code %d", res->return_code);
	else if (res->comments)
		printf(": %s", res->comments);
	if (ui->tty && res->duration > 0)
		printf(" [%.2fs]", res->duration);
	printf("\n");
	fflush(stdout);
}

static void on_recovered(void *ctx, const char *id, const struct pt_result *res)
{
	(void)ctx;
	printf("%s %s: %s\n", pt_outcome_name(res->outcome), id,
	       res->comments ? res->comments : "");
}

static bool ask(const char *prompt, char *answer, size_t size)
{
	fprintf(stderr, "%s", prompt);
	fflush(stderr);
	if (!fgets(answer, (int)size, stdin))
		return false;
	answer[strcspn(answer, "\n")] = 0;
	return true;
}

static void on_confirm(void *ctx, const struct pt_job *j)
{
	char a[8];

	(void)ctx;
	fprintf(stderr, "\n== %s: %s\n", j->id,
		j->description ? j->description : "ready");
	ask("press Enter to start: ", a, sizeof(a));
}

/*
 * What the operator sees before a verdict: the job, and for a *-verify
 * job how its command ended and the end of its output (it went to the io
 * log, not to the terminal).
 */
static int on_verdict(void *ctx, const struct pt_job *j,
		      const struct pt_result *ran,
		      const struct pt_run_output *out,
		      struct pt_run_verdict *ret)
{
	struct pt_ui *ui = ctx;
	static char comment[512];
	char a[64];

	if (ui->tty)
		fprintf(stderr, "\r\033[K");
	fprintf(stderr, "\n== %s%s%s\n", j->id, j->summary ? ": " : "",
		j->summary ? j->summary : "");
	if (j->description)
		fprintf(stderr, "%s\n", j->description);
	if (ran) {
		if (ran->outcome == PT_OUTCOME_PASS)
			fprintf(stderr, "-- the command passed\n");
		else if (ran->comments)
			fprintf(stderr, "-- the command ended: %s: %s\n",
				pt_outcome_name(ran->outcome), ran->comments);
		else
			fprintf(stderr,
				"-- the command ended: %s: exit code %d\n",
				pt_outcome_name(ran->outcome),
				ran->return_code);
		if (out->text && out->len) {
			fprintf(stderr, "-- its output%s:\n",
				out->cut ? " (the last 4 KiB)" : "");
			fwrite(out->text, 1, out->len, stderr);
			if (out->text[out->len - 1] != '\n')
				fputc('\n', stderr);
		} else {
			fprintf(stderr, "-- it printed nothing\n");
		}
	}
	for (;;) {
		if (!ask("outcome? [p]ass, [f]ail, [s]kip: ", a, sizeof(a)))
			return -1;
		if (a[0] == 'p' || a[0] == 'f' || a[0] == 's')
			break;
	}
	ret->outcome = a[0] == 'p'   ? PT_OUTCOME_PASS
		       : a[0] == 'f' ? PT_OUTCOME_FAIL
				     : PT_OUTCOME_SKIP;
	ret->comments = NULL;
	if (ask("comment (optional): ", comment, sizeof(comment)) && comment[0])
		ret->comments = comment;
	return 0;
}

/* SIGINT/SIGTERM/SIGHUP through the signalfd: stop; a second: at once. */
static void on_wake(void *ctx, struct pt_run *run)
{
	struct pt_ui *ui = ctx;
	struct signalfd_siginfo si;
	struct pt_run_progress p;

	while (read(ui->sfd, &si, sizeof(si)) == sizeof(si)) {
		pt_run_progress(run, &p);
		if (p.interrupted) {
			/* Second signal: no more grace. */
			pt_run_abort(run);
			return;
		}
		if (ui->tty)
			fprintf(stderr, "\r\033[K");
		fprintf(stderr,
			"%s: %s: stopping; running jobs are "
			"terminated and recorded as not run\n",
			pt_progname, strsignal((int)si.ssi_signo));
		pt_run_cancel(run, true);
	}
}

void pt_ui_events(struct pt_ui *ui, struct pt_run_events *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->diags = on_diags;
	ev->message = on_message;
	ev->job_finished = on_finished;
	ev->recovered = on_recovered;
	ev->progress = on_progress;
	ev->confirm = on_confirm;
	ev->verdict = on_verdict;
	ev->wake_fd = ui->sfd;
	ev->wake = on_wake;
	ev->tick_ms = ui->tty ? 1000 : 0;
	ev->ctx = ui;
}

int pt_ui_open_store(struct pt_ui *ui, const char *name, bool write,
		     struct pt_store **ret)
{
	struct pt_diags *d = NULL;
	char *id = NULL;
	int r;

	if (pt_diags_new(&d) < 0)
		return PT_EXIT_FAILURES;
	r = pt_store_resolve(NULL, name, &id);
	if (r == 0)
		r = pt_store_open(NULL, id,
				  write ? PT_STORE_WRITE : PT_STORE_READ, d,
				  ret);
	pt_free(id);
	if (r == PT_ENOTFOUND) {
		pt_tool_err(ui->cmd, "no session '%s'",
			    name ? name : "last-session");
		r = PT_EXIT_FAILURES;
	} else if (r < 0) {
		pt_tool_print_diags(stderr, d, 0);
		pt_tool_err(ui->cmd, "session storage: %s", pt_strerror(r));
		r = r == PT_ELOCKED || r == PT_ECORRUPT || r == PT_EINCOMPAT
			    ? PT_EXIT_STORAGE
			    : PT_EXIT_FAILURES;
	}
	pt_diags_free(d);
	return r;
}

int pt_ui_write_report(const struct pt_run *run, const char *spec)
{
	const char *colon = strchr(spec, ':');
	char fmtname[16];
	enum pt_report_format f;
	char *text = NULL;
	size_t len = 0;
	int r;

	if (!colon || (size_t)(colon - spec) >= sizeof(fmtname))
		return PT_EPARSE;
	memcpy(fmtname, spec, (size_t)(colon - spec));
	fmtname[colon - spec] = 0;
	/* Checkbox's submission tarball (docs/checkbox.md) */
	if (!strcmp(fmtname, "checkbox"))
		return strcmp(colon + 1, "-")
			       ? pt_run_submission(run, "tar", colon + 1, NULL,
						   NULL)
			       : -EINVAL;
	/* one document of it: checkbox-json, checkbox-junit, checkbox-html */
	if (!strncmp(fmtname, "checkbox-", 9))
		r = pt_run_submission(run, fmtname + 9, NULL, &text, &len);
	else if (pt_report_format_parse(fmtname, &f) < 0)
		return PT_EPARSE;
	else
		r = pt_run_report(run, f, &text, &len);
	if (r < 0)
		return r;
	/* A file is replaced atomically, never through a symlink. */
	if (strcmp(colon + 1, "-") != 0)
		r = pt_report_write(colon + 1, text, len);
	else if (fwrite(text, 1, len, stdout) != len)
		r = -EIO;
	pt_free(text);
	return r;
}

/*
 * The port lease directory (pt_runner_port_lock_dir): a warning when the
 * machine's shared one cannot be used, an error when no safe one exists.
 * 0 or the exit status.
 */
int pt_ui_check_port_dir(const char *cmd, int ports)
{
	char *dir = NULL, *notice = NULL;
	int r;

	if (ports == 0)
		return 0;
	r = pt_runner_port_lock_dir(NULL, &dir, &notice);
	if (notice)
		pt_tool_err(cmd, "%s%s", r < 0 ? "" : "warning: ", notice);
	pt_free(dir);
	pt_free(notice);
	if (r < 0 && !notice)
		pt_tool_err(cmd, "port leases: %s", pt_strerror(r));
	return r < 0 ? PT_EXIT_FAILURES : 0;
}

/* ---- option values of run and resume */

uint64_t pt_ui_random_seed(void)
{
	uint64_t x = 0;

	if (getrandom(&x, sizeof(x), 0) != sizeof(x))
		x = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	return x % 1000000000000ull; /* short enough to retype */
}

int pt_ui_parse_uint(const char *cmd, const char *opt, const char *s,
		     unsigned max, unsigned *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v > max || s[0] == '-')
		return pt_tool_usage_err(cmd, "%s: bad number '%s'", opt, s);
	*ret = (unsigned)v;
	return 0;
}

int pt_ui_parse_seed(const char *cmd, const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || !*s || *end || s[0] == '-')
		return pt_tool_usage_err(cmd, "bad seed '%s'", s);
	*ret = v;
	return 0;
}

int pt_ui_parse_slow_factor(const char *cmd, const char *s, double *ret)
{
	char *end;
	double f = strtod(s, &end);

	if (end == s || *end || !(f >= 0) || f > 1e6)
		return pt_tool_usage_err(cmd,
					 "--slow-factor: bad factor '%s' (a "
					 "number >= 1, or 0 for never)",
					 s);
	if (f > 0 && f < 1)
		return pt_tool_usage_err(cmd,
					 "--slow-factor: %s is below 1: every "
					 "attempt would be 'slower'",
					 s);
	*ret = f > 0 ? f : -1; /* pt_run_options: < 0 is never */
	return 0;
}
