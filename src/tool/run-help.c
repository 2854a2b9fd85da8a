/*
 * tool/run-help.c - the --help texts of `proctor run` and `proctor resume`
 * (kept apart from cmd-run.c, which parses the options they describe).
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run-ui.h"

void pt_ui_usage_run(FILE *f)
{
	fprintf(f,
		"usage: proctor run PATH... [-p PLAN] [-i RE]... [-x RE]... "
		"[-j N]\n"
		"                   [--timeout S] [--keep-tmp] [--repeat N] "
		"[--until-fail]\n"
		"                   [--shuffle[=SEED]] [--fail-fast] "
		"[--retries N] [--executor E]\n"
		"                   [--budget SPEC] [--budget-fail] [--chaos "
		"SPEC]\n                   "
		"[--non-interactive]\n"
		"                   [--report FORMAT:PATH]...\n\n"
		"Runs the jobs of unit files and providers (PATH...) as a "
		"new session:\nthe test plan PLAN, or every job, filtered by "
		"-i/-x (regular expressions\nmatching whole job ids). Each "
		"result is stored durably before dependents\nstart; "
		"`proctor resume` continues an interrupted session.\n\n"
		"  -p, --plan PLAN        the test plan to run\n"
		"  -i, --include RE       only jobs whose id matches RE\n"
		"  -x, --exclude RE       not jobs whose id matches RE\n"
		"  -n, --namespace NS     namespace of unit files given "
		"directly\n"
		"  -j, --jobs N           jobs at once (default: CPUs)\n"
		"      --timeout S        default job timeout in seconds\n"
		"      --keep-tmp         keep every job's temp directory\n"
		"      --ports N          TCP ports leased to each job "
		"(default 4; 0: none)\n"
		"      --repeat N         run every job N times (flaky "
		"detection)\n"
		"      --until-fail       with --repeat: stop a job at its "
		"first failure\n"
		"      --shuffle[=SEED]   shuffle the order of independent "
		"jobs\n"
		"      --fail-fast        stop starting jobs after the first "
		"failure\n"
		"      --retries N        run a failed job again, up to N "
		"times (a later\n"
		"                         pass is marked flaky)\n"
		"      --budget SPEC      default budget of jobs without a "
		"budget field:\n"
		"                         a duration and/or peak memory "
		"('2s 64M');\n"
		"                         over it, a note in the result\n"
		"      --budget-fail      a pass over its budget is a fail\n"
		"      --chaos SPEC       seeded call faults in every job's "
		"programs:\n"
		"                         CALL:ERROR[:RATE][@FILTER],... "
		"and exe=NAME;\n"
		"                         malloc:ENOMEM[:RATE][@>=SIZE]; "
		"clock:jump:S[@N],\n"
		"                         clock:fast:F; kill@T, pause@T:D; "
		"e.g.\n"
		"                         write:EIO:0.2,read:short,kill@5\n"
		"      --non-interactive  skip jobs that need an operator\n"
		"      --launcher FILE    a Checkbox launcher: its test plan, "
		"exclude and match\n"
		"                         patterns, [environment], "
		"[ui] type, [agent] normal_user\n"
		"                         and reports\n"
		"      --normal-user USER as root, run jobs without 'user: "
		"root' as USER\n"
		"                         (default: $SUDO_USER)\n"
		"      --executor E       where jobs run: local (default), "
		"slurm or\n"
		"                         slurm:PARTITION (sbatch; -j is "
		"jobs in Slurm at once)\n"
		"      --report FMT:PATH  write a report (junit, tap, tap13, "
		"json, html;\n"
		"                         checkbox: the submission .tar.xz; "
		"checkbox-json,\n"
		"                         checkbox-junit, checkbox-html: its "
		"documents;\n"
		"                         PATH - is stdout)\n"
		"      --manifest FILE    manifest answers (JSON, as "
		"checkbox-cli writes them)\n"
		"                         for com.canonical.plainbox::manifest "
		"(default: all unset)\n\n"
		"Without PATH, the providers of $PROVIDERPATH (else "
		"PlainBox's provider\ndirectories) run. Checkbox providers "
		"(with manage.py or a .provider file)\nrun one job at a time "
		"unless -j is given.\n\n"
		"Exit: 0 all passed, 1 failures, 2 usage, 3 invalid plan, 4 "
		"storage locked\nor corrupt, 130 interrupted.\n");
}

void pt_ui_usage_resume(FILE *f)
{
	fprintf(f,
		"usage: proctor resume [SESSION] [--rerun-failed] "
		"[--accept-changed] [-j N]\n"
		"                      [--timeout S] [--ports N] "
		"[--non-interactive]\n"
		"                      [--report FORMAT:PATH]...\n\n"
		"Continues a session (default: the last one) after an "
		"interruption, a kill\nor a reboot. The job that was running "
		"gets crash (pass for noreturn jobs).\n\n"
		"  --rerun-failed    run failed, crashed and timed-out jobs "
		"again\n"
		"  --accept-changed  resume even though job definitions "
		"changed\n"
		"  --executor E      override the session's executor (local, "
		"slurm[:PARTITION]);\n"
		"                    a Slurm session re-attaches to its jobs "
		"still in Slurm\n");
}

/* Parses the options shared by run and resume. */
