/*
 * fuzz-iolog - the runner's io log reader (pt_runner_iolog_*) and report
 * rendering over arbitrary file contents: no crash, no over-read, and
 * records within the bounds the reader promises.
 */
#define _GNU_SOURCE 1
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <proctor/proctor.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct pt_runner_iolog *r = NULL;
	struct pt_runner_iolog_rec rec;
	struct pt_report_job job = { .id = "fuzz::job" };
	FILE *f;
	char *s = NULL;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/fuzz-iolog-%d",
			 (int)getpid());
	f = fopen(path, "wb");
	if (!f)
		return 0;
	if (size)
		fwrite(data, 1, size, f);
	fclose(f);
	if (pt_runner_iolog_open(path, &r) == 0) {
		while (pt_runner_iolog_next(r, &rec) > 0) {
			if (rec.stream != PT_STREAM_STDOUT &&
			    rec.stream != PT_STREAM_STDERR)
				abort();
			if (rec.len && rec.data[rec.len - 1] == 0xff)
				(void)rec.data[0];
		}
		pt_runner_iolog_close(r);
	}
	job.result.outcome = PT_OUTCOME_FAIL;
	job.io_log_path = path;
	for (int fmt = PT_REPORT_JUNIT; fmt <= PT_REPORT_JSON; fmt++) {
		if (pt_report_render((enum pt_report_format)fmt, NULL, &job, 1,
				     256, &s, NULL) == 0)
			pt_free(s);
	}
	unlink(path);
	return 0;
}
