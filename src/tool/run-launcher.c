/*
 * tool/run-launcher.c - the reports a Checkbox launcher asks for after a
 * run (its [report:*] sections): documents of the submission that the
 * library makes (pt_run_submission), written to files or streams.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run-ui.h"

/* Writes one document of the submission to a file or a stream. */
static int write_doc(const struct pt_run *run, const char *kind,
		     const char *path, FILE *stream)
{
	char *doc = NULL;
	size_t len = 0;
	FILE *out;
	int r = pt_run_submission(run, kind, NULL, &doc, &len);

	if (r < 0)
		return r;
	out = stream ? stream : fopen(path, "w");
	if (!out) {
		r = -errno;
	} else {
		if (fwrite(doc, 1, len, out) != len)
			r = -EIO;
		if (!stream && fclose(out) != 0 && !r)
			r = -errno;
	}
	pt_free(doc);
	return r;
}

/*
 * The launcher's reports, then its stock submission_files (the
 * tarball and its documents next to the session, where checkbox-cli
 * puts them under ~/.local/share/checkbox-ng). 0 or PT_EXIT_FAILURES.
 */
int pt_ui_launcher_reports(struct pt_ui *ui, const struct pt_run *run,
			   const struct pt_launcher *l)
{
	static const char *const kinds[] = { "tar", "json", "junit", "html" };
	static const char *const names[] = { "submission.tar.xz",
					     "submission.json",
					     "submission.junit.xml",
					     "submission.html" };
	int rc = 0;

	for (size_t i = 0; l && i < l->n_reports; i++) {
		const struct pt_launcher_report *rp = &l->reports[i];
		const char *kind = strstr(rp->exporter, "::") + 2;
		bool file = !strcmp(rp->transport_type, "file");
		int r;

		if (!strcmp(kind, "text"))
			continue; /* proctor's own lines say it */
		if (!strcmp(kind, "tar"))
			r = pt_run_submission(run, "tar", rp->path, NULL, NULL);
		else
			r = write_doc(run, kind, rp->path,
				      file			      ? NULL
				      : !strcmp(rp->stream, "stderr") ? stderr
								      : stdout);
		if (r < 0) {
			pt_tool_err(ui->cmd, "report '%s': %s: %s", rp->name,
				    file ? rp->path : rp->stream,
				    pt_strerror(r));
			rc = PT_EXIT_FAILURES;
		} else if (file) {
			printf("report %s: %s\n", rp->name, rp->path);
		}
	}
	for (size_t i = 0; l && i < l->stock_reports.n; i++) {
		const char *dir = pt_store_dir(pt_run_store(run));

		if (strcmp(l->stock_reports.v[i], "submission_files"))
			continue;
		for (size_t k = 0; k < 4; k++) {
			char *path = NULL;
			int r;
			if (asprintf(&path, "%s/%s", dir, names[k]) < 0)
				return PT_EXIT_FAILURES;
			r = k ? write_doc(run, kinds[k], path, NULL)
			      : pt_run_submission(run, "tar", path, NULL, NULL);
			if (r < 0) {
				pt_tool_err(ui->cmd, "%s: %s", path,
					    pt_strerror(r));
				rc = PT_EXIT_FAILURES;
			} else {
				printf("submission: %s\n", path);
			}
			free(path);
		}
	}
	fflush(stdout);
	return rc;
}
