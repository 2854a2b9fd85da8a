/*
 * tool/cmd-unit.c - `proctor validate` and `proctor units`: load unit
 * files and providers, report problems as file:line: message, list units.
 */
#define _GNU_SOURCE 1
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proctor/proctor.h>

#include "cmd.h"

/* Loads argv[optind..] into *ret_u with diagnostics in *ret_d. */
static int load_args(const char *cmd, int argc, char **argv, const char *ns,
		     struct pt_units **ret_u, struct pt_diags **ret_d)
{
	struct pt_load_options opt = { .ns = ns };
	int rc;

	if (optind >= argc)
		return pt_tool_usage_err(cmd, "no PATH given");
	if (pt_units_new(ret_u) < 0 || pt_diags_new(ret_d) < 0) {
		pt_tool_err(cmd, "out of memory");
		return PT_EXIT_FAILURES;
	}
	rc = pt_units_load_paths(*ret_u, (size_t)(argc - optind),
				 (const char *const *)argv + optind, &opt,
				 *ret_d);
	if (rc < 0) {
		pt_tool_err(cmd, "%s", pt_strerror(rc));
		return PT_EXIT_FAILURES;
	}
	return PT_EXIT_OK;
}

int pt_cmd_validate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "namespace", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;
	const char *ns = NULL;
	size_t warnings;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			ns = optarg;
			break;
		case 'h':
			printf("usage: proctor validate [--namespace NS] "
			       "PATH...\n\n"
			       "Loads unit files (*.pxu) and provider "
			       "directories and reports every\nproblem as "
			       "file:line: message. Exit status 1 when there "
			       "are errors.\n\n"
			       "  -n, --namespace NS  namespace of the units "
			       "(default: the provider's\n"
			       "                      manage.py, none for "
			       "files)\n");
			return PT_EXIT_OK;
		default:
			return pt_tool_usage_err("validate", "bad option");
		}
	}
	rc = load_args("validate", argc, argv, ns, &u, &d);
	if (rc == PT_EXIT_OK && pt_session_check_units(u, d) < 0) {
		pt_tool_err("validate", "out of memory");
		rc = PT_EXIT_FAILURES;
	}
	if (rc == PT_EXIT_OK) {
		pt_tool_print_diags(stdout, d, 0);
		warnings = pt_diags_count(d) - pt_diags_errors(d);
		fprintf(stderr,
			"%zu units, %zu jobs: %zu errors, %zu warnings\n",
			pt_units_count(u), pt_units_job_count(u),
			pt_diags_errors(d), warnings);
		rc = pt_diags_errors(d) ? PT_EXIT_FAILURES : PT_EXIT_OK;
	}
	pt_units_free(u);
	pt_diags_free(d);
	return rc;
}

int pt_cmd_units(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "jobs", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pt_units *u = NULL;
	struct pt_diags *d = NULL;
	const char *ns = NULL, *type = NULL;
	enum pt_unit_type t = PT_UNIT_JOB;
	bool jobs = false;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "t:n:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			type = optarg;
			break;
		case 'n':
			ns = optarg;
			break;
		case 'j':
			jobs = true;
			break;
		case 'h':
			printf("usage: proctor units [--type T] [--namespace "
			       "NS] [--jobs] PATH...\n\n"
			       "Lists the units of unit files and providers: "
			       "id, type, file:line.\n\n"
			       "  -t, --type T        only units of type T "
			       "(job, template, test plan,\n"
			       "                      category, manifest "
			       "entry, packaging meta-data, exporter)\n"
			       "  -n, --namespace NS  namespace of the units\n"
			       "  -j, --jobs          list every job instead, "
			       "with the generated siblings\n");
			return PT_EXIT_OK;
		default:
			return pt_tool_usage_err("units", "bad option");
		}
	}
	if (type && pt_unit_type_parse(type, &t) < 0)
		return pt_tool_usage_err("units", "unknown unit type '%s'",
					 type);
	rc = load_args("units", argc, argv, ns, &u, &d);
	if (rc == PT_EXIT_OK) {
		if (jobs) {
			for (size_t i = 0; i < pt_units_job_count(u); i++) {
				const struct pt_job *j = pt_units_job(u, i);
				printf("%s\tjob\t%s:%u\n", j->id, j->file,
				       j->line);
			}
		} else {
			for (size_t i = 0; i < pt_units_count(u); i++) {
				const struct pt_unit *x = pt_units_get(u, i);
				if (type && x->type != t)
					continue;
				printf("%s\t%s\t%s:%u\n",
				       x->id ? x->id : "-",
				       pt_unit_type_name(x->type), x->file,
				       x->line);
			}
		}
		pt_tool_print_diags(stderr, d, 0);
		rc = pt_diags_errors(d) ? PT_EXIT_FAILURES : PT_EXIT_OK;
	}
	pt_units_free(u);
	pt_diags_free(d);
	return rc;
}
