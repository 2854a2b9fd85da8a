/*
 * fuzz/replay.c - runs a fuzz target over every file of a corpus directory
 * (the seed corpus), so that the corpus is an ordinary regression test and
 * fuzz targets build and run without clang. Prints "replayed N inputs".
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

/* One line "PASSED FAILED" for make check's total (tests/harness/tap.h). */
static void tally(int passed, int failed)
{
	const char *t = getenv("PT_TALLY");
	FILE *f;

	if (!t || !*t || !(f = fopen(t, "a")))
		return;
	fprintf(f, "%d %d\n", passed, failed);
	fclose(f);
}

int main(int argc, char **argv)
{
	size_t count = 0;

	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *e;

		if (!d) {
			if (replay_file(argv[i]) < 0) {
				perror(argv[i]);
				tally(0, 1);
				return 1;
			}
			count++;
			continue;
		}
		while ((e = readdir(d))) {
			char path[4096];
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i],
				 e->d_name);
			if (replay_file(path) < 0) {
				perror(path);
				closedir(d);
				tally(0, 1);
				return 1;
			}
			count++;
		}
		closedir(d);
	}
	printf("replayed %zu inputs\n", count);
	tally(1, 0);
	return 0;
}
